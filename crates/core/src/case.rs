//! Operations and what agencies did in them: the case actions an
//! operation's report counts (house searches, arrests, seizures, …).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{LabelError, string_enum};
use crate::{Category, Timestamp};

/// What an agency did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    HouseSearch,
    Arrest,
    SuspectIdentified,
    UnderInvestigation,
    DeviceSeized,
    ServerSeized,
    /// Data seized: the action carries its size in bytes and its SHA-256.
    DataSeized,
    Sinkholed,
}

string_enum!(ActionKind, "case action", {
    HouseSearch => "house-search",
    Arrest => "arrest",
    SuspectIdentified => "suspect-identified",
    UnderInvestigation => "under-investigation",
    DeviceSeized => "device-seized",
    ServerSeized => "server-seized",
    DataSeized => "data-seized",
    Sinkholed => "sinkholed",
});

impl FromStr for ActionKind {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        ActionKind::ALL.iter().copied().find(|k| k.as_str() == wanted).ok_or_else(|| LabelError {
            what: "case action",
            value: s.to_string(),
            expected: "house-search, arrest, suspect-identified, under-investigation, device-seized, \
                       server-seized, data-seized or sinkholed",
        })
    }
}

/// An operation: a named, dated effort with its participants.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    pub name: String,
    pub starts: Timestamp,
    pub ends: Timestamp,
    /// The categories it goes after; empty: all.
    pub scope: Vec<Category>,
    /// (organisation, its role in the operation: `coordinator`, `partner`, `agency`, …)
    pub participants: Vec<Participant>,
    pub created: Timestamp,
    pub created_by: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub org: String,
    pub role: String,
}

/// One thing an agency did, as recorded.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseAction {
    pub operation: String,
    pub kind: ActionKind,
    pub agency: String,
    /// ISO 3166 code of where it happened.
    pub country: String,
    pub happened: Timestamp,
    /// The server it concerns, if one.
    pub server: Option<String>,
    /// How many (21 house searches are one record of 21).
    pub count: u32,
    /// Data seized: its size.
    pub bytes: Option<u64>,
    /// Data seized: its SHA-256 (hex).
    pub sha256: Option<String>,
    pub note: String,
    /// Who recorded it, and when.
    pub by: String,
    pub at: Timestamp,
}

impl Operation {
    pub const AUDIT_ACTION: &'static str = "operation.create";

    /// The audit entry that records its creation.
    pub fn audit_entry(&self) -> crate::audit::Entry {
        crate::audit::Entry::of(Self::AUDIT_ACTION, &self.created_by, &self.name, self.created, self)
    }
}

impl CaseAction {
    pub const AUDIT_ACTION: &'static str = "case.action";

    /// The audit entry that records it.
    pub fn audit_entry(&self) -> crate::audit::Entry {
        crate::audit::Entry::of(Self::AUDIT_ACTION, &self.by, &self.operation, self.at, self)
    }
}

/// A file kept as evidence, by its content: the SHA-256 is its identity.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub sha256: String,
    pub size: u64,
    /// The file's name when it was handed in.
    pub name: String,
    pub operation: String,
    pub server: Option<String>,
    pub description: String,
    pub added_by: String,
    pub added_at: Timestamp,
}

/// One hand-over of a piece of evidence: who gave it to whom, when.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Custody {
    pub sha256: String,
    /// Empty for the first holder (the evidence was handed in).
    pub from: String,
    pub to: String,
    pub at: Timestamp,
    pub note: String,
    /// Who recorded it.
    pub by: String,
}

impl Evidence {
    pub const AUDIT_ACTION: &'static str = "evidence.add";

    pub fn audit_entry(&self) -> crate::audit::Entry {
        crate::audit::Entry::of(Self::AUDIT_ACTION, &self.added_by, &self.sha256, self.added_at, self)
    }
}

impl Custody {
    pub const AUDIT_ACTION: &'static str = "evidence.custody";

    pub fn audit_entry(&self) -> crate::audit::Entry {
        crate::audit::Entry::of(Self::AUDIT_ACTION, &self.by, &self.sha256, self.at, self)
    }
}

/// A suspect, as little as an agency needs: an alias, a nationality, a
/// role, visible to the owning agency only and erased at its retention date.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suspect {
    /// Given by the store.
    pub id: i64,
    pub operation: String,
    /// The owning agency: nobody else sees the record.
    pub agency: String,
    pub alias: String,
    pub nationality: Option<String>,
    pub role: String,
    /// Erased by `dragnet retention apply` after this.
    pub retain_until: Timestamp,
    pub added_by: String,
    pub added_at: Timestamp,
}

impl Suspect {
    pub const AUDIT_ADD: &'static str = "suspect.add";
    pub const AUDIT_ERASE: &'static str = "suspect.erase";

    /// The SHA-256 of the personal fields: the audit log keeps this, never
    /// the data, so erasing the record leaves nothing personal behind.
    pub fn digest(&self) -> String {
        let fields = [self.alias.as_str(), self.nationality.as_deref().unwrap_or(""), self.role.as_str()];
        let mut bytes = Vec::new();
        for f in fields {
            bytes.extend_from_slice(&(f.len() as u64).to_be_bytes());
            bytes.extend_from_slice(f.as_bytes());
        }
        crate::digest::hex(&crate::digest::sha256(&bytes))
    }

    /// The entry that records it: who, where, until when, and the digest.
    pub fn audit_entry(&self) -> crate::audit::Entry {
        let body = serde_json::json!({
            "id": self.id, "operation": self.operation, "agency": self.agency,
            "retain_until": self.retain_until, "record_sha256": self.digest(),
        });
        crate::audit::Entry::of(Self::AUDIT_ADD, &self.added_by, &format!("suspect-{}", self.id), self.added_at, &body)
    }

    /// The entry that records its erasure.
    pub fn erase_entry(&self, by: &str, at: Timestamp) -> crate::audit::Entry {
        let body = serde_json::json!({"id": self.id, "retain_until": self.retain_until});
        crate::audit::Entry::of(Self::AUDIT_ERASE, by, &format!("suspect-{}", self.id), at, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_refusals_name_the_kinds() {
        for &k in ActionKind::ALL {
            assert_eq!(k.as_str().parse::<ActionKind>().unwrap(), k);
        }
        assert_eq!("House Search".parse::<ActionKind>().unwrap(), ActionKind::HouseSearch);
        let e = "raid".parse::<ActionKind>().unwrap_err().to_string();
        assert!(e.contains("house-search") && e.contains("data-seized"), "{e}");
    }
}
