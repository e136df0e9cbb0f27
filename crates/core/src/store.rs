//! The store trait: what every backend (embedded SQLite, PostgreSQL) must do,
//! and the plain types that cross it. Backends live in `dragnet-store`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::access::{Org, Role, Sharing};
use crate::model::{Category, Grade, Tlp};
use crate::observable::{Kind, Observable};
use crate::record::{Link, Reject, Relation};
use crate::time::Timestamp;

/// A named partner feed with the grade and TLP its reports get by default.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: String,
    pub grade: Grade,
    pub tlp: Tlp,
}

/// A source as the store knows it, with its activity.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceInfo {
    #[serde(flatten)]
    pub source: Source,
    pub created: Timestamp,
    pub observations: u64,
    pub rejects: u64,
    pub last_ingest: Option<Timestamp>,
}

/// One report of one observable by one source, fully labelled (see
/// [`crate::policy::label`]) and ready to be written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub observable: Observable,
    pub category: Category,
    pub tlp: Tlp,
    pub grade: Grade,
    pub confidence: Option<u8>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub tags: Vec<String>,
    pub line: u32,
    pub raw: String,
}

/// Everything one input contributes; written all or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// Whose report this is; a source the store does not know yet is created
    /// with these defaults in the batch's own transaction, so an input that
    /// fails leaves no empty source behind.
    pub source: &'a Source,
    /// Where the input came from (a path, `demo:…`, a URL).
    pub origin: &'a str,
    pub observations: &'a [Observation],
    pub rejects: &'a [Reject],
    /// Relations the input states; a link without times gets `ingested_at`.
    pub links: &'a [Link],
    pub ingested_at: Timestamp,
}

/// A piece of a batch written in parts ([`Store::write_parts`]): what one
/// stretch of a large input holds.
#[derive(Debug, Clone, Default)]
pub struct Part {
    pub observations: Vec<Observation>,
    pub rejects: Vec<Reject>,
    pub links: Vec<Link>,
}

/// A stored link: who said two observables belong together, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredLink {
    pub from: Observable,
    pub to: Observable,
    pub relation: Relation,
    pub source: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// One stored observation as the bulk scan reads it (without its raw
/// text, which only `lookup` reads back).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub source: String,
    pub observation: Observation,
}

/// What writing a batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchOutcome {
    /// Observations the store did not hold before.
    pub new_observations: u64,
    /// Observables the store had never seen from any source.
    pub new_observables: u64,
    /// Rejects recorded for the first time.
    pub new_rejects: u64,
    /// Links recorded for the first time.
    pub new_links: u64,
}

/// How a stored observation matched a looked-up value.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    Exact,
    /// A stored CIDR covers the looked-up IP or CIDR.
    CoveringCidr,
    /// A stored domain is a parent of the looked-up domain.
    ParentDomain,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Exact => "exact",
            Via::CoveringCidr => "covering-cidr",
            Via::ParentDomain => "parent-domain",
        }
    }
}

/// Every stored value that answers a lookup of `observable`, and how: the
/// value itself, each network that covers it, each parent domain.
pub fn lookup_candidates(observable: &Observable) -> Vec<(Observable, Via)> {
    lookup_candidates_where(observable, |_, _| true)
}

/// [`lookup_candidates`] with only the covering networks whose prefix
/// length `keep(is_v4, len)` accepts.
pub fn lookup_candidates_where(observable: &Observable, keep: impl Fn(bool, u32) -> bool) -> Vec<(Observable, Via)> {
    let mut candidates = vec![(observable.clone(), Via::Exact)];
    let networks = observable.covering_networks_where(keep).into_iter();
    candidates.extend(networks.filter_map(|n| Observable::parse(Kind::Cidr, &n).ok()).map(|n| (n, Via::CoveringCidr)));
    let parents = observable.parent_domains().into_iter();
    candidates.extend(parents.filter_map(|d| Observable::parse(Kind::Domain, d).ok()).map(|d| (d, Via::ParentDomain)));
    candidates
}

/// One stored observation that answers a lookup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub matched: Observable,
    pub via: Via,
    pub source: String,
    pub observation: Observation,
    pub origin: String,
}

/// A rejected piece of input as stored, with its origin.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredReject {
    pub source: String,
    pub origin: String,
    #[serde(flatten)]
    pub reject: Reject,
}

/// Counts over the whole store.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub observables: u64,
    pub observations: u64,
    pub rejects: u64,
    pub sources: u64,
    pub observables_by_kind: BTreeMap<String, u64>,
    pub observations_by_category: BTreeMap<String, u64>,
    pub observations_by_source: BTreeMap<String, u64>,
    pub observations_by_tlp: BTreeMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {location}: {message}")]
    Open { location: String, message: String },
    #[error("store schema version {found} is newer than this dragnet understands ({known}); upgrade dragnet")]
    TooNew { found: i64, known: i64 },
    #[error("unknown source `{0}`")]
    UnknownSource(String),
    #[error("store holds a value it cannot read back ({what}: {value})")]
    Corrupt { what: &'static str, value: String },
    #[error(
        "the store is busy: another process held its write lock for longer than this one would wait ({0}); nothing was written: try again, or wait longer (--busy-timeout)"
    )]
    Busy(String),
    #[error("a concurrent write conflicted with this one, and retrying did not help ({0}); nothing was written")]
    Conflict(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0}")]
    NotFound(String),
    #[error("database error: {0}")]
    Backend(String),
    /// A batch written in parts was given up by its writer (the input
    /// turned out bad); nothing of it was kept.
    #[error("{0}")]
    Aborted(String),
}

/// An API token as stored: never its secret, only the secret's SHA-256.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: i64,
    pub org: String,
    pub role: Role,
    /// The secret's first characters, to tell tokens apart in listings.
    pub label: String,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
    /// SHA-256 of the secret, hex: logged so that a swapped digest (a
    /// secret planted behind Dragnet's back) is caught; never listed.
    #[serde(skip)]
    pub digest: String,
}

impl TokenRecord {
    pub const AUDIT_ADD: &'static str = "token.add";
    pub const AUDIT_REVOKE: &'static str = "token.revoke";

    /// The audit entry that records its creation by `by`.
    pub fn audit_entry(&self, by: &str) -> crate::audit::Entry {
        #[derive(Serialize)]
        struct Body<'a> {
            org: &'a str,
            role: &'a str,
            label: &'a str,
            expires: Option<Timestamp>,
            digest: &'a str,
        }
        let body = Body {
            org: &self.org,
            role: self.role.as_str(),
            label: &self.label,
            expires: self.expires,
            digest: &self.digest,
        };
        crate::audit::Entry::of(Self::AUDIT_ADD, by, &self.id.to_string(), self.created, &body)
    }

    /// The audit entry that records its revocation by `by` at `at`.
    pub fn revoke_entry(&self, by: &str, at: Timestamp) -> crate::audit::Entry {
        #[derive(Serialize)]
        struct Body {
            revoked: Timestamp,
        }
        crate::audit::Entry::of(Self::AUDIT_REVOKE, by, &self.id.to_string(), at, &Body { revoked: at })
    }
}

/// A coordinator's routing of a server by hand: added to an agency's
/// package, or kept out of it, with the reason.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routing {
    pub server: String,
    pub org: String,
    /// True: route it there; false: keep it out, whatever the jurisdiction says.
    pub add: bool,
    pub reason: String,
    /// Who decided (an organisation, or `operator` on the command line).
    pub by: String,
    pub at: Timestamp,
}

impl Routing {
    pub const AUDIT_ACTION: &'static str = "routing.add";

    /// The audit entry that records it.
    pub fn audit_entry(&self) -> crate::audit::Entry {
        #[derive(Serialize)]
        struct Body<'a> {
            org: &'a str,
            add: bool,
            reason: &'a str,
        }
        let body = Body { org: &self.org, add: self.add, reason: &self.reason };
        crate::audit::Entry::of(Self::AUDIT_ACTION, &self.by, &self.server, self.at, &body)
    }
}

/// One move of a server's takedown: who moved it, when, why, on what evidence.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TakedownEvent {
    pub server: String,
    pub from: crate::takedown::State,
    pub to: crate::takedown::State,
    /// An organisation, or `operator` on the command line.
    pub by: String,
    pub at: Timestamp,
    pub reason: String,
    /// What shows it: a ticket, a message id, a probe result, a file's SHA-256.
    pub evidence: String,
}

impl TakedownEvent {
    pub const AUDIT_ACTION: &'static str = "takedown.move";

    /// The audit entry that records this move (its `seq` is the log's to give).
    pub fn audit_entry(&self) -> crate::audit::Entry {
        #[derive(Serialize)]
        struct Body<'a> {
            from: &'a str,
            to: &'a str,
            reason: &'a str,
            evidence: &'a str,
        }
        let body =
            Body { from: self.from.as_str(), to: self.to.as_str(), reason: &self.reason, evidence: &self.evidence };
        crate::audit::Entry::of(Self::AUDIT_ACTION, &self.by, &self.server, self.at, &body)
    }
}

/// Where a hosting provider takes abuse reports: for a network (`AS64500`
/// or a CIDR prefix), an e-mail address.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AbuseContact {
    /// `AS<n>`, or a prefix in its normal form.
    pub network: String,
    pub email: String,
    /// The provider's name, if known.
    pub name: String,
}

impl AbuseContact {
    pub const AUDIT_ACTION: &'static str = "contact.put";

    /// The audit entry that records `by` putting it in place at `at`.
    pub fn audit_entry(&self, by: &str, at: Timestamp) -> crate::audit::Entry {
        #[derive(Serialize)]
        struct Body<'a> {
            email: &'a str,
            name: &'a str,
        }
        let body = Body { email: &self.email, name: &self.name };
        crate::audit::Entry::of(Self::AUDIT_ACTION, by, &self.network, at, &body)
    }
}

/// What one probe of one address and port found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    pub server: String,
    pub address: String,
    pub port: u16,
    pub at: Timestamp,
    /// A TCP connection was accepted.
    pub connected: bool,
    /// SHA-256 of the certificate a TLS handshake showed (hex).
    pub certificate: Option<String>,
    /// The JA3S fingerprint of the server's TLS hello (MD5, hex).
    pub ja3s: Option<String>,
    /// The status an HTTP GET / was answered with.
    pub http_status: Option<u16>,
    /// Why it did not connect or answer, if it did not.
    pub error: Option<String>,
}

/// Where one server's takedown stands (servers without one are identified).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TakedownRecord {
    pub server: String,
    pub state: crate::takedown::State,
    pub updated: Timestamp,
}

/// A package as stored: what one agency was given, version by version.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRecord {
    pub id: i64,
    pub org: String,
    /// 1 for an agency's first package, then one more each rebuild.
    pub version: i64,
    pub created: Timestamp,
    /// The strictest marking among what it holds.
    pub tlp: Option<Tlp>,
    pub servers: u64,
    /// The package itself, JSON (left empty in listings).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
}

/// A STIX object in a TAXII collection, one version of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxiiObject {
    pub collection: String,
    pub id: String,
    /// The object's `modified` (else `created`, else when it was added).
    pub version: String,
    /// Microseconds since the epoch.
    pub date_added: i64,
    /// The store's order of additions; with `date_added` the paging key.
    pub seq: i64,
    pub kind: String,
    pub spec_version: String,
    /// The object, JSON.
    pub body: String,
}

/// Which objects of a collection to read: TAXII 2.1's filters, and where
/// the previous page stopped (keyset paging: every page costs the same).
#[derive(Debug, Clone, Default)]
pub struct TaxiiQuery<'a> {
    pub collection: &'a str,
    /// Only objects added after this (microseconds).
    pub added_after: Option<i64>,
    /// Only objects after this `(date_added, seq)`: the previous page's last.
    pub after: Option<(i64, i64)>,
    pub ids: &'a [String],
    pub kinds: &'a [String],
    pub spec_versions: &'a [String],
    /// `None`: every version; `Some(true)`: the latest of each object;
    /// `Some(false)`: the first.
    pub latest: Option<bool>,
    /// Specific versions (with `latest: None`).
    pub versions: &'a [String],
    pub limit: usize,
}

/// A standing decision to block a value (an address, a network, a domain)
/// until a time, as a decision stream hands it to defenders' tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The stream's sequence number when it was made: a cursor below it
    /// has not seen it.
    pub id: u64,
    pub value: String,
    pub kind: crate::Kind,
    pub category: crate::Category,
    /// When it lapses unless renewed (the sightings' expiry).
    pub until: Timestamp,
    pub reason: String,
    /// The (source, marking) pairs it rests on: a caller is given it only
    /// if the policy point lets it see one of them.
    pub markings: Vec<(String, crate::Tlp)>,
    pub added: Timestamp,
    /// The sequence number it was withdrawn at, if it was.
    pub deleted: Option<u64>,
}

/// What the decision stream holds after a change: the decisions added and
/// withdrawn since a cursor, and the cursor to ask from next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionChanges {
    pub new: Vec<Decision>,
    pub deleted: Vec<Decision>,
    pub cursor: u64,
}

/// A token to store.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub org: &'a str,
    /// Who creates it (logged).
    pub by: &'a str,
    pub role: Role,
    /// SHA-256 of the secret, hex.
    pub digest: &'a str,
    pub label: &'a str,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
}

/// A durable home for sources, observations and rejects. Both backends pass
/// the same conformance suite (`crates/store/tests/conformance.rs`).
pub trait Store {
    /// The stored source of that name, with the defaults it was created with.
    fn source(&mut self, name: &str) -> Result<Option<Source>, StoreError>;

    /// Writes a batch atomically, creating its source if it is new; writing
    /// the same batch again changes nothing.
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<BatchOutcome, StoreError>;

    /// Writes `head` and then each of `parts` as one batch, in one
    /// transaction: memory holds one part at a time, and the whole is still
    /// all or nothing. A part that is `Err` (the writer found the input
    /// bad) rolls everything back and comes back as [`StoreError::Aborted`].
    /// Unlike [`Store::write_batch`], a conflict is not retried here: parts
    /// cannot be read twice, so the caller starts again.
    fn write_parts(
        &mut self,
        head: &Batch<'_>,
        parts: &mut dyn Iterator<Item = Result<Part, String>>,
    ) -> Result<BatchOutcome, StoreError>;

    /// Every observation of `observable`, of a CIDR covering it (IPs and CIDRs)
    /// and of a parent domain (domains).
    fn lookup(&mut self, observable: &Observable) -> Result<Vec<Hit>, StoreError>;

    fn sources(&mut self) -> Result<Vec<SourceInfo>, StoreError>;

    fn stats(&mut self) -> Result<Stats, StoreError>;

    /// The most recent rejects, newest first, optionally of one source.
    fn rejects(&mut self, source: Option<&str>, limit: u32) -> Result<Vec<StoredReject>, StoreError>;

    /// Stores a warninglist's MISP JSON under its name, replacing an older one.
    fn put_warninglist(&mut self, name: &str, body: &str, now: Timestamp) -> Result<(), StoreError>;

    /// Every stored warninglist as (name, MISP JSON), by name.
    fn warninglists(&mut self) -> Result<Vec<(String, String)>, StoreError>;

    /// Every stored observation of the given kinds, grouped by observable
    /// (the input of scoring and clustering over the whole store).
    fn facts(&mut self, kinds: &[Kind]) -> Result<Vec<Fact>, StoreError>;

    /// Every stored link.
    fn links(&mut self) -> Result<Vec<StoredLink>, StoreError>;

    /// The server id each clustered observable had after the last clustering.
    fn server_assignments(&mut self) -> Result<Vec<(Observable, String)>, StoreError>;

    /// Replaces the server assignments, atomically.
    fn put_server_assignments(&mut self, assignments: &[(Observable, String)]) -> Result<(), StoreError>;

    /// Adds an organisation (logged as done by `by`); one of the same name
    /// is [`StoreError::Exists`].
    fn add_org(&mut self, org: &Org, by: &str, now: Timestamp) -> Result<(), StoreError>;

    /// Every organisation, by name.
    fn orgs(&mut self) -> Result<Vec<Org>, StoreError>;

    /// Stores a token of an existing organisation; returns its id.
    fn add_token(&mut self, token: &NewToken<'_>) -> Result<i64, StoreError>;

    /// Every token, oldest first.
    fn tokens(&mut self) -> Result<Vec<TokenRecord>, StoreError>;

    /// The token whose secret has this SHA-256 (hex), revoked or not.
    fn token_by_digest(&mut self, digest: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Revokes a token (logged as done by `by`); false when there is no
    /// such token or it was revoked before.
    fn revoke_token(&mut self, id: i64, by: &str, now: Timestamp) -> Result<bool, StoreError>;

    /// Each source's sharing limits, by source name (the default for a
    /// source nobody set them on).
    fn sharing(&mut self) -> Result<BTreeMap<String, Sharing>, StoreError>;

    /// Sets a source's owner and recipients, creating the source with
    /// `source`'s defaults if it is new; logged as done by `by`.
    fn set_sharing(&mut self, source: &Source, sharing: &Sharing, by: &str, now: Timestamp) -> Result<(), StoreError>;

    /// Creates `source` with `sharing`'s limits in one step unless it
    /// exists (logged as done by `by`), and returns its owner as the store
    /// has it afterwards: whoever created it first, even on another server.
    fn claim_source(
        &mut self,
        source: &Source,
        sharing: &Sharing,
        by: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError>;

    /// Records a routing by hand; the latest for a server and organisation wins.
    fn add_routing(&mut self, routing: &Routing) -> Result<(), StoreError>;

    /// Every routing by hand, oldest first.
    fn routings(&mut self) -> Result<Vec<Routing>, StoreError>;

    /// Stores a package as the next version of its organisation's; the
    /// record's `id` and `version` are ignored and the stored ones returned.
    fn add_package(&mut self, package: &PackageRecord) -> Result<(i64, i64), StoreError>;

    /// Packages, newest first, without their bodies; of one organisation if given.
    fn packages(&mut self, org: Option<&str>) -> Result<Vec<PackageRecord>, StoreError>;

    /// One package with its body.
    fn package(&mut self, id: i64) -> Result<Option<PackageRecord>, StoreError>;

    /// Adds objects to TAXII collections (a version already there is left
    /// alone); returns how many were new.
    fn taxii_add(&mut self, objects: &[TaxiiObject]) -> Result<u64, StoreError>;

    /// Objects of a collection in the order they were added, at most `limit`.
    fn taxii_objects(&mut self, query: &TaxiiQuery<'_>) -> Result<Vec<TaxiiObject>, StoreError>;

    /// Deletes an object's versions (all, or those listed); returns how many.
    fn taxii_delete(&mut self, collection: &str, id: &str, versions: &[String]) -> Result<u64, StoreError>;

    /// Stores a TAXII status resource (JSON) under its id.
    fn put_taxii_status(&mut self, id: &str, collection: &str, body: &str, now: Timestamp) -> Result<(), StoreError>;

    /// A status resource: (collection, JSON).
    fn taxii_status(&mut self, id: &str) -> Result<Option<(String, String)>, StoreError>;

    /// Remembers the last `date_added` pulled from a remote collection.
    fn put_taxii_pull(
        &mut self,
        url: &str,
        collection: &str,
        added_last: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Where the last pull from a remote collection stopped.
    fn taxii_pull(&mut self, url: &str, collection: &str) -> Result<Option<String>, StoreError>;

    /// A number that changes whenever a batch of observations is written
    /// (by this process or another): equal numbers, same observations.
    fn generation(&mut self) -> Result<i64, StoreError>;

    /// Applies takedown moves all or nothing; each must start from the
    /// state the store holds for its server (none: identified), or the
    /// whole set fails with `Conflict` (someone moved it meanwhile).
    fn move_takedowns(&mut self, events: &[TakedownEvent]) -> Result<(), StoreError>;

    /// Every server's takedown that has moved, by server id.
    fn takedowns(&mut self) -> Result<Vec<TakedownRecord>, StoreError>;

    /// One server's moves (or every server's), oldest first.
    fn takedown_history(&mut self, server: Option<&str>) -> Result<Vec<TakedownEvent>, StoreError>;

    /// Adds an operation (and logs it); false if the name is taken.
    fn add_operation(&mut self, op: &crate::case::Operation) -> Result<bool, StoreError>;

    /// Every operation, oldest first.
    fn operations(&mut self) -> Result<Vec<crate::case::Operation>, StoreError>;

    /// Records a case action (and logs it).
    fn add_case_action(&mut self, action: &crate::case::CaseAction) -> Result<(), StoreError>;

    /// An operation's case actions (or all), in the order recorded.
    fn case_actions(&mut self, operation: Option<&str>) -> Result<Vec<crate::case::CaseAction>, StoreError>;

    /// Adds or replaces abuse contacts (by network), all or none; each is
    /// logged as put by `by`.
    fn put_contacts(&mut self, contacts: &[AbuseContact], by: &str, now: Timestamp) -> Result<(), StoreError>;

    /// Every abuse contact, by network.
    fn contacts(&mut self) -> Result<Vec<AbuseContact>, StoreError>;

    /// Keeps a round of probe results and each probed server's run of
    /// silent rounds, all or none.
    fn add_probe_round(&mut self, results: &[ProbeResult], silent_rounds: &[(String, u32)]) -> Result<(), StoreError>;

    /// Each probed server's current run of silent rounds.
    fn probe_streaks(&mut self) -> Result<Vec<(String, u32)>, StoreError>;

    /// A server's probe results, newest first, at most `limit`.
    fn probe_results(&mut self, server: &str, limit: u32) -> Result<Vec<ProbeResult>, StoreError>;

    /// Every certificate (SHA-256, hex) the prober ever saw a server show,
    /// with the address it showed it at, however long ago.
    fn probe_certificates(&mut self, server: &str) -> Result<Vec<(String, String)>, StoreError>;

    /// Keeps a piece of evidence and its first holder, all or none; false
    /// (nothing written) if that content is kept already.
    fn add_evidence(
        &mut self,
        evidence: &crate::case::Evidence,
        first: &crate::case::Custody,
    ) -> Result<bool, StoreError>;

    /// Records a hand-over, if `custody.from` still holds the evidence
    /// (else `Conflict`).
    fn add_custody(&mut self, custody: &crate::case::Custody) -> Result<(), StoreError>;

    /// Evidence (of one operation, or all), in the order kept.
    fn evidence(&mut self, operation: Option<&str>) -> Result<Vec<crate::case::Evidence>, StoreError>;

    /// Custody records (of one piece, or all), in the order made.
    fn custody(&mut self, sha256: Option<&str>) -> Result<Vec<crate::case::Custody>, StoreError>;

    /// Keeps a suspect (its id given here), logged by digest only.
    fn add_suspect(&mut self, suspect: &crate::case::Suspect) -> Result<i64, StoreError>;

    /// Suspects (of one agency, or all), by id.
    fn suspects(&mut self, agency: Option<&str>) -> Result<Vec<crate::case::Suspect>, StoreError>;

    /// Erases the suspects whose retention ended before `now`, logging each
    /// erasure; returns them.
    fn erase_suspects(&mut self, now: Timestamp, by: &str) -> Result<Vec<crate::case::Suspect>, StoreError>;

    /// Appends entries that record no change of the store's rows (reads of
    /// restricted data), all or none.
    fn append_audit(&mut self, entries: &[crate::audit::Entry]) -> Result<(), StoreError>;

    /// Audit entries after `after`, at most `limit`, as stored.
    fn audit_entries(&mut self, after: u64, limit: u32) -> Result<Vec<crate::audit::Logged>, StoreError>;

    /// The stored leaf hashes of entries 1..=`size`.
    fn audit_leaves(&mut self, size: u64) -> Result<Vec<crate::digest::Hash>, StoreError>;

    /// How many entries the log has handed out.
    fn audit_size(&mut self) -> Result<u64, StoreError>;

    /// Keeps a signed tree head; false if one of that size is kept already.
    fn add_tree_head(&mut self, head: &crate::audit::TreeHead) -> Result<bool, StoreError>;

    /// Every kept tree head, smallest first.
    fn tree_heads(&mut self) -> Result<Vec<crate::audit::TreeHead>, StoreError>;

    /// Makes the standing decisions those of `live` (their `id`, `added`
    /// and `deleted` are the store's to give), all or none: a value no
    /// longer live is withdrawn, a new one added, and one whose category,
    /// markings or reason changed, or whose `until` moved by more than
    /// `slack` seconds, withdrawn and added anew. Returns (added, withdrawn).
    fn reconcile_decisions(
        &mut self,
        live: &[Decision],
        slack: i64,
        now: Timestamp,
    ) -> Result<(usize, usize), StoreError>;

    /// What the standing decisions were last reconciled from (a caller's
    /// summary of the store) and when; `None` before the first time.
    fn decision_basis(&mut self) -> Result<Option<(String, Timestamp)>, StoreError>;

    fn set_decision_basis(&mut self, basis: &str, refreshed: Timestamp) -> Result<(), StoreError>;

    /// The decisions standing now (cursor 0), or those added and withdrawn
    /// after `cursor`: one added and withdrawn since is in neither.
    fn decisions_since(&mut self, cursor: u64) -> Result<DecisionChanges, StoreError>;
}
