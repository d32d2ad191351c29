//! Pipeline policy: known-benign behaviours allowed per image or rule (with a reason and an optional
//! expiry date), and severities raised or lowered. Allowed detections stay in the report, marked.
//!
//! ```yaml
//! allow:
//!   - rule: discovery-os-release-read   # glob on the rule id (rule and/or technique required)
//!     technique: T1082                  # the technique or one of its sub-techniques
//!     image: "registry.example.com/app:*"   # glob on the image reference (default: any)
//!     process: "/usr/bin/*"             # glob on the detection's executable (default: any)
//!     reason: "health check reads /etc/os-release"   # required
//!     expires: 2027-03-31               # optional; the entry stops applying after that day (UTC)
//! severity:
//!   - rule: network-connect-*
//!     set: low                          # low | medium | high | critical
//!     reason: "our images probe the sinkhole on start"
//! ```

use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use super::{Detection, Report, Severity};

/// Why a policy file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Unreadable file.
    #[error("cannot read policy {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a valid policy.
    #[error("policy {path}: {msg}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong (with the line when YAML says it).
        msg: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    #[serde(default)]
    allow: Vec<AllowSpec>,
    #[serde(default)]
    severity: Vec<SeveritySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowSpec {
    rule: Option<String>,
    technique: Option<String>,
    image: Option<String>,
    process: Option<String>,
    reason: String,
    expires: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeveritySpec {
    rule: Option<String>,
    technique: Option<String>,
    image: Option<String>,
    set: Severity,
    reason: String,
    expires: Option<String>,
}

/// What an entry matches.
#[derive(Clone, Debug)]
struct Selector {
    rule: Option<GlobMatcher>,
    technique: Option<String>,
    image: Option<GlobMatcher>,
    process: Option<GlobMatcher>,
}

impl Selector {
    fn matches(&self, image: &str, d: &Detection) -> bool {
        self.rule.as_ref().is_none_or(|g| g.is_match(&d.rule))
            && self.technique.as_ref().is_none_or(|t| {
                d.techniques
                    .iter()
                    .any(|x| x == t || x.strip_prefix(t.as_str()).is_some_and(|r| r.starts_with('.')))
            })
            && self.image.as_ref().is_none_or(|g| g.is_match(image))
            && self.process.as_ref().is_none_or(|g| g.is_match(&d.process.exe))
    }
}

#[derive(Clone, Debug)]
struct Entry {
    what: Selector,
    reason: String,
    /// `YYYY-MM-DD`, inclusive.
    expires: Option<String>,
    /// Text shown for the entry (its selector).
    label: String,
    /// `Some` for severity entries.
    set: Option<Severity>,
}

/// A loaded policy.
#[derive(Clone, Debug)]
pub struct Policy {
    path: PathBuf,
    allow: Vec<Entry>,
    severity: Vec<Entry>,
}

pub use crate::model::Allowance;

/// What a policy did to a report.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PolicySummary {
    /// The policy file.
    pub file: String,
    /// Detections allowed.
    pub allowed: u64,
    /// Detections whose severity was changed.
    pub changed: u64,
    /// Entries past their expiry date (they no longer apply), as `selector (expired DATE): reason`.
    pub expired: Vec<String>,
}

fn glob(path: &Path, field: &str, v: Option<&String>) -> Result<Option<GlobMatcher>, PolicyError> {
    v.map(|g| {
        Glob::new(g)
            .map(|g| g.compile_matcher())
            .map_err(|e| PolicyError::Invalid {
                path: path.to_path_buf(),
                msg: format!("{field}: {e}"),
            })
    })
    .transpose()
}

/// Checks a `YYYY-MM-DD` date.
fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && s.get(5..7)
            .and_then(|m| m.parse::<u8>().ok())
            .is_some_and(|m| (1..=12).contains(&m))
        && s.get(8..10)
            .and_then(|d| d.parse::<u8>().ok())
            .is_some_and(|d| (1..=31).contains(&d))
}

impl Policy {
    /// Loads and checks a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(path, &text)
    }

    /// Parses policy text (`path` is used in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let invalid = |msg: String| PolicyError::Invalid {
            path: path.to_path_buf(),
            msg,
        };
        let spec: PolicySpec = if text.trim().is_empty() {
            PolicySpec {
                allow: vec![],
                severity: vec![],
            }
        } else {
            serde_norway::from_str(text).map_err(|e| invalid(e.to_string()))?
        };
        let mut allow = Vec::new();
        let mut severity = Vec::new();
        let entries = spec
            .allow
            .into_iter()
            .map(|a| (a.rule, a.technique, a.image, a.process, a.reason, a.expires, None))
            .chain(spec.severity.into_iter().map(|s| {
                (
                    s.rule,
                    s.technique,
                    s.image,
                    None,
                    s.reason,
                    s.expires,
                    Some(s.set),
                )
            }));
        for (n, (rule, technique, image, process, reason, expires, set)) in entries.enumerate() {
            let section = if set.is_some() { "severity" } else { "allow" };
            if rule.is_none() && technique.is_none() {
                return Err(invalid(format!(
                    "{section} entry {}: give `rule` and/or `technique`",
                    n + 1
                )));
            }
            if reason.trim().is_empty() {
                return Err(invalid(format!("{section} entry {}: `reason` is empty", n + 1)));
            }
            if let Some(t) = &technique
                && mitre_mapping::lookup(t).is_none()
            {
                return Err(invalid(format!("{section}: unknown ATT&CK technique {t}")));
            }
            if let Some(d) = &expires
                && !valid_date(d)
            {
                return Err(invalid(format!(
                    "{section}: expires must be a date like 2027-03-31, not {d:?}"
                )));
            }
            let label = [
                rule.as_ref().map(|r| format!("rule {r}")),
                technique.as_ref().map(|t| format!("technique {t}")),
                image.as_ref().map(|i| format!("image {i}")),
                process.as_ref().map(|p| format!("process {p}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            let entry = Entry {
                what: Selector {
                    rule: glob(path, "rule", rule.as_ref())?,
                    technique,
                    image: glob(path, "image", image.as_ref())?,
                    process: glob(path, "process", process.as_ref())?,
                },
                reason,
                expires,
                label,
                set,
            };
            if set.is_some() {
                severity.push(entry);
            } else {
                allow.push(entry);
            }
        }
        Ok(Policy {
            path: path.to_path_buf(),
            allow,
            severity,
        })
    }

    /// Applies the policy to a report as of `today` (`YYYY-MM-DD`, UTC): severities first, then
    /// allowances; the verdict and score are recomputed from the detections not allowed.
    pub fn apply(&self, report: &mut Report, today: &str) {
        let mut summary = PolicySummary {
            file: self.path.display().to_string(),
            ..PolicySummary::default()
        };
        let live = |e: &Entry| e.expires.as_deref().is_none_or(|d| d >= today);
        for e in self.allow.iter().chain(&self.severity) {
            if let Some(d) = &e.expires
                && !live(e)
            {
                summary
                    .expired
                    .push(format!("{} (expired {d}): {}", e.label, e.reason));
            }
        }
        let image = report.image.reference.clone();
        for d in &mut report.detections {
            if let Some(e) = self
                .severity
                .iter()
                .find(|e| live(e) && e.what.matches(&image, d))
                && let Some(set) = e.set
                && set != d.severity
            {
                d.rule_severity.get_or_insert(d.severity);
                d.severity = set;
                summary.changed += 1;
            }
            if let Some(e) = self.allow.iter().find(|e| live(e) && e.what.matches(&image, d)) {
                d.allowed = Some(Allowance {
                    reason: e.reason.clone(),
                    expires: e.expires.clone(),
                });
                summary.allowed += 1;
            }
        }
        for k in &mut report.kill_chain {
            if let Some(d) = report.detections.get(k.detection) {
                k.severity = d.severity;
            }
        }
        let counted: Vec<Detection> = report
            .detections
            .iter()
            .filter(|d| d.allowed.is_none())
            .cloned()
            .collect();
        let (verdict, score) = super::verdict(&counted);
        report.verdict = verdict.to_string();
        report.score = score;
        report.policy = Some(summary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::DetectionProcess;

    fn det(rule: &str, sev: Severity, tech: &str) -> Detection {
        Detection {
            rule: rule.into(),
            severity: sev,
            techniques: vec![tech.into()],
            message: "m".into(),
            process: DetectionProcess {
                pid: 7,
                exe: "/bin/busybox".into(),
                argv: vec![],
            },
            evidence: vec![1],
            allowed: None,
            rule_severity: None,
            target: None,
        }
    }

    fn report(dets: Vec<Detection>) -> Report {
        let mut r = crate::report::tests::empty_report();
        r.image.reference = "acme/app:1.2".into();
        r.detections = dets;
        r
    }

    #[test]
    fn allow_marks_detection_and_recomputes_verdict() {
        let p = Policy::parse(
            Path::new("p.yaml"),
            "allow:\n  - rule: shell-*\n    image: 'acme/*'\n    reason: our entrypoint is a shell\n",
        )
        .expect("policy");
        let mut r = report(vec![
            det("shell-spawned", Severity::High, "T1059.004"),
            det("discovery", Severity::Low, "T1082"),
        ]);
        p.apply(&mut r, "2026-11-24");
        let d = &r.detections[0];
        assert_eq!(
            d.allowed.as_ref().map(|a| a.reason.as_str()),
            Some("our entrypoint is a shell")
        );
        assert!(r.detections[1].allowed.is_none());
        assert_eq!(r.verdict, "suspicious");
        assert_eq!(r.score, 20);
        assert_eq!(r.gate_severity(), Some(Severity::Low));
        assert_eq!(r.policy.as_ref().map(|p| p.allowed), Some(1));
    }

    #[test]
    fn other_image_is_not_allowed() {
        let p = Policy::parse(
            Path::new("p.yaml"),
            "allow:\n  - rule: '*'\n    image: 'other/*'\n    reason: r\n",
        )
        .expect("policy");
        let mut r = report(vec![det("x", Severity::High, "T1059.004")]);
        p.apply(&mut r, "2026-11-24");
        assert!(r.detections[0].allowed.is_none());
        assert_eq!(r.verdict, "malicious");
    }

    #[test]
    fn expired_entry_no_longer_applies_and_is_reported() {
        let p = Policy::parse(
            Path::new("p.yaml"),
            "allow:\n  - technique: T1059\n    reason: temporary\n    expires: 2026-11-23\n  - technique: T1082\n    reason: still valid\n    expires: 2026-11-24\n",
        )
        .expect("policy");
        let mut r = report(vec![
            det("a", Severity::High, "T1059.004"),
            det("b", Severity::Low, "T1082"),
        ]);
        p.apply(&mut r, "2026-11-24");
        assert!(r.detections[0].allowed.is_none(), "expired allowance applied");
        assert!(r.detections[1].allowed.is_some(), "valid through its expiry day");
        let s = r.policy.as_ref().expect("summary");
        assert_eq!(s.expired.len(), 1);
        assert!(s.expired[0].contains("technique T1059 (expired 2026-11-23): temporary"));
        assert_eq!(r.gate_severity(), Some(Severity::High));
    }

    #[test]
    fn severity_is_raised_and_lowered() {
        let p = Policy::parse(
            Path::new("p.yaml"),
            "severity:\n  - rule: a\n    set: critical\n    reason: never acceptable here\n  - technique: T1082\n    set: low\n    reason: noise\n",
        )
        .expect("policy");
        let mut r = report(vec![
            det("a", Severity::Medium, "T1059.004"),
            det("b", Severity::High, "T1082"),
        ]);
        p.apply(&mut r, "2026-11-24");
        assert_eq!(r.detections[0].severity, Severity::Critical);
        assert_eq!(r.detections[0].rule_severity, Some(Severity::Medium));
        assert_eq!(r.detections[1].severity, Severity::Low);
        assert_eq!(r.policy.as_ref().map(|p| p.changed), Some(2));
        assert_eq!(r.verdict, "malicious");
        assert_eq!(r.score, 96);
    }

    #[test]
    fn bad_policies_are_refused_with_a_reason() {
        for (text, want) in [
            (
                "allow:\n  - image: x\n    reason: r\n",
                "give `rule` and/or `technique`",
            ),
            ("allow:\n  - rule: x\n    reason: ' '\n", "`reason` is empty"),
            ("allow:\n  - rule: x\n", "reason"),
            (
                "allow:\n  - rule: x\n    reason: r\n    expires: tomorrow\n",
                "expires must be a date",
            ),
            (
                "allow:\n  - rule: x\n    reason: r\n    expires: 2026-13-01\n",
                "expires must be a date",
            ),
            (
                "allow:\n  - technique: T9999\n    reason: r\n",
                "unknown ATT&CK technique",
            ),
            ("allow:\n  - rule: '[x'\n    reason: r\n", "rule:"),
            ("allwo: []\n", "unknown field"),
            (
                "severity:\n  - rule: x\n    set: huge\n    reason: r\n",
                "unknown variant",
            ),
        ] {
            let e = Policy::parse(Path::new("p.yaml"), text).expect_err(text);
            let msg = e.to_string();
            assert!(msg.starts_with("policy p.yaml: "), "{msg}");
            assert!(msg.contains(want), "{text:?}: {msg}");
        }
        assert!(Policy::parse(Path::new("p.yaml"), "").is_ok());
    }
}
