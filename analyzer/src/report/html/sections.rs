//! The page's other sections: kill-chain steps, ATT&CK matrix, detections, process tree,
//! timeline, IOCs and the sample's output.

use super::*;

pub(super) fn steps(o: &mut String, cx: &Ctx<'_>) {
    let r = cx.r;
    o.push_str("<section id=\"killchain-steps\"><h3>Steps in kill-chain order</h3>");
    if r.kill_chain.is_empty() {
        o.push_str("<p class=\"note\">No kill-chain steps.</p></section>\n");
        return;
    }
    o.push_str("<ol class=\"steps\">");
    for k in r.kill_chain.iter().take(MAX_DETECTIONS) {
        let tactic = if k.tactic.is_empty() {
            "Unknown tactic".to_string()
        } else {
            tactic_title(&k.tactic)
        };
        let _ = write!(
            o,
            "<li><span class=\"tactic-name\">{}</span> <span class=\"sev sev-{s}\">{s}</span> ",
            Esc(&tactic),
            s = sev_name(k.severity)
        );
        for t in &k.techniques {
            technique_link(o, t);
            if let Some(x) = mitre_mapping::lookup(t) {
                let _ = write!(o, " {}", Esc(&x.full_name()));
            }
            o.push_str("; ");
        }
        let _ = write!(
            o,
            "<a href=\"#det-{}\"><code>{}</code></a> at {:+.1} ms: {}<br><span class=\"lineage\">lineage: ",
            k.detection,
            Esc(&k.rule),
            cx.rel_ms(k.ts_ns),
            Esc(&clip(&k.message, 400))
        );
        let chain: Vec<String> = k
            .lineage
            .iter()
            .rev()
            .map(|p| Esc(&clip(&cx.pid_label(*p), 60)).to_string())
            .collect();
        o.push_str(&chain.join(" → "));
        o.push_str("</span></li>");
    }
    o.push_str("</ol>");
    if r.kill_chain.len() > MAX_DETECTIONS {
        let _ = write!(
            o,
            "<p class=\"note\">{} more steps not listed.</p>",
            r.kill_chain.len() - MAX_DETECTIONS
        );
    }
    o.push_str("</section>\n");
}

pub(super) fn matrix(o: &mut String, cx: &Ctx<'_>) {
    let r = cx.r;
    o.push_str(
        "<section id=\"matrix\"><h2>ATT&amp;CK matrix</h2><div id=\"attack-matrix\" class=\"matrix\">",
    );
    // Highest severity of the detections naming each technique (allowed ones count apart).
    let mut worst: HashMap<&str, Severity> = HashMap::new();
    for d in r.detections.iter().filter(|d| d.allowed.is_none()) {
        for t in &d.techniques {
            let e = worst.entry(t.as_str()).or_insert(d.severity);
            *e = (*e).max(d.severity);
        }
    }
    let mut columns: Vec<(String, Vec<&crate::report::TechniqueEntry>)> = Vec::new();
    for tactic in mitre_mapping::Tactic::ALL {
        let ts: Vec<_> = r
            .techniques
            .iter()
            .filter(|t| t.tactics.iter().any(|x| x == tactic.short_name()))
            .collect();
        if !ts.is_empty() {
            columns.push((tactic_title(tactic.short_name()), ts));
        }
    }
    let other: Vec<_> = r
        .techniques
        .iter()
        .filter(|t| {
            !t.tactics
                .iter()
                .any(|x| mitre_mapping::Tactic::from_short_name(x).is_some())
        })
        .collect();
    if !other.is_empty() {
        columns.push(("Other".into(), other));
    }
    for (name, ts) in &columns {
        let _ = write!(
            o,
            "<div class=\"tactic\"><h3>{}</h3><div class=\"cells\">",
            Esc(name)
        );
        for t in ts {
            let sev = worst.get(t.id.as_str()).map_or("allowed", |s| sev_name(*s));
            let _ = write!(
                o,
                "<div class=\"technique sev-{sev}\" data-technique=\"{}\"><span class=\"count\" title=\"detections\">{}</span>",
                Esc(&t.id),
                t.detections
            );
            technique_link(o, &t.id);
            let _ = write!(o, "<br>{}</div>", Esc(&t.name));
        }
        o.push_str("</div></div>");
    }
    o.push_str("</div>");
    if columns.is_empty() {
        o.push_str("<p class=\"note\">No ATT&amp;CK technique was detected.</p>");
    } else {
        let hit: HashSet<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let quiet: Vec<String> = mitre_mapping::Tactic::ALL
            .iter()
            .map(|t| tactic_title(t.short_name()))
            .filter(|t| !hit.contains(t.as_str()))
            .collect();
        let _ = write!(
            o,
            "<p class=\"quiet\">Tactics without detections: {}.</p>",
            Esc(&quiet.join(", "))
        );
    }
    o.push_str("</section>\n");
}

pub(super) fn detections(o: &mut String, cx: &Ctx<'_>) {
    let r = cx.r;
    let _ = write!(
        o,
        "<section id=\"detections\"><h2>Detections ({})</h2>",
        r.detections.len()
    );
    if r.detections.is_empty() {
        o.push_str("<p class=\"note\">No rule matched.</p>");
    } else {
        o.push_str(
            "<table><thead><tr><th class=\"num\">#</th><th>severity</th><th>rule</th><th>techniques</th>\
<th>what</th><th>process</th><th>evidence events</th><th>policy</th></tr></thead><tbody>",
        );
        for (i, d) in r.detections.iter().enumerate().take(MAX_DETECTIONS) {
            let _ = write!(
                o,
                "<tr id=\"det-{i}\"{}><td class=\"num\">{i}</td><td class=\"sev sev-{s}\">{s}",
                if d.allowed.is_some() {
                    " class=\"allowed\""
                } else {
                    ""
                },
                s = sev_name(d.severity)
            );
            if let Some(rs) = d.rule_severity {
                let _ = write!(o, "<br><span class=\"quiet\">rule: {}</span>", sev_name(rs));
            }
            let _ = write!(o, "</td><td><code>{}</code></td><td>", Esc(&d.rule));
            for (j, t) in d.techniques.iter().enumerate() {
                if j > 0 {
                    o.push_str(", ");
                }
                technique_link(o, t);
            }
            let _ = write!(
                o,
                "</td><td>{}</td><td><span class=\"pid\">{}</span> <code>{}</code><br><code>{}</code></td><td>",
                Esc(&clip(&d.message, 500)),
                d.process.pid,
                Esc(&clip(&d.process.exe, 200)),
                Esc(&clip(&d.process.argv.join(" "), 300))
            );
            for (j, seq) in d.evidence.iter().take(20).enumerate() {
                if j > 0 {
                    o.push(' ');
                }
                if cx.listed.contains(seq) {
                    let _ = write!(o, "<a href=\"#ev-{seq}\">#{seq}</a>");
                } else {
                    let _ = write!(o, "#{seq}");
                }
            }
            if d.evidence.len() > 20 {
                let _ = write!(o, " +{}", d.evidence.len() - 20);
            }
            o.push_str("</td><td>");
            match &d.allowed {
                Some(a) => {
                    let _ = write!(o, "allowed: {}", Esc(&a.reason));
                    if let Some(x) = &a.expires {
                        let _ = write!(o, " (until {})", Esc(x));
                    }
                }
                None if d.rule_severity.is_some() => o.push_str("severity changed"),
                None => {}
            }
            o.push_str("</td></tr>");
        }
        o.push_str("</tbody></table>");
        if r.detections.len() > MAX_DETECTIONS {
            let _ = write!(
                o,
                "<p class=\"note\">{} more detections not listed.</p>",
                r.detections.len() - MAX_DETECTIONS
            );
        }
    }
    if r.stats.detections_omitted > 0 {
        let _ = write!(
            o,
            "<p class=\"note\">{} further rule matches beyond the detection bound were counted, not kept.</p>",
            r.stats.detections_omitted
        );
    }
    o.push_str("</section>\n");
}

/// One process of the tree.
pub(super) fn tree_line(o: &mut String, cx: &Ctx<'_>, i: usize, depth: usize) {
    let Some(p) = cx.r.processes.get(i) else { return };
    if depth > MAX_NEST {
        let _ = write!(o, "<span class=\"quiet\">[depth {depth}]</span> ");
    }
    let _ = write!(
        o,
        "<span class=\"pid\">{}</span> <b title=\"{}\">{}</b> {}<code>{}</code> <span class=\"exit\">({}",
        p.pid,
        Esc(&clip(&p.exe, 400)),
        Esc(&clip(&proc_name(p), 80)),
        if p.execs.is_empty() && !p.argv.is_empty() {
            "<span class=\"quiet\">forked from:</span> "
        } else {
            ""
        },
        Esc(&clip(&p.argv.join(" "), 300)),
        Esc(&proc_end(p))
    );
    if p.execs.len() > 1 {
        let _ = write!(o, ", {} execs", p.execs.len());
    }
    o.push_str(")</span>");
    if cx.flagged.contains(&i) {
        o.push_str(" <span class=\"flag\">detection</span>");
    }
}

pub(super) fn tree(o: &mut String, cx: &Ctx<'_>) {
    enum Item {
        Node(usize, usize),
        Close,
    }
    let r = cx.r;
    let n = r.processes.len();
    let _ = write!(
        o,
        "<section id=\"processes\"><h2>Process tree ({n})</h2>\
<div class=\"controls no-print\"><button type=\"button\" id=\"tree-expand\">expand all</button>\
<button type=\"button\" id=\"tree-collapse\">collapse all</button></div><div id=\"process-tree\" class=\"tree\"><ul>"
    );
    // Subtrees holding a detection's process are open.
    let mut hot = vec![false; n];
    for i in (0..n).rev() {
        if cx.flagged.contains(&i) {
            hot[i] = true;
        }
        if hot[i]
            && let Some(p) = cx.parent[i]
        {
            hot[p] = true;
        }
    }
    let mut stack: Vec<Item> = (0..n)
        .filter(|&i| cx.parent[i].is_none())
        .rev()
        .map(|i| Item::Node(i, 0))
        .collect();
    let mut shown = 0usize;
    while let Some(item) = stack.pop() {
        match item {
            Item::Close => o.push_str("</ul></details></li>"),
            Item::Node(_, _) if shown >= MAX_TREE => {}
            Item::Node(i, depth) => {
                shown += 1;
                let kids = &cx.children[i];
                o.push_str("<li>");
                if kids.is_empty() || depth >= MAX_NEST {
                    o.push_str("<span class=\"leaf\">");
                    tree_line(o, cx, i, depth);
                    o.push_str("</span></li>");
                } else {
                    let _ = write!(
                        o,
                        "<details{}><summary>",
                        if depth < 2 || hot[i] { " open" } else { "" }
                    );
                    tree_line(o, cx, i, depth);
                    o.push_str("</summary><ul>");
                    stack.push(Item::Close);
                }
                // Past the nesting bound, descendants are listed flat at this level.
                stack.extend(kids.iter().rev().map(|&c| Item::Node(c, depth + 1)));
            }
        }
    }
    o.push_str("</ul>");
    if n > shown {
        let _ = write!(
            o,
            "<p class=\"note\">{} more processes not shown (the tree is bounded to {MAX_TREE}).</p>",
            n - shown
        );
    }
    o.push_str("</div></section>\n");
}

pub(super) fn sockaddr(a: &SockAddr) -> String {
    match a {
        SockAddr::Inet { address, port } if address.contains(':') => format!("[{address}]:{port}"),
        SockAddr::Inet { address, port } => format!("{address}:{port}"),
        SockAddr::Unix { path } => format!("unix:{path}"),
        SockAddr::Other { number } => format!("family {number}"),
    }
}

/// A readable summary of what an event carries.
pub(super) fn event_details(e: &Event) -> String {
    let mut s = String::new();
    match &e.data {
        EventData::Fork {
            child_pid, thread, ..
        } => {
            let _ = write!(s, "child {child_pid}{}", if *thread { " (thread)" } else { "" });
        }
        EventData::Exec {
            filename,
            argv,
            argv_truncated,
            env,
        } => {
            let _ = write!(
                s,
                "{filename} argv: {}{}",
                argv.join(" "),
                if *argv_truncated { " (truncated)" } else { "" }
            );
            // Only the variables whose values were kept: the names alone are noise here.
            let kept: Vec<&str> = env
                .iter()
                .filter(|e| e.contains('='))
                .map(String::as_str)
                .collect();
            if !kept.is_empty() {
                let _ = write!(s, " env: {}", kept.join(" "));
            }
        }
        EventData::Exit { status, signal } => match (status, signal) {
            (Some(c), _) => {
                let _ = write!(s, "status {c}");
            }
            (_, Some(g)) => {
                let _ = write!(s, "signal {g}");
            }
            _ => s.push_str("exit"),
        },
        EventData::Syscall(d) => {
            s.push_str(&d.syscall);
            if let Some(p) = &d.path {
                let _ = write!(s, " {p}");
            }
            if let Some(p) = &d.path2 {
                let _ = write!(s, " → {p}");
            }
            if let Some(n) = &d.name {
                let _ = write!(s, " name={n}");
            }
            if let Some(a) = &d.addr {
                let _ = write!(s, " addr={}", sockaddr(a));
            }
            if let Some(k) = &d.socket {
                let _ = write!(s, " {}/{}/{}", k.family, k.sock_type, k.protocol);
            }
            if let Some(fd) = d.fd {
                let _ = write!(s, " fd={fd}");
            }
            if let Some(fd) = d.fd2 {
                let _ = write!(s, " fd2={fd}");
            }
            if let Some(f) = d.flags {
                let _ = write!(s, " flags={f:#x}");
            }
            if let Some(m) = d.mode {
                let _ = write!(s, " mode={m:#o}");
            }
            if let Some(p) = d.target_pid {
                let _ = write!(s, " pid={p}");
            }
            if let Some(op) = d.op {
                let _ = write!(s, " op={op}");
            }
            if !d.ids.is_empty() {
                let _ = write!(s, " ids={:?}", d.ids);
            }
            if let Some(b) = d.bytes {
                let _ = write!(s, " bytes={b}");
            }
            if let Some(p) = &d.payload {
                let _ = write!(s, " payload={}", clip(p, 160));
            }
            match &d.error {
                Some(err) => {
                    let _ = write!(s, " = {} {err}", d.ret);
                }
                None => {
                    let _ = write!(s, " = {}", d.ret);
                }
            }
        }
    }
    if e.truncated {
        s.push_str(" [cut]");
    }
    s
}

pub(super) fn timeline(o: &mut String, cx: &Ctx<'_>) {
    let r = cx.r;
    let shown = r.events.len().min(MAX_ROWS);
    let mut names: HashMap<sandtrace_common::EventKind, String> = HashMap::new();
    let mut kinds: BTreeSet<String> = BTreeSet::new();
    for e in r.events.iter().take(MAX_ROWS) {
        let name = names
            .entry(e.kind)
            .or_insert_with(|| crate::correlate::kind_name(e.kind));
        kinds.insert(name.clone());
    }
    let _ = write!(
        o,
        "<section id=\"events\"><h2>Timeline ({shown} events)</h2><div class=\"controls\" id=\"timeline-controls\">\
<input type=\"search\" id=\"timeline-filter\" placeholder=\"filter rows (substring)\" aria-label=\"filter rows\">\
<select id=\"timeline-kind\" aria-label=\"event kind\"><option value=\"\">all kinds</option>"
    );
    for k in &kinds {
        let _ = write!(o, "<option value=\"{k}\">{k}</option>", k = Esc(k));
    }
    o.push_str(
        "</select><label><input type=\"checkbox\" id=\"timeline-evidence\"> evidence only</label>\
<span id=\"timeline-count\" class=\"quiet\"></span></div>\
<table id=\"timeline\"><thead><tr><th class=\"num\">seq</th><th class=\"num\">ms</th><th class=\"num\">pid</th>\
<th>comm</th><th>kind</th><th>details</th></tr></thead><tbody>",
    );
    for e in r.events.iter().take(MAX_ROWS) {
        let kind = names.get(&e.kind).map_or("", String::as_str);
        let evidence = cx.evidence.contains(&e.seq);
        let _ = write!(
            o,
            "<tr id=\"ev-{seq}\" data-kind=\"{k}\"{c}><td class=\"num\">{seq}</td><td class=\"num\">{:.3}</td>\
<td class=\"num\">{}</td><td><code>{}</code></td><td>{k}</td><td><code>{}</code></td></tr>",
            cx.rel_ms(e.ts_ns),
            e.pid,
            Esc(&e.comm),
            Esc(&clip(&event_details(e), 400)),
            seq = e.seq,
            k = Esc(kind),
            c = if evidence { " class=\"evidence\"" } else { "" }
        );
    }
    o.push_str("</tbody></table>");
    if r.events.is_empty() {
        o.push_str("<p class=\"note\">No events were listed.</p>");
    }
    let beyond = r.events.len() - shown;
    if beyond > 0 || r.events_omitted > 0 {
        let _ = write!(
            o,
            "<p class=\"note\">Not listed: {beyond} more events of this report (the page is bounded to {MAX_ROWS} rows) \
and {} events the report itself omitted (events_omitted). The run database has them all.</p>",
            r.events_omitted
        );
    }
    o.push_str("</section>\n");
}

/// `addr:port` split for display (`[v6]:port`, `v4:port`; other forms whole).
pub(super) fn split_port(addr: &str) -> (&str, &str) {
    if let Some(rest) = addr.strip_prefix('[')
        && let Some((a, p)) = rest.rsplit_once("]:")
    {
        return (a, p);
    }
    match addr.rsplit_once(':') {
        Some((a, p))
            if !a.contains(':') && !a.starts_with("unix") && p.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (a, p)
        }
        _ => (addr, ""),
    }
}

pub(super) fn iocs(o: &mut String, cx: &Ctx<'_>) {
    let r = cx.r;
    o.push_str("<section id=\"iocs\"><h2>Indicators</h2><h3>Network</h3>");
    if r.network.is_empty() {
        o.push_str("<p class=\"note\">No network activity.</p>");
    } else {
        o.push_str(
            "<table id=\"ioc-network\"><thead><tr><th>op</th><th>address</th><th>port</th><th class=\"num\">count</th>\
<th class=\"num\">failed</th><th>pids</th></tr></thead><tbody>",
        );
        for n in r.network.iter().take(MAX_IOC) {
            let (a, p) = split_port(&n.addr);
            let _ = write!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}{}</td><td>{}</td></tr>",
                Esc(&n.op),
                Esc(&clip(a, 300)),
                Esc(p),
                n.count,
                n.failures,
                n.last_error
                    .as_deref()
                    .map(|e| format!(" {}", Esc(e)))
                    .unwrap_or_default(),
                Esc(&clip(
                    &n.pids.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
                    200
                ))
            );
        }
        o.push_str("</tbody></table>");
        if r.network.len() > MAX_IOC {
            let _ = write!(
                o,
                "<p class=\"note\">{} more not listed.</p>",
                r.network.len() - MAX_IOC
            );
        }
    }
    let mut domains: BTreeSet<&str> = r
        .network
        .iter()
        .filter(|n| n.op == "dns")
        .map(|n| n.addr.as_str())
        .collect();
    for n in &r.graph.nodes {
        if let NodeKind::Domain { name } = n {
            domains.insert(name);
        }
    }
    if !domains.is_empty() {
        let _ = write!(o, "<h3>Domains ({})</h3><ul id=\"ioc-domains\">", domains.len());
        for d in domains.iter().take(MAX_IOC) {
            let _ = write!(o, "<li><code>{}</code></li>", Esc(&clip(d, 300)));
        }
        o.push_str("</ul>");
    }
    let changed: Vec<_> = r
        .files
        .iter()
        .filter(|f| f.ops.keys().any(|k| k != "open"))
        .collect();
    let _ = write!(
        o,
        "<h3>Files written, created, deleted or changed ({})</h3>",
        changed.len()
    );
    if changed.is_empty() {
        o.push_str("<p class=\"note\">None.</p>");
    } else {
        o.push_str(
            "<table id=\"ioc-files\"><thead><tr><th>path</th><th>operations</th><th class=\"num\">failed</th>\
<th>pids</th></tr></thead><tbody>",
        );
        for f in changed.iter().take(MAX_IOC) {
            let ops: Vec<String> = f
                .ops
                .iter()
                .map(|(k, n)| if *n > 1 { format!("{k}×{n}") } else { k.clone() })
                .collect();
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                Esc(&clip(&f.path, 400)),
                Esc(&ops.join(" ")),
                f.failures,
                Esc(&clip(
                    &f.pids.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
                    200
                ))
            );
        }
        o.push_str("</tbody></table>");
        if changed.len() > MAX_IOC {
            let _ = write!(
                o,
                "<p class=\"note\">{} more not listed.</p>",
                changed.len() - MAX_IOC
            );
        }
    }
    let mut exes: BTreeMap<&str, (u64, &[String])> = BTreeMap::new();
    for p in &r.processes {
        for x in &p.execs {
            let e = exes.entry(x.filename.as_str()).or_insert((0, &x.argv));
            e.0 += 1;
        }
    }
    let _ = write!(o, "<h3>Programs executed ({})</h3>", exes.len());
    if exes.is_empty() {
        o.push_str("<p class=\"note\">None seen.</p>");
    } else {
        o.push_str(
            "<table id=\"ioc-programs\"><thead><tr><th>program</th><th class=\"num\">times</th><th>first arguments</th></tr></thead><tbody>",
        );
        for (x, (n, argv)) in exes.iter().take(MAX_IOC) {
            let _ = write!(
                o,
                "<tr><td><code>{}</code></td><td class=\"num\">{n}</td><td><code>{}</code></td></tr>",
                Esc(&clip(x, 400)),
                Esc(&clip(&argv.join(" "), 300))
            );
        }
        o.push_str("</tbody></table>");
        if exes.len() > MAX_IOC {
            let _ = write!(
                o,
                "<p class=\"note\">{} more not listed.</p>",
                exes.len() - MAX_IOC
            );
        }
    }
    o.push_str("</section>\n");
}

pub(super) fn output(o: &mut String, r: &Report) {
    let s = &r.sandbox;
    o.push_str("<section id=\"output\"><h2>Output of the sample</h2>");
    if s.stdout.is_empty() && s.stderr.is_empty() {
        o.push_str("<p class=\"note\">Nothing was written to stdout or stderr.</p>");
    }
    for (name, text) in [("stdout", &s.stdout), ("stderr", &s.stderr)] {
        if text.is_empty() {
            continue;
        }
        let _ = write!(
            o,
            "<details><summary>{name} ({} bytes)</summary><pre class=\"out\">{}</pre></details>",
            text.len(),
            Esc(&clip(text, MAX_OUTPUT))
        );
    }
    if s.output_truncated {
        o.push_str("<p class=\"note\">The output was cut at the capture bound.</p>");
    }
    o.push_str("</section>\n");
}
