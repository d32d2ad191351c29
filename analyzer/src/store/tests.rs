//! Store: migrations, streaming writes, completion, every ready question, read-only SQL, diff, prune.

use std::sync::Arc;

use super::{query::*, *};
use crate::{
    capture::{CaptureStats, EventSink},
    correlate::RunTrace,
    detect::RuleSet,
    event::fixture::FixtureEvent,
    report::RunFacts,
    sandbox::{ContainerOutcome, ImageInfo},
};

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sandtrace-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("runs.db")
}

const RULE: &str = r#"
id: shadow-read
name: shadow read
description: d
severity: high
techniques: [T1003.008]
match: {kind: open, path: [/etc/shadow]}
"#;

/// Stores one run of fixture events through the real writer; returns its report.
fn store_run(db: &Path, run_id: &str, image: &str, started: &str, events: &[&str]) -> Report {
    let rules =
        Arc::new(RuleSet::from_sources([("rules/x/r.yaml".to_string(), RULE.to_string())]).expect("rule"));
    let store = Store::open(db).expect("open");
    store
        .begin_run(run_id, image, "sha256:abc", started, "{}")
        .expect("begin");
    let mut trace = RunTrace::for_fixtures(rules);
    trace.set_writer(EventWriter::start(db, run_id).expect("writer"));
    for (i, e) in events.iter().enumerate() {
        let fe: FixtureEvent = serde_norway::from_str(e).expect("yaml");
        trace.event(fe.to_event(i as u64).expect("event"));
    }
    let written = trace
        .take_writer::<EventWriter>()
        .expect("writer")
        .finish()
        .expect("finish writer");
    assert_eq!(written, events.len() as u64);
    let image = ImageInfo {
        reference: image.into(),
        id: "sha256:abc".into(),
        working_dir: "/".into(),
        config: Default::default(),
    };
    let outcome = ContainerOutcome::default();
    let report = Report::build(
        RunFacts {
            run_id,
            image: &image,
            started_at: started.into(),
            finished_at: started.into(),
            sandbox: &crate::sandbox::SandboxConfig::new("i"),
            layers: None,
            outcome: &outcome,
            capture: CaptureStats::default(),
        },
        &trace,
    );
    let mut store = store;
    store.finish_run(&report).expect("finish run");
    report
}

const SHADOW: &[&str] = &[
    "{kind: exec, pid: 10, filename: /bin/cat, argv: [cat, /etc/shadow]}",
    "{kind: open, pid: 10, path: /etc/shadow}",
    "{kind: connect, pid: 10, fd: 3, addr: '203.0.113.7:443', error: ECONNREFUSED, ret: -111}",
    "{kind: dns_query, pid: 10, name: c2.evil.example, path2: A, addr: '10.213.0.1:53'}",
];
const QUIET: &[&str] = &[
    "{kind: exec, pid: 20, filename: /bin/true, argv: [true]}",
    "{kind: open, pid: 20, path: /etc/hostname}",
];

#[test]
fn migrates_from_empty_and_from_an_older_schema() {
    let db = temp_db("migrate");
    {
        let conn = Connection::open(&db).expect("open");
        schema::migrate(&conn, "t", 1).expect("v1 only");
        conn.execute("INSERT INTO runs (id, image_ref, image_id, started_at, options) VALUES ('old', 'img', 'id', '2020-01-01T00:00:00Z', '{}')", [])
            .expect("an old run");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, 1);
    }
    let store = Store::open(&db).expect("upgrade");
    let v: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, schema::MIGRATIONS.len() as i64);
    assert_eq!(
        store.runs(&RunFilter::default()).expect("runs").len(),
        1,
        "old data kept"
    );
    let fk: i64 = store
        .conn()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("fk");
    let mode: String = store
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("wal");
    assert_eq!((fk, mode.as_str()), (1, "wal"));
    drop(store);
    // A newer file is refused, not damaged.
    Connection::open(&db)
        .expect("open")
        .execute_batch("PRAGMA user_version = 99")
        .expect("bump");
    assert!(matches!(
        Store::open(&db),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn an_unfinished_run_stays_incomplete() {
    let db = temp_db("incomplete");
    let store = Store::open(&db).expect("open");
    store
        .begin_run("r1", "img", "id", "2026-01-01T00:00:00Z", "{}")
        .expect("begin");
    let rows = store.runs(&RunFilter::default()).expect("runs");
    assert_eq!((rows.len(), rows[0].complete), (1, false));
    assert!(matches!(store.report("r1"), Err(StoreError::Corrupt { .. })));
}

#[test]
fn ready_questions_read_only_sql_diff_and_prune() {
    let db = temp_db("questions");
    let a = store_run(&db, "run-a", "registry/app:1.2", "2026-01-01T00:00:00Z", SHADOW);
    let b = store_run(&db, "run-b", "registry/app:1.3", "2026-01-02T00:00:00Z", QUIET);
    let ro = Store::open_read_only(&db).expect("read-only");

    let runs = ro.runs(&RunFilter::default()).expect("runs");
    assert_eq!(
        runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["run-b", "run-a"],
        "newest first"
    );
    assert!(runs.iter().all(|r| r.complete));
    assert_eq!(
        ro.runs(&RunFilter {
            verdict: Some("malicious".into()),
            ..Default::default()
        })
        .expect("f")
        .len(),
        1
    );
    assert_eq!(
        ro.runs(&RunFilter {
            image: Some("*:1.3".into()),
            ..Default::default()
        })
        .expect("f")[0]
            .id,
        "run-b"
    );
    assert_eq!(
        ro.runs(&RunFilter {
            since: Some("2026-01-01T12:00:00Z".into()),
            ..Default::default()
        })
        .expect("f")
        .len(),
        1
    );

    let t = ro.ask(&Question::Technique("T1003".into())).expect("technique");
    assert_eq!((t.len(), t[0].run_id.as_str(), t[0].pid), (1, "run-a", 10));
    assert_eq!(t[0].evidence, vec![1]);
    assert_eq!(
        ro.ask(&Question::Technique("T1003.008".into())).expect("t").len(),
        1
    );
    assert!(
        ro.ask(&Question::Technique("T1059".into()))
            .expect("t")
            .is_empty()
    );
    let ioc = ro.ask(&Question::Ioc("203.0.113.7".into())).expect("ioc");
    assert_eq!((ioc.len(), ioc[0].evidence.as_slice()), (1, &[2][..]));
    assert_eq!(
        ro.ask(&Question::Ioc("203.0.113.7:443".into()))
            .expect("ioc")
            .len(),
        1
    );
    assert!(
        ro.ask(&Question::Ioc("203.0.113.7:80".into()))
            .expect("ioc")
            .is_empty()
    );
    let p = ro.ask(&Question::Path("/etc/sha*".into())).expect("path");
    assert_eq!((p.len(), p[0].run_id.as_str()), (1, "run-a"));
    assert_eq!(ro.ask(&Question::Exe("/bin/*".into())).expect("exe").len(), 2);
    assert_eq!(
        ro.ask(&Question::Image("registry/app:*".into()))
            .expect("image")
            .len(),
        2
    );
    let d = ro
        .ask(&Question::Domain("*.evil.example".into()))
        .expect("domain");
    assert_eq!((d.len(), d[0].run_id.as_str()), (1, "run-a"));
    assert!(d[0].what.contains("c2.evil.example"), "{}", d[0].what);
    assert!(
        ro.ask(&Question::Domain("other.example".into()))
            .expect("domain")
            .is_empty()
    );

    let (cols, rows) = ro
        .sql("SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind")
        .expect("sql");
    assert_eq!(cols, ["kind", "n"]);
    assert!(
        rows.contains(&vec!["open".to_string(), "2".to_string()]),
        "{rows:?}"
    );
    let outside = db.with_file_name("copied.db");
    let vacuum = format!("VACUUM INTO '{}'", outside.display());
    let attach = format!("ATTACH DATABASE '{}' AS x", outside.display());
    for write in [
        "DELETE FROM runs",
        "DROP TABLE events",
        "INSERT INTO runs (id) VALUES ('x')",
        "PRAGMA user_version = 0",
        vacuum.as_str(),
        attach.as_str(),
        "  -- a comment first\n /* and another */ VACUUM",
        "WITH x AS (SELECT 1) DELETE FROM runs",
        "SELECT load_extension('/tmp/evil.so')",
        "SELECT 1; DELETE FROM runs",
    ] {
        let e = ro.sql(write).expect_err("writes refused");
        let text = e.to_string();
        assert!(
            ["readonly", "read-only", "refused", "not authorized", "prohibited"]
                .iter()
                .any(|w| text.contains(w)),
            "{write}: {e}"
        );
    }
    assert!(!outside.exists(), "VACUUM INTO wrote a file");
    assert_eq!(
        ro.sql("-- runs\nWITH r AS (SELECT id FROM runs) SELECT count(*) FROM r")
            .expect("a plain read")
            .1,
        [["2"]]
    );
    let stored = serde_json::to_value(ro.report("run-a").expect("report")).expect("json");
    assert_eq!(
        stored,
        serde_json::to_value(&a).expect("json"),
        "the stored report reads back the same"
    );
    assert_eq!(ro.resolve_run("run-").ok(), None, "ambiguous prefix");

    let d = diff(&a, &b);
    let section = |n: &str| d.sections.iter().find(|s| s.0 == n).expect("section").clone();
    assert_eq!(
        section("techniques").1,
        ["T1003.008 OS Credential Dumping: /etc/passwd and /etc/shadow"]
    );
    assert!(section("techniques").2.is_empty());
    assert_eq!(
        section("endpoints").1,
        ["connect 203.0.113.7:443", "dns c2.evil.example"]
    );
    assert_eq!(section("programs").2, ["true"]);

    drop(ro);
    let mut rw = Store::open(&db).expect("open");
    // A run in progress (incomplete, its analyzer alive: it holds its run lock) is never pruned.
    let live = crate::analyze::new_run_id();
    let lock = crate::sandbox::runlock::RunLock::acquire(&live);
    rw.begin_run(&live, "img", "id", "2025-01-01T00:00:00Z", "{}")
        .expect("begin");
    if lock.is_ok() {
        assert_eq!(rw.prune(Some("2025-06-01T00:00:00Z"), None).expect("prune"), 0);
        assert_eq!(rw.runs(&RunFilter::default()).expect("runs").len(), 3);
        drop(lock);
    }
    // Once its analyzer is gone, it is a leftover like any other.
    assert_eq!(rw.prune(Some("2025-06-01T00:00:00Z"), None).expect("dead run"), 1);
    assert_eq!(rw.prune(None, Some(1)).expect("keep 1"), 1);
    let left = rw.runs(&RunFilter::default()).expect("runs");
    assert_eq!(left.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["run-b"]);
    let events: i64 = rw
        .conn()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .expect("count");
    assert_eq!(events, QUIET.len() as i64, "a pruned run's events go with it");
    assert_eq!(rw.prune(Some("2030-01-01T00:00:00Z"), None).expect("older"), 1);
}

#[test]
fn two_writers_share_one_file() {
    let db = temp_db("concurrent");
    let (d1, d2) = (db.clone(), db.clone());
    let t1 = std::thread::spawn(move || store_run(&d1, "c1", "img", "2026-01-01T00:00:00Z", SHADOW));
    let t2 = std::thread::spawn(move || store_run(&d2, "c2", "img", "2026-01-01T00:00:01Z", QUIET));
    t1.join().expect("t1");
    t2.join().expect("t2");
    let store = Store::open_read_only(&db).expect("ro");
    assert_eq!(store.runs(&RunFilter::default()).expect("runs").len(), 2);
}

#[test]
fn database_location_precedence() {
    assert_eq!(default_path(Some(Path::new("/x/y.db"))), PathBuf::from("/x/y.db"));
}
