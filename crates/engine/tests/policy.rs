//! The policy point, end to end: random communities, sharing limits,
//! markings and callers, written to a real (in-memory SQLite) store and
//! read back through every read path the engine serves (lookup, explain,
//! servers). Nothing returned may be something the caller may not see,
//! judged by an oracle written apart from `may_see`: it lists, for each
//! marking, the organisations in the audience, and checks membership.

use std::collections::{BTreeMap, BTreeSet};

use dragnet_core::access::{Org, OrgKind, Recipient, Role};
use dragnet_core::policy::BatchLabels;
use dragnet_core::store::{Batch, Source};
use dragnet_core::{Grade, Kind, Link, Observable, Record, Store, Tlp};
use dragnet_engine::access::{Scope, Who, share_source};
use dragnet_engine::lookup::{Context, explain_value, look_up};
use dragnet_engine::servers::compute;
use dragnet_engine::snapshot::{self, Snapshot};
use proptest::prelude::*;

const KINDS: [OrgKind; 4] = [OrgKind::Coordinator, OrgKind::Partner, OrgKind::Agency, OrgKind::Public];
const TLPS: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];
const VALUES: [&str; 5] = ["45.1.1.1", "45.1.1.2", "evil-domain.net", "45.1.0.0/16", "www.evil-domain.net"];

/// A source's owner (an organisation's index) and recipients (an
/// organisation's index, or every organisation of a kind).
type SourceSharing = (Option<usize>, Vec<Result<usize, OrgKind>>);

#[derive(Debug, Clone)]
struct World {
    orgs: Vec<Org>,
    /// Per source: owner (org index), recipients (org index or kind).
    sources: Vec<SourceSharing>,
    /// (source, value, tlp)
    observations: Vec<(usize, usize, Tlp)>,
    /// (source, from value, to value)
    links: Vec<(usize, usize, usize)>,
    /// None: no token; Some(org index).
    viewer: Option<usize>,
}

fn world() -> impl Strategy<Value = World> {
    (2usize..6, 1usize..4).prop_flat_map(|(n_orgs, n_sources)| {
        let orgs = proptest::collection::vec((0usize..4, proptest::collection::vec(0usize..n_orgs, 0..3)), n_orgs);
        let sources = proptest::collection::vec(
            (
                proptest::option::of(0usize..n_orgs),
                proptest::collection::vec(
                    prop_oneof![(0usize..n_orgs).prop_map(Ok), (0usize..4).prop_map(|k| Err(KINDS[k]))],
                    0..4,
                ),
            ),
            n_sources,
        );
        let observations = proptest::collection::vec((0usize..n_sources, 0usize..VALUES.len(), 0usize..5), 1..10);
        let links = proptest::collection::vec((0usize..n_sources, 0usize..VALUES.len(), 0usize..VALUES.len()), 0..4);
        let viewer = proptest::option::of(0usize..n_orgs);
        (orgs, sources, observations, links, viewer).prop_map(|(orgs, sources, observations, links, viewer)| World {
            orgs: orgs
                .into_iter()
                .enumerate()
                .map(|(i, (kind, clients))| Org {
                    name: format!("org{i}"),
                    kind: KINDS[kind],
                    countries: vec![],
                    asns: vec![],
                    prefixes: vec![],
                    clients: clients.into_iter().filter(|&c| c != i).map(|c| format!("org{c}")).collect(),
                })
                .collect(),
            sources,
            observations: observations.into_iter().map(|(s, v, t)| (s, v, TLPS[t])).collect(),
            links,
            viewer,
        })
    })
}

/// The oracle: the names of the organisations in the audience of `tlp` from
/// a source shared as given, or `None` for "anyone, even without a token".
fn audience(w: &World, source: usize, tlp: Tlp) -> Option<BTreeSet<String>> {
    let (owner, recipients) = &w.sources[source];
    let named: BTreeSet<String> = owner
        .iter()
        .chain(recipients.iter().filter_map(|r| r.as_ref().ok()))
        .map(|&i| w.orgs[i].name.clone())
        .collect();
    let by_kind: BTreeSet<String> = w
        .orgs
        .iter()
        .filter(|o| recipients.iter().any(|r| r.as_ref().err() == Some(&o.kind)))
        .map(|o| o.name.clone())
        .collect();
    let recipients: BTreeSet<String> = named.union(&by_kind).cloned().collect();
    Some(match tlp {
        Tlp::Clear => return None,
        Tlp::Green => {
            w.orgs.iter().filter(|o| o.kind != OrgKind::Public).map(|o| o.name.clone()).chain(named).collect()
        }
        Tlp::Amber => {
            let mut all = recipients.clone();
            for o in w.orgs.iter().filter(|o| recipients.contains(&o.name) && o.kind != OrgKind::Public) {
                all.extend(o.clients.iter().cloned());
            }
            all
        }
        Tlp::AmberStrict => recipients,
        Tlp::Red => named,
    })
}

fn may(w: &World, source: usize, tlp: Tlp) -> bool {
    match (audience(w, source, tlp), w.viewer) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(names), Some(v)) => names.contains(&w.orgs[v].name),
    }
}

fn source_name(i: usize) -> String {
    format!("src{i}")
}

fn build(w: &World) -> dragnet_store::SqliteStore {
    let mut store = dragnet_store::SqliteStore::in_memory().unwrap();
    for o in &w.orgs {
        store.add_org(o, "test", 1).unwrap();
    }
    for (i, (owner, recipients)) in w.sources.iter().enumerate() {
        let source = Source { name: source_name(i), grade: Grade::UNGRADED, tlp: Tlp::Amber };
        let owner = owner.map(|o| w.orgs[o].name.clone());
        let recipients: Vec<String> = recipients
            .iter()
            .map(|r| match r {
                Ok(o) => w.orgs[*o].name.clone(),
                Err(kind) => Recipient::Kind(*kind).to_string(),
            })
            .collect();
        share_source(&mut store, "test", &source, owner.as_deref(), &recipients).unwrap();
        let observations: Vec<_> = w
            .observations
            .iter()
            .enumerate()
            .filter(|(_, (s, _, _))| *s == i)
            .map(|(n, (_, v, tlp))| {
                let mut r = Record::new(Observable::guess(VALUES[*v]).unwrap(), n as u32 + 1, format!("{n}"));
                r.tlp = Some(*tlp);
                dragnet_core::policy::label(r, &source, &BatchLabels::default(), 1_700_000_000)
            })
            .collect();
        let links: Vec<Link> = w
            .links
            .iter()
            .filter(|(s, _, _)| *s == i)
            .filter_map(|(_, a, b)| {
                Link::new(Observable::guess(VALUES[*a]).unwrap(), Observable::guess(VALUES[*b]).unwrap(), 1)
            })
            .collect();
        let batch = Batch {
            source: &source,
            origin: "test",
            observations: &observations,
            rejects: &[],
            links: &links,
            ingested_at: 1,
        };
        store.write_batch(&batch).unwrap();
    }
    store
}

fn check(w: &World) -> Result<(), TestCaseError> {
    let mut store = build(w);
    let who = match w.viewer {
        Some(v) => Who::Org { name: w.orgs[v].name.clone(), role: Role::Reader, token: 1 },
        None => Who::Anyone,
    };
    let scope = Scope::load(&mut store, who).unwrap();
    let ctx = Context::load(&mut store, std::path::Path::new("/nonexistent")).unwrap();
    let snapshot = Snapshot::load(&mut store).unwrap();
    // What the viewer may see, by value: (source name) → count.
    let mut visible: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (s, v, tlp) in &w.observations {
        if may(w, *s, *tlp) {
            let value = Observable::guess(VALUES[*v]).unwrap().value().to_string();
            *visible.entry(value).or_default().entry(source_name(*s)).or_default() += 1;
        }
    }
    for value in VALUES {
        let obs = Observable::guess(value).unwrap();
        let answer = look_up(&mut store, &ctx, &scope, value, Some(1_700_000_000)).unwrap().unwrap();
        // The server's in-memory path gives the very same answer.
        let from_snapshot = snapshot::look_up(&snapshot, &ctx, &scope, value, Some(1_700_000_000)).unwrap();
        prop_assert_eq!(serde_json::to_value(&from_snapshot).unwrap(), serde_json::to_value(&answer).unwrap());
        // Lookups also match covering CIDRs and parent domains: every hit
        // must be visible for the value it matched.
        for m in &answer.matches {
            prop_assert!(visible.contains_key(&m.value), "lookup {value} matched unseen {}", m.value);
        }
        for source in &answer.sources {
            let seen = answer.matches.iter().any(|m| visible.get(&m.value).is_some_and(|s| s.contains_key(source)));
            prop_assert!(seen, "lookup {value} named a source {source} the viewer may not see");
        }
        let expected_exact = visible.get(obs.value()).map_or(0, |s| s.values().sum::<usize>());
        let exact = store.lookup(&obs).unwrap().into_iter().filter(|h| h.matched == obs).count();
        prop_assert!(expected_exact <= exact);
        let explained = explain_value(&mut store, &ctx, &scope, value, Some(1_700_000_000)).unwrap();
        for c in &explained.explanation.contributions {
            prop_assert!(visible.values().any(|s| s.contains_key(&c.source)), "explain showed {}", c.source);
        }
        prop_assert_eq!(answer.observations, explained.explanation.contributions.len());
    }
    let servers = compute(&mut store, &ctx, &scope, 1_700_000_000, true).unwrap();
    for v in &servers.views {
        for m in &v.members {
            let seen = visible.get(&m.value);
            prop_assert!(seen.is_some(), "server {} shows member {} the viewer may not see", v.id, m.value);
            for s in &m.sources {
                prop_assert!(seen.is_some_and(|seen| seen.contains_key(s)), "member {} shows source {s}", m.value);
            }
        }
        let shown: BTreeSet<&String> = v.ips.iter().chain(&v.domains).chain(&v.urls).collect();
        prop_assert_eq!(shown.len(), v.members.len());
        for e in &v.evidence {
            for s in &e.sources {
                prop_assert!(v.sources.contains(s), "evidence by unseen source {s}");
            }
        }
    }
    // And nothing visible is missing: every value the viewer may see is a
    // member of some server (members are IPs, domains and URLs).
    for value in visible.keys() {
        let kind = Observable::guess(value).unwrap().kind();
        if matches!(kind, Kind::Ipv4 | Kind::Domain) {
            prop_assert!(servers.views.iter().any(|v| v.members.iter().any(|m| &m.value == value)), "{value} missing");
        }
    }
    prop_assert!(servers.warninglisted.is_empty());
    // Blocklists list nothing the viewer may not see (networks included).
    let filter = dragnet_engine::blocklist::Filter::default();
    for entry in dragnet_engine::blocklist::select(&mut store, &ctx, &scope, 1_700_000_000, &filter).unwrap() {
        prop_assert!(visible.contains_key(&entry.value), "a blocklist holds {} the viewer may not see", entry.value);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn no_read_path_returns_what_the_caller_may_not_see(w in world()) {
        check(&w)?;
    }
}
