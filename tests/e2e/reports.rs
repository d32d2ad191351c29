//! Every report format from a real corpus run: the JSON against the v1 schema, SARIF against the
//! official 2.1.0 schema, the Navigator layer's techniques, and the HTML page in a real headless
//! Chromium (screenshot taken, graph and techniques present, no console errors, no network).

use std::{path::Path, process::Command};

use sandtrace::{
    detect::RuleSet,
    report::{Format, render},
};
use sandtrace_e2e::{assert_nothing_left, options, privileged, run};
use serde_json::Value;

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../analyzer/schema")
        .join(name);
    // The official SARIF schema's one pattern with a stray `]` (see analyzer/schema/README.md).
    let text = std::fs::read_to_string(&path)
        .expect("schema file")
        .replace(r#"[a-zA-Z]{2}]?$"#, r#"[a-zA-Z]{2}\\]?$"#);
    let v: Value = serde_json::from_str(&text).expect("schema JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&v)
        .expect("schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Loads a file in headless Chromium: returns (DOM after scripts ran, stderr) and writes a screenshot.
fn chromium(page: &Path, shot: &Path, profile: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ];
    let dom = Command::new(CHROMIUM)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(dom.status.success(), "chromium --dump-dom failed");
    let shot_run = Command::new(CHROMIUM)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1400,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(shot_run.status.success(), "chromium --screenshot failed");
    let mut stderr = String::from_utf8_lossy(&dom.stderr).to_string();
    stderr.push_str(&String::from_utf8_lossy(&shot_run.stderr));
    (String::from_utf8_lossy(&dom.stdout).to_string(), stderr)
}

#[test]
fn every_format_of_a_real_run_is_valid_and_the_html_renders_in_chromium() {
    if !privileged() {
        return;
    }
    let chromium_present = Path::new(CHROMIUM).exists();
    assert!(
        chromium_present || !sandtrace_e2e::in_ci(),
        "Debian's chromium is needed for the browser test (cargo xtask setup installs it)"
    );
    let r = run(&options("demo")).expect("demo run");
    assert_nothing_left(&r.run_id);
    assert!(!r.detections.is_empty() && !r.techniques.is_empty());
    let rules = RuleSet::bundled().expect("rules");

    let json: Value =
        serde_json::from_str(&render(&r, Format::Json, None, false).expect("json")).expect("JSON");
    assert_valid(&schema("report-v1.schema.json"), &json, "JSON report");

    let sarif: Value =
        serde_json::from_str(&render(&r, Format::Sarif, Some(&rules), false).expect("sarif")).expect("JSON");
    assert_valid(&schema("sarif-schema-2.1.0.json"), &sarif, "SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), r.detections.len());

    let layer: Value =
        serde_json::from_str(&render(&r, Format::Navigator, None, false).expect("layer")).expect("JSON");
    for t in &r.techniques {
        assert!(
            layer["techniques"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["techniqueID"] == t.id.as_str() && e["score"].as_u64().is_some()),
            "{} not scored in the layer",
            t.id
        );
    }

    let text = render(&r, Format::Text, None, false).expect("text");
    assert!(
        text.contains("verdict: MALICIOUS") && text.contains("T1059.004"),
        "{text}"
    );

    let html = render(&r, Format::Html, None, false).expect("html");
    for needle in ["<script src", "<link", "<img src=\"http", "url(http", "@import"] {
        assert!(!html.contains(needle), "the page would fetch something: {needle}");
    }
    if !chromium_present {
        eprintln!("SKIPPED (not in CI): browser part, no {CHROMIUM}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sandtrace-e2e-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let page = dir.join("report.html");
    std::fs::write(&page, &html).expect("write html");
    let shot = dir.join("report.png");
    let (dom, stderr) = chromium(&page, &shot, &dir.join("profile"));
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not finish:\n{stderr}"
    );
    assert!(!dom.contains("data-errors"), "script errors: {dom}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let graph = dom.find("id=\"killchain-graph\"").expect("kill-chain graph");
    assert!(dom[graph..].contains("<svg"), "no SVG in the graph");
    assert!(dom.contains("id=\"attack-matrix\""), "no ATT&CK matrix");
    for t in &r.techniques {
        assert!(
            dom.contains(&format!("data-technique=\"{}\"", t.id)),
            "{} not in the matrix",
            t.id
        );
    }
    assert!(dom.contains("id=\"process-tree\"") && dom.contains("id=\"timeline\""));
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot {} bytes",
        png.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
