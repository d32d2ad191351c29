//! `sandtrace query`: one question across all stored runs.

use std::process::ExitCode;

use sandtrace::store::query::Question;

/// Arguments of `query`: one question.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Args {
    /// Runs with a detection of this ATT&CK technique (T1059 also matches T1059.004).
    #[arg(long)]
    technique: Option<String>,
    /// Runs that contacted this address (or address:port).
    #[arg(long)]
    ioc: Option<String>,
    /// Runs that resolved this domain (glob).
    #[arg(long)]
    domain: Option<String>,
    /// Runs that touched this path (glob, e.g. '/etc/shadow' or '/root/.ssh/*').
    #[arg(long)]
    path: Option<String>,
    /// Runs that executed this program (glob on the path).
    #[arg(long)]
    exe: Option<String>,
    /// Runs of this image (glob on the reference, or the image id).
    #[arg(long)]
    image: Option<String>,
    /// Runs that left a file with this sha256 on disk (8+ hex digits: a prefix).
    #[arg(long)]
    sha256: Option<String>,
    /// Any read-only SQL (writes are refused).
    #[arg(long)]
    sql: Option<String>,
    /// Output as JSON.
    #[arg(long, global = false)]
    json: bool,
}

/// Answers the question across all stored runs.
pub fn run(q: Args, db: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = super::open_existing(db)?;
    if let Some(sql) = &q.sql {
        let (cols, rows) = store.sql(sql)?;
        if q.json {
            let objs: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .cloned()
                        .zip(r.iter().map(|v| serde_json::Value::String(v.clone())))
                        .collect()
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&objs)?);
        } else {
            println!("{}", cols.join("\t"));
            for r in rows {
                println!("{}", r.join("\t"));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let question = if let Some(t) = q.technique {
        Question::Technique(t)
    } else if let Some(v) = q.ioc {
        Question::Ioc(v)
    } else if let Some(d) = q.domain {
        Question::Domain(d)
    } else if let Some(p) = q.path {
        Question::Path(p)
    } else if let Some(x) = q.exe {
        Question::Exe(x)
    } else if let Some(i) = q.image {
        Question::Image(i)
    } else if let Some(h) = q.sha256 {
        anyhow::ensure!(
            h.len() >= 8 && h.chars().all(|c| c.is_ascii_hexdigit()),
            "--sha256 {h:?}: give at least 8 hex digits"
        );
        Question::Sha256(h)
    } else {
        anyhow::bail!(
            "give one question: --technique, --ioc, --domain, --path, --exe, --image, --sha256 or --sql"
        );
    };
    let hits = store.ask(&question)?;
    if q.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
    } else {
        for h in &hits {
            let ev = if h.evidence.is_empty() {
                String::new()
            } else {
                format!("  events {:?}", h.evidence)
            };
            println!(
                "{}  {}  {}  pid {} {}  {}{ev}",
                h.run_id,
                h.started_at.get(..19).unwrap_or(&h.started_at),
                h.image,
                h.pid,
                h.process,
                h.what
            );
        }
        eprintln!("{} matches", hits.len());
    }
    Ok(ExitCode::SUCCESS)
}
