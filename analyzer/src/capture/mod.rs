//! Loads the eBPF probes, filters them to one run's cgroup, and streams decoded events.
//!
//! [`Capture::start`] loads and attaches every program and starts a reader thread that decodes the
//! ring buffer into an [`EventSink`]. [`Capture::finish`] drains what is left, reads the kernel's
//! drop counters and returns the sink with a [`CaptureStats`].

pub mod btf;
pub mod staged;

use std::{
    os::fd::{AsFd, AsRawFd},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, ProgramArray, RingBuf},
    programs::{BtfTracePoint, RawTracePoint, TracePoint},
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use sandtrace_common::{STAT_PENDING_DROPS, STAT_RINGBUF_DROPS};
use serde::{Deserialize, Serialize};

use crate::event::{DecodeError, Event, decode};

/// The probe object built by build.rs (empty when the probe toolchain was missing at build time).
static PROBES: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sandtrace-probes.o"));

/// Default ring buffer size: room for ~80k syscall records while the reader catches up.
pub const DEFAULT_RING_BYTES: u32 = 64 << 20;

/// Why capture could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The binary was built without the probe toolchain.
    #[error("this sandtrace was built without its eBPF probes; run `cargo xtask setup` and rebuild")]
    NoProbes,
    /// Loading the object or a program into the kernel failed.
    #[error("cannot load the eBPF probes (are you root, with BPF enabled?): {0}")]
    Load(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A program every run depends on could not be attached.
    #[error("cannot attach eBPF program {program}: {source}")]
    Attach {
        /// Program name.
        program: String,
        /// Cause.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// The kernel's BTF is needed for struct offsets and BTF tracepoints.
    #[error("kernel BTF unavailable: {0}")]
    Btf(#[from] btf::BtfError),
    /// A map the probes define is missing or of the wrong type.
    #[error("probe map {0} missing or malformed")]
    Map(&'static str),
    /// The reader thread failed.
    #[error("ring buffer reader failed: {0}")]
    Reader(String),
}

/// Receives decoded events on the reader thread, in ring-buffer order.
pub trait EventSink: Send + 'static {
    /// One decoded event.
    fn event(&mut self, event: Event);
    /// One record that could not be decoded (counted, never fatal).
    fn undecodable(&mut self, error: DecodeError);
    /// The ring buffer is drained for now (a staged sink hands over what it holds).
    fn idle(&mut self) {}
}

/// What the capture saw and lost.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CaptureStats {
    /// Records read from the ring buffer.
    pub records: u64,
    /// Records that could not be decoded.
    pub undecodable: u64,
    /// Records the kernel could not write because the ring buffer was full.
    pub ringbuf_drops: u64,
    /// System calls whose entry could not be stashed until their exit (lost).
    pub pending_drops: u64,
    /// Optional probes that could not be attached on this kernel.
    pub probes_missing: Vec<String>,
    /// Programs attached.
    pub probes_attached: usize,
    /// Times the reader found the analysis queue full and waited (events stayed in the ring
    /// buffer meanwhile; what it could not hold is in `ringbuf_drops`).
    #[serde(default)]
    pub analysis_waits: u64,
    /// What the network sinkhole reported and lost (`--network sinkhole` runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sinkhole: Option<crate::sinkhole::SinkStats>,
}

impl CaptureStats {
    /// Every event lost, whatever the reason (the sinkhole's included).
    pub fn lost(&self) -> u64 {
        self.ringbuf_drops + self.pending_drops + self.undecodable + self.sinkhole.map_or(0, |s| s.lost)
    }
}

/// What to watch.
#[derive(Clone, Debug)]
pub struct CaptureConfig {
    /// cgroup v2 id of the run's parent cgroup.
    pub cgroup_id: u64,
    /// Its depth below the cgroup v2 root.
    pub cgroup_level: u32,
    /// Ring buffer size in bytes (a power of two, at least a page).
    pub ring_bytes: u32,
}

/// Where a program attaches, derived from its name (`<event>_<hook>`).
#[derive(Debug, PartialEq, Eq)]
enum AttachPoint {
    TracePoint {
        category: &'static str,
        name: &'static str,
    },
    BtfTracePoint {
        name: &'static str,
    },
    RawTracePoint {
        name: &'static str,
    },
    /// Not attached: the entry program of system call `nr`, tail-called by the `sys_enter` dispatcher.
    SyscallEntry {
        nr: u32,
    },
}

/// The one table of attach points: the probe crate's program names carry the hook. `None` for a
/// program attached elsewhere (the sinkhole's) or of an unknown system call.
fn attach_point(program: &str) -> Option<(AttachPoint, bool)> {
    // (attach point, required for every run)
    let point = match program {
        "syscall_sys_enter" => AttachPoint::RawTracePoint { name: "sys_enter" },
        "syscall_sys_exit" => AttachPoint::RawTracePoint { name: "sys_exit" },
        "fork_sched_process_fork" => AttachPoint::BtfTracePoint {
            name: "sched_process_fork",
        },
        "exec_sched_process_exec" => AttachPoint::TracePoint {
            category: "sched",
            name: "sched_process_exec",
        },
        "exit_sched_process_exit" => AttachPoint::TracePoint {
            category: "sched",
            name: "sched_process_exit",
        },
        other => {
            let at = other.find("_sys_enter_")?;
            let call = &other[at + "_sys_enter_".len()..];
            let nr = crate::event::syscall_nr(call)?;
            // open/openat/connect/execve are the floor of what a run must see.
            let required = matches!(call, "openat" | "connect" | "execve");
            return Some((AttachPoint::SyscallEntry { nr }, required));
        }
    };
    Some((point, true))
}

/// What the reader thread hands back: the sink, records read, records undecodable.
type ReaderResult<S> = Result<(S, u64, u64), String>;

/// A running capture.
pub struct Capture<S: EventSink> {
    ebpf: Ebpf,
    /// The system call entry programs by number (the dispatcher's tail-call table).
    _entries: ProgramArray<MapData>,
    /// The programs' attachments, owned apart from the programs so that they can be detached in
    /// the background at the end (a perf tracepoint's detach waits for a grace period).
    links: Vec<Link>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<ReaderResult<S>>>,
    stats: CaptureStats,
    records: Arc<AtomicU64>,
}

impl<S: EventSink> std::fmt::Debug for Capture<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// True when this binary carries its probe object.
pub fn probes_built() -> bool {
    !PROBES.is_empty()
}

/// What the kernel's BTF tells, read once per process: every run of it shares the parse.
struct KernelInfo {
    offsets: sandtrace_common::KernelOffsets,
    btf: aya::Btf,
}

static KERNEL: std::sync::OnceLock<KernelInfo> = std::sync::OnceLock::new();

fn kernel_info() -> Result<&'static KernelInfo, CaptureError> {
    if let Some(k) = KERNEL.get() {
        return Ok(k);
    }
    let kernel_btf = btf::Btf::from_sys_fs()?;
    let offsets = kernel_btf.kernel_offsets()?;
    let btf = aya::Btf::from_sys_fs().map_err(load_err)?;
    Ok(KERNEL.get_or_init(|| KernelInfo { offsets, btf }))
}

fn load_err(e: impl std::error::Error + Send + Sync + 'static) -> CaptureError {
    CaptureError::Load(Box::new(e))
}

impl<S: EventSink> Capture<S> {
    /// Loads the probes for one run and starts streaming into `sink`. Events of `side` (the network
    /// sinkhole's, which sees packets, not syscalls) join the stream in arrival order.
    pub fn start(
        config: &CaptureConfig,
        sink: S,
        side: Option<std::sync::mpsc::Receiver<Event>>,
    ) -> Result<Capture<S>, CaptureError> {
        if !probes_built() {
            return Err(CaptureError::NoProbes);
        }
        let kernel = kernel_info()?;
        let (offsets, aya_btf) = (&kernel.offsets, &kernel.btf);
        let tracked = crate::event::tracked_syscall_bitmap();
        let mut ebpf = EbpfLoader::new()
            .btf(Some(aya_btf))
            .override_global("WATCH_CGROUP_ID", &config.cgroup_id, true)
            .override_global("WATCH_CGROUP_LEVEL", &config.cgroup_level, true)
            .override_global("OFFSETS", offsets, true)
            .override_global("TRACKED_SYSCALLS", &tracked, true)
            .map_max_entries("EVENTS", config.ring_bytes)
            .load(PROBES)
            .map_err(load_err)?;

        let ring = RingBuf::try_from(ebpf.take_map("EVENTS").ok_or(CaptureError::Map("EVENTS"))?)
            .map_err(|_| CaptureError::Map("EVENTS"))?;

        let mut ordered: Vec<String> = ebpf.programs().map(|(n, _)| n.to_string()).collect();
        let mut stats = CaptureStats::default();
        // The entry programs are in place before the dispatcher, and sys_exit is attached before
        // it: entries stashed before their exit is seen would never be emitted.
        ordered.sort_by_key(|n| match n.as_str() {
            "syscall_sys_exit" => 1,
            "syscall_sys_enter" => 2,
            _ if n.contains("_sys_enter_") => 0,
            _ => 3,
        });
        let mut entries: ProgramArray<MapData> = ProgramArray::try_from(
            ebpf.take_map("SYSCALL_ENTRY")
                .ok_or(CaptureError::Map("SYSCALL_ENTRY"))?,
        )
        .map_err(|_| CaptureError::Map("SYSCALL_ENTRY"))?;
        let mut links = Vec::new();
        for name in ordered {
            let Some((point, required)) = attach_point(&name) else {
                if name.contains("_sys_enter_") {
                    tracing::warn!(program = %name, "entry program of an unknown system call");
                    stats.probes_missing.push(name);
                }
                continue;
            };
            let result = attach_one(&mut ebpf, &name, &point, aya_btf, &mut entries);
            match result {
                Ok(link) => {
                    links.extend(link);
                    stats.probes_attached += 1;
                }
                Err(source) if required => {
                    return Err(CaptureError::Attach {
                        program: name,
                        source,
                    });
                }
                Err(e) => {
                    tracing::debug!(program = %name, error = %e, "optional probe not attached");
                    stats.probes_missing.push(name);
                }
            }
        }

        let stop = Arc::new(AtomicBool::new(false));
        let records = Arc::new(AtomicU64::new(0));
        let reader = {
            let stop = Arc::clone(&stop);
            let records = Arc::clone(&records);
            std::thread::Builder::new()
                .name("sandtrace-ringbuf".into())
                .spawn(move || read_loop(ring, sink, &stop, &records, side.as_ref()))
                .map_err(|e| CaptureError::Reader(e.to_string()))?
        };
        Ok(Capture {
            ebpf,
            _entries: entries,
            links,
            stop,
            reader: Some(reader),
            stats,
            records,
        })
    }

    /// Steers the sinkhole namespace's traffic to its sockets (the `sinkhole_sk_lookup` program).
    pub fn attach_sinkhole(&mut self, fds: &crate::sinkhole::SinkFds) -> Result<(), CaptureError> {
        let mut socks: aya::maps::SockMap<&mut MapData> = aya::maps::SockMap::try_from(
            self.ebpf
                .map_mut("SINK_SOCKS")
                .ok_or(CaptureError::Map("SINK_SOCKS"))?,
        )
        .map_err(|_| CaptureError::Map("SINK_SOCKS"))?;
        socks.set(0, &fds.tcp.as_raw_fd(), 0).map_err(load_err)?;
        socks.set(1, &fds.udp.as_raw_fd(), 0).map_err(load_err)?;
        let program: &mut aya::programs::SkLookup = self
            .ebpf
            .program_mut("sinkhole_sk_lookup")
            .ok_or(CaptureError::Map("sinkhole_sk_lookup"))?
            .try_into()
            .map_err(load_err)?;
        program.load().map_err(load_err)?;
        program.attach(fds.netns.as_fd()).map_err(load_err)?;
        Ok(())
    }

    /// Records read so far (for progress display).
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.records)
    }

    /// Stops reading once the ring buffer is drained; returns the sink and what was seen and lost.
    /// Call it after every traced process has exited.
    pub fn finish(mut self) -> Result<(S, CaptureStats), CaptureError> {
        self.stop.store(true, Ordering::SeqCst);
        let reader = self
            .reader
            .take()
            .ok_or_else(|| CaptureError::Reader("already finished".into()))?;
        let (sink, records, undecodable) = reader
            .join()
            .map_err(|_| CaptureError::Reader("reader thread panicked".into()))?
            .map_err(CaptureError::Reader)?;
        let mut stats = std::mem::take(&mut self.stats);
        stats.records = records;
        stats.undecodable = undecodable;
        let counters: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(self.ebpf.map("STATS").ok_or(CaptureError::Map("STATS"))?)
                .map_err(|_| CaptureError::Map("STATS"))?;
        let sum = |idx: u32| -> u64 { counters.get(&idx, 0).map(|v| v.iter().sum()).unwrap_or(0) };
        stats.ringbuf_drops = sum(STAT_RINGBUF_DROPS);
        stats.pending_drops = sum(STAT_PENDING_DROPS);
        Ok((sink, stats))
    }
}

impl<S: EventSink> Drop for Capture<S> {
    fn drop(&mut self) {
        // A capture dropped without finish (an error path) still stops its thread.
        self.stop.store(true, Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        detach_all(std::mem::take(&mut self.links));
    }
}

/// One attachment of a program (detached when dropped).
#[derive(Debug)]
#[expect(dead_code, reason = "held only to be dropped: dropping detaches")]
enum Link {
    Perf(aya::programs::trace_point::TracePointLink),
    Btf(aya::programs::tp_btf::BtfTracePointLink),
    Raw(aya::programs::raw_trace_point::RawTracePointLink),
}

/// Detaching links that are still running in the background.
static DETACHING: std::sync::Mutex<Vec<JoinHandle<()>>> = std::sync::Mutex::new(Vec::new());

/// Detaches every link on a thread of its own (a perf tracepoint's detach waits for the kernel's
/// grace periods, ~40 ms, under a kernel-wide lock): the run's analysis goes on meanwhile.
/// [`wait_detached`] waits for it.
fn detach_all(links: Vec<Link>) {
    if links.is_empty() {
        return;
    }
    match std::thread::Builder::new()
        .name("sandtrace-detach".into())
        .spawn(move || drop(links))
    {
        Ok(h) => DETACHING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(h),
        Err(e) => tracing::warn!(error = %e, "cannot detach in the background"),
    }
}

/// Waits until every probe of finished captures is detached.
pub fn wait_detached() {
    let pending = std::mem::take(
        &mut *DETACHING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for h in pending {
        let _ = h.join();
    }
}

fn attach_one(
    ebpf: &mut Ebpf,
    name: &str,
    point: &AttachPoint,
    btf: &aya::Btf,
    entries: &mut ProgramArray<MapData>,
) -> Result<Option<Link>, aya::programs::ProgramError> {
    let program = ebpf
        .program_mut(name)
        .ok_or(aya::programs::ProgramError::NotLoaded)?;
    match point {
        AttachPoint::TracePoint { category, name: tp } => {
            let p: &mut TracePoint = program.try_into()?;
            p.load()?;
            let id = p.attach(category, tp)?;
            Ok(Some(Link::Perf(p.take_link(id)?)))
        }
        AttachPoint::BtfTracePoint { name: tp } => {
            let p: &mut BtfTracePoint = program.try_into()?;
            p.load(tp, btf)?;
            let id = p.attach()?;
            Ok(Some(Link::Btf(p.take_link(id)?)))
        }
        AttachPoint::RawTracePoint { name: tp } => {
            let p: &mut RawTracePoint = program.try_into()?;
            p.load()?;
            let id = p.attach(tp)?;
            Ok(Some(Link::Raw(p.take_link(id)?)))
        }
        AttachPoint::SyscallEntry { nr } => {
            let p: &mut RawTracePoint = program.try_into()?;
            p.load()?;
            let fd = p.fd()?;
            entries
                .set(*nr, fd, 0)
                .map_err(|e| aya::programs::ProgramError::IOError(std::io::Error::other(e)))?;
            Ok(None)
        }
    }
}

fn read_loop<S: EventSink>(
    mut ring: RingBuf<MapData>,
    mut sink: S,
    stop: &AtomicBool,
    records: &AtomicU64,
    side: Option<&std::sync::mpsc::Receiver<Event>>,
) -> ReaderResult<S> {
    let mut seq = 0u64;
    let mut undecodable = 0u64;
    loop {
        // Read the flag before draining: after it is set, one more full drain empties the buffer.
        let stopping = stop.load(Ordering::SeqCst);
        while let Some(item) = ring.next() {
            match decode(&item, seq) {
                Ok(event) => sink.event(event),
                Err(e) => {
                    undecodable += 1;
                    sink.undecodable(e);
                }
            }
            seq += 1;
        }
        if let Some(rx) = side {
            while let Ok(mut event) = rx.try_recv() {
                event.seq = seq;
                sink.event(event);
                seq += 1;
            }
        }
        records.store(seq, Ordering::Relaxed);
        sink.idle();
        if stopping {
            return Ok((sink, seq, undecodable));
        }
        let mut fds = [PollFd::new(ring.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(10u16)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("poll on the ring buffer: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_points_come_from_program_names() {
        assert_eq!(
            attach_point("open_sys_enter_openat"),
            Some((AttachPoint::SyscallEntry { nr: 257 }, true))
        );
        assert_eq!(
            attach_point("setid_sys_enter_setresuid"),
            Some((AttachPoint::SyscallEntry { nr: 117 }, false))
        );
        assert_eq!(
            attach_point("umount_sys_enter_umount2"),
            Some((AttachPoint::SyscallEntry { nr: 166 }, false))
        );
        assert_eq!(
            attach_point("syscall_sys_exit"),
            Some((AttachPoint::RawTracePoint { name: "sys_exit" }, true))
        );
        assert_eq!(attach_point("x_sys_enter_no_such_call"), None);
        assert_eq!(
            attach_point("fork_sched_process_fork"),
            Some((
                AttachPoint::BtfTracePoint {
                    name: "sched_process_fork"
                },
                true
            ))
        );
        assert_eq!(attach_point("helper"), None);
    }

    #[test]
    fn every_entry_program_has_a_system_call_number() {
        if !probes_built() {
            return;
        }
        let object = aya_obj::Object::parse(PROBES).expect("the embedded probe object parses");
        let mut entries = 0;
        for name in object.programs.keys() {
            if name.contains("_sys_enter_") {
                assert!(
                    matches!(attach_point(name), Some((AttachPoint::SyscallEntry { .. }, _))),
                    "{name} has no system call number"
                );
                entries += 1;
            }
        }
        assert!(entries >= 60, "only {entries} entry programs");
    }

    #[test]
    fn lost_counts_every_cause() {
        let s = CaptureStats {
            ringbuf_drops: 2,
            pending_drops: 3,
            undecodable: 4,
            ..Default::default()
        };
        assert_eq!(s.lost(), 9);
    }
}
