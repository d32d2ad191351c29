//! The `sandtrace` command line: the commands, one module each under `cli/`.
//!
//! Exit codes: 0 finished with nothing at or above `--fail-on`; 1 finished with such a detection;
//! 2 the analysis could not be completed (bad input, no Docker, no BPF), with a one-line error.

mod cli;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "sandtrace",
    version,
    about = "Detonate an untrusted container image in a sandbox and trace it with eBPF"
)]
struct Cli {
    /// Log level for diagnostics on stderr (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "warn", env = "SANDTRACE_LOG")]
    log: String,
    /// Run database (default: $SANDTRACE_DB, else ~/.local/share/sandtrace/sandtrace.db).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run IMAGE (or several) in a hardened sandbox, trace it, and report what it did.
    Analyze(Box<cli::analyze::Args>),
    /// Check the requirements of a run (root, BTF, tracefs, cgroup v2, probes, Docker).
    Doctor,
    /// Remove containers and cgroups left by runs whose analyzer died.
    Gc,
    /// List, check, or test the detection rules.
    Rules(cli::rules::Args),
    /// Stored runs, newest first.
    Runs(cli::runs::Args),
    /// The report of a stored run (id or unique prefix).
    Show(cli::show::Args),
    /// Questions across all stored runs.
    Query(cli::query::Args),
    /// Behaviours present in one run and not the other.
    Diff(cli::diff::Args),
    /// Delete old runs.
    Prune(cli::prune::Args),
    /// List the ATT&CK techniques sandtrace knows (Linux, Containers, IaaS).
    Techniques(cli::techniques::Args),
}

fn main() -> ExitCode {
    // Output piped into `head` must end quietly, not panic on EPIPE.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("sandtrace: error: {}", cli::one_line(e));
    ExitCode::from(2)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let db = cli.db;
    match cli.command {
        Command::Analyze(args) => cli::analyze::run(*args, db).await,
        Command::Doctor => Ok(cli::doctor::run().await),
        Command::Gc => cli::gc::run().await,
        Command::Rules(args) => cli::rules::run(&args),
        Command::Runs(args) => cli::runs::run(args, db.as_deref()),
        Command::Show(args) => cli::show::run(args, db.as_deref()),
        Command::Query(args) => cli::query::run(args, db.as_deref()),
        Command::Diff(args) => cli::diff::run(&args, db.as_deref()),
        Command::Prune(args) => cli::prune::run(&args, db.as_deref()),
        Command::Techniques(args) => cli::techniques::run(&args),
    }
}
