//! The base of the `r-*` corpus images: a Debian bookworm root file system made by mmdebstrap with
//! one package list shared by every real service image (PostgreSQL, nginx, Redis, OpenSSH,
//! gunicorn, Node.js, a JDK, gcc/make, gosu, ...), imported with `docker import`. No registry: the
//! packages come from Debian's archive through apt.
//!
//! The tarball is cached under /var/cache/sandtrace/, named by a hash of the recipe (suite,
//! variant, package list, mmdebstrap options), and imported as `sandtrace-real/base:<hash>`, also
//! tagged `sandtrace-real/base:latest` (what the r-* Dockerfiles start FROM). Nothing is rebuilt
//! when both the tarball and that image exist; with only the tarball it is imported again.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};

use crate::{exec, setup::DOCKER};

/// Repository of the base image.
const REPO: &str = "sandtrace-real/base";

/// The tag the r-* Dockerfiles use.
pub const LATEST: &str = "sandtrace-real/base:latest";

/// Where the tarballs are kept between runs.
const CACHE_DIR: &str = "/var/cache/sandtrace";

const SUITE: &str = "bookworm";

/// minbase: Essential packages, apt and the "required" priority (passwd, login, ...), like Debian's
/// own container images.
const VARIANT: &str = "minbase";

/// Every package the r-* images need; recommends are not installed (mmdebstrap's default).
pub const PACKAGES: &[&str] = &[
    "adduser",
    "bash",
    "ca-certificates",
    "cron",
    "curl",
    "gcc",
    "gosu",
    "gunicorn",
    "gzip",
    "iproute2",
    "libc6-dev",
    "make",
    "netbase",
    "nginx",
    "nodejs",
    "openjdk-17-jdk-headless",
    "openssh-server",
    "passwd",
    "postgresql",
    "procps",
    "python3",
    "redis-server",
    "tar",
];

/// mmdebstrap options besides the variant and the package list. Part of the recipe hash.
const OPTIONS: &[&str] = &[
    "--aptopt=Acquire::Languages \"none\"",
    // What Debian's slim images leave out: manuals, translations, documentation (but copyrights).
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    // OpenJDK's postinst registers man pages with update-alternatives: the directory must exist.
    // postgresql-common must not create a "main" cluster: the images run initdb themselves, as
    // the official image does.
    "--essential-hook=mkdir -p \"$1/usr/share/man/man1\" \"$1/etc/postgresql-common/createcluster.d\" \
     && echo 'create_main_cluster = false' > \"$1/etc/postgresql-common/createcluster.d/00-sandtrace.conf\"",
    // Host keys are made by the sshd image at start (ssh-keygen -A), not shared by every image.
    "--customize-hook=rm -f \"$1\"/etc/ssh/ssh_host_*",
    // mmdebstrap removes the package lists and the .deb cache itself; these are left over.
    "--customize-hook=rm -rf \"$1\"/var/cache/apt/*.bin \"$1\"/var/cache/debconf/*-old \
     \"$1\"/var/lib/dpkg/*-old \"$1\"/var/log/apt/* \"$1\"/var/log/dpkg.log \"$1\"/var/log/alternatives.log",
];

/// Image configuration given to `docker import` (a tarball carries none).
const IMPORT_CHANGES: &[&str] = &[
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "CMD [\"bash\"]",
];

/// FNV-1a, 64 bits: stable across Rust releases (std's hasher is not promised to be).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Hash of everything that decides the root file system's content.
fn recipe_hash() -> String {
    let mut recipe = format!("{SUITE}\n{VARIANT}\n{}\n", PACKAGES.join(","));
    for o in OPTIONS.iter().chain(IMPORT_CHANGES) {
        recipe.push_str(o);
        recipe.push('\n');
    }
    format!("{:012x}", fnv1a(recipe.as_bytes()) >> 16)
}

fn image_exists(tag: &str) -> bool {
    Command::new(DOCKER)
        .args(["image", "inspect", tag])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The host's apt source files, as apt reads them (`sources.list`, then `sources.list.d/*.list`
/// and `*.sources`); other names (`*.disabled`, ...) are ignored, as apt ignores them.
fn host_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let main = Path::new("/etc/apt/sources.list");
    let has_entry = std::fs::read_to_string(main).is_ok_and(|s| {
        s.lines()
            .map(str::trim)
            .any(|l| l.starts_with("deb ") || l.starts_with("deb\t"))
    });
    if has_entry {
        files.push(main.to_path_buf());
    }
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "list" || e == "sources"))
            .collect();
        more.sort();
        files.extend(more);
    }
    files
}

/// Runs mmdebstrap into `out` (a tar file), with `mirrors` as its MIRROR arguments.
fn mmdebstrap(out: &Path, mirrors: &[PathBuf]) -> Result<()> {
    let mut cmd = Command::new("mmdebstrap");
    cmd.arg(format!("--variant={VARIANT}"))
        .arg(format!("--include={}", PACKAGES.join(",")))
        .arg("--format=tar")
        .args(OPTIONS)
        .arg(SUITE)
        .arg(out)
        .args(mirrors);
    exec(&mut cmd)
}

/// Makes sure `sandtrace-real/base:<hash>` exists (building or importing it as needed) and is
/// tagged `sandtrace-real/base:latest`. Returns the hashed tag.
pub fn ensure() -> Result<String> {
    let started = Instant::now();
    let hash = recipe_hash();
    let tag = format!("{REPO}:{hash}");
    let cache = Path::new(CACHE_DIR);
    let tarball = cache.join(format!("realbase-{hash}.tar"));
    let have_tarball = tarball.is_file();
    if have_tarball && image_exists(&tag) {
        exec(Command::new(DOCKER).args(["tag", &tag, LATEST]))?;
        eprintln!("xtask: {tag} is up to date (tagged {LATEST})");
        return Ok(tag);
    }
    if !have_tarball {
        std::fs::create_dir_all(cache).with_context(|| format!("creating {CACHE_DIR}"))?;
        // Written under a temporary name: an interrupted build never looks like a cached one.
        let partial = cache.join(format!("realbase-{hash}.tar.partial"));
        eprintln!(
            "xtask: building the {SUITE} root file system of {REPO} ({} packages, a few minutes)",
            PACKAGES.len()
        );
        // No MIRROR argument: mmdebstrap picks Debian's archive for a stable suite by itself.
        // Where that is not reachable, the host's own apt sources are given instead.
        if let Err(first) = mmdebstrap(&partial, &[]) {
            let sources = host_sources();
            if sources.is_empty() {
                return Err(first);
            }
            eprintln!("xtask: {first:#}; retrying with the host's apt sources {sources:?}");
            mmdebstrap(&partial, &sources)?;
        }
        std::fs::rename(&partial, &tarball)
            .with_context(|| format!("renaming {} to {}", partial.display(), tarball.display()))?;
        eprintln!(
            "xtask: {} made in {:.1} s",
            tarball.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&tarball).map(|m| m.len() >> 20).unwrap_or(0);
    if size == 0 {
        bail!("{} is empty: remove it and build again", tarball.display());
    }
    let mut import = Command::new(DOCKER);
    import.arg("import");
    for change in IMPORT_CHANGES {
        import.arg("--change").arg(change);
    }
    import
        .arg("--change")
        .arg(format!("LABEL org.sandtrace.base-recipe={hash}"))
        .arg(&tarball)
        .arg(&tag)
        .stdout(Stdio::null());
    exec(&mut import)?;
    exec(Command::new(DOCKER).args(["tag", &tag, LATEST]))?;
    eprintln!(
        "xtask: {tag} ({size} MiB tarball) ready in {:.1} s, tagged {LATEST}",
        started.elapsed().as_secs_f64()
    );
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_recipe_hash_is_a_short_stable_tag() {
        let h = recipe_hash();
        assert_eq!(h.len(), 12);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(h, recipe_hash());
    }
}
