//! The layered layout of the drawing: node positions and the routes of long edges.

use super::*;

/// Node positions (top-left corners), the drawing size, and for each edge the points (centre left
/// of a column, height) it passes through on its way across intermediate columns.
#[derive(Debug)]
pub(super) struct Placed {
    pub(super) x: Vec<usize>,
    pub(super) y: Vec<usize>,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) routes: Vec<Vec<(usize, usize)>>,
}

/// Height of the slot a long edge takes in a column it crosses.
pub(super) const DUMMY_H: usize = 8;
/// Vertical gap between slots.
pub(super) const GAP: usize = ROW_H - NODE_H;
/// Most dummy nodes (bends of long edges); beyond it long edges are drawn straight across.
pub(super) const MAX_DUMMIES: usize = 4000;

/// Layered (Sugiyama-style) layout. Columns by `layer`; an edge spanning several columns gets a
/// dummy node in each column it crosses, so it is routed through the gaps. Within a column, nodes
/// are ordered by the barycenter of their neighbours in the previous column (sweeping left to
/// right, right to left, left to right) to reduce crossings, then placed at the mean height of their
/// left neighbours when there is room, else just below the previous node. O((V + E) log V) for V
/// nodes and dummies.
pub(super) fn layout(layer: &[usize], edges: &[(usize, usize)]) -> Placed {
    let n = layer.len();
    let mut lay: Vec<usize> = layer.to_vec();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for &(a, b) in edges {
        if a >= n || b >= n {
            chains.push(Vec::new());
            continue;
        }
        let mut chain = vec![a];
        if layer[b] > layer[a] + 1 && lay.len() - n + (layer[b] - layer[a] - 1) <= MAX_DUMMIES {
            for l in layer[a] + 1..layer[b] {
                lay.push(l);
                chain.push(lay.len() - 1);
            }
        }
        chain.push(b);
        chains.push(chain);
    }
    let total = lay.len();
    let height_of = |v: usize| if v < n { NODE_H } else { DUMMY_H };
    let nl = lay.iter().max().map_or(1, |m| m + 1);
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); nl];
    for (v, &l) in lay.iter().enumerate() {
        cols[l].push(v);
    }
    let mut lower: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut upper: Vec<Vec<usize>> = vec![Vec::new(); total];
    for chain in &chains {
        for w in chain.windows(2) {
            let (a, b) = (w[0], w[1]);
            if lay[a] < lay[b] {
                lower[b].push(a);
                upper[a].push(b);
            } else if lay[b] < lay[a] {
                lower[a].push(b);
                upper[b].push(a);
            }
        }
    }
    let mut pos = vec![0usize; total];
    for col in &cols {
        for (i, &v) in col.iter().enumerate() {
            pos[v] = i;
        }
    }
    let sweep = |col: &mut Vec<usize>, pos: &mut [usize], nbrs: &[Vec<usize>]| {
        let mut keyed: Vec<(f64, usize, usize)> = col
            .iter()
            .map(|&v| {
                let ns = &nbrs[v];
                let b = if ns.is_empty() {
                    pos[v] as f64
                } else {
                    ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
                };
                (b, pos[v], v)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        col.clear();
        for (i, (_, _, v)) in keyed.into_iter().enumerate() {
            pos[v] = i;
            col.push(v);
        }
    };
    for col in cols.iter_mut().skip(1) {
        sweep(col, &mut pos, &lower);
    }
    for col in cols.iter_mut().rev().skip(1) {
        sweep(col, &mut pos, &upper);
    }
    for col in cols.iter_mut().skip(1) {
        sweep(col, &mut pos, &lower);
    }
    // Vertical placement by centres.
    let mut x = vec![0usize; total];
    let mut cy = vec![0usize; total];
    let mut bottom = NODE_H;
    for (l, col) in cols.iter().enumerate() {
        let mut next = 0usize;
        for &v in col {
            let h = height_of(v);
            let top = if lower[v].is_empty() {
                next
            } else {
                let want = lower[v].iter().map(|&u| cy[u]).sum::<usize>() / lower[v].len();
                want.saturating_sub(h / 2).max(next)
            };
            x[v] = PAD + l * COL_W;
            cy[v] = top + h / 2;
            next = top + h + GAP;
            bottom = bottom.max(top + h);
        }
    }
    let routes = chains
        .iter()
        .map(|c| {
            c.iter()
                .filter(|&&v| v >= n)
                .map(|&v| (x[v], PAD + cy[v]))
                .collect()
        })
        .collect();
    Placed {
        y: (0..n).map(|v| PAD + cy[v] - NODE_H / 2).collect(),
        x: x[..n].to_vec(),
        width: 2 * PAD + (nl - 1) * COL_W + NODE_W,
        height: 2 * PAD + bottom,
        routes,
    }
}

/// SVG path of an edge from the right of `a` to the left of `b` through `route`, and the point of
/// its label (on the last curve, next to the target).
pub(super) fn edge_path(pl: &Placed, a: usize, b: usize, route: &[(usize, usize)]) -> (String, usize, usize) {
    let mid = |v: usize| pl.y[v] + NODE_H / 2;
    let mut d = String::new();
    let (mut px, mut py) = (pl.x[a] + NODE_W, mid(a));
    let _ = write!(d, "M{px},{py}");
    let curve = |d: &mut String, (x1, y1): (usize, usize), (x2, y2): (usize, usize)| {
        let dx = (x2.saturating_sub(x1) / 2).max(30);
        let _ = write!(d, " C{},{y1} {},{y2} {x2},{y2}", x1 + dx, x2.saturating_sub(dx));
        (
            (x1 + 3 * (x1 + dx) + 3 * x2.saturating_sub(dx) + x2) / 8,
            (y1 + y2) / 2,
        )
    };
    for &(x, y) in route {
        curve(&mut d, (px, py), (x, y));
        let _ = write!(d, " L{},{y}", x + NODE_W);
        (px, py) = (x + NODE_W, y);
    }
    if pl.x[b] > px {
        let (lx, ly) = curve(&mut d, (px, py), (pl.x[b], mid(b)));
        (d, lx, ly)
    } else {
        // Same column or leftwards: a loop on the right side.
        let (x2, y2) = (pl.x[b] + NODE_W, mid(b));
        let _ = write!(d, " C{},{py} {},{y2} {x2},{y2}", px + 70, x2 + 70);
        (d, px.max(x2) + 52, (py + y2) / 2)
    }
}
