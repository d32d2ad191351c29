//! The commands of the `sandtrace` binary, one module each with its arguments, and what they share
//! (durations, report output, opening the run database, loading rules).

pub mod analyze;
pub mod diff;
pub mod doctor;
pub mod gc;
pub mod prune;
pub mod query;
pub mod rules;
pub mod runs;
pub mod show;
pub mod techniques;

use anyhow::Context as _;
use sandtrace::{detect::RuleSet, store::Store};

/// A duration argument (`30s`, `2m`, `7d`), between 1 s and 24 h.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 2m, 1h)"))?;
    if d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(24 * 3600) {
        return Err("must be between 1s and 24h".into());
    }
    Ok(d)
}

/// An age argument (`24h`, `7d`, `30d`): how far back `--since` and `--older-than` reach.
pub fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 24h, 7d, 30d)"))?;
    if d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(100 * 365 * 24 * 3600) {
        return Err("must be between 1s and 100 years".into());
    }
    Ok(d)
}

/// Today's date (UTC), for policy expiry.
pub fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}

/// Fails early when the report could not be written (missing directory, permissions).
pub fn check_writable(path: &std::path::Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    anyhow::ensure!(
        dir.is_dir(),
        "cannot write {}: no directory {}",
        path.display(),
        dir.display()
    );
    anyhow::ensure!(
        !path.is_dir(),
        "cannot write {}: it is a directory",
        path.display()
    );
    Ok(())
}

/// Renders a report into a writer.
pub type Render<'a> = dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + 'a;

/// Writes the report to the file (atomically: a temporary file renamed) or stdout.
pub fn emit(output: Option<&std::path::Path>, render: &Render<'_>) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            // A fresh, exclusively created file beside the target (never a fixed name that a
            // symlink could redirect or another run could share), synced, then renamed over it;
            // removed if anything fails.
            let mut tmp = tempfile::Builder::new()
                .prefix(".sandtrace-report-")
                .tempfile_in(dir)
                .with_context(|| format!("cannot write {}", path.display()))?;
            render(tmp.as_file_mut())
                .and_then(|()| {
                    use std::os::unix::fs::PermissionsExt as _;
                    // Readable like any report, not the temporary file's private 0600.
                    tmp.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o644))
                })
                .and_then(|()| tmp.as_file().sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tmp.persist(path)
                .map_err(|e| e.error)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            render(&mut lock)
                .and_then(|()| std::io::Write::flush(&mut lock))
                .context("cannot write the report to stdout")?;
        }
    }
    Ok(())
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Opens an existing database read-only (forensics commands never write).
pub fn open_existing(db: Option<&std::path::Path>) -> anyhow::Result<Store> {
    let path = sandtrace::store::default_path(db);
    anyhow::ensure!(
        path.exists(),
        "no run database at {} (analyze something first, or pass --db)",
        path.display()
    );
    Ok(Store::open_read_only(&path)?)
}

/// The shipped rules, or those of `dir`.
pub fn load_rules(dir: Option<&std::path::Path>) -> anyhow::Result<RuleSet> {
    Ok(match dir {
        Some(d) => RuleSet::load_dir(d)?,
        None => RuleSet::bundled()?,
    })
}

/// An error and its causes on one line (library errors often repeat their source: said once).
pub fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain().map(ToString::to_string) {
        if !msg.contains(&cause) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&cause);
        }
    }
    msg.replace('\n', " ")
}
