//! Unit tests of the process tree, path resolution and aggregation built by [`RunTrace`].

use super::*;

use crate::capture::EventSink;
use crate::event::SyscallData;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const AT_FDCWD_ARG: i64 = -100;
/// O_WRONLY.
const O_WRONLY: u64 = 0o1;
/// O_RDWR.
const O_RDWR: u64 = 0o2;
/// O_CREAT.
const O_CREAT: u64 = 0o100;
/// O_TRUNC.
const O_TRUNC: u64 = 0o1000;
/// O_CLOEXEC (not a write).
const O_CLOEXEC: u64 = 0o2_000_000;

/// A trace fed with events whose time and sequence number grow by one step per event.
struct Run {
    trace: RunTrace,
    seq: u64,
}

impl Run {
    fn new(cwd: &str) -> Run {
        Run::bounded(cwd, usize::MAX)
    }

    fn bounded(cwd: &str, max_events: usize) -> Run {
        Run {
            trace: RunTrace::new(cwd, max_events),
            seq: 0,
        }
    }

    fn feed(&mut self, mut event: Event) -> &mut Run {
        event.seq = self.seq;
        event.ts_ns = 1_000 * (self.seq + 1);
        self.seq += 1;
        self.trace.event(event);
        self
    }

    /// The time the next fed event gets.
    fn next_ts(&self) -> u64 {
        1_000 * (self.seq + 1)
    }

    fn exec(&mut self, pid: u32, ppid: u32, filename: &str, argv: &[&str]) -> &mut Run {
        self.feed(exec(pid, ppid, filename, argv))
    }

    fn fork(&mut self, pid: u32, child: u32) -> &mut Run {
        self.feed(fork(pid, child, false))
    }

    fn exit(&mut self, pid: u32, status: Option<i32>, signal: Option<i32>) -> &mut Run {
        self.feed(exit(pid, status, signal))
    }

    fn sys(&mut self, pid: u32, kind: EventKind, data: SyscallData) -> &mut Run {
        self.feed(sys(pid, kind, data))
    }

    /// The node of the live process `pid` (the latest node with that pid).
    fn node(&self, pid: u32) -> &ProcessNode {
        self.trace
            .processes()
            .iter()
            .rev()
            .find(|p| p.pid == pid)
            .unwrap_or_else(|| panic!("no node for pid {pid}"))
    }

    /// The path of the last kept event, as resolved.
    fn last_path(&self) -> Option<String> {
        self.last_sys().path.clone()
    }

    fn last_sys(&self) -> &SyscallData {
        match &self.trace.events().last().expect("an event was kept").data {
            EventData::Syscall(d) => d,
            other => panic!("expected a syscall, got {other:?}"),
        }
    }

    fn file(&self, path: &str) -> &FileActivity {
        self.trace
            .files()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no file activity for {path}"))
    }

    fn net(&self, op: &str, addr: &str) -> &NetworkActivity {
        self.trace
            .network()
            .find(|n| n.op == op && n.addr == addr)
            .unwrap_or_else(|| panic!("no network activity {op} {addr}"))
    }
}

fn event(pid: u32, ppid: u32, kind: EventKind, data: EventData) -> Event {
    Event {
        seq: 0,
        ts_ns: 0,
        kind,
        pid,
        tid: pid,
        ppid,
        uid: 1000,
        gid: 1000,
        cgroup_id: 42,
        comm: "sh".into(),
        truncated: false,
        data,
    }
}

fn exec(pid: u32, ppid: u32, filename: &str, argv: &[&str]) -> Event {
    let mut e = event(
        pid,
        ppid,
        EventKind::Exec,
        EventData::Exec {
            filename: filename.into(),
            argv: argv.iter().map(|a| (*a).to_string()).collect(),
            argv_truncated: false,
            env: Vec::new(),
        },
    );
    e.comm = filename.rsplit('/').next().unwrap_or(filename).to_string();
    e
}

fn fork(pid: u32, child: u32, thread: bool) -> Event {
    event(
        pid,
        0,
        EventKind::Fork,
        EventData::Fork {
            child_pid: if thread { pid } else { child },
            child_tid: child,
            thread,
        },
    )
}

fn exit(pid: u32, status: Option<i32>, signal: Option<i32>) -> Event {
    event(pid, 0, EventKind::Exit, EventData::Exit { status, signal })
}

fn sys(pid: u32, kind: EventKind, data: SyscallData) -> Event {
    event(pid, 0, kind, EventData::Syscall(Box::new(data)))
}

fn openat(fd: i64, path: &str, flags: u64, ret: i64) -> SyscallData {
    SyscallData {
        syscall: "openat".into(),
        ret,
        error: (ret < 0).then(|| crate::event::errno_name(-ret)),
        path: Some(path.into()),
        fd: Some(fd),
        flags: Some(flags),
        mode: Some(0o644),
        ..SyscallData::default()
    }
}

fn chdir(path: &str, ret: i64) -> SyscallData {
    SyscallData {
        syscall: "chdir".into(),
        ret,
        error: (ret < 0).then(|| crate::event::errno_name(-ret)),
        path: Some(path.into()),
        ..SyscallData::default()
    }
}

fn connect(addr: SockAddr, ret: i64) -> SyscallData {
    SyscallData {
        syscall: "connect".into(),
        ret,
        error: (ret < 0).then(|| crate::event::errno_name(-ret)),
        fd: Some(3),
        addr: Some(addr),
        ..SyscallData::default()
    }
}

fn inet(address: &str, port: u16) -> SockAddr {
    SockAddr::Inet {
        address: address.into(),
        port,
    }
}

/// A run whose entrypoint, pid 100 (parent 1, outside the run), has executed `/app/start`.
fn started(cwd: &str) -> Run {
    let mut run = Run::new(cwd);
    run.exec(100, 1, "/app/start", &["start"]);
    run
}

// ---------------------------------------------------------------------------------------------
// Runtime prelude
// ---------------------------------------------------------------------------------------------

#[test]
fn events_before_the_first_exec_are_runtime_events() {
    let mut run = Run::new("/");
    run.fork(50, 51)
        .sys(51, EventKind::Open, openat(AT_FDCWD_ARG, "/proc/self/fd", 0, 3))
        .sys(51, EventKind::Mount, SyscallData::default())
        .exit(50, Some(0), None);
    assert_eq!(run.trace.runtime_events(), 4);
    assert!(run.trace.processes().is_empty());
    assert!(run.trace.events().is_empty());
    assert_eq!(run.trace.total_events(), 0);
    assert!(run.trace.by_kind().is_empty());
    assert_eq!(run.trace.files().count(), 0);
    assert_eq!(run.trace.events_omitted(), 0);

    run.exec(51, 50, "/app/start", &["start", "--x"]).sys(
        51,
        EventKind::Open,
        openat(AT_FDCWD_ARG, "/etc/hosts", 0, 3),
    );
    assert_eq!(
        run.trace.runtime_events(),
        4,
        "nothing after the exec is the runtime's"
    );
    assert_eq!(run.trace.total_events(), 2);
    assert_eq!(run.trace.events().len(), 2);
    assert_eq!(run.trace.processes().len(), 1);
    let p = run.node(51);
    assert_eq!(p.first_seen, "exec");
    assert_eq!(p.ppid, 50);
    assert_eq!(p.exe, "/app/start");
    assert_eq!(p.argv[..], ["start", "--x"]);
    assert_eq!(p.events, 2);
    assert_eq!(run.trace.files().count(), 1);
}

#[test]
fn the_first_exec_starts_the_run_whatever_follows() {
    let mut run = Run::new("/");
    run.exec(7, 1, "/init", &["init"])
        .fork(7, 8)
        .exit(8, Some(0), None);
    assert_eq!(run.trace.runtime_events(), 0);
    assert_eq!(run.trace.total_events(), 3);
}

#[test]
fn for_fixtures_needs_no_exec_to_start() {
    let mut trace = RunTrace::for_fixtures(Arc::new(RuleSet::default()));
    trace.event(sys(9, EventKind::Open, openat(AT_FDCWD_ARG, "etc/passwd", 0, 3)));
    assert_eq!(trace.runtime_events(), 0);
    assert_eq!(trace.total_events(), 1);
    assert_eq!(trace.processes().len(), 1);
    assert_eq!(trace.processes()[0].first_seen, "event");
    let EventData::Syscall(d) = &trace.events()[0].data else {
        panic!("a syscall event")
    };
    // The fixture trace starts in `/`.
    assert_eq!(d.path.as_deref(), Some("/etc/passwd"));
    assert_eq!(trace.rule_count(), 0);
    assert!(trace.detections().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Process tree
// ---------------------------------------------------------------------------------------------

#[test]
fn exec_chain_within_one_pid_is_one_node() {
    let mut run = Run::new("/");
    let first_ts = run.next_ts();
    run.exec(100, 1, "/bin/sh", &["sh", "-c", "exec python3 x.py"]);
    let second_ts = run.next_ts();
    run.exec(100, 1, "/usr/bin/python3", &["python3", "x.py"]);
    assert_eq!(run.trace.processes().len(), 1);
    let p = run.node(100);
    assert_eq!(p.execs.len(), 2);
    assert_eq!(p.exe, "/usr/bin/python3");
    assert_eq!(p.argv[..], ["python3", "x.py"]);
    assert_eq!(p.comm, "python3");
    assert_eq!(p.start_ns, first_ts);
    assert_eq!(p.first_seen, "exec");
    assert_eq!(
        p.execs,
        [
            ExecRecord {
                seq: p.execs[0].seq,
                ts_ns: first_ts,
                filename: "/bin/sh".into(),
                argv: vec!["sh".into(), "-c".into(), "exec python3 x.py".into()].into(),
            },
            ExecRecord {
                seq: p.execs[1].seq,
                ts_ns: second_ts,
                filename: "/usr/bin/python3".into(),
                argv: vec!["python3".into(), "x.py".into()].into(),
            },
        ]
    );
    assert_eq!(p.events, 2);
}

#[test]
fn exec_updates_uid() {
    let mut run = started("/");
    let mut e = exec(100, 1, "/usr/bin/sudo", &["sudo"]);
    e.uid = 0;
    run.feed(e);
    assert_eq!(run.node(100).uid, 0);
}

#[test]
fn fork_creates_a_child_inheriting_the_image_until_it_execs() {
    let mut run = started("/");
    let fork_ts = run.next_ts();
    run.fork(100, 101);
    assert_eq!(run.trace.processes().len(), 2);
    let child = run.node(101);
    assert_eq!(child.ppid, 100);
    assert_eq!(child.first_seen, "fork");
    assert_eq!(child.exe, "/app/start");
    assert_eq!(child.argv[..], ["start"]);
    assert!(
        child.execs.is_empty(),
        "the inherited image is not an exec of the child"
    );
    assert_eq!(child.start_ns, fork_ts);
    assert_eq!(child.events, 0, "the fork is the parent's event");
    assert_eq!(run.node(100).events, 2);

    run.exec(101, 100, "/bin/ls", &["ls", "-l"]);
    let child = run.node(101);
    assert_eq!(child.exe, "/bin/ls");
    assert_eq!(child.argv[..], ["ls", "-l"]);
    assert_eq!(child.execs.len(), 1);
    assert_eq!(child.first_seen, "fork", "the exec does not make a new node");
    assert_eq!(run.trace.processes().len(), 2);
    // The parent is unchanged.
    assert_eq!(run.node(100).exe, "/app/start");
}

#[test]
fn grandchildren_get_their_own_parents() {
    let mut run = started("/");
    run.fork(100, 101)
        .exec(101, 100, "/bin/sh", &["sh"])
        .fork(101, 102)
        .fork(101, 103);
    let pids: Vec<(u32, u32)> = run.trace.processes().iter().map(|p| (p.pid, p.ppid)).collect();
    assert_eq!(pids, [(100, 1), (101, 100), (102, 101), (103, 101)]);
    assert_eq!(run.node(103).exe, "/bin/sh");
}

#[test]
fn thread_forks_create_no_node() {
    let mut run = started("/");
    run.feed(fork(100, 105, true)).feed(fork(100, 106, true));
    assert_eq!(run.trace.processes().len(), 1);
    assert_eq!(run.node(100).events, 3);
    assert_eq!(run.trace.total_events(), 3);
    assert_eq!(run.trace.by_kind().get("fork"), Some(&2));
}

#[test]
fn exit_sets_status_and_end() {
    let mut run = started("/");
    run.fork(100, 101);
    let end = run.next_ts();
    run.exit(101, Some(3), None);
    let p = run.node(101);
    assert_eq!(p.end_ns, Some(end));
    assert_eq!(p.exit_status, Some(3));
    assert_eq!(p.exit_signal, None);
    assert_eq!(p.events, 1);
    assert_eq!(run.node(100).end_ns, None);
}

#[test]
fn exit_by_signal() {
    let mut run = started("/");
    run.exit(100, None, Some(9));
    let p = run.node(100);
    assert_eq!(p.exit_status, None);
    assert_eq!(p.exit_signal, Some(9));
    assert!(p.end_ns.is_some());
}

#[test]
fn exit_with_unknown_code() {
    let mut run = started("/");
    run.exit(100, None, None);
    let p = run.node(100);
    assert!(p.end_ns.is_some());
    assert_eq!((p.exit_status, p.exit_signal), (None, None));
}

#[test]
fn pid_reuse_after_exit_creates_a_second_node() {
    let mut run = started("/");
    run.fork(100, 200)
        .exec(200, 100, "/bin/first", &["first"])
        .exit(200, Some(0), None)
        .fork(100, 200)
        .exec(200, 100, "/bin/second", &["second"]);
    let nodes: Vec<&ProcessNode> = run.trace.processes().iter().filter(|p| p.pid == 200).collect();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0].exe, "/bin/first");
    assert_eq!(nodes[0].exit_status, Some(0));
    assert!(nodes[0].end_ns.is_some());
    assert_eq!(nodes[0].execs.len(), 1);
    assert_eq!(nodes[1].exe, "/bin/second");
    assert_eq!(nodes[1].first_seen, "fork");
    assert_eq!(nodes[1].end_ns, None);
    assert_eq!(nodes[1].exit_status, None);
    assert_eq!(
        nodes[1].execs.len(),
        1,
        "the old node's execs are not carried over"
    );
    // Events after the reuse go to the new node.
    run.sys(200, EventKind::Open, openat(AT_FDCWD_ARG, "/x", 0, 3));
    let nodes: Vec<&ProcessNode> = run.trace.processes().iter().filter(|p| p.pid == 200).collect();
    assert_eq!((nodes[0].events, nodes[1].events), (2, 2));
}

#[test]
fn pid_reuse_without_a_fork_seen_creates_a_second_node() {
    let mut run = started("/");
    run.exit(100, Some(1), None)
        .exec(100, 1, "/bin/again", &["again"]);
    let nodes: Vec<&ProcessNode> = run.trace.processes().iter().filter(|p| p.pid == 100).collect();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0].exit_status, Some(1));
    assert_eq!(nodes[1].first_seen, "exec");
    assert_eq!(nodes[1].exe, "/bin/again");
    assert_eq!(nodes[1].end_ns, None);
}

#[test]
fn process_first_seen_mid_life() {
    let mut run = started("/");
    let mut e = sys(300, EventKind::Open, openat(AT_FDCWD_ARG, "/etc/passwd", 0, 3));
    e.ppid = 100;
    e.uid = 33;
    e.comm = "worker".into();
    let ts = run.next_ts();
    run.feed(e);
    assert_eq!(run.trace.processes().len(), 2);
    let p = run.node(300);
    assert_eq!(p.first_seen, "event");
    assert_eq!(p.ppid, 100);
    assert_eq!(p.uid, 33);
    assert_eq!(p.comm, "worker");
    assert_eq!(p.exe, "", "no exec seen");
    assert!(p.argv.is_empty());
    assert!(p.execs.is_empty());
    assert_eq!(p.start_ns, ts);
    assert_eq!(p.events, 1);
}

#[test]
fn exit_of_an_unknown_process_creates_an_ended_node() {
    let mut run = started("/");
    run.exit(400, None, Some(15));
    let p = run.node(400);
    assert_eq!(p.first_seen, "event");
    assert_eq!(p.exit_signal, Some(15));
    assert!(p.end_ns.is_some());
}

#[test]
fn missing_ppid_is_filled_from_the_tree() {
    let mut run = started("/");
    run.fork(100, 101)
        .sys(101, EventKind::Open, openat(AT_FDCWD_ARG, "/x", 0, 3));
    let last = run.trace.events().last().expect("kept");
    assert_eq!(last.pid, 101);
    assert_eq!(last.ppid, 100);
    // A ppid the probe did read is kept as it is.
    let mut e = sys(101, EventKind::Open, openat(AT_FDCWD_ARG, "/y", 0, 3));
    e.ppid = 1;
    run.feed(e);
    assert_eq!(run.trace.events().last().expect("kept").ppid, 1);
}

#[test]
fn events_are_counted_by_kind() {
    let mut run = started("/");
    run.fork(100, 101)
        .sys(101, EventKind::ExecMemory, SyscallData::default())
        .sys(101, EventKind::ExecMemory, SyscallData::default())
        .exit(101, Some(0), None);
    let by_kind = run.trace.by_kind();
    assert_eq!(by_kind.get("exec"), Some(&1));
    assert_eq!(by_kind.get("fork"), Some(&1));
    assert_eq!(by_kind.get("exec_memory"), Some(&2));
    assert_eq!(by_kind.get("exit"), Some(&1));
    assert_eq!(by_kind.values().sum::<u64>(), run.trace.total_events());
}

#[test]
fn kind_names_are_snake_case() {
    assert_eq!(kind_name(EventKind::Open), "open");
    assert_eq!(kind_name(EventKind::ExecFailed), "exec_failed");
    assert_eq!(kind_name(EventKind::IoUringSetup), "io_uring_setup");
    assert_eq!(kind_name(EventKind::SendTo), "send_to");
    for kind in EventKind::ALL {
        let name = kind_name(kind);
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{kind:?} -> {name}"
        );
    }
}

#[test]
fn undecodable_records_are_counted() {
    let mut trace = RunTrace::new("/", 10);
    EventSink::undecodable(&mut trace, DecodeError::UnknownKind(0x999));
    EventSink::undecodable(
        &mut trace,
        DecodeError::Short {
            kind: 0x101,
            len: 3,
            need: 80,
        },
    );
    assert_eq!(trace.undecodable(), 2);
    assert_eq!(trace.total_events(), 0);
}

// ---------------------------------------------------------------------------------------------
// Working directory and paths
// ---------------------------------------------------------------------------------------------

#[test]
fn first_process_starts_in_the_initial_cwd() {
    let mut run = started("/srv/app");
    assert_eq!(run.node(100).cwd.as_deref(), Some("/srv/app"));
    run.sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "etc/passwd", 0, 3));
    assert_eq!(run.last_path().as_deref(), Some("/srv/app/etc/passwd"));
}

#[test]
fn initial_cwd_of_root() {
    let mut run = started("/");
    run.sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "etc/passwd", 0, 3));
    assert_eq!(run.last_path().as_deref(), Some("/etc/passwd"));
}

#[test]
fn relative_paths_are_normalized() {
    let mut run = started("/srv/app");
    run.sys(
        100,
        EventKind::Open,
        openat(AT_FDCWD_ARG, "./a/../../etc//passwd", 0, 3),
    );
    assert_eq!(run.last_path().as_deref(), Some("/srv/etc/passwd"));
    run.sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "../../../../..", 0, 3));
    assert_eq!(run.last_path().as_deref(), Some("/"));
}

#[test]
fn absolute_paths_are_normalized_whatever_the_dirfd() {
    let mut run = started("/srv/app");
    run.sys(100, EventKind::Open, openat(7, "/a/./b/../c//d", 0, 3));
    assert_eq!(run.last_path().as_deref(), Some("/a/c/d"));
}

#[test]
fn path_without_a_dirfd_is_relative_to_the_cwd() {
    // open(2), creat(2): no dirfd argument.
    let mut run = started("/srv/app");
    run.sys(
        100,
        EventKind::Open,
        SyscallData {
            syscall: "open".into(),
            ret: 3,
            path: Some("data.db".into()),
            flags: Some(O_RDWR),
            ..SyscallData::default()
        },
    );
    assert_eq!(run.last_path().as_deref(), Some("/srv/app/data.db"));
}

#[test]
fn a_real_dirfd_leaves_the_path_relative() {
    let mut run = started("/srv/app");
    run.sys(100, EventKind::Open, openat(5, "etc/passwd", 0, 3));
    assert_eq!(run.last_path().as_deref(), Some("etc/passwd"));
    assert_eq!(run.file("etc/passwd").ops.get("open"), Some(&1));
}

#[test]
fn chdir_changes_the_cwd() {
    let mut run = started("/srv/app");
    run.sys(100, EventKind::Chdir, chdir("/tmp", 0)).sys(
        100,
        EventKind::Open,
        openat(AT_FDCWD_ARG, "x", 0, 3),
    );
    assert_eq!(run.last_path().as_deref(), Some("/tmp/x"));
    assert_eq!(run.node(100).cwd.as_deref(), Some("/tmp"));
}

#[test]
fn relative_chdir_is_resolved() {
    let mut run = started("/srv/app");
    run.sys(100, EventKind::Chdir, chdir("../data/./in", 0));
    assert_eq!(run.last_path().as_deref(), Some("/srv/data/in"));
    assert_eq!(run.node(100).cwd.as_deref(), Some("/srv/data/in"));
    run.sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "f", 0, 3));
    assert_eq!(run.last_path().as_deref(), Some("/srv/data/in/f"));
}

#[test]
fn failed_chdir_keeps_the_cwd() {
    let mut run = started("/srv/app");
    run.sys(100, EventKind::Chdir, chdir("/nonexistent", -2)).sys(
        100,
        EventKind::Open,
        openat(AT_FDCWD_ARG, "x", 0, 3),
    );
    assert_eq!(run.last_path().as_deref(), Some("/srv/app/x"));
}

#[test]
fn fchdir_makes_the_cwd_unknown() {
    let mut run = started("/srv/app");
    run.sys(
        100,
        EventKind::Chdir,
        SyscallData {
            syscall: "fchdir".into(),
            fd: Some(4),
            ..SyscallData::default()
        },
    )
    .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "x", 0, 3));
    assert_eq!(run.node(100).cwd, None);
    assert_eq!(
        run.last_path().as_deref(),
        Some("x"),
        "unknown cwd: left relative"
    );
    // An absolute chdir makes it known again.
    run.sys(100, EventKind::Chdir, chdir("/var", 0)).sys(
        100,
        EventKind::Open,
        openat(AT_FDCWD_ARG, "x", 0, 3),
    );
    assert_eq!(run.last_path().as_deref(), Some("/var/x"));
}

#[test]
fn children_inherit_the_cwd() {
    let mut run = started("/srv/app");
    run.sys(100, EventKind::Chdir, chdir("/tmp", 0))
        .fork(100, 101)
        .exec(101, 100, "/bin/cat", &["cat", "x"])
        .sys(101, EventKind::Open, openat(AT_FDCWD_ARG, "x", 0, 3));
    assert_eq!(run.last_path().as_deref(), Some("/tmp/x"));
    // The child's chdir does not move the parent.
    run.sys(101, EventKind::Chdir, chdir("/home", 0)).sys(
        100,
        EventKind::Open,
        openat(AT_FDCWD_ARG, "y", 0, 3),
    );
    assert_eq!(run.last_path().as_deref(), Some("/tmp/y"));
    assert_eq!(run.node(101).cwd.as_deref(), Some("/home"));
}

#[test]
fn process_first_seen_mid_life_inherits_its_known_parents_cwd() {
    let mut run = started("/srv/app");
    run.sys(100, EventKind::Chdir, chdir("/opt", 0));
    let mut e = sys(300, EventKind::Open, openat(AT_FDCWD_ARG, "conf", 0, 3));
    e.ppid = 100;
    run.feed(e);
    assert_eq!(run.last_path().as_deref(), Some("/opt/conf"));
}

#[test]
fn process_first_seen_mid_life_with_an_unknown_parent_has_no_cwd() {
    let mut run = started("/srv/app");
    let mut e = sys(300, EventKind::Open, openat(AT_FDCWD_ARG, "conf", 0, 3));
    e.ppid = 77;
    run.feed(e);
    assert_eq!(run.node(300).cwd, None);
    assert_eq!(run.last_path().as_deref(), Some("conf"));
}

#[test]
fn second_path_of_rename_uses_the_second_dirfd() {
    let mut run = started("/w");
    let rename = |fd2: i64| SyscallData {
        syscall: "renameat".into(),
        path: Some("a".into()),
        path2: Some("b".into()),
        fd: Some(AT_FDCWD_ARG),
        fd2: Some(fd2),
        ..SyscallData::default()
    };
    run.sys(100, EventKind::Rename, rename(AT_FDCWD_ARG));
    assert_eq!(run.last_sys().path.as_deref(), Some("/w/a"));
    assert_eq!(run.last_sys().path2.as_deref(), Some("/w/b"));
    run.sys(100, EventKind::Rename, rename(9));
    assert_eq!(run.last_sys().path.as_deref(), Some("/w/a"));
    assert_eq!(run.last_sys().path2.as_deref(), Some("b"));
}

#[test]
fn second_path_of_link_uses_the_second_dirfd() {
    let mut run = started("/w");
    run.sys(
        100,
        EventKind::Link,
        SyscallData {
            syscall: "linkat".into(),
            path: Some("a".into()),
            path2: Some("b".into()),
            fd: Some(3),
            fd2: Some(AT_FDCWD_ARG),
            ..SyscallData::default()
        },
    );
    assert_eq!(run.last_sys().path.as_deref(), Some("a"));
    assert_eq!(run.last_sys().path2.as_deref(), Some("/w/b"));
}

#[test]
fn rename_without_dirfds_resolves_both_paths() {
    let mut run = started("/w");
    run.sys(
        100,
        EventKind::Rename,
        SyscallData {
            syscall: "rename".into(),
            path: Some("x/../a".into()),
            path2: Some("/abs/./b".into()),
            ..SyscallData::default()
        },
    );
    assert_eq!(run.last_sys().path.as_deref(), Some("/w/a"));
    assert_eq!(run.last_sys().path2.as_deref(), Some("/abs/b"));
}

#[test]
fn mount_source_is_not_a_path() {
    let mut run = started("/w");
    run.sys(
        100,
        EventKind::Mount,
        SyscallData {
            syscall: "mount".into(),
            path: Some("mnt".into()),
            path2: Some("proc".into()),
            name: Some("proc".into()),
            ..SyscallData::default()
        },
    );
    assert_eq!(run.last_sys().path.as_deref(), Some("/w/mnt"));
    assert_eq!(run.last_sys().path2.as_deref(), Some("proc"));
}

#[test]
fn normalize_paths() {
    assert_eq!(normalize("/a/./b/../c//d"), "/a/c/d");
    assert_eq!(normalize("/.."), "/");
    assert_eq!(normalize("/../../x"), "/x");
    assert_eq!(normalize("/a/b/../../.."), "/");
    assert_eq!(normalize("/"), "/");
    assert_eq!(normalize(""), "/");
    assert_eq!(normalize("/a/b/"), "/a/b");
    assert_eq!(normalize("///a///b"), "/a/b");
    assert_eq!(normalize("/a/.../b"), "/a/.../b", "`...` is a name");
    assert_eq!(normalize("/a/..b/c"), "/a/..b/c");
}

// ---------------------------------------------------------------------------------------------
// File aggregation
// ---------------------------------------------------------------------------------------------

#[test]
fn opens_are_counted_as_reads_or_writes() {
    let mut run = started("/");
    run.sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/f", 0, 3))
        .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/f", O_CLOEXEC, 3))
        .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/f", O_WRONLY, 3))
        .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/f", O_RDWR, 3))
        .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/f", O_CREAT, 3))
        .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/f", O_TRUNC, 3));
    let f = run.file("/f");
    assert_eq!(f.ops.get("open"), Some(&2));
    assert_eq!(f.ops.get("open_write"), Some(&4));
    assert_eq!(f.failures, 0);
    assert_eq!(f.pids, [100]);
    assert_eq!(run.trace.files().count(), 1);
}

#[test]
fn creat_is_a_write() {
    let mut run = started("/tmp");
    run.sys(
        100,
        EventKind::Open,
        SyscallData {
            syscall: "creat".into(),
            ret: 3,
            path: Some("out".into()),
            mode: Some(0o600),
            ..SyscallData::default()
        },
    );
    assert_eq!(run.file("/tmp/out").ops.get("open_write"), Some(&1));
}

#[test]
fn file_failures_are_counted() {
    let mut run = started("/");
    run.sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/etc/shadow", 0, -13))
        .sys(
            100,
            EventKind::Open,
            openat(AT_FDCWD_ARG, "/etc/shadow", O_WRONLY, -13),
        )
        .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "/etc/shadow", 0, 3));
    let f = run.file("/etc/shadow");
    assert_eq!(f.failures, 2);
    assert_eq!(f.ops.get("open"), Some(&2));
    assert_eq!(f.ops.get("open_write"), Some(&1));
}

#[test]
fn files_are_keyed_by_resolved_path_with_every_pid() {
    let mut run = started("/etc");
    run.fork(100, 101)
        .sys(100, EventKind::Open, openat(AT_FDCWD_ARG, "passwd", 0, 3))
        .sys(101, EventKind::Open, openat(AT_FDCWD_ARG, "/etc/passwd", 0, 3))
        .sys(
            101,
            EventKind::Open,
            openat(AT_FDCWD_ARG, "../etc/./passwd", 0, 3),
        );
    let f = run.file("/etc/passwd");
    assert_eq!(f.ops.get("open"), Some(&3));
    assert_eq!(f.pids, [100, 101]);
    assert_eq!(run.trace.files().count(), 1);
}

#[test]
fn file_operations_by_kind() {
    let mut run = started("/");
    let cases = [
        (EventKind::Unlink, "unlink"),
        (EventKind::Rename, "rename"),
        (EventKind::Chmod, "chmod"),
        (EventKind::Chown, "chown"),
        (EventKind::Link, "link"),
        (EventKind::Symlink, "symlink"),
        (EventKind::Truncate, "truncate"),
        (EventKind::Mkdir, "mkdir"),
        (EventKind::SetTimes, "set_times"),
        (EventKind::ExecFailed, "exec_failed"),
    ];
    for (kind, op) in cases {
        let path = format!("/{op}");
        run.sys(
            100,
            kind,
            SyscallData {
                path: Some(path.clone()),
                // A symlink is filed under the link name it creates.
                path2: (kind == EventKind::Symlink).then(|| path.clone()),
                ..SyscallData::default()
            },
        );
        let f = run.file(&path);
        assert_eq!(f.ops.len(), 1, "{kind:?}");
        assert_eq!(f.ops.get(op), Some(&1), "{kind:?}");
    }
    // Paths of other kinds are no file activity.
    for kind in [
        EventKind::Chdir,
        EventKind::Mount,
        EventKind::Umount,
        EventKind::PivotRoot,
    ] {
        run.sys(
            100,
            kind,
            SyscallData {
                path: Some("/not-a-file-op".into()),
                ..SyscallData::default()
            },
        );
    }
    assert_eq!(run.trace.files().count(), cases.len());
}

#[test]
fn file_ops_without_a_path_are_not_aggregated() {
    // fchmod, ftruncate: an fd, no path.
    let mut run = started("/");
    run.sys(
        100,
        EventKind::Chmod,
        SyscallData {
            syscall: "fchmod".into(),
            fd: Some(3),
            mode: Some(0o777),
            ..SyscallData::default()
        },
    );
    assert_eq!(run.trace.files().count(), 0);
}

#[test]
fn runtime_events_are_not_aggregated() {
    let mut run = Run::new("/");
    run.sys(
        10,
        EventKind::Open,
        openat(AT_FDCWD_ARG, "/etc/passwd", O_WRONLY, 3),
    )
    .sys(10, EventKind::Connect, connect(inet("10.0.0.1", 80), 0));
    assert_eq!(run.trace.files().count(), 0);
    assert_eq!(run.trace.network().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Network aggregation
// ---------------------------------------------------------------------------------------------

#[test]
fn connect_to_an_inet_address() {
    let mut run = started("/");
    run.sys(100, EventKind::Connect, connect(inet("10.0.0.1", 80), 0))
        .sys(100, EventKind::Connect, connect(inet("10.0.0.1", 80), 0));
    let n = run.net("connect", "10.0.0.1:80");
    assert_eq!(n.count, 2);
    assert_eq!(n.failures, 0);
    assert_eq!(n.last_error, None);
    assert_eq!(n.pids, [100]);
    assert_eq!(run.trace.network().count(), 1);
}

#[test]
fn network_failures_keep_the_last_error() {
    let mut run = started("/");
    run.sys(100, EventKind::Connect, connect(inet("10.0.0.1", 80), -111))
        .sys(100, EventKind::Connect, connect(inet("10.0.0.1", 80), -110))
        .sys(100, EventKind::Connect, connect(inet("10.0.0.1", 80), 0));
    let n = run.net("connect", "10.0.0.1:80");
    assert_eq!(n.count, 3);
    assert_eq!(n.failures, 2);
    assert_eq!(
        n.last_error.as_deref(),
        Some("ETIMEDOUT"),
        "a success does not clear it"
    );
}

#[test]
fn network_address_forms() {
    let mut run = started("/");
    run.sys(100, EventKind::Connect, connect(inet("::1", 443), 0))
        .sys(
            100,
            EventKind::Connect,
            connect(
                SockAddr::Unix {
                    path: "/var/run/docker.sock".into(),
                },
                0,
            ),
        )
        .sys(
            100,
            EventKind::Connect,
            connect(
                SockAddr::Unix {
                    path: "@abstract".into(),
                },
                0,
            ),
        )
        .sys(
            100,
            EventKind::Connect,
            connect(SockAddr::Other { number: 16 }, 0),
        );
    run.net("connect", "[::1]:443");
    run.net("connect", "unix:/var/run/docker.sock");
    run.net("connect", "unix:@abstract");
    run.net("connect", "family 16");
    assert_eq!(run.trace.network().count(), 4);
}

#[test]
fn network_operations_by_kind() {
    let mut run = started("/");
    for kind in [
        EventKind::Connect,
        EventKind::Bind,
        EventKind::Accept,
        EventKind::SendTo,
    ] {
        run.sys(100, kind, connect(inet("0.0.0.0", 53), 0));
    }
    // Kinds that carry no peer address are not network activity, even with one.
    for kind in [EventKind::Socket, EventKind::Listen, EventKind::Open] {
        run.sys(100, kind, connect(inet("0.0.0.0", 53), 0));
    }
    let ops: Vec<&str> = run.trace.network().map(|n| n.op.as_str()).collect();
    assert_eq!(ops, ["accept", "bind", "connect", "sendto"]);
    assert!(
        run.trace
            .network()
            .all(|n| n.addr == "0.0.0.0:53" && n.count == 1)
    );
}

#[test]
fn network_without_an_address_is_not_aggregated() {
    let mut run = started("/");
    run.sys(
        100,
        EventKind::Accept,
        SyscallData {
            syscall: "accept4".into(),
            ret: 5,
            fd: Some(4),
            ..SyscallData::default()
        },
    );
    assert_eq!(run.trace.network().count(), 0);
}

#[test]
fn network_pids_are_listed_once() {
    let mut run = started("/");
    run.fork(100, 101)
        .sys(101, EventKind::Connect, connect(inet("1.1.1.1", 443), 0))
        .sys(100, EventKind::Connect, connect(inet("1.1.1.1", 443), 0))
        .sys(101, EventKind::Connect, connect(inet("1.1.1.1", 443), 0));
    assert_eq!(run.net("connect", "1.1.1.1:443").pids, [101, 100]);
}

#[test]
fn pid_lists_are_bounded() {
    let mut run = started("/");
    for pid in 1000..1100 {
        run.sys(pid, EventKind::Open, openat(AT_FDCWD_ARG, "/shared", 0, 3))
            .sys(pid, EventKind::Connect, connect(inet("10.0.0.1", 80), 0));
    }
    let f = run.file("/shared");
    assert_eq!(f.pids.len(), 64);
    assert_eq!(f.ops.get("open"), Some(&100), "all are still counted");
    let n = run.net("connect", "10.0.0.1:80");
    assert_eq!(n.pids.len(), 64);
    assert_eq!(n.count, 100);
}

// ---------------------------------------------------------------------------------------------
// Event bound
// ---------------------------------------------------------------------------------------------

#[test]
fn max_events_bounds_the_kept_events() {
    let mut run = Run::bounded("/", 2);
    // Runtime events are neither kept nor counted as the run's.
    run.sys(9, EventKind::Mount, SyscallData::default());
    run.exec(100, 1, "/app/start", &["start"])
        .fork(100, 101)
        .sys(101, EventKind::Open, openat(AT_FDCWD_ARG, "/a", O_WRONLY, 3))
        .sys(101, EventKind::Connect, connect(inet("10.0.0.1", 80), -111))
        .exit(101, Some(0), None);
    assert_eq!(run.trace.events().len(), 2);
    assert_eq!(run.trace.events_omitted(), 3);
    assert_eq!(run.trace.total_events(), 5);
    assert_eq!(run.trace.runtime_events(), 1);
    // The kept ones are the first ones, in order.
    let kinds: Vec<EventKind> = run.trace.events().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Exec, EventKind::Fork]);
    // Omitted events are still applied and aggregated.
    assert_eq!(run.file("/a").ops.get("open_write"), Some(&1));
    assert_eq!(run.net("connect", "10.0.0.1:80").failures, 1);
    assert_eq!(run.node(101).exit_status, Some(0));
    assert_eq!(run.trace.by_kind().values().sum::<u64>(), 5);
}

#[test]
fn max_events_zero_keeps_nothing() {
    let mut run = Run::bounded("/", 0);
    run.exec(100, 1, "/app/start", &["start"]).fork(100, 101);
    assert!(run.trace.events().is_empty());
    assert_eq!(run.trace.events_omitted(), 2);
    assert_eq!(run.trace.total_events(), 2);
    assert_eq!(run.trace.processes().len(), 2);
}

#[test]
fn kept_events_carry_their_arrival_order() {
    let mut run = started("/");
    run.fork(100, 101).exit(101, Some(0), None);
    let seqs: Vec<u64> = run.trace.events().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
}

// ---------------------------------------------------------------------------------------------
// What the sandbox refused, what completed in the background, what the run left on disk
// ---------------------------------------------------------------------------------------------

fn chown_call(path: &str, ret: i64) -> SyscallData {
    SyscallData {
        syscall: "chown".into(),
        ret,
        error: (ret < 0).then(|| crate::event::errno_name(-ret)),
        path: Some(path.into()),
        ids: vec![999, 999],
        ..SyscallData::default()
    }
}

#[test]
fn refused_privileged_calls_are_counted_by_need() {
    let mut run = started("/");
    // Root in the container, as images start.
    let root = |run: &mut Run, kind: EventKind, data: SyscallData| {
        let mut e = sys(100, kind, data);
        e.uid = 0;
        run.feed(e);
    };
    for _ in 0..12 {
        root(&mut run, EventKind::Chown, chown_call("/var/lib/postgresql", -1));
    }
    root(&mut run, EventKind::Chown, chown_call("/data", 0));
    root(
        &mut run,
        EventKind::SetId,
        SyscallData {
            syscall: "setuid".into(),
            ret: -1,
            ids: vec![999],
            ..SyscallData::default()
        },
    );
    root(
        &mut run,
        EventKind::Mount,
        SyscallData {
            syscall: "mount".into(),
            ret: -13,
            path: Some("/mnt".into()),
            ..SyscallData::default()
        },
    );
    // A refused open is not a privileged action.
    root(&mut run, EventKind::Open, openat(AT_FDCWD, "/etc/shadow", 0, -13));
    // An unprivileged process refused setuid(0) is refused the same in production.
    let mut unprivileged = sys(
        100,
        EventKind::SetId,
        SyscallData {
            syscall: "setresuid".into(),
            ret: -1,
            ids: vec![-1, 0, -1],
            ..SyscallData::default()
        },
    );
    unprivileged.uid = 102;
    run.feed(unprivileged);
    let r = run.trace.refusals();
    assert_eq!(r.needed.get("chown"), Some(&12));
    assert_eq!(r.needed.get("setuid"), Some(&1));
    assert_eq!(r.contained.get("mount"), Some(&1));
    assert_eq!(r.needed.len() + r.contained.len(), 3);
    assert_eq!(crate::report::counts_text(&r.needed), "chown ×12, setuid ×1");
}

#[test]
fn a_non_blocking_connect_in_progress_is_not_a_failure() {
    let mut run = started("/");
    run.sys(100, EventKind::Connect, connect(inet("127.0.0.1", 8080), -115));
    run.sys(100, EventKind::Connect, connect(inet("127.0.0.1", 8081), -111));
    let ok = run.net("connect", "127.0.0.1:8080");
    assert_eq!((ok.count, ok.failures, ok.in_progress), (1, 0, 1));
    let refused = run.net("connect", "127.0.0.1:8081");
    assert_eq!((refused.failures, refused.in_progress), (1, 0));
    assert_eq!(refused.last_error.as_deref(), Some("ECONNREFUSED"));
}

#[test]
fn a_node_is_named_by_its_first_program_and_lists_the_later_ones() {
    let mut run = started("/");
    run.exec(100, 1, "/usr/sbin/gosu", &["gosu", "postgres", "postgres"]);
    run.exec(100, 1, "/usr/lib/postgresql/15/bin/postgres", &["postgres"]);
    let p = run.node(100);
    assert_eq!(p.first_argv(), ["start"]);
    assert_eq!(p.execs.len(), 3);
    // The current program (what rules see) is the last one.
    assert_eq!(p.exe, "/usr/lib/postgresql/15/bin/postgres");
}

fn changes(files: &[(&str, &str, &str)]) -> crate::sandbox::changes::FileChanges {
    let mut files: Vec<crate::sandbox::changes::DroppedFile> = files
        .iter()
        .map(|(path, kind, content)| crate::sandbox::changes::DroppedFile {
            path: (*path).into(),
            change: "added".into(),
            kind: (*kind).into(),
            content: Some((*content).into()),
            size: Some(10),
            mode: Some(0o755),
            sha256: Some("ab".repeat(32)),
            copy_of: None,
            packer: None,
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    crate::sandbox::changes::FileChanges {
        files,
        ..Default::default()
    }
}

#[test]
fn drift_names_programs_and_scripts_that_were_not_in_the_image() {
    use crate::detect::drift;
    let mut run = started("/");
    run.fork(100, 101).exec(101, 100, "/tmp/.agent", &["/tmp/.agent"]);
    run.fork(100, 102)
        .exec(102, 100, "/bin/sh", &["sh", "/tmp/run.sh"]);
    run.fork(100, 103).exec(103, 100, "/bin/ls", &["ls", "/tmp"]);
    let c = changes(&[
        ("/tmp/.agent", "file", "elf"),
        ("/tmp/run.sh", "file", "script"),
        ("/tmp", "dir", "other"),
    ]);
    let d = drift::drift(&run.trace, &c);
    let rules: Vec<(&str, crate::report::Severity)> =
        d.iter().map(|d| (d.rule.as_str(), d.severity)).collect();
    assert_eq!(
        rules,
        [
            (drift::DROPPED_PROGRAM_RUN, crate::report::Severity::High),
            (drift::DROPPED_SCRIPT_RUN, crate::report::Severity::Medium)
        ]
    );
    assert_eq!(d[0].techniques, ["T1105"]);
    assert_eq!(d[0].process.pid, 101);
    assert!(
        d[0].message.contains("/tmp/.agent (elf, not in the image)"),
        "{}",
        d[0].message
    );
    // The exec event is the evidence.
    let exec_seq = run.node(101).execs[0].seq;
    assert_eq!(d[0].evidence, [exec_seq]);
}

#[test]
fn a_program_built_during_the_run_is_context_not_drift() {
    use crate::detect::drift;
    let mut run = started("/src");
    run.fork(100, 101)
        .exec(101, 100, "/usr/bin/ld", &["ld", "-o", "/src/app"]);
    run.sys(101, EventKind::Open, openat(AT_FDCWD, "/src/app", 0o1101, 3));
    run.fork(100, 102).exec(102, 100, "/src/app", &["./app"]);
    let d = drift::drift(&run.trace, &changes(&[("/src/app", "file", "elf")]));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].rule, drift::BUILT_PROGRAM_RUN);
    assert_eq!(d[0].severity, crate::report::Severity::Info);
}
