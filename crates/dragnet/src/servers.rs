//! `dragnet servers` and `dragnet server ID`: the store's observables
//! grouped into servers and infrastructure clusters (`docs/clustering.md`),
//! each scored, enriched and with the evidence that joined it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::ExitCode;

use dragnet_analytics::cluster::{self, Clustering, Edge, Evidence};
use dragnet_analytics::warninglist;
use dragnet_core::score::explain_observations;
use dragnet_core::store::Fact;
use dragnet_core::{Category, Kind, Observable, Store, Tlp, format_timestamp};
use serde::Serialize;

use crate::lookup::Context;
use crate::output::print_json;

/// The kinds a server is made of.
const MEMBER_KINDS: [Kind; 4] = [Kind::Ipv4, Kind::Ipv6, Kind::Domain, Kind::Url];

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only servers scoring at least this (0–100).
    #[arg(long, default_value_t = 0)]
    min_score: u8,
    /// Only servers with an address in this country (ISO 3166 code).
    #[arg(long)]
    country: Option<String>,
    /// Print at most this many servers (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Score as of this time (RFC 3339 or a date) instead of now.
    #[arg(long, value_parser = crate::lookup::parse_at)]
    at: Option<i64>,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// A server id (`srv-…`), or any IP, domain or URL of the server.
    id: String,
    /// Score as of this time (RFC 3339 or a date) instead of now.
    #[arg(long, value_parser = crate::lookup::parse_at)]
    at: Option<i64>,
}

/// One member observable with what the store knows of it.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub value: String,
    pub kind: Kind,
    pub score: u8,
    pub sources: Vec<String>,
    pub categories: Vec<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_org: Option<String>,
}

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
/// assignments (rewritten only when they changed).
pub fn compute(store: &mut dyn Store, ctx: &Context, now: i64, detail: bool) -> anyhow::Result<Servers> {
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
    let views = clustering
        .servers
        .iter()
        .map(|s| {
            let facts: Vec<(&Observable, &[&Fact])> =
                s.members.iter().map(|&m| (&members[m], member_facts[m])).collect();
            view(s, &facts, ctx, &scoring, now, detail, &link_sources)
        })
        .collect::<Vec<_>>();
    let mut views = views;
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

fn evidence(e: &Evidence, link_sources: &BTreeMap<(Observable, Observable), BTreeSet<String>>) -> EvidenceView {
    let sources = link_sources.get(&(e.from.clone(), e.to.clone())).map(|s| s.iter().cloned().collect());
    EvidenceView {
        from: e.from.value().to_string(),
        relation: e.why,
        to: e.to.value().to_string(),
        sources: sources.unwrap_or_default(),
    }
}

fn context(store: &mut dyn Store, data: &std::path::Path) -> anyhow::Result<Context> {
    Ok(Context { lists: crate::warninglists::in_force(store)?, geo: crate::geo::load(data)? })
}

pub fn list(store: &mut dyn Store, data: &std::path::Path, args: &ListArgs, json: bool) -> anyhow::Result<ExitCode> {
    let ctx = context(store, data)?;
    if let Some(notice) = crate::warninglists::none_loaded(store)? {
        eprintln!("note: {notice}");
    }
    let all = compute(store, &ctx, args.at.unwrap_or_else(crate::ingest::now), false)?;
    let country = args.country.as_deref().map(str::to_ascii_uppercase);
    let mut shown: Vec<&ServerView> = all
        .views
        .iter()
        .filter(|v| v.score >= args.min_score)
        .filter(|v| country.as_ref().is_none_or(|c| v.countries.contains(c)))
        .collect();
    if args.limit > 0 {
        shown.truncate(args.limit);
    }
    if json {
        print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} servers in {} infrastructure clusters ({} warninglisted values left out); showing {}",
        all.views.len(),
        all.clustering.clusters.len(),
        all.warninglisted.len(),
        shown.len()
    );
    println!(
        "{:<16} {:>5}  {:<4} {:<28} {:<30} {:<22} sources",
        "server", "score", "cc", "ips", "domains", "categories"
    );
    for v in shown {
        let list = |items: &[String], width: usize| {
            let text = items.join(",");
            if text.chars().count() > width {
                format!("{}…", text.chars().take(width - 1).collect::<String>())
            } else {
                text
            }
        };
        let categories: Vec<String> = v.categories.iter().map(|c| c.as_str().to_string()).collect();
        println!(
            "{:<16} {:>5}  {:<4} {:<28} {:<30} {:<22} {}",
            v.id,
            v.score,
            list(&v.countries, 4),
            list(&v.ips, 28),
            list(&v.domains, 30),
            list(&categories, 22),
            v.sources.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(store: &mut dyn Store, data: &std::path::Path, args: &ShowArgs, json: bool) -> anyhow::Result<ExitCode> {
    let ctx = context(store, data)?;
    let all = compute(store, &ctx, args.at.unwrap_or_else(crate::ingest::now), true)?;
    let wanted = Observable::guess(&args.id).ok().map(|o| o.value().to_string());
    let found = all
        .views
        .iter()
        .find(|v| v.id == args.id || wanted.as_ref().is_some_and(|w| v.members.iter().any(|m| &m.value == w)));
    let Some(v) = found else {
        eprintln!("error: no server `{}`; `dragnet servers` lists them", args.id);
        return Ok(ExitCode::from(2));
    };
    if json {
        print_json(v)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("server {}  (cluster {})  score {}", v.id, v.cluster, v.score);
    println!("  countries   {}", v.countries.join(", "));
    println!("  ASNs        {}", v.asns.join("; "));
    let categories: Vec<&str> = v.categories.iter().map(|c| c.as_str()).collect();
    println!("  categories  {}", categories.join(", "));
    println!("  sources     {}", v.sources.join(", "));
    println!("  seen        {} – {}", v.first_seen.as_deref().unwrap_or("-"), v.last_seen.as_deref().unwrap_or("-"));
    println!("  TLP         {}", v.tlp.map_or("-".to_string(), |t| t.as_str().to_uppercase()));
    println!("members:");
    for m in &v.members {
        println!(
            "  {:<7} {:<44} score {:>3}  {}  {}",
            m.kind.as_str(),
            m.value,
            m.score,
            m.country.as_deref().unwrap_or(""),
            m.sources.join(",")
        );
    }
    if !v.artifacts.is_empty() {
        println!("artifacts:");
        for a in &v.artifacts {
            println!("  {a}");
        }
    }
    println!("evidence:");
    for e in &v.evidence {
        println!("  {} {} {}  [{}]", e.from, e.relation, e.to, e.sources.join(","));
    }
    Ok(ExitCode::SUCCESS)
}
