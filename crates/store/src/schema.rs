//! Versioned schema migrations. Each backend has its own DDL (identity
//! columns differ); queries are shared. A migration runs once, in a
//! transaction, and is recorded in `dragnet_schema`.

/// The SQL dialects the stores speak. They differ only in how an id column
/// is declared: SQLite's rowid alias must be spelled `INTEGER PRIMARY KEY`.
#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Schema versions in order; `{serial}` is a generated id, `{int_key}` an
/// id the application assigns, `{clustered}` stores a table in its primary
/// key order (observations are written and read by observable).
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE sources (
        id {serial},
        name TEXT NOT NULL UNIQUE,
        grade TEXT NOT NULL,
        tlp TEXT NOT NULL,
        created BIGINT NOT NULL
    );
    CREATE TABLE origins (id {serial}, origin TEXT NOT NULL UNIQUE);
    CREATE TABLE observables (
        id {int_key},
        kind TEXT NOT NULL,
        value TEXT NOT NULL
    );
    CREATE TABLE observations (
        observable_id BIGINT NOT NULL REFERENCES observables(id),
        source_id BIGINT NOT NULL REFERENCES sources(id),
        raw_hash BIGINT NOT NULL,
        origin_id BIGINT NOT NULL REFERENCES origins(id),
        line BIGINT NOT NULL,
        category BIGINT NOT NULL,
        tlp BIGINT NOT NULL,
        grade BIGINT NOT NULL,
        confidence BIGINT,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        tags TEXT NOT NULL,
        raw TEXT NOT NULL,
        ingested_at BIGINT NOT NULL,
        CHECK (first_seen <= last_seen),
        CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 100),
        PRIMARY KEY (observable_id, source_id, raw_hash)
    ){clustered};
    CREATE TABLE rejects (
        id {serial},
        source_id BIGINT NOT NULL REFERENCES sources(id),
        origin_id BIGINT NOT NULL REFERENCES origins(id),
        line BIGINT NOT NULL,
        field TEXT,
        reason TEXT NOT NULL,
        raw TEXT NOT NULL,
        raw_hash BIGINT NOT NULL,
        ingested_at BIGINT NOT NULL,
        UNIQUE (source_id, origin_id, line, raw_hash)
    );",
    ),
    (
        2,
        "CREATE TABLE warninglists (
        name TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        imported_at BIGINT NOT NULL
    );",
    ),
    (
        3,
        "CREATE TABLE links (
        from_id BIGINT NOT NULL REFERENCES observables(id),
        to_id BIGINT NOT NULL REFERENCES observables(id),
        source_id BIGINT NOT NULL REFERENCES sources(id),
        relation BIGINT NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        CHECK (first_seen <= last_seen),
        PRIMARY KEY (from_id, to_id, source_id)
    ){clustered};
    CREATE TABLE server_members (
        observable_id BIGINT PRIMARY KEY REFERENCES observables(id),
        server_id TEXT NOT NULL
    );",
    ),
    // Counting a source's links (new links per batch) without a full scan.
    (4, "CREATE INDEX links_by_source ON links (source_id);"),
    // Identities an attacker cannot collide: an observable is its SHA-256
    // digest under a unique constraint with a surrogate id, an observation
    // and a reject are deduplicated by the SHA-256 of their raw text. The
    // 64-bit FNV-1a ids and raw hashes of v1–v4 are renumbered; the digests
    // are computed by `db::fill_digests` after this DDL, in the same
    // transaction (the placeholders `old:N` are unique until then).
    (
        5,
        "CREATE TABLE observables_v5 (
        id {serial},
        digest TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        old_id BIGINT
    );
    INSERT INTO observables_v5 (digest, kind, value, old_id)
        SELECT 'old:' || CAST(id AS TEXT), kind, value, id FROM observables ORDER BY kind, value;
    CREATE INDEX observables_v5_old ON observables_v5 (old_id);
    CREATE TABLE observations_v5 (
        observable_id BIGINT NOT NULL REFERENCES observables_v5(id),
        source_id BIGINT NOT NULL REFERENCES sources(id),
        raw_digest TEXT NOT NULL,
        origin_id BIGINT NOT NULL REFERENCES origins(id),
        line BIGINT NOT NULL,
        category BIGINT NOT NULL,
        tlp BIGINT NOT NULL,
        grade BIGINT NOT NULL,
        confidence BIGINT,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        tags TEXT NOT NULL,
        raw TEXT NOT NULL,
        ingested_at BIGINT NOT NULL,
        CHECK (first_seen <= last_seen),
        CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 100),
        PRIMARY KEY (observable_id, source_id, raw_digest)
    ){clustered};
    INSERT INTO observations_v5 (observable_id, source_id, raw_digest, origin_id, line, category, tlp, grade,
            confidence, first_seen, last_seen, tags, raw, ingested_at)
        SELECT n.id, o.source_id, 'old:' || CAST(o.raw_hash AS TEXT), o.origin_id, o.line, o.category, o.tlp,
            o.grade, o.confidence, o.first_seen, o.last_seen, o.tags, o.raw, o.ingested_at
        FROM observations o JOIN observables_v5 n ON n.old_id = o.observable_id;
    CREATE TABLE rejects_v5 (
        id {serial},
        source_id BIGINT NOT NULL REFERENCES sources(id),
        origin_id BIGINT NOT NULL REFERENCES origins(id),
        line BIGINT NOT NULL,
        field TEXT,
        reason TEXT NOT NULL,
        raw TEXT NOT NULL,
        raw_digest TEXT NOT NULL,
        ingested_at BIGINT NOT NULL,
        UNIQUE (source_id, origin_id, line, raw_digest)
    );
    INSERT INTO rejects_v5 (source_id, origin_id, line, field, reason, raw, raw_digest, ingested_at)
        SELECT source_id, origin_id, line, field, reason, raw, 'old:' || CAST(id AS TEXT), ingested_at
        FROM rejects ORDER BY id;
    CREATE TABLE links_v5 (
        from_id BIGINT NOT NULL REFERENCES observables_v5(id),
        to_id BIGINT NOT NULL REFERENCES observables_v5(id),
        source_id BIGINT NOT NULL REFERENCES sources(id),
        relation BIGINT NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        CHECK (first_seen <= last_seen),
        PRIMARY KEY (from_id, to_id, source_id)
    ){clustered};
    INSERT INTO links_v5 (from_id, to_id, source_id, relation, first_seen, last_seen)
        SELECT f.id, t.id, l.source_id, l.relation, l.first_seen, l.last_seen
        FROM links l JOIN observables_v5 f ON f.old_id = l.from_id JOIN observables_v5 t ON t.old_id = l.to_id;
    CREATE TABLE server_members_v5 (
        observable_id BIGINT PRIMARY KEY REFERENCES observables_v5(id),
        server_id TEXT NOT NULL
    );
    INSERT INTO server_members_v5 (observable_id, server_id)
        SELECT n.id, m.server_id FROM server_members m JOIN observables_v5 n ON n.old_id = m.observable_id;
    DROP TABLE server_members;
    DROP TABLE links;
    DROP TABLE observations;
    DROP TABLE rejects;
    DROP TABLE observables;
    DROP INDEX observables_v5_old;
    ALTER TABLE observables_v5 DROP COLUMN old_id;
    ALTER TABLE observables_v5 RENAME TO observables;
    ALTER TABLE observations_v5 RENAME TO observations;
    ALTER TABLE rejects_v5 RENAME TO rejects;
    ALTER TABLE links_v5 RENAME TO links;
    ALTER TABLE server_members_v5 RENAME TO server_members;
    CREATE INDEX links_by_source ON links (source_id);",
    ),
    (
        6,
        "CREATE TABLE orgs (
        id {serial},
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        countries TEXT NOT NULL,
        asns TEXT NOT NULL,
        prefixes TEXT NOT NULL,
        clients TEXT NOT NULL,
        created BIGINT NOT NULL
    );
    CREATE TABLE tokens (
        id {serial},
        org_id BIGINT NOT NULL REFERENCES orgs(id),
        role TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created BIGINT NOT NULL,
        expires BIGINT,
        revoked BIGINT
    );
    ALTER TABLE sources ADD COLUMN owner TEXT;
    ALTER TABLE sources ADD COLUMN recipients TEXT;",
    ),
    (
        7,
        "CREATE TABLE routings (
        id {serial},
        server_id TEXT NOT NULL,
        org TEXT NOT NULL,
        add_it BIGINT NOT NULL,
        reason TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        decided_at BIGINT NOT NULL
    );
    CREATE TABLE packages (
        id {serial},
        org TEXT NOT NULL,
        version BIGINT NOT NULL,
        created BIGINT NOT NULL,
        tlp TEXT,
        servers BIGINT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (org, version)
    );",
    ),
    (
        8,
        "CREATE TABLE taxii_objects (
        seq {serial},
        collection TEXT NOT NULL,
        object_id TEXT NOT NULL,
        version TEXT NOT NULL,
        date_added BIGINT NOT NULL,
        kind TEXT NOT NULL,
        spec_version TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (collection, object_id, version)
    );
    CREATE INDEX taxii_by_added ON taxii_objects (collection, date_added, seq);
    CREATE TABLE taxii_status (
        id TEXT PRIMARY KEY,
        collection TEXT NOT NULL,
        created BIGINT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE taxii_pulls (
        url TEXT NOT NULL,
        collection TEXT NOT NULL,
        added_last TEXT NOT NULL,
        updated BIGINT NOT NULL,
        PRIMARY KEY (url, collection)
    );",
    ),
    // One counter that every batch of observations raises in its own
    // transaction: a reader that holds a snapshot of the observations
    // knows from one row whether it is still current.
    (
        9,
        "CREATE TABLE generation (id BIGINT PRIMARY KEY, value BIGINT NOT NULL);
    INSERT INTO generation (id, value) VALUES (1, 0);",
    ),
    (
        10,
        "CREATE TABLE takedowns (
        server_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated BIGINT NOT NULL
    );
    CREATE TABLE takedown_events (
        id {serial},
        server_id TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        decided_at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        evidence TEXT NOT NULL
    );
    CREATE INDEX takedown_events_by_server ON takedown_events (server_id, id);",
    ),
    // The audit log: entries appended in the transaction of their change,
    // a tip row that hands out sequence numbers in turn, and signed tree
    // heads. Moves made before it are logged by the migration
    // (`migration::log_earlier_changes`).
    (
        11,
        "CREATE TABLE audit_log (
        seq BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        leaf TEXT NOT NULL,
        chain TEXT NOT NULL
    );
    CREATE TABLE audit_tip (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, chain TEXT NOT NULL);
    INSERT INTO audit_tip (id, seq, chain) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
    CREATE TABLE audit_heads (
        size BIGINT PRIMARY KEY,
        root TEXT NOT NULL,
        at BIGINT NOT NULL,
        signer TEXT NOT NULL,
        signature TEXT NOT NULL
    );",
    ),
    // Operations, their participants, and what agencies did in them.
    (
        12,
        "CREATE TABLE operations (
        id {serial},
        name TEXT NOT NULL UNIQUE,
        starts BIGINT NOT NULL,
        ends BIGINT NOT NULL,
        scope TEXT NOT NULL,
        created BIGINT NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TABLE operation_participants (
        operation TEXT NOT NULL,
        org TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (operation, org)
    );
    CREATE TABLE case_actions (
        id {serial},
        operation TEXT NOT NULL,
        kind TEXT NOT NULL,
        agency TEXT NOT NULL,
        country TEXT NOT NULL,
        happened BIGINT NOT NULL,
        server_id TEXT,
        count BIGINT NOT NULL,
        bytes BIGINT,
        sha256 TEXT,
        note TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        recorded_at BIGINT NOT NULL
    );
    CREATE INDEX case_actions_by_operation ON case_actions (operation, id);",
    ),
    // Hosting providers' abuse desks, by ASN or prefix.
    (
        13,
        "CREATE TABLE abuse_contacts (
        network TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        name TEXT NOT NULL,
        updated BIGINT NOT NULL
    );",
    ),
    // What the verification prober found, and each server's run of silent rounds.
    (
        14,
        "CREATE TABLE probe_results (
        id {serial},
        server_id TEXT NOT NULL,
        address TEXT NOT NULL,
        port BIGINT NOT NULL,
        probed_at BIGINT NOT NULL,
        connected BIGINT NOT NULL,
        certificate TEXT,
        http_status BIGINT,
        error TEXT
    );
    CREATE INDEX probe_results_by_server ON probe_results (server_id, id);
    CREATE TABLE probe_streaks (server_id TEXT PRIMARY KEY, silent_rounds BIGINT NOT NULL);",
    ),
    // Evidence files by content, and who handed each to whom.
    (
        15,
        "CREATE TABLE evidence (
        id {serial},
        sha256 TEXT NOT NULL UNIQUE,
        size BIGINT NOT NULL,
        name TEXT NOT NULL,
        operation TEXT NOT NULL,
        server_id TEXT,
        description TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at BIGINT NOT NULL
    );
    CREATE TABLE custody (
        id {serial},
        sha256 TEXT NOT NULL,
        from_org TEXT NOT NULL,
        to_org TEXT NOT NULL,
        handed_at BIGINT NOT NULL,
        note TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    );
    CREATE INDEX custody_by_evidence ON custody (sha256, id);",
    ),
    // Suspects: minimal, owned by one agency, erased at their retention date.
    (
        16,
        "CREATE TABLE suspects (
        id {serial},
        operation TEXT NOT NULL,
        agency TEXT NOT NULL,
        alias TEXT NOT NULL,
        nationality TEXT,
        role TEXT NOT NULL,
        retain_until BIGINT NOT NULL,
        added_by TEXT NOT NULL,
        added_at BIGINT NOT NULL
    );",
    ),
    // Organisations, tokens, sharing limits, routings and abuse contacts
    // join the audit log: no new table, the migration logs what exists.
    (17, "-- migration::log_access_state"),
    // The decision stream: each decision numbered when made and when withdrawn.
    (
        18,
        "CREATE TABLE decisions (
        id BIGINT PRIMARY KEY,
        value TEXT NOT NULL,
        kind TEXT NOT NULL,
        category TEXT NOT NULL,
        until_at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        markings TEXT NOT NULL,
        added_at BIGINT NOT NULL,
        deleted_seq BIGINT
    );
    CREATE INDEX decisions_by_withdrawal ON decisions (deleted_seq, id);
    CREATE TABLE decision_tip (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL);
    INSERT INTO decision_tip (id, seq) VALUES (1, 0);",
    ),
    // What the standing decisions were last reconciled from, and when, so
    // a poll of an unchanged store does not recompute them.
    (
        19,
        "ALTER TABLE decision_tip ADD COLUMN basis TEXT;
    ALTER TABLE decision_tip ADD COLUMN refreshed BIGINT;",
    ),
    // The JA3S fingerprint of a probed TLS server's hello.
    (20, "ALTER TABLE probe_results ADD COLUMN ja3s TEXT;"),
];

/// The schema version that starts the audit log; migrating to it logs the
/// takedown moves made before (`migration::log_earlier_changes`).
pub const AUDIT_VERSION: i64 = 11;

/// The schema version from which organisations, tokens, sharing limits,
/// routings and abuse contacts are logged; migrating to it logs those that
/// exist (`migration::log_access_state`).
pub const ACCESS_AUDIT_VERSION: i64 = 17;

/// The first schema version whose identities are digests; migrating to it
/// computes them (`db::fill_digests`).
pub const DIGEST_VERSION: i64 = 5;

/// The migrations with their DDL spelled for `dialect`.
pub fn migrations(dialect: Dialect) -> Vec<(i64, String)> {
    let (serial, int_key, clustered) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY", "INTEGER PRIMARY KEY", " WITHOUT ROWID"),
        Dialect::Postgres => ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BIGINT PRIMARY KEY", ""),
    };
    MIGRATIONS
        .iter()
        .map(|(v, ddl)| {
            (*v, ddl.replace("{serial}", serial).replace("{int_key}", int_key).replace("{clustered}", clustered))
        })
        .collect()
}

pub const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS dragnet_schema (version BIGINT NOT NULL)";

/// Queries shared by both backends (SQLite accepts `$N` placeholders).
pub mod sql {
    pub const SOURCE_BY_NAME: &str = "SELECT id, name, grade, tlp FROM sources WHERE name = $1";
    pub const SCHEMA_VERSION: &str = "SELECT MAX(version) FROM dragnet_schema";
    pub const OLD_OBSERVABLES: &str = "SELECT id, kind, value FROM observables WHERE digest LIKE 'old:%'";
    pub const SET_OBSERVABLE_DIGEST: &str = "UPDATE observables SET digest = $1 WHERE id = $2";
    pub const OLD_OBSERVATIONS: &str =
        "SELECT observable_id, source_id, raw_digest, raw FROM observations WHERE raw_digest LIKE 'old:%'";
    pub const SET_OBSERVATION_DIGEST: &str =
        "UPDATE observations SET raw_digest = $1 WHERE observable_id = $2 AND source_id = $3 AND raw_digest = $4";
    pub const OLD_REJECTS: &str = "SELECT id, raw FROM rejects WHERE raw_digest LIKE 'old:%'";
    pub const SET_REJECT_DIGEST: &str = "UPDATE rejects SET raw_digest = $1 WHERE id = $2";
    pub const INSERT_SOURCE: &str =
        "INSERT INTO sources (name, grade, tlp, created) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING";
    pub const OPEN_TAKEDOWN: &str =
        "INSERT INTO takedowns (server_id, state, updated) VALUES ($1, $2, $3) ON CONFLICT (server_id) DO NOTHING";
    pub const MOVE_TAKEDOWN: &str = "UPDATE takedowns SET state = $1, updated = $2 WHERE server_id = $3 AND state = $4";
    pub const INSERT_TAKEDOWN_EVENT: &str = "INSERT INTO takedown_events
        (server_id, from_state, to_state, decided_by, decided_at, reason, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub const TAKEDOWNS: &str = "SELECT server_id, state, updated FROM takedowns ORDER BY server_id";
    pub const TAKEDOWN_HISTORY: &str =
        "SELECT server_id, from_state, to_state, decided_by, decided_at, reason, evidence
        FROM takedown_events WHERE server_id = $1 ORDER BY id";
    pub const ALL_TAKEDOWN_HISTORY: &str = "SELECT server_id, from_state, to_state, decided_by, decided_at, reason, evidence FROM takedown_events ORDER BY id";
    pub const ADVANCE_AUDIT_TIP: &str = "UPDATE audit_tip SET seq = seq + 1 WHERE id = 1 RETURNING seq, chain";
    pub const SET_AUDIT_CHAIN: &str = "UPDATE audit_tip SET chain = $1 WHERE id = 1";
    pub const AUDIT_TIP: &str = "SELECT seq FROM audit_tip WHERE id = 1";
    pub const LOCK_DECISION_TIP: &str = "UPDATE decision_tip SET seq = seq WHERE id = 1 RETURNING seq";
    pub const SET_DECISION_TIP: &str = "UPDATE decision_tip SET seq = $1 WHERE id = 1";
    pub const DECISION_TIP: &str = "SELECT seq FROM decision_tip WHERE id = 1";
    pub const DECISION_BASIS: &str = "SELECT basis, refreshed FROM decision_tip WHERE id = 1";
    pub const SET_DECISION_BASIS: &str = "UPDATE decision_tip SET basis = $1, refreshed = $2 WHERE id = 1";
    pub const STANDING_DECISIONS: &str =
        "SELECT id, value, kind, category, until_at, reason, markings, added_at, deleted_seq
        FROM decisions WHERE deleted_seq IS NULL ORDER BY id";
    pub const INSERT_DECISION: &str =
        "INSERT INTO decisions (id, value, kind, category, until_at, reason, markings, added_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub const WITHDRAW_DECISION: &str = "UPDATE decisions SET deleted_seq = $1 WHERE id = $2";
    pub const DECISIONS_ADDED_SINCE: &str =
        "SELECT id, value, kind, category, until_at, reason, markings, added_at, deleted_seq
        FROM decisions WHERE id > $1 AND deleted_seq IS NULL ORDER BY id";
    pub const DECISIONS_WITHDRAWN_SINCE: &str =
        "SELECT id, value, kind, category, until_at, reason, markings, added_at, deleted_seq
        FROM decisions WHERE deleted_seq > $1 AND id <= $1 ORDER BY deleted_seq";
    pub const INSERT_AUDIT_ENTRY: &str = "INSERT INTO audit_log (seq, at, actor, action, subject, body, leaf, chain)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub const AUDIT_ENTRIES: &str = "SELECT seq, at, actor, action, subject, body, leaf, chain
        FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";
    pub const AUDIT_LEAVES: &str = "SELECT leaf FROM audit_log WHERE seq <= $1 ORDER BY seq";
    pub const INSERT_TREE_HEAD: &str = "INSERT INTO audit_heads (size, root, at, signer, signature)
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING";
    pub const TREE_HEADS: &str = "SELECT size, root, at, signer, signature FROM audit_heads ORDER BY size";
    pub const INSERT_OPERATION: &str = "INSERT INTO operations (name, starts, ends, scope, created, created_by)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING";
    pub const INSERT_PARTICIPANT: &str = "INSERT INTO operation_participants (operation, org, role) VALUES ($1, $2, $3)
        ON CONFLICT (operation, org) DO UPDATE SET role = excluded.role";
    pub const OPERATIONS: &str = "SELECT name, starts, ends, scope, created, created_by FROM operations ORDER BY id";
    pub const PARTICIPANTS: &str = "SELECT operation, org, role FROM operation_participants ORDER BY operation, org";
    pub const INSERT_CASE_ACTION: &str = "INSERT INTO case_actions
        (operation, kind, agency, country, happened, server_id, count, bytes, sha256, note, recorded_by, recorded_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    pub const CASE_ACTIONS: &str = "SELECT operation, kind, agency, country, happened, server_id, count, bytes, sha256,
        note, recorded_by, recorded_at FROM case_actions ORDER BY id";
    pub const CASE_ACTIONS_OF: &str = "SELECT operation, kind, agency, country, happened, server_id, count, bytes,
        sha256, note, recorded_by, recorded_at FROM case_actions WHERE operation = $1 ORDER BY id";
    pub const PUT_CONTACT: &str = "INSERT INTO abuse_contacts (network, email, name, updated) VALUES ($1, $2, $3, $4)
        ON CONFLICT (network) DO UPDATE SET email = excluded.email, name = excluded.name, updated = excluded.updated";
    pub const CONTACTS: &str = "SELECT network, email, name FROM abuse_contacts ORDER BY network";
    pub const INSERT_PROBE_RESULT: &str = "INSERT INTO probe_results
        (server_id, address, port, probed_at, connected, certificate, http_status, error, ja3s)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub const PUT_PROBE_STREAK: &str = "INSERT INTO probe_streaks (server_id, silent_rounds) VALUES ($1, $2)
        ON CONFLICT (server_id) DO UPDATE SET silent_rounds = excluded.silent_rounds";
    pub const PROBE_STREAKS: &str = "SELECT server_id, silent_rounds FROM probe_streaks ORDER BY server_id";
    pub const PROBE_CERTIFICATES: &str = "SELECT DISTINCT certificate, address FROM probe_results
        WHERE server_id = $1 AND certificate IS NOT NULL ORDER BY certificate, address";
    pub const PROBE_RESULTS: &str = "SELECT server_id, address, port, probed_at, connected, certificate, http_status,
        error, ja3s FROM probe_results WHERE server_id = $1 ORDER BY id DESC LIMIT $2";
    pub const INSERT_EVIDENCE: &str = "INSERT INTO evidence
        (sha256, size, name, operation, server_id, description, added_by, added_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sha256) DO NOTHING";
    pub const EVIDENCE: &str = "SELECT sha256, size, name, operation, server_id, description, added_by, added_at
        FROM evidence WHERE ($1 = '' OR operation = $1) ORDER BY id";
    pub const INSERT_CUSTODY: &str = "INSERT INTO custody (sha256, from_org, to_org, handed_at, note, recorded_by)
        VALUES ($1, $2, $3, $4, $5, $6)";
    pub const HOLDER: &str = "SELECT to_org FROM custody WHERE sha256 = $1 ORDER BY id DESC LIMIT 1";
    pub const CUSTODY: &str = "SELECT sha256, from_org, to_org, handed_at, note, recorded_by FROM custody
        WHERE ($1 = '' OR sha256 = $1) ORDER BY id";
    pub const INSERT_SUSPECT: &str = "INSERT INTO suspects
        (operation, agency, alias, nationality, role, retain_until, added_by, added_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    pub const SUSPECTS: &str =
        "SELECT id, operation, agency, alias, nationality, role, retain_until, added_by, added_at
        FROM suspects WHERE ($1 = '' OR agency = $1) ORDER BY id";
    pub const EXPIRED_SUSPECTS: &str = "SELECT id, operation, agency, alias, nationality, role, retain_until, added_by,
        added_at FROM suspects WHERE retain_until < $1 ORDER BY id";
    pub const DELETE_SUSPECT: &str = "DELETE FROM suspects WHERE id = $1";
    pub const BUMP_GENERATION: &str = "UPDATE generation SET value = value + 1 WHERE id = 1";
    pub const GENERATION: &str = "SELECT value FROM generation WHERE id = 1";
    pub const INSERT_ORIGIN: &str =
        "INSERT INTO origins (origin) VALUES ($1) ON CONFLICT (origin) DO NOTHING RETURNING id";
    pub const ORIGIN_ID: &str = "SELECT id FROM origins WHERE origin = $1";
    pub const INSERT_OBSERVABLES_HEAD: &str = "INSERT INTO observables (digest, kind, value) VALUES ";
    pub const INSERT_OBSERVABLES_TAIL: &str = "ON CONFLICT (digest) DO NOTHING RETURNING id, digest";
    pub const OBSERVABLES_BY_DIGEST: &str = "SELECT id, digest, kind, value FROM observables WHERE digest IN";
    pub const INSERT_OBSERVATIONS_HEAD: &str = "INSERT INTO observations (observable_id, source_id, origin_id, line, category, tlp, grade, confidence, first_seen, last_seen, tags, raw, raw_digest, ingested_at) VALUES ";
    pub const INSERT_OBSERVATIONS_TAIL: &str = "ON CONFLICT (observable_id, source_id, raw_digest) DO NOTHING";
    pub const INSERT_REJECT: &str =
        "INSERT INTO rejects (source_id, origin_id, line, field, reason, raw, raw_digest, ingested_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source_id, origin_id, line, raw_digest) DO NOTHING";
    /// Followed by `in_list`: every candidate's digest in one statement.
    pub const HITS_OF: &str = "SELECT b.digest, b.kind, b.value, s.name, o.category, o.tlp, o.grade, o.confidence, o.first_seen, o.last_seen, o.tags, o.line, o.raw, g.origin
        FROM observables b JOIN observations o ON o.observable_id = b.id JOIN sources s ON s.id = o.source_id
        JOIN origins g ON g.id = o.origin_id
        WHERE b.digest IN";
    pub const HITS_ORDER: &str = "ORDER BY o.first_seen, s.name, o.line";
    pub const SOURCES: &str = "SELECT s.name, s.grade, s.tlp, s.created,
            (SELECT COUNT(*) FROM observations o WHERE o.source_id = s.id),
            (SELECT COUNT(*) FROM rejects r WHERE r.source_id = s.id),
            (SELECT MAX(o.ingested_at) FROM observations o WHERE o.source_id = s.id)
        FROM sources s ORDER BY s.name";
    // Observables some source reported (link ends alone are not counted).
    pub const COUNT_OBSERVABLES: &str =
        "SELECT COUNT(*) FROM observables b WHERE EXISTS (SELECT 1 FROM observations o WHERE o.observable_id = b.id)";
    pub const COUNT_OBSERVATIONS: &str = "SELECT COUNT(*) FROM observations";
    pub const COUNT_REJECTS: &str = "SELECT COUNT(*) FROM rejects";
    pub const COUNT_SOURCES: &str = "SELECT COUNT(*) FROM sources";
    pub const BY_KIND: &str = "SELECT b.kind, COUNT(*) FROM observables b
        WHERE EXISTS (SELECT 1 FROM observations o WHERE o.observable_id = b.id) GROUP BY b.kind";
    pub const BY_CATEGORY: &str = "SELECT category, COUNT(*) FROM observations GROUP BY category";
    pub const BY_TLP: &str = "SELECT tlp, COUNT(*) FROM observations GROUP BY tlp";
    pub const BY_SOURCE: &str =
        "SELECT s.name, COUNT(*) FROM observations o JOIN sources s ON s.id = o.source_id GROUP BY s.name";
    pub const PUT_WARNINGLIST: &str = "INSERT INTO warninglists (name, body, imported_at) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO UPDATE SET body = excluded.body, imported_at = excluded.imported_at";
    pub const WARNINGLISTS: &str = "SELECT name, body FROM warninglists ORDER BY name";
    pub const INSERT_LINKS_HEAD: &str =
        "INSERT INTO links (from_id, to_id, source_id, relation, first_seen, last_seen) VALUES ";
    pub const INSERT_LINKS_TAIL: &str = "ON CONFLICT (from_id, to_id, source_id) DO UPDATE SET
            first_seen = CASE WHEN excluded.first_seen < links.first_seen THEN excluded.first_seen ELSE links.first_seen END,
            last_seen = CASE WHEN excluded.last_seen > links.last_seen THEN excluded.last_seen ELSE links.last_seen END";
    pub const COUNT_LINKS_OF: &str = "SELECT COUNT(*) FROM links WHERE source_id = $1";
    pub const LINKS: &str = "SELECT f.kind, f.value, t.kind, t.value, s.name, l.first_seen, l.last_seen
        FROM links l JOIN observables f ON f.id = l.from_id JOIN observables t ON t.id = l.to_id
        JOIN sources s ON s.id = l.source_id ORDER BY l.from_id, l.to_id, s.name";
    pub const FACTS: &str = "SELECT b.kind, b.value, s.name, o.category, o.tlp, o.grade, o.confidence, o.first_seen, o.last_seen, o.tags, o.line
        FROM observables b JOIN observations o ON o.observable_id = b.id JOIN sources s ON s.id = o.source_id
        WHERE b.kind IN";
    pub const FACTS_ORDER: &str = "ORDER BY b.id, s.name, o.first_seen";
    pub const SERVER_ASSIGNMENTS: &str = "SELECT b.kind, b.value, m.server_id
        FROM server_members m JOIN observables b ON b.id = m.observable_id ORDER BY m.server_id, b.id";
    pub const CLEAR_SERVER_ASSIGNMENTS: &str = "DELETE FROM server_members";
    pub const INSERT_SERVER_MEMBERS_HEAD: &str = "INSERT INTO server_members (observable_id, server_id) VALUES ";
    // An upsert, so two clusterings racing on a shared store never fail on the key.
    pub const INSERT_SERVER_MEMBERS_TAIL: &str =
        "ON CONFLICT (observable_id) DO UPDATE SET server_id = excluded.server_id";
    pub const INSERT_ORG: &str = "INSERT INTO orgs (name, kind, countries, asns, prefixes, clients, created)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING";
    pub const ORGS: &str = "SELECT name, kind, countries, asns, prefixes, clients FROM orgs ORDER BY name";
    pub const ORG_ID: &str = "SELECT id FROM orgs WHERE name = $1";
    // SQLite numbers `$N` parameters by first appearance: keep them in order.
    pub const INSERT_TOKEN: &str = "INSERT INTO tokens (org_id, role, digest, label, created, expires)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    pub const TOKENS: &str = "SELECT t.id, o.name, t.role, t.label, t.created, t.expires, t.revoked, t.digest
        FROM tokens t JOIN orgs o ON o.id = t.org_id";
    pub const TOKENS_ORDER: &str = "ORDER BY t.id";
    pub const TOKEN_BY_DIGEST: &str = "WHERE t.digest = $1";
    pub const TOKEN_BY_ID: &str = "WHERE t.id = $1";
    pub const REVOKE_TOKEN: &str = "UPDATE tokens SET revoked = $1 WHERE id = $2 AND revoked IS NULL";
    pub const SHARING: &str = "SELECT name, owner, recipients FROM sources ORDER BY name";
    pub const SOURCE_OWNER: &str = "SELECT owner FROM sources WHERE name = $1";
    pub const SET_SHARING: &str = "UPDATE sources SET owner = $1, recipients = $2 WHERE name = $3";
    pub const INSERT_ROUTING: &str = "INSERT INTO routings (server_id, org, add_it, reason, decided_by, decided_at)
        VALUES ($1, $2, $3, $4, $5, $6)";
    pub const ROUTINGS: &str =
        "SELECT server_id, org, add_it, reason, decided_by, decided_at FROM routings ORDER BY id";
    pub const NEXT_PACKAGE_VERSION: &str = "SELECT COALESCE(MAX(version), 0) + 1 FROM packages WHERE org = $1";
    pub const INSERT_PACKAGE: &str = "INSERT INTO packages (org, version, created, tlp, servers, body)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    pub const PACKAGES: &str = "SELECT id, org, version, created, tlp, servers, '' FROM packages
        WHERE ($1 = '' OR org = $1) ORDER BY id DESC";
    pub const PACKAGE: &str = "SELECT id, org, version, created, tlp, servers, body FROM packages WHERE id = $1";
    pub const INSERT_TAXII: &str =
        "INSERT INTO taxii_objects (collection, object_id, version, date_added, kind, spec_version, body)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (collection, object_id, version) DO NOTHING";
    pub const TAXII_COLUMNS: &str =
        "SELECT t.collection, t.object_id, t.version, t.date_added, t.seq, t.kind, t.spec_version, t.body
        FROM taxii_objects t WHERE t.collection = $1";
    pub const PUT_TAXII_STATUS: &str =
        "INSERT INTO taxii_status (id, collection, created, body) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET body = excluded.body";
    pub const PUT_TAXII_PULL: &str =
        "INSERT INTO taxii_pulls (url, collection, added_last, updated) VALUES ($1, $2, $3, $4)
        ON CONFLICT (url, collection) DO UPDATE SET added_last = excluded.added_last, updated = excluded.updated";
    pub const TAXII_PULL: &str = "SELECT added_last FROM taxii_pulls WHERE url = $1 AND collection = $2";
    pub const TAXII_STATUS: &str = "SELECT collection, body FROM taxii_status WHERE id = $1";
    pub const REJECTS: &str = "SELECT s.name, g.origin, r.line, r.field, r.reason, r.raw
        FROM rejects r JOIN sources s ON s.id = r.source_id JOIN origins g ON g.id = r.origin_id
        WHERE ($1 = '' OR s.name = $1) ORDER BY r.id DESC LIMIT $2";
}
