//! The forensics store: every run in one SQLite file (WAL, foreign keys on, versioned migrations).
//!
//! A run row is created before the sample starts (`complete = 0`); events stream in batched
//! transactions while it runs; processes, detections, IOCs and the report are written at the end
//! in one transaction that also sets `complete = 1`. An interrupted run stays visibly incomplete.

pub mod query;
mod schema;

use std::{
    path::{Path, PathBuf},
    sync::mpsc::{Receiver, SyncSender, sync_channel},
    thread::JoinHandle,
};

use rusqlite::{Connection, OpenFlags, params};

use crate::{
    event::{Event, EventData, SockAddr},
    report::Report,
};

/// Every write transaction takes the write lock when it begins (BEGIN IMMEDIATE), waiting for it
/// under the busy timeout: a deferred one that read first and then wrote would fail at once with
/// "database is locked" when another run had written meanwhile.
const WRITE: rusqlite::TransactionBehavior = rusqlite::TransactionBehavior::Immediate;

/// Events per write transaction.
pub const BATCH: usize = 4096;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database {path}: {source}")]
    Sqlite {
        /// Database file.
        path: String,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The database directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// Directory.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer sandtrace.
    #[error("database {path} has schema version {found}; this sandtrace knows up to {known}")]
    TooNew {
        /// Database file.
        path: String,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// A `--sql` statement that is not a plain read, or reads too much.
    #[error("database {path}: {message}")]
    Refused {
        /// Database file.
        path: String,
        /// What was refused and why.
        message: String,
    },
    /// No such run.
    #[error("no run {0}, or more than one run starts with it (see `sandtrace runs`)")]
    NoRun(String),
    /// A stored report could not be read back.
    #[error("run {run}: stored report unreadable: {reason}")]
    Corrupt {
        /// Run id.
        run: String,
        /// Why.
        reason: String,
    },
    /// The writer thread failed.
    #[error("event writer: {0}")]
    Writer(String),
}

/// Where the database lives: `--db`, else `$SANDTRACE_DB`, else the user's data directory.
pub fn default_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("SANDTRACE_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    data.join("sandtrace/sandtrace.db")
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: String,
}

pub(crate) fn sql_err(path: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_string(),
        source,
    }
}

impl Store {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(sql_err(&shown))?;
        schema::prepare(&conn, &shown)?;
        Ok(Store { conn, path: shown })
    }

    /// Opens an existing database read-only: writes are refused by SQLite itself.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err(&shown))?;
        // Questions over millions of events: a 256 MiB page cache (allocated as used) and a map.
        conn.execute_batch(
            "PRAGMA query_only = 1; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -262144; \
             PRAGMA mmap_size = 4294967296;",
        )
        .map_err(sql_err(&shown))?;
        // Whatever the SQL says, a read-only store reads: SELECTs over its tables and plain
        // functions, nothing else (no ATTACH, no writes, no pragmas, no extensions).
        conn.authorizer(Some(|ctx: rusqlite::hooks::AuthContext<'_>| {
            use rusqlite::hooks::{AuthAction, Authorization};
            match ctx.action {
                AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => Authorization::Allow,
                AuthAction::Function { function_name }
                    if !function_name.eq_ignore_ascii_case("load_extension")
                        && !function_name.eq_ignore_ascii_case("fts3_tokenizer") =>
                {
                    Authorization::Allow
                }
                _ => Authorization::Deny,
            }
        }))
        .map_err(sql_err(&shown))?;
        Ok(Store { conn, path: shown })
    }

    /// The connection (for queries).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Path shown in messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Records the start of a run (incomplete until [`Store::finish_run`]).
    pub fn begin_run(
        &self,
        run_id: &str,
        image_ref: &str,
        image_id: &str,
        started_at: &str,
        options_json: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (id, image_ref, image_id, started_at, options, complete) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                params![run_id, image_ref, image_id, started_at, options_json],
            )
            .map(|_| ())
            .map_err(sql_err(&self.path))
    }

    /// Writes everything known at the end of a run and marks it complete, in one transaction.
    pub fn finish_run(&mut self, report: &Report) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = sql_err(&path);
        // Allocated once at its exact size: a large report is not grown by doubling.
        let report_json = crate::report::json_len(report)
            .and_then(|n| {
                let mut buf = Vec::with_capacity(n);
                serde_json::to_writer(&mut buf, report).map(|()| buf)
            })
            .map_err(|e| StoreError::Writer(e.to_string()))
            .and_then(|b| String::from_utf8(b).map_err(|e| StoreError::Writer(e.to_string())))?;
        let tx = self.conn.transaction_with_behavior(WRITE).map_err(&err)?;
        {
            let run = &report.run_id;
            let mut p = tx
                .prepare(
                    "INSERT OR REPLACE INTO processes (run_id, idx, pid, ppid, exe, argv, uid, start_ns, end_ns, exit_status, exit_signal) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(&err)?;
            for (i, n) in report.processes.iter().enumerate() {
                let argv = serde_json::to_string(&n.argv).unwrap_or_default();
                p.execute(params![
                    run,
                    i as i64,
                    n.pid,
                    n.ppid,
                    n.exe,
                    argv,
                    n.uid,
                    n.start_ns as i64,
                    n.end_ns.map(|v| v as i64),
                    n.exit_status,
                    n.exit_signal
                ])
                .map_err(&err)?;
            }
            let mut d = tx
                .prepare("INSERT OR REPLACE INTO detections (run_id, idx, rule, severity, message, pid, exe, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                .map_err(&err)?;
            let mut t = tx.prepare("INSERT OR IGNORE INTO detection_techniques (run_id, det_idx, technique) VALUES (?1, ?2, ?3)").map_err(&err)?;
            for (i, det) in report.detections.iter().enumerate() {
                let sev = format!("{:?}", det.severity).to_lowercase();
                let evidence = serde_json::to_string(&det.evidence).unwrap_or_default();
                d.execute(params![
                    run,
                    i as i64,
                    det.rule,
                    sev,
                    det.message,
                    det.process.pid,
                    det.process.exe,
                    evidence
                ])
                .map_err(&err)?;
                for tech in &det.techniques {
                    t.execute(params![run, i as i64, tech]).map_err(&err)?;
                }
            }
            let mut ioc = tx
                .prepare(
                    "INSERT INTO iocs (run_id, kind, value, first_seq, count) VALUES (?1, ?2, ?3, ?4, 1) \
                     ON CONFLICT (run_id, kind, value) DO UPDATE SET count = count + 1",
                )
                .map_err(&err)?;
            for n in &report.network {
                // DNS questions are listed by the name asked: that is a domain, not an endpoint.
                if n.op == "dns" {
                    ioc.execute(params![run, "domain", n.addr, Option::<i64>::None])
                        .map_err(&err)?;
                    continue;
                }
                ioc.execute(params![run, "endpoint", n.addr, Option::<i64>::None])
                    .map_err(&err)?;
                if let Some((host, _)) = n.addr.rsplit_once(':') {
                    ioc.execute(params![
                        run,
                        "address",
                        host.trim_start_matches('[').trim_end_matches(']'),
                        Option::<i64>::None
                    ])
                    .map_err(&err)?;
                }
            }
            for f in &report.dropped_files.files {
                if let Some(sha) = &f.sha256 {
                    ioc.execute(params![
                        run,
                        "sha256",
                        format!("{sha} {}", f.path),
                        Option::<i64>::None
                    ])
                    .map_err(&err)?;
                }
            }
            for f in report.files.iter().filter(|f| f.ops.keys().any(|k| k != "open")) {
                ioc.execute(params![run, "path", f.path, Option::<i64>::None])
                    .map_err(&err)?;
            }
            let mut edge = tx
                .prepare(
                    "INSERT OR REPLACE INTO edges (run_key, src, dst, kind, first_ns, last_ns, count, failures, first_seq) \
                     SELECT key, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM runs WHERE id = ?1",
                )
                .map_err(&err)?;
            let name = |i: usize| -> String {
                use crate::correlate::graph::NodeKind;
                match report.graph.nodes.get(i) {
                    Some(NodeKind::Process { pid, .. }) => format!("process:{pid}"),
                    Some(NodeKind::File { path }) => format!("file:{path}"),
                    Some(NodeKind::Endpoint { addr }) => format!("endpoint:{addr}"),
                    Some(NodeKind::Domain { name }) => format!("domain:{name}"),
                    None => String::new(),
                }
            };
            for (a, b, d) in &report.graph.edges {
                let kind = serde_json::to_value(d.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                edge.execute(params![
                    run,
                    name(*a),
                    name(*b),
                    kind,
                    d.first_ns as i64,
                    d.last_ns as i64,
                    d.count as i64,
                    d.failures as i64,
                    d.first_seq as i64
                ])
                .map_err(&err)?;
            }
            let sb = &report.sandbox;
            tx.execute(
                "UPDATE runs SET finished_at = ?2, exit_code = ?3, timed_out = ?4, verdict = ?5, score = ?6, events = ?7, lost = ?8, \
                 report = ?9, complete = 1 WHERE id = ?1",
                params![run, report.finished_at, sb.exit_code, sb.timed_out, report.verdict, report.score, report.stats.events as i64, report.stats.dropped as i64, report_json],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }

    /// Removes runs started before `cutoff` (RFC 3339) and/or all but the newest `keep` runs.
    /// Returns the number of runs removed.
    pub fn prune(&mut self, cutoff: Option<&str>, keep: Option<usize>) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let err = sql_err(&path);
        let tx = self.conn.transaction_with_behavior(WRITE).map_err(&err)?;
        let mut doomed: Vec<(String, bool)> = Vec::new();
        {
            let mut collect = |sql: &str, arg: rusqlite::types::Value| -> Result<(), StoreError> {
                let mut st = tx.prepare(sql).map_err(&err)?;
                let rows = st
                    .query_map(params![arg], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
                    })
                    .map_err(&err)?;
                for row in rows {
                    doomed.push(row.map_err(&err)?);
                }
                Ok(())
            };
            if let Some(c) = cutoff {
                collect(
                    "SELECT id, complete FROM runs WHERE started_at < ?1",
                    rusqlite::types::Value::Text(c.to_string()),
                )?;
            }
            if let Some(k) = keep {
                collect(
                    "SELECT id, complete FROM runs WHERE id NOT IN (SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1)",
                    rusqlite::types::Value::Integer(i64::try_from(k).unwrap_or(i64::MAX)),
                )?;
            }
        }
        doomed.sort();
        doomed.dedup();
        let mut removed = 0;
        for (id, complete) in doomed {
            // A run still being written (its analyzer holds the run lock) stays.
            if !complete && crate::sandbox::runlock::is_live(&id) {
                continue;
            }
            removed += tx
                .execute("DELETE FROM runs WHERE id = ?1", params![id])
                .map_err(&err)?;
        }
        tx.commit().map_err(&err)?;
        Ok(removed)
    }
}

/// Typed columns of an event for the `events` table.
fn event_columns(ev: &Event) -> (Option<String>, Option<String>, Option<u16>, Option<i64>) {
    match &ev.data {
        EventData::Exec { filename, .. } => (Some(filename.clone()), None, None, None),
        EventData::Syscall(s) => {
            let (addr, port) = match &s.addr {
                Some(SockAddr::Inet { address, port }) => (Some(address.clone()), Some(*port)),
                Some(SockAddr::Unix { path }) => (Some(format!("unix:{path}")), None),
                _ => (None, None),
            };
            (s.path.clone(), addr, port, Some(s.ret))
        }
        _ => (None, None, None, None),
    }
}

impl crate::model::EventTap for EventWriter {
    fn event(&mut self, ev: &Event) {
        self.push(ev);
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// Streams a run's events into the store from its own thread and connection, one transaction per
/// batch, so the ring-buffer reader never waits on the disk for long.
#[derive(Debug)]
pub struct EventWriter {
    tx: Option<SyncSender<Vec<EventRow>>>,
    batch: Vec<EventRow>,
    thread: Option<JoinHandle<Result<u64, StoreError>>>,
}

impl EventWriter {
    /// Starts the writer for `run_id` on the database at `path`.
    pub fn start(path: &Path, run_id: &str) -> Result<EventWriter, StoreError> {
        let store = Store::open(path)?;
        // The writer keeps the connection's 16 MiB page cache: 64 or 256 MiB measured no faster
        // (BENCHMARKS.md, store) and cost the analyzer's memory.
        // Up to 64 batches (~256k events) in flight; beyond that the reader waits (and the kernel
        // counts drops). The writer runs at idle priority, so the sample keeps its CPU and the
        // writer catches up while the sample waits or after it exits.
        let (tx, rx) = sync_channel::<Vec<EventRow>>(64);
        let run = run_id.to_string();
        let thread = std::thread::Builder::new()
            .name("sandtrace-store".into())
            .spawn(move || {
                idle_priority();
                write_loop(store, &run, &rx)
            })
            .map_err(|e| StoreError::Writer(e.to_string()))?;
        Ok(EventWriter {
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            thread: Some(thread),
        })
    }

    /// Queues one event.
    pub fn push(&mut self, ev: &Event) {
        // Rows are made here, on the caller's thread, so the writer thread only inserts: the two
        // halves run on two cores.
        self.batch.push(EventRow::from(ev));
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        if let Some(tx) = &self.tx
            && tx.send(batch).is_err()
        {
            // The writer died; its error is reported by finish().
            self.tx = None;
        }
    }

    /// Writes what is queued and waits for the writer; returns the number of events stored.
    pub fn finish(mut self) -> Result<u64, StoreError> {
        self.flush();
        self.tx = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(StoreError::Writer("writer thread panicked".into())),
            None => Ok(0),
        }
    }
}

/// Puts the calling thread in SCHED_IDLE (or at nice 19 where that is refused).
fn idle_priority() {
    use nix::libc;
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain system calls on the calling thread (pid 0 / its tid), with a valid parameter.
    unsafe {
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param) != 0 {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
        }
    }
}

/// One `events` row, ready to insert.
#[derive(Debug)]
struct EventRow {
    seq: i64,
    ts_ns: i64,
    kind: String,
    pid: u32,
    comm: String,
    path: Option<String>,
    addr: Option<String>,
    port: Option<u16>,
    ret: Option<i64>,
    data: String,
}

impl From<&Event> for EventRow {
    fn from(ev: &Event) -> EventRow {
        let (path, addr, port, ret) = event_columns(ev);
        EventRow {
            seq: ev.seq as i64,
            ts_ns: ev.ts_ns as i64,
            kind: crate::correlate::kind_name(ev.kind),
            pid: ev.pid,
            comm: ev.comm.clone(),
            path,
            addr,
            port,
            ret,
            data: serde_json::to_string(&ev.data).unwrap_or_default(),
        }
    }
}

fn write_loop(mut store: Store, run: &str, rx: &Receiver<Vec<EventRow>>) -> Result<u64, StoreError> {
    let path = store.path.clone();
    let err = sql_err(&path);
    let key: i64 = store
        .conn
        .query_row("SELECT key FROM runs WHERE id = ?1", params![run], |r| r.get(0))
        .map_err(&err)?;
    let mut path_ids: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    // Per-run summaries (first event, count) for the questions; bounded like the report's.
    let mut touched: std::collections::HashMap<i64, (i64, i64)> = std::collections::HashMap::new();
    let mut endpoints: std::collections::HashMap<(String, i64), (i64, i64)> =
        std::collections::HashMap::new();
    let limit = crate::correlate::MAX_SUMMARY_ENTRIES;
    let mut written = 0u64;
    while let Ok(batch) = rx.recv() {
        let tx = store.conn.transaction_with_behavior(WRITE).map_err(&err)?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (run_key, seq, ts_ns, kind, pid, comm, path_id, addr, port, ret, data) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(&err)?;
            // Paths are stored once: events carry a small integer, and their index stays small.
            let mut add_path = tx
                .prepare_cached("INSERT INTO paths (path) VALUES (?1) ON CONFLICT (path) DO NOTHING")
                .map_err(&err)?;
            let mut get_path = tx
                .prepare_cached("SELECT id FROM paths WHERE path = ?1")
                .map_err(&err)?;
            for r in &batch {
                let path_id: Option<i64> = match &r.path {
                    Some(p) => match path_ids.get(p) {
                        Some(id) => Some(*id),
                        None => {
                            add_path.execute(params![p]).map_err(&err)?;
                            let id: i64 = get_path.query_row(params![p], |row| row.get(0)).map_err(&err)?;
                            if path_ids.len() > 100_000 {
                                path_ids.clear();
                            }
                            path_ids.insert(p.clone(), id);
                            Some(id)
                        }
                    },
                    None => None,
                };
                ins.execute(params![
                    key, r.seq, r.ts_ns, r.kind, r.pid, r.comm, path_id, r.addr, r.port, r.ret, r.data
                ])
                .map_err(&err)?;
                if let Some(id) = path_id
                    && (touched.len() < limit || touched.contains_key(&id))
                {
                    touched.entry(id).or_insert((r.seq, 0)).1 += 1;
                }
                if let Some(a) = &r.addr {
                    let k = (a.clone(), r.port.map_or(-1, i64::from));
                    if endpoints.len() < limit || endpoints.contains_key(&k) {
                        endpoints.entry(k).or_insert((r.seq, 0)).1 += 1;
                    }
                }
            }
        }
        tx.commit().map_err(&err)?;
        written += batch.len() as u64;
    }
    let tx = store.conn.transaction_with_behavior(WRITE).map_err(&err)?;
    {
        let mut p = tx
            .prepare("INSERT OR REPLACE INTO run_paths (run_key, path_id, first_seq, count) VALUES (?1, ?2, ?3, ?4)")
            .map_err(&err)?;
        for (id, (first, n)) in &touched {
            p.execute(params![key, id, first, n]).map_err(&err)?;
        }
        let mut e = tx
            .prepare("INSERT OR REPLACE INTO run_endpoints (run_key, addr, port, first_seq, count) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(&err)?;
        for ((addr, port), (first, n)) in &endpoints {
            e.execute(params![key, addr, port, first, n]).map_err(&err)?;
        }
        tx.execute(
            "UPDATE runs SET events = ?2 WHERE id = ?1",
            params![run, written as i64],
        )
        .map_err(&err)?;
    }
    tx.commit().map_err(&err)?;
    Ok(written)
}

#[cfg(test)]
mod tests;
