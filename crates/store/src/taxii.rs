//! TAXII collections' objects and status resources. Objects are read in
//! the order they were added, by key (`date_added`, `seq`), never by
//! offset, so a page costs the same at any depth.

use dragnet_core::store::{TaxiiObject, TaxiiQuery};
use dragnet_core::{StoreError, Timestamp};

use crate::db::{Cell, Connection, Param, at, transaction};
use crate::schema::sql;

pub fn add<C: Connection>(conn: &mut C, objects: &[TaxiiObject]) -> Result<u64, StoreError> {
    transaction(conn, |conn| {
        let mut new = 0;
        for o in objects {
            new += conn.exec(
                sql::INSERT_TAXII,
                &[
                    Param::Text(&o.collection),
                    Param::Text(&o.id),
                    Param::Text(&o.version),
                    Param::Int(o.date_added),
                    Param::Text(&o.kind),
                    Param::Text(&o.spec_version),
                    Param::Text(&o.body),
                ],
            )?;
        }
        Ok(new)
    })
}

/// `($n, …)`: the placeholders of `values`, numbered from `params.len() + 1`.
fn placeholders<'a>(values: &'a [String], params: &mut Vec<Param<'a>>) -> String {
    let numbers: Vec<String> = values
        .iter()
        .map(|v| {
            params.push(Param::Text(v));
            format!("${}", params.len())
        })
        .collect();
    format!("({})", numbers.join(", "))
}

/// `AND column IN ($n, …)` with the placeholders numbered from `params.len() + 1`.
fn any_of<'a>(column: &str, values: &'a [String], params: &mut Vec<Param<'a>>) -> String {
    format!(" AND {column} IN {}", placeholders(values, params))
}

pub fn objects<C: Connection>(conn: &mut C, q: &TaxiiQuery<'_>) -> Result<Vec<TaxiiObject>, StoreError> {
    // Placeholders are numbered in the order they first appear (SQLite
    // numbers `$N` by first appearance); a number may be used again later.
    let mut params = vec![Param::Text(q.collection)];
    let mut query = sql::TAXII_COLUMNS.to_string();
    if let Some(after) = q.added_after {
        params.push(Param::Int(after));
        query.push_str(&format!(" AND t.date_added > ${}", params.len()));
    }
    if let Some((added, seq)) = q.after {
        params.push(Param::Int(added));
        let a = params.len();
        params.push(Param::Int(seq));
        query.push_str(&format!(" AND (t.date_added > ${a} OR (t.date_added = ${a} AND t.seq > ${}))", params.len()));
    }
    if !q.ids.is_empty() {
        query.push_str(&any_of("t.object_id", q.ids, &mut params));
    }
    if !q.kinds.is_empty() {
        query.push_str(&any_of("t.kind", q.kinds, &mut params));
    }
    // The STIX versions asked for, or else each object's latest (TAXII 2.1,
    // 3.4.1); "first" and "last" are then chosen among those.
    let same_object = "u.collection = t.collection AND u.object_id = t.object_id";
    let among = if q.spec_versions.is_empty() {
        query.push_str(&format!(
            " AND t.spec_version = (SELECT MAX(u.spec_version) FROM taxii_objects u WHERE {same_object})"
        ));
        " AND u.spec_version = t.spec_version".to_string()
    } else {
        let listed = placeholders(q.spec_versions, &mut params);
        query.push_str(&format!(" AND t.spec_version IN {listed}"));
        format!(" AND u.spec_version IN {listed}")
    };
    match q.latest {
        Some(latest) => query.push_str(&format!(
            " AND t.version = (SELECT {}(u.version) FROM taxii_objects u WHERE {same_object}{among})",
            if latest { "MAX" } else { "MIN" }
        )),
        None if !q.versions.is_empty() => query.push_str(&any_of("t.version", q.versions, &mut params)),
        None => {}
    }
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    params.push(Param::Int(limit));
    query.push_str(&format!(" ORDER BY t.date_added, t.seq LIMIT ${}", params.len()));
    conn.query(&query, &params)?.iter().map(|r| object_from(r)).collect()
}

fn object_from(r: &[Cell]) -> Result<TaxiiObject, StoreError> {
    Ok(TaxiiObject {
        collection: at(r, 0)?.text()?.to_string(),
        id: at(r, 1)?.text()?.to_string(),
        version: at(r, 2)?.text()?.to_string(),
        date_added: at(r, 3)?.int()?,
        seq: at(r, 4)?.int()?,
        kind: at(r, 5)?.text()?.to_string(),
        spec_version: at(r, 6)?.text()?.to_string(),
        body: at(r, 7)?.text()?.to_string(),
    })
}

pub fn delete<C: Connection>(conn: &mut C, collection: &str, id: &str, versions: &[String]) -> Result<u64, StoreError> {
    let mut params = vec![Param::Text(collection), Param::Text(id)];
    let mut query = "DELETE FROM taxii_objects WHERE collection = $1 AND object_id = $2".to_string();
    if !versions.is_empty() {
        query.push_str(&any_of("version", versions, &mut params));
    }
    conn.exec(&query, &params)
}

pub fn put_status<C: Connection>(
    conn: &mut C,
    id: &str,
    collection: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.exec(sql::PUT_TAXII_STATUS, &[Param::Text(id), Param::Text(collection), Param::Int(now), Param::Text(body)])?;
    Ok(())
}

pub fn status<C: Connection>(conn: &mut C, id: &str) -> Result<Option<(String, String)>, StoreError> {
    conn.query(sql::TAXII_STATUS, &[Param::Text(id)])?
        .first()
        .map(|r| Ok((at(r, 0)?.text()?.to_string(), at(r, 1)?.text()?.to_string())))
        .transpose()
}

pub fn put_pull<C: Connection>(
    conn: &mut C,
    url: &str,
    collection: &str,
    added_last: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.exec(
        sql::PUT_TAXII_PULL,
        &[Param::Text(url), Param::Text(collection), Param::Text(added_last), Param::Int(now)],
    )?;
    Ok(())
}

pub fn pull<C: Connection>(conn: &mut C, url: &str, collection: &str) -> Result<Option<String>, StoreError> {
    conn.query(sql::TAXII_PULL, &[Param::Text(url), Param::Text(collection)])?
        .first()
        .map(|r| Ok(at(r, 0)?.text()?.to_string()))
        .transpose()
}
