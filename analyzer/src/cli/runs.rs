//! `sandtrace runs`: the stored runs, newest first.

use std::{process::ExitCode, time::Duration};

use sandtrace::store::query::RunFilter;

/// Arguments of `runs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only images matching this glob.
    #[arg(long)]
    image: Option<String>,
    /// Only this verdict (clean, suspicious, malicious).
    #[arg(long)]
    verdict: Option<String>,
    /// Only runs started within this long (e.g. 24h, 7d).
    #[arg(long, value_parser = super::parse_age)]
    since: Option<Duration>,
    /// Most runs listed.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// Lists the runs.
pub fn run(args: Args, db: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = super::open_existing(db)?;
    let since = args
        .since
        .map(|d| super::rfc3339(time::OffsetDateTime::now_utc() - d));
    let rows = store.runs(&RunFilter {
        image: args.image,
        verdict: args.verdict,
        since,
        limit: Some(args.limit),
    })?;
    println!(
        "{:<26} {:<20} {:<11} {:>5} {:>9} {:>6}  image",
        "run", "started", "verdict", "score", "events", "lost"
    );
    for r in rows {
        let verdict = if r.complete {
            r.verdict
        } else {
            "INCOMPLETE".into()
        };
        println!(
            "{:<26} {:<20} {:<11} {:>5} {:>9} {:>6}  {}",
            r.id,
            r.started_at.get(..19).unwrap_or(&r.started_at),
            verdict,
            r.score,
            r.events,
            r.lost,
            r.image
        );
    }
    Ok(ExitCode::SUCCESS)
}
