//! Which conditions of one event kind can hold for an event: two combined automata (every path
//! glob and every program glob of the kind's conditions) answer in one pass each, so an event is
//! only checked against the conditions that can match it, not against the whole rule set.

use globset::{GlobSet, GlobSetBuilder};

use super::rule::{Condition, glob};

/// The candidate index of one event kind's conditions (singles, or sequence steps).
#[derive(Debug, Default)]
pub(crate) struct KindIndex {
    /// Every `path` glob of the conditions that have one.
    paths: GlobSet,
    /// For each glob of `paths`, the condition it belongs to.
    path_of: Vec<usize>,
    /// Every `program` glob of the conditions with a program and no path.
    programs: GlobSet,
    /// For each glob of `programs`, the condition it belongs to.
    program_of: Vec<usize>,
    /// Conditions with neither: always tried.
    always: Vec<usize>,
}

impl KindIndex {
    /// The index of `conds`, numbered in order.
    pub(crate) fn build<'a>(conds: impl Iterator<Item = &'a Condition>) -> KindIndex {
        let mut paths = GlobSetBuilder::new();
        let mut programs = GlobSetBuilder::new();
        let mut idx = KindIndex::default();
        let mut n = 0;
        for (i, c) in conds.enumerate() {
            n = i + 1;
            // Both fields must hold when both are given: the path alone is enough to select.
            let (globs, builder, owner) = if !c.path_globs.is_empty() {
                (&c.path_globs, &mut paths, &mut idx.path_of)
            } else if !c.program_globs.is_empty() {
                (&c.program_globs, &mut programs, &mut idx.program_of)
            } else {
                idx.always.push(i);
                continue;
            };
            for g in globs {
                // Every glob compiled when its rule did; one that does not is tried always.
                match glob(g) {
                    Ok(g) => {
                        builder.add(g);
                        owner.push(i);
                    }
                    Err(_) => idx.always.push(i),
                }
            }
        }
        match (paths.build(), programs.build()) {
            (Ok(p), Ok(g)) => {
                idx.paths = p;
                idx.programs = g;
                idx.always.sort_unstable();
                idx.always.dedup();
                idx
            }
            // Cannot happen with globs that compiled one by one; if it did, try everything.
            _ => KindIndex {
                always: (0..n).collect(),
                ..KindIndex::default()
            },
        }
    }

    /// The conditions that may hold for an event with this path and these program names,
    /// ascending, into `out` (`hits` is scratch space).
    pub(crate) fn candidates<'a>(
        &self,
        path: Option<&str>,
        names: impl Iterator<Item = &'a str>,
        hits: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        out.extend_from_slice(&self.always);
        if let Some(p) = path
            && !self.path_of.is_empty()
        {
            self.paths.matches_into(p, hits);
            out.extend(hits.iter().map(|&g| self.path_of[g]));
        }
        if !self.program_of.is_empty() {
            for n in names {
                self.programs.matches_into(n, hits);
                out.extend(hits.iter().map(|&g| self.program_of[g]));
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}
