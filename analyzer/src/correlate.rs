//! Turns the event stream of one run into its process tree and summaries.
//!
//! [`RunTrace`] is the capture's [`EventSink`]: it rebuilds processes from fork/exec/exit (exec
//! chains within one pid, pid reuse, processes first seen mid-life), resolves relative paths against
//! each process's working directory, aggregates file and network activity, and keeps the events
//! themselves up to a bound (the rest are counted).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use sandtrace_common::EventKind;
use serde::{Deserialize, Serialize};

pub mod fixtures;
pub mod graph;

use graph::{EdgeKind, NodeKind, RunGraph};

use crate::{
    capture::EventSink,
    detect::{Detector, ProcessLookup, RuleSet},
    event::{DecodeError, Event, EventData, SockAddr},
    model::{Detection, FastMap},
};

/// Most distinct paths, and most distinct network endpoints, summarised (the rest are counted).
pub const MAX_SUMMARY_ENTRIES: usize = 50_000;

/// `AT_FDCWD`: *at calls relative to the working directory.
const AT_FDCWD: i64 = -100;

pub use crate::model::{Argv, ExecRecord, FileActivity, MAX_EXECS, NetworkActivity, ProcessNode};

/// Everything collected from one run's events.
#[derive(Debug)]
pub struct RunTrace {
    /// Who last contacted an `addr:port` (connect, sendto): the sinkhole's events are theirs.
    contacts: HashMap<String, Contact>,
    /// Who last sent to a port-53 address (the resolver the sinkhole's DNS questions came through).
    dns_client: Option<Contact>,
    processes: Vec<ProcessNode>,
    /// pid -> index in `processes` of its live (latest) node.
    by_pid: FastMap<u32, usize>,
    /// pid -> index of its latest node, live or exited.
    last_by_pid: FastMap<u32, usize>,
    files: BTreeMap<String, FileActivity>,
    network: BTreeMap<(String, String), NetworkActivity>,
    events: Vec<Event>,
    max_events: usize,
    events_omitted: u64,
    total: u64,
    /// Events by kind (named only when asked: naming one per event was a JSON round trip).
    by_kind: FastMap<EventKind, u64>,
    undecodable: u64,
    initial_cwd: String,
    /// The entrypoint has been executed: from here on, events are the sample's.
    started: bool,
    runtime_events: u64,
    detector: Detector,
    summary_omitted: u64,
    writer: Option<Box<dyn crate::model::EventTap>>,
    graph: RunGraph,
    refused: Refusals,
    /// Command lines seen recently, shared by every process that runs the same one.
    argvs: HashSet<Argv>,
}

/// Most distinct command lines kept for sharing (the set starts over beyond it).
const MAX_SHARED_ARGVS: usize = 4096;

/// `EPERM`, `EACCES`: what a refused privileged call returns.
const REFUSED_ERRNOS: [i64; 2] = [-1, -13];

/// Privileged actions whose refusal means the sandbox kept the sample from doing something (by
/// system call name in reports). The first four are what images need to start (ownership,
/// modes, dropping to a service user): their refusal means the run did not show what the image does.
pub const NEEDED_KINDS: [EventKind; 4] = [
    EventKind::Chown,
    EventKind::Chmod,
    EventKind::SetId,
    EventKind::Capset,
];
const CONTAINED_KINDS: [EventKind; 11] = [
    EventKind::Mount,
    EventKind::Umount,
    EventKind::Unshare,
    EventKind::Setns,
    EventKind::PivotRoot,
    EventKind::KernelModule,
    EventKind::Bpf,
    EventKind::Ptrace,
    EventKind::ProcessVm,
    EventKind::Keyctl,
    EventKind::Prctl,
];

/// prctl option that renames the calling thread.
const PR_SET_NAME: i64 = 15;

/// What the sandbox refused the sample, by system call.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Refusals {
    /// Refused calls needed to start (chown, chmod, set*id, capset), by system call name.
    pub needed: BTreeMap<String, u64>,
    /// Refused calls the sandbox is there to stop (mount, unshare, module loading, ...), by name.
    pub contained: BTreeMap<String, u64>,
}

impl crate::model::RunView for RunTrace {
    fn processes(&self) -> &[ProcessNode] {
        RunTrace::processes(self)
    }
    fn file(&self, path: &str) -> Option<&FileActivity> {
        RunTrace::file(self, path)
    }
}

/// The process table seen by the detector (live nodes first, then the latest exited one).
struct TableView<'a> {
    processes: &'a [ProcessNode],
    by_pid: &'a FastMap<u32, usize>,
    last_by_pid: &'a FastMap<u32, usize>,
}

impl ProcessLookup for TableView<'_> {
    fn process(&self, pid: u32) -> Option<&ProcessNode> {
        let i = self.by_pid.get(&pid).or_else(|| self.last_by_pid.get(&pid))?;
        self.processes.get(*i)
    }
    fn live_pids(&self) -> Vec<u32> {
        self.by_pid.keys().copied().collect()
    }
}

impl RunTrace {
    /// An empty trace keeping at most `max_events` events (all are counted and aggregated),
    /// evaluating `rules` on every event.
    pub fn with_rules(initial_cwd: impl Into<String>, max_events: usize, rules: Arc<RuleSet>) -> RunTrace {
        let mut t = RunTrace::new(initial_cwd, max_events);
        t.detector = Detector::new(rules);
        t
    }

    /// A trace for rule fixtures: no runtime prelude to skip, cwd `/`.
    pub fn for_fixtures(rules: Arc<RuleSet>) -> RunTrace {
        let mut t = RunTrace::with_rules("/", usize::MAX, rules);
        t.started = true;
        t
    }

    /// The run graph.
    pub fn graph(&self) -> &RunGraph {
        &self.graph
    }

    /// Streams every event (after correlation) to the store.
    pub fn set_writer(&mut self, writer: impl crate::model::EventTap + 'static) {
        self.writer = Some(Box::new(writer));
    }

    /// The tap set with [`RunTrace::set_writer`], as its own type, to finish it at the end of the run.
    pub fn take_writer<T: 'static>(&mut self) -> Option<T> {
        self.writer.take()?.into_any().downcast::<T>().ok().map(|b| *b)
    }

    /// File or network actions left out of the summaries because of their bound.
    pub fn summary_omitted(&self) -> u64 {
        self.summary_omitted
    }

    /// Detections raised so far.
    pub fn detections(&self) -> &[Detection] {
        self.detector.detections()
    }

    /// The rules the run is matched against.
    pub fn rule_set(&self) -> &Arc<crate::detect::RuleSet> {
        self.detector.rule_set()
    }

    /// What the detection bound left out, summarised per rule, and the flood finding (see
    /// [`crate::detect::Detector::overflow`]).
    pub fn detection_overflow(&self) -> Vec<Detection> {
        self.detector.overflow()
    }

    /// Number of rules evaluated.
    pub fn rule_count(&self) -> usize {
        self.detector.rule_count()
    }

    /// Rule matches beyond the detection bound.
    pub fn detections_omitted(&self) -> u64 {
        self.detector.detections_omitted()
    }

    /// Partial sequences evicted for lack of room, by rule id.
    pub fn sequence_evictions(&self) -> &BTreeMap<String, u64> {
        self.detector.sequence_evictions()
    }

    /// Takes the process and event lists out (for a report built at the end of the run).
    pub fn take_listed(&mut self) -> (Vec<ProcessNode>, Vec<Event>) {
        self.by_pid.clear();
        self.last_by_pid.clear();
        (
            std::mem::take(&mut self.processes),
            std::mem::take(&mut self.events),
        )
    }

    /// Partial sequences moved to the compact spill, and resumed from it.
    pub fn sequence_spills(&self) -> (u64, u64) {
        self.detector.spill_counts()
    }

    /// An empty trace keeping at most `max_events` events (all are counted and aggregated), with
    /// no rules.
    pub fn new(initial_cwd: impl Into<String>, max_events: usize) -> RunTrace {
        RunTrace {
            processes: Vec::new(),
            by_pid: FastMap::default(),
            last_by_pid: FastMap::default(),
            files: BTreeMap::new(),
            network: BTreeMap::new(),
            events: Vec::new(),
            max_events,
            events_omitted: 0,
            total: 0,
            by_kind: FastMap::default(),
            undecodable: 0,
            initial_cwd: initial_cwd.into(),
            started: false,
            runtime_events: 0,
            detector: Detector::new(Arc::new(RuleSet::default())),
            summary_omitted: 0,
            contacts: HashMap::new(),
            dns_client: None,
            writer: None,
            graph: RunGraph::default(),
            refused: Refusals::default(),
            argvs: HashSet::new(),
        }
    }

    /// Processes in the order they were first seen.
    pub fn processes(&self) -> &[ProcessNode] {
        &self.processes
    }
    /// Kept events, in arrival order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
    /// Events beyond the bound (counted, aggregated, not kept).
    pub fn events_omitted(&self) -> u64 {
        self.events_omitted
    }
    /// All events received.
    pub fn total_events(&self) -> u64 {
        self.total
    }
    /// Event counts by kind.
    pub fn by_kind(&self) -> BTreeMap<String, u64> {
        self.by_kind.iter().map(|(k, n)| (kind_name(*k), *n)).collect()
    }
    /// File activity by path.
    pub fn files(&self) -> impl Iterator<Item = &FileActivity> {
        self.files.values()
    }
    /// File activity on one path.
    pub fn file(&self, path: &str) -> Option<&FileActivity> {
        self.files.get(path)
    }
    /// Network activity by operation and address.
    pub fn network(&self) -> impl Iterator<Item = &NetworkActivity> {
        self.network.values()
    }
    /// Records that could not be decoded.
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }
    /// Events of the container runtime (runc setting the container up) before the entrypoint's exec.
    pub fn runtime_events(&self) -> u64 {
        self.runtime_events
    }

    /// The entrypoint's exec was seen (the run's events are the sample's from there on).
    pub fn entrypoint_seen(&self) -> bool {
        self.started
    }

    /// Privileged calls of the sample that were refused (EPERM/EACCES), by kind of need.
    pub fn refusals(&self) -> &Refusals {
        &self.refused
    }

    fn node(&mut self, ev: &Event, first_seen: &str) -> usize {
        if let Some(&i) = self.by_pid.get(&ev.pid) {
            return i;
        }
        let cwd = self
            .by_pid
            .get(&ev.ppid)
            .and_then(|&p| self.processes[p].cwd.clone())
            .or_else(|| {
                // The first process of the run starts in the image's working directory.
                self.processes.is_empty().then(|| self.initial_cwd.clone())
            });
        self.processes.push(ProcessNode::started(
            ev,
            ev.pid,
            ev.ppid,
            first_seen,
            String::new(),
            Argv::from([]),
            cwd,
        ));
        let i = self.processes.len() - 1;
        self.by_pid.insert(ev.pid, i);
        self.last_by_pid.insert(ev.pid, i);
        i
    }

    /// Resolves a path argument against the process's working directory when it is relative to it.
    fn resolve(&self, idx: usize, path: &str, fd: Option<i64>) -> String {
        if path.starts_with('/') {
            return normalize(path);
        }
        let relative_to_cwd = fd.is_none_or(|fd| fd == AT_FDCWD);
        match (&self.processes[idx].cwd, relative_to_cwd) {
            (Some(cwd), true) => normalize(&format!("{cwd}/{path}")),
            _ => path.to_string(),
        }
    }

    fn apply(&mut self, ev: &mut Event) {
        let first_seen = if matches!(ev.data, EventData::Exec { .. }) {
            "exec"
        } else {
            "event"
        };
        let i = self.node(ev, first_seen);
        self.processes[i].events += 1;
        // The probes read the parent from the task for process events only; the tree knows it.
        if ev.ppid == 0 {
            ev.ppid = self.processes[i].ppid;
        }
        match &mut ev.data {
            EventData::Fork {
                child_pid, thread, ..
            } => {
                if *thread {
                    return;
                }
                // Copied out: the match's borrow of the event ends here.
                let child_pid = *child_pid;
                let p = &self.processes[i];
                // A child runs its parent's program until it executes one of its own.
                let child = ProcessNode::started(
                    ev,
                    child_pid,
                    ev.pid,
                    "fork",
                    p.exe.clone(),
                    p.argv.clone(),
                    p.cwd.clone(),
                );
                // A reused pid starts a new node; the old one stays in the tree.
                self.processes.push(child);
                let c = self.processes.len() - 1;
                self.by_pid.insert(child_pid, c);
                self.last_by_pid.insert(child_pid, c);
                self.graph.relate(
                    NodeKind::Process {
                        pid: ev.pid,
                        index: i,
                    },
                    NodeKind::Process {
                        pid: child_pid,
                        index: c,
                    },
                    EdgeKind::Forked,
                    ev.ts_ns,
                    ev.seq,
                    false,
                );
            }
            EventData::Exec { filename, argv, .. } => {
                // `./prog` is resolved against the working directory, like syscall paths.
                if !filename.starts_with('/') && !filename.is_empty() {
                    *filename = self.resolve(i, filename, None);
                }
                let shared = match self.argvs.get(argv.as_slice()) {
                    Some(a) => Arc::clone(a),
                    None => {
                        let a = Argv::from(argv.as_slice());
                        if self.argvs.len() >= MAX_SHARED_ARGVS {
                            self.argvs.clear();
                        }
                        self.argvs.insert(Arc::clone(&a));
                        a
                    }
                };
                let p = &mut self.processes[i];
                p.exe.clone_from(filename);
                p.comm.clone_from(&ev.comm);
                p.uid = ev.uid;
                if p.execs.len() < MAX_EXECS {
                    p.execs.push(ExecRecord {
                        seq: ev.seq,
                        ts_ns: ev.ts_ns,
                        filename: filename.clone(),
                        argv: Arc::clone(&shared),
                    });
                } else {
                    p.execs_omitted += 1;
                }
                p.argv = shared;
                self.graph.relate(
                    NodeKind::Process {
                        pid: ev.pid,
                        index: i,
                    },
                    NodeKind::File {
                        path: filename.clone(),
                    },
                    EdgeKind::Executed,
                    ev.ts_ns,
                    ev.seq,
                    false,
                );
            }
            EventData::Exit { status, signal } => {
                let p = &mut self.processes[i];
                p.end_ns = Some(ev.ts_ns);
                p.exit_status = *status;
                p.exit_signal = *signal;
                self.by_pid.remove(&ev.pid);
            }
            EventData::Syscall(_) if matches!(ev.kind, EventKind::DnsQuery | EventKind::Payload) => {
                self.aggregate(ev, i);
            }
            EventData::Syscall(sys) => {
                // A symlink's target is stored as written; its link name is relative to newdirfd.
                let symlink = ev.kind == EventKind::Symlink;
                if let Some(path) = sys.path.take() {
                    sys.path = Some(if symlink {
                        path
                    } else {
                        self.resolve(i, &path, sys.fd)
                    });
                }
                if let Some(path2) = sys.path2.take() {
                    // Second paths of rename/link are relative to the second dirfd.
                    let fd = match ev.kind {
                        EventKind::Rename | EventKind::Link => sys.fd2,
                        EventKind::Symlink => sys.fd,
                        _ => None,
                    };
                    sys.path2 = Some(if ev.kind == EventKind::Mount {
                        path2
                    } else {
                        self.resolve(i, &path2, fd)
                    });
                }
                // Only root being refused is the sandbox's doing: an unprivileged process is refused
                // the same in production (sshd's privilege-separated child checks that it can no
                // longer become root).
                if REFUSED_ERRNOS.contains(&sys.ret) && ev.uid == 0 {
                    let class = if NEEDED_KINDS.contains(&ev.kind) {
                        Some(&mut self.refused.needed)
                    } else if CONTAINED_KINDS.contains(&ev.kind) {
                        Some(&mut self.refused.contained)
                    } else {
                        None
                    };
                    if let Some(map) = class {
                        *map.entry(sys.syscall.clone()).or_default() += 1;
                    }
                }
                if ev.kind == EventKind::Prctl
                    && sys.op == Some(PR_SET_NAME)
                    && sys.ret == 0
                    && ev.tid == ev.pid
                    && let Some(name) = &sys.name
                {
                    // A multi-call binary running an applet without exec (busybox sh starting
                    // `insmod`) or a sample disguising itself: the process is known by its new name.
                    self.processes[i].comm = name.chars().take(15).collect();
                }
                if ev.kind == EventKind::Chdir && sys.ret == 0 {
                    // Only an absolute result is a known directory (a relative chdir from an
                    // unknown directory leaves it unknown).
                    self.processes[i].cwd = sys.path.clone().filter(|p| p.starts_with('/'));
                }
                self.aggregate(ev, i);
            }
        }
    }

    fn aggregate(&mut self, ev: &Event, proc_idx: usize) {
        let EventData::Syscall(sys) = &ev.data else { return };
        let failed = sys.failed();
        let file_op = match ev.kind {
            EventKind::Open => {
                // O_WRONLY | O_RDWR | O_CREAT | O_TRUNC
                let writes = sys.flags.is_some_and(|f| f & 0o1103 != 0) || sys.syscall == "creat";
                Some(if writes { "open_write" } else { "open" })
            }
            EventKind::Unlink => Some("unlink"),
            EventKind::Rename => Some("rename"),
            EventKind::Chmod => Some("chmod"),
            EventKind::Chown => Some("chown"),
            EventKind::Link => Some("link"),
            EventKind::Symlink => Some("symlink"),
            EventKind::Truncate => Some("truncate"),
            EventKind::Mkdir => Some("mkdir"),
            EventKind::SetTimes => Some("set_times"),
            EventKind::ExecFailed => Some("exec_failed"),
            _ => None,
        };
        // A symlink is filed under the link it creates.
        let file_path = if ev.kind == EventKind::Symlink {
            &sys.path2
        } else {
            &sys.path
        };
        let me = || NodeKind::Process {
            pid: ev.pid,
            index: proc_idx,
        };
        let edge = match ev.kind {
            EventKind::Open if file_op == Some("open_write") => Some(EdgeKind::Wrote),
            EventKind::Open => Some(EdgeKind::Read),
            EventKind::Truncate | EventKind::Mkdir | EventKind::Symlink => Some(EdgeKind::Wrote),
            EventKind::Unlink => Some(EdgeKind::Deleted),
            EventKind::Chmod | EventKind::Chown => Some(EdgeKind::Chmod),
            EventKind::SetTimes => Some(EdgeKind::Touched),
            EventKind::Rename | EventKind::Link => Some(EdgeKind::Renamed),
            _ => None,
        };
        if let (Some(kind), Some(path)) = (edge, file_path) {
            // Renames and links point at the new name.
            let target = if kind == EdgeKind::Renamed {
                sys.path2.as_ref().unwrap_or(path)
            } else {
                path
            };
            self.graph.relate(
                me(),
                NodeKind::File { path: target.clone() },
                kind,
                ev.ts_ns,
                ev.seq,
                failed,
            );
        }
        if let (Some(op), Some(path)) = (file_op, file_path) {
            // A sample creating millions of distinct names must not exhaust the analyzer's memory.
            if !self.files.contains_key(path) && self.files.len() >= MAX_SUMMARY_ENTRIES {
                self.summary_omitted += 1;
                return;
            }
            let entry = self.files.entry(path.clone()).or_insert_with(|| FileActivity {
                path: path.clone(),
                ..Default::default()
            });
            *entry.ops.entry(op.to_string()).or_default() += 1;
            if failed {
                entry.failures += 1;
            }
            if !entry.pids.contains(&ev.pid) && entry.pids.len() < 64 {
                entry.pids.push(ev.pid);
            }
        }
        if ev.kind == EventKind::DnsQuery
            && let Some(name) = &sys.name
        {
            self.graph.relate(
                me(),
                NodeKind::Domain { name: name.clone() },
                EdgeKind::Resolved,
                ev.ts_ns,
                ev.seq,
                false,
            );
        }
        if matches!(ev.kind, EventKind::Connect | EventKind::SendTo)
            && let Some(SockAddr::Inet { address, port }) = &sys.addr
        {
            let key = format!("{address}:{port}");
            self.remember_contact(ev, &key, *port);
        }
        let net_op = match ev.kind {
            EventKind::Connect => Some("connect"),
            EventKind::Bind => Some("bind"),
            EventKind::Accept => Some("accept"),
            EventKind::SendTo => Some("sendto"),
            EventKind::Payload => Some("payload"),
            EventKind::DnsQuery => Some("dns"),
            _ => None,
        };
        if let (Some(op), Some(addr)) = (net_op, &sys.addr) {
            let text = match addr {
                // A DNS question is listed by the name asked.
                _ if ev.kind == EventKind::DnsQuery => sys.name.clone().unwrap_or_default(),
                SockAddr::Inet { address, port } if address.contains(':') => format!("[{address}]:{port}"),
                SockAddr::Inet { address, port } => format!("{address}:{port}"),
                SockAddr::Unix { path } => format!("unix:{path}"),
                SockAddr::Other { number } => format!("family {number}"),
            };
            let kind = match ev.kind {
                EventKind::Connect => EdgeKind::Connected,
                EventKind::Bind => EdgeKind::Bound,
                EventKind::Accept => EdgeKind::Accepted,
                _ => EdgeKind::SentTo,
            };
            if ev.kind != EventKind::DnsQuery {
                self.graph.relate(
                    me(),
                    NodeKind::Endpoint { addr: text.clone() },
                    kind,
                    ev.ts_ns,
                    ev.seq,
                    failed,
                );
            }
            let key = (op.to_string(), text.clone());
            if !self.network.contains_key(&key) && self.network.len() >= MAX_SUMMARY_ENTRIES {
                self.summary_omitted += 1;
                return;
            }
            let entry = self.network.entry(key).or_insert_with(|| NetworkActivity {
                op: op.to_string(),
                addr: text,
                ..Default::default()
            });
            entry.count += 1;
            if sys.in_progress() {
                entry.in_progress += 1;
            }
            if failed {
                entry.failures += 1;
                entry.last_error.clone_from(&sys.error);
            }
            if !entry.pids.contains(&ev.pid) && entry.pids.len() < 64 {
                entry.pids.push(ev.pid);
            }
        }
    }
}

/// The process behind a network contact.
#[derive(Clone, Debug)]
struct Contact {
    pid: u32,
    tid: u32,
    ppid: u32,
    uid: u32,
    gid: u32,
    comm: String,
}

impl RunTrace {
    /// Gives an event of the network sinkhole (which sees packets, not processes) to the process that
    /// made the contact: the last one to connect or send to that address and port, or, for DNS, the
    /// last one to send to a port-53 resolver.
    fn attribute(&self, ev: &mut Event) {
        let EventData::Syscall(sys) = &ev.data else { return };
        let key = match &sys.addr {
            Some(SockAddr::Inet { address, port }) => format!("{address}:{port}"),
            _ => String::new(),
        };
        let who = self.contacts.get(&key).or(if ev.kind == EventKind::DnsQuery {
            self.dns_client.as_ref()
        } else {
            None
        });
        if let Some(c) = who {
            ev.pid = c.pid;
            ev.tid = c.tid;
            ev.ppid = c.ppid;
            ev.uid = c.uid;
            ev.gid = c.gid;
            ev.comm.clone_from(&c.comm);
        }
    }

    fn remember_contact(&mut self, ev: &Event, key: &str, port: u16) {
        let c = Contact {
            pid: ev.pid,
            tid: ev.tid,
            ppid: ev.ppid,
            uid: ev.uid,
            gid: ev.gid,
            comm: ev.comm.clone(),
        };
        if port == 53 {
            self.dns_client = Some(c.clone());
        }
        if self.contacts.len() < MAX_SUMMARY_ENTRIES || self.contacts.contains_key(key) {
            self.contacts.insert(key.to_string(), c);
        }
    }
}

impl EventSink for RunTrace {
    fn event(&mut self, mut event: Event) {
        // runc joins the run cgroup before it has set the container up; what it does until it
        // executes the entrypoint is the runtime's work, not the sample's (the sample's code cannot
        // run before that exec).
        if !self.started {
            // runc re-executes itself from a memfd (`runc init`) before the entrypoint: that exec
            // is the runtime's too.
            let runtime_exec = matches!(&event.data, EventData::Exec { argv, .. }
                if argv.first().is_some_and(|a| a.rsplit('/').next() == Some("runc")) && argv.get(1).is_some_and(|a| a == "init"));
            if event.kind != EventKind::Exec || runtime_exec {
                self.runtime_events += 1;
                return;
            }
            self.started = true;
        }
        if matches!(event.kind, EventKind::DnsQuery | EventKind::Payload) && event.pid == 0 {
            self.attribute(&mut event);
        }
        self.total += 1;
        *self.by_kind.entry(event.kind).or_default() += 1;
        self.apply(&mut event);
        let view = TableView {
            processes: &self.processes,
            by_pid: &self.by_pid,
            last_by_pid: &self.last_by_pid,
        };
        self.detector.on_event(&event, &view);
        if let Some(w) = &mut self.writer {
            w.event(&event);
        }
        if self.events.len() < self.max_events {
            self.events.push(event);
        } else {
            self.events_omitted += 1;
        }
    }

    fn undecodable(&mut self, error: DecodeError) {
        self.undecodable += 1;
        tracing::debug!(%error, "undecodable record");
    }
}

pub use crate::event::kind_name;

/// Lexically normalizes an absolute path: removes `.`, empty components and resolves `..`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tree_tests;
