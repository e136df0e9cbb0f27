//! The audit log as a use case: signing tree heads at checkpoints, checking
//! the whole log and the store's rows against it, and inclusion proofs an
//! outside tool can check. The store appends an entry inside the
//! transaction of every change it logs (`dragnet_store`), so what is here
//! only reads and signs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use dragnet_core::access::{Org, Sharing};
use dragnet_core::audit::{self, CHAIN_START, Entry, Frontier, TreeHead};
use dragnet_core::case::{CaseAction, Custody, Evidence, Operation, Suspect};
use dragnet_core::digest::{Hash, hex, parse_hex};
use dragnet_core::store::{AbuseContact, Routing, TakedownEvent, TokenRecord};
use dragnet_core::{Store, Timestamp, format_timestamp};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::Serialize;

use crate::access::{OPERATOR, Scope, Who};
use crate::{Error, Result};

/// Entries read from the store at a time.
const PAGE: u32 = 10_000;

/// The ed25519 key that signs tree heads. Its 32-byte seed is kept in a
/// file readable by its owner only, made on first use.
pub struct Signer {
    pair: Ed25519KeyPair,
}

impl Signer {
    pub fn load_or_create(path: &Path) -> Result<Signer> {
        let seed = match std::fs::read_to_string(path) {
            Ok(text) => parse_hex(text.trim())
                .filter(|s| s.len() == 32)
                .ok_or_else(|| Error::invalid(format!("{}: not a 64-digit hex ed25519 seed", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
            Err(e) => return Err(Error::io("read", path)(e)),
        };
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        Ok(Signer { pair })
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

fn create(path: &Path) -> Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut seed = vec![0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::invalid(format!("no randomness for a signing key: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    }
    // create_new: two processes starting at once must not both write a key.
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
            return parse_hex(text.trim()).ok_or_else(|| Error::invalid(format!("{}: not a hex seed", path.display())));
        }
        Err(e) => return Err(Error::io("create", path)(e)),
    };
    writeln!(file, "{}", hex(&seed)).map_err(Error::io("write", path))?;
    Ok(seed)
}

/// Whether `head`'s signature is good for its own key.
fn signature_holds(head: &TreeHead) -> bool {
    let message = audit::tree_head_message(head.size, &head.root, head.at);
    UnparsedPublicKey::new(&ED25519, &head.key).verify(&message, &head.signature).is_ok()
}

/// Signs a tree head over every entry so far, unless the newest head
/// already covers them all; returns the head that covers them. The
/// entries since the last head are checked first: a log that no longer
/// holds together is never signed.
pub fn checkpoint(store: &mut dyn Store, signer: &Signer, now: Timestamp) -> Result<Option<TreeHead>> {
    let size = store.audit_size()?;
    let last = store.tree_heads()?.pop();
    if size == 0 || last.as_ref().is_some_and(|h| h.size == size) {
        return Ok(last);
    }
    let from = last.as_ref().map_or(0, |h| h.size);
    let mut previous = match from {
        0 => CHAIN_START,
        n => store.audit_entries(n - 1, 1)?.first().map(|l| l.chain).ok_or_else(|| missing(n))?,
    };
    let mut after = from;
    while after < size {
        let page = store.audit_entries(after, PAGE)?;
        if page.is_empty() {
            return Err(missing(after + 1));
        }
        for logged in page {
            if logged.entry.seq != after + 1 {
                return Err(missing(after + 1));
            }
            let leaf = audit::leaf_hash(&logged.entry);
            if leaf != logged.leaf || audit::chain(&previous, &leaf) != logged.chain {
                return Err(Error::invalid(format!(
                    "audit entry {} does not hash as logged: run dragnet audit verify",
                    logged.entry.seq
                )));
            }
            previous = logged.chain;
            after = logged.entry.seq;
        }
    }
    let leaves = store.audit_leaves(size)?;
    if leaves.len() as u64 != size {
        return Err(Error::invalid(format!("the audit log holds {} of its {size} entries", leaves.len())));
    }
    let root = audit::root(&leaves);
    let signature = signer.sign(&audit::tree_head_message(size, &root, now));
    let head = TreeHead { size, root, at: now, key: signer.public_key(), signature };
    store.add_tree_head(&head)?;
    Ok(Some(head))
}

fn missing(seq: u64) -> Error {
    Error::invalid(format!("audit entry {seq} is missing: run dragnet audit verify"))
}

/// The action of an entry that records reads of AMBER+STRICT or RED data.
pub const RESTRICTED_READ: &str = "read.restricted";

/// Entries for the restricted reads `scope` made since last asked: one per
/// source and marking, with how many items. The operator's reads on the
/// command line are logged too, with the organisation whose view they
/// showed (`--as ORG`).
pub fn restricted_reads(scope: &Scope, now: Timestamp) -> Vec<Entry> {
    let (actor, shown_as) = match (&scope.who, scope.shown_as()) {
        (Who::Anyone, _) => return Vec::new(),
        (_, Some(org)) => (OPERATOR.to_string(), Some(org)),
        (Who::Org { name, .. }, None) => (name.clone(), None),
        (Who::Operator, None) => (OPERATOR.to_string(), None),
    };
    scope
        .take_restricted_reads()
        .into_iter()
        .map(|(source, tlp, items)| {
            let body = match shown_as {
                Some(org) => serde_json::json!({"tlp": tlp.as_str(), "items": items, "as": org}),
                None => serde_json::json!({"tlp": tlp.as_str(), "items": items}),
            };
            Entry {
                seq: 0,
                at: now,
                actor: actor.clone(),
                action: RESTRICTED_READ.to_string(),
                subject: source,
                body: body.to_string(),
            }
        })
        .collect()
}

/// One thing `verify` found wrong.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The first log entry it concerns, when it concerns one.
    pub entry: Option<u64>,
    pub what: String,
}

/// What `verify` found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub entries: u64,
    pub tree_heads: usize,
    /// Size, time and root of the newest tree head.
    pub newest_head: Option<HeadView>,
    /// The earliest entry found altered, missing or unaccounted for.
    pub first_altered: Option<u64>,
    pub problems: Vec<Problem>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct HeadView {
    pub size: u64,
    pub at: String,
    pub root: String,
    pub key: String,
    pub signature: String,
}

impl From<&TreeHead> for HeadView {
    fn from(h: &TreeHead) -> HeadView {
        HeadView {
            size: h.size,
            at: format_timestamp(h.at),
            root: hex(&h.root),
            key: hex(&h.key),
            signature: hex(&h.signature),
        }
    }
}

/// Checks every entry (sequence, leaf hash, chain), every tree head (root
/// recomputed from the entries, ed25519 signature, a trusted key), and the
/// store's takedown rows against the moves the log records.
pub fn verify(store: &mut dyn Store, trusted: &[Vec<u8>]) -> Result<Verification> {
    let heads = store.tree_heads()?;
    let mut problems = Vec::new();
    let mut frontier = Frontier::default();
    let mut previous = CHAIN_START;
    let mut heads_left = heads.iter().peekable();
    let mut logged_by_action: HashMap<String, Vec<(u64, Entry)>> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, PAGE)?;
        let Some(last) = page.last() else { break };
        let next_after = last.entry.seq;
        for logged in page {
            let seq = logged.entry.seq;
            let expected = frontier.size() + 1;
            if seq != expected {
                problems.push(Problem {
                    entry: Some(expected),
                    what: format!("entries {expected} to {} are missing", seq - 1),
                });
            }
            let leaf = audit::leaf_hash(&logged.entry);
            if leaf != logged.leaf {
                problems.push(Problem {
                    entry: Some(seq),
                    what: format!("entry {seq} was altered: it no longer hashes to its leaf"),
                });
            }
            if audit::chain(&previous, &logged.leaf) != logged.chain {
                problems.push(Problem { entry: Some(seq), what: format!("entry {seq} breaks the hash chain") });
            }
            previous = logged.chain;
            // Gaps are padded so sizes and roots keep counting entries as numbered.
            while frontier.size() < seq {
                frontier.push(if frontier.size() + 1 == seq { leaf } else { CHAIN_START });
                while let Some(head) = heads_left.next_if(|h| h.size <= frontier.size()) {
                    check_head(head, frontier.size(), &frontier.root(), trusted, &heads, &mut problems);
                }
            }
            logged_by_action.entry(logged.entry.action.clone()).or_default().push((seq, logged.entry));
        }
        after = next_after;
    }
    let tip = store.audit_size()?;
    if tip > frontier.size() {
        problems.push(Problem {
            entry: Some(frontier.size() + 1),
            what: format!("entries {} to {tip} were handed out but are gone", frontier.size() + 1),
        });
    }
    for head in heads_left {
        problems.push(Problem {
            entry: Some(frontier.size() + 1),
            what: format!("the tree head of size {} covers entries that are gone", head.size),
        });
    }
    let mut logged = |action: &str| logged_by_action.remove(action).unwrap_or_default();
    let moves = logged(TakedownEvent::AUDIT_ACTION);
    let rows: Vec<Entry> = store.takedown_history(None)?.iter().map(TakedownEvent::audit_entry).collect();
    check_rows("takedown move", &rows, &moves, &mut problems);
    check_states(store, &moves, &mut problems)?;
    let rows: Vec<Entry> = store.operations()?.iter().map(Operation::audit_entry).collect();
    check_rows("operation", &rows, &logged(Operation::AUDIT_ACTION), &mut problems);
    let rows: Vec<Entry> = store.case_actions(None)?.iter().map(CaseAction::audit_entry).collect();
    check_rows("case action", &rows, &logged(CaseAction::AUDIT_ACTION), &mut problems);
    let rows: Vec<Entry> = store.evidence(None)?.iter().map(Evidence::audit_entry).collect();
    check_rows("evidence", &rows, &logged(Evidence::AUDIT_ACTION), &mut problems);
    let rows: Vec<Entry> = store.custody(None)?.iter().map(Custody::audit_entry).collect();
    check_rows("custody", &rows, &logged(Custody::AUDIT_ACTION), &mut problems);
    // Suspects: those added and not erased, each matching its digest.
    let erased: std::collections::BTreeSet<String> =
        logged(Suspect::AUDIT_ERASE).into_iter().map(|(_, e)| e.subject).collect();
    let live: Vec<(u64, Entry)> =
        logged(Suspect::AUDIT_ADD).into_iter().filter(|(_, e)| !erased.contains(&e.subject)).collect();
    let rows: Vec<Entry> = store.suspects(None)?.iter().map(Suspect::audit_entry).collect();
    check_rows("suspect", &rows, &live, &mut problems);
    check_access(store, &mut logged, &mut problems)?;
    let first_altered = problems.iter().filter_map(|p| p.entry).min();
    Ok(Verification {
        entries: frontier.size(),
        tree_heads: heads.len(),
        newest_head: heads.last().map(HeadView::from),
        first_altered,
        problems,
    })
}

fn check_head(
    head: &TreeHead,
    size: u64,
    root: &Hash,
    trusted: &[Vec<u8>],
    all: &[TreeHead],
    problems: &mut Vec<Problem>,
) {
    if !signature_holds(head) {
        problems
            .push(Problem { entry: None, what: format!("the tree head of size {} has a bad signature", head.size) });
    } else if !trusted.contains(&head.key) {
        problems.push(Problem {
            entry: None,
            what: format!("the tree head of size {} is signed by an untrusted key {}", head.size, hex(&head.key)),
        });
    }
    if size == head.size && *root != head.root {
        // The change lies after the last head that still matches.
        let since = all.iter().take_while(|h| h.size < head.size).map(|h| h.size).max().unwrap_or(0);
        problems.push(Problem {
            entry: Some(since + 1),
            what: format!(
                "entries {} to {} no longer hash to the root signed at {} (size {})",
                since + 1,
                head.size,
                format_timestamp(head.at),
                head.size
            ),
        });
    }
}

/// The rows of one table, each made into the entry that would log it, must
/// be exactly the logged entries of that kind, one for one and in order.
fn check_rows(what: &str, rows: &[Entry], logged: &[(u64, Entry)], problems: &mut Vec<Problem>) {
    for (i, (seq, entry)) in logged.iter().enumerate() {
        match rows.get(i) {
            Some(row) if same(row, entry) => {}
            Some(row) => problems.push(Problem {
                entry: Some(*seq),
                what: format!(
                    "the {what} row of {} at {} differs from entry {seq}",
                    row.subject,
                    format_timestamp(row.at)
                ),
            }),
            None => problems.push(Problem {
                entry: Some(*seq),
                what: format!("the {what} of {} logged as entry {seq} is gone from the store", entry.subject),
            }),
        }
    }
    for row in rows.iter().skip(logged.len()) {
        problems.push(Problem { entry: None, what: format!("a {what} row of {} is not in the log", row.subject) });
    }
}

/// Organisations, tokens, sharing limits, abuse contacts and routings:
/// what decides who may see what, and where notices go.
fn check_access(
    store: &mut dyn Store,
    logged: &mut impl FnMut(&str) -> Vec<(u64, Entry)>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let rows: Vec<Entry> = store.routings()?.iter().map(Routing::audit_entry).collect();
    check_rows("routing", &rows, &logged(Routing::AUDIT_ACTION), problems);
    // The rest are changed in place: each row must read as the last
    // entry logged for it (the time and actor are the log's alone).
    let rows: Vec<Entry> = store.orgs()?.iter().map(|o| o.audit_entry("", 0)).collect();
    check_latest("organisation", &rows, &logged(Org::AUDIT_ACTION), problems);
    let tokens = store.tokens()?;
    let rows: Vec<Entry> = tokens.iter().map(|t| t.audit_entry("")).collect();
    check_latest("token", &rows, &logged(TokenRecord::AUDIT_ADD), problems);
    let rows: Vec<Entry> = tokens.iter().filter_map(|t| Some(t.revoke_entry("", t.revoked?))).collect();
    check_latest("token revocation", &rows, &logged(TokenRecord::AUDIT_REVOKE), problems);
    let sharing_logged = logged(Sharing::AUDIT_ACTION);
    // A source nobody set limits on reads as the default and has no entry.
    let rows: Vec<Entry> = store
        .sharing()?
        .iter()
        .filter(|(source, s)| **s != Sharing::default() || sharing_logged.iter().any(|(_, e)| &e.subject == *source))
        .map(|(source, s)| s.audit_entry(source, "", 0))
        .collect();
    check_latest("sharing limit", &rows, &sharing_logged, problems);
    let rows: Vec<Entry> = store.contacts()?.iter().map(|c| c.audit_entry("", 0)).collect();
    check_latest("abuse contact", &rows, &logged(AbuseContact::AUDIT_ACTION), problems);
    Ok(())
}

/// Rows changed in place, made into entries: each must have the body of
/// the last entry logged for its subject, and each subject logged must
/// still have its row.
fn check_latest(what: &str, rows: &[Entry], logged: &[(u64, Entry)], problems: &mut Vec<Problem>) {
    let mut last: BTreeMap<&str, (u64, &Entry)> = BTreeMap::new();
    for (seq, entry) in logged {
        last.insert(&entry.subject, (*seq, entry));
    }
    for row in rows {
        match last.remove(row.subject.as_str()) {
            Some((_, entry)) if entry.body == row.body => {}
            Some((seq, _)) => problems.push(Problem {
                entry: Some(seq),
                what: format!("the {what} of {} differs from entry {seq}", row.subject),
            }),
            None => {
                problems.push(Problem { entry: None, what: format!("the {what} of {} is not in the log", row.subject) })
            }
        }
    }
    for (subject, (seq, _)) in last {
        problems.push(Problem {
            entry: Some(seq),
            what: format!("the {what} of {subject} logged as entry {seq} is gone from the store"),
        });
    }
}

/// Each server's takedown must stand where its last logged move left it.
fn check_states(store: &mut dyn Store, moves: &[(u64, Entry)], problems: &mut Vec<Problem>) -> Result<()> {
    let mut last: BTreeMap<&str, (u64, &Entry)> = BTreeMap::new();
    for (seq, logged) in moves {
        last.insert(&logged.subject, (*seq, logged));
    }
    let states: HashMap<String, _> = store.takedowns()?.into_iter().map(|r| (r.server.clone(), r)).collect();
    for (server, (seq, logged)) in &last {
        let to = serde_json::from_str::<serde_json::Value>(&logged.body)
            .ok()
            .and_then(|b| b["to"].as_str().map(str::to_string))
            .unwrap_or_default();
        match states.get(*server) {
            Some(r) if r.state.as_str() == to && r.updated == logged.at => {}
            Some(r) => problems.push(Problem {
                entry: Some(*seq),
                what: format!("the takedown of {server} stands at {} but entry {seq} moved it to {to}", r.state),
            }),
            None => problems.push(Problem {
                entry: Some(*seq),
                what: format!("the takedown of {server}, moved to {to} by entry {seq}, is gone"),
            }),
        }
    }
    for server in states.keys().filter(|s| !last.contains_key(s.as_str())) {
        problems.push(Problem { entry: None, what: format!("the takedown of {server} has no move in the log") });
    }
    Ok(())
}

fn same(a: &Entry, b: &Entry) -> bool {
    (a.at, &a.actor, &a.action, &a.subject, &a.body) == (b.at, &b.actor, &b.action, &b.subject, &b.body)
}

/// An entry, where it sits in the tree a signed head covers, and the path
/// from its leaf to that head's root: everything an outside RFC 6962 and
/// ed25519 implementation needs to check it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub entry: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub body: String,
    /// The bytes the leaf hash covers (`core::audit::leaf_data`), hex.
    pub leaf_data: String,
    /// SHA-256(0x00 ‖ leaf_data), hex.
    pub leaf_hash: String,
    /// 0-based: the entry's seq minus one.
    pub leaf_index: u64,
    pub tree_size: u64,
    /// RFC 6962 audit path, leaf first, hex.
    pub path: Vec<String>,
    pub tree_head: HeadView,
    /// The bytes the head's signature covers, hex.
    pub signed: String,
}

/// The inclusion proof of entry `seq` in the newest signed tree head.
pub fn proof(store: &mut dyn Store, seq: u64) -> Result<Proof> {
    let head = store
        .tree_heads()?
        .pop()
        .ok_or_else(|| Error::NotFound("no tree head is signed yet: run dragnet audit checkpoint".into()))?;
    if seq == 0 || seq > head.size {
        return Err(Error::NotFound(format!(
            "entry {seq} is not covered by the newest tree head (size {}): run dragnet audit checkpoint",
            head.size
        )));
    }
    let logged = store.audit_entries(seq - 1, 1)?.into_iter().next().filter(|l| l.entry.seq == seq);
    let logged = logged.ok_or_else(|| Error::NotFound(format!("no audit entry {seq}")))?;
    let leaves = store.audit_leaves(head.size)?;
    let index = usize::try_from(seq - 1).map_err(|_| Error::invalid("entry number too large"))?;
    let path =
        audit::inclusion_proof(&leaves, index).ok_or_else(|| Error::NotFound(format!("no audit entry {seq}")))?;
    let entry = &logged.entry;
    Ok(Proof {
        entry: seq,
        at: format_timestamp(entry.at),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        subject: entry.subject.clone(),
        body: entry.body.clone(),
        leaf_data: hex(&audit::leaf_data(entry)),
        leaf_hash: hex(&audit::leaf_hash(entry)),
        leaf_index: seq - 1,
        tree_size: head.size,
        path: path.iter().map(|h| hex(h)).collect(),
        signed: hex(&audit::tree_head_message(head.size, &head.root, head.at)),
        tree_head: HeadView::from(&head),
    })
}

/// One entry as shown to a reader of the log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub body: String,
    pub leaf_hash: String,
}

/// Entries after `after`, at most `limit` (up to 10,000), for reading the log.
pub fn entries(store: &mut dyn Store, after: u64, limit: u32) -> Result<Vec<EntryView>> {
    Ok(store
        .audit_entries(after, limit.min(PAGE))?
        .into_iter()
        .map(|l| EntryView {
            seq: l.entry.seq,
            at: format_timestamp(l.entry.at),
            leaf_hash: hex(&l.leaf),
            actor: l.entry.actor,
            action: l.entry.action,
            subject: l.entry.subject,
            body: l.entry.body,
        })
        .collect())
}
