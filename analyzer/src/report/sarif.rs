//! SARIF 2.1.0 for code-scanning UIs: one result per detection, rule metadata with ATT&CK ids and help
//! URIs, severities mapped to levels (and to GitHub's `security-severity`), the image as the artifact.
//! Detections allowed by a policy are results with an external suppression.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Detection, Report, Severity};
use crate::detect::RuleSet;

/// SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Info | Severity::Low => "note",
        Severity::Medium => "warning",
        Severity::High | Severity::Critical => "error",
    }
}

/// GitHub's `security-severity` (0.0-10.0; >= 9 critical, >= 7 high, >= 4 medium).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "0.0",
        Severity::Low => "3.0",
        Severity::Medium => "5.5",
        Severity::High => "8.0",
        Severity::Critical => "9.5",
    }
}

/// Text the sample controls, made inert for SARIF viewers: `[text](url)` would be an embedded link
/// and `{0}` a placeholder, so brackets are escaped and braces doubled (SARIF 2.1.0 §3.11.5–6).
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            c => out.push(c),
        }
    }
    out
}

fn severity_name(s: Severity) -> &'static str {
    s.as_str()
}

/// The image reference as a relative URI reference (anything outside a safe set percent-encoded).
pub fn image_uri(reference: &str) -> String {
    let mut out = String::with_capacity(reference.len());
    for b in reference.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~@+".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("image");
    }
    out
}

/// A stable fingerprint of a detection (same rule, image, program and message across runs).
fn fingerprint(image: &str, d: &Detection) -> String {
    // FNV-1a, 64 bits: stable across Rust versions, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [image, d.rule.as_str(), d.process.exe.as_str(), d.message.as_str()] {
        for b in part.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn technique_url(id: &str) -> String {
    mitre_mapping::lookup(id).map_or_else(
        || format!("https://attack.mitre.org/techniques/{}/", id.replace('.', "/")),
        |t| t.url.to_string(),
    )
}

/// Renders the report as a SARIF 2.1.0 log. `rules` supplies names and descriptions (the rule id is
/// used where a rule is unknown, e.g. for a stored run analysed with other rules).
pub fn render(r: &Report, rules: Option<&RuleSet>) -> Value {
    let meta: BTreeMap<&str, &crate::detect::rule::Rule> = rules
        .map(|rs| rs.rules().iter().map(|x| (x.id.as_str(), x)).collect())
        .unwrap_or_default();
    // One reportingDescriptor per rule that fired, in first-seen order.
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut descriptors: Vec<Value> = Vec::new();
    for d in &r.detections {
        if rule_index.contains_key(d.rule.as_str()) {
            continue;
        }
        rule_index.insert(&d.rule, descriptors.len());
        let m = meta.get(d.rule.as_str());
        let name = m.map_or(d.rule.as_str(), |x| x.name.as_str());
        let description = m.map_or_else(|| name.to_string(), |x| x.description.trim().to_string());
        let severity = m.map_or(d.rule_severity.unwrap_or(d.severity), |x| x.severity);
        let techniques: Vec<String> = m.map_or_else(|| d.techniques.clone(), |x| x.techniques.clone());
        let mut tags = vec!["security".to_string(), "mitre-attack".to_string()];
        let mut help_md = format!("**{name}**\n\n{description}\n\nMITRE ATT&CK:\n");
        let mut help_text = format!("{name}\n\n{description}\n\nMITRE ATT&CK:\n");
        for t in &techniques {
            tags.push(t.clone());
            tags.push(format!("external/mitre-attack/{t}"));
            let tname = mitre_mapping::lookup(t).map(mitre_mapping::Technique::full_name);
            let tname = tname.as_deref().unwrap_or("");
            help_md.push_str(&format!("- [{t}]({}) {tname}\n", technique_url(t)));
            help_text.push_str(&format!("- {t} {tname} {}\n", technique_url(t)));
            for tactic in mitre_mapping::tactics(t) {
                let tag = format!("tactic/{}", tactic.short_name());
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        descriptors.push(json!({
            "id": d.rule,
            "name": name,
            "shortDescription": {"text": name},
            "fullDescription": {"text": description},
            "helpUri": techniques.first().map_or_else(|| "https://attack.mitre.org/".to_string(), |t| technique_url(t)),
            "help": {"text": help_text, "markdown": help_md},
            "defaultConfiguration": {"level": level(severity)},
            "properties": {
                "tags": tags,
                "precision": "high",
                "problem.severity": level(severity),
                "security-severity": security_severity(severity),
                "techniques": techniques,
            },
        }));
    }
    let uri = image_uri(&r.image.reference);
    let results: Vec<Value> = r
        .detections
        .iter()
        .map(|d| {
            let argv = d.process.argv.join(" ");
            let mut res = json!({
                "ruleId": d.rule,
                "ruleIndex": rule_index.get(d.rule.as_str()).copied().unwrap_or(0),
                "level": level(d.severity),
                "message": {"text": format!("{} ({}; pid {} {})", plain(&d.message), d.techniques.join(", "), d.process.pid, plain(&d.process.exe))},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri, "index": 0}},
                    "logicalLocations": [{
                        "name": d.process.exe,
                        "fullyQualifiedName": format!("pid {}: {argv}", d.process.pid),
                        "kind": "process",
                    }],
                }],
                "partialFingerprints": {"sandtraceDetection/v1": fingerprint(&r.image.reference, d)},
                "properties": {
                    "severity": severity_name(d.severity),
                    "security-severity": security_severity(d.severity),
                    "techniques": d.techniques,
                    "pid": d.process.pid,
                    "argv": d.process.argv,
                    "evidence": d.evidence,
                },
            });
            if let Some(a) = &d.allowed
                && let Some(obj) = res.as_object_mut()
            {
                obj.insert(
                    "suppressions".into(),
                    json!([{"kind": "external", "status": "accepted", "justification": a.reason}]),
                );
            }
            res
        })
        .collect();
    let mut props = json!({
        "run_id": r.run_id,
        "verdict": r.verdict,
        "score": r.score,
        "image_id": r.image.id,
        "events": r.stats.events,
        "events_lost": r.stats.dropped,
        "network": r.sandbox.network,
        "profile": r.sandbox.profile,
        "observation_complete": r.observation.complete,
        "actions_refused": r.observation.refused_total,
        "files_left": r.dropped_files.files.iter().filter(|f| f.is_new_content()).count(),
        "techniques": r.techniques.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
    });
    if let Some(p) = &r.policy
        && let Some(obj) = props.as_object_mut()
    {
        obj.insert("policy".into(), serde_json::to_value(p).unwrap_or(Value::Null));
    }
    let mut notifications = Vec::new();
    if r.stats.dropped > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!("{} events were lost: the trace is incomplete", r.stats.dropped)},
        }));
    }
    if !r.observation.complete {
        notifications.push(json!({
            "level": "warning",
            "descriptor": {"id": "incomplete-observation"},
            "message": {"text": format!(
                "incomplete observation: {}; the verdict covers only what ran",
                r.observation.reasons.join("; ")
            )},
        }));
    }
    if !r.stats.capture.probes_missing.is_empty() {
        notifications.push(json!({
            "level": "note",
            "message": {"text": format!("probes not attached on this kernel: {}", r.stats.capture.probes_missing.join(", "))},
        }));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sandtrace",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "automationDetails": {"id": format!("sandtrace/{}/", image_uri(&r.image.reference))},
            "artifacts": [{
                "location": {"uri": uri},
                "roles": ["analysisTarget"],
                "description": {"text": format!("container image {} ({})", plain(&r.image.reference), plain(&r.image.id))},
            }],
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": r.started_at,
                "endTimeUtc": r.finished_at,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": props,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_uri_is_a_safe_relative_reference() {
        assert_eq!(image_uri("acme/app:1.2"), "acme/app%3A1.2");
        assert_eq!(image_uri("a b<c>"), "a%20b%3Cc%3E");
        assert_eq!(image_uri(""), "image");
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(
            plain("see [here](https://x.invalid) {0}"),
            "see \\[here\\](https://x.invalid) {{0}}"
        );
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Critical), "error");
    }
}
