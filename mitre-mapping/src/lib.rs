//! The MITRE ATT&CK Enterprise catalogue for the platforms a container sample can reach (Linux,
//! Containers, and IaaS for cloud metadata services), with lookups by id, parent, and tactic.
//!
//! The data in `generated.rs` is generated from MITRE's STIX release by `regenerate.py` (see the
//! crate README); [`ATTACK_VERSION`] records the release.

#[rustfmt::skip]
mod generated;

use std::fmt;

pub use generated::{ATTACK_VERSION, TECHNIQUES};
use serde::{Deserialize, Serialize};

/// An ATT&CK tactic. The declaration order is the kill-chain order (reconnaissance ... impact).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tactic {
    /// TA0043.
    Reconnaissance,
    /// TA0042.
    ResourceDevelopment,
    /// TA0001.
    InitialAccess,
    /// TA0002.
    Execution,
    /// TA0003.
    Persistence,
    /// TA0004.
    PrivilegeEscalation,
    /// TA0005.
    DefenseEvasion,
    /// TA0006.
    CredentialAccess,
    /// TA0007.
    Discovery,
    /// TA0008.
    LateralMovement,
    /// TA0009.
    Collection,
    /// TA0011.
    CommandAndControl,
    /// TA0010.
    Exfiltration,
    /// TA0040.
    Impact,
}

impl Tactic {
    /// Every tactic in kill-chain order.
    pub const ALL: [Tactic; 14] = [
        Tactic::Reconnaissance,
        Tactic::ResourceDevelopment,
        Tactic::InitialAccess,
        Tactic::Execution,
        Tactic::Persistence,
        Tactic::PrivilegeEscalation,
        Tactic::DefenseEvasion,
        Tactic::CredentialAccess,
        Tactic::Discovery,
        Tactic::LateralMovement,
        Tactic::Collection,
        Tactic::CommandAndControl,
        Tactic::Exfiltration,
        Tactic::Impact,
    ];

    /// The ATT&CK short name (`credential-access`).
    pub fn short_name(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "reconnaissance",
            Tactic::ResourceDevelopment => "resource-development",
            Tactic::InitialAccess => "initial-access",
            Tactic::Execution => "execution",
            Tactic::Persistence => "persistence",
            Tactic::PrivilegeEscalation => "privilege-escalation",
            Tactic::DefenseEvasion => "defense-evasion",
            Tactic::CredentialAccess => "credential-access",
            Tactic::Discovery => "discovery",
            Tactic::LateralMovement => "lateral-movement",
            Tactic::Collection => "collection",
            Tactic::CommandAndControl => "command-and-control",
            Tactic::Exfiltration => "exfiltration",
            Tactic::Impact => "impact",
        }
    }

    /// The tactic with this short name.
    pub fn from_short_name(name: &str) -> Option<Tactic> {
        Tactic::ALL.into_iter().find(|t| t.short_name() == name)
    }

    /// Position in the kill chain (0 = reconnaissance).
    pub fn order(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Tactic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// A technique or sub-technique.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Technique {
    /// `T1059` or `T1059.004`.
    pub id: &'static str,
    /// Name (a sub-technique's own name, without its parent's).
    pub name: &'static str,
    /// Tactics, in kill-chain order.
    pub tactics: &'static [Tactic],
    /// Its attack.mitre.org page.
    pub url: &'static str,
    /// ATT&CK platforms it applies to.
    pub platforms: &'static [&'static str],
}

impl Technique {
    /// True for a sub-technique (`T1059.004`).
    pub fn is_subtechnique(&self) -> bool {
        self.id.contains('.')
    }

    /// The parent technique of a sub-technique.
    pub fn parent(&self) -> Option<&'static Technique> {
        self.id.split_once('.').and_then(|(parent, _)| lookup(parent))
    }

    /// `Parent: Sub` for sub-techniques, the name otherwise.
    pub fn full_name(&self) -> String {
        match self.parent() {
            Some(p) => format!("{}: {}", p.name, self.name),
            None => self.name.to_string(),
        }
    }

    /// The earliest tactic in the kill chain.
    pub fn first_tactic(&self) -> Option<Tactic> {
        self.tactics.iter().copied().min()
    }
}

/// The technique with this id (`T1059.004`), if it is in the catalogue.
pub fn lookup(id: &str) -> Option<&'static Technique> {
    TECHNIQUES
        .binary_search_by(|t| t.id.cmp(id))
        .ok()
        .map(|i| &TECHNIQUES[i])
}

/// Tactics of a technique id (empty when unknown).
pub fn tactics(id: &str) -> &'static [Tactic] {
    lookup(id).map_or(&[], |t| t.tactics)
}

/// Every technique of a tactic, sorted by id.
pub fn by_tactic(tactic: Tactic) -> impl Iterator<Item = &'static Technique> {
    TECHNIQUES.iter().filter(move |t| t.tactics.contains(&tactic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_unique_and_complete() {
        assert!(TECHNIQUES.len() > 300, "{}", TECHNIQUES.len());
        assert!(
            TECHNIQUES.windows(2).all(|w| w[0].id < w[1].id),
            "sorted and unique"
        );
        for t in TECHNIQUES {
            assert!(!t.tactics.is_empty(), "{} has no tactic", t.id);
            assert!(
                t.url.starts_with("https://attack.mitre.org/techniques/T"),
                "{}",
                t.url
            );
            if t.is_subtechnique() {
                assert!(t.parent().is_some(), "{} has no parent in the catalogue", t.id);
            }
        }
        assert!(
            ATTACK_VERSION
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
                .is_some_and(|m| m >= 18)
        );
    }

    #[test]
    fn lookups() {
        let t = lookup("T1059.004").expect("Unix shell");
        assert_eq!(t.name, "Unix Shell");
        assert_eq!(t.full_name(), "Command and Scripting Interpreter: Unix Shell");
        assert_eq!(t.parent().map(|p| p.id), Some("T1059"));
        assert_eq!(tactics("T1611"), &[Tactic::PrivilegeEscalation]);
        assert!(lookup("T1552.005").is_some(), "cloud metadata API (IaaS) is kept");
        assert!(lookup("T9999").is_none());
        assert!(lookup("").is_none());
        assert!(by_tactic(Tactic::Discovery).any(|t| t.id == "T1082"));
    }

    #[test]
    fn tactics_are_in_kill_chain_order() {
        assert!(Tactic::Reconnaissance < Tactic::Execution && Tactic::Execution < Tactic::Impact);
        assert_eq!(
            Tactic::from_short_name("command-and-control"),
            Some(Tactic::CommandAndControl)
        );
        for (i, t) in Tactic::ALL.iter().enumerate() {
            assert_eq!(t.order(), i);
            assert_eq!(Tactic::from_short_name(t.short_name()), Some(*t));
        }
        for t in TECHNIQUES {
            assert!(
                t.tactics.windows(2).all(|w| w[0] < w[1]),
                "{} tactics out of order",
                t.id
            );
        }
    }
}
