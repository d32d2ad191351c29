//! `--network sinkhole` for real: names resolved by the fake DNS, connections accepted with their
//! first bytes, the host unreachable, concurrent runs apart, nothing left behind.

use std::{
    io::ErrorKind,
    net::{TcpListener, UdpSocket},
    process::Command,
};

use sandtrace::{event::EventData, sandbox::NetworkMode};
use sandtrace_e2e::{assert_nothing_left, options, privileged, run, run_concurrently};

fn sinkhole_options(name: &str) -> sandtrace::analyze::AnalyzeOptions {
    let mut o = options(name);
    o.sandbox.network = NetworkMode::Sinkhole;
    o.sandbox.timeout = std::time::Duration::from_secs(25);
    o
}

/// (kind, name, addr, payload, bytes) of the sinkhole's events.
fn sink_events(r: &sandtrace::report::Report) -> Vec<(String, String, String, String, u64)> {
    r.events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Syscall(s) if s.syscall == "dns" || s.syscall == "sinkhole" => Some((
                s.syscall.clone(),
                s.name.clone().unwrap_or_default(),
                match &s.addr {
                    Some(sandtrace::event::SockAddr::Inet { address, port }) => format!("{address}:{port}"),
                    _ => String::new(),
                },
                s.payload.clone().unwrap_or_default(),
                s.bytes.unwrap_or(0),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn the_sinkhole_shows_names_answers_connections_and_first_bytes() {
    if !privileged() {
        return;
    }
    let r = run(&sinkhole_options("n-sinkhole-c2")).expect("sinkhole run");
    assert_nothing_left(&r.run_id);
    assert_eq!(r.sandbox.network, "sinkhole");
    let ev = sink_events(&r);
    // The name, the sinkhole's answer (the first fake address), and the connection to it.
    assert!(
        ev.iter()
            .any(|e| e.0 == "dns" && e.1 == "c2.evil.example" && e.3 == "198.18.0.1"),
        "{ev:?}"
    );
    let beacon = ev
        .iter()
        .find(|e| {
            e.0 == "sinkhole" && e.2 == "198.18.0.1:80" && e.3.starts_with("GET /beacon?id=42 HTTP/1.1")
        })
        .unwrap_or_else(|| panic!("beacon not seen: {ev:?}"));
    assert!(beacon.1.contains("c2.evil.example"), "{beacon:?}");
    let upload = ev
        .iter()
        .find(|e| e.3.starts_with("POST /upload"))
        .expect("upload");
    assert!(upload.4 >= 8000 && upload.3.len() <= 4 * 4096 + 64, "{upload:?}");
    assert!(
        ev.iter()
            .any(|e| e.2 == "198.18.0.2:3333" && e.3.contains("mining.subscribe"))
    );
    // Attributed to the sample's processes, which are in the report's tree.
    for e in r
        .events
        .iter()
        .filter(|e| matches!(&e.data, EventData::Syscall(s) if s.syscall == "sinkhole"))
    {
        assert!(
            r.processes.iter().any(|p| p.pid == e.pid),
            "sinkhole event of unknown pid {}",
            e.pid
        );
    }
    // The graph has the domain.
    assert!(r.graph.nodes.iter().any(
        |n| matches!(n, sandtrace::correlate::graph::NodeKind::Domain { name } if name == "c2.evil.example")
    ));
    for t in ["T1071.004", "T1071.001", "T1496", "T1571", "T1041", "T1552.005"] {
        assert!(r.techniques.iter().any(|x| x.id == t), "{t} missing");
    }
}

/// Every IPv4 address of this host.
fn host_addresses() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let i = f.iter().position(|x| *x == "inet")?;
            f.get(i + 1)?.split('/').next().map(String::from)
        })
        .collect()
}

#[test]
fn the_host_is_unreachable_from_the_sinkhole() {
    if !privileged() {
        return;
    }
    let tcp = TcpListener::bind("0.0.0.0:0").expect("host listener");
    let port = tcp.local_addr().expect("port").port();
    tcp.set_nonblocking(true).expect("nonblocking");
    let udp = UdpSocket::bind(("0.0.0.0", port)).expect("host udp");
    udp.set_nonblocking(true).expect("nonblocking");
    let mut addrs = host_addresses();
    assert!(!addrs.is_empty());
    addrs.retain(|a| a != "127.0.0.1");
    // The bridge gateway of the run's network (10.213.x.1) is the sinkhole itself: probed through
    // the resolver's address the sample sees.
    addrs.push("gateway".into());
    let mut o = sinkhole_options("n-isolation");
    let mut cmd = vec![port.to_string()];
    cmd.extend(addrs.iter().filter(|a| *a != "gateway").cloned());
    o.sandbox.cmd = Some(cmd);
    let r = run(&o).expect("isolation run");
    assert_nothing_left(&r.run_id);
    // Nothing reached the host.
    match tcp.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the host listener was reached: {other:?}"),
    }
    let mut buf = [0u8; 64];
    match udp.recv_from(&mut buf) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the host UDP socket was reached: {other:?}"),
    }
    // Every probe ended in the sinkhole instead.
    let ev = sink_events(&r);
    for a in addrs.iter().filter(|a| *a != "gateway") {
        assert!(
            ev.iter()
                .any(|e| e.2 == format!("{a}:{port}") && e.3.contains(&format!("tcp-probe-to-{a}"))),
            "TCP probe to {a} not caught by the sinkhole: {ev:?}"
        );
        assert!(
            ev.iter().any(|e| e.3.contains(&format!("udp-probe-to-{a}"))),
            "UDP probe to {a} not caught by the sinkhole: {ev:?}"
        );
    }
}

#[test]
fn two_sinkhole_runs_at_once_stay_apart() {
    if !privileged() {
        return;
    }
    let reports = run_concurrently(&[
        sinkhole_options("n-sinkhole-c2"),
        sinkhole_options("n-sinkhole-c2"),
    ]);
    let reports: Vec<_> = reports.into_iter().map(|r| r.expect("run")).collect();
    for r in &reports {
        assert_nothing_left(&r.run_id);
        let ev = sink_events(r);
        let conns = ev.iter().filter(|e| e.0 == "sinkhole").count();
        // Its own five connections, not the other run's ten.
        assert_eq!(conns, 5, "{ev:?}");
        let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
        for e in r
            .events
            .iter()
            .filter(|e| matches!(&e.data, EventData::Syscall(s) if s.syscall == "sinkhole"))
        {
            assert!(pids.contains(&e.pid));
        }
    }
}

#[test]
fn a_sinkhole_flood_is_counted_as_lost_and_the_sinkhole_keeps_serving() {
    if !privileged() {
        return;
    }
    let mut o = sinkhole_options("h-sinkhole-flood");
    o.sandbox.timeout = std::time::Duration::from_secs(60);
    let r = run(&o).expect("sinkhole flood run");
    assert_nothing_left(&r.run_id);
    let out = &r.sandbox.stdout;
    // Every question was answered, also those beyond what the sinkhole reports.
    assert!(out.contains("flood-answers 21000"), "{out}");
    assert!(out.contains("held 300"), "{out}");
    // A fast sender did not starve DNS, and the sinkhole still served the real traffic.
    assert!(out.contains("dns-during-stream ok"), "{out}");
    assert!(out.contains("after-flood http-200"), "{out}");
    let s = r.stats.capture.sinkhole.expect("sinkhole counters");
    // 21,002 questions and 302 connections against a bound of 20,000 events.
    assert!(s.lost >= 1000, "{s:?}");
    assert!(s.closed_early >= 44, "{s:?}");
    assert_eq!(s.events + s.lost, 21_002 + 302, "{s:?}");
    // Lost sinkhole events are lost events: the run cannot pass as complete.
    assert!(r.stats.dropped >= s.lost);
    assert!(!r.observation.complete);
    assert!(
        r.observation
            .reasons
            .iter()
            .any(|x| x.contains("sinkhole beyond its bound")),
        "{:?}",
        r.observation.reasons
    );
}
