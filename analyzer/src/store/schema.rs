//! Schema and migrations (`PRAGMA user_version` is the number of migrations applied).

use rusqlite::Connection;

use super::{StoreError, sql_err};

/// Migrations in order; never edit one that has shipped, add a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs, events, processes, detections.
    "CREATE TABLE runs (
        key INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        image_ref TEXT NOT NULL,
        image_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        options TEXT NOT NULL,
        exit_code INTEGER,
        timed_out INTEGER,
        verdict TEXT,
        score INTEGER,
        events INTEGER NOT NULL DEFAULT 0,
        lost INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        report TEXT
    );
    CREATE INDEX runs_started ON runs (started_at);
    CREATE INDEX runs_image ON runs (image_ref);
    CREATE TABLE paths (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE
    );
    CREATE TABLE events (
        run_key INTEGER NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        ts_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        pid INTEGER NOT NULL,
        comm TEXT,
        path_id INTEGER REFERENCES paths (id),
        addr TEXT,
        port INTEGER,
        ret INTEGER,
        data TEXT NOT NULL,
        PRIMARY KEY (run_key, seq)
    ) WITHOUT ROWID;
    -- Events are only appended (no secondary index: insertion stays fast at tens of millions of
    -- rows); the questions use the per-run summaries below, which point back at the first event.
    CREATE TABLE run_paths (
        run_key INTEGER NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
        path_id INTEGER NOT NULL REFERENCES paths (id),
        first_seq INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (path_id, run_key)
    ) WITHOUT ROWID;
    CREATE INDEX run_paths_run ON run_paths (run_key);
    CREATE TABLE run_endpoints (
        run_key INTEGER NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
        addr TEXT NOT NULL,
        port INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (addr, port, run_key)
    ) WITHOUT ROWID;
    CREATE INDEX run_endpoints_run ON run_endpoints (run_key);
    CREATE TABLE processes (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        ppid INTEGER NOT NULL,
        exe TEXT NOT NULL,
        argv TEXT NOT NULL,
        uid INTEGER NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER,
        exit_status INTEGER,
        exit_signal INTEGER,
        PRIMARY KEY (run_id, idx)
    ) WITHOUT ROWID;
    CREATE INDEX processes_exe ON processes (exe);
    CREATE TABLE detections (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        pid INTEGER NOT NULL,
        exe TEXT NOT NULL,
        evidence TEXT NOT NULL,
        PRIMARY KEY (run_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE detection_techniques (
        run_id TEXT NOT NULL,
        det_idx INTEGER NOT NULL,
        technique TEXT NOT NULL,
        PRIMARY KEY (run_id, det_idx, technique),
        FOREIGN KEY (run_id, det_idx) REFERENCES detections (run_id, idx) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX detection_techniques_technique ON detection_techniques (technique);",
    // 2: indicators of compromise.
    "CREATE TABLE iocs (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        first_seq INTEGER,
        count INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (run_id, kind, value)
    ) WITHOUT ROWID;
    CREATE INDEX iocs_value ON iocs (value);",
    // 3: the run graph's edges.
    "CREATE TABLE edges (
        run_key INTEGER NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        kind TEXT NOT NULL,
        first_ns INTEGER NOT NULL,
        last_ns INTEGER NOT NULL,
        count INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        PRIMARY KEY (run_key, src, dst, kind)
    ) WITHOUT ROWID;",
];

/// Sets the connection up (WAL, foreign keys, busy timeout) and applies missing migrations.
pub(crate) fn prepare(conn: &Connection, path: &str) -> Result<(), StoreError> {
    let err = sql_err(path);
    // Concurrent runs share one file: a writer waits up to 60 s for another one's transaction. The
    // timeout is set first: switching to WAL takes a lock too, and would fail at once without it.
    // The analyzer writes through this connection: a 16 MiB page cache and a 256 MiB map keep its
    // memory bounded however large the run (read-only forensics connections get more).
    conn.execute_batch(
        "PRAGMA busy_timeout = 60000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456;",
    )
    .map_err(&err)?;
    migrate(conn, path, MIGRATIONS.len())
}

/// Applies migrations up to `target` (all of them in production; fewer in tests of upgrades).
pub(crate) fn migrate(conn: &Connection, path: &str, target: usize) -> Result<(), StoreError> {
    let err = sql_err(path);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(&err)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
        .skip(usize::try_from(version).unwrap_or(0))
    {
        // Each migration and its version bump commit together, and the version is read again
        // under the write lock: two analyzers opening a fresh file at once apply it once.
        conn.execute_batch("BEGIN IMMEDIATE;").map_err(&err)?;
        let applied = (|| {
            let now: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now > i as i64 {
                return Ok(());
            }
            conn.execute_batch(&format!("{sql}; PRAGMA user_version = {};", i + 1))
        })();
        match applied {
            Ok(()) => conn.execute_batch("COMMIT;").map_err(&err)?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK;");
                return Err(err(e));
            }
        }
    }
    Ok(())
}
