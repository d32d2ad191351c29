//! What the run left on disk: the container's file-system changes (Docker's changes API), with
//! the type, mode, size and sha256 of every added or changed regular file, read from the
//! container's own layers on the host after the sample has stopped.
//!
//! Everything here reads a tree the sample wrote: paths are walked component by component with
//! `lstat`, symbolic links are resolved inside the container's root only, files are opened with
//! `O_NOFOLLOW | O_NONBLOCK` after being seen to be regular, and every count and size is bounded.

use std::{
    collections::HashMap,
    io::Read,
    os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most changes listed (the rest are counted).
pub const MAX_CHANGES: usize = 5_000;
/// Largest file hashed.
pub const MAX_HASHED_FILE: u64 = 64 << 20;
/// Bytes hashed in one run at most.
pub const MAX_HASHED_TOTAL: u64 = 512 << 20;

/// One path the run added, changed or deleted.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DroppedFile {
    /// Absolute path inside the container.
    pub path: String,
    /// `added`, `changed` or `deleted`.
    pub change: String,
    /// `file`, `dir`, `symlink`, `other` (fifo, socket, device), or `unknown` (deleted or unreadable).
    pub kind: String,
    /// Content type of a regular file: `elf`, `script`, `archive` or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Permission bits (with setuid/setgid/sticky).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// sha256 of a regular file's content (absent beyond the size bounds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A program of the image's system directories with the same content: this file is a copy of
    /// it (under another name or in another place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<String>,
    /// The packer whose mark is in the first bytes of a program (`upx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packer: Option<String>,
}

impl DroppedFile {
    /// Added or changed regular file.
    pub fn is_new_content(&self) -> bool {
        self.kind == "file" && self.change != "deleted"
    }
}

/// The changes of one run, and what was left out.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileChanges {
    /// Changes, in path order.
    pub files: Vec<DroppedFile>,
    /// Changes beyond [`MAX_CHANGES`].
    pub omitted: u64,
    /// Regular files not hashed because of the size bounds.
    pub unhashed: u64,
    /// Why the changes could not be read, if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FileChanges {
    /// The entry of an absolute path.
    pub fn get(&self, path: &str) -> Option<&DroppedFile> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .and_then(|i| self.files.get(i))
    }
}

/// The container's file system as overlay layers on the host: upper first, then the lower ones.
#[derive(Clone, Debug)]
pub struct LayerFs {
    layers: Vec<PathBuf>,
}

/// What a path is in the container's final file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only for the last component when not followed).
    Symlink,
    /// Anything else.
    Other,
}

impl LayerFs {
    /// From overlay2's `UpperDir` and `LowerDir` (colon-separated), as `docker inspect` gives them.
    pub fn from_overlay(upper: &str, lower: Option<&str>) -> LayerFs {
        let mut layers = vec![PathBuf::from(upper)];
        layers.extend(
            lower
                .unwrap_or("")
                .split(':')
                .filter(|l| !l.is_empty())
                .map(PathBuf::from),
        );
        LayerFs { layers }
    }

    /// The writable layer.
    pub fn upper(&self) -> &Path {
        &self.layers[0]
    }

    /// The host path of a container path in the topmost layer that has it, following symbolic
    /// links of intermediate components (and of the last one when `follow`) inside the container's
    /// root, 40 links at most. `None` when it does not exist, is whited out, or loops.
    pub fn locate(&self, path: &str, follow: bool) -> Option<(PathBuf, std::fs::Metadata)> {
        let mut pending: Vec<String> = components(path).into_iter().rev().collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(c) = pending.pop() {
            if c == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(c);
            let rel = resolved.join("/");
            let (host, meta) = self.lookup(&rel)?;
            let last = pending.is_empty();
            if meta.file_type().is_symlink() && (!last || follow) {
                links += 1;
                if links > 40 {
                    return None;
                }
                let target = std::fs::read_link(&host).ok()?;
                let target = target.to_string_lossy().into_owned();
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(components(&target).into_iter().rev());
                continue;
            }
            if last {
                return Some((host, meta));
            }
            if !meta.is_dir() {
                return None;
            }
        }
        // The root itself.
        let root = self.layers.first()?;
        std::fs::symlink_metadata(root).ok().map(|m| (root.clone(), m))
    }

    /// The entry `rel` in the topmost layer that has it, unless whited out there.
    fn lookup(&self, rel: &str) -> Option<(PathBuf, std::fs::Metadata)> {
        for layer in &self.layers {
            let host = layer.join(rel);
            if let Ok(meta) = std::fs::symlink_metadata(&host) {
                // overlayfs whiteout: a 0/0 character device hides the lower entries.
                if meta.file_type().is_char_device() && meta.rdev() == 0 {
                    return None;
                }
                return Some((host, meta));
            }
        }
        None
    }

    /// What `path` is, following links of intermediate components only.
    pub fn path_type(&self, path: &str) -> Option<PathType> {
        let (_, meta) = self.locate(path, false)?;
        let t = meta.file_type();
        Some(if t.is_file() {
            PathType::File
        } else if t.is_dir() {
            PathType::Dir
        } else if t.is_symlink() {
            PathType::Symlink
        } else {
            PathType::Other
        })
    }
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

/// Builds the list of changes from Docker's `(path, kind)` pairs (kind 0 changed, 1 added,
/// 2 deleted), reading types, modes, sizes and hashes from `fs` when it is known; copies added or
/// changed regular files into `keep` (named by their sha256, mode 0600) when given.
pub fn collect(raw: Vec<(String, u8)>, fs: Option<&LayerFs>, keep: Option<&Path>) -> FileChanges {
    let mut out = FileChanges::default();
    let mut raw = raw;
    raw.sort();
    raw.dedup();
    let mut budget = MAX_HASHED_TOTAL;
    let mut kept: HashMap<String, ()> = HashMap::new();
    for (path, kind) in raw {
        if out.files.len() >= MAX_CHANGES {
            out.omitted += 1;
            continue;
        }
        let change = match kind {
            1 => "added",
            2 => "deleted",
            _ => "changed",
        };
        let mut entry = DroppedFile {
            path: crate::event::lossy_text(path.as_bytes()),
            change: change.into(),
            kind: "unknown".into(),
            content: None,
            size: None,
            mode: None,
            sha256: None,
            copy_of: None,
            packer: None,
        };
        if change != "deleted"
            && let Some(fs) = fs
            && let Some((host, meta)) = fs.locate(&path, false)
        {
            let t = meta.file_type();
            entry.kind = if t.is_file() {
                "file"
            } else if t.is_dir() {
                "dir"
            } else if t.is_symlink() {
                "symlink"
            } else {
                "other"
            }
            .into();
            entry.mode = Some(meta.permissions().mode() & 0o7777);
            if t.is_file() {
                entry.size = Some(meta.len());
                if meta.len() <= MAX_HASHED_FILE && meta.len() <= budget {
                    match hash_file(&host) {
                        Ok((sha, head)) => {
                            budget -= meta.len();
                            let content = content_type(&head);
                            entry.content = Some(content.into());
                            if content == "elf" {
                                entry.packer = packer(&head).map(str::to_string);
                                entry.copy_of = fs
                                    .system_program(meta.len(), &sha)
                                    .filter(|orig| *orig != entry.path);
                            }
                            if let Some(dir) = keep
                                && kept.insert(sha.clone(), ()).is_none()
                                && let Err(e) = keep_copy(&host, &dir.join(&sha))
                            {
                                tracing::warn!(path = %entry.path, error = %e, "cannot keep dropped file");
                            }
                            entry.sha256 = Some(sha);
                        }
                        Err(e) => tracing::debug!(path = %entry.path, error = %e, "cannot hash"),
                    }
                } else {
                    out.unhashed += 1;
                }
            }
        }
        out.files.push(entry);
    }
    out
}

fn open_regular(host: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags())
        .open(host)
}

fn libc_flags() -> i32 {
    (nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC).bits()
}

/// sha256 and the first bytes of a file.
fn hash_file(host: &Path) -> std::io::Result<(String, Vec<u8>)> {
    let mut f = open_regular(host)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut total: u64 = 0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 || total >= MAX_HASHED_FILE {
            break;
        }
        if head.len() < HEAD_BYTES {
            let take = n.min(HEAD_BYTES - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, head))
}

/// Copies a dropped file out for analysis: mode 0600, never executable, never over an existing file.
fn keep_copy(host: &Path, dest: &Path) -> std::io::Result<()> {
    let mut src = open_regular(host)?;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(dest)?;
    std::io::copy(&mut src.by_ref().take(MAX_HASHED_FILE), &mut dst)?;
    dst.sync_all()
}

/// Bytes of a file's start kept for its content type and packer mark.
const HEAD_BYTES: usize = 4096;
/// The image's directories of system programs (what a renamed copy imitates).
const SYSTEM_PROGRAM_DIRS: &[&str] = &[
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
];
/// Most same-size candidates hashed when looking for the original of a copy.
const MAX_COPY_CANDIDATES: usize = 8;
/// Most directory entries looked at when looking for the original of a copy.
const MAX_COPY_ENTRIES: usize = 50_000;

/// The packer that marked a program's first bytes: UPX writes `UPX!` into its stub's header.
pub fn packer(head: &[u8]) -> Option<&'static str> {
    head.windows(4).any(|w| w == b"UPX!").then_some("upx")
}

impl LayerFs {
    /// The program of the image's system directories (its lower layers) with this size and
    /// sha256, as a container path: what a dropped file is a copy of. Only regular files of the
    /// same size are hashed, and a few of them at most.
    pub fn system_program(&self, size: u64, sha: &str) -> Option<String> {
        let mut seen = 0usize;
        let mut hashed = 0usize;
        for layer in self.layers.iter().skip(1) {
            for dir in SYSTEM_PROGRAM_DIRS {
                let Ok(entries) = std::fs::read_dir(layer.join(dir)) else {
                    continue;
                };
                for e in entries.flatten() {
                    seen += 1;
                    if seen > MAX_COPY_ENTRIES || hashed >= MAX_COPY_CANDIDATES {
                        return None;
                    }
                    let Ok(meta) = e.path().symlink_metadata() else {
                        continue;
                    };
                    if !meta.is_file() || meta.len() != size {
                        continue;
                    }
                    hashed += 1;
                    if hash_file(&e.path()).is_ok_and(|(h, _)| h == sha) {
                        return Some(format!("/{dir}/{}", e.file_name().to_string_lossy()));
                    }
                }
            }
        }
        None
    }
}

/// `elf`, `script` (#!), `archive` (tar, gzip, xz, bzip2, zstd, zip) or `other`, from the first bytes.
pub fn content_type(head: &[u8]) -> &'static str {
    if head.starts_with(b"\x7fELF") {
        "elf"
    } else if head.starts_with(b"#!") {
        "script"
    } else if head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(b"\xfd7zXZ\0")
        || head.starts_with(b"BZh")
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.starts_with(b"PK\x03\x04")
        || head.get(257..262) == Some(b"ustar")
    {
        "archive"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (PathBuf, LayerFs) {
        let base = std::env::temp_dir().join(format!("st-changes-{}-{}", std::process::id(), rand_tag()));
        let upper = base.join("upper");
        let lower = base.join("lower");
        for d in [
            upper.join("tmp"),
            lower.join("run/postgresql"),
            lower.join("usr/bin"),
            upper.join("etc"),
        ] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::os::unix::fs::symlink("/run", lower.join("var-run-link")).expect("symlink");
        std::fs::create_dir_all(lower.join("var")).expect("mkdir");
        std::os::unix::fs::symlink("../run", lower.join("var/run")).expect("symlink");
        std::fs::write(upper.join("tmp/.agent"), b"#!/bin/sh\necho hi\n").expect("write");
        std::fs::write(upper.join("tmp/x.tar.gz"), [0x1f, 0x8b, 8, 0]).expect("write");
        std::fs::write(lower.join("usr/bin/tool"), b"\x7fELF....").expect("write");
        // A link that points outside the container's root must stay inside it.
        std::os::unix::fs::symlink("/etc/passwd", upper.join("tmp/escape")).expect("symlink");
        let fs = LayerFs::from_overlay(&upper.to_string_lossy(), Some(&lower.to_string_lossy()));
        (base, fs)
    }

    fn rand_tag() -> u32 {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        u32::from_le_bytes(b)
    }

    #[test]
    fn a_copy_of_a_system_program_and_a_packed_one_are_named() {
        let (base, fs) = tree();
        let prog = b"\x7fELF\x02\x01\x01 a system tool".to_vec();
        std::fs::write(base.join("lower/usr/bin/tool"), &prog).expect("write");
        // A different program of the same size is hashed and passed over.
        std::fs::write(
            base.join("lower/usr/bin/other"),
            b"\x7fELF\x02\x01\x01 another tool",
        )
        .expect("write");
        std::fs::write(base.join("upper/tmp/crond"), &prog).expect("write");
        let mut packed = b"\x7fELF\x02\x01\x01".to_vec();
        packed.extend_from_slice(&[0u8; 200]);
        packed.extend_from_slice(b"UPX!");
        std::fs::write(base.join("upper/tmp/.p"), &packed).expect("write");
        let c = collect(
            vec![("/tmp/crond".into(), 1), ("/tmp/.p".into(), 1)],
            Some(&fs),
            None,
        );
        let crond = c.get("/tmp/crond").expect("crond");
        assert_eq!(crond.copy_of.as_deref(), Some("/usr/bin/tool"));
        assert_eq!(crond.packer, None);
        let p = c.get("/tmp/.p").expect("packed");
        assert_eq!((p.packer.as_deref(), p.copy_of.as_deref()), (Some("upx"), None));
        std::fs::remove_dir_all(base).expect("cleanup");
    }

    #[test]
    fn types_hashes_and_symlinks_inside_the_root() {
        let (base, fs) = tree();
        let c = collect(
            vec![
                ("/tmp/.agent".into(), 1),
                ("/tmp/x.tar.gz".into(), 1),
                ("/tmp/escape".into(), 1),
                ("/var/run/postgresql".into(), 0),
                ("/gone".into(), 2),
            ],
            Some(&fs),
            None,
        );
        let agent = c.get("/tmp/.agent").expect("agent");
        assert_eq!(agent.kind, "file");
        assert_eq!(agent.content.as_deref(), Some("script"));
        assert_eq!(agent.size, Some(18));
        assert_eq!(agent.sha256.as_deref().map(str::len), Some(64));
        assert_eq!(
            c.get("/tmp/x.tar.gz").and_then(|f| f.content.as_deref()),
            Some("archive")
        );
        // Not followed: it is reported as a link, and the host's /etc/passwd is never read.
        assert_eq!(c.get("/tmp/escape").map(|f| f.kind.as_str()), Some("symlink"));
        assert_eq!(c.get("/var/run/postgresql").map(|f| f.kind.as_str()), Some("dir"));
        assert_eq!(c.get("/gone").map(|f| f.kind.as_str()), Some("unknown"));
        assert_eq!(fs.path_type("/var/run/postgresql"), Some(PathType::Dir));
        assert_eq!(fs.path_type("/var-run-link/postgresql"), Some(PathType::Dir));
        assert_eq!(fs.path_type("/usr/bin/tool"), Some(PathType::File));
        assert_eq!(fs.path_type("/tmp/escape"), Some(PathType::Symlink));
        // Following the link resolves inside the container root, where /etc/passwd does not exist.
        assert!(fs.locate("/tmp/escape", true).is_none());
        assert!(fs.path_type("/../../../etc/passwd").is_none());
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn kept_copies_are_private_and_not_executable() {
        let (base, fs) = tree();
        let keep = base.join("keep");
        std::fs::create_dir_all(&keep).expect("mkdir");
        let c = collect(vec![("/tmp/.agent".into(), 1)], Some(&fs), Some(&keep));
        let sha = c.files[0].sha256.clone().expect("sha");
        let meta = std::fs::metadata(keep.join(&sha)).expect("kept");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(b"\x7fELF\x02"), "elf");
        assert_eq!(content_type(b"#!/bin/sh"), "script");
        assert_eq!(content_type(b"hello"), "other");
        let mut tar = vec![0u8; 300];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(content_type(&tar), "archive");
    }
}
