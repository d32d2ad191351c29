//! The rule file format (YAML, one rule per file) and its compilation into matchers.

use std::{net::IpAddr, time::Duration};

use globset::{GlobSet, GlobSetBuilder};
use ipnet::IpNet;
use regex::Regex;
use sandtrace_common::EventKind;
use serde::Deserialize;

pub use crate::event::kind_from_name;
use crate::model::Severity;

/// One value or a list of values.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A number given as an integer, an octal/hex string (`"0o111"`, `"0x10000000"`), or a flag name.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Bits {
    /// A number.
    Int(u64),
    /// A name or a number in text.
    Name(String),
}

/// Known flag names usable in `flags_any`, `flags_all` and `mode_any`.
const FLAG_NAMES: &[(&str, u64)] = &[
    ("O_WRONLY", 0o1),
    ("O_RDWR", 0o2),
    ("O_CREAT", 0o100),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("CLONE_NEWNS", 0x0002_0000),
    ("CLONE_NEWCGROUP", 0x0200_0000),
    ("CLONE_NEWUTS", 0x0400_0000),
    ("CLONE_NEWIPC", 0x0800_0000),
    ("CLONE_NEWUSER", 0x1000_0000),
    ("CLONE_NEWPID", 0x2000_0000),
    ("CLONE_NEWNET", 0x4000_0000),
    ("MS_BIND", 0x1000),
    ("PROT_EXEC", 0x4),
    ("S_ISUID", 0o4000),
    ("S_ISGID", 0o2000),
    ("EXEC_BITS", 0o111),
];

impl Bits {
    fn value(&self) -> Result<u64, String> {
        match self {
            Bits::Int(v) => Ok(*v),
            Bits::Name(s) => {
                let s = s.trim();
                if let Some(o) = s.strip_prefix("0o") {
                    return u64::from_str_radix(o, 8).map_err(|e| format!("{s}: {e}"));
                }
                if let Some(h) = s.strip_prefix("0x") {
                    return u64::from_str_radix(h, 16).map_err(|e| format!("{s}: {e}"));
                }
                if let Ok(v) = s.parse::<u64>() {
                    return Ok(v);
                }
                FLAG_NAMES
                    .iter()
                    .find(|(n, _)| *n == s)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| format!("unknown flag name {s}"))
            }
        }
    }
}

/// A condition on one event, as written in a rule file. Every field given must hold; a list holds
/// when any of its values does.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Event kinds (`exec`, `open`, `connect`, ...). Required.
    pub kind: Option<OneOrMany<String>>,
    /// Program name globs, matched against the basename of the executable, of argv[0] and the comm.
    pub program: Option<OneOrMany<String>>,
    /// Program name globs the process must NOT match (e.g. a linker writing its output).
    pub not_program: Option<OneOrMany<String>>,
    /// Executable path globs (the exec'd file for exec events, the process's program otherwise).
    pub exe: Option<OneOrMany<String>>,
    /// Task name globs.
    pub comm: Option<OneOrMany<String>>,
    /// Substrings of the joined command line (any).
    pub argv_contains: Option<OneOrMany<String>>,
    /// A regular expression on the joined command line.
    pub argv_regex: Option<String>,
    /// exec of a shell or interpreter with a script file: a regular expression on the script's
    /// text, read from the container when the run is over (first 64 KiB). Shell builtins
    /// (`unset HISTFILE`, `trap`, bash's `/dev/tcp`) are only visible there.
    pub script_regex: Option<String>,
    /// Exact arguments (any argv element equal to any).
    pub arg: Option<OneOrMany<String>>,
    /// Exact arguments none of which may be in argv (`-l`: not a listening nc).
    pub not_arg: Option<OneOrMany<String>>,
    /// exec: globs on the environment entries (`NAME=value` for the variables whose values are
    /// kept, `NAME` for the others): `HISTFILE=/dev/null`, `LD_PRELOAD=*`.
    pub env: Option<OneOrMany<String>>,
    /// Substrings of what the network sinkhole received or answered (any), case-insensitive.
    pub payload_contains: Option<OneOrMany<String>>,
    /// A regular expression on what the network sinkhole received or answered.
    pub payload_regex: Option<String>,
    /// Least bytes the sinkhole received on the connection or datagram.
    pub min_bytes: Option<u64>,
    /// Path globs (`*` also crosses `/`).
    pub path: Option<OneOrMany<String>>,
    /// Second path globs (rename/link target, symlink name, mount source).
    pub path2: Option<OneOrMany<String>>,
    /// Short name globs (mount file-system type, memfd name).
    pub name: Option<OneOrMany<String>>,
    /// Socket globs on `family/type` (`inet/dgram`, `packet/*`, `inet*/raw`): the socket a socket
    /// event creates, or the one the fd of a connect, bind, listen, accept, send_to or dup refers
    /// to at that moment (followed through socket, accept, dup and fd reuse by open).
    pub socket: Option<OneOrMany<String>>,
    /// Any of these flag bits set.
    pub flags_any: Option<OneOrMany<Bits>>,
    /// All of these flag bits set.
    pub flags_all: Option<OneOrMany<Bits>>,
    /// None of these flag bits set (`O_CREAT`: an open that cannot create).
    pub flags_none: Option<OneOrMany<Bits>>,
    /// Any of these mode/prot bits set.
    pub mode_any: Option<OneOrMany<Bits>>,
    /// Destination or bound address in any of these CIDRs.
    pub addr: Option<OneOrMany<String>>,
    /// Port in this list.
    pub port: Option<OneOrMany<u16>>,
    /// Real uid in this list.
    pub uid: Option<OneOrMany<u32>>,
    /// `success` or `failure`.
    pub ret: Option<String>,
    /// Error names (`EACCES`).
    pub error: Option<OneOrMany<String>>,
    /// System call names.
    pub syscall: Option<OneOrMany<String>>,
    /// Request, option, command or signal values.
    pub op: Option<OneOrMany<i64>>,
    /// File descriptor values.
    pub fd: Option<OneOrMany<i64>>,
    /// Second file descriptor values (new fd of dup2).
    pub fd2: Option<OneOrMany<i64>>,
    /// Program name globs of the parent process.
    pub parent_program: Option<OneOrMany<String>>,
    /// Program name globs of any ancestor.
    pub ancestor_program: Option<OneOrMany<String>>,
    /// The process or an ancestor already triggered one of these rules (chained detections).
    pub prior: Option<OneOrMany<String>>,
    /// Sequence steps: fields to remember for later steps (`path`, `fd`, `addr`).
    pub capture: Option<OneOrMany<String>>,
    /// Sequence steps: fields that must equal what an earlier step captured.
    pub same: Option<OneOrMany<String>>,
}

/// A sequence within one process lineage and a time window.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    /// Time window from the first step to the last (`30s`, `2m`).
    pub within: String,
    /// `process` (same pid), `lineage` (the first step's process or its descendants; default) or
    /// `parent` (the first step's parent and its descendants: steps in sibling processes, as a
    /// shell script runs one tool per step).
    #[serde(default)]
    pub scope: Option<String>,
    /// `any`: the steps may happen in any order (each by its own event; no capture or same).
    #[serde(default)]
    pub order: Option<String>,
    /// Steps, in order.
    pub steps: Vec<ConditionSpec>,
}

/// With `match`: the rule fires once this many matching events, or distinct values of a field,
/// happened within a sliding window.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountSpec {
    /// Least number of events (or distinct values).
    pub at_least: u32,
    /// Window (`10s`, `1m`).
    pub within: String,
    /// Count distinct values of this field instead of events: `port`, `addr` (the IP), `endpoint`
    /// (IP and port), `path`, `name`, `argv`.
    #[serde(default)]
    pub distinct: Option<String>,
    /// Whose events are counted together: `process` (default), `parent` (the children of one
    /// process, e.g. a shell loop starting one tool per target), or `run` (the whole sample).
    #[serde(default)]
    pub scope: Option<String>,
    /// Count separately for each value of this field (same names as `distinct`): `endpoint`
    /// counts the connections to each address and port on their own.
    #[serde(default)]
    pub group: Option<String>,
}

/// A fixture: events that must (or must not) trigger the rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// What it shows.
    pub name: String,
    /// `match` or `no_match`.
    pub expect: String,
    /// The events.
    pub events: Vec<crate::event::fixture::FixtureEvent>,
}

/// A rule file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique id (kebab-case).
    pub id: String,
    /// Short name.
    pub name: String,
    /// What it detects and why it matters.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// A condition on one event.
    #[serde(rename = "match", default)]
    pub condition: Option<ConditionSpec>,
    /// A sequence of conditions.
    #[serde(default)]
    pub sequence: Option<SequenceSpec>,
    /// With `match`: a threshold instead of every single match.
    #[serde(default)]
    pub count: Option<CountSpec>,
    /// Conditions that suppress a match of the same event.
    #[serde(default)]
    pub exceptions: Vec<ConditionSpec>,
    /// Message template: `{exe}`, `{argv}`, `{path}`, `{path2}`, `{name}`, `{addr}`, `{comm}`, `{payload}`.
    #[serde(default)]
    pub message: Option<String>,
    /// `regular_file`: the match only means what the rule says when its path is a regular file in
    /// the container's final file system (checked after the run; a directory makes it `info`).
    #[serde(default)]
    pub target: Option<String>,
    /// Fixtures.
    #[serde(default)]
    pub tests: Vec<TestSpec>,
}

/// What a sequence step remembers or compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The path (exec filename for exec events).
    Path,
    /// The fd argument.
    Fd,
    /// The socket address.
    Addr,
}

/// A compiled condition.
#[derive(Debug, Default)]
pub struct Condition {
    pub(crate) kinds: Vec<EventKind>,
    pub(crate) program: Option<GlobSet>,
    pub(crate) not_program: Option<GlobSet>,
    pub(crate) exe: Option<GlobSet>,
    pub(crate) comm: Option<GlobSet>,
    pub(crate) argv_contains: Vec<String>,
    pub(crate) argv_regex: Option<Regex>,
    pub(crate) script_regex: Option<Regex>,
    pub(crate) arg: Vec<String>,
    pub(crate) not_arg: Vec<String>,
    pub(crate) env: Option<GlobSet>,
    pub(crate) payload_contains: Vec<String>,
    pub(crate) payload_regex: Option<Regex>,
    pub(crate) min_bytes: Option<u64>,
    pub(crate) path: Option<GlobSet>,
    /// The `path` globs as written (the rule set's kind index combines them).
    pub(crate) path_globs: Vec<String>,
    /// The `program` globs as written.
    pub(crate) program_globs: Vec<String>,
    pub(crate) path2: Option<GlobSet>,
    pub(crate) name: Option<GlobSet>,
    pub(crate) socket: Option<GlobSet>,
    pub(crate) flags_any: Option<u64>,
    pub(crate) flags_all: Option<u64>,
    pub(crate) flags_none: Option<u64>,
    pub(crate) mode_any: Option<u64>,
    pub(crate) addr: Vec<IpNet>,
    pub(crate) port: Vec<u16>,
    pub(crate) uid: Vec<u32>,
    pub(crate) ret: Option<bool>,
    pub(crate) error: Vec<String>,
    pub(crate) syscall: Vec<String>,
    pub(crate) op: Vec<i64>,
    pub(crate) fd: Vec<i64>,
    pub(crate) fd2: Vec<i64>,
    pub(crate) parent_program: Option<GlobSet>,
    pub(crate) ancestor_program: Option<GlobSet>,
    pub(crate) prior: Vec<String>,
    pub(crate) capture: Vec<Field>,
    pub(crate) same: Vec<Field>,
}

/// What a threshold counts distinct values of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distinct {
    /// Socket port.
    Port,
    /// Socket IP address.
    Addr,
    /// IP and port.
    Endpoint,
    /// Path.
    Path,
    /// Short name (DNS name, fs type).
    Name,
    /// The command line.
    Argv,
}

/// Whose matches a threshold counts together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountScope {
    /// One process.
    Process,
    /// The children of one parent.
    Parent,
    /// The whole run.
    Run,
}

/// A compiled threshold.
#[derive(Debug)]
pub struct Count {
    pub(crate) at_least: usize,
    pub(crate) within: Duration,
    pub(crate) distinct: Option<Distinct>,
    pub(crate) group: Option<Distinct>,
    pub(crate) scope: CountScope,
}

impl Count {
    fn compile(spec: CountSpec) -> Result<Count, String> {
        let within = humantime::parse_duration(&spec.within).map_err(|e| format!("count.within: {e}"))?;
        if spec.at_least < 2 {
            return Err("count.at_least: 2 or more (one match needs no count)".into());
        }
        let field = |v: Option<&str>, what: &str| match v {
            None => Ok(None),
            Some("port") => Ok(Some(Distinct::Port)),
            Some("addr") => Ok(Some(Distinct::Addr)),
            Some("endpoint") => Ok(Some(Distinct::Endpoint)),
            Some("path") => Ok(Some(Distinct::Path)),
            Some("name") => Ok(Some(Distinct::Name)),
            Some("argv") => Ok(Some(Distinct::Argv)),
            Some(o) => Err(format!(
                "count.{what}: {o} (port, addr, endpoint, path, name, argv)"
            )),
        };
        let distinct = field(spec.distinct.as_deref(), "distinct")?;
        let group = field(spec.group.as_deref(), "group")?;
        let scope = match spec.scope.as_deref() {
            None | Some("process") => CountScope::Process,
            Some("parent") => CountScope::Parent,
            Some("run") => CountScope::Run,
            Some(o) => return Err(format!("count.scope: {o} (process, parent, run)")),
        };
        Ok(Count {
            at_least: spec.at_least as usize,
            within,
            distinct,
            group,
            scope,
        })
    }
}

/// A compiled sequence.
#[derive(Debug)]
pub struct Sequence {
    pub(crate) within: Duration,
    pub(crate) lineage: bool,
    /// Anchored at the first step's parent (`scope: parent`).
    pub(crate) parent: bool,
    /// The steps may happen in any order (`order: any`).
    pub(crate) any_order: bool,
    pub(crate) steps: Vec<Condition>,
}

/// The body of a rule.
#[derive(Debug)]
pub enum Body {
    /// One event.
    Single(Box<Condition>),
    /// Several events in order.
    Sequence(Sequence),
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// ATT&CK ids (all present in mitre-mapping).
    pub techniques: Vec<String>,
    /// Folder (tactic) it was loaded from.
    pub folder: String,
    /// What it matches.
    pub body: Body,
    /// Exceptions.
    pub exceptions: Vec<Condition>,
    /// A threshold on single matches.
    pub count: Option<Count>,
    /// Matched after the run on the text of scripts (`script_regex`), not on the event stream.
    pub on_scripts: bool,
    /// Message template.
    pub message: Option<String>,
    /// Only meaningful on a regular file (see [`RuleSpec::target`]).
    pub regular_file_only: bool,
    /// Fixtures.
    pub tests: Vec<TestSpec>,
}

fn globs(v: Option<OneOrMany<String>>, field: &str) -> Result<Option<GlobSet>, String> {
    let Some(v) = v else { return Ok(None) };
    let mut b = GlobSetBuilder::new();
    for g in v.into_vec() {
        b.add(glob(&g).map_err(|e| format!("{field}: {e}"))?);
    }
    b.build().map(Some).map_err(|e| format!("{field}: {e}"))
}

/// One glob, the way every rule field reads it (`*` also crosses `/`).
pub(crate) fn glob(g: &str) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(g).literal_separator(false).build()
}

fn bits(v: Option<OneOrMany<Bits>>, field: &str) -> Result<Option<u64>, String> {
    let Some(v) = v else { return Ok(None) };
    let mut acc = 0;
    for b in v.into_vec() {
        acc |= b.value().map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(Some(acc))
}

fn fields(v: Option<OneOrMany<String>>, what: &str) -> Result<Vec<Field>, String> {
    v.map(OneOrMany::into_vec)
        .unwrap_or_default()
        .into_iter()
        .map(|f| match f.as_str() {
            "path" => Ok(Field::Path),
            "fd" => Ok(Field::Fd),
            "addr" => Ok(Field::Addr),
            other => Err(format!("{what}: unknown field {other} (path, fd, addr)")),
        })
        .collect()
}

impl Condition {
    /// Compiles a condition; `kind` is required.
    pub fn compile(spec: ConditionSpec) -> Result<Condition, String> {
        let kinds = spec.kind.ok_or("kind: required")?.into_vec();
        let kinds = kinds
            .iter()
            .map(|k| kind_from_name(k).ok_or_else(|| format!("kind: unknown event kind {k}")))
            .collect::<Result<Vec<_>, _>>()?;
        let addr = spec
            .addr
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                a.parse::<IpNet>()
                    .or_else(|_| a.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|e| format!("addr: {a}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ret = match spec.ret.as_deref() {
            None => None,
            Some("success") => Some(true),
            Some("failure") => Some(false),
            Some(other) => return Err(format!("ret: {other} (success or failure)")),
        };
        let argv_regex = spec
            .argv_regex
            .map(|r| Regex::new(&r).map_err(|e| format!("argv_regex: {e}")))
            .transpose()?;
        let script_regex = spec
            .script_regex
            .map(|r| Regex::new(&r).map_err(|e| format!("script_regex: {e}")))
            .transpose()?;
        let payload_regex = spec
            .payload_regex
            .map(|r| Regex::new(&r).map_err(|e| format!("payload_regex: {e}")))
            .transpose()?;
        let v = |o: Option<OneOrMany<String>>| o.map(OneOrMany::into_vec).unwrap_or_default();
        let path_globs = spec.path.clone().map(OneOrMany::into_vec).unwrap_or_default();
        let program_globs = spec.program.clone().map(OneOrMany::into_vec).unwrap_or_default();
        Ok(Condition {
            path_globs,
            program_globs,
            payload_contains: v(spec.payload_contains)
                .into_iter()
                .map(|s| s.to_lowercase())
                .collect(),
            payload_regex,
            min_bytes: spec.min_bytes,
            kinds,
            program: globs(spec.program, "program")?,
            not_program: globs(spec.not_program, "not_program")?,
            exe: globs(spec.exe, "exe")?,
            comm: globs(spec.comm, "comm")?,
            argv_contains: v(spec.argv_contains),
            argv_regex,
            script_regex,
            arg: v(spec.arg),
            not_arg: v(spec.not_arg),
            env: globs(spec.env, "env")?,
            path: globs(spec.path, "path")?,
            path2: globs(spec.path2, "path2")?,
            name: globs(spec.name, "name")?,
            socket: globs(spec.socket, "socket")?,
            flags_any: bits(spec.flags_any, "flags_any")?,
            flags_all: bits(spec.flags_all, "flags_all")?,
            flags_none: bits(spec.flags_none, "flags_none")?,
            mode_any: bits(spec.mode_any, "mode_any")?,
            addr,
            port: spec.port.map(OneOrMany::into_vec).unwrap_or_default(),
            uid: spec.uid.map(OneOrMany::into_vec).unwrap_or_default(),
            ret,
            error: v(spec.error),
            syscall: v(spec.syscall),
            op: spec.op.map(OneOrMany::into_vec).unwrap_or_default(),
            fd: spec.fd.map(OneOrMany::into_vec).unwrap_or_default(),
            fd2: spec.fd2.map(OneOrMany::into_vec).unwrap_or_default(),
            parent_program: globs(spec.parent_program, "parent_program")?,
            ancestor_program: globs(spec.ancestor_program, "ancestor_program")?,
            prior: v(spec.prior),
            capture: fields(spec.capture, "capture")?,
            same: fields(spec.same, "same")?,
        })
    }
}

impl Rule {
    /// Compiles a parsed rule. Technique ids must exist in the ATT&CK catalogue.
    pub fn compile(spec: RuleSpec, folder: &str) -> Result<Rule, String> {
        if spec.id.is_empty()
            || !spec
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!("id: {:?} must be kebab-case", spec.id));
        }
        if spec.techniques.is_empty() {
            return Err("techniques: at least one ATT&CK id".into());
        }
        for t in &spec.techniques {
            if mitre_mapping::lookup(t).is_none() {
                return Err(format!(
                    "techniques: {t} is not an ATT&CK technique for Linux/Containers (v{})",
                    mitre_mapping::ATTACK_VERSION
                ));
            }
        }
        for t in &spec.tests {
            if t.expect != "match" && t.expect != "no_match" {
                return Err(format!("tests: {}: expect must be match or no_match", t.name));
            }
        }
        let regular_file_only = match spec.target.as_deref() {
            None => false,
            Some("regular_file") => true,
            Some(o) => return Err(format!("target: {o} (regular_file)")),
        };
        let body = match (spec.condition, spec.sequence) {
            (Some(c), None) => {
                Body::Single(Box::new(Condition::compile(c).map_err(|e| format!("match.{e}"))?))
            }
            (None, Some(s)) => {
                let within =
                    humantime::parse_duration(&s.within).map_err(|e| format!("sequence.within: {e}"))?;
                let parent = s.scope.as_deref() == Some("parent");
                let lineage = match s.scope.as_deref() {
                    None | Some("lineage") | Some("parent") => true,
                    Some("process") => false,
                    Some(o) => return Err(format!("sequence.scope: {o} (process, lineage or parent)")),
                };
                if s.steps.len() < 2 {
                    return Err("sequence.steps: at least two".into());
                }
                let steps = s
                    .steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| Condition::compile(c).map_err(|e| format!("sequence.steps[{i}].{e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                let any_order = match s.order.as_deref() {
                    None | Some("given") => false,
                    Some("any") => true,
                    Some(o) => return Err(format!("sequence.order: {o} (given or any)")),
                };
                if any_order && steps.iter().any(|c| !c.capture.is_empty() || !c.same.is_empty()) {
                    return Err(
                        "sequence.order: any cannot capture or compare values (capture, same)".into(),
                    );
                }
                if any_order && steps.len() > 16 {
                    return Err("sequence.order: any takes at most 16 steps".into());
                }
                Body::Sequence(Sequence {
                    within,
                    lineage,
                    parent,
                    any_order,
                    steps,
                })
            }
            _ => return Err("exactly one of `match` and `sequence`".into()),
        };
        let on_scripts = match &body {
            Body::Single(c) if c.script_regex.is_some() => {
                if c.kinds != [EventKind::Exec] || spec.count.is_some() {
                    return Err("match.script_regex: only with kind: exec and no count".into());
                }
                true
            }
            Body::Single(_) => false,
            Body::Sequence(s) => {
                if s.steps.iter().any(|c| c.script_regex.is_some()) {
                    return Err("sequence: script_regex only in a `match` rule".into());
                }
                false
            }
        };
        let count = match (spec.count, &body) {
            (None, _) => None,
            (Some(c), Body::Single(_)) => Some(Count::compile(c)?),
            (Some(_), Body::Sequence(_)) => return Err("count: only with `match`".into()),
        };
        let exceptions = spec
            .exceptions
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                // Exceptions apply to the matched event: their kind defaults to any.
                let c = ConditionSpec {
                    kind: c.kind.clone().or_else(|| Some(OneOrMany::Many(all_kind_names()))),
                    ..c
                };
                Condition::compile(c).map_err(|e| format!("exceptions[{i}].{e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rule {
            id: spec.id,
            name: spec.name,
            description: spec.description,
            severity: spec.severity,
            techniques: spec.techniques,
            folder: folder.to_string(),
            body,
            exceptions,
            count,
            on_scripts,
            message: spec.message,
            regular_file_only,
            tests: spec.tests,
        })
    }

    /// Event kinds that can start or advance this rule.
    pub fn kinds(&self) -> Vec<EventKind> {
        match &self.body {
            Body::Single(c) => c.kinds.clone(),
            Body::Sequence(s) => s.steps.iter().flat_map(|c| c.kinds.iter().copied()).collect(),
        }
    }
}

fn all_kind_names() -> Vec<String> {
    EventKind::ALL
        .iter()
        .map(|k| crate::event::kind_name(*k))
        .collect()
}
