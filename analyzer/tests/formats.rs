//! Every report format, produced from a real corpus run's report (tests/data/demo-report.json, the
//! stored report of `sandtrace-corpus/demo`) and from edge cases, checked against the schemas kept in
//! the repository: the sandtrace.report/v1 JSON Schema and the official SARIF 2.1.0 schema.

use std::path::Path;

use sandtrace::{
    detect::RuleSet,
    report::{Format, Report, Severity, policy::Policy, render},
};
use serde_json::Value;

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(name);
    let mut text = std::fs::read_to_string(&path).expect("schema file");
    // The official SARIF schema's `language` pattern has a stray `]`, legal only in the web browsers'
    // legacy regex dialect (ECMA-262 Annex B), where it is a literal. The copy is kept verbatim; the
    // validator gets the same pattern with that bracket escaped.
    text = text.replace(r#"[a-zA-Z]{2}]?$"#, r#"[a-zA-Z]{2}\\]?$"#);
    let v: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&v)
        .expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate:\n{}",
        errors.join("\n")
    );
}

fn demo() -> Report {
    serde_json::from_str(include_str!("data/demo-report.json")).expect("demo report")
}

/// Reports covering the shapes a run can take.
fn reports() -> Vec<(&'static str, Report)> {
    let mut hostile = demo();
    hostile.image.reference = "evil/<script>alert(1)</script>:\"'&".into();
    if let Some(d) = hostile.detections.first_mut() {
        d.message = "\u{202e}gpj.exe \x1b[31m<b>".into();
        d.process.argv = vec!["<img src=x onerror=alert(1)>".into()];
    }
    let mut allowed = demo();
    Policy::parse(
        Path::new("policy.yaml"),
        "allow:\n  - technique: T1059\n    reason: our entrypoint is a shell\n    expires: 2099-01-01\n  - rule: '*'\n    reason: old\n    expires: 2000-01-01\n",
    )
    .expect("policy")
    .apply(&mut allowed, "2026-11-24");
    vec![
        ("demo", demo()),
        ("empty", Report::empty()),
        ("hostile", hostile),
        ("policy", allowed),
    ]
}

#[test]
fn json_reports_validate_against_the_v1_schema() {
    let v = schema("report-v1.schema.json");
    for (name, r) in reports() {
        let text = render(&r, Format::Json, None, false).expect("json");
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_valid(&v, &doc, name);
        // What is written can be read back unchanged.
        let back: Report = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, r, "{name} round trip");
    }
}

#[test]
fn schema_rejects_what_breaks_the_contract() {
    let v = schema("report-v1.schema.json");
    let good: Value = serde_json::to_value(demo()).expect("value");
    for (field, bad) in [
        ("verdict", Value::from("fine")),
        ("score", Value::from(101)),
        ("schema", Value::from("sandtrace.report/v2")),
    ] {
        let mut doc = good.clone();
        doc[field] = bad;
        assert!(!v.is_valid(&doc), "{field} change was accepted");
    }
    let mut doc = good.clone();
    doc["detections"][0]["severity"] = Value::from("severe");
    assert!(!v.is_valid(&doc));
    let mut doc = good;
    doc["techniques"][0]["id"] = Value::from("1059");
    assert!(!v.is_valid(&doc));
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let v = schema("sarif-schema-2.1.0.json");
    let rules = RuleSet::bundled().expect("rules");
    for (name, r) in reports() {
        for rules in [Some(&rules), None] {
            let text = render(&r, Format::Sarif, rules, false).expect("sarif");
            let doc: Value = serde_json::from_str(&text).expect("JSON");
            assert_valid(&v, &doc, name);
        }
    }
    // The validator does reject what code scanning would: a level SARIF does not know.
    let mut doc: Value =
        serde_json::from_str(&render(&demo(), Format::Sarif, None, false).expect("sarif")).expect("json");
    doc["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!v.is_valid(&doc));
}

#[test]
fn sarif_has_one_result_per_detection_with_attack_metadata() {
    let r = demo();
    let rules = RuleSet::bundled().expect("rules");
    let doc: Value =
        serde_json::from_str(&render(&r, Format::Sarif, Some(&rules), false).expect("sarif")).expect("json");
    let run = &doc["runs"][0];
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), r.detections.len());
    let descriptors = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for (res, d) in results.iter().zip(&r.detections) {
        assert_eq!(res["ruleId"], Value::from(d.rule.as_str()));
        let idx = res["ruleIndex"].as_u64().expect("index") as usize;
        let desc = &descriptors[idx];
        assert_eq!(desc["id"], res["ruleId"]);
        assert!(
            desc["helpUri"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://attack.mitre.org/techniques/T"))
        );
        let tags: Vec<&str> = desc["properties"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for t in &d.techniques {
            assert!(tags.contains(&t.as_str()), "{t} not tagged on {}", d.rule);
        }
        let want = match d.severity {
            Severity::Low => "note",
            Severity::Medium => "warning",
            _ => "error",
        };
        assert_eq!(res["level"], Value::from(want));
        assert_eq!(
            res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            Value::from("sandtrace-corpus/demo%3Alatest")
        );
    }
    assert_eq!(run["artifacts"][0]["roles"][0], Value::from("analysisTarget"));
}

#[test]
fn sarif_marks_allowed_detections_as_suppressed() {
    let (_, r) = reports()
        .into_iter()
        .find(|(n, _)| *n == "policy")
        .expect("policy report");
    let doc: Value =
        serde_json::from_str(&render(&r, Format::Sarif, None, false).expect("sarif")).expect("json");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let suppressed = results.iter().filter(|x| x.get("suppressions").is_some()).count();
    let allowed = r.detections.iter().filter(|d| d.allowed.is_some()).count();
    assert!(allowed > 0);
    assert_eq!(suppressed, allowed);
}

#[test]
fn navigator_layer_scores_every_technique() {
    let r = demo();
    let doc: Value =
        serde_json::from_str(&render(&r, Format::Navigator, None, false).expect("layer")).expect("json");
    assert_eq!(doc["versions"]["layer"], Value::from("4.5"));
    assert_eq!(doc["domain"], Value::from("enterprise-attack"));
    let entries = doc["techniques"].as_array().expect("techniques");
    for t in &r.techniques {
        let hits: Vec<&Value> = entries
            .iter()
            .filter(|e| e["techniqueID"] == t.id.as_str())
            .collect();
        assert!(!hits.is_empty(), "{} missing from the layer", t.id);
        for h in hits {
            let tactic = h["tactic"].as_str().expect("tactic");
            assert!(t.tactics.iter().any(|x| x == tactic), "{} under {tactic}", t.id);
            assert!(h["score"].as_u64().is_some_and(|s| (25..=100).contains(&s)));
            assert!(h["comment"].as_str().is_some_and(|c| !c.is_empty()));
        }
        if let Some((parent, _)) = t.id.split_once('.') {
            assert!(
                entries
                    .iter()
                    .any(|e| e["techniqueID"] == parent && e["showSubtechniques"] == true),
                "parent {parent} not expanded"
            );
        }
    }
}

#[test]
fn text_is_short_and_escapes_the_sample() {
    let (_, r) = reports()
        .into_iter()
        .find(|(n, _)| *n == "hostile")
        .expect("hostile");
    let plain = render(&r, Format::Text, None, false).expect("text");
    assert!(!plain.contains('\x1b'), "uncoloured text has an escape");
    assert!(!plain.contains('\u{202e}'), "bidi override reached the terminal");
    assert!(plain.contains("verdict: MALICIOUS"));
    assert!(plain.contains("ATT&CK techniques by tactic"));
    let coloured = render(&r, Format::Text, None, true).expect("text");
    assert!(coloured.contains("\x1b[1;31mMALICIOUS\x1b[0m"));
    // The only escapes are ours: every ESC starts one of our SGR sequences.
    for (i, _) in coloured.match_indices('\x1b') {
        assert!(coloured[i..].starts_with("\x1b[") && coloured[i + 2..].chars().take(5).any(|c| c == 'm'));
    }
    assert!(
        !coloured.contains("\x1b[31m<b>"),
        "the sample's escape sequence was passed through"
    );
}
