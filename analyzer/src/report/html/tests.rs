use super::*;
use crate::report::{Detection, DetectionProcess, KillChainStep};
use sandtrace_common::EventKind;

const HOSTILE: &str = "<script>alert(1)</script>\"'&";
const BIDI: &str = "\u{202e}gpj.exe";

fn demo() -> Report {
    serde_json::from_str(include_str!("../../../tests/data/demo-report.json")).expect("demo report")
}

fn process(pid: u32, ppid: u32, exe: &str, argv: &[&str]) -> crate::correlate::ProcessNode {
    serde_json::from_value(serde_json::json!({
        "pid": pid, "ppid": ppid, "exe": exe, "argv": argv, "comm": basename(exe),
        "uid": 0, "start_ns": 1_000_000 + u64::from(pid), "end_ns": null, "exit_status": 0,
        "exit_signal": null,
        "execs": [{"ts_ns": 1_000_000 + u64::from(pid), "filename": exe, "argv": argv}],
        "first_seen": "fork", "events": 1
    }))
    .expect("process node")
}

fn exec_event(seq: u64, pid: u32, comm: &str, filename: &str, argv: &[&str]) -> Event {
    Event {
        seq,
        ts_ns: 1_000_000 + seq * 1000,
        kind: EventKind::Exec,
        pid,
        tid: pid,
        ppid: 1,
        uid: 0,
        gid: 0,
        cgroup_id: 1,
        comm: comm.into(),
        truncated: false,
        data: EventData::Exec {
            filename: filename.into(),
            argv: argv.iter().map(|s| (*s).to_string()).collect(),
            argv_truncated: false,
            env: Vec::new(),
        },
    }
}

fn svg_balanced(html: &str) -> bool {
    let open = html.matches("<svg").count();
    open >= 1 && open == html.matches("</svg>").count()
}

/// Every tag that could fetch something has no remote address; anchors only go to ATT&CK or
/// within the page.
fn assert_fetches_nothing(html: &str) {
    assert!(!html.contains("<link") && !html.contains("@import"));
    for (i, _) in html.match_indices('<') {
        let tag_end = html[i..].find('>').map_or(html.len(), |e| i + e);
        let tag = &html[i..tag_end];
        let name: String = tag[1..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        for attr in ["src=", "href=", "data=", "action=", "poster=", "srcset="] {
            if let Some(at) = tag.find(attr) {
                let value = tag[at + attr.len()..].trim_start_matches('"');
                let ok = match name.as_str() {
                    "a" => value.starts_with('#') || value.starts_with("https://attack.mitre.org/"),
                    _ => value.starts_with('#') || value.starts_with("data:"),
                };
                assert!(ok, "tag <{name}> points away: {tag}");
            }
        }
        if name == "script" {
            assert!(!tag.contains("src"), "{tag}");
        }
    }
    for (i, _) in html.match_indices("url(") {
        assert!(html[i..].starts_with("url(#"), "{}", &html[i..i + 40]);
    }
    for (i, _) in html.match_indices("http") {
        let before = &html[i.saturating_sub(6)..i];
        let after = &html[i..];
        if before == "href=\"" {
            assert!(after.starts_with("https://attack.mitre.org/"), "{}", &after[..60]);
        }
    }
}

#[test]
fn demo_report_has_every_section() {
    let r = demo();
    let html = render(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains(&format!("content=\"{CSP}\"")));
    assert!(svg_balanced(&html));
    for id in [
        "killchain-graph",
        "attack-matrix",
        "process-tree",
        "timeline",
        "timeline-filter",
        "timeline-kind",
    ] {
        assert_eq!(html.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
    }
    let graph = html.find("id=\"killchain-graph\"").expect("graph");
    assert!(
        html[graph..]
            .trim_start_matches("id=\"killchain-graph\" class=\"graph-scroll\">")
            .starts_with("<svg")
    );
    assert!(html.contains("class=\"badge v-malicious\" id=\"verdict\">MALICIOUS<"));
    for t in &r.techniques {
        assert!(html.contains(&format!("data-technique=\"{}\"", t.id)), "{}", t.id);
        assert!(html.contains(&Esc(&t.name).to_string()), "{}", t.name);
    }
    assert!(html.contains("href=\"https://attack.mitre.org/techniques/T1059/004\""));
    assert!(html.contains("Command and Control") && html.contains("Credential Access"));
    // Evidence drawn red, labelled edges, every kill-chain process drawn.
    assert!(html.contains("class=\"node proc evidence\""));
    assert!(html.contains(">executed<") || html.contains(">executed ×"));
    for k in &r.kill_chain {
        for pid in &k.lineage {
            assert!(html.contains(&format!("<title>pid {pid} ")), "{pid} not drawn");
        }
    }
    assert_eq!(html.matches("<tr id=\"ev-").count(), r.events.len().min(MAX_ROWS));
    assert!(html.contains("document.body.dataset.ready='1'"));
    assert!(html.find("window.addEventListener('error'") < html.find("<header>"));
    assert_fetches_nothing(&html);
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let mut r = demo();
    let evil = format!("{HOSTILE}{BIDI}");
    r.image.reference.clone_from(&evil);
    r.verdict.clone_from(&evil);
    r.sandbox.stdout = format!("out {evil}\n</pre><script>x</script>");
    r.sandbox.network.clone_from(&evil);
    for p in &mut r.processes {
        let mut argv = p.argv.to_vec();
        argv.push(evil.clone());
        p.argv = argv.into();
        p.exe = format!("/tmp/{evil}");
        p.comm.clone_from(&evil);
        for x in &mut p.execs {
            x.filename = format!("/tmp/{evil}");
        }
    }
    for d in &mut r.detections {
        d.message.clone_from(&evil);
        d.process.argv.push(evil.clone());
        d.techniques.push(evil.clone());
    }
    for k in &mut r.kill_chain {
        k.message.clone_from(&evil);
        k.tactic.clone_from(&evil);
    }
    for f in &mut r.files {
        f.path = format!("/tmp/{evil}");
    }
    for n in &mut r.network {
        n.addr = format!("{evil}:80");
    }
    for n in &mut r.graph.nodes {
        match n {
            NodeKind::File { path } => *path = format!("/x/{evil}"),
            NodeKind::Endpoint { addr } => addr.clone_from(&evil),
            _ => {}
        }
    }
    r.graph.nodes.push(NodeKind::Domain { name: evil.clone() });
    r.techniques.push(crate::report::TechniqueEntry {
        id: evil.clone(),
        name: evil.clone(),
        tactics: vec![evil.clone()],
        detections: 1,
    });
    for e in &mut r.events {
        e.comm.clone_from(&evil);
        if let EventData::Exec { argv, .. } = &mut e.data {
            argv.push(evil.clone());
        }
    }
    let html = render(&r);
    assert!(!html.contains("<script>alert"), "raw hostile markup");
    assert!(!html.contains("<script>x"), "raw hostile markup");
    assert!(!html.contains('\u{202e}'), "raw bidi override");
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\\u{202e}gpj.exe";
    assert!(
        html.matches(escaped).count() > 20,
        "{}",
        html.matches(escaped).count()
    );
    // Only our two scripts.
    assert_eq!(html.to_ascii_lowercase().matches("<script").count(), 2);
    assert!(html.contains("class=\"badge v-unknown\""));
    assert!(svg_balanced(&html));
    assert_fetches_nothing(&html);
}

#[test]
fn escaping_covers_markup_controls_and_bidi() {
    assert_eq!(Esc("a&b<c>d\"e'f").to_string(), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    assert_eq!(
        Esc("\u{202e}x\u{2066}\u{200b}\u{7}\u{9b}").to_string(),
        "\\u{202e}x\\u{2066}\\u{200b}\\u{7}\\u{9b}"
    );
    assert_eq!(Esc("line\nnext\tok é 日本").to_string(), "line\nnext\tok é 日本");
    assert_eq!(clip("abcdef", 4), "abc…");
    assert_eq!(clip("abc", 4), "abc");
    assert_eq!(clip_tail("/very/long/path", 6), "…/path");
    assert_eq!(split_port("[::1]:53"), ("::1", "53"));
    assert_eq!(split_port("10.0.0.1:4444"), ("10.0.0.1", "4444"));
    assert_eq!(split_port("unix:/run/x.sock"), ("unix:/run/x.sock", ""));
    assert_eq!(tactic_title("command-and-control"), "Command and Control");
}

#[test]
fn empty_report_renders() {
    let r = Report::empty();
    let html = render(&r);
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("</html>"));
    assert!(svg_balanced(&html));
    assert!(html.contains("id=\"killchain-graph\""));
    assert!(html.contains("No detections: the process tree is drawn"));
    assert!(html.contains("class=\"badge v-clean\""));
    assert!(html.contains("id=\"attack-matrix\"") && !html.contains("class=\"technique"));
    assert!(html.contains("id=\"process-tree\"") && html.contains("id=\"timeline\""));
    assert!(!html.contains("lost-warning"));
    assert_fetches_nothing(&html);
}

#[test]
fn lost_events_and_omissions_are_visible() {
    let mut r = Report::empty();
    r.stats.dropped = 7;
    r.stats.capture.ringbuf_drops = 7;
    r.events_omitted = 12;
    let html = render(&r);
    assert!(html.contains("id=\"lost-warning\"") && html.contains("7 events were LOST"));
    assert!(html.contains("12 events not listed"));
    assert!(html.contains("12 events the report itself omitted"));
}

#[test]
fn without_detections_the_process_tree_is_drawn() {
    let mut r = Report::empty();
    r.processes = vec![process(10, 1, "/bin/sh", &["sh", "-c", "x"])];
    let html = render(&r);
    assert!(html.contains("No detections: the process tree is drawn"));
    assert_eq!(html.matches("<g class=\"node proc\">").count(), 1);
    // One node: a small drawing.
    assert!(html.contains(&format!(
        "width=\"{}\" height=\"{}\"",
        2 * PAD + NODE_W,
        2 * PAD + NODE_H
    )));
}

#[test]
fn layout_one_node_and_many() {
    let one = layout(&[0], &[]);
    assert_eq!((one.x[0], one.y[0]), (PAD, PAD));
    assert_eq!((one.width, one.height), (2 * PAD + NODE_W, 2 * PAD + NODE_H));

    // 150 nodes: a root, 20 children, 129 grandchildren; and a layer 3 of files.
    let mut layer = vec![0];
    let mut edges = Vec::new();
    for c in 1..=20 {
        layer.push(1);
        edges.push((0, c));
    }
    for g in 21..150 {
        layer.push(2);
        edges.push((1 + (g * 7) % 20, g));
    }
    let pl = layout(&layer, &edges);
    for a in 0..150 {
        assert!(pl.x[a] + NODE_W <= pl.width && pl.y[a] + NODE_H <= pl.height);
        for b in a + 1..150 {
            if pl.x[a] == pl.x[b] {
                assert!(pl.y[a].abs_diff(pl.y[b]) >= ROW_H, "{a} and {b} overlap");
            }
        }
    }
    assert!(pl.height <= 2 * PAD + 150 * ROW_H);
}

#[test]
fn long_edges_are_routed_through_the_gaps() {
    // A chain 0 -> 1 -> 2 -> 3 and three siblings of 1; 0 also links to a node in column 3.
    let layer = [0, 1, 2, 3, 1, 1, 1, 3];
    let edges = [(0, 1), (1, 2), (2, 3), (0, 4), (0, 5), (0, 6), (0, 7)];
    let pl = layout(&layer, &edges);
    assert_eq!(pl.routes[6].len(), 2, "{pl:?}");
    assert!(pl.routes[..6].iter().all(Vec::is_empty));
    for &(x, y) in &pl.routes[6] {
        for v in 0..layer.len() {
            if pl.x[v] == x {
                assert!(
                    y + DUMMY_H / 2 <= pl.y[v] || y >= pl.y[v] + NODE_H + DUMMY_H / 2,
                    "bend {y} in node {v}"
                );
            }
        }
        assert!(y < pl.height && x + NODE_W <= pl.width);
    }
    let (d, _, _) = edge_path(&pl, 0, 7, &pl.routes[6]);
    assert_eq!(d.matches(" L").count(), 2, "{d}");
}

#[test]
fn barycenter_ordering_removes_a_crossing() {
    // Parents 0 and 1; 2 is 1's child and 3 is 0's child: in input order they would cross.
    let pl = layout(&[0, 0, 1, 1], &[(1, 2), (0, 3)]);
    let crosses = (pl.y[0] < pl.y[1]) != (pl.y[3] < pl.y[2]);
    assert!(!crosses, "{pl:?}");
}

fn big(n: u32) -> Report {
    let mut r = Report::empty();
    // A deep chain of 3000, then a wide fan-out.
    r.processes = (0..n)
        .map(|i| {
            let pid = 100 + i;
            let ppid = if i == 0 {
                1
            } else if i < 3000 {
                pid - 1
            } else {
                100 + (i % 50)
            };
            process(
                pid,
                ppid,
                &format!("/usr/bin/prog{i}"),
                &[&format!("prog{i}"), "--flag", HOSTILE],
            )
        })
        .collect();
    r.stats.processes = u64::from(n);
    r.events = (0..u64::from(2 * n))
        .map(|s| exec_event(s, 100 + (s as u32 % n), "prog", "/usr/bin/prog", &["prog", BIDI]))
        .collect();
    r.stats.events = 2 * u64::from(n);
    r.events_omitted = 123_456;
    r.graph.nodes = r
        .processes
        .iter()
        .enumerate()
        .map(|(index, p)| NodeKind::Process { pid: p.pid, index })
        .collect();
    r.graph.nodes.push(NodeKind::Endpoint {
        addr: "10.0.0.1:4444".into(),
    });
    let ep = r.graph.nodes.len() - 1;
    let edge = |kind| EdgeData {
        kind,
        first_ns: 0,
        last_ns: 0,
        count: 2,
        first_seq: 0,
        failures: 0,
    };
    for i in 1..r.processes.len() {
        let ppid = r.processes[i].ppid;
        if let Some(j) = r.processes[..i].iter().rposition(|p| p.pid == ppid) {
            r.graph.edges.push((j, i, edge(EdgeKind::Forked)));
        }
    }
    let last = r.processes.len() - 1;
    r.graph.edges.push((last, ep, edge(EdgeKind::Connected)));
    for (i, pid) in [(0usize, 2999u32 + 100), (1, 100 + n - 1)] {
        r.detections.push(Detection {
            rule: format!("rule-{i}"),
            severity: Severity::High,
            techniques: vec!["T1059.004".into(), "T1071.001".into()],
            message: format!("message {HOSTILE}"),
            process: DetectionProcess {
                pid,
                exe: "/bin/sh".into(),
                argv: vec!["sh".into()],
            },
            evidence: vec![1, 2, 3],
            allowed: None,
            rule_severity: None,
            target: None,
        });
    }
    r.techniques = crate::report::techniques(&r.detections);
    r.kill_chain = vec![
        KillChainStep {
            tactic: "execution".into(),
            techniques: vec!["T1059.004".into()],
            rule: "rule-0".into(),
            severity: Severity::High,
            message: "m".into(),
            ts_ns: 0,
            lineage: vec![3099, 3098, 3097],
            nodes: vec![2999],
            detection: 0,
        },
        KillChainStep {
            tactic: "command-and-control".into(),
            techniques: vec!["T1071.001".into()],
            rule: "rule-1".into(),
            severity: Severity::High,
            message: "m".into(),
            ts_ns: 0,
            lineage: vec![100 + n - 1, 100 + (n - 1) % 50],
            nodes: vec![last, ep],
            detection: 1,
        },
    ];
    r.verdict = "malicious".into();
    r
}

#[test]
fn ten_thousand_processes_stay_bounded() {
    let r = big(10_000);
    let start = std::time::Instant::now();
    let html = render(&r);
    let took = start.elapsed();
    eprintln!(
        "10,000 processes, 20,000 events: {} bytes in {took:?}",
        html.len()
    );
    assert!(html.len() < 4_000_000, "{} bytes", html.len());
    assert!(svg_balanced(&html));
    let drawn = html.matches("<g class=\"node ").count();
    assert!((2..=MAX_GRAPH).contains(&drawn), "{drawn}");
    assert!(html.contains("more nodes are not drawn"));
    assert!(html.contains("class=\"node endpoint evidence\""));
    assert_eq!(html.matches("<tr id=\"ev-").count(), MAX_ROWS);
    assert!(html.contains("8000 processes not shown") || html.contains(" more processes not shown"));
    assert!(html.contains("123456 events the report itself omitted"));
    // Nesting stays bounded.
    assert!(html.matches("<details").count() <= MAX_TREE);
    assert!(!html.contains('\u{202e}') && !html.contains("<script>alert"));
    assert_fetches_nothing(&html);
    // Without detections: the top of the process tree, bounded too.
    let mut quiet = r;
    quiet.detections.clear();
    quiet.kill_chain.clear();
    quiet.techniques.clear();
    let html = render(&quiet);
    assert!(html.contains("No detections: the process tree is drawn"));
    assert_eq!(html.matches("<g class=\"node proc\">").count(), MAX_GRAPH);
    assert!(html.contains(&format!("{} more nodes are not drawn", 10_000 - MAX_GRAPH)));
    assert!(html.len() < 4_000_000 && svg_balanced(&html));
}
