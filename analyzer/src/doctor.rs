//! `sandtrace doctor`: checks each requirement of a run and says what to fix.

use std::path::Path;

use crate::{capture, sandbox};

/// One requirement and whether it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Holds.
    pub ok: bool,
    /// What was found, or how to fix it.
    pub detail: String,
}

fn check(name: &'static str, ok: bool, good: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        ok,
        detail: if ok { good.into() } else { fix.into() },
    }
}

/// Runs every check (Docker is asked with a short time limit).
pub async fn run_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    let root = nix::unistd::geteuid().is_root();
    checks.push(check(
        "root",
        root,
        "running as root",
        "run as root: eBPF programs and cgroups need it",
    ));
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    checks.push(check(
        "kernel BTF",
        btf,
        "/sys/kernel/btf/vmlinux present",
        "the kernel needs CONFIG_DEBUG_INFO_BTF=y",
    ));
    if btf {
        match capture::btf::Btf::from_sys_fs().and_then(|b| b.kernel_offsets()) {
            Ok(o) => checks.push(check(
                "struct offsets",
                true,
                format!(
                    "task_struct.tgid at {}, mm_struct.arg_start at {}",
                    o.task_tgid, o.mm_arg_start
                ),
                "",
            )),
            Err(e) => checks.push(check("struct offsets", false, "", format!("{e}"))),
        }
    }
    let tracefs = Path::new("/sys/kernel/tracing/events/syscalls").exists()
        || Path::new("/sys/kernel/debug/tracing/events/syscalls").exists();
    checks.push(check(
        "tracefs",
        tracefs,
        "syscall tracepoints visible",
        "mount tracefs: mount -t tracefs tracefs /sys/kernel/tracing (cargo xtask setup does it)",
    ));
    let cg2 = sandbox::cgroup::mounts()
        .map(|m| m.into_iter().find(|m| m.v2))
        .ok()
        .flatten();
    checks.push(check(
        "cgroup v2",
        cg2.is_some(),
        cg2.map(|m| format!("mounted at {}", m.path.display()))
            .unwrap_or_default(),
        "mount a cgroup2 hierarchy (runs are filtered by cgroup v2 id)",
    ));
    checks.push(check(
        "probes",
        capture::probes_built(),
        "eBPF object embedded",
        "this binary was built without the probe toolchain: run `cargo xtask setup`, then rebuild",
    ));
    let docker = tokio::time::timeout(std::time::Duration::from_secs(5), sandbox::Sandbox::connect()).await;
    let (ok, detail) = match docker {
        Ok(Ok(_)) => (true, "daemon answers".to_string()),
        Ok(Err(e)) => (false, e.to_string()),
        Err(_) => (
            false,
            "no answer within 5 s; start dockerd (cargo xtask setup does it)".to_string(),
        ),
    };
    checks.push(Check {
        name: "docker",
        ok,
        detail,
    });
    checks
}
