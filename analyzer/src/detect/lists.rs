//! Shared lists (like Falco's lists): one definition of the shells, interpreters, download tools
//! or package managers, named by many rules as `"@shells"` inside any list of values.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::{RuleError, line_of, rule::RuleSpec};

/// Lists by name.
pub(crate) type Lists = BTreeMap<String, Vec<Value>>;

/// Most nested list references followed (a list may name other lists).
const MAX_DEPTH: usize = 8;

fn invalid(file: &str, text: &str, needle: &str, message: String) -> RuleError {
    RuleError::Invalid {
        file: file.to_string(),
        line: line_of(text, needle),
        message,
    }
}

/// Reads a lists file: `lists: {name: [values...], ...}`.
pub(crate) fn load(file: &str, text: &str, into: &mut Lists) -> Result<(), RuleError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ListsFile {
        lists: BTreeMap<String, Vec<Value>>,
    }
    let parsed: ListsFile = serde_norway::from_str(text).map_err(|e| RuleError::Invalid {
        file: file.to_string(),
        line: e.location().map_or(1, |l| l.line()),
        message: e.to_string(),
    })?;
    for (name, values) in parsed.lists {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(
                file,
                text,
                &name,
                format!("lists: {name:?}: letters, digits, _ and - only"),
            ));
        }
        if into.insert(name.clone(), values).is_some() {
            return Err(invalid(file, text, &name, format!("lists: {name} defined twice")));
        }
    }
    // Every reference inside the lists must resolve (and not loop).
    for (name, values) in into.iter() {
        expand_seq(values, into, 0).map_err(|m| invalid(file, text, name, format!("lists: {name}: {m}")))?;
    }
    Ok(())
}

/// The list a value names: `@name`, the name lowercase letters, digits, `_` and `-` (so that
/// `@/tmp/x` or `@file.txt` stay plain values).
fn reference(v: &Value) -> Option<&str> {
    let name = v.as_str()?.strip_prefix('@')?;
    let mut chars = name.chars();
    (chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
    .then_some(name)
}

/// The list references of one sequence replaced by their values.
fn expand_seq(values: &[Value], lists: &Lists, depth: usize) -> Result<Vec<Value>, String> {
    if depth > MAX_DEPTH {
        return Err("lists nested too deep (a list naming itself?)".into());
    }
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match reference(v) {
            Some(name) => {
                let inner = lists.get(name).ok_or_else(|| format!("unknown list @{name}"))?;
                out.extend(expand_seq(inner, lists, depth + 1)?);
            }
            None => out.push(expand(v.clone(), lists, depth)?),
        }
    }
    Ok(out)
}

/// Every sequence of a document with its list references replaced; a lone `"@name"` value (not in
/// a list) becomes the list.
fn expand(v: Value, lists: &Lists, depth: usize) -> Result<Value, String> {
    Ok(match v {
        Value::Sequence(seq) => Value::Sequence(expand_seq(&seq, lists, depth)?),
        Value::Mapping(map) => {
            let mut out = serde_norway::Mapping::new();
            for (k, v) in map {
                let v = match reference(&v) {
                    Some(name) => {
                        Value::Sequence(expand_seq(&[Value::String(format!("@{name}"))], lists, depth)?)
                    }
                    None => expand(v, lists, depth)?,
                };
                out.insert(k, v);
            }
            Value::Mapping(out)
        }
        other => other,
    })
}

/// Parses one rule file, expanding list references when the file has any.
pub(crate) fn parse_rule(file: &str, text: &str, lists: &Lists) -> Result<RuleSpec, RuleError> {
    let located = |e: serde_norway::Error| RuleError::Invalid {
        file: file.to_string(),
        line: e.location().map_or(1, |l| l.line()),
        message: e.to_string(),
    };
    // Straight from the text when nothing is referenced: errors keep their exact lines.
    if !text.contains("\"@") && !text.contains("'@") && !text.contains("[@") && !text.contains(" @") {
        return serde_norway::from_str(text).map_err(located);
    }
    let mut doc: Value = serde_norway::from_str(text).map_err(located)?;
    // Only the conditions name lists: descriptions, messages and fixtures are left as written.
    if let Value::Mapping(map) = &mut doc {
        for key in ["match", "sequence", "exceptions"] {
            if let Some(v) = map.get_mut(key) {
                let expanded = expand(v.clone(), lists, 0).map_err(|m| {
                    let needle = m.rsplit('@').next().unwrap_or("@").to_string();
                    invalid(file, text, &needle, format!("{key}: {m}"))
                })?;
                *v = expanded;
            }
        }
    }
    serde_norway::from_value(doc).map_err(|e| {
        let msg = e.to_string();
        let needle = msg.split('`').nth(1).unwrap_or("").to_string();
        invalid(file, text, &needle, msg)
    })
}
