//! STIX 2.1 bundles: per server an `infrastructure` that `consists-of`
//! its addresses, domains and URLs (SCOs with the spec's deterministic
//! UUIDv5 ids), an `indicator` with a pattern per value that `indicates`
//! it, `identity` objects for Dragnet and each reporting source, and the
//! TLP 2.0 `marking-definition`s the objects are marked with.

use std::collections::{BTreeMap, BTreeSet};

use dragnet_core::Tlp;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Shared, values};

/// The namespace STIX 2.1 (§2.9) gives for deterministic SCO ids.
const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);
const TLP_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The TLP 2.0 marking definitions' standard ids.
pub fn marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

fn marking(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id(tlp),
        "created": "2022-10-01T00:00:00.000Z",
        "name": format!("TLP:{}", tlp.as_str().to_uppercase()),
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.as_str()}},
    })
}

/// STIX timestamps with the millisecond precision `created` and `modified` need.
fn stamp(t: i64) -> String {
    let plain = dragnet_core::format_timestamp(t);
    match plain.strip_suffix('Z') {
        Some(head) => format!("{head}.000Z"),
        None => plain,
    }
}

/// The id of an object Dragnet makes: the same export always gives the
/// same ids.
fn own_id(kind: &str, name: &str) -> String {
    format!("{kind}--{}", super::stable_uuid("stix", name))
}

/// The SCO type and its deterministic id for a value.
fn sco(kind: &str, value: &str) -> (String, Value) {
    // §2.9: UUIDv5 of the canonical JSON of the ID contributing properties.
    let canonical = json!({"value": value}).to_string();
    let id = format!("{kind}--{}", Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes()));
    (id.clone(), json!({"type": kind, "spec_version": "2.1", "id": id, "value": value}))
}

/// A pattern's string literal: backslashes and quotes escaped.
fn literal(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

fn sco_kind(key: &str, value: &str) -> &'static str {
    match key {
        "ips" if value.contains(':') => "ipv6-addr",
        "ips" => "ipv4-addr",
        "domains" => "domain-name",
        _ => "url",
    }
}

/// `infrastructure_types` (infrastructure-type-ov) of a server's categories.
fn infrastructure_types(server: &Value) -> Vec<&'static str> {
    let mut types: BTreeSet<&str> = BTreeSet::new();
    for c in server["categories"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        types.insert(match c {
            "botnet-c2" => "command-and-control",
            "phishing" | "credential-theft" => "phishing",
            "malware-distribution" | "banking-malware" | "ransomware" => "hosting-malware",
            "scanning" => "reconnaissance",
            "spam" => "botnet",
            _ => "unknown",
        });
    }
    if types.len() > 1 {
        types.remove("unknown");
    }
    if types.is_empty() {
        types.insert("unknown");
    }
    types.into_iter().collect()
}

pub fn bundle(shared: &Shared<'_>) -> Value {
    let created = stamp(shared.created);
    let producer = own_id("identity", "dragnet");
    let mut objects = vec![json!({
        "type": "identity", "spec_version": "2.1", "id": producer, "created": created, "modified": created,
        "name": "Dragnet", "identity_class": "system",
    })];
    let mut markings: BTreeSet<Tlp> = BTreeSet::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut body = Vec::new();
    for (server, why) in &shared.servers {
        let tlp = server["tlp"].as_str().and_then(|t| t.parse::<Tlp>().ok()).unwrap_or(Tlp::Amber);
        markings.insert(tlp);
        let marks = json!([marking_id(tlp)]);
        let id = server["id"].as_str().unwrap_or_default();
        let infrastructure = own_id("infrastructure", &format!("{}:{id}", shared.key));
        let mut infra = json!({
            "type": "infrastructure", "spec_version": "2.1", "id": infrastructure, "created": created,
            "modified": created, "created_by_ref": producer, "object_marking_refs": marks, "name": id,
            "infrastructure_types": infrastructure_types(server),
            "description": format!("score {}; {}", server["score"], why.join("; ")),
        });
        for (field, key) in [("first_seen", "first_seen"), ("last_seen", "last_seen")] {
            if let Some(t) = server[key].as_str().and_then(dragnet_core::parse_timestamp) {
                infra[field] = json!(stamp(t));
            }
        }
        body.push(infra);
        let valid_from =
            server["first_seen"].as_str().and_then(dragnet_core::parse_timestamp).map_or(created.clone(), stamp);
        let reporters_names: Vec<&str> =
            server["sources"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let reporters: Vec<String> = server["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| sources.entry(s.to_string()).or_insert_with(|| own_id("identity", &format!("source:{s}"))).clone())
            .collect();
        for key in ["ips", "domains", "urls"] {
            for value in values(server, key) {
                let kind = sco_kind(key, value);
                let (sco_id, mut object) = sco(kind, value);
                object["object_marking_refs"] = marks.clone();
                body.push(object);
                body.push(relationship(
                    &shared.key,
                    &created,
                    &producer,
                    &marks,
                    "consists-of",
                    &infrastructure,
                    &sco_id,
                ));
                let indicator = own_id("indicator", &format!("{}:{kind}:{value}", shared.key));
                body.push(json!({
                    "type": "indicator", "spec_version": "2.1", "id": indicator, "created": created,
                    "modified": created, "created_by_ref": producer, "object_marking_refs": marks,
                    "name": value, "indicator_types": ["malicious-activity"],
                    "description": format!("{value}: part of Dragnet server {id}, reported by {}", reporters_names.join(", ")),
                    "pattern": format!("[{kind}:value = '{}']", literal(value)), "pattern_type": "stix",
                    "valid_from": valid_from,
                }));
                body.push(relationship(
                    &shared.key,
                    &created,
                    &producer,
                    &marks,
                    "indicates",
                    &indicator,
                    &infrastructure,
                ));
                for reporter in &reporters {
                    body.push(relationship(
                        &shared.key,
                        &created,
                        &producer,
                        &marks,
                        "related-to",
                        &indicator,
                        reporter,
                    ));
                }
            }
        }
    }
    objects.extend(markings.into_iter().map(marking));
    for (name, id) in &sources {
        objects.push(json!({
            "type": "identity", "spec_version": "2.1", "id": id, "created": created, "modified": created,
            "name": name, "identity_class": "organization",
        }));
    }
    objects.extend(body);
    json!({"type": "bundle", "id": own_id("bundle", &shared.key), "objects": objects})
}

fn relationship(key: &str, created: &str, producer: &str, marks: &Value, kind: &str, from: &str, to: &str) -> Value {
    json!({
        "type": "relationship", "spec_version": "2.1", "id": own_id("relationship", &format!("{key}:{kind}:{from}:{to}")),
        "created": created, "modified": created, "created_by_ref": producer, "object_marking_refs": marks,
        "relationship_type": kind, "source_ref": from, "target_ref": to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sco_ids_follow_the_spec() {
        // The STIX 2.1 specification's own example (§2.9 / stix2's tests):
        // ipv4-addr 8.8.8.8 is ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7.
        assert_eq!(sco("ipv4-addr", "8.8.8.8").0, "ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7");
        assert_eq!(literal(r"http://x/a'b\c"), r"http://x/a\'b\\c");
        assert_eq!(stamp(0), "1970-01-01T00:00:00.000Z");
    }
}
