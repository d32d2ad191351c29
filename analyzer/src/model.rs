//! The data every stage shares: the processes the correlator rebuilds, the file and network
//! activity it aggregates, and the detections rules produce, with their severities. It imports no
//! stage; every stage imports it (capture → correlate → detect → store/report, data forward only).

use std::{collections::BTreeMap, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::event::Event;

/// Severity of a detection, ordered.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Context: shown and stored, never counted in the verdict, the score or `--fail-on`.
    #[value(skip)]
    Info,
    /// Worth a look.
    Low,
    /// Suspicious.
    Medium,
    /// Likely malicious.
    High,
    /// Malicious.
    Critical,
}

impl Severity {
    /// Lower-case name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Counts for the verdict, the score and `--fail-on` (everything but `info`).
    pub fn counts(self) -> bool {
        self > Severity::Info
    }
}

/// The mark a policy put on a detection.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Allowance {
    /// The reason given in the policy.
    pub reason: String,
    /// Expiry date of the entry, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// The process a detection is about.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DetectionProcess {
    /// Pid.
    pub pid: u32,
    /// Executable.
    pub exe: String,
    /// Arguments.
    pub argv: Vec<String>,
}

/// One rule match.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Detection {
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// What happened.
    pub message: String,
    /// The process.
    pub process: DetectionProcess,
    /// Event `seq` numbers that are the evidence.
    pub evidence: Vec<u64>,
    /// Set when a policy allows this detection: it is shown but does not count for the verdict or gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Allowance>,
    /// The rule's own severity, when a policy changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_severity: Option<Severity>,
    /// The path a rule that is only meaningful on regular files matched (checked after the run
    /// against the container's final file system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One process of the run (one pid between fork and exit; exec chains stay one node).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProcessNode {
    /// Process id (host pid namespace).
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Last program executed (empty if it never executed one we saw).
    pub exe: String,
    /// Its arguments (shared with its exec record and the children that inherit them).
    pub argv: Argv,
    /// Task name.
    pub comm: String,
    /// Real uid.
    pub uid: u32,
    /// First time seen (boot-time ns).
    pub start_ns: u64,
    /// Exit time, if seen.
    pub end_ns: Option<u64>,
    /// Exit status, if it exited normally.
    pub exit_status: Option<i32>,
    /// Killing signal, if killed.
    pub exit_signal: Option<i32>,
    /// Every program it executed, in order (the first [`MAX_EXECS`]).
    pub execs: Vec<ExecRecord>,
    /// Execs beyond [`MAX_EXECS`] (counted, not listed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub execs_omitted: u64,
    /// How it was first seen: `fork`, `exec` (its fork was outside the run, e.g. the entrypoint) or `event`.
    pub first_seen: String,
    /// Events attributed to it.
    pub events: u64,
    /// Working directory, as far as it could be followed.
    #[serde(skip)]
    pub(crate) cwd: Option<String>,
}

impl ProcessNode {
    /// The command line the node is named by: its first own program's (what a process became
    /// later, e.g. an entrypoint that ends in `exec gosu postgres`, is in [`ProcessNode::execs`]).
    pub fn first_argv(&self) -> &[String] {
        self.execs.first().map_or(&self.argv, |x| &x.argv)
    }

    /// A node first seen at `ev` (its own event, or its parent's fork).
    pub(crate) fn started(
        ev: &Event,
        pid: u32,
        ppid: u32,
        first_seen: &str,
        exe: String,
        argv: Argv,
        cwd: Option<String>,
    ) -> ProcessNode {
        ProcessNode {
            pid,
            ppid,
            exe,
            argv,
            comm: ev.comm.clone(),
            uid: ev.uid,
            start_ns: ev.ts_ns,
            end_ns: None,
            exit_status: None,
            exit_signal: None,
            execs: Vec::new(),
            execs_omitted: 0,
            first_seen: first_seen.to_string(),
            events: 0,
            cwd,
        }
    }
}

/// One exec of a process.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExecRecord {
    /// Event number of the exec.
    #[serde(default)]
    pub seq: u64,
    /// Boot-time ns.
    pub ts_ns: u64,
    /// File executed.
    pub filename: String,
    /// Arguments.
    pub argv: Argv,
}

/// Arguments of a program, shared between a process, its exec record and its children.
pub type Argv = Arc<[String]>;

/// Most exec records kept per process (a process that executes in a loop is counted beyond it).
pub const MAX_EXECS: usize = 64;

/// For `skip_serializing_if`: counters left out of JSON while zero.
pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Aggregated activity on one path.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileActivity {
    /// Absolute path when it could be resolved.
    pub path: String,
    /// Operations seen (`open`, `open_write`, `unlink`, `chmod`, ...), with counts.
    pub ops: BTreeMap<String, u64>,
    /// Calls that failed.
    pub failures: u64,
    /// Processes involved.
    pub pids: Vec<u32>,
}

/// Aggregated activity towards one socket address.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkActivity {
    /// `connect`, `bind`, `accept`, `sendto`.
    pub op: String,
    /// The address.
    pub addr: String,
    /// Attempts.
    pub count: u64,
    /// Attempts that failed, with the last error.
    pub failures: u64,
    /// Non-blocking connects that were under way when the call returned (`EINPROGRESS`): not
    /// failures.
    #[serde(default)]
    pub in_progress: u64,
    /// Last error name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Processes involved.
    pub pids: Vec<u32>,
}

/// What a finished run offers to the rules that look at it as a whole (drift): its processes and
/// the activity on each path.
pub trait RunView {
    /// Every process node, in the order first seen.
    fn processes(&self) -> &[ProcessNode];
    /// What was done to one path, if anything.
    fn file(&self, path: &str) -> Option<&FileActivity>;
}

/// A stage that receives every event once the correlator has resolved it (the store writer): the
/// correlator hands events on without knowing who takes them.
pub trait EventTap: Send + std::fmt::Debug {
    /// One correlated event.
    fn event(&mut self, ev: &Event);
    /// The tap itself, to get its own type back at the end of the run.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

/// A hash map with foldhash's seeded fast hasher, for the per-event maps keyed by pids, sequence
/// numbers and indexes (SipHash was a tenth of the time of a rule-heavy event stream).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A hash set with foldhash's seeded fast hasher.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
