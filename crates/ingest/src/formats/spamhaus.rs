//! Spamhaus DROP and ASN-DROP, in the legacy `;`-commented text form and the
//! current JSON-lines form (with its metadata trailer).

use dragnet_core::{FileError, Kind, Observable, Parsed, Record, Reject, Timestamp, parse_timestamp};
use serde_json::Value;

use crate::text;

/// `drop.txt` / `drop_v4.json` / `drop_v6.json`: hijacked or criminal netblocks.
pub fn parse_drop(input: &[u8]) -> Result<Parsed, FileError> {
    parse(input, "cidr", |v| {
        Observable::guess(v).ok().filter(|o| matches!(o.kind(), Kind::Cidr | Kind::Ipv4 | Kind::Ipv6))
    })
}

/// `asndrop.txt` / `asndrop.json`: autonomous systems run by criminals.
pub fn parse_asn_drop(input: &[u8]) -> Result<Parsed, FileError> {
    parse(input, "asn", |v| Observable::parse(Kind::Asn, v).ok())
}

fn parse(input: &[u8], key: &str, observable: impl Fn(&str) -> Option<Observable>) -> Result<Parsed, FileError> {
    let mut listed_at: Option<Timestamp> = None;
    let mut parsed = text::each_line(input, |number, raw, parsed| {
        let t = raw.trim();
        if let Some(comment) = t.strip_prefix(';') {
            if let Some(date) = comment.trim().strip_prefix("Last-Modified:") {
                listed_at = parse_http_date(date.trim());
            }
            return;
        }
        let (value, tags): (String, Vec<String>) = if t.starts_with('{') {
            let obj: Value = match serde_json::from_str(t) {
                Ok(v) => v,
                Err(e) => {
                    parsed.rejects.push(Reject::new(number, None, format!("invalid JSON: {e}"), raw));
                    return;
                }
            };
            if obj.get("type").and_then(Value::as_str) == Some("metadata") {
                listed_at = obj.get("timestamp").and_then(Value::as_i64).or(listed_at);
                parsed.skipped += 1;
                return;
            }
            let value = match obj.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    parsed.rejects.push(Reject::new(number, Some(key), format!("no `{key}` field"), raw));
                    return;
                }
            };
            let tags = ["sblid", "rir", "cc", "asname", "domain"]
                .iter()
                .filter_map(|k| obj.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string))
                .collect();
            (value, tags)
        } else {
            let (value, rest) = t.split_once(';').unwrap_or((t, ""));
            let tags = rest.split('|').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            (value.trim().to_string(), tags)
        };
        match observable(&value) {
            Some(obs) => {
                let mut r = Record::new(obs, number, raw);
                r.tags = tags;
                parsed.records.push(r);
            }
            None => parsed.rejects.push(Reject::new(number, Some(key), format!("`{value}` is not a valid {key}"), raw)),
        }
    })?;
    for r in &mut parsed.records {
        r.last_seen = listed_at;
    }
    Ok(parsed)
}

/// RFC 1123 dates as in `Last-Modified: Mon, 14 Sep 2015 04:39:22 GMT`.
pub fn parse_http_date(s: &str) -> Option<Timestamp> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, _] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = MONTHS.iter().position(|x| x == month)? + 1;
    parse_timestamp(&format!("{year}-{m:02}-{:0>2}T{time}Z", day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_text_and_json_lines() {
        let txt = b"; Spamhaus DROP List\n; Last-Modified: Mon, 14 Sep 2015 04:39:22 GMT\n1.4.0.0/17 ; SBL256893\n2a06:e480::/29 ; SBL301771\n1.4.0.1/17 ; SBL1\n";
        let p = parse_drop(txt).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[1].observable.value(), "2a06:e480::/29");
        assert_eq!(p.records[0].tags, vec!["SBL256893"]);
        assert_eq!(p.records[0].last_seen, parse_timestamp("2015-09-14T04:39:22Z"));
        assert!(p.rejects[0].reason.contains("1.4.0.1/17"));

        let jl = b"{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n{\"cidr\":42}\n{\"type\":\"metadata\",\"timestamp\":1700000000,\"records\":1}\n";
        let p = parse_drop(jl).unwrap();
        assert_eq!((p.records.len(), p.rejects.len(), p.skipped), (1, 1, 1));
        assert_eq!(p.records[0].last_seen, Some(1_700_000_000));
        assert_eq!(p.records[0].tags, vec!["SBL256894", "apnic"]);
    }

    #[test]
    fn asn_drop_text_and_json() {
        let p = parse_asn_drop(
            b"; ASN-DROP\nAS260 ; AE | XCONNECT24 - Xconnect24 Inc., US\nAS10516 ; | Orb-bit\nASX ; zz\n",
        )
        .unwrap();
        assert_eq!(p.records.iter().map(|r| r.observable.value()).collect::<Vec<_>>(), vec!["AS260", "AS10516"]);
        assert_eq!(p.records[0].tags, vec!["AE", "XCONNECT24 - Xconnect24 Inc., US"]);
        assert_eq!(p.rejects.len(), 1);
        let p = parse_asn_drop(
            b"{\"asn\":6517,\"rir\":\"arin\",\"domain\":\"x.example\",\"cc\":\"US\",\"asname\":\"X\"}\n",
        )
        .unwrap();
        assert_eq!(p.records[0].observable.value(), "AS6517");
    }
}
