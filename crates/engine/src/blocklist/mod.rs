//! Blocklists: what is still live, as far as a caller may see it, in the
//! formats defenders' tools load (`formats`). Never a warninglisted,
//! expired, verified-offline, rejected or not-permitted entry; always in
//! the same order, so two exports of the same state are byte-identical.

pub mod cidr;
pub mod formats;

use std::collections::BTreeMap;

use dragnet_analytics::warninglist;
use dragnet_core::score::explain_observations;
use dragnet_core::takedown::State;
use dragnet_core::{Category, Kind, Observable, Store, Timestamp, Tlp};
use serde::Serialize;

use crate::Result;
use crate::access::Scope;
use crate::lookup::Context;

pub use formats::{Format, Meta, Written, write};

/// Which entries a caller wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Leave out what is marked stricter than this.
    pub tlp_max: Option<Tlp>,
    /// Only these categories (all when empty).
    pub categories: Vec<Category>,
    pub min_score: u8,
}

/// One value to block.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub value: String,
    pub kind: Kind,
    pub categories: Vec<Category>,
    pub score: u8,
    pub tlp: Tlp,
    /// The server it belongs to; empty for a network reported on its own.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    /// Seconds since the Unix epoch: the latest sighting the caller sees.
    pub last_seen: Timestamp,
    /// The (source, marking) pairs it rests on.
    #[serde(skip)]
    pub markings: Vec<(String, Tlp)>,
}

impl Entry {
    /// The category an answer code or a reputation list names: the first.
    pub fn category(&self) -> Category {
        self.categories.first().copied().unwrap_or(Category::Other)
    }
}

impl Filter {
    /// A filter from the words a user gives (`--tlp-max amber --category botnet-c2`).
    pub fn parse(tlp_max: Option<&str>, categories: &[String], min_score: Option<u8>) -> Result<Filter> {
        let tlp_max = tlp_max
            .map(|t| t.parse::<Tlp>().map_err(|e| crate::Error::invalid(format!("--tlp-max: {e}"))))
            .transpose()?;
        let categories = categories
            .iter()
            .flat_map(|c| c.split(','))
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.parse::<Category>().map_err(|e| crate::Error::invalid(format!("--category: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let min_score = min_score.unwrap_or(0);
        if min_score > 100 {
            return Err(crate::Error::invalid("--min-score is 0 to 100"));
        }
        Ok(Filter { tlp_max, categories, min_score })
    }
}

/// An export as a user asks for it (`dragnet export`'s options; a fleet
/// job carries it as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    pub format: String,
    pub tlp_max: Option<String>,
    pub categories: Vec<String>,
    pub min_score: Option<u8>,
    pub name: Option<String>,
    pub zone: Option<String>,
}

impl Selection {
    pub fn request(&self) -> Result<Request> {
        Ok(Request {
            format: self.format.parse()?,
            filter: Filter::parse(self.tlp_max.as_deref(), &self.categories, self.min_score)?,
            name: self.name.clone(),
            zone: self.zone.clone(),
        })
    }
}

/// An export asked for: the format, the filter, and names the file uses.
#[derive(Debug, Clone)]
pub struct Request {
    pub format: Format,
    pub filter: Filter,
    /// Firewall set and address-list name (default `dragnet`).
    pub name: Option<String>,
    /// RPZ zone name (default `rpz.dragnet`).
    pub zone: Option<String>,
}

/// Selects and writes an export. The RPZ serial is the time of the newest
/// sighting or takedown move it reflects, so the same state gives the same
/// bytes and a newer state a larger serial.
pub fn export(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    request: &Request,
) -> Result<Written> {
    let mut meta = Meta::default();
    if let Some(name) = &request.name {
        let ok = (1..=24).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(crate::Error::invalid(format!("--name {name}: 1 to 24 of a-z, 0-9, _ and -")));
        }
        meta.name = name.clone();
    }
    if let Some(zone) = &request.zone {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        if !formats::plain_dns_name(&zone) || zone.len() > 200 {
            return Err(crate::Error::invalid(format!(
                "--zone {zone}: not a plain DNS name of at most 200 characters"
            )));
        }
        meta.zone = zone;
    }
    let entries = select(store, ctx, scope, now, &request.filter)?;
    meta.serial = serial(store, &entries)?;
    Ok(write(request.format, &entries, &meta))
}

/// A zone serial for `entries`: the time of the newest sighting or
/// takedown move they reflect (the same state, the same serial).
pub fn serial(store: &mut dyn Store, entries: &[Entry]) -> Result<u32> {
    let moved = store.takedowns()?.iter().map(|r| r.updated).max().unwrap_or(0);
    let newest = entries.iter().map(|e| e.last_seen).max().unwrap_or(0).max(moved);
    Ok(u32::try_from(newest.max(1)).unwrap_or(u32::MAX))
}

/// A takedown in this state is over (or was a false positive): its server
/// is no longer blocked.
fn published(state: State) -> bool {
    !state.is_down() && state != State::Rejected
}

/// The entries `scope` may see that `filter` keeps, in a stable order.
pub fn select(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    filter: &Filter,
) -> Result<Vec<Entry>> {
    let keeps = |score: u8, tlp: Tlp, categories: &[Category]| {
        // A score of 0 is an expired sighting.
        score > 0
            && score >= filter.min_score
            && filter.tlp_max.is_none_or(|max| tlp <= max)
            && (filter.categories.is_empty() || categories.iter().any(|c| filter.categories.contains(c)))
    };
    let servers = crate::servers::compute(store, ctx, scope, now, true)?.views;
    let rows = crate::takedown::rows(store, &servers)?;
    let mut entries = Vec::new();
    for (view, _) in servers.iter().zip(&rows).filter(|(_, r)| published(r.state)) {
        for m in view.members.iter().filter(|m| keeps(m.score, m.tlp, &m.categories)) {
            entries.push(Entry {
                value: m.value.clone(),
                kind: m.kind,
                categories: m.categories.clone(),
                score: m.score,
                tlp: m.tlp,
                server: view.id.clone(),
                last_seen: view.last_seen.as_deref().and_then(dragnet_core::parse_timestamp).unwrap_or_default(),
                markings: m.markings.clone(),
            });
        }
    }
    // Networks are not server members: they are listed as reported.
    let scoring = crate::config::scoring();
    let mut networks: BTreeMap<Observable, Vec<(String, dragnet_core::store::Observation)>> = BTreeMap::new();
    for f in store.facts(&[Kind::Cidr])? {
        if scope.allows(&f.source, f.observation.tlp) {
            networks.entry(f.observation.observable.clone()).or_default().push((f.source, f.observation));
        }
    }
    for (network, facts) in networks {
        if !warninglist::hits(&ctx.lists, &network).is_empty() {
            continue;
        }
        let score = explain_observations(&scoring, facts.iter().map(|(s, o)| (s.as_str(), o)), now).score;
        let tlp = facts.iter().map(|(_, o)| o.tlp).max().unwrap_or(Tlp::Clear);
        let mut categories: Vec<Category> = facts.iter().map(|(_, o)| o.category).collect();
        categories.sort();
        categories.dedup();
        if keeps(score, tlp, &categories) {
            entries.push(Entry {
                value: network.value().to_string(),
                kind: Kind::Cidr,
                categories,
                score,
                tlp,
                server: String::new(),
                last_seen: facts.iter().map(|(_, o)| o.last_seen).max().unwrap_or_default(),
                markings: {
                    let mut m: Vec<(String, Tlp)> = facts.iter().map(|(s, o)| (s.clone(), o.tlp)).collect();
                    m.sort();
                    m.dedup();
                    m
                },
            });
        }
    }
    sort(&mut entries);
    Ok(entries)
}

/// IPv4, IPv6 and networks in address order, then domains and URLs by name.
pub fn sort(entries: &mut [Entry]) {
    fn key(e: &Entry) -> (u8, Option<cidr::Block>, &str) {
        let rank = match e.kind {
            Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr => 0,
            Kind::Domain => 1,
            _ => 2,
        };
        (rank, cidr::parse(&e.value), e.value.as_str())
    }
    entries.sort_by(|a, b| key(a).cmp(&key(b)));
}
