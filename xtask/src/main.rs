//! `cargo xtask`: set-up, demo, tests, corpus images and benchmarks.
//!
//! xtask depends on nothing of sandtrace itself: it must build on a fresh machine before the probe
//! toolchain it installs exists.

mod bench;
mod corpus;
mod realbase;
mod setup;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "sandtrace's set-up, demo, test and benchmark driver"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what is missing (Debian packages, bpf-linker), mount tracefs, start dockerd. Idempotent.
    Setup,
    /// Build the sample corpus images (tests/corpus/*) with the local Docker engine.
    Corpus {
        /// Only these images (directory names).
        names: Vec<String>,
    },
    /// Regenerate the ATT&CK catalogue (mitre-mapping/src/generated.rs) from MITRE's STIX data.
    Mitre,
    /// Set up, build, analyze the bundled demo sample and print its report.
    Demo,
    /// Set up, then run every test tier (format, lints, unit, privileged end-to-end).
    Test {
        /// Skip `cargo fmt --check` and clippy.
        #[arg(long)]
        no_lint: bool,
    },
    /// Benchmarks (figures go to BENCHMARKS.md with --write).
    Bench {
        /// Which benchmark.
        #[arg(value_enum)]
        which: bench::Which,
        /// Rewrite the matching section of BENCHMARKS.md with the results.
        #[arg(long)]
        write: bool,
        /// Repetitions of each measurement (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Setup => setup::run(),
        Cmd::Corpus { names } => {
            setup::run()?;
            corpus::build(&names)
        }
        Cmd::Mitre => exec(Command::new("python3").arg(root().join("mitre-mapping/regenerate.py"))),
        Cmd::Demo => demo(),
        Cmd::Test { no_lint } => test(no_lint),
        Cmd::Bench { which, write, runs } => {
            if matches!(which, bench::Which::Capture) {
                setup::run()?;
            }
            bench::run(which, write, runs)
        }
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command, failing with its description when it fails.
pub fn exec(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    // The probe build inside analyzer/build.rs must not be skipped silently from here on.
    c.env("SANDTRACE_REQUIRE_PROBES", "1");
    c
}

fn demo() -> Result<()> {
    setup::run()?;
    exec(cargo().args(["build", "--release", "-p", "sandtrace"]))?;
    corpus::build(&["demo".to_string()])?;
    let bin = root().join("target/release/sandtrace");
    eprintln!("xtask: sandtrace analyze {}", corpus::image_name("demo"));
    let status = Command::new(&bin)
        .args([
            "analyze",
            &corpus::image_name("demo"),
            "--timeout",
            "30s",
            "--fail-on",
            "critical",
        ])
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    // 0 and 1 are finished analyses (1: detections at or above --fail-on); 2 is a failure.
    match status.code() {
        Some(0 | 1) => Ok(()),
        _ => bail!("the demo analysis failed ({status})"),
    }
}

fn test(no_lint: bool) -> Result<()> {
    setup::run()?;
    if !no_lint {
        exec(cargo().args(["fmt", "--all", "--", "--check"]))?;
        exec(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(root().join("ebpf-probes/probes"))
                .args(["fmt", "--", "--check"]),
        )?;
        exec(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    }
    corpus::build(&[])?;
    // Unit tests and the privileged end-to-end tests; e2e runs serially-ish: two cores.
    exec(cargo().args(["test", "--workspace", "--", "--test-threads=2"]))?;
    Ok(())
}
