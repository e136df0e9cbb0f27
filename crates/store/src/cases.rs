//! Operations, case actions and abuse contacts. Operations and actions
//! are written with their audit entry in one transaction.

use dragnet_core::case::{ActionKind, CaseAction, Custody, Evidence, Operation, Participant, Suspect};
use dragnet_core::store::AbuseContact;
use dragnet_core::{Category, StoreError, Timestamp};

use crate::audit;
use crate::db::{Cell, Connection, Param, at, transaction};
use crate::schema::sql;

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt { what, value: value.to_string() }
}

/// Adds an operation; false (and nothing written) if one of that name exists.
pub fn add_operation<C: Connection>(conn: &mut C, op: &Operation) -> Result<bool, StoreError> {
    let scope: Vec<&str> = op.scope.iter().map(|c| c.as_str()).collect();
    transaction(conn, |conn| {
        let added = conn.exec(
            sql::INSERT_OPERATION,
            &[
                Param::Text(&op.name),
                Param::Int(op.starts),
                Param::Int(op.ends),
                Param::Text(&scope.join(",")),
                Param::Int(op.created),
                Param::Text(&op.created_by),
            ],
        )?;
        if added != 1 {
            return Ok(false);
        }
        for p in &op.participants {
            conn.exec(sql::INSERT_PARTICIPANT, &[Param::Text(&op.name), Param::Text(&p.org), Param::Text(&p.role)])?;
        }
        audit::append(conn, op.audit_entry())?;
        Ok(true)
    })
}

pub fn operations<C: Connection>(conn: &mut C) -> Result<Vec<Operation>, StoreError> {
    let participants = conn.query(sql::PARTICIPANTS, &[])?;
    conn.query(sql::OPERATIONS, &[])?
        .iter()
        .map(|r| {
            let name = at(r, 0)?.text()?.to_string();
            let scope = at(r, 3)?.text()?;
            Ok(Operation {
                starts: at(r, 1)?.int()?,
                ends: at(r, 2)?.int()?,
                scope: scope
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(|c| c.parse::<Category>().map_err(|_| corrupt("operation scope", c)))
                    .collect::<Result<_, _>>()?,
                participants: participants
                    .iter()
                    .filter(|p| p.first().is_some_and(|c| *c == Cell::Text(name.clone())))
                    .map(|p| {
                        Ok(Participant { org: at(p, 1)?.text()?.to_string(), role: at(p, 2)?.text()?.to_string() })
                    })
                    .collect::<Result<_, StoreError>>()?,
                created: at(r, 4)?.int()?,
                created_by: at(r, 5)?.text()?.to_string(),
                name,
            })
        })
        .collect()
}

pub fn add_action<C: Connection>(conn: &mut C, a: &CaseAction) -> Result<(), StoreError> {
    let bytes = a.bytes.map(|b| i64::try_from(b).map_err(|_| corrupt("bytes", &b.to_string()))).transpose()?;
    transaction(conn, |conn| {
        conn.exec(
            sql::INSERT_CASE_ACTION,
            &[
                Param::Text(&a.operation),
                Param::Text(a.kind.as_str()),
                Param::Text(&a.agency),
                Param::Text(&a.country),
                Param::Int(a.happened),
                a.server.as_deref().map_or(Param::Null, Param::Text),
                Param::Int(i64::from(a.count)),
                bytes.map_or(Param::Null, Param::Int),
                a.sha256.as_deref().map_or(Param::Null, Param::Text),
                Param::Text(&a.note),
                Param::Text(&a.by),
                Param::Int(a.at),
            ],
        )?;
        audit::append(conn, a.audit_entry())?;
        Ok(())
    })
}

/// An operation's actions (or every operation's), in the order recorded.
pub fn actions<C: Connection>(conn: &mut C, operation: Option<&str>) -> Result<Vec<CaseAction>, StoreError> {
    let rows = match operation {
        Some(op) => conn.query(sql::CASE_ACTIONS_OF, &[Param::Text(op)])?,
        None => conn.query(sql::CASE_ACTIONS, &[])?,
    };
    rows.iter()
        .map(|r| {
            let kind = at(r, 1)?.text()?;
            let count = at(r, 6)?.int()?;
            let bytes = at(r, 7)?.opt_int()?;
            Ok(CaseAction {
                operation: at(r, 0)?.text()?.to_string(),
                kind: kind.parse::<ActionKind>().map_err(|_| corrupt("case action", kind))?,
                agency: at(r, 2)?.text()?.to_string(),
                country: at(r, 3)?.text()?.to_string(),
                happened: at(r, 4)?.int()?,
                server: at(r, 5)?.opt_text()?,
                count: u32::try_from(count).map_err(|_| corrupt("action count", &count.to_string()))?,
                bytes: bytes.map(|b| u64::try_from(b).map_err(|_| corrupt("bytes", &b.to_string()))).transpose()?,
                sha256: at(r, 8)?.opt_text()?,
                note: at(r, 9)?.text()?.to_string(),
                by: at(r, 10)?.text()?.to_string(),
                at: at(r, 11)?.int()?,
            })
        })
        .collect()
}

pub fn put_contacts<C: Connection>(
    conn: &mut C,
    contacts: &[AbuseContact],
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    transaction(conn, |conn| {
        for c in contacts {
            conn.exec(
                sql::PUT_CONTACT,
                &[Param::Text(&c.network), Param::Text(&c.email), Param::Text(&c.name), Param::Int(now)],
            )?;
            audit::append(conn, c.audit_entry(by, now))?;
        }
        Ok(())
    })
}

pub fn contacts<C: Connection>(conn: &mut C) -> Result<Vec<AbuseContact>, StoreError> {
    conn.query(sql::CONTACTS, &[])?
        .iter()
        .map(|r| {
            Ok(AbuseContact {
                network: at(r, 0)?.text()?.to_string(),
                email: at(r, 1)?.text()?.to_string(),
                name: at(r, 2)?.text()?.to_string(),
            })
        })
        .collect()
}

pub fn add_evidence<C: Connection>(conn: &mut C, e: &Evidence, first: &Custody) -> Result<bool, StoreError> {
    let size = i64::try_from(e.size).map_err(|_| corrupt("evidence size", &e.size.to_string()))?;
    transaction(conn, |conn| {
        let added = conn.exec(
            sql::INSERT_EVIDENCE,
            &[
                Param::Text(&e.sha256),
                Param::Int(size),
                Param::Text(&e.name),
                Param::Text(&e.operation),
                e.server.as_deref().map_or(Param::Null, Param::Text),
                Param::Text(&e.description),
                Param::Text(&e.added_by),
                Param::Int(e.added_at),
            ],
        )?;
        if added != 1 {
            return Ok(false);
        }
        audit::append(conn, e.audit_entry())?;
        insert_custody(conn, first)?;
        Ok(true)
    })
}

fn insert_custody<C: Connection>(conn: &mut C, c: &Custody) -> Result<(), StoreError> {
    conn.exec(
        sql::INSERT_CUSTODY,
        &[
            Param::Text(&c.sha256),
            Param::Text(&c.from),
            Param::Text(&c.to),
            Param::Int(c.at),
            Param::Text(&c.note),
            Param::Text(&c.by),
        ],
    )?;
    audit::append(conn, c.audit_entry())?;
    Ok(())
}

pub fn add_custody<C: Connection>(conn: &mut C, c: &Custody) -> Result<(), StoreError> {
    transaction(conn, |conn| {
        let holder = match conn.query(sql::HOLDER, &[Param::Text(&c.sha256)])?.first() {
            Some(row) => at(row, 0)?.text()?.to_string(),
            None => return Err(StoreError::Conflict(format!("no evidence {}", c.sha256))),
        };
        if holder != c.from {
            return Err(StoreError::Conflict(format!("{} is held by {holder}, not {}", c.sha256, c.from)));
        }
        insert_custody(conn, c)
    })
}

pub fn evidence<C: Connection>(conn: &mut C, operation: Option<&str>) -> Result<Vec<Evidence>, StoreError> {
    conn.query(sql::EVIDENCE, &[Param::Text(operation.unwrap_or(""))])?
        .iter()
        .map(|r| {
            let size = at(r, 1)?.int()?;
            Ok(Evidence {
                sha256: at(r, 0)?.text()?.to_string(),
                size: u64::try_from(size).map_err(|_| corrupt("evidence size", &size.to_string()))?,
                name: at(r, 2)?.text()?.to_string(),
                operation: at(r, 3)?.text()?.to_string(),
                server: at(r, 4)?.opt_text()?,
                description: at(r, 5)?.text()?.to_string(),
                added_by: at(r, 6)?.text()?.to_string(),
                added_at: at(r, 7)?.int()?,
            })
        })
        .collect()
}

pub fn custody<C: Connection>(conn: &mut C, sha256: Option<&str>) -> Result<Vec<Custody>, StoreError> {
    conn.query(sql::CUSTODY, &[Param::Text(sha256.unwrap_or(""))])?
        .iter()
        .map(|r| {
            Ok(Custody {
                sha256: at(r, 0)?.text()?.to_string(),
                from: at(r, 1)?.text()?.to_string(),
                to: at(r, 2)?.text()?.to_string(),
                at: at(r, 3)?.int()?,
                note: at(r, 4)?.text()?.to_string(),
                by: at(r, 5)?.text()?.to_string(),
            })
        })
        .collect()
}

pub fn add_suspect<C: Connection>(conn: &mut C, s: &Suspect) -> Result<i64, StoreError> {
    transaction(conn, |conn| {
        let rows = conn.query(
            sql::INSERT_SUSPECT,
            &[
                Param::Text(&s.operation),
                Param::Text(&s.agency),
                Param::Text(&s.alias),
                s.nationality.as_deref().map_or(Param::Null, Param::Text),
                Param::Text(&s.role),
                Param::Int(s.retain_until),
                Param::Text(&s.added_by),
                Param::Int(s.added_at),
            ],
        )?;
        let id = rows.first().ok_or_else(|| StoreError::Backend("no suspect id".into()))?;
        let id = at(id, 0)?.int()?;
        audit::append(conn, Suspect { id, ..s.clone() }.audit_entry())?;
        Ok(id)
    })
}

fn suspect_rows<C: Connection>(conn: &mut C, query: &str, param: Param<'_>) -> Result<Vec<Suspect>, StoreError> {
    conn.query(query, &[param])?
        .iter()
        .map(|r| {
            Ok(Suspect {
                id: at(r, 0)?.int()?,
                operation: at(r, 1)?.text()?.to_string(),
                agency: at(r, 2)?.text()?.to_string(),
                alias: at(r, 3)?.text()?.to_string(),
                nationality: at(r, 4)?.opt_text()?,
                role: at(r, 5)?.text()?.to_string(),
                retain_until: at(r, 6)?.int()?,
                added_by: at(r, 7)?.text()?.to_string(),
                added_at: at(r, 8)?.int()?,
            })
        })
        .collect()
}

pub fn suspects<C: Connection>(conn: &mut C, agency: Option<&str>) -> Result<Vec<Suspect>, StoreError> {
    suspect_rows(conn, sql::SUSPECTS, Param::Text(agency.unwrap_or("")))
}

pub fn erase_suspects<C: Connection>(conn: &mut C, now: Timestamp, by: &str) -> Result<Vec<Suspect>, StoreError> {
    transaction(conn, |conn| {
        let expired = suspect_rows(conn, sql::EXPIRED_SUSPECTS, Param::Int(now))?;
        for s in &expired {
            conn.exec(sql::DELETE_SUSPECT, &[Param::Int(s.id)])?;
            audit::append(conn, s.erase_entry(by, now))?;
        }
        Ok(expired)
    })
}
