//! Builds the eBPF probe object (ebpf-probes/probes) for `bpfel-unknown-none` with Debian's rustc and
//! bpf-linker, the way ../shared TOOLCHAIN.md describes, and leaves it in OUT_DIR for `include_bytes!`.
//!
//! If the probe toolchain is missing (no `cargo xtask setup` yet), the build still succeeds outside CI
//! with an empty object and a warning; `sandtrace analyze` then fails with a clear message. With
//! `CI` or `SANDTRACE_REQUIRE_PROBES` set, a probe build failure fails the build.
use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let probes = manifest.join("../ebpf-probes/probes");
    let common = manifest.join("../ebpf-probes/common");
    for p in [
        probes.join("src"),
        probes.join("Cargo.toml"),
        probes.join("Cargo.lock"),
        common.join("src"),
        common.join("Cargo.toml"),
    ] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-env-changed=SANDTRACE_REQUIRE_PROBES");
    println!("cargo:rerun-if-env-changed=CI");

    bundle_rules(&manifest.join("../rules"), &out_dir);

    let object = out_dir.join("sandtrace-probes.o");
    match build_probes(&probes, &out_dir) {
        Ok(built) => {
            std::fs::copy(&built, &object).expect("copy probe object into OUT_DIR");
        }
        Err(why) => {
            let required = env::var_os("SANDTRACE_REQUIRE_PROBES").is_some()
                || env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            if required {
                panic!("building the eBPF probes failed: {why}");
            }
            println!(
                "cargo:warning=eBPF probes not built ({why}); run `cargo xtask setup`. sandtrace analyze will refuse to run."
            );
            std::fs::write(&object, b"").expect("write empty probe object");
        }
    }
}

fn build_probes(probes: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let debian_rustc = Path::new("/usr/bin/rustc");
    if !debian_rustc.exists() {
        return Err("/usr/bin/rustc (Debian rustc-web) is missing".into());
    }
    if !Path::new("/usr/lib/rustlib/bpfel-unknown-none").exists() {
        return Err("the bpfel-unknown-none core library (libstd-rust-web-dev-bpf) is missing".into());
    }
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = out_dir.join("probes-target");
    let mut cmd = Command::new(cargo);
    // Start from a clean environment: the outer build's variables (RUSTC_WORKSPACE_WRAPPER from
    // clippy, RUSTFLAGS, CARGO_TARGET_DIR, ...) must not leak into the probe build.
    cmd.env_clear();
    for key in [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "TMPDIR",
        "CARGO_NET_OFFLINE",
    ] {
        if let Some(v) = env::var_os(key) {
            cmd.env(key, v);
        }
    }
    let home_bin = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin"));
    if let Some(bin) = home_bin {
        let path = env::var_os("PATH").unwrap_or_default();
        let mut paths: Vec<PathBuf> = env::split_paths(&path).collect();
        paths.push(bin);
        cmd.env("PATH", env::join_paths(paths).map_err(|e| e.to_string())?);
    }
    cmd.env("RUSTC", debian_rustc)
        .env("RUSTC_BOOTSTRAP", "aya_ebpf")
        .env("CARGO_ENCODED_RUSTFLAGS", "-Cdebuginfo=2\x1f-Clink-arg=--btf")
        .current_dir(probes)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "bpfel-unknown-none",
            "--target-dir",
        ])
        .arg(&target_dir);
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("cargo build of the probes failed:\n{}", tail.join("\n")));
    }
    let built = target_dir.join("bpfel-unknown-none/release/sandtrace-probes");
    if !built.exists() {
        return Err(format!("{} was not produced", built.display()));
    }
    Ok(built)
}

/// Embeds every rule file of rules/ (path relative to the workspace, text) as `rules_bundle.rs`.
fn bundle_rules(rules: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut files = Vec::new();
    let mut stack = vec![rules.to_path_buf()];
    while let Some(dir) = stack.pop() {
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                println!("cargo:rerun-if-changed={}", p.display());
                files.push(p);
            }
        }
    }
    files.sort();
    let mut code = String::from("&[\n");
    for f in files {
        let abs = f.canonicalize().expect("rule file path");
        let rel = f
            .strip_prefix(rules.parent().expect("rules has a parent"))
            .unwrap_or(&f);
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            rel.display().to_string(),
            abs.display().to_string()
        ));
    }
    code.push_str("]\n");
    std::fs::write(out_dir.join("rules_bundle.rs"), code).expect("write rules_bundle.rs");
}
