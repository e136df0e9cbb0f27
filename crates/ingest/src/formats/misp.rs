//! MISP JSON: a single event (`{"Event": {...}}`, also a MISP feed event
//! file), a bare event object, the REST event search response
//! (`{"response": [...]}`), the attribute search response
//! (`{"response": {"Attribute": [...]}}`), a bare attribute, and a JSON array
//! of events or attributes. Also reads a MISP feed `manifest.json`.

use std::collections::HashMap;

use dragnet_core::record::line_at;
use dragnet_core::{
    Category, FileError, Kind, Link, Observable, ObservableError, Parsed, Record, Reject, Timestamp, Tlp,
    parse_timestamp,
};
use serde_json::{Map, Value};

type Object = Map<String, Value>;

/// Parses MISP JSON into records (one per observable an attribute carries),
/// rejects (attributes of a tracked type whose value is invalid) and a count
/// of attributes skipped (untracked types, deleted attributes).
pub fn parse(input: &[u8]) -> Result<Parsed, FileError> {
    let root: Value = serde_json::from_slice(strip_bom(input)).map_err(json_error)?;
    let units = classify(&root)?;
    let lines = UuidLines::index(input);
    let mut out = Parsed::default();
    for unit in units {
        match unit {
            Unit::Event(event) => parse_event(event, &lines, &mut out)?,
            Unit::Attribute(attr) => {
                let ctx = EventCtx::of_loose_attribute(attr);
                parse_attribute(attr, &ctx, None, &lines, &mut out);
            }
        }
    }
    Ok(out)
}

/// Reads a MISP feed `manifest.json` (an object keyed by event uuid) and
/// returns the event file names, `<uuid>.json`, sorted.
pub fn feed_event_files(manifest: &[u8]) -> Result<Vec<String>, FileError> {
    let root: Value = serde_json::from_slice(strip_bom(manifest)).map_err(json_error)?;
    let Value::Object(map) = root else {
        return Err(FileError::new(
            1,
            format!("a MISP feed manifest must be a JSON object keyed by event uuid, found {}", describe(&root)),
        ));
    };
    let mut files = Vec::with_capacity(map.len());
    for (key, value) in &map {
        if !is_uuid(key) {
            return Err(FileError::new(key_line(manifest, key), format!("manifest key `{key}` is not an event uuid")));
        }
        if !value.is_object() {
            return Err(FileError::new(
                key_line(manifest, key),
                format!("manifest entry `{key}` is {}, expected an object", describe(value)),
            ));
        }
        files.push(format!("{key}.json"));
    }
    files.sort();
    Ok(files)
}

// ---------------------------------------------------------------------------
// Shapes

enum Unit<'a> {
    Event(&'a Object),
    Attribute(&'a Value),
}

fn classify(root: &Value) -> Result<Vec<Unit<'_>>, FileError> {
    let not_misp = |why: String| FileError::new(1, format!("not MISP JSON: {why}"));
    match root {
        Value::Object(obj) => {
            if let Some(resp) = obj.get("response") {
                return classify_response(resp).map_err(not_misp);
            }
            if let Some(unit) = as_unit(root) {
                return Ok(vec![unit]);
            }
            if let Some(Value::Array(events)) = obj.get("Event") {
                return items(events, "`Event` array").map_err(not_misp);
            }
            Err(not_misp(describe_object(obj)))
        }
        Value::Array(list) => items(list, "top-level array").map_err(not_misp),
        other => Err(not_misp(format!(
            "expected {{\"Event\": ...}}, a bare event, a REST response or an array of events; found {}",
            describe(other)
        ))),
    }
}

fn classify_response(resp: &Value) -> Result<Vec<Unit<'_>>, String> {
    match resp {
        Value::Array(list) => items(list, "`response` array"),
        Value::Object(obj) => match obj.get("Attribute") {
            Some(Value::Array(attrs)) => Ok(attrs.iter().map(Unit::Attribute).collect()),
            Some(Value::Null) => Ok(Vec::new()),
            Some(other) => Err(format!("`response.Attribute` is {}, expected an array", describe(other))),
            None => match as_unit(resp) {
                Some(unit) => Ok(vec![unit]),
                None => Err(format!("`response` holds neither events nor attributes (keys {})", keys(obj))),
            },
        },
        Value::Null => Ok(Vec::new()),
        other => Err(format!("`response` is {}, expected events or attributes", describe(other))),
    }
}

fn items<'a>(list: &'a [Value], what: &str) -> Result<Vec<Unit<'a>>, String> {
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            as_unit(v).ok_or_else(|| {
                let found = match v {
                    Value::Object(o) => format!("an object with keys {}", keys(o)),
                    other => describe(other).to_string(),
                };
                format!("item {i} of the {what} is not a MISP event or attribute: found {found}")
            })
        })
        .collect()
}

/// One event (wrapped or bare) or one bare attribute.
fn as_unit(v: &Value) -> Option<Unit<'_>> {
    let obj = v.as_object()?;
    if is_bare_attribute(obj) {
        return Some(Unit::Attribute(v));
    }
    if let Some(Value::Object(inner)) = obj.get("Event")
        && is_event_like(inner)
    {
        return Some(Unit::Event(inner));
    }
    is_event_like(obj).then_some(Unit::Event(obj))
}

fn is_event_like(obj: &Object) -> bool {
    let list_or_null = |k: &str| matches!(obj.get(k), Some(Value::Array(_) | Value::Null));
    if obj.get("Attribute").is_some_and(Value::is_array) || obj.get("Object").is_some_and(Value::is_array) {
        return true;
    }
    let has_info = obj.get("info").is_some_and(Value::is_string);
    has_info
        && (["date", "threat_level_id", "analysis", "Orgc", "published"].iter().any(|k| obj.contains_key(*k))
            || list_or_null("Attribute"))
}

fn is_bare_attribute(obj: &Object) -> bool {
    obj.get("type").is_some_and(Value::is_string)
        && obj.get("value").is_some_and(|v| v.is_string() || v.is_number())
        && ["category", "to_ids", "object_relation", "event_id"].iter().any(|k| obj.contains_key(*k))
        && !obj.contains_key("Attribute")
}

// ---------------------------------------------------------------------------
// Events and attributes

fn parse_event(event: &Object, lines: &UuidLines, out: &mut Parsed) -> Result<(), FileError> {
    let event_line = text(event.get("uuid")).map_or(1, |u| lines.get(&u).max(1));
    let ctx = EventCtx {
        info: text(event.get("info")).filter(|s| !s.trim().is_empty()),
        date: text(event.get("date")).and_then(|d| parse_timestamp(&d)),
        labels: Labels::from(event.get("Tag"), event.get("Galaxy")),
    };
    for attr in list(event, "Attribute", "event", event_line)? {
        parse_attribute(attr, &ctx, None, lines, out);
    }
    for obj in list(event, "Object", "event", event_line)? {
        let Some(o) = obj.as_object() else {
            out.rejects.push(Reject::new(0, Some("Object"), "MISP object is not a JSON object", compact(obj)));
            continue;
        };
        let attrs = list(o, "Attribute", "object", event_line)?;
        if is_true(o.get("deleted")) {
            out.skipped += attrs.len() as u64;
            continue;
        }
        let first = out.records.len();
        for attr in attrs {
            parse_attribute(attr, &ctx, Some(o), lines, out);
        }
        link_together(out, first);
    }
    Ok(())
}

/// An object with more records than this is a list, not one thing's
/// description: its records are not linked pairwise.
const MAX_LINKED_RECORDS: usize = 64;

/// Links every pair of records from `first` on whose kinds are related:
/// the attributes of one MISP object (or one `domain|ip`) describe one thing.
/// A pair already linked (a `domain|ip` inside an object) is not added again.
fn link_together(out: &mut Parsed, first: usize) {
    let records = out.records.get(first..).unwrap_or_default();
    if records.len() > MAX_LINKED_RECORDS {
        return;
    }
    let mut have: std::collections::HashSet<(&dragnet_core::Observable, &dragnet_core::Observable)> =
        std::collections::HashSet::new();
    let mut new = Vec::new();
    for l in out.links.iter().rev().take(MAX_LINKED_RECORDS * MAX_LINKED_RECORDS) {
        have.insert((&l.from, &l.to));
    }
    for a in records {
        for b in records {
            if a.observable != b.observable
                && !have.contains(&(&a.observable, &b.observable))
                && let Some(link) = Link::between_records(a, b, b.line)
            {
                have.insert((&a.observable, &b.observable));
                new.push(link);
            }
        }
    }
    out.links.extend(new);
}

fn list<'a>(obj: &'a Object, key: &str, what: &str, line: u32) -> Result<&'a [Value], FileError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => {
            Err(FileError::new(line, format!("MISP {what} `{key}` is {}, expected an array", describe(other))))
        }
    }
}

struct EventCtx {
    info: Option<String>,
    date: Option<Timestamp>,
    labels: Labels,
}

impl EventCtx {
    /// An attribute from an attribute search carries a summary of its event.
    fn of_loose_attribute(attr: &Value) -> EventCtx {
        let event = attr.get("Event");
        EventCtx {
            info: text(event.and_then(|e| e.get("info"))).filter(|s| !s.trim().is_empty()),
            date: text(event.and_then(|e| e.get("date"))).and_then(|d| parse_timestamp(&d)),
            labels: Labels::from(event.and_then(|e| e.get("Tag")), None),
        }
    }
}

/// What a list of tags and galaxies says: TLP, plain tags, category
/// candidates (in tag order) and confidence.
#[derive(Default)]
struct Labels {
    tlp: Option<Tlp>,
    tags: Vec<String>,
    categories: Vec<Category>,
    confidence: Option<u8>,
}

impl Labels {
    fn from(tags: Option<&Value>, galaxies: Option<&Value>) -> Labels {
        let mut labels = Labels::default();
        for tag in tags.and_then(Value::as_array).into_iter().flatten() {
            // `{"name": ..}`, `{"Tag": {"name": ..}}` (EventTag) or a bare string.
            let name = tag.get("name").or_else(|| tag.get("Tag").and_then(|t| t.get("name"))).or(Some(tag));
            let Some(name) = name.and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty()) else {
                continue;
            };
            if name.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tlp:"))
                && let Ok(tlp) = name.parse::<Tlp>()
            {
                labels.tlp = labels.tlp.max(Some(tlp));
                continue;
            }
            let value = tag_value(name);
            if let Ok(cat) = value.parse::<Category>() {
                labels.categories.push(cat);
            }
            if labels.confidence.is_none() {
                labels.confidence = tag_confidence(name, value);
            }
            labels.tags.push(name.to_string());
        }
        for galaxy in galaxies.and_then(Value::as_array).into_iter().flatten() {
            let clusters = galaxy.get("GalaxyCluster").and_then(Value::as_array);
            for value in clusters.into_iter().flatten().filter_map(|c| c.get("value").and_then(Value::as_str)) {
                if let Ok(cat) = value.parse::<Category>() {
                    labels.categories.push(cat);
                }
                labels.tags.push(value.to_string());
            }
        }
        labels
    }
}

/// The value of a machine tag: `ns:pred="value"` gives `value`, `ns:pred`
/// gives `pred`, a plain tag gives itself.
fn tag_value(name: &str) -> &str {
    if let Some((_, v)) = name.split_once('=') {
        return v.trim().trim_matches('"');
    }
    name.split_once(':').map_or(name, |(_, rest)| rest.trim())
}

fn tag_confidence(name: &str, value: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("osint:certainty=") {
        return value.trim().parse::<u8>().ok().filter(|n| *n <= 100);
    }
    if lower.starts_with("estimative-language:confidence-in-analytic-judgment=") {
        return match value.to_ascii_lowercase().as_str() {
            "high" => Some(90),
            "moderate" => Some(60),
            "low" => Some(30),
            _ => None,
        };
    }
    None
}

/// How a MISP attribute type becomes observables.
enum Mapping {
    Skip,
    /// IPv4, IPv6 or CIDR (the part before `|` for `ip-*|port`).
    Ip {
        composite: bool,
    },
    /// One observable of this kind from the whole value.
    Whole(Kind),
    /// The part before the `|` (`hostname|port`).
    First(Kind),
    /// The part after the last `|` (`filename|sha256`, `malware-sample`).
    Last(Kind),
    Url,
    DomainIp,
}

fn mapping(misp_type: &str) -> Mapping {
    match misp_type.trim().to_ascii_lowercase().as_str() {
        "ip-dst" | "ip-src" => Mapping::Ip { composite: false },
        "ip-dst|port" | "ip-src|port" => Mapping::Ip { composite: true },
        "domain" | "hostname" => Mapping::Whole(Kind::Domain),
        "hostname|port" => Mapping::First(Kind::Domain),
        "domain|ip" => Mapping::DomainIp,
        "url" => Mapping::Url,
        "email" | "email-src" | "email-dst" => Mapping::Whole(Kind::Email),
        "md5" => Mapping::Whole(Kind::Md5),
        "sha1" => Mapping::Whole(Kind::Sha1),
        "sha256" => Mapping::Whole(Kind::Sha256),
        "filename|md5" | "malware-sample" => Mapping::Last(Kind::Md5),
        "filename|sha1" => Mapping::Last(Kind::Sha1),
        "filename|sha256" => Mapping::Last(Kind::Sha256),
        "as" => Mapping::Whole(Kind::Asn),
        "x509-fingerprint-sha256" => Mapping::Whole(Kind::X509Sha256),
        "ja3-fingerprint-md5" => Mapping::Whole(Kind::Ja3),
        "jarm-fingerprint" => Mapping::Whole(Kind::Jarm),
        "ssh-fingerprint" => Mapping::Whole(Kind::SshHostKey),
        _ => Mapping::Skip,
    }
}

fn observables(map: &Mapping, value: &str) -> Vec<Result<Observable, ObservableError>> {
    let first = |v: &str| v.split_once('|').map_or(v, |(a, _)| a).to_string();
    let last = |v: &str| v.rsplit_once('|').map_or(v, |(_, b)| b).to_string();
    match map {
        Mapping::Skip => Vec::new(),
        Mapping::Ip { composite } => vec![ip(&if *composite { first(value) } else { value.to_string() })],
        Mapping::Whole(kind) => vec![Observable::parse(*kind, value)],
        Mapping::First(kind) => vec![Observable::parse(*kind, &first(value))],
        Mapping::Last(kind) => vec![Observable::parse(*kind, &last(value))],
        Mapping::Url => vec![url(value)],
        Mapping::DomainIp => match value.split_once('|') {
            Some((domain, addr)) => vec![Observable::parse(Kind::Domain, domain), ip(addr)],
            None => vec![Err(ObservableError::InvalidBecause {
                kind: Kind::Domain,
                value: value.to_string(),
                why: "a `domain|ip` attribute needs both parts",
            })],
        },
    }
}

fn ip(value: &str) -> Result<Observable, ObservableError> {
    match Observable::guess(value) {
        Ok(obs) if matches!(obs.kind(), Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr) => Ok(obs),
        Err(e @ ObservableError::HostBitsSet { .. }) | Err(e @ ObservableError::Empty) => Err(e),
        _ => Err(ObservableError::Invalid {
            kind: if value.contains('/') { Kind::Cidr } else { Kind::Ipv4 },
            value: value.trim().to_string(),
        }),
    }
}

/// MISP `url` attributes are often written without a scheme.
fn url(value: &str) -> Result<Observable, ObservableError> {
    let direct = Observable::parse(Kind::Url, value);
    if direct.is_ok() || value.contains("://") {
        return direct;
    }
    Observable::parse(Kind::Url, &format!("http://{}", value.trim())).or(direct)
}

fn parse_attribute(attr: &Value, ev: &EventCtx, obj: Option<&Object>, lines: &UuidLines, out: &mut Parsed) {
    let raw = compact(attr);
    let Some(a) = attr.as_object() else {
        out.rejects.push(Reject::new(0, None, "MISP attribute is not a JSON object", raw));
        return;
    };
    let line = text(a.get("uuid")).map_or(0, |u| lines.get(&u));
    if is_true(a.get("deleted")) {
        out.skipped += 1;
        return;
    }
    let Some(misp_type) = a.get("type").and_then(Value::as_str) else {
        out.rejects.push(Reject::new(line, Some("type"), "MISP attribute has no string `type`", raw));
        return;
    };
    let map = mapping(misp_type);
    if matches!(map, Mapping::Skip) {
        out.skipped += 1;
        return;
    }
    let Some(value) = text(a.get("value")) else {
        out.rejects.push(Reject::new(line, Some("value"), "MISP attribute has no string `value`", raw));
        return;
    };

    let labels = Labels::from(a.get("Tag"), a.get("Galaxy"));
    let tlp = labels.tlp.or(ev.labels.tlp);
    let confidence = labels.confidence.or(ev.labels.confidence);
    let mut tags: Vec<String> = Vec::new();
    let mut add = |t: &str| {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    };
    if let Some(info) = &ev.info {
        add(info.trim());
    }
    ev.labels.tags.iter().chain(&labels.tags).for_each(|t| add(t));
    if is_false(a.get("to_ids")) {
        add("to_ids:false");
    }
    let seen = |key: &str| {
        text(a.get(key))
            .and_then(|s| parse_timestamp(&s))
            .or_else(|| obj.and_then(|o| text(o.get(key))).and_then(|s| parse_timestamp(&s)))
    };
    let timestamp = text(a.get("timestamp")).and_then(|s| parse_timestamp(&s));
    let first_seen = seen("first_seen").or(timestamp).or(ev.date);
    let last_seen = seen("last_seen").or(timestamp);
    let payload_delivery = text(a.get("category")).is_some_and(|c| c.trim().eq_ignore_ascii_case("payload delivery"));
    let candidates: Vec<Category> = labels.categories.iter().chain(&ev.labels.categories).copied().collect();

    let first = out.records.len();
    for result in observables(&map, &value) {
        match result {
            Ok(observable) => {
                let category = category(&candidates, payload_delivery, observable.kind());
                let mut record = Record::new(observable, line, raw.clone());
                record.category = category;
                record.first_seen = first_seen;
                record.last_seen = last_seen;
                record.tlp = tlp;
                record.confidence = confidence;
                record.tags = tags.clone();
                out.records.push(record);
            }
            Err(e) => out.rejects.push(Reject::new(line, Some("value"), e.to_string(), raw.clone())),
        }
    }
    if matches!(map, Mapping::DomainIp) {
        link_together(out, first);
    }
}

/// A specific category from the tags wins; then "Payload delivery" for URLs
/// and hashes; then a generic one from the tags.
fn category(candidates: &[Category], payload_delivery: bool, kind: Kind) -> Option<Category> {
    let generic = |c: &Category| matches!(c, Category::MalwareDistribution | Category::Other);
    if let Some(c) = candidates.iter().find(|c| !generic(c)) {
        return Some(*c);
    }
    if payload_delivery && matches!(kind, Kind::Url | Kind::Md5 | Kind::Sha1 | Kind::Sha256) {
        return Some(Category::MalwareDistribution);
    }
    candidates.iter().find(|c| **c == Category::MalwareDistribution).or(candidates.first()).copied()
}

// ---------------------------------------------------------------------------
// Lines

/// The line of the first `"uuid": "<value>"` of every uuid in the input,
/// built in one pass so large feeds stay linear.
struct UuidLines(HashMap<String, u32>);

impl UuidLines {
    fn index(input: &[u8]) -> UuidLines {
        const KEY: &[u8] = b"\"uuid\"";
        let mut map = HashMap::new();
        let mut line = 1u32;
        for (i, &b) in input.iter().enumerate() {
            match b {
                b'\n' => line += 1,
                b'"' if input.get(i..).is_some_and(|rest| rest.starts_with(KEY)) => {
                    if let Some(uuid) = input.get(i + KEY.len()..).and_then(string_value_after) {
                        map.entry(uuid.to_string()).or_insert(line);
                    }
                }
                _ => {}
            }
        }
        UuidLines(map)
    }

    fn get(&self, uuid: &str) -> u32 {
        self.0.get(uuid).copied().unwrap_or(0)
    }
}

/// For `  : "value"...`, the value (only simple strings without escapes).
fn string_value_after(rest: &[u8]) -> Option<&str> {
    let rest = rest.trim_ascii_start().strip_prefix(b":")?;
    let rest = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let end = rest.iter().take(100).position(|&b| b == b'"' || b == b'\\' || b == b'\n')?;
    if rest.get(end) != Some(&b'"') {
        return None;
    }
    std::str::from_utf8(rest.get(..end)?).ok()
}

fn key_line(input: &[u8], key: &str) -> u32 {
    let needle = format!("\"{key}\"");
    input.windows(needle.len()).position(|w| w == needle.as_bytes()).map_or(1, |at| line_at(input, at))
}

// ---------------------------------------------------------------------------
// Small helpers

fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input)
}

fn json_error(e: serde_json::Error) -> FileError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    FileError {
        line: u32::try_from(e.line()).unwrap_or(u32::MAX),
        column: Some(u32::try_from(e.column()).unwrap_or(u32::MAX)),
        message: format!("malformed JSON: {message}"),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A string, or a number written as text (MISP writes most scalars as strings).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.trim(), "1" | "true" | "True"),
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

fn is_false(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => !*b,
        Some(Value::String(s)) => matches!(s.trim(), "0" | "false" | "False"),
        Some(Value::Number(n)) => n.as_u64() == Some(0),
        _ => false,
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn keys(obj: &Object) -> String {
    let mut names: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
    if obj.len() > 8 {
        names.push("...");
    }
    if names.is_empty() { "(none)".to_string() } else { names.join(", ") }
}

fn describe_object(obj: &Object) -> String {
    if obj.contains_key("$schema") {
        return "this is a JSON Schema, not MISP events or attributes".to_string();
    }
    if !obj.is_empty() && obj.iter().all(|(k, v)| is_uuid(k) && v.get("info").is_some()) {
        return "this looks like a MISP feed manifest.json; read the event files it lists instead".to_string();
    }
    format!(
        "expected {{\"Event\": ...}}, a bare event (with `Attribute`/`Object`/`info`), a REST `response` or an \
         attribute; found an object with keys {}",
        keys(obj)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(attrs: &str) -> String {
        format!(
            r#"{{"Event": {{"uuid": "11111111-1111-4111-8111-111111111111", "info": "Test event", "date": "2024-01-02", "Tag": [{{"name": "tlp:amber"}}], "Attribute": [{attrs}]}}}}"#
        )
    }

    fn attr(uuid_n: u8, t: &str, value: &str) -> String {
        format!(
            r#"{{"uuid": "aaaaaaaa-0000-4000-8000-0000000000{uuid_n:02}", "type": "{t}", "category": "Network activity", "to_ids": true, "timestamp": "1700000000", "value": "{value}"}}"#
        )
    }

    fn one(t: &str, value: &str) -> Parsed {
        parse(event(&attr(1, t, value)).as_bytes()).unwrap()
    }

    fn kv(p: &Parsed) -> Vec<(Kind, String)> {
        p.records.iter().map(|r| (r.observable.kind(), r.observable.value().to_string())).collect()
    }

    #[test]
    fn maps_each_type() {
        let sha256 = "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68";
        let md5 = "0749bae92ca336a02c83d126e04ec628";
        let sha1 = "77b0c41b7d340b8a3d903f21347bbf06aa766b5b";
        let jarm = "2ad2ad0002ad2ad00042d42d00000069d641f34fe76acdc05c40262f8815e5";
        let cases: Vec<(&str, String, Kind, String)> = vec![
            ("ip-dst", "198.51.100.7".into(), Kind::Ipv4, "198.51.100.7".into()),
            ("ip-src", "2001:DB8::1".into(), Kind::Ipv6, "2001:db8::1".into()),
            ("ip-src", "203.0.113.0/24".into(), Kind::Cidr, "203.0.113.0/24".into()),
            ("ip-dst|port", "198.51.100.7|443".into(), Kind::Ipv4, "198.51.100.7".into()),
            ("ip-src|port", "2001:db8::2|8080".into(), Kind::Ipv6, "2001:db8::2".into()),
            ("domain", "Evil.Example.COM".into(), Kind::Domain, "evil.example.com".into()),
            ("hostname", "c2.example.net".into(), Kind::Domain, "c2.example.net".into()),
            ("hostname|port", "c2.example.net|8443".into(), Kind::Domain, "c2.example.net".into()),
            ("url", "http://evil.example.com/a.exe".into(), Kind::Url, "http://evil.example.com/a.exe".into()),
            ("url", "evil.example.com/b.exe".into(), Kind::Url, "http://evil.example.com/b.exe".into()),
            ("email-src", "Bad@Example.com".into(), Kind::Email, "bad@example.com".into()),
            ("email-dst", "victim@example.org".into(), Kind::Email, "victim@example.org".into()),
            ("email", "x@example.org".into(), Kind::Email, "x@example.org".into()),
            ("md5", md5.to_uppercase(), Kind::Md5, md5.into()),
            ("sha1", sha1.into(), Kind::Sha1, sha1.into()),
            ("sha256", sha256.into(), Kind::Sha256, sha256.into()),
            ("filename|md5", format!("a.exe|{md5}"), Kind::Md5, md5.into()),
            ("filename|sha1", format!("a.exe|{sha1}"), Kind::Sha1, sha1.into()),
            ("filename|sha256", format!("a.exe|{sha256}"), Kind::Sha256, sha256.into()),
            ("malware-sample", format!("a.zip|{md5}"), Kind::Md5, md5.into()),
            ("AS", "AS64500".into(), Kind::Asn, "AS64500".into()),
            ("AS", "64501".into(), Kind::Asn, "AS64501".into()),
            ("x509-fingerprint-sha256", sha256.into(), Kind::X509Sha256, sha256.into()),
            ("ja3-fingerprint-md5", md5.into(), Kind::Ja3, md5.into()),
            ("jarm-fingerprint", jarm.into(), Kind::Jarm, jarm.into()),
            (
                "ssh-fingerprint",
                "7b:e5:6f:a7:f4:f9:81:62:5c:e3:1f:bf:8b:57:6c:5a".into(),
                Kind::SshHostKey,
                "7b:e5:6f:a7:f4:f9:81:62:5c:e3:1f:bf:8b:57:6c:5a".into(),
            ),
        ];
        for (t, value, kind, want) in cases {
            let p = one(t, &value);
            assert_eq!(kv(&p), vec![(kind, want)], "{t} {value}: {:?}", p.rejects);
            assert!(p.rejects.is_empty() && p.skipped == 0, "{t}");
        }
    }

    #[test]
    fn splits_domain_ip_into_two_records() {
        let p = one("domain|ip", "evil.example.com|192.0.2.1");
        assert_eq!(kv(&p), vec![(Kind::Domain, "evil.example.com".to_string()), (Kind::Ipv4, "192.0.2.1".to_string())]);
        assert_eq!(p.records[0].raw, p.records[1].raw);
        let half = one("domain|ip", "evil.example.com|not-an-ip");
        assert_eq!(half.records.len(), 1);
        assert_eq!(half.rejects.len(), 1);
    }

    #[test]
    fn an_objects_related_attributes_are_linked_once() {
        let cert = "3f7a2b9c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        let object = |attrs: Vec<String>| {
            format!(
                r#"{{"Event": {{"uuid": "11111111-1111-4111-8111-111111111111", "info": "x", "Object": [{{"name": "domain-ip", "Attribute": [{}]}}]}}}}"#,
                attrs.join(",")
            )
        };
        let p = parse(
            object(vec![attr(1, "domain|ip", "c2.example|192.0.2.1"), attr(2, "x509-fingerprint-sha256", cert)])
                .as_bytes(),
        )
        .unwrap();
        let mut links: Vec<(&str, &str)> = p.links.iter().map(|l| (l.from.value(), l.to.value())).collect();
        links.sort();
        assert_eq!(links, vec![("192.0.2.1", cert), ("c2.example", "192.0.2.1"), ("c2.example", cert)]);
        // A huge object is a list, not one server: nothing is linked pairwise.
        let many: Vec<String> = (0..70).map(|i| attr(i, "ip-dst", &format!("192.0.2.{i}"))).collect();
        let mut with_domain = many.clone();
        with_domain.push(attr(99, "domain", "big.example"));
        assert!(parse(object(with_domain).as_bytes()).unwrap().links.is_empty());
    }

    #[test]
    fn skips_untracked_types_and_deleted_attributes() {
        for t in ["text", "comment", "link", "filename", "regkey", "vulnerability", "uri", "sha512"] {
            let p = one(t, "whatever");
            assert!(p.records.is_empty() && p.rejects.is_empty(), "{t}");
            assert_eq!(p.skipped, 1, "{t}");
        }
        let deleted = r#"{"uuid": "aaaaaaaa-0000-4000-8000-000000000001", "type": "domain", "deleted": true, "value": "x.example.com"}"#;
        let p = parse(event(deleted).as_bytes()).unwrap();
        assert!(p.records.is_empty());
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn reads_object_attributes() {
        let input = r#"{"Event": {"info": "objects", "Attribute": [], "Object": [
            {"name": "domain-ip", "uuid": "b", "Attribute": [
                {"uuid": "cccccccc-0000-4000-8000-000000000001", "type": "domain", "object_relation": "domain", "value": "obj.example.com"},
                {"uuid": "cccccccc-0000-4000-8000-000000000002", "type": "ip-dst", "object_relation": "ip", "value": "192.0.2.9"},
                {"uuid": "cccccccc-0000-4000-8000-000000000003", "type": "text", "object_relation": "text", "value": "x"}
            ]},
            {"name": "gone", "deleted": true, "Attribute": [{"type": "domain", "value": "gone.example.com"}]}
        ]}}"#;
        let p = parse(input.as_bytes()).unwrap();
        assert_eq!(kv(&p), vec![(Kind::Domain, "obj.example.com".into()), (Kind::Ipv4, "192.0.2.9".into())]);
        assert_eq!(p.skipped, 2);
        assert_eq!(p.records[0].line, 3);
        assert_eq!(p.records[1].line, 4);
        assert_eq!(p.records[0].tags, vec!["objects".to_string()]);
    }

    #[test]
    fn invalid_value_is_rejected_with_its_reason() {
        let p = one("ip-dst", "999.1.2.3");
        assert!(p.records.is_empty());
        let r = &p.rejects[0];
        assert_eq!(r.field.as_deref(), Some("value"));
        assert_eq!(r.reason, "`999.1.2.3` is not a valid ipv4");
        assert_eq!(r.line, 1);
        assert!(r.raw.starts_with('{') && r.raw.contains("999.1.2.3"));
        assert!(!one("ip-dst", "evil.example.com").rejects.is_empty(), "a domain is not an IP");
        assert!(one("ip-dst", "10.0.0.1/8").rejects[0].reason.contains("host bits"));
        assert_eq!(one("md5", "abc").rejects.len(), 1);
    }

    #[test]
    fn attribute_tlp_wins_over_event_tlp() {
        let with_tag = r#"{"uuid": "aaaaaaaa-0000-4000-8000-000000000001", "type": "domain", "value": "a.example.com",
            "Tag": [{"name": "tlp:white"}, {"name": "kill-chain:Command and Control"}]}"#;
        let plain = r#"{"uuid": "aaaaaaaa-0000-4000-8000-000000000002", "type": "domain", "value": "b.example.com"}"#;
        let p = parse(event(&format!("{with_tag}, {plain}")).as_bytes()).unwrap();
        assert_eq!(p.records[0].tlp, Some(Tlp::Clear));
        assert_eq!(p.records[1].tlp, Some(Tlp::Amber));
        assert_eq!(p.records[0].category, Some(Category::BotnetC2));
        assert_eq!(p.records[1].category, None);
        assert!(!p.records[0].tags.iter().any(|t| t.starts_with("tlp:")));
        assert!(p.records[0].tags.contains(&"kill-chain:Command and Control".to_string()));
    }

    #[test]
    fn fills_times_tags_category_and_confidence() {
        let input = r#"{"Event": {"info": "Ransomware wave", "date": "2024-01-02",
          "Tag": [{"name": "circl:incident-classification=\"malware\""}, {"name": "malware_classification:malware-category=\"Ransomware\""}, {"name": "osint:certainty=\"75\""}],
          "Galaxy": [{"GalaxyCluster": [{"value": "Locky", "tag_name": "misp-galaxy:ransomware=\"Locky\""}]}],
          "Attribute": [
            {"uuid": "aaaaaaaa-0000-4000-8000-000000000001", "type": "url", "category": "Payload delivery", "to_ids": false,
             "first_seen": "2024-01-01T00:00:00.000000+00:00", "last_seen": "2024-01-03T00:00:00Z", "timestamp": "1700000000",
             "value": "http://evil.example.com/x"},
            {"uuid": "aaaaaaaa-0000-4000-8000-000000000002", "type": "domain", "value": "evil.example.com"}
          ]}}"#;
        let p = parse(input.as_bytes()).unwrap();
        let (a, b) = (&p.records[0], &p.records[1]);
        assert_eq!(a.first_seen, parse_timestamp("2024-01-01T00:00:00Z"));
        assert_eq!(a.last_seen, parse_timestamp("2024-01-03T00:00:00Z"));
        assert_eq!(b.first_seen, parse_timestamp("2024-01-02"));
        assert_eq!(b.last_seen, None);
        assert_eq!(a.category, Some(Category::Ransomware));
        assert_eq!(a.confidence, Some(75));
        assert_eq!(a.tlp, None);
        assert_eq!(a.tags.first().map(String::as_str), Some("Ransomware wave"));
        assert!(a.tags.contains(&"Locky".to_string()));
        assert!(a.tags.contains(&"to_ids:false".to_string()));
        assert!(!b.tags.contains(&"to_ids:false".to_string()));

        let pd = r#"{"Event": {"info": "x", "Attribute": [
            {"type": "md5", "category": "Payload delivery", "value": "0749bae92ca336a02c83d126e04ec628"},
            {"type": "domain", "category": "Payload delivery", "value": "evil.example.com"}]}}"#;
        let p = parse(pd.as_bytes()).unwrap();
        assert_eq!(p.records[0].category, Some(Category::MalwareDistribution));
        assert_eq!(p.records[1].category, None);
        assert_eq!(p.records[0].line, 0, "no uuid, no line");
    }

    #[test]
    fn reads_rest_responses_arrays_and_bare_shapes() {
        let ev = |info: &str, v: &str| {
            format!(r#"{{"Event": {{"info": "{info}", "Attribute": [{{"type": "domain", "value": "{v}"}}]}}}}"#)
        };
        let rest = format!(r#"{{"response": [{}, {}]}}"#, ev("one", "a.example.com"), ev("two", "b.example.com"));
        let p = parse(rest.as_bytes()).unwrap();
        assert_eq!(kv(&p), vec![(Kind::Domain, "a.example.com".into()), (Kind::Domain, "b.example.com".into())]);
        assert_eq!(p.records[1].tags, vec!["two".to_string()]);

        let arr = format!("[{}, {}]", ev("one", "a.example.com"), ev("two", "b.example.com"));
        assert_eq!(parse(arr.as_bytes()).unwrap().records.len(), 2);

        let attrs = r#"{"response": {"Attribute": [
            {"uuid": "dddddddd-0000-4000-8000-000000000001", "type": "ip-dst", "category": "Network activity", "value": "192.0.2.1",
             "Event": {"info": "from search", "uuid": "eeeeeeee-0000-4000-8000-000000000001"}},
            {"type": "text", "category": "Other", "value": "hello"}]}}"#;
        let p = parse(attrs.as_bytes()).unwrap();
        assert_eq!(kv(&p), vec![(Kind::Ipv4, "192.0.2.1".into())]);
        assert_eq!(p.records[0].tags, vec!["from search".to_string()]);
        assert_eq!(p.records[0].line, 2);
        assert_eq!(p.skipped, 1);

        let bare = r#"{"info": "bare", "Attribute": [{"type": "hostname", "value": "h.example.com"}]}"#;
        assert_eq!(parse(bare.as_bytes()).unwrap().records.len(), 1);
        let bare_attr =
            r#"{"type": "url", "category": "Payload delivery", "to_ids": false, "value": "http://x.example.com/"}"#;
        assert_eq!(parse(bare_attr.as_bytes()).unwrap().records.len(), 1);
        assert!(parse(br#"{"response": []}"#).unwrap().records.is_empty());
    }

    #[test]
    fn malformed_or_foreign_json_is_a_file_error() {
        let e = parse(b"{\"Event\": {\n  \"info\": \"x\",\n  \"Attribute\": [,]\n}}").unwrap_err();
        assert_eq!((e.line, e.column), (3, Some(17)), "the comma in `  \"Attribute\": [,]`");
        assert!(e.message.starts_with("malformed JSON"), "{}", e.message);
        let e = parse(b"").unwrap_err();
        assert_eq!(e.line, 1);
        for foreign in [
            r#"{"$schema": "http://json-schema.org/draft-04/schema#", "properties": {}}"#,
            r#"{"result": {"types": []}}"#,
            r#"[{"Feed": {"name": "x"}, "Tag": {}}]"#,
            r#""just a string""#,
            r#"{"response": {"foo": 1}}"#,
            r#"{"Event": {"info": "x", "Attribute": "not a list"}}"#,
            r#"{"11111111-1111-4111-8111-111111111111": {"info": "x", "timestamp": "1"}}"#,
        ] {
            let e = parse(foreign.as_bytes()).expect_err(foreign);
            assert!(!e.message.is_empty());
        }
        let e = parse(br#"{"11111111-1111-4111-8111-111111111111": {"info": "x"}}"#).unwrap_err();
        assert!(e.message.contains("manifest"), "{}", e.message);
    }

    #[test]
    fn odd_values_never_panic() {
        for input in [
            r#"{"Event": {"info": "x", "Attribute": [1, null, {"type": 5}, {"type": "domain"}, {"type": "domain", "value": ["x"]}]}}"#,
            r#"{"Event": {"info": "x", "Object": [1, {"Attribute": null}], "Tag": [1, "plain", {"Tag": {"name": "tlp:red"}}]}}"#,
            r#"{"Event": {"info": "x", "Attribute": [{"uuid": "\u00e9\"", "type": "domain|ip", "value": "|"}]}}"#,
            "\u{feff}{\"Event\": {\"info\": \"x\", \"Attribute\": []}}",
        ] {
            assert_eq!(dragnet_core::broken_promise(input.as_bytes(), &parse(input.as_bytes())), None, "{input}");
        }
        let p = parse(r#"{"Event": {"info": "x", "Attribute": [1, {"type": "domain"}]}}"#.as_bytes()).unwrap();
        assert_eq!(p.rejects.len(), 2);
    }

    #[test]
    fn reads_feed_manifests() {
        let m = br#"{
  "b0000000-0000-4000-8000-000000000002": {"info": "two", "timestamp": "1", "date": "2024-01-01", "Orgc": {}},
  "a0000000-0000-4000-8000-000000000001": {"info": "one", "timestamp": "1", "date": "2024-01-01", "Orgc": {}}
}"#;
        assert_eq!(
            feed_event_files(m).unwrap(),
            vec!["a0000000-0000-4000-8000-000000000001.json", "b0000000-0000-4000-8000-000000000002.json"]
        );
        assert!(feed_event_files(b"{}").unwrap().is_empty());
        let e = feed_event_files(b"{\n  \"../etc/passwd\": {\"info\": \"x\"}\n}").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("../etc/passwd"), "{}", e.message);
        let e = feed_event_files(b"{\n  \"a\": ").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.column.is_some());
        assert!(feed_event_files(b"[]").is_err());
    }
}
