//! Servers: the store's observables grouped into servers and infrastructure
//! clusters (`docs/clustering.md`), each scored, enriched and with the
//! evidence that joined it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dragnet_analytics::cluster::{self, Clustering, Edge, Evidence};
use dragnet_analytics::warninglist;
use dragnet_core::score::explain_observations;
use dragnet_core::store::Fact;
use dragnet_core::{Category, Kind, Observable, Store, Tlp, format_timestamp};
use serde::Serialize;

use crate::Result;
use crate::access::Scope;
use crate::lookup::Context;

/// The kinds a server is made of.
const MEMBER_KINDS: [Kind; 4] = [Kind::Ipv4, Kind::Ipv6, Kind::Domain, Kind::Url];

/// One member observable with what the store knows of it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub value: String,
    pub kind: Kind,
    pub score: u8,
    pub sources: Vec<String>,
    pub categories: Vec<Category>,
    /// The strictest marking of what the caller sees of it.
    pub tlp: Tlp,
    /// The (source, marking) pairs of what the caller sees of it: a
    /// decision stream judges each later caller by them.
    #[serde(skip)]
    pub markings: Vec<(String, Tlp)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_org: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ServerView {
    pub id: String,
    pub cluster: String,
    pub score: u8,
    pub ips: Vec<String>,
    pub domains: Vec<String>,
    pub urls: Vec<String>,
    pub countries: Vec<String>,
    pub asns: Vec<String>,
    pub categories: Vec<Category>,
    pub sources: Vec<String>,
    pub tags: Vec<String>,
    pub tlp: Option<Tlp>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub artifacts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceView>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    pub from: String,
    pub relation: &'static str,
    pub to: String,
    /// Who reported the link (empty for a URL's host, which needs no report).
    pub sources: Vec<String>,
}

/// Every server of the store, highest score first, with what was excluded.
pub struct Servers {
    pub views: Vec<ServerView>,
    pub clustering: Clustering,
    /// Warninglisted values left out, with their scores.
    pub warninglisted: BTreeMap<String, u8>,
    pub clustering_ms: f64,
}

/// Clusters the whole store, keeping server ids stable through the stored
/// assignments (rewritten only when they changed), and shows `scope` each
/// server as far as it may see it: the observations it may not see are left
/// out (and with them the members only they reported, and the server if no
/// member is left), so scores, times and evidence come from what it sees.
pub fn compute(store: &mut dyn Store, ctx: &Context, scope: &Scope, now: i64, detail: bool) -> Result<Servers> {
    let facts = store.facts(&MEMBER_KINDS)?;
    let mut by_observable: BTreeMap<&Observable, Vec<&Fact>> = BTreeMap::new();
    for f in &facts {
        by_observable.entry(&f.observation.observable).or_default().push(f);
    }
    let mut listed: HashMap<Observable, bool> = HashMap::new();
    let mut is_listed =
        |o: &Observable| *listed.entry(o.clone()).or_insert_with(|| !warninglist::hits(&ctx.lists, o).is_empty());
    let scoring = crate::config::scoring();
    let mut warninglisted = BTreeMap::new();
    let mut members: Vec<Observable> = Vec::with_capacity(by_observable.len());
    let mut member_facts: Vec<&[&Fact]> = Vec::with_capacity(by_observable.len());
    for (o, f) in &by_observable {
        if is_listed(o) {
            let score =
                explain_observations(&scoring, f.iter().map(|f| (f.source.as_str(), &f.observation)), now).score;
            warninglisted.insert(o.value().to_string(), score);
        } else {
            members.push((*o).clone());
            member_facts.push(f);
        }
    }
    let mut link_sources: BTreeMap<(Observable, Observable), BTreeSet<String>> = BTreeMap::new();
    for l in store.links()? {
        // A link to a warninglisted value (a sinkhole answer, a CDN edge) joins nothing.
        if is_listed(&l.from) || is_listed(&l.to) {
            continue;
        }
        link_sources.entry((l.from, l.to)).or_default().insert(l.source);
    }
    let edges: Vec<Edge> = link_sources
        .keys()
        .filter_map(|(from, to)| {
            let relation = dragnet_core::Relation::between(from.kind(), to.kind())?;
            Some(Edge { from: from.clone(), to: to.clone(), relation })
        })
        .collect();
    let stored = store.server_assignments()?;
    let previous: HashMap<Observable, String> = stored.iter().cloned().collect();
    let started = std::time::Instant::now();
    let clustering = cluster::cluster(&members, &edges, &previous, &crate::config::clustering());
    let clustering_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut assignments: Vec<(Observable, String)> =
        clustering.servers.iter().flat_map(|s| s.members.iter().map(|&m| (members[m].clone(), s.id.clone()))).collect();
    assignments.sort();
    let mut before = stored;
    before.sort();
    if assignments != before {
        store.put_server_assignments(&assignments)?;
    }
    let mut views: Vec<ServerView> = clustering
        .servers
        .iter()
        .filter_map(|s| {
            let visible: Vec<(&Observable, Vec<&Fact>)> = s
                .members
                .iter()
                .map(|&m| {
                    let seen = member_facts[m].iter().copied().filter(|f| scope.allows(&f.source, f.observation.tlp));
                    (&members[m], seen.collect::<Vec<_>>())
                })
                .filter(|(_, facts)| !facts.is_empty())
                .collect();
            if visible.is_empty() {
                return None;
            }
            let facts: Vec<(&Observable, &[&Fact])> = visible.iter().map(|(o, f)| (*o, f.as_slice())).collect();
            let mut v = view(s, &facts, ctx, &scoring, now, detail, &link_sources);
            if !scope.sees_warninglisted() {
                leave_out_unseen_evidence(&mut v);
            }
            Some(v)
        })
        .collect();
    if !scope.sees_warninglisted() {
        warninglisted.clear();
    }
    views.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    Ok(Servers { views, clustering, warninglisted, clustering_ms })
}

fn view(
    server: &cluster::Server,
    members: &[(&Observable, &[&Fact])],
    ctx: &Context,
    scoring: &dragnet_core::score::ScoringConfig,
    now: i64,
    detail: bool,
    link_sources: &BTreeMap<(Observable, Observable), BTreeSet<String>>,
) -> ServerView {
    let mut v = ServerView {
        id: server.id.clone(),
        cluster: server.cluster.clone(),
        score: 0,
        ips: Vec::new(),
        domains: Vec::new(),
        urls: Vec::new(),
        countries: Vec::new(),
        asns: Vec::new(),
        categories: Vec::new(),
        sources: Vec::new(),
        tags: Vec::new(),
        tlp: None,
        first_seen: None,
        last_seen: None,
        artifacts: server.artifacts.iter().map(|a| format!("{}:{}", a.kind().as_str(), a.value())).collect(),
        members: Vec::new(),
        evidence: Vec::new(),
    };
    let (mut countries, mut asns, mut categories, mut sources, mut tags) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for (o, facts) in members {
        let score = explain_observations(scoring, facts.iter().map(|f| (f.source.as_str(), &f.observation)), now).score;
        v.score = v.score.max(score);
        let mut m = Member {
            value: o.value().to_string(),
            kind: o.kind(),
            score,
            sources: facts.iter().map(|f| f.source.clone()).collect::<BTreeSet<_>>().into_iter().collect(),
            categories: facts.iter().map(|f| f.observation.category).collect::<BTreeSet<_>>().into_iter().collect(),
            tlp: facts.iter().map(|f| f.observation.tlp).max().unwrap_or(Tlp::Clear),
            markings: facts
                .iter()
                .map(|f| (f.source.clone(), f.observation.tlp))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            country: None,
            asn: None,
            as_org: None,
        };
        match o.kind() {
            Kind::Ipv4 | Kind::Ipv6 => {
                if let Ok(ip) = o.value().parse() {
                    let e = ctx.geo.enrich(ip);
                    countries.extend(e.country.clone());
                    if let Some(asn) = e.asn {
                        asns.insert(format!("AS{asn} {}", e.as_org.clone().unwrap_or_default()).trim().to_string());
                    }
                    (m.country, m.asn, m.as_org) = (e.country, e.asn, e.as_org);
                }
                v.ips.push(m.value.clone());
            }
            Kind::Domain => v.domains.push(m.value.clone()),
            _ => v.urls.push(m.value.clone()),
        }
        for f in *facts {
            let o = &f.observation;
            categories.insert(o.category);
            sources.insert(f.source.clone());
            tags.extend(o.tags.iter().filter(|t| !t.contains(':')).cloned());
            v.tlp = v.tlp.max(Some(o.tlp));
            first = first.min(o.first_seen);
            last = last.max(o.last_seen);
        }
        if detail {
            v.members.push(m);
        }
    }
    v.countries = countries.into_iter().collect();
    v.asns = asns.into_iter().collect();
    v.categories = categories.into_iter().collect();
    v.sources = sources.into_iter().collect();
    v.tags = tags.into_iter().take(20).collect();
    if first <= last {
        v.first_seen = Some(format_timestamp(first));
        v.last_seen = Some(format_timestamp(last));
    }
    if detail {
        v.evidence = server.evidence.iter().map(|e| evidence(e, link_sources)).collect();
    }
    v
}

/// Keeps the evidence whose both ends the caller sees, as reported by the
/// sources it sees, and the artifacts that evidence names: a link through a
/// hidden member, or reported only by a hidden source, is left out.
fn leave_out_unseen_evidence(v: &mut ServerView) {
    let seen_sources: BTreeSet<String> = v.sources.iter().cloned().collect();
    let artifact_values: Vec<&str> =
        v.artifacts.iter().filter_map(|a| a.split_once(':').map(|(_, value)| value)).collect();
    let seen: BTreeSet<String> = v.ips.iter().chain(&v.domains).chain(&v.urls).cloned().collect();
    let visible = |value: &str| seen.contains(value) || artifact_values.contains(&value);
    v.evidence.retain_mut(|e| {
        let reported = e.sources.is_empty();
        e.sources.retain(|s| seen_sources.contains(s));
        visible(&e.from) && visible(&e.to) && (reported || !e.sources.is_empty())
    });
    let named: BTreeSet<&str> = v.evidence.iter().flat_map(|e| [e.from.as_str(), e.to.as_str()]).collect();
    v.artifacts.retain(|a| a.split_once(':').is_some_and(|(_, value)| named.contains(value)));
}

fn evidence(e: &Evidence, link_sources: &BTreeMap<(Observable, Observable), BTreeSet<String>>) -> EvidenceView {
    let sources = link_sources.get(&(e.from.clone(), e.to.clone())).map(|s| s.iter().cloned().collect());
    EvidenceView {
        from: e.from.value().to_string(),
        relation: e.why,
        to: e.to.value().to_string(),
        sources: sources.unwrap_or_default(),
    }
}

/// The server with id `id` (`srv-…`), or holding the IP, domain or URL `id`.
pub fn find<'a>(servers: &'a Servers, id: &str) -> Option<&'a ServerView> {
    let wanted = Observable::guess(id).ok().map(|o| o.value().to_string());
    servers
        .views
        .iter()
        .find(|v| v.id == id || wanted.as_ref().is_some_and(|w| v.members.iter().any(|m| &m.value == w)))
}
