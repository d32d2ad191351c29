//! A terminal summary of a report, readable in ten seconds.

use std::{collections::HashMap, fmt::Write as _};

use super::Report;
use crate::correlate::ProcessNode;

/// Most file paths listed.
const MAX_FILES: usize = 40;
/// Most detections listed.
const MAX_DETECTIONS: usize = 25;
/// Most processes listed.
const MAX_PROCESSES: usize = 60;

/// Renders the report as text.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "sandtrace run {}  verdict: {} (score {})",
        r.run_id,
        r.verdict.to_uppercase(),
        r.score
    );
    let _ = writeln!(o, "image     {} ({})", r.image.reference, short_id(&r.image.id));
    let s = &r.sandbox;
    let ending = if s.timed_out {
        format!("killed at the {} s time limit", s.timeout_s)
    } else if s.oom_killed {
        "killed: out of memory".to_string()
    } else {
        format!("exited with {}", s.exit_code)
    };
    let _ = writeln!(
        o,
        "sandbox   network={} limit={}s  {ending}",
        s.network, s.timeout_s
    );
    let st = &r.stats;
    let _ = writeln!(
        o,
        "captured  {} events, {} processes, {} lost{}",
        st.events,
        st.processes,
        st.dropped,
        if st.dropped > 0 {
            "  (WARNING: events were lost; the trace is incomplete)"
        } else {
            ""
        }
    );
    if !st.capture.probes_missing.is_empty() {
        let _ = writeln!(
            o,
            "probes    not attached on this kernel: {}",
            st.capture.probes_missing.join(", ")
        );
    }
    if st.rules_loaded == 0 {
        let _ = writeln!(o, "rules     none loaded: this run is a trace, not a judgement");
    }
    if !r.techniques.is_empty() {
        let _ = writeln!(o, "\nTechniques (kill-chain order)");
        for t in &r.techniques {
            let _ = writeln!(
                o,
                "  {:<22} {:<10} {} (x{})",
                t.tactics.join(","),
                t.id,
                t.name,
                t.detections
            );
        }
    }
    if !r.detections.is_empty() {
        let _ = writeln!(o, "\nDetections");
        let mut sorted: Vec<_> = r.detections.iter().collect();
        sorted.sort_by_key(|d| std::cmp::Reverse(d.severity));
        for d in sorted.iter().take(MAX_DETECTIONS) {
            let sev = format!("{:?}", d.severity).to_lowercase();
            let _ = writeln!(
                o,
                "  {sev:<8} {:<32} pid {:<7} {}",
                d.rule,
                d.process.pid,
                clip(&d.message, 110)
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
        let cmd = if p.argv.is_empty() {
            format!("[{}]", p.comm)
        } else if p.execs.is_empty() && p.argv.first().is_none_or(|a0| !a0.ends_with(p.comm.as_str())) {
            // Forked without exec (e.g. a busybox applet run by the shell): its name is its comm.
            format!("[{}] forked from: {}", p.comm, clip(&p.argv.join(" "), 80))
        } else {
            clip(&p.argv.join(" "), 100)
        };
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
            let _ = writeln!(o, "  {:<8} {} x{}{err}", n.op, n.addr, n.count);
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

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}
