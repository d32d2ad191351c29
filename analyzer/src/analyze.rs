//! One run end to end: prepare the sandbox, start capture, detonate, drain, clean up, report.

use std::{path::PathBuf, time::Duration};

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    capture::{self, Capture, CaptureConfig, CaptureError},
    correlate::RunTrace,
    report::{Report, RunFacts},
    sandbox::{ContainerOutcome, Sandbox, SandboxConfig, SandboxError, cgroup::RunCgroup, runlock::RunLock},
};

/// Why a run could not be completed (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// BPF and cgroups need root.
    #[error("sandtrace analyze must run as root (it loads eBPF programs and creates cgroups)")]
    NotRoot,
    /// Docker side.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// eBPF side.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Ctrl-C or SIGTERM during the run; everything was cleaned up.
    #[error("interrupted; the container and cgroup were removed")]
    Interrupted,
    /// The rules could not be loaded.
    #[error("rules: {0}")]
    Rules(#[from] crate::detect::RuleError),
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The run lock could not be taken.
    #[error("cannot create the run lock: {0}")]
    Lock(#[source] std::io::Error),
    /// The network sinkhole could not be set up.
    #[error(transparent)]
    Sinkhole(#[from] crate::sinkhole::SinkholeError),
    /// The probes saw nothing of the sample: a verdict would mean nothing.
    #[error(
        "the sample's first exec was never observed (no event matched the run's cgroup): the analysis is void"
    )]
    NothingObserved,
}

/// What to analyse and how.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// Sandbox settings (image, command, limits).
    pub sandbox: SandboxConfig,
    /// A `docker save` archive to load first.
    pub archive: Option<PathBuf>,
    /// Most events listed in the report (all are counted and aggregated).
    pub max_events: usize,
    /// Ring buffer size.
    pub ring_bytes: u32,
    /// Detection rules (the shipped set when `None`).
    pub rules: Option<std::sync::Arc<crate::detect::RuleSet>>,
    /// The run store (`$SANDTRACE_DB` or the user's data directory when `None`).
    pub db: Option<PathBuf>,
    /// Policy applied to the report before it is stored, with today's date (`YYYY-MM-DD`).
    pub policy: Option<(crate::report::policy::Policy, String)>,
    /// Copy the files the run added or changed here (named by sha256, mode 0600).
    pub keep_dropped: Option<PathBuf>,
}

/// What [`analyze`] reports while it works.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A stage begins.
    Stage(&'a str),
    /// The sample is running (sent about twice a second).
    Running {
        /// Since the container started.
        elapsed: Duration,
        /// The time limit.
        limit: Duration,
        /// Events read so far.
        events: u64,
    },
}

impl AnalyzeOptions {
    /// Defaults for an image.
    pub fn new(image: impl Into<String>) -> AnalyzeOptions {
        AnalyzeOptions {
            sandbox: SandboxConfig::new(image),
            archive: None,
            max_events: 20_000,
            ring_bytes: capture::DEFAULT_RING_BYTES,
            rules: None,
            db: None,
            policy: None,
            keep_dropped: None,
        }
    }
}

/// A fresh run id: UTC time and 32 random bits (`20261124t190512-3fa9c2d1`).
pub fn new_run_id() -> String {
    let now = OffsetDateTime::now_utc();
    let mut rnd = [0u8; 4];
    // Without randomness the pid keeps concurrent runs apart.
    if getrandom::fill(&mut rnd).is_err() {
        rnd = std::process::id().to_le_bytes();
    }
    format!(
        "{:04}{:02}{:02}t{:02}{:02}{:02}-{:02x}{:02x}{:02x}{:02x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        rnd[0],
        rnd[1],
        rnd[2],
        rnd[3]
    )
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// Runs one analysis. `progress` is called with a short status line at each stage.
pub async fn analyze(
    opts: &AnalyzeOptions,
    progress: &(dyn Fn(&Progress<'_>) + Sync),
) -> Result<Report, AnalyzeError> {
    let t0 = std::time::Instant::now();
    if !nix::unistd::geteuid().is_root() {
        return Err(AnalyzeError::NotRoot);
    }
    if !capture::probes_built() {
        return Err(CaptureError::NoProbes.into());
    }
    let rules = match &opts.rules {
        Some(r) => std::sync::Arc::clone(r),
        None => std::sync::Arc::new(crate::detect::RuleSet::bundled()?),
    };
    let sandbox = Sandbox::connect().await?;
    match sandbox.gc().await {
        Ok(removed) if !removed.is_empty() => tracing::info!(?removed, "removed leftovers of dead runs"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cleaning leftovers failed"),
    }
    let mut cfg = opts.sandbox.clone();
    let mut archive_load = None;
    let mut display: Option<String> = None;
    if let Some(archive) = &opts.archive {
        progress(&Progress::Stage(&format!("loading {}", archive.display())));
        let loaded = sandbox.load_archive(archive).await?;
        progress(&Progress::Stage(&format!(
            "archive {} in {:.1} s",
            if loaded.already_present {
                "already present, nothing loaded"
            } else {
                "loaded"
            },
            loaded.took.as_secs_f64()
        )));
        if cfg.image.is_empty() {
            // Run by content id (what the archive holds, whatever a tag points to); name it by its tag.
            cfg.image = loaded.images.first().cloned().unwrap_or_default();
            display = loaded.tags.first().cloned().flatten();
        }
        archive_load = Some(loaded);
    }
    let mut image = sandbox.inspect_image(&cfg.image).await?;
    if let Some(name) = display {
        image.reference = name;
    }
    let db_path = crate::store::default_path(opts.db.as_deref());
    let mut store = crate::store::Store::open(&db_path)?;

    let run_id = new_run_id();
    let _lock = RunLock::acquire(&run_id).map_err(AnalyzeError::Lock)?;
    let cgroup = RunCgroup::create(&run_id).map_err(SandboxError::from)?;
    let options = serde_json::json!({
        "network": cfg.network.as_str(), "timeout_s": cfg.timeout.as_secs(), "pids_limit": cfg.pids_limit,
        "memory_bytes": cfg.memory_bytes, "cmd": cfg.cmd, "rules": rules.rules().len(),
        "profile": cfg.profile.as_str(),
    });
    // From here on the run cgroup exists: every way out removes it.
    let prepared = async {
        store.begin_run(
            &run_id,
            &image.reference,
            &image.id,
            &now_rfc3339(),
            &options.to_string(),
        )?;
        let writer = crate::store::EventWriter::start(&db_path, &run_id)?;
        let network = if cfg.network == crate::sandbox::NetworkMode::Sinkhole {
            Some(sandbox.create_sink_network(&run_id).await?)
        } else {
            None
        };
        Ok::<_, AnalyzeError>((writer, network))
    }
    .await;
    let (writer, network) = match prepared {
        Ok(p) => p,
        Err(e) => {
            if let Err(c) = cgroup.remove() {
                tracing::warn!(error = %c, "cannot remove the run cgroup");
            }
            return Err(e);
        }
    };
    let run = RunSetup {
        sandbox: &sandbox,
        cfg: &cfg,
        run_id: &run_id,
        cgroup: &cgroup,
        image: &image,
        network: network.as_ref(),
    };
    let prepare = t0.elapsed();
    let result = detonate(&run, opts, rules, writer, progress).await;
    if let Some(n) = &network {
        sandbox.remove_network(&n.name).await;
    }
    if let Err(e) = cgroup.remove() {
        tracing::warn!(error = %e, "cannot remove the run cgroup");
    }
    // Only a finished analysis is marked complete; an error leaves the run visibly incomplete.
    let mut report = result?;
    if let (Some(load), Some(file)) = (&archive_load, &opts.archive) {
        report.sandbox.archive = Some(crate::report::ArchiveSummary {
            file: file.display().to_string(),
            already_present: load.already_present,
            load_ms: u64::try_from(load.took.as_millis()).unwrap_or(u64::MAX),
        });
    }
    if let Some((policy, today)) = &opts.policy {
        policy.apply(&mut report, today);
    }
    report.stats.timings.prepare_ms = crate::report::ms(prepare);
    // The stored copy's total stops before the store; the returned report's includes it.
    report.stats.timings.total_ms = crate::report::ms(t0.elapsed());
    let t_store = std::time::Instant::now();
    store.finish_run(&report)?;
    report.stats.timings.store_ms = crate::report::ms(t_store.elapsed());
    // The probes detach in the background from the end of the capture (the kernel waits a grace
    // period for each); the run is over once they are.
    let t_detach = std::time::Instant::now();
    crate::capture::wait_detached();
    report.stats.timings.detach_ms = crate::report::ms(t_detach.elapsed());
    report.stats.timings.total_ms = crate::report::ms(t0.elapsed());
    Ok(report)
}

/// What a run has set up before detonation.
struct RunSetup<'a> {
    sandbox: &'a Sandbox,
    cfg: &'a SandboxConfig,
    run_id: &'a str,
    cgroup: &'a RunCgroup,
    image: &'a crate::sandbox::ImageInfo,
    network: Option<&'a crate::sandbox::SinkNetwork>,
}

async fn detonate(
    run: &RunSetup<'_>,
    opts: &AnalyzeOptions,
    rules: std::sync::Arc<crate::detect::RuleSet>,
    writer: crate::store::EventWriter,
    progress: &(dyn Fn(&Progress<'_>) + Sync),
) -> Result<Report, AnalyzeError> {
    let RunSetup {
        sandbox,
        cfg,
        run_id,
        cgroup,
        image,
        network,
    } = *run;
    progress(&Progress::Stage("loading eBPF probes"));
    let t_probes = std::time::Instant::now();
    let mut trace = RunTrace::with_rules(image.working_dir.clone(), opts.max_events, rules);
    trace.set_writer(writer);
    let capture_cfg = CaptureConfig {
        cgroup_id: cgroup.id(),
        cgroup_level: cgroup.level(),
        ring_bytes: opts.ring_bytes,
    };
    let (mut sinkhole, side) = match network {
        Some(net) => {
            progress(&Progress::Stage("starting the network sinkhole"));
            let (tx, rx) = crate::sinkhole::channel();
            let (sink, fds) = crate::sinkhole::Sinkhole::start(net, tx)?;
            (Some((sink, fds)), Some(rx))
        }
        None => (None, None),
    };
    // Correlation, rules and the store tap run on their own thread behind a bounded queue: the
    // ring-buffer reader only drains and decodes.
    let staged = crate::capture::staged::Staged::start(trace)
        .map_err(|e| CaptureError::Reader(format!("analysis thread: {e}")))?;
    let mut capture = Capture::start(&capture_cfg, staged, side)?;
    if let Some((_, fds)) = &sinkhole
        && let Err(e) = capture.attach_sinkhole(fds)
    {
        let _ = capture.finish();
        return Err(e.into());
    }

    let probes = t_probes.elapsed();
    let started_at = now_rfc3339();
    let t_container = std::time::Instant::now();
    let container = sandbox
        .create(cfg, run_id, &cgroup.docker_parent(), network)
        .await;
    let container_id = match container {
        Ok(id) => id,
        Err(e) => {
            let _ = capture.finish();
            return Err(e.into());
        }
    };
    progress(&Progress::Stage(&format!(
        "running {} (limit {} s)",
        cfg.image,
        cfg.timeout.as_secs()
    )));
    let events = capture.counter();
    let t0 = std::time::Instant::now();
    let run = run_interruptible(sandbox, &container_id, cfg);
    tokio::pin!(run);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let outcome = loop {
        tokio::select! {
            r = &mut run => break r,
            _ = tick.tick() => progress(&Progress::Running {
                elapsed: t0.elapsed(),
                limit: cfg.timeout,
                events: events.load(std::sync::atomic::Ordering::Relaxed),
            }),
        }
    };
    // A stopped container keeps its layers: what the run left on disk is read before removal.
    // An interrupted one is still running and is removed at once.
    let mut layers = None;
    let container_total = t_container.elapsed();
    let mut t_changes = std::time::Instant::now();
    let outcome = match outcome {
        Ok(mut o) => {
            wait_cgroup_empty(cgroup).await;
            progress(&Progress::Stage("reading what the run left on disk"));
            t_changes = std::time::Instant::now();
            let (changes, fs) = sandbox
                .file_changes(&container_id, opts.keep_dropped.as_deref())
                .await;
            o.changes = changes;
            layers = fs;
            Ok(o)
        }
        Err(e) => {
            sandbox.remove(&container_id).await;
            wait_cgroup_empty(cgroup).await;
            Err(e)
        }
    };
    let changes = t_changes.elapsed();
    let finished_at = now_rfc3339();
    progress(&Progress::Stage("draining events"));
    let t_drain = std::time::Instant::now();
    // The sinkhole reports what is still open before the reader's last drain.
    let sink_stats = sinkhole.as_mut().map(|(sink, _)| sink.finish());
    let finished = capture.finish().and_then(|(staged, mut stats)| {
        stats.sinkhole = sink_stats;
        stats.analysis_waits = staged.waits();
        let trace = staged.finish().map_err(CaptureError::Reader)?;
        Ok((trace, stats))
    });
    drop(sinkhole);
    let drain = t_drain.elapsed();
    let t_analysis = std::time::Instant::now();
    let report = finish_report(
        finished,
        outcome,
        layers.as_ref(),
        run_id,
        image,
        cfg,
        started_at,
        finished_at,
    );
    let analysis = t_analysis.elapsed();
    // The layers are gone with the container: every path above that uses them is done.
    sandbox.remove(&container_id).await;
    wait_cgroup_empty(cgroup).await;
    report.map(|mut r| {
        let sample = std::time::Duration::from_millis(r.sandbox.ran_ms);
        r.stats.timings = crate::report::Timings {
            probes_ms: crate::report::ms(probes),
            container_ms: crate::report::ms(container_total.saturating_sub(sample)),
            sample_ms: r.sandbox.ran_ms,
            changes_ms: crate::report::ms(changes),
            drain_ms: crate::report::ms(drain),
            analysis_ms: crate::report::ms(analysis),
            ..Default::default()
        };
        r
    })
}

/// The report of a run whose capture and container have ended.
#[expect(clippy::too_many_arguments, reason = "the facts of one run, assembled once")]
fn finish_report(
    finished: Result<(RunTrace, capture::CaptureStats), CaptureError>,
    outcome: Result<ContainerOutcome, AnalyzeError>,
    layers: Option<&crate::sandbox::changes::LayerFs>,
    run_id: &str,
    image: &crate::sandbox::ImageInfo,
    cfg: &SandboxConfig,
    started_at: String,
    finished_at: String,
) -> Result<Report, AnalyzeError> {
    let (mut trace, stats) = finished?;
    if let Some(w) = trace.take_writer::<crate::store::EventWriter>() {
        w.finish()?;
    }
    let outcome = outcome?;
    if !trace.entrypoint_seen() {
        return Err(AnalyzeError::NothingObserved);
    }
    Ok(Report::build_owned(
        RunFacts {
            run_id,
            image,
            started_at,
            finished_at,
            sandbox: cfg,
            layers,
            outcome: &outcome,
            capture: stats,
        },
        trace,
    ))
}

/// Runs the container; Ctrl-C or SIGTERM kill it (the caller removes it either way).
async fn run_interruptible(
    sandbox: &Sandbox,
    id: &str,
    cfg: &SandboxConfig,
) -> Result<ContainerOutcome, AnalyzeError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| AnalyzeError::Sandbox(SandboxError::NoDocker(format!("signal handler: {e}"))))?;
    tokio::select! {
        r = sandbox.run_to_end(id, cfg) => Ok(r?),
        _ = tokio::signal::ctrl_c() => Err(AnalyzeError::Interrupted),
        _ = term.recv() => Err(AnalyzeError::Interrupted),
    }
}

/// After `docker rm -f`, the last processes may still be exiting: their exit events are the last
/// ones of the run. Waits (bounded) until nothing is left below the run cgroup.
async fn wait_cgroup_empty(cgroup: &RunCgroup) {
    for _ in 0..100 {
        if !has_procs(cgroup.v2_dir()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::warn!("processes still present in the run cgroup after removal");
}

fn has_procs(dir: &std::path::Path) -> bool {
    let own = std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    own || std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && has_procs(&e.path()))
        })
        .unwrap_or(false)
}
