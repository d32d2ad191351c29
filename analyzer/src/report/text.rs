//! A terminal summary of a report, readable in ten seconds.

use std::{collections::HashMap, fmt::Write as _};

use super::{Report, Severity};
use crate::correlate::ProcessNode;

/// Most file paths listed.
const MAX_FILES: usize = 40;
/// Most detections listed.
const MAX_DETECTIONS: usize = 25;
/// Most processes listed.
const MAX_PROCESSES: usize = 60;

/// ANSI styles, empty when colour is off.
struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn severity(&self, sev: Severity) -> String {
        let name = format!("{sev:?}").to_lowercase();
        let padded = format!("{name:<8}");
        match sev {
            Severity::Info => self.paint("2", &padded),
            Severity::Low => self.paint("36", &padded),
            Severity::Medium => self.paint("33", &padded),
            Severity::High => self.paint("31", &padded),
            Severity::Critical => self.paint("1;31", &padded),
        }
    }
    fn verdict(&self, v: &str) -> String {
        let up = v.to_uppercase();
        match v {
            "clean" => self.paint("1;32", &up),
            "suspicious" => self.paint("1;33", &up),
            _ => self.paint("1;31", &up),
        }
    }
}

/// Renders the report as plain text.
pub fn render(r: &Report) -> String {
    render_styled(r, false)
}

/// Renders the report as text, with ANSI colour when `color` (a terminal).
pub fn render_styled(r: &Report, color: bool) -> String {
    let st = Style { on: color };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "sandtrace run {}  verdict: {} (score {})",
        r.run_id,
        st.verdict(&r.verdict),
        r.score
    );
    let _ = writeln!(
        o,
        "image     {} ({})",
        safe(&r.image.reference),
        short_id(&r.image.id)
    );
    let s = &r.sandbox;
    let ending = if s.timed_out {
        format!("killed at the {} s time limit", s.timeout_s)
    } else if let Some(d) = s.disk_limited {
        format!(
            "killed at the disk limit ({} MiB, {} files written)",
            d.bytes >> 20,
            d.files
        )
    } else if s.oom_killed {
        "killed: out of memory".to_string()
    } else {
        format!("exited with {}", s.exit_code)
    };
    let _ = writeln!(
        o,
        "sandbox   profile={} network={} limit={}s  ran {:.1} s, {ending}",
        if s.profile.is_empty() {
            "default"
        } else {
            &s.profile
        },
        s.network,
        s.timeout_s,
        s.ran_ms as f64 / 1000.0
    );
    let obs = &r.observation;
    if !obs.complete {
        let _ = writeln!(
            o,
            "{}",
            st.paint(
                "1;33",
                &format!(
                    "INCOMPLETE  observation: {} (the verdict covers only what ran)",
                    safe(&obs.reasons.join("; "))
                )
            )
        );
    }
    if obs.refused_total > 0 {
        let mut all = obs.refused.needed.clone();
        for (k, v) in &obs.refused.contained {
            *all.entry(k.clone()).or_default() += v;
        }
        let _ = writeln!(
            o,
            "refused   the sandbox refused {} action{}: {}",
            obs.refused_total,
            if obs.refused_total == 1 { "" } else { "s" },
            super::counts_text(&all)
        );
    }
    let stats = &r.stats;
    let _ = writeln!(
        o,
        "captured  {} events, {} processes, {} lost{}",
        stats.events,
        stats.processes,
        stats.dropped,
        if stats.dropped > 0 {
            st.paint("1;33", "  (WARNING: events were lost; the trace is incomplete)")
        } else {
            String::new()
        }
    );
    let t = &stats.timings;
    if t.total_ms > 0 {
        let s = |ms: u64| format!("{:.2}", ms as f64 / 1000.0);
        let _ = writeln!(
            o,
            "timings   {} s: prepare {}, probes {}, container {}, sample {}, changes {}, drain {}, analysis {}, store {}, detach {}",
            s(t.total_ms),
            s(t.prepare_ms),
            s(t.probes_ms),
            s(t.container_ms),
            s(t.sample_ms),
            s(t.changes_ms),
            s(t.drain_ms),
            s(t.analysis_ms),
            s(t.store_ms),
            s(t.detach_ms)
        );
    }
    if stats.processes_abridged > 0 {
        let _ = writeln!(
            o,
            "processes {} listed in short beyond the first {} (program and first argument; those with detections in full)",
            stats.processes_abridged,
            super::FULL_PROCESSES
        );
    }
    if let Some(s) = stats.capture.sinkhole {
        let _ = writeln!(
            o,
            "sinkhole  {} events, {} lost beyond its bound, {} connections closed early for room, {} names without an address of their own",
            s.events, s.lost, s.closed_early, s.names_unmapped
        );
    }
    if !stats.capture.probes_missing.is_empty() {
        let _ = writeln!(
            o,
            "probes    not attached on this kernel: {}",
            stats.capture.probes_missing.join(", ")
        );
    }
    if stats.rules_loaded == 0 {
        let _ = writeln!(o, "rules     none loaded: this run is a trace, not a judgement");
    }
    if let Some(p) = &r.policy {
        let _ = writeln!(
            o,
            "policy    {}: {} allowed, {} severities changed",
            safe(&p.file),
            p.allowed,
            p.changed
        );
        for e in &p.expired {
            let _ = writeln!(o, "          {} {}", st.paint("33", "expired:"), safe(e));
        }
    }
    if !r.techniques.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("ATT&CK techniques by tactic"));
        let mut by_tactic: Vec<(&str, Vec<&super::TechniqueEntry>)> = Vec::new();
        for t in &r.techniques {
            let tactic = t.tactics.first().map_or("other", String::as_str);
            match by_tactic.iter_mut().find(|(name, _)| *name == tactic) {
                Some((_, v)) => v.push(t),
                None => by_tactic.push((tactic, vec![t])),
            }
        }
        for (tactic, ts) in by_tactic {
            let _ = writeln!(o, "  {}", st.bold(tactic));
            for t in ts {
                let _ = writeln!(o, "    {:<10} {} (x{})", t.id, t.name, t.detections);
            }
        }
    }
    if !r.detections.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("Detections (most severe first)"));
        let mut sorted: Vec<_> = r.detections.iter().collect();
        sorted.sort_by_key(|d| (d.allowed.is_some(), std::cmp::Reverse(d.severity)));
        for d in sorted.iter().take(MAX_DETECTIONS) {
            let allowed = d
                .allowed
                .as_ref()
                .map(|a| st.dim(&format!("  [allowed: {}]", safe(&a.reason))))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {} {:<32} {}{allowed}",
                st.severity(d.severity),
                d.rule,
                clip(&d.message, 110)
            );
            let mut evidence: Vec<String> = d.evidence.iter().take(8).map(|e| format!("#{e}")).collect();
            if d.evidence.len() > 8 {
                evidence.push(format!("+{}", d.evidence.len() - 8));
            }
            let _ = writeln!(
                o,
                "           {}",
                st.dim(&format!(
                    "{}  pid {} {}  events {}",
                    d.techniques.join(","),
                    d.process.pid,
                    clip(&d.process.argv.join(" "), 60),
                    evidence.join(" ")
                ))
            );
        }
        if sorted.len() > MAX_DETECTIONS {
            let _ = writeln!(
                o,
                "  ... {} more (see --format json)",
                sorted.len() - MAX_DETECTIONS
            );
        }
    }

    let _ = writeln!(o, "\nProcesses");
    let mut children: HashMap<u32, Vec<&ProcessNode>> = HashMap::new();
    let pids: std::collections::HashSet<u32> = r.processes.iter().map(|p| p.pid).collect();
    let mut roots = Vec::new();
    for p in &r.processes {
        if pids.contains(&p.ppid) && p.ppid != p.pid {
            children.entry(p.ppid).or_default().push(p);
        } else {
            roots.push(p);
        }
    }
    let mut listed = 0;
    let mut stack: Vec<(&ProcessNode, usize)> = roots.into_iter().rev().map(|p| (p, 0)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((p, depth)) = stack.pop() {
        if !seen.insert(std::ptr::from_ref(p)) {
            continue;
        }
        if listed == MAX_PROCESSES {
            let _ = writeln!(o, "  ... {} more", r.processes.len() - listed);
            break;
        }
        listed += 1;
        let end = match (p.exit_status, p.exit_signal) {
            (Some(c), _) => format!("exit {c}"),
            (_, Some(sig)) => format!("signal {sig}"),
            _ => "running at end".to_string(),
        };
        let mut cmd = if p.argv.is_empty() {
            format!("[{}]", p.comm)
        } else if p.execs.is_empty() && p.argv.first().is_none_or(|a0| !a0.ends_with(p.comm.as_str())) {
            // Forked without exec (e.g. a busybox applet run by the shell): its name is its comm.
            format!("[{}] forked from: {}", p.comm, clip(&p.argv.join(" "), 80))
        } else {
            clip(&p.first_argv().join(" "), 100)
        };
        if p.execs.len() > 1 {
            let later: Vec<String> = p.execs[1..]
                .iter()
                .take(4)
                .map(|x| clip(&x.argv.join(" "), 40))
                .collect();
            let more = p.execs.len().saturating_sub(5);
            cmd.push_str(&st.dim(&format!(
                "  then: {}{}",
                later.join(" → "),
                if more > 0 {
                    format!(" (+{more})")
                } else {
                    String::new()
                }
            )));
        }
        let _ = writeln!(
            o,
            "  {:indent$}{} {}  ({end})",
            "",
            p.pid,
            cmd,
            indent = depth * 2
        );
        if let Some(kids) = children.get(&p.pid) {
            for k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }

    if !r.files.is_empty() {
        let _ = writeln!(o, "\nFiles ({} paths)", r.files.len());
        let mut files: Vec<_> = r.files.iter().collect();
        // Writes and changes first, then reads.
        files.sort_by_key(|f| (f.ops.keys().all(|k| k == "open"), f.path.clone()));
        for f in files.iter().take(MAX_FILES) {
            let ops: Vec<String> = f
                .ops
                .iter()
                .map(|(k, v)| if *v > 1 { format!("{k}x{v}") } else { k.clone() })
                .collect();
            let fail = if f.failures > 0 {
                format!("  ({} failed)", f.failures)
            } else {
                String::new()
            };
            let _ = writeln!(o, "  {:<48} {}{fail}", clip(&f.path, 48), ops.join(" "));
        }
        if files.len() > MAX_FILES {
            let _ = writeln!(o, "  ... {} more (see --format json)", files.len() - MAX_FILES);
        }
    }
    if !r.network.is_empty() {
        let _ = writeln!(o, "\nNetwork");
        for n in &r.network {
            let err = n
                .last_error
                .as_deref()
                .map(|e| format!("  ({} failed: {e})", n.failures))
                .unwrap_or_default();
            let pending = if n.in_progress > 0 {
                format!("  ({} non-blocking, completed in the background)", n.in_progress)
            } else {
                String::new()
            };
            let _ = writeln!(o, "  {:<8} {} x{}{err}{pending}", n.op, safe(&n.addr), n.count);
        }
    }
    let dropped = &r.dropped_files;
    let new_files: Vec<_> = dropped.files.iter().filter(|f| f.is_new_content()).collect();
    if !dropped.files.is_empty() || dropped.error.is_some() {
        let _ = writeln!(
            o,
            "\nLeft on disk ({} changes, {} added or changed files{})",
            dropped.files.len() as u64 + dropped.omitted,
            new_files.len(),
            if dropped.omitted > 0 {
                format!(", {} not listed", dropped.omitted)
            } else {
                String::new()
            }
        );
        if let Some(e) = &dropped.error {
            let _ = writeln!(
                o,
                "  {}",
                st.paint("33", &format!("could not be read: {}", safe(e)))
            );
        }
        for f in new_files.iter().take(MAX_FILES) {
            let _ = writeln!(
                o,
                "  {:<7} {:<48} {:<7} {:>9} {:04o}  {}",
                f.change,
                clip(&f.path, 48),
                f.content.as_deref().unwrap_or("-"),
                f.size.map_or_else(|| "-".into(), |s| s.to_string()),
                f.mode.unwrap_or(0),
                f.sha256
                    .as_deref()
                    .map_or("(not hashed)", |h| &h[..h.len().min(16)])
            );
        }
    }
    if !s.stdout.is_empty() || !s.stderr.is_empty() {
        let _ = writeln!(o, "\nOutput");
        for line in s.stdout.lines().take(10) {
            let _ = writeln!(o, "  out| {}", clip(line, 120));
        }
        for line in s.stderr.lines().take(10) {
            let _ = writeln!(o, "  err| {}", clip(line, 120));
        }
    }
    o
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// Escapes what a terminal would interpret (control characters, bidi overrides) in text the sample
/// controls, so its output cannot move the cursor, recolour or hide parts of the report.
fn safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn clip(s: &str, max: usize) -> String {
    let s = safe(s);
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}
