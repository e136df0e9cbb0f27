//! Versioned migrations: a store that is current is only read; an older
//! one is migrated in one write transaction, re-checking the version under
//! the lock since another process may have migrated it meanwhile.

use dragnet_core::StoreError;
use dragnet_core::access::Sharing;

use crate::codec;
use crate::db::{Cell, Connection, Param, at, transaction};
use crate::schema::{self, sql};

fn schema_version<C: Connection>(conn: &mut C) -> Result<i64, StoreError> {
    let found = conn.query(sql::SCHEMA_VERSION, &[])?;
    Ok(found.first().and_then(|r| r.first()).map(Cell::opt_int).transpose()?.flatten().unwrap_or(0))
}

/// Applies the migrations newer than the store's version. A store that is
/// already current is only read, so opening one never waits for a writer.
pub fn migrate<C: Connection>(conn: &mut C, migrations: &[(i64, String)]) -> Result<(), StoreError> {
    let known = migrations.iter().map(|(v, _)| *v).max().unwrap_or(0);
    // A missing version table (a new store) reads as an error: migrate then.
    if let Ok(current) = schema_version(conn) {
        if current > known {
            return Err(StoreError::TooNew { found: current, known });
        }
        if current == known {
            return Ok(());
        }
    }
    transaction(conn, |c| {
        c.batch(schema::CREATE_VERSION_TABLE)?;
        // Read again under the write lock: another process may have migrated.
        let current = schema_version(c)?;
        if current > known {
            return Err(StoreError::TooNew { found: current, known });
        }
        for (version, ddl) in migrations.iter().filter(|(v, _)| *v > current) {
            c.batch(ddl)?;
            if *version == schema::DIGEST_VERSION {
                fill_digests(c)?;
            }
            if *version == schema::AUDIT_VERSION {
                log_earlier_changes(c)?;
            }
            if *version == schema::ACCESS_AUDIT_VERSION {
                log_access_state(c)?;
            }
            c.exec("INSERT INTO dragnet_schema (version) VALUES ($1)", &[Param::Int(*version)])?;
        }
        Ok(())
    })
}

/// Logs the takedown moves made before the audit log existed, in the order
/// they were made, so that the log accounts for every row it checks.
fn log_earlier_changes<C: Connection>(conn: &mut C) -> Result<(), StoreError> {
    for event in crate::takedowns::history(conn, None)? {
        crate::audit::append(conn, event.audit_entry())?;
    }
    Ok(())
}

/// Logs the organisations, tokens, sharing limits, routings and abuse
/// contacts that exist from before they were logged, as done by
/// `migration`, so that the log accounts for every row it checks.
fn log_access_state<C: Connection>(conn: &mut C) -> Result<(), StoreError> {
    const BY: &str = "migration";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    for org in crate::access::orgs(conn)? {
        crate::audit::append(conn, org.audit_entry(BY, now))?;
    }
    for token in crate::access::tokens(conn)? {
        crate::audit::append(conn, token.audit_entry(BY))?;
        if let Some(revoked) = token.revoked {
            crate::audit::append(conn, token.revoke_entry(BY, revoked))?;
        }
    }
    // A source nobody set limits on reads as the default: nothing to log.
    let set = crate::access::sharing(conn)?.into_iter().filter(|(_, s)| *s != Sharing::default());
    for (source, sharing) in set {
        crate::audit::append(conn, sharing.audit_entry(&source, BY, now))?;
    }
    for routing in crate::access::routings(conn)? {
        crate::audit::append(conn, routing.audit_entry())?;
    }
    for contact in crate::cases::contacts(conn)? {
        crate::audit::append(conn, contact.audit_entry(BY, now))?;
    }
    Ok(())
}

/// Replaces the `old:N` placeholders the digest migration leaves with the
/// SHA-256 identities (`codec::observable_digest`, `codec::raw_digest`).
fn fill_digests<C: Connection>(conn: &mut C) -> Result<(), StoreError> {
    // The stored text as it is, never parsed again: today's rules may refuse
    // or rewrite a value an older dragnet stored, and the migration must
    // neither fail on it nor give it another's digest.
    in_pages(conn, sql::OLD_OBSERVABLES, |conn, row| {
        let digest = codec::digest_of(at(row, 1)?.text()?, at(row, 2)?.text()?);
        conn.exec(sql::SET_OBSERVABLE_DIGEST, &[Param::Text(&digest), Param::Int(at(row, 0)?.int()?)])
    })?;
    in_pages(conn, sql::OLD_OBSERVATIONS, |conn, row| {
        let digest = codec::raw_digest(at(row, 3)?.text()?);
        let (observable, source) = (at(row, 0)?.int()?, at(row, 1)?.int()?);
        let params =
            [Param::Text(&digest), Param::Int(observable), Param::Int(source), Param::Text(at(row, 2)?.text()?)];
        conn.exec(sql::SET_OBSERVATION_DIGEST, &params)
    })?;
    in_pages(conn, sql::OLD_REJECTS, |conn, row| {
        let digest = codec::raw_digest(at(row, 1)?.text()?);
        conn.exec(sql::SET_REJECT_DIGEST, &[Param::Text(&digest), Param::Int(at(row, 0)?.int()?)])
    })
}

/// Runs `replace` on every row `query` finds, a page at a time: `replace`
/// takes each row out of what `query` matches, so each query returns the
/// next page, and memory stays bounded whatever the store.
fn in_pages<C: Connection>(
    conn: &mut C,
    query: &str,
    mut replace: impl FnMut(&mut C, &[Cell]) -> Result<u64, StoreError>,
) -> Result<(), StoreError> {
    let paged = format!("{query} LIMIT {DIGEST_PAGE}");
    loop {
        let rows = conn.query(&paged, &[])?;
        for row in &rows {
            replace(conn, row)?;
        }
        if rows.len() < DIGEST_PAGE {
            return Ok(());
        }
    }
}

/// Rows read at once while the digest migration runs (two in tests, so
/// the migration test crosses pages).
const DIGEST_PAGE: usize = if cfg!(test) { 2 } else { 10_000 };

#[cfg(test)]
mod tests {
    use dragnet_core::store::{Batch, Source};
    use dragnet_core::{Observable, Store};

    use super::*;
    use crate::db::SqlStore;
    use crate::schema::Dialect;

    /// A store as dragnet 0.1 (schema v4) left it: FNV-1a ids (here chosen
    /// at the edges of the id range) and raw hashes.
    const OLD_ROWS: &[&str] = &[
        "INSERT INTO sources (id, name, grade, tlp, created) VALUES (1, 'alpha', 'B2', 'amber', 5)",
        "INSERT INTO origins (id, origin) VALUES (1, 'feed.txt')",
        "INSERT INTO observables (id, kind, value) VALUES (-4242, 'ipv4', '198.51.100.7'),
            (9000000000000000000, 'domain', 'c2.example'), (1, 'ipv4', '192.0.2.1'),
            (2, 'email', 'a[.]b@x.example'), (3, 'url', 'http://h.example/x[.]y')",
        "INSERT INTO observations (observable_id, source_id, raw_hash, origin_id, line, category, tlp, grade,
            confidence, first_seen, last_seen, tags, raw, ingested_at)
            VALUES (-4242, 1, 77, 1, 3, 4, 2, 22, NULL, 100, 200, '', '198.51.100.7,443', 300),
                   (-4242, 1, 78, 1, 4, 4, 2, 22, 90, 100, 250, '', '198.51.100.7,8080', 300),
                   (9000000000000000000, 1, 77, 1, 5, 4, 2, 22, NULL, 100, 200, '', 'c2.example', 300)",
        "INSERT INTO rejects (source_id, origin_id, line, field, reason, raw, raw_hash, ingested_at)
            VALUES (1, 1, 9, NULL, 'not an IP address', '999.1.1.1', 5, 300)",
        "INSERT INTO links (from_id, to_id, source_id, relation, first_seen, last_seen)
            VALUES (9000000000000000000, -4242, 1, 0, 100, 200)",
        "INSERT INTO server_members (observable_id, server_id) VALUES (-4242, 'srv-a'), (9000000000000000000, 'srv-a')",
    ];

    fn migrates_a_v4_store<C: Connection>(mut conn: C, dialect: Dialect) {
        let all = schema::migrations(dialect);
        let v4: Vec<_> = all.iter().filter(|(v, _)| *v <= 4).cloned().collect();
        migrate(&mut conn, &v4).unwrap();
        for statement in OLD_ROWS {
            conn.batch(statement).unwrap();
        }
        migrate(&mut conn, &all).unwrap();
        let old = conn.query("SELECT COUNT(*) FROM observables WHERE digest LIKE 'old:%'", &[]).unwrap();
        assert_eq!(old[0][0], Cell::Int(0), "every identity is a digest now");
        let mut store = SqlStore { conn };
        let ip = Observable::guess("198.51.100.7").unwrap();
        let hits = store.lookup(&ip).unwrap();
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].source.as_str(), hits[0].origin.as_str()), ("alpha", "feed.txt"));
        let raws: Vec<&str> = hits.iter().map(|h| h.observation.raw.as_str()).collect();
        assert!(raws.contains(&"198.51.100.7,443") && raws.contains(&"198.51.100.7,8080"));
        let links = store.links().unwrap();
        assert_eq!((links.len(), links[0].from.value(), links[0].to.value()), (1, "c2.example", "198.51.100.7"));
        assert_eq!(store.server_assignments().unwrap().len(), 2);
        assert_eq!(store.rejects(None, 10).unwrap()[0].reject.raw, "999.1.1.1");
        let stats = store.stats().unwrap();
        assert_eq!((stats.observations, stats.observables, stats.rejects), (3, 2, 1));
        // Values today's rules would refuse or rewrite keep their text and a digest of it.
        let kept = store.conn.query("SELECT COUNT(*) FROM observables WHERE value LIKE '%[.]%'", &[]).unwrap();
        assert_eq!(kept[0][0], Cell::Int(2));

        // Re-ingesting what the old store held changes nothing; new values get fresh ids.
        let alpha = store.source("alpha").unwrap().unwrap();
        let again = hits[0].observation.clone();
        let new = dragnet_core::store::Observation {
            observable: Observable::guess("203.0.113.9").unwrap(),
            raw: "203.0.113.9".into(),
            ..again.clone()
        };
        let observations = [again, new];
        let batch = Batch {
            source: &alpha,
            origin: "feed.txt",
            observations: &observations,
            rejects: &[],
            links: &[],
            ingested_at: 400,
        };
        let out = store.write_batch(&batch).unwrap();
        assert_eq!((out.new_observations, out.new_observables), (1, 1));
        assert_eq!(store.stats().unwrap().observations, 4);
        assert_eq!(store.source("nobody").unwrap(), None::<Source>);
        // Opening a current store migrates nothing.
        migrate(&mut store.conn, &all).unwrap();
    }

    /// Takedown moves made before the audit log (schema v10) are logged, in
    /// order, when the log starts.
    #[test]
    fn moves_made_before_the_audit_log_are_logged_by_the_migration() {
        use dragnet_core::audit;
        let mut conn = crate::sqlite::SqliteConnection(rusqlite::Connection::open_in_memory().unwrap());
        let all = schema::migrations(Dialect::Sqlite);
        let v10: Vec<_> = all.iter().filter(|(v, _)| *v <= 10).cloned().collect();
        migrate(&mut conn, &v10).unwrap();
        conn.batch(
            "INSERT INTO takedowns (server_id, state, updated) VALUES ('srv-a', 'attributed', 20);
             INSERT INTO takedown_events (server_id, from_state, to_state, decided_by, decided_at, reason, evidence)
             VALUES ('srv-a', 'identified', 'validated', 'coord', 10, 'checked', ''),
                    ('srv-a', 'validated', 'attributed', 'coord', 20, 'hoster known', 'ticket 9');",
        )
        .unwrap();
        migrate(&mut conn, &all).unwrap();
        let mut store = SqlStore { conn };
        let history = store.takedown_history(None).unwrap();
        let logged = store.audit_entries(0, 10).unwrap();
        assert_eq!(logged.len(), 2);
        let mut chain = audit::CHAIN_START;
        for (n, (l, event)) in logged.iter().zip(&history).enumerate() {
            assert_eq!(l.entry, audit::Entry { seq: n as u64 + 1, ..event.audit_entry() });
            chain = audit::chain(&chain, &audit::leaf_hash(&l.entry));
            assert_eq!(l.chain, chain);
        }
        assert_eq!(store.audit_size().unwrap(), 2);
    }

    /// Organisations, tokens, sharing limits, routings and contacts that
    /// exist before they were logged (schema v16) are logged by the
    /// migration, and a store verified afterwards accounts for them.
    #[test]
    fn access_state_made_before_it_was_logged_is_logged_by_the_migration() {
        let mut conn = crate::sqlite::SqliteConnection(rusqlite::Connection::open_in_memory().unwrap());
        let all = schema::migrations(Dialect::Sqlite);
        let v16: Vec<_> = all.iter().filter(|(v, _)| *v <= 16).cloned().collect();
        migrate(&mut conn, &v16).unwrap();
        conn.batch(
            "INSERT INTO orgs (name, kind, countries, asns, prefixes, clients, created)
                VALUES ('police-ee', 'agency', 'EE', '', '', '', 1);
             INSERT INTO tokens (org_id, role, digest, label, created, expires, revoked)
                VALUES (1, 'reader', 'ab12', 'dgt_ab', 2, NULL, 3);
             INSERT INTO sources (name, grade, tlp, created, owner, recipients)
                VALUES ('feed', 'A1', 'amber', 1, NULL, 'police-ee'), ('plain', 'A1', 'amber', 1, NULL, NULL);
             INSERT INTO routings (server_id, org, add_it, reason, decided_by, decided_at)
                VALUES ('srv-a', 'police-ee', 1, 'hosted there', 'coord', 4);
             INSERT INTO abuse_contacts (network, email, name, updated) VALUES ('AS64500', 'abuse@a.example', '', 5);",
        )
        .unwrap();
        let before = audit_size(&mut conn);
        migrate(&mut conn, &all).unwrap();
        let mut store = SqlStore { conn };
        let logged: Vec<_> = store.audit_entries(before, 10).unwrap().into_iter().map(|l| l.entry).collect();
        let said: Vec<(&str, &str, &str)> =
            logged.iter().map(|e| (e.action.as_str(), e.subject.as_str(), e.actor.as_str())).collect();
        assert_eq!(
            said,
            [
                ("org.add", "police-ee", "migration"),
                ("token.add", "1", "migration"),
                ("token.revoke", "1", "migration"),
                ("sharing.set", "feed", "migration"),
                ("routing.add", "srv-a", "coord"),
                ("contact.put", "AS64500", "migration"),
            ],
            "a source nobody set limits on has no entry"
        );
        let token = store.tokens().unwrap().remove(0);
        assert_eq!(logged[1].body, token.audit_entry("").body, "the token's digest is logged");
        assert_eq!(logged[2].at, 3, "a revocation is logged at the time it was made");
    }

    fn audit_size(conn: &mut crate::sqlite::SqliteConnection) -> u64 {
        let rows = conn.query(sql::AUDIT_TIP, &[]).unwrap();
        at(&rows[0], 0).unwrap().count().unwrap()
    }

    #[test]
    fn a_v4_sqlite_store_is_migrated_to_digest_identities() {
        let conn = crate::sqlite::SqliteConnection(rusqlite::Connection::open_in_memory().unwrap());
        migrates_a_v4_store(conn, Dialect::Sqlite);
    }

    #[test]
    fn a_v4_postgres_store_is_migrated_to_digest_identities() {
        let Some((conn, schema)) = crate::postgres::tests::scratch_schema() else { return };
        migrates_a_v4_store(conn, Dialect::Postgres);
        drop(schema);
    }
}
