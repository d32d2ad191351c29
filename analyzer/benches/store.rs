//! `cargo xtask bench store`: writes synthetic runs through the real writer (events streamed in
//! batched transactions, then the end-of-run transaction) and times every ready question.
//! Default: 1,000 runs of 10,000 events (10M events). `-- RUNS EVENTS_PER_RUN` to change.

use std::{path::PathBuf, sync::Arc, time::Instant};

use sandtrace::{
    capture::{CaptureStats, EventSink},
    correlate::RunTrace,
    detect::RuleSet,
    event::{Event, EventData, SockAddr, SyscallData},
    report::{Report, RunFacts},
    sandbox::{ContainerOutcome, ImageInfo},
    store::{
        EventWriter, Store,
        query::{Question, RunFilter},
    },
};
use sandtrace_common::EventKind;

fn syscall(
    seq: u64,
    pid: u32,
    kind: EventKind,
    name: &str,
    path: Option<String>,
    addr: Option<SockAddr>,
) -> Event {
    Event {
        seq,
        ts_ns: seq * 1000,
        kind,
        pid,
        tid: pid,
        ppid: 1,
        uid: 0,
        gid: 0,
        cgroup_id: 1,
        comm: "worker".into(),
        truncated: false,
        data: EventData::Syscall(Box::new(SyscallData {
            syscall: name.into(),
            ret: if addr.is_some() { -111 } else { 3 },
            error: addr.as_ref().map(|_| "ECONNREFUSED".to_string()),
            path,
            addr,
            fd: Some(-100),
            ..SyscallData::default()
        })),
    }
}

/// A run's events: mostly opens of many paths, some execs and connects; a few runs read
/// /etc/shadow or contact 203.0.113.7 so the questions have answers.
fn run_events(run: usize, n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    let pid = 1000 + run as u32;
    out.push(Event {
        seq: 0,
        ts_ns: 0,
        kind: EventKind::Exec,
        pid,
        tid: pid,
        ppid: 1,
        uid: 0,
        gid: 0,
        cgroup_id: 1,
        comm: "sh".into(),
        truncated: false,
        data: EventData::Exec {
            filename: format!("/usr/bin/tool{}", run % 50),
            argv: vec!["tool".into(), run.to_string()],
            argv_truncated: false,
            env: Vec::new(),
        },
    });
    for i in 1..n as u64 {
        let e = match i % 100 {
            0 => syscall(
                i,
                pid,
                EventKind::Connect,
                "connect",
                None,
                Some(SockAddr::Inet {
                    address: format!("10.{}.{}.{}", run % 250, i % 250, 7),
                    port: 443,
                }),
            ),
            1 if run.is_multiple_of(100) => syscall(
                i,
                pid,
                EventKind::Open,
                "openat",
                Some("/etc/shadow".into()),
                None,
            ),
            2 if run % 100 == 1 => syscall(
                i,
                pid,
                EventKind::Connect,
                "connect",
                None,
                Some(SockAddr::Inet {
                    address: "203.0.113.7".into(),
                    port: 443,
                }),
            ),
            _ => syscall(
                i,
                pid,
                EventKind::Open,
                "openat",
                Some(format!("/usr/lib/app/{}/file{}.so", run % 97, i % 1000)),
                None,
            ),
        };
        out.push(e);
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let per_run: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-store");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db = dir.join("runs.db");
    let rules = Arc::new(RuleSet::bundled().expect("rules"));
    let image = ImageInfo {
        reference: "bench/image:1".into(),
        id: "sha256:bench".into(),
        working_dir: "/".into(),
        config: Default::default(),
    };
    let outcome = ContainerOutcome::default();

    let mut store = Store::open(&db).expect("open");
    let mut insert_s = 0.0;
    let total = Instant::now();
    for run in 0..runs {
        let events = run_events(run, per_run);
        let id = format!("bench-{run:05}");
        let started = format!("2026-01-01T00:{:02}:{:02}Z", (run / 60) % 60, run % 60);
        store
            .begin_run(
                &id,
                &format!("bench/image:{}", run % 20),
                "sha256:bench",
                &started,
                "{}",
            )
            .expect("begin");
        let mut trace = RunTrace::with_rules("/", 100, Arc::clone(&rules));
        trace.set_writer(EventWriter::start(&db, &id).expect("writer"));
        let t = Instant::now();
        for e in events {
            trace.event(e);
        }
        if let Some(w) = trace.take_writer::<EventWriter>() {
            w.finish().expect("write");
        }
        insert_s += t.elapsed().as_secs_f64();
        let report = Report::build(
            RunFacts {
                run_id: &id,
                image: &image,
                started_at: started.clone(),
                finished_at: started,
                sandbox: &sandtrace::sandbox::SandboxConfig::new("i"),
                layers: None,
                outcome: &outcome,
                capture: CaptureStats::default(),
            },
            &trace,
        );
        store.finish_run(&report).expect("finish");
    }
    let wall = total.elapsed().as_secs_f64();
    let n = (runs * per_run) as f64;
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.join("runs.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "Synthetic runs: {runs} runs x {per_run} events = {} events, through RunTrace (correlation and the shipped rules) and the store writer; one SQLite file, {:.1} GB.\n",
        runs * per_run,
        size as f64 / 1e9
    );
    println!("| figure | value |\n|---|---|");
    println!("| events stored | {} |", runs * per_run);
    println!(
        "| insert rate (events/s, correlation + detection + write) | {:.0} |",
        n / insert_s
    );
    println!("| whole load incl. end-of-run transactions | {wall:.1} s |\n");

    drop(store);
    let ro = Store::open_read_only(&db).expect("read-only");
    type TimedQuestion<'a> = (&'a str, Box<dyn Fn() -> usize + 'a>);
    let questions: Vec<TimedQuestion<'_>> = vec![
        (
            "runs (newest 50)",
            Box::new(|| {
                ro.runs(&RunFilter {
                    limit: Some(50),
                    ..Default::default()
                })
                .expect("runs")
                .len()
            }),
        ),
        (
            "query --technique T1003",
            Box::new(|| ro.ask(&Question::Technique("T1003".into())).expect("q").len()),
        ),
        (
            "query --ioc 203.0.113.7",
            Box::new(|| ro.ask(&Question::Ioc("203.0.113.7".into())).expect("q").len()),
        ),
        (
            "query --path /etc/shadow",
            Box::new(|| ro.ask(&Question::Path("/etc/shadow".into())).expect("q").len()),
        ),
        (
            "query --exe /usr/bin/tool7",
            Box::new(|| ro.ask(&Question::Exe("/usr/bin/tool7".into())).expect("q").len()),
        ),
        (
            "query --image bench/image:3",
            Box::new(|| ro.ask(&Question::Image("bench/image:3".into())).expect("q").len()),
        ),
        (
            "query --domain example.com",
            Box::new(|| ro.ask(&Question::Domain("example.com".into())).expect("q").len()),
        ),
        (
            "show RUN (report read back)",
            Box::new(|| usize::from(ro.report("bench-00500").is_ok())),
        ),
    ];
    println!("| ready question | rows | latency (median of 5) |\n|---|---|---|");
    for (name, q) in &questions {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..5 {
            let t = Instant::now();
            rows = q();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("| {name} | {rows} | {:.1} ms |", median(times));
    }
}
