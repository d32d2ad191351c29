//! The report of one run: the `sandtrace.report/v1` JSON document and its text rendering.

pub mod html;
pub mod navigator;
pub mod policy;
pub mod sarif;
pub mod text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    capture::CaptureStats,
    correlate::graph::{GraphExport, NodeKind},
    correlate::{FileActivity, NetworkActivity, ProcessNode, Refusals, RunTrace},
    event::Event,
    sandbox::{
        ContainerOutcome, ImageConfig, ImageInfo, SandboxConfig,
        changes::{FileChanges, LayerFs},
    },
};

pub use crate::model::{Detection, DetectionProcess, Severity};
/// Schema id of the JSON report.
pub const SCHEMA: &str = "sandtrace.report/v1";

/// The image analysed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRef {
    /// Reference as given.
    pub reference: String,
    /// Content id.
    pub id: String,
}

/// Sandbox settings and outcome.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SandboxSection {
    /// Network mode.
    pub network: String,
    /// Time limit in seconds.
    pub timeout_s: u64,
    /// Exit code of the entrypoint.
    pub exit_code: i64,
    /// Killed at the time limit.
    pub timed_out: bool,
    /// Killed for exceeding the memory limit.
    pub oom_killed: bool,
    /// Killed by the disk watchdog for writing more than `disk_limit_bytes` (or too many files)
    /// to its writable layer: what it had written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_limited: Option<crate::sandbox::DiskUse>,
    /// Bytes the sample may write to its writable layer.
    #[serde(default)]
    pub disk_limit_bytes: u64,
    /// Why the disk limit was not enforced, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_unwatched: Option<String>,
    /// Task limit.
    pub pids_limit: i64,
    /// Memory limit in bytes.
    pub memory_bytes: i64,
    /// Captured stdout (bounded).
    pub stdout: String,
    /// Captured stderr (bounded).
    pub stderr: String,
    /// Output was cut at the bound.
    pub output_truncated: bool,
    /// Capability profile: `default` (what `docker run` gives) or `strict`.
    #[serde(default)]
    pub profile: String,
    /// How long the sample ran, in milliseconds (container start to exit or kill).
    #[serde(default)]
    pub ran_ms: u64,
    /// The image's own run configuration (user, env, entrypoint, cmd, ...).
    #[serde(default)]
    pub image_config: ImageConfig,
    /// What the user changed for this run.
    #[serde(default)]
    pub overrides: SandboxOverrides,
    /// The `--archive` the image came from, and what loading it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveSummary>,
}

/// How the image of an `--archive` run got into the local store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// The archive file.
    pub file: String,
    /// Its images were already present (same content ids): nothing was loaded.
    pub already_present: bool,
    /// Milliseconds spent (reading the manifest, and loading when needed).
    pub load_ms: u64,
}

/// Options given for the run on top of the image's configuration. Environment values are not
/// kept (they are often secrets): only their names.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SandboxOverrides {
    /// Names of the variables set with `--env` / `--env-file`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_names: Vec<String>,
    /// `--user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `--entrypoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Command after `--`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `--workdir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// `--cap-add`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// `--read-only`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// `--tmpfs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
}

impl SandboxOverrides {
    fn of(cfg: &SandboxConfig) -> SandboxOverrides {
        SandboxOverrides {
            env_names: cfg
                .env
                .iter()
                .map(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k).to_string())
                .collect(),
            user: cfg.user.clone(),
            entrypoint: cfg.entrypoint.clone(),
            cmd: cfg.cmd.clone(),
            workdir: cfg.workdir.clone(),
            cap_add: cfg.cap_add.clone(),
            cap_drop: cfg.cap_drop.clone(),
            read_only: cfg.read_only,
            tmpfs: cfg.tmpfs.clone(),
        }
    }
}

/// Whether the run showed what the image does. A run is incomplete when the sample exited with an
/// error in its first seconds, was refused actions it needed to start, was killed at the memory
/// limit, lost events, or was never seen starting: "clean" must never mean "never really ran".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Observation {
    /// Nothing kept the run from showing what the image does.
    pub complete: bool,
    /// Why not, one sentence each.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Privileged actions the sandbox refused (EPERM/EACCES), by system call.
    #[serde(default)]
    pub refused: Refusals,
    /// All refused actions.
    #[serde(default)]
    pub refused_total: u64,
}

impl Default for Observation {
    fn default() -> Observation {
        Observation {
            complete: true,
            reasons: Vec::new(),
            refused: Refusals::default(),
            refused_total: 0,
        }
    }
}

/// A sample that exits with an error sooner than this did not really run.
pub const EARLY_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Observation {
    fn judge(facts: &RunFacts<'_>, trace: &RunTrace) -> Observation {
        let refused = trace.refusals().clone();
        let needed: u64 = refused.needed.values().sum();
        let refused_total = needed + refused.contained.values().sum::<u64>();
        let mut reasons = Vec::new();
        if !trace.entrypoint_seen() {
            reasons.push("the entrypoint's first exec was never observed".to_string());
        }
        if needed > 0 {
            reasons.push(format!(
                "the sandbox refused {needed} action{} the image needed: {}",
                if needed == 1 { "" } else { "s" },
                counts_text(&refused.needed)
            ));
        }
        let o = facts.outcome;
        if !o.timed_out && o.exit_code != 0 && o.ran < EARLY_EXIT {
            reasons.push(format!(
                "the sample exited with code {} after {:.1} s",
                o.exit_code,
                o.ran.as_secs_f64()
            ));
        }
        if o.oom_killed {
            reasons.push("the sample was killed at the memory limit".to_string());
        }
        if let Some(d) = o.disk_limited {
            reasons.push(format!(
                "the sample was killed at the disk limit ({} MiB in {} files written to its layer; limit {} MiB, {} files)",
                d.bytes >> 20,
                d.files,
                facts.sandbox.disk_limit >> 20,
                crate::sandbox::DISK_FILES_LIMIT
            ));
        }
        if let Some(why) = &o.disk_unwatched {
            reasons.push(format!("the disk limit was not enforced: {why}"));
        }
        let c = &facts.capture;
        let lost = c.lost();
        if lost > 0 {
            let causes: BTreeMap<String, u64> = [
                ("ring buffer full", c.ringbuf_drops),
                ("syscall stash full", c.pending_drops),
                ("undecodable", c.undecodable),
                ("sinkhole beyond its bound", c.sinkhole.map_or(0, |s| s.lost)),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.to_string(), n))
            .collect();
            reasons.push(format!("{lost} events were lost: {}", counts_text(&causes)));
        }
        let evicted = trace.sequence_evictions();
        if !evicted.is_empty() {
            let n: u64 = evicted.values().sum();
            reasons.push(format!(
                "{n} partial sequence{} evicted for lack of room ({}): those sequence rules may have missed a match",
                if n == 1 { " was" } else { "s were" },
                counts_text(evicted)
            ));
        }
        Observation {
            complete: reasons.is_empty(),
            reasons,
            refused,
            refused_total,
        }
    }
}

/// `chown ×12, setuid ×2`, largest first.
pub fn counts_text(counts: &BTreeMap<String, u64>) -> String {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A technique found in the run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TechniqueEntry {
    /// ATT&CK id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Tactics.
    pub tactics: Vec<String>,
    /// Detections naming it.
    pub detections: u64,
}

/// Counters.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Events captured.
    pub events: u64,
    /// Events lost (ring buffer full, stash full, undecodable).
    pub dropped: u64,
    /// Processes seen.
    pub processes: u64,
    /// Events by kind.
    pub events_by_kind: BTreeMap<String, u64>,
    /// Capture details (drops by cause, probes attached and missing).
    pub capture: CaptureStats,
    /// Detection rules evaluated.
    pub rules_loaded: u64,
    /// Events of the container runtime setting the container up, before the entrypoint ran (not listed).
    pub runtime_events: u64,
    /// File and network actions beyond the summaries' bound (counted, not summarised).
    pub summary_omitted: u64,
    /// Rule matches beyond the detection bound (counted, not listed).
    pub detections_omitted: u64,
    /// Partial sequences of sequence rules evicted for lack of room, by rule id (the run is
    /// incomplete: those sequences could have completed unseen).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sequence_evictions: BTreeMap<String, u64>,
    /// Processes listed in short (first argument only, no exec records) beyond the first
    /// [`FULL_PROCESSES`]: a process storm cannot make the report, the store or the HTML huge.
    #[serde(default, skip_serializing_if = "crate::model::is_zero")]
    pub processes_abridged: u64,
    /// Where the run's wall time went, by phase.
    #[serde(default)]
    pub timings: Timings,
}

/// Milliseconds spent in each phase of one `analyze`, in order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Timings {
    /// Rules, archive, image inspection, database, run lock, cgroup, network.
    pub prepare_ms: u64,
    /// Loading, verifying and attaching the probes.
    pub probes_ms: u64,
    /// Creating and starting the container, and collecting its output (not the sample's own time).
    pub container_ms: u64,
    /// The sample, from start to exit or kill.
    pub sample_ms: u64,
    /// Reading what the run left on disk.
    pub changes_ms: u64,
    /// Stopping the sinkhole, draining the ring buffer and the analysis queue.
    pub drain_ms: u64,
    /// Building the report (drift, verdict, kill chain, graph).
    pub analysis_ms: u64,
    /// Writing the run to the database (0 in the stored copy, which is written then).
    pub store_ms: u64,
    /// Waiting, after the store, for the probes to finish detaching (they detach in the background
    /// from the end of the capture; 0 in the stored copy).
    #[serde(default)]
    pub detach_ms: u64,
    /// From `analyze` to the verdict (in the stored copy: to the store).
    pub total_ms: u64,
}

/// Milliseconds of a duration, saturating.
pub fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Processes listed in full in a report; beyond them (except those with detections and their
/// ancestors) only the program and the first argument are kept. Indexes stay those of the trace.
pub const FULL_PROCESSES: usize = 5_000;

/// The trace's processes, the ones beyond [`FULL_PROCESSES`] abridged, and how many were.
fn abridged_processes(mut procs: Vec<ProcessNode>, detections: &[Detection]) -> (Vec<ProcessNode>, u64) {
    if procs.len() <= FULL_PROCESSES {
        return (procs, 0);
    }
    // Processes a detection names, and their ancestors, stay whole.
    let mut keep: std::collections::HashSet<u32> = detections.iter().map(|d| d.process.pid).collect();
    let parent: std::collections::HashMap<u32, u32> = procs.iter().map(|p| (p.pid, p.ppid)).collect();
    for pid in keep.clone() {
        let mut cur = pid;
        for _ in 0..32 {
            match parent.get(&cur) {
                Some(&pp) if pp != 0 && pp != cur && keep.insert(pp) => cur = pp,
                _ => break,
            }
        }
    }
    let mut abridged = 0u64;
    for p in procs.iter_mut().skip(FULL_PROCESSES) {
        if keep.contains(&p.pid) {
            continue;
        }
        abridged += 1;
        p.argv = p.argv.iter().take(1).cloned().collect::<Vec<_>>().into();
        p.execs_omitted += p.execs.len() as u64;
        p.execs = Vec::new();
    }
    (procs, abridged)
}

/// The `sandtrace.report/v1` document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Run id.
    pub run_id: String,
    /// Image.
    pub image: ImageRef,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// Sandbox.
    pub sandbox: SandboxSection,
    /// `clean`, `suspicious` or `malicious`.
    pub verdict: String,
    /// 0-100.
    pub score: u32,
    /// Techniques found.
    pub techniques: Vec<TechniqueEntry>,
    /// Rule matches.
    pub detections: Vec<Detection>,
    /// Counters.
    pub stats: Stats,
    /// Process tree (flat list; `ppid` links).
    pub processes: Vec<ProcessNode>,
    /// File activity by path.
    pub files: Vec<FileActivity>,
    /// Network activity by operation and address.
    pub network: Vec<NetworkActivity>,
    /// Events in arrival order (bounded; see `events_omitted`).
    pub events: Vec<Event>,
    /// Events captured but not listed.
    pub events_omitted: u64,
    /// Detections in kill-chain order (tactic, then time), each with its process lineage.
    #[serde(default)]
    pub kill_chain: Vec<KillChainStep>,
    /// The run graph: processes, files, endpoints and what linked them.
    #[serde(default)]
    pub graph: GraphExport,
    /// What a policy file (`--policy`) did, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<policy::PolicySummary>,
    /// Whether the run showed what the image does (see [`Observation`]).
    #[serde(default)]
    pub observation: Observation,
    /// What the run added, changed or deleted on disk (bounded; see `FileChanges`).
    #[serde(default)]
    pub dropped_files: FileChanges,
}

/// One step of the kill chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KillChainStep {
    /// Tactic (the earliest of the rule's techniques).
    pub tactic: String,
    /// Technique ids.
    pub techniques: Vec<String>,
    /// Rule.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// What happened.
    pub message: String,
    /// Boot-time ns of the first evidence event (or the process start).
    pub ts_ns: u64,
    /// The process and its ancestors, nearest first.
    pub lineage: Vec<u32>,
    /// Graph nodes that are evidence (indexes into `graph.nodes`).
    pub nodes: Vec<usize>,
    /// Index into `detections`.
    pub detection: usize,
}

/// Inputs of [`Report::build`] besides the trace.
#[derive(Debug)]
pub struct RunFacts<'a> {
    /// Run id.
    pub run_id: &'a str,
    /// Image.
    pub image: &'a ImageInfo,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 end.
    pub finished_at: String,
    /// Sandbox settings.
    pub sandbox: &'a SandboxConfig,
    /// The container's layers, to look paths up in after the run.
    pub layers: Option<&'a LayerFs>,
    /// Container outcome.
    pub outcome: &'a ContainerOutcome,
    /// Capture counters.
    pub capture: CaptureStats,
}

impl Report {
    /// Assembles the report of a finished run.
    pub fn build(facts: RunFacts<'_>, trace: &RunTrace) -> Report {
        let mut r = Report::summarise(facts, trace);
        let (processes, abridged) = abridged_processes(trace.processes().to_vec(), &r.detections);
        r.processes = processes;
        r.stats.processes_abridged = abridged;
        r.events = trace.events().to_vec();
        r
    }

    /// [`Report::build`] that takes the trace's process and event lists instead of copying them
    /// (the end of a large run holds them once).
    pub fn build_owned(facts: RunFacts<'_>, mut trace: RunTrace) -> Report {
        let mut r = Report::summarise(facts, &trace);
        let (processes, events) = trace.take_listed();
        drop(trace);
        let (processes, abridged) = abridged_processes(processes, &r.detections);
        r.processes = processes;
        r.stats.processes_abridged = abridged;
        r.events = events;
        r
    }

    /// Everything but the process and event lists.
    fn summarise(facts: RunFacts<'_>, trace: &RunTrace) -> Report {
        let mut detections: Vec<Detection> = trace.detections().to_vec();
        detections.extend(trace.detection_overflow());
        detections.extend(crate::detect::drift::drift(trace, &facts.outcome.changes));
        // Script text, read from the container's layers now that the run is over.
        let read = |path: &str| read_script(facts.layers, path);
        detections.extend(crate::detect::script_detections(
            trace.rule_set(),
            trace.processes(),
            &read,
        ));
        crate::detect::drift::refine(&mut detections, facts.layers);
        let observation = Observation::judge(&facts, trace);
        let (verdict, score) = verdict(&detections);
        let techniques = techniques(&detections);
        let graph = trace.graph().export();
        let kill_chain = kill_chain(&detections, trace, &graph);
        Report {
            schema: SCHEMA.to_string(),
            run_id: facts.run_id.to_string(),
            image: ImageRef {
                reference: facts.image.reference.clone(),
                id: facts.image.id.clone(),
            },
            started_at: facts.started_at,
            finished_at: facts.finished_at,
            sandbox: SandboxSection {
                network: facts.sandbox.network.as_str().to_string(),
                timeout_s: facts.sandbox.timeout.as_secs(),
                exit_code: facts.outcome.exit_code,
                timed_out: facts.outcome.timed_out,
                oom_killed: facts.outcome.oom_killed,
                disk_limited: facts.outcome.disk_limited,
                disk_limit_bytes: facts.sandbox.disk_limit,
                disk_unwatched: facts.outcome.disk_unwatched.clone(),
                pids_limit: facts.sandbox.pids_limit,
                memory_bytes: facts.sandbox.memory_bytes,
                stdout: facts.outcome.stdout.clone(),
                stderr: facts.outcome.stderr.clone(),
                output_truncated: facts.outcome.output_truncated,
                profile: facts.sandbox.profile.as_str().to_string(),
                ran_ms: u64::try_from(facts.outcome.ran.as_millis()).unwrap_or(u64::MAX),
                image_config: facts.image.config.clone(),
                overrides: SandboxOverrides::of(facts.sandbox),
                archive: None,
            },
            verdict: verdict.to_string(),
            score,
            techniques,
            detections,
            stats: Stats {
                events: trace.total_events(),
                dropped: facts.capture.lost(),
                processes: trace.processes().len() as u64,
                events_by_kind: trace.by_kind(),
                capture: facts.capture,
                rules_loaded: trace.rule_count() as u64,
                runtime_events: trace.runtime_events(),
                summary_omitted: trace.summary_omitted(),
                detections_omitted: trace.detections_omitted(),
                sequence_evictions: trace.sequence_evictions().clone(),
                processes_abridged: 0,
                timings: Timings::default(),
            },
            processes: Vec::new(),
            files: trace.files().cloned().collect(),
            network: trace.network().cloned().collect(),
            events: Vec::new(),
            events_omitted: trace.events_omitted(),
            kill_chain,
            graph,
            policy: None,
            observation,
            dropped_files: facts.outcome.changes.clone(),
        }
    }

    /// A report with nothing in it (a starting point for tests and tools).
    pub fn empty() -> Report {
        Report {
            schema: SCHEMA.into(),
            run_id: "20261124t120000-00000000".into(),
            image: ImageRef {
                reference: "img".into(),
                id: "sha256:00".into(),
            },
            started_at: "2026-11-24T12:00:00Z".into(),
            finished_at: "2026-11-24T12:00:05Z".into(),
            sandbox: SandboxSection {
                network: "none".into(),
                timeout_s: 30,
                exit_code: 0,
                timed_out: false,
                oom_killed: false,
                disk_limited: None,
                disk_limit_bytes: 1 << 30,
                disk_unwatched: None,
                pids_limit: 256,
                memory_bytes: 512 << 20,
                stdout: String::new(),
                stderr: String::new(),
                output_truncated: false,
                profile: "default".into(),
                ran_ms: 0,
                image_config: ImageConfig::default(),
                overrides: SandboxOverrides::default(),
                archive: None,
            },
            verdict: "clean".into(),
            score: 0,
            techniques: vec![],
            detections: vec![],
            stats: Stats::default(),
            processes: vec![],
            files: vec![],
            network: vec![],
            events: vec![],
            events_omitted: 0,
            kill_chain: vec![],
            graph: GraphExport::default(),
            policy: None,
            observation: Observation::default(),
            dropped_files: FileChanges::default(),
        }
    }

    /// Highest severity among the detections.
    pub fn max_severity(&self) -> Option<Severity> {
        self.detections.iter().map(|d| d.severity).max()
    }

    /// Highest severity among the detections a policy did not allow: what `--fail-on` compares.
    pub fn gate_severity(&self) -> Option<Severity> {
        self.detections
            .iter()
            .filter(|d| d.allowed.is_none() && d.severity.counts())
            .map(|d| d.severity)
            .max()
    }
}

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary for people (colour on a terminal).
    Text,
    /// The sandtrace.report/v1 JSON document.
    Json,
    /// SARIF 2.1.0 for code-scanning UIs.
    Sarif,
    /// One self-contained HTML page: kill-chain graph, process tree, timeline, ATT&CK matrix, IOCs.
    Html,
    /// An ATT&CK Navigator layer (format 4.5).
    Navigator,
}

impl Format {
    /// The file name extension of a report in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Json | Format::Navigator => "json",
            Format::Sarif => "sarif",
            Format::Html => "html",
        }
    }
}

/// Writes a report to `w`; JSON is streamed (a large report is never held as one string).
pub fn render_to(
    r: &Report,
    format: Format,
    rules: Option<&crate::detect::RuleSet>,
    color: bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use std::io::Write as _;
    if format == Format::Json {
        let mut buf = std::io::BufWriter::with_capacity(1 << 16, w);
        serde_json::to_writer_pretty(&mut buf, r).map_err(std::io::Error::other)?;
        buf.write_all(b"\n")?;
        return buf.flush();
    }
    let text = render(r, format, rules, color).map_err(std::io::Error::other)?;
    w.write_all(text.as_bytes())
}

/// Exact length of the compact JSON of `v`, without building it (to allocate it once).
pub fn json_len<T: Serialize>(v: &T) -> Result<usize, serde_json::Error> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    serde_json::to_writer(&mut c, v)?;
    Ok(c.0)
}

/// Renders a report. `rules` gives rule names and descriptions to SARIF; `color` is for text.
pub fn render(
    r: &Report,
    format: Format,
    rules: Option<&crate::detect::RuleSet>,
    color: bool,
) -> Result<String, serde_json::Error> {
    let pretty = |v: &serde_json::Value| {
        serde_json::to_string_pretty(v).map(|mut s| {
            s.push('\n');
            s
        })
    };
    Ok(match format {
        Format::Text => text::render_styled(r, color),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(r)?;
            s.push('\n');
            s
        }
        Format::Sarif => pretty(&sarif::render(r, rules))?,
        Format::Navigator => pretty(&navigator::render(r))?,
        Format::Html => html::render(r),
    })
}

/// Orders detections by tactic (kill-chain order), then by time; adds lineage and evidence nodes.
fn kill_chain(detections: &[Detection], trace: &RunTrace, graph: &GraphExport) -> Vec<KillChainStep> {
    let procs = trace.processes();
    let ts_of: std::collections::HashMap<u64, u64> =
        trace.events().iter().map(|e| (e.seq, e.ts_ns)).collect();
    // Indexes, so the build is linear in detections and processes, not their product.
    let mut nodes_of: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    for (i, p) in procs.iter().enumerate() {
        nodes_of.entry(p.pid).or_default().push(i);
    }
    // The latest node of `pid` before node `before` (all of them when None).
    let latest = |pid: u32, before: Option<usize>| -> Option<usize> {
        let list = nodes_of.get(&pid)?;
        let end = before.map_or(list.len(), |b| list.partition_point(|&i| i < b));
        end.checked_sub(1).and_then(|k| list.get(k).copied())
    };
    let graph_pos: std::collections::HashMap<(u32, usize), usize> = graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(g, n)| match n {
            NodeKind::Process { pid, index } => Some(((*pid, *index), g)),
            _ => None,
        })
        .collect();
    let mut steps: Vec<(usize, KillChainStep)> = detections
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let tactic = d
                .techniques
                .iter()
                .filter_map(|t| mitre_mapping::lookup(t).and_then(|x| x.first_tactic()))
                .min();
            let node_idx = latest(d.process.pid, None);
            let start = node_idx.map_or(0, |n| procs[n].start_ns);
            let ts = d
                .evidence
                .iter()
                .filter_map(|s| ts_of.get(s))
                .min()
                .copied()
                .unwrap_or(start);
            let mut lineage = vec![d.process.pid];
            let mut cur = node_idx;
            while let Some(n) = cur {
                let ppid = procs[n].ppid;
                if lineage.len() > 32 || lineage.contains(&ppid) || ppid == 0 {
                    break;
                }
                cur = latest(ppid, Some(n));
                if cur.is_none() {
                    break;
                }
                lineage.push(ppid);
            }
            let mut nodes: Vec<usize> = d
                .evidence
                .iter()
                .filter_map(|s| trace.graph().edge_of(*s))
                .flat_map(|(a, b)| [a, b])
                .collect();
            if let Some(n) = node_idx
                && let Some(&p) = graph_pos.get(&(d.process.pid, n))
            {
                nodes.push(p);
            }
            nodes.sort_unstable();
            nodes.dedup();
            let step = KillChainStep {
                tactic: tactic.map(|t| t.short_name().to_string()).unwrap_or_default(),
                techniques: d.techniques.clone(),
                rule: d.rule.clone(),
                severity: d.severity,
                message: d.message.clone(),
                ts_ns: ts,
                lineage,
                nodes,
                detection: i,
            };
            (tactic.map_or(usize::MAX, mitre_mapping::Tactic::order), step)
        })
        .collect();
    steps.sort_by_key(|(order, s)| (*order, s.ts_ns, s.detection));
    steps.into_iter().map(|(_, s)| s).collect()
}

/// Techniques named by the detections, in kill-chain order (first tactic), then by id.
pub fn techniques(detections: &[Detection]) -> Vec<TechniqueEntry> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for d in detections {
        for t in &d.techniques {
            *counts.entry(t.as_str()).or_default() += 1;
        }
    }
    let mut out: Vec<TechniqueEntry> = counts
        .into_iter()
        .map(|(id, n)| {
            let t = mitre_mapping::lookup(id);
            TechniqueEntry {
                id: id.to_string(),
                name: t.map(|t| t.full_name()).unwrap_or_default(),
                tactics: t
                    .map(|t| t.tactics.iter().map(|x| x.short_name().to_string()).collect())
                    .unwrap_or_default(),
                detections: n,
            }
        })
        .collect();
    out.sort_by_key(|t| {
        (
            mitre_mapping::lookup(&t.id).and_then(|x| x.first_tactic()),
            t.id.clone(),
        )
    });
    out
}

/// Verdict and score from detections: the score is the highest severity's weight (low 20, medium 45,
/// high 75, critical 95) plus 1 per further detection, capped at 100; malicious from high up,
/// suspicious for low and medium, clean without detections. `info` detections are context and
/// count for none of it.
pub fn verdict(detections: &[Detection]) -> (&'static str, u32) {
    let counted: Vec<Severity> = detections
        .iter()
        .map(|d| d.severity)
        .filter(|s| s.counts())
        .collect();
    let Some(max) = counted.iter().copied().max() else {
        return ("clean", 0);
    };
    let base = match max {
        Severity::Info => 0,
        Severity::Low => 20,
        Severity::Medium => 45,
        Severity::High => 75,
        Severity::Critical => 95,
    };
    let score = (base + counted.len() as u32 - 1).min(100);
    let verdict = if max >= Severity::High {
        "malicious"
    } else {
        "suspicious"
    };
    (verdict, score)
}

/// The first [`crate::detect::MAX_SCRIPT`] bytes of a regular file of the container's final file
/// system (a script an interpreter ran), as text; `None` when it is gone, not a regular file, or
/// the layers are unknown.
fn read_script(layers: Option<&LayerFs>, path: &str) -> Option<String> {
    use std::io::Read as _;
    let (host, meta) = layers?.locate(path, true)?;
    if !meta.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    std::fs::File::open(host)
        .ok()?
        .take(crate::detect::MAX_SCRIPT as u64)
        .read_to_end(&mut buf)
        .ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn det(sev: Severity) -> Detection {
        Detection {
            rule: "r".into(),
            severity: sev,
            techniques: vec![],
            message: String::new(),
            process: DetectionProcess {
                pid: 1,
                exe: String::new(),
                argv: vec![],
            },
            evidence: vec![],
            allowed: None,
            rule_severity: None,
            target: None,
        }
    }

    pub(crate) fn empty_report() -> Report {
        Report::empty()
    }

    #[test]
    fn verdict_follows_highest_severity() {
        assert_eq!(verdict(&[]), ("clean", 0));
        assert_eq!(verdict(&[det(Severity::Low)]), ("suspicious", 20));
        assert_eq!(
            verdict(&[det(Severity::Low), det(Severity::High)]),
            ("malicious", 76)
        );
        let many: Vec<_> = (0..50).map(|_| det(Severity::Critical)).collect();
        assert_eq!(verdict(&many), ("malicious", 100));
    }

    #[test]
    fn info_counts_for_nothing() {
        assert_eq!(verdict(&[det(Severity::Info), det(Severity::Info)]), ("clean", 0));
        assert_eq!(
            verdict(&[det(Severity::Info), det(Severity::Low)]),
            ("suspicious", 20)
        );
        let mut r = Report::empty();
        r.detections = vec![det(Severity::Info)];
        assert_eq!(r.gate_severity(), None);
    }

    fn judged(outcome: &ContainerOutcome, trace: &RunTrace) -> Observation {
        let image = ImageInfo {
            reference: "i".into(),
            id: "x".into(),
            working_dir: "/".into(),
            config: ImageConfig::default(),
        };
        let cfg = SandboxConfig::new("i");
        let facts = RunFacts {
            run_id: "r",
            image: &image,
            started_at: String::new(),
            finished_at: String::new(),
            sandbox: &cfg,
            layers: None,
            outcome,
            capture: CaptureStats::default(),
        };
        Observation::judge(&facts, trace)
    }

    #[test]
    fn an_early_error_exit_or_a_run_never_seen_is_incomplete() {
        use crate::capture::EventSink;
        let mut trace = RunTrace::new("/", 10);
        let unseen = judged(&ContainerOutcome::default(), &trace);
        assert!(!unseen.complete);
        assert!(unseen.reasons[0].contains("never observed"));
        trace.event(crate::event::Event {
            seq: 0,
            ts_ns: 1,
            kind: sandtrace_common::EventKind::Exec,
            pid: 10,
            tid: 10,
            ppid: 1,
            uid: 0,
            gid: 0,
            cgroup_id: 0,
            comm: "sh".into(),
            truncated: false,
            data: crate::event::EventData::Exec {
                filename: "/bin/sh".into(),
                argv: vec!["sh".into()],
                argv_truncated: false,
                env: Vec::new(),
            },
        });
        let mut early = ContainerOutcome {
            exit_code: 1,
            ran: std::time::Duration::from_millis(800),
            ..Default::default()
        };
        let o = judged(&early, &trace);
        assert!(!o.complete);
        assert_eq!(o.reasons, ["the sample exited with code 1 after 0.8 s"]);
        // A service killed at the time limit, or a job that ended well, ran.
        early.timed_out = true;
        assert!(judged(&early, &trace).complete);
        let ok = ContainerOutcome {
            exit_code: 0,
            ran: std::time::Duration::from_millis(300),
            ..Default::default()
        };
        assert!(judged(&ok, &trace).complete);
    }
}
