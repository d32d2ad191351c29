//! `sandtrace prune`: delete old runs.

use std::{process::ExitCode, time::Duration};

use sandtrace::store::Store;

/// Arguments of `prune`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Delete runs started longer ago than this (e.g. 30d).
    #[arg(long, value_parser = super::parse_age)]
    older_than: Option<Duration>,
    /// Keep only the newest N runs.
    #[arg(long)]
    keep: Option<usize>,
}

/// Deletes the runs the arguments name.
pub fn run(args: &Args, db: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.older_than.is_some() || args.keep.is_some(),
        "give --older-than DUR and/or --keep N"
    );
    let mut store = Store::open(&sandtrace::store::default_path(db))?;
    let cutoff = args
        .older_than
        .map(|d| super::rfc3339(time::OffsetDateTime::now_utc() - d));
    let n = store.prune(cutoff.as_deref(), args.keep)?;
    println!("removed {n} runs");
    Ok(ExitCode::SUCCESS)
}
