//! The network sinkhole of `--network sinkhole`: a network namespace owned by the analyzer (it dies
//! with the analyzer's thread), plugged into the run's Docker bridge as the sample's gateway and
//! resolver. Every IPv4 destination is local there (`local 0.0.0.0/0` route), and an sk_lookup eBPF
//! program hands every TCP connection and UDP datagram, whatever its address and port, to our
//! catch-all sockets. DNS questions get a fake address per name (198.18.0.0/15, RFC 2544); TCP peers
//! get their first bytes recorded (bounded) and an HTTP request gets `200` with an empty body.
//! Nothing is forwarded anywhere: the namespace has no other interface and no route out.

pub mod dns;
pub mod tls;

use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket},
    os::fd::{AsFd, AsRawFd, OwnedFd},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc::{Receiver, Sender},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, recvmsg, sendmsg, setsockopt, sockopt,
};

use crate::{
    event::{Event, EventData, SockAddr, SocketSpec, SyscallData},
    sandbox::SinkNetwork,
};
use sandtrace_common::EventKind;

/// Most bytes of a connection or datagram kept.
pub const FIRST_BYTES: usize = 4096;
/// Most connections open at once (beyond it, the one idle longest is recorded and closed).
const MAX_CONNS: usize = 256;
/// Most connections accepted in one round of the loop (DNS and datagrams are served in between).
const ACCEPTS_PER_ROUND: usize = 64;
/// Most bytes read from one connection in one round: a fast sender cannot starve the others or DNS.
const READ_BUDGET: usize = 16 * 1024;
/// Most events the sinkhole reports in one run (more are counted as lost).
const MAX_EVENTS: u64 = 20_000;
/// Most names given an address of their own (each is kept once); later names share one address.
const MAX_NAMES: usize = 16_384;
/// The address every name beyond [`MAX_NAMES`] gets.
const OVERFLOW_ADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 254);
/// A connection silent this long is recorded and closed.
const IDLE: Duration = Duration::from_millis(1500);
/// Longest a connection is held.
const MAX_AGE: Duration = Duration::from_secs(10);

/// Why the sinkhole could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SinkholeError {
    /// A set-up step failed.
    #[error("sinkhole: {0}")]
    Setup(String),
}

/// File descriptors the capture needs to steer traffic: the namespace and the catch-all sockets.
#[derive(Debug)]
pub struct SinkFds {
    /// The sinkhole's network namespace.
    pub netns: OwnedFd,
    /// TCP catch-all listener.
    pub tcp: OwnedFd,
    /// UDP catch-all socket.
    pub udp: OwnedFd,
}

/// Counters of a sinkhole run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SinkStats {
    /// Events reported (DNS questions, connections, datagrams).
    pub events: u64,
    /// Events not reported, beyond the bound: lost, like events the ring buffer dropped.
    pub lost: u64,
    /// Connections recorded and closed before their peer was done, to make room for new ones.
    pub closed_early: u64,
    /// Names that got the shared overflow address (their connections are not named).
    pub names_unmapped: u64,
}

/// A running sinkhole.
#[derive(Debug)]
pub struct Sinkhole {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<SinkStats>>,
    /// The veth end in the host namespace (on the bridge).
    pub host_veth: String,
}

fn ip(args: &[&str]) -> Result<(), SinkholeError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| SinkholeError::Setup(format!("ip {}: {e} (iproute2 installed?)", args.join(" "))))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(SinkholeError::Setup(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Isolation is not best effort: a setting that cannot be made fails the run.
fn write_sysctl(path: &str, value: &str) -> Result<(), SinkholeError> {
    std::fs::write(path, value)
        .map_err(|e| SinkholeError::Setup(format!("cannot isolate the run network: {path} = {value}: {e}")))
}

/// CLOCK_BOOTTIME in ns, the clock of the probes' timestamps.
fn boot_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec()).unwrap_or(0)
        })
        .unwrap_or(0)
}

impl Sinkhole {
    /// Creates the namespace, plugs it into the run's bridge as its gateway, opens the sockets and
    /// starts answering. Events go to `events`; the returned descriptors are for the sk_lookup program.
    pub fn start(net: &SinkNetwork, events: Sender<Event>) -> Result<(Sinkhole, SinkFds), SinkholeError> {
        let tag = net.bridge.trim_start_matches("st-").to_string();
        let host_veth = format!("sth{tag}");
        let inner_veth = format!("sti{tag}");
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<SinkFds, SinkholeError>>(1);
        let gateway = net.gateway;
        let prefix = net.subnet.prefix_len();
        let thread = {
            let stop = Arc::clone(&stop);
            let host_veth = host_veth.clone();
            std::thread::Builder::new()
                .name("sandtrace-sinkhole".into())
                .spawn(move || {
                    let setup = (|| {
                        enter_new_netns(&host_veth, &inner_veth, gateway, prefix)?;
                        Sockets::open()
                    })();
                    match setup {
                        Ok(sockets) => match sockets.fds() {
                            Ok(fds) => {
                                let _ = ready_tx.send(Ok(fds));
                                serve(sockets, &events, &stop)
                            }
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                SinkStats::default()
                            }
                        },
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            SinkStats::default()
                        }
                    }
                })
                .map_err(|e| SinkholeError::Setup(format!("thread: {e}")))?
        };
        let mut sink = Sinkhole {
            stop,
            thread: Some(thread),
            host_veth: host_veth.clone(),
        };
        let fds = match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(fds)) => fds,
            Ok(Err(e)) => {
                sink.finish();
                return Err(e);
            }
            Err(_) => {
                sink.finish();
                return Err(SinkholeError::Setup("the sinkhole thread did not start".into()));
            }
        };
        // The host end: a bare bridge port, no address, no IPv6, answering no ARP.
        let isolated = [&net.bridge, &host_veth].into_iter().try_for_each(|dev| {
            write_sysctl(&format!("/proc/sys/net/ipv4/conf/{dev}/arp_ignore"), "8")?;
            write_sysctl(&format!("/proc/sys/net/ipv4/conf/{dev}/forwarding"), "0")?;
            // Without IPv6 support in the kernel there is no IPv6 to turn off.
            let v6 = format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6");
            if std::path::Path::new("/proc/sys/net/ipv6").exists() {
                write_sysctl(&v6, "1")?;
            }
            Ok(())
        });
        if let Err(e) = isolated
            .and_then(|()| ip(&["link", "set", &host_veth, "master", &net.bridge]))
            .and_then(|()| ip(&["link", "set", &host_veth, "up"]))
        {
            sink.finish();
            return Err(e);
        }
        Ok((sink, fds))
    }

    /// Stops answering and releases the namespace (its veth pair goes with it).
    pub fn finish(&mut self) -> SinkStats {
        self.stop.store(true, Ordering::SeqCst);
        let Some(thread) = self.thread.take() else {
            return SinkStats::default();
        };
        let stats = thread.join().unwrap_or_default();
        // The pair goes with the namespace, but the kernel frees namespaces later, in the
        // background (and a descriptor of it may still be open): delete it now, and wait.
        let dev = std::path::Path::new("/sys/class/net").join(&self.host_veth);
        if dev.exists() {
            if let Err(e) = ip(&["link", "delete", &self.host_veth]) {
                tracing::debug!(error = %e, "sinkhole veth already going");
            }
            let t0 = Instant::now();
            while dev.exists() && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if dev.exists() {
                tracing::warn!(dev = %self.host_veth, "the sinkhole's interface is still present");
            }
        }
        stats
    }
}

impl Drop for Sinkhole {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Moves the calling thread into a new network namespace and sets it up as the gateway.
fn enter_new_netns(
    host_veth: &str,
    inner_veth: &str,
    gateway: Ipv4Addr,
    prefix: u8,
) -> Result<(), SinkholeError> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| SinkholeError::Setup(format!("unshare(CLONE_NEWNET): {e}")))?;
    // `ip` run from this thread works in this namespace.
    ip(&[
        "link", "add", inner_veth, "type", "veth", "peer", "name", host_veth,
    ])?;
    let pid = std::process::id().to_string();
    // The peer goes to the namespace of the process' main thread: the host's.
    ip(&["link", "set", host_veth, "netns", &pid])?;
    ip(&["addr", "add", &format!("{gateway}/{prefix}"), "dev", inner_veth])?;
    ip(&["link", "set", "lo", "up"])?;
    ip(&["link", "set", inner_veth, "up"])?;
    // Every IPv4 destination is local here, except the sample's own subnet (more specific route).
    ip(&["route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "main"])?;
    Ok(())
}

/// The sinkhole's sockets, all in its namespace.
struct Sockets {
    tcp: TcpListener,
    udp: UdpSocket,
    dns: UdpSocket,
}

impl Sockets {
    fn open() -> Result<Sockets, SinkholeError> {
        let err = |what: &str, e: std::io::Error| SinkholeError::Setup(format!("{what}: {e}"));
        let tcp = TcpListener::bind("0.0.0.0:0").map_err(|e| err("tcp listener", e))?;
        let udp = UdpSocket::bind("0.0.0.0:0").map_err(|e| err("udp socket", e))?;
        let dns = UdpSocket::bind("0.0.0.0:53").map_err(|e| err("dns socket", e))?;
        tcp.set_nonblocking(true).map_err(|e| err("tcp", e))?;
        udp.set_nonblocking(true).map_err(|e| err("udp", e))?;
        dns.set_nonblocking(true).map_err(|e| err("dns", e))?;
        setsockopt(&udp, sockopt::Ipv4OrigDstAddr, &true)
            .map_err(|e| SinkholeError::Setup(format!("IP_RECVORIGDSTADDR: {e}")))?;
        setsockopt(&dns, sockopt::Ipv4PacketInfo, &true)
            .map_err(|e| SinkholeError::Setup(format!("IP_PKTINFO: {e}")))?;
        Ok(Sockets { tcp, udp, dns })
    }

    fn fds(&self) -> Result<SinkFds, SinkholeError> {
        let dup = |fd: std::os::fd::BorrowedFd<'_>| {
            fd.try_clone_to_owned()
                .map_err(|e| SinkholeError::Setup(format!("dup: {e}")))
        };
        let netns = std::fs::File::open("/proc/thread-self/ns/net")
            .map_err(|e| SinkholeError::Setup(format!("/proc/thread-self/ns/net: {e}")))?;
        Ok(SinkFds {
            netns: OwnedFd::from(netns),
            tcp: dup(self.tcp.as_fd())?,
            udp: dup(self.udp.as_fd())?,
        })
    }
}

/// One TCP peer.
struct Conn {
    stream: TcpStream,
    dst: SocketAddr,
    first: Vec<u8>,
    total: u64,
    opened: Instant,
    last: Instant,
    answered: bool,
    done: bool,
}

/// What the sinkhole reports, with bounds.
struct Reporter<'a> {
    tx: &'a Sender<Event>,
    stats: SinkStats,
    /// Fake address given to each name; the n-th name has 198.18.0.0 + n, so the way back is an index.
    names: HashMap<Arc<str>, Ipv4Addr>,
    by_index: Vec<Arc<str>>,
}

impl Reporter<'_> {
    fn send(&mut self, kind: EventKind, data: SyscallData) {
        if self.stats.events >= MAX_EVENTS {
            self.stats.lost += 1;
            return;
        }
        self.stats.events += 1;
        let _ = self.tx.send(Event {
            seq: 0,
            ts_ns: boot_ns(),
            kind,
            pid: 0,
            tid: 0,
            ppid: 0,
            uid: 0,
            gid: 0,
            cgroup_id: 0,
            comm: String::new(),
            truncated: false,
            data: EventData::Syscall(Box::new(data)),
        });
    }

    /// The fake address of a name: 198.18.0.1, 198.18.0.2, ... in order of first question.
    fn address_of(&mut self, name: &str) -> Ipv4Addr {
        if let Some(a) = self.names.get(name) {
            return *a;
        }
        if self.by_index.len() >= MAX_NAMES {
            self.stats.names_unmapped += 1;
            return OVERFLOW_ADDR;
        }
        let n = u32::try_from(self.by_index.len()).unwrap_or(u32::MAX) + 1;
        let a = Ipv4Addr::from(u32::from(BASE) + n);
        let name: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&name), a);
        self.by_index.push(name);
        a
    }

    /// The name a fake address was given for.
    fn name_of(&self, a: IpAddr) -> Option<String> {
        let IpAddr::V4(a) = a else { return None };
        let n = u32::from(a).checked_sub(u32::from(BASE))?.checked_sub(1)?;
        self.by_index.get(usize::try_from(n).ok()?).map(|s| s.to_string())
    }
}

/// The first fake address (the n-th name gets BASE + n).
const BASE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);

fn inet(a: SocketAddr) -> SockAddr {
    SockAddr::Inet {
        address: a.ip().to_string(),
        port: a.port(),
    }
}

/// Guesses the protocol from the first bytes.
pub fn classify(first: &[u8]) -> &'static str {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    if METHODS.iter().any(|m| first.starts_with(m)) {
        "http"
    } else if first.len() > 5 && first[0] == 0x16 && first[1] == 0x03 {
        "tls"
    } else if first.starts_with(b"SSH-") {
        "ssh"
    } else if first.windows(7).any(|w| w == b"mining.") {
        "stratum"
    } else {
        "unknown"
    }
}

fn serve(s: Sockets, tx: &Sender<Event>, stop: &AtomicBool) -> SinkStats {
    let mut rep = Reporter {
        tx,
        stats: SinkStats::default(),
        names: HashMap::new(),
        by_index: Vec::new(),
    };
    let mut conns: Vec<Conn> = Vec::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        // New connections, a bounded number per round; with no room, the one idle longest goes.
        for _ in 0..ACCEPTS_PER_ROUND {
            let Ok((stream, _peer)) = s.tcp.accept() else {
                break;
            };
            if conns.len() >= MAX_CONNS
                && let Some(i) = idlest(&conns)
            {
                let c = conns.swap_remove(i);
                report_conn(&c, &mut rep);
                rep.stats.closed_early += 1;
            }
            let dst = stream.local_addr().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let now = Instant::now();
            conns.push(Conn {
                stream,
                dst,
                first: Vec::new(),
                total: 0,
                opened: now,
                last: now,
                answered: false,
                done: false,
            });
        }
        // Reads: one bounded read per connection per round, so every peer and DNS get their turn.
        for c in &mut conns {
            match c.stream.read(buf.get_mut(..READ_BUDGET).unwrap_or(&mut [])) {
                Ok(0) => c.done = true,
                Ok(n) => {
                    c.total += n as u64;
                    c.last = Instant::now();
                    let room = FIRST_BYTES.saturating_sub(c.first.len());
                    c.first.extend_from_slice(buf.get(..n.min(room)).unwrap_or(&[]));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => c.done = true,
            }
            answer_tcp(c, &mut rep);
            let now = Instant::now();
            if now.duration_since(c.last) > IDLE
                || now.duration_since(c.opened) > MAX_AGE
                || c.total >= 1 << 20
                || stopping
            {
                c.done = true;
            }
        }
        for c in conns.iter().filter(|c| c.done) {
            report_conn(c, &mut rep);
        }
        conns.retain(|c| !c.done);
        serve_dns(&s.dns, &mut rep, &mut buf);
        serve_udp(&s.udp, &mut rep, &mut buf);
        if stopping {
            return rep.stats;
        }
        let mut fds: Vec<nix::poll::PollFd<'_>> = vec![
            nix::poll::PollFd::new(s.tcp.as_fd(), nix::poll::PollFlags::POLLIN),
            nix::poll::PollFd::new(s.udp.as_fd(), nix::poll::PollFlags::POLLIN),
            nix::poll::PollFd::new(s.dns.as_fd(), nix::poll::PollFlags::POLLIN),
        ];
        for c in &conns {
            fds.push(nix::poll::PollFd::new(
                c.stream.as_fd(),
                nix::poll::PollFlags::POLLIN,
            ));
        }
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16));
    }
}

/// The connection silent the longest.
fn idlest(conns: &[Conn]) -> Option<usize> {
    conns
        .iter()
        .enumerate()
        .min_by_key(|(_, c)| c.last)
        .map(|(i, _)| i)
}

/// Records what a connection sent (one payload event).
fn report_conn(c: &Conn, rep: &mut Reporter<'_>) {
    let proto = classify(&c.first);
    // The name the client asked for: the TLS server name when it sent one, else the name the
    // sinkhole gave this address.
    let name = (proto == "tls")
        .then(|| tls::client_hello_sni(&c.first))
        .flatten()
        .or_else(|| rep.name_of(c.dst.ip()));
    rep.send(
        EventKind::Payload,
        SyscallData {
            syscall: "sinkhole".into(),
            ret: 0,
            name: Some(name.map_or_else(|| proto.to_string(), |n| format!("{proto} {n}"))),
            addr: Some(inet(c.dst)),
            socket: Some(SocketSpec {
                family: "inet".into(),
                sock_type: "stream".into(),
                protocol: 6,
            }),
            payload: Some(crate::event::lossy(&c.first)),
            bytes: Some(c.total),
            ..SyscallData::default()
        },
    );
}

/// Answers what a TCP peer asked: DNS over TCP on port 53, HTTP requests with an empty 200.
fn answer_tcp(c: &mut Conn, rep: &mut Reporter<'_>) {
    if c.answered {
        return;
    }
    if c.dst.port() == 53 {
        if let Some((msg, _)) = dns::split_tcp(&c.first)
            && let Some(reply) = dns_reply(msg, c.dst, rep)
        {
            let len = u16::try_from(reply.len()).unwrap_or(u16::MAX).to_be_bytes();
            let _ = c.stream.write_all(&len);
            let _ = c.stream.write_all(&reply);
            c.answered = true;
        }
        return;
    }
    if classify(&c.first) == "http" && c.first.windows(4).any(|w| w == b"\r\n\r\n") {
        let _ = c.stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
        );
        c.answered = true;
    }
}

/// Parses a question, reports it, and builds the answer.
fn dns_reply(msg: &[u8], server: SocketAddr, rep: &mut Reporter<'_>) -> Option<Vec<u8>> {
    match dns::parse_query(msg) {
        Ok(q) => {
            let a = rep.address_of(&q.name);
            let v6 = Ipv6Addr::from((u128::from(0x0064_ff9b_u32) << 96) | u128::from(u32::from(a)));
            let answer = match q.qtype {
                1 => a.to_string(),
                28 => v6.to_string(),
                _ => String::new(),
            };
            rep.send(
                EventKind::DnsQuery,
                SyscallData {
                    syscall: "dns".into(),
                    ret: 0,
                    name: Some(q.name.clone()),
                    path2: Some(dns::type_name(q.qtype)),
                    addr: Some(inet(server)),
                    payload: Some(answer),
                    bytes: Some(msg.len() as u64),
                    ..SyscallData::default()
                },
            );
            Some(dns::answer(msg, &q, a, v6, 60))
        }
        Err(_) => dns::format_error(msg),
    }
}

fn serve_dns(sock: &UdpSocket, rep: &mut Reporter<'_>, buf: &mut [u8]) {
    for _ in 0..256 {
        let mut cmsg = nix::cmsg_space!(nix::libc::in_pktinfo);
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let Ok(msg) = recvmsg::<SockaddrIn>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
        else {
            return;
        };
        let n = msg.bytes;
        let Some(client) = msg.address else { continue };
        let mut dst = Ipv4Addr::UNSPECIFIED;
        let mut info = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::Ipv4PacketInfo(pi) = c {
                    dst = Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr));
                    info = Some(pi);
                }
            }
        }
        let data = iov[0].get(..n).map(<[u8]>::to_vec).unwrap_or_default();
        let Some(reply) = dns_reply(&data, SocketAddr::V4(SocketAddrV4::new(dst, 53)), rep) else {
            continue;
        };
        // The answer comes from the address the question was sent to.
        let mut pi = info.unwrap_or(nix::libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: nix::libc::in_addr { s_addr: 0 },
            ipi_addr: nix::libc::in_addr { s_addr: 0 },
        });
        pi.ipi_spec_dst = pi.ipi_addr;
        pi.ipi_ifindex = 0;
        let iov = [std::io::IoSlice::new(&reply)];
        let cm = [ControlMessage::Ipv4PacketInfo(&pi)];
        let _ = sendmsg(sock.as_raw_fd(), &iov, &cm, MsgFlags::empty(), Some(&client));
    }
}

fn serve_udp(sock: &UdpSocket, rep: &mut Reporter<'_>, buf: &mut [u8]) {
    for _ in 0..256 {
        let mut cmsg = nix::cmsg_space!(nix::libc::sockaddr_in);
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let Ok(msg) = recvmsg::<SockaddrIn>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
        else {
            return;
        };
        let n = msg.bytes;
        let mut dst = SocketAddr::from(([0, 0, 0, 0], 0));
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::Ipv4OrigDstAddr(sa) = c {
                    dst = SocketAddr::V4(SocketAddrV4::new(
                        Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                        u16::from_be(sa.sin_port),
                    ));
                }
            }
        }
        let data = iov[0]
            .get(..n.min(FIRST_BYTES))
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let name = rep.name_of(dst.ip());
        let proto = classify(&data);
        rep.send(
            EventKind::Payload,
            SyscallData {
                syscall: "sinkhole".into(),
                ret: 0,
                name: Some(name.map_or_else(|| proto.to_string(), |x| format!("{proto} {x}"))),
                addr: Some(inet(dst)),
                socket: Some(SocketSpec {
                    family: "inet".into(),
                    sock_type: "dgram".into(),
                    protocol: 17,
                }),
                payload: Some(crate::event::lossy(&data)),
                bytes: Some(n as u64),
                ..SyscallData::default()
            },
        );
    }
}

/// A channel for the sinkhole's events, drained by the capture's reader into the run's stream.
pub fn channel() -> (Sender<Event>, Receiver<Event>) {
    std::sync::mpsc::channel()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_names_are_bounded_and_counted() {
        let (tx, rx) = channel();
        let mut rep = Reporter {
            tx: &tx,
            stats: SinkStats::default(),
            names: HashMap::new(),
            by_index: Vec::new(),
        };
        for i in 0..(MAX_NAMES + 5) {
            let a = rep.address_of(&format!("n{i}.test"));
            if i < MAX_NAMES {
                assert_eq!(
                    rep.name_of(IpAddr::V4(a)).as_deref(),
                    Some(format!("n{i}.test").as_str())
                );
            } else {
                assert_eq!(a, OVERFLOW_ADDR);
            }
        }
        // A known name keeps its address; the overflow address names nothing.
        assert_eq!(rep.address_of("n0.test"), Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(rep.name_of(IpAddr::V4(OVERFLOW_ADDR)), None);
        assert_eq!(rep.name_of(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))), None);
        assert_eq!(rep.stats.names_unmapped, 5);
        // Each name is kept once: the table is the index, the map shares its strings.
        assert!(rep.names.keys().all(|k| Arc::strong_count(k) == 2));
        for _ in 0..(MAX_EVENTS + 3) {
            rep.send(EventKind::DnsQuery, SyscallData::default());
        }
        assert_eq!(rep.stats.events, MAX_EVENTS);
        assert_eq!(rep.stats.lost, 3);
        assert_eq!(rx.try_iter().count() as u64, MAX_EVENTS);
    }

    #[test]
    fn lost_sinkhole_events_are_lost_events() {
        let stats = crate::capture::CaptureStats {
            ringbuf_drops: 1,
            sinkhole: Some(SinkStats {
                lost: 4,
                ..SinkStats::default()
            }),
            ..Default::default()
        };
        assert_eq!(stats.lost(), 5);
    }

    #[test]
    fn first_bytes_are_classified() {
        assert_eq!(classify(b"GET /beacon HTTP/1.1\r\n"), "http");
        assert_eq!(classify(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), "tls");
        assert_eq!(classify(b"SSH-2.0-OpenSSH"), "ssh");
        assert_eq!(
            classify(br#"{"id":1,"method":"mining.subscribe","params":[]}"#),
            "stratum"
        );
        assert_eq!(classify(b"\x00\x01"), "unknown");
        assert_eq!(classify(b""), "unknown");
    }
}
