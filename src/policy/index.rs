//! The role × action index of a policy set, built at load time, and the
//! role sets it is built from. Sets of roles are bitsets (one bit per role),
//! so inheritance and "which roles does this rule apply to" cost a few word
//! operations per role named, and the work of building the index is known
//! (and bounded) before any of it is allocated.

use super::PolicySet;

/// One set of roles per row: row `i` is `words` 64-bit words.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct RoleSets {
    words: usize,
    bits: Vec<u64>,
}

impl RoleSets {
    fn new(rows: usize, roles: usize) -> RoleSets {
        let words = roles.div_ceil(64);
        RoleSets { words, bits: vec![0; rows.saturating_mul(words)] }
    }

    fn row(&self, i: usize) -> &[u64] {
        let start = i.saturating_mul(self.words);
        self.bits.get(start..start.saturating_add(self.words)).unwrap_or(&[])
    }

    fn insert(&mut self, i: usize, role: usize) {
        if let Some(w) = self.bits.get_mut(i.saturating_mul(self.words).saturating_add(role / 64)) {
            *w |= 1 << (role % 64);
        }
    }

    /// Row `dst` |= row `src` of `other`.
    fn union_from(&mut self, dst: usize, other: &RoleSets, src: usize) {
        let start = dst.saturating_mul(self.words);
        if let Some(row) = self.bits.get_mut(start..start.saturating_add(self.words)) {
            for (w, o) in row.iter_mut().zip(other.row(src)) {
                *w |= o;
            }
        }
    }

    /// Row `dst` |= row `src`, both of this set.
    fn union_within(&mut self, dst: usize, src: usize) {
        let copy: Vec<u64> = self.row(src).to_vec();
        let start = dst.saturating_mul(self.words);
        if let Some(row) = self.bits.get_mut(start..start.saturating_add(self.words)) {
            for (w, o) in row.iter_mut().zip(copy) {
                *w |= o;
            }
        }
    }

    fn fill(&mut self, i: usize, roles: usize) {
        for r in 0..roles {
            self.insert(i, r);
        }
    }

    /// Whether this holds `rows` rows of sets of `roles` roles, as a set
    /// read from a bundle must.
    pub(crate) fn fits(&self, rows: usize, roles: usize) -> bool {
        self.words == roles.div_ceil(64) && Some(self.bits.len()) == rows.checked_mul(self.words)
    }

    /// Whether row `i` holds `role`.
    pub(crate) fn contains(&self, i: usize, role: usize) -> bool {
        self.row(i).get(role / 64).is_some_and(|w| w & (1 << (role % 64)) != 0)
    }

    /// The roles of row `i`, in increasing order.
    pub(crate) fn members(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.row(i)
            .iter()
            .enumerate()
            .flat_map(|(wi, &w)| (0..64).filter(move |b| w & (1u64 << b) != 0).map(move |b| wi * 64 + b))
    }

    /// How many roles row `i` holds.
    pub(crate) fn count(&self, i: usize) -> usize {
        self.row(i).iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// For every role, the roles it inherits from, transitively, itself
/// included. Cycles are load errors reported before this runs; a cycle
/// here would only be cut, never looped on.
pub(crate) fn lineage(set: &PolicySet) -> RoleSets {
    let n = set.roles.len();
    let mut out = RoleSets::new(n, n);
    // 0 = not seen, 1 = on the path, 2 = done.
    let mut state = vec![0u8; n];
    let parents = |r: usize| set.roles.get(r).map_or(&[][..], |role| role.inherits.as_slice());
    for start in 0..n {
        if state.get(start) != Some(&0) {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        if let Some(s) = state.get_mut(start) {
            *s = 1;
        }
        while let Some((r, next)) = stack.last_mut() {
            let r = *r;
            if let Some(&p) = parents(r).get(*next) {
                *next += 1;
                if state.get(p) == Some(&0) {
                    if let Some(s) = state.get_mut(p) {
                        *s = 1;
                    }
                    stack.push((p, 0));
                }
                continue;
            }
            out.insert(r, r);
            for &p in parents(r) {
                if state.get(p) == Some(&2) {
                    out.union_within(r, p);
                }
            }
            if let Some(s) = state.get_mut(r) {
                *s = 2;
            }
            stack.pop();
        }
    }
    out
}

/// For every rule, the roles it applies to: every role when it names none,
/// else each role it names and every role that inherits one of them.
pub(crate) fn applying_roles(set: &PolicySet, lineage: &RoleSets) -> RoleSets {
    let n = set.roles.len();
    // Descendants: the lineage transposed.
    let mut below = RoleSets::new(n, n);
    for r in 0..n {
        for a in lineage.members(r) {
            below.insert(a, r);
        }
    }
    let mut out = RoleSets::new(set.rules.len(), n);
    for (ri, rule) in set.rules.iter().enumerate() {
        match &rule.roles {
            None => out.fill(ri, n),
            Some(roles) => {
                for &x in roles {
                    out.union_from(ri, &below, x);
                }
            }
        }
    }
    out
}

/// The entries the index of these rules would hold (rule × role × action
/// cells), saturating.
pub(crate) fn entries(set: &PolicySet, applying: &RoleSets) -> usize {
    set.rules
        .iter()
        .enumerate()
        .fold(0usize, |sum, (ri, rule)| sum.saturating_add(applying.count(ri).saturating_mul(rule.action_ids.len())))
}

/// The rules that can apply in each cell `role * actions + action`, in file
/// order: one list of rule numbers and where each cell's run of it starts
/// (two allocations, however many cells).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Index {
    /// `starts[c]..starts[c + 1]` is cell `c`'s run of `rules`.
    starts: Vec<usize>,
    rules: Vec<usize>,
}

impl Index {
    /// How many cells.
    pub(crate) fn cells(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The rules of cell `c` (none outside the index).
    #[inline]
    pub(crate) fn cell(&self, c: usize) -> &[usize] {
        match (self.starts.get(c), self.starts.get(c.saturating_add(1))) {
            (Some(&start), Some(&end)) => self.rules.get(start..end).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Every rule number of every cell.
    pub(crate) fn entries(&self) -> &[usize] {
        &self.rules
    }

    /// The starts and the rule numbers, to break them in tests.
    #[cfg(test)]
    pub(crate) fn parts_mut(&mut self) -> (&mut Vec<usize>, &mut Vec<usize>) {
        (&mut self.starts, &mut self.rules)
    }

    /// Whether the runs tile the list, as `build` makes them (a bundle's
    /// index is checked, not trusted).
    pub(crate) fn well_formed(&self) -> bool {
        self.starts.first() == Some(&0)
            && self.starts.last() == Some(&self.rules.len())
            && self.starts.windows(2).all(|w| matches!(w, [a, b] if a <= b))
    }
}

/// The index of these rules. Callers check [`entries`] against the bound
/// first.
pub(crate) fn build(set: &PolicySet, applying: &RoleSets) -> Index {
    let n_actions = set.actions.len();
    let n_cells = set.roles.len().saturating_mul(n_actions);
    fn cells<'a>(
        applying: &'a RoleSets,
        ri: usize,
        rule: &'a super::Rule,
        n_actions: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        applying.members(ri).flat_map(move |role| {
            rule.action_ids.iter().map(move |&a| role.saturating_mul(n_actions).saturating_add(a))
        })
    }
    let cells_of = |ri: usize, rule| cells(applying, ri, rule, n_actions);
    // Count each cell's rules, then place them: rules in file order within
    // each cell, as a decision reads them.
    let mut starts = vec![0usize; n_cells.saturating_add(1)];
    for (ri, rule) in set.rules.iter().enumerate() {
        for c in cells_of(ri, rule) {
            if let Some(n) = starts.get_mut(c.saturating_add(1)) {
                *n = n.saturating_add(1);
            }
        }
    }
    for c in 1..starts.len() {
        let before = starts.get(c - 1).copied().unwrap_or(0);
        if let Some(n) = starts.get_mut(c) {
            *n = n.saturating_add(before);
        }
    }
    let mut next = starts.clone();
    let mut rules = vec![0usize; starts.last().copied().unwrap_or(0)];
    for (ri, rule) in set.rules.iter().enumerate() {
        for c in cells_of(ri, rule) {
            if let Some(at) = next.get_mut(c) {
                if let Some(slot) = rules.get_mut(*at) {
                    *slot = ri;
                }
                *at = at.saturating_add(1);
            }
        }
    }
    Index { starts, rules }
}

#[cfg(test)]
mod tests {
    use super::RoleSets;

    #[test]
    fn role_sets_hold_their_members() {
        let mut s = RoleSets::new(2, 130);
        for r in [0, 63, 64, 129] {
            s.insert(1, r);
        }
        assert_eq!(s.members(1).collect::<Vec<_>>(), [0, 63, 64, 129]);
        assert_eq!((s.count(0), s.count(1)), (0, 4));
        assert!(s.contains(1, 64) && !s.contains(1, 65) && !s.contains(0, 0));
        s.union_within(0, 1);
        assert_eq!(s.count(0), 4);
    }
}
