//! Operations and case actions as use cases: a coordinator opens an
//! operation with its participants; agencies (and coordinators for them)
//! record what they did in it. Each write is logged in the audit log by the
//! store, in the same transaction.

use dragnet_core::access::{OrgKind, Role};
use dragnet_core::case::{ActionKind, CaseAction, Operation, Participant};
use dragnet_core::digest::parse_hash;
use dragnet_core::{Category, Store, Timestamp};

use crate::access::{Scope, Who};
use crate::{Error, Result};

/// Longest name, note or role kept.
const MAX_TEXT: usize = 4000;
const MAX_NAME: usize = 100;

/// An operation asked for.
#[derive(Debug, Clone)]
pub struct NewOperation {
    pub name: String,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub scope: Vec<Category>,
    /// (organisation, role in the operation)
    pub participants: Vec<(String, String)>,
}

/// A case action asked for (who records it and when come from the caller).
#[derive(Debug, Clone)]
pub struct NewAction {
    pub operation: String,
    pub kind: ActionKind,
    /// Whose action; an agency's token records only its own.
    pub agency: String,
    pub country: String,
    pub happened: Timestamp,
    pub server: Option<String>,
    pub count: u32,
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
    pub note: String,
}

fn text(what: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(Error::invalid(format!("{what}: longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(format!("{what}: holds a control character")));
    }
    Ok(value.to_string())
}

/// Opens an operation (coordinators only).
pub fn create(store: &mut dyn Store, scope: &Scope, new: &NewOperation, now: Timestamp) -> Result<Operation> {
    scope.require_coordinator(Role::Analyst)?;
    let name = text("name", &new.name, MAX_NAME)?;
    if name.is_empty() {
        return Err(Error::invalid("an operation needs a name"));
    }
    if new.starts > new.ends {
        return Err(Error::invalid("an operation cannot end before it starts"));
    }
    let orgs = store.orgs()?;
    let mut participants = Vec::new();
    for (org, role) in &new.participants {
        if !orgs.iter().any(|o| &o.name == org) {
            return Err(Error::NotFound(format!("no organisation {org}")));
        }
        let role = text("role", role, MAX_NAME)?;
        participants.retain(|p: &Participant| &p.org != org);
        participants.push(Participant { org: org.clone(), role });
    }
    participants.sort_by(|a, b| a.org.cmp(&b.org));
    let mut categories = new.scope.clone();
    categories.sort();
    categories.dedup();
    let op = Operation {
        name,
        starts: new.starts,
        ends: new.ends,
        scope: categories,
        participants,
        created: now,
        created_by: scope.actor()?,
    };
    if !store.add_operation(&op)? {
        return Err(Error::invalid(format!("an operation {} exists already", op.name)));
    }
    Ok(op)
}

/// The operations the caller may know of: all to a coordinator, those it
/// takes part in to anyone else.
pub fn list(store: &mut dyn Store, scope: &Scope) -> Result<Vec<Operation>> {
    scope.require(Role::Reader)?;
    let all = store.operations()?;
    Ok(all.into_iter().filter(|op| may_know(scope, op)).collect())
}

fn may_know(scope: &Scope, op: &Operation) -> bool {
    match scope.org() {
        None => matches!(scope.who, Who::Operator),
        Some(org) => org.kind == OrgKind::Coordinator || op.participants.iter().any(|p| p.org == org.name),
    }
}

/// One operation the caller may know of.
pub fn show(store: &mut dyn Store, scope: &Scope, name: &str) -> Result<Operation> {
    list(store, scope)?
        .into_iter()
        .find(|op| op.name == name)
        .ok_or_else(|| Error::NotFound(format!("no operation {name}")))
}

/// The packages sent within an operation: those built for its agencies
/// between its start and its end, as the caller may see them.
pub fn packages(store: &mut dyn Store, scope: &Scope, name: &str) -> Result<Vec<dragnet_core::store::PackageRecord>> {
    let op = show(store, scope, name)?;
    let agencies: Vec<&str> = op.participants.iter().map(|p| p.org.as_str()).collect();
    Ok(store
        .packages(None)?
        .into_iter()
        .filter(|p| agencies.contains(&p.org.as_str()) && (op.starts..=op.ends).contains(&p.created))
        .filter(|p| scope.acts_for(&p.org))
        .collect())
}

/// Records what an agency did. An agency's analysts record their own
/// agency's actions; coordinators' analysts record any agency's.
pub fn record(store: &mut dyn Store, scope: &Scope, new: &NewAction, now: Timestamp) -> Result<CaseAction> {
    scope.require(Role::Analyst)?;
    let op = show(store, scope, &new.operation)?;
    match scope.org() {
        Some(org) if org.kind == OrgKind::Agency && org.name != new.agency => {
            return Err(Error::Forbidden(format!("{} records only its own actions", org.name)));
        }
        Some(org) if !matches!(org.kind, OrgKind::Agency | OrgKind::Coordinator) => {
            return Err(Error::Forbidden(format!("a {} does not record case actions", org.kind)));
        }
        _ => {}
    }
    let agency = store
        .orgs()?
        .into_iter()
        .find(|o| o.name == new.agency)
        .filter(|o| o.kind == OrgKind::Agency)
        .ok_or_else(|| Error::NotFound(format!("no agency {}", new.agency)))?;
    let country = new.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::invalid(format!("country: `{}` is not an ISO 3166 code", new.country)));
    }
    if new.count == 0 {
        return Err(Error::invalid("count: at least 1"));
    }
    let sha256 = match (&new.sha256, new.kind) {
        (Some(h), _) => Some(
            parse_hash(h.trim())
                .map(|_| h.trim().to_ascii_lowercase())
                .ok_or_else(|| Error::invalid("sha256: not 64 hex digits"))?,
        ),
        (None, ActionKind::DataSeized) => return Err(Error::invalid("data seized needs its sha256 and bytes")),
        (None, _) => None,
    };
    if new.kind == ActionKind::DataSeized && new.bytes.is_none() {
        return Err(Error::invalid("data seized needs its sha256 and bytes"));
    }
    let server = new.server.as_deref().map(|s| text("server", s, MAX_NAME)).transpose()?;
    let action = CaseAction {
        operation: op.name,
        kind: new.kind,
        agency: agency.name,
        country,
        happened: new.happened,
        server: server.filter(|s| !s.is_empty()),
        count: new.count,
        bytes: new.bytes,
        sha256,
        note: text("note", &new.note, MAX_TEXT)?,
        by: scope.actor()?,
        at: now,
    };
    store.add_case_action(&action)?;
    Ok(action)
}

/// An operation's actions the caller may see: all to a coordinator and the
/// operator, its own to an agency.
pub fn actions(store: &mut dyn Store, scope: &Scope, operation: &str) -> Result<Vec<CaseAction>> {
    let op = show(store, scope, operation)?;
    let all = store.case_actions(Some(&op.name))?;
    Ok(match scope.org() {
        Some(org) if org.kind != OrgKind::Coordinator => all.into_iter().filter(|a| a.agency == org.name).collect(),
        _ => all,
    })
}
