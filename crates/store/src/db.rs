//! The store logic, written once over a minimal SQL connection trait that
//! each backend implements. Everything backend-specific (DDL, driver calls,
//! transaction statements) stays in `sqlite.rs` and `postgres.rs`.

use std::collections::BTreeMap;

use dragnet_core::store::{
    Batch, BatchOutcome, Fact, Hit, Observation, Source, SourceInfo, Stats, StoredLink, StoredReject, Via,
};
use dragnet_core::{Kind, Observable, Reject, Relation, Store, StoreError, Timestamp};

use crate::codec;
use crate::schema::{self, sql};

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

impl Cell {
    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(n) => *n,
            _ => 0,
        }
    }
    pub fn text(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            _ => "",
        }
    }
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Cell::Int(n) => Some(*n),
            _ => None,
        }
    }
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Cell::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
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
/// conflict) and returns the new row's id and `true`, or, if the row
/// existed, its id from `select` and `false`.
fn insert_or_get_id<C: Connection>(
    conn: &mut C,
    insert: &str,
    select: &str,
    params: &[Param<'_>],
) -> Result<(i64, bool), StoreError> {
    if let Some(row) = conn.query(insert, params)?.first() {
        return Ok((row[0].int(), true));
    }
    let rows = conn.query(select, params)?;
    rows.first().map(|r| (r[0].int(), false)).ok_or_else(|| StoreError::Backend("row vanished during insert".into()))
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
        Ok(v) => {
            conn.batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Applies the migrations newer than the store's version.
pub fn migrate<C: Connection>(conn: &mut C, migrations: &[(i64, String)]) -> Result<(), StoreError> {
    conn.batch(schema::CREATE_VERSION_TABLE)?;
    let known = migrations.iter().map(|(v, _)| *v).max().unwrap_or(0);
    transaction(conn, |c| {
        let found = c.query("SELECT MAX(version) FROM dragnet_schema", &[])?;
        let current = found.first().and_then(|r| r.first()).and_then(Cell::opt_int).unwrap_or(0);
        if current > known {
            return Err(StoreError::TooNew { found: current, known });
        }
        for (version, ddl) in migrations.iter().filter(|(v, _)| *v > current) {
            c.batch(ddl)?;
            c.exec("INSERT INTO dragnet_schema (version) VALUES ($1)", &[Param::Int(*version)])?;
        }
        Ok(())
    })
}

/// A [`Store`] over any [`Connection`].
pub struct SqlStore<C> {
    pub(crate) conn: C,
}

fn source_id<C: Connection>(conn: &mut C, name: &str) -> Result<i64, StoreError> {
    let rows = conn.query(sql::SOURCE_BY_NAME, &[Param::Text(name)])?;
    rows.first().map(|r| r[0].int()).ok_or_else(|| StoreError::UnknownSource(name.to_string()))
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

/// The multi-row INSERT for `rows` rows; the full-chunk text is built once
/// per process, since drivers key their statement caches on it.
fn insert_sql(head: &'static str, tail: &'static str, columns: usize, rows: usize) -> std::borrow::Cow<'static, str> {
    static OBSERVABLES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static OBSERVATIONS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static LINKS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static MEMBERS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let full = match head {
        sql::INSERT_OBSERVABLES_HEAD => &OBSERVABLES,
        sql::INSERT_LINKS_HEAD => &LINKS,
        sql::INSERT_SERVER_MEMBERS_HEAD => &MEMBERS,
        _ => &OBSERVATIONS,
    };
    if rows == CHUNK {
        std::borrow::Cow::Borrowed(full.get_or_init(|| multi_row(head, tail, columns, CHUNK)).as_str())
    } else {
        std::borrow::Cow::Owned(multi_row(head, tail, columns, rows))
    }
}

/// Inserts the chunk's observables; returns how many were new. When some
/// already existed, checks that each stored id holds the same value, so a
/// hash collision is an error, never a silent merge.
fn write_observables<C: Connection>(conn: &mut C, chunk: &[(i64, &Observable)]) -> Result<u64, StoreError> {
    let mut params = Vec::with_capacity(chunk.len() * 3);
    for (id, o) in chunk {
        params.extend([Param::Int(*id), Param::Text(o.kind().as_str()), Param::Text(o.value())]);
    }
    let insert = insert_sql(sql::INSERT_OBSERVABLES_HEAD, sql::INSERT_OBSERVABLES_TAIL, 3, chunk.len());
    let new = conn.exec(&insert, &params)?;
    if (new as usize) < chunk.len() {
        let ids: Vec<Param<'_>> = chunk.iter().map(|(id, _)| Param::Int(*id)).collect();
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let select = format!("{} ({})", sql::OBSERVABLES_BY_ID, placeholders.join(", "));
        let stored: std::collections::HashMap<i64, (String, String)> = conn
            .query(&select, &ids)?
            .into_iter()
            .map(|r| (r[0].int(), (r[1].text().to_string(), r[2].text().to_string())))
            .collect();
        for (id, o) in chunk {
            let (kind, value) = (o.kind().as_str(), o.value());
            if stored.get(id).is_none_or(|(k, v)| k != kind || v != value) {
                return Err(StoreError::Backend(format!(
                    "observable id collision for {kind} {value}; please report this"
                )));
            }
        }
    }
    Ok(new)
}

fn write_observations<C: Connection>(
    conn: &mut C,
    chunk: &[(i64, &Observation)],
    source: i64,
    origin: i64,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let tags: Vec<String> = chunk.iter().map(|(_, o)| codec::join_tags(&o.tags)).collect();
    let mut params = Vec::with_capacity(chunk.len() * 14);
    for ((id, o), tags) in chunk.iter().zip(&tags) {
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
            Param::Int(codec::raw_hash(&o.raw)),
            Param::Int(at),
        ]);
    }
    let insert = insert_sql(sql::INSERT_OBSERVATIONS_HEAD, sql::INSERT_OBSERVATIONS_TAIL, 14, chunk.len());
    conn.exec(&insert, &params)
}

fn write_reject<C: Connection>(
    conn: &mut C,
    r: &Reject,
    source: i64,
    origin: i64,
    at: Timestamp,
) -> Result<u64, StoreError> {
    conn.exec(
        sql::INSERT_REJECT,
        &[
            Param::Int(source),
            Param::Int(origin),
            Param::Int(i64::from(r.line)),
            r.field.as_deref().map_or(Param::Null, Param::Text),
            Param::Text(&r.reason),
            Param::Text(&r.raw),
            Param::Int(codec::raw_hash(&r.raw)),
            Param::Int(at),
        ],
    )
}

/// Upserts the batch's links (widening a known link's times) and returns
/// how many were new.
fn write_links<C: Connection>(conn: &mut C, batch: &Batch<'_>, source: i64) -> Result<u64, StoreError> {
    let mut ends: Vec<(i64, &Observable)> =
        batch.links.iter().flat_map(|l| [&l.from, &l.to]).map(|o| (codec::observable_id(o), o)).collect();
    ends.sort_unstable_by_key(|(id, _)| *id);
    ends.dedup_by_key(|(id, _)| *id);
    for chunk in ends.chunks(CHUNK) {
        write_observables(conn, chunk)?;
    }
    // One row per (from, to), times merged: a multi-row upsert may not
    // touch a row twice.
    let mut rows: BTreeMap<(i64, i64), (i64, i64, i64)> = BTreeMap::new();
    for link in batch.links {
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
        let first = link.first_seen.or(link.last_seen).unwrap_or(batch.ingested_at);
        let last = link.last_seen.unwrap_or(first).max(first);
        let row = rows.entry((codec::observable_id(&link.from), codec::observable_id(&link.to))).or_insert((
            codec::relation_code(relation),
            first,
            last,
        ));
        (row.1, row.2) = (row.1.min(first), row.2.max(last));
    }
    let before = count_with(conn, sql::COUNT_LINKS_OF, source)?;
    let rows: Vec<_> = rows.into_iter().collect();
    for chunk in rows.chunks(CHUNK) {
        let mut params = Vec::with_capacity(chunk.len() * 6);
        for ((from, to), (relation, first, last)) in chunk {
            params.extend([from, to, &source, relation, first, last].map(|v| Param::Int(*v)));
        }
        conn.exec(&insert_sql(sql::INSERT_LINKS_HEAD, sql::INSERT_LINKS_TAIL, 6, chunk.len()), &params)?;
    }
    Ok(count_with(conn, sql::COUNT_LINKS_OF, source)? - before)
}

fn count_with<C: Connection>(conn: &mut C, query: &str, id: i64) -> Result<u64, StoreError> {
    Ok(conn.query(query, &[Param::Int(id)])?.first().map_or(0, |r| r[0].int() as u64))
}

/// An observation from its eight stored columns (category, TLP, grade,
/// confidence, first and last seen, tags, line), as `HITS` and `FACTS` read them.
fn observation(cells: &[Cell], observable: Observable, raw: String) -> Result<Observation, StoreError> {
    Ok(Observation {
        observable,
        category: codec::category_from_code(cells[0].int())?,
        tlp: codec::tlp_from_code(cells[1].int())?,
        grade: codec::grade_from_code(cells[2].int())?,
        confidence: cells[3].opt_int().map(|c| c.clamp(0, 100) as u8),
        first_seen: cells[4].int(),
        last_seen: cells[5].int(),
        tags: codec::split_tags(cells[6].text()),
        line: cells[7].int() as u32,
        raw,
    })
}

/// `(key, count)` rows as a map, the key read by `name` (text keys as they are).
fn counts<C: Connection>(
    conn: &mut C,
    query: &str,
    name: impl Fn(&Cell) -> Result<String, StoreError>,
) -> Result<BTreeMap<String, u64>, StoreError> {
    conn.query(query, &[])?.into_iter().map(|r| Ok((name(&r[0])?, r[1].int() as u64))).collect()
}

fn text_key(cell: &Cell) -> Result<String, StoreError> {
    Ok(cell.text().to_string())
}

fn count<C: Connection>(conn: &mut C, query: &str) -> Result<u64, StoreError> {
    Ok(conn.query(query, &[])?.first().map_or(0, |r| r[0].int() as u64))
}

impl<C: Connection> Store for SqlStore<C> {
    fn ensure_source(&mut self, source: &Source, now: Timestamp) -> Result<Source, StoreError> {
        let grade = source.grade.to_string();
        self.conn.exec(
            sql::INSERT_SOURCE,
            &[Param::Text(&source.name), Param::Text(&grade), Param::Text(source.tlp.as_str()), Param::Int(now)],
        )?;
        let rows = self.conn.query(sql::SOURCE_BY_NAME, &[Param::Text(&source.name)])?;
        let row = rows.first().ok_or_else(|| StoreError::UnknownSource(source.name.clone()))?;
        Ok(Source {
            name: row[1].text().to_string(),
            grade: codec::grade(row[2].text())?,
            tlp: codec::tlp(row[3].text())?,
        })
    }

    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<BatchOutcome, StoreError> {
        transaction(&mut self.conn, |conn| {
            let source = source_id(conn, batch.source)?;
            let (origin, _) = insert_or_get_id(conn, sql::INSERT_ORIGIN, sql::ORIGIN_ID, &[Param::Text(batch.origin)])?;
            let mut out = BatchOutcome::default();
            // Writing in id order turns random B-tree inserts into appends:
            // several times faster for large batches, same result.
            let mut order: Vec<(i64, &Observation)> =
                batch.observations.iter().map(|o| (codec::observable_id(&o.observable), o)).collect();
            order.sort_unstable_by_key(|(id, _)| *id);
            for chunk in order.chunks(CHUNK) {
                let observables: Vec<(i64, &Observable)> = chunk.iter().map(|(id, o)| (*id, &o.observable)).collect();
                out.new_observables += write_observables(conn, &observables)?;
                out.new_observations += write_observations(conn, chunk, source, origin, batch.ingested_at)?;
            }
            out.new_links = write_links(conn, batch, source)?;
            for r in batch.rejects {
                out.new_rejects += write_reject(conn, r, source, origin, batch.ingested_at)?;
            }
            Ok(out)
        })
    }

    fn lookup(&mut self, observable: &Observable) -> Result<Vec<Hit>, StoreError> {
        let mut candidates: Vec<(Kind, String, Via)> =
            vec![(observable.kind(), observable.value().to_string(), Via::Exact)];
        candidates.extend(observable.covering_networks().into_iter().map(|n| (Kind::Cidr, n, Via::CoveringCidr)));
        candidates
            .extend(observable.parent_domains().into_iter().map(|d| (Kind::Domain, d.to_string(), Via::ParentDomain)));
        let mut hits = Vec::new();
        for (kind, value, via) in candidates {
            let matched = codec::observable(kind.as_str(), &value)?;
            let id = codec::observable_id(&matched);
            for row in self.conn.query(sql::HITS, &[Param::Int(id), Param::Text(kind.as_str()), Param::Text(&value)])? {
                hits.push(Hit {
                    via,
                    source: row[0].text().to_string(),
                    matched: matched.clone(),
                    observation: observation(&row[1..9], matched.clone(), row[9].text().to_string())?,
                    origin: row[10].text().to_string(),
                });
            }
        }
        Ok(hits)
    }

    fn sources(&mut self) -> Result<Vec<SourceInfo>, StoreError> {
        self.conn
            .query(sql::SOURCES, &[])?
            .into_iter()
            .map(|r| {
                Ok(SourceInfo {
                    source: Source {
                        name: r[0].text().to_string(),
                        grade: codec::grade(r[1].text())?,
                        tlp: codec::tlp(r[2].text())?,
                    },
                    created: r[3].int(),
                    observations: r[4].int() as u64,
                    rejects: r[5].int() as u64,
                    last_ingest: r[6].opt_int(),
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
                Ok(codec::category_from_code(k.int())?.as_str().to_string())
            })?,
            observations_by_source: counts(c, sql::BY_SOURCE, text_key)?,
            observations_by_tlp: counts(c, sql::BY_TLP, |k| Ok(codec::tlp_from_code(k.int())?.as_str().to_string()))?,
        })
    }

    fn put_warninglist(&mut self, name: &str, body: &str, now: Timestamp) -> Result<(), StoreError> {
        self.conn.exec(sql::PUT_WARNINGLIST, &[Param::Text(name), Param::Text(body), Param::Int(now)]).map(|_| ())
    }

    fn warninglists(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .conn
            .query(sql::WARNINGLISTS, &[])?
            .into_iter()
            .map(|r| (r[0].text().to_string(), r[1].text().to_string()))
            .collect())
    }

    fn facts(&mut self, kinds: &[Kind]) -> Result<Vec<Fact>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<Param<'_>> = kinds.iter().map(|k| Param::Text(k.as_str())).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let query = format!("{} ({}) {}", sql::FACTS, placeholders.join(", "), sql::FACTS_ORDER);
        let mut last: Option<Observable> = None;
        self.conn
            .query(&query, &names)?
            .into_iter()
            .map(|r| {
                // Rows come grouped by observable: parse each one once.
                let observable = match &last {
                    Some(o) if o.kind().as_str() == r[0].text() && o.value() == r[1].text() => o.clone(),
                    _ => codec::observable(r[0].text(), r[1].text())?,
                };
                last = Some(observable.clone());
                Ok(Fact {
                    source: r[2].text().to_string(),
                    observation: observation(&r[3..11], observable, String::new())?,
                })
            })
            .collect()
    }

    fn links(&mut self) -> Result<Vec<StoredLink>, StoreError> {
        self.conn
            .query(sql::LINKS, &[])?
            .into_iter()
            .map(|r| {
                let from = codec::observable(r[0].text(), r[1].text())?;
                let to = codec::observable(r[2].text(), r[3].text())?;
                let relation = Relation::between(from.kind(), to.kind()).ok_or_else(|| StoreError::Corrupt {
                    what: "link",
                    value: format!("{} -> {}", from.value(), to.value()),
                })?;
                Ok(StoredLink {
                    from,
                    to,
                    relation,
                    source: r[4].text().to_string(),
                    first_seen: r[5].int(),
                    last_seen: r[6].int(),
                })
            })
            .collect()
    }

    fn server_assignments(&mut self) -> Result<Vec<(Observable, String)>, StoreError> {
        self.conn
            .query(sql::SERVER_ASSIGNMENTS, &[])?
            .into_iter()
            .map(|r| Ok((codec::observable(r[0].text(), r[1].text())?, r[2].text().to_string())))
            .collect()
    }

    fn put_server_assignments(&mut self, assignments: &[(Observable, String)]) -> Result<(), StoreError> {
        transaction(&mut self.conn, |conn| {
            conn.exec(sql::CLEAR_SERVER_ASSIGNMENTS, &[])?;
            for chunk in assignments.chunks(CHUNK) {
                let mut params = Vec::with_capacity(chunk.len() * 2);
                for (observable, server) in chunk {
                    params.extend([Param::Int(codec::observable_id(observable)), Param::Text(server)]);
                }
                let insert =
                    insert_sql(sql::INSERT_SERVER_MEMBERS_HEAD, sql::INSERT_SERVER_MEMBERS_TAIL, 2, chunk.len());
                conn.exec(&insert, &params)?;
            }
            Ok(())
        })
    }

    fn rejects(&mut self, source: Option<&str>, limit: u32) -> Result<Vec<StoredReject>, StoreError> {
        let rows = self.conn.query(sql::REJECTS, &[Param::Text(source.unwrap_or("")), Param::Int(i64::from(limit))])?;
        Ok(rows
            .into_iter()
            .map(|r| StoredReject {
                source: r[0].text().to_string(),
                origin: r[1].text().to_string(),
                reject: Reject {
                    line: r[2].int() as u32,
                    field: r[3].opt_text(),
                    reason: r[4].text().to_string(),
                    raw: r[5].text().to_string(),
                },
            })
            .collect())
    }
}
