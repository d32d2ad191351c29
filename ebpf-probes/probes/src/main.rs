//! sandtrace's eBPF programs.
//!
//! Every program first checks that the current task is inside the run's cgroup (an ancestor cgroup
//! created by the analyzer before the container starts), so only the sample is traced and two runs
//! never mix. Process life cycle comes from the `sched` tracepoints; every other action from one raw
//! `sys_enter` tracepoint that tail-calls the traced call's own entry program, which stashes the call
//! (arguments, strings, socket address) per thread, and one raw `sys_exit` program that adds the
//! result and emits the record.
//!
//! Program names are `<event>_<hook>`; the analyzer derives each attach point from the name.
#![no_std]
#![no_main]

use core::ptr::{addr_of, addr_of_mut, read_volatile};

use aya_ebpf::{
    EbpfContext,
    helpers::generated::{
        bpf_get_current_ancestor_cgroup_id, bpf_get_current_cgroup_id, bpf_get_current_comm,
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_get_current_uid_gid, bpf_ktime_get_boot_ns,
        bpf_probe_read_kernel, bpf_probe_read_kernel_str, bpf_probe_read_user, bpf_probe_read_user_str,
    },
    macros::{btf_tracepoint, map, raw_tracepoint, sk_lookup, tracepoint},
    maps::{LruHashMap, PerCpuArray, ProgramArray, RingBuf, SockMap},
    programs::{BtfTracePointContext, RawTracePointContext, SkLookupContext, TracePointContext},
};
use sandtrace_common::{
    ARGV_LEN, COMM_LEN, ENV_LEN, EventHeader, EventKind, ExecEvent, ExitEvent, FLAG_ADDR_FROM_EXIT,
    FLAG_ARGV_TRUNCATED, FLAG_COMPACT, FLAG_EXIT_ONLY, FLAG_READ_FAILED, FLAG_STR0_TRUNCATED,
    FLAG_STR1_TRUNCATED, FLAG_STR2_TRUNCATED, FORK_IS_THREAD, ForkEvent, KernelOffsets, PATH_LEN,
    SHORT_STR_LEN, SOCKADDR_LEN, STAT_COUNT, STAT_PENDING_DROPS, STAT_RINGBUF_DROPS, SYSCALL_COMPACT_LEN,
    SyscallEvent,
};

/// cgroup v2 id of the run's parent cgroup (set by the analyzer at load time).
#[unsafe(no_mangle)]
static WATCH_CGROUP_ID: u64 = 0;
/// Depth of that cgroup below the v2 root (1 for `/sandtrace-<run>`).
#[unsafe(no_mangle)]
static WATCH_CGROUP_LEVEL: u32 = 0;
/// Bitmap of the x86_64 system call numbers the probes trace (set by the analyzer).
#[unsafe(no_mangle)]
static TRACKED_SYSCALLS: [u64; 8] = [0; 8];
/// Kernel struct offsets read from BTF by the analyzer.
#[unsafe(no_mangle)]
static OFFSETS: KernelOffsets = KernelOffsets {
    task_real_parent: 0,
    task_tgid: 0,
    task_pid: 0,
    task_mm: 0,
    task_exit_code: 0,
    mm_arg_start: 0,
    mm_arg_end: 0,
    mm_env_start: 0,
    mm_env_end: 0,
    _pad: 0,
};

/// The one ring buffer all records go through. Its size is set by the analyzer at load time.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 24, 0);
/// Per-CPU counters (`STAT_*`): records lost, never hidden.
#[map]
static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(STAT_COUNT, 0);
/// A system call between its entry and its exit, per thread id.
#[map]
static PENDING: LruHashMap<u32, SyscallEvent> = LruHashMap::with_max_entries(8192, 0);
/// Where a record is built (too big for the 512-byte stack).
#[map]
static SCRATCH: PerCpuArray<SyscallEvent> = PerCpuArray::with_max_entries(1, 0);

/// Sockets of the network sinkhole (`--network sinkhole`): 0 = the TCP catch-all listener, 1 = the
/// UDP catch-all. Filled by the analyzer; unused otherwise.
#[map]
static SINK_SOCKS: SockMap = SockMap::with_max_entries(2, 0);

const NONE: u8 = 0xff;
const ENOENT: i64 = 2;
const PROT_EXEC: u64 = 0x4;
const MAP_ANONYMOUS: u64 = 0x20;
/// The entry program of each traced system call, by number: the `sys_enter` dispatcher tail-calls
/// into it. Filled by the analyzer.
#[map]
static SYSCALL_ENTRY: ProgramArray = ProgramArray::with_max_entries(512, 0);

/// Offsets in x86_64 `struct pt_regs` of the six system call arguments (di, si, dx, r10, r8, r9)
/// and of `orig_ax` (the system call number): fixed by the architecture's ABI.
const REG_ARGS: [usize; 6] = [112, 104, 96, 56, 72, 64];
const REG_ORIG_AX: usize = 120;

/// Which arguments of a system call to read beyond the six raw values.
#[derive(Clone, Copy)]
struct Spec {
    /// Argument index of the first string (a path), or `NONE`.
    str0: u8,
    /// Argument index of the second string, or `NONE`.
    str1: u8,
    /// Argument index of the third (short) string, or `NONE`.
    str2: u8,
    /// Argument index of a `struct sockaddr *`, or `NONE`.
    addr: u8,
    /// Argument index of that address's length.
    addr_len: u8,
    /// A `F_*` pre-filter or special read.
    special: u8,
}

const F_NONE: u8 = 0;
/// mmap: only anonymous memory mapped executable.
const F_EXEC_MMAP: u8 = 1;
/// mprotect: only when PROT_EXEC is added.
const F_EXEC_MPROTECT: u8 = 2;
/// sendto: only with an explicit destination.
const F_SENDTO: u8 = 3;
/// sendmsg: destination read from the `msghdr`; only with an explicit destination.
const F_SENDMSG: u8 = 4;
/// openat2: `how->flags` replaces the `how` pointer in `args[2]`.
const F_OPENAT2: u8 = 5;
/// prctl: the third string is the new task name, read only for `PR_SET_NAME` (for other options
/// `args[1]` is a number, not a pointer).
const F_PRCTL_NAME: u8 = 6;
/// `PR_SET_NAME`.
const PR_SET_NAME: u64 = 15;

impl Spec {
    const fn new() -> Spec {
        Spec {
            str0: NONE,
            str1: NONE,
            str2: NONE,
            addr: NONE,
            addr_len: NONE,
            special: F_NONE,
        }
    }
    const fn path(i: u8) -> Spec {
        Spec {
            str0: i,
            ..Spec::new()
        }
    }
    const fn paths(i: u8, j: u8) -> Spec {
        Spec {
            str0: i,
            str1: j,
            ..Spec::new()
        }
    }
    const fn addr(i: u8, len: u8) -> Spec {
        Spec {
            addr: i,
            addr_len: len,
            ..Spec::new()
        }
    }
    const fn special(f: u8) -> Spec {
        Spec {
            special: f,
            ..Spec::new()
        }
    }
}

/// Reads a field of the tracepoint record directly (context loads need no helper call).
///
/// # Safety
/// `off` must be within the tracepoint's record and aligned for `T`.
#[inline(always)]
unsafe fn tp_field<T: Copy>(ctx: &TracePointContext, off: usize) -> T {
    // SAFETY: the caller guarantees the offset; the verifier checks context accesses.
    unsafe { core::ptr::read(ctx.as_ptr().cast::<u8>().add(off).cast::<T>()) }
}

#[inline(always)]
fn offsets() -> KernelOffsets {
    // SAFETY: a plain read of a global the loader may have rewritten; volatile so it is not folded.
    unsafe { read_volatile(addr_of!(OFFSETS)) }
}

/// True when the current task belongs to the run being watched.
#[inline(always)]
fn in_run() -> bool {
    // SAFETY: plain reads of globals set by the loader.
    let (want, level) = unsafe {
        (
            read_volatile(addr_of!(WATCH_CGROUP_ID)),
            read_volatile(addr_of!(WATCH_CGROUP_LEVEL)),
        )
    };
    if want == 0 {
        return false;
    }
    // SAFETY: helper call without pointers.
    unsafe { bpf_get_current_ancestor_cgroup_id(level as i32) == want }
}

const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
const BPF_RB_AVAIL_DATA: u64 = 0;
/// Wake the reader only once this much is waiting: a wake-up per record costs more than the record
/// (measured: ~1.3 us per syscall exit with per-record wake-ups). The reader also polls every 10 ms.
const WAKEUP_BYTES: u64 = 256 << 10;

/// Ring-buffer submit flags: batch wake-ups.
#[inline(always)]
fn wakeup_flags() -> u64 {
    if EVENTS.query(BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    }
}

#[inline(always)]
fn bump(stat: u32) {
    if let Some(counter) = STATS.get_ptr_mut(stat) {
        // SAFETY: per-CPU slot, no concurrent writer on this CPU.
        unsafe { *counter += 1 };
    }
}

/// Reads a kernel value at `base + off`; zero when the offset is unknown or the read fails.
#[inline(always)]
unsafe fn kread<T: Copy + Default>(base: *const u8, off: u32) -> T {
    if off == 0 || base.is_null() {
        return T::default();
    }
    let mut out = T::default();
    // SAFETY: the helper checks the source address; the destination is a local of size T.
    let rc = unsafe {
        bpf_probe_read_kernel(
            addr_of_mut!(out).cast(),
            core::mem::size_of::<T>() as u32,
            base.add(off as usize).cast(),
        )
    };
    if rc != 0 { T::default() } else { out }
}

/// Reads a kernel value at address `base + off` (registers saved on the stack); zero when the read fails.
#[inline(always)]
unsafe fn kread_at<T: Copy + Default>(base: u64, off: usize) -> T {
    let mut out = T::default();
    // SAFETY: the helper checks the source address; the destination is a local of size T.
    let rc = unsafe {
        bpf_probe_read_kernel(
            addr_of_mut!(out).cast(),
            core::mem::size_of::<T>() as u32,
            (base as usize + off) as *const _,
        )
    };
    if rc != 0 { T::default() } else { out }
}

#[inline(always)]
fn current_ppid(off: &KernelOffsets) -> u32 {
    // SAFETY: the helper returns the current task pointer; every read through it is a checked helper read.
    unsafe {
        let task = bpf_get_current_task() as *const u8;
        let parent: u64 = kread(task, off.task_real_parent);
        kread::<u32>(parent as *const u8, off.task_tgid)
    }
}

/// Fills the common header for the current task. `ppid` is read from the task for process
/// life-cycle events only; for system calls the analyzer takes it from its process tree (two kernel
/// reads saved on the hottest path).
#[inline(always)]
unsafe fn fill_header(h: *mut EventHeader, kind: EventKind, off: &KernelOffsets) {
    // SAFETY: `h` points at a map value or ring-buffer reservation large enough for the header.
    unsafe {
        let pid_tgid = bpf_get_current_pid_tgid();
        let uid_gid = bpf_get_current_uid_gid();
        (*h).kind = kind as u32;
        (*h).flags = 0;
        (*h).ts_ns = bpf_ktime_get_boot_ns();
        (*h).pid = (pid_tgid >> 32) as u32;
        (*h).tid = pid_tgid as u32;
        (*h).ppid = if (kind as u32) >> 8 == 1 {
            current_ppid(off)
        } else {
            0
        };
        (*h).uid = uid_gid as u32;
        (*h).gid = (uid_gid >> 32) as u32;
        (*h)._pad = 0;
        (*h).cgroup_id = bpf_get_current_cgroup_id();
        bpf_get_current_comm(addr_of_mut!((*h).comm).cast(), COMM_LEN as u32);
    }
}

/// Reads a user string into `dst`; returns its length including the NUL and sets `flag` when cut.
#[inline(always)]
unsafe fn user_str(dst: *mut u8, cap: usize, src: u64, flags: &mut u32, cut_flag: u32) -> u32 {
    if src == 0 {
        return 0;
    }
    // SAFETY: `dst` has `cap` bytes; the helper checks `src`.
    let n = unsafe { bpf_probe_read_user_str(dst.cast(), cap as u32, src as *const _) };
    if n < 0 {
        *flags |= FLAG_READ_FAILED;
        return 0;
    }
    if n as usize >= cap {
        *flags |= cut_flag;
    }
    n as u32
}

#[inline(always)]
unsafe fn user_sockaddr(ev: &mut SyscallEvent, src: u64, len: u64) {
    if src == 0 {
        return;
    }
    let n = if len > SOCKADDR_LEN as u64 {
        SOCKADDR_LEN as u32
    } else {
        len as u32
    };
    // SAFETY: the destination holds SOCKADDR_LEN bytes and n <= SOCKADDR_LEN; the helper checks `src`.
    let rc = unsafe { bpf_probe_read_user(ev.sockaddr.as_mut_ptr().cast(), n, src as *const _) };
    if rc == 0 {
        ev.sockaddr_len = n;
    } else {
        ev.header.flags |= FLAG_READ_FAILED;
    }
}

/// Entry of a traced system call: stash it until its exit.
#[inline(always)]
fn sys_enter(ctx: &RawTracePointContext, kind: EventKind, nargs: usize, spec: Spec) -> i32 {
    // The dispatcher checked the cgroup before the tail call.
    // SAFETY: raw `sys_enter` arguments: `struct pt_regs *regs, long id`; registers are read
    // through the checked helper; map pointers come from the kernel.
    unsafe {
        let regs: u64 = ctx.arg(0);
        let mut args = [0u64; 6];
        let mut i = 0;
        while i < nargs && i < 6 {
            args[i] = kread_at::<u64>(regs, REG_ARGS[i]);
            i += 1;
        }
        let mut msg_name = 0u64;
        let mut msg_namelen = 0u64;
        match spec.special {
            F_EXEC_MMAP if args[2] & PROT_EXEC == 0 || args[3] & MAP_ANONYMOUS == 0 => return 0,
            F_EXEC_MPROTECT if args[2] & PROT_EXEC == 0 => return 0,
            F_SENDTO if args[4] == 0 => return 0,
            F_SENDMSG => {
                // struct msghdr { void *msg_name; int msg_namelen; ... }
                let hdr = args[1];
                if hdr == 0 {
                    return 0;
                }
                bpf_probe_read_user(addr_of_mut!(msg_name).cast(), 8, hdr as *const _);
                let mut len32 = 0u32;
                bpf_probe_read_user(addr_of_mut!(len32).cast(), 4, (hdr + 8) as *const _);
                msg_namelen = len32 as u64;
                if msg_name == 0 {
                    return 0;
                }
            }
            F_OPENAT2 => {
                let mut how_flags = 0u64;
                if args[2] != 0 {
                    bpf_probe_read_user(addr_of_mut!(how_flags).cast(), 8, args[2] as *const _);
                }
                args[2] = how_flags;
            }
            _ => {}
        }
        // Fill this thread's stash entry in place: no copy of the record on entry.
        let tid = bpf_get_current_pid_tgid() as u32;
        let ev = match PENDING.get_ptr_mut(&tid) {
            Some(p) => p,
            None => {
                let Some(blank) = SCRATCH.get_ptr_mut(0) else {
                    return 0;
                };
                if PENDING.insert(&tid, &*blank, 0).is_err() {
                    bump(STAT_PENDING_DROPS);
                    return 0;
                }
                let Some(p) = PENDING.get_ptr_mut(&tid) else {
                    return 0;
                };
                p
            }
        };
        let ev = &mut *ev;
        let off = offsets();
        fill_header(addr_of_mut!(ev.header), kind, &off);
        ev.nr = ctx.arg::<u64>(1) as u32;
        ev.args = args;
        ev.ret = 0;
        ev.sockaddr_len = 0;
        ev.pending = 0;
        let mut flags = 0u32;
        ev.str_len[0] = if spec.str0 == NONE {
            0
        } else {
            user_str(
                ev.str0.as_mut_ptr(),
                PATH_LEN,
                args[spec.str0 as usize % 6],
                &mut flags,
                FLAG_STR0_TRUNCATED,
            )
        };
        ev.str_len[1] = if spec.str1 == NONE {
            0
        } else {
            user_str(
                ev.str1.as_mut_ptr(),
                PATH_LEN,
                args[spec.str1 as usize % 6],
                &mut flags,
                FLAG_STR1_TRUNCATED,
            )
        };
        ev.str_len[2] = if spec.str2 == NONE || (spec.special == F_PRCTL_NAME && args[0] != PR_SET_NAME) {
            0
        } else {
            user_str(
                ev.str2.as_mut_ptr(),
                SHORT_STR_LEN,
                args[spec.str2 as usize % 6],
                &mut flags,
                FLAG_STR2_TRUNCATED,
            )
        };
        ev.header.flags = flags;
        if spec.addr != NONE {
            user_sockaddr(ev, args[spec.addr as usize % 6], args[spec.addr_len as usize % 6]);
        } else if spec.special == F_SENDMSG {
            user_sockaddr(ev, msg_name, msg_namelen);
        }
        ev.pending = 1;
    }
    0
}

/// Emits a syscall record, without its empty tail (second and third strings, socket address) when
/// it can: most records are opens, and the copy is the largest cost of a traced call.
#[inline(always)]
fn emit_syscall(ev: &mut SyscallEvent) -> Result<(), i32> {
    let compact = ev.str_len[1] == 0 && ev.str_len[2] == 0 && ev.sockaddr_len == 0;
    if compact {
        ev.header.flags |= FLAG_COMPACT;
        // SAFETY: the prefix lies within the record.
        let bytes = unsafe {
            core::slice::from_raw_parts((ev as *const SyscallEvent).cast::<u8>(), SYSCALL_COMPACT_LEN)
        };
        EVENTS.output::<[u8]>(bytes, wakeup_flags())
    } else {
        EVENTS.output::<SyscallEvent>(&*ev, wakeup_flags())
    }
}

/// True when system call `nr` is one the probes trace (bitmap set by the analyzer).
#[inline(always)]
fn tracked(nr: i64) -> bool {
    if !(0..512).contains(&nr) {
        return false;
    }
    let word = (nr as usize / 64) & 7;
    // SAFETY: plain read of a global set by the loader; the index is masked into range.
    let bits = unsafe { read_volatile(addr_of!(TRACKED_SYSCALLS[word])) };
    bits & (1 << (nr as u64 % 64)) != 0
}

/// x86_64 numbers of init_module, delete_module, finit_module.
const MODULE_SYSCALLS: [i64; 3] = [175, 176, 313];

/// mmap, mprotect, sendto, sendmsg: their entry is stashed only for some arguments (exec memory,
/// an explicit address), so a missing entry does not mean a refusal before it (and a firewall
/// returns EPERM to a send).
const ENTRY_FILTERED: [i64; 4] = [9, 10, 44, 46];

/// `EPERM`, what Docker's seccomp profile returns for the calls it refuses.
const EPERM: i64 = 1;

/// A traced call whose entry was never seen: module loading on a kernel without module tracepoints
/// (CONFIG_MODULES off), or a call a seccomp filter refused before the entry tracepoint (Docker's
/// profile refuses mount, unshare, bpf, ... to an unprivileged container). Seen on exit by number,
/// without arguments.
#[inline(always)]
fn exit_only(nr: i64, ret: i64, kind: EventKind, flags: u32) {
    let Some(ev) = SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: `ev` is this CPU's scratch record.
    unsafe {
        let ev = &mut *ev;
        let off = offsets();
        fill_header(addr_of_mut!(ev.header), kind, &off);
        ev.header.flags |= flags;
        ev.nr = nr as u32;
        ev.args = [0; 6];
        ev.ret = ret;
        ev.str_len = [0; 3];
        ev.sockaddr_len = 0;
        ev.pending = 0;
        if EVENTS.output::<SyscallEvent>(&*ev, wakeup_flags()).is_err() {
            bump(STAT_RINGBUF_DROPS);
        }
    }
}

/// Exit of a traced call whose entry was not stashed: reported when it can only have been refused
/// before its entry (EPERM), or when it is a module call (see [`exit_only`]).
#[inline(always)]
fn unseen_entry(nr: i64, ret: i64) {
    if MODULE_SYSCALLS.contains(&nr) {
        if in_run() {
            exit_only(nr, ret, EventKind::KernelModule, 0);
        }
    } else if ret == -EPERM && !ENTRY_FILTERED.contains(&nr) && in_run() {
        exit_only(nr, ret, EventKind::KernelModule, FLAG_EXIT_ONLY);
    }
}

/// Entry of any system call: hands a traced one of the run's threads to its own entry program.
/// One raw tracepoint instead of one perf tracepoint per call: cheaper on every call, and
/// detached without the grace period each perf tracepoint waits for.
#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn syscall_sys_enter(ctx: RawTracePointContext) -> i32 {
    let nr: i64 = ctx.arg(1);
    if !tracked(nr) || !in_run() {
        return 0;
    }
    // SAFETY: a tail call into a program of the same type with the same context; when the slot is
    // empty (a call traced only at its exit) it returns and nothing happens.
    unsafe { SYSCALL_ENTRY.tail_call(&ctx, nr as u32) };
    0
}

/// Exit of any system call: completes and emits the stashed entry of this thread, if any.
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn syscall_sys_exit(ctx: RawTracePointContext) -> i32 {
    // SAFETY: raw `sys_exit` arguments: `struct pt_regs *regs, long ret`; the number is regs->orig_ax.
    let nr = unsafe { kread_at::<i64>(ctx.arg::<u64>(0), REG_ORIG_AX) };
    let ret: i64 = ctx.arg(1);
    // Most system calls are not traced: leave before any map or cgroup work.
    if !tracked(nr) {
        return 0;
    }
    let tid = bpf_get_current_pid_tgid_u32();
    let Some(ev) = PENDING.get_ptr_mut(&tid) else {
        unseen_entry(nr, ret);
        return 0;
    };
    // Only threads of the run arm an entry; the cgroup id check (cheaper than the ancestor walk)
    // guards against a host thread that reused the tid of a run thread that never returned.
    // SAFETY: `ev` is a map value of this tid.
    if unsafe { (*ev).header.cgroup_id != bpf_get_current_cgroup_id() } {
        return 0;
    }
    // SAFETY: as above.
    if unsafe { (*ev).pending == 0 } {
        // This thread's entry of this call was never stashed.
        unseen_entry(nr, ret);
        return 0;
    }
    // SAFETY: `ev` is this thread's map value; tracepoint reads go through the checked helper.
    unsafe {
        let ev = &mut *ev;
        // Not armed (already emitted) or a different call (its entry was missed): nothing to emit.
        let stale = ev.pending == 0 || nr != ev.nr as i32 as i64;
        ev.pending = 0;
        let uninteresting = ev.header.kind == EventKind::ExecFailed as u32 && (ret >= 0 || ret == -ENOENT);
        if !stale && !uninteresting {
            ev.ret = ret;
            if ev.header.kind == EventKind::Accept as u32 && ret >= 0 && ev.args[1] != 0 && ev.args[2] != 0 {
                let mut len = 0u32;
                bpf_probe_read_user(addr_of_mut!(len).cast(), 4, ev.args[2] as *const _);
                user_sockaddr(ev, ev.args[1], len as u64);
                ev.header.flags |= FLAG_ADDR_FROM_EXIT;
            }
            if emit_syscall(ev).is_err() {
                bump(STAT_RINGBUF_DROPS);
            }
        }
    }
    0
}

#[inline(always)]
fn bpf_get_current_pid_tgid_u32() -> u32 {
    // SAFETY: helper call without pointers.
    unsafe { bpf_get_current_pid_tgid() as u32 }
}

/// A task was created (runs in the parent).
#[btf_tracepoint(function = "sched_process_fork")]
pub fn fork_sched_process_fork(ctx: BtfTracePointContext) -> u32 {
    if !in_run() {
        return 0;
    }
    let child: *const u8 = ctx.arg(1);
    let off = offsets();
    let Some(mut entry) = EVENTS.reserve::<ForkEvent>(0) else {
        bump(STAT_RINGBUF_DROPS);
        return 0;
    };
    let ev = entry.as_mut_ptr();
    // SAFETY: `ev` is a fresh reservation of size ForkEvent; kernel reads are checked helpers.
    unsafe {
        fill_header(addr_of_mut!((*ev).header), EventKind::Fork, &off);
        let tid: u32 = kread(child, off.task_pid);
        let pid: u32 = kread(child, off.task_tgid);
        (*ev).child_tid = tid;
        (*ev).child_pid = pid;
        (*ev).fork_flags = if pid != 0 && pid != tid { FORK_IS_THREAD } else { 0 };
        (*ev)._pad = 0;
    }
    entry.submit(wakeup_flags());
    0
}

/// A program was executed: record the resolved filename and the new argument block.
#[tracepoint]
pub fn exec_sched_process_exec(ctx: TracePointContext) -> u32 {
    if !in_run() {
        return 0;
    }
    let off = offsets();
    let Some(mut entry) = EVENTS.reserve::<ExecEvent>(0) else {
        bump(STAT_RINGBUF_DROPS);
        return 0;
    };
    let ev = entry.as_mut_ptr();
    // SAFETY: `ev` is a fresh reservation of size ExecEvent; every read is a checked helper.
    unsafe {
        fill_header(addr_of_mut!((*ev).header), EventKind::Exec, &off);
        // __data_loc char[] filename at 8: low 16 bits offset, high 16 bits length.
        let loc = tp_field::<u32>(&ctx, 8);
        let name_off = (loc & 0xffff) as usize;
        let n = bpf_probe_read_kernel_str(
            addr_of_mut!((*ev).filename).cast(),
            sandtrace_common::EXEC_PATH_LEN as u32,
            ctx.as_ptr().cast::<u8>().add(name_off).cast(),
        );
        (*ev).filename_len = if n > 0 { n as u32 } else { 0 };
        (*ev).old_tid = tp_field::<u32>(&ctx, 16);
        let task = bpf_get_current_task() as *const u8;
        let mm: u64 = kread(task, off.task_mm);
        let start: u64 = kread(mm as *const u8, off.mm_arg_start);
        let end: u64 = kread(mm as *const u8, off.mm_arg_end);
        let total = if end > start { end - start } else { 0 };
        let mut len = total;
        if len > ARGV_LEN as u64 {
            len = ARGV_LEN as u64;
            (*ev).header.flags |= FLAG_ARGV_TRUNCATED;
        }
        (*ev).argv_total = total as u32;
        (*ev).argv_len = 0;
        if len > 0 {
            let rc = bpf_probe_read_user(addr_of_mut!((*ev).argv).cast(), len as u32, start as *const _);
            if rc == 0 {
                (*ev).argv_len = len as u32;
            } else {
                (*ev).header.flags |= FLAG_READ_FAILED;
            }
        }
        (*ev).env_len = 0;
        (*ev).env_total = 0;
        if off.mm_env_end != 0 {
            let start: u64 = kread(mm as *const u8, off.mm_env_start);
            let end: u64 = kread(mm as *const u8, off.mm_env_end);
            let total = if end > start { end - start } else { 0 };
            let mut len = total;
            if len > ENV_LEN as u64 {
                len = ENV_LEN as u64;
            }
            (*ev).env_total = total as u32;
            if len > 0
                && bpf_probe_read_user(addr_of_mut!((*ev).env).cast(), len as u32, start as *const _) == 0
            {
                (*ev).env_len = len as u32;
            }
        }
    }
    entry.submit(wakeup_flags());
    0
}

/// A process ended: emitted once its whole thread group is dead.
#[tracepoint]
pub fn exit_sched_process_exit(ctx: TracePointContext) -> u32 {
    if !in_run() {
        return 0;
    }
    // SAFETY: checked helper read of the tracepoint record (bool group_dead at 32).
    let group_dead = unsafe { tp_field::<u8>(&ctx, 32) };
    if group_dead == 0 {
        return 0;
    }
    let off = offsets();
    let Some(mut entry) = EVENTS.reserve::<ExitEvent>(0) else {
        bump(STAT_RINGBUF_DROPS);
        return 0;
    };
    let ev = entry.as_mut_ptr();
    // SAFETY: `ev` is a fresh reservation of size ExitEvent.
    unsafe {
        fill_header(addr_of_mut!((*ev).header), EventKind::Exit, &off);
        let task = bpf_get_current_task() as *const u8;
        (*ev).exit_code = kread(task, off.task_exit_code);
        (*ev).exit_code_known = u32::from(off.task_exit_code != 0);
    }
    entry.submit(wakeup_flags());
    0
}

/// One entry program per traced system call, reached by tail call from [`syscall_sys_enter`]:
/// `<event>_sys_enter_<syscall> => kind, number of arguments, what to read`. The analyzer puts
/// each at its system call's number in [`SYSCALL_ENTRY`].
macro_rules! syscall_probes {
    ($($prog:ident => $kind:ident, $nargs:literal, $spec:expr;)*) => {
        $(
            #[raw_tracepoint(tracepoint = "sys_enter")]
            pub fn $prog(ctx: RawTracePointContext) -> i32 {
                sys_enter(&ctx, EventKind::$kind, $nargs, $spec)
            }
        )*
    };
}

syscall_probes! {
    // Process
    execfailed_sys_enter_execve => ExecFailed, 3, Spec::path(0);
    execfailed_sys_enter_execveat => ExecFailed, 5, Spec::path(1);
    // File
    open_sys_enter_open => Open, 3, Spec::path(0);
    open_sys_enter_creat => Open, 2, Spec::path(0);
    open_sys_enter_openat => Open, 4, Spec::path(1);
    open_sys_enter_openat2 => Open, 4, Spec { str0: 1, ..Spec::special(F_OPENAT2) };
    unlink_sys_enter_unlink => Unlink, 1, Spec::path(0);
    unlink_sys_enter_unlinkat => Unlink, 3, Spec::path(1);
    unlink_sys_enter_rmdir => Unlink, 1, Spec::path(0);
    rename_sys_enter_rename => Rename, 2, Spec::paths(0, 1);
    rename_sys_enter_renameat => Rename, 4, Spec::paths(1, 3);
    rename_sys_enter_renameat2 => Rename, 5, Spec::paths(1, 3);
    chmod_sys_enter_chmod => Chmod, 2, Spec::path(0);
    chmod_sys_enter_fchmod => Chmod, 2, Spec::new();
    chmod_sys_enter_fchmodat => Chmod, 3, Spec::path(1);
    chmod_sys_enter_fchmodat2 => Chmod, 4, Spec::path(1);
    chown_sys_enter_chown => Chown, 3, Spec::path(0);
    chown_sys_enter_lchown => Chown, 3, Spec::path(0);
    chown_sys_enter_fchown => Chown, 3, Spec::new();
    chown_sys_enter_fchownat => Chown, 5, Spec::path(1);
    link_sys_enter_link => Link, 2, Spec::paths(0, 1);
    link_sys_enter_linkat => Link, 5, Spec::paths(1, 3);
    symlink_sys_enter_symlink => Symlink, 2, Spec::paths(0, 1);
    symlink_sys_enter_symlinkat => Symlink, 3, Spec::paths(0, 2);
    truncate_sys_enter_truncate => Truncate, 2, Spec::path(0);
    truncate_sys_enter_ftruncate => Truncate, 2, Spec::new();
    mkdir_sys_enter_mkdir => Mkdir, 2, Spec::path(0);
    mkdir_sys_enter_mkdirat => Mkdir, 3, Spec::path(1);
    chdir_sys_enter_chdir => Chdir, 1, Spec::path(0);
    chdir_sys_enter_fchdir => Chdir, 1, Spec::new();
    settimes_sys_enter_utimensat => SetTimes, 4, Spec::path(1);
    // Network
    socket_sys_enter_socket => Socket, 3, Spec::new();
    connect_sys_enter_connect => Connect, 3, Spec::addr(1, 2);
    bind_sys_enter_bind => Bind, 3, Spec::addr(1, 2);
    listen_sys_enter_listen => Listen, 2, Spec::new();
    accept_sys_enter_accept => Accept, 3, Spec::new();
    accept_sys_enter_accept4 => Accept, 4, Spec::new();
    sendto_sys_enter_sendto => SendTo, 6, Spec { addr: 4, addr_len: 5, ..Spec::special(F_SENDTO) };
    sendto_sys_enter_sendmsg => SendTo, 3, Spec::special(F_SENDMSG);
    // Privilege and evasion
    ptrace_sys_enter_ptrace => Ptrace, 4, Spec::new();
    processvm_sys_enter_process_vm_writev => ProcessVm, 6, Spec::new();
    processvm_sys_enter_process_vm_readv => ProcessVm, 6, Spec::new();
    memfd_sys_enter_memfd_create => MemfdCreate, 2, Spec { str2: 0, ..Spec::new() };
    execmem_sys_enter_mmap => ExecMemory, 6, Spec::special(F_EXEC_MMAP);
    execmem_sys_enter_mprotect => ExecMemory, 3, Spec::special(F_EXEC_MPROTECT);
    setid_sys_enter_setuid => SetId, 1, Spec::new();
    setid_sys_enter_setgid => SetId, 1, Spec::new();
    setid_sys_enter_setreuid => SetId, 2, Spec::new();
    setid_sys_enter_setregid => SetId, 2, Spec::new();
    setid_sys_enter_setresuid => SetId, 3, Spec::new();
    setid_sys_enter_setresgid => SetId, 3, Spec::new();
    capset_sys_enter_capset => Capset, 2, Spec::new();
    prctl_sys_enter_prctl => Prctl, 5, Spec { str2: 1, ..Spec::special(F_PRCTL_NAME) };
    mount_sys_enter_mount => Mount, 5, Spec { str0: 1, str1: 0, str2: 2, ..Spec::new() };
    umount_sys_enter_umount2 => Umount, 2, Spec::path(0);
    unshare_sys_enter_unshare => Unshare, 1, Spec::new();
    setns_sys_enter_setns => Setns, 2, Spec::new();
    pivotroot_sys_enter_pivot_root => PivotRoot, 2, Spec::paths(0, 1);
    pivotroot_sys_enter_chroot => PivotRoot, 1, Spec::path(0);
    bpf_sys_enter_bpf => Bpf, 3, Spec::new();
    kill_sys_enter_kill => Kill, 2, Spec::new();
    kill_sys_enter_tkill => Kill, 2, Spec::new();
    kill_sys_enter_tgkill => Kill, 3, Spec::new();
    keyctl_sys_enter_keyctl => Keyctl, 5, Spec::new();
    dup_sys_enter_dup => Dup, 1, Spec::new();
    dup_sys_enter_dup2 => Dup, 2, Spec::new();
    dup_sys_enter_dup3 => Dup, 3, Spec::new();
    iouring_sys_enter_io_uring_setup => IoUringSetup, 2, Spec::new();
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";

/// Steers every TCP connection and UDP datagram arriving in the sinkhole's network namespace, whatever
/// its address and port, to the sinkhole's catch-all sockets; DNS over UDP (port 53) goes to the fake
/// resolver's own socket by the normal lookup. Attached by the analyzer to that namespace only.
#[sk_lookup]
pub fn sinkhole_sk_lookup(ctx: SkLookupContext) -> u32 {
    const SK_PASS: u32 = 1;
    // SAFETY: the kernel hands a valid bpf_sk_lookup for the duration of the program.
    let (protocol, port) = unsafe { ((*ctx.lookup).protocol, (*ctx.lookup).local_port) };
    let index = match protocol {
        6 => 0,
        17 if port != 53 => 1,
        _ => return SK_PASS,
    };
    // Without a socket in the map (set-up not finished) the normal lookup decides.
    let _ = SINK_SOCKS.redirect_sk_lookup(&ctx, index, 0);
    SK_PASS
}
