//! `sandtrace diff RUN_A RUN_B`: behaviours present in one run and not the other.

use std::process::ExitCode;

/// Arguments of `diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// First run.
    run_a: String,
    /// Second run.
    run_b: String,
}

/// Prints what only one of the two runs did.
pub fn run(args: &Args, db: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = super::open_existing(db)?;
    let (a, b) = (store.report(&args.run_a)?, store.report(&args.run_b)?);
    let d = sandtrace::store::query::diff(&a, &b);
    println!(
        "A = {} ({})\nB = {} ({})",
        a.run_id, a.image.reference, b.run_id, b.image.reference
    );
    for (name, only_a, only_b) in &d.sections {
        if only_a.is_empty() && only_b.is_empty() {
            continue;
        }
        println!("\n{name}");
        for x in only_a {
            println!("  - {x}   (only in A)");
        }
        for x in only_b {
            println!("  + {x}   (only in B)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
