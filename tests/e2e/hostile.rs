//! Images built to beat the analyzer, run for real: each must end with the right verdict or
//! outcome, say what it could not observe, and leave nothing behind.

use std::time::Duration;

use sandtrace::report::Severity;
use sandtrace_e2e::{assert_nothing_left, options, privileged, run};

#[test]
fn a_detection_flood_cannot_hide_an_escape_attempt() {
    if !privileged() {
        return;
    }
    let mut o = options("h-detection-flood");
    o.sandbox.timeout = Duration::from_secs(60);
    let r = run(&o).expect("analysis");
    assert_nothing_left(&r.run_id);
    assert_eq!(r.sandbox.exit_code, 0);
    assert!(r.stats.detections_omitted > 0, "{:?}", r.stats);
    // The escape attempt came after the bound, and still decides the verdict and the gate.
    assert!(
        r.detections
            .iter()
            .any(|d| d.rule == "escape-host-interface-access"),
        "{:?}",
        r.detections
            .iter()
            .map(|d| &d.rule)
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert!(
        r.detections
            .iter()
            .any(|d| d.rule == sandtrace::detect::DETECTION_FLOOD)
    );
    assert!(
        r.gate_severity() >= Some(Severity::High),
        "{:?}",
        r.gate_severity()
    );
    assert_eq!(r.verdict, "malicious");
    assert!(r.techniques.iter().any(|t| t.id == "T1611"));
    // The mount Docker's seccomp profile refused before any entry tracepoint: seen on exit.
    let mounts: Vec<_> = sandtrace_e2e::syscalls(&r, "mount");
    assert!(
        mounts
            .iter()
            .any(|(_, s)| s.before_entry && s.error.as_deref() == Some("EPERM")),
        "{mounts:?}"
    );
    assert!(
        r.detections
            .iter()
            .any(|d| d.rule == "escape-mount-attempt" && d.message.contains("seccomp"))
    );
    assert_eq!(r.observation.refused.contained.get("mount"), Some(&1));
}

#[test]
fn a_pending_sequence_survives_thousands_of_decoys() {
    if !privileged() {
        return;
    }
    let mut o = options("h-sequence-evict");
    o.sandbox.timeout = Duration::from_secs(90);
    let r = run(&o).expect("analysis");
    assert_nothing_left(&r.run_id);
    assert!(r.sandbox.stdout.contains("ran 4200"), "{}", r.sandbox.stdout);
    assert_eq!(r.stats.dropped, 0, "{:?}", r.stats.capture);
    let d = r
        .detections
        .iter()
        .find(|d| d.rule == "cleanup-self-deleting-executable")
        .unwrap_or_else(|| {
            panic!(
                "self-deletion not seen: {:?}",
                r.detections
                    .iter()
                    .map(|d| (&d.rule, &d.message))
                    .collect::<Vec<_>>()
            )
        });
    assert!(d.message.contains("/tmp/.x"), "{}", d.message);
    // Over 4,096 first steps: room was made from processes gone for good, nothing was evicted.
    assert!(
        r.stats.sequence_evictions.is_empty(),
        "{:?}",
        r.stats.sequence_evictions
    );
    assert!(r.observation.complete, "{:?}", r.observation.reasons);
}

#[test]
fn a_disk_filler_is_killed_at_the_disk_limit() {
    if !privileged() {
        return;
    }
    let mut o = options("h-disk-fill");
    o.sandbox.timeout = Duration::from_secs(60);
    o.sandbox.disk_limit = 128 << 20;
    let r = run(&o).expect("analysis");
    assert_nothing_left(&r.run_id);
    let used = r.sandbox.disk_limited.expect("killed by the disk watchdog");
    assert!(used.bytes > 128 << 20, "{used:?}");
    // Killed well before it wrote its 4 GiB.
    assert!(used.bytes < 2 << 30, "{used:?}");
    assert!(
        !r.sandbox.stdout.contains("wrote 64 chunks"),
        "{}",
        r.sandbox.stdout
    );
    assert!(!r.observation.complete);
    assert!(
        r.observation.reasons.iter().any(|x| x.contains("disk limit")),
        "{:?}",
        r.observation.reasons
    );
    assert!(sandtrace::report::text::render(&r).contains("killed at the disk limit"));
}

#[test]
fn a_process_storm_is_followed_to_the_end() {
    if !privileged() {
        return;
    }
    let mut o = options("h-process-storm");
    o.sandbox.timeout = Duration::from_secs(120);
    o.sandbox.cmd = Some(vec!["5000".into()]);
    let r = run(&o).expect("analysis");
    assert_nothing_left(&r.run_id);
    assert!(r.sandbox.stdout.contains("storm 5000"), "{}", r.sandbox.stdout);
    assert_eq!(r.stats.dropped, 0, "{:?}", r.stats.capture);
    // Every child is in the tree with its own long command line (shared, not copied, in memory);
    // beyond the first 5,000 processes the report lists them in short, and says how many.
    let full = sandtrace::report::FULL_PROCESSES;
    let children: Vec<(usize, &sandtrace::correlate::ProcessNode)> = r
        .processes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.exe == "/storm" && p.first_seen == "fork")
        .collect();
    assert_eq!(children.len(), 5000);
    for (i, p) in &children {
        if *i < full {
            assert!(
                p.argv.len() == 18 && p.argv[1] == "child" && p.execs.len() == 1,
                "{p:?}"
            );
        } else {
            assert!(
                p.argv[..] == ["/storm"] && p.execs.is_empty() && p.execs_omitted == 1,
                "{p:?}"
            );
        }
    }
    assert_eq!(r.stats.processes_abridged as usize, r.processes.len() - full);
    assert!(r.observation.complete, "{:?}", r.observation.reasons);
    // 5,000 processes in a few seconds is a process flood (T1499.001), and nothing else.
    let rules: Vec<&str> = r.detections.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(rules, ["process-creation-flood"], "{:?}", r.detections);
    assert_eq!(r.verdict, "suspicious", "{:?}", r.detections);
}
