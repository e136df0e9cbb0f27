//! Organisations, tokens and sources' sharing limits. Lists are stored as
//! comma-joined text: names, country codes, ASNs and CIDRs hold no comma
//! (the engine checks names before they get here).

use std::collections::BTreeMap;

use dragnet_core::access::{Org, Sharing};
use dragnet_core::store::{NewToken, PackageRecord, Routing, Source, TokenRecord};
use dragnet_core::{StoreError, Timestamp};

use crate::audit;
use crate::db::{Cell, Connection, Param, at, source_id, transaction};
use crate::schema::sql;

fn joined<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

fn split<T: std::str::FromStr>(cell: &Cell, what: &'static str) -> Result<Vec<T>, StoreError> {
    let text = cell.text()?;
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| StoreError::Corrupt { what, value: s.to_string() }))
        .collect()
}

fn label<T: std::str::FromStr>(cell: &Cell, what: &'static str) -> Result<T, StoreError> {
    let text = cell.text()?;
    text.parse().map_err(|_| StoreError::Corrupt { what, value: text.to_string() })
}

pub fn add_org<C: Connection>(conn: &mut C, org: &Org, by: &str, now: Timestamp) -> Result<(), StoreError> {
    let (countries, asns, prefixes, clients) =
        (joined(&org.countries), joined(&org.asns), joined(&org.prefixes), joined(&org.clients));
    transaction(conn, |conn| {
        let added = conn.exec(
            sql::INSERT_ORG,
            &[
                Param::Text(&org.name),
                Param::Text(org.kind.as_str()),
                Param::Text(&countries),
                Param::Text(&asns),
                Param::Text(&prefixes),
                Param::Text(&clients),
                Param::Int(now),
            ],
        )?;
        if added == 0 {
            return Err(StoreError::Exists(format!("organisation `{}`", org.name)));
        }
        audit::append(conn, org.audit_entry(by, now))?;
        Ok(())
    })
}

pub fn orgs<C: Connection>(conn: &mut C) -> Result<Vec<Org>, StoreError> {
    conn.query(sql::ORGS, &[])?
        .iter()
        .map(|r| {
            Ok(Org {
                name: at(r, 0)?.text()?.to_string(),
                kind: label(at(r, 1)?, "organisation kind")?,
                countries: split(at(r, 2)?, "country")?,
                asns: split(at(r, 3)?, "ASN")?,
                prefixes: split(at(r, 4)?, "prefix")?,
                clients: split(at(r, 5)?, "client")?,
            })
        })
        .collect()
}

pub fn add_token<C: Connection>(conn: &mut C, t: &NewToken<'_>) -> Result<i64, StoreError> {
    let expires = t.expires.map_or(Param::Null, Param::Int);
    transaction(conn, |conn| {
        let Some(org) = conn.query(sql::ORG_ID, &[Param::Text(t.org)])?.first().map(|r| at(r, 0)?.int()).transpose()?
        else {
            return Err(StoreError::NotFound(format!("no organisation `{}`", t.org)));
        };
        let rows = conn.query(
            sql::INSERT_TOKEN,
            &[
                Param::Int(org),
                Param::Text(t.role.as_str()),
                Param::Text(t.digest),
                Param::Text(t.label),
                Param::Int(t.created),
                expires,
            ],
        )?;
        let id = match rows.first() {
            Some(row) => at(row, 0)?.int()?,
            None => return Err(StoreError::Backend("a token insert returned no id".into())),
        };
        let record = TokenRecord {
            id,
            org: t.org.to_string(),
            role: t.role,
            label: t.label.to_string(),
            created: t.created,
            expires: t.expires,
            revoked: None,
            digest: t.digest.to_string(),
        };
        audit::append(conn, record.audit_entry(t.by))?;
        Ok(id)
    })
}

fn token_from(r: &[Cell]) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: at(r, 0)?.int()?,
        org: at(r, 1)?.text()?.to_string(),
        role: label(at(r, 2)?, "role")?,
        label: at(r, 3)?.text()?.to_string(),
        created: at(r, 4)?.int()?,
        expires: at(r, 5)?.opt_int()?,
        revoked: at(r, 6)?.opt_int()?,
        digest: at(r, 7)?.text()?.to_string(),
    })
}

pub fn tokens<C: Connection>(conn: &mut C) -> Result<Vec<TokenRecord>, StoreError> {
    let query = format!("{} {}", sql::TOKENS, sql::TOKENS_ORDER);
    conn.query(&query, &[])?.iter().map(|r| token_from(r)).collect()
}

pub fn token_by_digest<C: Connection>(conn: &mut C, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
    let query = format!("{} {}", sql::TOKENS, sql::TOKEN_BY_DIGEST);
    conn.query(&query, &[Param::Text(digest)])?.first().map(|r| token_from(r)).transpose()
}

pub fn revoke_token<C: Connection>(conn: &mut C, id: i64, by: &str, now: Timestamp) -> Result<bool, StoreError> {
    transaction(conn, |conn| {
        if conn.exec(sql::REVOKE_TOKEN, &[Param::Int(now), Param::Int(id)])? == 0 {
            return Ok(false);
        }
        let query = format!("{} {}", sql::TOKENS, sql::TOKEN_BY_ID);
        let Some(record) = conn.query(&query, &[Param::Int(id)])?.first().map(|r| token_from(r)).transpose()? else {
            return Err(StoreError::Backend("a revoked token vanished".into()));
        };
        audit::append(conn, record.revoke_entry(by, now))?;
        Ok(true)
    })
}

pub fn sharing<C: Connection>(conn: &mut C) -> Result<BTreeMap<String, Sharing>, StoreError> {
    conn.query(sql::SHARING, &[])?
        .iter()
        .map(|r| {
            let name = at(r, 0)?.text()?.to_string();
            let owner = at(r, 1)?.opt_text()?;
            let sharing = match at(r, 2)? {
                Cell::Null => Sharing { owner, ..Sharing::default() },
                cell => Sharing { owner, recipients: split(cell, "recipient")? },
            };
            Ok((name, sharing))
        })
        .collect()
}

pub fn set_sharing<C: Connection>(
    conn: &mut C,
    source: &Source,
    sharing: &Sharing,
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let recipients = joined(&sharing.recipients);
    let owner = sharing.owner.as_deref().map_or(Param::Null, Param::Text);
    transaction(conn, |conn| {
        source_id(conn, source, now)?;
        conn.exec(sql::SET_SHARING, &[owner, Param::Text(&recipients), Param::Text(&source.name)])?;
        audit::append(conn, sharing.audit_entry(&source.name, by, now))?;
        Ok(())
    })
}

pub fn claim_source<C: Connection>(
    conn: &mut C,
    source: &Source,
    sharing: &Sharing,
    by: &str,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    let recipients = joined(&sharing.recipients);
    let owner = sharing.owner.as_deref().map_or(Param::Null, Param::Text);
    transaction(conn, |conn| {
        // The insert and the owner are one transaction, so no other server
        // sees the new source without its owner.
        if crate::db::insert_source(conn, source, now)? {
            conn.exec(sql::SET_SHARING, &[owner, Param::Text(&recipients), Param::Text(&source.name)])?;
            audit::append(conn, sharing.audit_entry(&source.name, by, now))?;
        }
        let rows = conn.query(sql::SOURCE_OWNER, &[Param::Text(&source.name)])?;
        match rows.first() {
            Some(row) => at(row, 0)?.opt_text(),
            None => Err(StoreError::UnknownSource(source.name.clone())),
        }
    })
}

pub fn add_routing<C: Connection>(conn: &mut C, r: &Routing) -> Result<(), StoreError> {
    transaction(conn, |conn| {
        conn.exec(
            sql::INSERT_ROUTING,
            &[
                Param::Text(&r.server),
                Param::Text(&r.org),
                Param::Int(i64::from(r.add)),
                Param::Text(&r.reason),
                Param::Text(&r.by),
                Param::Int(r.at),
            ],
        )?;
        audit::append(conn, r.audit_entry())?;
        Ok(())
    })
}

pub fn routings<C: Connection>(conn: &mut C) -> Result<Vec<Routing>, StoreError> {
    conn.query(sql::ROUTINGS, &[])?
        .iter()
        .map(|r| {
            Ok(Routing {
                server: at(r, 0)?.text()?.to_string(),
                org: at(r, 1)?.text()?.to_string(),
                add: at(r, 2)?.int()? != 0,
                reason: at(r, 3)?.text()?.to_string(),
                by: at(r, 4)?.text()?.to_string(),
                at: at(r, 5)?.int()?,
            })
        })
        .collect()
}

pub fn add_package<C: Connection>(conn: &mut C, p: &PackageRecord) -> Result<(i64, i64), StoreError> {
    let tlp = p.tlp.map(|t| t.as_str());
    let servers = i64::try_from(p.servers).map_err(|_| StoreError::Backend("too many servers".into()))?;
    transaction(conn, |conn| {
        let version = match conn.query(sql::NEXT_PACKAGE_VERSION, &[Param::Text(&p.org)])?.first() {
            Some(row) => at(row, 0)?.int()?,
            None => 1,
        };
        let rows = conn.query(
            sql::INSERT_PACKAGE,
            &[
                Param::Text(&p.org),
                Param::Int(version),
                Param::Int(p.created),
                tlp.map_or(Param::Null, Param::Text),
                Param::Int(servers),
                Param::Text(&p.body),
            ],
        )?;
        match rows.first() {
            Some(row) => Ok((at(row, 0)?.int()?, version)),
            None => Err(StoreError::Backend("a package insert returned no id".into())),
        }
    })
}

fn package_from(r: &[Cell]) -> Result<PackageRecord, StoreError> {
    Ok(PackageRecord {
        id: at(r, 0)?.int()?,
        org: at(r, 1)?.text()?.to_string(),
        version: at(r, 2)?.int()?,
        created: at(r, 3)?.int()?,
        tlp: at(r, 4)?.opt_text()?.map(|t| label(&Cell::Text(t), "TLP")).transpose()?,
        servers: at(r, 5)?.count()?,
        body: at(r, 6)?.text()?.to_string(),
    })
}

pub fn packages<C: Connection>(conn: &mut C, org: Option<&str>) -> Result<Vec<PackageRecord>, StoreError> {
    conn.query(sql::PACKAGES, &[Param::Text(org.unwrap_or_default())])?.iter().map(|r| package_from(r)).collect()
}

pub fn package<C: Connection>(conn: &mut C, id: i64) -> Result<Option<PackageRecord>, StoreError> {
    conn.query(sql::PACKAGE, &[Param::Int(id)])?.first().map(|r| package_from(r)).transpose()
}
