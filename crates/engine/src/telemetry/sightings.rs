//! Sightings: contacts with values other sources already reported.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use dragnet_analytics::filter::Filter;
use dragnet_core::telemetry::{Conn, DnsQuery, NamedConn};
use dragnet_core::{Observable, Record, Store};

use super::finding;
use crate::Result;

#[derive(Default)]
struct Seen {
    contacts: usize,
    hosts: BTreeSet<IpAddr>,
    first: i64,
    last: i64,
}

/// Every external address connected to, server name and DNS name asked
/// for, gathered one contact at a time; [`Sightings::finish`] looks each up,
/// and each one found becomes a sighting of the stored value by this sensor.
#[derive(Default)]
pub struct Sightings {
    seen: BTreeMap<String, Seen>,
}

impl Sightings {
    fn note(&mut self, value: String, src: IpAddr, ts: f64) {
        let t = ts.trunc() as i64;
        let s = self.seen.entry(value).or_insert_with(|| Seen { first: t, last: t, ..Default::default() });
        s.contacts += 1;
        s.hosts.insert(src);
        s.first = s.first.min(t);
        s.last = s.last.max(t);
    }

    /// A connection from inside the sensor's networks to outside them.
    pub fn conn(&mut self, c: &Conn, filter: &Filter) {
        if filter.internal.contains(c.src) && !filter.internal.contains(c.dst) && !filter.never.contains(c.dst) {
            self.note(c.dst.to_string(), c.src, c.ts);
        }
    }

    pub fn names_and_queries(&mut self, names: &[NamedConn], dns: &[DnsQuery]) {
        for n in names {
            self.note(n.name.clone(), n.src, n.ts);
        }
        for q in dns {
            self.note(q.query.clone(), q.src, q.ts);
        }
    }

    /// The values another source than `me` reported, as findings.
    pub fn finish(self, store: &mut dyn Store, me: &str) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for (value, s) in self.seen {
            let Ok(observable) = Observable::guess(&value) else { continue };
            let hits: Vec<_> = store.lookup(&observable)?.into_iter().filter(|h| h.source != me).collect();
            let Some(first_hit) = hits.first() else { continue };
            let known_sources: BTreeSet<&str> = hits.iter().map(|h| h.source.as_str()).collect();
            let category = first_hit.observation.category;
            let evidence = serde_json::json!({
                "detector": "sighting", "value": value, "matched": first_hit.matched.value(), "via": first_hit.via,
                "known_sources": known_sources, "contacts": s.contacts,
                "hosts": s.hosts.iter().take(5).collect::<Vec<_>>(),
            });
            let tags = vec!["sighting".to_string()];
            out.extend(finding(&value, category, s.first, s.last, tags, evidence));
        }
        Ok(out)
    }
}
