//! `sandtrace analyze IMAGE...`: detonate, trace, report, and answer the pipeline.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use sandtrace::{
    analyze::{AnalyzeOptions, Progress, analyze},
    detect::RuleSet,
    report::{Format, Report, Severity, policy::Policy},
    sandbox::{NetworkMode, SandboxProfile},
};

#[derive(clap::Args, Debug)]
/// Arguments of `analyze`.
pub struct Args {
    /// Images (references or ids), present locally: sandtrace never pulls. Several are analysed in
    /// one process, each a run of its own; may be omitted with --archive.
    #[arg(required_unless_present = "archive", value_name = "IMAGE")]
    images: Vec<String>,
    /// Analyses run at once when several images are given.
    #[arg(long, short = 'j', default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=8))]
    jobs: u16,
    /// Load this `docker save` archive first.
    #[arg(long, value_name = "FILE")]
    archive: Option<PathBuf>,
    /// Wall-clock limit, after which the sample is killed (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    timeout: Duration,
    /// Network given to the sample.
    #[arg(long, value_enum, default_value = "none")]
    network: NetworkMode,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report here instead of stdout (with several images: a directory, one report per
    /// image, named by its position and name).
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

/// Runs the analyses and turns each into the pipeline's answer: with several images, the worst.
pub async fn run(args: Args, db: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    if let Some(archive) = &args.archive {
        // Fail early, before any set-up, on an unreadable archive.
        std::fs::File::open(archive).with_context(|| format!("cannot read archive {}", archive.display()))?;
        anyhow::ensure!(
            args.images.len() <= 1,
            "--archive analyses the image the archive holds: give at most one IMAGE with it"
        );
    }
    let several = args.images.len() > 1;
    // Bad policy files and unwritable outputs are errors before anything runs.
    let policy = args.policy.as_deref().map(Policy::load).transpose()?;
    match &args.output {
        Some(dir) if several => anyhow::ensure!(
            dir.is_dir(),
            "--output {}: with several images, give a directory (one report per image)",
            dir.display()
        ),
        Some(out) => super::check_writable(out)?,
        None => anyhow::ensure!(
            !several || args.format == Format::Text,
            "--format {} with several images needs --output DIR (one report per image)",
            clap::ValueEnum::to_possible_value(&args.format)
                .map_or_else(String::new, |v| v.get_name().to_string())
        ),
    }
    let rules = Arc::new(super::load_rules(args.rules.as_deref())?);
    let today = super::today();
    let images = if args.images.is_empty() {
        vec![String::new()]
    } else {
        args.images.clone()
    };
    // One set of options (environment files read, capabilities checked once), one copy per image.
    let mut base = options(&args)?;
    base.rules = Some(Arc::clone(&rules));
    base.policy = policy.map(|p| (p, today));
    base.db = db;
    let runs: Vec<AnalyzeOptions> = images
        .iter()
        .map(|image| {
            let mut opts = base.clone();
            opts.sandbox.image.clone_from(image);
            opts
        })
        .collect();
    if !several {
        return single(&args, &runs[0], &rules).await;
    }
    // Several images: each is its own run; they share this process, its rules and its database.
    let total = runs.len();
    let mut worst = Gate::Pass;
    let mut results = futures_util::stream::iter(runs.iter().enumerate())
        .map(|(i, opts)| async move { (i, analyze(opts, &|_: &Progress<'_>| {}).await) })
        .buffered(usize::from(args.jobs));
    while let Some((i, result)) = results.next().await {
        let image = &images[i];
        let code = match result {
            Ok(report) => {
                let output = args
                    .output
                    .as_ref()
                    .map(|dir| dir.join(report_name(i, image, args.format)));
                write_report(&args, &report, &rules, output.as_deref())?;
                let code = answer(&args, &report);
                if !args.quiet {
                    eprintln!(
                        "sandtrace: [{}/{total}] {image}: {}, {} detections, {} ({}, {:.1} s)",
                        i + 1,
                        report.verdict,
                        report.detections.len(),
                        code.as_str(),
                        report.run_id,
                        report.stats.timings.total_ms as f64 / 1000.0
                    );
                }
                code
            }
            Err(e) => {
                let e = anyhow::Error::from(e);
                eprintln!(
                    "sandtrace: error: [{}/{total}] {image}: {}",
                    i + 1,
                    super::one_line(&e)
                );
                Gate::Incomplete
            }
        };
        worst = worst.max(code);
    }
    Ok(ExitCode::from(worst as u8))
}

/// One image, as a pipeline step: a progress line on a terminal, the report, the answer.
async fn single(args: &Args, opts: &AnalyzeOptions, rules: &RuleSet) -> anyhow::Result<ExitCode> {
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
    let result = analyze(opts, &progress).await;
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    let report = result?;
    write_report(args, &report, rules, args.output.as_deref())?;
    Ok(ExitCode::from(answer(args, &report) as u8))
}

/// The options every image's run shares (the image is set per run).
fn options(args: &Args) -> anyhow::Result<AnalyzeOptions> {
    let mut opts = AnalyzeOptions::new(String::new());
    opts.archive.clone_from(&args.archive);
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
    Ok(opts)
}

/// Writes one report (and the policy's warnings).
fn write_report(
    args: &Args,
    report: &Report,
    rules: &RuleSet,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    for e in report.policy.iter().flat_map(|p| p.expired.iter()) {
        eprintln!("sandtrace: warning: policy entry expired, no longer applied: {e}");
    }
    let color = output.is_none() && std::io::stdout().is_terminal();
    super::emit(output, &|w| {
        sandtrace::report::render_to(report, args.format, Some(rules), color, w)
    })
}

/// The gate of one report, with the reason on stderr when it is incomplete.
fn answer(args: &Args, report: &Report) -> Gate {
    let code = gate(report, args.fail_on, args.max_lost);
    if code == Gate::Incomplete {
        eprintln!(
            "sandtrace: error: {} events were lost (more than --max-lost {}): the trace is incomplete, so the run cannot pass",
            report.stats.dropped, args.max_lost
        );
        code
    } else if args.fail_on_incomplete && !report.observation.complete {
        eprintln!(
            "sandtrace: error: incomplete observation: {}",
            report.observation.reasons.join("; ")
        );
        Gate::Incomplete
    } else {
        code
    }
}

/// `03-nginx_1.27.json`: the position keeps names apart, the name is only letters, digits, `.-_`.
fn report_name(i: usize, image: &str, format: Format) -> String {
    let name: String = image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let name = name.trim_start_matches('.');
    format!("{:02}-{name}.{}", i + 1, format.extension())
}

/// The pipeline's answer (ordered: the worst of several is the largest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Gate {
    /// Nothing at or above `--fail-on`.
    Pass = 0,
    /// A detection at or above `--fail-on` (not allowed by the policy).
    Block = 1,
    /// The trace is incomplete (events lost): never a pass.
    Incomplete = 2,
}

impl Gate {
    fn as_str(self) -> &'static str {
        match self {
            Gate::Pass => "pass",
            Gate::Block => "block",
            Gate::Incomplete => "incomplete",
        }
    }
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
