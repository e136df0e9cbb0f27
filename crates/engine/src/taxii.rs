//! TAXII 2.1 collections over the store: one public collection (TLP:CLEAR),
//! one per agency (its packages' STIX objects, added at each build) and one
//! per partner (what it posts, which is also ingested as its submission).
//! Who may read or write a collection is decided here, from the caller's
//! scope; the server only speaks the protocol.

use dragnet_core::access::{OrgKind, Role};
use dragnet_core::store::TaxiiObject;
use dragnet_core::{Store, Tlp};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access::Scope;
use crate::{Error, Result};

pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Whose collection it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Public,
    Agency(String),
    Partner(String),
}

/// A collection as TAXII describes it.
#[derive(Debug, Clone, Serialize)]
pub struct Collection {
    pub id: String,
    pub title: String,
    pub description: String,
    pub can_read: bool,
    pub can_write: bool,
    pub media_types: Vec<&'static str>,
    #[serde(skip)]
    pub owner: Owner,
}

fn collection_id(owner: &Owner) -> String {
    let name = match owner {
        Owner::Public => "public".to_string(),
        Owner::Agency(a) => format!("agency:{a}"),
        Owner::Partner(p) => format!("partner:{p}"),
    };
    crate::export::stable_uuid("taxii", &name).to_string()
}

fn describe(scope: &Scope, owner: Owner) -> Option<Collection> {
    let mine = |name: &str| scope.org().is_some_and(|o| o.name == name);
    let (title, description, can_read, can_write) = match &owner {
        Owner::Public => ("TLP:CLEAR".to_string(), "What anyone may see".to_string(), true, false),
        Owner::Agency(a) => (
            format!("Packages for {a}"),
            format!("The STIX objects of every package built for {a}"),
            scope.acts_for(a),
            false,
        ),
        Owner::Partner(p) => (
            format!("Submissions of {p}"),
            format!("What {p} posts; each envelope is also ingested as its submission"),
            scope.acts_for(p),
            mine(p) && scope.role().is_some_and(|r| r.allows(Role::Submitter)),
        ),
    };
    (can_read || can_write).then(|| Collection {
        id: collection_id(&owner),
        title,
        description,
        can_read,
        can_write,
        media_types: vec![STIX_MEDIA_TYPE],
        owner,
    })
}

/// The collections the caller may read or write.
pub fn collections(store: &mut dyn Store, scope: &Scope) -> Result<Vec<Collection>> {
    let mut out: Vec<Collection> = describe(scope, Owner::Public).into_iter().collect();
    for org in store.orgs()? {
        let owner = match org.kind {
            OrgKind::Agency => Owner::Agency(org.name),
            OrgKind::Partner => Owner::Partner(org.name),
            _ => continue,
        };
        out.extend(describe(scope, owner));
    }
    Ok(out)
}

/// One collection, if the caller may know it exists.
pub fn collection(store: &mut dyn Store, scope: &Scope, id: &str) -> Result<Collection> {
    collections(store, scope)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| Error::NotFound(format!("no collection {id}")))
}

/// TAXII timestamps: microseconds, UTC.
pub fn timestamp(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let plain = dragnet_core::format_timestamp(seconds);
    let head = plain.strip_suffix('Z').unwrap_or(&plain);
    format!("{head}.{:06}Z", micros.rem_euclid(1_000_000))
}

/// Reads a TAXII or STIX timestamp into microseconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let (head, fraction) = match text.trim_end_matches('Z').split_once('.') {
        Some((head, fraction)) => (head.to_string(), fraction),
        None => (text.trim_end_matches('Z').to_string(), ""),
    };
    let seconds = dragnet_core::parse_timestamp(&format!("{head}Z"))?;
    let digits: String = fraction.chars().take(6).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let micros = if digits.is_empty() { 0 } else { format!("{digits:0<6}").parse::<i64>().ok()? };
    seconds.checked_mul(1_000_000)?.checked_add(micros)
}

/// An object as stored in `collection`, added at `date_added`.
fn stored(collection: &str, object: &Value, date_added: i64) -> Result<TaxiiObject> {
    let text = |k: &str| object[k].as_str().map(str::to_string);
    let id = text("id").ok_or_else(|| Error::invalid("an object without an id"))?;
    let kind = text("type").ok_or_else(|| Error::invalid(format!("{id}: no type")))?;
    let version = text("modified").or_else(|| text("created")).unwrap_or_else(|| timestamp(date_added));
    let spec_version = text("spec_version").unwrap_or_else(|| default_spec_version(&kind).into());
    Ok(TaxiiObject {
        collection: collection.to_string(),
        id,
        version,
        date_added,
        seq: 0,
        kind,
        spec_version,
        body: object.to_string(),
    })
}

/// The STIX version of an object that does not say: a cyber-observable may
/// leave `spec_version` out in 2.1, every other object of 2.1 must give it,
/// so the others are STIX 2.0 (as medallion reads them too).
fn default_spec_version(kind: &str) -> &'static str {
    const OBSERVABLES: [&str; 18] = [
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    ];
    if OBSERVABLES.contains(&kind) { "2.1" } else { "2.0" }
}

/// Adds a package's STIX bundle to its agency's collection, and the objects
/// marked TLP:CLEAR (or unmarked SCO-free definitions) to the public one.
pub fn publish(store: &mut dyn Store, agency: &str, bundle: &Value, date_added: i64) -> Result<u64> {
    let agency_collection = collection_id(&Owner::Agency(agency.to_string()));
    let public = collection_id(&Owner::Public);
    let clear = crate::export::stix::marking_id(Tlp::Clear);
    let mut objects = Vec::new();
    for object in bundle["objects"].as_array().into_iter().flatten() {
        objects.push(stored(&agency_collection, object, date_added)?);
        let marked_clear = object["object_marking_refs"].as_array().is_some_and(|m| m.iter().any(|r| r == clear));
        if marked_clear || object["id"] == clear {
            objects.push(stored(&public, object, date_added)?);
        }
    }
    Ok(store.taxii_add(&objects)?)
}

/// Adds a partner's posted envelope to its collection and ingests the
/// objects as one submission; returns the status resource (JSON).
pub fn post(
    store: &mut dyn Store,
    scope: &Scope,
    collection: &Collection,
    envelope: &Value,
    now_micros: i64,
) -> Result<Value> {
    let Owner::Partner(partner) = &collection.owner else {
        return Err(Error::Forbidden(format!("collection {} takes no objects", collection.id)));
    };
    if !collection.can_write {
        return Err(Error::Forbidden(format!("the caller may not write to collection {}", collection.id)));
    }
    let objects = envelope["objects"].as_array().ok_or_else(|| Error::invalid("an envelope needs `objects`"))?;
    let (mut successes, mut failures, mut stored_objects) = (Vec::new(), Vec::new(), Vec::new());
    for object in objects {
        match stored(&collection.id, object, now_micros) {
            Ok(o) => {
                successes.push(json!({"id": o.id, "version": o.version}));
                stored_objects.push(o);
            }
            Err(e) => failures.push(json!({"id": object["id"].as_str().unwrap_or_default(), "message": e.to_string()})),
        }
    }
    // The objects become the partner's observations exactly as a STIX
    // bundle submitted over the REST API would.
    let bundle = json!({"type": "bundle", "id": format!("bundle--{}", Uuid::new_v4()), "objects": objects});
    crate::ingest::submit_as(
        store,
        scope,
        &format!("{partner}-taxii"),
        dragnet_core::policy::BatchLabels::default(),
        Some(dragnet_ingest::Format::Stix),
        &dragnet_ingest::Mapping::default(),
        &format!("taxii:{}", collection.id),
        bundle.to_string().as_bytes(),
    )?;
    store.taxii_add(&stored_objects)?;
    let status_id = Uuid::new_v4().to_string();
    let status = json!({
        "id": status_id, "status": "complete", "request_timestamp": timestamp(now_micros),
        "total_count": objects.len(), "success_count": successes.len(), "successes": successes,
        "failure_count": failures.len(), "failures": failures, "pending_count": 0, "pendings": [],
    });
    store.put_taxii_status(&status_id, &collection.id, &status.to_string(), crate::now())?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_microseconds() {
        let t = parse_timestamp("2024-05-01T10:00:00.123456Z").unwrap();
        assert_eq!(timestamp(t), "2024-05-01T10:00:00.123456Z");
        assert_eq!(parse_timestamp("2024-05-01T10:00:00Z"), Some(t - 123_456));
        assert_eq!(parse_timestamp("2024-05-01T10:00:00.5Z"), Some(t - 123_456 + 500_000));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
