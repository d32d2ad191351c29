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
    /// Takes the lock of a new run. The lock counts only once it is held on the file that is at
    /// the path: another analyzer's clean-up may briefly lock the file (to see whether it is
    /// alive) or remove it between our create and our lock; then we try again.
    pub fn acquire(run_id: &str) -> io::Result<RunLock> {
        std::fs::create_dir_all(lock_dir())?;
        let path = lock_path(run_id);
        for _ in 0..200 {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => {
                    if same_file(&lock, &path) {
                        return Ok(RunLock { path, _lock: lock });
                    }
                    // Removed by a clean-up before we held it: start over on a new file.
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {}
                Err((_, e)) => return Err(io::Error::from(e)),
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Err(io::Error::other(format!(
            "cannot hold the run lock {}",
            path.display()
        )))
    }
}

/// The locked file is the one at `path` (not a file unlinked or replaced meanwhile).
fn same_file(file: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
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
        let Some(run) = name.strip_suffix(".lock") else {
            continue;
        };
        let Ok(file) = File::open(e.path()) else { continue };
        // Unlinked only while we hold its lock, and only if it is still the file at that path: a
        // run acquiring it meanwhile either holds the lock (we skip it) or sees its file gone and
        // takes a new one.
        let Ok(held) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        if same_file(&held, &e.path()) && std::fs::remove_file(e.path()).is_ok() {
            removed.push(format!("lock {run}"));
        }
        drop(held);
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
        // Clean-ups racing a run's acquire never take the lock of a live run.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cleaner = {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    remove_dead_locks();
                }
            })
        };
        for i in 0..300 {
            let id = format!("race-{i}");
            let lock = RunLock::acquire(&id).expect("lock");
            assert!(is_live(&id), "run {id} lost its lock to a clean-up");
            drop(lock);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        cleaner.join().expect("cleaner");
        let _ = std::fs::remove_dir_all(dir);
    }
}
