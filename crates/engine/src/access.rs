//! Organisations, tokens and the scope of a caller: who is asking, and the
//! community and sharing limits [`may_see`] needs to answer for them. Every
//! read the engine serves filters through [`Scope::allows`].

use std::collections::BTreeMap;
use std::sync::Arc;

use dragnet_core::access::{Community, Org, OrgKind, Recipient, Role, Sharing, Viewer, may_see};
use dragnet_core::digest::{hex, sha256};
use dragnet_core::store::{NewToken, Source, TokenRecord};
use dragnet_core::{Observable, Store, Timestamp, Tlp};

use crate::{Error, Result};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// Whoever holds the store (the local command line).
    Operator,
    /// Anyone, without a token: TLP:CLEAR only.
    Anyone,
    /// An organisation, through a token with a role.
    Org { name: String, role: Role, token: i64 },
}

/// What the policy point needs besides the caller: every organisation and
/// every source's sharing limits, read together (a server may keep one
/// for a moment and share it between requests).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    community: Community,
    sharing: BTreeMap<String, Sharing>,
}

impl Directory {
    pub fn load(store: &mut dyn Store) -> Result<Directory> {
        Ok(Directory { community: Community::new(store.orgs()?), sharing: store.sharing()? })
    }
}

/// The actor the command line acts as.
pub const OPERATOR: &str = "operator";

/// A caller with what the policy point needs to judge each item for them.
#[derive(Debug, Clone)]
pub struct Scope {
    pub who: Who,
    directory: Arc<Directory>,
    /// What this caller was allowed to see marked AMBER+STRICT or RED, by
    /// source and marking: the audit log records such reads.
    restricted: Arc<std::sync::Mutex<BTreeMap<(String, Tlp), u64>>>,
    /// An organisation's view shown to the operator (`--as ORG`): the
    /// operator read it, not the organisation.
    shown_to_operator: bool,
}

impl Scope {
    /// The operator: everything, no lookups needed.
    pub fn operator() -> Scope {
        Scope { who: Who::Operator, directory: Arc::default(), restricted: Arc::default(), shown_to_operator: false }
    }

    /// The scope of `who`, with the store's organisations and sharing limits.
    pub fn load(store: &mut dyn Store, who: Who) -> Result<Scope> {
        if who == Who::Operator {
            return Ok(Scope::operator());
        }
        Scope::within(Arc::new(Directory::load(store)?), who)
    }

    /// The scope of `who` in a directory read before.
    pub fn within(directory: Arc<Directory>, who: Who) -> Result<Scope> {
        if let Who::Org { name, .. } = &who
            && directory.community.get(name).is_none()
        {
            return Err(Error::NotFound(format!("no organisation `{name}`")));
        }
        Ok(Scope { who, directory, restricted: Arc::default(), shown_to_operator: false })
    }

    /// The scope of an organisation seen as one of its readers
    /// (`--as ORG` on the command line).
    pub fn of_org(store: &mut dyn Store, name: &str) -> Result<Scope> {
        let scope = Scope::load(store, Who::Org { name: name.to_string(), role: Role::Reader, token: 0 })?;
        Ok(Scope { shown_to_operator: true, ..scope })
    }

    /// The organisation whose view an operator's read showed, if it was one.
    pub fn shown_as(&self) -> Option<&str> {
        match &self.who {
            Who::Org { name, .. } if self.shown_to_operator => Some(name),
            _ => None,
        }
    }

    fn viewer(&self) -> Viewer<'_> {
        match &self.who {
            Who::Operator => Viewer::Operator,
            Who::Anyone => Viewer::Anyone,
            Who::Org { name, .. } => self.directory.community.get(name).map_or(Viewer::Anyone, Viewer::Org),
        }
    }

    /// THE question every read asks: may this caller see something marked
    /// `tlp` that `source` reported?
    pub fn allows(&self, source: &str, tlp: Tlp) -> bool {
        let allowed = match self.who {
            Who::Operator => true,
            _ => match self.directory.sharing.get(source) {
                Some(sharing) => may_see(&self.directory.community, self.viewer(), tlp, sharing),
                None => may_see(&self.directory.community, self.viewer(), tlp, &Sharing::default()),
            },
        };
        if allowed && tlp >= Tlp::AmberStrict && self.who != Who::Anyone {
            let mut seen = self.restricted.lock().unwrap_or_else(|p| p.into_inner());
            *seen.entry((source.to_string(), tlp)).or_default() += 1;
        }
        allowed
    }

    /// The AMBER+STRICT and RED items this caller was allowed, by source
    /// and marking, since last asked (for the audit log).
    pub fn take_restricted_reads(&self) -> Vec<(String, Tlp, u64)> {
        let mut seen = self.restricted.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *seen).into_iter().map(|((source, tlp), n)| (source, tlp, n)).collect()
    }

    /// Warninglisted values are kept for the operator's eyes only: never
    /// served, routed or exported.
    pub fn sees_warninglisted(&self) -> bool {
        self.who == Who::Operator
    }

    /// Who the caller is in the records it leaves (takedown moves, the
    /// audit log): its organisation, or `operator` on the command line.
    pub fn actor(&self) -> Result<String> {
        match &self.who {
            Who::Org { name, .. } => Ok(name.clone()),
            Who::Operator => Ok(OPERATOR.to_string()),
            Who::Anyone => Err(Error::Unauthenticated("a token is needed".into())),
        }
    }

    /// The caller's organisation, if it is one.
    pub fn org(&self) -> Option<&Org> {
        match &self.who {
            Who::Org { name, .. } => self.directory.community.get(name),
            _ => None,
        }
    }

    /// Whether the caller may act for `org` (read its packages, its
    /// collections, its directory entry): the operator, a coordinator, or
    /// `org` itself.
    pub fn acts_for(&self, org: &str) -> bool {
        match &self.who {
            Who::Operator => true,
            Who::Anyone => false,
            Who::Org { name, .. } => name == org || self.org().is_some_and(|o| o.kind == OrgKind::Coordinator),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match &self.who {
            Who::Org { role, .. } => Some(*role),
            Who::Operator => Some(Role::Admin),
            Who::Anyone => None,
        }
    }

    /// Refused unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<()> {
        match self.role() {
            Some(role) if role.allows(needed) => Ok(()),
            Some(role) => Err(Error::Forbidden(format!("a {role} token may not do this; it needs {needed}"))),
            None => Err(Error::Unauthenticated("a token is needed".into())),
        }
    }

    /// Refused unless the caller is the operator or a coordinator with `needed`.
    pub fn require_coordinator(&self, needed: Role) -> Result<()> {
        self.require(needed)?;
        match self.org() {
            Some(org) if org.kind != OrgKind::Coordinator => {
                Err(Error::Forbidden("only a coordinator's token may do this".into()))
            }
            _ => Ok(()),
        }
    }

    /// May the caller write to `source`, owned by `owner` as the store says
    /// now? A partner's tokens write only to its own sources (a new source
    /// becomes its own); a coordinator's analysts and admins also to
    /// sources nobody owns.
    pub fn may_write(&self, source: &str, exists: bool, owner: Option<&str>) -> Result<()> {
        self.require(Role::Submitter)?;
        let Some(org) = self.org() else { return Ok(()) };
        match owner {
            Some(owner) if owner == org.name => Ok(()),
            None if !exists => Ok(()),
            None if org.kind == OrgKind::Coordinator && self.require(Role::Analyst).is_ok() => Ok(()),
            _ => Err(Error::Forbidden(format!("source `{source}` is not {}'s", org.name))),
        }
    }
}

/// Names of organisations: short, lower-case, no separators that the store
/// or a recipient list would read as structure.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{}` is not an organisation name: 1–64 of a–z, 0–9, '-', '_', '.', starting with a letter or digit",
            dragnet_core::record::clip(name)
        )))
    }
}

/// Checks and normalises an organisation (country codes upper-case,
/// prefixes in canonical form) and stores it.
pub fn add_org(store: &mut dyn Store, mut org: Org, by: &str) -> Result<Org> {
    check_name(&org.name)?;
    for c in &mut org.countries {
        *c = c.trim().to_ascii_uppercase();
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(format!("`{c}` is not an ISO 3166 country code (two letters)")));
        }
    }
    for p in &mut org.prefixes {
        let parsed = Observable::guess(p).map_err(|e| Error::invalid(format!("--prefix {p}: {e}")))?;
        *p = match parsed.kind() {
            dragnet_core::Kind::Cidr => parsed.value().to_string(),
            dragnet_core::Kind::Ipv4 => format!("{}/32", parsed.value()),
            dragnet_core::Kind::Ipv6 => format!("{}/128", parsed.value()),
            _ => return Err(Error::invalid(format!("--prefix {p}: not a CIDR"))),
        };
    }
    for c in &org.clients {
        check_name(c)?;
    }
    org.countries.sort();
    org.countries.dedup();
    org.asns.sort_unstable();
    org.asns.dedup();
    store.add_org(&org, by, crate::now())?;
    Ok(org)
}

/// A token's secret: `dgt_` and 64 hex digits of the system's randomness.
fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::invalid(format!("no randomness for a token: {e}")))?;
    Ok(format!("dgt_{}", hex(&bytes)))
}

/// SHA-256 of a token's secret, hex: all the store ever holds of it.
pub fn token_digest(secret: &str) -> String {
    hex(&sha256(secret.as_bytes()))
}

/// Creates a token for `org`; the secret is returned once and never stored.
pub fn create_token(
    store: &mut dyn Store,
    by: &str,
    org: &str,
    role: Role,
    expires: Option<Timestamp>,
) -> Result<(String, TokenRecord)> {
    let secret = new_secret()?;
    let digest = token_digest(&secret);
    let label: String = secret.chars().take(12).collect();
    let now = crate::now();
    if expires.is_some_and(|e| e <= now) {
        return Err(Error::invalid("--expires is in the past"));
    }
    let id = store.add_token(&NewToken { org, by, role, digest: &digest, label: &label, created: now, expires })?;
    let record = TokenRecord { id, org: org.to_string(), role, label, created: now, expires, revoked: None, digest };
    Ok((secret, record))
}

/// Revokes a token; false when there is none, or it was revoked before.
pub fn revoke_token(store: &mut dyn Store, by: &str, id: i64) -> Result<bool> {
    Ok(store.revoke_token(id, by, crate::now())?)
}

/// The caller a bearer secret stands for; unknown, revoked and expired
/// tokens are all refused the same way, so a guess learns nothing.
pub fn authenticate(store: &mut dyn Store, secret: &str, now: Timestamp) -> Result<Who> {
    let refused = || Error::Unauthenticated("the token is unknown, revoked or expired".into());
    let record = store.token_by_digest(&token_digest(secret))?.ok_or_else(refused)?;
    if record.revoked.is_some() || record.expires.is_some_and(|e| e <= now) {
        return Err(refused());
    }
    Ok(Who::Org { name: record.org, role: record.role, token: record.id })
}

/// Sets who a source belongs to and who receives its data.
pub fn share_source(
    store: &mut dyn Store,
    by: &str,
    source: &Source,
    owner: Option<&str>,
    recipients: &[String],
) -> Result<()> {
    let orgs = store.orgs()?;
    let known = |name: &str| orgs.iter().any(|o| o.name == name);
    if let Some(owner) = owner
        && !known(owner)
    {
        return Err(Error::NotFound(format!("no organisation `{owner}`")));
    }
    let mut parsed = Vec::new();
    for r in recipients {
        let recipient: Recipient = r.parse().map_err(|e| Error::invalid(format!("--with {r}: {e}")))?;
        if let Recipient::Org(name) = &recipient
            && !known(name)
        {
            return Err(Error::NotFound(format!("no organisation `{name}`")));
        }
        parsed.push(recipient);
    }
    let sharing = Sharing { owner: owner.map(str::to_string), recipients: parsed };
    store.set_sharing(source, &sharing, by, crate::now())?;
    Ok(())
}
