//! Helpers of the privileged end-to-end tests: privilege checks, running analyses of corpus images,
//! and checks that a run left nothing behind.
//!
//! Under `CI=true` a missing privilege, kernel feature or daemon FAILS the test that needs it.
//! Elsewhere such a test prints why it did not run and returns early.

use std::{path::Path, process::Command};

use anyhow::{Context, Result};
use sandtrace::{
    analyze::{AnalyzeOptions, analyze},
    event::{Event, EventData, SyscallData},
    report::Report,
};

/// True when running in CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn docker_answers() -> bool {
    Command::new("/usr/bin/docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the privileged tests can run here. In CI, a missing requirement panics (test failure).
pub fn privileged() -> bool {
    let mut missing = Vec::new();
    if !nix_root() {
        missing.push("root");
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        missing.push("kernel BTF");
    }
    if !Path::new("/sys/kernel/tracing/events/syscalls").exists() {
        missing.push("tracefs (cargo xtask setup mounts it)");
    }
    if !sandtrace::capture::probes_built() {
        missing.push("eBPF probes in this build (cargo xtask setup, then rebuild)");
    }
    if !docker_answers() {
        missing.push("a Docker daemon (cargo xtask setup starts one)");
    }
    if missing.is_empty() {
        return true;
    }
    let why = format!("privileged e2e test needs: {}", missing.join(", "));
    assert!(!in_ci(), "{why} (CI=true: this is a failure, not a skip)");
    eprintln!("SKIPPED (not in CI): {why}");
    false
}

fn nix_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Tag of a corpus image (built by `cargo xtask corpus`).
pub fn image(name: &str) -> String {
    format!("sandtrace-corpus/{name}:latest")
}

/// Options for a corpus image with a short time limit.
pub fn options(name: &str) -> AnalyzeOptions {
    let mut o = AnalyzeOptions::new(image(name));
    o.sandbox.timeout = std::time::Duration::from_secs(20);
    o.db = Some(test_db());
    o
}

/// The run database of this test process (shared by its tests, as analyses share a real one).
pub fn test_db() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sandtrace-e2e-{}/runs.db", std::process::id()))
}

/// Runs one analysis on a fresh runtime.
pub fn run(opts: &AnalyzeOptions) -> Result<Report> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(analyze(opts, &|_| {}))
        .with_context(|| format!("analyze {}", opts.sandbox.image))
}

/// Runs several analyses at the same time.
pub fn run_concurrently(opts: &[AnalyzeOptions]) -> Vec<Result<Report>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(futures_util::future::join_all(opts.iter().map(|o| async move {
        analyze(o, &|_| {}).await.map_err(anyhow::Error::from)
    })))
}

/// Syscall events of a kind name (`open`, `chmod`, `connect`, ...), with their data.
pub fn syscalls<'a>(r: &'a Report, kind: &str) -> Vec<(&'a Event, &'a SyscallData)> {
    r.events
        .iter()
        .filter(|e| sandtrace::correlate::kind_name(e.kind) == kind)
        .filter_map(|e| match &e.data {
            EventData::Syscall(s) => Some((e, s.as_ref())),
            _ => None,
        })
        .collect()
}

/// Asserts that nothing of the run is left: no container, no cgroup directory in any hierarchy.
pub fn assert_nothing_left(run_id: &str) {
    let out = Command::new("/usr/bin/docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=sandtrace.run={run_id}"),
        ])
        .output()
        .expect("docker ps");
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "container of run {run_id} left behind"
    );
    let out = Command::new("/usr/bin/docker")
        .args([
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=sandtrace.run={run_id}"),
        ])
        .output()
        .expect("docker network ls");
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "network of run {run_id} left behind"
    );
    let tag: String = run_id
        .rsplit('-')
        .next()
        .unwrap_or(run_id)
        .chars()
        .take(8)
        .collect();
    for dev in [format!("st-{tag}"), format!("sth{tag}")] {
        assert!(
            !Path::new("/sys/class/net").join(&dev).exists(),
            "interface {dev} left behind"
        );
    }
    let name = format!("sandtrace-{run_id}");
    let mounts = sandtrace::sandbox::cgroup::mounts().expect("cgroup mounts");
    for m in mounts {
        assert!(
            !m.path.join(&name).exists(),
            "cgroup {} left behind",
            m.path.join(&name).display()
        );
    }
    assert!(
        !sandtrace::sandbox::runlock::lock_dir()
            .join(format!("{run_id}.lock"))
            .exists(),
        "run lock left behind"
    );
}

/// One corpus image and what its analysis must show.
#[derive(Debug, Clone)]
pub struct CorpusCase {
    /// Directory name (image `sandtrace-corpus/<name>`).
    pub name: String,
    /// Techniques that must be reported.
    pub techniques: Vec<String>,
    /// No high or critical detection allowed.
    pub benign: bool,
    /// Time limit.
    pub timeout_s: u64,
    /// Run with the network sinkhole (`"network": "sinkhole"`).
    pub sinkhole: bool,
    /// A line the service prints once it really served (`"ready"`): the image really ran.
    pub ready: Option<String>,
    /// Rule ids that must fire (`"rules"`).
    pub rules: Vec<String>,
    /// Sandbox profile (`"sandbox": "strict"`; default otherwise).
    pub strict: bool,
    /// In `--sandbox strict` this image cannot start (`"strict_incomplete": true`: it starts as
    /// root and drops to a service user, or chowns its data).
    pub strict_incomplete: bool,
}

impl CorpusCase {
    /// Analysis options for this image.
    pub fn options(&self) -> AnalyzeOptions {
        let mut o = options(&self.name);
        o.sandbox.timeout = std::time::Duration::from_secs(self.timeout_s);
        if self.sinkhole {
            o.sandbox.network = sandtrace::sandbox::NetworkMode::Sinkhole;
        }
        if self.strict {
            o.sandbox.profile = sandtrace::sandbox::SandboxProfile::Strict;
        }
        o
    }

    /// What is wrong with its report (empty when it is right).
    pub fn check(&self, r: &Report) -> Vec<String> {
        let mut out = Vec::new();
        let found: Vec<&str> = r.techniques.iter().map(|t| t.id.as_str()).collect();
        for t in &self.techniques {
            if !found.contains(&t.as_str()) {
                out.push(format!("{}: expected {t}, found {found:?}", self.name));
            }
        }
        let rules: Vec<&str> = r.detections.iter().map(|d| d.rule.as_str()).collect();
        for rule in &self.rules {
            if !rules.contains(&rule.as_str()) {
                out.push(format!("{}: expected rule {rule}, found {rules:?}", self.name));
            }
        }
        if self.benign {
            // A benign image passes a `--fail-on medium` gate: nothing at or above medium.
            for d in &r.detections {
                if d.severity >= sandtrace::report::Severity::Medium {
                    out.push(format!(
                        "{}: benign image got {:?} detection {}: {}",
                        self.name, d.severity, d.rule, d.message
                    ));
                }
            }
            if !r.observation.complete {
                out.push(format!(
                    "{}: benign image marked incomplete: {:?}",
                    self.name, r.observation.reasons
                ));
            }
        }
        if let Some(ready) = &self.ready
            && !r.sandbox.stdout.contains(ready.as_str())
            && !r.sandbox.stderr.contains(ready.as_str())
        {
            out.push(format!(
                "{}: the service never said {ready:?} (it did not really run); exit {}, stdout: {}, stderr: {}",
                self.name,
                r.sandbox.exit_code,
                tail(&r.sandbox.stdout),
                tail(&r.sandbox.stderr)
            ));
        }
        for d in &r.detections {
            if d.evidence.is_empty() {
                out.push(format!("{}: detection {} has no evidence", self.name, d.rule));
            }
        }
        out
    }
}

/// The last 400 characters of a text (for messages).
fn tail(s: &str) -> String {
    let n = s.chars().count();
    s.chars().skip(n.saturating_sub(400)).collect()
}

/// Corpus images that carry an `expected.json`.
pub fn corpus_cases() -> Result<Vec<CorpusCase>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir)?.flatten() {
        let expected = entry.path().join("expected.json");
        if !expected.exists() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&expected)?)
            .with_context(|| format!("{}", expected.display()))?;
        cases.push(CorpusCase {
            name: entry.file_name().to_string_lossy().into_owned(),
            techniques: v["techniques"]
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
                .unwrap_or_default(),
            benign: v["benign"].as_bool().unwrap_or(false),
            timeout_s: v["timeout_s"].as_u64().unwrap_or(20),
            sinkhole: v["network"] == "sinkhole",
            ready: v["ready"].as_str().map(String::from),
            rules: v["rules"]
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
                .unwrap_or_default(),
            strict: v["sandbox"] == "strict",
            strict_incomplete: v["strict_incomplete"].as_bool().unwrap_or(false),
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}
