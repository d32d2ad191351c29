//! The Docker side of a run: a hardened, throw-away container under the run's cgroup.
//!
//! Every container sandtrace creates is named `sandtrace-<run>` and labelled `sandtrace.run=<run>`,
//! so [`Sandbox::gc`] can find and remove leftovers of crashed runs.

pub mod cgroup;
pub mod changes;
pub mod runlock;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use bollard::{
    Docker,
    models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, Ipam, IpamConfig, NetworkCreateRequest},
    query_parameters::{
        CreateContainerOptionsBuilder, ImportImageOptionsBuilder, KillContainerOptionsBuilder,
        ListContainersOptionsBuilder, ListNetworksOptionsBuilder, LogsOptionsBuilder,
        RemoveContainerOptionsBuilder,
    },
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

/// Label carried by every sandtrace container.
pub const RUN_LABEL: &str = "sandtrace.run";

/// Why the sandbox could not do its part.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// No Docker daemon answered.
    #[error("cannot reach the Docker daemon ({0}); is dockerd running? (`cargo xtask setup` starts one)")]
    NoDocker(String),
    /// The image is not in the local store.
    #[error(
        "image {0} is not present locally (sandtrace never pulls: docker build/load it, or pass --archive FILE.tar)"
    )]
    ImageNotFound(String),
    /// The archive could not be read or loaded.
    #[error("cannot load archive {path}: {reason}")]
    Archive {
        /// The archive path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Any other Docker API failure.
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// The run cgroup could not be set up or removed.
    #[error(transparent)]
    Cgroup(#[from] cgroup::CgroupError),
    /// The sinkhole network could not be set up.
    #[error("sinkhole network: {0}")]
    Network(String),
}

/// Network given to the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// No network at all: only loopback; connect attempts fail and are recorded.
    None,
    /// A network of the run's own whose only other member is sandtrace's sinkhole: every name resolves,
    /// every TCP connection and UDP datagram to any address is accepted and recorded; nothing leaves.
    Sinkhole,
}

impl NetworkMode {
    /// Name as used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Sinkhole => "sinkhole",
        }
    }
}

/// The Docker network of a sinkhole run.
#[derive(Clone, Debug)]
pub struct SinkNetwork {
    /// Docker network name (`sandtrace-<run>`).
    pub name: String,
    /// Linux bridge device (`st-<8 hex>`).
    pub bridge: String,
    /// The /24 of the run.
    pub subnet: ipnet::Ipv4Net,
    /// Its first address: the sample's default gateway and resolver, owned by the sinkhole.
    pub gateway: std::net::Ipv4Addr,
}

/// IPv4 routes of the host as (network, prefix length), from /proc/net/route.
fn host_routes() -> Vec<ipnet::Ipv4Net> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let dest = std::net::Ipv4Addr::from(u32::from_be(dest));
            let prefix = u8::try_from(u32::from_be(mask).leading_ones()).ok()?;
            ipnet::Ipv4Net::new(dest, prefix).ok()
        })
        .collect()
}

/// How much of what `docker run IMAGE` gives an image the sandbox gives it. What protects the
/// host is the same in both: no network or the sinkhole, no host mounts, Docker's default seccomp
/// profile, pids/memory/CPU limits, the time limit and the run's cgroup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SandboxProfile {
    /// What the image gets in production: Docker's default capability set, setuid binaries
    /// working, the image's writable layer (so dropped files are kept for the report).
    #[default]
    Default,
    /// Every capability dropped, no-new-privileges, /tmp a 64 MiB tmpfs. Images that start as
    /// root and drop to a service user cannot start here; such runs are marked incomplete.
    Strict,
}

impl SandboxProfile {
    /// Name as used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxProfile::Default => "default",
            SandboxProfile::Strict => "strict",
        }
    }
}

/// Limits and options of one sandboxed run.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Image reference or id.
    pub image: String,
    /// Command overriding the image's CMD (entrypoint kept).
    pub cmd: Option<Vec<String>>,
    /// Wall-clock limit, after which the container is killed.
    pub timeout: Duration,
    /// Network mode.
    pub network: NetworkMode,
    /// Maximum number of tasks (fork bombs stop here).
    pub pids_limit: i64,
    /// Memory limit in bytes (swap disabled).
    pub memory_bytes: i64,
    /// CPU limit in billionths of a CPU.
    pub nano_cpus: i64,
    /// Bytes of stdout and of stderr kept.
    pub output_limit: usize,
    /// Capability and privilege profile.
    pub profile: SandboxProfile,
    /// Environment added to the image's (`K=V`).
    pub env: Vec<String>,
    /// User (`name`, `uid`, `uid:gid`) instead of the image's.
    pub user: Option<String>,
    /// Entrypoint instead of the image's (an empty list clears it).
    pub entrypoint: Option<Vec<String>>,
    /// Working directory instead of the image's.
    pub workdir: Option<String>,
    /// Capabilities added to the profile's set.
    pub cap_add: Vec<String>,
    /// Capabilities dropped from the profile's set.
    pub cap_drop: Vec<String>,
    /// Root file system read-only.
    pub read_only: bool,
    /// Extra tmpfs mounts (`/path` or `/path:options`).
    pub tmpfs: Vec<String>,
    /// Most bytes the sample may write to its writable layer (a watchdog kills it beyond them).
    pub disk_limit: u64,
}

/// Most files and directories the sample may create in its writable layer (inodes are a host
/// resource too): beyond them the disk watchdog kills it, as for the byte limit.
pub const DISK_FILES_LIMIT: u64 = 200_000;
/// How often the disk watchdog measures the writable layer (a fast writer may overshoot the
/// limit by what it writes in this time).
const DISK_POLL: Duration = Duration::from_millis(250);

/// What the sample wrote to its writable layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskUse {
    /// Bytes allocated (blocks, so sparse files count what they really take).
    pub bytes: u64,
    /// Files, directories and links.
    pub files: u64,
}

impl DiskUse {
    /// Measures a directory tree without following links, stopping once `files_limit` is passed.
    pub fn of(dir: &Path, files_limit: u64) -> DiskUse {
        use std::os::unix::fs::MetadataExt;
        let mut used = DiskUse::default();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(m) = e.metadata() else { continue };
                used.files += 1;
                used.bytes += m.blocks() * 512;
                if m.is_dir() {
                    stack.push(e.path());
                }
                if used.files > files_limit {
                    return used;
                }
            }
        }
        used
    }

    /// Beyond the limits.
    pub fn exceeds(&self, bytes: u64, files: u64) -> bool {
        self.bytes > bytes || self.files > files
    }
}

impl SandboxConfig {
    /// Defaults for an image: 30 s, no network, 256 tasks, 512 MiB, one CPU, 64 KiB of output.
    pub fn new(image: impl Into<String>) -> SandboxConfig {
        SandboxConfig {
            image: image.into(),
            cmd: None,
            timeout: Duration::from_secs(30),
            network: NetworkMode::None,
            pids_limit: 256,
            memory_bytes: 512 << 20,
            nano_cpus: 1_000_000_000,
            output_limit: 64 << 10,
            profile: SandboxProfile::Default,
            env: Vec::new(),
            user: None,
            entrypoint: None,
            workdir: None,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            read_only: false,
            tmpfs: Vec::new(),
            disk_limit: 1 << 30,
        }
    }
}

/// What loading an archive did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveLoad {
    /// Content ids (`sha256:...`) of the images in the archive (or Docker's references for them).
    pub images: Vec<String>,
    /// The first tag the archive's manifest gives each image (its name in reports), if any.
    pub tags: Vec<Option<String>>,
    /// Every image was already in the local store: nothing was loaded.
    pub already_present: bool,
    /// Time spent.
    pub took: Duration,
}

/// The content ids of the images a `docker save` archive holds, from its `manifest.json`
/// (`Config` is `<hex>.json` in Docker's own format, `blobs/sha256/<hex>` in the OCI layout).
/// Entries are skipped by seeking, so a large archive is not read through. Empty when there is no
/// manifest (Docker is then left to say what it loaded).
pub fn archive_image_ids(path: &Path) -> Result<Vec<(String, Option<String>)>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(file);
    let entries = archive
        .entries_with_seek()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let is_manifest = entry
            .path()
            .is_ok_and(|p| p.as_os_str() == "manifest.json" || p.as_os_str() == "./manifest.json");
        if !is_manifest {
            continue;
        }
        let mut text = String::new();
        entry
            .by_ref()
            .take(4 << 20)
            .read_to_string(&mut text)
            .map_err(|e| format!("manifest.json: {e}"))?;
        let manifest: Vec<ManifestEntry> =
            serde_json::from_str(&text).map_err(|e| format!("manifest.json: {e}"))?;
        let mut ids = Vec::new();
        for m in manifest {
            let name = m.config.rsplit('/').next().unwrap_or(&m.config);
            let hex = name.strip_suffix(".json").unwrap_or(name);
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "manifest.json: config {:?} is not a sha256 digest",
                    m.config
                ));
            }
            ids.push((format!("sha256:{hex}"), m.repo_tags.into_iter().next()));
        }
        return Ok(ids);
    }
    Ok(Vec::new())
}

/// The tag an archive's image is loaded under: sandtrace's own namespace, named by content, so
/// no tag of the host's is ever touched.
pub fn archive_tag(config_hex: &str) -> String {
    let short: String = config_hex
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    format!("sandtrace-archive/{short}:loaded")
}

/// Copies a `docker save` archive to `out` with its tags replaced by [`archive_tag`]: `RepoTags`
/// of manifest.json rewritten, the legacy `repositories` file left out.
pub fn retag_archive(path: &Path, out: impl std::io::Write) -> Result<(), String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(std::io::BufReader::with_capacity(1 << 20, file));
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Complete);
    for entry in archive.entries().map_err(|e| format!("not a tar archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let name = entry.path().map_err(|e| e.to_string())?.into_owned();
        let mut header = entry.header().clone();
        let plain = name.to_string_lossy().trim_start_matches("./").to_string();
        if plain == "repositories" {
            continue;
        }
        if plain == "manifest.json" {
            let mut text = String::new();
            entry
                .by_ref()
                .take(4 << 20)
                .read_to_string(&mut text)
                .map_err(|e| format!("manifest.json: {e}"))?;
            let mut manifest: Vec<serde_json::Value> =
                serde_json::from_str(&text).map_err(|e| format!("manifest.json: {e}"))?;
            for m in &mut manifest {
                let config = m["Config"].as_str().unwrap_or_default();
                let name = config.rsplit('/').next().unwrap_or(config);
                let tag = archive_tag(name.strip_suffix(".json").unwrap_or(name));
                m["RepoTags"] = serde_json::json!([tag]);
            }
            let bytes = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
            header.set_size(bytes.len() as u64);
            builder
                .append_data(&mut header, &name, bytes.as_slice())
                .map_err(|e| format!("rewriting the archive: {e}"))?;
            continue;
        }
        let kind = header.entry_type();
        let written = if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(|e| e.to_string())?
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            builder.append_link(&mut header, &name, target)
        } else {
            builder.append_data(&mut header, &name, &mut entry)
        };
        written.map_err(|e| format!("rewriting the archive: {e}"))?;
    }
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|e| format!("rewriting the archive: {e}"))
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Vec<String>,
}

/// What Docker says about the image.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageInfo {
    /// Reference as given.
    pub reference: String,
    /// Content id (`sha256:...`).
    pub id: String,
    /// Working directory of the image (`/` when unset).
    pub working_dir: String,
    /// The image's own run configuration.
    pub config: ImageConfig,
}

/// What the image itself says about how it runs (honoured by the sandbox, shown in the report).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageConfig {
    /// `USER` (empty: root).
    #[serde(default)]
    pub user: String,
    /// `ENV`, as `K=V`.
    #[serde(default)]
    pub env: Vec<String>,
    /// `ENTRYPOINT`.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// `CMD`.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// `WORKDIR`.
    #[serde(default)]
    pub working_dir: String,
    /// `EXPOSE`d ports (`80/tcp`).
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    /// `HEALTHCHECK` test, when the image has one.
    #[serde(default)]
    pub healthcheck: Vec<String>,
}

/// How the container ended.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContainerOutcome {
    /// Container id.
    pub container_id: String,
    /// Exit code of the entrypoint (137 when killed).
    pub exit_code: i64,
    /// Killed at the time limit.
    pub timed_out: bool,
    /// Killed by the kernel for exceeding the memory limit.
    pub oom_killed: bool,
    /// Killed by the disk watchdog: what it wrote when it was killed.
    pub disk_limited: Option<DiskUse>,
    /// The disk limit could not be watched (no overlay upper directory): why.
    pub disk_unwatched: Option<String>,
    /// Captured standard output (bounded, lossy).
    pub stdout: String,
    /// Captured standard error (bounded, lossy).
    pub stderr: String,
    /// Output beyond the bound was dropped.
    pub output_truncated: bool,
    /// From start to exit (or kill).
    #[serde(skip)]
    pub ran: Duration,
    /// What the run changed on disk.
    #[serde(skip)]
    pub changes: changes::FileChanges,
}

/// Returns once the writable layer passes the limit (never, when there is none to watch).
async fn watch_disk(upper: Option<PathBuf>, limit: u64) -> DiskUse {
    let Some(upper) = upper else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(DISK_POLL).await;
        let dir = upper.clone();
        let used = tokio::task::spawn_blocking(move || DiskUse::of(&dir, DISK_FILES_LIMIT))
            .await
            .unwrap_or_default();
        if used.exceeds(limit, DISK_FILES_LIMIT) {
            return used;
        }
    }
}

/// A connection to the Docker daemon.
#[derive(Clone, Debug)]
pub struct Sandbox {
    docker: Docker,
}

impl Sandbox {
    /// Connects to the local daemon and negotiates the API version (Debian's dockerd tops out at 1.41).
    pub async fn connect() -> Result<Sandbox, SandboxError> {
        let docker =
            Docker::connect_with_local_defaults().map_err(|e| SandboxError::NoDocker(e.to_string()))?;
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| SandboxError::NoDocker("no answer within 10 s".into()))?
            .map_err(|e| SandboxError::NoDocker(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| SandboxError::NoDocker(e.to_string()))?;
        Ok(Sandbox { docker })
    }

    /// Loads a `docker save` archive, streamed from disk. When every image its manifest names is
    /// already in the local store (same content id), nothing is loaded at all.
    pub async fn load_archive(&self, path: &Path) -> Result<ArchiveLoad, SandboxError> {
        let started = std::time::Instant::now();
        let archive_err = |reason: String| SandboxError::Archive {
            path: path.display().to_string(),
            reason,
        };
        let owned = path.to_path_buf();
        let named = tokio::task::spawn_blocking(move || archive_image_ids(&owned))
            .await
            .map_err(|e| archive_err(e.to_string()))?
            .map_err(archive_err)?;
        let (ids, tags): (Vec<String>, Vec<Option<String>>) = named.into_iter().unzip();
        let mut present = !ids.is_empty();
        for id in &ids {
            present &= self.docker.inspect_image(id).await.is_ok();
        }
        if present {
            return Ok(ArchiveLoad {
                images: ids,
                tags,
                already_present: true,
                took: started.elapsed(),
            });
        }
        // The archive goes to Docker through a pipe, rewritten on the way so that it names no tag
        // of the host's: an archive claiming `alpine:latest` must not repoint it.
        let (reader, writer) = std::io::pipe().map_err(|e| archive_err(e.to_string()))?;
        let source = path.to_path_buf();
        let rewriter = tokio::task::spawn_blocking(move || retag_archive(&source, writer));
        let file = tokio::fs::File::from_std(std::fs::File::from(std::os::fd::OwnedFd::from(reader)));
        let body = futures_util::stream::unfold(file, |mut f| async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), f))
                }
                Err(e) => Some((Err(e), f)),
            }
        });
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut stream = self.docker.import_image_stream(options, body, None);
        let mut loaded = Vec::new();
        let mut failure = None;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(i) => i,
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            };
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                failure = Some(err);
                break;
            }
            for line in info.stream.iter().flat_map(|s| s.lines()) {
                if let Some(r) = line
                    .strip_prefix("Loaded image: ")
                    .or_else(|| line.strip_prefix("Loaded image ID: "))
                {
                    loaded.push(r.trim().to_string());
                }
            }
        }
        drop(stream);
        // The rewriter's own error says more than Docker's "unexpected EOF".
        match rewriter.await {
            Ok(Err(e)) => return Err(archive_err(e)),
            Err(e) => return Err(archive_err(e.to_string())),
            Ok(Ok(())) => {}
        }
        if let Some(e) = failure {
            return Err(archive_err(e));
        }
        // The manifest's content ids name exactly what was loaded; fall back to Docker's words.
        let (images, tags) = if ids.is_empty() {
            let tags = loaded.iter().map(|r| Some(r.clone())).collect();
            (loaded, tags)
        } else {
            (ids, tags)
        };
        if images.is_empty() {
            return Err(archive_err("no image in the archive".into()));
        }
        Ok(ArchiveLoad {
            images,
            tags,
            already_present: false,
            took: started.elapsed(),
        })
    }

    /// Looks the image up in the local store.
    pub async fn inspect_image(&self, reference: &str) -> Result<ImageInfo, SandboxError> {
        match self.docker.inspect_image(reference).await {
            Ok(img) => {
                let c = img.config.unwrap_or_default();
                let mut exposed_ports: Vec<String> = c.exposed_ports.unwrap_or_default();
                exposed_ports.sort();
                let config = ImageConfig {
                    user: c.user.unwrap_or_default(),
                    env: c.env.unwrap_or_default(),
                    entrypoint: c.entrypoint.unwrap_or_default(),
                    cmd: c.cmd.unwrap_or_default(),
                    working_dir: c.working_dir.unwrap_or_default(),
                    exposed_ports,
                    healthcheck: c.healthcheck.and_then(|h| h.test).unwrap_or_default(),
                };
                Ok(ImageInfo {
                    reference: reference.to_string(),
                    id: img.id.unwrap_or_default(),
                    working_dir: if config.working_dir.is_empty() {
                        "/".into()
                    } else {
                        config.working_dir.clone()
                    },
                    config,
                })
            }
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                Err(SandboxError::ImageNotFound(reference.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the hardened container (not started).
    pub async fn create(
        &self,
        cfg: &SandboxConfig,
        run_id: &str,
        cgroup_parent: &str,
        sink: Option<&SinkNetwork>,
    ) -> Result<String, SandboxError> {
        let name = format!("{}{run_id}", cgroup::PREFIX);
        let mut tmpfs = HashMap::new();
        let strict = cfg.profile == SandboxProfile::Strict;
        if strict {
            // exec allowed: droppers must be seen running. (The default profile keeps /tmp in the
            // writable layer, as production does, so what was dropped there is in the report.)
            tmpfs.insert("/tmp".to_string(), "rw,exec,nosuid,size=64m".to_string());
        }
        for t in &cfg.tmpfs {
            let (path, opts) = t.split_once(':').unwrap_or((t.as_str(), "rw,nosuid,size=64m"));
            tmpfs.insert(path.to_string(), opts.to_string());
        }
        let mut cap_drop = cfg.cap_drop.clone();
        let mut security_opt = Vec::new();
        if strict {
            cap_drop.insert(0, "ALL".into());
            security_opt.push("no-new-privileges".to_string());
        }
        let mut log_opts = HashMap::new();
        // The daemon stores output on disk: a chatty sample must not fill it.
        log_opts.insert("max-size".to_string(), "1m".to_string());
        log_opts.insert("max-file".to_string(), "1".to_string());
        let host = HostConfig {
            network_mode: Some(match (&cfg.network, sink) {
                (NetworkMode::Sinkhole, Some(n)) => n.name.clone(),
                _ => "none".to_string(),
            }),
            // The sinkhole answers DNS; without an explicit server Docker's resolver would forward
            // to the host's.
            dns: sink.map(|n| vec![n.gateway.to_string()]),
            cap_drop: (!cap_drop.is_empty()).then_some(cap_drop),
            cap_add: (!cfg.cap_add.is_empty()).then(|| cfg.cap_add.clone()),
            security_opt: (!security_opt.is_empty()).then_some(security_opt),
            pids_limit: Some(cfg.pids_limit),
            memory: Some(cfg.memory_bytes),
            memory_swap: Some(cfg.memory_bytes),
            nano_cpus: Some(cfg.nano_cpus),
            cgroup_parent: Some(cgroup_parent.to_string()),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            readonly_rootfs: Some(cfg.read_only),
            // Never: host paths, devices, the host's namespaces or privileged mode.
            privileged: Some(false),
            auto_remove: Some(false),
            init: Some(false),
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: Some(log_opts),
            }),
            ..Default::default()
        };
        let mut labels = HashMap::new();
        labels.insert(RUN_LABEL.to_string(), run_id.to_string());
        let body = ContainerCreateBody {
            image: Some(cfg.image.clone()),
            cmd: cfg.cmd.clone(),
            entrypoint: cfg.entrypoint.clone(),
            env: (!cfg.env.is_empty()).then(|| cfg.env.clone()),
            user: cfg.user.clone(),
            working_dir: cfg.workdir.clone(),
            labels: Some(labels),
            host_config: Some(host),
            network_disabled: Some(sink.is_none()),
            attach_stdin: Some(false),
            open_stdin: Some(false),
            tty: Some(false),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self.docker.create_container(Some(options), body).await?;
        Ok(created.id)
    }

    /// Starts the container, waits for it to exit or for the time limit (then kills it), and
    /// collects its exit status and bounded output. The container is left for [`Sandbox::remove`].
    pub async fn run_to_end(&self, id: &str, cfg: &SandboxConfig) -> Result<ContainerOutcome, SandboxError> {
        self.docker.start_container(id, None).await?;
        let t0 = std::time::Instant::now();
        let mut outcome = ContainerOutcome {
            container_id: id.to_string(),
            ..Default::default()
        };
        let upper = self.upper_dir(id).await;
        if upper.is_none() {
            outcome.disk_unwatched = Some("the storage driver gives no overlay upper directory".into());
        }
        let watched = async {
            tokio::select! {
                () = self.wait_exit(id) => None,
                used = watch_disk(upper, cfg.disk_limit) => Some(used),
            }
        };
        let waited = tokio::time::timeout(cfg.timeout, watched).await;
        let kill = match waited {
            Err(_) => {
                outcome.timed_out = true;
                true
            }
            Ok(Some(used)) => {
                outcome.disk_limited = Some(used);
                true
            }
            Ok(None) => false,
        };
        if kill {
            self.kill(id).await;
            // The kill is asynchronous; wait for the exit to be recorded.
            let _ = tokio::time::timeout(Duration::from_secs(15), self.wait_exit(id)).await;
        }
        outcome.ran = t0.elapsed();
        let state = self
            .docker
            .inspect_container(id, None)
            .await?
            .state
            .unwrap_or_default();
        outcome.exit_code = state.exit_code.unwrap_or(-1);
        outcome.oom_killed = state.oom_killed.unwrap_or(false);
        self.collect_output(id, cfg.output_limit, &mut outcome).await;
        Ok(outcome)
    }

    /// The container's writable layer on the host (overlay2's `UpperDir`).
    async fn upper_dir(&self, id: &str) -> Option<PathBuf> {
        let c = self.docker.inspect_container(id, None).await.ok()?;
        c.graph_driver?.data.get("UpperDir").map(PathBuf::from)
    }

    async fn wait_exit(&self, id: &str) {
        let mut stream = self.docker.wait_container(id, None);
        // A non-zero exit arrives as an error item; either way the container has stopped.
        while let Some(item) = stream.next().await {
            if item.is_ok() || matches!(item, Err(bollard::errors::Error::DockerContainerWaitError { .. })) {
                return;
            }
            // Connection hiccup: poll again shortly.
            tokio::time::sleep(Duration::from_millis(100)).await;
            stream = self.docker.wait_container(id, None);
        }
    }

    async fn kill(&self, id: &str) {
        let options = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
        if let Err(e) = self.docker.kill_container(id, Some(options)).await {
            tracing::debug!(error = %e, "kill (container may already be gone)");
        }
    }

    async fn collect_output(&self, id: &str, limit: usize, outcome: &mut ContainerOutcome) {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(false)
            .build();
        let mut stream = self.docker.logs(id, Some(options));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(Ok(chunk)) = stream.next().await {
            let (buf, msg) = match &chunk {
                bollard::container::LogOutput::StdOut { message }
                | bollard::container::LogOutput::Console { message } => (&mut out, message),
                bollard::container::LogOutput::StdErr { message } => (&mut err, message),
                bollard::container::LogOutput::StdIn { .. } => continue,
            };
            let room = limit.saturating_sub(buf.len());
            if msg.len() > room {
                outcome.output_truncated = true;
            }
            buf.extend_from_slice(&msg[..msg.len().min(room)]);
            if out.len() >= limit && err.len() >= limit {
                outcome.output_truncated = true;
                break;
            }
        }
        outcome.stdout = crate::event::lossy_text(&out);
        outcome.stderr = crate::event::lossy_text(&err);
    }

    /// What the stopped container changed on disk, and its layers (overlay2) to look paths up in.
    /// Never fails: what could not be read is said in [`changes::FileChanges::error`].
    pub async fn file_changes(
        &self,
        id: &str,
        keep: Option<&Path>,
    ) -> (changes::FileChanges, Option<changes::LayerFs>) {
        let raw = match self.docker.container_changes(id).await {
            Ok(list) => list
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    let kind = match c.kind {
                        bollard::models::ChangeType::_1 => 1,
                        bollard::models::ChangeType::_2 => 2,
                        bollard::models::ChangeType::_0 => 0,
                    };
                    (c.path, kind)
                })
                .collect(),
            Err(e) => {
                return (
                    changes::FileChanges {
                        error: Some(format!("docker changes: {e}")),
                        ..Default::default()
                    },
                    None,
                );
            }
        };
        let fs = match self.docker.inspect_container(id, None).await {
            Ok(c) => c.graph_driver.and_then(|g| {
                let upper = g.data.get("UpperDir")?;
                Some(changes::LayerFs::from_overlay(
                    upper,
                    g.data.get("LowerDir").map(String::as_str),
                ))
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot inspect the container's layers");
                None
            }
        };
        let keep = keep.map(Path::to_path_buf);
        let fs2 = fs.clone();
        // Hashing reads files: off the async threads.
        let collected =
            tokio::task::spawn_blocking(move || changes::collect(raw, fs2.as_ref(), keep.as_deref()))
                .await
                .unwrap_or_else(|e| changes::FileChanges {
                    error: Some(format!("reading changes: {e}")),
                    ..Default::default()
                });
        (collected, fs)
    }

    /// Kills (if needed) and removes a container. Errors are logged: cleanup must go on.
    pub async fn remove(&self, id: &str) {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        if let Err(e) = self.docker.remove_container(id, Some(options)).await {
            match e {
                bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => {}
                e => tracing::warn!(container = id, error = %e, "cannot remove container"),
            }
        }
    }

    /// Removes every sandtrace container and run cgroup whose run is no longer alive (its analyzer
    /// died or was killed). Runs in progress, of this or another analyzer, are left alone.
    /// Creates the run's sinkhole network: a bridge with no address on the host
    /// (`inhibit_ipv4`), so the gateway address is free for the sinkhole; a /24 of 10.213.0.0/16 that
    /// overlaps no host route; labelled with the run id.
    pub async fn create_sink_network(&self, run_id: &str) -> Result<SinkNetwork, SandboxError> {
        let tag: String = run_id
            .rsplit('-')
            .next()
            .unwrap_or(run_id)
            .chars()
            .take(8)
            .collect();
        let bridge = format!("st-{tag}");
        let name = format!("{}{run_id}", cgroup::PREFIX);
        let routes = host_routes();
        let start = u8::from_str_radix(tag.get(..2).unwrap_or("00"), 16).unwrap_or(0);
        let mut last_err = None;
        for step in 0..=255u8 {
            let third = start.wrapping_add(step);
            let subnet = ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, 213, third, 0), 24)
                .map_err(|e| SandboxError::Network(e.to_string()))?;
            // The default route (0.0.0.0/0) contains everything; only specific routes conflict.
            if routes.iter().any(|r| {
                r.prefix_len() > 0 && (r.contains(&subnet.network()) || subnet.contains(&r.network()))
            }) {
                continue;
            }
            let gateway = std::net::Ipv4Addr::new(10, 213, third, 1);
            let mut labels = HashMap::new();
            labels.insert(RUN_LABEL.to_string(), run_id.to_string());
            let mut options = HashMap::new();
            options.insert("com.docker.network.bridge.name".to_string(), bridge.clone());
            options.insert(
                "com.docker.network.bridge.inhibit_ipv4".to_string(),
                "true".to_string(),
            );
            options.insert(
                "com.docker.network.bridge.enable_ip_masquerade".to_string(),
                "false".to_string(),
            );
            options.insert(
                "com.docker.network.bridge.enable_icc".to_string(),
                "true".to_string(),
            );
            let req = NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".into()),
                internal: Some(false),
                attachable: Some(false),
                enable_ipv6: Some(false),
                ipam: Some(Ipam {
                    driver: Some("default".into()),
                    config: Some(vec![IpamConfig {
                        subnet: Some(subnet.to_string()),
                        gateway: Some(gateway.to_string()),
                        ..Default::default()
                    }]),
                    options: None,
                }),
                options: Some(options),
                labels: Some(labels),
                ..Default::default()
            };
            match self.docker.create_network(req).await {
                Ok(_) => {
                    return Ok(SinkNetwork {
                        name,
                        bridge,
                        subnet,
                        gateway,
                    });
                }
                // Another run (or network) holds this /24: try the next.
                Err(e) => last_err = Some(e.to_string()),
            }
        }
        Err(SandboxError::Network(format!(
            "no free /24 in 10.213.0.0/16 for the sinkhole network ({})",
            last_err.unwrap_or_default()
        )))
    }

    /// Removes a network (by name); missing is fine.
    pub async fn remove_network(&self, name: &str) {
        if let Err(e) = self.docker.remove_network(name).await
            && !matches!(
                e,
                bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }
            )
        {
            tracing::warn!(network = %name, error = %e, "cannot remove the run network");
        }
    }

    /// Removes containers, networks and cgroups of runs whose analyzer is gone.
    pub async fn gc(&self) -> Result<Vec<String>, SandboxError> {
        let mut filters = HashMap::new();
        filters.insert("label".to_string(), vec![RUN_LABEL.to_string()]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let mut removed = Vec::new();
        for c in self.docker.list_containers(Some(options)).await? {
            let run = c
                .labels
                .as_ref()
                .and_then(|l| l.get(RUN_LABEL))
                .cloned()
                .unwrap_or_default();
            if runlock::is_live(&run) {
                continue;
            }
            if let Some(id) = c.id {
                self.remove(&id).await;
                removed.push(format!(
                    "container {}",
                    c.names.and_then(|n| n.first().cloned()).unwrap_or(id)
                ));
            }
        }
        for name in cgroup::leftovers()? {
            if runlock::is_live(name.trim_start_matches(cgroup::PREFIX)) {
                continue;
            }
            match cgroup::remove_named(&name) {
                Ok(()) => removed.push(format!("cgroup {name}")),
                Err(e) => tracing::warn!(cgroup = %name, error = %e, "cannot remove leftover cgroup"),
            }
        }
        let mut filters = HashMap::new();
        filters.insert("label".to_string(), vec![RUN_LABEL.to_string()]);
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        for n in self.docker.list_networks(Some(options)).await? {
            let run = n
                .labels
                .as_ref()
                .and_then(|l| l.get(RUN_LABEL))
                .cloned()
                .unwrap_or_default();
            if runlock::is_live(&run) {
                continue;
            }
            if let Some(name) = n.name {
                self.remove_network(&name).await;
                removed.push(format!("network {name}"));
            }
        }
        removed.extend(runlock::remove_dead_locks());
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_use_counts_allocated_blocks_and_stops_at_the_file_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).expect("mkdir");
        std::fs::write(d.join("a/b/data"), vec![7u8; 1 << 20]).expect("write");
        // A sparse file claims 1 GiB but takes (almost) nothing.
        std::fs::File::create(d.join("sparse"))
            .and_then(|f| f.set_len(1 << 30))
            .expect("sparse");
        std::os::unix::fs::symlink("/etc", d.join("link")).expect("symlink");
        let used = DiskUse::of(d, DISK_FILES_LIMIT);
        assert_eq!(used.files, 5);
        assert!(used.bytes >= 1 << 20 && used.bytes < 2 << 20, "{used:?}");
        assert!(used.exceeds(512 << 10, DISK_FILES_LIMIT));
        assert!(!used.exceeds(4 << 20, DISK_FILES_LIMIT));
        assert!(used.exceeds(4 << 20, 4));
        for i in 0..50 {
            std::fs::write(d.join(format!("f{i}")), b"").expect("write");
        }
        // The walk stops once the bound is passed: it never walks more than the bound allows.
        assert_eq!(DiskUse::of(d, 10).files, 11);
    }

    fn archive(files: &[(&str, &[u8])]) -> std::path::PathBuf {
        let mut rnd = [0u8; 4];
        let _ = getrandom::fill(&mut rnd);
        let path = std::env::temp_dir().join(format!(
            "st-archive-{}-{:x}.tar",
            std::process::id(),
            u32::from_le_bytes(rnd)
        ));
        let mut b = tar::Builder::new(std::fs::File::create(&path).expect("create"));
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).expect("append");
        }
        b.finish().expect("finish");
        path
    }

    #[test]
    fn archive_manifest_names_content_ids_and_tags() {
        let hex = "ab".repeat(32);
        let big = vec![0u8; 1 << 20];
        let manifest = format!(
            r#"[{{"Config":"{hex}.json","RepoTags":["app:1"],"Layers":[]}},{{"Config":"blobs/sha256/{hex}","RepoTags":null}}]"#
        );
        let manifest = manifest.replace("null", "[]");
        let p = archive(&[("layer.tar", &big), ("manifest.json", manifest.as_bytes())]);
        let ids = archive_image_ids(&p).expect("ids");
        assert_eq!(
            ids,
            [
                (format!("sha256:{hex}"), Some("app:1".to_string())),
                (format!("sha256:{hex}"), None)
            ]
        );
        let _ = std::fs::remove_file(p);
        let bad = archive(&[("manifest.json", br#"[{"Config":"../../etc/passwd"}]"#)]);
        assert!(archive_image_ids(&bad).is_err());
        let _ = std::fs::remove_file(bad);
        // Rewritten on the way to Docker: our own tag, no `repositories`, everything else intact.
        let claims =
            format!(r#"[{{"Config":"{hex}.json","RepoTags":["alpine:latest"],"Layers":["l/layer.tar"]}}]"#);
        let long = format!("{}/layer.tar", "d".repeat(120));
        let p = archive(&[
            ("repositories", br#"{"alpine":{"latest":"x"}}"#),
            ("l/layer.tar", b"layer bytes"),
            (long.as_str(), b"long name"),
            ("manifest.json", claims.as_bytes()),
        ]);
        let mut out = Vec::new();
        retag_archive(&p, &mut out).expect("retag");
        let mut names = Vec::new();
        let mut manifest = String::new();
        for e in tar::Archive::new(out.as_slice()).entries().expect("tar") {
            use std::io::Read;
            let mut e = e.expect("entry");
            let name = e.path().expect("path").to_string_lossy().into_owned();
            if name == "manifest.json" {
                e.read_to_string(&mut manifest).expect("read");
            }
            names.push(name);
        }
        assert_eq!(names, ["l/layer.tar", long.as_str(), "manifest.json"]);
        assert!(!manifest.contains("alpine"), "{manifest}");
        assert!(manifest.contains(&archive_tag(&hex)), "{manifest}");
        let _ = std::fs::remove_file(p);
        let none = archive(&[("x", b"y")]);
        assert_eq!(archive_image_ids(&none).expect("no manifest"), []);
        let _ = std::fs::remove_file(none);
    }
}
