//! abuse.ch feeds: Feodo Tracker (JSON and CSV), URLhaus (CSV, old and
//! current layouts) and ThreatFox (JSON export, API response and CSV).

use std::borrow::Cow;

use dragnet_core::{Category, FileError, Kind, Observable, Parsed, Record, Reject, parse_timestamp};
use serde_json::Value;

use crate::json;
use crate::table;
use crate::text::{Header, present};

type RowResult = Result<Vec<Record>, (Option<String>, String)>;

fn bad(field: &str, why: impl ToString) -> (Option<String>, String) {
    (Some(field.to_string()), why.to_string())
}

/// Feodo Tracker's `ipblocklist.json` or `ipblocklist.csv`.
pub fn parse_feodo(input: &[u8]) -> Result<Parsed, FileError> {
    if json::looks_like_json(input) { feodo_json(input) } else { feodo_csv(input) }
}

fn feodo_json(input: &[u8]) -> Result<Parsed, FileError> {
    let items = json::array_of_objects(input, "Feodo Tracker JSON")?;
    let mut parsed = Parsed::default();
    let mut lines = json::MemberLines::new(input, &["ip_address"]);
    for item in items {
        let raw = json::compact(&item);
        let ip = item.get("ip_address").and_then(Value::as_str).unwrap_or_default();
        let line = lines.line_of_or_last(ip);
        match Observable::guess(ip).ok().filter(|o| matches!(o.kind(), Kind::Ipv4 | Kind::Ipv6)) {
            Some(obs) => {
                let mut r = Record::new(obs, line, raw);
                r.category = Some(Category::BotnetC2);
                r.first_seen = item.get("first_seen").and_then(Value::as_str).and_then(parse_timestamp);
                r.last_seen = item.get("last_online").and_then(Value::as_str).and_then(parse_timestamp);
                r.tags.extend(item.get("malware").and_then(Value::as_str).map(str::to_string));
                r.tags.extend(item.get("port").and_then(Value::as_u64).map(|p| format!("port:{p}")));
                parsed.records.push(r);
            }
            None => {
                parsed.rejects.push(Reject::new(line, Some("ip_address"), format!("`{ip}` is not an IP address"), raw))
            }
        }
    }
    Ok(parsed)
}

fn feodo_csv(input: &[u8]) -> Result<Parsed, FileError> {
    let mut columns = None;
    table::read(input, b',', &["dst_ip"], |h, f, line, raw| {
        let c = columns.get_or_insert_with(|| FeodoColumns::new(h));
        feodo_row(c, f, line, raw)
    })
}

/// Column positions, found once per header rather than once per row.
struct FeodoColumns {
    ip: Option<usize>,
    first_seen: Option<usize>,
    last_online: Option<usize>,
    malware: Option<usize>,
    port: Option<usize>,
}

impl FeodoColumns {
    fn new(h: &Header) -> Self {
        FeodoColumns {
            ip: h.index(&["dst_ip"]),
            first_seen: h.index(&["first_seen_utc", "first_seen"]),
            last_online: h.index(&["last_online"]),
            malware: h.index(&["malware"]),
            port: h.index(&["dst_port"]),
        }
    }
}

fn feodo_row(c: &FeodoColumns, f: &[Cow<'_, str>], line: u32, raw: &str) -> RowResult {
    let ip = present(f, c.ip).ok_or_else(|| bad("dst_ip", "empty"))?;
    let obs = Observable::guess(ip)
        .ok()
        .filter(|o| matches!(o.kind(), Kind::Ipv4 | Kind::Ipv6))
        .ok_or_else(|| bad("dst_ip", format!("`{ip}` is not an IP address")))?;
    let mut r = Record::new(obs, line, raw);
    r.category = Some(Category::BotnetC2);
    r.first_seen = present(f, c.first_seen).and_then(parse_timestamp);
    r.last_seen = present(f, c.last_online).and_then(parse_timestamp);
    r.tags.extend(present(f, c.malware).map(str::to_string));
    r.tags.extend(present(f, c.port).map(|p| ["port:", p].concat()));
    Ok(vec![r])
}

/// URLhaus CSV dumps, by their (commented) header: both the 2018 seven-column
/// layout and the current one with `last_online` and `reporter`.
pub fn parse_urlhaus(input: &[u8]) -> Result<Parsed, FileError> {
    table::read(input, b',', &["url"], |h, f, line, raw| {
        let url = present(f, h.index(&["url"])).ok_or_else(|| bad("url", "empty"))?;
        let obs = Observable::parse(Kind::Url, url).map_err(|e| bad("url", e))?;
        let mut r = Record::new(obs, line, raw);
        r.first_seen = present(f, h.index(&["dateadded"])).and_then(parse_timestamp);
        r.last_seen = present(f, h.index(&["last_online"])).and_then(parse_timestamp);
        r.category = Some(match present(f, h.index(&["threat"])) {
            Some(t) => t.parse().unwrap_or(Category::MalwareDistribution),
            None => Category::MalwareDistribution,
        });
        if let Some(tags) = present(f, h.index(&["tags"])) {
            r.tags.extend(tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string));
        }
        Ok(vec![r])
    })
}

/// ThreatFox: the JSON export (`{"<id>": [ioc]}`), the API response
/// (`{"query_status": "ok", "data": [ioc]}`) or the CSV export.
pub fn parse_threatfox(input: &[u8]) -> Result<Parsed, FileError> {
    if !json::looks_like_json(input) {
        return table::read(input, b',', &["ioc_value"], |h, f, line, raw| {
            let get = |names: &[&str]| present(f, h.index(names));
            let ioc = Ioc {
                value: get(&["ioc_value"]).unwrap_or_default(),
                kind: get(&["ioc_type"]).unwrap_or_default(),
                threat: get(&["threat_type"]),
                malware: get(&["malware_printable"]).or(get(&["fk_malware"])),
                first_seen: get(&["first_seen_utc"]),
                last_seen: get(&["last_seen_utc"]),
                // A percentage, capped as the JSON form's is: a feed's 200 is not 200 %.
                confidence: get(&["confidence_level"]).and_then(|c| c.parse::<u8>().ok()).map(|c| c.min(100)),
                tags: get(&["tags"]).map(|t| t.split(',').map(str::to_string).collect()).unwrap_or_default(),
            };
            ioc.record(line, raw).map(|r| vec![r])
        });
    }
    let root = json::parse_value(input)?;
    let items: Vec<&Value> = match &root {
        Value::Object(map) if map.contains_key("query_status") => match map.get("data") {
            Some(Value::Array(a)) => a.iter().collect(),
            _ => {
                let status = map.get("query_status").and_then(Value::as_str).unwrap_or("?");
                return Err(FileError::new(
                    1,
                    format!("ThreatFox API response without data (query_status `{status}`)"),
                ));
            }
        },
        Value::Object(map) => map.values().filter_map(Value::as_array).flatten().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return Err(FileError::new(1, "ThreatFox JSON must be an object of IOC lists or an API response")),
    };
    let mut parsed = Parsed::default();
    let mut lines = json::MemberLines::new(input, &["ioc_value", "ioc"]);
    for item in items {
        let raw = json::compact(item);
        let s = |k: &str| item.get(k).and_then(Value::as_str);
        let value = s("ioc_value").or(s("ioc")).unwrap_or_default();
        let line = lines.line_of_or_last(value);
        let tags = match item.get("tags") {
            Some(Value::String(t)) => t.split(',').map(str::to_string).collect(),
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let ioc = Ioc {
            value,
            kind: s("ioc_type").unwrap_or_default(),
            threat: s("threat_type"),
            malware: s("malware_printable").or(s("malware")),
            first_seen: s("first_seen_utc").or(s("first_seen")),
            last_seen: s("last_seen_utc").or(s("last_seen")),
            confidence: item.get("confidence_level").and_then(Value::as_u64).map(|c| c.min(100) as u8),
            tags,
        };
        match ioc.record(line, &raw) {
            Ok(r) => parsed.records.push(r),
            Err((field, reason)) => parsed.rejects.push(Reject::new(line, field.as_deref(), reason, raw)),
        }
    }
    Ok(parsed)
}

struct Ioc<'a> {
    value: &'a str,
    kind: &'a str,
    threat: Option<&'a str>,
    malware: Option<&'a str>,
    first_seen: Option<&'a str>,
    last_seen: Option<&'a str>,
    confidence: Option<u8>,
    tags: Vec<String>,
}

impl Ioc<'_> {
    fn record(self, line: u32, raw: &str) -> Result<Record, (Option<String>, String)> {
        let kind = match self.kind {
            "ip:port" => Kind::Ipv4,
            "domain" => Kind::Domain,
            "url" => Kind::Url,
            "md5_hash" => Kind::Md5,
            "sha1_hash" => Kind::Sha1,
            "sha256_hash" => Kind::Sha256,
            other => return Err(bad("ioc_type", format!("unknown ioc_type `{other}`"))),
        };
        let (value, port) = match kind {
            Kind::Ipv4 => match self.value.rsplit_once(':') {
                Some((ip, port)) => (ip.trim_start_matches('[').trim_end_matches(']'), Some(port)),
                None => (self.value, None),
            },
            _ => (self.value, None),
        };
        let obs = if kind == Kind::Ipv4 {
            Observable::guess(value).ok().filter(|o| matches!(o.kind(), Kind::Ipv4 | Kind::Ipv6))
        } else {
            Observable::parse(kind, value).ok()
        };
        let obs = obs.ok_or_else(|| bad("ioc_value", format!("`{}` is not a valid {}", self.value, self.kind)))?;
        let mut r = Record::new(obs, line, raw);
        r.category = self.threat.and_then(|t| match t {
            "botnet_cc" => Some(Category::BotnetC2),
            "payload_delivery" | "payload" => Some(Category::MalwareDistribution),
            other => other.parse().ok(),
        });
        r.first_seen = self.first_seen.and_then(|t| parse_timestamp(t.trim_end_matches(" UTC")));
        r.last_seen = self.last_seen.and_then(|t| parse_timestamp(t.trim_end_matches(" UTC")));
        r.confidence = self.confidence;
        r.tags.extend(self.malware.map(str::to_string));
        r.tags.extend(port.map(|p| format!("port:{p}")));
        r.tags.extend(self.tags.into_iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty() && t != "None"));
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEODO_CSV: &str = "################\n# Feodo Tracker\n################\n\
        # \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
        \"2023-01-02 03:04:05\",\"203.0.113.7\",\"443\",\"online\",\"2024-05-01\",\"QakBot\"\n\
        \"2023-01-02 03:04:05\",\"not-an-ip\",\"443\",\"online\",\"2024-05-01\",\"QakBot\"\n\
        \"2023-01-02 03:04:05\",\"203.0.113.8\",\"443\"\n# END 2 entries\n";

    #[test]
    fn feodo_csv_by_commented_header() {
        let p = parse_feodo(FEODO_CSV.as_bytes()).unwrap();
        assert_eq!(p.records.len(), 1);
        let r = &p.records[0];
        assert_eq!((r.observable.value(), r.line), ("203.0.113.7", 5));
        assert_eq!(r.category, Some(Category::BotnetC2));
        assert_eq!(r.first_seen, parse_timestamp("2023-01-02T03:04:05Z"));
        assert_eq!(r.tags, vec!["QakBot", "port:443"]);
        assert_eq!(p.rejects.len(), 2);
        assert_eq!((p.rejects[0].line, p.rejects[0].field.as_deref()), (6, Some("dst_ip")));
        assert!(p.rejects[1].reason.contains("3 fields"), "{}", p.rejects[1].reason);
    }

    #[test]
    fn feodo_json_reports_bad_entries_with_lines() {
        let input = b"[\n {\"ip_address\": \"198.51.100.9\", \"port\": 8080, \"malware\": \"Emotet\",\n  \"first_seen\": \"2021-01-17 07:44:46\", \"last_online\": \"2022-11-15\"},\n {\"ip_address\": \"999.1.1.1\"}\n]";
        let p = parse_feodo(input).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].last_seen, parse_timestamp("2022-11-15"));
        assert_eq!((p.rejects[0].line, p.rejects[0].field.as_deref()), (4, Some("ip_address")));
        let err = parse_feodo(b"[\n {\"ip_address\": \"1.2.3.4\",,}\n]").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn urlhaus_old_and_new_layouts() {
        let old = "# id,dateadded,url,url_status,threat,tags,urlhaus_link\n\
            \"1\",\"2018-03-05 14:01:02\",\"http://evil.example/a.exe\",\"offline\",\"malware_download\",\"exe,Emotet\",\"https://urlhaus.abuse.ch/url/1/\"\n";
        let new = "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
            \"2\",\"2024-03-05 14:01:02\",\"http://EVIL.example:80/b\",\"online\",\"2024-03-06 00:00:00\",\"malware_download\",\"elf\",\"https://urlhaus.abuse.ch/url/2/\",\"someone\"\n\
            \"3\",\"2024-03-05 14:01:02\",\"javascript:1\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n";
        let p = parse_urlhaus(old.as_bytes()).unwrap();
        assert_eq!(p.records[0].tags, vec!["exe", "Emotet"]);
        assert_eq!(p.records[0].category, Some(Category::MalwareDistribution));
        let p = parse_urlhaus(new.as_bytes()).unwrap();
        assert_eq!(p.records[0].observable.value(), "http://evil.example/b");
        assert_eq!(p.records[0].last_seen, parse_timestamp("2024-03-06T00:00:00Z"));
        assert_eq!((p.rejects.len(), p.rejects[0].line), (1, 3));
    }

    #[test]
    fn threatfox_csv_json_and_api() {
        let csv = "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n\
            \"2024-01-01 10:00:00\", \"1\", \"192.0.2.10:4443\", \"ip:port\", \"botnet_cc\", \"win.cobalt\", None, \"Cobalt Strike\", None, \"75\", None, \"c2,cs\", \"0\", \"x\"\n";
        let p = parse_threatfox(csv.as_bytes()).unwrap();
        let r = &p.records[0];
        assert_eq!(
            (r.observable.value(), r.confidence, r.category),
            ("192.0.2.10", Some(75), Some(Category::BotnetC2))
        );
        assert_eq!(r.tags, vec!["Cobalt Strike", "port:4443", "c2", "cs"]);
        assert_eq!(r.last_seen, None);

        let export = br#"{"1": [{"ioc_value": "bad.example", "ioc_type": "domain", "threat_type": "payload_delivery", "malware_printable": "X", "first_seen_utc": "2024-01-01 10:00:00", "last_seen_utc": null, "confidence_level": 50, "tags": "a,b"}],
 "2": [{"ioc_value": "zz", "ioc_type": "md5_hash"}]}"#;
        let p = parse_threatfox(export).unwrap();
        assert_eq!(p.records[0].category, Some(Category::MalwareDistribution));
        assert_eq!((p.rejects.len(), p.rejects[0].line), (1, 2));

        let api = br#"{"query_status": "ok", "data": [{"ioc": "http://x.example/p", "ioc_type": "url", "threat_type": "payload_delivery", "first_seen": "2024-01-01 10:00:00 UTC", "tags": ["t"]}]}"#;
        let p = parse_threatfox(api).unwrap();
        assert_eq!(p.records[0].first_seen, parse_timestamp("2024-01-01T10:00:00Z"));
        assert!(parse_threatfox(br#"{"query_status": "no_result"}"#).is_err());
    }
}
