//! Detection: rules as data (rules/), compiled once, indexed by event kind, evaluated on the event
//! stream with the process tree as context.
//!
//! A rule is either a condition on one event or a sequence of conditions within one process (or
//! lineage) and a time window, with values captured by one step and compared by a later one
//! (`capture: path` ... `same: path`). A rule may require an earlier detection in the lineage
//! (`prior: [rule-id]`): detections chain.

pub mod drift;
mod fds;
mod index;
mod lists;
pub mod rule;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::Path,
    sync::Arc,
};

use sandtrace_common::EventKind;

use crate::{
    event::{Event, EventData, SockAddr},
    model::{Detection, DetectionProcess, FastMap, ProcessNode, Severity},
};
use rule::{Body, Condition, Count, CountScope, Distinct, Field, Rule, RuleSpec};

/// The rule files shipped in rules/, embedded at build time (path, text).
static BUNDLED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/rules_bundle.rs"));

/// Most partial sequences kept per rule. Expired ones and ones that can no longer complete (their
/// process and every descendant gone) are dropped first, for free; only then is one evicted, from
/// the process holding the most, and counted: a run with evictions is incomplete.
const MAX_PARTIALS: usize = 4096;
/// Most partial sequences of one rule anchored in one process (its oldest is evicted beyond it).
const MAX_PARTIALS_PER_PROCESS: usize = 32;
/// New partials evicted straight from the last sweep's victim before the next full sweep.
const SWEEP_EVERY: usize = MAX_PARTIALS / 16;
/// Most evicted partials kept in compact form (a hash of what the next step must match, ~40
/// bytes each), across rules. An evicted partial whose next step then happens is resumed, so
/// eviction loses nothing until this bound; beyond it the oldest are forgotten, counted, and the
/// run is incomplete.
#[cfg(not(test))]
const MAX_SPILLED: usize = 262_144;
/// Small in unit tests, so the bound is reached.
#[cfg(test)]
const MAX_SPILLED: usize = 1024;
/// Most evidence events kept per detection.
const MAX_EVIDENCE: usize = 16;
/// Most detections kept per run (further matches are counted).
const MAX_DETECTIONS: usize = 10_000;
/// Most matches a threshold keeps in its window (the oldest are dropped beyond it).
const MAX_COUNTED: usize = 8192;
/// Most threshold windows (rule and process, parent or run) at once.
const MAX_COUNTERS: usize = 65_536;
/// Most ancestors walked for lineage checks.
const MAX_DEPTH: usize = 32;

/// Why rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A rule file is invalid.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// Rule file.
        file: String,
        /// 1-based line (best effort for semantic errors).
        line: usize,
        /// What is wrong, with the field.
        message: String,
    },
    /// Two rules share an id.
    #[error("{file}: duplicate rule id {id} (also in {other})")]
    Duplicate {
        /// Rule file.
        file: String,
        /// Id.
        id: String,
        /// The other file.
        other: String,
    },
    /// A rules directory could not be read.
    #[error("cannot read rules from {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Compiled rules, indexed by the event kinds that can affect them.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    singles: FastMap<EventKind, Vec<usize>>,
    steps: FastMap<EventKind, Vec<(usize, usize)>>,
    /// Per kind: which entries of `singles` can hold for an event.
    single_index: FastMap<EventKind, index::KindIndex>,
    /// Per kind: which entries of `steps` can hold for an event.
    step_index: FastMap<EventKind, index::KindIndex>,
    /// Rules matched on script text after the run.
    scripts: Vec<usize>,
}

/// The file of shared lists in a rules directory.
pub const LISTS_FILE: &str = "lists.yaml";

use lists::Lists;

/// Finds the line of the first occurrence of `needle` in `text` (1 when absent).
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1)
}

impl RuleSet {
    /// The rules shipped with sandtrace.
    pub fn bundled() -> Result<RuleSet, RuleError> {
        RuleSet::from_sources(BUNDLED.iter().map(|(p, t)| (p.to_string(), t.to_string())))
    }

    /// Every `*.yaml`/`*.yml` file below `dir` (the sub-folder is the tactic).
    pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleError> {
        let mut files = Vec::new();
        collect_yaml(dir, &mut files)?;
        files.sort();
        let mut sources = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| RuleError::Io {
                path: f.display().to_string(),
                source,
            })?;
            let shown = f
                .strip_prefix(dir.parent().unwrap_or(dir))
                .unwrap_or(&f)
                .display()
                .to_string();
            sources.push((shown, text));
        }
        RuleSet::from_sources(sources)
    }

    /// Parses and compiles rule files given as (path, text). A file named `lists.yaml` holds the
    /// shared lists (`lists: {shells: [sh, bash, ...]}`) that rules name as `"@shells"` in any list
    /// of values; it is read first, whatever its place.
    pub fn from_sources(sources: impl IntoIterator<Item = (String, String)>) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        let mut ids: HashMap<String, String> = HashMap::new();
        let (list_files, sources): (Vec<_>, Vec<_>) = sources
            .into_iter()
            .partition(|(f, _)| Path::new(f).file_name().is_some_and(|n| n == LISTS_FILE));
        let mut lists = Lists::new();
        for (file, text) in &list_files {
            lists::load(file, text, &mut lists)?;
        }
        for (file, text) in sources {
            let spec: RuleSpec = lists::parse_rule(&file, &text, &lists)?;
            let folder = Path::new(&file)
                .parent()
                .and_then(|p| p.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rule = Rule::compile(spec, &folder).map_err(|message| {
                let key = message.split([':', '.', '[']).next().unwrap_or("");
                let needle = message
                    .split_whitespace()
                    .find(|w| w.starts_with('T') && w.len() > 4)
                    .unwrap_or(key);
                RuleError::Invalid {
                    file: file.clone(),
                    line: line_of(&text, needle),
                    message,
                }
            })?;
            if let Some(other) = ids.insert(rule.id.clone(), file.clone()) {
                return Err(RuleError::Duplicate {
                    file,
                    id: rule.id,
                    other,
                });
            }
            set.push(rule);
        }
        set.build_index();
        Ok(set)
    }

    /// Builds the per-kind candidate indexes once every rule is in.
    fn build_index(&mut self) {
        let rules = &self.rules;
        let single = |r: usize| match &rules[r].body {
            Body::Single(c) => Some(c.as_ref()),
            Body::Sequence(_) => None,
        };
        self.single_index = self
            .singles
            .iter()
            .map(|(k, list)| {
                (
                    *k,
                    index::KindIndex::build(list.iter().filter_map(|&r| single(r))),
                )
            })
            .collect();
        let step = |r: usize, i: usize| match &rules[r].body {
            Body::Sequence(s) => s.steps.get(i),
            Body::Single(_) => None,
        };
        self.step_index = self
            .steps
            .iter()
            .map(|(k, list)| {
                (
                    *k,
                    index::KindIndex::build(list.iter().filter_map(|&(r, i)| step(r, i))),
                )
            })
            .collect();
    }

    fn push(&mut self, rule: Rule) {
        let idx = self.rules.len();
        match &rule.body {
            // Script rules wait for the run's end (script_detections), never the event stream.
            Body::Single(_) if rule.on_scripts => self.scripts.push(idx),
            Body::Single(c) => {
                for k in &c.kinds {
                    self.singles.entry(*k).or_default().push(idx);
                }
            }
            Body::Sequence(s) => {
                for (step, c) in s.steps.iter().enumerate() {
                    for k in &c.kinds {
                        self.steps.entry(*k).or_default().push((idx, step));
                    }
                }
            }
        }
        self.rules.push(rule);
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first `n` shipped rules (for benchmarks of how matching cost grows with the rule count).
    pub fn bundled_subset(n: usize) -> Result<RuleSet, RuleError> {
        // The shared lists always, then the first `n` rule files.
        let is_lists = |p: &str| Path::new(p).file_name().is_some_and(|f| f == LISTS_FILE);
        let lists = BUNDLED.iter().filter(|(p, _)| is_lists(p));
        let rules = BUNDLED.iter().filter(|(p, _)| !is_lists(p)).take(n);
        RuleSet::from_sources(lists.chain(rules).map(|(p, t)| (p.to_string(), t.to_string())))
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), RuleError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RuleError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_yaml(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

/// The process tree, as the detector sees it.
pub trait ProcessLookup {
    /// The current node of a pid.
    fn process(&self, pid: u32) -> Option<&ProcessNode>;
    /// Pids of the processes still running.
    fn live_pids(&self) -> Vec<u32>;
}

/// What a sequence step remembered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Captures {
    path: Option<String>,
    fd: Option<i64>,
    addr: Option<String>,
}

/// An evicted partial, kept compact: enough to resume it when its next step happens.
#[derive(Clone, Debug)]
struct Spilled {
    next_step: usize,
    start_ns: u64,
    anchor: u32,
    first_seq: u64,
}

/// Hash of the values a step compares (`same:`), from captures or from an event.
fn same_key(fields: &[Field], path: Option<&str>, fd: Option<i64>, addr: Option<&str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in fields {
        match f {
            Field::Path => path.hash(&mut h),
            Field::Fd => fd.hash(&mut h),
            Field::Addr => addr.hash(&mut h),
        }
    }
    h.finish()
}

#[derive(Clone, Debug)]
struct Partial {
    next_step: usize,
    start_ns: u64,
    anchor: u32,
    caps: Captures,
    evidence: Vec<u64>,
}

/// Evaluates a rule set over one run's events.
#[derive(Debug)]
pub struct Detector {
    rules: Arc<RuleSet>,
    /// Partial sequences per rule, by the process they started in (their anchor): an event only
    /// looks at the partials of its process and its ancestors.
    partials: Vec<FastMap<u32, Vec<Partial>>>,
    /// Partials held per rule (the sum of the lists above).
    held: Vec<usize>,
    /// Per rule, after a sweep that freed nothing: evictions left before the next sweep, and from
    /// which process.
    sweep_wait: Vec<Option<(usize, u32)>>,
    detections: Vec<Detection>,
    by_key: FastMap<(usize, u32, String), usize>,
    fired: FastMap<u32, HashSet<String>>,
    detections_omitted: u64,
    /// Past the detection bound: one summary per rule (the first match beyond it, and how many
    /// matches it stands for), so the verdict and the gate still see every rule's severity.
    overflow: BTreeMap<usize, (Detection, u64)>,
    /// Partial sequences forgotten for lack of room (beyond the spill bound), by rule id.
    evicted: BTreeMap<String, u64>,
    /// Evicted partials per rule, by the hash of what their next step must match.
    spilled: Vec<FastMap<u64, Vec<Spilled>>>,
    /// Spill order (rule, key), oldest first, for the bound.
    spill_order: std::collections::VecDeque<(usize, u64)>,
    /// Partials spilled and partials resumed from the spill (memory pressure, not loss).
    spill_counts: (u64, u64),
    /// Which fds of which process are sockets now (the `socket:` condition).
    sockets: fds::Sockets,
    /// Threshold windows, by rule and the process, parent or run they count.
    counters: FastMap<(usize, u32, u64), Counter>,
    /// Scratch space of the candidate lookups (glob hits, candidates).
    scratch: (Vec<usize>, Vec<usize>),
    /// Any-order sequences in progress, by rule and anchor.
    unordered: FastMap<(usize, u32), Unordered>,
}

/// An any-order sequence in progress: which steps happened, since when, and the evidence.
#[derive(Debug)]
struct Unordered {
    /// Bit i: step i happened.
    mask: u32,
    start_ns: u64,
    evidence: Vec<u64>,
}

/// Most any-order sequences in progress at once (beyond it new ones are not started, and counted
/// as evictions: the run is incomplete).
const MAX_UNORDERED: usize = 65_536;

/// The matches of a threshold rule in its window.
#[derive(Debug, Default)]
struct Counter {
    /// (time, value hash, event seq), oldest first.
    window: std::collections::VecDeque<(u64, u64, u64)>,
    /// How often each value is in the window.
    values: HashMap<u64, u32>,
    /// Already reached (a threshold fires once per window owner).
    fired: bool,
}

/// Rule id of the finding raised when a sample makes more detections than are kept.
pub const DETECTION_FLOOD: &str = "analyzer-detection-flood";

/// The facts of one event a condition looks at.
struct Facts<'a> {
    ev: &'a Event,
    exe: &'a str,
    argv: &'a [String],
    /// The command line joined with spaces, made on first use (most events never need it).
    joined: std::cell::OnceCell<String>,
    /// `family/type` of the socket the event is about (see [`fds::Sockets::subject`]).
    socket: Option<String>,
    /// The text of the script an interpreter ran (only in the pass after the run).
    script: Option<&'a str>,
}

impl Facts<'_> {
    /// The command line joined with spaces.
    fn joined(&self) -> &str {
        self.joined.get_or_init(|| self.argv.join(" "))
    }
}

impl Detector {
    /// The rules it runs.
    pub fn rule_set(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// A detector with no state.
    pub fn new(rules: Arc<RuleSet>) -> Detector {
        let n = rules.rules.len();
        Detector {
            rules,
            partials: (0..n).map(|_| FastMap::default()).collect(),
            held: vec![0; n],
            sweep_wait: vec![None; n],
            detections: Vec::new(),
            by_key: FastMap::default(),
            fired: FastMap::default(),
            detections_omitted: 0,
            overflow: BTreeMap::new(),
            evicted: BTreeMap::new(),
            spilled: (0..n).map(|_| FastMap::default()).collect(),
            spill_order: std::collections::VecDeque::new(),
            spill_counts: (0, 0),
            sockets: fds::Sockets::default(),
            counters: FastMap::default(),
            scratch: (Vec::new(), Vec::new()),
            unordered: FastMap::default(),
        }
    }

    /// Partials moved to the compact spill for lack of room, and partials resumed from it.
    pub fn spill_counts(&self) -> (u64, u64) {
        self.spill_counts
    }

    /// Keeps an evicted partial in compact form; beyond the bound the oldest spilled is forgotten.
    fn spill(&mut self, r: usize, p: Partial) {
        let rules = Arc::clone(&self.rules);
        let Body::Sequence(seq) = &rules.rules[r].body else {
            return;
        };
        let Some(step) = seq.steps.get(p.next_step) else {
            return;
        };
        let key = same_key(
            &step.same,
            p.caps.path.as_deref(),
            p.caps.fd,
            p.caps.addr.as_deref(),
        );
        self.spilled[r].entry(key).or_default().push(Spilled {
            next_step: p.next_step,
            start_ns: p.start_ns,
            anchor: p.anchor,
            first_seq: p.evidence.first().copied().unwrap_or(0),
        });
        self.spill_order.push_back((r, key));
        self.spill_counts.0 += 1;
        while self.spill_order.len() > MAX_SPILLED {
            let Some((or, ok)) = self.spill_order.pop_front() else {
                break;
            };
            if let Some(list) = self.spilled[or].get_mut(&ok)
                && !list.is_empty()
            {
                list.remove(0);
                if list.is_empty() {
                    self.spilled[or].remove(&ok);
                }
                *self.evicted.entry(rules.rules[or].id.clone()).or_default() += 1;
            }
        }
    }

    /// Brings back the spilled partials of rule `r` whose step `step` this event matches (same
    /// values, in scope, in the window), as partials the event can then advance.
    fn resume(
        &mut self,
        r: usize,
        step: usize,
        seq: &rule::Sequence,
        f: &Facts<'_>,
        procs: &dyn ProcessLookup,
    ) {
        if self.spilled[r].is_empty() {
            return;
        }
        let cond = &seq.steps[step];
        let ev_path = event_path(f.ev);
        let ev_fd = match &f.ev.data {
            EventData::Syscall(s) => s.fd,
            _ => None,
        };
        let ev_addr = addr_text(f.ev);
        let key = same_key(&cond.same, ev_path.as_deref(), ev_fd, ev_addr.as_deref());
        let Some(list) = self.spilled[r].get_mut(&key) else {
            return;
        };
        let within = u64::try_from(seq.within.as_nanos()).unwrap_or(u64::MAX);
        let ev = f.ev;
        let mut back = Vec::new();
        list.retain(|sp| {
            let take = sp.next_step == step
                && ev.ts_ns.saturating_sub(sp.start_ns) <= within
                && (sp.anchor == ev.pid || (seq.lineage && descends(ev.pid, sp.anchor, procs)));
            if take {
                back.push(sp.clone());
            }
            !take
        });
        if list.is_empty() {
            self.spilled[r].remove(&key);
        }
        for sp in back {
            // The compared values are the event's (equal by the hash); others are not kept.
            let caps = Captures {
                path: cond
                    .same
                    .contains(&Field::Path)
                    .then(|| ev_path.clone())
                    .flatten(),
                fd: cond.same.contains(&Field::Fd).then_some(ev_fd).flatten(),
                addr: cond
                    .same
                    .contains(&Field::Addr)
                    .then(|| ev_addr.clone())
                    .flatten(),
            };
            self.spill_counts.1 += 1;
            self.held[r] += 1;
            self.partials[r].entry(sp.anchor).or_default().push(Partial {
                next_step: sp.next_step,
                start_ns: sp.start_ns,
                anchor: sp.anchor,
                caps,
                evidence: vec![sp.first_seq],
            });
        }
    }

    /// Partial sequences evicted for lack of room, by rule id (each is a sequence that could have
    /// completed unseen: the run is incomplete).
    pub fn sequence_evictions(&self) -> &BTreeMap<String, u64> {
        &self.evicted
    }

    /// Makes room for one more partial of rule `r` anchored at `anchor`, at time `now`.
    fn make_room(
        &mut self,
        r: usize,
        anchor: u32,
        now: u64,
        within: u64,
        lineage: bool,
        procs: &dyn ProcessLookup,
    ) {
        let parts = &mut self.partials[r];
        let oldest = |list: &[Partial]| {
            list.iter()
                .enumerate()
                .min_by_key(|(_, p)| p.start_ns)
                .map(|(i, _)| i)
        };
        let mut evict = None;
        if parts
            .get(&anchor)
            .is_some_and(|l| l.len() >= MAX_PARTIALS_PER_PROCESS)
        {
            evict = Some(anchor);
        } else if self.held[r] >= MAX_PARTIALS
            && let Some((left, victim)) = self.sweep_wait[r]
            && left > 0
            && parts.contains_key(&victim)
        {
            // A sweep just found nothing to drop: evict from its victim for a while instead of
            // sweeping on every new partial (which made a full set quadratic).
            self.sweep_wait[r] = Some((left - 1, victim));
            evict = Some(victim);
        } else if self.held[r] >= MAX_PARTIALS {
            for list in parts.values_mut() {
                list.retain(|p| now.saturating_sub(p.start_ns) <= within);
            }
            parts.retain(|_, l| !l.is_empty());
            if parts.values().map(Vec::len).sum::<usize>() >= MAX_PARTIALS {
                // What can still complete: a live anchor, or (lineage rules) one with a live descendant.
                let mut reach: HashSet<u32> = HashSet::new();
                for pid in procs.live_pids() {
                    reach.insert(pid);
                    if lineage {
                        reach.extend(Ancestors::new(pid, procs).map(|a| a.pid));
                    }
                }
                parts.retain(|a, _| reach.contains(a));
            }
            self.held[r] = parts.values().map(Vec::len).sum();
            self.sweep_wait[r] = None;
            if self.held[r] >= MAX_PARTIALS {
                evict = parts
                    .iter()
                    .max_by_key(|(pid, l)| (l.len(), std::cmp::Reverse(**pid)))
                    .map(|(pid, _)| *pid);
                self.sweep_wait[r] = evict.map(|v| (SWEEP_EVERY, v));
            }
        }
        let Some(pid) = evict else { return };
        let Some(list) = parts.get_mut(&pid) else { return };
        let Some(i) = oldest(list) else { return };
        let p = list.remove(i);
        if list.is_empty() {
            parts.remove(&pid);
        }
        self.held[r] = self.held[r].saturating_sub(1);
        self.spill(r, p);
    }

    /// What the detection bound left out: one detection per rule that matched beyond it (its
    /// severity intact, its message saying how many matches it stands for), and a finding of its own
    /// (a sample that floods the analyzer with detections is trying to hide something among them).
    pub fn overflow(&self) -> Vec<Detection> {
        if self.overflow.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<Detection> = self
            .overflow
            .values()
            .map(|(d, n)| {
                let mut d = d.clone();
                d.message = format!(
                    "{} (+{} more matches of this rule beyond the detection bound, not listed)",
                    d.message,
                    n.saturating_sub(1)
                );
                d
            })
            .collect();
        let first = &self.overflow.values().next().map(|(d, _)| d.clone());
        out.push(Detection {
            rule: DETECTION_FLOOD.to_string(),
            severity: Severity::High,
            techniques: vec!["T1562.001".to_string()],
            message: format!(
                "the sample raised more than {MAX_DETECTIONS} detections ({} beyond the bound, over {} rules): \
                 a flood that tries to bury what matters; every rule's worst severity still counts",
                self.detections_omitted,
                self.overflow.len()
            ),
            process: first.as_ref().map(|d| d.process.clone()).unwrap_or(DetectionProcess {
                pid: 0,
                exe: String::new(),
                argv: Vec::new(),
            }),
            evidence: first.as_ref().map(|d| d.evidence.clone()).unwrap_or_default(),
            allowed: None,
            rule_severity: None,
            target: None,
        });
        out
    }

    /// Matches beyond the detection bound (counted, not listed).
    pub fn detections_omitted(&self) -> u64 {
        self.detections_omitted
    }

    /// Number of rules evaluated.
    pub fn rule_count(&self) -> usize {
        self.rules.rules.len()
    }

    /// Detections so far, in the order they were raised.
    pub fn detections(&self) -> &[Detection] {
        &self.detections
    }

    /// Evaluates one (already correlated) event.
    pub fn on_event(&mut self, ev: &Event, procs: &dyn ProcessLookup) {
        let rules = Arc::clone(&self.rules);
        let singles = rules.singles.get(&ev.kind);
        let steps = rules.steps.get(&ev.kind);
        if singles.is_none() && steps.is_none() {
            self.sockets.observe(ev);
            return;
        }
        let node = procs.process(ev.pid);
        let (exe, argv): (&str, &[String]) = match &ev.data {
            EventData::Exec { filename, argv, .. } => (filename, argv),
            _ => node.map_or(("", &[][..]), |p| (p.exe.as_str(), &p.argv[..])),
        };
        let facts = Facts {
            ev,
            exe,
            argv,
            joined: std::cell::OnceCell::new(),
            socket: self.sockets.subject(ev),
            script: None,
        };
        // The table follows the event after its own facts were taken (a dup is about its old fd).
        self.sockets.observe(ev);
        let path = match &ev.data {
            EventData::Exec { filename, .. } => Some(filename.as_str()),
            EventData::Syscall(s) => s.path.as_deref(),
            _ => None,
        };
        let (mut hits, mut cands) = std::mem::take(&mut self.scratch);
        if let Some(list) = singles {
            match rules.single_index.get(&ev.kind) {
                Some(ix) => ix.candidates(path, program_names(exe, argv, &ev.comm), &mut hits, &mut cands),
                None => {
                    cands.clear();
                    cands.extend(0..list.len());
                }
            }
            for &pos in &cands {
                let Some(&r) = list.get(pos) else { continue };
                let rule = &rules.rules[r];
                let Body::Single(cond) = &rule.body else { continue };
                if self.holds(cond, &facts, procs) && !self.excepted(rule, &facts, procs) {
                    match &rule.count {
                        None => self.raise(r, rule, &facts, vec![ev.seq]),
                        Some(c) => self.count(r, rule, c, &facts),
                    }
                }
            }
        }
        if let Some(list) = steps {
            match rules.step_index.get(&ev.kind) {
                Some(ix) => ix.candidates(path, program_names(exe, argv, &ev.comm), &mut hits, &mut cands),
                None => {
                    cands.clear();
                    cands.extend(0..list.len());
                }
            }
            // The event's ancestors, walked once for every rule that needs them.
            let mut chain: Option<Vec<u32>> = None;
            // Later steps first: an event advances existing partials before it starts new ones.
            for &pos in cands.iter().rev() {
                let Some(&(r, step)) = list.get(pos) else { continue };
                // A later step can only advance a partial: none held, none spilled, nothing to do
                // (any-order sequences start at any step).
                if step > 0
                    && self.held[r] == 0
                    && self.spilled[r].is_empty()
                    && !matches!(&rules.rules[r].body, Body::Sequence(s) if s.any_order)
                {
                    continue;
                }
                let rule = &rules.rules[r];
                let Body::Sequence(seq) = &rule.body else { continue };
                let cond = &seq.steps[step];
                if seq.any_order {
                    if self.holds(cond, &facts, procs) {
                        let ancestors: &[u32] = if seq.lineage {
                            chain.get_or_insert_with(|| ancestor_chain(ev.pid, procs))
                        } else {
                            &[]
                        };
                        self.unordered_step(r, rule, seq, step, &facts, node, ancestors, procs);
                    }
                    continue;
                }
                if !self.holds(cond, &facts, procs) {
                    continue;
                }
                let within = u64::try_from(seq.within.as_nanos()).unwrap_or(u64::MAX);
                if step == 0 {
                    let caps = capture(cond, &facts, Captures::default());
                    // `scope: parent`: anchored at the parent when it is a process of the run (the
                    // sample's first process has its parent outside the container).
                    let anchor = match node.map(|n| n.ppid) {
                        Some(pp) if seq.parent && pp != ev.pid && procs.process(pp).is_some() => pp,
                        _ => ev.pid,
                    };
                    if let Some(p) = self.partials[r]
                        .get_mut(&anchor)
                        .and_then(|l| l.iter_mut().find(|p| p.next_step == 1 && p.caps == caps))
                    {
                        p.start_ns = ev.ts_ns;
                        p.evidence = vec![ev.seq];
                    } else {
                        self.make_room(r, anchor, ev.ts_ns, within, seq.lineage, procs);
                        self.held[r] += 1;
                        self.partials[r].entry(anchor).or_default().push(Partial {
                            next_step: 1,
                            start_ns: ev.ts_ns,
                            anchor,
                            caps,
                            evidence: vec![ev.seq],
                        });
                    }
                    continue;
                }
                self.resume(r, step, seq, &facts, procs);
                // Only the partials of this process and (lineage rules) of its ancestors can advance.
                let ancestors: &[u32] = if seq.lineage {
                    chain.get_or_insert_with(|| ancestor_chain(ev.pid, procs))
                } else {
                    &[]
                };
                let mut completed = Vec::new();
                for a in std::iter::once(ev.pid).chain(ancestors.iter().copied()) {
                    let Some(list) = self.partials[r].get_mut(&a) else {
                        continue;
                    };
                    let before = list.len();
                    list.retain(|p| ev.ts_ns.saturating_sub(p.start_ns) <= within);
                    for p in list.iter_mut() {
                        // One event completes one step of a partial, never two in a row.
                        if p.next_step != step || p.evidence.last() == Some(&ev.seq) {
                            continue;
                        }
                        if !same(cond, &facts, &p.caps) {
                            continue;
                        }
                        p.caps = capture(cond, &facts, p.caps.clone());
                        p.evidence.push(ev.seq);
                        p.next_step += 1;
                    }
                    let n = seq.steps.len();
                    completed.extend(
                        list.iter()
                            .filter(|p| p.next_step == n)
                            .map(|p| p.evidence.clone()),
                    );
                    list.retain(|p| p.next_step != n);
                    let after = list.len();
                    if after == 0 {
                        self.partials[r].remove(&a);
                    }
                    self.held[r] = self.held[r].saturating_sub(before - after);
                }
                for evidence in completed {
                    if !self.excepted(rule, &facts, procs) {
                        self.raise(r, rule, &facts, evidence);
                    }
                }
            }
        }
        self.scratch = (hits, cands);
    }

    /// Step `step` of an any-order sequence happened: joins the sequence in progress of this
    /// process or (lineage) an ancestor, or starts one; raises it when every step has happened.
    #[allow(clippy::too_many_arguments)]
    fn unordered_step(
        &mut self,
        r: usize,
        rule: &Rule,
        seq: &rule::Sequence,
        step: usize,
        f: &Facts<'_>,
        node: Option<&ProcessNode>,
        ancestors: &[u32],
        procs: &dyn ProcessLookup,
    ) {
        let ev = f.ev;
        let within = u64::try_from(seq.within.as_nanos()).unwrap_or(u64::MAX);
        let bit = 1u32 << step;
        let all = (1u32 << seq.steps.len()) - 1;
        // The sequence this event can join: its own process's, then its ancestors' (lineage).
        let joined = std::iter::once(ev.pid)
            .chain(ancestors.iter().copied())
            .find(|a| {
                self.unordered
                    .get(&(r, *a))
                    .is_some_and(|u| ev.ts_ns.saturating_sub(u.start_ns) <= within)
            });
        let anchor = match joined {
            Some(a) => a,
            None => {
                let anchor = match node.map(|n| n.ppid) {
                    Some(pp) if seq.parent && pp != ev.pid && procs.process(pp).is_some() => pp,
                    _ => ev.pid,
                };
                if self.unordered.len() >= MAX_UNORDERED {
                    // Expired ones first, for free.
                    let rules = Arc::clone(&self.rules);
                    self.unordered.retain(|(r, _), u| match &rules.rules[*r].body {
                        Body::Sequence(s) => {
                            ev.ts_ns.saturating_sub(u.start_ns)
                                <= u64::try_from(s.within.as_nanos()).unwrap_or(u64::MAX)
                        }
                        Body::Single(_) => false,
                    });
                }
                if !self.unordered.contains_key(&(r, anchor)) && self.unordered.len() >= MAX_UNORDERED {
                    *self.evicted.entry(rule.id.clone()).or_default() += 1;
                    return;
                }
                self.unordered.insert(
                    (r, anchor),
                    Unordered {
                        mask: 0,
                        start_ns: ev.ts_ns,
                        evidence: Vec::new(),
                    },
                );
                anchor
            }
        };
        let Some(u) = self.unordered.get_mut(&(r, anchor)) else {
            return;
        };
        // One event is one step: the first of its steps still missing.
        if u.mask & bit != 0 || u.evidence.last() == Some(&ev.seq) {
            return;
        }
        u.mask |= bit;
        u.evidence.push(ev.seq);
        if u.mask == all {
            let evidence = std::mem::take(&mut u.evidence);
            self.unordered.remove(&(r, anchor));
            if !self.excepted(rule, f, procs) {
                self.raise(r, rule, f, evidence);
            }
        }
    }

    fn excepted(&self, rule: &Rule, f: &Facts<'_>, procs: &dyn ProcessLookup) -> bool {
        rule.exceptions.iter().any(|c| self.holds(c, f, procs))
    }

    /// One more match of a threshold rule: raises it when the window holds enough.
    fn count(&mut self, r: usize, rule: &Rule, c: &Count, f: &Facts<'_>) {
        let ev = f.ev;
        let owner = match c.scope {
            CountScope::Process => ev.pid,
            CountScope::Parent => ev.ppid,
            CountScope::Run => 0,
        };
        let group = c.group.map_or(0, |g| distinct_value(Some(g), f));
        let key = (r, owner, group);
        if !self.counters.contains_key(&key) && self.counters.len() >= MAX_COUNTERS {
            return;
        }
        let counter = self.counters.entry(key).or_default();
        if counter.fired {
            return;
        }
        let value = distinct_value(c.distinct, f);
        let within = u64::try_from(c.within.as_nanos()).unwrap_or(u64::MAX);
        counter.window.push_back((ev.ts_ns, value, ev.seq));
        *counter.values.entry(value).or_default() += 1;
        while let Some(&(t, v, _)) = counter.window.front() {
            if ev.ts_ns.saturating_sub(t) <= within && counter.window.len() <= MAX_COUNTED {
                break;
            }
            counter.window.pop_front();
            if let Some(n) = counter.values.get_mut(&v) {
                *n -= 1;
                if *n == 0 {
                    counter.values.remove(&v);
                }
            }
        }
        let reached = match c.distinct {
            None => counter.window.len(),
            Some(_) => counter.values.len(),
        };
        if reached < c.at_least {
            return;
        }
        counter.fired = true;
        // Evidence: the first match of each value in the window (the last event always).
        let mut seen = HashSet::new();
        let mut evidence: Vec<u64> = counter
            .window
            .iter()
            .filter(|(_, v, _)| seen.insert(*v))
            .map(|(_, _, s)| *s)
            .take(MAX_EVIDENCE - 1)
            .collect();
        if !evidence.contains(&ev.seq) {
            evidence.push(ev.seq);
        }
        let what = match c.distinct {
            None => "matches".to_string(),
            Some(d) => format!("distinct {}", distinct_name(d)),
        };
        let text = message(rule, f).replace("{count}", &reached.to_string());
        let text = format!(
            "{text} ({reached} {what} within {})",
            humantime::format_duration(c.within)
        );
        self.raise_message(r, rule, f, evidence, text);
    }

    fn raise(&mut self, r: usize, rule: &Rule, f: &Facts<'_>, evidence: Vec<u64>) {
        let message = message(rule, f);
        self.raise_message(r, rule, f, evidence, message);
    }

    fn raise_message(&mut self, r: usize, rule: &Rule, f: &Facts<'_>, evidence: Vec<u64>, message: String) {
        let key = (r, f.ev.pid, message.clone());
        self.fired.entry(f.ev.pid).or_default().insert(rule.id.clone());
        if let Some(&i) = self.by_key.get(&key) {
            let d = &mut self.detections[i];
            for e in evidence {
                if d.evidence.len() < MAX_EVIDENCE && !d.evidence.contains(&e) {
                    d.evidence.push(e);
                }
            }
            return;
        }
        let full = self.detections.len() >= MAX_DETECTIONS;
        if full {
            self.detections_omitted += 1;
            if let Some(e) = self.overflow.get_mut(&r) {
                e.1 += 1;
                return;
            }
        }
        let detection = Detection {
            rule: rule.id.clone(),
            severity: rule.severity,
            techniques: rule.techniques.clone(),
            message,
            process: DetectionProcess {
                pid: f.ev.pid,
                exe: f.exe.to_string(),
                argv: f.argv.to_vec(),
            },
            evidence,
            allowed: None,
            rule_severity: None,
            target: rule
                .regular_file_only
                .then(|| match &f.ev.data {
                    EventData::Syscall(s) => s.path.clone(),
                    _ => None,
                })
                .flatten(),
        };
        if full {
            self.overflow.insert(r, (detection, 1));
            return;
        }
        self.by_key.insert(key, self.detections.len());
        self.detections.push(detection);
    }

    fn holds(&self, c: &Condition, f: &Facts<'_>, procs: &dyn ProcessLookup) -> bool {
        let ev = f.ev;
        if !c.kinds.contains(&ev.kind) {
            return false;
        }
        if let Some(g) = &c.program
            && !program_names(f.exe, f.argv, &ev.comm).any(|n| g.is_match(n))
        {
            return false;
        }
        if let Some(g) = &c.not_program
            && program_names(f.exe, f.argv, &ev.comm).any(|n| g.is_match(n))
        {
            return false;
        }
        if c.exe.as_ref().is_some_and(|g| !g.is_match(f.exe))
            || c.comm.as_ref().is_some_and(|g| !g.is_match(&ev.comm))
        {
            return false;
        }
        if !c.argv_contains.is_empty() && !c.argv_contains.iter().any(|s| f.joined().contains(s.as_str())) {
            return false;
        }
        if c.argv_regex.as_ref().is_some_and(|r| !r.is_match(f.joined())) {
            return false;
        }
        if c.script_regex
            .as_ref()
            .is_some_and(|r| !f.script.is_some_and(|t| r.is_match(t)))
        {
            return false;
        }
        if !c.arg.is_empty() && !f.argv.iter().any(|a| c.arg.contains(a)) {
            return false;
        }
        if !c.not_arg.is_empty() && f.argv.iter().any(|a| c.not_arg.contains(a)) {
            return false;
        }
        if let Some(g) = &c.env {
            let EventData::Exec { env, .. } = &ev.data else {
                return false;
            };
            if !env.iter().any(|e| g.is_match(e)) {
                return false;
            }
        }
        if !c.payload_contains.is_empty() || c.payload_regex.is_some() || c.min_bytes.is_some() {
            let (payload, bytes) = match &ev.data {
                EventData::Syscall(s) => (s.payload.as_deref().unwrap_or(""), s.bytes.unwrap_or(0)),
                _ => ("", 0),
            };
            if !c.payload_contains.is_empty() {
                let lower = payload.to_lowercase();
                if !c.payload_contains.iter().any(|s| lower.contains(s.as_str())) {
                    return false;
                }
            }
            if c.payload_regex.as_ref().is_some_and(|r| !r.is_match(payload)) {
                return false;
            }
            if c.min_bytes.is_some_and(|m| bytes < m) {
                return false;
            }
        }
        if !c.uid.is_empty() && !c.uid.contains(&ev.uid) {
            return false;
        }
        let sys = match &ev.data {
            EventData::Syscall(s) => Some(s.as_ref()),
            _ => None,
        };
        let path = match &ev.data {
            EventData::Exec { filename, .. } => Some(filename.as_str()),
            _ => sys.and_then(|s| s.path.as_deref()),
        };
        if c.path
            .as_ref()
            .is_some_and(|g| !path.is_some_and(|p| g.is_match(p)))
        {
            return false;
        }
        if c.path2.as_ref().is_some_and(|g| {
            !sys.and_then(|s| s.path2.as_deref())
                .is_some_and(|p| g.is_match(p))
        }) {
            return false;
        }
        if c.name
            .as_ref()
            .is_some_and(|g| !sys.and_then(|s| s.name.as_deref()).is_some_and(|p| g.is_match(p)))
        {
            return false;
        }
        if c.socket
            .as_ref()
            .is_some_and(|g| !f.socket.as_deref().is_some_and(|s| g.is_match(s)))
        {
            return false;
        }
        let flags = sys.and_then(|s| s.flags).unwrap_or(0);
        if c.flags_any.is_some_and(|b| flags & b == 0)
            || c.flags_all.is_some_and(|b| flags & b != b)
            || c.flags_none.is_some_and(|b| flags & b != 0)
        {
            return false;
        }
        if c.mode_any
            .is_some_and(|b| sys.and_then(|s| s.mode).unwrap_or(0) & b == 0)
        {
            return false;
        }
        if !c.addr.is_empty() || !c.port.is_empty() {
            let Some(SockAddr::Inet { address, port }) = sys.and_then(|s| s.addr.as_ref()) else {
                return false;
            };
            if !c.port.is_empty() && !c.port.contains(port) {
                return false;
            }
            if !c.addr.is_empty() {
                let Ok(ip) = address.parse::<std::net::IpAddr>() else {
                    return false;
                };
                if !c.addr.iter().any(|n| n.contains(&ip)) {
                    return false;
                }
            }
        }
        if let Some(ok) = c.ret {
            let Some(s) = sys else { return false };
            if s.failed() == ok {
                return false;
            }
        }
        if !c.error.is_empty()
            && !sys
                .and_then(|s| s.error.as_ref())
                .is_some_and(|e| c.error.contains(e))
        {
            return false;
        }
        if !c.syscall.is_empty() && !sys.is_some_and(|s| c.syscall.contains(&s.syscall)) {
            return false;
        }
        if !c.op.is_empty() && !sys.and_then(|s| s.op).is_some_and(|o| c.op.contains(&o)) {
            return false;
        }
        if !c.fd.is_empty() && !sys.and_then(|s| s.fd).is_some_and(|o| c.fd.contains(&o)) {
            return false;
        }
        if !c.fd2.is_empty() && !sys.and_then(|s| s.fd2).is_some_and(|o| c.fd2.contains(&o)) {
            return false;
        }
        if c.parent_program.is_some() || c.ancestor_program.is_some() {
            let mut ancestors = Ancestors::new(ev.pid, procs);
            if let Some(g) = &c.parent_program {
                let Some(parent) = ancestors.next() else {
                    return false;
                };
                if !program_names(&parent.exe, &parent.argv, &parent.comm).any(|n| g.is_match(n)) {
                    return false;
                }
            }
            if let Some(g) = &c.ancestor_program
                && !Ancestors::new(ev.pid, procs)
                    .any(|a| program_names(&a.exe, &a.argv, &a.comm).any(|n| g.is_match(n)))
            {
                return false;
            }
        }
        if !c.prior.is_empty() {
            let hit = |pid: u32| {
                self.fired
                    .get(&pid)
                    .is_some_and(|s| c.prior.iter().any(|r| s.contains(r)))
            };
            if !hit(ev.pid) && !Ancestors::new(ev.pid, procs).any(|a| hit(a.pid)) {
                return false;
            }
        }
        true
    }
}

/// Most bytes of a script read for `script_regex` rules.
pub const MAX_SCRIPT: usize = 64 * 1024;

/// Interpreters whose first argument that is not an option is the script they run.
const SCRIPT_RUNNERS: &[&str] = &[
    "sh", "ash", "bash", "dash", "zsh", "ksh", "mksh", "busybox", "python", "python3", "perl", "ruby",
    "node", "php", "lua", "awk", "gawk", "mawk",
];

/// The process table after the run, for the lineage conditions of script rules.
struct Finished<'a>(FastMap<u32, &'a ProcessNode>);

impl ProcessLookup for Finished<'_> {
    fn process(&self, pid: u32) -> Option<&ProcessNode> {
        self.0.get(&pid).copied()
    }
    fn live_pids(&self) -> Vec<u32> {
        Vec::new()
    }
}

/// The script an exec ran: the first argument after the interpreter that is not an option, as an
/// absolute path (relative ones against the process's known working directory).
pub(crate) fn script_of<'a>(filename: &'a str, argv: &'a [String], cwd: Option<&str>) -> Option<String> {
    let base = |s: &'a str| s.rsplit('/').next().unwrap_or(s);
    let runner = SCRIPT_RUNNERS.contains(&base(filename))
        || argv.first().is_some_and(|a| SCRIPT_RUNNERS.contains(&base(a)));
    if !runner {
        return None;
    }
    let mut rest = argv.iter().skip(1);
    // busybox sh x: the applet name comes first.
    if base(filename) == "busybox" || argv.first().is_some_and(|a| base(a) == "busybox") {
        rest.next();
    }
    for a in rest {
        if a == "-c" || a == "-e" || a == "-m" {
            return None; // code on the command line (argv_regex sees it) or a module
        }
        if a.starts_with('-') {
            continue;
        }
        return if a.starts_with('/') {
            Some(a.clone())
        } else {
            cwd.map(|d| format!("{}/{a}", d.trim_end_matches('/')))
        };
    }
    None
}

/// Detections of the rules that look at script text (`script_regex`): every exec of a shell or
/// interpreter with a script file, the file's text given by `read` (bounded by the caller to
/// [`MAX_SCRIPT`] bytes), each script read once.
pub fn script_detections(
    rules: &Arc<RuleSet>,
    processes: &[ProcessNode],
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<Detection> {
    if rules.scripts.is_empty() {
        return Vec::new();
    }
    let table = Finished(processes.iter().map(|p| (p.pid, p)).collect());
    let mut det = Detector::new(Arc::clone(rules));
    let mut texts: FastMap<String, Option<String>> = FastMap::default();
    for p in processes {
        for x in &p.execs {
            let Some(path) = script_of(&x.filename, &x.argv, p.cwd.as_deref()) else {
                continue;
            };
            let text = texts.entry(path.clone()).or_insert_with(|| read(&path));
            let Some(text) = text.as_deref() else { continue };
            let argv: Vec<String> = x.argv.to_vec();
            let ev = Event {
                seq: x.seq,
                ts_ns: x.ts_ns,
                kind: EventKind::Exec,
                pid: p.pid,
                tid: p.pid,
                ppid: p.ppid,
                uid: p.uid,
                gid: 0,
                cgroup_id: 0,
                comm: p.comm.clone(),
                truncated: false,
                data: EventData::Exec {
                    filename: x.filename.clone(),
                    argv: argv.clone(),
                    argv_truncated: false,
                    env: Vec::new(),
                },
            };
            let facts = Facts {
                ev: &ev,
                exe: &x.filename,
                argv: &argv,
                joined: std::cell::OnceCell::new(),
                socket: None,
                script: Some(text),
            };
            for &r in &rules.scripts {
                let rule = &rules.rules[r];
                let Body::Single(cond) = &rule.body else { continue };
                if det.holds(cond, &facts, &table) && !det.excepted(rule, &facts, &table) {
                    det.raise(r, rule, &facts, vec![x.seq]);
                }
            }
        }
    }
    det.detections
}

/// The ancestors of a process, nearest first, without itself or repeats.
fn ancestor_chain(pid: u32, procs: &dyn ProcessLookup) -> Vec<u32> {
    let mut c: Vec<u32> = Vec::new();
    for a in Ancestors::new(pid, procs) {
        if a.pid != pid && !c.contains(&a.pid) {
            c.push(a.pid);
        }
    }
    c
}

/// A hash of the value a threshold counts distinct values of (0 when it counts events).
fn distinct_value(d: Option<Distinct>, f: &Facts<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let Some(d) = d else { return 0 };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let sys = match &f.ev.data {
        EventData::Syscall(s) => Some(s.as_ref()),
        _ => None,
    };
    let inet = sys.and_then(|s| match &s.addr {
        Some(SockAddr::Inet { address, port }) => Some((address.as_str(), *port)),
        _ => None,
    });
    match d {
        Distinct::Port => inet.map(|a| a.1).hash(&mut h),
        Distinct::Addr => inet.map(|a| a.0).hash(&mut h),
        Distinct::Endpoint => inet.hash(&mut h),
        Distinct::Path => event_path(f.ev).hash(&mut h),
        Distinct::Name => sys.and_then(|s| s.name.as_deref()).hash(&mut h),
        Distinct::Argv => f.joined().hash(&mut h),
    }
    h.finish()
}

fn distinct_name(d: Distinct) -> &'static str {
    match d {
        Distinct::Port => "ports",
        Distinct::Addr => "addresses",
        Distinct::Endpoint => "endpoints",
        Distinct::Path => "paths",
        Distinct::Name => "names",
        Distinct::Argv => "command lines",
    }
}

/// The first 80 characters of what the sinkhole received (for messages).
fn payload_text(ev: &Event) -> String {
    match &ev.data {
        EventData::Syscall(s) => s.payload.as_deref().unwrap_or("").chars().take(80).collect(),
        _ => String::new(),
    }
}

/// Basenames of the executable and argv[0], and the comm.
fn program_names<'a>(exe: &'a str, argv: &'a [String], comm: &'a str) -> impl Iterator<Item = &'a str> {
    let base = |s: &'a str| s.rsplit('/').next().unwrap_or(s);
    [Some(base(exe)), argv.first().map(|a| base(a)), Some(comm)]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
}

struct Ancestors<'a> {
    pid: u32,
    procs: &'a dyn ProcessLookup,
    depth: usize,
}

impl<'a> Ancestors<'a> {
    fn new(pid: u32, procs: &'a dyn ProcessLookup) -> Ancestors<'a> {
        Ancestors { pid, procs, depth: 0 }
    }
}

impl<'a> Iterator for Ancestors<'a> {
    type Item = &'a ProcessNode;
    fn next(&mut self) -> Option<&'a ProcessNode> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let ppid = self.procs.process(self.pid)?.ppid;
        if ppid == self.pid || ppid == 0 {
            return None;
        }
        let parent = self.procs.process(ppid)?;
        self.pid = ppid;
        Some(parent)
    }
}

fn descends(pid: u32, anchor: u32, procs: &dyn ProcessLookup) -> bool {
    Ancestors::new(pid, procs).any(|a| a.pid == anchor)
}

fn addr_text(ev: &Event) -> Option<String> {
    match &ev.data {
        EventData::Syscall(s) => match s.addr.as_ref()? {
            SockAddr::Inet { address, port } => Some(format!("{address}:{port}")),
            SockAddr::Unix { path } => Some(format!("unix:{path}")),
            SockAddr::Other { number } => Some(format!("family {number}")),
        },
        _ => None,
    }
}

fn event_path(ev: &Event) -> Option<String> {
    match &ev.data {
        EventData::Exec { filename, .. } => Some(filename.clone()),
        EventData::Syscall(s) => s.path.clone(),
        _ => None,
    }
}

fn capture(c: &Condition, f: &Facts<'_>, mut caps: Captures) -> Captures {
    for field in &c.capture {
        match field {
            Field::Path => caps.path = event_path(f.ev),
            Field::Fd => {
                caps.fd = match &f.ev.data {
                    EventData::Syscall(s) => s.fd,
                    _ => None,
                }
            }
            Field::Addr => caps.addr = addr_text(f.ev),
        }
    }
    caps
}

fn same(c: &Condition, f: &Facts<'_>, caps: &Captures) -> bool {
    c.same.iter().all(|field| match field {
        Field::Path => caps.path.is_some() && event_path(f.ev) == caps.path,
        Field::Fd => {
            caps.fd.is_some()
                && match &f.ev.data {
                    EventData::Syscall(s) => s.fd == caps.fd,
                    _ => false,
                }
        }
        Field::Addr => caps.addr.is_some() && addr_text(f.ev) == caps.addr,
    })
}

/// Substitutes `{name}` placeholders of a rule's template in one pass: text that came from the
/// sample (an argv containing `{path}`) is inserted as it is, never expanded again.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            values
                .iter()
                .find(|(k, _)| *k == &after[..close])
                .map(|(_, v)| (close, v))
        }) {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn message(rule: &Rule, f: &Facts<'_>) -> String {
    let text = message_text(rule, f);
    match &f.ev.data {
        EventData::Syscall(s) if s.before_entry => {
            format!("{text} (refused by the seccomp filter before its arguments were read)")
        }
        _ => text,
    }
}

fn message_text(rule: &Rule, f: &Facts<'_>) -> String {
    let ev = f.ev;
    let path = event_path(ev).unwrap_or_default();
    let (path2, name) = match &ev.data {
        EventData::Syscall(s) => (
            s.path2.clone().unwrap_or_default(),
            s.name.clone().unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    };
    let addr = addr_text(ev).unwrap_or_default();
    let argv: String = f.joined().chars().take(200).collect();
    match &rule.message {
        Some(t) => fill(
            t,
            &[
                ("exe", f.exe),
                ("argv", &argv),
                ("path", &path),
                ("path2", &path2),
                ("name", &name),
                ("addr", &addr),
                ("comm", &ev.comm),
                ("payload", &payload_text(ev)),
            ],
        ),
        None => {
            let detail = [&addr, &path, &argv]
                .into_iter()
                .find(|s| !s.is_empty())
                .cloned()
                .unwrap_or_default();
            if detail.is_empty() {
                rule.name.clone()
            } else {
                format!("{}: {detail}", rule.name)
            }
        }
    }
}

#[cfg(test)]
mod tests;
