//! `sandtrace show RUN`: a stored run's report again, or its graph.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::ValueEnum;
use sandtrace::{
    detect::RuleSet,
    report::{Format, policy::Policy},
};

/// How `--graph` prints the run graph.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// The graph as JSON.
    Json,
}

/// Arguments of `show`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run id.
    run: String,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Print the run graph instead (Graphviz DOT; evidence of detections in red).
    #[arg(long, value_enum)]
    graph: Option<GraphFormat>,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Apply this policy file to the stored report before showing it.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

/// Prints the stored report (or graph) of one run.
pub fn run(args: Args, db: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = super::open_existing(db)?;
    let mut report = store.report(&args.run)?;
    if let Some(p) = &args.policy {
        Policy::load(p)?.apply(&mut report, &super::today());
    }
    match args.graph {
        Some(GraphFormat::Dot) => {
            let flagged: Vec<usize> = report
                .kill_chain
                .iter()
                .flat_map(|k| k.nodes.iter().copied())
                .collect();
            let label = |i: usize| {
                report.processes.get(i).map_or_else(String::new, |p| {
                    let cmd = if p.argv.is_empty() {
                        p.comm.clone()
                    } else {
                        p.argv.join(" ")
                    };
                    format!("{} {}", p.pid, cmd.chars().take(60).collect::<String>())
                })
            };
            print!("{}", report.graph.to_dot(&label, &flagged));
        }
        Some(GraphFormat::Json) => println!("{}", serde_json::to_string_pretty(&report.graph)?),
        None => {
            let rules = RuleSet::bundled().ok();
            let color = args.output.is_none() && std::io::stdout().is_terminal();
            super::emit(args.output.as_deref(), &|w| {
                sandtrace::report::render_to(&report, args.format, rules.as_ref(), color, w)
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
