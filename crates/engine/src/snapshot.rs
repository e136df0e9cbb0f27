//! An immutable in-memory copy of every stored observation, keyed by value,
//! so that a server answers lookups without a store round trip. It is
//! rebuilt whole when the store's generation moves and swapped in behind
//! an `Arc`: a reader holds one consistent snapshot for its whole request.

use std::collections::{HashMap, HashSet};

use dragnet_core::store::{Fact, Hit, lookup_candidates_where};
use dragnet_core::{Kind, Observable, Store};

use crate::Result;
use crate::access::Scope;
use crate::lookup::Context;

/// The observations of one generation of the store, by observable.
#[derive(Debug, Default)]
pub struct Snapshot {
    generation: i64,
    by_value: HashMap<Observable, Vec<Fact>>,
    /// The prefix lengths of the stored CIDRs, by family (IPv4 or not): a
    /// lookup asks only for the covering networks of these lengths.
    cidr_lengths: HashSet<(bool, u32)>,
    observations: usize,
}

impl Snapshot {
    /// Reads every observation. The generation is read first: a batch
    /// written meanwhile makes the snapshot look older than it is, so it is
    /// rebuilt once more, never missed.
    pub fn load(store: &mut dyn Store) -> Result<Snapshot> {
        let generation = store.generation()?;
        let facts = store.facts(&Kind::ALL)?;
        let observations = facts.len();
        let mut by_value: HashMap<Observable, Vec<Fact>> = HashMap::new();
        let mut cidr_lengths = HashSet::new();
        for fact in facts {
            let observable = &fact.observation.observable;
            if observable.kind() == Kind::Cidr
                && let Some((address, len)) = observable.value().split_once('/')
                && let Ok(len) = len.parse()
            {
                cidr_lengths.insert((address.contains('.'), len));
            }
            by_value.entry(observable.clone()).or_default().push(fact);
        }
        Ok(Snapshot { generation, by_value, cidr_lengths, observations })
    }

    /// The store generation this snapshot holds.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// How many observations it holds.
    pub fn observations(&self) -> usize {
        self.observations
    }

    /// The stored observations that answer a lookup of `observable`, in the
    /// order the store gives them (first seen, source, line), without their
    /// raw text and origin, which no answer shows.
    pub fn hits(&self, observable: &Observable) -> Vec<Hit> {
        let mut hits = Vec::new();
        let held = |is_v4: bool, len: u32| self.cidr_lengths.contains(&(is_v4, len));
        for (matched, via) in lookup_candidates_where(observable, held) {
            for fact in self.by_value.get(&matched).into_iter().flatten() {
                hits.push(Hit {
                    matched: matched.clone(),
                    via,
                    source: fact.source.clone(),
                    observation: fact.observation.clone(),
                    origin: String::new(),
                });
            }
        }
        fn key(h: &Hit) -> (i64, &str, u32) {
            (h.observation.first_seen, &h.source, h.observation.line)
        }
        hits.sort_by(|a, b| key(a).cmp(&key(b)));
        hits
    }
}

/// [`crate::lookup::look_up`] answered from a snapshot instead of the store:
/// the same answer for the same observations.
pub fn look_up(
    snapshot: &Snapshot,
    ctx: &Context,
    scope: &Scope,
    raw: &str,
    at: Option<i64>,
) -> std::result::Result<dragnet_core::policy::Answer, String> {
    let obs = Observable::guess(raw).map_err(|e| e.to_string())?;
    let hits = if crate::lookup::hidden(ctx, scope, &obs) { Vec::new() } else { snapshot.hits(&obs) };
    Ok(crate::lookup::answer_from(ctx, scope, &obs, hits, at))
}
