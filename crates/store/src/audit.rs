//! The audit log's rows. An entry is appended inside the transaction of
//! the change it records, so a change and its entry commit together or not
//! at all. One tip row holds the last sequence number and chain value: its
//! row lock makes concurrent appenders (PostgreSQL) take turns.

use dragnet_core::StoreError;
use dragnet_core::audit::{self, Entry, Logged, TreeHead};
use dragnet_core::digest::{Hash, hex, parse_hash, parse_hex};

use crate::db::{Cell, Connection, Param, at};
use crate::schema::sql;

/// Appends an entry for a change (its `seq` is assigned here) inside the
/// caller's transaction.
pub(crate) fn append<C: Connection>(conn: &mut C, entry: Entry) -> Result<Logged, StoreError> {
    let rows = conn.query(sql::ADVANCE_AUDIT_TIP, &[])?;
    let row = rows.first().ok_or_else(|| StoreError::Backend("the audit tip row is missing".into()))?;
    let seq = at(row, 0)?.count()?;
    let previous = hash(at(row, 1)?, "audit chain")?;
    let entry = Entry { seq, ..entry };
    let leaf = audit::leaf_hash(&entry);
    let chain = audit::chain(&previous, &leaf);
    conn.exec(sql::SET_AUDIT_CHAIN, &[Param::Text(&hex(&chain))])?;
    conn.exec(
        sql::INSERT_AUDIT_ENTRY,
        &[
            Param::Int(int(seq)?),
            Param::Int(entry.at),
            Param::Text(&entry.actor),
            Param::Text(&entry.action),
            Param::Text(&entry.subject),
            Param::Text(&entry.body),
            Param::Text(&hex(&leaf)),
            Param::Text(&hex(&chain)),
        ],
    )?;
    Ok(Logged { entry, leaf, chain })
}

fn int(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt { what: "audit sequence", value: n.to_string() })
}

fn hash(cell: &Cell, what: &'static str) -> Result<Hash, StoreError> {
    let text = cell.text()?;
    parse_hash(text).ok_or_else(|| StoreError::Corrupt { what, value: text.to_string() })
}

fn bytes(cell: &Cell, what: &'static str) -> Result<Vec<u8>, StoreError> {
    let text = cell.text()?;
    parse_hex(text).ok_or_else(|| StoreError::Corrupt { what, value: text.to_string() })
}

/// Entries with `seq` > `after`, at most `limit`, in order: as stored, so
/// that a verifier sees what an attacker may have changed.
pub(crate) fn entries<C: Connection>(conn: &mut C, after: u64, limit: u32) -> Result<Vec<Logged>, StoreError> {
    // Past the largest sequence a store can hold there is nothing to read.
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    conn.query(sql::AUDIT_ENTRIES, &[Param::Int(after), Param::Int(i64::from(limit))])?
        .iter()
        .map(|r| {
            Ok(Logged {
                entry: Entry {
                    seq: at(r, 0)?.count()?,
                    at: at(r, 1)?.int()?,
                    actor: at(r, 2)?.text()?.to_string(),
                    action: at(r, 3)?.text()?.to_string(),
                    subject: at(r, 4)?.text()?.to_string(),
                    body: at(r, 5)?.text()?.to_string(),
                },
                leaf: hash(at(r, 6)?, "audit leaf")?,
                chain: hash(at(r, 7)?, "audit chain")?,
            })
        })
        .collect()
}

/// The stored leaf hashes of entries 1..=`size`, in order.
pub(crate) fn leaves<C: Connection>(conn: &mut C, size: u64) -> Result<Vec<Hash>, StoreError> {
    conn.query(sql::AUDIT_LEAVES, &[Param::Int(int(size)?)])?.iter().map(|r| hash(at(r, 0)?, "audit leaf")).collect()
}

/// The last sequence number handed out (0: none yet).
pub(crate) fn size<C: Connection>(conn: &mut C) -> Result<u64, StoreError> {
    match conn.query(sql::AUDIT_TIP, &[])?.first() {
        Some(row) => at(row, 0)?.count(),
        None => Err(StoreError::Backend("the audit tip row is missing".into())),
    }
}

pub(crate) fn add_head<C: Connection>(conn: &mut C, head: &TreeHead) -> Result<bool, StoreError> {
    let added = conn.exec(
        sql::INSERT_TREE_HEAD,
        &[
            Param::Int(int(head.size)?),
            Param::Text(&hex(&head.root)),
            Param::Int(head.at),
            Param::Text(&hex(&head.key)),
            Param::Text(&hex(&head.signature)),
        ],
    )?;
    Ok(added == 1)
}

pub(crate) fn heads<C: Connection>(conn: &mut C) -> Result<Vec<TreeHead>, StoreError> {
    conn.query(sql::TREE_HEADS, &[])?
        .iter()
        .map(|r| {
            Ok(TreeHead {
                size: at(r, 0)?.count()?,
                root: hash(at(r, 1)?, "tree head root")?,
                at: at(r, 2)?.int()?,
                key: bytes(at(r, 3)?, "tree head key")?,
                signature: bytes(at(r, 4)?, "tree head signature")?,
            })
        })
        .collect()
}
