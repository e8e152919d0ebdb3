//! One of N parts of a plan, for one workload run from N machines (`--shard I/N`).
//!
//! The plan is a deterministic list, so it is dealt out exactly, unit by unit (a single request,
//! or a whole conversation — never split), round robin: unit k of a phase (in plan order) goes
//! to part k mod N. Open-loop and replayed trace phases deal their planned units. Closed-loop
//! phases deal their virtual users — of a step's U users, user u runs in part u mod N — and the
//! units of each step's sequence as if each user took one in turn: unit k is user (k mod U)'s,
//! so it goes to part (k mod U) mod N, and a part with no users owns no units. A `requests = M`
//! limit is split the same way (part i gets the units below M it owns). Each part so carries
//! its share of the load at every moment, and the N parts together are exactly the unsharded
//! plan: the same ids, times, lengths, classes and prompts. The plan hash stays the whole
//! plan's, so the parts of one plan say so.

use super::{LoopKind, PhasePlan, PlannedRequest, Schedule};

/// The `index`-th of `count` parts (`index` from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

pub use crate::limits::MAX_SHARDS;

impl Shard {
    /// `I/N`, with 0 ≤ I < N ≤ [`MAX_SHARDS`].
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("expected --shard I/N with 0 <= I < N (e.g. 0/4), found '{s}'");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        if count > MAX_SHARDS {
            return Err(format!("--shard {s}: at most {MAX_SHARDS} parts"));
        }
        Ok(Shard { index, count })
    }

    /// Whether unit (or user) `k` is this part's.
    pub fn owns(self, k: u64) -> bool {
        k % u64::from(self.count) == u64::from(self.index)
    }

    /// How many of `0..total` are this part's.
    pub fn share(self, total: u64) -> u64 {
        let (i, n) = (u64::from(self.index), u64::from(self.count));
        total / n + u64::from(total % n > i)
    }

    /// Whether unit `k` of a closed-loop sequence run by `users` users is this part's: user
    /// (k mod users)'s, dealt round robin.
    pub fn owns_closed(self, k: u64, users: u32) -> bool {
        self.owns(k % u64::from(users.max(1)))
    }

    /// How many of the units `0..total` of a sequence run by `users` users are this part's.
    pub fn share_closed(self, total: u64, users: u32) -> u64 {
        let u = u64::from(users.max(1));
        total / u * self.share(u) + self.share(total % u)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Where a closed-loop step's sequence stands: the next position, and the index of the unit
/// that starts there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub position: u64,
    pub unit: u64,
}

impl Schedule {
    /// This plan's part `shard` (see the module's documentation). `max_in_flight` becomes
    /// ⌈m / N⌉ per part, so no part drops what the whole would have sent.
    pub fn shard(mut self, shard: Shard) -> Schedule {
        let mut requests = Vec::with_capacity(self.requests.len() / shard.count as usize + 1);
        self.shard_users = self
            .phases
            .iter()
            .map(|p| {
                p.steps
                    .iter()
                    .map(|st| {
                        p.users
                            .iter()
                            .filter(|u| u.step == st.index)
                            .map(|u| u.users)
                            .max()
                            .unwrap_or(0)
                    })
                    .collect()
            })
            .collect();
        for (p, phase) in self.phases.iter_mut().enumerate() {
            let start = requests.len();
            if phase.kind == LoopKind::Open {
                let all = &self.requests[phase.requests.clone()];
                for (k, unit) in super::units(all).enumerate() {
                    if shard.owns(k as u64) {
                        requests.extend_from_slice(unit);
                    }
                }
            }
            phase.requests = start..requests.len();
            phase.max_in_flight = phase
                .max_in_flight
                .map(|m| m.div_ceil(u64::from(shard.count)));
            if phase.kind == LoopKind::Closed {
                // Exact for a phase of one step; with several, which steps' units a limit
                // takes is decided at run time, sharded or not.
                let first = self.shard_users[p].first().copied().unwrap_or(0);
                phase.max_requests = phase.max_requests.map(|m| shard.share_closed(m, first));
                for at in &mut phase.users {
                    at.users = shard.share(u64::from(at.users)) as u32;
                }
            }
        }
        self.requests = requests;
        self.shard = Some(shard);
        self
    }

    /// The next unit of this part of the sequence of `step` in closed-loop phase `phase` (one
    /// request, or a conversation's requests), advancing `cursor` past it.
    pub fn next_closed_unit(
        &self,
        phase: u32,
        step: u32,
        cursor: &mut Cursor,
    ) -> Vec<PlannedRequest> {
        let users = self
            .shard_users
            .get(phase as usize)
            .and_then(|p| p.get(step as usize))
            .copied()
            .unwrap_or(0);
        self.next_unit_of(&self.phases[phase as usize], step, users, cursor)
    }

    /// [`Schedule::next_closed_unit`] of a phase plan given (a search's probe), whose step has
    /// `users` users in the whole plan.
    pub fn next_unit_of(
        &self,
        plan: &PhasePlan,
        step: u32,
        users: u32,
        cursor: &mut Cursor,
    ) -> Vec<PlannedRequest> {
        let unit_at = |position: u64| {
            let mut out = Vec::new();
            super::content::unit(self.seed, plan, step, position, None, &mut out);
            out
        };
        let Some(shard) = self.shard else {
            let unit = unit_at(cursor.position);
            cursor.position += unit.len() as u64;
            cursor.unit += 1;
            return unit;
        };
        if shard.share(u64::from(users)) == 0 {
            // No users of this step here: nothing of its sequence is this part's.
            return Vec::new();
        }
        let singles = plan.classes.iter().all(|c| c.session.is_none());
        if singles {
            // Every unit is one request, so unit k is at position k: skip to ours (within
            // 2N, as each run of `users` units holds ours every N).
            let mut k = cursor.unit;
            while !shard.owns_closed(k, users) {
                k += 1;
            }
            *cursor = Cursor {
                position: k + 1,
                unit: k + 1,
            };
            return unit_at(k);
        }
        loop {
            let unit = unit_at(cursor.position);
            let owned = shard.owns_closed(cursor.unit, users);
            cursor.position += unit.len() as u64;
            cursor.unit += 1;
            if owned {
                return unit;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["3/3", "1", "-1/3", "0/0", "a/b", "1/2/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert!(Shard::parse("0/100001").is_err());
    }

    #[test]
    fn shares_add_up() {
        for n in 1..9u32 {
            for total in 0..40u64 {
                let sum: u64 = (0..n)
                    .map(|i| Shard { index: i, count: n }.share(total))
                    .sum();
                assert_eq!(sum, total);
                for i in 0..n {
                    let s = Shard { index: i, count: n };
                    assert_eq!(
                        s.share(total),
                        (0..total).filter(|k| s.owns(*k)).count() as u64
                    );
                }
            }
        }
    }
}
