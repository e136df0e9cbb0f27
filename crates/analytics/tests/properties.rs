//! Property tests (issue 8, "Property tests (proptest)"): CIDR cover and
//! prefix lookup agree with a naive implementation.
//!
//! - `PrefixIndex` (longest-prefix match, IPv4 and IPv6, and disjoint
//!   ranges) answers what a linear scan over the prefixes answers;
//! - `Observable::covering_networks` lists exactly the enclosing networks,
//!   closest first, each in normal form, as `ipnetwork` computes them; and a
//!   store's covering-CIDR lookup built on it (exact key, then each covering
//!   network) finds the prefix the index finds;
//! - `GeoIndex` enrichment answers what a scan over its ranges answers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dragnet_analytics::geo::{Fact, GeoIndex, parse_ranges};
use dragnet_analytics::prefix::PrefixIndex;
use dragnet_core::observable::ip_key;
use dragnet_core::{Kind, Observable};
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// Building an index fills a 4 MiB first-level table, so these properties
/// run 64 cases of many lookups each; `PROPTEST_CASES` for a long run.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn mask4(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
}

fn mask6(len: u8) -> u128 {
    if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) }
}

/// An address as (family bits, number), IPv4-mapped IPv6 folded to IPv4 as
/// `PrefixIndex::get` documents.
fn family_key(ip: IpAddr) -> (u8, u128) {
    match ip {
        IpAddr::V4(a) => (32, u128::from(u32::from(a))),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (32, u128::from(u32::from(v4))),
            None => (128, u128::from(a)),
        },
    }
}

fn mask(bits: u8, len: u8) -> u128 {
    if bits == 32 { u128::from(mask4(len.min(32))) } else { mask6(len.min(128)) }
}

/// The obvious longest-prefix match: every prefix that covers `q`, the
/// longest, of equal ones the last given.
fn naive_lpm(prefixes: &[(IpAddr, u8, usize)], q: IpAddr) -> Option<usize> {
    let (qbits, qk) = family_key(q);
    prefixes
        .iter()
        .filter(|(net, len, _)| {
            let (bits, k) = match net {
                IpAddr::V4(a) => (32, u128::from(u32::from(*a))),
                IpAddr::V6(a) => (128, u128::from(*a)),
            };
            bits == qbits && k & mask(bits, *len) == qk & mask(bits, *len)
        })
        .max_by_key(|(_, len, i)| (*len.min(&qbits), *i))
        .map(|&(_, _, i)| i)
}

/// Prefixes around a few bases, so that they nest and overlap, with host
/// bits sometimes left set (the index ignores them) and lengths past the
/// family's width (taken as the full width).
fn prefixes() -> impl Strategy<Value = Vec<(IpAddr, u8, usize)>> {
    (prop::collection::vec(any::<u32>(), 1..4), prop::collection::vec(any::<u128>(), 1..4)).prop_flat_map(|(b4, b6)| {
        let v4 = (select(b4), any::<u32>(), prop_oneof![1 => 0..=7u8, 8 => 8..=32u8, 1 => 33..=40u8], any::<bool>())
            .prop_map(|(base, noise, len, clear)| {
                // The noise touches only the bits below the base's top ones.
                let a = base ^ (noise >> (noise % 32));
                let a = if clear { a & mask4(len.min(32)) } else { a };
                (IpAddr::V4(Ipv4Addr::from(a)), len)
            });
        let v6 =
            (select(b6), any::<u128>(), prop_oneof![1 => 0..=15u8, 8 => 16..=128u8, 1 => 129..=140u8], any::<bool>())
                .prop_map(|(base, noise, len, clear)| {
                    let a = base ^ (noise >> (noise % 128));
                    let a = if clear { a & mask6(len.min(128)) } else { a };
                    (IpAddr::V6(Ipv6Addr::from(a)), len)
                });
        prop::collection::vec(prop_oneof![v4, v6], 0..40)
            .prop_map(|p| p.into_iter().enumerate().map(|(i, (a, len))| (a, len, i)).collect::<Vec<_>>())
    })
}

/// Addresses where answers change: each prefix's first and last address and
/// their neighbours, plus random ones and IPv4-mapped spellings.
fn probes(prefixes: &[(IpAddr, u8, usize)], random: &[u128]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for &(net, len, _) in prefixes {
        match net {
            IpAddr::V4(a) => {
                let m = mask4(len.min(32));
                let lo = u32::from(a) & m;
                let hi = lo | !m;
                for k in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1), lo ^ (hi >> 1 & !m)] {
                    out.push(IpAddr::V4(Ipv4Addr::from(k)));
                }
                out.push(IpAddr::V6(Ipv4Addr::from(hi).to_ipv6_mapped()));
            }
            IpAddr::V6(a) => {
                let m = mask6(len.min(128));
                let lo = u128::from(a) & m;
                let hi = lo | !m;
                for k in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1), lo ^ (hi >> 1 & !m)] {
                    out.push(IpAddr::V6(Ipv6Addr::from(k)));
                }
            }
        }
    }
    for &r in random {
        out.push(IpAddr::V4(Ipv4Addr::from(r as u32)));
        out.push(IpAddr::V6(Ipv6Addr::from(r)));
    }
    out
}

/// What a store's covering-CIDR lookup finds for `q` among stored
/// prefixes: the exact address first, then `covering_networks` from the
/// closest up, each looked up by its normal text; the last stored of equal
/// prefixes wins, as in the index.
fn covering_lookup(stored: &std::collections::HashMap<String, usize>, q: IpAddr) -> Option<usize> {
    let o = Observable::ip(q);
    std::iter::once(o.value().to_string()).chain(o.covering_networks()).find_map(|key| stored.get(&key).copied())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn longest_prefix_match_agrees_with_a_linear_scan(
        prefixes in prefixes(),
        random in prop::collection::vec(any::<u128>(), 0..50),
    ) {
        let index = PrefixIndex::build(prefixes.clone());
        prop_assert_eq!(index.len(), prefixes.len());
        let qs = probes(&prefixes, &random);
        for &q in &qs {
            let want = naive_lpm(&prefixes, q);
            prop_assert_eq!(index.get(q).copied(), want, "{} in {:?}", q, prefixes);
            match q {
                IpAddr::V4(a) => prop_assert_eq!(index.get_v4(a).copied(), want),
                IpAddr::V6(a) if a.to_ipv4_mapped().is_none() => prop_assert_eq!(index.get_v6(a).copied(), want),
                IpAddr::V6(_) => {}
            }
        }
        // Batched lookups give the single lookups' answers, in order.
        let v4: Vec<Ipv4Addr> = qs.iter().filter_map(|q| match q { IpAddr::V4(a) => Some(*a), _ => None }).collect();
        let mut many = Vec::new();
        index.get_many_v4(&v4, |v| many.push(v.copied()));
        let one: Vec<Option<usize>> = v4.iter().map(|a| naive_lpm(&prefixes, IpAddr::V4(*a))).collect();
        prop_assert_eq!(many, one);

        // A store's covering-CIDR lookup over the same prefixes, in normal
        // form, finds the same prefix.
        let mut stored = std::collections::HashMap::new();
        for &(net, len, i) in &prefixes {
            let (bits, k) = family_key(net);
            if matches!(net, IpAddr::V6(a) if a.to_ipv4_mapped().is_some()) {
                continue; // stored as IPv4 by `Observable`, not by the index
            }
            let len = len.min(bits);
            let network = if bits == 32 {
                IpAddr::V4(Ipv4Addr::from((k & mask(32, len)) as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(k & mask(128, len)))
            };
            let o = Observable::parse(Kind::Cidr, &format!("{network}/{len}")).unwrap();
            stored.insert(o.value().to_string(), i);
        }
        for &q in &qs {
            let mapped_prefix = prefixes.iter().any(|(n, _, _)| matches!(n, IpAddr::V6(a) if a.to_ipv4_mapped().is_some()));
            if !mapped_prefix {
                prop_assert_eq!(covering_lookup(&stored, q), index.get(q).copied(), "{}", q);
            }
        }
    }

    /// Disjoint ranges (`from_ranges`, as the geo index uses) against a scan.
    #[test]
    fn range_lookup_agrees_with_a_linear_scan(
        points4 in prop::collection::btree_set(any::<u32>(), 0..30),
        points6 in prop::collection::btree_set(any::<u128>(), 0..30),
        singles in prop::collection::vec(any::<bool>(), 30),
        random in prop::collection::vec(any::<u128>(), 0..50),
    ) {
        // Consecutive points pair up into disjoint ranges; some are single addresses.
        let mut ranges: Vec<(IpAddr, IpAddr, usize)> = Vec::new();
        let p4: Vec<u32> = points4.into_iter().collect();
        for (j, pair) in p4.chunks(2).enumerate() {
            let hi = if singles[j] { pair[0] } else { *pair.last().unwrap() };
            ranges.push((IpAddr::V4(Ipv4Addr::from(pair[0])), IpAddr::V4(Ipv4Addr::from(hi)), ranges.len()));
        }
        let p6: Vec<u128> = points6.into_iter().filter(|k| Ipv6Addr::from(*k).to_ipv4_mapped().is_none()).collect();
        for (j, pair) in p6.chunks(2).enumerate() {
            let hi = if singles[j] { pair[0] } else { *pair.last().unwrap() };
            ranges.push((IpAddr::V6(Ipv6Addr::from(pair[0])), IpAddr::V6(Ipv6Addr::from(hi)), ranges.len()));
        }
        let mut given = ranges.clone();
        // A range whose ends differ in family is ignored.
        given.push((IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::from(u128::MAX)), usize::MAX));
        let index = PrefixIndex::from_ranges(given);
        let mut qs: Vec<IpAddr> = Vec::new();
        for &(lo, hi, _) in &ranges {
            for ip in [lo, hi] {
                let (bits, k) = family_key(ip);
                for d in [k.wrapping_sub(1), k, k.wrapping_add(1)] {
                    qs.push(if bits == 32 { IpAddr::V4(Ipv4Addr::from(d as u32)) } else { IpAddr::V6(Ipv6Addr::from(d)) });
                }
            }
        }
        qs.extend(probes(&[], &random));
        for q in qs {
            let (qbits, qk) = family_key(q);
            let want = ranges.iter().find(|(lo, hi, _)| {
                let ((b, l), (_, h)) = (family_key(*lo), family_key(*hi));
                b == qbits && l <= qk && qk <= h
            });
            prop_assert_eq!(index.get(q).copied(), want.map(|r| r.2), "{}", q);
        }
    }
}

// ---------------------------------------------------------------------------
// Covering networks
// ---------------------------------------------------------------------------

/// An IP or CIDR observable and its text, IPv4-mapped spellings included.
fn ip_or_cidr() -> impl Strategy<Value = Observable> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(|a| a.to_string()),
        any::<Ipv4Addr>().prop_map(|a| a.to_ipv6_mapped().to_string()),
        any::<Ipv6Addr>().prop_map(|a| a.to_string()),
        (any::<u32>(), 0..=32u8).prop_map(|(a, len)| format!("{}/{len}", Ipv4Addr::from(a & mask4(len)))),
        (any::<u128>(), 0..=128u8).prop_map(|(a, len)| format!("{}/{len}", Ipv6Addr::from(a & mask6(len)))),
        (any::<u32>(), 96..=128u8).prop_map(|(a, len)| format!("::ffff:{}/{len}", Ipv4Addr::from(a & mask4(len - 96)))),
    ]
    .prop_map(|text| Observable::guess(&text).unwrap())
}

/// The network `o` names and its length, by `ipnetwork`.
fn as_network(o: &Observable) -> ipnetwork::IpNetwork {
    let text = if o.value().contains('/') {
        o.value().to_string()
    } else {
        format!("{}/{}", o.value(), if o.kind() == Kind::Ipv4 { 32 } else { 128 })
    };
    text.parse().unwrap()
}

proptest! {
    #![proptest_config(config(256))]

    /// `covering_networks` is every strictly larger network that holds the
    /// address or CIDR, closest first, as `ipnetwork` computes them, each in
    /// the normal form `Observable::parse` gives.
    #[test]
    fn covering_networks_are_exactly_the_enclosing_prefixes(o in ip_or_cidr()) {
        let own = as_network(&o);
        let naive: Vec<String> = (0..own.prefix())
            .rev()
            .map(|len| {
                let n = ipnetwork::IpNetwork::new(own.ip(), len).unwrap();
                format!("{}/{len}", n.network())
            })
            .collect();
        let got = o.covering_networks();
        prop_assert_eq!(&got, &naive, "{}", o.value());
        let (lo, hi) = o.ip_range().unwrap();
        for n in &got {
            let parsed = Observable::parse(Kind::Cidr, n).unwrap();
            prop_assert_eq!(parsed.kind(), Kind::Cidr);
            prop_assert_eq!(parsed.value(), n.as_str(), "not in normal form");
            let (nlo, nhi) = parsed.ip_range().unwrap();
            prop_assert!(nlo <= lo && hi <= nhi, "{} does not hold {}", n, o.value());
            prop_assert!((nlo, nhi) != (lo, hi), "{} is not strictly larger than {}", n, o.value());
        }
    }

    /// Among random stored CIDRs, those `covering_networks` names are
    /// exactly those whose range strictly holds the value's range.
    #[test]
    fn covering_networks_find_every_stored_cover(
        o in ip_or_cidr(),
        lens in prop::collection::vec(0..=128u8, 0..40),
        noise in prop::collection::vec(any::<u128>(), 40),
    ) {
        let (lo, hi) = o.ip_range().unwrap();
        let is_v4 = as_network(&o).is_ipv4();
        // Stored networks near the value: its own bits, some flipped.
        let base = u128::from_be_bytes(lo);
        let stored: Vec<Observable> = lens
            .iter()
            .zip(&noise)
            .map(|(&len, &n)| {
                let k = base ^ (n >> (n % 128));
                if is_v4 {
                    let len = len % 33;
                    format!("{}/{len}", Ipv4Addr::from(k as u32 & mask4(len)))
                } else {
                    format!("{}/{len}", Ipv6Addr::from(k & mask6(len)))
                }
            })
            .filter_map(|t| Observable::parse(Kind::Cidr, &t).ok())
            .collect();
        let covering: std::collections::HashSet<String> = o.covering_networks().into_iter().collect();
        for s in &stored {
            let (slo, shi) = s.ip_range().unwrap();
            let holds = slo <= lo && hi <= shi && (slo, shi) != (lo, hi);
            prop_assert_eq!(covering.contains(s.value()), holds, "{} and {}", s.value(), o.value());
        }
    }
}

// ---------------------------------------------------------------------------
// Geo enrichment
// ---------------------------------------------------------------------------

fn key(ip: IpAddr) -> u128 {
    u128::from_be_bytes(ip_key(ip))
}

/// Ranges of one family each, as range files give them: IPv4 ones in the
/// IPv4-mapped key space, IPv6 ones in global unicast space.
fn geo_facts(max: usize) -> impl Strategy<Value = Vec<(u128, u128, Fact)>> {
    let fact = prop_oneof![
        (1..100u32, select(vec!["Org A", "Cloudflare, Inc.", "Ex \"Q\" Ltd"]))
            .prop_map(|(asn, org)| Fact::Asn { asn, org: org.to_string() }),
        select(vec!["NL", "DE", "AU", "SE"]).prop_map(|cc| Fact::Country(cc.to_string())),
    ];
    let v4 = (0..4096u32, 0..4096u32).prop_map(|(a, b)| {
        let (a, b) = (a.min(b) << 20, (a.max(b) << 20) | 0xfffff);
        (key(IpAddr::V4(Ipv4Addr::from(a))), key(IpAddr::V4(Ipv4Addr::from(b))))
    });
    let v6 = (0..4096u128, 0..4096u128).prop_map(|(a, b)| {
        let base = 0x2001_0db8u128 << 96;
        (base | a.min(b) << 80, base | a.max(b) << 80 | ((1 << 80) - 1))
    });
    prop::collection::vec((prop_oneof![v4, v6], fact).prop_map(|((lo, hi), f)| (lo, hi, f)), 0..max)
}

/// The geo index as its documentation states it: for each kind of fact,
/// the first range given that holds the address ("the first source wins").
fn naive_enrich(facts: &[(u128, u128, Fact)], ip: IpAddr) -> (Option<u32>, Option<String>, Option<String>) {
    let k = key(ip);
    let holds = |&&(lo, hi, _): &&(u128, u128, Fact)| lo <= k && k <= hi;
    let asn = facts.iter().filter(|f| matches!(f.2, Fact::Asn { .. })).find(holds);
    let cc = facts.iter().filter(|f| matches!(f.2, Fact::Country(_))).find(holds);
    let (asn, org) = match asn {
        Some((_, _, Fact::Asn { asn, org })) => (Some(*asn), Some(org.clone())),
        _ => (None, None),
    };
    let cc = match cc {
        Some((_, _, Fact::Country(c))) => Some(c.clone()),
        _ => None,
    };
    (asn, org, cc)
}

fn geo_probes(facts: &[(u128, u128, Fact)], picks: &[Index]) -> Vec<IpAddr> {
    let addr = |k: u128| {
        let v6 = Ipv6Addr::from(k);
        v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
    };
    let mut out = Vec::new();
    for (lo, hi, _) in facts {
        for k in [*lo, *hi, lo.wrapping_sub(1), hi.wrapping_add(1), lo + (hi - lo) / 2] {
            out.push(addr(k));
        }
    }
    if !facts.is_empty() {
        for p in picks {
            let (lo, hi, _) = p.get(facts);
            out.push(addr(lo + (hi - lo) / 3));
        }
    }
    out
}

proptest! {
    #![proptest_config(config(24))]

    /// Disjoint ranges per kind: enrichment is what a scan finds, and the
    /// index read back from `to_lines` answers the same.
    #[test]
    fn geo_enrichment_of_disjoint_ranges_agrees_with_a_scan(
        facts in geo_facts(12),
        picks in prop::collection::vec(any::<Index>(), 8),
    ) {
        // Keep a range only if no earlier one of its kind overlaps it.
        let mut kept: Vec<(u128, u128, Fact)> = Vec::new();
        for f in facts {
            let same_kind = |g: &&(u128, u128, Fact)| std::mem::discriminant(&g.2) == std::mem::discriminant(&f.2);
            if !kept.iter().filter(same_kind).any(|g| g.0 <= f.1 && f.0 <= g.1) {
                kept.push(f);
            }
        }
        let index = GeoIndex::build(kept.clone());
        let again = GeoIndex::build(parse_ranges(&index.to_lines()).unwrap());
        for ip in geo_probes(&kept, &picks) {
            let e = index.enrich(ip);
            prop_assert_eq!((e.asn, e.as_org.clone(), e.country.clone()), naive_enrich(&kept, ip), "{} in {:?}", ip, kept);
            prop_assert_eq!(again.enrich(ip), e, "{} after to_lines/parse_ranges", ip);
        }
    }

    /// Overlapping ranges: `GeoIndex::build` says "later ranges never
    /// override earlier overlapping ones (the first source wins)", so an
    /// address answers with the first range given that holds it.
    #[test]
    fn geo_enrichment_of_overlapping_ranges_lets_the_first_source_win(
        facts in geo_facts(8),
        picks in prop::collection::vec(any::<Index>(), 8),
    ) {
        let index = GeoIndex::build(facts.clone());
        for ip in geo_probes(&facts, &picks) {
            let e = index.enrich(ip);
            prop_assert_eq!((e.asn, e.as_org, e.country), naive_enrich(&facts, ip), "{} in {:?}", ip, facts);
        }
    }
}

// ---------------------------------------------------------------------------
// Minimal inputs of what the properties found; each fails until fixed.
// ---------------------------------------------------------------------------

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `prefix::mask(128, 128)` computes `u128::MAX >> 128`: a panic
/// ("attempt to shift right with overflow") in debug builds and, with
/// release builds' wrapping shift, a mask of 0 that turns a /128 (or any
/// length past 128, which `build` clamps to 128) into `::/0`.
#[test]
fn an_ipv6_host_route_covers_only_its_address() {
    let prefixes = vec![(ip("2001:db8::1"), 128u8, 0usize), (ip("2001:db8::"), 32, 1)];
    let index = std::panic::catch_unwind(|| PrefixIndex::build(prefixes.clone()));
    let index = index.expect("PrefixIndex::build panicked on an IPv6 /128");
    for q in ["2001:db8::1", "2001:db8::2", "2001:db9::1", "::1"] {
        assert_eq!(index.get(ip(q)).copied(), naive_lpm(&prefixes, ip(q)), "{q}");
    }
}

/// `GeoIndex::build` documents "later ranges never override earlier
/// overlapping ones (the first source wins)", but it sorts by start and
/// keeps the widest range at each start, then drops every range that
/// overlaps a kept one, whole: a later, wider range beats an earlier one,
/// and a later range's part that nothing else covers is lost.
#[test]
fn geo_first_source_wins_on_overlaps() {
    let asn = |n: u32| Fact::Asn { asn: n, org: format!("org {n}") };
    let k = |s: &str| key(ip(s));
    // Same start, the later range wider: the earlier one should answer.
    let facts = vec![(k("1.0.0.0"), k("1.0.0.255"), asn(1)), (k("1.0.0.0"), k("1.0.1.255"), asn(2))];
    let index = GeoIndex::build(facts);
    let mut wrong = Vec::new();
    if index.enrich(ip("1.0.0.7")).asn != Some(1) {
        wrong.push(format!("1.0.0.7 gave {:?}, the first source says AS1", index.enrich(ip("1.0.0.7")).asn));
    }
    // A later range starting earlier: it wins the overlap, and the part of
    // the first range past it becomes unknown.
    let facts = vec![(k("1.0.0.10"), k("1.0.0.20"), asn(1)), (k("1.0.0.5"), k("1.0.0.15"), asn(2))];
    let index = GeoIndex::build(facts);
    for (q, want) in [("1.0.0.7", Some(2)), ("1.0.0.12", Some(1)), ("1.0.0.17", Some(1))] {
        let got = index.enrich(ip(q)).asn;
        if got != want {
            wrong.push(format!("{q} gave {got:?}, the first source says {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("; "));
}
