//! The store logic, written once over a minimal SQL connection trait that
//! each backend implements. Everything backend-specific (DDL, driver calls,
//! transaction statements) stays in `sqlite.rs` and `postgres.rs`.

use std::collections::{BTreeMap, HashMap};

use dragnet_core::access::{Org, Sharing};
use dragnet_core::store::Part;
use dragnet_core::store::{AbuseContact, ProbeResult, TakedownEvent, TakedownRecord};
use dragnet_core::store::{
    Batch, BatchOutcome, Fact, Hit, Observation, Source, SourceInfo, Stats, StoredLink, StoredReject, Via,
};
use dragnet_core::store::{NewToken, PackageRecord, Routing, TaxiiObject, TaxiiQuery, TokenRecord};
use dragnet_core::{Kind, Link, Observable, Reject, Relation, Store, StoreError, Timestamp};

use dragnet_core::audit::{Logged, TreeHead};
use dragnet_core::digest::Hash;

use crate::access;
use dragnet_core::case::{CaseAction, Custody, Evidence, Operation, Suspect};

use crate::audit;
use crate::cases;
use crate::codec;
use crate::probes;
use crate::schema::sql;
use crate::takedowns;
use crate::taxii;

/// A parameter for a statement.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

/// A value read back from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

fn wrong_type(want: &str, got: &Cell) -> StoreError {
    StoreError::Corrupt { what: "column", value: format!("expected {want}, found {got:?}") }
}

/// Reading a cell checks its type: a NULL where a number must be, or text
/// where an integer must be, is an error, never a silent 0.
impl Cell {
    pub fn int(&self) -> Result<i64, StoreError> {
        match self {
            Cell::Int(n) => Ok(*n),
            other => Err(wrong_type("an integer", other)),
        }
    }
    pub fn count(&self) -> Result<u64, StoreError> {
        u64::try_from(self.int()?).map_err(|_| wrong_type("a count", self))
    }
    pub fn text(&self) -> Result<&str, StoreError> {
        match self {
            Cell::Text(s) => Ok(s),
            other => Err(wrong_type("text", other)),
        }
    }
    pub fn opt_int(&self) -> Result<Option<i64>, StoreError> {
        match self {
            Cell::Int(n) => Ok(Some(*n)),
            Cell::Null => Ok(None),
            other => Err(wrong_type("an integer or NULL", other)),
        }
    }
    pub fn opt_text(&self) -> Result<Option<String>, StoreError> {
        match self {
            Cell::Text(s) => Ok(Some(s.clone())),
            Cell::Null => Ok(None),
            other => Err(wrong_type("text or NULL", other)),
        }
    }
}

/// The cell at `i` of a row; a row shorter than its query says is an error.
pub(crate) fn at(row: &[Cell], i: usize) -> Result<&Cell, StoreError> {
    row.get(i).ok_or_else(|| StoreError::Backend(format!("a row has no column {i}")))
}

/// What a backend driver provides.
pub trait Connection {
    fn exec(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Cell>>, StoreError>;
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Statement that opens a write transaction.
    fn begin_statement(&self) -> &'static str;
}

/// Runs `insert` (which ends in `RETURNING id` and does nothing on
/// conflict) and returns the new row's id, or, if the row existed, its id
/// from `select`.
fn insert_or_get_id<C: Connection>(
    conn: &mut C,
    insert: &str,
    select: &str,
    params: &[Param<'_>],
) -> Result<i64, StoreError> {
    if let Some(row) = conn.query(insert, params)?.first() {
        return at(row, 0)?.int();
    }
    let rows = conn.query(select, params)?;
    match rows.first() {
        Some(row) => at(row, 0)?.int(),
        None => Err(StoreError::Backend("row vanished during insert".into())),
    }
}

/// Runs `work` inside a transaction: committed if it succeeds, rolled back
/// (leaving the store as it was) if it fails.
pub fn transaction<C: Connection, T>(
    conn: &mut C,
    work: impl FnOnce(&mut C) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let begin = conn.begin_statement();
    conn.batch(begin)?;
    match work(conn) {
        Ok(v) => match conn.batch("COMMIT") {
            Ok(()) => Ok(v),
            Err(e) => {
                // A failed COMMIT can leave the transaction open (SQLite, on
                // a busy database): close it, or every later BEGIN fails.
                let _ = conn.batch("ROLLBACK");
                Err(e)
            }
        },
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// A [`Store`] over any [`Connection`].
pub struct SqlStore<C> {
    pub(crate) conn: C,
}

/// The source's id, creating the source with its defaults if it is new
/// (inside the caller's transaction).
/// Inserts `source` with its defaults unless it exists; whether it was new.
pub(crate) fn insert_source<C: Connection>(conn: &mut C, source: &Source, now: Timestamp) -> Result<bool, StoreError> {
    let grade = source.grade.to_string();
    let params = [Param::Text(&source.name), Param::Text(&grade), Param::Text(source.tlp.as_str()), Param::Int(now)];
    Ok(conn.exec(sql::INSERT_SOURCE, &params)? == 1)
}

pub(crate) fn source_id<C: Connection>(conn: &mut C, source: &Source, now: Timestamp) -> Result<i64, StoreError> {
    insert_source(conn, source, now)?;
    let rows = conn.query(sql::SOURCE_BY_NAME, &[Param::Text(&source.name)])?;
    match rows.first() {
        Some(row) => at(row, 0)?.int(),
        None => Err(StoreError::UnknownSource(source.name.clone())),
    }
}

/// Rows per multi-row INSERT: amortises statement overhead (and, on
/// PostgreSQL, round trips) while staying far below parameter limits.
const CHUNK: usize = 64;

/// `head ($1, …, $k), (…) … tail` for `rows` rows of `columns` parameters.
fn multi_row(head: &str, tail: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 6);
    sql.push_str(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * columns + c + 1).to_string());
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(tail);
    sql
}

/// `head ($1, …, $n)`: a query over a list of `n` values.
fn in_list(head: &str, n: usize) -> String {
    let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!("{head} ({})", placeholders.join(", "))
}

/// The multi-row INSERTs, each with the full-chunk text built once per
/// process, since drivers key their statement caches on it.
#[derive(Clone, Copy)]
enum Insert {
    Observables,
    Observations,
    Links,
    ServerMembers,
}

impl Insert {
    fn parts(self) -> (&'static str, &'static str, usize) {
        match self {
            Insert::Observables => (sql::INSERT_OBSERVABLES_HEAD, sql::INSERT_OBSERVABLES_TAIL, 3),
            Insert::Observations => (sql::INSERT_OBSERVATIONS_HEAD, sql::INSERT_OBSERVATIONS_TAIL, 14),
            Insert::Links => (sql::INSERT_LINKS_HEAD, sql::INSERT_LINKS_TAIL, 6),
            Insert::ServerMembers => (sql::INSERT_SERVER_MEMBERS_HEAD, sql::INSERT_SERVER_MEMBERS_TAIL, 2),
        }
    }

    fn sql(self, rows: usize) -> std::borrow::Cow<'static, str> {
        use std::sync::OnceLock;
        static FULL: [OnceLock<String>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let (head, tail, columns) = self.parts();
        if rows != CHUNK {
            return std::borrow::Cow::Owned(multi_row(head, tail, columns, rows));
        }
        let slot = match self {
            Insert::Observables => &FULL[0],
            Insert::Observations => &FULL[1],
            Insert::Links => &FULL[2],
            Insert::ServerMembers => &FULL[3],
        };
        std::borrow::Cow::Borrowed(slot.get_or_init(|| multi_row(head, tail, columns, CHUNK)).as_str())
    }
}

/// An observable with its digest, the key it is written and found by.
struct Keyed<'a> {
    digest: String,
    observable: &'a Observable,
}

impl<'a> Keyed<'a> {
    fn new(observable: &'a Observable) -> Keyed<'a> {
        Keyed { digest: codec::observable_digest(observable), observable }
    }
}

/// The ids of stored observables by digest, checking that each stored row
/// holds the value its digest names.
fn ids_of<C: Connection>(conn: &mut C, chunk: &[&Keyed<'_>]) -> Result<HashMap<String, i64>, StoreError> {
    let digests: Vec<Param<'_>> = chunk.iter().map(|k| Param::Text(&k.digest)).collect();
    let mut ids = HashMap::with_capacity(chunk.len());
    for row in conn.query(&in_list(sql::OBSERVABLES_BY_DIGEST, digests.len()), &digests)? {
        ids.insert(at(&row, 1)?.text()?.to_string(), (at(&row, 0)?.int()?, row));
    }
    let mut out = HashMap::with_capacity(chunk.len());
    for k in chunk {
        let (kind, value) = (k.observable.kind().as_str(), k.observable.value());
        let Some((id, row)) = ids.get(&k.digest) else { continue };
        if at(row, 2)?.text()? != kind || at(row, 3)?.text()? != value {
            return Err(StoreError::Corrupt { what: "observable digest", value: format!("{kind} {value}") });
        }
        out.insert(k.digest.clone(), *id);
    }
    Ok(out)
}

/// Inserts the chunk's observables (distinct digests) and returns how many
/// were new and every one's id.
fn write_observables<C: Connection>(
    conn: &mut C,
    chunk: &[&Keyed<'_>],
) -> Result<(u64, HashMap<String, i64>), StoreError> {
    let mut params = Vec::with_capacity(chunk.len() * 3);
    for k in chunk {
        params.extend([
            Param::Text(&k.digest),
            Param::Text(k.observable.kind().as_str()),
            Param::Text(k.observable.value()),
        ]);
    }
    // New rows come back with their ids; only those that existed are looked
    // up (and checked against their digest), so a fresh store pays no query.
    let mut ids = HashMap::with_capacity(chunk.len());
    for row in conn.query(&Insert::Observables.sql(chunk.len()), &params)? {
        ids.insert(at(&row, 1)?.text()?.to_string(), at(&row, 0)?.int()?);
    }
    let new = ids.len() as u64;
    if ids.len() < chunk.len() {
        let known: Vec<&Keyed<'_>> = chunk.iter().copied().filter(|k| !ids.contains_key(&k.digest)).collect();
        ids.extend(ids_of(conn, &known)?);
    }
    if ids.len() < chunk.len() {
        return Err(StoreError::Backend("an observable vanished while it was written".into()));
    }
    Ok((new, ids))
}

/// Writes `observables` (any order, repeats allowed) in digest order, chunk
/// by chunk, and returns how many were new and each one's id, in the order
/// given (each digest is computed once).
fn write_all_observables<'a, C: Connection>(
    conn: &mut C,
    observables: impl Iterator<Item = &'a Observable>,
) -> Result<(u64, Vec<i64>), StoreError> {
    let keyed: Vec<Keyed<'_>> = observables.map(Keyed::new).collect();
    let mut unique: Vec<&Keyed<'_>> = keyed.iter().collect();
    unique.sort_unstable_by(|a, b| a.digest.cmp(&b.digest));
    unique.dedup_by(|a, b| a.digest == b.digest);
    let (mut new, mut ids) = (0, HashMap::with_capacity(unique.len()));
    for chunk in unique.chunks(CHUNK) {
        let (n, chunk_ids) = write_observables(conn, chunk)?;
        new += n;
        ids.extend(chunk_ids);
    }
    let in_order = keyed
        .iter()
        .map(|k| {
            ids.get(&k.digest)
                .copied()
                .ok_or_else(|| StoreError::Backend(format!("no id for {}", k.observable.value())))
        })
        .collect::<Result<_, _>>()?;
    Ok((new, in_order))
}

fn write_observations<C: Connection>(
    conn: &mut C,
    chunk: &[(i64, &Observation)],
    source: i64,
    origin: i64,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let tags: Vec<String> = chunk.iter().map(|(_, o)| codec::join_tags(&o.tags)).collect();
    let digests: Vec<String> = chunk.iter().map(|(_, o)| codec::raw_digest(&o.raw)).collect();
    let mut params = Vec::with_capacity(chunk.len() * 14);
    for (((id, o), tags), digest) in chunk.iter().zip(&tags).zip(&digests) {
        params.extend([
            Param::Int(*id),
            Param::Int(source),
            Param::Int(origin),
            Param::Int(i64::from(o.line)),
            Param::Int(codec::category_code(o.category)),
            Param::Int(codec::tlp_code(o.tlp)),
            Param::Int(i64::from(o.grade.code())),
            o.confidence.map_or(Param::Null, |c| Param::Int(i64::from(c))),
            Param::Int(o.first_seen),
            Param::Int(o.last_seen),
            Param::Text(tags),
            Param::Text(&o.raw),
            Param::Text(digest),
            Param::Int(at),
        ]);
    }
    conn.exec(&Insert::Observations.sql(chunk.len()), &params)
}

fn write_reject<C: Connection>(
    conn: &mut C,
    r: &Reject,
    source: i64,
    origin: i64,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let digest = codec::raw_digest(&r.raw);
    conn.exec(
        sql::INSERT_REJECT,
        &[
            Param::Int(source),
            Param::Int(origin),
            Param::Int(i64::from(r.line)),
            r.field.as_deref().map_or(Param::Null, Param::Text),
            Param::Text(&r.reason),
            Param::Text(&r.raw),
            Param::Text(&digest),
            Param::Int(at),
        ],
    )
}

/// Upserts the batch's links (widening a known link's times) and returns
/// how many were new.
fn write_links<C: Connection>(conn: &mut C, links: &[Link], source: i64, at: Timestamp) -> Result<u64, StoreError> {
    if links.is_empty() {
        return Ok(0);
    }
    let (_, ids) = write_all_observables(conn, links.iter().flat_map(|l| [&l.from, &l.to]))?;
    // Two ids a link, in the order given: chunks of exactly two.
    let ends = ids.chunks_exact(2).map(|pair| (pair[0], pair[1]));
    // One row per (from, to), times merged: a multi-row upsert may not
    // touch a row twice.
    let mut rows: BTreeMap<(i64, i64), (i64, i64, i64)> = BTreeMap::new();
    for (link, ends) in links.iter().zip(ends) {
        // `Link::new` only makes related pairs; a hand-built one may not be.
        let Some(relation) = Relation::between(link.from.kind(), link.to.kind()) else {
            return Err(StoreError::Backend(format!(
                "a link from {} `{}` to {} `{}` relates nothing",
                link.from.kind().as_str(),
                link.from.value(),
                link.to.kind().as_str(),
                link.to.value()
            )));
        };
        let first = link.first_seen.or(link.last_seen).unwrap_or(at);
        let last = link.last_seen.unwrap_or(first).max(first);
        let row = rows.entry(ends).or_insert((codec::relation_code(relation), first, last));
        (row.1, row.2) = (row.1.min(first), row.2.max(last));
    }
    let before = count_with(conn, sql::COUNT_LINKS_OF, source)?;
    let rows: Vec<_> = rows.into_iter().collect();
    for chunk in rows.chunks(CHUNK) {
        let mut params = Vec::with_capacity(chunk.len() * 6);
        for ((from, to), (relation, first, last)) in chunk {
            params.extend([from, to, &source, relation, first, last].map(|v| Param::Int(*v)));
        }
        conn.exec(&Insert::Links.sql(chunk.len()), &params)?;
    }
    Ok(count_with(conn, sql::COUNT_LINKS_OF, source)?.saturating_sub(before))
}

fn count_with<C: Connection>(conn: &mut C, query: &str, id: i64) -> Result<u64, StoreError> {
    match conn.query(query, &[Param::Int(id)])?.first() {
        Some(row) => at(row, 0)?.count(),
        None => Ok(0),
    }
}

/// An observation from its eight stored columns (category, TLP, grade,
/// confidence, first and last seen, tags, line), as `HITS` and `FACTS` read them.
fn observation(cells: &[Cell], observable: Observable, raw: String) -> Result<Observation, StoreError> {
    let line = at(cells, 7)?.int()?;
    Ok(Observation {
        observable,
        category: codec::category_from_code(at(cells, 0)?.int()?)?,
        tlp: codec::tlp_from_code(at(cells, 1)?.int()?)?,
        grade: codec::grade_from_code(at(cells, 2)?.int()?)?,
        confidence: at(cells, 3)?.opt_int()?.map(|c| c.clamp(0, 100) as u8),
        first_seen: at(cells, 4)?.int()?,
        last_seen: at(cells, 5)?.int()?,
        tags: codec::split_tags(at(cells, 6)?.text()?),
        line: u32::try_from(line).map_err(|_| StoreError::Corrupt { what: "line", value: line.to_string() })?,
        raw,
    })
}

/// `(key, count)` rows as a map, the key read by `name`.
fn counts<C: Connection>(
    conn: &mut C,
    query: &str,
    name: impl Fn(&Cell) -> Result<String, StoreError>,
) -> Result<BTreeMap<String, u64>, StoreError> {
    conn.query(query, &[])?.into_iter().map(|r| Ok((name(at(&r, 0)?)?, at(&r, 1)?.count()?))).collect()
}

fn text_key(cell: &Cell) -> Result<String, StoreError> {
    Ok(cell.text()?.to_string())
}

fn count<C: Connection>(conn: &mut C, query: &str) -> Result<u64, StoreError> {
    match conn.query(query, &[])?.first() {
        Some(row) => at(row, 0)?.count(),
        None => Ok(0),
    }
}

fn source_from(row: &[Cell]) -> Result<Source, StoreError> {
    Ok(Source {
        name: at(row, 0)?.text()?.to_string(),
        grade: codec::grade(at(row, 1)?.text()?)?,
        tlp: codec::tlp(at(row, 2)?.text()?)?,
    })
}

/// One attempt at writing a batch, in one transaction.
fn write_batch_once<C: Connection>(
    conn: &mut C,
    head: &Batch<'_>,
    parts: &mut dyn Iterator<Item = Result<Part, String>>,
) -> Result<BatchOutcome, StoreError> {
    transaction(conn, |conn| {
        let source = source_id(conn, head.source, head.ingested_at)?;
        let origin = insert_or_get_id(conn, sql::INSERT_ORIGIN, sql::ORIGIN_ID, &[Param::Text(head.origin)])?;
        let mut out = BatchOutcome::default();
        let ids = (source, origin, head.ingested_at);
        write_part(conn, ids, head.observations, head.rejects, head.links, &mut out)?;
        for part in parts {
            let part = part.map_err(StoreError::Aborted)?;
            write_part(conn, ids, &part.observations, &part.rejects, &part.links, &mut out)?;
        }
        // Last, so that the row lock it takes (PostgreSQL) is held only
        // until the commit that follows.
        conn.exec(sql::BUMP_GENERATION, &[])?;
        Ok(out)
    })
}

/// Writes one part of a batch of source, origin and time `ids`, adding what
/// was new to `out`.
fn write_part<C: Connection>(
    conn: &mut C,
    (source, origin, at): (i64, i64, Timestamp),
    observations: &[Observation],
    rejects: &[Reject],
    links: &[Link],
    out: &mut BatchOutcome,
) -> Result<(), StoreError> {
    let (new, ids) = write_all_observables(conn, observations.iter().map(|o| &o.observable))?;
    out.new_observables += new;
    // Writing in id order turns random B-tree inserts into appends:
    // several times faster for large batches, same result.
    let mut order: Vec<(i64, &Observation)> = ids.into_iter().zip(observations).collect();
    order.sort_by_key(|(id, _)| *id);
    for chunk in order.chunks(CHUNK) {
        out.new_observations += write_observations(conn, chunk, source, origin, at)?;
    }
    out.new_links += write_links(conn, links, source, at)?;
    for r in rejects {
        out.new_rejects += write_reject(conn, r, source, origin, at)?;
    }
    Ok(())
}

fn lookup<C: Connection>(conn: &mut C, observable: &Observable) -> Result<Vec<Hit>, StoreError> {
    // Every candidate (the value, each covering network, each parent
    // domain) in one statement: one round trip, not up to 129.
    let wanted: HashMap<String, (Observable, Via)> = dragnet_core::store::lookup_candidates(observable)
        .into_iter()
        .map(|(matched, via)| (codec::observable_digest(&matched), (matched, via)))
        .collect();
    let digests: Vec<&String> = wanted.keys().collect();
    let params: Vec<Param<'_>> = digests.iter().map(|d| Param::Text(d)).collect();
    let query = format!("{} {}", in_list(sql::HITS_OF, params.len()), sql::HITS_ORDER);
    let mut hits = Vec::new();
    for row in conn.query(&query, &params)? {
        let digest = at(&row, 0)?.text()?;
        let Some((matched, via)) = wanted.get(digest) else { continue };
        // A row whose digest names another value is refused, never merged.
        if at(&row, 1)?.text()? != matched.kind().as_str() || at(&row, 2)?.text()? != matched.value() {
            return Err(StoreError::Corrupt { what: "observable digest", value: digest.to_string() });
        }
        hits.push(Hit {
            via: *via,
            source: at(&row, 3)?.text()?.to_string(),
            matched: matched.clone(),
            observation: observation(
                row.get(4..12).unwrap_or_default(),
                matched.clone(),
                at(&row, 12)?.text()?.to_string(),
            )?,
            origin: at(&row, 13)?.text()?.to_string(),
        });
    }
    Ok(hits)
}

impl<C: Connection> Store for SqlStore<C> {
    fn source(&mut self, name: &str) -> Result<Option<Source>, StoreError> {
        match self.conn.query(sql::SOURCE_BY_NAME, &[Param::Text(name)])?.first() {
            Some(row) => Ok(Some(source_from(row.get(1..).unwrap_or_default())?)),
            None => Ok(None),
        }
    }

    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<BatchOutcome, StoreError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match write_batch_once(&mut self.conn, batch, &mut std::iter::empty()) {
                Err(StoreError::Conflict(_)) if attempts < 5 => {
                    // Let the winner finish before trying again.
                    std::thread::sleep(std::time::Duration::from_millis(20 * attempts));
                }
                done => return done,
            }
        }
    }

    fn write_parts(
        &mut self,
        head: &Batch<'_>,
        parts: &mut dyn Iterator<Item = Result<Part, String>>,
    ) -> Result<BatchOutcome, StoreError> {
        write_batch_once(&mut self.conn, head, parts)
    }

    fn lookup(&mut self, observable: &Observable) -> Result<Vec<Hit>, StoreError> {
        lookup(&mut self.conn, observable)
    }

    fn sources(&mut self) -> Result<Vec<SourceInfo>, StoreError> {
        self.conn
            .query(sql::SOURCES, &[])?
            .into_iter()
            .map(|r| {
                Ok(SourceInfo {
                    source: source_from(&r)?,
                    created: at(&r, 3)?.int()?,
                    observations: at(&r, 4)?.count()?,
                    rejects: at(&r, 5)?.count()?,
                    last_ingest: at(&r, 6)?.opt_int()?,
                })
            })
            .collect()
    }

    fn stats(&mut self) -> Result<Stats, StoreError> {
        let c = &mut self.conn;
        Ok(Stats {
            observables: count(c, sql::COUNT_OBSERVABLES)?,
            observations: count(c, sql::COUNT_OBSERVATIONS)?,
            rejects: count(c, sql::COUNT_REJECTS)?,
            sources: count(c, sql::COUNT_SOURCES)?,
            observables_by_kind: counts(c, sql::BY_KIND, text_key)?,
            observations_by_category: counts(c, sql::BY_CATEGORY, |k| {
                Ok(codec::category_from_code(k.int()?)?.as_str().to_string())
            })?,
            observations_by_source: counts(c, sql::BY_SOURCE, text_key)?,
            observations_by_tlp: counts(c, sql::BY_TLP, |k| Ok(codec::tlp_from_code(k.int()?)?.as_str().to_string()))?,
        })
    }

    fn put_warninglist(&mut self, name: &str, body: &str, now: Timestamp) -> Result<(), StoreError> {
        self.conn.exec(sql::PUT_WARNINGLIST, &[Param::Text(name), Param::Text(body), Param::Int(now)]).map(|_| ())
    }

    fn warninglists(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        self.conn
            .query(sql::WARNINGLISTS, &[])?
            .into_iter()
            .map(|r| Ok((at(&r, 0)?.text()?.to_string(), at(&r, 1)?.text()?.to_string())))
            .collect()
    }

    fn facts(&mut self, kinds: &[Kind]) -> Result<Vec<Fact>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<Param<'_>> = kinds.iter().map(|k| Param::Text(k.as_str())).collect();
        let query = format!("{} {}", in_list(sql::FACTS, names.len()), sql::FACTS_ORDER);
        let mut last: Option<Observable> = None;
        self.conn
            .query(&query, &names)?
            .into_iter()
            .map(|r| {
                let (kind, value) = (at(&r, 0)?.text()?, at(&r, 1)?.text()?);
                // Rows come grouped by observable: parse each one once.
                let observable = match &last {
                    Some(o) if o.kind().as_str() == kind && o.value() == value => o.clone(),
                    _ => codec::observable(kind, value)?,
                };
                last = Some(observable.clone());
                Ok(Fact {
                    source: at(&r, 2)?.text()?.to_string(),
                    observation: observation(r.get(3..11).unwrap_or_default(), observable, String::new())?,
                })
            })
            .collect()
    }

    fn links(&mut self) -> Result<Vec<StoredLink>, StoreError> {
        self.conn
            .query(sql::LINKS, &[])?
            .into_iter()
            .map(|r| {
                let from = codec::observable(at(&r, 0)?.text()?, at(&r, 1)?.text()?)?;
                let to = codec::observable(at(&r, 2)?.text()?, at(&r, 3)?.text()?)?;
                let relation = Relation::between(from.kind(), to.kind()).ok_or_else(|| StoreError::Corrupt {
                    what: "link",
                    value: format!("{} -> {}", from.value(), to.value()),
                })?;
                Ok(StoredLink {
                    from,
                    to,
                    relation,
                    source: at(&r, 4)?.text()?.to_string(),
                    first_seen: at(&r, 5)?.int()?,
                    last_seen: at(&r, 6)?.int()?,
                })
            })
            .collect()
    }

    fn server_assignments(&mut self) -> Result<Vec<(Observable, String)>, StoreError> {
        self.conn
            .query(sql::SERVER_ASSIGNMENTS, &[])?
            .into_iter()
            .map(|r| Ok((codec::observable(at(&r, 0)?.text()?, at(&r, 1)?.text()?)?, at(&r, 2)?.text()?.to_string())))
            .collect()
    }

    fn put_server_assignments(&mut self, assignments: &[(Observable, String)]) -> Result<(), StoreError> {
        transaction(&mut self.conn, |conn| {
            conn.exec(sql::CLEAR_SERVER_ASSIGNMENTS, &[])?;
            let (_, ids) = write_all_observables(conn, assignments.iter().map(|(o, _)| o))?;
            for (chunk, chunk_ids) in assignments.chunks(CHUNK).zip(ids.chunks(CHUNK)) {
                let params: Vec<Param<'_>> = chunk
                    .iter()
                    .zip(chunk_ids)
                    .flat_map(|((_, server), id)| [Param::Int(*id), Param::Text(server)])
                    .collect();
                conn.exec(&Insert::ServerMembers.sql(chunk.len()), &params)?;
            }
            Ok(())
        })
    }

    fn add_org(&mut self, org: &Org, by: &str, now: Timestamp) -> Result<(), StoreError> {
        access::add_org(&mut self.conn, org, by, now)
    }

    fn orgs(&mut self) -> Result<Vec<Org>, StoreError> {
        access::orgs(&mut self.conn)
    }

    fn add_token(&mut self, token: &NewToken<'_>) -> Result<i64, StoreError> {
        access::add_token(&mut self.conn, token)
    }

    fn tokens(&mut self) -> Result<Vec<TokenRecord>, StoreError> {
        access::tokens(&mut self.conn)
    }

    fn token_by_digest(&mut self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        access::token_by_digest(&mut self.conn, digest)
    }

    fn revoke_token(&mut self, id: i64, by: &str, now: Timestamp) -> Result<bool, StoreError> {
        access::revoke_token(&mut self.conn, id, by, now)
    }

    fn sharing(&mut self) -> Result<BTreeMap<String, Sharing>, StoreError> {
        access::sharing(&mut self.conn)
    }

    fn set_sharing(&mut self, source: &Source, sharing: &Sharing, by: &str, now: Timestamp) -> Result<(), StoreError> {
        access::set_sharing(&mut self.conn, source, sharing, by, now)
    }

    fn claim_source(
        &mut self,
        source: &Source,
        sharing: &Sharing,
        by: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        access::claim_source(&mut self.conn, source, sharing, by, now)
    }

    fn add_routing(&mut self, routing: &Routing) -> Result<(), StoreError> {
        access::add_routing(&mut self.conn, routing)
    }

    fn routings(&mut self) -> Result<Vec<Routing>, StoreError> {
        access::routings(&mut self.conn)
    }

    fn add_package(&mut self, package: &PackageRecord) -> Result<(i64, i64), StoreError> {
        access::add_package(&mut self.conn, package)
    }

    fn packages(&mut self, org: Option<&str>) -> Result<Vec<PackageRecord>, StoreError> {
        access::packages(&mut self.conn, org)
    }

    fn package(&mut self, id: i64) -> Result<Option<PackageRecord>, StoreError> {
        access::package(&mut self.conn, id)
    }

    fn taxii_add(&mut self, objects: &[TaxiiObject]) -> Result<u64, StoreError> {
        taxii::add(&mut self.conn, objects)
    }

    fn taxii_objects(&mut self, query: &TaxiiQuery<'_>) -> Result<Vec<TaxiiObject>, StoreError> {
        taxii::objects(&mut self.conn, query)
    }

    fn taxii_delete(&mut self, collection: &str, id: &str, versions: &[String]) -> Result<u64, StoreError> {
        taxii::delete(&mut self.conn, collection, id, versions)
    }

    fn put_taxii_status(&mut self, id: &str, collection: &str, body: &str, now: Timestamp) -> Result<(), StoreError> {
        taxii::put_status(&mut self.conn, id, collection, body, now)
    }

    fn taxii_status(&mut self, id: &str) -> Result<Option<(String, String)>, StoreError> {
        taxii::status(&mut self.conn, id)
    }

    fn put_taxii_pull(
        &mut self,
        url: &str,
        collection: &str,
        added_last: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        taxii::put_pull(&mut self.conn, url, collection, added_last, now)
    }

    fn taxii_pull(&mut self, url: &str, collection: &str) -> Result<Option<String>, StoreError> {
        taxii::pull(&mut self.conn, url, collection)
    }

    fn move_takedowns(&mut self, events: &[TakedownEvent]) -> Result<(), StoreError> {
        takedowns::apply(&mut self.conn, events)
    }

    fn takedowns(&mut self) -> Result<Vec<TakedownRecord>, StoreError> {
        takedowns::all(&mut self.conn)
    }

    fn takedown_history(&mut self, server: Option<&str>) -> Result<Vec<TakedownEvent>, StoreError> {
        takedowns::history(&mut self.conn, server)
    }

    fn add_operation(&mut self, op: &Operation) -> Result<bool, StoreError> {
        cases::add_operation(&mut self.conn, op)
    }

    fn operations(&mut self) -> Result<Vec<Operation>, StoreError> {
        cases::operations(&mut self.conn)
    }

    fn add_case_action(&mut self, action: &CaseAction) -> Result<(), StoreError> {
        cases::add_action(&mut self.conn, action)
    }

    fn case_actions(&mut self, operation: Option<&str>) -> Result<Vec<CaseAction>, StoreError> {
        cases::actions(&mut self.conn, operation)
    }

    fn reconcile_decisions(
        &mut self,
        live: &[dragnet_core::store::Decision],
        slack: i64,
        now: Timestamp,
    ) -> Result<(usize, usize), StoreError> {
        crate::decisions::reconcile(&mut self.conn, live, slack, now)
    }

    fn decision_basis(&mut self) -> Result<Option<(String, Timestamp)>, StoreError> {
        crate::decisions::basis(&mut self.conn)
    }

    fn set_decision_basis(&mut self, basis: &str, refreshed: Timestamp) -> Result<(), StoreError> {
        crate::decisions::set_basis(&mut self.conn, basis, refreshed)
    }

    fn decisions_since(&mut self, cursor: u64) -> Result<dragnet_core::store::DecisionChanges, StoreError> {
        crate::decisions::since(&mut self.conn, cursor)
    }

    fn put_contacts(&mut self, contacts: &[AbuseContact], by: &str, now: Timestamp) -> Result<(), StoreError> {
        cases::put_contacts(&mut self.conn, contacts, by, now)
    }

    fn contacts(&mut self) -> Result<Vec<AbuseContact>, StoreError> {
        cases::contacts(&mut self.conn)
    }

    fn add_probe_round(&mut self, results: &[ProbeResult], silent_rounds: &[(String, u32)]) -> Result<(), StoreError> {
        probes::add_round(&mut self.conn, results, silent_rounds)
    }

    fn probe_streaks(&mut self) -> Result<Vec<(String, u32)>, StoreError> {
        probes::streaks(&mut self.conn)
    }

    fn probe_results(&mut self, server: &str, limit: u32) -> Result<Vec<ProbeResult>, StoreError> {
        probes::results(&mut self.conn, server, limit)
    }

    fn probe_certificates(&mut self, server: &str) -> Result<Vec<(String, String)>, StoreError> {
        probes::certificates(&mut self.conn, server)
    }

    fn add_evidence(&mut self, evidence: &Evidence, first: &Custody) -> Result<bool, StoreError> {
        cases::add_evidence(&mut self.conn, evidence, first)
    }

    fn add_custody(&mut self, custody: &Custody) -> Result<(), StoreError> {
        cases::add_custody(&mut self.conn, custody)
    }

    fn evidence(&mut self, operation: Option<&str>) -> Result<Vec<Evidence>, StoreError> {
        cases::evidence(&mut self.conn, operation)
    }

    fn custody(&mut self, sha256: Option<&str>) -> Result<Vec<Custody>, StoreError> {
        cases::custody(&mut self.conn, sha256)
    }

    fn add_suspect(&mut self, suspect: &Suspect) -> Result<i64, StoreError> {
        cases::add_suspect(&mut self.conn, suspect)
    }

    fn suspects(&mut self, agency: Option<&str>) -> Result<Vec<Suspect>, StoreError> {
        cases::suspects(&mut self.conn, agency)
    }

    fn erase_suspects(&mut self, now: Timestamp, by: &str) -> Result<Vec<Suspect>, StoreError> {
        cases::erase_suspects(&mut self.conn, now, by)
    }

    fn append_audit(&mut self, entries: &[dragnet_core::audit::Entry]) -> Result<(), StoreError> {
        transaction(&mut self.conn, |conn| {
            for e in entries {
                audit::append(conn, e.clone())?;
            }
            Ok(())
        })
    }

    fn audit_entries(&mut self, after: u64, limit: u32) -> Result<Vec<Logged>, StoreError> {
        audit::entries(&mut self.conn, after, limit)
    }

    fn audit_leaves(&mut self, size: u64) -> Result<Vec<Hash>, StoreError> {
        audit::leaves(&mut self.conn, size)
    }

    fn audit_size(&mut self) -> Result<u64, StoreError> {
        audit::size(&mut self.conn)
    }

    fn add_tree_head(&mut self, head: &TreeHead) -> Result<bool, StoreError> {
        audit::add_head(&mut self.conn, head)
    }

    fn tree_heads(&mut self) -> Result<Vec<TreeHead>, StoreError> {
        audit::heads(&mut self.conn)
    }

    fn generation(&mut self) -> Result<i64, StoreError> {
        match self.conn.query(sql::GENERATION, &[])?.first() {
            Some(row) => at(row, 0)?.int(),
            None => Ok(0),
        }
    }

    fn rejects(&mut self, source: Option<&str>, limit: u32) -> Result<Vec<StoredReject>, StoreError> {
        let rows = self.conn.query(sql::REJECTS, &[Param::Text(source.unwrap_or("")), Param::Int(i64::from(limit))])?;
        rows.into_iter()
            .map(|r| {
                let line = at(&r, 2)?.int()?;
                Ok(StoredReject {
                    source: at(&r, 0)?.text()?.to_string(),
                    origin: at(&r, 1)?.text()?.to_string(),
                    reject: Reject {
                        line: u32::try_from(line)
                            .map_err(|_| StoreError::Corrupt { what: "line", value: line.to_string() })?,
                        field: at(&r, 3)?.opt_text()?,
                        reason: at(&r, 4)?.text()?.to_string(),
                        raw: at(&r, 5)?.text()?.to_string(),
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use dragnet_core::store::{Batch, Observation, Source};
    use dragnet_core::{Category, Observable, Store, StoreError, Tlp};

    use crate::SqliteStore;

    #[test]
    fn a_row_whose_digest_names_another_value_is_refused_not_merged() {
        let mut store = SqliteStore::in_memory().unwrap();
        let source = Source { name: "alpha".into(), grade: "B2".parse().unwrap(), tlp: Tlp::Amber };
        let observation = |value: &str| Observation {
            observable: Observable::guess(value).unwrap(),
            category: Category::BotnetC2,
            tlp: Tlp::Amber,
            grade: "B2".parse().unwrap(),
            confidence: None,
            first_seen: 1,
            last_seen: 1,
            tags: Vec::new(),
            line: 1,
            raw: value.into(),
        };
        let write = |store: &mut SqliteStore, value: &str| {
            let observations = [observation(value)];
            store.write_batch(&Batch {
                source: &source,
                origin: "feed.txt",
                observations: &observations,
                rejects: &[],
                links: &[],
                ingested_at: 1,
            })
        };
        write(&mut store, "198.51.100.7").unwrap();
        // What a forged identity would do: the digest of one value on a row of another.
        store.conn.0.execute("UPDATE observables SET value = '198.51.100.8'", []).unwrap();
        let err = write(&mut store, "198.51.100.7").unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { what: "observable digest", .. }), "{err}");
        assert_eq!(store.stats().unwrap().observations, 1, "the refused batch wrote nothing");
    }
}
