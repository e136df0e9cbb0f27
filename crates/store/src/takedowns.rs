//! Takedown records and their moves. A move is a compare-and-set on the
//! server's state, so two analysts (or two processes) moving the same
//! server at once never both win.

use dragnet_core::store::{TakedownEvent, TakedownRecord};
use dragnet_core::takedown::State;
use dragnet_core::{StoreError, Timestamp};

use crate::audit;
use crate::db::{Cell, Connection, Param, at, transaction};
use crate::schema::sql;

fn state(cell: &Cell) -> Result<State, StoreError> {
    let text = cell.text()?;
    text.parse().map_err(|_| StoreError::Corrupt { what: "takedown state", value: text.to_string() })
}

pub fn apply<C: Connection>(conn: &mut C, events: &[TakedownEvent]) -> Result<(), StoreError> {
    transaction(conn, |conn| {
        for e in events {
            let (to, at_time): (&str, Timestamp) = (e.to.as_str(), e.at);
            let moved = if e.from == State::Identified {
                conn.exec(sql::OPEN_TAKEDOWN, &[Param::Text(&e.server), Param::Text(to), Param::Int(at_time)])?
            } else {
                conn.exec(
                    sql::MOVE_TAKEDOWN,
                    &[Param::Text(to), Param::Int(at_time), Param::Text(&e.server), Param::Text(e.from.as_str())],
                )?
            };
            if moved != 1 {
                return Err(StoreError::Conflict(format!(
                    "the takedown of {} is no longer {}: it was moved meanwhile",
                    e.server, e.from
                )));
            }
            conn.exec(
                sql::INSERT_TAKEDOWN_EVENT,
                &[
                    Param::Text(&e.server),
                    Param::Text(e.from.as_str()),
                    Param::Text(to),
                    Param::Text(&e.by),
                    Param::Int(at_time),
                    Param::Text(&e.reason),
                    Param::Text(&e.evidence),
                ],
            )?;
            audit::append(conn, e.audit_entry())?;
        }
        Ok(())
    })
}

pub fn all<C: Connection>(conn: &mut C) -> Result<Vec<TakedownRecord>, StoreError> {
    conn.query(sql::TAKEDOWNS, &[])?
        .iter()
        .map(|r| {
            Ok(TakedownRecord {
                server: at(r, 0)?.text()?.to_string(),
                state: state(at(r, 1)?)?,
                updated: at(r, 2)?.int()?,
            })
        })
        .collect()
}

/// One server's moves, or with `None` every server's, in the order made.
pub fn history<C: Connection>(conn: &mut C, server: Option<&str>) -> Result<Vec<TakedownEvent>, StoreError> {
    let rows = match server {
        Some(server) => conn.query(sql::TAKEDOWN_HISTORY, &[Param::Text(server)])?,
        None => conn.query(sql::ALL_TAKEDOWN_HISTORY, &[])?,
    };
    rows.iter()
        .map(|r| {
            Ok(TakedownEvent {
                server: at(r, 0)?.text()?.to_string(),
                from: state(at(r, 1)?)?,
                to: state(at(r, 2)?)?,
                by: at(r, 3)?.text()?.to_string(),
                at: at(r, 4)?.int()?,
                reason: at(r, 5)?.text()?.to_string(),
                evidence: at(r, 6)?.text()?.to_string(),
            })
        })
        .collect()
}
