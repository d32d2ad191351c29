//! One self-contained HTML page for an analyst: verdict header, the kill-chain graph as inline SVG
//! (laid out here, no layout engine), the kill-chain steps, the ATT&CK matrix, detections, the
//! process tree, a filterable timeline, IOCs and the sample's output.
//!
//! The page fetches nothing: inline CSS and JS only, and a Content-Security-Policy that forbids every
//! fetch. Everything the sample controls is hostile: every piece of text goes through [`Esc`] (HTML
//! metacharacters as entities, control, bidi and invisible characters shown as `\u{..}` escapes), and
//! the script only filters rows already in the DOM (no report data is ever turned into JS).
//! Every section is bounded, so a report with a million events still gives a page of a few MB.
//!
//! This module is the page (constants, style, script, header); [`text`] escapes and clips,
//! [`select`] chooses what the graph shows, [`layout`] places it, [`svg`] draws it, and
//! [`sections`] writes the rest.

mod layout;
mod sections;
mod select;
mod svg;
#[cfg(test)]
mod tests;
mod text;

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    fmt::{self, Write as _},
};

use self::{layout::*, sections::*, select::*, svg::*, text::*};
use super::{Report, Severity};
use crate::{
    correlate::graph::{EdgeData, EdgeKind, NodeKind},
    event::{Event, EventData, SockAddr},
};

/// Most nodes in the kill-chain drawing.
const MAX_GRAPH: usize = 150;
/// Most processes in the process tree.
const MAX_TREE: usize = 2000;
/// Deepest nesting of the process tree (deeper descendants are listed flat, with their depth).
const MAX_NEST: usize = 48;
/// Most timeline rows.
const MAX_ROWS: usize = 5000;
/// Most detection rows.
const MAX_DETECTIONS: usize = 1000;
/// Most rows in each IOC table.
const MAX_IOC: usize = 1000;
/// Most characters of captured stdout or stderr shown.
const MAX_OUTPUT: usize = 64 * 1024;

/// Content-Security-Policy: nothing may be fetched; inline style and script only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

// Drawing geometry (px).
const NODE_W: usize = 210;
const NODE_H: usize = 46;
const COL_W: usize = 320;
const ROW_H: usize = 60;
const PAD: usize = 16;

const STYLE: &str = r#"
:root{color-scheme:light;--fg:#1d2330;--muted:#5f6b7a;--line:#d8dde4;--bg2:#f5f7fa;--red:#c62828;--amber:#b26a00;--green:#2e7d32;--blue:#2f5d9a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff;margin:0 auto;padding:1.2em 1.6em 3em;max-width:1500px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
code{word-break:break-all}
h1{font-size:1.5em;margin:.2em 0 .4em;display:flex;gap:.6em;align-items:center;flex-wrap:wrap}
h2{font-size:1.2em;border-bottom:2px solid var(--line);padding-bottom:.2em;margin:1.8em 0 .6em}
h3{font-size:1em;margin:1.2em 0 .4em}
a{color:var(--blue)}
.badge{display:inline-block;padding:.15em .7em;border-radius:999px;color:#fff;font-weight:700;letter-spacing:.04em;font-size:.8em}
.v-clean{background:var(--green)}.v-suspicious{background:var(--amber)}.v-malicious{background:var(--red)}.v-unknown{background:#666}
.score{font-size:.8em;color:var(--muted);font-weight:600}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:.3em 1.5em;background:var(--bg2);border:1px solid var(--line);border-radius:8px;padding:.8em 1em;margin:.6em 0}
.facts div{overflow-wrap:anywhere}.facts b{color:var(--muted);font-weight:600;margin-right:.4em}
.alert{border-left:5px solid var(--red);background:#fdecea;padding:.6em 1em;margin:.6em 0;border-radius:4px}
.alert.amber{border-color:var(--amber);background:#fff4e0}
.note{color:var(--muted);font-size:.92em}
nav{margin:.6em 0;font-size:.92em}nav a{margin-right:1em}
table{border-collapse:collapse;width:100%;margin:.3em 0}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--bg2);font-weight:600;position:sticky;top:0}
td.num,th.num{text-align:right;white-space:nowrap}
.sev{font-weight:700;white-space:nowrap}.sev-critical{color:#8e0000}.sev-high{color:var(--red)}.sev-medium{color:var(--amber)}.sev-low{color:var(--blue)}
tr.allowed td{opacity:.6}
.graph-scroll{overflow:auto;max-height:85vh;border:1px solid var(--line);border-radius:8px;background:#fcfdfe}
.graph-scroll svg{display:block}
svg .el{font-size:10px;fill:#4d5663;paint-order:stroke;stroke:#fcfdfe;stroke-width:3px;stroke-linejoin:round}
.legend{display:flex;flex-wrap:wrap;gap:1.2em;font-size:.88em;color:var(--muted);margin:.4em 0}
.legend span::before{content:"";display:inline-block;width:14px;height:10px;margin-right:.35em;border:1.5px solid #888;vertical-align:-1px}
.legend .lp::before{border-radius:4px;border-color:#4a6fa5;background:#eef3fb}.legend .lf::before{background:#f7f7f7}
.legend .le::before{border-radius:50%;border-color:#3c8d50;background:#eef8f0}.legend .lx::before{border-color:var(--red);background:#fdecea}
ol.steps{padding-left:1.6em}ol.steps li{margin:.5em 0}
.tactic-name{font-weight:700}
.lineage{color:var(--muted);font-size:.9em}
.matrix{display:flex;gap:8px;overflow-x:auto;padding-bottom:.4em;align-items:flex-start}
.tactic{flex:0 0 190px;border:1px solid var(--line);border-radius:6px;background:var(--bg2)}
.tactic h3{margin:0;padding:.4em .5em;font-size:.88em;border-bottom:1px solid var(--line)}
.tactic .cells{padding:4px}
.technique{display:block;border:1px solid #e3a5a5;background:#fdecea;border-radius:4px;margin:4px 0;padding:4px 6px;font-size:.86em}
.technique.sev-low{border-color:#9db5d6;background:#eef3fb;color:inherit}.technique.sev-medium{border-color:#e6c27a;background:#fff4e0;color:inherit}
.technique.sev-high,.technique.sev-critical{color:inherit}
.technique .count{float:right;font-weight:700}
.quiet{color:var(--muted);font-size:.85em}
.tree ul{list-style:none;margin:0;padding-left:1.3em;border-left:1px dotted #c5ccd6}
.tree>ul{padding-left:0;border:0}
.tree li{margin:1px 0}
.tree summary{cursor:pointer}
.tree .leaf{padding-left:1.05em;display:inline-block}
.pid{font-family:ui-monospace,monospace;color:var(--muted)}
.flag{color:var(--red);font-weight:700}
.exit{color:var(--muted);font-size:.9em}
.controls{display:flex;gap:.6em;flex-wrap:wrap;align-items:center;margin:.4em 0}
.controls input[type=search]{min-width:18em;padding:.3em .5em}
#timeline td:nth-child(6){word-break:break-all}
#timeline tr.evidence td{background:#fdecea}
pre.out{background:var(--bg2);border:1px solid var(--line);padding:.6em;max-height:30em;overflow:auto;white-space:pre-wrap;word-break:break-all}
footer{margin-top:3em;color:var(--muted);font-size:.85em}
@media print{
body{padding:0;max-width:none;font-size:10pt}
nav,.controls,.no-print{display:none}
.graph-scroll{max-height:none;overflow:visible;border:0}
th{position:static}
tr,.technique,li{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
"#;

/// Installed first: any script error or CSP violation is recorded on `<body data-errors>`.
const GUARD: &str = "(function(){'use strict';\
function note(m){var b=document.body;if(!b){return;}var p=b.dataset.errors;b.dataset.errors=(p?p+' | ':'')+String(m).slice(0,300);}\
window.addEventListener('error',function(e){note('error: '+(e&&e.message));});\
window.addEventListener('unhandledrejection',function(e){note('rejection: '+(e&&e.reason));});\
document.addEventListener('securitypolicyviolation',function(e){note('csp: '+e.violatedDirective+' '+e.blockedURI);});\
})();";

/// Timeline filter, tree expand/collapse, open everything before printing. Filters existing rows only.
const SCRIPT: &str = "(function(){'use strict';\
var f=document.getElementById('timeline-filter'),k=document.getElementById('timeline-kind'),\
ev=document.getElementById('timeline-evidence'),cnt=document.getElementById('timeline-count'),\
tb=document.querySelector('#timeline tbody'),rows=tb?Array.prototype.slice.call(tb.rows):[],texts=null;\
function run(){if(!texts){texts=rows.map(function(r){return r.textContent.toLowerCase();});}\
var q=f?f.value.toLowerCase():'',kind=k?k.value:'',only=ev?ev.checked:false,n=0;\
for(var i=0;i<rows.length;i++){var r=rows[i];\
var ok=(!q||texts[i].indexOf(q)>=0)&&(!kind||r.getAttribute('data-kind')===kind)&&(!only||r.classList.contains('evidence'));\
r.hidden=!ok;if(ok){n++;}}\
if(cnt){cnt.textContent=n+' of '+rows.length+' rows shown';}}\
if(f){f.addEventListener('input',run);}if(k){k.addEventListener('change',run);}if(ev){ev.addEventListener('change',run);}\
function all(open){var d=document.querySelectorAll('#process-tree details');for(var i=0;i<d.length;i++){d[i].open=open;}}\
var ex=document.getElementById('tree-expand'),co=document.getElementById('tree-collapse');\
if(ex){ex.addEventListener('click',function(){all(true);});}if(co){co.addEventListener('click',function(){all(false);});}\
window.addEventListener('beforeprint',function(){var d=document.querySelectorAll('details');for(var i=0;i<d.length;i++){d[i].open=true;}});\
if(cnt){cnt.textContent=rows.length+' rows';}\
document.body.dataset.ready='1';})();";

/// Indexes shared by the sections.
struct Ctx<'a> {
    r: &'a Report,
    /// Parent of each process (index into `processes`): the latest earlier node of its ppid.
    parent: Vec<Option<usize>>,
    /// Children of each process, in order.
    children: Vec<Vec<usize>>,
    /// pid -> latest process node (what detections and kill-chain lineages refer to).
    last_by_pid: HashMap<u32, usize>,
    /// Processes a detection is about.
    flagged: HashSet<usize>,
    /// Event seqs that are evidence of a detection.
    evidence: HashSet<u64>,
    /// Event seqs listed in the timeline (links to them work).
    listed: HashSet<u64>,
    /// Time origin: the first event (or the first process start).
    t0: u64,
}

impl<'a> Ctx<'a> {
    fn new(r: &'a Report) -> Ctx<'a> {
        let n = r.processes.len();
        let mut parent = vec![None; n];
        let mut children = vec![Vec::new(); n];
        let mut latest: HashMap<u32, usize> = HashMap::with_capacity(n);
        for (i, p) in r.processes.iter().enumerate() {
            if p.ppid != 0
                && p.ppid != p.pid
                && let Some(&j) = latest.get(&p.ppid)
            {
                parent[i] = Some(j);
                children[j].push(i);
            }
            latest.insert(p.pid, i);
        }
        let flagged = r
            .detections
            .iter()
            .filter_map(|d| latest.get(&d.process.pid).copied())
            .collect();
        let evidence = r
            .detections
            .iter()
            .flat_map(|d| d.evidence.iter().copied())
            .collect();
        let listed = r.events.iter().take(MAX_ROWS).map(|e| e.seq).collect();
        let t0 = r
            .events
            .first()
            .map(|e| e.ts_ns)
            .or_else(|| r.processes.iter().map(|p| p.start_ns).min())
            .unwrap_or(0);
        Ctx {
            r,
            parent,
            children,
            last_by_pid: latest,
            flagged,
            evidence,
            listed,
            t0,
        }
    }

    /// Milliseconds since the time origin.
    fn rel_ms(&self, ts: u64) -> f64 {
        (i128::from(ts) - i128::from(self.t0)) as f64 / 1e6
    }

    /// `pid name` of the latest process with this pid.
    fn pid_label(&self, pid: u32) -> String {
        match self.last_by_pid.get(&pid).and_then(|&i| self.r.processes.get(i)) {
            Some(p) => format!("{pid} {}", proc_name(p)),
            None => pid.to_string(),
        }
    }
}

/// A process's program name: the name it was run as (`argv[0]`, which tells busybox applets run
/// through `/proc/self/exe` apart), else its executable's file name; `[comm]` when it never executed
/// anything we saw (forked: it runs its parent's program).
fn proc_name(p: &crate::correlate::ProcessNode) -> String {
    if p.execs.is_empty() {
        return format!("[{}]", p.comm);
    }
    match p.argv.first().map(|a| basename(a)).filter(|a| !a.is_empty()) {
        Some(a) => a.to_string(),
        None if !p.exe.is_empty() => basename(&p.exe).to_string(),
        None => format!("[{}]", p.comm),
    }
}

fn proc_end(p: &crate::correlate::ProcessNode) -> String {
    match (p.exit_status, p.exit_signal) {
        (Some(c), _) => format!("exit {c}"),
        (_, Some(s)) => format!("signal {s}"),
        _ => "running at end".into(),
    }
}

/// Renders the report as one self-contained HTML page.
pub fn render(r: &Report) -> String {
    let cx = Ctx::new(r);
    let mut o = String::with_capacity(256 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>sandtrace: {} ({})</title><style>{STYLE}</style></head>\n<body><script>{GUARD}</script>\n",
        Esc(&clip(&r.image.reference, 120)),
        Esc(&r.verdict)
    );
    header(&mut o, &cx);
    o.push_str(
        "<nav class=\"no-print\"><a href=\"#killchain\">Kill chain</a><a href=\"#matrix\">ATT&amp;CK</a>\
<a href=\"#detections\">Detections</a><a href=\"#processes\">Processes</a><a href=\"#events\">Timeline</a>\
<a href=\"#iocs\">IOCs</a><a href=\"#output\">Output</a></nav>\n",
    );
    graph_section(&mut o, &cx);
    steps(&mut o, &cx);
    matrix(&mut o, &cx);
    detections(&mut o, &cx);
    tree(&mut o, &cx);
    timeline(&mut o, &cx);
    iocs(&mut o, &cx);
    output(&mut o, r);
    let _ = write!(
        o,
        "<footer>{} · run <code>{}</code> · ATT&amp;CK {} · generated by sandtrace {} · this page fetches nothing</footer>\n\
<script>{SCRIPT}</script>\n</body></html>\n",
        Esc(&r.schema),
        Esc(&r.run_id),
        Esc(mitre_mapping::ATTACK_VERSION),
        Esc(env!("CARGO_PKG_VERSION"))
    );
    o
}

fn header(o: &mut String, cx: &Ctx<'_>) {
    let r = cx.r;
    let s = &r.sandbox;
    let v = match r.verdict.as_str() {
        "clean" => "v-clean",
        "suspicious" => "v-suspicious",
        "malicious" => "v-malicious",
        _ => "v-unknown",
    };
    let _ = write!(
        o,
        "<header><h1>sandtrace report <span class=\"badge {v}\" id=\"verdict\">{}</span> \
<span class=\"score\">score {}/100</span></h1>",
        Esc(&r.verdict.to_uppercase()),
        r.score
    );
    let ending = if s.timed_out {
        format!("killed at the {} s time limit", s.timeout_s)
    } else if let Some(d) = s.disk_limited {
        format!(
            "killed at the disk limit ({} MiB, {} files written)",
            d.bytes >> 20,
            d.files
        )
    } else if s.oom_killed {
        "killed: out of memory (OOM)".to_string()
    } else {
        format!("exited with code {}", s.exit_code)
    };
    let _ = write!(
        o,
        "<div class=\"facts\">\
<div><b>image</b><code>{}</code></div><div><b>image id</b><code>{}</code></div>\
<div><b>run</b><code>{}</code></div><div><b>time</b>{} – {}</div>\
<div><b>network</b>{}</div><div><b>limits</b>{} s, {} tasks, {} MiB</div>\
<div><b>outcome</b>{}</div><div><b>rules</b>{} loaded, {} probes attached</div>\
<div><b>events</b>{} captured, {} runtime (before the entrypoint, not listed)</div>\
<div><b>processes</b>{}</div><div><b>detections</b>{} ({} techniques)</div>",
        Esc(&r.image.reference),
        Esc(&r.image.id),
        Esc(&r.run_id),
        Esc(&r.started_at),
        Esc(&r.finished_at),
        Esc(&s.network),
        s.timeout_s,
        s.pids_limit,
        s.memory_bytes >> 20,
        Esc(&ending),
        r.stats.rules_loaded,
        r.stats.capture.probes_attached,
        r.stats.events,
        r.stats.runtime_events,
        r.stats.processes,
        r.detections.len(),
        r.techniques.len()
    );
    let lost = r.stats.dropped;
    let _ = write!(
        o,
        "<div><b>lost events</b><span class=\"{}\">{lost}</span></div>",
        if lost > 0 { "flag" } else { "" }
    );
    let omitted = [
        (r.events_omitted, "events not listed"),
        (r.stats.summary_omitted, "file/network actions not summarised"),
        (
            r.stats.detections_omitted,
            "rule matches beyond the detection bound",
        ),
        (r.graph.omitted, "graph relations beyond the node bound"),
        (
            r.stats.processes_abridged,
            "processes listed in short (beyond the first 5,000)",
        ),
    ];
    let parts: Vec<String> = omitted
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    let _ = write!(
        o,
        "<div><b>omitted</b>{}</div>",
        if parts.is_empty() {
            "nothing".to_string()
        } else {
            parts.join(", ")
        }
    );
    if let Some(p) = &r.policy {
        let _ = write!(
            o,
            "<div><b>policy</b><code>{}</code>: {} allowed, {} severities changed</div>",
            Esc(&p.file),
            p.allowed,
            p.changed
        );
    }
    o.push_str("</div>");
    if lost > 0 {
        let c = &r.stats.capture;
        let _ = write!(
            o,
            "<div class=\"alert\" id=\"lost-warning\"><b>Warning: {lost} events were LOST</b> \
(ring buffer full: {}, syscall stash full: {}, undecodable: {}, sinkhole beyond its bound: {}). \
The trace is incomplete: what is missing from this report may still have happened.</div>",
            c.ringbuf_drops,
            c.pending_drops,
            c.undecodable,
            c.sinkhole.map_or(0, |s| s.lost)
        );
    }
    if !r.observation.complete {
        let _ = write!(
            o,
            "<div class=\"alert\" id=\"incomplete-observation\"><b>Incomplete observation:</b> {}. \
The verdict covers only what ran.</div>",
            Esc(&r.observation.reasons.join("; "))
        );
    }
    if r.observation.refused_total > 0 {
        let mut all = r.observation.refused.needed.clone();
        for (k, v) in &r.observation.refused.contained {
            *all.entry(k.clone()).or_default() += v;
        }
        let _ = write!(
            o,
            "<div class=\"alert amber\" id=\"refused\">The sandbox refused {} actions: <code>{}</code></div>",
            r.observation.refused_total,
            Esc(&super::counts_text(&all))
        );
    }
    let new_files: Vec<_> = r
        .dropped_files
        .files
        .iter()
        .filter(|f| f.is_new_content())
        .collect();
    if !new_files.is_empty() {
        let _ = write!(
            o,
            "<details class=\"alert amber\" id=\"dropped-files\"><summary>{} files added or changed on disk</summary><table>\
<tr><th>change</th><th>path</th><th>type</th><th>size</th><th>mode</th><th>sha256</th></tr>",
            new_files.len()
        );
        for f in new_files.iter().take(500) {
            let _ = write!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:04o}</td><td><code>{}</code></td></tr>",
                Esc(&f.change),
                Esc(&f.path),
                Esc(f.content.as_deref().unwrap_or("-")),
                f.size.unwrap_or(0),
                f.mode.unwrap_or(0),
                Esc(f.sha256.as_deref().unwrap_or("-"))
            );
        }
        o.push_str("</table></details>");
    }
    if !r.stats.capture.probes_missing.is_empty() {
        let _ = write!(
            o,
            "<div class=\"alert amber\">Probes not attached on this kernel: <code>{}</code></div>",
            Esc(&r.stats.capture.probes_missing.join(", "))
        );
    }
    if r.stats.rules_loaded == 0 && r.detections.is_empty() {
        o.push_str("<div class=\"alert amber\">No detection rules were loaded: this run is a trace, not a judgement.</div>");
    }
    if let Some(p) = &r.policy {
        for e in &p.expired {
            let _ = write!(
                o,
                "<div class=\"alert amber\">Expired policy entry (no longer applies): {}</div>",
                Esc(e)
            );
        }
    }
    if !r.stats.events_by_kind.is_empty() {
        o.push_str("<details><summary>Events by kind</summary><p class=\"mono\">");
        for (k, n) in &r.stats.events_by_kind {
            let _ = write!(o, "{}&nbsp;{n} &nbsp; ", Esc(k));
        }
        o.push_str("</p></details>");
    }
    o.push_str("</header>\n");
}
