//! Detections made after the run from what it left on disk: programs executed that were not in
//! the image (drift), and rules whose match only means something on a regular file.

use std::collections::BTreeSet;

use crate::{
    model::{Detection, DetectionProcess, RunView, Severity},
    sandbox::changes::{FileChanges, LayerFs, PathType},
};

/// Rule id: a program that was not in the image was executed.
pub const DROPPED_PROGRAM_RUN: &str = "drift-dropped-program-run";
/// Rule id: a script that was not in the image was run by an interpreter.
pub const DROPPED_SCRIPT_RUN: &str = "drift-dropped-script-run";
/// Rule id: a program that is a copy of one of the image's system programs was run under another
/// name or from another place.
pub const SYSTEM_PROGRAM_COPY_RUN: &str = "drift-system-program-copy-run";
/// Rule id: a dropped program packed with UPX was run.
pub const PACKED_PROGRAM_RUN: &str = "drift-packed-program-run";
/// Rule id: a program compiled during the run was executed (context for build images).
pub const BUILT_PROGRAM_RUN: &str = "drift-built-program-run";

/// Programs that write executables as their job: what they wrote and was then run is a build.
const BUILDERS: &[&str] = &[
    "ld", "ld.bfd", "ld.gold", "ld.lld", "collect2", "cc1", "gcc", "cc", "g++", "c++", "clang", "rustc",
    "go", "javac", "as", "tcc",
];

/// Interpreters whose first non-option argument is a script they run.
const INTERPRETERS: &[&str] = &[
    "sh", "ash", "bash", "dash", "zsh", "ksh", "busybox", "python", "python3", "perl", "ruby", "node", "php",
];

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Drift detections: every exec of a file the run added or changed (and every script of that
/// kind run by an interpreter), one per path and rule, with the exec as evidence.
pub fn drift(trace: &dyn RunView, changes: &FileChanges) -> Vec<Detection> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<(&'static str, String)> = BTreeSet::new();
    for p in trace.processes() {
        for x in &p.execs {
            let (path, script) = if changes.get(&x.filename).is_some_and(|f| f.is_new_content()) {
                (x.filename.clone(), false)
            } else if INTERPRETERS.contains(&base(&x.filename))
                || x.argv.first().is_some_and(|a| INTERPRETERS.contains(&base(a)))
            {
                let Some(arg) = x.argv.iter().skip(1).find(|a| !a.starts_with('-')) else {
                    continue;
                };
                if !changes.get(arg).is_some_and(|f| f.is_new_content()) {
                    continue;
                }
                (arg.clone(), true)
            } else {
                continue;
            };
            let built = written_by_builder(trace, &path);
            let (rule, severity, techniques, what) = match (built, script) {
                (true, _) => (BUILT_PROGRAM_RUN, Severity::Info, vec![], "built during the run"),
                (false, false) => (
                    DROPPED_PROGRAM_RUN,
                    Severity::High,
                    vec!["T1105".to_string()],
                    "not in the image",
                ),
                (false, true) => (
                    DROPPED_SCRIPT_RUN,
                    Severity::Medium,
                    vec!["T1105".to_string(), "T1059.004".to_string()],
                    "not in the image",
                ),
            };
            if !seen.insert((rule, path.clone())) {
                continue;
            }
            let file = changes.get(&path);
            let content = file
                .and_then(|f| f.content.clone())
                .unwrap_or_else(|| "file".into());
            // What the file's bytes say about it: a renamed system program, a packed one.
            if !built && !script {
                let facts = [
                    file.and_then(|f| f.copy_of.as_ref()).map(|orig| {
                        (
                            SYSTEM_PROGRAM_COPY_RUN,
                            "T1036.003",
                            format!("executed {path}: the same bytes as the image's {orig}"),
                        )
                    }),
                    file.and_then(|f| f.packer.as_ref()).map(|p| {
                        (
                            PACKED_PROGRAM_RUN,
                            "T1027.002",
                            format!("executed {path}: packed with {p}"),
                        )
                    }),
                ];
                for (rule, technique, message) in facts.into_iter().flatten() {
                    if seen.insert((rule, path.clone())) {
                        out.push(of_exec(
                            rule,
                            Severity::High,
                            vec![technique.to_string()],
                            message,
                            p.pid,
                            x,
                        ));
                    }
                }
            }
            let message = format!("executed {path} ({content}, {what})");
            out.push(of_exec(rule, severity, techniques, message, p.pid, x));
        }
    }
    out
}

/// A drift detection whose evidence is one exec.
fn of_exec(
    rule: &str,
    severity: Severity,
    techniques: Vec<String>,
    message: String,
    pid: u32,
    x: &crate::model::ExecRecord,
) -> Detection {
    Detection {
        rule: rule.to_string(),
        severity,
        techniques,
        message,
        process: DetectionProcess {
            pid,
            exe: x.filename.clone(),
            argv: x.argv.to_vec(),
        },
        evidence: vec![x.seq],
        allowed: None,
        rule_severity: None,
        target: None,
    }
}

/// A process whose programs include a compiler or linker wrote `path`.
fn written_by_builder(trace: &dyn RunView, path: &str) -> bool {
    let Some(activity) = trace.file(path) else {
        return false;
    };
    if !activity.ops.contains_key("open_write") {
        return false;
    }
    trace.processes().iter().any(|p| {
        activity.pids.contains(&p.pid)
            && (p.execs.iter().any(|x| BUILDERS.contains(&base(&x.filename)))
                || BUILDERS.contains(&p.comm.as_str()))
    })
}

/// Rules only meaningful on regular files (`target: regular_file`) that matched a directory in the
/// container's final file system become `info`, and say so.
pub fn refine(detections: &mut [Detection], fs: Option<&LayerFs>) {
    let Some(fs) = fs else { return };
    for d in detections.iter_mut() {
        let Some(target) = &d.target else { continue };
        if d.severity.counts() && fs.path_type(target) == Some(PathType::Dir) {
            d.rule_severity.get_or_insert(d.severity);
            d.severity = Severity::Info;
            d.message
                .push_str(" (a directory: new files there inherit its group; not a privilege)");
        }
    }
}
