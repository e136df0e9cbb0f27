//! Generic delimited files with a column mapping: which column holds the
//! value and, optionally, its kind, category, times, tags, confidence and TLP.

use std::borrow::Cow;
use std::str::FromStr;

use dragnet_core::{FileError, Kind, Observable, Parsed, Record, parse_timestamp};

use crate::table;
use crate::text::{Header, present};

/// Which column holds what. Columns are header names (case-insensitive) or
/// 1-based positions; a position for the value means the file has no
/// header row, so every other column must then be a position too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub value: String,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub tags: Option<String>,
    pub confidence: Option<String>,
    pub tlp: Option<String>,
    /// `None` detects `,`, `;`, tab or `|` from the header line.
    pub delimiter: Option<u8>,
}

/// Header names recognised as the value column when no mapping is given.
pub const VALUE_ALIASES: &[&str] =
    &["indicator", "ioc", "ioc_value", "value", "observable", "ip", "ip_address", "ipaddress", "domain", "url", "hash"];

impl FromStr for Mapping {
    type Err = String;

    /// `value=COL,kind=COL,category=COL,first_seen=COL,last_seen=COL,tags=COL,confidence=COL,tlp=COL,delimiter=;`
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut m = Mapping::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, col) = pair.split_once('=').ok_or_else(|| format!("`{pair}` is not KEY=COLUMN"))?;
            let name = col.trim().to_string();
            let col = Some(name.clone());
            match key.trim() {
                "value" => m.value = name,
                "kind" | "type" => m.kind = col,
                "category" => m.category = col,
                "first_seen" => m.first_seen = col,
                "last_seen" => m.last_seen = col,
                "tags" => m.tags = col,
                "confidence" => m.confidence = col,
                "tlp" => m.tlp = col,
                "delimiter" => {
                    m.delimiter = match col.as_deref() {
                        Some("tab" | "\\t") => Some(b'\t'),
                        Some(d) if d.len() == 1 => d.bytes().next(),
                        _ => return Err("delimiter must be one character or `tab`".into()),
                    }
                }
                other => {
                    return Err(format!(
                        "unknown mapping key `{other}`; use value, kind, category, first_seen, last_seen, tags, confidence, tlp, delimiter"
                    ));
                }
            }
        }
        if m.value.is_empty() {
            return Err("the mapping needs value=COLUMN".into());
        }
        Ok(m)
    }
}

fn column(header: &Header, spec: &Option<String>) -> Option<usize> {
    let spec = spec.as_deref()?;
    match spec.parse::<usize>() {
        Ok(n) if n >= 1 => Some(n - 1),
        _ => header.index(&[spec.to_ascii_lowercase().as_str()]),
    }
}

fn detect_delimiter(input: &[u8]) -> u8 {
    let first = input.split(|&b| b == b'\n').find(|l| l.first().is_some_and(|&b| b != b'#')).unwrap_or_default();
    [b',', b'\t', b';', b'|'].into_iter().max_by_key(|d| first.iter().filter(|b| *b == d).count()).unwrap_or(b',')
}

/// Column positions for one header: from the mapping, or, with no mapping,
/// from the usual names (then a label that does not parse is ignored, not
/// rejected, since nobody promised what the column holds).
struct Columns {
    value: Option<usize>,
    kind: Option<usize>,
    category: Option<usize>,
    first_seen: Option<usize>,
    last_seen: Option<usize>,
    tags: Option<usize>,
    confidence: Option<usize>,
    tlp: Option<usize>,
    strict: bool,
}

impl Columns {
    fn new(h: &Header, m: &Mapping, keys: &[&str]) -> Columns {
        if !m.value.is_empty() {
            let value =
                if m.value.parse::<usize>().is_ok() { column(h, &Some(m.value.clone())) } else { h.index(keys) };
            return Columns {
                value,
                kind: column(h, &m.kind),
                category: column(h, &m.category),
                first_seen: column(h, &m.first_seen),
                last_seen: column(h, &m.last_seen),
                tags: column(h, &m.tags),
                confidence: column(h, &m.confidence),
                tlp: column(h, &m.tlp),
                strict: true,
            };
        }
        Columns {
            value: h.index(VALUE_ALIASES),
            kind: h.index(&["kind", "type", "ioc_type", "indicator_type"]),
            category: h.index(&["category", "threat", "threat_type", "classification"]),
            first_seen: h.index(&["first_seen", "firstseen", "first_seen_utc", "dateadded", "date", "created"]),
            last_seen: h.index(&["last_seen", "lastseen", "last_seen_utc", "last_online", "modified"]),
            tags: h.index(&["tags", "labels", "malware"]),
            confidence: h.index(&["confidence", "confidence_level"]),
            tlp: h.index(&["tlp"]),
            strict: false,
        }
    }
}

/// The delimiter of a file without a header row whose first column holds
/// the values (Bambenek's C2 lists: `1.2.3.4,Domain used by x,2024-05-01
/// 10:00,http://…`), judged from its first data `lines`: each has the
/// delimiter, and in at least four in five the first field is an observable.
/// Hosts-file lines (`0.0.0.0<TAB>ads.example`) are plain lists, not this.
pub fn headerless_delimiter(lines: &[&str]) -> Option<u8> {
    if lines.is_empty() {
        return None;
    }
    [b',', b';', b'|', b'\t'].into_iter().find(|&d| {
        let mut good = 0;
        for line in lines {
            let Some((first, _)) = line.split_once(char::from(d)) else { return false };
            let first = first.trim().trim_matches('"');
            if matches!(first, "0.0.0.0" | "127.0.0.1" | "::" | "::1") {
                return false;
            }
            good += usize::from(Observable::guess(first).is_ok());
        }
        good * 5 >= lines.len() * 4
    })
}

/// The first data lines of `input` (after `#` comments), as [`detect`](crate::detect) sees them.
fn first_data_lines(input: &[u8]) -> Vec<&str> {
    let head = input.get(..crate::SNIFF_BYTES).unwrap_or(input);
    // A cut through the last line or a character is of no matter: only
    // whole lines before it are looked at.
    let head = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(head.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default(),
    };
    head.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .take(20)
        .collect()
}

/// With no mapping, a headerless file's columns: values in the first, and
/// the first column whose every sampled field is a timestamp as first seen.
fn headerless_columns(lines: &[&str], delimiter: u8) -> Mapping {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split(char::from(delimiter)).map(str::trim).collect()).collect();
    let width = rows.iter().map(Vec::len).min().unwrap_or(0);
    let first_seen = (1..width)
        .find(|&c| rows.iter().all(|r| r.get(c).and_then(|v| parse_timestamp(v.trim_matches('"'))).is_some()));
    Mapping {
        value: "1".into(),
        first_seen: first_seen.map(|c| (c + 1).to_string()),
        delimiter: Some(delimiter),
        ..Mapping::default()
    }
}

pub fn parse(input: &[u8], mapping: &Mapping) -> Result<Parsed, FileError> {
    if mapping.value.is_empty() {
        let lines = first_data_lines(input);
        let header_names = lines.first().is_some_and(|first| {
            let d = mapping.delimiter.unwrap_or_else(|| detect_delimiter(input));
            first
                .split(char::from(d))
                .any(|n| VALUE_ALIASES.contains(&n.trim().trim_matches('"').to_ascii_lowercase().as_str()))
        });
        let found = headerless_delimiter(&lines).filter(|d| mapping.delimiter.is_none_or(|given| given == *d));
        if !header_names && let Some(d) = found {
            let guessed = headerless_columns(&lines, d);
            return parse_headerless(input, &guessed, false);
        }
    }
    if mapping.value.parse::<usize>().is_ok() {
        return parse_headerless(input, mapping, true);
    }
    let delimiter = mapping.delimiter.unwrap_or_else(|| detect_delimiter(input));
    let value_key = mapping.value.to_ascii_lowercase();
    let by_position = false;
    let keys: Vec<&str> = match (by_position, value_key.is_empty()) {
        (true, _) => Vec::new(),
        (false, true) => VALUE_ALIASES.to_vec(),
        (false, false) => vec![value_key.as_str()],
    };
    let mut columns = None;
    table::read(input, delimiter, &keys, |h, f, line, raw| {
        let c = columns.get_or_insert_with(|| Columns::new(h, mapping, &keys));
        row(h, c, f, line, raw)
    })
}

/// A file without a header row: every column of `mapping` is a position.
/// `strict` as in [`Columns`]: a mapping the user gave is held to, columns
/// guessed from the content are not.
fn parse_headerless(input: &[u8], mapping: &Mapping, strict: bool) -> Result<Parsed, FileError> {
    let named: Vec<&str> = [
        &mapping.kind,
        &mapping.category,
        &mapping.first_seen,
        &mapping.last_seen,
        &mapping.tags,
        &mapping.confidence,
        &mapping.tlp,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .filter(|c| c.parse::<usize>().is_err())
    .collect();
    if let Some(name) = named.first() {
        return Err(FileError::new(
            0,
            format!(
                "column `{}` is named, but value={} is a position, which means the file has no header row: give every column by position",
                dragnet_core::record::clip(name),
                mapping.value
            ),
        ));
    }
    if mapping.value.parse::<usize>().is_ok_and(|n| n == 0) {
        return Err(FileError::new(0, "column positions start at 1"));
    }
    let delimiter = mapping.delimiter.unwrap_or_else(|| detect_delimiter(input));
    let h = Header::positional();
    let mut c = Columns::new(&h, mapping, &[]);
    c.strict = strict;
    table::read_headerless(input, delimiter, |h, f, line, raw| row(h, &c, f, line, raw))
}

fn row(h: &Header, c: &Columns, f: &[Cow<'_, str>], line: u32, raw: &str) -> table::RowResult {
    {
        let name = |i: Option<usize>| i.map(|i| h.name(i));
        let value = present(f, c.value).ok_or_else(|| (name(c.value), "empty value".to_string()))?;
        let kind = present(f, c.kind).map(str::parse::<Kind>);
        let obs = match kind {
            Some(Ok(kind)) => Observable::parse(kind, value),
            Some(Err(e)) if c.strict => Err(e),
            _ => Observable::guess(value),
        }
        .map_err(|e| (name(c.value), e.to_string()))?;
        let mut r = Record::new(obs, line, raw);
        match present(f, c.category).map(str::parse) {
            Some(Ok(category)) => r.category = Some(category),
            Some(Err(e)) if c.strict => return Err((name(c.category), e.to_string())),
            _ => {}
        }
        match present(f, c.tlp).map(str::parse) {
            Some(Ok(tlp)) => r.tlp = Some(tlp),
            Some(Err(e)) if c.strict => return Err((name(c.tlp), e.to_string())),
            _ => {}
        }
        r.first_seen = present(f, c.first_seen).and_then(parse_timestamp);
        r.last_seen = present(f, c.last_seen).and_then(parse_timestamp);
        r.confidence = present(f, c.confidence).and_then(|c| c.parse::<u8>().ok()).map(|c| c.min(100));
        if let Some(tags) = present(f, c.tags) {
            r.tags = tags.split([',', ';', '|']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
        }
        Ok(vec![r])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dragnet_core::{Category, Tlp};

    #[test]
    fn maps_named_columns() {
        let m: Mapping =
            "value=Indicator,kind=Type,category=threat,first_seen=seen,tags=labels,tlp=tlp".parse().unwrap();
        let input = b"Indicator;Type;threat;seen;labels;tlp\nEvil.example;domain;phishing;2024-01-02;a|b;amber\n1.2.3.4;domain;phishing;;;\nx.example;domain;weird;;;\n";
        let p = parse(input, &m).unwrap();
        assert_eq!(p.records.len(), 1);
        let r = &p.records[0];
        assert_eq!(
            (r.observable.value(), r.category, r.tlp),
            ("evil.example", Some(Category::Phishing), Some(Tlp::Amber))
        );
        assert_eq!(r.tags, vec!["a", "b"]);
        assert_eq!(p.rejects.len(), 2);
        assert_eq!((p.rejects[0].line, p.rejects[0].field.as_deref()), (3, Some("indicator")));
        assert_eq!((p.rejects[1].line, p.rejects[1].field.as_deref()), (4, Some("threat")));
    }

    #[test]
    fn positions_and_auto_columns() {
        let m: Mapping = "value=2".parse().unwrap();
        let p = parse(b"id,thing\n1,198.51.100.7\n", &m).unwrap();
        assert_eq!(p.records[0].observable.value(), "198.51.100.7");
        let p = parse(b"ip_address\tnote\n198.51.100.8\tx\n", &Mapping::default()).unwrap();
        assert_eq!(p.records[0].observable.value(), "198.51.100.8");
        let auto = b"indicator,type,threat,first_seen,tags\nc2.example,domain,botnet-c2,2024-05-01,a|b\nx.example,text,Network activity,,\n";
        let p = parse(auto, &Mapping::default()).unwrap();
        assert_eq!(p.records.len(), 2, "unknown labels in guessed columns are ignored: {:?}", p.rejects);
        assert_eq!(
            (p.records[0].category, p.records[0].first_seen),
            (Some(Category::BotnetC2), parse_timestamp("2024-05-01"))
        );
        assert_eq!((p.records[1].category, p.records[1].observable.kind()), (None, Kind::Domain));
        assert!("kind=x".parse::<Mapping>().is_err());
        assert!("value=a,colour=b".parse::<Mapping>().is_err());
        let err = parse(b"a,b\n1,2\n", &m.clone()).map(|p| p.records.len());
        assert!(err.is_ok());
        assert!(parse(b"a,b\n1,2\n", &"value=nope".parse().unwrap()).is_err());
    }
}
