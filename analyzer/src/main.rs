//! The `sandtrace` command line.
//!
//! Exit codes: 0 finished with nothing at or above `--fail-on`; 1 finished with such a detection;
//! 2 the analysis could not be completed (bad input, no Docker, no BPF), with a one-line error.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use sandtrace::{
    analyze::{AnalyzeOptions, analyze},
    detect::RuleSet,
    report::{Report, Severity, text},
    sandbox::{NetworkMode, Sandbox},
};

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run IMAGE in a hardened sandbox, trace it, and report what it did.
    Analyze(AnalyzeArgs),
    /// Check the requirements of a run (root, BTF, tracefs, cgroup v2, probes, Docker).
    Doctor,
    /// Remove containers and cgroups left by runs whose analyzer died.
    Gc,
    /// List, check, or test the detection rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
        /// Load rules from this directory instead of the shipped set.
        #[arg(long, global = true, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// List the ATT&CK techniques sandtrace knows (Linux, Containers, IaaS).
    Techniques {
        /// Only this tactic (e.g. credential-access).
        #[arg(long)]
        tactic: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// One line per rule: id, severity, techniques, tactic folder, name.
    List,
    /// Load and compile every rule (file, line and field on error).
    Lint,
    /// Run every rule's fixtures (each must match its `match` and not its `no_match` sequences).
    Test,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// A summary for people.
    Text,
    /// The sandtrace.report/v1 JSON document.
    Json,
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    /// Image reference or id (must be present locally; sandtrace never pulls). May be omitted with --archive.
    #[arg(required_unless_present = "archive", default_value = "")]
    image: String,
    /// Load this `docker save` archive first.
    #[arg(long, value_name = "FILE")]
    archive: Option<PathBuf>,
    /// Wall-clock limit, after which the sample is killed (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Network given to the sample.
    #[arg(long, value_enum, default_value = "none")]
    network: NetworkMode,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a detection at or above this severity is present.
    #[arg(long, value_enum, default_value = "high")]
    fail_on: Severity,
    /// Maximum number of tasks in the sandbox.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(i64).range(8..=65536))]
    pids_limit: i64,
    /// Memory limit in MiB.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(i64).range(16..=65536))]
    memory_mib: i64,
    /// Most events listed in the report (all are counted and summarised).
    #[arg(long, default_value_t = 20_000)]
    max_events: usize,
    /// Load rules from this directory instead of the shipped set.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Command run instead of the image's CMD (after `--`).
    #[arg(last = true, value_name = "CMD")]
    cmd: Vec<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 2m, 1h)"))?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(24 * 3600) {
        return Err("must be between 1s and 24h".into());
    }
    Ok(d)
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
    // One line: the chain of causes joined.
    let msg = e.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ");
    eprintln!("sandtrace: error: {}", msg.replace('\n', " "));
    ExitCode::from(2)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => run_analyze(args).await,
        Command::Doctor => {
            let checks = sandtrace::doctor::run_checks().await;
            let mut all = true;
            for c in &checks {
                all &= c.ok;
                println!(
                    "{} {:<15} {}",
                    if c.ok { "ok  " } else { "FAIL" },
                    c.name,
                    c.detail
                );
            }
            Ok(if all { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Rules { action, rules } => run_rules(&action, rules.as_deref()),
        Command::Techniques { tactic } => {
            let filter = match tactic.as_deref() {
                Some(t) => Some(mitre_mapping::Tactic::from_short_name(t).with_context(|| {
                    let all: Vec<&str> = mitre_mapping::Tactic::ALL
                        .iter()
                        .map(|t| t.short_name())
                        .collect();
                    format!("unknown tactic {t} (one of: {})", all.join(", "))
                })?),
                None => None,
            };
            println!(
                "# MITRE ATT&CK v{} (Linux, Containers, IaaS)",
                mitre_mapping::ATTACK_VERSION
            );
            for t in mitre_mapping::TECHNIQUES
                .iter()
                .filter(|t| filter.is_none_or(|f| t.tactics.contains(&f)))
            {
                let tactics: Vec<&str> = t.tactics.iter().map(|x| x.short_name()).collect();
                println!("{:<10} {:<60} {}", t.id, t.full_name(), tactics.join(","));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Gc => {
            let sandbox = Sandbox::connect().await?;
            let removed = sandbox.gc().await?;
            if removed.is_empty() {
                println!("nothing to remove");
            }
            for r in removed {
                println!("removed {r}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn run_analyze(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if let Some(archive) = &args.archive {
        // Fail early, before any set-up, on an unreadable archive.
        std::fs::File::open(archive).with_context(|| format!("cannot read archive {}", archive.display()))?;
    }
    let mut opts = AnalyzeOptions::new(args.image.clone());
    opts.archive = args.archive.clone();
    opts.max_events = args.max_events;
    opts.sandbox.timeout = args.timeout;
    opts.sandbox.network = args.network;
    opts.sandbox.pids_limit = args.pids_limit;
    opts.sandbox.memory_bytes = args.memory_mib << 20;
    if !args.cmd.is_empty() {
        opts.sandbox.cmd = Some(args.cmd.clone());
    }
    opts.rules = Some(Arc::new(load_rules(args.rules.as_deref())?));
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let progress = move |line: &str| {
        if show_progress {
            eprintln!("sandtrace: {line}");
        }
    };
    let report = analyze(&opts, &progress).await?;
    let rendered = match args.format {
        Format::Text => text::render(&report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report).context("serialising the report")?;
            s.push('\n');
            s
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, rendered).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => print!("{rendered}"),
    }
    Ok(exit_for(&report, args.fail_on))
}

fn load_rules(dir: Option<&std::path::Path>) -> anyhow::Result<RuleSet> {
    Ok(match dir {
        Some(d) => RuleSet::load_dir(d)?,
        None => RuleSet::bundled()?,
    })
}

fn run_rules(action: &RulesAction, dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let rules = Arc::new(load_rules(dir)?);
    match action {
        RulesAction::List => {
            for r in rules.rules() {
                println!(
                    "{:<40} {:<9} {:<24} {:<22} {}",
                    r.id,
                    format!("{:?}", r.severity).to_lowercase(),
                    r.techniques.join(","),
                    r.folder,
                    r.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Lint => {
            let techniques: std::collections::BTreeSet<&str> = rules
                .rules()
                .iter()
                .flat_map(|r| r.techniques.iter().map(String::as_str))
                .collect();
            println!(
                "{} rules OK, {} techniques (ATT&CK v{})",
                rules.rules().len(),
                techniques.len(),
                mitre_mapping::ATTACK_VERSION
            );
            Ok(ExitCode::SUCCESS)
        }
        RulesAction::Test => {
            let results = sandtrace::detect::fixture::run_all(&rules);
            let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
            for f in &failed {
                println!("FAIL {} / {}: {}", f.rule, f.name, f.detail);
            }
            println!("{} passed, {} failed", results.len() - failed.len(), failed.len());
            Ok(if failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn exit_for(report: &Report, fail_on: Severity) -> ExitCode {
    if report.max_severity().is_some_and(|s| s >= fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
