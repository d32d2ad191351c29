//! Engine semantics: indexing, sequences with captures and scope, windows, exceptions, priors,
//! de-duplication, and load errors with file, line and field.

use std::sync::Arc;

use super::*;
use crate::{capture::EventSink, correlate::RunTrace, event::fixture::FixtureEvent};

fn rules(yaml: &[&str]) -> Arc<RuleSet> {
    Arc::new(
        RuleSet::from_sources(
            yaml.iter()
                .enumerate()
                .map(|(i, y)| (format!("rules/test/r{i}.yaml"), (*y).to_string())),
        )
        .expect("rules compile"),
    )
}

fn run(rules: &Arc<RuleSet>, events: &[&str]) -> Vec<Detection> {
    let mut t = RunTrace::for_fixtures(Arc::clone(rules));
    for (i, e) in events.iter().enumerate() {
        let fe: FixtureEvent = serde_norway::from_str(e).expect("event yaml");
        t.event(fe.to_event(i as u64).expect("event"));
    }
    t.detections().to_vec()
}

const DROP_EXEC: &str = r#"
id: drop-exec
name: dropped and executed
description: d
severity: high
techniques: [T1105]
sequence:
  within: 10s
  steps:
    - {kind: open, path: ["/tmp/*"], flags_any: [O_WRONLY, O_CREAT], capture: path}
    - {kind: chmod, mode_any: EXEC_BITS, same: path}
    - {kind: exec, same: path}
"#;

#[test]
fn sequences_need_order_same_values_lineage_and_window() {
    let r = rules(&[DROP_EXEC]);
    let hit = run(
        &r,
        &[
            "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
            "{kind: open, pid: 10, path: /tmp/x, flags: 65}",
            "{kind: chmod, pid: 10, path: /tmp/x, mode: 493}",
            "{kind: fork, pid: 10, child: 11}",
            "{kind: exec, pid: 11, filename: /tmp/x, argv: [/tmp/x]}",
        ],
    );
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].evidence, vec![1, 2, 4]);
    assert_eq!(hit[0].techniques, ["T1105"]);
    // Another path executed: no match.
    assert!(
        run(
            &r,
            &[
                "{kind: open, pid: 10, path: /tmp/x, flags: 65}",
                "{kind: chmod, pid: 10, path: /tmp/x, mode: 493}",
                "{kind: exec, pid: 10, filename: /tmp/y}"
            ]
        )
        .is_empty()
    );
    // Out of order: no match.
    assert!(
        run(
            &r,
            &[
                "{kind: chmod, pid: 10, path: /tmp/x, mode: 493}",
                "{kind: open, pid: 10, path: /tmp/x, flags: 65}",
                "{kind: exec, pid: 10, filename: /tmp/x}"
            ]
        )
        .is_empty()
    );
    // An unrelated process (not a descendant): no match.
    assert!(
        run(
            &r,
            &[
                "{kind: open, pid: 10, path: /tmp/x, flags: 65}",
                "{kind: chmod, pid: 10, path: /tmp/x, mode: 493}",
                "{kind: exec, pid: 99, ppid: 1, filename: /tmp/x}"
            ]
        )
        .is_empty()
    );
    // Outside the window: no match.
    assert!(
        run(
            &r,
            &[
                "{kind: open, pid: 10, path: /tmp/x, flags: 65, t: 0}",
                "{kind: chmod, pid: 10, path: /tmp/x, mode: 493, t: 1}",
                "{kind: exec, pid: 10, filename: /tmp/x, t: 20000}"
            ]
        )
        .is_empty()
    );
}

#[test]
fn exceptions_priors_and_dedup() {
    let base = r#"
id: shadow-read
name: shadow read
description: d
severity: high
techniques: [T1003.008]
match: {kind: open, path: [/etc/shadow]}
exceptions:
  - program: [passwd]
"#;
    let chained = r#"
id: after-shadow
name: network after shadow read
description: d
severity: critical
techniques: [T1041]
match: {kind: connect, prior: [shadow-read]}
"#;
    let r = rules(&[base, chained]);
    let d = run(
        &r,
        &[
            "{kind: exec, pid: 10, filename: /bin/cat, argv: [cat, /etc/shadow]}",
            "{kind: open, pid: 10, path: /etc/shadow}",
            "{kind: open, pid: 10, path: /etc/shadow}",
            "{kind: fork, pid: 10, child: 11}",
            "{kind: connect, pid: 11, addr: '127.0.0.1:4444'}",
        ],
    );
    let ids: Vec<&str> = d.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(ids, ["shadow-read", "after-shadow"]);
    assert_eq!(
        d[0].evidence,
        vec![1, 2],
        "same rule, process and message: one detection, more evidence"
    );
    let excepted = run(
        &r,
        &[
            "{kind: exec, pid: 10, filename: /usr/bin/passwd, argv: [passwd]}",
            "{kind: open, pid: 10, path: /etc/shadow}",
        ],
    );
    assert!(excepted.is_empty());
    assert!(
        run(&r, &["{kind: connect, pid: 12, addr: '127.0.0.1:4444'}"]).is_empty(),
        "no prior: no chained match"
    );
}

#[test]
fn rules_are_indexed_by_kind() {
    let r = rules(&[DROP_EXEC]);
    assert!(r.singles.is_empty());
    let kinds: Vec<_> = r.steps.keys().copied().collect();
    assert_eq!(kinds.len(), 3);
    assert!(!r.steps.contains_key(&EventKind::Connect));
}

#[test]
fn load_errors_name_file_line_and_field() {
    let bad_field = "id: x\nname: n\ndescription: d\nseverity: low\ntechniques: [T1082]\nmatch:\n  kind: exec\n  patth: /x\n";
    let e = RuleSet::from_sources([("rules/d/x.yaml".to_string(), bad_field.to_string())])
        .expect_err("unknown field");
    let msg = e.to_string();
    assert!(msg.starts_with("rules/d/x.yaml:"), "{msg}");
    assert!(msg.contains("patth"), "{msg}");

    let bad_tech =
        "id: x\nname: n\ndescription: d\nseverity: low\ntechniques: [T9999]\nmatch: {kind: exec}\n";
    let e = RuleSet::from_sources([("rules/d/x.yaml".to_string(), bad_tech.to_string())])
        .expect_err("unknown technique");
    assert_eq!(e.to_string().split(':').nth(1), Some("5"), "{e}");
    assert!(e.to_string().contains("T9999"));

    let bad_kind =
        "id: x\nname: n\ndescription: d\nseverity: low\ntechniques: [T1082]\nmatch: {kind: teleport}\n";
    assert!(
        RuleSet::from_sources([("a.yaml".into(), bad_kind.into())])
            .expect_err("kind")
            .to_string()
            .contains("unknown event kind teleport")
    );

    let one = "id: x\nname: n\ndescription: d\nseverity: low\ntechniques: [T1082]\nmatch: {kind: exec}\n";
    let dup = RuleSet::from_sources([("a.yaml".into(), one.into()), ("b.yaml".into(), one.into())])
        .expect_err("duplicate");
    assert!(dup.to_string().contains("duplicate rule id x"));
}

#[test]
fn every_shipped_rule_loads_and_passes_its_fixtures() {
    let set = Arc::new(RuleSet::bundled().expect("shipped rules load"));
    assert!(!set.rules().is_empty());
    let results = crate::correlate::fixtures::run_all(&set);
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn the_kill_chain_orders_by_tactic_then_time_with_lineage() {
    let exfil =
        "id: late\nname: n\ndescription: d\nseverity: low\ntechniques: [T1041]\nmatch: {kind: connect}\n";
    let exec = "id: early\nname: n\ndescription: d\nseverity: low\ntechniques: [T1059.004]\nmatch: {kind: exec, program: [sh]}\n";
    let r = rules(&[exfil, exec]);
    let mut t = RunTrace::for_fixtures(Arc::clone(&r));
    for (i, e) in [
        "{kind: exec, pid: 9, filename: /bin/init, argv: [init]}",
        "{kind: fork, pid: 9, child: 10}",
        "{kind: connect, pid: 10, addr: '127.0.0.1:1'}",
        "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh]}",
    ]
    .iter()
    .enumerate()
    {
        let fe: FixtureEvent = serde_norway::from_str(e).expect("yaml");
        t.event(fe.to_event(i as u64).expect("event"));
    }
    let report = report_of(&t);
    let order: Vec<(&str, &str)> = report
        .kill_chain
        .iter()
        .map(|k| (k.tactic.as_str(), k.rule.as_str()))
        .collect();
    assert_eq!(
        order,
        [("execution", "early"), ("exfiltration", "late")],
        "tactic order beats time order"
    );
    assert_eq!(report.kill_chain[0].lineage, [10, 9]);
    assert!(
        !report.kill_chain[1].nodes.is_empty(),
        "evidence nodes in the graph"
    );
}

#[test]
fn one_event_never_completes_two_steps() {
    let beacon = "id: beacon\nname: n\ndescription: d\nseverity: low\ntechniques: [T1071.001]\nsequence:\n  within: 60s\n  steps:\n    - {kind: connect, capture: addr}\n    - {kind: connect, same: addr}\n";
    let r = rules(&[beacon]);
    assert!(run(&r, &["{kind: connect, pid: 10, addr: '127.0.0.1:80'}"]).is_empty());
    assert_eq!(
        run(
            &r,
            &[
                "{kind: connect, pid: 10, addr: '127.0.0.1:80'}",
                "{kind: connect, pid: 10, addr: '127.0.0.1:80'}"
            ]
        )
        .len(),
        1
    );
}

#[test]
fn message_placeholders_are_filled_in_one_pass() {
    let values = [
        ("argv", "sh -c {path} {payload}"),
        ("path", "/etc/shadow"),
        ("payload", "x"),
    ];
    assert_eq!(
        super::fill("ran {argv} on {path}", &values),
        "ran sh -c {path} {payload} on /etc/shadow"
    );
    assert_eq!(super::fill("{unknown} {path", &values), "{unknown} {path");
    assert_eq!(super::fill("{{path}}", &values), "{/etc/shadow}");
}

#[test]
fn a_detection_flood_cannot_hide_a_critical_action() {
    let r = rules(&[
        r#"
id: noisy-unlink
name: n
description: d
severity: low
techniques: [T1070.004]
match: {kind: unlink, path: ["/tmp/.a*"]}
message: "removed {path}"
"#,
        r#"
id: the-real-thing
name: n
description: d
severity: critical
techniques: [T1611]
match: {kind: mount}
"#,
    ]);
    let mut t = RunTrace::for_fixtures(Arc::clone(&r));
    let mut seq = 0;
    let mut feed = |t: &mut RunTrace, e: String| {
        let fe: FixtureEvent = serde_norway::from_str(&e).expect("event yaml");
        t.event(fe.to_event(seq).expect("event"));
        seq += 1;
    };
    for i in 0..(MAX_DETECTIONS + 500) {
        feed(
            &mut t,
            format!("{{kind: unlink, pid: 10, path: /tmp/.a{i}, ret: -2, error: ENOENT}}"),
        );
    }
    feed(
        &mut t,
        "{kind: mount, pid: 10, path: /mnt, path2: /dev/sda1}".to_string(),
    );
    assert_eq!(t.detections().len(), MAX_DETECTIONS);
    assert_eq!(t.detections_omitted(), 501);
    let over = t.detection_overflow();
    let rules_over: Vec<&str> = over.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(rules_over, ["noisy-unlink", "the-real-thing", DETECTION_FLOOD]);
    assert!(over[0].message.contains("+499 more"), "{}", over[0].message);
    // The report's verdict and gate see the critical action and the flood finding.
    let report = report_of(&t);
    assert_eq!(report.gate_severity(), Some(Severity::Critical));
    assert_eq!(report.verdict, "malicious");
    assert!(report.detections.iter().any(|d| d.rule == DETECTION_FLOOD));
}

/// Neutral run facts for a fixture trace, handed to `f`.
fn with_facts<R>(f: impl FnOnce(crate::report::RunFacts<'_>) -> R) -> R {
    let image = crate::sandbox::ImageInfo {
        reference: "i".into(),
        id: "x".into(),
        working_dir: "/".into(),
        config: Default::default(),
    };
    let outcome = crate::sandbox::ContainerOutcome::default();
    let sandbox = crate::sandbox::SandboxConfig::new("i");
    f(crate::report::RunFacts {
        run_id: "r",
        image: &image,
        started_at: String::new(),
        finished_at: String::new(),
        sandbox: &sandbox,
        layers: None,
        outcome: &outcome,
        capture: crate::capture::CaptureStats::default(),
    })
}

/// The report of a fixture trace, with neutral run facts.
fn report_of(t: &RunTrace) -> crate::report::Report {
    with_facts(|facts| crate::report::Report::build(facts, t))
}

const SELF_DELETE: &str = r#"
id: self-delete
name: n
description: d
severity: high
techniques: [T1070.004]
sequence:
  within: 10m
  steps:
    - {kind: exec, path: ["/tmp/*"], capture: path}
    - {kind: unlink, same: path}
message: "executed file deleted itself: {path}"
"#;

fn feeder(r: &Arc<RuleSet>) -> (RunTrace, impl FnMut(&mut RunTrace, String)) {
    let t = RunTrace::for_fixtures(Arc::clone(r));
    let mut seq = 0;
    let feed = move |t: &mut RunTrace, e: String| {
        let fe: FixtureEvent = serde_norway::from_str(&e).expect("event yaml");
        t.event(fe.to_event(seq).expect("event"));
        seq += 1;
    };
    (t, feed)
}

/// `n` children of `parent` that each run a program from /tmp and exit (decoys for a sequence rule).
fn decoys(t: &mut RunTrace, feed: &mut impl FnMut(&mut RunTrace, String), parent: u32, n: u32) {
    for i in 0..n {
        let c = 1000 + i;
        feed(t, format!("{{kind: fork, pid: {parent}, child: {c}}}"));
        feed(
            t,
            format!("{{kind: exec, pid: {c}, filename: /tmp/y{i}, argv: [/tmp/y{i}]}}"),
        );
        feed(t, format!("{{kind: exit, pid: {c}, status: 0}}"));
    }
}

#[test]
fn short_lived_processes_cannot_evict_a_pending_sequence() {
    // exec /tmp/.x, then many unrelated fork+exec+exit, then unlink /tmp/.x: the sequence fires,
    // because partials of processes gone for good are dropped for free.
    let r = rules(&[SELF_DELETE]);
    let (mut t, mut feed) = feeder(&r);
    feed(
        &mut t,
        "{kind: exec, pid: 100, filename: /tmp/.x, argv: [/tmp/.x]}".into(),
    );
    decoys(&mut t, &mut feed, 100, MAX_PARTIALS as u32 + 500);
    feed(&mut t, "{kind: unlink, pid: 100, path: /tmp/.x}".into());
    let fired: Vec<&str> = t.detections().iter().map(|d| d.message.as_str()).collect();
    assert_eq!(fired, ["executed file deleted itself: /tmp/.x"]);
    assert!(t.sequence_evictions().is_empty(), "{:?}", t.sequence_evictions());
    assert!(report_of(&t).observation.complete);
}

#[test]
fn a_descendant_keeps_a_lineage_sequence_alive() {
    // The anchor exits, its child lives on and completes the sequence after a flood of others.
    let r = rules(&[SELF_DELETE]);
    let (mut t, mut feed) = feeder(&r);
    feed(
        &mut t,
        "{kind: exec, pid: 100, filename: /tmp/.x, argv: [/tmp/.x]}".into(),
    );
    feed(&mut t, "{kind: fork, pid: 100, child: 101}".into());
    feed(&mut t, "{kind: exit, pid: 100, status: 0}".into());
    decoys(&mut t, &mut feed, 101, MAX_PARTIALS as u32 + 10);
    feed(&mut t, "{kind: unlink, pid: 101, comm: rm, path: /tmp/.x}".into());
    assert_eq!(t.detections().len(), 1);
    assert!(t.sequence_evictions().is_empty());
}

#[test]
fn an_evicted_sequence_resumes_when_its_next_step_happens() {
    // One process starts more sequences than its share: its oldest is moved to the compact
    // spill, and resumed when its next step comes. Nothing is lost, the run stays complete.
    let r = rules(&[SELF_DELETE]);
    let (mut t, mut feed) = feeder(&r);
    for i in 0..(MAX_PARTIALS_PER_PROCESS + 3) {
        feed(
            &mut t,
            format!("{{kind: exec, pid: 100, filename: /tmp/s{i}, argv: [/tmp/s{i}]}}"),
        );
    }
    feed(&mut t, "{kind: unlink, pid: 100, path: /tmp/s0}".into());
    let fired: Vec<&str> = t.detections().iter().map(|d| d.message.as_str()).collect();
    assert_eq!(fired, ["executed file deleted itself: /tmp/s0"]);
    assert_eq!(t.detections()[0].evidence.len(), 2);
    assert_eq!(t.sequence_spills(), (3, 1));
    assert!(t.sequence_evictions().is_empty());
    assert!(report_of(&t).observation.complete);
    // Not resumed out of scope: another process deleting s1 is not s1 deleting itself.
    feed(&mut t, "{kind: unlink, pid: 999, path: /tmp/s1}".into());
    assert_eq!(t.detections().len(), 1);
}

#[test]
fn evictions_beyond_the_spill_are_counted_and_make_the_run_incomplete() {
    // Many live processes, each holding its share: beyond the spill bound the oldest are
    // forgotten, counted per rule, and the run says it may have missed a match.
    let r = rules(&[SELF_DELETE]);
    let (mut t, mut feed) = feeder(&r);
    let total = MAX_PARTIALS + MAX_SPILLED + 7;
    for i in 0..total {
        let c = 1000 + (i / MAX_PARTIALS_PER_PROCESS) as u32;
        if i % MAX_PARTIALS_PER_PROCESS == 0 {
            feed(&mut t, format!("{{kind: fork, pid: 1, child: {c}}}"));
        }
        feed(
            &mut t,
            format!("{{kind: exec, pid: {c}, filename: /tmp/y{i}, argv: [/tmp/y{i}]}}"),
        );
    }
    assert_eq!(t.sequence_evictions().get("self-delete"), Some(&7));
    let report = report_of(&t);
    assert!(!report.observation.complete);
    assert!(
        report
            .observation
            .reasons
            .iter()
            .any(|r| r.contains("7 partial sequences were evicted") && r.contains("self-delete ×7")),
        "{:?}",
        report.observation.reasons
    );
    assert_eq!(report.stats.sequence_evictions.get("self-delete"), Some(&7));
}

#[test]
fn a_process_storm_is_listed_in_short_beyond_the_bound() {
    let r = rules(&[SELF_DELETE]);
    let (mut t, mut feed) = feeder(&r);
    feed(
        &mut t,
        "{kind: exec, pid: 1, filename: /bin/sh, argv: [sh, -c, storm]}".into(),
    );
    let n = crate::report::FULL_PROCESSES as u32 + 100;
    for i in 0..n {
        let c = 1000 + i;
        feed(&mut t, format!("{{kind: fork, pid: 1, child: {c}}}"));
        feed(
            &mut t,
            format!("{{kind: exec, pid: {c}, filename: /bin/true, argv: [/bin/true, a{i}, b]}}"),
        );
        feed(&mut t, format!("{{kind: exit, pid: {c}, status: 0}}"));
    }
    // The last child is the one a detection names: it stays whole, with its parent.
    let last = 1000 + n;
    feed(&mut t, format!("{{kind: fork, pid: 1, child: {last}}}"));
    feed(
        &mut t,
        format!("{{kind: exec, pid: {last}, filename: /tmp/.x, argv: [/tmp/.x, run]}}"),
    );
    feed(&mut t, format!("{{kind: unlink, pid: {last}, path: /tmp/.x}}"));
    let report = report_of(&t);
    assert_eq!(report.processes.len(), n as usize + 2);
    assert_eq!(report.stats.processes_abridged, 101);
    let short = &report.processes[crate::report::FULL_PROCESSES + 50];
    assert_eq!(short.argv[..], ["/bin/true"]);
    assert!(short.execs.is_empty() && short.execs_omitted == 1);
    let named = report.processes.last().expect("last");
    assert_eq!(named.argv[..], ["/tmp/.x", "run"]);
    assert_eq!(named.execs.len(), 1);
    assert_eq!(report.processes[0].argv[..], ["sh", "-c", "storm"]);
    assert!(crate::report::text::render(&report).contains("101 listed in short"));
    // Taking the lists out of the trace makes the same report as copying them.
    let owned = with_facts(|facts| crate::report::Report::build_owned(facts, t));
    assert_eq!(owned, report);
}

const SCAN: &str = r#"
id: scan
name: many ports
description: d
severity: medium
techniques: [T1046]
match:
  kind: connect
count: {at_least: 3, distinct: port, within: 1s}
message: "scan by {comm} ({count})"
"#;

#[test]
fn thresholds_count_distinct_values_in_a_window_and_fire_once() {
    let r = rules(&[SCAN]);
    let ev = |pid: u32, port: u16, t: u64| {
        format!("{{kind: connect, pid: {pid}, comm: s, fd: 3, addr: \"127.0.0.1:{port}\", t: {t}}}")
    };
    // Two distinct ports, a repeat, then a third distinct one: fires on the fourth event, once.
    let evs = [
        ev(10, 1, 0),
        ev(10, 2, 100),
        ev(10, 2, 200),
        ev(10, 3, 300),
        ev(10, 4, 400),
        ev(10, 5, 500),
    ];
    let hit = run(&r, &evs.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(hit.len(), 1, "{hit:?}");
    assert_eq!(hit[0].evidence, vec![0, 1, 3]);
    assert!(hit[0].message.starts_with("scan by s (3)"), "{}", hit[0].message);
    assert!(
        hit[0].message.contains("3 distinct ports within 1s"),
        "{}",
        hit[0].message
    );
    // The window slides: three ports over two seconds never are three within one.
    let evs = [ev(10, 1, 0), ev(10, 2, 900), ev(10, 3, 1800)];
    assert!(run(&r, &evs.iter().map(String::as_str).collect::<Vec<_>>()).is_empty());
    // Counted per process by default.
    let evs = [ev(10, 1, 0), ev(11, 2, 10), ev(12, 3, 20)];
    assert!(run(&r, &evs.iter().map(String::as_str).collect::<Vec<_>>()).is_empty());
}

#[test]
fn a_threshold_needs_a_single_match_and_a_sane_count() {
    let bad = |count: &str| {
        let y = SCAN.replace("count: {at_least: 3, distinct: port, within: 1s}", count);
        RuleSet::from_sources([("rules/t/x.yaml".to_string(), y)])
            .expect_err("must fail")
            .to_string()
    };
    assert!(bad("count: {at_least: 1, within: 1s}").contains("count.at_least"));
    assert!(bad("count: {at_least: 3, within: 1s, distinct: colour}").contains("count.distinct"));
    assert!(bad("count: {at_least: 3, within: 1s, scope: host}").contains("count.scope"));
}

const SOCKET_DUP: &str = r#"
id: sockdup
name: socket onto stdio
description: d
severity: high
techniques: [T1059.004]
match: {kind: dup, fd2: [0, 1], socket: ["inet*/*"]}
"#;

#[test]
fn socket_facts_follow_accept_dup_fork_reuse_and_exit() {
    let r = rules(&[SOCKET_DUP]);
    let hits = |evs: &[&str]| run(&r, evs).len();
    // A socket duplicated onto stdout.
    assert_eq!(
        hits(&[
            "{kind: socket, pid: 10, socket: inet/stream, ret: 3}",
            "{kind: dup, pid: 10, fd: 3, fd2: 1, ret: 1}"
        ]),
        1
    );
    // Accepted connections are sockets of the listener's kind; dup copies follow.
    assert_eq!(
        hits(&[
            "{kind: socket, pid: 10, socket: inet6/stream, ret: 3}",
            "{kind: accept, pid: 10, fd: 3, ret: 4}",
            "{kind: dup, pid: 10, syscall: dup, fd: 4, ret: 7}",
            "{kind: dup, pid: 10, fd: 7, fd2: 0, ret: 0}",
        ]),
        1
    );
    // Inherited by a forked child.
    assert_eq!(
        hits(&[
            "{kind: socket, pid: 10, socket: inet/stream, ret: 3}",
            "{kind: fork, pid: 10, child: 11}",
            "{kind: dup, pid: 11, fd: 3, fd2: 0, ret: 0}"
        ]),
        1
    );
    // The number reused by an open, a unix socket, a failed socket call, another process.
    for evs in [
        &[
            "{kind: socket, pid: 10, socket: inet/stream, ret: 3}",
            "{kind: open, pid: 10, path: /tmp/f, flags: 577, ret: 3}",
            "{kind: dup, pid: 10, fd: 3, fd2: 1, ret: 1}",
        ][..],
        &[
            "{kind: socket, pid: 10, socket: unix/stream, ret: 3}",
            "{kind: dup, pid: 10, fd: 3, fd2: 1, ret: 1}",
        ],
        &[
            "{kind: socket, pid: 10, socket: inet/stream, error: EMFILE}",
            "{kind: dup, pid: 10, fd: 3, fd2: 1, ret: 1}",
        ],
        &[
            "{kind: socket, pid: 10, socket: inet/stream, ret: 3}",
            "{kind: dup, pid: 12, fd: 3, fd2: 1, ret: 1}",
        ],
        &[
            "{kind: socket, pid: 10, socket: inet/stream, ret: 3}",
            "{kind: exit, pid: 10}",
            "{kind: dup, pid: 10, fd: 3, fd2: 1, ret: 1}",
        ],
    ] {
        assert_eq!(hits(evs), 0, "{evs:?}");
    }
}

const SIBLINGS: &str = r#"
id: siblings
name: chmod then exec by two children of one shell
description: d
severity: high
techniques: [T1105]
sequence:
  within: 10s
  scope: parent
  steps:
    - {kind: chmod, path: ["/tmp/*"], capture: path}
    - {kind: exec, same: path}
"#;

#[test]
fn parent_scope_joins_siblings_and_falls_back_to_the_process() {
    let r = rules(&[SIBLINGS]);
    // The shell (10) forks chmod (11) and then the dropped program (12): siblings.
    let sib = [
        "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh, /x.sh]}",
        "{kind: fork, pid: 10, child: 11}",
        "{kind: chmod, pid: 11, path: /tmp/a, mode: 493}",
        "{kind: fork, pid: 10, child: 12}",
        "{kind: exec, pid: 12, filename: /tmp/a, argv: [/tmp/a]}",
    ];
    assert_eq!(run(&r, &sib).len(), 1);
    // A process of another shell does not complete it.
    let other = [
        "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh, /x.sh]}",
        "{kind: fork, pid: 10, child: 11}",
        "{kind: chmod, pid: 11, path: /tmp/a, mode: 493}",
        "{kind: exec, pid: 20, filename: /tmp/a, argv: [/tmp/a]}",
    ];
    assert!(run(&r, &other).is_empty());
    // The first process of the run has no parent in the run: anchored at itself.
    let first = [
        "{kind: chmod, pid: 10, path: /tmp/a, mode: 493}",
        "{kind: fork, pid: 10, child: 11}",
        "{kind: exec, pid: 11, filename: /tmp/a, argv: [/tmp/a]}",
    ];
    assert_eq!(run(&r, &first).len(), 1);
}

#[test]
fn shared_lists_expand_in_conditions_only_and_must_exist() {
    let lists = "lists:\n  shells: [sh, bash]\n  tools: [\"@shells\", curl]\n";
    let rule = "id: x\nname: n\ndescription: mail me @shells\nseverity: low\ntechniques: [T1082]\nmatch:\n  kind: exec\n  program: [\"@tools\"]\ntests:\n  - name: t\n    expect: match\n    events:\n      - {kind: exec, filename: /usr/bin/curl, argv: [curl, -d, \"@data\"]}\n";
    let set = RuleSet::from_sources([
        ("rules/d/x.yaml".to_string(), rule.to_string()),
        ("rules/lists.yaml".to_string(), lists.to_string()),
    ])
    .expect("lists load");
    let r = &set.rules()[0];
    assert_eq!(r.description.trim(), "mail me @shells");
    let Body::Single(c) = &r.body else { panic!() };
    assert_eq!(c.program_globs, ["sh", "bash", "curl"]);
    // Fixtures keep their values: an argv "@data" is not a list.
    assert_eq!(
        r.tests[0].events[0].argv.as_ref().map(|a| a[2].as_str()),
        Some("@data")
    );
    let hit = run(
        &Arc::new(set),
        &["{kind: exec, filename: /bin/bash, argv: [bash]}"],
    );
    assert_eq!(hit.len(), 1);
    // An unknown list is an error that names it; a list naming itself too.
    let bad = rule.replace("@tools", "@tols");
    let e = RuleSet::from_sources([
        ("rules/d/x.yaml".to_string(), bad),
        ("rules/lists.yaml".to_string(), lists.to_string()),
    ])
    .expect_err("unknown list")
    .to_string();
    assert!(e.contains("unknown list @tols"), "{e}");
    let looped = RuleSet::from_sources([(
        "rules/lists.yaml".to_string(),
        "lists:\n  a: [\"@a\"]\n".to_string(),
    )])
    .expect_err("loop")
    .to_string();
    assert!(looped.contains("nested too deep"), "{looped}");
}

#[test]
fn negations_exclude_arguments_and_flag_bits() {
    let r = rules(&[
        "id: n\nname: n\ndescription: d\nseverity: low\ntechniques: [T1046]\nmatch:\n  kind: exec\n  program: [nc]\n  not_arg: [-l, -z]\n",
        "id: o\nname: o\ndescription: d\nseverity: low\ntechniques: [T1005]\nmatch:\n  kind: open\n  path: [\"/data/*\"]\n  flags_none: [O_WRONLY, O_RDWR, O_CREAT]\n",
    ]);
    let ids = |evs: &[&str]| run(&r, evs).iter().map(|d| d.rule.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&["{kind: exec, filename: /bin/nc, argv: [nc, 192.0.2.1, \"80\"]}"]),
        ["n"]
    );
    assert!(ids(&["{kind: exec, filename: /bin/nc, argv: [nc, -l, \"80\"]}"]).is_empty());
    assert_eq!(ids(&["{kind: open, path: /data/a, flags: 0}"]), ["o"]);
    assert!(ids(&["{kind: open, path: /data/a, flags: 577}"]).is_empty());
}

const ANY_ORDER: &str = r#"
id: pair
name: a shell and nc from one parent, in any order
description: d
severity: high
techniques: [T1059.004]
sequence:
  within: 5s
  scope: parent
  order: any
  steps:
    - {kind: exec, program: [sh], arg: [-i]}
    - {kind: exec, program: [nc]}
"#;

#[test]
fn any_order_sequences_take_their_steps_in_either_order_once_each() {
    let r = rules(&[ANY_ORDER]);
    let sh = |pid: u32, t: u64| {
        format!("{{kind: exec, pid: {pid}, ppid: 10, filename: /bin/sh, argv: [sh, -i], t: {t}}}")
    };
    let nc = |pid: u32, t: u64| {
        format!(
            "{{kind: exec, pid: {pid}, ppid: 10, filename: /bin/nc, argv: [nc, 192.0.2.1, \"80\"], t: {t}}}"
        )
    };
    let fork = |c: u32| format!("{{kind: fork, pid: 10, child: {c}}}");
    let go = |evs: Vec<String>| run(&r, &evs.iter().map(String::as_str).collect::<Vec<_>>()).len();
    let root = "{kind: exec, pid: 10, filename: /bin/sh, argv: [sh, /x.sh]}".to_string();
    assert_eq!(
        go(vec![root.clone(), fork(11), sh(11, 10), fork(12), nc(12, 20)]),
        1
    );
    assert_eq!(
        go(vec![root.clone(), fork(12), nc(12, 10), fork(11), sh(11, 20)]),
        1
    );
    // The same step twice is not both steps; outside the window is not a sequence.
    assert_eq!(
        go(vec![root.clone(), fork(11), sh(11, 10), fork(12), sh(12, 20)]),
        0
    );
    assert_eq!(go(vec![root, fork(11), sh(11, 10), fork(12), nc(12, 9000)]), 0);
    // Captures cannot be unordered.
    let bad = ANY_ORDER.replace("arg: [-i]}", "arg: [-i], capture: path}");
    let e = RuleSet::from_sources([("rules/t/x.yaml".to_string(), bad)])
        .expect_err("capture")
        .to_string();
    assert!(e.contains("order: any"), "{e}");
}
