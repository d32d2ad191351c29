//! Idempotent machine set-up: what a fresh Debian 12 machine of this kind lacks for sandtrace.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::exec;

/// Debian packages: the probe toolchain (Debian's rustc with a prebuilt bpf core, LLVM 22 for
/// bpf-linker), the Docker engine, static busybox for the corpus, mmdebstrap for the root file system
/// of the real-service corpus images (realbase.rs), strace and GNU time (peak memory) for the
/// benchmarks, Chromium for the HTML report's browser test.
const PACKAGES: &[&str] = &[
    "rustc-web",
    "libstd-rust-web-dev-bpf",
    "llvm-22-dev",
    "bpftool",
    "docker.io",
    "busybox-static",
    "mmdebstrap",
    "strace",
    "time",
    "gcc",
    "libc6-dev",
    "chromium",
];

const BPF_LINKER_VERSION: &str = "0.13.0";

/// The Docker CLI of the Debian package (a newer client may come first on PATH; BuildKit needs this one).
pub const DOCKER: &str = "/usr/bin/docker";

pub fn run() -> Result<()> {
    if !nix_is_root() {
        bail!("cargo xtask setup needs root (apt-get, mount, dockerd); run it as root");
    }
    let started = Instant::now();
    install_packages()?;
    install_bpf_linker()?;
    mount_tracefs()?;
    start_dockerd()?;
    eprintln!(
        "xtask: setup complete in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn install_packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    exec(Command::new("apt-get").args(["update", "-q"]))?;
    exec(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing),
    )
}

fn cargo_bin(name: &str) -> std::path::PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_else(|| "/root/.cargo".into());
    home.join("bin").join(name)
}

fn install_bpf_linker() -> Result<()> {
    let bin = cargo_bin("bpf-linker");
    if let Ok(out) = Command::new(&bin).arg("--version").output()
        && String::from_utf8_lossy(&out.stdout).contains(BPF_LINKER_VERSION)
    {
        return Ok(());
    }
    eprintln!("xtask: installing bpf-linker {BPF_LINKER_VERSION} (LLVM 22)");
    // LLVM_PREFIX: /usr/bin/llvm-config is LLVM 14; without it linking fails with -lLLVM not found.
    exec(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .env("LLVM_PREFIX", "/usr/lib/llvm-22")
            .args([
                "install",
                "bpf-linker",
                "--version",
                BPF_LINKER_VERSION,
                "--no-default-features",
                "--features",
                "llvm-22",
            ]),
    )
}

fn mount_tracefs() -> Result<()> {
    if Path::new("/sys/kernel/tracing/events").exists() {
        return Ok(());
    }
    eprintln!("xtask: mounting tracefs");
    exec(Command::new("mount").args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"]))
}

fn docker_answers() -> bool {
    Command::new(DOCKER)
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn start_dockerd() -> Result<()> {
    if docker_answers() {
        return Ok(());
    }
    eprintln!("xtask: starting dockerd (no default bridge, no forwarding, no NAT)");
    let log = std::fs::File::create("/var/log/sandtrace-dockerd.log").context("creating the dockerd log")?;
    let err = log.try_clone()?;
    // setsid: dockerd must outlive this process and not get our terminal's signals.
    Command::new("setsid")
        .args([
            "dockerd",
            "--bridge=none",
            "--ip-forward=false",
            "--ip-masq=false",
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .context("cannot start dockerd")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if docker_answers() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bail!("dockerd did not answer within 60 s; see /var/log/sandtrace-dockerd.log")
}
