//! Suspects, kept minimal (an alias, a nationality, a role), seen by the
//! owning agency only, and erased when their retention date passes. The
//! audit log holds a digest of each record, never the data.

use dragnet_core::access::{OrgKind, Role};
use dragnet_core::case::Suspect;
use dragnet_core::{Store, Timestamp};

use crate::access::{Scope, Who};
use crate::{Error, Result, operations};

/// Longest alias or role kept.
const MAX_TEXT: usize = 200;

/// A suspect to record.
#[derive(Debug, Clone)]
pub struct NewSuspect {
    pub operation: String,
    pub agency: String,
    pub alias: String,
    pub nationality: Option<String>,
    pub role: String,
    pub retain_until: Timestamp,
}

/// The agency whose records the caller may touch: its own (`None` for the
/// operator, who may touch any).
fn owner(scope: &Scope) -> Result<Option<String>> {
    match (&scope.who, scope.org()) {
        (Who::Operator, _) => Ok(None),
        (_, Some(org)) if org.kind == OrgKind::Agency => Ok(Some(org.name.clone())),
        (Who::Anyone, _) => Err(Error::Unauthenticated("a token is needed".into())),
        _ => Err(Error::Forbidden("suspects are seen by their agency only".into())),
    }
}

fn text(what: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(Error::invalid(format!("{what}: longer than {MAX_TEXT} characters, or holds a control character")));
    }
    Ok(value.to_string())
}

pub fn add(store: &mut dyn Store, scope: &Scope, new: &NewSuspect, now: Timestamp) -> Result<Suspect> {
    scope.require(Role::Analyst)?;
    if let Some(own) = owner(scope)?
        && own != new.agency
    {
        return Err(Error::Forbidden(format!("{own} records only its own suspects")));
    }
    let op = operations::show(store, scope, &new.operation)?;
    if !store.orgs()?.iter().any(|o| o.name == new.agency && o.kind == OrgKind::Agency) {
        return Err(Error::NotFound(format!("no agency {}", new.agency)));
    }
    let alias = text("alias", &new.alias)?;
    if alias.is_empty() {
        return Err(Error::invalid("a suspect needs an alias"));
    }
    if new.retain_until <= now {
        return Err(Error::invalid("the retention date must be in the future"));
    }
    let nationality = new.nationality.as_deref().map(|n| n.trim().to_ascii_uppercase()).filter(|n| !n.is_empty());
    if let Some(n) = &nationality
        && (n.len() != 2 || !n.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(Error::invalid(format!("nationality: `{n}` is not an ISO 3166 code")));
    }
    let by = scope.actor()?;
    let mut suspect = Suspect {
        id: 0,
        operation: op.name,
        agency: new.agency.clone(),
        alias,
        nationality,
        role: text("role", &new.role)?,
        retain_until: new.retain_until,
        added_by: by,
        added_at: now,
    };
    suspect.id = store.add_suspect(&suspect)?;
    Ok(suspect)
}

/// The suspects the caller may see: its agency's own (all, to the operator).
pub fn list(store: &mut dyn Store, scope: &Scope) -> Result<Vec<Suspect>> {
    let own = owner(scope)?;
    Ok(store.suspects(own.as_deref())?)
}

/// Erases every suspect whose retention date has passed (operator or admins).
pub fn apply_retention(store: &mut dyn Store, scope: &Scope, now: Timestamp) -> Result<Vec<Suspect>> {
    scope.require_coordinator(Role::Admin)?;
    let by = scope.actor()?;
    Ok(store.erase_suspects(now, &by)?)
}
