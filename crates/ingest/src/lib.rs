//! Feed parsers. Every format is a pure function from bytes to [`Parsed`]
//! records and rejects; reading files and folders is the caller's job.
//!
//! To add a format: write `formats/NAME.rs` with a `parse(&[u8])`, add a
//! variant to [`Format`] with its name, teach [`detect`] to recognise it,
//! and add its arm to [`parse`].

// Every byte here comes from a partner's feed or a sensor: slicing a `str`
// at a byte offset panics inside a multi-byte character, and indexing
// panics out of bounds, so neither is allowed outside tests; use `get`,
// `split_*`, `strip_prefix`, or a local `allow` that says why it cannot fail.
#![deny(clippy::string_slice)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod formats;
mod json;
pub mod links;
pub mod netflow;
pub mod pcap;
pub mod sources_json;
pub mod stream;
pub mod suricata;
mod table;
mod text;
pub mod tls_hello;
pub mod zeek;
pub mod zeek_stream;

use std::fmt;
use std::str::FromStr;

use dragnet_core::{FileError, Parsed};

pub use formats::csv_mapped::Mapping;

/// Every input format Dragnet reads from files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Stix,
    Misp,
    /// A folder with `manifest.json` and one file per event; each event file
    /// is parsed as [`Format::Misp`].
    MispFeed,
    Feodo,
    Urlhaus,
    Threatfox,
    Drop,
    AsnDrop,
    Dshield,
    Plain,
    Csv,
}

impl Format {
    pub const ALL: [Format; 11] = [
        Format::Stix,
        Format::Misp,
        Format::MispFeed,
        Format::Feodo,
        Format::Urlhaus,
        Format::Threatfox,
        Format::Drop,
        Format::AsnDrop,
        Format::Dshield,
        Format::Plain,
        Format::Csv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Stix => "stix",
            Format::Misp => "misp",
            Format::MispFeed => "misp-feed",
            Format::Feodo => "feodo",
            Format::Urlhaus => "urlhaus",
            Format::Threatfox => "threatfox",
            Format::Drop => "drop",
            Format::AsnDrop => "asn-drop",
            Format::Dshield => "dshield",
            Format::Plain => "plain",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format `{s}`; known formats: auto, {}", names.join(", "))
        })
    }
}

/// Parses `input` as `format`. `mapping` is used by [`Format::Csv`] only; an
/// empty value column there means "find it by its usual names".
pub fn parse(format: Format, input: &[u8], mapping: &Mapping) -> Result<Parsed, FileError> {
    match format {
        Format::Stix => formats::stix::parse(input),
        Format::Misp | Format::MispFeed => formats::misp::parse(input),
        Format::Feodo => formats::abusech::parse_feodo(input),
        Format::Urlhaus => formats::abusech::parse_urlhaus(input),
        Format::Threatfox => formats::abusech::parse_threatfox(input),
        Format::Drop => formats::spamhaus::parse_drop(input),
        Format::AsnDrop => formats::spamhaus::parse_asn_drop(input),
        Format::Dshield => formats::dshield::parse(input),
        Format::Plain => formats::plain::parse(input),
        Format::Csv => formats::csv_mapped::parse(input, mapping),
    }
}

/// Recognises a file's format from its content (never its name). Falls back
/// to [`Format::Plain`] for text that matches nothing more specific.
pub fn detect(input: &[u8]) -> Format {
    let head = input.get(..SNIFF_BYTES).unwrap_or(input);
    let head = String::from_utf8_lossy(head);
    let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    if json::looks_like_json(input) {
        let first_line = head.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
        let first_is_object =
            first_line.starts_with('{') && serde_json::from_str::<serde_json::Value>(first_line).is_ok();
        if first_is_object && first_line.contains("\"sblid\"") {
            return Format::Drop;
        }
        if first_is_object && first_line.contains("\"asn\"") && first_line.contains("\"rir\"") {
            return Format::AsnDrop;
        }
        if compact.contains("\"type\":\"bundle\"")
            || compact.contains("\"spec_version\":\"2.")
            || compact.contains("\"type\":\"indicator\"")
        {
            return Format::Stix;
        }
        if compact.contains("\"Event\":") || compact.contains("\"Attribute\":") {
            return Format::Misp;
        }
        if compact.contains("\"ip_address\":") {
            return Format::Feodo;
        }
        if compact.contains("\"ioc_type\":") || compact.contains("\"query_status\":") {
            return Format::Threatfox;
        }
        if compact.contains("\"type\":\"") && compact.contains("--") {
            return Format::Stix;
        }
        return Format::Misp;
    }
    let lower = head.to_ascii_lowercase();
    if lower.contains("\"dst_ip\"") && lower.contains("c2_status") {
        return Format::Feodo;
    }
    if lower.contains("urlhaus_link") || (lower.contains("dateadded") && lower.contains("url_status")) {
        return Format::Urlhaus;
    }
    if lower.contains("ioc_value") && lower.contains("ioc_type") {
        return Format::Threatfox;
    }
    if lower.contains("dshield.org") {
        return Format::Dshield;
    }
    let data: Vec<&str> = head
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .take(20)
        .collect();
    let asn_row = |l: &&str| {
        l.split(';').next().is_some_and(|v| {
            let digits = dragnet_core::observable::strip_prefix_ignore_ascii_case(v.trim(), "as");
            digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    if lower.contains("spamhaus") || data.iter().all(|l| l.contains(" ; ")) && !data.is_empty() {
        return if !data.is_empty() && data.iter().all(asn_row) { Format::AsnDrop } else { Format::Drop };
    }
    let dshield_row = |l: &&str| {
        let mut f = l.split('\t');
        let mut ip = || f.next().is_some_and(|v| v.parse::<std::net::IpAddr>().is_ok());
        ip() && ip() && f.next().is_some()
    };
    if !data.is_empty() && data.iter().filter(|l| !l.starts_with("Start")).all(dshield_row) {
        return Format::Dshield;
    }
    if let Some(first) = data.first()
        && let Some(delim) = [',', ';', '\t', '|'].into_iter().find(|d| first.contains(*d))
    {
        let names: Vec<String> = first.split(delim).map(|n| n.trim().trim_matches('"').to_ascii_lowercase()).collect();
        if names.iter().any(|n| formats::csv_mapped::VALUE_ALIASES.contains(&n.as_str())) {
            return Format::Csv;
        }
    }
    if formats::csv_mapped::headerless_delimiter(&data).is_some() {
        return Format::Csv;
    }
    Format::Plain
}

/// How much of an input [`detect`] and the telemetry sniffers look at.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Whether `input` (plain, gzip or zstd) is telemetry (a Zeek log or
/// Suricata EVE) rather than a feed. Only the first [`SNIFF_BYTES`] are
/// decompressed, so sniffing a large or hostile compressed file costs
/// almost nothing.
pub fn is_telemetry(input: &[u8]) -> bool {
    let Ok(head) = zeek::decompress_prefix(input, SNIFF_BYTES) else { return false };
    zeek::log_path(&head).is_some() || suricata::is_eve(&head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format_from_content() {
        let cases: &[(&str, Format)] = &[
            ("{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": []}", Format::Stix),
            ("{\"Event\": {\"info\": \"x\", \"Attribute\": []}}", Format::Misp),
            ("{\"response\": [{\"Event\": {}}]}", Format::Misp),
            ("[{\"ip_address\": \"1.2.3.4\", \"port\": 1}]", Format::Feodo),
            ("# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n", Format::Feodo),
            ("# id,dateadded,url,url_status,threat,tags,urlhaus_link\n", Format::Urlhaus),
            ("{\"1\": [{\"ioc_value\": \"x\", \"ioc_type\": \"domain\"}]}", Format::Threatfox),
            ("# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\"\n", Format::Threatfox),
            ("; Spamhaus DROP List\n1.4.0.0/17 ; SBL256893\n", Format::Drop),
            ("; Spamhaus ASN-DROP\nAS260 ; AE | X\n", Format::AsnDrop),
            (
                "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n{\"cidr\":\"1.1.1.0/24\",\"sblid\":\"S\",\"rir\":\"x\"}\n",
                Format::Drop,
            ),
            ("{\"asn\":6517,\"rir\":\"arin\",\"domain\":\"x\"}\n", Format::AsnDrop),
            ("#   DShield.org Recommended Block List\n", Format::Dshield),
            ("1.2.3.0\t1.2.3.255\t24\t10\n", Format::Dshield),
            ("indicator,type\nevil.example,domain\n", Format::Csv),
            ("192.0.2.1\nevil.example\n", Format::Plain),
        ];
        for (input, want) in cases {
            assert_eq!(detect(input.as_bytes()), *want, "{input}");
        }
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!("xml".parse::<Format>().unwrap_err().contains("known formats"));
    }
}
