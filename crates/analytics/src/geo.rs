//! Offline IP enrichment: IP → ASN and organisation, IP → country, from
//! range files (`start,end,asn,org` as in @ip-location-db/asn;
//! `start,end,CC` or integer ranges as in tor-geoipdb) and MaxMind DB
//! files. Ranges are kept sorted and served through the longest-prefix
//! index of [`crate::prefix`]; built once per load.
//! Unknown stays unknown; nothing is guessed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use dragnet_core::observable::ip_key;
use serde::Serialize;

use crate::prefix::PrefixIndex;

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

/// Sorted, non-overlapping ranges for ASNs and for countries, served
/// through a [`PrefixIndex`] each (position of the range).
#[derive(Debug, Clone, Default)]
pub struct GeoIndex {
    asn: Vec<Range>,
    country: Vec<Range>,
    lookup: Option<(PrefixIndex<u32>, PrefixIndex<u32>)>,
}

/// An index key back as an address: IPv4-mapped keys are IPv4.
/// The keys of IPv4 addresses: `::ffff:0.0.0.0` to `::ffff:255.255.255.255`.
const MAPPED_V4: (u128, u128) = (0xffff << 32, (0xffff << 32) | 0xffff_ffff);

fn address_of(k: u128) -> IpAddr {
    let v6 = std::net::Ipv6Addr::from(k);
    v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
}

fn serving(table: &[Range]) -> PrefixIndex<u32> {
    PrefixIndex::from_ranges(
        table.iter().enumerate().map(|(i, r)| (address_of(r.lo), address_of(r.hi), i as u32)).collect(),
    )
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
        // The serving index keeps IPv4 and IPv6 apart: a range from one into
        // the other (found by fuzzing: `1.0.0.0,1f::,DE`) has no meaning.
        if address_of(lo).is_ipv4() != address_of(hi).is_ipv4() {
            return Err(bad("range starts in IPv4 and ends in IPv6".into()));
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

/// Whether `bytes` are a MaxMind DB file (its metadata marker is present).
pub fn is_mmdb(bytes: &[u8]) -> bool {
    const MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";
    let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
    tail.windows(MARKER.len()).any(|w| w == MARKER)
}

/// The facts of a MaxMind DB file: ASN databases (GeoLite2-ASN,
/// `autonomous_system_number`/`_organization`), country databases
/// (GeoLite2/GeoIP2-Country or City, `country.iso_code`) and the
/// @ip-location-db form (`country_code`). A record may carry both.
pub fn parse_mmdb(bytes: &[u8]) -> Result<Vec<(u128, u128, Fact)>, GeoError> {
    let bad = |why: String| GeoError { line: 0, why };
    let reader = maxminddb::Reader::from_source(bytes).map_err(|e| bad(format!("not a MaxMind DB file: {e}")))?;
    let networks = reader.networks(Default::default()).map_err(|e| bad(format!("damaged MaxMind DB: {e}")))?;
    let mut out = Vec::new();
    for item in networks {
        let found = item.map_err(|e| bad(format!("damaged MaxMind DB: {e}")))?;
        let network = found.network().map_err(|e| bad(format!("damaged MaxMind DB: {e}")))?;
        let Some(record) = found.decode::<serde_json::Value>().map_err(|e| bad(format!("damaged MaxMind DB: {e}")))?
        else {
            continue;
        };
        let (lo, hi) = bounds(network);
        if let Some(asn) = record.get("autonomous_system_number").and_then(serde_json::Value::as_u64) {
            let org = record.get("autonomous_system_organization").and_then(serde_json::Value::as_str);
            out.push((lo, hi, Fact::Asn { asn: asn as u32, org: org.unwrap_or_default().to_string() }));
        }
        let cc = record
            .pointer("/country/iso_code")
            .or_else(|| record.get("country_code"))
            .and_then(serde_json::Value::as_str)
            .filter(|cc| cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()));
        if let Some(cc) = cc {
            out.push((lo, hi, Fact::Country(cc.to_ascii_uppercase())));
        }
    }
    Ok(out)
}

/// A network's first and last address as index keys; IPv4 networks an IPv6
/// database keeps under `::/96` become IPv4 ranges.
fn bounds(network: ipnetwork::IpNetwork) -> (u128, u128) {
    let (lo, hi) = (network.network(), network.broadcast());
    match (lo, hi) {
        (IpAddr::V6(a), IpAddr::V6(b)) if network.prefix() >= 96 && u128::from(a) >> 32 == 0 => (
            key(IpAddr::V4(Ipv4Addr::from(u128::from(a) as u32))),
            key(IpAddr::V4(Ipv4Addr::from(u128::from(b) as u32))),
        ),
        _ => (key(lo), key(hi)),
    }
}

/// Disjoint ranges in address order, each address taking the fact of the
/// first range (in input order) that covers it. `covered` keeps the union
/// of the ranges so far as merged intervals: a new range visits the
/// intervals it overlaps, keeps the gaps between them, and merges them into
/// one, so each interval is visited once before it is merged away and the
/// whole build is O(n log n) whatever the overlaps.
fn first_wins(ranges: Vec<Range>) -> Vec<Range> {
    let mut kept: Vec<Range> = Vec::with_capacity(ranges.len());
    let mut covered: BTreeMap<u128, u128> = BTreeMap::new();
    for r in ranges {
        let (mut lo, mut hi) = (r.lo, r.hi);
        // Covered intervals touching [lo, hi]: one may start before lo.
        let mut touching: Vec<(u128, u128)> = Vec::new();
        if let Some((&a, &b)) = covered.range(..r.lo).next_back()
            && b >= r.lo
        {
            touching.push((a, b));
        }
        touching.extend(covered.range(r.lo..=r.hi).map(|(&a, &b)| (a, b)));
        let mut at = Some(r.lo);
        for &(a, b) in &touching {
            if let Some(from) = at.filter(|from| *from < a) {
                kept.push(Range { lo: from, hi: a - 1, fact: r.fact.clone() });
            }
            at = at.max(b.checked_add(1)).filter(|_| b < u128::MAX);
            covered.remove(&a);
            (lo, hi) = (lo.min(a), hi.max(b));
        }
        if let Some(from) = at.filter(|from| *from <= r.hi) {
            kept.push(Range { lo: from, hi: r.hi, fact: r.fact.clone() });
        }
        covered.insert(lo, hi);
    }
    kept.sort_by_key(|k| k.lo);
    kept
}

impl GeoIndex {
    /// Builds the index; later ranges never override earlier overlapping
    /// ones (the first source wins) but fill the addresses no earlier range
    /// covers, so the table is disjoint and the lookup a binary search.
    pub fn build(facts: impl IntoIterator<Item = (u128, u128, Fact)>) -> GeoIndex {
        let mut index = GeoIndex::default();
        for (lo, hi, fact) in facts {
            let table = if matches!(fact, Fact::Asn { .. }) { &mut index.asn } else { &mut index.country };
            let (lo, hi) = (lo.min(hi), hi.max(lo));
            // IPv4 addresses are keyed inside ::ffff:0:0/96; an IPv6 range
            // spanning that block (`::,2001:db8::`) says nothing of IPv4 and
            // must not hide the IPv4 ranges (found by fuzzing).
            // One that starts or ends inside the block is cut at its edge, so
            // that no range mixes IPv6 and IPv4 addresses (found by fuzzing:
            // `::8000:0:0/81` ends at 255.255.255.255).
            let (v4_lo, v4_hi) = MAPPED_V4;
            if lo < v4_lo && hi > v4_hi {
                table.push(Range { lo, hi: v4_lo - 1, fact: fact.clone() });
                table.push(Range { lo: v4_hi + 1, hi, fact });
            } else if lo < v4_lo && hi >= v4_lo {
                table.push(Range { lo, hi: v4_lo - 1, fact: fact.clone() });
                table.push(Range { lo: v4_lo, hi, fact });
            } else if lo <= v4_hi && hi > v4_hi {
                table.push(Range { lo, hi: v4_hi, fact: fact.clone() });
                table.push(Range { lo: v4_hi + 1, hi, fact });
            } else {
                table.push(Range { lo, hi, fact });
            }
        }
        for table in [&mut index.asn, &mut index.country] {
            *table = first_wins(std::mem::take(table));
        }
        index.lookup = Some((serving(&index.asn), serving(&index.country)));
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
        let (asn, country) = match &self.lookup {
            Some((asn, country)) => (
                asn.get(ip).map(|&i| &self.asn[i as usize].fact),
                country.get(ip).map(|&i| &self.country[i as usize].fact),
            ),
            None => (GeoIndex::find(&self.asn, key(ip)), GeoIndex::find(&self.country, key(ip))),
        };
        let mut e = Enrichment::default();
        if let Some(Fact::Asn { asn, org }) = asn {
            e.asn = Some(*asn);
            e.as_org = Some(org.clone());
        }
        if let Some(Fact::Country(cc)) = country {
            e.country = Some(cc.clone());
        }
        e
    }

    /// The index as range lines, the form `parse_ranges` reads back.
    pub fn to_lines(&self) -> String {
        let ip = |k: u128| address_of(k).to_string();
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
    fn a_range_reaching_into_the_ipv4_block_is_found_at_both_ends() {
        let asn = |n| Fact::Asn { asn: n, org: String::new() };
        let below = key("::8000:0:0".parse().unwrap());
        let top = key("255.255.255.255".parse().unwrap());
        let above = key("::1:0:0:1".parse().unwrap());
        let inside = key("10.0.0.0".parse().unwrap());
        let index = GeoIndex::build([(below, top, asn(1)), (inside, above, asn(2))]);
        for (ip, want) in
            [("::8000:0:0", 1), ("255.255.255.255", 1), ("10.0.0.0", 1), ("::1:0:0:1", 2), ("::1:0:0:0", 2)]
        {
            assert_eq!(index.enrich(ip.parse().unwrap()).asn, Some(want), "{ip}");
        }
    }

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
        assert!(parse_ranges("1.0.0.0,1f::,DE\n").is_err(), "a range may not cross address families");
        let wide = parse_ranges("::,2001:db8::ffff,AS64417,Doc\n16773216,16777481,1,int\n").unwrap();
        let mixed = GeoIndex::build(wide);
        assert_eq!(mixed.enrich("0.255.240.96".parse().unwrap()).asn, Some(1), "an IPv6 range hides no IPv4 one");
        assert_eq!(mixed.enrich("2001:db8::1".parse().unwrap()).asn, Some(64417));
        let again = GeoIndex::build(parse_ranges(&index.to_lines()).unwrap());
        assert_eq!(again.enrich("1.0.0.7".parse().unwrap()), e);
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
    }

    #[test]
    fn reads_maxmind_asn_and_country_databases() {
        let (asn, country) = (fixture("asn.mmdb"), fixture("country.mmdb"));
        assert!(is_mmdb(&asn) && !is_mmdb(ASN.as_bytes()));
        let facts = parse_mmdb(&asn).unwrap().into_iter().chain(parse_mmdb(&country).unwrap());
        let index = GeoIndex::build(facts);
        let e = index.enrich("192.0.2.77".parse().unwrap());
        assert_eq!(
            (e.asn, e.as_org.as_deref(), e.country.as_deref()),
            (Some(64500), Some("Example Hosting"), Some("NL"))
        );
        let low = index.enrich("198.51.100.5".parse().unwrap());
        assert_eq!((low.asn, low.country.as_deref()), (Some(64501), None));
        let high = index.enrich("198.51.100.200".parse().unwrap());
        assert_eq!((high.asn, high.country.as_deref()), (None, Some("DE")), "country_code form, upper-cased");
        let v6 = index.enrich("2001:db8:40::9".parse().unwrap());
        assert_eq!((v6.asn, v6.country.as_deref()), (Some(64502), Some("SE")));
        assert_eq!(index.enrich("203.0.113.1".parse().unwrap()), Enrichment::default());
        let truncated = &asn[..asn.len() / 2];
        assert!(parse_mmdb(truncated).is_err());
        assert!(parse_mmdb(b"not a database").unwrap_err().why.contains("not a MaxMind DB"));
    }

    #[test]
    fn bad_lines_are_errors_with_their_number() {
        assert_eq!(parse_ranges("1.0.0.0,1.0.0.9,AU\nx,y,AU\n").unwrap_err().line, 2);
        assert!(parse_ranges("1.0.0.9,1.0.0.0,AU\n").is_err());
        assert!(parse_ranges("1.0.0.0,1.0.0.9,Australia\n").is_err());
        assert!(parse_ranges("1.0.0.0,1.0.0.9,ASX,org\n").is_err());
    }
}
