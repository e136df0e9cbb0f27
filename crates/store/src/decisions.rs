//! The decision stream's rows. Each decision is numbered by the stream's
//! sequence when it is made, and again when it is withdrawn, so "what
//! changed since cursor N" is two range reads. One tip row holds the
//! sequence: its row lock makes concurrent reconcilers take turns.

use std::collections::HashMap;

use dragnet_core::store::{Decision, DecisionChanges};
use dragnet_core::{StoreError, Timestamp, Tlp};

use crate::db::{Cell, Connection, Param, at, transaction};
use crate::schema::sql;

/// Markings as stored: `source\ttlp` pairs, one a line (source names hold
/// neither tabs nor newlines).
fn markings_text(markings: &[(String, Tlp)]) -> String {
    markings.iter().map(|(s, t)| format!("{s}\t{}", t.as_str())).collect::<Vec<_>>().join("\n")
}

fn markings_of(cell: &Cell) -> Result<Vec<(String, Tlp)>, StoreError> {
    let text = cell.text()?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let corrupt = || StoreError::Corrupt { what: "decision marking", value: line.to_string() };
            let (source, tlp) = line.split_once('\t').ok_or_else(corrupt)?;
            Ok((source.to_string(), tlp.parse().map_err(|_| corrupt())?))
        })
        .collect()
}

fn label<T: std::str::FromStr>(cell: &Cell, what: &'static str) -> Result<T, StoreError> {
    let text = cell.text()?;
    text.parse().map_err(|_| StoreError::Corrupt { what, value: text.to_string() })
}

fn seq(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt { what: "decision sequence", value: n.to_string() })
}

fn decision_from(r: &[Cell]) -> Result<Decision, StoreError> {
    Ok(Decision {
        id: at(r, 0)?.count()?,
        value: at(r, 1)?.text()?.to_string(),
        kind: label(at(r, 2)?, "decision kind")?,
        category: label(at(r, 3)?, "decision category")?,
        until: at(r, 4)?.int()?,
        reason: at(r, 5)?.text()?.to_string(),
        markings: markings_of(at(r, 6)?)?,
        added: at(r, 7)?.int()?,
        deleted: at(r, 8)?.opt_int()?.map(|n| u64::try_from(n).unwrap_or_default()),
    })
}

fn same(a: &Decision, b: &Decision, slack: i64) -> bool {
    a.kind == b.kind
        && a.category == b.category
        && a.reason == b.reason
        && a.markings == b.markings
        && (a.until - b.until).abs() <= slack
}

pub fn reconcile<C: Connection>(
    conn: &mut C,
    live: &[Decision],
    slack: i64,
    now: Timestamp,
) -> Result<(usize, usize), StoreError> {
    transaction(conn, |conn| {
        let tip = conn.query(sql::LOCK_DECISION_TIP, &[])?;
        let mut next =
            at(tip.first().ok_or_else(|| StoreError::Backend("the decision tip row is missing".into()))?, 0)?
                .count()?;
        let standing: Vec<Decision> =
            conn.query(sql::STANDING_DECISIONS, &[])?.iter().map(|r| decision_from(r)).collect::<Result<_, _>>()?;
        let mut by_value: HashMap<&str, &Decision> = standing.iter().map(|d| (d.value.as_str(), d)).collect();
        let (mut added, mut withdrawn) = (0, 0);
        let mut withdraw = |conn: &mut C, d: &Decision, next: &mut u64| -> Result<(), StoreError> {
            *next += 1;
            conn.exec(sql::WITHDRAW_DECISION, &[Param::Int(seq(*next)?), Param::Int(seq(d.id)?)])?;
            withdrawn += 1;
            Ok(())
        };
        for d in live {
            match by_value.remove(d.value.as_str()) {
                Some(old) if same(old, d, slack) => continue,
                Some(old) => withdraw(conn, old, &mut next)?,
                None => {}
            }
            next += 1;
            let kind = d.kind.as_str();
            let category = d.category.as_str();
            let markings = markings_text(&d.markings);
            conn.exec(
                sql::INSERT_DECISION,
                &[
                    Param::Int(seq(next)?),
                    Param::Text(&d.value),
                    Param::Text(kind),
                    Param::Text(category),
                    Param::Int(d.until),
                    Param::Text(&d.reason),
                    Param::Text(&markings),
                    Param::Int(now),
                ],
            )?;
            added += 1;
        }
        let mut gone: Vec<&Decision> = by_value.into_values().collect();
        gone.sort_by_key(|d| d.id);
        for d in gone {
            withdraw(conn, d, &mut next)?;
        }
        conn.exec(sql::SET_DECISION_TIP, &[Param::Int(seq(next)?)])?;
        Ok((added, withdrawn))
    })
}

pub fn since<C: Connection>(conn: &mut C, cursor: u64) -> Result<DecisionChanges, StoreError> {
    let after = Param::Int(i64::try_from(cursor).unwrap_or(i64::MAX));
    let read = |conn: &mut C, query: &str| -> Result<Vec<Decision>, StoreError> {
        conn.query(query, &[after])?.iter().map(|r| decision_from(r)).collect()
    };
    let new = read(conn, sql::DECISIONS_ADDED_SINCE)?;
    let deleted = read(conn, sql::DECISIONS_WITHDRAWN_SINCE)?;
    let tip = conn.query(sql::DECISION_TIP, &[])?;
    let cursor =
        at(tip.first().ok_or_else(|| StoreError::Backend("the decision tip row is missing".into()))?, 0)?.count()?;
    Ok(DecisionChanges { new, deleted, cursor })
}

pub fn basis<C: Connection>(conn: &mut C) -> Result<Option<(String, Timestamp)>, StoreError> {
    let rows = conn.query(sql::DECISION_BASIS, &[])?;
    let Some(row) = rows.first() else { return Ok(None) };
    match (at(row, 0)?.opt_text()?, at(row, 1)?.opt_int()?) {
        (Some(basis), Some(refreshed)) => Ok(Some((basis, refreshed))),
        _ => Ok(None),
    }
}

pub fn set_basis<C: Connection>(conn: &mut C, basis: &str, refreshed: Timestamp) -> Result<(), StoreError> {
    conn.exec(sql::SET_DECISION_BASIS, &[Param::Text(basis), Param::Int(refreshed)])?;
    Ok(())
}
