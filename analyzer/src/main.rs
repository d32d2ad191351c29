//! The `sandtrace` command line.
//!
//! Exit codes: 0 finished with nothing at or above `--fail-on`; 1 finished with such a detection;
//! 2 the analysis could not be completed (bad input, no Docker, no BPF), with a one-line error.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use sandtrace::{
    analyze::Progress,
    analyze::{AnalyzeOptions, analyze},
    detect::RuleSet,
    report::{Format, Report, Severity, policy::Policy},
    sandbox::{NetworkMode, Sandbox, SandboxProfile},
    store::{
        Store,
        query::{Question, RunFilter},
    },
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
    /// Run database (default: $SANDTRACE_DB, else ~/.local/share/sandtrace/sandtrace.db).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run IMAGE in a hardened sandbox, trace it, and report what it did.
    Analyze(Box<AnalyzeArgs>),
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
    /// Stored runs, newest first.
    Runs {
        /// Only images matching this glob.
        #[arg(long)]
        image: Option<String>,
        /// Only this verdict (clean, suspicious, malicious).
        #[arg(long)]
        verdict: Option<String>,
        /// Only runs started within this long (e.g. 24h, 7d).
        #[arg(long, value_parser = parse_duration)]
        since: Option<Duration>,
        /// Most runs listed.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The report of a stored run (id or unique prefix).
    Show {
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
    },
    /// Questions across all stored runs.
    Query(QueryArgs),
    /// Behaviours present in one run and not the other.
    Diff {
        /// First run.
        run_a: String,
        /// Second run.
        run_b: String,
    },
    /// Delete old runs.
    Prune {
        /// Delete runs started longer ago than this (e.g. 30d).
        #[arg(long, value_parser = parse_duration)]
        older_than: Option<Duration>,
        /// Keep only the newest N runs.
        #[arg(long)]
        keep: Option<usize>,
    },
    /// List the ATT&CK techniques sandtrace knows (Linux, Containers, IaaS).
    Techniques {
        /// Only this tactic (e.g. credential-access).
        #[arg(long)]
        tactic: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// The graph as JSON.
    Json,
}

#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct QueryArgs {
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

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// One line per rule: id, severity, techniques, tactic folder, name.
    List,
    /// Load and compile every rule (file, line and field on error).
    Lint,
    /// Run every rule's fixtures (each must match its `match` and not its `no_match` sequences).
    Test,
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
    /// Exit 1 when a detection at or above this severity is present (detections a policy allows do
    /// not count).
    #[arg(long, value_enum, default_value = "high")]
    fail_on: Severity,
    /// Policy file (YAML): allow known-benign behaviours per image or rule, change severities.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Events that may be lost before the run counts as incomplete (exit 2): a sample that floods
    /// the tracer to hide must not pass.
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_lost: u64,
    /// Maximum number of tasks in the sandbox.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(i64).range(8..=65536))]
    pids_limit: i64,
    /// Memory limit in MiB.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(i64).range(16..=65536))]
    memory_mib: i64,
    /// Most MiB the sample may write to its writable layer; beyond them (or 200,000 files) it is
    /// killed and the run is incomplete.
    #[arg(long, default_value_t = 1024, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    disk_limit: u64,
    /// Most events listed in the report (all are counted and summarised).
    #[arg(long, default_value_t = 20_000)]
    max_events: usize,
    /// Load rules from this directory instead of the shipped set.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Sandbox profile: `default` gives the image what `docker run IMAGE` gives it (Docker's default
    /// capabilities, setuid working); `strict` drops every capability and sets no-new-privileges.
    #[arg(long, value_enum, default_value = "default")]
    sandbox: SandboxProfile,
    /// Set an environment variable in the sample (`K=V`, or `K` to take it from here); repeatable.
    #[arg(long, short = 'e', value_name = "K=V")]
    env: Vec<String>,
    /// Read environment variables from a file (`K=V` lines; `#` comments); repeatable.
    #[arg(long, value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// Run as this user (`name`, `uid` or `uid:gid`) instead of the image's USER.
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Entrypoint instead of the image's (a command line split on spaces; "" clears it).
    #[arg(long)]
    entrypoint: Option<String>,
    /// Working directory instead of the image's.
    #[arg(long, short = 'w', value_name = "DIR")]
    workdir: Option<String>,
    /// Add a capability to the profile's set; repeatable. Ones that would open the host or the
    /// kernel (SYS_ADMIN, SYS_MODULE, SYS_PTRACE, NET_ADMIN, BPF, ...) are refused.
    #[arg(long, value_name = "CAP")]
    cap_add: Vec<String>,
    /// Drop a capability; repeatable.
    #[arg(long, value_name = "CAP")]
    cap_drop: Vec<String>,
    /// Mount the image's root file system read-only.
    #[arg(long)]
    read_only: bool,
    /// Mount a tmpfs at PATH (`/run` or `/run:rw,size=16m`); repeatable.
    #[arg(long, value_name = "PATH[:OPTS]")]
    tmpfs: Vec<String>,
    /// Copy every file the run added or changed into DIR (named by sha256, mode 0600).
    #[arg(long, value_name = "DIR")]
    keep_dropped: Option<PathBuf>,
    /// Exit 2 when the observation is incomplete (the sample died early, was refused actions it
    /// needed, or events were lost), with the reason on one line.
    #[arg(long)]
    fail_on_incomplete: bool,
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
    let mut msg = String::new();
    for cause in e.chain().map(ToString::to_string) {
        // Library errors often repeat their source in their own message: say it once.
        if !msg.contains(&cause) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&cause);
        }
    }
    eprintln!("sandtrace: error: {}", msg.replace('\n', " "));
    ExitCode::from(2)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let db = cli.db.clone();
    match cli.command {
        Command::Analyze(args) => run_analyze(*args, db).await,
        Command::Runs {
            image,
            verdict,
            since,
            limit,
        } => {
            let store = open_existing(db.as_deref())?;
            let since = since.map(|d| rfc3339(time::OffsetDateTime::now_utc() - d));
            let rows = store.runs(&RunFilter {
                image,
                verdict,
                since,
                limit: Some(limit),
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
        Command::Show {
            run,
            format,
            graph,
            output,
            policy,
        } => {
            let store = open_existing(db.as_deref())?;
            let mut report = store.report(&run)?;
            if let Some(p) = &policy {
                Policy::load(p)?.apply(&mut report, &today());
            }
            match graph {
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
                    let color = output.is_none() && std::io::stdout().is_terminal();
                    emit(output.as_deref(), &|w| {
                        sandtrace::report::render_to(&report, format, rules.as_ref(), color, w)
                    })?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Query(q) => run_query(q, db.as_deref()),
        Command::Diff { run_a, run_b } => {
            let store = open_existing(db.as_deref())?;
            let (a, b) = (store.report(&run_a)?, store.report(&run_b)?);
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
        Command::Prune { older_than, keep } => {
            anyhow::ensure!(
                older_than.is_some() || keep.is_some(),
                "give --older-than DUR and/or --keep N"
            );
            let mut store = Store::open(&sandtrace::store::default_path(db.as_deref()))?;
            let cutoff = older_than.map(|d| rfc3339(time::OffsetDateTime::now_utc() - d));
            let n = store.prune(cutoff.as_deref(), keep)?;
            println!("removed {n} runs");
            Ok(ExitCode::SUCCESS)
        }
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

async fn run_analyze(args: AnalyzeArgs, db: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    if let Some(archive) = &args.archive {
        // Fail early, before any set-up, on an unreadable archive.
        std::fs::File::open(archive).with_context(|| format!("cannot read archive {}", archive.display()))?;
    }
    // Bad policy files and unwritable outputs are errors before anything runs.
    let policy = args.policy.as_deref().map(Policy::load).transpose()?;
    if let Some(out) = &args.output {
        check_writable(out)?;
    }
    let mut opts = AnalyzeOptions::new(args.image.clone());
    opts.archive = args.archive.clone();
    opts.max_events = args.max_events;
    opts.sandbox.timeout = args.timeout;
    opts.sandbox.network = args.network;
    opts.sandbox.pids_limit = args.pids_limit;
    opts.sandbox.memory_bytes = args.memory_mib << 20;
    opts.sandbox.disk_limit = args.disk_limit << 20;
    if !args.cmd.is_empty() {
        opts.sandbox.cmd = Some(args.cmd.clone());
    }
    opts.sandbox.profile = args.sandbox;
    opts.sandbox.env = environment(&args.env, &args.env_file)?;
    opts.sandbox.user.clone_from(&args.user);
    opts.sandbox.entrypoint = args
        .entrypoint
        .as_ref()
        .map(|e| e.split_whitespace().map(str::to_string).collect());
    opts.sandbox.workdir.clone_from(&args.workdir);
    opts.sandbox.cap_add = capabilities(&args.cap_add, true)?;
    opts.sandbox.cap_drop = capabilities(&args.cap_drop, false)?;
    opts.sandbox.read_only = args.read_only;
    for t in &args.tmpfs {
        anyhow::ensure!(
            t.starts_with('/') && !t.contains(['\n', '\0']),
            "--tmpfs {t}: give an absolute path inside the container, optionally :options"
        );
    }
    opts.sandbox.tmpfs.clone_from(&args.tmpfs);
    if let Some(dir) = &args.keep_dropped {
        anyhow::ensure!(dir.is_dir(), "--keep-dropped {}: not a directory", dir.display());
    }
    opts.keep_dropped.clone_from(&args.keep_dropped);
    let rules = Arc::new(load_rules(args.rules.as_deref())?);
    opts.rules = Some(Arc::clone(&rules));
    opts.policy = policy.map(|p| (p, today()));
    opts.db = db;
    let tty = std::io::stderr().is_terminal();
    let show_progress = !args.quiet && tty;
    let progress = move |p: &Progress<'_>| {
        if !show_progress {
            return;
        }
        match p {
            Progress::Stage(line) => eprint!("\r\x1b[2Ksandtrace: {line}\n"),
            Progress::Running {
                elapsed,
                limit,
                events,
            } => eprint!(
                "\r\x1b[2Ksandtrace: running {:.1} s / {} s, {events} events",
                elapsed.as_secs_f64(),
                limit.as_secs()
            ),
        }
    };
    let result = analyze(&opts, &progress).await;
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    let report = result?;
    for e in report.policy.iter().flat_map(|p| p.expired.iter()) {
        eprintln!("sandtrace: warning: policy entry expired, no longer applied: {e}");
    }
    let color = args.output.is_none() && std::io::stdout().is_terminal();
    emit(args.output.as_deref(), &|w| {
        sandtrace::report::render_to(&report, args.format, Some(&rules), color, w)
    })?;
    let mut code = gate(&report, args.fail_on, args.max_lost);
    if code == Gate::Incomplete {
        eprintln!(
            "sandtrace: error: {} events were lost (more than --max-lost {}): the trace is incomplete, so the run cannot pass",
            report.stats.dropped, args.max_lost
        );
    } else if args.fail_on_incomplete && !report.observation.complete {
        eprintln!(
            "sandtrace: error: incomplete observation: {}",
            report.observation.reasons.join("; ")
        );
        code = Gate::Incomplete;
    }
    Ok(ExitCode::from(code as u8))
}

/// The pipeline's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    /// Nothing at or above `--fail-on`.
    Pass = 0,
    /// A detection at or above `--fail-on` (not allowed by the policy).
    Block = 1,
    /// The trace is incomplete (events lost): never a pass.
    Incomplete = 2,
}

fn gate(report: &Report, fail_on: Severity, max_lost: u64) -> Gate {
    if report.gate_severity().is_some_and(|s| s >= fail_on) {
        Gate::Block
    } else if report.stats.dropped > max_lost {
        Gate::Incomplete
    } else {
        Gate::Pass
    }
}

/// `--env` and `--env-file` as `K=V` (a bare `K` takes the value from this environment, as
/// `docker run -e K` does).
fn environment(env: &[String], files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut add = |item: &str, origin: &str| -> anyhow::Result<()> {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (item, std::env::var(item).ok()),
        };
        anyhow::ensure!(
            !k.is_empty() && !k.contains(['\0', ' ']) && !item.contains('\0'),
            "{origin}: {item:?} is not K=V"
        );
        if let Some(v) = v {
            out.push(format!("{k}={v}"));
        }
        Ok(())
    };
    for e in env {
        add(e, "--env")?;
    }
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("--env-file {}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            add(line, &format!("--env-file {}:{}", f.display(), n + 1))?;
        }
    }
    Ok(out)
}

/// Capabilities that would let the sample reach the host or the kernel past the sandbox: never added.
const HOST_CAPABILITIES: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_PTRACE",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "NET_ADMIN",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SYSLOG",
];

/// Normalises `--cap-add/--cap-drop` names (`net_bind_service` → `NET_BIND_SERVICE`); added ones that
/// would open the host are refused.
fn capabilities(caps: &[String], adding: bool) -> anyhow::Result<Vec<String>> {
    caps.iter()
        .map(|c| {
            let name = c.trim().to_ascii_uppercase();
            let name = name.strip_prefix("CAP_").unwrap_or(&name).to_string();
            anyhow::ensure!(
                !name.is_empty() && name.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_'),
                "--cap-{}: {c:?} is not a capability name",
                if adding { "add" } else { "drop" }
            );
            anyhow::ensure!(
                !adding || !HOST_CAPABILITIES.contains(&name.as_str()),
                "--cap-add {name}: refused, it would let the sample reach the host or the kernel past the sandbox"
            );
            Ok(name)
        })
        .collect()
}

/// Today's date (UTC), for policy expiry.
fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}

/// Fails early when the report could not be written (missing directory, permissions).
fn check_writable(path: &std::path::Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    anyhow::ensure!(
        dir.is_dir(),
        "cannot write {}: no directory {}",
        path.display(),
        dir.display()
    );
    anyhow::ensure!(
        !path.is_dir(),
        "cannot write {}: it is a directory",
        path.display()
    );
    Ok(())
}

/// Writes the report to the file (atomically: a temporary file renamed) or stdout.
/// Where a rendered report goes: written straight to the file or to stdout.
type Render<'a> = dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + 'a;

fn emit(output: Option<&std::path::Path>, render: &Render<'_>) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            // A fresh, exclusively created file beside the target (never a fixed name that a
            // symlink could redirect or another run could share), synced, then renamed over it;
            // removed if anything fails.
            let mut tmp = tempfile::Builder::new()
                .prefix(".sandtrace-report-")
                .tempfile_in(dir)
                .with_context(|| format!("cannot write {}", path.display()))?;
            render(tmp.as_file_mut())
                .and_then(|()| {
                    use std::os::unix::fs::PermissionsExt as _;
                    // Readable like any report, not the temporary file's private 0600.
                    tmp.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o644))
                })
                .and_then(|()| tmp.as_file().sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tmp.persist(path)
                .map_err(|e| e.error)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            render(&mut lock)
                .and_then(|()| std::io::Write::flush(&mut lock))
                .context("cannot write the report to stdout")?;
        }
    }
    Ok(())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Opens an existing database read-only (forensics commands never write).
fn open_existing(db: Option<&std::path::Path>) -> anyhow::Result<Store> {
    let path = sandtrace::store::default_path(db);
    anyhow::ensure!(
        path.exists(),
        "no run database at {} (analyze something first, or pass --db)",
        path.display()
    );
    Ok(Store::open_read_only(&path)?)
}

fn run_query(q: QueryArgs, db: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = open_existing(db)?;
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
            let results = sandtrace::correlate::fixtures::run_all(&rules);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sevs: &[(Severity, bool)], dropped: u64) -> Report {
        let mut r = Report::empty();
        r.stats.dropped = dropped;
        r.detections = sevs
            .iter()
            .map(|&(severity, allowed)| sandtrace::report::Detection {
                rule: "r".into(),
                severity,
                techniques: vec![],
                message: String::new(),
                process: sandtrace::report::DetectionProcess {
                    pid: 1,
                    exe: String::new(),
                    argv: vec![],
                },
                evidence: vec![],
                allowed: allowed.then(|| sandtrace::report::policy::Allowance {
                    reason: "known".into(),
                    expires: None,
                }),
                rule_severity: None,
                target: None,
            })
            .collect();
        r
    }

    #[test]
    fn capabilities_that_open_the_host_are_refused() {
        assert_eq!(
            capabilities(&["net_bind_service".into(), "CAP_CHOWN".into()], true).expect("ok"),
            ["NET_BIND_SERVICE", "CHOWN"]
        );
        for bad in ["SYS_ADMIN", "cap_sys_module", "all", "NET_ADMIN"] {
            assert!(capabilities(&[bad.into()], true).is_err(), "{bad}");
        }
        // Dropping is always fine.
        assert!(capabilities(&["SYS_ADMIN".into()], false).is_ok());
        assert!(capabilities(&["x;y".into()], false).is_err());
    }

    #[test]
    fn environment_from_flags_and_files() {
        let dir = std::env::temp_dir().join(format!("st-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("env");
        std::fs::write(
            &file,
            "# comment\nPOSTGRES_PASSWORD=s3cret\n\nPGDATA=/var/lib/pg\n",
        )
        .expect("write");
        let env = environment(&["A=1".into(), "B=".into()], std::slice::from_ref(&file)).expect("env");
        assert_eq!(
            env,
            ["A=1", "B=", "POSTGRES_PASSWORD=s3cret", "PGDATA=/var/lib/pg"]
        );
        std::fs::write(&file, "=oops\n").expect("write");
        let err = environment(&[], std::slice::from_ref(&file)).expect_err("bad line");
        assert!(err.to_string().contains(":1"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn gate_follows_each_fail_on_level() {
        use Severity::{Critical, High, Low, Medium};
        let levels = [Low, Medium, High, Critical];
        // For a run whose worst detection is `worst`, --fail-on `level` blocks iff worst >= level.
        for (i, worst) in levels.iter().enumerate() {
            let r = report(&[(Low, false), (*worst, false)], 0);
            for (j, level) in levels.iter().enumerate() {
                let want = if i >= j { Gate::Block } else { Gate::Pass };
                assert_eq!(gate(&r, *level, 0), want, "worst {worst:?}, fail-on {level:?}");
            }
        }
        assert_eq!(gate(&report(&[], 0), Low, 0), Gate::Pass);
    }

    #[test]
    fn allowed_detections_do_not_block() {
        let r = report(&[(Severity::Critical, true), (Severity::Low, false)], 0);
        assert_eq!(gate(&r, Severity::Medium, 0), Gate::Pass);
        assert_eq!(gate(&r, Severity::Low, 0), Gate::Block);
    }

    #[test]
    fn lost_events_never_pass() {
        let r = report(&[(Severity::Low, false)], 5);
        assert_eq!(gate(&r, Severity::High, 0), Gate::Incomplete);
        assert_eq!(gate(&r, Severity::High, 5), Gate::Pass);
        // A block is still a block.
        assert_eq!(gate(&r, Severity::Low, 0), Gate::Block);
    }
}
