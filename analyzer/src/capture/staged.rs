//! The analysis stage behind the ring-buffer reader: the reader only drains and decodes, and hands
//! batches of events through a bounded queue to a thread of their own (correlation, rules, the
//! store tap), which runs at a lower priority than the sample. When the queue is full the reader
//! waits, the ring buffer fills, and the kernel counts what it could not write: back-pressure ends
//! in a counted loss, never in an unbounded queue.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{SyncSender, sync_channel},
    },
    thread::JoinHandle,
};

use super::EventSink;
use crate::event::{DecodeError, Event};

/// Events handed over at once.
const BATCH: usize = 512;
/// Batches in flight between the reader and the analysis (beyond, the reader waits).
const QUEUE: usize = 128;
/// Niceness of the analysis thread: the sample keeps the CPU it needs.
const NICE: i32 = 5;
/// Whether the analysis runs only on CPU time nothing else wants (SCHED_IDLE) instead: measured
/// slower for the sample (1.41x against 1.26x with nice 5, `cargo xtask bench capture --runs 3`).
const IDLE: bool = false;

enum Item {
    Event(Event),
    Undecodable(DecodeError),
}

/// An [`EventSink`] that runs another one on its own thread, behind a bounded queue.
pub struct Staged<S: EventSink> {
    tx: Option<SyncSender<Vec<Item>>>,
    batch: Vec<Item>,
    worker: Option<JoinHandle<S>>,
    waits: Arc<AtomicU64>,
}

impl<S: EventSink> std::fmt::Debug for Staged<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("queued", &self.batch.len())
            .finish_non_exhaustive()
    }
}

impl<S: EventSink> Staged<S> {
    /// Starts the analysis thread around `sink`.
    pub fn start(sink: S) -> std::io::Result<Staged<S>> {
        let (tx, rx) = sync_channel::<Vec<Item>>(QUEUE);
        let worker = std::thread::Builder::new()
            .name("sandtrace-analysis".into())
            .spawn(move || {
                lower_priority();
                let mut sink = sink;
                while let Ok(batch) = rx.recv() {
                    for item in batch {
                        match item {
                            Item::Event(e) => sink.event(e),
                            Item::Undecodable(e) => sink.undecodable(e),
                        }
                    }
                }
                sink
            })?;
        Ok(Staged {
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            worker: Some(worker),
            waits: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Times the reader found the queue full and waited (each wait leaves events in the ring buffer).
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let Some(tx) = &self.tx else { return };
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(batch)) => {
                self.waits.fetch_add(1, Ordering::Relaxed);
                if tx.send(batch).is_err() {
                    self.tx = None;
                }
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => self.tx = None,
        }
    }

    /// Hands over what is left, waits for the analysis to drain it, and returns the sink.
    pub fn finish(mut self) -> Result<S, String> {
        self.flush();
        self.tx = None;
        self.worker
            .take()
            .ok_or_else(|| "analysis already finished".to_string())?
            .join()
            .map_err(|_| "the analysis thread panicked".to_string())
    }
}

impl<S: EventSink> EventSink for Staged<S> {
    fn event(&mut self, event: Event) {
        self.batch.push(Item::Event(event));
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn undecodable(&mut self, error: DecodeError) {
        self.batch.push(Item::Undecodable(error));
    }

    fn idle(&mut self) {
        self.flush();
    }
}

impl<S: EventSink> Drop for Staged<S> {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn lower_priority() {
    use nix::libc;
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain system calls on the calling thread (pid 0 / its tid), with a valid parameter.
    unsafe {
        if !IDLE || libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param) != 0 {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Count(Vec<u64>, u64);
    impl EventSink for Count {
        fn event(&mut self, e: Event) {
            self.0.push(e.seq);
        }
        fn undecodable(&mut self, _: DecodeError) {
            self.1 += 1;
        }
    }

    fn ev(seq: u64) -> Event {
        let fe: crate::event::fixture::FixtureEvent =
            serde_norway::from_str("{kind: open, pid: 1, path: /x}").expect("yaml");
        fe.to_event(seq).expect("event")
    }

    #[test]
    fn every_event_arrives_in_order_and_finish_drains() {
        let mut s = Staged::start(Count::default()).expect("start");
        for i in 0..(BATCH as u64 * 3 + 7) {
            s.event(ev(i));
        }
        s.undecodable(DecodeError::UnknownKind(0));
        let c = s.finish().expect("finish");
        assert_eq!(c.0.len(), BATCH * 3 + 7);
        assert!(c.0.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(c.1, 1);
    }

    #[test]
    fn a_slow_analysis_makes_the_reader_wait_not_grow() {
        // The analysis stalls on its first event for a moment (a busy machine).
        struct Slow(u64);
        impl EventSink for Slow {
            fn event(&mut self, _: Event) {
                if self.0 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                }
                self.0 += 1;
            }
            fn undecodable(&mut self, _: DecodeError) {}
        }
        let n = BATCH * (QUEUE + 8);
        let one = ev(0);
        let events: Vec<Event> = (0..n as u64)
            .map(|i| {
                let mut e = one.clone();
                e.seq = i;
                e
            })
            .collect();
        let mut s = Staged::start(Slow(0)).expect("start");
        for e in events {
            s.event(e);
        }
        // The queue holds at most QUEUE batches: beyond, the reader waited.
        assert!(s.waits() > 0);
        assert_eq!(s.finish().expect("finish").0, n as u64);
    }
}
