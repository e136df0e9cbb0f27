//! One conformance suite, run against every backend: the embedded SQLite
//! store in a temporary directory and PostgreSQL in a fresh schema.
//!
//! PostgreSQL is taken from `DRAGNET_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`); `.ci/run` starts it. Set
//! `DRAGNET_SKIP_PG=1` to run only the embedded half on a machine without it.

use dragnet_core::store::{Batch, Observation, Part, Source, Via};
use dragnet_core::{Category, Grade, Kind, Link, Observable, Reject, Relation, Store, StoreError, Tlp};
use dragnet_store::{PgStore, SqliteStore};

fn obs(value: &str, raw: &str) -> Observation {
    Observation {
        observable: Observable::guess(value).unwrap(),
        category: Category::BotnetC2,
        tlp: Tlp::Amber,
        grade: "B2".parse().unwrap(),
        confidence: Some(80),
        first_seen: 1_700_000_000,
        last_seen: 1_700_000_100,
        tags: vec!["Emotet".into(), "port:443".into()],
        line: 3,
        raw: raw.into(),
    }
}

fn source(name: &str) -> Source {
    Source { name: name.into(), grade: "C3".parse().unwrap(), tlp: Tlp::Green }
}

fn batch<'a>(source: &'a Source, observations: &'a [Observation], rejects: &'a [Reject]) -> Batch<'a> {
    Batch { source, origin: "feeds/test.txt", observations, rejects, links: &[], ingested_at: 1_700_001_000 }
}

static ALPHA: std::sync::LazyLock<Source> = std::sync::LazyLock::new(|| source("alpha"));
static BETA: std::sync::LazyLock<Source> = std::sync::LazyLock::new(|| source("beta"));

fn link(from: &str, to: &str, first: i64, last: i64) -> Link {
    let parse = |v: &str| match v.strip_prefix("cert:") {
        Some(hash) => Observable::parse(Kind::X509Sha256, hash).unwrap(),
        None => Observable::guess(v).unwrap(),
    };
    Link { first_seen: Some(first), last_seen: Some(last), ..Link::new(parse(from), parse(to), 1).unwrap() }
}

fn suite(store: &mut dyn Store) {
    sources_keep_their_first_defaults(store);
    batches_are_idempotent(store);
    lookups_find_exact_covering_and_parent_matches(store);
    a_failing_batch_leaves_the_store_unchanged(store);
    a_batch_in_parts_is_one_batch(store);
    rejects_are_kept_with_their_raw_text(store);
    warninglists_are_kept_and_replaced(store);
    links_widen_their_times_and_are_idempotent(store);
    facts_are_read_back_by_kind(store);
    server_assignments_are_replaced_whole(store);
    organisations_tokens_and_sharing(store);
    routings_and_packages(store);
    taxii_objects_page_by_key(store);
    every_written_batch_moves_the_generation(store);
    takedowns_move_by_compare_and_set(store);
    decisions_stream_what_changed_since_a_cursor(store);
}

fn decisions_stream_what_changed_since_a_cursor(store: &mut dyn Store) {
    use dragnet_core::store::Decision;
    let decision = |value: &str, kind, until| Decision {
        id: 0,
        value: value.into(),
        kind,
        category: Category::BotnetC2,
        until,
        reason: "botnet-c2, score 80".into(),
        markings: vec![("alpha".into(), Tlp::Amber), ("beta".into(), Tlp::Red)],
        added: 0,
        deleted: None,
    };
    let empty = store.decisions_since(0).unwrap();
    assert!(empty.new.is_empty() && empty.deleted.is_empty());
    assert_eq!(store.decision_basis().unwrap(), None, "never reconciled");
    store.set_decision_basis("7:12", 99).unwrap();
    assert_eq!(store.decision_basis().unwrap(), Some(("7:12".to_string(), 99)));
    let a = decision("45.10.1.7", Kind::Ipv4, 1000);
    let b = decision("45.20.0.0/16", Kind::Cidr, 1000);
    let c = decision("c2-panel.top", Kind::Domain, 1000);
    assert_eq!(store.reconcile_decisions(&[a.clone(), b.clone(), c.clone()], 60, 5).unwrap(), (3, 0));
    let first = store.decisions_since(0).unwrap();
    assert_eq!(
        first.new.iter().map(|d| d.value.as_str()).collect::<Vec<_>>(),
        ["45.10.1.7", "45.20.0.0/16", "c2-panel.top"]
    );
    assert_eq!((first.new[0].id, first.new[0].added, &first.new[0].markings), (1, 5, &a.markings));
    assert_eq!(first.cursor, 3);
    // Nothing changed (an expiry within the slack): nothing written.
    assert_eq!(
        store.reconcile_decisions(&[decision("45.10.1.7", Kind::Ipv4, 1030), b.clone(), c.clone()], 60, 6).unwrap(),
        (0, 0)
    );
    assert_eq!(
        store.decisions_since(3).unwrap(),
        dragnet_core::store::DecisionChanges { cursor: 3, ..Default::default() }
    );
    // b withdrawn, a renewed well past its expiry, d added then withdrawn.
    let d = decision("45.99.0.1", Kind::Ipv4, 1000);
    store.reconcile_decisions(&[decision("45.10.1.7", Kind::Ipv4, 5000), c.clone(), d], 60, 7).unwrap();
    store.reconcile_decisions(&[decision("45.10.1.7", Kind::Ipv4, 5000), c.clone()], 60, 8).unwrap();
    let changes = store.decisions_since(3).unwrap();
    assert_eq!(changes.new.iter().map(|d| (d.value.as_str(), d.until)).collect::<Vec<_>>(), [("45.10.1.7", 5000)]);
    let deleted: Vec<&str> = changes.deleted.iter().map(|d| d.value.as_str()).collect();
    assert_eq!(deleted, ["45.10.1.7", "45.20.0.0/16"], "the old a and b; d came and went after the cursor");
    let standing = store.decisions_since(0).unwrap();
    assert_eq!(standing.new.iter().map(|d| d.value.as_str()).collect::<Vec<_>>(), ["c2-panel.top", "45.10.1.7"]);
    assert!(standing.deleted.is_empty());
    assert_eq!(standing.cursor, changes.cursor);
    assert_eq!(store.decisions_since(changes.cursor).unwrap().new.len(), 0);
}

fn takedowns_move_by_compare_and_set(store: &mut dyn Store) {
    use dragnet_core::store::TakedownEvent;
    use dragnet_core::takedown::State;
    let event = |server: &str, from, to, at| TakedownEvent {
        server: server.into(),
        from,
        to,
        by: "coord".into(),
        at,
        reason: "checked by hand".into(),
        evidence: "ticket 17 — Überprüfung".into(),
    };
    let logged_before = store.audit_size().unwrap();
    store.move_takedowns(&[event("s1", State::Identified, State::Validated, 10)]).unwrap();
    // A move from a state the server is no longer in fails, and takes the
    // whole set with it.
    let stale =
        [event("s2", State::Identified, State::Validated, 11), event("s1", State::Identified, State::Rejected, 11)];
    assert!(matches!(store.move_takedowns(&stale), Err(StoreError::Conflict(_))));
    store.move_takedowns(&[event("s1", State::Validated, State::Attributed, 12)]).unwrap();
    let all = store.takedowns().unwrap();
    assert_eq!(all.len(), 1, "s2 was not written: {all:?}");
    assert_eq!((all[0].server.as_str(), all[0].state, all[0].updated), ("s1", State::Attributed, 12));
    let history = store.takedown_history(Some("s1")).unwrap();
    assert_eq!(
        history,
        vec![
            event("s1", State::Identified, State::Validated, 10),
            event("s1", State::Validated, State::Attributed, 12)
        ]
    );
    assert!(store.takedown_history(Some("s2")).unwrap().is_empty());
    assert_eq!(store.takedown_history(None).unwrap(), history);
    audit_log_records_each_move_with_its_change(store, logged_before, &history);
}

/// Each committed move has one audit entry, appended in its transaction (the
/// refused set left none), chained and leaf-hashed as `core::audit` says.
fn audit_log_records_each_move_with_its_change(
    store: &mut dyn Store,
    before: u64,
    moves: &[dragnet_core::store::TakedownEvent],
) {
    use dragnet_core::audit::{self, TreeHead};
    assert_eq!(store.audit_size().unwrap(), before + moves.len() as u64);
    let logged = store.audit_entries(before, 100).unwrap();
    assert_eq!(logged.len(), moves.len());
    let mut chain = match before {
        0 => audit::CHAIN_START,
        n => store.audit_entries(n - 1, 1).unwrap()[0].chain,
    };
    for (n, (entry, change)) in logged.iter().zip(moves).enumerate() {
        assert_eq!(entry.entry, audit::Entry { seq: before + 1 + n as u64, ..change.audit_entry() });
        assert_eq!(entry.leaf, audit::leaf_hash(&entry.entry));
        chain = audit::chain(&chain, &entry.leaf);
        assert_eq!(entry.chain, chain);
    }
    let leaves = store.audit_leaves(before + 2).unwrap();
    assert_eq!(leaves.len() as u64, before + 2);
    assert_eq!(leaves[leaves.len() - 2..], [logged[0].leaf, logged[1].leaf]);
    let head =
        TreeHead { size: before + 2, root: audit::root(&leaves), at: 13, key: vec![7; 32], signature: vec![9; 64] };
    assert!(store.add_tree_head(&head).unwrap());
    assert!(!store.add_tree_head(&TreeHead { at: 14, ..head.clone() }).unwrap(), "one head per size");
    assert_eq!(store.tree_heads().unwrap().last(), Some(&head));
}

fn every_written_batch_moves_the_generation(store: &mut dyn Store) {
    let before = store.generation().unwrap();
    store.write_batch(&batch(&BETA, &[obs("192.0.2.202", "counted")], &[])).unwrap();
    let after = store.generation().unwrap();
    assert!(after > before, "a written batch moves it: {before} → {after}");
    assert_eq!(store.generation().unwrap(), after, "reading does not move it");
}

fn taxii_objects_page_by_key(store: &mut dyn Store) {
    use dragnet_core::store::{TaxiiObject, TaxiiQuery};
    fn all(store: &mut dyn Store, q: TaxiiQuery<'_>) -> Vec<(String, String)> {
        store.taxii_objects(&q).unwrap().into_iter().map(|o| (o.id, o.version)).collect()
    }
    let object = |id: &str, version: &str, added: i64| TaxiiObject {
        collection: "c1".into(),
        id: id.into(),
        version: version.into(),
        date_added: added,
        seq: 0,
        kind: id.split("--").next().unwrap().into(),
        spec_version: "2.1".into(),
        body: format!("{{\"id\": \"{id}\"}}"),
    };
    let objects = vec![
        object("indicator--1", "2024-01-01T00:00:00.000Z", 10),
        object("indicator--1", "2024-02-01T00:00:00.000Z", 20),
        object("ipv4-addr--2", "2024-01-01T00:00:00.000Z", 20),
        object("indicator--3", "2024-01-01T00:00:00.000Z", 30),
    ];
    assert_eq!(store.taxii_add(&objects).unwrap(), 4);
    assert_eq!(store.taxii_add(&objects).unwrap(), 0, "a version already there is left alone");

    let page1 = store.taxii_objects(&TaxiiQuery { collection: "c1", limit: 2, ..Default::default() }).unwrap();
    assert_eq!(page1.len(), 2);
    let last = page1.last().unwrap();
    let page2 = all(
        store,
        TaxiiQuery { collection: "c1", limit: 10, after: Some((last.date_added, last.seq)), ..Default::default() },
    );
    assert_eq!(page2.len(), 2, "the rest, from where the first page stopped");
    let latest = all(store, TaxiiQuery { collection: "c1", limit: 10, latest: Some(true), ..Default::default() });
    assert_eq!(latest.len(), 3);
    assert!(latest.contains(&("indicator--1".into(), "2024-02-01T00:00:00.000Z".into())));
    let kinds = ["ipv4-addr".to_string()];
    assert_eq!(all(store, TaxiiQuery { collection: "c1", limit: 10, kinds: &kinds, ..Default::default() }).len(), 1);
    assert_eq!(
        all(store, TaxiiQuery { collection: "c1", limit: 10, added_after: Some(20), ..Default::default() }).len(),
        1
    );
    assert_eq!(all(store, TaxiiQuery { collection: "other", limit: 10, ..Default::default() }).len(), 0);
    assert_eq!(store.taxii_delete("c1", "indicator--1", &[]).unwrap(), 2);

    store.put_taxii_status("s1", "c1", "{}", 5).unwrap();
    assert_eq!(store.taxii_pull("https://x/api/", "c9").unwrap(), None);
    store.put_taxii_pull("https://x/api/", "c9", "2024-01-01T00:00:00.000000Z", 5).unwrap();
    store.put_taxii_pull("https://x/api/", "c9", "2024-02-01T00:00:00.000000Z", 6).unwrap();
    assert_eq!(store.taxii_pull("https://x/api/", "c9").unwrap().as_deref(), Some("2024-02-01T00:00:00.000000Z"));
    assert_eq!(store.taxii_status("s1").unwrap(), Some(("c1".into(), "{}".into())));
}

fn routings_and_packages(store: &mut dyn Store) {
    use dragnet_core::store::{PackageRecord, Routing};
    let routing = Routing {
        server: "srv-1".into(),
        org: "police-ee".into(),
        add: false,
        reason: "a CDN".into(),
        by: "coord".into(),
        at: 5,
    };
    let logged_before = store.audit_size().unwrap();
    store.add_routing(&routing).unwrap();
    store.add_routing(&Routing { add: true, at: 6, ..routing.clone() }).unwrap();
    let stored = store.routings().unwrap();
    assert_eq!((stored.len(), stored[0].add, stored[1].add), (2, false, true));
    let logged: Vec<_> = store.audit_entries(logged_before, 10).unwrap().into_iter().map(|l| l.entry).collect();
    let expected: Vec<_> = stored.iter().map(Routing::audit_entry).collect();
    assert_eq!(
        logged.iter().map(|e| (&e.action, &e.body)).collect::<Vec<_>>(),
        expected.iter().map(|e| (&e.action, &e.body)).collect::<Vec<_>>()
    );
    let package = PackageRecord {
        id: 0,
        org: "police-ee".into(),
        version: 0,
        created: 10,
        tlp: Some(Tlp::Amber),
        servers: 3,
        body: "{\"v\": 1}".into(),
    };
    let (first, v1) = store.add_package(&package).unwrap();
    let (second, v2) = store.add_package(&PackageRecord { created: 11, ..package.clone() }).unwrap();
    let (_, other) =
        store.add_package(&PackageRecord { org: "police-lv".into(), tlp: None, ..package.clone() }).unwrap();
    assert_eq!((v1, v2, other), (1, 2, 1), "versions count per organisation");
    let listed = store.packages(Some("police-ee")).unwrap();
    assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), vec![second, first], "newest first");
    assert!(listed.iter().all(|p| p.body.is_empty()), "listings leave the bodies out");
    assert_eq!(store.packages(None).unwrap().len(), 3);
    let read = store.package(first).unwrap().unwrap();
    assert_eq!((read.body.as_str(), read.tlp, read.servers), ("{\"v\": 1}", Some(Tlp::Amber), 3));
    assert!(store.package(9999).unwrap().is_none());
}

fn organisations_tokens_and_sharing(store: &mut dyn Store) {
    use dragnet_core::access::{Org, OrgKind, Recipient, Role, Sharing};
    use dragnet_core::store::NewToken;
    let agency = Org {
        name: "police-ee".into(),
        kind: OrgKind::Agency,
        countries: vec!["EE".into(), "LV".into()],
        asns: vec![3249, 64500],
        prefixes: vec!["192.0.2.0/24".into(), "2001:db8::/32".into()],
        clients: vec![],
    };
    let partner = Org {
        name: "isp-1".into(),
        kind: OrgKind::Partner,
        countries: vec![],
        asns: vec![],
        prefixes: vec![],
        clients: vec!["police-ee".into()],
    };
    let logged_before = store.audit_size().unwrap();
    store.add_org(&agency, "operator", 1).unwrap();
    store.add_org(&partner, "operator", 1).unwrap();
    assert!(matches!(store.add_org(&agency, "operator", 2), Err(StoreError::Exists(_))));
    assert_eq!(store.orgs().unwrap(), vec![partner.clone(), agency.clone()]);

    let token = NewToken {
        org: "police-ee",
        by: "operator",
        role: Role::Reader,
        digest: "ab12",
        label: "dgt_ab",
        created: 5,
        expires: Some(99),
    };
    let id = store.add_token(&token).unwrap();
    let unknown = NewToken { org: "nobody", ..token };
    assert!(matches!(store.add_token(&unknown), Err(StoreError::NotFound(_))));
    let found = store.token_by_digest("ab12").unwrap().unwrap();
    assert_eq!(
        (found.id, found.org.as_str(), found.role, found.expires, found.revoked),
        (id, "police-ee", Role::Reader, Some(99), None)
    );
    assert!(store.token_by_digest("cd34").unwrap().is_none());
    assert!(store.revoke_token(id, "coord", 7).unwrap());
    assert!(!store.revoke_token(id, "coord", 8).unwrap(), "revoking twice changes nothing");
    let revoked = store.tokens().unwrap().remove(0);
    assert_eq!((revoked.revoked, revoked.digest.as_str()), (Some(7), "ab12"));

    // A source nobody set limits on is the coordinators'; limits set on a
    // new source create it.
    assert_eq!(store.sharing().unwrap()["alpha"], Sharing::default());
    let shared = Sharing {
        owner: Some("isp-1".into()),
        recipients: vec![Recipient::Kind(OrgKind::Coordinator), Recipient::Org("police-ee".into())],
    };
    let fresh = source("isp-1-feed");
    store.set_sharing(&fresh, &shared, "isp-1", 9).unwrap();
    assert_eq!(store.sharing().unwrap()["isp-1-feed"], shared);
    assert_eq!(store.source("isp-1-feed").unwrap(), Some(fresh));
    // A claim creates a source with its owner in one step; a later claim
    // (another partner's, or another server's) gets the first owner back
    // and changes nothing.
    let claimed = Sharing { owner: Some("isp-2".into()), recipients: vec![Recipient::Kind(OrgKind::Coordinator)] };
    assert_eq!(store.claim_source(&source("isp-2-feed"), &claimed, "isp-2", 10).unwrap().as_deref(), Some("isp-2"));
    let rival = Sharing { owner: Some("isp-1".into()), ..claimed.clone() };
    assert_eq!(store.claim_source(&source("isp-2-feed"), &rival, "isp-1", 11).unwrap().as_deref(), Some("isp-2"));
    assert_eq!(store.claim_source(&source("alpha"), &rival, "isp-1", 11).unwrap(), None, "an unowned source stays so");
    assert_eq!(store.sharing().unwrap()["isp-2-feed"], claimed);

    // Each change that took effect was logged in its transaction, and
    // nothing that was refused.
    let logged: Vec<_> =
        store.audit_entries(logged_before, 100).unwrap().into_iter().map(|l| (l.entry.seq, l.entry)).collect();
    let expected = [
        agency.audit_entry("operator", 1),
        partner.audit_entry("operator", 1),
        revoked.audit_entry("operator"),
        revoked.revoke_entry("coord", 7),
        shared.audit_entry("isp-1-feed", "isp-1", 9),
        claimed.audit_entry("isp-2-feed", "isp-2", 10),
    ];
    assert_eq!(logged.len(), expected.len());
    for (n, ((seq, entry), wanted)) in logged.into_iter().zip(expected).enumerate() {
        assert_eq!(entry, dragnet_core::audit::Entry { seq: logged_before + 1 + n as u64, ..wanted });
        assert_eq!(seq, logged_before + 1 + n as u64);
    }
}

const CERT: &str = "cert:3f7a2b9c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

fn links_widen_their_times_and_are_idempotent(store: &mut dyn Store) {
    let links = [link("c2.example", "198.51.100.7", 100, 200), link("198.51.100.7", CERT, 100, 100)];
    let b = Batch { links: &links, ..batch(&ALPHA, &[], &[]) };
    assert_eq!(store.write_batch(&b).unwrap().new_links, 2);
    assert_eq!(store.write_batch(&b).unwrap().new_links, 0, "the same links again are not new");
    let later = [link("c2.example", "198.51.100.7", 50, 300)];
    store.write_batch(&Batch { links: &later, ..batch(&ALPHA, &[], &[]) }).unwrap();
    let stored = store.links().unwrap();
    assert_eq!(stored.len(), 2);
    let dns = stored.iter().find(|l| l.relation == Relation::ResolvesTo).unwrap();
    assert_eq!(
        (dns.from.value(), dns.to.value(), dns.first_seen, dns.last_seen),
        ("c2.example", "198.51.100.7", 50, 300)
    );
    let cert = stored.iter().find(|l| l.relation == Relation::PresentsCertificate).unwrap();
    assert_eq!((cert.to.kind(), cert.source.as_str()), (Kind::X509Sha256, "alpha"));
    // Link ends that no source reported are not counted as observables.
    let before = store.stats().unwrap();
    let more = [link("unreported.example", "203.0.113.77", 1, 1)];
    store.write_batch(&Batch { links: &more, ..batch(&ALPHA, &[], &[]) }).unwrap();
    assert_eq!(store.stats().unwrap().observables, before.observables);
    // A link between unrelated kinds is refused and the batch leaves nothing.
    let mut odd = link("c2.example", "198.51.100.7", 1, 1);
    odd.to = Observable::guess("odd.example").unwrap();
    let refused = store.write_batch(&Batch { links: &[odd], ..batch(&ALPHA, &[], &[]) });
    assert!(refused.is_err());
    assert_eq!(store.links().unwrap().len(), 3);
}

fn facts_are_read_back_by_kind(store: &mut dyn Store) {
    let facts = store.facts(&[Kind::Ipv4, Kind::Domain]).unwrap();
    assert!(!facts.is_empty());
    assert!(facts.iter().all(|f| matches!(f.observation.observable.kind(), Kind::Ipv4 | Kind::Domain)));
    let ip: Vec<_> = facts.iter().filter(|f| f.observation.observable.value() == "198.51.100.7").collect();
    assert_eq!(ip.len(), 2, "both observations of the IP");
    assert_eq!(ip[0].observation.tags, vec!["Emotet".to_string(), "port:443".to_string()]);
    assert_eq!(ip[0].source, "alpha");
    assert!(store.facts(&[]).unwrap().is_empty());
}

fn server_assignments_are_replaced_whole(store: &mut dyn Store) {
    let ip = Observable::guess("198.51.100.7").unwrap();
    let domain = Observable::guess("c2.example").unwrap();
    store.put_server_assignments(&[(ip.clone(), "srv-a".into()), (domain.clone(), "srv-a".into())]).unwrap();
    assert_eq!(store.server_assignments().unwrap().len(), 2);
    store.put_server_assignments(&[(ip.clone(), "srv-b".into())]).unwrap();
    assert_eq!(store.server_assignments().unwrap(), vec![(ip, "srv-b".to_string())]);
}

fn warninglists_are_kept_and_replaced(store: &mut dyn Store) {
    assert!(store.warninglists().unwrap().is_empty());
    store.put_warninglist("b-list", "{\"v\": 1}", 10).unwrap();
    store.put_warninglist("a-list", "{}", 10).unwrap();
    store.put_warninglist("b-list", "{\"v\": 2}", 20).unwrap();
    let lists = store.warninglists().unwrap();
    assert_eq!(lists, vec![("a-list".to_string(), "{}".to_string()), ("b-list".to_string(), "{\"v\": 2}".to_string())]);
}

fn sources_keep_their_first_defaults(store: &mut dyn Store) {
    assert_eq!(store.source("alpha").unwrap(), None);
    // A batch that fails creates no source: the source is written with it.
    let mut odd = link("c2.example", "198.51.100.7", 1, 1);
    odd.to = Observable::guess("odd.example").unwrap();
    assert!(store.write_batch(&Batch { links: &[odd], ..batch(&ALPHA, &[], &[]) }).is_err());
    assert_eq!(store.source("alpha").unwrap(), None);
    assert!(store.sources().unwrap().is_empty());
    store.write_batch(&Batch { ingested_at: 10, ..batch(&ALPHA, &[], &[]) }).unwrap();
    let first = store.source("alpha").unwrap().unwrap();
    assert_eq!(first.grade, "C3".parse::<Grade>().unwrap());
    let stricter = Source { tlp: Tlp::Red, ..source("alpha") };
    store.write_batch(&Batch { ingested_at: 20, ..batch(&stricter, &[], &[]) }).unwrap();
    assert_eq!(store.source("alpha").unwrap().unwrap().tlp, Tlp::Green, "an existing source keeps its defaults");
    let listed = store.sources().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].source.name.as_str(), listed[0].created), ("alpha", 10));
}

fn batches_are_idempotent(store: &mut dyn Store) {
    let observations = vec![
        obs("198.51.100.7", "198.51.100.7,443"),
        obs("203.0.113.0/24", "203.0.113.0/24 ; SBL1"),
        obs("2001:db8:40::/48", "2001:db8:40::/48"),
        obs("evil.example", "evil.example"),
        obs("http://evil.example/x", "http://evil.example/x"),
        obs("198.51.100.7", "198.51.100.7,8080"),
    ];
    let out = store.write_batch(&batch(&ALPHA, &observations, &[])).unwrap();
    assert_eq!((out.new_observations, out.new_observables), (6, 5));
    let before = store.stats().unwrap();
    let again = store.write_batch(&batch(&ALPHA, &observations, &[])).unwrap();
    assert_eq!((again.new_observations, again.new_observables, again.new_rejects), (0, 0, 0));
    assert_eq!(store.stats().unwrap(), before, "re-ingesting changes nothing");
    assert_eq!(before.observables, 5);
    assert_eq!(before.observations, 6);
    assert_eq!(before.observables_by_kind.get("cidr"), Some(&2));
    assert_eq!(before.observations_by_category.get("botnet-c2"), Some(&6));
    assert_eq!(before.observations_by_tlp.get("amber"), Some(&6));
    assert_eq!(before.observations_by_source.get("alpha"), Some(&6));
}

fn lookups_find_exact_covering_and_parent_matches(store: &mut dyn Store) {
    let hits = store.lookup(&Observable::guess("198.51.100.7").unwrap()).unwrap();
    assert_eq!(hits.len(), 2);
    let h = &hits[0];
    assert_eq!((h.via, h.source.as_str(), h.origin.as_str()), (Via::Exact, "alpha", "feeds/test.txt"));
    assert_eq!(h.observation.tags, vec!["Emotet", "port:443"]);
    assert_eq!((h.observation.confidence, h.observation.line), (Some(80), 3));
    assert_eq!(h.observation.grade.to_string(), "B2");

    let hits = store.lookup(&Observable::guess("203.0.113.77").unwrap()).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].via, hits[0].matched.value()), (Via::CoveringCidr, "203.0.113.0/24"));
    let hits = store.lookup(&Observable::guess("2001:db8:40:1::9").unwrap()).unwrap();
    assert_eq!(hits[0].matched.value(), "2001:db8:40::/48");
    let hits = store.lookup(&Observable::guess("a.b.evil.example").unwrap()).unwrap();
    assert_eq!((hits[0].via, hits[0].matched.kind()), (Via::ParentDomain, Kind::Domain));
    assert!(store.lookup(&Observable::guess("198.51.100.8").unwrap()).unwrap().is_empty());
    assert!(store.lookup(&Observable::guess("example").unwrap_or_else(|_| Observable::asn(1))).unwrap().is_empty());
}

fn a_failing_batch_leaves_the_store_unchanged(store: &mut dyn Store) {
    let before = store.stats().unwrap();
    let generation = store.generation().unwrap();
    let mut broken = obs("192.0.2.200", "broken");
    broken.first_seen = broken.last_seen + 1;
    let observations = vec![obs("192.0.2.199", "fine"), obs("new.example", "fine too"), broken];
    let err = store.write_batch(&batch(&ALPHA, &observations, &[])).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
    assert_eq!(store.stats().unwrap(), before, "nothing of the failed batch remains");
    assert_eq!(store.generation().unwrap(), generation, "a failed batch does not move the generation");
    assert!(store.lookup(&Observable::guess("192.0.2.199").unwrap()).unwrap().is_empty());
}

fn a_batch_in_parts_is_one_batch(store: &mut dyn Store) {
    let gamma = source("gamma");
    let part = |values: &[&str], rejects: Vec<Reject>| Part {
        observations: values.iter().map(|v| obs(v, &format!("{v},raw"))).collect(),
        rejects,
        links: vec![],
    };
    // A writer that gives up after its first part leaves nothing, not even
    // the new source.
    let before = store.stats().unwrap();
    let mut abandoned =
        [Ok(part(&["192.0.2.50"], vec![])), Err("line 9: the input ends inside a quote".to_string())].into_iter();
    let err = store.write_parts(&batch(&gamma, &[], &[]), &mut abandoned).unwrap_err();
    assert!(matches!(&err, StoreError::Aborted(why) if why.contains("line 9")), "{err}");
    assert_eq!(store.stats().unwrap(), before);
    assert_eq!(store.source("gamma").unwrap(), None);
    // Parts add up to what the same records written whole would give: the
    // same record repeated in a later part is the same observation.
    let reject = Reject::new(4, Some("ip"), "not an address", "999.0.0.1");
    let mut parts = [
        Ok(part(&["192.0.2.50", "192.0.2.51"], vec![])),
        Ok(part(&["192.0.2.51", "gamma.example"], vec![reject])),
        Ok(Part::default()),
    ]
    .into_iter();
    let head = [obs("192.0.2.52", "head")];
    let out = store.write_parts(&batch(&gamma, &head, &[]), &mut parts).unwrap();
    assert_eq!((out.new_observations, out.new_observables, out.new_rejects), (4, 4, 1));
    let after = store.stats().unwrap();
    assert_eq!(after.observations_by_source.get("gamma"), Some(&4));
    assert_eq!(after.rejects, before.rejects + 1);
}

fn rejects_are_kept_with_their_raw_text(store: &mut dyn Store) {
    let rejects = vec![
        Reject::new(7, Some("dst_ip"), "`999.1.1.1` is not an IP address", "\"999.1.1.1\",\"443\""),
        Reject::new(9, None, "unterminated quoted field", "\"oops"),
    ];
    let observations = vec![obs("192.0.2.1", "192.0.2.1")];
    let out = store.write_batch(&batch(&BETA, &observations, &rejects)).unwrap();
    assert_eq!(out.new_rejects, 2);
    let again = store.write_batch(&batch(&BETA, &observations, &rejects)).unwrap();
    assert_eq!(again.new_rejects, 0);
    let stored = store.rejects(Some("beta"), 10).unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].reject.raw, "\"oops");
    assert_eq!(stored[1].reject.field.as_deref(), Some("dst_ip"));
    assert_eq!(stored[1].origin, "feeds/test.txt");
    assert!(store.rejects(Some("alpha"), 10).unwrap().is_empty());
    assert_eq!(store.rejects(None, 1).unwrap().len(), 1);
    let beta = store.sources().unwrap().into_iter().find(|s| s.source.name == "beta").unwrap();
    assert_eq!((beta.observations, beta.rejects, beta.last_ingest), (1, 2, Some(1_700_001_000)));
}

#[test]
fn embedded_sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    suite(&mut store);
    drop(store);
    // Reopening migrates nothing and keeps the data.
    let mut reopened = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(reopened.stats().unwrap().observations, 12);
}

#[test]
fn embedded_store_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("dragnet.sqlite")).unwrap();
    conn.execute("INSERT INTO dragnet_schema (version) VALUES (999)", []).unwrap();
    drop(conn);
    let err = SqliteStore::open(dir.path()).err().expect("must refuse");
    assert!(matches!(err, StoreError::TooNew { found: 999, .. }), "{err}");
}

/// A fresh schema in the test database, dropped when the guard goes.
struct PgSchema {
    url: String,
    name: String,
}

impl PgSchema {
    fn create() -> Option<PgSchema> {
        let url = dragnet_testkit::postgres_url();
        let mut admin = dragnet_testkit::postgres_admin()?;
        let name = dragnet_testkit::unique_name("conformance");
        admin.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        Some(PgSchema { url: format!("{url}{sep}options=-c%20search_path%3D{name}"), name })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let base = self.url.split(['?', '&']).next().unwrap_or_default().to_string();
        if let Ok(mut admin) = postgres::Client::connect(&base, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

#[test]
fn postgres_store_conforms() {
    let Some(schema) = PgSchema::create() else { return };
    let mut store = PgStore::connect(&schema.url).unwrap();
    suite(&mut store);
    drop(store);
    let mut reopened = PgStore::connect(&schema.url).unwrap();
    assert_eq!(reopened.stats().unwrap().observations, 12);
}
