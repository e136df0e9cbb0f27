//! Collecting the links a telemetry log states, one per (from, to), with the
//! first and last time each was seen.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use dragnet_core::{Link, Observable};

#[derive(Debug, Default)]
pub struct LinkSet {
    links: Vec<Link>,
    index: HashMap<(Observable, Observable), usize>,
}

impl LinkSet {
    /// Notes that `from` and `to` were seen together at `ts`; ignored when
    /// either is missing or their kinds have no relation.
    pub fn add(&mut self, from: Option<Observable>, to: Option<Observable>, ts: i64) {
        let (Some(from), Some(to)) = (from, to) else { return };
        match self.index.entry((from, to)) {
            Entry::Occupied(e) => {
                if let Some(l) = self.links.get_mut(*e.get()) {
                    l.first_seen = l.first_seen.min(Some(ts));
                    l.last_seen = l.last_seen.max(Some(ts));
                }
            }
            Entry::Vacant(e) => {
                let (from, to) = e.key().clone();
                if let Some(mut l) = Link::new(from, to, 0) {
                    (l.first_seen, l.last_seen) = (Some(ts), Some(ts));
                    e.insert(self.links.len());
                    self.links.push(l);
                }
            }
        }
    }

    /// Adds a whole link; a second one between the same ends widens the
    /// first one's times.
    pub fn insert(&mut self, link: Link) {
        match self.index.entry((link.from.clone(), link.to.clone())) {
            Entry::Occupied(e) => {
                if let Some(l) = self.links.get_mut(*e.get()) {
                    l.first_seen = l.first_seen.min(link.first_seen).or(link.first_seen);
                    l.last_seen = l.last_seen.max(link.last_seen);
                }
            }
            Entry::Vacant(e) => {
                e.insert(self.links.len());
                self.links.push(link);
            }
        }
    }

    pub fn into_links(self) -> Vec<Link> {
        self.links
    }
}
