//! One self-contained HTML page for an analyst: verdict header, the kill-chain graph as inline SVG
//! (laid out here, no layout engine), the kill-chain steps, the ATT&CK matrix, detections, the
//! process tree, a filterable timeline, IOCs and the sample's output.
//!
//! The page fetches nothing: inline CSS and JS only, and a Content-Security-Policy that forbids every
//! fetch. Everything the sample controls is hostile: every piece of text goes through [`Esc`] (HTML
//! metacharacters as entities, control, bidi and invisible characters shown as `\u{..}` escapes), and
//! the script only filters rows already in the DOM (no report data is ever turned into JS).
//! Every section is bounded, so a report with a million events still gives a page of a few MB.

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    fmt::{self, Write as _},
};

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

/// Characters shown as `\u{..}` escapes: controls (but newline and tab), bidi controls, line
/// separators and invisible formatting characters, which could hide or reorder what a reader sees.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// Text escaped for HTML text and attribute contexts (`& < > " '` as entities) with [`hidden`]
/// characters shown as escapes.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let rep: Option<&str> = match c {
                '&' => Some("&amp;"),
                '<' => Some("&lt;"),
                '>' => Some("&gt;"),
                '"' => Some("&quot;"),
                '\'' => Some("&#39;"),
                c if hidden(c) => None,
                _ => continue,
            };
            f.write_str(&s[start..i])?;
            match rep {
                Some(r) => f.write_str(r)?,
                None => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            start = i + c.len_utf8();
        }
        f.write_str(&s[start..])
    }
}

/// At most `n` characters of `s`, with `…` when cut.
fn clip(s: &str, n: usize) -> Cow<'_, str> {
    match s.char_indices().nth(n) {
        None => Cow::Borrowed(s),
        Some(_) => {
            let end = s
                .char_indices()
                .nth(n.saturating_sub(1))
                .map_or(s.len(), |(i, _)| i);
            Cow::Owned(format!("{}…", &s[..end]))
        }
    }
}

/// At most `n` characters of the end of `s`, with `…` when cut (for paths).
fn clip_tail(s: &str, n: usize) -> Cow<'_, str> {
    let count = s.chars().count();
    if count <= n {
        return Cow::Borrowed(s);
    }
    let skip = count - n.saturating_sub(1);
    let start = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
    Cow::Owned(format!("…{}", &s[start..]))
}

fn sev_name(s: Severity) -> &'static str {
    s.as_str()
}

fn edge_name(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Forked => "forked",
        EdgeKind::Executed => "executed",
        EdgeKind::Read => "read",
        EdgeKind::Wrote => "wrote",
        EdgeKind::Deleted => "deleted",
        EdgeKind::Renamed => "renamed",
        EdgeKind::Chmod => "chmod",
        EdgeKind::Touched => "touched",
        EdgeKind::Connected => "connected",
        EdgeKind::Bound => "bound",
        EdgeKind::SentTo => "sent to",
        EdgeKind::Accepted => "accepted",
        EdgeKind::Resolved => "resolved",
    }
}

/// `command-and-control` -> `Command and Control`.
fn tactic_title(short: &str) -> String {
    short
        .split('-')
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && w == "and" {
                w.to_string()
            } else {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

fn basename(p: &str) -> &str {
    p.rsplit('/').find(|s| !s.is_empty()).unwrap_or(p)
}

/// A technique id, linked to its attack.mitre.org page when it is in the catalogue (the URL comes
/// from the catalogue, never from the report).
fn technique_link(o: &mut String, id: &str) {
    match mitre_mapping::lookup(id) {
        Some(t) => {
            let _ = write!(
                o,
                "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\" title=\"{}\">{}</a>",
                Esc(t.url),
                Esc(&t.full_name()),
                Esc(id)
            );
        }
        None => {
            let _ = write!(o, "<code>{}</code>", Esc(id));
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// Kill-chain graph

/// A node of the drawing: a process (index into `processes`) or another graph node (index into
/// `graph.nodes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Proc(usize),
    Node(usize),
}

/// One drawn edge (between drawing node ids), with its labels.
#[derive(Debug)]
struct DrawEdge {
    from: usize,
    to: usize,
    labels: Vec<String>,
    /// Both ends are evidence of the same detection.
    evidence: bool,
}

/// What is drawn: nodes, edges, and how many candidates were left out.
#[derive(Debug, Default)]
struct Selection {
    keys: Vec<Key>,
    id: HashMap<Key, usize>,
    edges: Vec<DrawEdge>,
    left_out: usize,
    /// Drawing ids that are evidence.
    evidence: HashSet<usize>,
    /// Kill-chain steps (ascending) each evidence node belongs to.
    evidence_of: HashMap<usize, Vec<usize>>,
    /// Techniques of the detections about a node.
    techniques: HashMap<usize, BTreeSet<String>>,
    tree_mode: bool,
}

impl Selection {
    /// Adds a node if the drawing has room; `seen` counts every candidate.
    fn add(&mut self, k: Key, seen: &mut HashSet<Key>) -> Option<usize> {
        seen.insert(k);
        if let Some(&i) = self.id.get(&k) {
            return Some(i);
        }
        if self.keys.len() >= MAX_GRAPH {
            return None;
        }
        self.keys.push(k);
        self.id.insert(k, self.keys.len() - 1);
        Some(self.keys.len() - 1)
    }
}

/// The drawing key of a graph node (processes by their index in `processes` when consistent).
fn key_of(r: &Report, g: usize) -> Option<Key> {
    match r.graph.nodes.get(g)? {
        NodeKind::Process { pid, index } if r.processes.get(*index).is_some_and(|p| p.pid == *pid) => {
            Some(Key::Proc(*index))
        }
        _ => Some(Key::Node(g)),
    }
}

fn edge_label(d: &EdgeData) -> String {
    let mut s = edge_name(d.kind).to_string();
    if d.count > 1 {
        let _ = write!(s, " ×{}", d.count);
    }
    if d.failures > 0 {
        let _ = write!(s, " ({} failed)", d.failures);
    }
    s
}

/// Chooses the nodes: every detection's process and evidence nodes first, then their ancestors
/// (nearest first, one level at a time for all of them); without detections, the top of the process
/// tree (breadth first).
fn select(cx: &Ctx<'_>) -> Selection {
    let r = cx.r;
    let mut sel = Selection::default();
    let mut seen: HashSet<Key> = HashSet::new();
    // (process of the detection, evidence graph nodes, techniques)
    let seeds: Vec<(Option<usize>, &[usize], &[String])> = if r.kill_chain.is_empty() {
        r.detections
            .iter()
            .map(|d| {
                (
                    cx.last_by_pid.get(&d.process.pid).copied(),
                    &[][..],
                    d.techniques.as_slice(),
                )
            })
            .collect()
    } else {
        r.kill_chain
            .iter()
            .map(|k| {
                (
                    k.lineage.first().and_then(|p| cx.last_by_pid.get(p)).copied(),
                    k.nodes.as_slice(),
                    k.techniques.as_slice(),
                )
            })
            .collect()
    };
    if seeds.is_empty() {
        sel.tree_mode = true;
        let roots: Vec<usize> = (0..r.processes.len())
            .filter(|&i| cx.parent[i].is_none())
            .collect();
        // Breadth first: the top of the tree.
        let mut queue: std::collections::VecDeque<usize> = roots.into();
        while let Some(i) = queue.pop_front() {
            if sel.add(Key::Proc(i), &mut seen).is_none() {
                break;
            }
            queue.extend(cx.children[i].iter().copied());
        }
        sel.left_out = r.processes.len().saturating_sub(sel.keys.len());
    } else {
        let mut procs_of_seed: Vec<Vec<usize>> = Vec::with_capacity(seeds.len());
        for (step, (proc, nodes, techniques)) in seeds.iter().enumerate() {
            let mut procs = Vec::new();
            if let Some(p) = *proc {
                procs.push(p);
                if let Some(id) = sel.add(Key::Proc(p), &mut seen) {
                    sel.evidence.insert(id);
                    sel.evidence_of.entry(id).or_default().push(step);
                    sel.techniques
                        .entry(id)
                        .or_default()
                        .extend(techniques.iter().cloned());
                }
            }
            for &g in *nodes {
                let Some(k) = key_of(r, g) else { continue };
                if let Key::Proc(p) = k {
                    procs.push(p);
                }
                if let Some(id) = sel.add(k, &mut seen) {
                    sel.evidence.insert(id);
                    sel.evidence_of.entry(id).or_default().push(step);
                }
            }
            procs_of_seed.push(procs);
        }
        // Ancestors, one level at a time for every detection, nearest first; a walk stops where
        // another one already went (each process is walked once: O(processes)).
        let mut cursors: Vec<usize> = procs_of_seed.into_iter().flatten().collect();
        while !cursors.is_empty() {
            cursors.retain_mut(|c| match cx.parent.get(*c).copied().flatten() {
                Some(a) if !seen.contains(&Key::Proc(a)) => {
                    sel.add(Key::Proc(a), &mut seen);
                    *c = a;
                    true
                }
                _ => false,
            });
        }
        sel.left_out = seen.len().saturating_sub(sel.keys.len());
    }
    // Edges of the run graph between drawn nodes, merged per pair.
    let mut pairs: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for (a, b, d) in &r.graph.edges {
        let (Some(ka), Some(kb)) = (key_of(r, *a), key_of(r, *b)) else {
            continue;
        };
        if let (Some(&ia), Some(&ib)) = (sel.id.get(&ka), sel.id.get(&kb))
            && ia != ib
        {
            let labels = pairs.entry((ia, ib)).or_default();
            if labels.len() < 3 {
                labels.push(edge_label(d));
            } else if labels.len() == 3 {
                labels.push("…".into());
            }
        }
    }
    // Parent -> child for drawn processes the graph does not link already.
    for (i, k) in sel.keys.iter().enumerate() {
        if let Key::Proc(p) = *k
            && let Some(parent) = cx.parent[p]
            && let Some(&ip) = sel.id.get(&Key::Proc(parent))
        {
            pairs.entry((ip, i)).or_insert_with(|| vec!["forked".into()]);
        }
    }
    let shared_step = |a: usize, b: usize| {
        let (Some(x), Some(y)) = (sel.evidence_of.get(&a), sel.evidence_of.get(&b)) else {
            return false;
        };
        // Both ascending: a merge walk.
        let (mut i, mut j) = (0, 0);
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Equal => return true,
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
            }
        }
        false
    };
    let edges: Vec<DrawEdge> = pairs
        .into_iter()
        .map(|((from, to), labels)| DrawEdge {
            from,
            to,
            labels,
            evidence: shared_step(from, to),
        })
        .collect();
    sel.edges = edges;
    sel
}

/// Layer of each drawn node: processes by depth among the drawn processes, other nodes one layer
/// right of the deepest process linked to them.
fn layers(cx: &Ctx<'_>, sel: &Selection) -> Vec<usize> {
    let n = sel.keys.len();
    let mut layer = vec![0usize; n];
    let mut procs: Vec<(usize, usize)> = sel
        .keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| match k {
            Key::Proc(p) => Some((*p, i)),
            Key::Node(_) => None,
        })
        .collect();
    // A parent's index is below its children's: in index order, parents come first.
    procs.sort_unstable();
    for (p, i) in procs {
        layer[i] = cx.parent[p]
            .and_then(|q| sel.id.get(&Key::Proc(q)))
            .map_or(0, |&j| layer[j] + 1);
    }
    let mut other: Vec<Option<usize>> = vec![None; n];
    for e in &sel.edges {
        for (a, b) in [(e.from, e.to), (e.to, e.from)] {
            if matches!(sel.keys[a], Key::Proc(_)) && matches!(sel.keys[b], Key::Node(_)) {
                let l = layer[a] + 1;
                other[b] = Some(other[b].map_or(l, |x: usize| x.max(l)));
            }
        }
    }
    for (i, l) in other.into_iter().enumerate() {
        if let Some(l) = l {
            layer[i] = l;
        }
    }
    layer
}

/// Node positions (top-left corners), the drawing size, and for each edge the points (centre left
/// of a column, height) it passes through on its way across intermediate columns.
#[derive(Debug)]
struct Placed {
    x: Vec<usize>,
    y: Vec<usize>,
    width: usize,
    height: usize,
    routes: Vec<Vec<(usize, usize)>>,
}

/// Height of the slot a long edge takes in a column it crosses.
const DUMMY_H: usize = 8;
/// Vertical gap between slots.
const GAP: usize = ROW_H - NODE_H;
/// Most dummy nodes (bends of long edges); beyond it long edges are drawn straight across.
const MAX_DUMMIES: usize = 4000;

/// Layered (Sugiyama-style) layout. Columns by `layer`; an edge spanning several columns gets a
/// dummy node in each column it crosses, so it is routed through the gaps. Within a column, nodes
/// are ordered by the barycenter of their neighbours in the previous column (sweeping left to
/// right, right to left, left to right) to reduce crossings, then placed at the mean height of their
/// left neighbours when there is room, else just below the previous node. O((V + E) log V) for V
/// nodes and dummies.
fn layout(layer: &[usize], edges: &[(usize, usize)]) -> Placed {
    let n = layer.len();
    let mut lay: Vec<usize> = layer.to_vec();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for &(a, b) in edges {
        if a >= n || b >= n {
            chains.push(Vec::new());
            continue;
        }
        let mut chain = vec![a];
        if layer[b] > layer[a] + 1 && lay.len() - n + (layer[b] - layer[a] - 1) <= MAX_DUMMIES {
            for l in layer[a] + 1..layer[b] {
                lay.push(l);
                chain.push(lay.len() - 1);
            }
        }
        chain.push(b);
        chains.push(chain);
    }
    let total = lay.len();
    let height_of = |v: usize| if v < n { NODE_H } else { DUMMY_H };
    let nl = lay.iter().max().map_or(1, |m| m + 1);
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); nl];
    for (v, &l) in lay.iter().enumerate() {
        cols[l].push(v);
    }
    let mut lower: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut upper: Vec<Vec<usize>> = vec![Vec::new(); total];
    for chain in &chains {
        for w in chain.windows(2) {
            let (a, b) = (w[0], w[1]);
            if lay[a] < lay[b] {
                lower[b].push(a);
                upper[a].push(b);
            } else if lay[b] < lay[a] {
                lower[a].push(b);
                upper[b].push(a);
            }
        }
    }
    let mut pos = vec![0usize; total];
    for col in &cols {
        for (i, &v) in col.iter().enumerate() {
            pos[v] = i;
        }
    }
    let sweep = |col: &mut Vec<usize>, pos: &mut [usize], nbrs: &[Vec<usize>]| {
        let mut keyed: Vec<(f64, usize, usize)> = col
            .iter()
            .map(|&v| {
                let ns = &nbrs[v];
                let b = if ns.is_empty() {
                    pos[v] as f64
                } else {
                    ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
                };
                (b, pos[v], v)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        col.clear();
        for (i, (_, _, v)) in keyed.into_iter().enumerate() {
            pos[v] = i;
            col.push(v);
        }
    };
    for col in cols.iter_mut().skip(1) {
        sweep(col, &mut pos, &lower);
    }
    for col in cols.iter_mut().rev().skip(1) {
        sweep(col, &mut pos, &upper);
    }
    for col in cols.iter_mut().skip(1) {
        sweep(col, &mut pos, &lower);
    }
    // Vertical placement by centres.
    let mut x = vec![0usize; total];
    let mut cy = vec![0usize; total];
    let mut bottom = NODE_H;
    for (l, col) in cols.iter().enumerate() {
        let mut next = 0usize;
        for &v in col {
            let h = height_of(v);
            let top = if lower[v].is_empty() {
                next
            } else {
                let want = lower[v].iter().map(|&u| cy[u]).sum::<usize>() / lower[v].len();
                want.saturating_sub(h / 2).max(next)
            };
            x[v] = PAD + l * COL_W;
            cy[v] = top + h / 2;
            next = top + h + GAP;
            bottom = bottom.max(top + h);
        }
    }
    let routes = chains
        .iter()
        .map(|c| {
            c.iter()
                .filter(|&&v| v >= n)
                .map(|&v| (x[v], PAD + cy[v]))
                .collect()
        })
        .collect();
    Placed {
        y: (0..n).map(|v| PAD + cy[v] - NODE_H / 2).collect(),
        x: x[..n].to_vec(),
        width: 2 * PAD + (nl - 1) * COL_W + NODE_W,
        height: 2 * PAD + bottom,
        routes,
    }
}

/// SVG path of an edge from the right of `a` to the left of `b` through `route`, and the point of
/// its label (on the last curve, next to the target).
fn edge_path(pl: &Placed, a: usize, b: usize, route: &[(usize, usize)]) -> (String, usize, usize) {
    let mid = |v: usize| pl.y[v] + NODE_H / 2;
    let mut d = String::new();
    let (mut px, mut py) = (pl.x[a] + NODE_W, mid(a));
    let _ = write!(d, "M{px},{py}");
    let curve = |d: &mut String, (x1, y1): (usize, usize), (x2, y2): (usize, usize)| {
        let dx = (x2.saturating_sub(x1) / 2).max(30);
        let _ = write!(d, " C{},{y1} {},{y2} {x2},{y2}", x1 + dx, x2.saturating_sub(dx));
        (
            (x1 + 3 * (x1 + dx) + 3 * x2.saturating_sub(dx) + x2) / 8,
            (y1 + y2) / 2,
        )
    };
    for &(x, y) in route {
        curve(&mut d, (px, py), (x, y));
        let _ = write!(d, " L{},{y}", x + NODE_W);
        (px, py) = (x + NODE_W, y);
    }
    if pl.x[b] > px {
        let (lx, ly) = curve(&mut d, (px, py), (pl.x[b], mid(b)));
        (d, lx, ly)
    } else {
        // Same column or leftwards: a loop on the right side.
        let (x2, y2) = (pl.x[b] + NODE_W, mid(b));
        let _ = write!(d, " C{},{py} {},{y2} {x2},{y2}", px + 70, x2 + 70);
        (d, px.max(x2) + 52, (py + y2) / 2)
    }
}

/// Text lines and tooltip of a drawn node.
fn node_text(cx: &Ctx<'_>, k: Key) -> (String, String, String, String) {
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

fn graph_section(o: &mut String, cx: &Ctx<'_>) {
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

fn steps(o: &mut String, cx: &Ctx<'_>) {
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

fn matrix(o: &mut String, cx: &Ctx<'_>) {
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
    let mut columns: Vec<(String, Vec<&super::TechniqueEntry>)> = Vec::new();
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

fn detections(o: &mut String, cx: &Ctx<'_>) {
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
fn tree_line(o: &mut String, cx: &Ctx<'_>, i: usize, depth: usize) {
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

fn tree(o: &mut String, cx: &Ctx<'_>) {
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

fn sockaddr(a: &SockAddr) -> String {
    match a {
        SockAddr::Inet { address, port } if address.contains(':') => format!("[{address}]:{port}"),
        SockAddr::Inet { address, port } => format!("{address}:{port}"),
        SockAddr::Unix { path } => format!("unix:{path}"),
        SockAddr::Other { number } => format!("family {number}"),
    }
}

/// A readable summary of what an event carries.
fn event_details(e: &Event) -> String {
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
        } => {
            let _ = write!(
                s,
                "{filename} argv: {}{}",
                argv.join(" "),
                if *argv_truncated { " (truncated)" } else { "" }
            );
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

fn timeline(o: &mut String, cx: &Ctx<'_>) {
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
fn split_port(addr: &str) -> (&str, &str) {
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

fn iocs(o: &mut String, cx: &Ctx<'_>) {
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

fn output(o: &mut String, r: &Report) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Detection, DetectionProcess, KillChainStep};
    use sandtrace_common::EventKind;

    const HOSTILE: &str = "<script>alert(1)</script>\"'&";
    const BIDI: &str = "\u{202e}gpj.exe";

    fn demo() -> Report {
        serde_json::from_str(include_str!("../../tests/data/demo-report.json")).expect("demo report")
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
}
