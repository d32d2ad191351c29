//! The module layers: every stage's imports of other top-level modules (`crate::x`, also inside
//! `use crate::{x::..., y::...}` lists), outside test code, must form no circle; the shared types
//! (`model`) and the event format (`event`) import no stage. Data flows one way.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level modules: `src/x.rs` and `src/x/` (not lib.rs, main.rs).
fn modules() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(src()).expect("src").flatten() {
        let p = e.path();
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        if p.is_dir() || p.extension().is_some_and(|x| x == "rs") {
            out.insert(name);
        }
    }
    out
}

fn files_of(m: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src().join(format!("{m}.rs"));
    if file.exists() {
        out.push(file);
    }
    let mut stack = vec![src().join(m)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    // Test files may use anything.
    out.retain(|p| {
        let n = p.file_name().and_then(|s| s.to_str()).unwrap_or("");
        !(n == "tests.rs" || n.ends_with("_tests.rs") || n == "roundtrip.rs")
    });
    out
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests { ... }` tail.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level modules a piece of code names through `crate::`.
fn imports(code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            // `crate::{a::x, b::{y, z}, c}`: the first segment of each top-level entry.
            let mut depth = 0;
            let mut start = true;
            let mut word = String::new();
            for ch in list.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_ascii_alphanumeric() || c == '_') => word.push(c),
                    c if start && !word.is_empty() && !c.is_whitespace() => {
                        out.insert(std::mem::take(&mut word));
                        start = false;
                    }
                    _ => {}
                }
            }
            if !word.is_empty() {
                out.insert(word);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out.retain(|m| known.contains(m));
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let known = modules();
    known
        .iter()
        .map(|m| {
            let mut deps = BTreeSet::new();
            for f in files_of(m) {
                deps.extend(imports(&code(&f), &known));
            }
            deps.remove(m);
            (m.clone(), deps)
        })
        .collect()
}

/// A circle through `m`, if any (depth-first).
fn circle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut c = path[i..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|m| visit(m, g, &mut Vec::new(), &mut done))
}

#[test]
fn the_import_parser_sees_lists_and_paths() {
    let known: BTreeSet<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let got = imports(
        "use crate::{a::X, b::{y, z::W}, c};\nfn f() { crate::d::g(); crate::nope::h(); }",
        &known,
    );
    assert_eq!(got, known);
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(circle(&g), Some(vec!["a".into(), "b".into(), "a".into()]));
}

#[test]
fn modules_form_no_circle() {
    let g = graph();
    assert!(g.len() >= 10, "{g:?}");
    if let Some(c) = circle(&g) {
        panic!("module circle: {} (all imports: {g:#?})", c.join(" -> "));
    }
}

#[test]
fn shared_types_import_no_stage() {
    let g = graph();
    assert_eq!(g["event"], BTreeSet::new(), "event imports {:?}", g["event"]);
    let model: Vec<&String> = g["model"].iter().filter(|m| *m != "event").collect();
    assert!(model.is_empty(), "model imports {model:?}");
    // The rules and the stages before them never reach into what comes after them.
    for (stage, later) in [
        ("detect", ["correlate", "store", "report"]),
        ("correlate", ["store", "report", "analyze"]),
    ] {
        for l in later {
            assert!(!g[stage].contains(l), "{stage} imports {l}");
        }
    }
}
