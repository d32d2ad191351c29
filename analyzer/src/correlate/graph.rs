//! The run graph: processes, files, endpoints (and, with the sinkhole, domains) as nodes; what
//! connected them as edges, aggregated (a loop of 100k reads is one edge with a count and its
//! first and last time). Detections attach to the nodes and edges that are their evidence.

use std::fmt::Write as _;

use petgraph::{
    graph::{DiGraph, EdgeIndex, NodeIndex},
    visit::EdgeRef,
};
use serde::{Deserialize, Serialize};

/// Most nodes in one run's graph (beyond it, new targets are counted, not added).
pub const MAX_NODES: usize = 100_000;

/// What a node stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    /// A process (pid and its index in the process list, pids being reusable).
    Process {
        /// Pid.
        pid: u32,
        /// Index in the report's `processes`.
        index: usize,
    },
    /// A file path.
    File {
        /// Path.
        path: String,
    },
    /// A network endpoint (`addr:port`, `unix:/path`).
    Endpoint {
        /// Address.
        addr: String,
    },
    /// A DNS name.
    Domain {
        /// Name.
        name: String,
    },
}

/// A relation between two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Parent created child.
    Forked,
    /// Process executed file.
    Executed,
    /// Opened for reading.
    Read,
    /// Opened for writing.
    Wrote,
    /// Deleted.
    Deleted,
    /// Renamed or linked (to the new name).
    Renamed,
    /// Permissions or owner changed.
    Chmod,
    /// Timestamps set.
    Touched,
    /// Connected to.
    Connected,
    /// Bound to.
    Bound,
    /// Sent a datagram to.
    SentTo,
    /// Accepted from.
    Accepted,
    /// Resolved a name.
    Resolved,
}

/// Edge data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeData {
    /// Relation.
    pub kind: EdgeKind,
    /// First time (boot ns).
    pub first_ns: u64,
    /// Last time.
    pub last_ns: u64,
    /// Times seen.
    pub count: u64,
    /// First event seq.
    pub first_seq: u64,
    /// Failed attempts among them.
    pub failures: u64,
}

/// The graph of one run.
#[derive(Debug, Default)]
pub struct RunGraph {
    graph: DiGraph<NodeKind, EdgeData>,
    nodes: crate::model::FastMap<NodeKind, NodeIndex>,
    edges: crate::model::FastMap<(NodeIndex, NodeIndex, EdgeKind), EdgeIndex>,
    /// Event seq -> edge it created or updated last (kept for evidence lookups).
    by_seq: crate::model::FastMap<u64, EdgeIndex>,
    omitted: u64,
}

/// Serializable form (for the JSON report).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphExport {
    /// Nodes; edges refer to them by position.
    pub nodes: Vec<NodeKind>,
    /// Edges: from, to, data.
    pub edges: Vec<(usize, usize, EdgeData)>,
    /// Relations left out because of the node bound.
    pub omitted: u64,
}

impl RunGraph {
    fn node(&mut self, n: NodeKind) -> Option<NodeIndex> {
        if let Some(i) = self.nodes.get(&n) {
            return Some(*i);
        }
        if self.graph.node_count() >= MAX_NODES {
            self.omitted += 1;
            return None;
        }
        let i = self.graph.add_node(n.clone());
        self.nodes.insert(n, i);
        Some(i)
    }

    /// Records one relation seen at `ts_ns` by event `seq`.
    pub fn relate(
        &mut self,
        from: NodeKind,
        to: NodeKind,
        kind: EdgeKind,
        ts_ns: u64,
        seq: u64,
        failed: bool,
    ) {
        let (Some(a), Some(b)) = (self.node(from), self.node(to)) else {
            return;
        };
        let e = *self.edges.entry((a, b, kind)).or_insert_with(|| {
            self.graph.add_edge(
                a,
                b,
                EdgeData {
                    kind,
                    first_ns: ts_ns,
                    last_ns: ts_ns,
                    count: 0,
                    first_seq: seq,
                    failures: 0,
                },
            )
        });
        if let Some(d) = self.graph.edge_weight_mut(e) {
            d.count += 1;
            d.last_ns = d.last_ns.max(ts_ns);
            d.failures += u64::from(failed);
        }
        // Only first sightings are kept: evidence of a detection points at the relation it made.
        self.by_seq.entry(seq).or_insert(e);
        if self.by_seq.len() > 4 * MAX_NODES {
            self.by_seq.clear();
        }
    }

    /// The edge an event created or updated, if known.
    pub fn edge_of(&self, seq: u64) -> Option<(usize, usize)> {
        let e = self.by_seq.get(&seq)?;
        self.graph.edge_endpoints(*e).map(|(a, b)| (a.index(), b.index()))
    }

    /// Everything, for the report.
    pub fn export(&self) -> GraphExport {
        GraphExport {
            nodes: self.graph.node_weights().cloned().collect(),
            edges: self
                .graph
                .edge_references()
                .map(|e| (e.source().index(), e.target().index(), e.weight().clone()))
                .collect(),
            omitted: self.omitted,
        }
    }
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl GraphExport {
    /// Graphviz DOT; `labels` names process nodes (index in `processes` -> label), `flagged`
    /// holds the nodes that are evidence of a detection (drawn red).
    pub fn to_dot(&self, labels: &dyn Fn(usize) -> String, flagged: &[usize]) -> String {
        let mut o =
            String::from("digraph run {\n  rankdir=LR;\n  node [fontname=\"monospace\", fontsize=10];\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let (shape, label) = match n {
                NodeKind::Process { index, .. } => ("box", labels(*index)),
                NodeKind::File { path } => ("note", path.clone()),
                NodeKind::Endpoint { addr } => ("diamond", addr.clone()),
                NodeKind::Domain { name } => ("ellipse", name.clone()),
            };
            let color = if flagged.contains(&i) {
                ", color=red, fontcolor=red"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "  n{i} [shape={shape}, label=\"{}\"{color}];",
                dot_escape(&label)
            );
        }
        for (a, b, d) in &self.edges {
            let kind = serde_json::to_value(d.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let count = if d.count > 1 {
                format!(" x{}", d.count)
            } else {
                String::new()
            };
            let _ = writeln!(o, "  n{a} -> n{b} [label=\"{kind}{count}\"];");
        }
        o.push_str("}\n");
        o
    }
}
