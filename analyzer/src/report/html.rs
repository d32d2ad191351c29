//! One self-contained HTML page for an analyst: verdict header, the kill-chain graph as SVG (layout
//! computed here), the ATT&CK matrix by tactic, detections, process tree, a filterable timeline and
//! IOCs. No network fetches (a Content-Security-Policy forbids them); everything the sample controls is
//! escaped, bidi and control characters shown as escapes.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
};

use super::Report;

/// Most processes drawn in the tree, rows in the timeline, nodes in the graph.
const MAX_TREE: usize = 2000;
const MAX_ROWS: usize = 5000;
const MAX_GRAPH: usize = 150;

/// Escapes text for HTML text and attribute contexts.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
                let _ = write!(o, "\\u{{{:x}}}", u32::from(c));
            }
            c if c.is_control() && c != '\n' => {
                let _ = write!(o, "\\x{:02x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}h2{border-bottom:1px solid #ccc;margin-top:1.6em}\
.badge{padding:.2em .6em;border-radius:4px;color:#fff;font-weight:bold}.clean{background:#2e7d32}.suspicious{background:#e69500}.malicious{background:#c62828}\
table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}\
.warn{color:#b00;font-weight:bold}.matrix{display:flex;gap:8px;flex-wrap:wrap}.tactic{min-width:160px}.tactic h3{font-size:95%;background:#eee;margin:0;padding:4px}\
.technique{border:1px solid #c62828;background:#fdecea;margin:3px 0;padding:3px;font-size:85%}code{font-size:90%;word-break:break-all}\
.sev-critical,.sev-high{color:#c62828;font-weight:bold}.sev-medium{color:#e69500}.allowed{opacity:.55}svg text{font-size:11px;font-family:monospace}";

const SCRIPT: &str = "(function(){'use strict';var f=document.getElementById('timeline-filter'),k=document.getElementById('timeline-kind');\
function run(){var q=f.value.toLowerCase(),kind=k.value;var rows=document.querySelectorAll('#timeline tbody tr');\
for(var i=0;i<rows.length;i++){var r=rows[i];var ok=(!q||r.textContent.toLowerCase().indexOf(q)>=0)&&(!kind||r.getAttribute('data-kind')===kind);r.style.display=ok?'':'none';}}\
f.addEventListener('input',run);k.addEventListener('change',run);document.body.dataset.ready='1';})();";

const GUARD: &str = "window.addEventListener('error',function(e){document.body.dataset.errors=(document.body.dataset.errors||'')+String(e.message)+';';});\
document.addEventListener('securitypolicyviolation',function(e){document.body.dataset.errors=(document.body.dataset.errors||'')+'csp:'+e.violatedDirective+';';});";

/// Renders the report as HTML.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
<title>sandtrace {}</title><style>{STYLE}</style></head><body><script>{GUARD}</script>",
        esc(&r.image.reference)
    );
    header(&mut o, r);
    graph(&mut o, r);
    matrix(&mut o, r);
    detections(&mut o, r);
    tree(&mut o, r);
    timeline(&mut o, r);
    iocs(&mut o, r);
    let _ = writeln!(o, "<script>{SCRIPT}</script></body></html>");
    o
}

fn header(o: &mut String, r: &Report) {
    let s = &r.sandbox;
    let ending = if s.timed_out {
        format!("killed at the {} s limit", s.timeout_s)
    } else if s.oom_killed {
        "killed: out of memory".into()
    } else {
        format!("exited with {}", s.exit_code)
    };
    let _ = write!(
        o,
        "<h1>sandtrace <span class=\"badge {v}\">{V}</span> score {score}</h1>\
<p>image <code>{img}</code> <code>{id}</code><br>run <code>{run}</code>, {start} – {end}<br>\
network {net}, limit {lim} s, {ending}<br>{ev} events, {pr} processes, {rt} runtime events, {lost}</p>",
        v = esc(&r.verdict),
        V = esc(&r.verdict.to_uppercase()),
        score = r.score,
        img = esc(&r.image.reference),
        id = esc(&r.image.id),
        run = esc(&r.run_id),
        start = esc(&r.started_at),
        end = esc(&r.finished_at),
        net = esc(&s.network),
        lim = s.timeout_s,
        ev = r.stats.events,
        pr = r.stats.processes,
        rt = r.stats.runtime_events,
        lost = if r.stats.dropped > 0 {
            format!(
                "<span class=\"warn\">{} events LOST: the trace is incomplete</span>",
                r.stats.dropped
            )
        } else {
            "0 lost".into()
        },
    );
}

/// Kill-chain graph: the processes of the detections' lineages (parents left, children right), and
/// the steps attached to their process; layered by depth, ordered by first appearance.
fn graph(o: &mut String, r: &Report) {
    o.push_str("<h2>Kill chain</h2><div id=\"killchain-graph\">");
    let mut nodes: Vec<u32> = Vec::new();
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let lineages: Vec<Vec<u32>> = if r.kill_chain.is_empty() {
        o.push_str("<p>No detections: the process tree is drawn.</p>");
        r.processes
            .iter()
            .take(MAX_GRAPH)
            .map(|p| vec![p.pid, p.ppid])
            .collect()
    } else {
        r.kill_chain.iter().map(|k| k.lineage.clone()).collect()
    };
    for l in &lineages {
        for w in l.windows(2) {
            parent.entry(w[0]).or_insert(w[1]);
        }
        for p in l.iter().rev() {
            if !nodes.contains(p) && nodes.len() < MAX_GRAPH {
                nodes.push(*p);
            }
        }
    }
    let depth = |mut p: u32| {
        let mut d = 0usize;
        while let Some(q) = parent.get(&p) {
            if d > 40 || !nodes.contains(q) {
                break;
            }
            p = *q;
            d += 1;
        }
        d
    };
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut pos: HashMap<u32, (usize, usize)> = HashMap::new();
    for p in &nodes {
        let d = depth(*p);
        let row = rows.entry(d).or_insert(0);
        pos.insert(*p, (d, *row));
        *row += 1;
    }
    let steps_of = |pid: u32| {
        r.kill_chain
            .iter()
            .filter(move |k| k.lineage.first() == Some(&pid))
    };
    let (cw, rh) = (300usize, 70usize);
    let width = (rows.len().max(1)) * cw + 40;
    let height = rows.values().max().copied().unwrap_or(1).max(1) * rh + 40;
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    let label = |pid: u32| {
        r.processes
            .iter()
            .rev()
            .find(|p| p.pid == pid)
            .map(|p| {
                clip(
                    &if p.argv.is_empty() {
                        p.comm.clone()
                    } else {
                        p.argv.join(" ")
                    },
                    34,
                )
            })
            .unwrap_or_default()
    };
    for p in &nodes {
        if let (Some(&(d, row)), Some(q)) = (pos.get(p), parent.get(p))
            && let Some(&(pd, prow)) = pos.get(q)
        {
            let _ = write!(
                o,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
                20 + pd * cw + 250,
                20 + prow * rh + 18,
                20 + d * cw,
                20 + row * rh + 18
            );
        }
    }
    for p in &nodes {
        let Some(&(d, row)) = pos.get(p) else { continue };
        let (x, y) = (20 + d * cw, 20 + row * rh);
        let flagged = steps_of(*p).next().is_some();
        let _ = write!(
            o,
            "<rect x=\"{x}\" y=\"{y}\" rx=\"6\" width=\"250\" height=\"36\" fill=\"{}\" stroke=\"{}\"/><text x=\"{}\" y=\"{}\">{} {}</text>",
            if flagged { "#fdecea" } else { "#f4f4f4" },
            if flagged { "#c62828" } else { "#888" },
            x + 6,
            y + 15,
            p,
            esc(&label(*p))
        );
        let tech: Vec<String> = steps_of(*p).flat_map(|k| k.techniques.clone()).collect();
        if !tech.is_empty() {
            let _ = write!(
                o,
                "<text x=\"{}\" y=\"{}\" fill=\"#c62828\">{}</text>",
                x + 6,
                y + 30,
                esc(&clip(&tech.join(" "), 36))
            );
        }
    }
    o.push_str("</svg>");
    if !r.kill_chain.is_empty() {
        o.push_str("<ol>");
        for k in &r.kill_chain {
            let links: Vec<String> = k
                .techniques
                .iter()
                .map(|t| {
                    format!(
                        "<a href=\"https://attack.mitre.org/techniques/{}/\">{}</a>",
                        esc(&t.replace('.', "/")),
                        esc(t)
                    )
                })
                .collect();
            let _ = write!(
                o,
                "<li><b>{}</b> {} <span class=\"sev-{:?}\">{:?}</span> {}: {} (pids {:?})</li>",
                esc(&k.tactic),
                links.join(" "),
                k.severity,
                k.severity,
                esc(&k.rule),
                esc(&k.message),
                k.lineage
            );
        }
        o.push_str("</ol>");
    }
    o.push_str("</div>");
}

fn matrix(o: &mut String, r: &Report) {
    o.push_str("<h2>ATT&amp;CK techniques</h2><div id=\"attack-matrix\" class=\"matrix\">");
    for tactic in mitre_mapping::Tactic::ALL {
        let ts: Vec<_> = r
            .techniques
            .iter()
            .filter(|t| t.tactics.iter().any(|x| x == tactic.short_name()))
            .collect();
        if ts.is_empty() {
            continue;
        }
        let _ = write!(o, "<div class=\"tactic\"><h3>{}</h3>", esc(tactic.short_name()));
        for t in ts {
            let _ = write!(
                o,
                "<div class=\"technique\" data-technique=\"{id}\"><b>{id}</b> {name} ×{n}</div>",
                id = esc(&t.id),
                name = esc(&t.name),
                n = t.detections
            );
        }
        o.push_str("</div>");
    }
    o.push_str("</div>");
}

fn detections(o: &mut String, r: &Report) {
    let _ = write!(
        o,
        "<h2>Detections ({})</h2><table><thead><tr><th>severity</th><th>rule</th><th>techniques</th><th>what</th><th>process</th><th>evidence</th></tr></thead><tbody>",
        r.detections.len()
    );
    for d in &r.detections {
        let allowed = d
            .allowed
            .as_ref()
            .map(|a| format!(" <i>(allowed: {})</i>", esc(&a.reason)))
            .unwrap_or_default();
        let _ = write!(
            o,
            "<tr class=\"{}\"><td class=\"sev-{:?}\">{:?}</td><td>{}</td><td>{}</td><td>{}{allowed}</td><td>{} <code>{}</code></td><td>{:?}</td></tr>",
            if d.allowed.is_some() { "allowed" } else { "" },
            d.severity,
            d.severity,
            esc(&d.rule),
            esc(&d.techniques.join(", ")),
            esc(&d.message),
            d.process.pid,
            esc(&clip(&d.process.argv.join(" "), 200)),
            d.evidence.iter().take(20).collect::<Vec<_>>()
        );
    }
    o.push_str("</tbody></table>");
}

fn tree(o: &mut String, r: &Report) {
    o.push_str("<h2>Processes</h2><div id=\"process-tree\"><ul>");
    let pids: std::collections::HashSet<u32> = r.processes.iter().map(|p| p.pid).collect();
    let mut kids: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, p) in r.processes.iter().enumerate() {
        if pids.contains(&p.ppid) && p.ppid != p.pid {
            kids.entry(p.ppid).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut shown = 0usize;
    let mut seen = std::collections::HashSet::new();
    // (index, closing tags to emit after it)
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((i, close)) = stack.pop() {
        if shown >= MAX_TREE || !seen.insert(i) {
            continue;
        }
        shown += 1;
        let p = &r.processes[i];
        let end = match (p.exit_status, p.exit_signal) {
            (Some(c), _) => format!("exit {c}"),
            (_, Some(s)) => format!("signal {s}"),
            _ => "running".into(),
        };
        let _ = write!(
            o,
            "<li>{} <code>{}</code> ({end})",
            p.pid,
            esc(&clip(&p.argv.join(" "), 200))
        );
        let children = kids.get(&p.pid).cloned().unwrap_or_default();
        if children.is_empty() {
            o.push_str("</li>");
            for _ in 0..close {
                o.push_str("</ul></li>");
            }
        } else {
            o.push_str("<ul>");
            let n = children.len();
            for (j, c) in children.into_iter().enumerate().rev() {
                stack.push((c, if j == n - 1 { close + 1 } else { 0 }));
            }
        }
    }
    o.push_str("</ul>");
    if r.processes.len() > shown {
        let _ = write!(
            o,
            "<p>{} more processes not shown.</p>",
            r.processes.len() - shown
        );
    }
    o.push_str("</div>");
}

fn timeline(o: &mut String, r: &Report) {
    let t0 = r.events.first().map_or(0, |e| e.ts_ns);
    let mut kinds: Vec<String> = r
        .events
        .iter()
        .map(|e| crate::correlate::kind_name(e.kind))
        .collect();
    kinds.sort();
    kinds.dedup();
    o.push_str("<h2>Timeline</h2><p><input id=\"timeline-filter\" placeholder=\"filter\"> <select id=\"timeline-kind\"><option value=\"\">all kinds</option>");
    for k in &kinds {
        let _ = write!(o, "<option>{}</option>", esc(k));
    }
    o.push_str("</select></p><table id=\"timeline\"><thead><tr><th>#</th><th>ms</th><th>pid</th><th>comm</th><th>kind</th><th>details</th></tr></thead><tbody>");
    for e in r.events.iter().take(MAX_ROWS) {
        let kind = crate::correlate::kind_name(e.kind);
        let details = match &e.data {
            crate::event::EventData::Syscall(s) => serde_json::to_string(s).unwrap_or_default(),
            other => serde_json::to_string(other).unwrap_or_default(),
        };
        let _ = write!(
            o,
            "<tr data-kind=\"{k}\"><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{k}</td><td><code>{}</code></td></tr>",
            e.seq,
            e.ts_ns.saturating_sub(t0) as f64 / 1e6,
            e.pid,
            esc(&e.comm),
            esc(&clip(&details, 400)),
            k = esc(&kind)
        );
    }
    o.push_str("</tbody></table>");
    let more = r.events.len().saturating_sub(MAX_ROWS) as u64 + r.events_omitted;
    if more > 0 {
        let _ = write!(
            o,
            "<p>{more} more events not listed (see the JSON report and the run database).</p>"
        );
    }
}

fn iocs(o: &mut String, r: &Report) {
    o.push_str("<h2>IOCs</h2><div id=\"iocs\"><h3>Network</h3><table><tr><th>op</th><th>address</th><th>count</th><th>failures</th></tr>");
    for n in &r.network {
        let _ = write!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&n.op),
            esc(&n.addr),
            n.count,
            n.failures
        );
    }
    o.push_str("</table><h3>Files changed</h3><ul>");
    for f in r
        .files
        .iter()
        .filter(|f| f.ops.keys().any(|k| k != "open"))
        .take(500)
    {
        let ops: Vec<&str> = f.ops.keys().map(String::as_str).collect();
        let _ = write!(
            o,
            "<li><code>{}</code> {}</li>",
            esc(&f.path),
            esc(&ops.join(" "))
        );
    }
    o.push_str("</ul><h3>Programs executed</h3><ul>");
    let mut exes: Vec<&str> = r
        .processes
        .iter()
        .flat_map(|p| p.execs.iter().map(|x| x.filename.as_str()))
        .collect();
    exes.sort_unstable();
    exes.dedup();
    for x in exes.iter().take(500) {
        let _ = write!(o, "<li><code>{}</code></li>", esc(x));
    }
    o.push_str("</ul></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_nothing_is_fetched() {
        let mut r = Report::empty();
        r.image.reference = "<script>alert(1)</script>\"'&\u{202e}gpj.exe".into();
        let html = render(&r);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script>alert(1)"));
        assert!(!html.contains('\u{202e}'));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\\u{202e}gpj.exe"));
        assert!(html.contains("id=\"killchain-graph\"") && html.contains("<svg") && html.contains("</svg>"));
        assert!(!html.contains("src=\"http") && !html.contains("<link"));
    }
}
