//! An ATT&CK Navigator layer (layer format 4.5) with the run's techniques scored by their most severe
//! detection and commented with what was seen.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Report, Severity};

/// Navigator score of a severity.
fn score(s: Severity) -> u32 {
    match s {
        Severity::Info => 10,
        Severity::Low => 25,
        Severity::Medium => 50,
        Severity::High => 75,
        Severity::Critical => 100,
    }
}

/// Most characters of a technique's comment.
const MAX_COMMENT: usize = 2000;

/// Per technique: highest severity not allowed, comment lines, rules.
type Seen<'a> = (Option<Severity>, Vec<String>, Vec<&'a str>);

/// Renders the layer.
pub fn render(r: &Report) -> Value {
    // Per technique: highest severity, detections, messages; allowed detections are listed but not scored.
    let mut per: BTreeMap<&str, Seen<'_>> = BTreeMap::new();
    for d in &r.detections {
        for t in &d.techniques {
            let e = per.entry(t.as_str()).or_default();
            if d.allowed.is_none() {
                e.0 = e.0.max(Some(d.severity));
            }
            let allowed = if d.allowed.is_some() {
                " (allowed by policy)"
            } else {
                ""
            };
            e.1.push(format!("[{:?}] {}: {}{allowed}", d.severity, d.rule, d.message));
            if !e.2.contains(&d.rule.as_str()) {
                e.2.push(&d.rule);
            }
        }
    }
    let mut techniques = Vec::new();
    let mut parents: BTreeMap<&str, ()> = BTreeMap::new();
    for (id, (sev, lines, rules)) in &per {
        let mut comment = lines.join("\n");
        if comment.len() > MAX_COMMENT {
            let mut cut = MAX_COMMENT;
            while !comment.is_char_boundary(cut) {
                cut -= 1;
            }
            comment.truncate(cut);
            comment.push_str("\n...");
        }
        let tactics = mitre_mapping::tactics(id);
        for tactic in tactics {
            let mut t = json!({
                "techniqueID": id,
                "tactic": tactic.short_name(),
                "comment": comment,
                "enabled": true,
                "metadata": rules.iter().map(|r| json!({"name": "rule", "value": r})).collect::<Vec<_>>(),
                "links": [],
                "showSubtechniques": false,
            });
            if let (Some(s), Some(obj)) = (sev, t.as_object_mut()) {
                obj.insert("score".into(), json!(score(*s)));
            } else if let Some(obj) = t.as_object_mut() {
                obj.insert("color".into(), json!("#cfe8cf"));
            }
            techniques.push(t);
        }
        if let Some((parent, _)) = id.split_once('.') {
            parents.insert(parent, ());
        }
    }
    // Parents of sub-techniques are shown expanded so the sub-technique is visible.
    for parent in parents.keys() {
        for tactic in mitre_mapping::tactics(parent) {
            if let Some(existing) = techniques
                .iter_mut()
                .find(|t| t["techniqueID"] == json!(parent) && t["tactic"] == json!(tactic.short_name()))
            {
                existing["showSubtechniques"] = json!(true);
            } else {
                techniques.push(json!({
                    "techniqueID": parent,
                    "tactic": tactic.short_name(),
                    "enabled": true,
                    "showSubtechniques": true,
                }));
            }
        }
    }
    json!({
        "name": format!("sandtrace {}", r.image.reference),
        "versions": {"attack": mitre_mapping::ATTACK_VERSION.split('.').next().unwrap_or("18"), "navigator": "5.1.0", "layer": "4.5"},
        "domain": "enterprise-attack",
        "description": format!(
            "sandtrace run {} of {} ({}): verdict {}, score {}; {} events, {} lost",
            r.run_id, r.image.reference, r.image.id, r.verdict, r.score, r.stats.events, r.stats.dropped
        ),
        "filters": {"platforms": ["Linux", "Containers", "IaaS"]},
        "sorting": 3,
        "layout": {
            "layout": "side",
            "aggregateFunction": "max",
            "showID": true,
            "showName": true,
            "showAggregateScores": false,
            "countUnscored": false,
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": ["#ffffffff", "#ffe766ff", "#ff6666ff"], "minValue": 0, "maxValue": 100},
        "legendItems": [
            {"label": "low", "color": "#ffe766"},
            {"label": "critical", "color": "#ff6666"},
            {"label": "allowed by policy", "color": "#cfe8cf"},
        ],
        "metadata": [
            {"name": "run", "value": r.run_id},
            {"name": "image", "value": r.image.reference},
            {"name": "verdict", "value": r.verdict},
        ],
        "links": [],
        "showTacticRowBackground": false,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    })
}
