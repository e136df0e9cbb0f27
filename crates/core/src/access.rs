//! Who may see what: organisations, the roles their tokens carry, and the
//! one policy point ([`may_see`]) that every read path asks before it
//! returns an observation, a server member, a package or an export line.
//! Pure: the same answer from the command line, the API, TAXII and DNS.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{LabelError, Tlp, string_enum};

/// What an organisation is to the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrgKind {
    /// Runs the operation: routes servers, builds packages.
    Coordinator,
    /// Brings data (feeds, telemetry) and takes feedback.
    Partner,
    /// Police: acts on the servers in its jurisdiction.
    Agency,
    /// Outside the community: sees TLP:CLEAR only.
    Public,
}

string_enum!(OrgKind, "organisation kind", {
    Coordinator => "coordinator",
    Partner => "partner",
    Agency => "agency",
    Public => "public",
});

impl FromStr for OrgKind {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgKind::ALL.iter().copied().find(|k| k.as_str() == s.trim().to_ascii_lowercase()).ok_or_else(|| LabelError {
            what: "organisation kind",
            value: s.to_string(),
            expected: "coordinator, partner, agency or public",
        })
    }
}

/// What a token may do. Each role may do what the ones after it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Manages organisations, tokens and routings.
    Admin,
    /// Reads everything its organisation may see, builds packages.
    Analyst,
    /// Writes to its organisation's own sources, and reads.
    Submitter,
    /// Reads what its organisation may see.
    Reader,
}

string_enum!(Role, "role", {
    Admin => "admin",
    Analyst => "analyst",
    Submitter => "submitter",
    Reader => "reader",
});

impl FromStr for Role {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.iter().copied().find(|k| k.as_str() == s.trim().to_ascii_lowercase()).ok_or_else(|| LabelError {
            what: "role",
            value: s.to_string(),
            expected: "admin, analyst, submitter or reader",
        })
    }
}

impl Role {
    /// Whether this role includes `needed` (admin ⊃ analyst ⊃ submitter ⊃ reader).
    pub fn allows(self, needed: Role) -> bool {
        self <= needed
    }
}

/// A member of the community (or the public), with an agency's jurisdiction.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub name: String,
    pub kind: OrgKind,
    /// ISO 3166 codes (an agency's jurisdiction).
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub asns: Vec<u32>,
    /// CIDRs.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Organisations this one names as its clients: they may see TLP:AMBER
    /// (not AMBER+STRICT) that this one received.
    #[serde(default)]
    pub clients: Vec<String>,
}

impl Org {
    pub const AUDIT_ACTION: &'static str = "org.add";

    /// The audit entry that records its creation by `by` at `at`.
    pub fn audit_entry(&self, by: &str, at: crate::Timestamp) -> crate::audit::Entry {
        crate::audit::Entry::of(Self::AUDIT_ACTION, by, &self.name, at, self)
    }
}

/// To whom something was given: one organisation by name, or every
/// organisation of a kind (`kind:agency`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recipient {
    Org(String),
    Kind(OrgKind),
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Org(name) => f.write_str(name),
            Recipient::Kind(kind) => write!(f, "kind:{kind}"),
        }
    }
}

impl FromStr for Recipient {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.strip_prefix("kind:") {
            Some(kind) => Ok(Recipient::Kind(kind.parse()?)),
            None if !s.is_empty() => Ok(Recipient::Org(s.to_string())),
            None => Err(LabelError {
                what: "recipient",
                value: s.to_string(),
                expected: "an organisation's name or kind:coordinator|partner|agency|public",
            }),
        }
    }
}

impl Serialize for Recipient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Recipient {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::model::string_schema(
            None,
            Some("^(kind:(coordinator|partner|agency|public)|[a-z0-9][a-z0-9._-]{0,63})$"),
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Recipient {}

impl<'de> Deserialize<'de> for Recipient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A source's sharing limits: whose data it is, and to whom it was given.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sharing {
    /// The partner whose source this is; it always sees its own data.
    pub owner: Option<String>,
    pub recipients: Vec<Recipient>,
}

impl Sharing {
    pub const AUDIT_ACTION: &'static str = "sharing.set";

    /// The audit entry that records `by` setting these limits on `source` at `at`.
    pub fn audit_entry(&self, source: &str, by: &str, at: crate::Timestamp) -> crate::audit::Entry {
        crate::audit::Entry::of(Self::AUDIT_ACTION, by, source, at, self)
    }
}

impl Default for Sharing {
    /// A source nobody set limits on (one the coordinator ingested):
    /// given to the coordinators only.
    fn default() -> Self {
        Sharing { owner: None, recipients: vec![Recipient::Kind(OrgKind::Coordinator)] }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer<'a> {
    /// Whoever holds the store itself (the local command line): sees all.
    Operator,
    /// Anyone, without a token: TLP:CLEAR only.
    Anyone,
    /// An organisation, through one of its tokens.
    Org(&'a Org),
}

/// Every organisation, by name: what [`may_see`] needs to know who names
/// whom as a client.
#[derive(Debug, Clone, Default)]
pub struct Community {
    orgs: BTreeMap<String, Org>,
}

impl Community {
    pub fn new(orgs: impl IntoIterator<Item = Org>) -> Community {
        Community { orgs: orgs.into_iter().map(|o| (o.name.clone(), o)).collect() }
    }

    pub fn get(&self, name: &str) -> Option<&Org> {
        self.orgs.get(name)
    }

    pub fn orgs(&self) -> impl Iterator<Item = &Org> {
        self.orgs.values()
    }
}

/// Whether `org` is among `recipients`, by name or (unless `by_name_only`) by kind.
fn is_recipient(org: &Org, sharing: &Sharing, by_name_only: bool) -> bool {
    sharing.owner.as_deref() == Some(org.name.as_str())
        || sharing.recipients.iter().any(|r| match r {
            Recipient::Org(name) => *name == org.name,
            Recipient::Kind(kind) => !by_name_only && *kind == org.kind,
        })
}

/// Whether some recipient of `sharing` names `org` as its client.
fn is_named_client(community: &Community, org: &Org, sharing: &Sharing) -> bool {
    community
        .orgs()
        .filter(|r| r.name != org.name && r.clients.contains(&org.name))
        .any(|r| r.kind != OrgKind::Public && is_recipient(r, sharing, false))
}

/// THE policy point: may `viewer` see something marked `tlp` from a source
/// shared as `sharing`? TLP 2.0:
/// - CLEAR: anyone, even without a token;
/// - GREEN: members of the community (every organisation but a public one);
/// - AMBER: the recipients, and the clients a recipient names;
/// - AMBER+STRICT: the recipients only;
/// - RED: the recipients named one by one (a kind is not a name).
///
/// The source's owner is always a recipient of its own data.
pub fn may_see(community: &Community, viewer: Viewer<'_>, tlp: Tlp, sharing: &Sharing) -> bool {
    let org = match viewer {
        Viewer::Operator => return true,
        Viewer::Anyone => return tlp == Tlp::Clear,
        Viewer::Org(org) => org,
    };
    match tlp {
        Tlp::Clear => true,
        Tlp::Green => org.kind != OrgKind::Public || is_recipient(org, sharing, true),
        Tlp::Amber => is_recipient(org, sharing, false) || is_named_client(community, org, sharing),
        Tlp::AmberStrict => is_recipient(org, sharing, false),
        Tlp::Red => is_recipient(org, sharing, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str, kind: OrgKind, clients: &[&str]) -> Org {
        Org {
            name: name.into(),
            kind,
            countries: vec![],
            asns: vec![],
            prefixes: vec![],
            clients: clients.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn tlp_2_table() {
        let coord = org("coord", OrgKind::Coordinator, &["isp"]);
        let partner = org("partner", OrgKind::Partner, &[]);
        let agency = org("police-ee", OrgKind::Agency, &[]);
        let isp = org("isp", OrgKind::Partner, &[]);
        let public = org("press", OrgKind::Public, &[]);
        let community = Community::new([&coord, &partner, &agency, &isp, &public].map(Clone::clone));
        let sharing = Sharing {
            owner: Some("partner".into()),
            recipients: vec![Recipient::Kind(OrgKind::Coordinator), Recipient::Org("police-ee".into())],
        };
        let see = |v: &Org, tlp| may_see(&community, Viewer::Org(v), tlp, &sharing);
        // CLEAR: everyone, also without a token.
        assert!(may_see(&community, Viewer::Anyone, Tlp::Clear, &sharing));
        assert!(!may_see(&community, Viewer::Anyone, Tlp::Green, &sharing));
        // GREEN: the community, not the public.
        assert!(see(&isp, Tlp::Green) && see(&agency, Tlp::Green) && !see(&public, Tlp::Green));
        // AMBER: recipients and the clients they name (coord names isp).
        assert!(see(&coord, Tlp::Amber) && see(&agency, Tlp::Amber) && see(&partner, Tlp::Amber));
        assert!(see(&isp, Tlp::Amber));
        // AMBER+STRICT: no clients.
        assert!(see(&coord, Tlp::AmberStrict) && !see(&isp, Tlp::AmberStrict));
        // RED: named only: the agency and the owner, not coordinators by kind.
        assert!(see(&agency, Tlp::Red) && see(&partner, Tlp::Red));
        assert!(!see(&coord, Tlp::Red) && !see(&isp, Tlp::Red));
        assert!(may_see(&community, Viewer::Operator, Tlp::Red, &sharing));
    }

    #[test]
    fn roles_nest_and_names_parse() {
        assert!(Role::Admin.allows(Role::Reader) && Role::Submitter.allows(Role::Reader));
        assert!(!Role::Reader.allows(Role::Submitter) && !Role::Submitter.allows(Role::Analyst));
        assert_eq!("kind:agency".parse::<Recipient>().unwrap(), Recipient::Kind(OrgKind::Agency));
        assert_eq!("police-ee".parse::<Recipient>().unwrap(), Recipient::Org("police-ee".into()));
        assert!("kind:police".parse::<Recipient>().is_err());
        assert!("AGENCY".parse::<OrgKind>().is_ok() && "cop".parse::<OrgKind>().is_err());
    }
}
