//! `cargo xtask bench rules`: events per second through correlation and the compiled rule set, on a
//! recorded event stream (benches/data/recorded-stream.jsonl, real runs of corpus images) replayed
//! to 1,000,000 events, with 0, 10, 20, 40 and all shipped rules. No root needed.

use std::{sync::Arc, time::Instant};

use sandtrace::{
    capture::EventSink,
    correlate::RunTrace,
    detect::RuleSet,
    event::{Event, EventData},
};

const TARGET_EVENTS: usize = 1_000_000;

fn recorded() -> Vec<Event> {
    let text = include_str!("data/recorded-stream.jsonl");
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The recorded stream replayed with fresh pids each round, so every round is new processes.
fn stream(base: &[Event]) -> Vec<Event> {
    let mut out = Vec::with_capacity(TARGET_EVENTS);
    let mut round = 0u32;
    while out.len() < TARGET_EVENTS {
        let shift = round * 1_000_000;
        for e in base {
            if out.len() == TARGET_EVENTS {
                break;
            }
            let mut e = e.clone();
            e.seq = out.len() as u64;
            e.ts_ns += u64::from(round) * 60_000_000_000;
            e.pid += shift;
            e.tid += shift;
            e.ppid += shift;
            if let EventData::Fork {
                child_pid, child_tid, ..
            } = &mut e.data
            {
                *child_pid += shift;
                *child_tid += shift;
            }
            out.push(e);
        }
        round += 1;
    }
    out
}

fn run(events: &[Event], rules: Arc<RuleSet>) -> (f64, usize) {
    let mut trace = RunTrace::with_rules("/", 1000, rules);
    let t = Instant::now();
    for e in events {
        trace.event(e.clone());
    }
    let s = t.elapsed().as_secs_f64();
    (s, trace.detections().len())
}

fn main() {
    let base = recorded();
    assert!(!base.is_empty(), "recorded stream missing");
    let events = stream(&base);
    let all = RuleSet::bundled().expect("shipped rules");
    let total = all.rules().len();
    // Cloning the events is part of every measurement; measure it alone to subtract it.
    let t = Instant::now();
    let mut n = 0usize;
    for e in &events {
        n += std::hint::black_box(e.clone()).comm.len();
    }
    let clone_s = t.elapsed().as_secs_f64();
    std::hint::black_box(n);
    println!(
        "Stream: {} recorded events ({} runs of corpus images) replayed to {} events; one core.\n",
        base.len(),
        4,
        events.len()
    );
    println!("| rules | seconds | events/s | detections |\n|---|---|---|---|");
    for count in [0, 10, 20, 40, total] {
        if count > total {
            continue;
        }
        let set = if count == total {
            RuleSet::bundled()
        } else {
            RuleSet::bundled_subset(count)
        }
        .expect("rules");
        let (s, d) = run(&events, Arc::new(set));
        let s = (s - clone_s).max(1e-9);
        println!("| {count} | {s:.3} | {:.0} | {d} |", events.len() as f64 / s);
    }
}
