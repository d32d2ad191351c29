//! Fixture events: the short event descriptions rule files (and tests) are written with, turned
//! into real events.

use sandtrace_common::EventKind;
use serde::Deserialize;

use super::{Event, EventData, SockAddr, SyscallData, kind_from_name};

/// One fixture event. Only `kind` is required; the rest default to a plain root process.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureEvent {
    /// Event kind name.
    pub kind: String,
    /// Process id (default 100).
    #[serde(default)]
    pub pid: Option<u32>,
    /// Parent pid (default 1).
    #[serde(default)]
    pub ppid: Option<u32>,
    /// Task name (default: basename of argv[0] or filename).
    #[serde(default)]
    pub comm: Option<String>,
    /// Real uid (default 0).
    #[serde(default)]
    pub uid: Option<u32>,
    /// Milliseconds since the first event (default: its index).
    #[serde(default)]
    pub t: Option<u64>,
    /// exec: file executed.
    #[serde(default)]
    pub filename: Option<String>,
    /// exec: arguments.
    #[serde(default)]
    pub argv: Option<Vec<String>>,
    /// exec: the text of the script file this exec runs (`sh /x.sh`), as the container holds it
    /// when the run is over (for `script_regex` rules).
    #[serde(default)]
    pub script: Option<String>,
    /// exec: environment entries (`NAME=value` or `NAME`).
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// fork: child pid.
    #[serde(default)]
    pub child: Option<u32>,
    /// exit: status.
    #[serde(default)]
    pub status: Option<i32>,
    /// Syscall name (default: the kind's usual call).
    #[serde(default)]
    pub syscall: Option<String>,
    /// Path.
    #[serde(default)]
    pub path: Option<String>,
    /// Second path.
    #[serde(default)]
    pub path2: Option<String>,
    /// Short name.
    #[serde(default)]
    pub name: Option<String>,
    /// fd.
    #[serde(default)]
    pub fd: Option<i64>,
    /// Second fd.
    #[serde(default)]
    pub fd2: Option<i64>,
    /// Flags.
    #[serde(default)]
    pub flags: Option<u64>,
    /// Mode or prot.
    #[serde(default)]
    pub mode: Option<u64>,
    /// Request/option/signal.
    #[serde(default)]
    pub op: Option<i64>,
    /// Target pid.
    #[serde(default)]
    pub target_pid: Option<i64>,
    /// socket: `family/type` (`inet/stream`, `packet/raw`), protocol 0.
    #[serde(default)]
    pub socket: Option<String>,
    /// `1.2.3.4:80`, `[::1]:53` or `unix:/path`.
    #[serde(default)]
    pub addr: Option<String>,
    /// Return value (default 0).
    #[serde(default)]
    pub ret: Option<i64>,
    /// Error name (sets ret to -1 when ret is not given).
    #[serde(default)]
    pub error: Option<String>,
    /// First bytes seen by the sinkhole (payload events) or the DNS answer (dns_query events).
    #[serde(default)]
    pub payload: Option<String>,
    /// Bytes received by the sinkhole.
    #[serde(default)]
    pub bytes: Option<u64>,
}

/// The usual system call of a kind (fixtures name it when they do not say).
pub(crate) fn default_syscall(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Open => "openat",
        EventKind::Unlink => "unlinkat",
        EventKind::Rename => "renameat2",
        EventKind::Chmod => "fchmodat",
        EventKind::Chown => "fchownat",
        EventKind::Link => "linkat",
        EventKind::Symlink => "symlinkat",
        EventKind::Truncate => "truncate",
        EventKind::Mkdir => "mkdirat",
        EventKind::Chdir => "chdir",
        EventKind::SetTimes => "utimensat",
        EventKind::Socket => "socket",
        EventKind::Connect => "connect",
        EventKind::Bind => "bind",
        EventKind::Listen => "listen",
        EventKind::Accept => "accept4",
        EventKind::SendTo => "sendto",
        EventKind::DnsQuery => "dns",
        EventKind::Payload => "sinkhole",
        EventKind::Ptrace => "ptrace",
        EventKind::ProcessVm => "process_vm_writev",
        EventKind::MemfdCreate => "memfd_create",
        EventKind::ExecMemory => "mprotect",
        EventKind::SetId => "setuid",
        EventKind::Capset => "capset",
        EventKind::Prctl => "prctl",
        EventKind::Mount => "mount",
        EventKind::Umount => "umount2",
        EventKind::Unshare => "unshare",
        EventKind::Setns => "setns",
        EventKind::PivotRoot => "pivot_root",
        EventKind::KernelModule => "finit_module",
        EventKind::Bpf => "bpf",
        EventKind::Kill => "kill",
        EventKind::Keyctl => "keyctl",
        EventKind::Dup => "dup2",
        EventKind::IoUringSetup => "io_uring_setup",
        EventKind::ExecFailed => "execve",
        EventKind::Fork | EventKind::Exec | EventKind::Exit => "",
    }
}

fn parse_addr(a: &str) -> Result<SockAddr, String> {
    if let Some(p) = a.strip_prefix("unix:") {
        return Ok(SockAddr::Unix { path: p.to_string() });
    }
    let sa: std::net::SocketAddr = a.parse().map_err(|e| format!("addr {a}: {e}"))?;
    Ok(SockAddr::Inet {
        address: sa.ip().to_string(),
        port: sa.port(),
    })
}

impl FixtureEvent {
    /// The event this fixture describes.
    pub fn to_event(&self, seq: u64) -> Result<Event, String> {
        let kind = kind_from_name(&self.kind).ok_or_else(|| format!("unknown kind {}", self.kind))?;
        let pid = self.pid.unwrap_or(100);
        let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
        let comm = self.comm.clone().unwrap_or_else(|| {
            self.argv
                .as_ref()
                .and_then(|a| a.first())
                .map(|a| base(a))
                .or_else(|| self.filename.as_deref().map(base))
                .unwrap_or_else(|| "sh".into())
        });
        let data = match kind {
            EventKind::Fork => EventData::Fork {
                child_pid: self.child.unwrap_or(pid + 1),
                child_tid: self.child.unwrap_or(pid + 1),
                thread: false,
            },
            EventKind::Exec => EventData::Exec {
                filename: self
                    .filename
                    .clone()
                    .or_else(|| self.argv.as_ref().and_then(|a| a.first().cloned()))
                    .unwrap_or_default(),
                argv: self.argv.clone().unwrap_or_default(),
                argv_truncated: false,
                env: self.env.clone().unwrap_or_default(),
            },
            EventKind::Exit => EventData::Exit {
                status: Some(self.status.unwrap_or(0)),
                signal: None,
            },
            _ => {
                let ret = self.ret.unwrap_or(if self.error.is_some() { -1 } else { 0 });
                EventData::Syscall(Box::new(SyscallData {
                    syscall: self
                        .syscall
                        .clone()
                        .unwrap_or_else(|| default_syscall(kind).to_string()),
                    ret,
                    error: self.error.clone(),
                    path: self.path.clone(),
                    path2: self.path2.clone(),
                    name: self.name.clone(),
                    fd: self.fd.or(if matches!(kind, EventKind::Open | EventKind::Chmod) {
                        Some(-100)
                    } else {
                        None
                    }),
                    fd2: self.fd2,
                    flags: self.flags,
                    mode: self.mode,
                    target_pid: self.target_pid,
                    op: self.op,
                    addr: self.addr.as_deref().map(parse_addr).transpose()?,
                    socket: self
                        .socket
                        .as_deref()
                        .map(|s| {
                            let (family, ty) = s
                                .split_once('/')
                                .ok_or_else(|| format!("socket {s}: family/type (inet/stream)"))?;
                            Ok::<_, String>(super::SocketSpec {
                                family: family.to_string(),
                                sock_type: ty.to_string(),
                                protocol: 0,
                            })
                        })
                        .transpose()?,
                    payload: self.payload.clone(),
                    bytes: self.bytes,
                    ..SyscallData::default()
                }))
            }
        };
        Ok(Event {
            seq,
            ts_ns: self.t.unwrap_or(seq) * 1_000_000,
            kind,
            pid,
            tid: pid,
            ppid: self.ppid.unwrap_or(1),
            uid: self.uid.unwrap_or(0),
            gid: 0,
            cgroup_id: 0,
            comm,
            truncated: false,
            data,
        })
    }
}
