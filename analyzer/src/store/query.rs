//! Forensics questions across stored runs.

use std::collections::BTreeSet;

use rusqlite::{params, types::Value};
use serde::Serialize;

use super::{Store, StoreError, sql_err};
use crate::report::Report;

/// One stored run, as listed by `sandtrace runs`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RunRow {
    /// Run id.
    pub id: String,
    /// Image reference.
    pub image: String,
    /// Start time.
    pub started_at: String,
    /// Verdict (empty while incomplete).
    pub verdict: String,
    /// Score.
    pub score: i64,
    /// Events stored.
    pub events: i64,
    /// Events lost.
    pub lost: i64,
    /// Finished and fully written.
    pub complete: bool,
}

/// Filters of `sandtrace runs`.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    /// Image reference glob.
    pub image: Option<String>,
    /// Verdict.
    pub verdict: Option<String>,
    /// Started at or after (RFC 3339).
    pub since: Option<String>,
    /// Most rows.
    pub limit: Option<usize>,
}

/// One answer of a ready question: which run, when, which process, the evidence.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Hit {
    /// Run id.
    pub run_id: String,
    /// Image reference.
    pub image: String,
    /// Run start.
    pub started_at: String,
    /// Process id.
    pub pid: i64,
    /// Its program (or comm).
    pub process: String,
    /// What matched (rule and message, event kind and path or address, ...).
    pub what: String,
    /// Event sequence numbers.
    pub evidence: Vec<i64>,
}

/// A ready question.
#[derive(Clone, Debug)]
pub enum Question {
    /// Runs with a detection of this technique (a parent id also matches its sub-techniques).
    Technique(String),
    /// Runs that contacted an address (or `addr:port`).
    Ioc(String),
    /// Runs that resolved a domain.
    Domain(String),
    /// Runs that touched a path (glob).
    Path(String),
    /// Runs that ran a program (glob on the executable path).
    Exe(String),
    /// Runs of an image (glob on the reference).
    Image(String),
    /// Runs that left a file with this sha256 on disk (a unique prefix of 8+ hex digits works too).
    Sha256(String),
}

fn get_str(v: Value) -> String {
    match v {
        Value::Text(s) => s,
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Null => String::new(),
        Value::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

impl Store {
    /// Runs, newest first.
    pub fn runs(&self, f: &RunFilter) -> Result<Vec<RunRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, image_ref, started_at, COALESCE(verdict, ''), COALESCE(score, 0), events, lost, complete FROM runs \
                 WHERE (?1 IS NULL OR image_ref GLOB ?1) AND (?2 IS NULL OR verdict = ?2) AND (?3 IS NULL OR started_at >= ?3) \
                 ORDER BY started_at DESC, id DESC LIMIT ?4",
            )
            .map_err(sql_err(&self.path))?;
        let limit = f.limit.map_or(-1, |l| l as i64);
        let rows = stmt
            .query_map(params![f.image, f.verdict, f.since, limit], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    image: r.get(1)?,
                    started_at: r.get(2)?,
                    verdict: r.get(3)?,
                    score: r.get(4)?,
                    events: r.get(5)?,
                    lost: r.get(6)?,
                    complete: r.get::<_, i64>(7)? != 0,
                })
            })
            .map_err(sql_err(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql_err(&self.path))
    }

    /// The stored report of a complete run (a unique id prefix is enough).
    pub fn report(&self, run: &str) -> Result<Report, StoreError> {
        let id = self.resolve_run(run)?;
        let (complete, json): (i64, Option<String>) = self
            .conn
            .query_row(
                "SELECT complete, report FROM runs WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql_err(&self.path))?;
        let Some(json) = json.filter(|_| complete != 0) else {
            return Err(StoreError::Corrupt {
                run: id,
                reason: "the run is incomplete (interrupted or still running)".into(),
            });
        };
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
            run: id,
            reason: e.to_string(),
        })
    }

    /// The full id of a run given its id or a unique prefix.
    pub fn resolve_run(&self, run: &str) -> Result<String, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM runs WHERE id = ?1 OR id LIKE ?2 ESCAPE '\\' LIMIT 2")
            .map_err(sql_err(&self.path))?;
        let escaped = run.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let ids: Vec<String> = stmt
            .query_map(params![run, format!("{escaped}%")], |r| r.get(0))
            .map_err(sql_err(&self.path))?
            .collect::<Result<_, _>>()
            .map_err(sql_err(&self.path))?;
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            _ if ids.iter().any(|i| i == run) => Ok(run.to_string()),
            _ => Err(StoreError::NoRun(run.to_string())),
        }
    }

    /// Answers a ready question.
    pub fn ask(&self, q: &Question) -> Result<Vec<Hit>, StoreError> {
        let mut port_arg: Option<i64> = None;
        let (sql, arg): (&str, String) = match q {
            Question::Technique(t) => (
                "SELECT d.run_id, r.image_ref, r.started_at, d.pid, d.exe, d.rule || ': ' || d.message, d.evidence \
                 FROM detection_techniques t JOIN detections d ON d.run_id = t.run_id AND d.idx = t.det_idx JOIN runs r ON r.id = d.run_id \
                 WHERE t.technique = ?1 OR t.technique GLOB ?1 || '.*' ORDER BY r.started_at DESC, d.idx",
                t.clone(),
            ),
            Question::Ioc(v) => {
                // `addr` or `addr:port` (`[v6]:port`).
                let split = v
                    .rsplit_once(':')
                    .filter(|(h, p)| !h.is_empty() && !h.ends_with(':') && p.parse::<u16>().is_ok());
                let (host, port) = match split {
                    Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
                        h.trim_start_matches('[').trim_end_matches(']').to_string(),
                        p.parse::<i64>().ok(),
                    ),
                    _ => (v.clone(), None),
                };
                port_arg = port;
                (
                    "SELECT r.id, r.image_ref, r.started_at, e.pid, e.comm, \
                            e.kind || ' ' || x.addr || CASE WHEN x.port >= 0 THEN ':' || x.port ELSE '' END || ' x' || x.count, json_array(x.first_seq) \
                     FROM run_endpoints x JOIN runs r ON r.key = x.run_key JOIN events e ON e.run_key = x.run_key AND e.seq = x.first_seq \
                     WHERE x.addr = ?1 AND (?2 IS NULL OR x.port = ?2) ORDER BY r.started_at DESC, x.first_seq",
                    host,
                )
            }
            Question::Domain(d) => (
                "SELECT i.run_id, r.image_ref, r.started_at, 0, '', 'resolved ' || i.value, json_array(i.first_seq) \
                 FROM iocs i JOIN runs r ON r.id = i.run_id WHERE i.kind = 'domain' AND i.value GLOB ?1 ORDER BY r.started_at DESC",
                d.clone(),
            ),
            Question::Path(p) => (
                "SELECT r.id, r.image_ref, r.started_at, e.pid, e.comm, e.kind || ' ' || p.path || ' x' || x.count, json_array(x.first_seq) \
                 FROM paths p JOIN run_paths x ON x.path_id = p.id JOIN runs r ON r.key = x.run_key \
                 JOIN events e ON e.run_key = x.run_key AND e.seq = x.first_seq \
                 WHERE p.path GLOB ?1 ORDER BY r.started_at DESC, x.first_seq",
                p.clone(),
            ),
            Question::Exe(x) => (
                "SELECT p.run_id, r.image_ref, r.started_at, p.pid, p.exe, 'ran ' || p.argv, json_array() \
                 FROM processes p JOIN runs r ON r.id = p.run_id WHERE p.exe GLOB ?1 ORDER BY r.started_at DESC, p.idx",
                x.clone(),
            ),
            Question::Sha256(h) => (
                "SELECT i.run_id, r.image_ref, r.started_at, 0, '', 'left ' || substr(i.value, instr(i.value, ' ') + 1), json_array() \
                 FROM iocs i JOIN runs r ON r.id = i.run_id WHERE i.kind = 'sha256' AND i.value GLOB ?1 || '* *' ORDER BY r.started_at DESC",
                h.to_ascii_lowercase()
                    .chars()
                    .filter(char::is_ascii_hexdigit)
                    .collect(),
            ),
            Question::Image(i) => (
                "SELECT r.id, r.image_ref, r.started_at, 0, '', COALESCE(r.verdict, 'incomplete') || ' (score ' || COALESCE(r.score, 0) || ')', json_array() \
                 FROM runs r WHERE r.image_ref GLOB ?1 OR r.image_id = ?1 ORDER BY r.started_at DESC",
                i.clone(),
            ),
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err(&self.path))?;
        let bound: Vec<Value> = if sql.contains("?2") {
            vec![Value::Text(arg), port_arg.map_or(Value::Null, Value::Integer)]
        } else {
            vec![Value::Text(arg)]
        };
        let rows = stmt
            .query_map(rusqlite::params_from_iter(bound), |r| {
                let evidence: String = r.get(6)?;
                Ok(Hit {
                    run_id: r.get(0)?,
                    image: r.get(1)?,
                    started_at: r.get(2)?,
                    pid: r.get(3)?,
                    process: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    what: r.get(5)?,
                    evidence: serde_json::from_str::<Vec<Option<i64>>>(&evidence)
                        .unwrap_or_default()
                        .into_iter()
                        .flatten()
                        .collect(),
                })
            })
            .map_err(sql_err(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql_err(&self.path))
    }

    /// Runs arbitrary SQL; the caller opened the store read-only, so writes are refused.
    pub fn sql(&self, sql: &str) -> Result<(Vec<String>, Vec<Vec<String>>), StoreError> {
        let refused = |why: &str| StoreError::Refused {
            path: self.path.clone(),
            message: format!("refused: {why} (only one SELECT or WITH ... SELECT is run)"),
        };
        let first = first_keyword(sql).to_ascii_uppercase();
        if first != "SELECT" && first != "WITH" && first != "VALUES" {
            return Err(refused(&format!("{first} is not a query")));
        }
        let mut stmt = self.conn.prepare(sql).map_err(sql_err(&self.path))?;
        if !stmt.readonly() {
            return Err(refused("the statement would write"));
        }
        let cols: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let n = cols.len();
        let started = std::time::Instant::now();
        let mut rows = stmt.query([]).map_err(sql_err(&self.path))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sql_err(&self.path))? {
            if out.len() >= MAX_SQL_ROWS {
                return Err(refused(&format!("more than {MAX_SQL_ROWS} rows: add a LIMIT")));
            }
            if started.elapsed() > MAX_SQL_TIME {
                return Err(refused(&format!(
                    "over {} s: narrow the query",
                    MAX_SQL_TIME.as_secs()
                )));
            }
            out.push(
                (0..n)
                    .map(|i| r.get::<_, Value>(i).map(get_str))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sql_err(&self.path))?,
            );
        }
        Ok((cols, out))
    }
}

/// Most rows `--sql` returns.
pub const MAX_SQL_ROWS: usize = 100_000;
/// Longest a `--sql` query may run.
pub const MAX_SQL_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// The first keyword of a statement, after white space and comments.
fn first_keyword(sql: &str) -> &str {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let end = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
    &s[..end]
}

/// What one run has and the other has not, by category.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Diff {
    /// Categories (`techniques`, `rules`, `endpoints`, `files`, `programs`) with (only in A, only in B).
    pub sections: Vec<(String, Vec<String>, Vec<String>)>,
}

fn facets(r: &Report) -> Vec<(&'static str, BTreeSet<String>)> {
    vec![
        (
            "techniques",
            r.techniques
                .iter()
                .map(|t| format!("{} {}", t.id, t.name))
                .collect(),
        ),
        ("rules", r.detections.iter().map(|d| d.rule.clone()).collect()),
        (
            "endpoints",
            r.network.iter().map(|n| format!("{} {}", n.op, n.addr)).collect(),
        ),
        (
            "files",
            r.files
                .iter()
                .filter(|f| f.ops.keys().any(|k| k != "open"))
                .map(|f| {
                    format!(
                        "{} {}",
                        f.path,
                        f.ops.keys().cloned().collect::<Vec<_>>().join(",")
                    )
                })
                .collect(),
        ),
        (
            "programs",
            r.processes
                .iter()
                .filter(|p| !p.argv.is_empty())
                .map(|p| p.argv.join(" "))
                .collect(),
        ),
    ]
}

/// Behaviours present in one report and not the other.
pub fn diff(a: &Report, b: &Report) -> Diff {
    let mut out = Diff::default();
    for ((name, fa), (_, fb)) in facets(a).into_iter().zip(facets(b)) {
        let only_a: Vec<String> = fa.difference(&fb).cloned().collect();
        let only_b: Vec<String> = fb.difference(&fa).cloned().collect();
        out.sections.push((name.to_string(), only_a, only_b));
    }
    out
}
