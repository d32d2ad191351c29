//! Benchmarks. Figures are printed, and with `--write` put into BENCHMARKS.md between markers.

use std::{
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, corpus, exec, root, setup::DOCKER};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Which {
    /// Capture overhead: the same syscall workload untraced, traced by sandtrace, under strace -f.
    Capture,
    /// Events/s through correlation and the compiled rule set on a recorded stream (no root needed).
    Rules,
    /// Store insert rate and ready-question latency at 10M events over 1,000 runs (no root needed).
    Store,
    /// Analyzer peak memory and time against hostile samples: a 100k-process fork-and-exec storm
    /// with long command lines, and a 1M-event flood.
    Hostile,
    /// From `analyze` to verdict for a trivial image (`true`), minus the sample's own time, per
    /// phase; and per image when several are analysed in one process.
    Latency,
    /// The largest open() rate captured with nothing lost for 10 s, and what is lost beyond it.
    Flood,
    /// `--archive` of the real postgres image (`docker save`, ~1 GB): load + analyze with the image
    /// present, and with only its base layers present.
    Archive,
}

const OPENS: &str = "200000";
const FORKS: &str = "2000";

pub fn run(which: Which, write: bool, runs: usize) -> Result<()> {
    match which {
        Which::Capture => capture(write, runs.max(1)),
        Which::Rules => cargo_bench("rules", write),
        Which::Store => cargo_bench("store", write),
        Which::Archive => archive(write),
        Which::Hostile => hostile(write),
        Which::Latency => latency(write, runs.max(1)),
        Which::Flood => flood(write),
    }
}

/// Set-up, the release binary and the corpus images a benchmark runs: (binary, scratch directory).
fn prepare(images: &[&str]) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    crate::setup::run()?;
    exec(cargo().args(["build", "--release", "-p", "sandtrace"]))?;
    corpus::build(&images.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())?;
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    Ok((root().join("target/release/sandtrace"), dir))
}

/// Target of `bench hostile`: the analyzer's peak resident memory.
const RSS_CEILING_MIB: f64 = 512.0;

/// One analysis under GNU time: (wall s, peak RSS MiB, report).
fn measured_analyze(image: &str, cmd: &[&str], timeout: &str) -> Result<(f64, f64, Value)> {
    let bin = root().join("target/release/sandtrace");
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let rss_file = dir.join("time.txt");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M %e", "-o"])
        .arg(&rss_file)
        .arg(&bin)
        .args([
            "analyze",
            image,
            "--format",
            "json",
            "--quiet",
            "--timeout",
            timeout,
        ])
        .args(["--db"])
        .arg(dir.join("hostile.db"))
        .arg("--")
        .args(cmd)
        .stderr(Stdio::inherit())
        .output()
        .context("/usr/bin/time sandtrace analyze (GNU time installed? cargo xtask setup)")?;
    if out.status.code() == Some(2) {
        bail!("sandtrace analyze {image} failed");
    }
    let report: Value = serde_json::from_slice(&out.stdout).context("report JSON")?;
    let text = std::fs::read_to_string(&rss_file)?;
    let mut f = text.split_whitespace().rev();
    let wall: f64 = f.next().and_then(|x| x.parse().ok()).context("time: wall")?;
    let kib: f64 = f.next().and_then(|x| x.parse().ok()).context("time: max RSS")?;
    Ok((wall, kib / 1024.0, report))
}

fn hostile(write: bool) -> Result<()> {
    prepare(&["h-process-storm", "flood"])?;
    let mut rows = String::new();
    let cases: [(&str, &str, &[&str], &str); 2] = [
        (
            "fork-and-exec storm: 100,000 processes, 16 x 200-byte arguments each",
            "h-process-storm",
            &["100000"],
            "600s",
        ),
        ("event flood: 1,000,000 open calls", "flood", &["1000000"], "300s"),
    ];
    let mut worst: f64 = 0.0;
    for (what, name, cmd, timeout) in cases {
        let (wall, rss, r) = measured_analyze(&corpus::image_name(name), cmd, timeout)?;
        worst = worst.max(rss);
        let stats = &r["stats"];
        rows.push_str(&format!(
            "| {what} | {:.1} s | {:.0} MiB | {} | {} | {} | {} |\n",
            wall,
            rss,
            stats["events"],
            stats["processes"],
            stats["dropped"],
            r["sandbox"]["stdout"].as_str().unwrap_or("").trim(),
        ));
    }
    let table = format!(
        "Target: analyzer peak RSS at most {RSS_CEILING_MIB:.0} MiB. Default limits (20,000 listed \
         events, pids limit 256); peak RSS and wall time of the whole `sandtrace analyze` by GNU time.\n\n\
         | sample | analyze wall time | analyzer peak RSS | events | processes | lost | sample said |\n\
         |---|---|---|---|---|---|---|\n{rows}\nWorst peak: {worst:.0} MiB ({}).\n",
        if worst <= RSS_CEILING_MIB {
            "within the target"
        } else {
            "ABOVE the target"
        }
    );
    println!("{table}");
    if write {
        write_section("hostile", "cargo xtask bench hostile --write", &table)?;
    }
    Ok(())
}

/// Phases of `stats.timings`, in the order of a run.
const PHASES: [&str; 9] = [
    "prepare",
    "probes",
    "container",
    "changes",
    "drain",
    "analysis",
    "store",
    "detach",
    "sample",
];

/// Targets of `bench latency`.
const SINGLE_TARGET_S: f64 = 1.0;
const BATCH_TARGET_S: f64 = 0.5;

fn latency(write: bool, runs: usize) -> Result<()> {
    let (bin, dir) = prepare(&["basic"])?;
    let image = corpus::image_name("basic");
    let db = dir.join("latency.db");
    // One run to warm the page cache and Docker; not counted.
    let analyze = |extra: &[&str]| -> Result<(f64, std::process::Output)> {
        let t = Instant::now();
        let out = Command::new(&bin)
            .args(["analyze", "--quiet", "--db"])
            .arg(&db)
            .args(extra)
            .stderr(Stdio::inherit())
            .output()
            .context("sandtrace analyze")?;
        Ok((t.elapsed().as_secs_f64(), out))
    };
    analyze(&[&image, "--format", "json", "--", "/bin/true"])?;
    let (mut net, mut phases) = (vec![], vec![vec![]; PHASES.len()]);
    for i in 0..runs {
        eprintln!("xtask: latency round {}/{runs}", i + 1);
        let (wall, out) = analyze(&[&image, "--format", "json", "--", "/bin/true"])?;
        if out.status.code() != Some(0) {
            bail!("sandtrace analyze {image} -- /bin/true did not pass");
        }
        let r: Value = serde_json::from_slice(&out.stdout).context("report JSON")?;
        let t = &r["stats"]["timings"];
        let sample = t["sample_ms"].as_f64().unwrap_or(0.0) / 1000.0;
        net.push(wall - sample);
        for (k, p) in PHASES.iter().enumerate() {
            phases[k].push(t[format!("{p}_ms")].as_f64().unwrap_or(f64::NAN));
        }
    }
    const BATCH: usize = 8;
    let out_dir = dir.join("latency-reports");
    let mut batch_rows = String::new();
    let mut batch_best = f64::INFINITY;
    for jobs in ["1", "2"] {
        let _ = std::fs::remove_dir_all(&out_dir);
        std::fs::create_dir_all(&out_dir)?;
        let mut args: Vec<&str> = vec![image.as_str(); BATCH];
        let out_s = out_dir.to_string_lossy().into_owned();
        args.extend([
            "--jobs",
            jobs,
            "--format",
            "json",
            "--output",
            &out_s,
            "--",
            "/bin/true",
        ]);
        let (wall, out) = analyze(&args)?;
        if out.status.code() != Some(0) {
            bail!("sandtrace analyze of {BATCH} images (--jobs {jobs}) did not pass");
        }
        let mut sample = 0.0;
        let mut reports = 0;
        for e in std::fs::read_dir(&out_dir)?.flatten() {
            let r: Value = serde_json::from_slice(&std::fs::read(e.path())?)?;
            sample += r["stats"]["timings"]["sample_ms"].as_f64().unwrap_or(0.0) / 1000.0;
            reports += 1;
        }
        if reports != BATCH {
            bail!("{reports} reports for {BATCH} images");
        }
        // Concurrent samples overlap: only a sequential batch subtracts their time.
        let net = if jobs == "1" { wall - sample } else { wall };
        let per = net / BATCH as f64;
        batch_best = batch_best.min(per);
        batch_rows.push_str(&format!(
            "| {BATCH} images in one `analyze`, `--jobs {jobs}` | {wall:.2} s | {per:.2} s per image{} |\n",
            if jobs == "1" {
                ", samples' time subtracted"
            } else {
                ""
            }
        ));
    }
    let single = median(net);
    let mut rows = String::new();
    for (k, p) in PHASES.iter().enumerate() {
        rows.push_str(&format!("| {p} | {:.0} ms |\n", median(phases[k].clone())));
    }
    let verdict = |v: f64, t: f64| if v <= t { "within" } else { "ABOVE" };
    let table = format!(
        "A trivial image (tests/corpus/basic running `/bin/true`), analysed {runs} times after one warm-up \
         run; wall time of the whole `sandtrace analyze` process minus the sample's own time; medians.\n\n\
         | figure | value |\n|---|---|\n\
         | one `analyze`, start to verdict, minus the sample | {single:.2} s ({} the {SINGLE_TARGET_S:.1} s target) |\n\n\
         Phases of one run (`stats.timings`, medians):\n\n| phase | time |\n|---|---|\n{rows}\n\
         | batch | wall time | per image |\n|---|---|---|\n{batch_rows}\n\
         Best per image: {batch_best:.2} s ({} the {BATCH_TARGET_S:.1} s target).\n",
        verdict(single, SINGLE_TARGET_S),
        verdict(batch_best, BATCH_TARGET_S),
    );
    println!("{table}");
    if write {
        write_section("latency", "cargo xtask bench latency --write", &table)?;
    }
    Ok(())
}

/// Open rates tried by `bench flood`, per second; the last, 0, is as fast as the sample can.
const FLOOD_RATES: [u64; 7] = [25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 0];
const FLOOD_SECONDS: &str = "10";

fn flood(write: bool) -> Result<()> {
    let (bin, dir) = prepare(&["bench-workload"])?;
    let image = corpus::image_name("bench-workload");
    let mut rows = String::new();
    let mut sustained = 0.0f64;
    let mut lost_unpaced = f64::NAN;
    for rate in FLOOD_RATES {
        eprintln!(
            "xtask: flood at {}",
            if rate == 0 {
                "full speed".into()
            } else {
                format!("{rate}/s")
            }
        );
        // Unpaced: a rate far above what one thread reaches.
        let asked = if rate == 0 { 100_000_000 } else { rate };
        let out = Command::new(&bin)
            .args([
                "analyze",
                &image,
                "--quiet",
                "--format",
                "json",
                "--timeout",
                "60s",
                "--db",
            ])
            .arg(dir.join("flood.db"))
            // The image's entrypoint is /workload: these are its arguments.
            .args(["--", "rate", &asked.to_string(), FLOOD_SECONDS])
            .stderr(Stdio::inherit())
            .output()
            .context("sandtrace analyze")?;
        // Exit 2 is expected once events are lost; the report is written either way.
        let r: Value = serde_json::from_slice(&out.stdout).context("report JSON")?;
        let said: Value = r["sandbox"]["stdout"]
            .as_str()
            .and_then(|s| serde_json::from_str(s.trim()).ok())
            .context("the workload's figures")?;
        let achieved = said["rate"].as_f64().unwrap_or(0.0);
        let opens = said["opens"].as_f64().unwrap_or(0.0);
        if opens < 1000.0 {
            bail!("the flood workload did not run: {said}");
        }
        let lost = r["stats"]["dropped"].as_f64().unwrap_or(f64::NAN);
        let events = r["stats"]["events"].as_f64().unwrap_or(f64::NAN);
        if lost == 0.0 {
            sustained = sustained.max(achieved);
        }
        if rate == 0 {
            lost_unpaced = lost;
        }
        rows.push_str(&format!(
            "| {} | {achieved:.0}/s | {opens:.0} | {events:.0} | {lost:.0} | {:.2}% |\n",
            if rate == 0 {
                "unpaced".to_string()
            } else {
                format!("{rate}/s")
            },
            if opens > 0.0 { 100.0 * lost / opens } else { 0.0 },
        ));
    }
    let table = format!(
        "tests/corpus/bench-workload `rate R 10`: R open+close pairs a second for {FLOOD_SECONDS} s, paced each \
         millisecond, each open an event; default ring buffer (64 MiB); lost = every event the kernel or the \
         reader could not keep (`stats.dropped`, counted, and the run then fails the gate).\n\n\
         | asked | achieved | opens | events kept | lost | lost share |\n|---|---|---|---|---|---|\n{rows}\n\
         Largest rate sustained for {FLOOD_SECONDS} s with nothing lost: {sustained:.0} opens/s.{}\n",
        if lost_unpaced == 0.0 {
            " Nothing was lost even unpaced: one traced thread cannot outrun the reader here; losses \
             under a many-process flood are in the hostile section."
        } else {
            ""
        }
    );
    println!("{table}");
    if write {
        write_section("flood", "cargo xtask bench flood --write", &table)?;
    }
    Ok(())
}

/// One `sandtrace analyze --archive`: (wall seconds, load ms, nothing loaded).
fn analyze_archive(tar: &std::path::Path) -> Result<(f64, f64, bool)> {
    let bin = root().join("target/release/sandtrace");
    let t = Instant::now();
    let out = Command::new(&bin)
        .args(["analyze", "--archive"])
        .arg(tar)
        .args([
            "--format",
            "json",
            "--quiet",
            "--timeout",
            "10s",
            "--max-events",
            "0",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("sandtrace analyze")?;
    let wall = t.elapsed().as_secs_f64();
    if out.status.code() == Some(2) {
        bail!("sandtrace analyze --archive failed");
    }
    let report: Value = serde_json::from_slice(&out.stdout).context("report JSON")?;
    let a = &report["sandbox"]["archive"];
    Ok((
        wall,
        a["load_ms"].as_f64().unwrap_or(f64::NAN),
        a["already_present"].as_bool().unwrap_or(false),
    ))
}

fn archive(write: bool) -> Result<()> {
    crate::setup::run()?;
    exec(cargo().args(["build", "--release", "-p", "sandtrace"]))?;
    corpus::build(&["r-postgres".to_string()])?;
    let image = corpus::image_name("r-postgres");
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let tar = dir.join("r-postgres.tar");
    exec(Command::new(DOCKER).args(["save", "-o"]).arg(&tar).arg(&image))?;
    let size_mb = std::fs::metadata(&tar)?.len() as f64 / 1e6;
    // Image present: the manifest names a content id that is in the store; nothing is loaded.
    let (warm_wall, warm_load, warm_skipped) = analyze_archive(&tar)?;
    // Image absent (its base layers stay): Docker reads the whole archive.
    exec(
        Command::new(DOCKER)
            .args(["rmi", "-f", &image])
            .stdout(Stdio::null()),
    )?;
    let (cold_wall, cold_load, cold_skipped) = analyze_archive(&tar)?;
    // For comparison: the plain CLI, with the image present again.
    let t = Instant::now();
    exec(
        Command::new(DOCKER)
            .args(["load", "-q", "-i"])
            .arg(&tar)
            .stdout(Stdio::null()),
    )?;
    let docker_load = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&tar);
    let table = format!(
        "Archive: `docker save` of sandtrace-corpus/r-postgres ({size_mb:.0} MB: Debian bookworm rootfs with postgres, nginx, redis, a JVM, node, gcc), analysed with `--timeout 10s`.\n\n\
         | case | archive step | analyze wall time |\n|---|---|---|\n\
         | image present (nothing loaded: {warm_skipped}) | {:.2} s | {warm_wall:.1} s |\n\
         | image absent, base layers present (loaded: {}) | {:.1} s | {cold_wall:.1} s |\n\
         | `docker load -i` of the same archive, image present | {docker_load:.1} s | — |\n",
        warm_load / 1000.0,
        !cold_skipped,
        cold_load / 1000.0,
    );
    println!("{table}");
    if write {
        write_section("archive", "cargo xtask bench archive --write", &table)?;
    }
    Ok(())
}

/// The workload's own figure: `{"elapsed_ns": ...}` printed by tests/corpus/bench-workload.
fn workload_ns(stdout: &str) -> Result<f64> {
    let line = stdout
        .lines()
        .find(|l| l.contains("elapsed_ns"))
        .with_context(|| format!("no timing in output: {stdout:?}"))?;
    let v: Value = serde_json::from_str(line.trim())?;
    v["elapsed_ns"].as_f64().context("elapsed_ns")
}

fn docker_run(entry: Option<&str>, args: &[&str]) -> Result<(f64, f64)> {
    let image = corpus::image_name("bench-workload");
    let mut cmd = Command::new(DOCKER);
    // The same hardening sandtrace applies, so only the tracing differs.
    cmd.args([
        "run",
        "--rm",
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    ])
    .args(["--pids-limit", "256", "--memory", "512m", "--cpus", "1"]);
    if let Some(e) = entry {
        cmd.args(["--entrypoint", e]);
    }
    cmd.arg(&image).args(args).stderr(Stdio::inherit());
    let t = Instant::now();
    let out = cmd.output().context("docker run")?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("docker run failed: {}", out.status);
    }
    Ok((workload_ns(&String::from_utf8_lossy(&out.stdout))?, wall))
}

struct Traced {
    workload_ns: f64,
    wall_s: f64,
    events: f64,
    dropped: f64,
}

fn traced() -> Result<Traced> {
    let bin = root().join("target/release/sandtrace");
    let t = Instant::now();
    let out = Command::new(&bin)
        .args([
            "analyze",
            &corpus::image_name("bench-workload"),
            "--format",
            "json",
            "--quiet",
            "--timeout",
            "300s",
            // The same hardening as the untraced runs.
            "--sandbox",
            "strict",
        ])
        .args(["--max-events", "0", "--", OPENS, FORKS])
        .stderr(Stdio::inherit())
        .output()
        .context("sandtrace analyze")?;
    let wall_s = t.elapsed().as_secs_f64();
    if out.status.code() == Some(2) {
        bail!("sandtrace analyze failed");
    }
    let report: Value = serde_json::from_slice(&out.stdout).context("report JSON")?;
    Ok(Traced {
        workload_ns: workload_ns(report["sandbox"]["stdout"].as_str().unwrap_or_default())?,
        wall_s,
        events: report["stats"]["events"].as_f64().unwrap_or(0.0),
        dropped: report["stats"]["dropped"].as_f64().unwrap_or(0.0),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn capture(write: bool, runs: usize) -> Result<()> {
    exec(cargo().args(["build", "--release", "-p", "sandtrace"]))?;
    corpus::build(&["bench-workload".to_string()])?;
    let (mut base, mut trac, mut strace, mut walls, mut events, mut dropped) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..runs {
        eprintln!("xtask: capture bench round {}/{runs}", i + 1);
        base.push(docker_run(None, &[OPENS, FORKS])?.0);
        let t = traced()?;
        trac.push(t.workload_ns);
        walls.push(t.wall_s);
        events.push(t.events);
        dropped.push(t.dropped);
        strace.push(
            docker_run(
                Some("/usr/bin/strace"),
                &["-f", "-qq", "-o", "/dev/null", "/workload", OPENS, FORKS],
            )?
            .0,
        );
    }
    // Ratios are taken within a round (the machine's speed drifts between rounds), then the median.
    let ratio_t = median(trac.iter().zip(&base).map(|(t, b)| t / b).collect());
    let ratio_s = median(strace.iter().zip(&base).map(|(s, b)| s / b).collect());
    let (b, t, s) = (median(base) / 1e9, median(trac) / 1e9, median(strace) / 1e9);
    let (ev, dr, wall) = (
        median(events),
        dropped.iter().copied().fold(0.0, f64::max),
        median(walls),
    );
    let kernel = String::from_utf8_lossy(&Command::new("uname").arg("-r").output()?.stdout)
        .trim()
        .to_string();
    let table = format!(
        "Workload: {OPENS} open/close + {FORKS} fork/exec in the hardened sandbox (tests/corpus/bench-workload), \
         timed by the workload itself (container start-up excluded); {runs} rounds of untraced, traced, \
         strace; medians, ratios taken within each round; kernel {kernel}, {} CPUs.\n\n\
         | mode | workload time | vs untraced |\n|---|---|---|\n\
         | untraced (docker run) | {b:.3} s | 1.00x |\n\
         | traced by sandtrace | {t:.3} s | {ratio_t:.2}x |\n\
         | strace -f | {s:.3} s | {ratio_s:.2}x |\n\n\
         | sandtrace figure | value |\n|---|---|\n\
         | events captured (median) | {ev:.0} |\n\
         | events lost (worst run) | {dr:.0} |\n\
         | events/s during the workload | {:.0} |\n\
         | analyze wall time, start to verdict (median) | {wall:.2} s |\n\
         | events/s end to end | {:.0} |\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        ev / t,
        ev / wall,
    );
    println!("{table}");
    if write {
        write_section("capture", "cargo xtask bench capture --write", &table)?;
    }
    Ok(())
}

fn cargo_bench(name: &str, write: bool) -> Result<()> {
    let out = cargo()
        .args(["bench", "-p", "sandtrace", "--bench", name])
        .stderr(Stdio::inherit())
        .output()
        .context("cargo bench")?;
    if !out.status.success() {
        bail!("the {name} benchmark failed");
    }
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{table}");
    if write {
        write_section(name, &format!("cargo xtask bench {name} --write"), &table)?;
    }
    Ok(())
}

/// Replaces the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`.
fn write_section(name: &str, command: &str, body: &str) -> Result<()> {
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let (start, end) = (
        format!("<!-- bench:{name}:start -->"),
        format!("<!-- bench:{name}:end -->"),
    );
    let date = String::from_utf8_lossy(&Command::new("date").args(["-u", "+%Y-%m-%d"]).output()?.stdout)
        .trim()
        .to_string();
    let who = if matches!(name, "capture" | "archive" | "hostile" | "latency" | "flood") {
        " (as root)"
    } else {
        " (no root needed)"
    };
    let section = format!("{start}\nReproduce: `{command}`{who}. Measured {date}.\n\n{body}{end}");
    let new = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &text[..a], &text[b + end.len()..]),
        _ => format!("{}\n## {name}\n\n{section}\n", text.trim_end()),
    };
    std::fs::write(&path, new)?;
    eprintln!("xtask: wrote the {name} figures to {}", path.display());
    Ok(())
}
