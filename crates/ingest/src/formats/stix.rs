//! STIX 2.0 and 2.1: bundles, single objects or arrays of objects.
//!
//! Indicators with STIX patterns give one record per supported comparison
//! (`ipv4-addr:value = '…'`, `file:hashes.'SHA-256' IN (…)`, …; a
//! `network-traffic` `src_ref`/`dst_ref` value gives an IP, CIDR or domain,
//! as the ref may name any of them); cyber
//! observables (at top level, or inside 2.0 `observed-data`) give records
//! too. TLP comes from `object_marking_refs`, resolved through the fixed TLP
//! 1.0 and 2.0 marking ids and the bundle's own TLP marking definitions; a
//! definition that claims TLP 2.0 under the wrong id or name is rejected and
//! never trusted. Every other object is counted as skipped.

use std::collections::HashMap;

use dragnet_core::{Category, FileError, Kind, Link, Observable, Parsed, Record, Reject, Tlp, parse_timestamp};
use serde_json::{Map, Value};

use super::stix_pattern::{self, Comparison, Op};
use crate::json;

/// The TLP 2.0 extension definition (OASIS CTI common objects).
const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// TLP 2.0 marking definitions: id, level and the `name` they must carry.
const TLP2: &[(&str, Tlp, &str)] = &[
    ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", Tlp::Clear, "TLP:CLEAR"),
    ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", Tlp::Green, "TLP:GREEN"),
    ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", Tlp::Amber, "TLP:AMBER"),
    ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp::AmberStrict, "TLP:AMBER+STRICT"),
    ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", Tlp::Red, "TLP:RED"),
];

/// TLP 1.0 marking definitions from the STIX 2.x specification.
const TLP1: &[(&str, Tlp)] = &[
    ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::Clear),
    ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::Green),
    ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::Amber),
    ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::Red),
];

/// Cyber-observable types this parser turns into records.
const SCO_TYPES: &[&str] =
    &["ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "autonomous-system", "x509-certificate"];

type Bad = (String, String);

fn bad(field: &str, why: impl ToString) -> Bad {
    (field.to_string(), why.to_string())
}

pub fn parse(input: &[u8]) -> Result<Parsed, FileError> {
    let doc = json::parse_value(input)?;
    let objects = top_level_objects(doc)?;
    let markings = Markings::collect(&objects);
    let mut parsed = Parsed::default();
    // Objects are found by their `"id": "<id>"` member, not any mention of
    // the id, so that earlier references cannot misplace an object.
    let mut lines = json::MemberLines::new(input, &["id"]);
    // Which records each object gave, for the links between objects.
    let mut produced: HashMap<String, std::ops::Range<usize>> = HashMap::new();
    let mut object_lines: Vec<u32> = Vec::with_capacity(objects.len());
    for obj in &objects {
        let Some(map) = obj.as_object() else {
            object_lines.push(0);
            parsed.rejects.push(Reject::new(0, None, "bundle element is not a JSON object", json::compact(obj)));
            continue;
        };
        let id = str_of(map, "id").unwrap_or_default();
        let line = if id.is_empty() { 0 } else { lines.line_of(id).unwrap_or(0) };
        object_lines.push(line);
        let raw = json::compact(obj);
        let ty = str_of(map, "type").unwrap_or_default();
        if ty.is_empty() {
            parsed.rejects.push(Reject::new(line, Some("type"), "object has no `type`", raw));
            continue;
        }
        if let Some((field, why)) = bad_timestamp(map) {
            parsed.rejects.push(Reject::new(line, Some(&field), why, raw));
            continue;
        }
        let first = parsed.records.len();
        match ty {
            "indicator" => indicator(map, &markings, line, &raw, &mut parsed),
            "marking-definition" => match markings.rejected.get(id) {
                Some(why) => parsed.rejects.push(Reject::new(line, Some("marking-definition"), why.clone(), raw)),
                None => parsed.skipped += 1,
            },
            "observed-data" => observed_data(map, &markings, line, &raw, &mut parsed),
            t if SCO_TYPES.contains(&t) => {
                let tlp = markings.tlp_of(map);
                sco(map, tlp, (None, None), line, &raw, &mut parsed);
            }
            _ => parsed.skipped += 1,
        }
        if parsed.records.len() > first && !id.is_empty() {
            produced.insert(id.to_string(), first..parsed.records.len());
        }
    }
    links(&objects, &object_lines, &produced, &mut parsed);
    Ok(parsed)
}

/// Resolutions the bundle states: a `domain-name`'s `resolves_to_refs` and
/// `resolves-to` relationships, between objects that gave records.
fn links(
    objects: &[Value],
    object_lines: &[u32],
    produced: &HashMap<String, std::ops::Range<usize>>,
    parsed: &mut Parsed,
) {
    let mut pairs: Vec<(&str, &str, u32)> = Vec::new();
    for (map, &line) in objects.iter().zip(object_lines) {
        let Some(map) = map.as_object() else { continue };
        match str_of(map, "type") {
            Some("domain-name") => {
                for target in map.get("resolves_to_refs").and_then(Value::as_array).into_iter().flatten() {
                    pairs.extend(target.as_str().map(|t| (str_of(map, "id").unwrap_or_default(), t, line)));
                }
            }
            Some("relationship") if str_of(map, "relationship_type") == Some("resolves-to") => {
                if let (Some(from), Some(to)) = (str_of(map, "source_ref"), str_of(map, "target_ref")) {
                    pairs.push((from, to, line));
                }
            }
            _ => {}
        }
    }
    let mut links = crate::links::LinkSet::default();
    for (from, to, line) in pairs {
        let (Some(a), Some(b)) = (produced.get(from), produced.get(to)) else { continue };
        for i in a.clone() {
            for j in b.clone() {
                if let (Some(from), Some(to)) = (parsed.records.get(i), parsed.records.get(j))
                    && let Some(link) = Link::between_records(from, to, line)
                {
                    links.insert(link);
                }
            }
        }
    }
    parsed.links.extend(links.into_links());
}

/// The objects of a bundle, an array of objects or a lone object.
fn top_level_objects(doc: Value) -> Result<Vec<Value>, FileError> {
    let not_stix = || FileError::new(1, "not STIX: expected a bundle, a STIX object or an array of STIX objects");
    match doc {
        Value::Object(mut map) => {
            let ty = str_of(&map, "type").map(str::to_string);
            let is_bundle = ty.as_deref() == Some("bundle")
                || (ty.is_none() && str_of(&map, "id").is_some_and(|id| id.starts_with("bundle--")));
            if is_bundle {
                return match map.remove("objects") {
                    Some(Value::Array(items)) => Ok(items),
                    None => Ok(Vec::new()),
                    Some(_) => Err(FileError::new(1, "not STIX: the bundle's `objects` is not an array")),
                };
            }
            if ty.is_some() && is_stix_id(str_of(&map, "id").unwrap_or_default()) {
                return Ok(vec![Value::Object(map)]);
            }
            Err(not_stix())
        }
        Value::Array(items) => {
            let stix = |v: &Value| {
                v.as_object().is_some_and(|m| str_of(m, "type").is_some() && str_of(m, "id").is_some_and(is_stix_id))
            };
            if items.iter().all(stix) { Ok(items) } else { Err(not_stix()) }
        }
        _ => Err(not_stix()),
    }
}

fn is_stix_id(id: &str) -> bool {
    id.split_once("--").is_some_and(|(ty, uuid)| !ty.is_empty() && uuid.len() == 36)
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn strings(map: &Map<String, Value>, key: &str) -> Vec<String> {
    match map.get(key) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A `created`, `modified` or `valid_from` that is present but not a timestamp.
fn bad_timestamp(map: &Map<String, Value>) -> Option<Bad> {
    ["created", "modified", "valid_from"].into_iter().find_map(|key| {
        let v = map.get(key)?;
        let ok = v.as_str().and_then(parse_timestamp).is_some();
        (!ok).then(|| bad(key, format!("`{}` is not a valid timestamp", v.as_str().unwrap_or(&v.to_string()))))
    })
}

/// TLP marking definitions known for this input.
struct Markings {
    tlp: HashMap<String, Tlp>,
    /// Marking definitions that claim TLP but cannot be trusted, and why.
    rejected: HashMap<String, String>,
}

impl Markings {
    fn collect(objects: &[Value]) -> Markings {
        let mut tlp: HashMap<String, Tlp> = TLP2.iter().map(|(id, t, _)| (id.to_string(), *t)).collect();
        tlp.extend(TLP1.iter().map(|(id, t)| (id.to_string(), *t)));
        let mut rejected = HashMap::new();
        for map in objects.iter().filter_map(Value::as_object) {
            if str_of(map, "type") != Some("marking-definition") {
                continue;
            }
            let id = str_of(map, "id").unwrap_or_default();
            match check_marking(map, id) {
                Ok(Some(level)) => {
                    tlp.insert(id.to_string(), level);
                }
                Ok(None) => {}
                Err(why) => {
                    // A fixed id keeps its standard meaning; any other id is
                    // not trusted at all.
                    if !is_fixed(id) {
                        tlp.remove(id);
                    }
                    rejected.insert(id.to_string(), why);
                }
            }
        }
        Markings { tlp, rejected }
    }

    /// The strictest TLP among the object's `object_marking_refs`.
    fn tlp_of(&self, map: &Map<String, Value>) -> Option<Tlp> {
        strings(map, "object_marking_refs").iter().filter_map(|r| self.tlp.get(r).copied()).max()
    }
}

fn is_fixed(id: &str) -> bool {
    TLP2.iter().any(|(i, _, _)| *i == id) || TLP1.iter().any(|(i, _)| *i == id)
}

/// The TLP a marking definition states: `Ok(None)` when it is not a TLP
/// marking, `Err` when it claims TLP inconsistently.
fn check_marking(map: &Map<String, Value>, id: &str) -> Result<Option<Tlp>, String> {
    let name = str_of(map, "name");
    let ext_level = map
        .get("extensions")
        .and_then(|e| e.get(TLP2_EXTENSION))
        .map(|e| e.get("tlp_2_0").and_then(Value::as_str).unwrap_or_default());
    let definition_type = str_of(map, "definition_type");
    if definition_type == Some("tlp") {
        // TLP 1.0: `definition.tlp`.
        let color = map.get("definition").and_then(|d| d.get("tlp")).and_then(Value::as_str).unwrap_or_default();
        let level: Tlp = color.parse().map_err(|_| format!("TLP 1.0 marking `{id}` has unknown colour `{color}`"))?;
        if let Some((_, fixed)) = TLP1.iter().find(|(i, _)| *i == id)
            && *fixed != level
        {
            return Err(format!("TLP 1.0 marking `{id}` is TLP:{fixed} by the specification, not `{color}`"));
        }
        if let Some((_, fixed, _)) = TLP2.iter().find(|(i, _, _)| *i == id) {
            return Err(format!("marking `{id}` is the TLP 2.0 TLP:{fixed} definition, not a TLP 1.0 one"));
        }
        return Ok(Some(level));
    }
    let named_tlp = name.is_some_and(|n| n.trim().to_ascii_uppercase().starts_with("TLP:"));
    let fixed2 = TLP2.iter().find(|(i, _, _)| *i == id);
    if ext_level.is_none() && !named_tlp && fixed2.is_none() {
        return Ok(None);
    }
    // A TLP 2.0 claim: the id, the name and the extension must all agree.
    let claimed = match (ext_level, name) {
        (Some(l), _) => l.parse::<Tlp>().map_err(|_| format!("TLP 2.0 marking `{id}` has unknown level `{l}`"))?,
        (None, Some(n)) if named_tlp => {
            n.parse::<Tlp>().map_err(|_| format!("TLP 2.0 marking `{id}` has unknown name `{n}`"))?
        }
        _ => fixed2.map(|(_, t, _)| *t).unwrap_or(Tlp::Clear),
    };
    let Some((_, _, want_name)) = TLP2.iter().find(|(_, t, _)| *t == claimed) else {
        return Err(format!("marking `{id}` claims an unknown TLP 2.0 level"));
    };
    let want_id = TLP2.iter().find(|(_, t, _)| *t == claimed).map(|(i, _, _)| *i).unwrap_or_default();
    if id != want_id {
        return Err(format!("marking `{id}` claims {want_name} but that TLP 2.0 definition's id is `{want_id}`"));
    }
    if name != Some(want_name) {
        return Err(format!("TLP 2.0 marking `{id}` must be named `{want_name}`, not `{}`", name.unwrap_or("")));
    }
    if ext_level.is_none() {
        return Err(format!("TLP 2.0 marking `{id}` lacks the `{TLP2_EXTENSION}` extension"));
    }
    Ok(Some(claimed))
}

/// Labels, indicator types and name: the record's tags and category.
fn tags_and_category(map: &Map<String, Value>) -> (Vec<String>, Option<Category>) {
    let labels = strings(map, "labels");
    let types = strings(map, "indicator_types");
    let mut category = types.iter().chain(&labels).find_map(|t| t.parse::<Category>().ok());
    let mut tags = labels;
    tags.extend(types);
    let name = str_of(map, "name").map(str::to_string);
    if let Some(name) = name {
        if category.is_none() {
            category = name
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '&'))
                .find_map(|w| w.parse::<Category>().ok());
        }
        tags.push(name);
    }
    tags.dedup();
    (tags, category)
}

fn confidence(map: &Map<String, Value>) -> Option<u8> {
    map.get("confidence").and_then(Value::as_u64).filter(|c| *c <= 100).map(|c| c as u8)
}

fn indicator(map: &Map<String, Value>, markings: &Markings, line: u32, raw: &str, parsed: &mut Parsed) {
    let pattern_type = str_of(map, "pattern_type").unwrap_or("stix");
    if pattern_type != "stix" {
        let why = format!("pattern_type `{pattern_type}` is not supported");
        parsed.rejects.push(Reject::new(line, Some("pattern_type"), why, raw));
        return;
    }
    let Some(pattern) = str_of(map, "pattern") else {
        parsed.rejects.push(Reject::new(line, Some("pattern"), "indicator has no pattern", raw));
        return;
    };
    let comparisons = match stix_pattern::parse(pattern) {
        Ok(c) => c,
        Err(e) => {
            parsed.rejects.push(Reject::new(line, Some("pattern"), e.to_string(), raw));
            return;
        }
    };
    let (tags, category) = tags_and_category(map);
    let valid_from = str_of(map, "valid_from").and_then(parse_timestamp);
    let tlp = markings.tlp_of(map);
    let mut seen: Vec<Observable> = Vec::new();
    let mut failed = false;
    for c in &comparisons {
        for result in observables_of(c) {
            match result {
                Ok(obs) if seen.contains(&obs) => {}
                Ok(obs) => {
                    seen.push(obs.clone());
                    let mut r = Record::new(obs, line, raw);
                    r.first_seen = valid_from.or_else(|| str_of(map, "created").and_then(parse_timestamp));
                    r.last_seen = str_of(map, "modified").and_then(parse_timestamp).or(valid_from);
                    r.confidence = confidence(map);
                    r.tags = tags.clone();
                    r.category = category;
                    r.tlp = tlp;
                    parsed.records.push(r);
                }
                Err(why) => {
                    failed = true;
                    parsed.rejects.push(Reject::new(line, Some("pattern"), why, raw));
                }
            }
        }
    }
    if seen.is_empty() && !failed {
        parsed.rejects.push(Reject::new(line, Some("pattern"), "no supported comparison in pattern", raw));
    }
}

/// What a supported comparison names, one result per value; nothing for
/// unsupported paths and operators.
fn observables_of(c: &Comparison) -> Vec<Result<Observable, String>> {
    if c.negated || !matches!(c.op, Op::Eq | Op::In) {
        return Vec::new();
    }
    let keys = c.keys();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let kind = match (c.object_type.as_str(), keys.as_slice()) {
        ("ipv4-addr", ["value"]) => Target::Ip(Some(Kind::Ipv4)),
        ("ipv6-addr", ["value"]) => Target::Ip(Some(Kind::Ipv6)),
        ("network-traffic", ["dst_ref" | "src_ref", "value"]) => Target::Endpoint,
        ("domain-name", ["value"]) => Target::Kind(Kind::Domain),
        ("url", ["value"]) => Target::Kind(Kind::Url),
        ("email-addr", ["value"]) => Target::Kind(Kind::Email),
        ("autonomous-system", ["number"]) => Target::Kind(Kind::Asn),
        ("file", ["hashes", name]) => match hash_kind(name) {
            Some(k) => Target::Kind(k),
            None => return Vec::new(),
        },
        ("x509-certificate", ["hashes", name]) if hash_kind(name) == Some(Kind::Sha256) => {
            Target::Kind(Kind::X509Sha256)
        }
        _ => return Vec::new(),
    };
    c.values
        .iter()
        .filter_map(|v| v.text())
        .filter_map(|v| match kind {
            Target::Ip(family) => Some(ip_or_cidr(v, family)),
            Target::Endpoint => endpoint(v),
            Target::Kind(k) => Some(Observable::parse(k, v).map_err(|e| e.to_string())),
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Target {
    /// An address or CIDR, of the given family when known.
    Ip(Option<Kind>),
    /// What a network-traffic `src_ref`/`dst_ref` points at: an address, or
    /// (STIX allows it) a domain name or a MAC address.
    Endpoint,
    Kind(Kind),
}

/// A network-traffic endpoint value: an IP or CIDR, else a domain name; MAC
/// addresses are not tracked and give nothing.
fn endpoint(value: &str) -> Option<Result<Observable, String>> {
    if let Ok(obs) = ip_or_cidr(value, None) {
        return Some(Ok(obs));
    }
    if is_mac(value) {
        return None;
    }
    Some(
        Observable::parse(Kind::Domain, value)
            .map_err(|_| format!("`{value}` is not an IP address, network or domain name")),
    )
}

fn is_mac(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split([':', '-']).collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn hash_kind(name: &str) -> Option<Kind> {
    match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "md5" => Some(Kind::Md5),
        "sha1" => Some(Kind::Sha1),
        "sha256" => Some(Kind::Sha256),
        _ => None,
    }
}

fn ip_or_cidr(value: &str, family: Option<Kind>) -> Result<Observable, String> {
    let obs = if value.contains('/') {
        Observable::parse(Kind::Cidr, value)
    } else {
        match family {
            Some(k) => Observable::parse(k, value),
            None => Observable::parse(Kind::Ipv4, value).or_else(|_| Observable::parse(Kind::Ipv6, value)),
        }
    }
    .map_err(|e| e.to_string())?;
    let wrong_family = match (family, obs.value().contains(':')) {
        (Some(Kind::Ipv4), true) => true,
        (Some(Kind::Ipv6), false) => obs.kind() == Kind::Cidr,
        _ => false,
    };
    if wrong_family {
        let what = if family == Some(Kind::Ipv4) { "IPv4" } else { "IPv6" };
        return Err(format!("`{value}` is not an {what} address or network"));
    }
    Ok(obs)
}

/// 2.0 `observed-data` with embedded `objects`; 2.1 observed-data (which
/// only refers to top-level SCOs) is skipped.
fn observed_data(map: &Map<String, Value>, markings: &Markings, line: u32, raw: &str, parsed: &mut Parsed) {
    let Some(Value::Object(objects)) = map.get("objects") else {
        parsed.skipped += 1;
        return;
    };
    let tlp = markings.tlp_of(map);
    let seen = (
        str_of(map, "first_observed").and_then(parse_timestamp),
        str_of(map, "last_observed").and_then(parse_timestamp),
    );
    for inner in objects.values() {
        match inner.as_object() {
            Some(sco_map) if str_of(sco_map, "type").is_some_and(|t| SCO_TYPES.contains(&t)) => {
                sco(sco_map, tlp, seen, line, raw, parsed)
            }
            _ => parsed.skipped += 1,
        }
    }
}

/// A cyber observable: its value, number or hashes.
fn sco(
    map: &Map<String, Value>,
    tlp: Option<Tlp>,
    (first_seen, last_seen): (Option<i64>, Option<i64>),
    line: u32,
    raw: &str,
    parsed: &mut Parsed,
) {
    let ty = str_of(map, "type").unwrap_or_default();
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let results: Vec<(&str, Result<Observable, String>)> = match ty {
        "ipv4-addr" | "ipv6-addr" => {
            let family = if ty == "ipv4-addr" { Kind::Ipv4 } else { Kind::Ipv6 };
            vec![(
                "value",
                text("value").ok_or_else(|| "no value".to_string()).and_then(|v| ip_or_cidr(&v, Some(family))),
            )]
        }
        "domain-name" | "url" | "email-addr" | "autonomous-system" => {
            let (key, kind) = match ty {
                "domain-name" => ("value", Kind::Domain),
                "url" => ("value", Kind::Url),
                "email-addr" => ("value", Kind::Email),
                _ => ("number", Kind::Asn),
            };
            let r = text(key)
                .ok_or_else(|| format!("no {key}"))
                .and_then(|v| Observable::parse(kind, &v).map_err(|e| e.to_string()));
            vec![(key, r)]
        }
        _ => {
            // file and x509-certificate: their hashes.
            let hashes = map.get("hashes").and_then(Value::as_object);
            hashes
                .into_iter()
                .flatten()
                .filter_map(|(name, v)| {
                    let kind = match (ty, hash_kind(name)?) {
                        ("x509-certificate", Kind::Sha256) => Kind::X509Sha256,
                        ("x509-certificate", _) => return None,
                        (_, k) => k,
                    };
                    let v = v.as_str().unwrap_or_default();
                    Some(("hashes", Observable::parse(kind, v).map_err(|e| e.to_string())))
                })
                .collect()
        }
    };
    if results.is_empty() {
        parsed.skipped += 1;
        return;
    }
    for (field, result) in results {
        match result {
            Ok(obs) => {
                let mut r = Record::new(obs, line, raw);
                r.tlp = tlp;
                r.first_seen = first_seen;
                r.last_seen = last_seen;
                r.tags = vec!["sco".to_string()];
                parsed.records.push(r);
            }
            Err(why) => parsed.rejects.push(Reject::new(line, Some(field), why, raw)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator_json(pattern: &str) -> String {
        let pattern = serde_json::to_string(pattern).unwrap();
        format!(
            r#"{{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
  {{"type": "indicator", "spec_version": "2.1",
   "id": "indicator--11111111-1111-4111-8111-111111111111",
   "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-03T00:00:00.000Z",
   "valid_from": "2020-01-02T00:00:00Z", "pattern_type": "stix",
   "pattern": {pattern}}}
]}}"#
        )
    }

    fn run(pattern: &str) -> Parsed {
        parse(indicator_json(pattern).as_bytes()).unwrap()
    }

    fn values(p: &Parsed) -> Vec<(Kind, String)> {
        p.records.iter().map(|r| (r.observable.kind(), r.observable.value().to_string())).collect()
    }

    fn one(pattern: &str) -> (Kind, String) {
        let p = run(pattern);
        assert!(p.rejects.is_empty(), "{pattern}: {:?}", p.rejects);
        assert_eq!(p.records.len(), 1, "{pattern}");
        values(&p).remove(0)
    }

    const SHA256: &str = "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c";

    #[test]
    fn each_supported_path() {
        assert_eq!(one("[ipv4-addr:value = '10.0.0.1']"), (Kind::Ipv4, "10.0.0.1".into()));
        assert_eq!(one("[ipv6-addr:value = '2001:DB8::1']"), (Kind::Ipv6, "2001:db8::1".into()));
        assert_eq!(one("[domain-name:value = 'Evil.Example.com']"), (Kind::Domain, "evil.example.com".into()));
        assert_eq!(one("[url:value = 'http://x4z9arb.cn/4712/']").0, Kind::Url);
        assert_eq!(one("[email-addr:value = 'bad@example.com']"), (Kind::Email, "bad@example.com".into()));
        assert_eq!(one(&format!("[file:hashes.'SHA-256' = '{SHA256}']")), (Kind::Sha256, SHA256.into()));
        assert_eq!(one(&format!("[file:hashes.SHA256 = '{SHA256}']")).0, Kind::Sha256);
        assert_eq!(one(&format!("[file:hashes.sha256 = '{SHA256}']")).0, Kind::Sha256);
        assert_eq!(one("[file:hashes.MD5 = 'b2a5abfeef9e36964281a31e17b57c97']").0, Kind::Md5);
        assert_eq!(one("[file:hashes.'SHA-1' = '5898fc860300e228dcd54c0b1045b5fa0dcda502']").0, Kind::Sha1);
        assert_eq!(one("[autonomous-system:number = 66642]"), (Kind::Asn, "AS66642".into()));
        assert_eq!(one("[autonomous-system:number = 'AS66642']"), (Kind::Asn, "AS66642".into()));
        assert_eq!(one(&format!("[x509-certificate:hashes.'SHA-256' = '{SHA256}']")).0, Kind::X509Sha256);
        assert_eq!(one("[network-traffic:dst_ref.value = '8.8.8.8']"), (Kind::Ipv4, "8.8.8.8".into()));
        assert_eq!(one("[network-traffic:src_ref.value = '2001:db8::2']"), (Kind::Ipv6, "2001:db8::2".into()));
    }

    #[test]
    fn network_traffic_endpoints() {
        let p = run("[network-traffic:dst_ref[0].type = 'ipv4-addr' AND network-traffic:dst_ref[0].value = '8.8.8.8' \
                     AND network-traffic:dst_ref[1].value = 'WWW.Example.com' AND network-traffic:src_ref.value = '10.0.0.0/8' \
                     AND network-traffic:src_ref.value = '5e:ff:56:a2:af:15' AND network-traffic:dst_port = 443]");
        assert_eq!(
            values(&p),
            vec![
                (Kind::Ipv4, "8.8.8.8".into()),
                (Kind::Domain, "www.example.com".into()),
                (Kind::Cidr, "10.0.0.0/8".into())
            ]
        );
        assert!(p.rejects.is_empty(), "{:?}", p.rejects);
        let p = run("[network-traffic:dst_ref.value = 'not an address']");
        assert_eq!(p.rejects[0].reason, "`not an address` is not an IP address, network or domain name");
    }

    #[test]
    fn category_prefers_indicator_types_then_labels_then_name() {
        let json = r#"[{"type": "indicator", "id": "indicator--11111111-1111-4111-8111-111111111111",
            "labels": ["phishing"], "indicator_types": ["malicious-activity", "c2"], "name": "ransomware",
            "pattern": "[ipv4-addr:value = '10.0.0.1']"}]"#;
        let r = &parse(json.as_bytes()).unwrap().records[0];
        assert_eq!(r.category, Some(Category::BotnetC2));
        assert_eq!(r.tags, vec!["phishing", "malicious-activity", "c2", "ransomware"]);
        let json = json.replace("\"c2\"", "\"indicator\"");
        assert_eq!(parse(json.as_bytes()).unwrap().records[0].category, Some(Category::Phishing));
        let json = json.replace("\"phishing\"", "\"apt\"");
        assert_eq!(parse(json.as_bytes()).unwrap().records[0].category, Some(Category::Ransomware));
        let json = json.replace("\"ransomware\"", "\"Bad stuff\"");
        assert_eq!(parse(json.as_bytes()).unwrap().records[0].category, None);
    }

    #[test]
    fn versions_of_one_object_get_their_own_lines() {
        let obj = |modified: &str, ip: &str| {
            format!(
                r#"{{"type": "indicator", "id": "indicator--11111111-1111-4111-8111-111111111111",
  "modified": "{modified}", "pattern": "[ipv4-addr:value = '{ip}']"}}"#
            )
        };
        let json =
            format!("[{},\n{}]", obj("2020-01-01T00:00:00Z", "10.0.0.1"), obj("2020-02-01T00:00:00Z", "10.0.0.2"));
        let p = parse(json.as_bytes()).unwrap();
        assert_eq!(p.records.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn ids_written_with_escapes_are_found() {
        let json = r#"[{"type": "domain-name", "id": "domain-name\u002d-55555555-5555-4555-8555-555555555555",
            "value": "example.org"},
            {"type": "domain-name", "id": "domain-name--66666666-6666-4666-8666-666666666666", "value": "b.example"}]"#;
        let p = parse(json.as_bytes()).unwrap();
        assert_eq!(p.records.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn many_escaped_ids_are_placed_in_one_pass() {
        // 200k objects whose ids are written with escapes: every lookup used
        // to rescan the rest of the file. Only the result is asserted; the
        // index makes the work linear by construction.
        let n = 200_000;
        let mut json = String::from("[");
        for i in 0..n {
            let sep = if i == 0 { "" } else { ",\n" };
            json.push_str(&format!(
                r#"{sep}{{"type": "ipv4-addr", "id": "ipv4-addr\u002d\u002d{i:08x}-0000-4000-8000-000000000000", "value": "10.{}.{}.{}"}}"#,
                i >> 16,
                (i >> 8) & 255,
                i & 255
            ));
        }
        json.push(']');
        let p = parse(json.as_bytes()).unwrap();
        assert_eq!(p.records.len(), n);
        assert!(p.records.iter().enumerate().all(|(i, r)| r.line == i as u32 + 1));
    }

    #[test]
    fn odd_member_types_never_panic() {
        let base: Value = serde_json::from_str(&indicator_json("[ipv4-addr:value = '10.0.0.1']")).unwrap();
        let mut docs = vec![base.clone()];
        let odd = [
            Value::Null,
            Value::from(-3),
            Value::from(101),
            Value::from(2.5),
            Value::from(""),
            Value::from("[file:hashes.MD5 IN ()]"),
            Value::Array(Vec::new()),
            serde_json::json!({"0": {"type": "url"}, "tlp": []}),
        ];
        let keys = ["type", "id", "pattern", "pattern_type", "valid_from", "created", "modified", "labels", "name"];
        let more = ["confidence", "object_marking_refs", "objects", "hashes", "value", "number", "definition"];
        for key in keys.iter().chain(&more) {
            for v in &odd {
                let mut d = base.clone();
                d["objects"][0][*key] = v.clone();
                docs.push(d);
                let mut d = base.clone();
                d["objects"][0]["type"] = Value::from("observed-data");
                d["objects"][0]["objects"] = serde_json::json!({"0": {"type": "file", *key: v.clone()}});
                docs.push(d);
            }
            let mut d = base.clone();
            d["objects"] = Value::from(*key);
            docs.push(d);
        }
        for d in docs {
            for text in [d.to_string(), d["objects"].to_string()] {
                assert_eq!(dragnet_core::broken_promise(text.as_bytes(), &parse(text.as_bytes())), None, "{text}");
            }
        }
    }

    #[test]
    fn record_fields() {
        let json = r#"[{"type": "indicator", "spec_version": "2.1",
            "id": "indicator--11111111-1111-4111-8111-111111111111",
            "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-03T00:00:00.000Z",
            "confidence": 85, "labels": ["apt"], "indicator_types": ["malicious-activity"],
            "name": "Ransomware C2 server", "pattern_type": "stix",
            "pattern": "[ipv4-addr:value = '10.0.0.1']", "valid_from": "2020-01-02T00:00:00Z"}]"#;
        let p = parse(json.as_bytes()).unwrap();
        let r = &p.records[0];
        assert_eq!(r.first_seen, parse_timestamp("2020-01-02T00:00:00Z"));
        assert_eq!(r.last_seen, parse_timestamp("2020-01-03T00:00:00Z"));
        assert_eq!(r.confidence, Some(85));
        assert_eq!(r.tags, vec!["apt", "malicious-activity", "Ransomware C2 server"]);
        assert_eq!(r.category, Some(Category::Ransomware));
        assert_eq!(r.line, 2);
        assert_eq!(r.raw, json::compact(&serde_json::from_str::<Value>(json).unwrap()[0]));
        assert_eq!(r.tlp, None);
    }

    #[test]
    fn in_set_or_and_cidr() {
        let p = run("[ipv4-addr:value IN ('10.0.0.1', '10.0.0.2')]");
        assert_eq!(values(&p), vec![(Kind::Ipv4, "10.0.0.1".into()), (Kind::Ipv4, "10.0.0.2".into())]);
        let p = run("[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '10.0.0.3']");
        assert_eq!(values(&p), vec![(Kind::Ipv4, "10.0.0.1".into()), (Kind::Ipv4, "10.0.0.3".into())]);
        let p = run("[ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.0.0.1'] WITHIN 60 SECONDS");
        assert_eq!(p.records.len(), 1, "duplicates within one indicator collapse");
        assert_eq!(one("[ipv4-addr:value = '198.51.100.0/24']"), (Kind::Cidr, "198.51.100.0/24".into()));
    }

    #[test]
    fn unsupported_comparisons_are_ignored() {
        let p = run("[file:name = 'x.exe' AND domain-name:value != 'a.com' AND url:value LIKE 'http://%' \
                     AND ipv4-addr:value ISSUBSET '10.0.0.0/8' AND ipv4-addr:value NOT = '1.1.1.1' \
                     AND domain-name:value = 'b.example.com']");
        assert_eq!(values(&p), vec![(Kind::Domain, "b.example.com".into())]);
        let p = run("[file:name = 'x.exe']");
        assert!(p.records.is_empty());
        assert_eq!(p.rejects.len(), 1);
        assert_eq!(p.rejects[0].reason, "no supported comparison in pattern");
        assert_eq!(p.rejects[0].field.as_deref(), Some("pattern"));
    }

    #[test]
    fn invalid_values_are_rejected() {
        let p = run("[domain-name:value = 'domain autuo.xicp.net' OR ipv4-addr:value = '60.10.1.115']");
        assert_eq!(values(&p), vec![(Kind::Ipv4, "60.10.1.115".into())]);
        assert_eq!(p.rejects.len(), 1);
        assert!(p.rejects[0].reason.contains("domain autuo.xicp.net"), "{}", p.rejects[0].reason);
        let p = run("[ipv4-addr:value = '2001:db8::1']");
        assert!(p.records.is_empty());
        assert_eq!(p.rejects.len(), 1);
        let p = run("[file:hashes.MD5 = 'nothex']");
        assert_eq!(p.rejects[0].field.as_deref(), Some("pattern"));
    }

    #[test]
    fn syntax_error_reports_offset() {
        let p = run("[ipv4-addr:value = '10.0.0.1'");
        assert!(p.records.is_empty());
        assert_eq!(p.rejects.len(), 1);
        assert_eq!(p.rejects[0].field.as_deref(), Some("pattern"));
        assert!(p.rejects[0].reason.contains("character 29"), "{}", p.rejects[0].reason);
        assert_eq!(p.rejects[0].line, 3);
    }

    #[test]
    fn escapes_in_values() {
        let p = run(r"[url:value = 'http://example.com/a\'b'] AND [file:name = 'c:\\x']");
        assert_eq!(p.records.len(), 1);
        assert!(p.records[0].observable.value().contains("a'b") || p.records[0].observable.value().contains("a%27b"));
    }

    #[test]
    fn yara_is_rejected() {
        let json = indicator_json("rule x { condition: true }")
            .replace("\"pattern_type\": \"stix\"", "\"pattern_type\": \"yara\"");
        let p = parse(json.as_bytes()).unwrap();
        assert_eq!(p.rejects.len(), 1);
        assert_eq!(p.rejects[0].reason, "pattern_type `yara` is not supported");
    }

    fn marked(refs: &[&str], extra: &str) -> Parsed {
        let refs = serde_json::to_string(refs).unwrap();
        let json = format!(
            r#"{{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
  {{"type": "indicator", "id": "indicator--11111111-1111-4111-8111-111111111111",
   "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
   "pattern": "[ipv4-addr:value = '10.0.0.1']", "object_marking_refs": {refs}}}{extra}
]}}"#
        );
        parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn tlp_from_fixed_ids() {
        let green1 = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
        let amber2 = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
        let strict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
        let white = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
        assert_eq!(marked(&[green1], "").records[0].tlp, Some(Tlp::Green));
        assert_eq!(marked(&[white], "").records[0].tlp, Some(Tlp::Clear));
        assert_eq!(marked(&[amber2], "").records[0].tlp, Some(Tlp::Amber));
        assert_eq!(marked(&[green1, strict, amber2], "").records[0].tlp, Some(Tlp::AmberStrict));
        assert_eq!(marked(&["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec"], "").records[0].tlp, None);
    }

    #[test]
    fn tlp_from_bundle_definitions() {
        let custom = "marking-definition--22222222-2222-4222-8222-222222222222";
        let def = format!(
            r#",
  {{"type": "marking-definition", "id": "{custom}", "created": "2017-01-20T00:00:00.000Z",
   "definition_type": "tlp", "definition": {{"tlp": "red"}}}}"#
        );
        let p = marked(&[custom], &def);
        assert_eq!(p.records[0].tlp, Some(Tlp::Red));
        assert_eq!(p.skipped, 1);
        assert!(p.rejects.is_empty());
        let green2 = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
        let def = format!(
            r#",
  {{"type": "marking-definition", "spec_version": "2.1", "id": "{green2}", "created": "2022-10-01T00:00:00.000Z",
   "name": "TLP:GREEN", "extensions": {{"{TLP2_EXTENSION}": {{"extension_type": "property-extension", "tlp_2_0": "green"}}}}}}"#
        );
        let p = marked(&[green2], &def);
        assert_eq!(p.records[0].tlp, Some(Tlp::Green));
        assert!(p.rejects.is_empty());
    }

    #[test]
    fn invalid_tlp2_definition_is_rejected_and_not_trusted() {
        let fake = "marking-definition--33333333-3333-4333-8333-333333333333";
        let def = format!(
            r#",
  {{"type": "marking-definition", "spec_version": "2.1", "id": "{fake}", "created": "2022-10-01T00:00:00.000Z",
   "name": "TLP:CLEAR", "extensions": {{"{TLP2_EXTENSION}": {{"extension_type": "property-extension", "tlp_2_0": "clear"}}}}}}"#
        );
        let p = marked(&[fake], &def);
        assert_eq!(p.records[0].tlp, None);
        assert_eq!(p.rejects.len(), 1);
        assert_eq!(p.rejects[0].field.as_deref(), Some("marking-definition"));
        assert_eq!(p.rejects[0].line, 5);
        // The GREEN id relabelled as CLEAR: rejected, and the id keeps its standard meaning.
        let green2 = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
        let def = format!(
            r#",
  {{"type": "marking-definition", "id": "{green2}", "created": "2022-10-01T00:00:00.000Z",
   "name": "TLP:CLEAR", "extensions": {{"{TLP2_EXTENSION}": {{"tlp_2_0": "clear"}}}}}}"#
        );
        let p = marked(&[green2], &def);
        assert_eq!(p.records[0].tlp, Some(Tlp::Green));
        assert_eq!(p.rejects.len(), 1);
    }

    #[test]
    fn malformed_json_is_a_file_error_with_line() {
        let e = parse(b"{\"type\": \"bundle\",\n \"objects\": [\n {\"type\": }\n]}").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.column.is_some());
    }

    #[test]
    fn non_stix_json_is_a_file_error() {
        assert!(parse(b"{\"Event\": {}}").is_err());
        assert!(parse(b"[1, 2]").is_err());
        assert!(parse(b"\"bundle\"").is_err());
        assert!(parse(b"[{\"ip_address\": \"1.2.3.4\"}]").is_err());
    }

    #[test]
    fn resolutions_become_links() {
        let bundle = r#"{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
  {"type": "domain-name", "spec_version": "2.1", "id": "domain-name--00000000-0000-4000-8000-000000000001", "value": "c2.example", "resolves_to_refs": ["ipv4-addr--00000000-0000-4000-8000-000000000002", "ipv4-addr--00000000-0000-4000-8000-00000000dead"]},
  {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--00000000-0000-4000-8000-000000000002", "value": "198.51.100.7"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000003", "created": "2024-05-20T08:00:00.000Z", "modified": "2024-05-20T08:00:00.000Z", "valid_from": "2024-05-20T08:00:00.000Z", "pattern": "[domain-name:value = 'www.c2.example']", "pattern_type": "stix"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000004", "created": "2024-05-20T08:00:00.000Z", "modified": "2024-05-20T08:00:00.000Z", "valid_from": "2024-05-20T08:00:00.000Z", "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix"},
  {"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000005", "created": "2024-05-20T08:00:00.000Z", "modified": "2024-05-20T08:00:00.000Z", "relationship_type": "resolves-to", "source_ref": "indicator--00000000-0000-4000-8000-000000000003", "target_ref": "indicator--00000000-0000-4000-8000-000000000004"},
  {"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000006", "created": "2024-05-20T08:00:00.000Z", "modified": "2024-05-20T08:00:00.000Z", "relationship_type": "indicates", "source_ref": "indicator--00000000-0000-4000-8000-000000000003", "target_ref": "indicator--00000000-0000-4000-8000-000000000004"}
]}"#;
        let p = parse(bundle.as_bytes()).unwrap();
        let links: Vec<(&str, &str, u32)> = p.links.iter().map(|l| (l.from.value(), l.to.value(), l.line)).collect();
        assert_eq!(
            links,
            vec![("c2.example", "198.51.100.7", 2), ("www.c2.example", "203.0.113.9", 6)],
            "a dangling ref and other relationships link nothing"
        );
    }

    #[test]
    fn top_level_scos_and_other_objects() {
        let json = r#"{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
  {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--44444444-4444-4444-8444-444444444444", "value": "198.51.100.3",
   "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]},
  {"type": "domain-name", "id": "domain-name--55555555-5555-4555-8555-555555555555", "value": "example.org"},
  {"type": "file", "id": "file--66666666-6666-4666-8666-666666666666",
   "hashes": {"SHA-256": "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c", "MD5": "zz"}},
  {"type": "file", "id": "file--77777777-7777-4777-8777-777777777777", "name": "a.exe"},
  {"type": "autonomous-system", "id": "autonomous-system--88888888-8888-4888-8888-888888888888", "number": 15139},
  {"type": "x509-certificate", "id": "x509-certificate--99999999-9999-4999-8999-999999999999",
   "hashes": {"SHA-256": "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"}},
  {"type": "malware", "id": "malware--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "created": "2020-01-01T00:00:00Z",
   "modified": "2020-01-01T00:00:00Z", "name": "x", "is_family": true},
  {"type": "relationship", "id": "relationship--bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"}
]}"#;
        let p = parse(json.as_bytes()).unwrap();
        let v = values(&p);
        assert_eq!(v.len(), 5, "{v:?}");
        assert_eq!(v[0], (Kind::Ipv4, "198.51.100.3".into()));
        assert_eq!(p.records[0].tlp, Some(Tlp::Red));
        assert_eq!(p.records[0].tags, vec!["sco"]);
        assert_eq!(p.records[0].line, 2);
        assert_eq!(v[1], (Kind::Domain, "example.org".into()));
        assert_eq!(v[2].0, Kind::Sha256);
        assert_eq!(v[3], (Kind::Asn, "AS15139".into()));
        assert_eq!(v[4].0, Kind::X509Sha256);
        assert_eq!(p.rejects.len(), 1, "the bad MD5");
        assert_eq!(p.rejects[0].field.as_deref(), Some("hashes"));
        assert_eq!(p.skipped, 3, "file without hashes, malware, relationship");
    }

    #[test]
    fn stix20_observed_data() {
        let json = r#"{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "spec_version": "2.0", "objects": [
  {"type": "observed-data", "id": "observed-data--cccccccc-cccc-4ccc-8ccc-cccccccccccc",
   "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
   "first_observed": "2020-02-01T00:00:00Z", "last_observed": "2020-02-02T00:00:00Z", "number_observed": 1,
   "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
   "objects": {"0": {"type": "ipv4-addr", "value": "203.0.113.9"},
               "1": {"type": "url", "value": "http://example.net/x"},
               "2": {"type": "mutex", "name": "m"}}}
]}"#;
        let p = parse(json.as_bytes()).unwrap();
        assert_eq!(values(&p)[0], (Kind::Ipv4, "203.0.113.9".into()));
        assert_eq!(p.records.len(), 2);
        assert!(p.records.iter().all(|r| r.tlp == Some(Tlp::Amber) && r.line == 2));
        assert_eq!(p.records[0].first_seen, parse_timestamp("2020-02-01T00:00:00Z"));
        assert_eq!(p.records[0].last_seen, parse_timestamp("2020-02-02T00:00:00Z"));
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn single_object_and_array() {
        let obj = r#"{"type": "indicator", "id": "indicator--11111111-1111-4111-8111-111111111111",
            "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
            "pattern": "[domain-name:value = 'a.example.com']"}"#;
        assert_eq!(parse(obj.as_bytes()).unwrap().records.len(), 1);
        assert_eq!(parse(format!("[{obj}]").as_bytes()).unwrap().records.len(), 1);
    }

    #[test]
    fn bad_timestamps_are_rejected() {
        let json = r#"[{"type": "relationship", "id": "relationship--11111111-1111-4111-8111-111111111111",
            "created": "2022-101-27T13:49:54.326Z", "modified": "2022-10-27T13:49:54.326Z"}]"#;
        let p = parse(json.as_bytes()).unwrap();
        assert_eq!(p.rejects.len(), 1);
        assert_eq!(p.rejects[0].field.as_deref(), Some("created"));
        assert_eq!(p.skipped, 0);
    }
}
