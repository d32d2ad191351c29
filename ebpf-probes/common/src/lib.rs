//! Event records shared by the sandtrace eBPF probes (kernel side) and the analyzer (user side).
//!
//! Every record written to the ring buffer starts with an [`EventHeader`]; its `kind` field (an
//! [`EventKind`]) says which of the fixed-size record structs follows. Kinds are grouped by family in
//! numeric ranges: `0x1xx` process, `0x2xx` file, `0x3xx` network, `0x4xx` privilege and evasion.
//!
//! The crate is `no_std` and has no dependencies so the probe crate can use it on `bpfel-unknown-none`;
//! the `user` feature adds the user-side traits (`aya::Pod`, serde). Decoding lives in the analyzer.
#![no_std]

/// Length of `comm` (the kernel's `TASK_COMM_LEN`).
pub const COMM_LEN: usize = 16;
/// Bytes kept of a path argument (including the terminating NUL).
pub const PATH_LEN: usize = 256;
/// Bytes kept of a short string argument (a file-system type, a memfd name).
pub const SHORT_STR_LEN: usize = 64;
/// Bytes kept of a socket address (`sizeof(struct sockaddr_storage)`).
pub const SOCKADDR_LEN: usize = 128;
/// Bytes kept of the argument block of an exec (NUL-separated, as the kernel lays it out).
pub const ARGV_LEN: usize = 4096;
/// Bytes kept of the environment block of an exec (`NAME=value\0...`).
pub const ENV_LEN: usize = 2048;
/// Bytes kept of the filename of an exec.
pub const EXEC_PATH_LEN: usize = 256;

/// Header flag: the first string was cut at its buffer size.
pub const FLAG_STR0_TRUNCATED: u32 = 1 << 0;
/// Header flag: the second string was cut at its buffer size.
pub const FLAG_STR1_TRUNCATED: u32 = 1 << 1;
/// Header flag: the third string was cut at its buffer size.
pub const FLAG_STR2_TRUNCATED: u32 = 1 << 2;
/// Header flag: the argument block of an exec was cut at [`ARGV_LEN`].
pub const FLAG_ARGV_TRUNCATED: u32 = 1 << 3;
/// Header flag: a user-memory read failed (the field is empty, not absent).
pub const FLAG_READ_FAILED: u32 = 1 << 4;
/// Header flag: the socket address was read after the call returned (accept).
pub const FLAG_ADDR_FROM_EXIT: u32 = 1 << 5;
/// Header flag: a `SyscallEvent` cut after `str0` (`SYSCALL_COMPACT_LEN` bytes) because its second
/// and third strings and its socket address are empty.
pub const FLAG_COMPACT: u32 = 1 << 6;
/// Header flag: a traced system call refused before its entry tracepoint ran (a seccomp filter
/// returns EPERM before any tracepoint sees the call), seen on exit by number, without arguments;
/// its kind is the one of its number, set by the analyzer.
pub const FLAG_EXIT_ONLY: u32 = 1 << 7;
/// Fork flag: the new task is a thread of its parent's process, not a new process.
pub const FORK_IS_THREAD: u32 = 1;

/// Index of the per-CPU counter of records the ring buffer had no room for.
pub const STAT_RINGBUF_DROPS: u32 = 0;
/// Index of the per-CPU counter of syscalls whose entry could not be stashed until their exit.
pub const STAT_PENDING_DROPS: u32 = 1;
/// Number of per-CPU counters in the `STATS` map.
pub const STAT_COUNT: u32 = 2;

/// What a record describes. The numeric value is the wire format: never renumber.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "user", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "user", serde(rename_all = "snake_case"))]
pub enum EventKind {
    // Process family.
    /// A task was created (`ForkEvent`).
    Fork = 0x101,
    /// A program image was executed successfully (`ExecEvent`).
    Exec = 0x102,
    /// An execve/execveat failed for a reason other than "not found" (`SyscallEvent`).
    ExecFailed = 0x103,
    /// A whole process (thread group) ended (`ExitEvent`).
    Exit = 0x104,
    // File family (all `SyscallEvent`).
    /// open, openat, openat2, creat.
    Open = 0x201,
    /// unlink, unlinkat, rmdir.
    Unlink = 0x202,
    /// rename, renameat, renameat2.
    Rename = 0x203,
    /// chmod, fchmod, fchmodat, fchmodat2.
    Chmod = 0x204,
    /// chown, lchown, fchown, fchownat.
    Chown = 0x205,
    /// link, linkat.
    Link = 0x206,
    /// symlink, symlinkat.
    Symlink = 0x207,
    /// truncate, ftruncate.
    Truncate = 0x208,
    /// mkdir, mkdirat.
    Mkdir = 0x209,
    /// chdir, fchdir.
    Chdir = 0x20a,
    /// utimensat (timestamps set).
    SetTimes = 0x20b,
    // Network family (all `SyscallEvent`).
    /// socket.
    Socket = 0x301,
    /// connect.
    Connect = 0x302,
    /// bind.
    Bind = 0x303,
    /// listen.
    Listen = 0x304,
    /// accept, accept4 (peer address read on return).
    Accept = 0x305,
    /// sendto, sendmsg with an explicit destination.
    SendTo = 0x306,
    /// A DNS question answered by the network sinkhole (never from the kernel).
    DnsQuery = 0x307,
    /// A connection or datagram received by the network sinkhole, with its first bytes (never from
    /// the kernel).
    Payload = 0x308,
    // Privilege and evasion family (all `SyscallEvent`).
    /// ptrace.
    Ptrace = 0x401,
    /// process_vm_writev, process_vm_readv.
    ProcessVm = 0x402,
    /// memfd_create.
    MemfdCreate = 0x403,
    /// mmap of anonymous memory with PROT_EXEC, or mprotect adding PROT_EXEC.
    ExecMemory = 0x404,
    /// setuid, setgid, setreuid, setregid, setresuid, setresgid.
    SetId = 0x405,
    /// capset.
    Capset = 0x406,
    /// prctl.
    Prctl = 0x407,
    /// mount.
    Mount = 0x408,
    /// umount2.
    Umount = 0x409,
    /// unshare.
    Unshare = 0x40a,
    /// setns.
    Setns = 0x40b,
    /// pivot_root, chroot.
    PivotRoot = 0x40c,
    /// init_module, finit_module, delete_module.
    KernelModule = 0x40d,
    /// bpf.
    Bpf = 0x40e,
    /// kill, tkill, tgkill.
    Kill = 0x40f,
    /// keyctl.
    Keyctl = 0x410,
    /// dup, dup2, dup3.
    Dup = 0x411,
    /// io_uring_setup (later I/O through the ring bypasses syscall probes).
    IoUringSetup = 0x412,
}

impl EventKind {
    /// Every kind, in numeric order.
    pub const ALL: [EventKind; 41] = [
        EventKind::Fork,
        EventKind::Exec,
        EventKind::ExecFailed,
        EventKind::Exit,
        EventKind::Open,
        EventKind::Unlink,
        EventKind::Rename,
        EventKind::Chmod,
        EventKind::Chown,
        EventKind::Link,
        EventKind::Symlink,
        EventKind::Truncate,
        EventKind::Mkdir,
        EventKind::Chdir,
        EventKind::SetTimes,
        EventKind::Socket,
        EventKind::Connect,
        EventKind::Bind,
        EventKind::Listen,
        EventKind::Accept,
        EventKind::SendTo,
        EventKind::DnsQuery,
        EventKind::Payload,
        EventKind::Ptrace,
        EventKind::ProcessVm,
        EventKind::MemfdCreate,
        EventKind::ExecMemory,
        EventKind::SetId,
        EventKind::Capset,
        EventKind::Prctl,
        EventKind::Mount,
        EventKind::Umount,
        EventKind::Unshare,
        EventKind::Setns,
        EventKind::PivotRoot,
        EventKind::KernelModule,
        EventKind::Bpf,
        EventKind::Kill,
        EventKind::Keyctl,
        EventKind::Dup,
        EventKind::IoUringSetup,
    ];

    /// The kind with this wire value, if any.
    pub fn from_u32(value: u32) -> Option<EventKind> {
        let mut i = 0;
        while i < Self::ALL.len() {
            if Self::ALL[i] as u32 == value {
                return Some(Self::ALL[i]);
            }
            i += 1;
        }
        None
    }

    /// The family a kind belongs to.
    pub fn family(self) -> Family {
        match (self as u32) >> 8 {
            1 => Family::Process,
            2 => Family::File,
            3 => Family::Network,
            _ => Family::Privilege,
        }
    }
}

/// The families of [`EventKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Process life cycle.
    Process,
    /// File-system actions.
    File,
    /// Sockets.
    Network,
    /// Privilege changes, injection, namespaces and other evasion.
    Privilege,
}

/// The common start of every record.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventHeader {
    /// An [`EventKind`] wire value.
    pub kind: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// `bpf_ktime_get_boot_ns()` at the time of the event.
    pub ts_ns: u64,
    /// Process id (thread-group id) in the initial pid namespace.
    pub pid: u32,
    /// Thread id in the initial pid namespace.
    pub tid: u32,
    /// Parent's process id (from `task->real_parent`; 0 when the offset was unknown).
    pub ppid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Padding, zero.
    pub _pad: u32,
    /// cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Task name.
    pub comm: [u8; COMM_LEN],
}

/// A task was created: emitted in the parent's context by `sched_process_fork`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ForkEvent {
    /// Common header (the parent).
    pub header: EventHeader,
    /// Thread id of the child.
    pub child_tid: u32,
    /// Process id of the child (equal to the parent's pid for a thread).
    pub child_pid: u32,
    /// `FORK_*` bits.
    pub fork_flags: u32,
    /// Padding, zero.
    pub _pad: u32,
}

/// A successful exec: emitted by `sched_process_exec` in the new image.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecEvent {
    /// Common header (after the exec: the new comm).
    pub header: EventHeader,
    /// Thread id that called exec before it became the leader (differs from pid for a thread exec).
    pub old_tid: u32,
    /// Bytes of `filename` used, including the NUL.
    pub filename_len: u32,
    /// Bytes of `argv` used (the kernel's NUL-separated argument block).
    pub argv_len: u32,
    /// Total size of the argument block in the process (may exceed `ARGV_LEN`).
    pub argv_total: u32,
    /// Bytes of `env` used.
    pub env_len: u32,
    /// Total size of the environment block in the process (may exceed `ENV_LEN`).
    pub env_total: u32,
    /// The file executed, as the kernel resolved it.
    pub filename: [u8; EXEC_PATH_LEN],
    /// The argument block: `argv[0]\0argv[1]\0...`.
    pub argv: [u8; ARGV_LEN],
    /// The environment block: `NAME=value\0...` (its first `ENV_LEN` bytes).
    pub env: [u8; ENV_LEN],
}

/// A whole process ended: emitted by `sched_process_exit` when its thread group is dead.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExitEvent {
    /// Common header.
    pub header: EventHeader,
    /// `task->exit_code`: wait status (exit status << 8, or the killing signal in the low 7 bits).
    pub exit_code: u32,
    /// 1 when `exit_code` was read from the task, 0 when the offset was unknown.
    pub exit_code_known: u32,
}

/// A traced system call: arguments on entry, result on exit, with the strings and the socket
/// address the call named, read from the caller's memory on entry.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallEvent {
    /// Common header.
    pub header: EventHeader,
    /// x86_64 system call number.
    pub nr: u32,
    /// Bytes of `sockaddr` used.
    pub sockaddr_len: u32,
    /// Raw arguments.
    pub args: [u64; 6],
    /// Return value (negative errno on failure).
    pub ret: i64,
    /// Bytes used in `str0`, `str1`, `str2` (including the NUL; 0 when unused).
    pub str_len: [u32; 3],
    /// Kernel-internal: 1 while the call is stashed between its entry and its exit; 0 when emitted.
    pub pending: u32,
    /// First string argument (usually the path).
    pub str0: [u8; PATH_LEN],
    /// Second string argument (a second path: rename target, link name, mount target).
    pub str1: [u8; PATH_LEN],
    /// Third, short string argument (mount's file-system type).
    pub str2: [u8; SHORT_STR_LEN],
    /// Socket address the call named.
    pub sockaddr: [u8; SOCKADDR_LEN],
}

/// Size of a compact `SyscallEvent` (everything up to and including `str0`).
pub const SYSCALL_COMPACT_LEN: usize = core::mem::offset_of!(SyscallEvent, str1);

/// What a record struct is, for the decoder.
pub trait Record: Copy {
    /// Record size in bytes.
    const SIZE: usize = core::mem::size_of::<Self>();
}
impl Record for ForkEvent {}
impl Record for ExecEvent {}
impl Record for ExitEvent {}
impl Record for SyscallEvent {}
impl Record for EventHeader {}

/// Kernel struct member offsets, found in the kernel's BTF by user space and given to the probes as
/// globals (Rust eBPF programs get no CO-RE relocations). Zero means unknown: the probe skips the read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelOffsets {
    /// `task_struct.real_parent`.
    pub task_real_parent: u32,
    /// `task_struct.tgid`.
    pub task_tgid: u32,
    /// `task_struct.pid`.
    pub task_pid: u32,
    /// `task_struct.mm`.
    pub task_mm: u32,
    /// `task_struct.exit_code`.
    pub task_exit_code: u32,
    /// `mm_struct.arg_start`.
    pub mm_arg_start: u32,
    /// `mm_struct.arg_end`.
    pub mm_arg_end: u32,
    /// `mm_struct.env_start`.
    pub mm_env_start: u32,
    /// `mm_struct.env_end`.
    pub mm_env_end: u32,
    /// Padding, zero.
    pub _pad: u32,
}

#[cfg(feature = "user")]
// SAFETY: plain old data, repr(C), no padding holes that matter (explicit _pad fields).
unsafe impl aya::Pod for KernelOffsets {}
