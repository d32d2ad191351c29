//! The SVG writer: the kill-chain graph section, drawn from the selection and its layout.

use super::*;

/// Text lines and tooltip of a drawn node.
pub(super) fn node_text(cx: &Ctx<'_>, k: Key) -> (String, String, String, String) {
    let r = cx.r;
    match k {
        Key::Proc(i) => match r.processes.get(i) {
            Some(p) => {
                let argv = p.argv.join(" ");
                let tip = format!(
                    "pid {} (parent {})\n{}\n{}\n{}",
                    p.pid,
                    p.ppid,
                    if p.exe.is_empty() { &p.comm } else { &p.exe },
                    clip(&argv, 1000),
                    proc_end(p)
                );
                (
                    format!("{} {}", p.pid, proc_name(p)),
                    if argv.is_empty() { p.comm.clone() } else { argv },
                    proc_end(p),
                    tip,
                )
            }
            None => (
                format!("process #{i}"),
                String::new(),
                String::new(),
                String::new(),
            ),
        },
        Key::Node(g) => match r.graph.nodes.get(g) {
            Some(NodeKind::File { path }) => {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                (
                    basename(path).to_string(),
                    if dir.is_empty() {
                        "/".into()
                    } else {
                        dir.to_string()
                    },
                    "file".into(),
                    path.clone(),
                )
            }
            Some(NodeKind::Endpoint { addr }) => {
                (addr.clone(), "endpoint".into(), String::new(), addr.clone())
            }
            Some(NodeKind::Domain { name }) => (name.clone(), "domain".into(), String::new(), name.clone()),
            Some(NodeKind::Process { pid, index }) => (
                format!("{pid}"),
                format!("process #{index}"),
                String::new(),
                format!("pid {pid}"),
            ),
            None => (String::new(), String::new(), String::new(), String::new()),
        },
    }
}

pub(super) fn graph_section(o: &mut String, cx: &Ctx<'_>) {
    let r = cx.r;
    let sel = select(cx);
    o.push_str("<section id=\"killchain\"><h2>Kill chain</h2>");
    if sel.tree_mode {
        o.push_str("<p class=\"note\">No detections: the process tree is drawn instead of a kill chain.</p>");
    } else {
        o.push_str(
            "<p class=\"note\">The processes of every detection and their ancestors, with the files, \
endpoints and names that are evidence (red). Processes left to right by depth.</p>",
        );
    }
    let layer = layers(cx, &sel);
    let pairs: Vec<(usize, usize)> = sel.edges.iter().map(|e| (e.from, e.to)).collect();
    let pl = layout(&layer, &pairs);
    let _ = write!(
        o,
        "<div id=\"killchain-graph\" class=\"graph-scroll\"><svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
role=\"img\" aria-label=\"kill-chain graph\" font-family=\"ui-monospace,Menlo,Consolas,monospace\" font-size=\"11\">\
<defs><marker id=\"st-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
<path d=\"M0,0L10,5L0,10z\" fill=\"#8a94a3\"/></marker>\
<marker id=\"st-arrow-red\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
<path d=\"M0,0L10,5L0,10z\" fill=\"#c62828\"/></marker></defs>",
        w = pl.width,
        h = pl.height
    );
    if sel.keys.is_empty() {
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" fill=\"#5f6b7a\">no processes were traced</text>",
            PAD,
            PAD + 20
        );
    }
    for (i, e) in sel.edges.iter().enumerate() {
        let red = e.evidence;
        let route = pl.routes.get(i).map_or(&[][..], Vec::as_slice);
        let (d, lx, ly) = edge_path(&pl, e.from, e.to, route);
        let _ = write!(
            o,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" marker-end=\"url(#{})\"/>",
            if red { "#c62828" } else { "#8a94a3" },
            if red { "1.8" } else { "1.2" },
            if red { "st-arrow-red" } else { "st-arrow" }
        );
        let _ = write!(
            o,
            "<text class=\"el\" x=\"{lx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            ly.saturating_sub(3),
            Esc(&clip(&e.labels.join(", "), 40))
        );
    }
    for (v, &k) in sel.keys.iter().enumerate() {
        let (x, y) = (pl.x[v], pl.y[v]);
        let ev = sel.evidence.contains(&v);
        let (l1, l2, l3, tip) = node_text(cx, k);
        let kind = match k {
            Key::Proc(_) => "proc",
            Key::Node(g) => match r.graph.nodes.get(g) {
                Some(NodeKind::File { .. }) => "file",
                Some(NodeKind::Endpoint { .. }) => "endpoint",
                Some(NodeKind::Domain { .. }) => "domain",
                _ => "proc",
            },
        };
        let (fill, stroke) = match (ev, kind) {
            (true, _) => ("#fdecea", "#c62828"),
            (false, "proc") => ("#eef3fb", "#4a6fa5"),
            (false, "file") => ("#f7f7f7", "#888888"),
            (false, "endpoint") => ("#eef8f0", "#3c8d50"),
            _ => ("#f3eefa", "#7a5ea8"),
        };
        let sw = if ev { "2" } else { "1.2" };
        let _ = write!(
            o,
            "<g class=\"node {kind}{}\"><title>{}</title>",
            if ev { " evidence" } else { "" },
            Esc(&clip(&tip, 2000))
        );
        let ellipse = matches!(kind, "endpoint" | "domain");
        let (tx, anchor, width) = if ellipse {
            let _ = write!(
                o,
                "<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/>",
                x + NODE_W / 2,
                y + NODE_H / 2,
                NODE_W / 2,
                NODE_H / 2
            );
            (x + NODE_W / 2, "middle", 24)
        } else {
            let _ = write!(
                o,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/>",
                if kind == "proc" { 9 } else { 0 }
            );
            (x + 7, "start", 29)
        };
        let techniques = sel
            .techniques
            .get(&v)
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let line2 = l2;
        let line3 = if ellipse {
            String::new()
        } else if techniques.is_empty() {
            l3
        } else {
            techniques.clone()
        };
        let first_y = if ellipse && line3.is_empty() {
            y + 20
        } else {
            y + 15
        };
        let _ = write!(
            o,
            "<text x=\"{tx}\" y=\"{first_y}\" text-anchor=\"{anchor}\" font-weight=\"bold\" fill=\"#1d2330\">{}</text>",
            Esc(&clip(&l1, width))
        );
        if !line2.is_empty() {
            let shown = if kind == "file" {
                clip_tail(&line2, width)
            } else {
                clip(&line2, width)
            };
            let _ = write!(
                o,
                "<text x=\"{tx}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"#4d5663\">{}</text>",
                first_y + 14,
                Esc(&shown)
            );
        }
        if !line3.is_empty() {
            let _ = write!(
                o,
                "<text x=\"{tx}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"{}\">{}</text>",
                first_y + 27,
                if techniques.is_empty() {
                    "#5f6b7a"
                } else {
                    "#c62828"
                },
                Esc(&clip(&line3, width))
            );
        }
        o.push_str("</g>");
    }
    o.push_str("</svg></div>");
    o.push_str(
        "<div class=\"legend\"><span class=\"lp\">process</span><span class=\"lf\">file</span>\
<span class=\"le\">endpoint or domain</span><span class=\"lx\">evidence of a detection</span></div>",
    );
    if sel.left_out > 0 {
        let _ = write!(
            o,
            "<p class=\"note\">{} more nodes are not drawn (the drawing is bounded to {MAX_GRAPH} nodes).</p>",
            sel.left_out
        );
    }
    o.push_str("</section>\n");
}
