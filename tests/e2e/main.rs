//! Privileged end-to-end tests: real corpus images in real containers, traced by the real probes.
//! Build the images first with `cargo xtask corpus` (`cargo xtask test` does it).

mod hostile;
mod reports;
mod sinkhole;

use std::time::{Duration, Instant};

use sandtrace::event::{EventData, SockAddr};
use sandtrace_e2e::{assert_nothing_left, options, privileged, run, run_concurrently, syscalls};

#[test]
fn basic_sample_is_seen_from_its_first_exec() {
    if !privileged() {
        return;
    }
    let r = run(&options("basic")).expect("analysis");
    assert_nothing_left(&r.run_id);
    assert_eq!(r.stats.dropped, 0, "nothing may be lost on a quiet sample");
    // Every phase was timed, and the phases fit in the whole.
    let t = &r.stats.timings;
    let phases = t.prepare_ms
        + t.probes_ms
        + t.container_ms
        + t.sample_ms
        + t.changes_ms
        + t.drain_ms
        + t.analysis_ms
        + t.store_ms
        + t.detach_ms;
    assert!(t.probes_ms > 0 && t.sample_ms > 0 && t.store_ms > 0, "{t:?}");
    assert!(phases <= t.total_ms + 8 && phases * 10 >= t.total_ms * 8, "{t:?}");

    // The entrypoint's first exec is the first event of the run.
    let first = r.events.first().expect("events");
    let entry_pid = first.pid;
    match &first.data {
        EventData::Exec { filename, argv, .. } => {
            assert_eq!(filename, "/bin/sh");
            assert_eq!(argv, &["/bin/sh", "/sample.sh"]);
        }
        other => panic!("first event is not the entrypoint's exec: {other:?}"),
    }
    let root = &r.processes[0];
    assert_eq!(
        (root.pid, root.first_seen.as_str(), root.exit_status),
        (entry_pid, "exec", Some(7))
    );
    assert_eq!(r.sandbox.exit_code, 7);
    assert!(!r.sandbox.timed_out);

    // A known file open, by a `cat` child of the entrypoint.
    let opens = syscalls(&r, "open");
    let (ev, _) = opens
        .iter()
        .find(|(_, s)| s.path.as_deref() == Some("/etc/hostname") && s.ret >= 0)
        .expect("open of /etc/hostname");
    assert_eq!(ev.ppid, entry_pid);
    assert_eq!(ev.comm, "cat");
    let cat = r.processes.iter().find(|p| p.pid == ev.pid).expect("cat process");
    assert_eq!(cat.argv[..], ["cat", "/etc/hostname"]);

    // chmod 755 of the dropped file, done.
    let chmods = syscalls(&r, "chmod");
    let (_, c) = chmods
        .iter()
        .find(|(_, s)| s.path.as_deref() == Some("/tmp/dropped.sh"))
        .expect("chmod of the dropped file");
    assert_eq!((c.mode.map(|m| m & 0o7777), c.ret), (Some(0o755), 0));

    // The connect attempt with its address, port and outcome.
    let connects = syscalls(&r, "connect");
    let (cev, c) = connects.first().expect("connect");
    assert_eq!(
        c.addr,
        Some(SockAddr::Inet {
            address: "127.0.0.1".into(),
            port: 4444
        })
    );
    assert_eq!(c.error.as_deref(), Some("ECONNREFUSED"));
    assert_eq!(cev.ppid, entry_pid);

    // A child process executing a program by path.
    let child = r
        .processes
        .iter()
        .find(|p| p.exe == "/bin/busybox" && p.argv[..] == ["/bin/busybox", "sh", "-c", "exit 0"])
        .expect("child exec of /bin/busybox");
    assert_eq!(
        (child.ppid, child.first_seen.as_str(), child.exit_status),
        (entry_pid, "fork", Some(0))
    );

    // Relative paths resolved against the working directory the process changed into.
    assert!(
        r.files
            .iter()
            .any(|f| f.path == "/tmp/work/rel.txt" && f.ops.contains_key("open_write")),
        "files: {:?}",
        r.files
    );
    // runc's own set-up work is counted apart, not reported as the sample's.
    assert!(r.stats.runtime_events > 0);
    assert!(r.events.iter().all(|e| !e.comm.starts_with("runc")));
}

#[test]
fn concurrent_runs_see_only_their_own_events() {
    if !privileged() {
        return;
    }
    let results = run_concurrently(&[options("marker-a"), options("marker-b")]);
    let reports: Vec<_> = results.into_iter().map(|r| r.expect("analysis")).collect();
    let (a, b) = (&reports[0], &reports[1]);
    assert_ne!(a.run_id, b.run_id);
    // Both ran at the same time: their time windows overlap.
    assert!(
        a.started_at <= b.finished_at && b.started_at <= a.finished_at,
        "runs did not overlap"
    );
    for (r, own, other) in [
        (a, "/tmp/marker-a-", "/tmp/marker-b-"),
        (b, "/tmp/marker-b-", "/tmp/marker-a-"),
    ] {
        let paths: Vec<&str> = syscalls(r, "open")
            .iter()
            .filter_map(|(_, s)| s.path.as_deref())
            .collect();
        assert!(
            paths.iter().filter(|p| p.starts_with(own)).count() >= 20,
            "own markers missing: {paths:?}"
        );
        assert!(
            !paths.iter().any(|p| p.starts_with(other)),
            "saw the other run's events"
        );
        assert_nothing_left(&r.run_id);
    }
    let pids_a: std::collections::HashSet<u32> = a.events.iter().map(|e| e.pid).collect();
    assert!(b.events.iter().all(|e| !pids_a.contains(&e.pid)));
}

#[test]
fn a_sample_that_never_exits_is_killed_at_the_timeout() {
    if !privileged() {
        return;
    }
    let mut o = options("sleeper");
    o.sandbox.timeout = Duration::from_secs(3);
    let t = Instant::now();
    let r = run(&o).expect("analysis");
    assert!(t.elapsed() < Duration::from_secs(25), "took {:?}", t.elapsed());
    assert!(r.sandbox.timed_out);
    assert_eq!(r.sandbox.exit_code, 137);
    let sleeper = &r.processes[0];
    assert_eq!(sleeper.argv[..], ["/bin/busybox", "sleep", "1000"]);
    assert_eq!(sleeper.exit_signal, Some(9));
    assert_nothing_left(&r.run_id);
}

#[test]
fn a_fork_bomb_hits_the_pids_limit_and_the_analyzer_survives() {
    if !privileged() {
        return;
    }
    let mut o = options("forkbomb");
    o.sandbox.timeout = Duration::from_secs(6);
    o.sandbox.pids_limit = 64;
    let r = run(&o).expect("analysis");
    assert!(r.sandbox.timed_out);
    assert!(r.stats.processes > 10, "processes: {}", r.stats.processes);
    let forks = r.stats.events_by_kind.get("fork").copied().unwrap_or(0);
    assert!(forks > 10, "forks: {forks}");
    assert_nothing_left(&r.run_id);
}

#[test]
fn a_memory_hog_is_oom_killed() {
    if !privileged() {
        return;
    }
    let mut o = options("memhog");
    o.sandbox.memory_bytes = 64 << 20;
    let r = run(&o).expect("analysis");
    assert!(
        r.sandbox.oom_killed || r.sandbox.exit_code == 137,
        "sandbox: {:?}",
        r.sandbox
    );
    assert!(!r.sandbox.timed_out);
    assert_eq!(r.processes[0].exit_signal, Some(9));
    assert_nothing_left(&r.run_id);
}

#[test]
fn a_flood_beyond_the_ring_buffer_is_counted_as_lost() {
    if !privileged() {
        return;
    }
    let mut o = options("flood");
    // 3M open/close calls take ~16 s untraced on a slow 2-CPU machine: time enough to finish.
    o.sandbox.timeout = std::time::Duration::from_secs(90);
    // Four pages: a few records at a time, so the flood must overflow it.
    o.ring_bytes = 16 << 10;
    o.max_events = 1000;
    let r = run(&o).expect("analysis");
    assert_eq!(r.sandbox.exit_code, 0);
    assert!(
        r.stats.dropped > 0,
        "a 16 KiB buffer cannot hold a flood: {:?}",
        r.stats.capture
    );
    assert_eq!(
        r.stats.dropped,
        r.stats.capture.ringbuf_drops + r.stats.capture.pending_drops + r.stats.capture.undecodable
    );
    assert!(r.stats.events > 1000);
    assert_eq!(r.events.len(), 1000);
    assert_eq!(r.events_omitted, r.stats.events - 1000);
    let text = sandtrace::report::text::render(&r);
    assert!(text.contains("events were lost"), "{text}");
    assert_nothing_left(&r.run_id);
}

#[test]
fn hostile_names_and_huge_argv_are_kept_visible() {
    if !privileged() {
        return;
    }
    let r = run(&options("hostile-names")).expect("analysis");
    assert_eq!(r.sandbox.exit_code, 0);
    let paths: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"/tmp/bad-\\xff\\xfe-name"), "{paths:?}");
    assert!(paths.contains(&"/tmp/esc\\x1bname"), "{paths:?}");
    // The 20,000-byte argument is cut at the capture bound, and says so.
    let echo = r
        .events
        .iter()
        .find_map(|e| match &e.data {
            EventData::Exec {
                argv, argv_truncated, ..
            } if argv.get(1).is_some_and(|a| a == "echo") => Some((argv, *argv_truncated)),
            _ => None,
        })
        .expect("exec of busybox echo");
    assert!(echo.1, "argv must be marked truncated");
    assert!(echo.0[2].len() > 3000 && echo.0[2].chars().all(|c| c == 'A'));
    // A path longer than the buffer is marked truncated.
    assert!(r.events.iter().any(|e| e.truncated), "no event marked truncated");
    assert_nothing_left(&r.run_id);
}

#[test]
fn a_missing_image_is_a_clear_error() {
    if !privileged() {
        return;
    }
    let err = run(&options("does-not-exist")).expect_err("must fail");
    let msg = format!("{err:#}");
    assert!(msg.contains("not present locally"), "{msg}");
}

/// Every corpus image with an `expected.json` (`{"techniques": [...], "benign": bool}`): its expected
/// techniques must all be reported, and a benign image must get nothing at medium or above. The
/// corpus is analysed twice, and each image must trigger the same rules both times.
#[test]
fn corpus_images_show_their_expected_techniques() {
    if !privileged() {
        return;
    }
    let cases = sandtrace_e2e::corpus_cases().expect("corpus");
    assert!(cases.len() >= 5, "corpus cases: {}", cases.len());
    let mut failures = Vec::new();
    // The whole corpus twice: the rules that fire on an image must be the same every time.
    let mut first: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for pass in 0..2 {
        // Two at a time: two cores, and concurrent runs are part of the design.
        for chunk in cases.chunks(2) {
            let opts: Vec<_> = chunk.iter().map(|c| c.options()).collect();
            for (case, result) in chunk.iter().zip(run_concurrently(&opts)) {
                match result {
                    Err(e) => failures.push(format!("{}: analysis failed (pass {pass}): {e:#}", case.name)),
                    Ok(r) => {
                        let fired: std::collections::BTreeSet<String> =
                            r.detections.iter().map(|d| d.rule.clone()).collect();
                        if pass == 0 {
                            failures.extend(case.check(&r));
                            first.insert(case.name.clone(), fired);
                        } else if first.get(&case.name) != Some(&fired) {
                            let before = first.get(&case.name).cloned().unwrap_or_default();
                            failures.push(format!(
                                "{}: not the same detections twice: only first {:?}, only second {:?}",
                                case.name,
                                before.difference(&fired).collect::<Vec<_>>(),
                                fired.difference(&before).collect::<Vec<_>>()
                            ));
                        }
                        assert_nothing_left(&r.run_id);
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The real benign images (those with a `ready` line) in `--sandbox strict`: with every capability
/// dropped and no-new-privileges, images that start as root and drop to a service user cannot
/// start, and the run must say so (incomplete observation), never a bare "clean".
#[test]
fn real_images_in_the_strict_profile_are_marked_incomplete() {
    if !privileged() {
        return;
    }
    let cases: Vec<_> = sandtrace_e2e::corpus_cases()
        .expect("corpus")
        .into_iter()
        .filter(|c| c.strict_incomplete)
        .map(|mut c| {
            c.strict = true;
            c.timeout_s = c.timeout_s.min(15);
            c
        })
        .collect();
    assert!(
        cases.len() >= 4,
        "real images that need privileges to start: {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut incomplete = Vec::new();
    for chunk in cases.chunks(2) {
        let opts: Vec<_> = chunk.iter().map(|c| c.options()).collect();
        for (case, result) in chunk.iter().zip(run_concurrently(&opts)) {
            match result {
                Err(e) => failures.push(format!("{}: analysis failed: {e:#}", case.name)),
                Ok(r) => {
                    assert_eq!(r.sandbox.profile, "strict");
                    if r.observation.complete {
                        failures.push(format!(
                            "{}: strict run not marked incomplete (exit {}, refused {:?})",
                            case.name, r.sandbox.exit_code, r.observation.refused
                        ));
                    } else {
                        incomplete.push(format!("{}: {}", case.name, r.observation.reasons.join("; ")));
                    }
                    assert_nothing_left(&r.run_id);
                }
            }
        }
    }
    eprintln!("strict profile:\n{}", incomplete.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two real runs stored in the real database, then asked about across runs and compared.
#[test]
fn stored_runs_answer_forensics_questions() {
    if !privileged() {
        return;
    }
    use sandtrace::store::{
        Store,
        query::{Question, RunFilter, diff},
    };
    let demo = run(&options("demo")).expect("demo");
    let basic = run(&options("basic")).expect("basic");
    let store = Store::open_read_only(&sandtrace_e2e::test_db()).expect("database");
    let runs = store.runs(&RunFilter::default()).expect("runs");
    for r in [&demo, &basic] {
        let row = runs.iter().find(|x| x.id == r.run_id).expect("run stored");
        assert!(row.complete);
        assert_eq!(
            (row.events, row.verdict.as_str()),
            (r.stats.events as i64, r.verdict.as_str())
        );
    }
    let t = store
        .ask(&Question::Technique("T1059".into()))
        .expect("technique");
    assert!(
        t.iter()
            .any(|h| h.run_id == demo.run_id && !h.evidence.is_empty()),
        "{t:?}"
    );
    assert!(t.iter().all(|h| h.run_id != basic.run_id));
    let ioc = store.ask(&Question::Ioc("127.0.0.1:4444".into())).expect("ioc");
    for r in [&demo, &basic] {
        assert!(
            ioc.iter().any(|h| h.run_id == r.run_id),
            "{} missing from {ioc:?}",
            r.run_id
        );
    }
    let p = store.ask(&Question::Path("/etc/shadow".into())).expect("path");
    assert!(p.iter().any(|h| h.run_id == demo.run_id) && p.iter().all(|h| h.run_id != basic.run_id));
    let x = store
        .ask(&Question::Image("sandtrace-corpus/basic*".into()))
        .expect("image");
    assert!(x.iter().any(|h| h.run_id == basic.run_id));
    let d = diff(
        &store.report(&demo.run_id).expect("demo report"),
        &store.report(&basic.run_id).expect("basic report"),
    );
    let techniques = d
        .sections
        .iter()
        .find(|s| s.0 == "techniques")
        .expect("techniques");
    assert!(
        techniques.1.iter().any(|t| t.starts_with("T1059.004")),
        "{techniques:?}"
    );
    assert!(store.sql("DELETE FROM runs").is_err(), "read-only");
}
