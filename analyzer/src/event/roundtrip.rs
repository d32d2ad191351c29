//! Decoder round trips for every event kind, and totality on short and random records.

use super::*;
use sandtrace_common::{ARGV_LEN, EXEC_PATH_LEN, FLAG_STR0_TRUNCATED, PATH_LEN, SOCKADDR_LEN};

fn bytes_of<T: Record>(r: &T) -> Vec<u8> {
    // SAFETY: T is a repr(C) plain-data record; reading its bytes is always valid.
    unsafe { std::slice::from_raw_parts(std::ptr::from_ref(r).cast::<u8>(), T::SIZE) }.to_vec()
}

fn zeroed<T: Record>() -> T {
    // SAFETY: every record is integers and byte arrays: all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

fn header(kind: EventKind) -> EventHeader {
    let mut h: EventHeader = zeroed();
    h.kind = kind as u32;
    h.ts_ns = 123_456_789;
    h.pid = 42;
    h.tid = 43;
    h.ppid = 7;
    h.uid = 1000;
    h.gid = 1001;
    h.cgroup_id = 99;
    h.comm[..4].copy_from_slice(b"evil");
    h
}

fn put(buf: &mut [u8], s: &[u8]) -> u32 {
    buf[..s.len()].copy_from_slice(s);
    (s.len() + 1) as u32
}

/// A syscall number of the table for each syscall kind (the kind's usual call).
fn nr_for(kind: EventKind) -> u32 {
    let name = crate::event::fixture::default_syscall(kind);
    SYSCALLS
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(nr, _, _)| *nr)
        .expect("in the table")
}

fn check_header(e: &Event, kind: EventKind) {
    assert_eq!(e.kind, kind);
    assert_eq!(
        (e.seq, e.ts_ns, e.pid, e.tid, e.ppid, e.uid, e.gid, e.cgroup_id),
        (5, 123_456_789, 42, 43, 7, 1000, 1001, 99)
    );
    assert_eq!(e.comm, "evil");
}

#[test]
fn every_kind_round_trips() {
    // DNS questions and sinkhole payloads come from the sinkhole, never through the ring buffer.
    for kind in EventKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, EventKind::DnsQuery | EventKind::Payload))
    {
        let e = match kind {
            EventKind::Fork => {
                let mut r: ForkEvent = zeroed();
                r.header = header(kind);
                r.child_pid = 42;
                r.child_tid = 50;
                r.fork_flags = FORK_IS_THREAD;
                let e = decode(&bytes_of(&r), 5).expect("fork");
                assert_eq!(
                    e.data,
                    EventData::Fork {
                        child_pid: 42,
                        child_tid: 50,
                        thread: true
                    }
                );
                e
            }
            EventKind::Exec => {
                let mut r: ExecEvent = zeroed();
                r.header = header(kind);
                r.filename_len = put(&mut r.filename, b"/bin/busybox");
                r.argv_len = put(&mut r.argv, b"a\0bb\0ccc");
                let e = decode(&bytes_of(&r), 5).expect("exec");
                assert_eq!(
                    e.data,
                    EventData::Exec {
                        filename: "/bin/busybox".into(),
                        argv: vec!["a".into(), "bb".into(), "ccc".into()],
                        argv_truncated: false,
                        env: Vec::new(),
                    }
                );
                e
            }
            EventKind::Exit => {
                let mut r: ExitEvent = zeroed();
                r.header = header(kind);
                r.exit_code = 3 << 8;
                r.exit_code_known = 1;
                let e = decode(&bytes_of(&r), 5).expect("exit");
                assert_eq!(
                    e.data,
                    EventData::Exit {
                        status: Some(3),
                        signal: None
                    }
                );
                e
            }
            _ => {
                let mut r: Box<SyscallEvent> = Box::new(zeroed());
                r.header = header(kind);
                r.nr = nr_for(kind);
                r.args = [u64::from(u32::MAX - 99), 2, 3, 4, 5, 6];
                r.ret = -13;
                r.str_len[0] = put(&mut r.str0, b"/etc/shadow");
                let e = decode(&bytes_of(r.as_ref()), 5).expect("syscall");
                let EventData::Syscall(s) = &e.data else {
                    panic!("{kind:?} is not a syscall event")
                };
                assert_eq!(s.syscall, syscall_name(r.nr).expect("name"));
                assert_eq!(
                    (s.ret, s.error.as_deref(), s.path.as_deref()),
                    (-13, Some("EACCES"), Some("/etc/shadow"))
                );
                assert_eq!(s.args, r.args);
                e
            }
        };
        check_header(&e, kind);
    }
}

#[test]
fn syscall_arguments_get_their_meaning() {
    let mut r: Box<SyscallEvent> = Box::new(zeroed());
    r.header = header(EventKind::Open);
    r.nr = 257; // openat(dirfd, path, flags, mode)
    r.args = [(-100i64) as u64, 0, 0o1101, 0o644, 0, 0];
    let e = decode(&bytes_of(r.as_ref()), 5).expect("openat");
    let EventData::Syscall(s) = e.data else { panic!() };
    assert_eq!((s.fd, s.flags, s.mode), (Some(-100), Some(0o1101), Some(0o644)));

    r.header = header(EventKind::Kill);
    r.nr = 62;
    r.args = [u64::from(4242u32), 9, 0, 0, 0, 0];
    let EventData::Syscall(s) = decode(&bytes_of(r.as_ref()), 5).expect("kill").data else {
        panic!()
    };
    assert_eq!((s.target_pid, s.op), (Some(4242), Some(9)));

    r.header = header(EventKind::Socket);
    r.nr = 41;
    r.args = [2, 1 | 0o4000, 6, 0, 0, 0];
    let EventData::Syscall(s) = decode(&bytes_of(r.as_ref()), 5).expect("socket").data else {
        panic!()
    };
    assert_eq!(
        s.socket,
        Some(SocketSpec {
            family: "inet".into(),
            sock_type: "stream".into(),
            protocol: 6
        })
    );

    r.header = header(EventKind::Connect);
    r.nr = 42;
    r.args = [3, 0, 16, 0, 0, 0];
    r.sockaddr[..8].copy_from_slice(&[2, 0, 0x11, 0x5c, 127, 0, 0, 1]);
    r.sockaddr_len = 16;
    let EventData::Syscall(s) = decode(&bytes_of(r.as_ref()), 5).expect("connect").data else {
        panic!()
    };
    assert_eq!(
        s.addr,
        Some(SockAddr::Inet {
            address: "127.0.0.1".into(),
            port: 4444
        })
    );
    assert_eq!(s.fd, Some(3));
}

#[test]
fn socket_addresses() {
    let mut v6 = vec![0u8; 28];
    v6[0] = 10;
    v6[2..4].copy_from_slice(&53u16.to_be_bytes());
    v6[23] = 1;
    assert_eq!(
        decode_sockaddr(&v6),
        SockAddr::Inet {
            address: "::1".into(),
            port: 53
        }
    );
    let mut unix = vec![1u8, 0];
    unix.extend_from_slice(b"/run/docker.sock\0junk");
    assert_eq!(
        decode_sockaddr(&unix),
        SockAddr::Unix {
            path: "/run/docker.sock".into()
        }
    );
    let mut abs = vec![1u8, 0, 0];
    abs.extend_from_slice(b"hidden\0\0");
    assert_eq!(
        decode_sockaddr(&abs),
        SockAddr::Unix {
            path: "@hidden".into()
        }
    );
    assert_eq!(decode_sockaddr(&[16, 0, 1, 2]), SockAddr::Other { number: 16 });
    // A short inet address is not read past its end.
    assert_eq!(decode_sockaddr(&[2, 0, 1]), SockAddr::Other { number: 2 });
}

#[test]
fn exit_codes_and_signals() {
    let mut r: ExitEvent = zeroed();
    r.header = header(EventKind::Exit);
    r.exit_code_known = 1;
    r.exit_code = 9;
    assert_eq!(
        decode(&bytes_of(&r), 0).expect("exit").data,
        EventData::Exit {
            status: None,
            signal: Some(9)
        }
    );
    r.exit_code_known = 0;
    assert_eq!(
        decode(&bytes_of(&r), 0).expect("exit").data,
        EventData::Exit {
            status: None,
            signal: None
        }
    );
}

#[test]
fn oversized_length_fields_are_clamped() {
    let mut r: Box<ExecEvent> = Box::new(zeroed());
    r.header = header(EventKind::Exec);
    r.header.flags = FLAG_ARGV_TRUNCATED;
    r.filename = [b'f'; EXEC_PATH_LEN];
    r.filename_len = u32::MAX;
    r.argv = [b'A'; ARGV_LEN];
    r.argv_len = u32::MAX;
    let e = decode(&bytes_of(r.as_ref()), 0).expect("exec");
    let EventData::Exec {
        filename,
        argv,
        argv_truncated,
        ..
    } = e.data
    else {
        panic!()
    };
    assert_eq!(
        (filename.len(), argv.len(), argv[0].len(), argv_truncated),
        (EXEC_PATH_LEN, 1, ARGV_LEN, true)
    );
    assert!(e.truncated);

    let mut s: Box<SyscallEvent> = Box::new(zeroed());
    s.header = header(EventKind::Open);
    s.header.flags = FLAG_STR0_TRUNCATED;
    s.nr = 257;
    s.str0 = [b'p'; PATH_LEN];
    s.str_len = [100_000, u32::MAX, u32::MAX];
    s.sockaddr_len = u32::MAX;
    s.sockaddr = [0; SOCKADDR_LEN];
    let e = decode(&bytes_of(s.as_ref()), 0).expect("open");
    assert!(e.truncated);
    let EventData::Syscall(d) = e.data else { panic!() };
    assert_eq!(d.path.map(|p| p.len()), Some(PATH_LEN));
}

#[test]
fn compact_syscall_records_decode_and_short_ones_do_not() {
    let mut s: Box<SyscallEvent> = Box::new(zeroed());
    s.header = header(EventKind::Open);
    s.header.flags = FLAG_COMPACT;
    s.nr = 257;
    s.str_len[0] = put(&mut s.str0, b"/x");
    let full = bytes_of(s.as_ref());
    let e = decode(&full[..SYSCALL_COMPACT_LEN], 0).expect("compact");
    let EventData::Syscall(d) = e.data else { panic!() };
    assert_eq!(d.path.as_deref(), Some("/x"));
    assert!(matches!(
        decode(&full[..SYSCALL_COMPACT_LEN - 1], 0),
        Err(DecodeError::Short { .. })
    ));
    // Without the compact flag, a cut record is short.
    s.header.flags = 0;
    assert!(matches!(
        decode(&bytes_of(s.as_ref())[..SYSCALL_COMPACT_LEN], 0),
        Err(DecodeError::Short { .. })
    ));
}

#[test]
fn short_unknown_and_random_records_are_errors_not_panics() {
    assert!(matches!(decode(&[], 0), Err(DecodeError::Short { .. })));
    assert!(matches!(decode(&[1, 2, 3], 0), Err(DecodeError::Short { .. })));
    // DNS questions and sinkhole payloads come from the sinkhole, never through the ring buffer.
    for kind in EventKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, EventKind::DnsQuery | EventKind::Payload))
    {
        let h = header(kind);
        assert!(
            matches!(decode(&bytes_of(&h), 0), Err(DecodeError::Short { .. })),
            "{kind:?} header only"
        );
    }
    let mut h = header(EventKind::Open);
    h.kind = 0xdead;
    let mut rec = bytes_of(&h);
    rec.resize(SyscallEvent::SIZE, 0);
    assert_eq!(decode(&rec, 0), Err(DecodeError::UnknownKind(0xdead)));

    // xorshift: deterministic garbage of every length, with valid kinds half of the time.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..10_000 {
        let len = (next() % 6000) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 && len >= 4 {
            let k = EventKind::ALL[(next() % EventKind::ALL.len() as u64) as usize] as u32;
            buf[..4].copy_from_slice(&k.to_le_bytes());
        }
        let _ = decode(&buf, i);
    }
}

#[test]
fn bytes_from_the_sample_stay_visible() {
    assert_eq!(lossy(b"plain/path"), "plain/path");
    assert_eq!(lossy(b"/tmp/bad-\xff\xfe-name"), "/tmp/bad-\\xff\\xfe-name");
    assert_eq!(lossy("caf\u{e9}".as_bytes()), "caf\u{e9}");
    assert_eq!(lossy(b"a\nb\x1b[31m"), "a\\x0ab\\x1b[31m");
    assert_eq!(lossy(b"back\\slash"), "back\\\\slash");
    assert_eq!(lossy(b"\xe2\x82"), "\\xe2\\x82");
    assert_eq!(lossy_text(b"line1\nline2\x1b"), "line1\nline2\\x1b");
    assert_eq!(errno_name(13), "EACCES");
    assert_eq!(errno_name(999), "E999");
}

#[test]
fn tracked_bitmap_covers_the_table() {
    let bits = tracked_syscall_bitmap();
    for (nr, _, _) in SYSCALLS {
        assert!(bits[*nr as usize / 64] & (1 << (nr % 64)) != 0, "{nr}");
    }
    assert_eq!(bits[0] & 1, 0, "read (0) is not traced");
}

#[test]
fn regressions_found_in_review() {
    // ret = i64::MIN must not overflow when negated.
    let mut s: Box<SyscallEvent> = Box::new(zeroed());
    s.header = header(EventKind::Open);
    s.nr = 257;
    s.ret = i64::MIN;
    let EventData::Syscall(d) = decode(&bytes_of(s.as_ref()), 0).expect("decodes").data else {
        panic!()
    };
    assert_eq!(d.ret, i64::MIN);
    // A literal backslash-x09 in program output is not turned into a tab; a real tab is kept.
    assert_eq!(lossy_text(b"a\\x09b\tc"), "a\\\\x09b\tc");
    // Non-ASCII controls and bidi overrides are shown, distinct from invalid bytes.
    assert_eq!(lossy("a\u{85}b\u{202e}c".as_bytes()), "a\\u{85}b\\u{202e}c");
    assert_eq!(lossy(b"\x85"), "\\x85");
    // Short socket addresses do not panic.
    assert_eq!(decode_sockaddr(&[]), SockAddr::Other { number: 0 });
    assert_eq!(decode_sockaddr(&[1]), SockAddr::Unix { path: String::new() });
}
