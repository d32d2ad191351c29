//! Process tree rebuild, path resolution, aggregation and bounds.

use super::*;
use crate::event::fixture::FixtureEvent;

fn ev(seq: u64, yaml: &str) -> Event {
    let fe: FixtureEvent = serde_norway::from_str(yaml).expect("fixture yaml");
    fe.to_event(seq).expect("fixture event")
}

fn feed(trace: &mut RunTrace, events: &[&str]) {
    for (i, e) in events.iter().enumerate() {
        trace.event(ev(i as u64, e));
    }
}

#[test]
fn runtime_prelude_is_counted_apart() {
    let mut t = RunTrace::new("/", 100);
    feed(
        &mut t,
        &[
            "{kind: open, pid: 5, comm: 'runc:[2:INIT]', path: /proc/self/fd}",
            "{kind: fork, pid: 5, child: 6}",
            "{kind: exec, pid: 5, filename: /bin/sh, argv: [/bin/sh, /x.sh]}",
            "{kind: open, pid: 5, path: /etc/hostname}",
        ],
    );
    assert_eq!(t.runtime_events(), 2);
    assert_eq!(t.total_events(), 2);
    assert_eq!(t.processes().len(), 1);
    assert_eq!(t.processes()[0].first_seen, "exec");
}

#[test]
fn exec_chains_forks_exits_and_pid_reuse() {
    let mut t = RunTrace::new("/", 100);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 10, ppid: 1, filename: /bin/sh, argv: [sh, a.sh]}",
            "{kind: fork, pid: 10, child: 11}",
            "{kind: open, pid: 11, path: /etc/passwd}",
            "{kind: exec, pid: 11, filename: /bin/busybox, argv: [busybox, id]}",
            "{kind: exec, pid: 11, filename: /usr/bin/python3, argv: [python3, -c, x]}",
            "{kind: exit, pid: 11, status: 3}",
            "{kind: fork, pid: 10, child: 11}",
            "{kind: exit, pid: 11}",
        ],
    );
    let p = t.processes();
    assert_eq!(p.len(), 3, "{p:?}");
    assert_eq!(
        (
            p[1].pid,
            p[1].ppid,
            p[1].execs.len(),
            p[1].exe.as_str(),
            p[1].exit_status
        ),
        (11, 10, 2, "/usr/bin/python3", Some(3))
    );
    assert_eq!(p[1].argv[..], ["python3", "-c", "x"]);
    // The reused pid is a new node, inheriting the parent's program until it execs.
    assert_eq!(
        (p[2].pid, p[2].exe.as_str(), p[2].first_seen.as_str()),
        (11, "/bin/sh", "fork")
    );
    assert!(p[2].end_ns.is_some());
}

#[test]
fn threads_make_no_process_and_mid_life_processes_appear() {
    let mut t = RunTrace::new("/", 100);
    t.event(ev(0, "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}"));
    let mut thread = ev(1, "{kind: fork, pid: 10, child: 12}");
    if let EventData::Fork { thread: th, .. } = &mut thread.data {
        *th = true;
    }
    t.event(thread);
    t.event(ev(2, "{kind: open, pid: 77, ppid: 10, path: /tmp/x}"));
    let p = t.processes();
    assert_eq!(p.len(), 2);
    assert_eq!((p[1].pid, p[1].first_seen.as_str()), (77, "event"));
}

#[test]
fn relative_paths_follow_the_working_directory() {
    let mut t = RunTrace::new("/app", 100);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
            "{kind: open, pid: 10, path: etc/passwd, fd: -100}",
            "{kind: chdir, pid: 10, path: /tmp/./work/../w2}",
            "{kind: fork, pid: 10, child: 11}",
            "{kind: open, pid: 11, path: ../x, fd: -100}",
            "{kind: open, pid: 11, path: rel, fd: 3}",
        ],
    );
    let paths: Vec<&str> = t.files().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"/app/etc/passwd"), "{paths:?}");
    assert!(paths.contains(&"/tmp/x"), "{paths:?}");
    assert!(
        paths.contains(&"rel"),
        "a dirfd-relative path stays relative: {paths:?}"
    );
    assert_eq!(normalize("/a/./b/../c//d"), "/a/c/d");
    assert_eq!(normalize("/../.."), "/");
}

#[test]
fn files_and_network_are_aggregated() {
    let mut t = RunTrace::new("/", 100);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
            "{kind: open, pid: 10, path: /tmp/a, flags: 65}",
            "{kind: open, pid: 10, path: /tmp/a}",
            "{kind: open, pid: 10, path: /tmp/a, error: ENOENT, ret: -2}",
            "{kind: connect, pid: 10, fd: 3, addr: '10.0.0.1:80', error: ENETUNREACH, ret: -101}",
            "{kind: connect, pid: 10, fd: 3, addr: '10.0.0.1:80'}",
        ],
    );
    let f = t.files().find(|f| f.path == "/tmp/a").expect("file");
    assert_eq!(
        (f.ops.get("open_write"), f.ops.get("open"), f.failures),
        (Some(&1), Some(&2), 1)
    );
    let n = t.network().next().expect("network");
    assert_eq!(
        (
            n.op.as_str(),
            n.addr.as_str(),
            n.count,
            n.failures,
            n.last_error.as_deref()
        ),
        ("connect", "10.0.0.1:80", 2, 1, Some("ENETUNREACH"))
    );
}

#[test]
fn events_beyond_the_bound_are_counted_not_kept() {
    let mut t = RunTrace::new("/", 2);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
            "{kind: open, pid: 10, path: /a}",
            "{kind: open, pid: 10, path: /b}",
            "{kind: open, pid: 10, path: /c}",
            "{kind: open, pid: 10, path: /d}",
        ],
    );
    assert_eq!(
        (t.events().len(), t.events_omitted(), t.total_events()),
        (2, 3, 5)
    );
    assert_eq!(t.files().count(), 4, "omitted events are still aggregated");
}

#[test]
fn relative_chdir_from_an_unknown_directory_stays_unknown() {
    let mut t = RunTrace::new("/w", 100);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
            "{kind: chdir, pid: 10, syscall: fchdir, fd: 3}",
            "{kind: chdir, pid: 10, path: sub}",
            "{kind: open, pid: 10, path: x, fd: -100}",
        ],
    );
    let paths: Vec<&str> = t.files().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["x"]);
}

#[test]
fn symlink_targets_stay_as_written_and_links_follow_their_dirfd() {
    let mut t = RunTrace::new("/w", 100);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
            "{kind: symlink, pid: 10, path: target, path2: link, fd: -100}",
            "{kind: symlink, pid: 10, path: /dev/null, path2: other, fd: 5}",
        ],
    );
    let sys: Vec<(Option<&str>, Option<&str>)> = t
        .events()
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Syscall(s) => Some((s.path.as_deref(), s.path2.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(
        sys,
        [
            (Some("target"), Some("/w/link")),
            (Some("/dev/null"), Some("other"))
        ]
    );
    let files: Vec<&str> = t.files().map(|f| f.path.as_str()).collect();
    assert_eq!(files, ["/w/link", "other"]);
}

#[test]
fn the_graph_aggregates_repeated_relations_into_one_edge() {
    let mut t = RunTrace::new("/", 10);
    t.event(ev(0, "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}"));
    for i in 0..100 {
        t.event(ev(1 + i, "{kind: open, pid: 10, path: /etc/hostname}"));
    }
    feed(
        &mut t,
        &[
            "{kind: fork, pid: 10, child: 11}",
            "{kind: rename, pid: 11, path: /tmp/a, path2: /tmp/b}",
            "{kind: connect, pid: 11, fd: 3, addr: '127.0.0.1:80', error: ECONNREFUSED, ret: -111}",
        ],
    );
    let g = t.graph().export();
    let read: Vec<_> = g
        .edges
        .iter()
        .filter(|(_, _, d)| d.kind == graph::EdgeKind::Read)
        .collect();
    assert_eq!(read.len(), 1, "100 reads of one file are one edge");
    assert_eq!((read[0].2.count, read[0].2.first_seq), (100, 1));
    assert!(read[0].2.last_ns > read[0].2.first_ns);
    let kinds: Vec<graph::EdgeKind> = g.edges.iter().map(|e| e.2.kind).collect();
    for k in [
        graph::EdgeKind::Executed,
        graph::EdgeKind::Forked,
        graph::EdgeKind::Renamed,
        graph::EdgeKind::Connected,
    ] {
        assert!(kinds.contains(&k), "{k:?} in {kinds:?}");
    }
    let renamed = g
        .edges
        .iter()
        .find(|e| e.2.kind == graph::EdgeKind::Renamed)
        .expect("rename edge");
    assert_eq!(
        g.nodes[renamed.1],
        graph::NodeKind::File {
            path: "/tmp/b".into()
        }
    );
    let connect = g
        .edges
        .iter()
        .find(|e| e.2.kind == graph::EdgeKind::Connected)
        .expect("connect edge");
    assert_eq!(connect.2.failures, 1);
    let dot = g.to_dot(&|i| format!("p{i}"), &[connect.1]);
    assert!(
        dot.starts_with("digraph run {") && dot.contains("label=\"read x100\"") && dot.contains("color=red"),
        "{dot}"
    );
}

#[test]
fn relative_exec_paths_are_resolved() {
    let mut t = RunTrace::new("/", 10);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
            "{kind: chdir, pid: 10, path: /opt}",
            "{kind: exec, pid: 10, filename: ./updater, argv: [./updater]}",
        ],
    );
    assert_eq!(t.processes()[0].exe, "/opt/updater");
}

#[test]
fn runc_reexecuting_itself_is_still_the_runtime() {
    let mut t = RunTrace::new("/", 10);
    feed(
        &mut t,
        &[
            "{kind: exec, pid: 5, filename: /dev/fd/6, argv: [runc, init]}",
            "{kind: mount, pid: 5, path: /proc, name: proc}",
            "{kind: exec, pid: 5, filename: /bin/sh, argv: [sh, /x.sh]}",
        ],
    );
    assert_eq!((t.runtime_events(), t.total_events()), (2, 1));
    assert_eq!(t.processes()[0].exe, "/bin/sh");
}

#[test]
fn command_lines_are_shared_and_exec_records_bounded() {
    let mut t = RunTrace::new("/", 100);
    let mut events = vec!["{kind: exec, pid: 5, filename: /bin/sh, argv: [sh, /storm.sh]}".to_string()];
    for c in 10..13 {
        events.push(format!("{{kind: fork, pid: 5, child: {c}}}"));
        events.push(format!(
            "{{kind: exec, pid: {c}, filename: /storm, argv: [/storm, child, aaaa]}}"
        ));
    }
    // One process executing in a loop: its exec records stop at the bound, the rest are counted.
    for i in 0..(MAX_EXECS + 6) {
        events.push(format!("{{kind: exec, pid: 12, filename: /x{i}, argv: [/x{i}]}}"));
    }
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    feed(&mut t, &refs);
    let p = t.processes();
    // The same command line run by three processes is one allocation, shared with their records.
    assert!(Arc::ptr_eq(&p[1].argv, &p[2].argv));
    assert!(Arc::ptr_eq(&p[1].argv, &p[1].execs[0].argv));
    // A forked child shares its parent's, not a copy.
    assert_eq!(p[1].first_seen, "fork");
    let last = &p[3];
    assert_eq!(last.execs.len(), MAX_EXECS);
    assert_eq!(last.execs_omitted, 7);
    assert_eq!(last.exe, format!("/x{}", MAX_EXECS + 5));
}
