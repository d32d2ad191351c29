//! Builds the sample corpus: every directory of tests/corpus is one image, built FROM scratch with
//! the static busybox of Debian's busybox-static, its own files, and its `*.c` programs compiled
//! with `gcc -static`. A `needs-strace` file adds strace and its libraries (for the benchmark).
//! `r-*` directories are real Debian services built FROM `sandtrace-real/base` (see realbase.rs),
//! made first when one of them is chosen; their Dockerfiles do everything themselves.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::{exec, realbase, root, setup::DOCKER};

/// Tag of a corpus image.
pub fn image_name(name: &str) -> String {
    format!("sandtrace-corpus/{name}:latest")
}

/// An image of real Debian services (FROM `sandtrace-real/base`).
fn is_real(name: &str) -> bool {
    name.starts_with("r-")
}

fn corpus_dirs() -> Result<Vec<PathBuf>> {
    let dir = root().join("tests/corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Dockerfile").exists())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Builds the named images (all when `names` is empty).
pub fn build(names: &[String]) -> Result<()> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
    let Some(busybox) = busybox else {
        bail!("static busybox missing: apt-get install busybox-static")
    };
    let all = corpus_dirs()?;
    let chosen: Vec<&PathBuf> = if names.is_empty() {
        all.iter().collect()
    } else {
        let mut v = Vec::new();
        for n in names {
            v.push(
                all.iter()
                    .find(|d| d.file_name().is_some_and(|f| f == n.as_str()))
                    .with_context(|| format!("no corpus image {n}"))?,
            );
        }
        v
    };
    if chosen
        .iter()
        .any(|d| d.file_name().and_then(|n| n.to_str()).is_some_and(is_real))
    {
        realbase::ensure()?;
    }
    for dir in chosen {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("corpus directory name")?;
        let stage = root().join("target/corpus").join(name);
        if stage.exists() {
            std::fs::remove_dir_all(&stage)?;
        }
        std::fs::create_dir_all(&stage)?;
        copy_tree(dir, &stage)?;
        if is_real(name) {
            docker_build(name, &stage)?;
            continue;
        }
        for entry in std::fs::read_dir(dir)?.flatten() {
            let path = entry.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "c") {
                let out = stage.join(path.file_stem().context("c file name")?);
                exec(
                    Command::new("gcc")
                        .args(["-static", "-O2", "-Wall", "-o"])
                        .arg(&out)
                        .arg(&path),
                )?;
            }
        }
        std::fs::copy(busybox, stage.join("busybox"))?;
        if dir.join("needs-strace").exists() {
            bundle_strace(&stage.join("strace-root"))?;
        }
        docker_build(name, &stage)?;
    }
    Ok(())
}

/// `docker build` of a staged context with the legacy builder. RUN steps get no network: nothing
/// is fetched while building.
fn docker_build(name: &str, stage: &Path) -> Result<()> {
    exec(
        Command::new(DOCKER)
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "--network", "none", "-t", &image_name(name)])
            .arg(stage)
            .stdout(std::process::Stdio::null()),
    )?;
    eprintln!("xtask: built {}", image_name(name));
    Ok(())
}

/// Copies strace and the shared libraries it needs, at their paths, under `dest`.
fn bundle_strace(dest: &Path) -> Result<()> {
    let strace = Path::new("/usr/bin/strace");
    let out = Command::new("ldd").arg(strace).output().context("ldd strace")?;
    let mut files = vec![strace.to_path_buf()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = line
            .split("=>")
            .last()
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("");
        if path.starts_with('/') {
            files.push(PathBuf::from(path));
        }
    }
    for f in files {
        let real = std::fs::canonicalize(&f)?;
        let target = dest.join(f.strip_prefix("/")?);
        std::fs::create_dir_all(target.parent().context("parent")?)?;
        std::fs::copy(&real, &target)?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)?.flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}
