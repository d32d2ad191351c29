//! Rule fixtures: each rule's short event sequences, run through a fresh trace with the whole rule
//! set, must (or must not) trigger it.

use std::{collections::HashMap, sync::Arc};

use super::RunTrace;
use crate::{capture::EventSink, detect::RuleSet};

/// Outcome of one fixture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureResult {
    /// Rule id.
    pub rule: String,
    /// Fixture name.
    pub name: String,
    /// Passed.
    pub passed: bool,
    /// What went wrong.
    pub detail: String,
}

/// Runs every fixture of every rule; each fixture gets a fresh trace with the whole rule set.
pub fn run_all(rules: &Arc<RuleSet>) -> Vec<FixtureResult> {
    let mut out = Vec::new();
    for rule in rules.rules() {
        if rule.tests.iter().all(|t| t.expect != "match") || rule.tests.iter().all(|t| t.expect != "no_match")
        {
            out.push(FixtureResult {
                rule: rule.id.clone(),
                name: "(fixtures)".into(),
                passed: false,
                detail: "needs at least one `match` and one `no_match` fixture".into(),
            });
        }
        for t in &rule.tests {
            let mut trace = RunTrace::for_fixtures(Arc::clone(rules));
            let mut error = None;
            // Script texts the fixture gives, by the path its exec runs.
            let mut scripts: HashMap<String, String> = HashMap::new();
            for (i, fe) in t.events.iter().enumerate() {
                if let (Some(text), Some(file)) = (&fe.script, fe.filename.as_deref())
                    && let Some(path) =
                        crate::detect::script_of(file, fe.argv.as_deref().unwrap_or(&[]), None)
                {
                    scripts.insert(path, text.clone());
                }
                match fe.to_event(i as u64) {
                    Ok(ev) => trace.event(ev),
                    Err(e) => error = Some(e),
                }
            }
            let read = |p: &str| scripts.get(p).cloned();
            let after = crate::detect::script_detections(rules, trace.processes(), &read);
            let hit = trace
                .detections()
                .iter()
                .chain(after.iter())
                .any(|d| d.rule == rule.id);
            let want = t.expect == "match";
            let (passed, detail) = match error {
                Some(e) => (false, format!("bad fixture event: {e}")),
                None if hit == want => (true, String::new()),
                None => (
                    false,
                    if want {
                        "expected a match, got none".into()
                    } else {
                        "matched, expected no match".into()
                    },
                ),
            };
            out.push(FixtureResult {
                rule: rule.id.clone(),
                name: t.name.clone(),
                passed,
                detail,
            });
        }
    }
    out
}
