//! Offline IP enrichment: IP → ASN and organisation, IP → country, from
//! range files (`start,end,asn,org` as in @ip-location-db/asn;
//! `start,end,CC` or integer ranges as in tor-geoipdb). The index is a sorted
//! vector searched by binary search: compact, and built once per import.
//! Unknown stays unknown; nothing is guessed.

use std::net::{IpAddr, Ipv4Addr};

use dragnet_core::observable::ip_key;
use serde::Serialize;

/// What a range says about its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Fact {
    Asn { asn: u32, org: String },
    Country(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    lo: u128,
    hi: u128,
    fact: Fact,
}

/// Enrichment of one address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Enrichment {
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    pub country: Option<String>,
}

/// A range file's problems, with the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct GeoError {
    pub line: usize,
    pub why: String,
}

/// Sorted, non-overlapping ranges for ASNs and for countries.
#[derive(Debug, Clone, Default)]
pub struct GeoIndex {
    asn: Vec<Range>,
    country: Vec<Range>,
}

fn key(ip: IpAddr) -> u128 {
    u128::from_be_bytes(ip_key(ip))
}

fn address(text: &str) -> Option<u128> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(key(ip));
    }
    // tor-geoipdb writes IPv4 ranges as integers.
    t.parse::<u32>().ok().map(|n| key(IpAddr::V4(Ipv4Addr::from(n))))
}

/// One range file's facts, by its columns: `start,end,asn,org` or
/// `start,end,CC`. Comments (`#`) and blank lines are skipped; a bad line is
/// an error naming it, so a damaged file is never half imported.
pub fn parse_ranges(text: &str) -> Result<Vec<(u128, u128, Fact)>, GeoError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let bad = |why: String| GeoError { line: i + 1, why };
        let fields: Vec<&str> = t.splitn(4, ',').map(|f| f.trim().trim_matches('"')).collect();
        if fields.len() < 3 {
            return Err(bad(format!("expected start,end,asn,org or start,end,country; got `{t}`")));
        }
        let lo = address(fields[0]).ok_or_else(|| bad(format!("`{}` is not an address", fields[0])))?;
        let hi = address(fields[1]).ok_or_else(|| bad(format!("`{}` is not an address", fields[1])))?;
        if hi < lo {
            return Err(bad("range ends before it starts".into()));
        }
        let fact = match fields.as_slice() {
            [_, _, asn, org] => Fact::Asn {
                asn: asn.trim_start_matches("AS").parse().map_err(|_| bad(format!("`{asn}` is not an AS number")))?,
                org: org.to_string(),
            },
            [_, _, cc] if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Fact::Country(cc.to_ascii_uppercase())
            }
            [_, _, cc] if *cc == "??" || cc.is_empty() => continue,
            [_, _, other] => return Err(bad(format!("`{other}` is not a two-letter country code"))),
            _ => return Err(bad("too few fields".into())),
        };
        out.push((lo, hi, fact));
    }
    Ok(out)
}

impl GeoIndex {
    /// Builds the index; later ranges never override earlier overlapping
    /// ones (the first source wins), so the lookup stays a binary search.
    pub fn build(facts: impl IntoIterator<Item = (u128, u128, Fact)>) -> GeoIndex {
        let mut index = GeoIndex::default();
        for (lo, hi, fact) in facts {
            let table = if matches!(fact, Fact::Asn { .. }) { &mut index.asn } else { &mut index.country };
            table.push(Range { lo, hi, fact });
        }
        for table in [&mut index.asn, &mut index.country] {
            table.sort_by_key(|r| (r.lo, std::cmp::Reverse(r.hi)));
            let mut kept: Vec<Range> = Vec::with_capacity(table.len());
            for r in table.drain(..) {
                if kept.last().is_none_or(|last| r.lo > last.hi) {
                    kept.push(r);
                }
            }
            *table = kept;
        }
        index
    }

    pub fn len(&self) -> (usize, usize) {
        (self.asn.len(), self.country.len())
    }

    pub fn is_empty(&self) -> bool {
        self.asn.is_empty() && self.country.is_empty()
    }

    fn find(table: &[Range], k: u128) -> Option<&Fact> {
        let i = table.partition_point(|r| r.lo <= k);
        let r = table.get(i.checked_sub(1)?)?;
        (k <= r.hi).then_some(&r.fact)
    }

    pub fn enrich(&self, ip: IpAddr) -> Enrichment {
        let k = key(ip);
        let mut e = Enrichment::default();
        if let Some(Fact::Asn { asn, org }) = GeoIndex::find(&self.asn, k) {
            e.asn = Some(*asn);
            e.as_org = Some(org.clone());
        }
        if let Some(Fact::Country(cc)) = GeoIndex::find(&self.country, k) {
            e.country = Some(cc.clone());
        }
        e
    }

    /// The index as range lines, the form `parse_ranges` reads back.
    pub fn to_lines(&self) -> String {
        let ip = |k: u128| {
            let v6 = std::net::Ipv6Addr::from(k);
            v6.to_ipv4_mapped().map_or(v6.to_string(), |v4| v4.to_string())
        };
        let mut out = String::new();
        for r in self.asn.iter().chain(&self.country) {
            let line = match &r.fact {
                Fact::Asn { asn, org } => format!("{},{},{asn},{org}\n", ip(r.lo), ip(r.hi)),
                Fact::Country(cc) => format!("{},{},{cc}\n", ip(r.lo), ip(r.hi)),
            };
            out.push_str(&line);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASN: &str = "# start,end,asn,org\n1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64500,Doc Net\n";
    const COUNTRY: &str = "16777216,16777471,AU\n16777472,16778239,??\n2001:db8::,2001:db8::ffff,ZZ\n";

    #[test]
    fn enriches_from_asn_and_country_ranges() {
        let facts = parse_ranges(ASN).unwrap().into_iter().chain(parse_ranges(COUNTRY).unwrap());
        let index = GeoIndex::build(facts);
        let e = index.enrich("1.0.0.7".parse().unwrap());
        assert_eq!(
            (e.asn, e.as_org.as_deref(), e.country.as_deref()),
            (Some(13335), Some("Cloudflare, Inc."), Some("AU"))
        );
        assert_eq!(index.enrich("1.0.1.7".parse().unwrap()), Enrichment::default(), "unknown stays unknown");
        assert_eq!(index.enrich("2001:db8::5".parse().unwrap()).country.as_deref(), Some("ZZ"));
        assert_eq!(index.len(), (2, 2));
        let again = GeoIndex::build(parse_ranges(&index.to_lines()).unwrap());
        assert_eq!(again.enrich("1.0.0.7".parse().unwrap()), e);
    }

    #[test]
    fn bad_lines_are_errors_with_their_number() {
        assert_eq!(parse_ranges("1.0.0.0,1.0.0.9,AU\nx,y,AU\n").unwrap_err().line, 2);
        assert!(parse_ranges("1.0.0.9,1.0.0.0,AU\n").is_err());
        assert!(parse_ranges("1.0.0.0,1.0.0.9,Australia\n").is_err());
        assert!(parse_ranges("1.0.0.0,1.0.0.9,ASX,org\n").is_err());
    }
}
