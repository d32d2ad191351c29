//! A lock file held by the analyzer for as long as a run is in progress.
//!
//! `gc` (and the start of every run) removes containers and cgroups of runs whose lock is free:
//! their analyzer is gone. Locks of live runs, from any process, are held and left alone.

use std::{fs::File, io, path::PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// Directory of run lock files.
pub fn lock_dir() -> PathBuf {
    std::env::var_os("SANDTRACE_RUN_DIR").map_or_else(|| PathBuf::from("/run/sandtrace"), PathBuf::from)
}

fn lock_path(run_id: &str) -> PathBuf {
    // Run ids are ours (alphanumeric and '-'); anything else cannot name a lock.
    let safe: String = run_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    lock_dir().join(format!("{safe}.lock"))
}

/// The held lock of a live run; released (and its file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    _lock: Flock<File>,
}

impl RunLock {
    /// Takes the lock of a new run.
    pub fn acquire(run_id: &str) -> io::Result<RunLock> {
        std::fs::create_dir_all(lock_dir())?;
        let path = lock_path(run_id);
        let file = File::create(&path)?;
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| io::Error::from(e))?;
        Ok(RunLock { path, _lock: lock })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// True when an analyzer still holds the lock of `run_id`.
pub fn is_live(run_id: &str) -> bool {
    let Ok(file) = File::open(lock_path(run_id)) else {
        return false;
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(_released_on_drop) => false,
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => true,
        Err(_) => false,
    }
}

/// Removes the lock files of runs that are no longer alive (their analyzer died before its clean-up).
pub fn remove_dead_locks() -> Vec<String> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(lock_dir()) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(run) = name.strip_suffix(".lock")
            && !is_live(run)
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed.push(format!("lock {run}"));
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_live_and_a_dropped_one_is_not() {
        let dir = std::env::temp_dir().join(format!("sandtrace-locks-{}", std::process::id()));
        // SAFETY of set_var: this test binary sets this variable only here, before reading it.
        unsafe { std::env::set_var("SANDTRACE_RUN_DIR", &dir) };
        let lock = RunLock::acquire("r1-test").expect("lock");
        assert!(is_live("r1-test"));
        drop(lock);
        assert!(!is_live("r1-test"));
        assert!(!is_live("never-existed"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
