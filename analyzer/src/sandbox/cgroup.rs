//! The run's parent cgroup: created before the container so its id is known before anything runs.
//!
//! Docker is told `--cgroup-parent /sandtrace-<run>`; every process of the container then lives
//! below this cgroup in every hierarchy, and the probes match it with
//! `bpf_get_current_ancestor_cgroup_id`. runc creates the cgroup v1 directories of the parent itself
//! and leaves them behind: [`RunCgroup::remove`] removes them in every hierarchy.

use std::{
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

/// Prefix of every cgroup, container and label sandtrace creates.
pub const PREFIX: &str = "sandtrace-";

/// Why the run cgroup could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// No cgroup v2 hierarchy is mounted.
    #[error("no cgroup v2 hierarchy is mounted (needed to filter events by run)")]
    NoCgroup2,
    /// A cgroup directory operation failed.
    #[error("cgroup {path}: {source}")]
    Io {
        /// Directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// A mounted cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMount {
    /// Mount point.
    pub path: PathBuf,
    /// True for cgroup2.
    pub v2: bool,
    /// The directory of the hierarchy mounted there (`/` for the whole hierarchy; deeper when a
    /// container or a cgroup namespace mounted only its part).
    pub root: String,
}

impl CgroupMount {
    /// Depth below the hierarchy's root of a directory `name` created at this mount point: what
    /// `bpf_get_current_ancestor_cgroup_id` must be asked for.
    pub fn level_of_child(&self) -> u32 {
        let depth = self.root.split('/').filter(|c| !c.is_empty()).count();
        u32::try_from(depth).unwrap_or(u32::MAX).saturating_add(1)
    }
}

/// Lists cgroup mounts from `/proc/self/mountinfo` text.
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in text.lines() {
        // fields: id parent major:minor root mount-point options ... - fstype source super-options
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(fstype) = right.split_whitespace().next() else {
            continue;
        };
        let mut fields = left.split_whitespace();
        let (Some(root), Some(mount_point)) = (fields.nth(3), fields.next()) else {
            continue;
        };
        let v2 = match fstype {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        out.push(CgroupMount {
            path: PathBuf::from(unescape_mount(mount_point)),
            v2,
            root: unescape_mount(root),
        });
    }
    out
}

fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The cgroup mounts of this machine.
pub fn mounts() -> Result<Vec<CgroupMount>, CgroupError> {
    let path = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
        path: path.into(),
        source,
    })?;
    Ok(parse_mountinfo(&text))
}

/// The parent cgroup of one run.
#[derive(Debug)]
pub struct RunCgroup {
    name: String,
    v2_dir: PathBuf,
    id: u64,
    level: u32,
}

impl RunCgroup {
    /// Creates `/<PREFIX><run_id>` in the cgroup v2 hierarchy.
    pub fn create(run_id: &str) -> Result<RunCgroup, CgroupError> {
        let v2 = mounts()?
            .into_iter()
            .find(|m| m.v2)
            .ok_or(CgroupError::NoCgroup2)?;
        let name = format!("{PREFIX}{run_id}");
        let v2_dir = v2.path.join(&name);
        std::fs::create_dir(&v2_dir).map_err(|source| CgroupError::Io {
            path: v2_dir.clone(),
            source,
        })?;
        let id = std::fs::metadata(&v2_dir)
            .map_err(|source| CgroupError::Io {
                path: v2_dir.clone(),
                source,
            })?
            .ino();
        Ok(RunCgroup {
            name,
            v2_dir,
            id,
            level: v2.level_of_child(),
        })
    }

    /// The cgroup v2 id (inode number of the directory), which `bpf_get_current_ancestor_cgroup_id` returns.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Depth below the v2 hierarchy's root, from where that hierarchy is mounted (a run cgroup
    /// created under a mount of `/docker/x` sits at level 3). Under a cgroup namespace the mount
    /// root is relative to the namespace and the probes may see nothing: a run whose entrypoint
    /// was never seen then fails (exit 2) rather than reading clean.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// The `--cgroup-parent` value for Docker.
    pub fn docker_parent(&self) -> String {
        format!("/{}", self.name)
    }

    /// Directory in the v2 hierarchy.
    pub fn v2_dir(&self) -> &Path {
        &self.v2_dir
    }

    /// Removes the run's cgroup directories in every hierarchy (after the container is gone).
    pub fn remove(&self) -> Result<(), CgroupError> {
        remove_named(&self.name)
    }
}

/// Removes `/<name>` and anything below it in every cgroup hierarchy. Missing directories are fine.
pub fn remove_named(name: &str) -> Result<(), CgroupError> {
    let mut first_error = None;
    for m in mounts()? {
        let dir = m.path.join(name);
        if let Err(e) = remove_tree(&dir)
            && first_error.is_none()
        {
            first_error = Some(CgroupError::Io { path: dir, source: e });
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// cgroup directories are removed with rmdir, children first (their files cannot be unlinked).
fn remove_tree(dir: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    // A cgroup whose last process is still being reaped is briefly busy.
    let mut last = Ok(());
    for _ in 0..50 {
        last = std::fs::remove_dir(dir);
        match &last {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc_ebusy()) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(_) => break,
        }
    }
    last
}

const fn libc_ebusy() -> i32 {
    16
}

/// Names of leftover run cgroups (`sandtrace-*`) in any hierarchy.
pub fn leftovers() -> Result<Vec<String>, CgroupError> {
    let mut names = Vec::new();
    for m in mounts()? {
        let Ok(entries) = std::fs::read_dir(&m.path) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(PREFIX) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_and_v2_mounts() {
        let text = "\
30 23 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
33 30 0:29 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,cpu
garbage line";
        let m = parse_mountinfo(text);
        assert_eq!(
            m,
            vec![
                CgroupMount {
                    path: "/sys/fs/cgroup/unified".into(),
                    v2: true,
                    root: "/".into(),
                },
                CgroupMount {
                    path: "/sys/fs/cgroup/pids".into(),
                    v2: false,
                    root: "/".into(),
                },
                CgroupMount {
                    path: "/sys/fs/cgroup/my dir".into(),
                    v2: false,
                    root: "/".into(),
                },
            ]
        );
        assert_eq!(m[0].level_of_child(), 1);
    }

    #[test]
    fn the_level_follows_where_the_hierarchy_is_mounted() {
        // A container (or a nested hierarchy) that mounts only its own part of the v2 tree.
        let text = "41 30 0:27 /docker/abc123 /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw";
        let m = parse_mountinfo(text);
        assert_eq!(m[0].root, "/docker/abc123");
        assert_eq!(m[0].level_of_child(), 3);
    }

    #[test]
    fn remove_tree_removes_children_first_and_ignores_missing() {
        let base = std::env::temp_dir().join(format!("sandtrace-cg-test-{}", std::process::id()));
        std::fs::create_dir_all(base.join("a/b")).expect("mkdir");
        remove_tree(&base).expect("remove");
        assert!(!base.exists());
        remove_tree(&base).expect("missing is fine");
    }
}
