//! What the kill-chain drawing shows: the nodes and edges chosen from the run graph, and their
//! columns.

use super::*;

/// A node of the drawing: a process (index into `processes`) or another graph node (index into
/// `graph.nodes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Key {
    Proc(usize),
    Node(usize),
}

/// One drawn edge (between drawing node ids), with its labels.
#[derive(Debug)]
pub(super) struct DrawEdge {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) labels: Vec<String>,
    /// Both ends are evidence of the same detection.
    pub(super) evidence: bool,
}

/// What is drawn: nodes, edges, and how many candidates were left out.
#[derive(Debug, Default)]
pub(super) struct Selection {
    pub(super) keys: Vec<Key>,
    pub(super) id: HashMap<Key, usize>,
    pub(super) edges: Vec<DrawEdge>,
    pub(super) left_out: usize,
    /// Drawing ids that are evidence.
    pub(super) evidence: HashSet<usize>,
    /// Kill-chain steps (ascending) each evidence node belongs to.
    pub(super) evidence_of: HashMap<usize, Vec<usize>>,
    /// Techniques of the detections about a node.
    pub(super) techniques: HashMap<usize, BTreeSet<String>>,
    pub(super) tree_mode: bool,
}

impl Selection {
    /// Adds a node if the drawing has room; `seen` counts every candidate.
    fn add(&mut self, k: Key, seen: &mut HashSet<Key>) -> Option<usize> {
        seen.insert(k);
        if let Some(&i) = self.id.get(&k) {
            return Some(i);
        }
        if self.keys.len() >= MAX_GRAPH {
            return None;
        }
        self.keys.push(k);
        self.id.insert(k, self.keys.len() - 1);
        Some(self.keys.len() - 1)
    }
}

/// The drawing key of a graph node (processes by their index in `processes` when consistent).
pub(super) fn key_of(r: &Report, g: usize) -> Option<Key> {
    match r.graph.nodes.get(g)? {
        NodeKind::Process { pid, index } if r.processes.get(*index).is_some_and(|p| p.pid == *pid) => {
            Some(Key::Proc(*index))
        }
        _ => Some(Key::Node(g)),
    }
}

pub(super) fn edge_label(d: &EdgeData) -> String {
    let mut s = edge_name(d.kind).to_string();
    if d.count > 1 {
        let _ = write!(s, " ×{}", d.count);
    }
    if d.failures > 0 {
        let _ = write!(s, " ({} failed)", d.failures);
    }
    s
}

/// Chooses the nodes: every detection's process and evidence nodes first, then their ancestors
/// (nearest first, one level at a time for all of them); without detections, the top of the process
/// tree (breadth first).
pub(super) fn select(cx: &Ctx<'_>) -> Selection {
    let r = cx.r;
    let mut sel = Selection::default();
    let mut seen: HashSet<Key> = HashSet::new();
    // (process of the detection, evidence graph nodes, techniques)
    let seeds: Vec<(Option<usize>, &[usize], &[String])> = if r.kill_chain.is_empty() {
        r.detections
            .iter()
            .map(|d| {
                (
                    cx.last_by_pid.get(&d.process.pid).copied(),
                    &[][..],
                    d.techniques.as_slice(),
                )
            })
            .collect()
    } else {
        r.kill_chain
            .iter()
            .map(|k| {
                (
                    k.lineage.first().and_then(|p| cx.last_by_pid.get(p)).copied(),
                    k.nodes.as_slice(),
                    k.techniques.as_slice(),
                )
            })
            .collect()
    };
    if seeds.is_empty() {
        sel.tree_mode = true;
        let roots: Vec<usize> = (0..r.processes.len())
            .filter(|&i| cx.parent[i].is_none())
            .collect();
        // Breadth first: the top of the tree.
        let mut queue: std::collections::VecDeque<usize> = roots.into();
        while let Some(i) = queue.pop_front() {
            if sel.add(Key::Proc(i), &mut seen).is_none() {
                break;
            }
            queue.extend(cx.children[i].iter().copied());
        }
        sel.left_out = r.processes.len().saturating_sub(sel.keys.len());
    } else {
        let mut procs_of_seed: Vec<Vec<usize>> = Vec::with_capacity(seeds.len());
        for (step, (proc, nodes, techniques)) in seeds.iter().enumerate() {
            let mut procs = Vec::new();
            if let Some(p) = *proc {
                procs.push(p);
                if let Some(id) = sel.add(Key::Proc(p), &mut seen) {
                    sel.evidence.insert(id);
                    sel.evidence_of.entry(id).or_default().push(step);
                    sel.techniques
                        .entry(id)
                        .or_default()
                        .extend(techniques.iter().cloned());
                }
            }
            for &g in *nodes {
                let Some(k) = key_of(r, g) else { continue };
                if let Key::Proc(p) = k {
                    procs.push(p);
                }
                if let Some(id) = sel.add(k, &mut seen) {
                    sel.evidence.insert(id);
                    sel.evidence_of.entry(id).or_default().push(step);
                }
            }
            procs_of_seed.push(procs);
        }
        // Ancestors, one level at a time for every detection, nearest first; a walk stops where
        // another one already went (each process is walked once: O(processes)).
        let mut cursors: Vec<usize> = procs_of_seed.into_iter().flatten().collect();
        while !cursors.is_empty() {
            cursors.retain_mut(|c| match cx.parent.get(*c).copied().flatten() {
                Some(a) if !seen.contains(&Key::Proc(a)) => {
                    sel.add(Key::Proc(a), &mut seen);
                    *c = a;
                    true
                }
                _ => false,
            });
        }
        sel.left_out = seen.len().saturating_sub(sel.keys.len());
    }
    // Edges of the run graph between drawn nodes, merged per pair.
    let mut pairs: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for (a, b, d) in &r.graph.edges {
        let (Some(ka), Some(kb)) = (key_of(r, *a), key_of(r, *b)) else {
            continue;
        };
        if let (Some(&ia), Some(&ib)) = (sel.id.get(&ka), sel.id.get(&kb))
            && ia != ib
        {
            let labels = pairs.entry((ia, ib)).or_default();
            if labels.len() < 3 {
                labels.push(edge_label(d));
            } else if labels.len() == 3 {
                labels.push("…".into());
            }
        }
    }
    // Parent -> child for drawn processes the graph does not link already.
    for (i, k) in sel.keys.iter().enumerate() {
        if let Key::Proc(p) = *k
            && let Some(parent) = cx.parent[p]
            && let Some(&ip) = sel.id.get(&Key::Proc(parent))
        {
            pairs.entry((ip, i)).or_insert_with(|| vec!["forked".into()]);
        }
    }
    let shared_step = |a: usize, b: usize| {
        let (Some(x), Some(y)) = (sel.evidence_of.get(&a), sel.evidence_of.get(&b)) else {
            return false;
        };
        // Both ascending: a merge walk.
        let (mut i, mut j) = (0, 0);
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Equal => return true,
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
            }
        }
        false
    };
    let edges: Vec<DrawEdge> = pairs
        .into_iter()
        .map(|((from, to), labels)| DrawEdge {
            from,
            to,
            labels,
            evidence: shared_step(from, to),
        })
        .collect();
    sel.edges = edges;
    sel
}

/// Layer of each drawn node: processes by depth among the drawn processes, other nodes one layer
/// right of the deepest process linked to them.
pub(super) fn layers(cx: &Ctx<'_>, sel: &Selection) -> Vec<usize> {
    let n = sel.keys.len();
    let mut layer = vec![0usize; n];
    let mut procs: Vec<(usize, usize)> = sel
        .keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| match k {
            Key::Proc(p) => Some((*p, i)),
            Key::Node(_) => None,
        })
        .collect();
    // A parent's index is below its children's: in index order, parents come first.
    procs.sort_unstable();
    for (p, i) in procs {
        layer[i] = cx.parent[p]
            .and_then(|q| sel.id.get(&Key::Proc(q)))
            .map_or(0, |&j| layer[j] + 1);
    }
    let mut other: Vec<Option<usize>> = vec![None; n];
    for e in &sel.edges {
        for (a, b) in [(e.from, e.to), (e.to, e.from)] {
            if matches!(sel.keys[a], Key::Proc(_)) && matches!(sel.keys[b], Key::Node(_)) {
                let l = layer[a] + 1;
                other[b] = Some(other[b].map_or(l, |x: usize| x.max(l)));
            }
        }
    }
    for (i, l) in other.into_iter().enumerate() {
        if let Some(l) = l {
            layer[i] = l;
        }
    }
    layer
}
