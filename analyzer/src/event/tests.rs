//! Unit tests of the record decoder: every kind round-trips from the kernel's record structs, and no
//! byte slice makes [`decode`] panic.

use super::*;

use sandtrace_common::{
    ARGV_LEN, COMM_LEN, EXEC_PATH_LEN, FLAG_ADDR_FROM_EXIT, FLAG_READ_FAILED, PATH_LEN, SHORT_STR_LEN,
    SOCKADDR_LEN,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `AT_FDCWD` as the kernel passes it in a 64-bit register.
const AT_FDCWD: u64 = -100i64 as u64;
/// A user-space pointer argument (its value means nothing to the decoder).
const PTR: u64 = 0x7ffd_1234_5678;

const TS: u64 = 123_456_789_000;
const PID: u32 = 4242;
const TID: u32 = 4243;
const PPID: u32 = 4000;
const UID: u32 = 1000;
const GID: u32 = 1001;
const CGROUP: u64 = 0xc0ffee;
const SEQ: u64 = 17;

/// The raw bytes of a record struct, as the ring buffer delivers them.
fn bytes_of<T: Record>(record: &T) -> Vec<u8> {
    // SAFETY: the record structs are repr(C) integers and byte arrays without padding; reading
    // `size_of::<T>()` bytes from a valid reference stays in bounds.
    unsafe { std::slice::from_raw_parts((record as *const T).cast::<u8>(), T::SIZE) }.to_vec()
}

/// An all-zero record struct.
fn zeroed<T: Record>() -> T {
    // SAFETY: plain old data: every bit pattern, all zeros included, is a valid value.
    unsafe { std::mem::zeroed() }
}

fn comm(name: &[u8]) -> [u8; COMM_LEN] {
    let mut c = [0u8; COMM_LEN];
    c[..name.len()].copy_from_slice(name);
    c
}

fn header(kind: EventKind) -> EventHeader {
    let mut h: EventHeader = zeroed();
    h.kind = kind as u32;
    h.ts_ns = TS;
    h.pid = PID;
    h.tid = TID;
    h.ppid = PPID;
    h.uid = UID;
    h.gid = GID;
    h.cgroup_id = CGROUP;
    h.comm = comm(b"sample");
    h
}

/// The event `header(kind)` decodes to, with `data`.
fn expected_event(kind: EventKind, truncated: bool, data: EventData) -> Event {
    Event {
        seq: SEQ,
        ts_ns: TS,
        kind,
        pid: PID,
        tid: TID,
        ppid: PPID,
        uid: UID,
        gid: GID,
        cgroup_id: CGROUP,
        comm: "sample".into(),
        truncated,
        data,
    }
}

/// Copies `s` and its terminating NUL into a fixed buffer and sets its length (NUL included).
fn put_str(buf: &mut [u8], len: &mut u32, s: &[u8]) {
    buf[..s.len()].copy_from_slice(s);
    buf[s.len()] = 0;
    *len = u32::try_from(s.len() + 1).expect("test strings are short");
}

fn syscall(kind: EventKind, nr: u32, args: [u64; 6], ret: i64) -> SyscallEvent {
    let mut r: SyscallEvent = zeroed();
    r.header = header(kind);
    r.nr = nr;
    r.args = args;
    r.ret = ret;
    r
}

fn with_str0(mut r: SyscallEvent, s: &[u8]) -> SyscallEvent {
    put_str(&mut r.str0, &mut r.str_len[0], s);
    r
}

fn with_str1(mut r: SyscallEvent, s: &[u8]) -> SyscallEvent {
    put_str(&mut r.str1, &mut r.str_len[1], s);
    r
}

fn with_str2(mut r: SyscallEvent, s: &[u8]) -> SyscallEvent {
    put_str(&mut r.str2, &mut r.str_len[2], s);
    r
}

fn with_addr(mut r: SyscallEvent, addr: &[u8]) -> SyscallEvent {
    r.sockaddr[..addr.len()].copy_from_slice(addr);
    r.sockaddr_len = u32::try_from(addr.len()).expect("a sockaddr is short");
    r
}

/// `struct sockaddr_in`.
fn sockaddr_in(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[..2].copy_from_slice(&2u16.to_le_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

/// `struct sockaddr_in6`.
fn sockaddr_in6(ip: Ipv6Addr, port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 28];
    b[..2].copy_from_slice(&10u16.to_le_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes()); // flow info, ignored
    b[8..24].copy_from_slice(&ip.octets());
    b
}

/// `struct sockaddr_un` with a path (NUL-terminated, as `sizeof` callers pass it).
fn sockaddr_un(path: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 110];
    b[..2].copy_from_slice(&1u16.to_le_bytes());
    b[2..2 + path.len()].copy_from_slice(path);
    b
}

fn sys_event(kind: EventKind, truncated: bool, data: SyscallData) -> Event {
    expected_event(kind, truncated, EventData::Syscall(Box::new(data)))
}

fn decode_ok(bytes: &[u8]) -> Event {
    decode(bytes, SEQ).expect("a well-formed record decodes")
}

fn syscall_data(event: &Event) -> &SyscallData {
    match &event.data {
        EventData::Syscall(d) => d,
        other => panic!("expected syscall data, got {other:?}"),
    }
}

/// Every text field of an event.
fn texts(event: &Event) -> Vec<String> {
    let mut out = vec![event.comm.clone()];
    match &event.data {
        EventData::Fork { .. } | EventData::Exit { .. } => {}
        EventData::Exec { filename, argv, .. } => {
            out.push(filename.clone());
            out.extend(argv.iter().cloned());
        }
        EventData::Syscall(d) => {
            out.extend([&d.path, &d.path2, &d.name].into_iter().flatten().cloned());
            if let Some(SockAddr::Unix { path }) = &d.addr {
                out.push(path.clone());
            }
        }
    }
    out
}

/// Size of the record struct of a kind.
fn record_size(kind: EventKind) -> usize {
    match kind {
        EventKind::Fork => ForkEvent::SIZE,
        EventKind::Exec => ExecEvent::SIZE,
        EventKind::Exit => ExitEvent::SIZE,
        _ => SyscallEvent::SIZE,
    }
}

/// Deterministic xorshift64* generator (no extra crates).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n fits in usize")
    }

    /// A fair coin toss.
    fn coin(&mut self) -> bool {
        self.next() >> 63 == 1
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips of every kind
// ---------------------------------------------------------------------------------------------

/// A record of `kind` and the event it must decode to. The match has no wildcard, so a new kind
/// without a case here fails to compile.
fn roundtrip_case(kind: EventKind) -> (Vec<u8>, Event) {
    use EventKind as K;
    let sys_case =
        |r: SyscallEvent, truncated: bool, d: SyscallData| (bytes_of(&r), sys_event(kind, truncated, d));
    match kind {
        K::Fork => {
            let mut r: ForkEvent = zeroed();
            r.header = header(kind);
            r.child_pid = 5001;
            r.child_tid = 5001;
            r.fork_flags = 0;
            let data = EventData::Fork {
                child_pid: 5001,
                child_tid: 5001,
                thread: false,
            };
            (bytes_of(&r), expected_event(kind, false, data))
        }
        K::Exec => {
            let mut r: ExecEvent = zeroed();
            r.header = header(kind);
            r.old_tid = TID;
            put_str(&mut r.filename, &mut r.filename_len, b"/usr/bin/env");
            let block = b"a\0bb\0ccc\0";
            r.argv[..block.len()].copy_from_slice(block);
            r.argv_len = 9;
            r.argv_total = 9;
            let data = EventData::Exec {
                filename: "/usr/bin/env".into(),
                argv: vec!["a".into(), "bb".into(), "ccc".into()],
                argv_truncated: false,
                env: Vec::new(),
            };
            (bytes_of(&r), expected_event(kind, false, data))
        }
        K::Exit => {
            let mut r: ExitEvent = zeroed();
            r.header = header(kind);
            r.exit_code = 3 << 8;
            r.exit_code_known = 1;
            let data = EventData::Exit {
                status: Some(3),
                signal: None,
            };
            (bytes_of(&r), expected_event(kind, false, data))
        }
        K::ExecFailed => sys_case(
            with_str0(
                syscall(kind, 322, [AT_FDCWD, PTR, PTR, PTR, 0x1000, 0], -13),
                b"./missing",
            ),
            false,
            SyscallData {
                syscall: "execveat".into(),
                ret: -13,
                error: Some("EACCES".into()),
                path: Some("./missing".into()),
                fd: Some(-100),
                flags: Some(0x1000),
                args: [AT_FDCWD, PTR, PTR, PTR, 0x1000, 0],
                ..SyscallData::default()
            },
        ),
        K::Open => sys_case(
            with_str0(
                syscall(kind, 257, [AT_FDCWD, PTR, 0o101, 0o644, 0, 0], 3),
                b"etc/passwd",
            ),
            false,
            SyscallData {
                syscall: "openat".into(),
                ret: 3,
                path: Some("etc/passwd".into()),
                fd: Some(-100),
                flags: Some(0o101),
                mode: Some(0o644),
                args: [AT_FDCWD, PTR, 0o101, 0o644, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Unlink => sys_case(
            with_str0(syscall(kind, 263, [5, PTR, 0x200, 0, 0, 0], 0), b"dir"),
            false,
            SyscallData {
                syscall: "unlinkat".into(),
                path: Some("dir".into()),
                fd: Some(5),
                flags: Some(0x200),
                args: [5, PTR, 0x200, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Rename => sys_case(
            with_str1(
                with_str0(syscall(kind, 316, [AT_FDCWD, PTR, 7, PTR, 1, 0], 0), b"old"),
                b"new",
            ),
            false,
            SyscallData {
                syscall: "renameat2".into(),
                path: Some("old".into()),
                path2: Some("new".into()),
                fd: Some(-100),
                fd2: Some(7),
                flags: Some(1),
                args: [AT_FDCWD, PTR, 7, PTR, 1, 0],
                ..SyscallData::default()
            },
        ),
        K::Chmod => sys_case(
            with_str0(syscall(kind, 90, [PTR, 0o4755, 0, 0, 0, 0], 0), b"/tmp/x"),
            false,
            SyscallData {
                syscall: "chmod".into(),
                path: Some("/tmp/x".into()),
                mode: Some(0o4755),
                args: [PTR, 0o4755, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Chown => sys_case(
            // owner 0, group -1 (unchanged), AT_SYMLINK_NOFOLLOW.
            with_str0(
                syscall(kind, 260, [AT_FDCWD, PTR, 0, 0xffff_ffff, 0x100, 0], -1),
                b"/etc/shadow",
            ),
            false,
            SyscallData {
                syscall: "fchownat".into(),
                ret: -1,
                error: Some("EPERM".into()),
                path: Some("/etc/shadow".into()),
                fd: Some(-100),
                ids: vec![0, -1],
                flags: Some(0x100),
                args: [AT_FDCWD, PTR, 0, 0xffff_ffff, 0x100, 0],
                ..SyscallData::default()
            },
        ),
        K::Link => sys_case(
            with_str1(
                with_str0(syscall(kind, 265, [3, PTR, 4, PTR, 0x400, 0], 0), b"a"),
                b"b",
            ),
            false,
            SyscallData {
                syscall: "linkat".into(),
                path: Some("a".into()),
                path2: Some("b".into()),
                fd: Some(3),
                fd2: Some(4),
                flags: Some(0x400),
                args: [3, PTR, 4, PTR, 0x400, 0],
                ..SyscallData::default()
            },
        ),
        K::Symlink => {
            // The second string was cut at its buffer size.
            let mut r = with_str1(
                with_str0(
                    syscall(kind, 266, [PTR, AT_FDCWD, PTR, 0, 0, 0], 0),
                    b"/etc/shadow",
                ),
                b"link",
            );
            r.header.flags |= FLAG_STR1_TRUNCATED;
            sys_case(
                r,
                true,
                SyscallData {
                    syscall: "symlinkat".into(),
                    path: Some("/etc/shadow".into()),
                    path2: Some("link".into()),
                    fd: Some(-100),
                    args: [PTR, AT_FDCWD, PTR, 0, 0, 0],
                    ..SyscallData::default()
                },
            )
        }
        K::Truncate => sys_case(
            syscall(kind, 77, [9, 0, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "ftruncate".into(),
                fd: Some(9),
                mode: Some(0),
                args: [9, 0, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Mkdir => sys_case(
            with_str0(syscall(kind, 258, [AT_FDCWD, PTR, 0o700, 0, 0, 0], -17), b"d"),
            false,
            SyscallData {
                syscall: "mkdirat".into(),
                ret: -17,
                error: Some("EEXIST".into()),
                path: Some("d".into()),
                fd: Some(-100),
                mode: Some(0o700),
                args: [AT_FDCWD, PTR, 0o700, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Chdir => sys_case(
            with_str0(syscall(kind, 80, [PTR, 0, 0, 0, 0, 0], 0), b"/tmp"),
            false,
            SyscallData {
                syscall: "chdir".into(),
                path: Some("/tmp".into()),
                args: [PTR, 0, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::SetTimes => sys_case(
            with_str0(syscall(kind, 280, [AT_FDCWD, PTR, 0, 0x100, 0, 0], 0), b"f"),
            false,
            SyscallData {
                syscall: "utimensat".into(),
                path: Some("f".into()),
                fd: Some(-100),
                flags: Some(0x100),
                args: [AT_FDCWD, PTR, 0, 0x100, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Socket => sys_case(
            // AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP.
            syscall(kind, 41, [2, 1 | 0o2_000_000, 6, 0, 0, 0], 3),
            false,
            SyscallData {
                syscall: "socket".into(),
                ret: 3,
                socket: Some(SocketSpec {
                    family: "inet".into(),
                    sock_type: "stream".into(),
                    protocol: 6,
                }),
                args: [2, 1 | 0o2_000_000, 6, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Connect => sys_case(
            with_addr(
                syscall(kind, 42, [3, PTR, 16, 0, 0, 0], -111),
                &sockaddr_in([10, 0, 0, 1], 80),
            ),
            false,
            SyscallData {
                syscall: "connect".into(),
                ret: -111,
                error: Some("ECONNREFUSED".into()),
                fd: Some(3),
                addr: Some(SockAddr::Inet {
                    address: "10.0.0.1".into(),
                    port: 80,
                }),
                args: [3, PTR, 16, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Bind => sys_case(
            with_addr(
                syscall(kind, 49, [4, PTR, 28, 0, 0, 0], 0),
                &sockaddr_in6(Ipv6Addr::LOCALHOST, 8080),
            ),
            false,
            SyscallData {
                syscall: "bind".into(),
                fd: Some(4),
                addr: Some(SockAddr::Inet {
                    address: "::1".into(),
                    port: 8080,
                }),
                args: [4, PTR, 28, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Listen => sys_case(
            syscall(kind, 50, [4, 128, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "listen".into(),
                fd: Some(4),
                op: Some(128),
                args: [4, 128, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Accept => {
            // accept4 with SOCK_NONBLOCK; the peer address was read on return.
            let mut r = with_addr(
                syscall(kind, 288, [4, PTR, PTR, 0x800, 0, 0], 5),
                &sockaddr_un(b"/run/app.sock\0"),
            );
            r.header.flags |= FLAG_ADDR_FROM_EXIT;
            sys_case(
                r,
                false,
                SyscallData {
                    syscall: "accept4".into(),
                    ret: 5,
                    fd: Some(4),
                    flags: Some(0x800),
                    addr: Some(SockAddr::Unix {
                        path: "/run/app.sock".into(),
                    }),
                    args: [4, PTR, PTR, 0x800, 0, 0],
                    ..SyscallData::default()
                },
            )
        }
        K::SendTo | K::DnsQuery | K::Payload => sys_case(
            with_addr(
                syscall(kind, 44, [5, PTR, 32, 0x40, PTR, 16], 32),
                &sockaddr_in([8, 8, 8, 8], 53),
            ),
            false,
            SyscallData {
                syscall: "sendto".into(),
                ret: 32,
                fd: Some(5),
                flags: Some(0x40),
                addr: Some(SockAddr::Inet {
                    address: "8.8.8.8".into(),
                    port: 53,
                }),
                args: [5, PTR, 32, 0x40, PTR, 16],
                ..SyscallData::default()
            },
        ),
        K::Ptrace => sys_case(
            // PTRACE_ATTACH.
            syscall(kind, 101, [16, 1234, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "ptrace".into(),
                op: Some(16),
                target_pid: Some(1234),
                args: [16, 1234, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::ProcessVm => sys_case(
            syscall(kind, 311, [1234, PTR, 1, PTR, 1, 0], 4096),
            false,
            SyscallData {
                syscall: "process_vm_writev".into(),
                ret: 4096,
                target_pid: Some(1234),
                args: [1234, PTR, 1, PTR, 1, 0],
                ..SyscallData::default()
            },
        ),
        K::MemfdCreate => sys_case(
            // MFD_CLOEXEC; the name is the short third string.
            with_str2(syscall(kind, 319, [PTR, 1, 0, 0, 0, 0], 3), b"payload"),
            false,
            SyscallData {
                syscall: "memfd_create".into(),
                ret: 3,
                name: Some("payload".into()),
                flags: Some(1),
                args: [PTR, 1, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::ExecMemory => sys_case(
            // mprotect(addr, len, PROT_READ | PROT_WRITE | PROT_EXEC).
            syscall(kind, 10, [PTR, 4096, 7, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "mprotect".into(),
                mode: Some(7),
                args: [PTR, 4096, 7, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::SetId => sys_case(
            syscall(kind, 117, [0, 0, 0xffff_ffff, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "setresuid".into(),
                ids: vec![0, 0, -1],
                args: [0, 0, 0xffff_ffff, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Capset => sys_case(
            syscall(kind, 126, [PTR, PTR, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "capset".into(),
                args: [PTR, PTR, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Prctl => sys_case(
            // PR_SET_NAME.
            syscall(kind, 157, [15, PTR, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "prctl".into(),
                op: Some(15),
                flags: Some(PTR),
                args: [15, PTR, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Mount => sys_case(
            // mount("proc", "/mnt", "proc", MS_BIND, NULL): str0 is the target, str1 the source.
            with_str2(
                with_str1(
                    with_str0(syscall(kind, 165, [PTR, PTR, PTR, 4096, 0, 0], -1), b"/mnt"),
                    b"proc",
                ),
                b"proc",
            ),
            false,
            SyscallData {
                syscall: "mount".into(),
                ret: -1,
                error: Some("EPERM".into()),
                path: Some("/mnt".into()),
                path2: Some("proc".into()),
                name: Some("proc".into()),
                flags: Some(4096),
                args: [PTR, PTR, PTR, 4096, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Umount => sys_case(
            // MNT_DETACH.
            with_str0(syscall(kind, 166, [PTR, 2, 0, 0, 0, 0], 0), b"/mnt"),
            false,
            SyscallData {
                syscall: "umount2".into(),
                path: Some("/mnt".into()),
                flags: Some(2),
                args: [PTR, 2, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Unshare => sys_case(
            // CLONE_NEWUSER.
            syscall(kind, 272, [0x1000_0000, 0, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "unshare".into(),
                flags: Some(0x1000_0000),
                args: [0x1000_0000, 0, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Setns => sys_case(
            // CLONE_NEWNET.
            syscall(kind, 308, [5, 0x4000_0000, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "setns".into(),
                fd: Some(5),
                flags: Some(0x4000_0000),
                args: [5, 0x4000_0000, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::PivotRoot => sys_case(
            with_str1(
                with_str0(syscall(kind, 155, [PTR, PTR, 0, 0, 0, 0], 0), b"."),
                b"old",
            ),
            false,
            SyscallData {
                syscall: "pivot_root".into(),
                path: Some(".".into()),
                path2: Some("old".into()),
                args: [PTR, PTR, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::KernelModule => sys_case(
            syscall(kind, 313, [3, PTR, 0, 0, 0, 0], -1),
            false,
            SyscallData {
                syscall: "finit_module".into(),
                ret: -1,
                error: Some("EPERM".into()),
                fd: Some(3),
                flags: Some(0),
                args: [3, PTR, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Bpf => sys_case(
            // BPF_PROG_LOAD.
            syscall(kind, 321, [5, PTR, 144, 0, 0, 0], 7),
            false,
            SyscallData {
                syscall: "bpf".into(),
                ret: 7,
                op: Some(5),
                args: [5, PTR, 144, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Kill => sys_case(
            // kill(-1, SIGKILL), the int -1 zero-extended in its register.
            syscall(kind, 62, [0xffff_ffff, 9, 0, 0, 0, 0], 0),
            false,
            SyscallData {
                syscall: "kill".into(),
                target_pid: Some(-1),
                op: Some(9),
                args: [0xffff_ffff, 9, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Keyctl => sys_case(
            // KEYCTL_JOIN_SESSION_KEYRING.
            syscall(kind, 250, [1, 0, 0, 0, 0, 0], 12),
            false,
            SyscallData {
                syscall: "keyctl".into(),
                ret: 12,
                op: Some(1),
                args: [1, 0, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::Dup => sys_case(
            syscall(kind, 33, [3, 1, 0, 0, 0, 0], 1),
            false,
            SyscallData {
                syscall: "dup2".into(),
                ret: 1,
                fd: Some(3),
                fd2: Some(1),
                args: [3, 1, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
        K::IoUringSetup => sys_case(
            syscall(kind, 425, [8, PTR, 0, 0, 0, 0], 4),
            false,
            SyscallData {
                syscall: "io_uring_setup".into(),
                ret: 4,
                args: [8, PTR, 0, 0, 0, 0],
                ..SyscallData::default()
            },
        ),
    }
}

#[test]
fn every_kind_round_trips() {
    for kind in EventKind::ALL {
        let (bytes, expected) = roundtrip_case(kind);
        assert_eq!(
            bytes.len(),
            record_size(kind),
            "{kind:?}: test record has the struct's size"
        );
        let event = decode(&bytes, SEQ).unwrap_or_else(|e| panic!("{kind:?} did not decode: {e}"));
        assert_eq!(event, expected, "{kind:?}");
    }
}

#[test]
fn every_syscall_case_uses_a_syscall_of_the_table() {
    for kind in EventKind::ALL {
        let (bytes, event) = roundtrip_case(kind);
        if let EventData::Syscall(d) = &event.data {
            let r: SyscallEvent = read_record(&bytes);
            assert_eq!(syscall_name(r.nr), Some(d.syscall.as_str()), "{kind:?}");
        }
    }
}

#[test]
fn trailing_bytes_after_a_record_are_ignored() {
    for kind in EventKind::ALL {
        let (mut bytes, expected) = roundtrip_case(kind);
        bytes.extend_from_slice(&[0xff; 37]);
        assert_eq!(decode_ok(&bytes), expected, "{kind:?}");
    }
}

#[test]
fn seq_is_the_argument_not_part_of_the_record() {
    let (bytes, _) = roundtrip_case(EventKind::Open);
    assert_eq!(decode(&bytes, 0).expect("decodes").seq, 0);
    assert_eq!(decode(&bytes, u64::MAX).expect("decodes").seq, u64::MAX);
}

#[test]
fn decoded_events_survive_a_json_round_trip() {
    for kind in EventKind::ALL {
        let (bytes, _) = roundtrip_case(kind);
        let event = decode_ok(&bytes);
        let json = serde_json::to_string(&event).expect("an event serializes");
        let back: Event = serde_json::from_str(&json).expect("and deserializes");
        assert_eq!(back, event, "{kind:?}: {json}");
    }
}

// ---------------------------------------------------------------------------------------------
// Header fields
// ---------------------------------------------------------------------------------------------

#[test]
fn comm_filling_its_whole_buffer_is_kept_whole() {
    let mut r = syscall(EventKind::Capset, 126, [0; 6], 0);
    r.header.comm = *b"0123456789abcdef";
    assert_eq!(decode_ok(&bytes_of(&r)).comm, "0123456789abcdef");
}

#[test]
fn comm_with_control_and_invalid_bytes_is_escaped() {
    let mut r = syscall(EventKind::Capset, 126, [0; 6], 0);
    r.header.comm = comm(b"x\n\xff\x1b");
    assert_eq!(decode_ok(&bytes_of(&r)).comm, "x\\x0a\\xff\\x1b");
}

#[test]
fn string_truncation_flags_set_truncated() {
    for flag in [FLAG_STR0_TRUNCATED, FLAG_STR1_TRUNCATED, FLAG_STR2_TRUNCATED] {
        let mut r = with_str0(
            syscall(EventKind::Open, 257, [AT_FDCWD, PTR, 0, 0, 0, 0], 3),
            b"x",
        );
        r.header.flags = flag;
        assert!(decode_ok(&bytes_of(&r)).truncated, "flag {flag:#x}");
    }
}

#[test]
fn other_flags_do_not_set_truncated() {
    for flag in [FLAG_READ_FAILED, FLAG_ADDR_FROM_EXIT, FLAG_ARGV_TRUNCATED] {
        let mut r = with_str0(
            syscall(EventKind::Open, 257, [AT_FDCWD, PTR, 0, 0, 0, 0], 3),
            b"x",
        );
        r.header.flags = flag;
        assert!(!decode_ok(&bytes_of(&r)).truncated, "flag {flag:#x}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fork
// ---------------------------------------------------------------------------------------------

#[test]
fn fork_of_a_thread() {
    let mut r: ForkEvent = zeroed();
    r.header = header(EventKind::Fork);
    r.child_pid = PID;
    r.child_tid = 5002;
    r.fork_flags = FORK_IS_THREAD;
    assert_eq!(
        decode_ok(&bytes_of(&r)).data,
        EventData::Fork {
            child_pid: PID,
            child_tid: 5002,
            thread: true,
        }
    );
}

#[test]
fn fork_flags_other_than_thread_are_ignored() {
    let mut r: ForkEvent = zeroed();
    r.header = header(EventKind::Fork);
    r.child_pid = 6000;
    r.child_tid = 6000;
    r.fork_flags = !FORK_IS_THREAD;
    let EventData::Fork { thread, .. } = decode_ok(&bytes_of(&r)).data else {
        panic!("a fork record decodes to fork data");
    };
    assert!(!thread);
}

// ---------------------------------------------------------------------------------------------
// Exec
// ---------------------------------------------------------------------------------------------

fn exec_record(filename: &[u8], argv: &[u8]) -> ExecEvent {
    let mut r: ExecEvent = zeroed();
    r.header = header(EventKind::Exec);
    put_str(&mut r.filename, &mut r.filename_len, filename);
    r.argv[..argv.len()].copy_from_slice(argv);
    r.argv_len = u32::try_from(argv.len()).expect("short argv");
    r.argv_total = r.argv_len;
    r
}

fn exec_data(r: &ExecEvent) -> (String, Vec<String>, bool, bool) {
    let event = decode_ok(&bytes_of(r));
    match event.data {
        EventData::Exec {
            filename,
            argv,
            argv_truncated,
            ..
        } => (filename, argv, argv_truncated, event.truncated),
        other => panic!("expected exec data, got {other:?}"),
    }
}

#[test]
fn exec_argv_block_is_split_at_nuls() {
    let (filename, argv, argv_truncated, truncated) =
        exec_data(&exec_record(b"/bin/busybox", b"a\0bb\0ccc\0"));
    assert_eq!(filename, "/bin/busybox");
    assert_eq!(argv, ["a", "bb", "ccc"]);
    assert!(!argv_truncated);
    assert!(!truncated);
}

#[test]
fn exec_argv_without_final_nul_keeps_last_argument() {
    let (_, argv, _, _) = exec_data(&exec_record(b"/bin/sh", b"sh\0-c\0id"));
    assert_eq!(argv, ["sh", "-c", "id"]);
}

#[test]
fn exec_empty_arguments_are_kept() {
    let (_, argv, _, _) = exec_data(&exec_record(b"/bin/sh", b"sh\0\0x\0\0"));
    assert_eq!(argv, ["sh", "", "x", ""]);
}

#[test]
fn exec_empty_argv() {
    let (filename, argv, _, _) = exec_data(&exec_record(b"/bin/true", b""));
    assert_eq!(filename, "/bin/true");
    assert!(argv.is_empty());
    // A block of a single NUL is one empty argument stripped of its terminator: still nothing.
    let (_, argv, _, _) = exec_data(&exec_record(b"/bin/true", b"\0"));
    assert!(argv.is_empty());
}

#[test]
fn exec_argv_len_limits_the_block() {
    let mut r = exec_record(b"/bin/sh", b"a\0bb\0ccc\0");
    r.argv_len = 5; // "a\0bb\0"
    let (_, argv, _, _) = exec_data(&r);
    assert_eq!(argv, ["a", "bb"]);
}

#[test]
fn exec_argv_truncated_flag() {
    let mut r = exec_record(b"/bin/sh", b"a\0b\0");
    r.header.flags = FLAG_ARGV_TRUNCATED;
    r.argv_total = 100_000;
    let (_, argv, argv_truncated, truncated) = exec_data(&r);
    assert_eq!(argv, ["a", "b"]);
    assert!(argv_truncated);
    assert!(truncated, "a cut argument block makes the event truncated");
}

#[test]
fn exec_arguments_are_escaped() {
    let (_, argv, _, _) = exec_data(&exec_record(b"/bin/echo", b"echo\0a\nb\0\xff\0"));
    assert_eq!(argv, ["echo", "a\\x0ab", "\\xff"]);
}

#[test]
fn exec_empty_filename() {
    let mut r = exec_record(b"", b"x\0");
    r.filename_len = 0;
    let (filename, argv, _, _) = exec_data(&r);
    assert_eq!(filename, "");
    assert_eq!(argv, ["x"]);
}

// ---------------------------------------------------------------------------------------------
// Exit
// ---------------------------------------------------------------------------------------------

fn exit_data(exit_code: u32, known: u32) -> EventData {
    let mut r: ExitEvent = zeroed();
    r.header = header(EventKind::Exit);
    r.exit_code = exit_code;
    r.exit_code_known = known;
    decode_ok(&bytes_of(&r)).data
}

#[test]
fn exit_status() {
    assert_eq!(
        exit_data(3 << 8, 1),
        EventData::Exit {
            status: Some(3),
            signal: None,
        }
    );
    assert_eq!(
        exit_data(0, 1),
        EventData::Exit {
            status: Some(0),
            signal: None,
        }
    );
    assert_eq!(
        exit_data(255 << 8, 1),
        EventData::Exit {
            status: Some(255),
            signal: None,
        }
    );
}

#[test]
fn exit_signal() {
    assert_eq!(
        exit_data(9, 1),
        EventData::Exit {
            status: None,
            signal: Some(9),
        }
    );
    // SIGSEGV with the core-dump bit.
    assert_eq!(
        exit_data(0x80 | 11, 1),
        EventData::Exit {
            status: None,
            signal: Some(11),
        }
    );
}

#[test]
fn exit_code_unknown() {
    for code in [0, 3 << 8, 9, u32::MAX] {
        assert_eq!(
            exit_data(code, 0),
            EventData::Exit {
                status: None,
                signal: None,
            },
            "exit_code {code:#x}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Syscalls
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_syscall_number_is_named_by_number() {
    let r = with_str0(syscall(EventKind::Open, 9999, [1, 2, 3, 4, 5, 6], -2), b"/x");
    let event = decode_ok(&bytes_of(&r));
    assert_eq!(
        *syscall_data(&event),
        SyscallData {
            syscall: "syscall_9999".into(),
            ret: -2,
            error: Some("ENOENT".into()),
            path: Some("/x".into()),
            args: [1, 2, 3, 4, 5, 6],
            ..SyscallData::default()
        }
    );
}

#[test]
fn fds_and_pids_keep_the_sign_of_their_low_32_bits() {
    // -100 sign-extended or zero-extended in the register: both AT_FDCWD.
    for raw in [AT_FDCWD, u64::from(-100i32 as u32)] {
        let r = syscall(EventKind::Open, 257, [raw, PTR, 0, 0, 0, 0], 3);
        assert_eq!(syscall_data(&decode_ok(&bytes_of(&r))).fd, Some(-100), "{raw:#x}");
    }
    // High garbage above the int is ignored.
    let r = syscall(EventKind::Kill, 62, [0xdead_0000_0000_0007, 15, 0, 0, 0, 0], 0);
    assert_eq!(syscall_data(&decode_ok(&bytes_of(&r))).target_pid, Some(7));
}

#[test]
fn ops_and_flags_keep_all_64_bits() {
    let r = syscall(EventKind::Prctl, 157, [u64::MAX, u64::MAX, 0, 0, 0, 0], 0);
    let event = decode_ok(&bytes_of(&r));
    let d = syscall_data(&event);
    assert_eq!(d.op, Some(-1));
    assert_eq!(d.flags, Some(u64::MAX));
}

#[test]
fn syscall_without_error_has_no_error_name() {
    for ret in [0, 1, i64::MAX] {
        let r = syscall(EventKind::Capset, 126, [0; 6], ret);
        assert_eq!(syscall_data(&decode_ok(&bytes_of(&r))).error, None, "ret {ret}");
    }
}

#[test]
fn syscall_error_names() {
    for (ret, name) in [(-1, "EPERM"), (-13, "EACCES"), (-4095, "E4095")] {
        let r = syscall(EventKind::Capset, 126, [0; 6], ret);
        assert_eq!(
            syscall_data(&decode_ok(&bytes_of(&r))).error.as_deref(),
            Some(name),
            "ret {ret}"
        );
    }
}

#[test]
fn unused_strings_are_absent_and_empty_strings_present() {
    let mut r = syscall(EventKind::Open, 257, [AT_FDCWD, PTR, 0, 0, 0, 0], -2);
    r.str_len[0] = 1; // just the NUL: an empty path was passed
    let event = decode_ok(&bytes_of(&r));
    let d = syscall_data(&event);
    assert_eq!(d.path.as_deref(), Some(""));
    assert_eq!(d.path2, None);
    assert_eq!(d.name, None);
}

#[test]
fn string_stops_at_its_nul_even_if_len_is_larger() {
    let mut r = with_str0(syscall(EventKind::Chmod, 90, [PTR, 0o777, 0, 0, 0, 0], 0), b"/a");
    r.str0[3..6].copy_from_slice(b"zzz");
    r.str_len[0] = 6;
    assert_eq!(
        syscall_data(&decode_ok(&bytes_of(&r))).path.as_deref(),
        Some("/a")
    );
}

#[test]
fn socket_families_and_types() {
    let cases: [(u64, u64, &str, &str); 7] = [
        (1, 1, "unix", "stream"),
        (2, 2, "inet", "dgram"),
        (10, 3, "inet6", "raw"),
        (16, 3, "netlink", "raw"),
        (17, 3, "packet", "raw"),
        (1, 5 | 0o4000, "unix", "seqpacket"),
        (44, 10, "44", "10"),
    ];
    for (domain, ty, family, sock_type) in cases {
        let r = syscall(EventKind::Socket, 41, [domain, ty, 0, 0, 0, 0], 3);
        let event = decode_ok(&bytes_of(&r));
        assert_eq!(
            syscall_data(&event).socket,
            Some(SocketSpec {
                family: family.into(),
                sock_type: sock_type.into(),
                protocol: 0,
            }),
            "domain {domain} type {ty}"
        );
    }
}

#[test]
fn sockaddr_shorter_than_the_family_is_absent() {
    for len in [0, 1] {
        let mut r = with_addr(
            syscall(EventKind::Connect, 42, [3, PTR, 16, 0, 0, 0], 0),
            &sockaddr_in([1, 2, 3, 4], 5),
        );
        r.sockaddr_len = len;
        assert_eq!(syscall_data(&decode_ok(&bytes_of(&r))).addr, None, "len {len}");
    }
}

#[test]
fn sockaddr_len_limits_the_address() {
    // Cut before the IPv4 address: only the family is known.
    let mut r = with_addr(
        syscall(EventKind::Connect, 42, [3, PTR, 16, 0, 0, 0], 0),
        &sockaddr_in([1, 2, 3, 4], 5),
    );
    r.sockaddr_len = 6;
    assert_eq!(
        syscall_data(&decode_ok(&bytes_of(&r))).addr,
        Some(SockAddr::Other { number: 2 })
    );
}

// ---------------------------------------------------------------------------------------------
// Compact syscall records
// ---------------------------------------------------------------------------------------------

#[test]
fn compact_record_decodes_like_the_full_one() {
    let mut r = with_str0(
        syscall(EventKind::Open, 257, [AT_FDCWD, PTR, 0, 0, 0, 0], 3),
        b"/etc/hosts",
    );
    r.header.flags = FLAG_COMPACT;
    let full = bytes_of(&r);
    let compact = &full[..SYSCALL_COMPACT_LEN];
    let from_full = decode_ok(&full);
    assert_eq!(decode_ok(compact), from_full);
    assert_eq!(syscall_data(&from_full).path.as_deref(), Some("/etc/hosts"));
}

#[test]
fn compact_record_with_a_few_extra_bytes() {
    let mut r = with_str0(syscall(EventKind::Unlink, 87, [PTR, 0, 0, 0, 0, 0], 0), b"/tmp/x");
    r.header.flags = FLAG_COMPACT;
    let full = bytes_of(&r);
    let event = decode_ok(&full[..SYSCALL_COMPACT_LEN + 10]);
    assert_eq!(syscall_data(&event).path.as_deref(), Some("/tmp/x"));
}

#[test]
fn compact_flag_on_a_full_record_reads_everything() {
    let mut r = with_str1(
        with_str0(syscall(EventKind::Rename, 82, [PTR, PTR, 0, 0, 0, 0], 0), b"a"),
        b"b",
    );
    r.header.flags = FLAG_COMPACT;
    let event = decode_ok(&bytes_of(&r));
    assert_eq!(syscall_data(&event).path2.as_deref(), Some("b"));
}

#[test]
fn compact_record_shorter_than_its_compact_size() {
    let mut r = syscall(EventKind::Open, 257, [0; 6], 0);
    r.header.flags = FLAG_COMPACT;
    let full = bytes_of(&r);
    for len in [size_of::<EventHeader>(), SYSCALL_COMPACT_LEN - 1] {
        assert_eq!(
            decode(&full[..len], SEQ),
            Err(DecodeError::Short {
                kind: EventKind::Open as u32,
                len,
                need: SYSCALL_COMPACT_LEN,
            })
        );
    }
}

#[test]
fn compact_flag_does_not_shorten_non_syscall_records() {
    let mut r: ForkEvent = zeroed();
    r.header = header(EventKind::Fork);
    r.header.flags = FLAG_COMPACT;
    let bytes = bytes_of(&r);
    assert_eq!(
        decode(&bytes[..ForkEvent::SIZE - 1], SEQ),
        Err(DecodeError::Short {
            kind: EventKind::Fork as u32,
            len: ForkEvent::SIZE - 1,
            need: ForkEvent::SIZE,
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Socket addresses
// ---------------------------------------------------------------------------------------------

#[test]
fn sockaddr_ipv4() {
    assert_eq!(
        decode_sockaddr(&sockaddr_in([127, 0, 0, 1], 8080)),
        SockAddr::Inet {
            address: "127.0.0.1".into(),
            port: 8080,
        }
    );
    // The port is big-endian on the wire: 0x1f90 = 8080, not 0x901f.
    let b = [2, 0, 0x1f, 0x90, 192, 168, 1, 20];
    assert_eq!(
        decode_sockaddr(&b),
        SockAddr::Inet {
            address: "192.168.1.20".into(),
            port: 8080,
        }
    );
}

#[test]
fn sockaddr_ipv6() {
    assert_eq!(
        decode_sockaddr(&sockaddr_in6(Ipv6Addr::LOCALHOST, 443)),
        SockAddr::Inet {
            address: "::1".into(),
            port: 443,
        }
    );
    let ip: Ipv6Addr = "2001:db8::42".parse().expect("a valid address");
    assert_eq!(
        decode_sockaddr(&sockaddr_in6(ip, 53)),
        SockAddr::Inet {
            address: "2001:db8::42".into(),
            port: 53,
        }
    );
    // Without the scope id (24 bytes) it still decodes.
    assert_eq!(
        decode_sockaddr(&sockaddr_in6(Ipv6Addr::LOCALHOST, 1)[..24]),
        SockAddr::Inet {
            address: "::1".into(),
            port: 1,
        }
    );
}

#[test]
fn sockaddr_inet_too_short_is_other() {
    assert_eq!(
        decode_sockaddr(&sockaddr_in([1, 2, 3, 4], 5)[..7]),
        SockAddr::Other { number: 2 }
    );
    assert_eq!(
        decode_sockaddr(&sockaddr_in6(Ipv6Addr::LOCALHOST, 1)[..23]),
        SockAddr::Other { number: 10 }
    );
}

#[test]
fn sockaddr_unix_path() {
    assert_eq!(
        decode_sockaddr(&sockaddr_un(b"/var/run/docker.sock\0")),
        SockAddr::Unix {
            path: "/var/run/docker.sock".into(),
        }
    );
    // Exactly the path, no NUL (the length passed was offsetof(sun_path) + strlen).
    let mut b = vec![1, 0];
    b.extend_from_slice(b"/tmp/s");
    assert_eq!(
        decode_sockaddr(&b),
        SockAddr::Unix {
            path: "/tmp/s".into(),
        }
    );
}

#[test]
fn sockaddr_unix_abstract() {
    let mut b = vec![1, 0, 0];
    b.extend_from_slice(b"name");
    b.resize(110, 0);
    assert_eq!(decode_sockaddr(&b), SockAddr::Unix { path: "@name".into() });
    // Exactly sized, no trailing NULs.
    assert_eq!(
        decode_sockaddr(b"\x01\x00\x00x11"),
        SockAddr::Unix { path: "@x11".into() }
    );
    // Only the leading NUL: an empty abstract name.
    assert_eq!(decode_sockaddr(&[1, 0, 0]), SockAddr::Unix { path: "@".into() });
}

#[test]
fn sockaddr_unix_unnamed() {
    assert_eq!(decode_sockaddr(&[1, 0]), SockAddr::Unix { path: String::new() });
}

#[test]
fn sockaddr_unix_path_is_escaped() {
    assert_eq!(
        decode_sockaddr(b"\x01\x00/tmp/a\nb\xff\0"),
        SockAddr::Unix {
            path: "/tmp/a\\x0ab\\xff".into(),
        }
    );
}

#[test]
fn sockaddr_unknown_family() {
    // AF_NETLINK.
    assert_eq!(
        decode_sockaddr(&[16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        SockAddr::Other { number: 16 }
    );
    // The family is little-endian: 0x0102.
    assert_eq!(
        decode_sockaddr(&[2, 1, 0, 0, 1, 2, 3, 4]),
        SockAddr::Other { number: 0x0102 }
    );
    // One byte: the family's high byte is taken as zero.
    assert_eq!(decode_sockaddr(&[7]), SockAddr::Other { number: 7 });
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_slice_is_short() {
    assert_eq!(
        decode(&[], SEQ),
        Err(DecodeError::Short {
            kind: 0,
            len: 0,
            need: size_of::<EventHeader>(),
        })
    );
}

#[test]
fn three_bytes_are_short() {
    assert_eq!(
        decode(&[0x01, 0x01, 0x00], SEQ),
        Err(DecodeError::Short {
            kind: 0,
            len: 3,
            need: size_of::<EventHeader>(),
        })
    );
}

#[test]
fn partial_header_reports_its_kind() {
    let bytes = bytes_of(&header(EventKind::Exec));
    for len in 4..size_of::<EventHeader>() {
        assert_eq!(
            decode(&bytes[..len], SEQ),
            Err(DecodeError::Short {
                kind: EventKind::Exec as u32,
                len,
                need: size_of::<EventHeader>(),
            })
        );
    }
}

#[test]
fn header_only_record_of_every_kind_is_short() {
    for kind in EventKind::ALL {
        let bytes = bytes_of(&header(kind));
        assert_eq!(
            decode(&bytes, SEQ),
            Err(DecodeError::Short {
                kind: kind as u32,
                len: size_of::<EventHeader>(),
                need: record_size(kind),
            }),
            "{kind:?}"
        );
    }
}

#[test]
fn record_one_byte_short_of_every_kind_is_short() {
    for kind in EventKind::ALL {
        let (bytes, _) = roundtrip_case(kind);
        let len = bytes.len() - 1;
        assert_eq!(
            decode(&bytes[..len], SEQ),
            Err(DecodeError::Short {
                kind: kind as u32,
                len,
                need: record_size(kind),
            }),
            "{kind:?}"
        );
    }
}

#[test]
fn unknown_kind() {
    for value in [0, 1, 0x100, 0x105, 0x20c, 0x413, 0x999, u32::MAX] {
        let mut h = header(EventKind::Fork);
        h.kind = value;
        let mut bytes = bytes_of(&h);
        assert_eq!(
            decode(&bytes, SEQ),
            Err(DecodeError::UnknownKind(value)),
            "{value:#x}"
        );
        // However long the record.
        bytes.resize(8192, 0);
        assert_eq!(
            decode(&bytes, SEQ),
            Err(DecodeError::UnknownKind(value)),
            "{value:#x}"
        );
    }
}

#[test]
fn decode_error_messages() {
    let short = DecodeError::Short {
        kind: 0x102,
        len: 64,
        need: 4432,
    };
    assert_eq!(
        short.to_string(),
        "record of kind 0x102 is 64 bytes, expected at least 4432"
    );
    assert_eq!(
        DecodeError::UnknownKind(0x999).to_string(),
        "unknown record kind 0x999"
    );
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut err) = (0u32, 0u32);
    for _ in 0..10_000 {
        let len = rng.below(2000);
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf);
        // Half the time a known kind (and maybe the compact flag), so decoding gets past the kind.
        if len >= 8 && rng.coin() {
            let kind = EventKind::ALL[rng.below(EventKind::ALL.len())];
            buf[..4].copy_from_slice(&(kind as u32).to_le_bytes());
            if rng.coin() {
                buf[4..8].copy_from_slice(&FLAG_COMPACT.to_le_bytes());
            }
        }
        match decode(&buf, 0) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert_eq!(ok + err, 10_000);
    assert!(ok > 0, "some random records of a known kind decode");
    assert!(err > 0, "most random records do not");
}

#[test]
fn random_records_of_every_kind_at_full_size_decode() {
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    for kind in EventKind::ALL {
        let size = record_size(kind);
        for _ in 0..100 {
            let mut buf = vec![0u8; size + rng.below(16)];
            rng.fill(&mut buf);
            buf[..4].copy_from_slice(&(kind as u32).to_le_bytes());
            // A record seen on exit only takes the kind of its number (tested on its own).
            buf[4] &= !(sandtrace_common::FLAG_EXIT_ONLY as u8);
            let event = decode(&buf, 1).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(event.kind, kind);
            // Whatever the bytes, the text is escaped: no raw control characters.
            for text in texts(&event) {
                assert!(!text.chars().any(char::is_control), "{kind:?}: {text:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lengths larger than their buffers
// ---------------------------------------------------------------------------------------------

#[test]
fn string_lengths_larger_than_their_buffers_are_clamped() {
    let mut r = syscall(EventKind::Mount, 165, [PTR, PTR, PTR, 0, 0, 0], 0);
    r.str0 = [b'a'; PATH_LEN];
    r.str1 = [b'b'; PATH_LEN];
    r.str2 = [b'c'; SHORT_STR_LEN];
    r.str_len = [100_000, u32::MAX, u32::MAX];
    let event = decode_ok(&bytes_of(&r));
    let d = syscall_data(&event);
    assert_eq!(d.path.as_deref(), Some("a".repeat(PATH_LEN).as_str()));
    assert_eq!(d.path2.as_deref(), Some("b".repeat(PATH_LEN).as_str()));
    assert_eq!(d.name.as_deref(), Some("c".repeat(SHORT_STR_LEN).as_str()));
}

#[test]
fn sockaddr_len_larger_than_its_buffer_is_clamped() {
    // A unix path filling the whole buffer, without a NUL.
    let mut r = syscall(EventKind::Connect, 42, [3, PTR, u64::MAX, 0, 0, 0], 0);
    r.sockaddr = [b'p'; SOCKADDR_LEN];
    r.sockaddr[..2].copy_from_slice(&1u16.to_le_bytes());
    r.sockaddr_len = u32::MAX;
    let event = decode_ok(&bytes_of(&r));
    assert_eq!(
        syscall_data(&event).addr,
        Some(SockAddr::Unix {
            path: "p".repeat(SOCKADDR_LEN - 2),
        })
    );
    // The same for an abstract name.
    r.sockaddr[2] = 0;
    let event = decode_ok(&bytes_of(&r));
    assert_eq!(
        syscall_data(&event).addr,
        Some(SockAddr::Unix {
            path: format!("@{}", "p".repeat(SOCKADDR_LEN - 3)),
        })
    );
}

#[test]
fn exec_lengths_larger_than_their_buffers_are_clamped() {
    let mut r: ExecEvent = zeroed();
    r.header = header(EventKind::Exec);
    r.filename = [b'f'; EXEC_PATH_LEN];
    r.filename_len = u32::MAX;
    r.argv = [b'x'; ARGV_LEN];
    r.argv_len = u32::MAX;
    r.argv_total = u32::MAX;
    let (filename, argv, _, _) = exec_data(&r);
    assert_eq!(filename, "f".repeat(EXEC_PATH_LEN));
    assert_eq!(argv, ["x".repeat(ARGV_LEN)]);
}

#[test]
fn exec_argv_block_of_nuls_only() {
    let mut r: ExecEvent = zeroed();
    r.header = header(EventKind::Exec);
    r.argv_len = u32::MAX;
    let (_, argv, _, _) = exec_data(&r);
    // ARGV_LEN NULs: the last one terminates, each other one ends an empty argument.
    assert_eq!(argv.len(), ARGV_LEN);
    assert!(argv.iter().all(String::is_empty));
}

// ---------------------------------------------------------------------------------------------
// lossy
// ---------------------------------------------------------------------------------------------

#[test]
fn lossy_keeps_valid_utf8() {
    for s in [
        "",
        "plain",
        "/usr/bin/python3",
        "héllo wörld ✓",
        "日本語",
        "emoji 🦀",
    ] {
        assert_eq!(lossy(s.as_bytes()), s);
    }
}

#[test]
fn lossy_escapes_invalid_bytes() {
    assert_eq!(lossy(b"a\xffb"), "a\\xffb");
    assert_eq!(lossy(b"\xff\xfe"), "\\xff\\xfe");
    assert_eq!(lossy(b"\x80"), "\\x80");
    // An invalid sequence in the middle: its bytes escaped, the rest kept.
    assert_eq!(lossy(b"\xe2\x82x"), "\\xe2\\x82x");
    // A multi-byte character cut at the end.
    assert_eq!(lossy(b"ab\xe2\x82"), "ab\\xe2\\x82");
    // Valid text around invalid bytes survives.
    assert_eq!(lossy("é\u{ff}".as_bytes()), "éÿ");
    assert_eq!(lossy(b"caf\xe9 \xc3\xa9"), "caf\\xe9 é");
}

#[test]
fn lossy_escapes_control_characters() {
    assert_eq!(lossy(b"line\nnext"), "line\\x0anext");
    assert_eq!(lossy(b"\x1b[31mred"), "\\x1b[31mred");
    assert_eq!(lossy(b"\r\t\0\x7f"), "\\x0d\\x09\\x00\\x7f");
}

#[test]
fn lossy_doubles_backslashes() {
    assert_eq!(lossy(b"a\\b"), "a\\\\b");
    // A literal `\xff` cannot be confused with an escaped byte.
    assert_eq!(lossy(b"\\xff"), "\\\\xff");
    assert_ne!(lossy(b"\\xff"), lossy(b"\xff"));
}

#[test]
fn lossy_output_has_no_control_characters() {
    let all: Vec<u8> = (0..=255u8).collect();
    let out = lossy(&all);
    assert!(!out.chars().any(|c| c.is_control()), "{out}");
}

#[test]
fn lossy_text_keeps_newlines_and_tabs() {
    assert_eq!(lossy_text(b"one\ntwo\tthree\n"), "one\ntwo\tthree\n");
    assert_eq!(lossy_text(b"a\x1b[2Jb\n\xff"), "a\\x1b[2Jb\n\\xff");
    assert_eq!(lossy_text(b"cr\r\n"), "cr\\x0d\n");
    assert_eq!(lossy_text(b""), "");
    assert_eq!(lossy_text(b"\n\n"), "\n\n");
}

#[test]
fn lossy_text_doubles_backslashes() {
    assert_eq!(lossy_text(b"C:\\dir\n"), "C:\\\\dir\n");
}

// ---------------------------------------------------------------------------------------------
// Names and tables
// ---------------------------------------------------------------------------------------------

#[test]
fn errno_names() {
    assert_eq!(errno_name(1), "EPERM");
    assert_eq!(errno_name(2), "ENOENT");
    assert_eq!(errno_name(13), "EACCES");
    assert_eq!(errno_name(111), "ECONNREFUSED");
    assert_eq!(errno_name(115), "EINPROGRESS");
    assert_eq!(errno_name(4095), "E4095");
    assert_eq!(errno_name(0), "E0");
}

#[test]
fn syscall_names() {
    assert_eq!(syscall_name(257), Some("openat"));
    assert_eq!(syscall_name(59), Some("execve"));
    assert_eq!(syscall_name(452), Some("fchmodat2"));
    assert_eq!(syscall_name(0), None); // read is not traced
    assert_eq!(syscall_name(u32::MAX), None);
}

#[test]
fn syscall_table_is_consistent() {
    let mut seen = std::collections::HashSet::new();
    for (nr, name, roles) in SYSCALLS {
        assert!(seen.insert(*nr), "{nr} listed twice");
        assert!(roles.len() <= 6, "{name}: at most six arguments");
        assert!(*nr < 512, "{name}: fits the bitmap");
        // Each of the single-valued roles appears at most once.
        for role in [Arg::Fd, Arg::Fd2, Arg::Flags, Arg::Mode, Arg::Pid, Arg::Op] {
            assert!(
                roles.iter().filter(|r| **r == role).count() <= 1,
                "{name}: {role:?} twice"
            );
        }
    }
}

#[test]
fn tracked_bitmap_has_exactly_the_table() {
    let bits = tracked_syscall_bitmap();
    for nr in 0..512u32 {
        let set = bits[nr as usize / 64] & (1 << (nr % 64)) != 0;
        assert_eq!(set, syscall_name(nr).is_some(), "syscall {nr}");
    }
}

#[test]
fn calls_refused_before_their_entry_take_the_kind_of_their_number() {
    // What the probes emit for a mount a seccomp filter refused: number, EPERM, no arguments.
    let mut r = syscall(EventKind::KernelModule, 165, [0; 6], -1);
    r.header.flags |= sandtrace_common::FLAG_EXIT_ONLY;
    let ev = decode(&bytes_of(&r), 3).expect("decodes");
    assert_eq!(ev.kind, EventKind::Mount);
    let EventData::Syscall(s) = &ev.data else {
        panic!("{ev:?}")
    };
    assert!(s.before_entry);
    assert_eq!(
        (s.syscall.as_str(), s.ret, s.error.as_deref()),
        ("mount", -1, Some("EPERM"))
    );
    // Arguments were never read: none are made up from zeros.
    assert_eq!((s.fd, s.flags, s.mode), (None, None, None));
    // Every traced number has a kind, and a module call keeps its own.
    for (nr, name, _) in SYSCALLS {
        assert!(kind_of_nr(*nr).is_some(), "{name} ({nr}) has no kind");
    }
    assert_eq!(kind_of_nr(313), Some(EventKind::KernelModule));
    // An unknown number is an undecodable record, not a guess.
    let mut r = syscall(EventKind::KernelModule, 0, [0; 6], -1);
    r.header.flags |= sandtrace_common::FLAG_EXIT_ONLY;
    assert!(decode(&bytes_of(&r), 3).is_err());
}

#[test]
fn env_facts_keep_every_name_and_only_the_values_that_matter() {
    let block = b"HOME=/root\0LD_PRELOAD=/tmp/h.so\0SECRET_TOKEN=abc\0POOL=stratum+tcp://p.example.test:3333\0PATH=/bin\0\0";
    assert_eq!(
        super::env_facts(block),
        [
            "HOME",
            "LD_PRELOAD=/tmp/h.so",
            "SECRET_TOKEN",
            "POOL=stratum+tcp://p.example.test:3333",
            "PATH=/bin"
        ]
    );
    // Bounded: 64 variables, 256 characters of a value; non-UTF-8 bytes do not break it.
    let mut big = Vec::new();
    for i in 0..100 {
        big.extend_from_slice(format!("V{i}=x\0").as_bytes());
    }
    assert_eq!(super::env_facts(&big).len(), 64);
    let long = format!("PATH={}\0", "a".repeat(1000));
    assert_eq!(super::env_facts(long.as_bytes())[0].len(), "PATH=".len() + 256);
    assert_eq!(super::env_facts(b"\xff\xfe=1\0"), ["\\xff\\xfe"]);
    assert!(super::env_facts(b"").is_empty());
}
