//! Decoded events: the user-side view of the records the probes write.
//!
//! [`decode`] is total: any byte slice gives an [`Event`] or a [`DecodeError`], never a panic.
//! Strings from the sample are bytes, not UTF-8: [`lossy`] keeps valid UTF-8 as is and shows every
//! other byte visibly as `\xNN`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use sandtrace_common::{
    EventHeader, EventKind, ExecEvent, ExitEvent, FLAG_ARGV_TRUNCATED, FLAG_COMPACT, FLAG_EXIT_ONLY,
    FLAG_STR0_TRUNCATED, FLAG_STR1_TRUNCATED, FLAG_STR2_TRUNCATED, FORK_IS_THREAD, ForkEvent, Record,
    SYSCALL_COMPACT_LEN, SyscallEvent,
};
use serde::{Deserialize, Serialize};

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The record is shorter than its kind's struct.
    #[error("record of kind {kind:#x} is {len} bytes, expected at least {need}")]
    Short {
        /// Wire kind.
        kind: u32,
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The kind value is not one we know.
    #[error("unknown record kind {0:#x}")]
    UnknownKind(u32),
}

/// One thing the sample did.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Arrival order within the run (0-based), assigned by the reader.
    pub seq: u64,
    /// Kernel boot-time clock, nanoseconds.
    pub ts_ns: u64,
    /// What happened.
    pub kind: EventKind,
    /// Process id (host pid namespace).
    pub pid: u32,
    /// Thread id (host pid namespace).
    pub tid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Task name.
    pub comm: String,
    /// A string of this event was cut at its buffer size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Kind-specific data.
    pub data: EventData,
}

/// Kind-specific part of an [`Event`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum EventData {
    /// A task was created.
    Fork {
        /// Process id of the child.
        child_pid: u32,
        /// Thread id of the child.
        child_tid: u32,
        /// The child is a thread, not a new process.
        thread: bool,
    },
    /// A program was executed.
    Exec {
        /// The file executed, as the kernel resolved it.
        filename: String,
        /// Arguments.
        argv: Vec<String>,
        /// The argument block was longer than what was captured.
        argv_truncated: bool,
        /// The environment, bounded: every variable's name, and `NAME=value` for the variables
        /// that change what a program or shell does (see [`ENV_VALUES`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        env: Vec<String>,
    },
    /// A process ended.
    Exit {
        /// Exit status when it exited normally.
        status: Option<i32>,
        /// Signal number when it was killed.
        signal: Option<i32>,
    },
    /// A traced system call.
    Syscall(Box<SyscallData>),
}

/// A traced system call, with the meaning of its arguments spelled out.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SyscallData {
    /// System call name.
    pub syscall: String,
    /// Return value (negative errno on failure).
    pub ret: i64,
    /// Error name when the call failed (`EACCES`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Path argument, as given (relative paths stay relative here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Second path (rename/link target, symlink name, mount source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path2: Option<String>,
    /// Short name (mount file-system type, memfd name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// File descriptor argument (dirfd for *at calls, socket fd, old fd of dup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i64>,
    /// Second file descriptor (new fd of dup2/dup3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd2: Option<i64>,
    /// Flags argument (open flags, clone/unshare flags, mount flags, mmap flags, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
    /// Mode or protection argument (open/chmod mode, mmap/mprotect prot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u64>,
    /// Target process (kill, ptrace, process_vm_*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pid: Option<i64>,
    /// Signal (kill) or request/command/option (ptrace, prctl, bpf, keyctl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<i64>,
    /// User or group ids (setuid family, chown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<i64>,
    /// Socket domain, type, protocol (socket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<SocketSpec>,
    /// Socket address (connect, bind, accept, sendto).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<SockAddr>,
    /// What the network sinkhole received: the first bytes of a connection or datagram (bounded,
    /// non-printable bytes escaped as \xNN), or the DNS answer it gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Bytes received by the sinkhole on that connection or datagram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Raw arguments as the kernel saw them.
    pub args: [u64; 6],
    /// Refused before its entry was traced (a seccomp filter): seen on exit, without arguments.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub before_entry: bool,
}

/// `EINPROGRESS`: a non-blocking connect that goes on in the background.
const EINPROGRESS: i64 = 115;

impl SyscallData {
    /// A non-blocking connect that was started and completes in the background: not a failure
    /// (its outcome is not a return value; the sinkhole's payload or later traffic shows it).
    pub fn in_progress(&self) -> bool {
        self.ret == -EINPROGRESS && self.syscall == "connect"
    }

    /// The call failed (a connect still in progress has not).
    pub fn failed(&self) -> bool {
        self.ret < 0 && !self.in_progress()
    }
}

/// socket(2) arguments.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SocketSpec {
    /// Address family name (`inet`, `inet6`, `unix`, `netlink`, `packet`, or the number).
    pub family: String,
    /// Socket type (`stream`, `dgram`, `raw`, ...).
    pub sock_type: String,
    /// Protocol number.
    pub protocol: i64,
}

/// A decoded socket address.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum SockAddr {
    /// IPv4 or IPv6 address and port.
    Inet {
        /// Address in its usual text form.
        address: String,
        /// Port.
        port: u16,
    },
    /// Unix socket path (`@name` for the abstract namespace).
    Unix {
        /// Path.
        path: String,
    },
    /// Any other family.
    Other {
        /// Family number.
        number: u16,
    },
}

/// Meaning of one raw argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    Skip,
    Fd,
    Fd2,
    Flags,
    Mode,
    Pid,
    Op,
    Id,
    Domain,
    SockType,
    Proto,
}

/// x86_64 system calls the probes trace: number, name, meaning of each argument position.
/// Strings and socket addresses come in their own record fields, so their positions are `Skip`.
const SYSCALLS: &[(u32, &str, &[Arg])] = {
    use Arg::*;
    &[
        (2, "open", &[Skip, Flags, Mode]),
        (9, "mmap", &[Skip, Skip, Mode, Flags, Fd]),
        (10, "mprotect", &[Skip, Skip, Mode]),
        (32, "dup", &[Fd]),
        (33, "dup2", &[Fd, Fd2]),
        (41, "socket", &[Domain, SockType, Proto]),
        (42, "connect", &[Fd]),
        (43, "accept", &[Fd]),
        (44, "sendto", &[Fd, Skip, Skip, Flags]),
        (46, "sendmsg", &[Fd, Skip, Flags]),
        (49, "bind", &[Fd]),
        (50, "listen", &[Fd, Op]),
        (59, "execve", &[]),
        (62, "kill", &[Pid, Op]),
        (76, "truncate", &[Skip, Mode]),
        (77, "ftruncate", &[Fd, Mode]),
        (80, "chdir", &[]),
        (81, "fchdir", &[Fd]),
        (82, "rename", &[]),
        (83, "mkdir", &[Skip, Mode]),
        (84, "rmdir", &[]),
        (85, "creat", &[Skip, Mode]),
        (86, "link", &[]),
        (87, "unlink", &[]),
        (88, "symlink", &[]),
        (90, "chmod", &[Skip, Mode]),
        (91, "fchmod", &[Fd, Mode]),
        (92, "chown", &[Skip, Id, Id]),
        (93, "fchown", &[Fd, Id, Id]),
        (94, "lchown", &[Skip, Id, Id]),
        (101, "ptrace", &[Op, Pid]),
        (105, "setuid", &[Id]),
        (106, "setgid", &[Id]),
        (113, "setreuid", &[Id, Id]),
        (114, "setregid", &[Id, Id]),
        (117, "setresuid", &[Id, Id, Id]),
        (119, "setresgid", &[Id, Id, Id]),
        (126, "capset", &[]),
        (155, "pivot_root", &[]),
        (157, "prctl", &[Op, Flags]),
        (161, "chroot", &[]),
        (165, "mount", &[Skip, Skip, Skip, Flags]),
        (166, "umount2", &[Skip, Flags]),
        (175, "init_module", &[]),
        (176, "delete_module", &[Skip, Flags]),
        (200, "tkill", &[Pid, Op]),
        (234, "tgkill", &[Pid, Skip, Op]),
        (250, "keyctl", &[Op]),
        (257, "openat", &[Fd, Skip, Flags, Mode]),
        (258, "mkdirat", &[Fd, Skip, Mode]),
        (260, "fchownat", &[Fd, Skip, Id, Id, Flags]),
        (263, "unlinkat", &[Fd, Skip, Flags]),
        (264, "renameat", &[Fd, Skip, Fd2]),
        (265, "linkat", &[Fd, Skip, Fd2, Skip, Flags]),
        (266, "symlinkat", &[Skip, Fd]),
        (268, "fchmodat", &[Fd, Skip, Mode]),
        (272, "unshare", &[Flags]),
        (280, "utimensat", &[Fd, Skip, Skip, Flags]),
        (288, "accept4", &[Fd, Skip, Skip, Flags]),
        (292, "dup3", &[Fd, Fd2, Flags]),
        (308, "setns", &[Fd, Flags]),
        (310, "process_vm_readv", &[Pid]),
        (311, "process_vm_writev", &[Pid]),
        (313, "finit_module", &[Fd, Skip, Flags]),
        (316, "renameat2", &[Fd, Skip, Fd2, Skip, Flags]),
        (319, "memfd_create", &[Skip, Flags]),
        (321, "bpf", &[Op]),
        (322, "execveat", &[Fd, Skip, Skip, Skip, Flags]),
        (425, "io_uring_setup", &[Skip]),
        (437, "openat2", &[Fd, Skip, Flags]),
        (452, "fchmodat2", &[Fd, Skip, Mode, Flags]),
    ]
};

/// The x86_64 number of a traced system call, by name.
pub fn syscall_nr(name: &str) -> Option<u32> {
    SYSCALLS.iter().find(|(_, n, _)| *n == name).map(|(nr, _, _)| *nr)
}

/// Bitmap (bit `nr`) of every system call in the table: the probes' exit handler ignores the others
/// before doing any work.
pub fn tracked_syscall_bitmap() -> [u64; 8] {
    let mut bits = [0u64; 8];
    for (nr, _, _) in SYSCALLS {
        if let Some(word) = bits.get_mut(*nr as usize / 64) {
            *word |= 1 << (nr % 64);
        }
    }
    bits
}

/// The kind of event a traced x86_64 system call makes (for calls seen on exit only).
pub fn kind_of_nr(nr: u32) -> Option<EventKind> {
    use EventKind::*;
    Some(match nr {
        2 | 85 | 257 | 437 => Open,
        9 | 10 => ExecMemory,
        32 | 33 | 292 => Dup,
        41 => Socket,
        42 => Connect,
        43 | 288 => Accept,
        44 | 46 => SendTo,
        49 => Bind,
        50 => Listen,
        59 | 322 => ExecFailed,
        62 | 200 | 234 => Kill,
        76 | 77 => Truncate,
        80 | 81 => Chdir,
        82 | 264 | 316 => Rename,
        83 | 258 => Mkdir,
        84 | 87 | 263 => Unlink,
        86 | 265 => Link,
        88 | 266 => Symlink,
        90 | 91 | 268 | 452 => Chmod,
        92..=94 | 260 => Chown,
        101 => Ptrace,
        105 | 106 | 113 | 114 | 117 | 119 => SetId,
        126 => Capset,
        155 | 161 => PivotRoot,
        157 => Prctl,
        165 => Mount,
        166 => Umount,
        175 | 176 | 313 => KernelModule,
        250 => Keyctl,
        272 => Unshare,
        280 => SetTimes,
        308 => Setns,
        310 | 311 => ProcessVm,
        319 => MemfdCreate,
        321 => Bpf,
        425 => IoUringSetup,
        _ => return None,
    })
}

/// The snake_case name of a kind, as used in reports.
pub fn kind_name(kind: EventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{kind:?}"))
}

/// The kind of a snake_case name (`open`, `dns_query`).
pub fn kind_from_name(name: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| kind_name(*k) == name)
}

/// Name of an x86_64 system call the probes trace, if known.
pub fn syscall_name(nr: u32) -> Option<&'static str> {
    SYSCALLS
        .iter()
        .find(|(n, _, _)| *n == nr)
        .map(|(_, name, _)| *name)
}

/// Like [`lossy`] but keeps newlines and tabs (for captured program output).
pub fn lossy_text(bytes: &[u8]) -> String {
    escape_bytes(bytes, true)
}

/// Shows bytes from the sample as text: valid UTF-8 as is, every other byte as `\xNN`, and control
/// characters escaped, so nothing the sample writes can hide or forge report lines.
pub fn lossy(bytes: &[u8]) -> String {
    escape_bytes(bytes, false)
}

fn escape_bytes(bytes: &[u8], keep_lines: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_escaped(&mut out, s, keep_lines);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // `good` is valid by construction.
                push_escaped(
                    &mut out,
                    std::str::from_utf8(good).unwrap_or_default(),
                    keep_lines,
                );
                let n = e.error_len().unwrap_or(bad.len()).clamp(1, bad.len());
                for b in &bad[..n] {
                    let _ = write!(out, "\\x{b:02x}");
                }
                rest = &bad[n..];
            }
        }
    }
    out
}

/// Characters that could reorder or split what a reader sees: bidi controls and line separators.
fn deceptive(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, s: &str, keep_lines: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' | '\t' if keep_lines => out.push(c),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            // Non-ASCII controls are valid characters, shown apart from invalid bytes.
            c if c.is_control() || deceptive(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Bytes of a NUL-terminated string in a fixed buffer, limited to `len` (which counts the NUL).
fn c_bytes(buf: &[u8], len: u32) -> &[u8] {
    let len = (len as usize).min(buf.len());
    let b = &buf[..len];
    match b.iter().position(|&c| c == 0) {
        Some(end) => &b[..end],
        None => b,
    }
}

fn opt_str(buf: &[u8], len: u32) -> Option<String> {
    (len > 0).then(|| lossy(c_bytes(buf, len)))
}

/// Reads a `T` from the start of `bytes` (unaligned). The caller checked the length.
fn read_record<T: Record>(bytes: &[u8]) -> T {
    debug_assert!(bytes.len() >= T::SIZE);
    // SAFETY: the length was checked against size_of::<T>() by the caller, T is a repr(C) Copy
    // struct of integers and byte arrays, for which every bit pattern is valid.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) }
}

fn need<T: Record>(bytes: &[u8], kind: u32) -> Result<T, DecodeError> {
    if bytes.len() < T::SIZE {
        return Err(DecodeError::Short {
            kind,
            len: bytes.len(),
            need: T::SIZE,
        });
    }
    Ok(read_record(bytes))
}

/// A syscall record, full or compact (cut after `str0`, the rest zero).
fn syscall_record(bytes: &[u8], header: &EventHeader) -> Result<SyscallEvent, DecodeError> {
    if header.flags & FLAG_COMPACT == 0 || bytes.len() >= SyscallEvent::SIZE {
        return need(bytes, header.kind);
    }
    if bytes.len() < SYSCALL_COMPACT_LEN {
        return Err(DecodeError::Short {
            kind: header.kind,
            len: bytes.len(),
            need: SYSCALL_COMPACT_LEN,
        });
    }
    let mut full = vec![0u8; SyscallEvent::SIZE];
    full[..SYSCALL_COMPACT_LEN].copy_from_slice(&bytes[..SYSCALL_COMPACT_LEN]);
    Ok(read_record(&full))
}

/// Decodes one ring-buffer record. `seq` is stored as the event's arrival number.
pub fn decode(bytes: &[u8], seq: u64) -> Result<Event, DecodeError> {
    let header: EventHeader = need(
        bytes,
        bytes
            .get(..4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    )?;
    let mut kind = EventKind::from_u32(header.kind).ok_or(DecodeError::UnknownKind(header.kind))?;
    let mut truncated = header.flags & (FLAG_STR0_TRUNCATED | FLAG_STR1_TRUNCATED | FLAG_STR2_TRUNCATED) != 0;
    let data = match kind {
        EventKind::Fork => {
            let r: ForkEvent = need(bytes, header.kind)?;
            EventData::Fork {
                child_pid: r.child_pid,
                child_tid: r.child_tid,
                thread: r.fork_flags & FORK_IS_THREAD != 0,
            }
        }
        EventKind::Exec => {
            let r: ExecEvent = need(bytes, header.kind)?;
            let argv_truncated = r.header.flags & FLAG_ARGV_TRUNCATED != 0;
            truncated |= argv_truncated;
            EventData::Exec {
                filename: lossy(c_bytes(&r.filename, r.filename_len)),
                argv: split_argv(&r.argv[..(r.argv_len as usize).min(r.argv.len())]),
                argv_truncated,
                env: env_facts(&r.env[..(r.env_len as usize).min(r.env.len())]),
            }
        }
        EventKind::Exit => {
            let r: ExitEvent = need(bytes, header.kind)?;
            if r.exit_code_known == 0 {
                EventData::Exit {
                    status: None,
                    signal: None,
                }
            } else if r.exit_code & 0x7f != 0 {
                EventData::Exit {
                    status: None,
                    signal: Some((r.exit_code & 0x7f) as i32),
                }
            } else {
                EventData::Exit {
                    status: Some(((r.exit_code >> 8) & 0xff) as i32),
                    signal: None,
                }
            }
        }
        _ => {
            let r: Box<SyscallEvent> = Box::new(syscall_record(bytes, &header)?);
            let mut d = syscall_data(&r);
            if header.flags & FLAG_EXIT_ONLY != 0 {
                // A call refused before its entry: its kind is its number's, its arguments unknown.
                kind = kind_of_nr(r.nr).ok_or(DecodeError::UnknownKind(header.kind))?;
                d = SyscallData {
                    syscall: d.syscall,
                    ret: d.ret,
                    error: d.error,
                    before_entry: true,
                    ..SyscallData::default()
                };
            }
            EventData::Syscall(Box::new(d))
        }
    };
    Ok(Event {
        seq,
        ts_ns: header.ts_ns,
        kind,
        pid: header.pid,
        tid: header.tid,
        ppid: header.ppid,
        uid: header.uid,
        gid: header.gid,
        cgroup_id: header.cgroup_id,
        comm: lossy(c_bytes(&header.comm, header.comm.len() as u32)),
        truncated,
        data,
    })
}

/// Splits the kernel's argument block (`a\0b\0c\0`) into arguments.
/// Variables whose values are kept: the loader, shell history and start-up, proxies, the search
/// path, agent sockets and interpreter start-up hooks.
pub const ENV_VALUES: &[&str] = &[
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "HISTFILE",
    "HISTSIZE",
    "HISTFILESIZE",
    "HISTCONTROL",
    "HISTIGNORE",
    "PROMPT_COMMAND",
    "BASH_ENV",
    "ENV",
    "PATH",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "ftp_proxy",
    "SSH_AUTH_SOCK",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5OPT",
    "PERL5LIB",
    "NODE_OPTIONS",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
];
/// Most variables kept per exec.
const MAX_ENV: usize = 64;
/// Most characters of a kept value.
const MAX_ENV_VALUE: usize = 256;

/// The environment facts of an exec: every name, values for [`ENV_VALUES`] and for values that
/// name a mining pool (`stratum+tcp://`).
pub fn env_facts(block: &[u8]) -> Vec<String> {
    let block = block.strip_suffix(&[0]).unwrap_or(block);
    let mut out = Vec::new();
    for entry in block.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        if out.len() >= MAX_ENV {
            break;
        }
        let text = lossy(entry);
        let (name, value) = text.split_once('=').unwrap_or((text.as_str(), ""));
        if ENV_VALUES.contains(&name) || value.contains("stratum+") {
            let value: String = value.chars().take(MAX_ENV_VALUE).collect();
            out.push(format!("{name}={value}"));
        } else {
            out.push(name.chars().take(MAX_ENV_VALUE).collect());
        }
    }
    out
}

fn split_argv(block: &[u8]) -> Vec<String> {
    let block = block.strip_suffix(&[0]).unwrap_or(block);
    if block.is_empty() {
        return Vec::new();
    }
    block.split(|&b| b == 0).map(lossy).collect()
}

fn syscall_data(r: &SyscallEvent) -> SyscallData {
    let (name, roles): (String, &[Arg]) = match SYSCALLS.iter().find(|(n, _, _)| *n == r.nr) {
        Some((_, name, roles)) => ((*name).to_string(), roles),
        None => (format!("syscall_{}", r.nr), &[]),
    };
    let mut d = SyscallData {
        syscall: name,
        ret: r.ret,
        error: (r.ret < 0).then(|| {
            r.ret
                .checked_neg()
                .map_or_else(|| format!("E{}", r.ret), errno_name)
        }),
        path: opt_str(&r.str0, r.str_len[0]),
        path2: opt_str(&r.str1, r.str_len[1]),
        name: opt_str(&r.str2, r.str_len[2]),
        args: r.args,
        ..SyscallData::default()
    };
    let mut socket = (None, None, None);
    for (i, role) in roles.iter().enumerate() {
        let raw = r.args[i];
        let signed = raw as i64;
        match role {
            Arg::Skip => {}
            // fds and pids are C ints: keep the sign of the low 32 bits (AT_FDCWD is -100).
            Arg::Fd => d.fd = Some(i64::from(raw as u32 as i32)),
            Arg::Fd2 => d.fd2 = Some(i64::from(raw as u32 as i32)),
            Arg::Flags => d.flags = Some(raw),
            Arg::Mode => d.mode = Some(raw),
            Arg::Pid => d.target_pid = Some(i64::from(raw as u32 as i32)),
            Arg::Op => d.op = Some(signed),
            Arg::Id => d.ids.push(i64::from(raw as u32 as i32)),
            Arg::Domain => socket.0 = Some(raw),
            Arg::SockType => socket.1 = Some(raw),
            Arg::Proto => socket.2 = Some(signed),
        }
    }
    if let (Some(domain), Some(ty), Some(proto)) = socket {
        d.socket = Some(SocketSpec {
            family: family_name(domain as u16),
            sock_type: sock_type_name(ty),
            protocol: proto,
        });
    }
    let addr_len = (r.sockaddr_len as usize).min(r.sockaddr.len());
    if addr_len >= 2 {
        d.addr = Some(decode_sockaddr(&r.sockaddr[..addr_len]));
    }
    d
}

/// Decodes a `struct sockaddr` of the given bytes (at least the 2-byte family).
pub fn decode_sockaddr(b: &[u8]) -> SockAddr {
    let family = u16::from_le_bytes([b.first().copied().unwrap_or(0), b.get(1).copied().unwrap_or(0)]);
    match family {
        2 if b.len() >= 8 => SockAddr::Inet {
            address: Ipv4Addr::new(b[4], b[5], b[6], b[7]).to_string(),
            port: u16::from_be_bytes([b[2], b[3]]),
        },
        10 if b.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            SockAddr::Inet {
                address: Ipv6Addr::from(a).to_string(),
                port: u16::from_be_bytes([b[2], b[3]]),
            }
        }
        1 => {
            let p = b.get(2..).unwrap_or_default();
            let path = if p.first() == Some(&0) {
                let name = &p[1..];
                let end = name.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
                format!("@{}", lossy(&name[..end]))
            } else {
                lossy(c_bytes(p, p.len() as u32))
            };
            SockAddr::Unix { path }
        }
        n => SockAddr::Other { number: n },
    }
}

fn family_name(f: u16) -> String {
    match f {
        1 => "unix".into(),
        2 => "inet".into(),
        10 => "inet6".into(),
        16 => "netlink".into(),
        17 => "packet".into(),
        n => n.to_string(),
    }
}

fn sock_type_name(t: u64) -> String {
    // The low 4 bits are the type; SOCK_NONBLOCK/SOCK_CLOEXEC ride above them.
    match t & 0xf {
        1 => "stream".into(),
        2 => "dgram".into(),
        3 => "raw".into(),
        5 => "seqpacket".into(),
        n => n.to_string(),
    }
}

/// Name of an errno value (`EACCES`), or `E<number>`.
pub fn errno_name(errno: i64) -> String {
    let name = match errno {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        4 => "EINTR",
        5 => "EIO",
        7 => "E2BIG",
        8 => "ENOEXEC",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        18 => "EXDEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        24 => "EMFILE",
        26 => "ETXTBSY",
        28 => "ENOSPC",
        30 => "EROFS",
        36 => "ENAMETOOLONG",
        38 => "ENOSYS",
        39 => "ENOTEMPTY",
        40 => "ELOOP",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        101 => "ENETUNREACH",
        104 => "ECONNRESET",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        115 => "EINPROGRESS",
        _ => return format!("E{errno}"),
    };
    name.to_string()
}

pub mod fixture;

#[cfg(test)]
mod roundtrip;
#[cfg(test)]
mod tests;
