//! The DNSBL's answers, byte by byte where it matters.

use super::*;
use crate::index::{IndexBuilder, code};
use dragnet_core::Category;

fn zone() -> Zone {
    Zone::new("dnsbl.example.org", "ns1.example.org", "https://dragnet.example/lookup/{}").unwrap()
}

fn index() -> Index {
    let mut b = IndexBuilder::default();
    b.add_v4(u32::from_be_bytes([45, 10, 1, 7]), 32, code(Category::BotnetC2));
    b.add_v4(u32::from_be_bytes([45, 20, 0, 0]), 16, code(Category::Spam));
    b.add_v6(u128::from(std::net::Ipv6Addr::new(0x2a01, 0x4f8, 0x10, 0, 0, 0, 0, 1)), 128, code(Category::Scanning));
    b.build(1_700_000_000)
}

fn query(name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut q = wire::question(0x1234, 0x0100, &wire::encode_name(name).unwrap(), qtype);
    if edns {
        // ARCOUNT 1: an OPT record follows.
        q[11] = 1;
        q.extend([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    }
    q
}

/// (rcode, answer count, authority count, additional count).
fn header(r: &[u8]) -> (u8, u16, u16, u16) {
    let n = |at: usize| u16::from_be_bytes([r[at], r[at + 1]]);
    (r[3] & 0xf, n(6), n(8), n(10))
}

fn ask(name: &str, qtype: u16) -> Vec<u8> {
    respond(&query(name, qtype, false), &zone(), &index()).unwrap()
}

#[test]
fn a_listed_address_answers_its_category_code() {
    let r = ask("7.1.10.45.dnsbl.example.org", rtype::A);
    assert_eq!(header(&r), (rcode::NOERROR, 1, 0, 0));
    assert_eq!(&r[0..2], &[0x12, 0x34], "the id is echoed");
    assert_eq!(r[2] & 0x84, 0x84, "a response, authoritative");
    assert_eq!(&r[r.len() - 4..], &[127, 0, 0, 6], "botnet-c2 is 127.0.0.6");
    // Inside a listed network; upper case in the name.
    let r = ask("9.9.20.45.DNSBL.Example.ORG", rtype::A);
    assert_eq!(&r[r.len() - 4..], &[127, 0, 0, 9], "spam is 127.0.0.9");
}

#[test]
fn txt_names_the_reason_and_where_to_look() {
    let r = ask("7.1.10.45.dnsbl.example.org", rtype::TXT);
    assert_eq!(header(&r).1, 1);
    let text = String::from_utf8_lossy(&r);
    assert!(text.contains("listed by Dragnet: botnet-c2; https://dragnet.example/lookup/45.10.1.7"), "{text}");
    let both = ask("7.1.10.45.dnsbl.example.org", rtype::ANY);
    assert_eq!(header(&both).1, 2);
}

#[test]
fn unlisted_is_nxdomain_with_the_soa() {
    let r = ask("8.1.10.45.dnsbl.example.org", rtype::A);
    assert_eq!(header(&r), (rcode::NXDOMAIN, 0, 1, 0));
    for name in [
        "1.0.0.127.dnsbl.example.org",
        "01.1.10.45.dnsbl.example.org",
        "256.1.10.45.dnsbl.example.org",
        "x.dnsbl.example.org",
    ] {
        assert_eq!(header(&ask(name, rtype::A)).0, rcode::NXDOMAIN, "{name}");
    }
    // A listed name asked for another type: no data, not NXDOMAIN.
    assert_eq!(header(&ask("7.1.10.45.dnsbl.example.org", rtype::AAAA)), (rcode::NOERROR, 0, 1, 0));
}

#[test]
fn the_rfc_5782_test_point_is_listed() {
    let r = ask("2.0.0.127.dnsbl.example.org", rtype::A);
    assert_eq!(&r[r.len() - 4..], &[127, 0, 0, 2]);
}

#[test]
fn ipv6_by_nibbles() {
    let name = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.f.4.0.1.0.a.2.dnsbl.example.org";
    let r = ask(name, rtype::A);
    assert_eq!(&r[r.len() - 4..], &[127, 0, 0, 8], "scanning is 127.0.0.8");
    let off = name.replacen('1', "2", 1);
    assert_eq!(header(&ask(&off, rtype::A)).0, rcode::NXDOMAIN);
}

#[test]
fn the_apex_holds_soa_and_ns() {
    let r = ask("dnsbl.example.org", rtype::SOA);
    assert_eq!(header(&r), (rcode::NOERROR, 1, 0, 0));
    assert!(r.windows(4).any(|w| w == 1_700_000_000u32.to_be_bytes()), "the serial");
    let r = ask("dnsbl.example.org", rtype::NS);
    assert!(r.ends_with(&wire::encode_name("ns1.example.org").unwrap()));
}

#[test]
fn outside_the_zone_is_refused_and_edns_is_echoed() {
    assert_eq!(header(&ask("example.com", rtype::A)).0, rcode::REFUSED);
    assert_eq!(header(&ask("org", rtype::A)).0, rcode::REFUSED);
    let r = respond(&query("7.1.10.45.dnsbl.example.org", rtype::A, true), &zone(), &index()).unwrap();
    assert_eq!(header(&r), (rcode::NOERROR, 1, 0, 1));
}

#[test]
fn malformed_messages_get_formerr_or_nothing() {
    let z = zone();
    let i = index();
    assert_eq!(respond(&[], &z, &i), None);
    assert_eq!(respond(&[1, 2, 3], &z, &i), None);
    let mut response = query("7.1.10.45.dnsbl.example.org", rtype::A, false);
    response[2] |= 0x80;
    assert_eq!(respond(&response, &z, &i), None, "a response is never answered");
    let mut two = query("7.1.10.45.dnsbl.example.org", rtype::A, false);
    two[5] = 2;
    assert_eq!(header(&respond(&two, &z, &i).unwrap()).0, rcode::FORMERR);
    let truncated = &query("7.1.10.45.dnsbl.example.org", rtype::A, false)[..20];
    assert_eq!(header(&respond(truncated, &z, &i).unwrap()).0, rcode::FORMERR);
    let pointer = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
    assert_eq!(header(&respond(&pointer, &z, &i).unwrap()).0, rcode::FORMERR, "no pointer in a question");
    let mut update = query("dnsbl.example.org", rtype::SOA, false);
    update[2] = 0x28; // opcode 5 (UPDATE)
    assert_eq!(header(&respond(&update, &z, &i).unwrap()).0, rcode::NOTIMP);
}

fn policy_zone() -> (Vec<Zone>, Index) {
    let zones = vec![zone(), Zone::rpz("rpz.example.org", "ns1.example.org").unwrap()];
    let mut index = index();
    index.rpz = crate::index::Rpz::from_names(["c2.example", "*.c2.example", "32.7.1.10.45.rpz-ip"], 42);
    (zones, index)
}

#[test]
fn the_policy_zone_answers_its_triggers() {
    let (zones, index) = policy_zone();
    let ask = |name: &str, qtype: u16| respond_in(&query(name, qtype, false), &zones, &index).unwrap();
    let r = ask("c2.example.rpz.example.org", rtype::CNAME);
    assert_eq!(header(&r), (rcode::NOERROR, 1, 0, 0));
    assert!(r.ends_with(&[0, 5, 0, 1, 0, 0, 1, 44, 0, 1, 0]), "CNAME . (TTL 300)");
    assert_eq!(header(&ask("*.C2.example.rpz.example.org", rtype::CNAME)).1, 1, "case does not matter");
    assert_eq!(header(&ask("other.example.rpz.example.org", rtype::CNAME)).0, rcode::NXDOMAIN);
    let soa = ask("rpz.example.org", rtype::SOA);
    assert!(soa.windows(4).any(|w| w == 42u32.to_be_bytes()), "the policy zone's own serial");
    // The DNSBL beside it still answers.
    assert_eq!(header(&ask("7.1.10.45.dnsbl.example.org", rtype::A)).1, 1);
    // A transfer asked over UDP gets the SOA alone.
    assert_eq!(header(&ask("rpz.example.org", rtype::IXFR)), (rcode::NOERROR, 1, 0, 0));
}

#[test]
fn a_transfer_is_the_whole_zone_between_two_soas() {
    let (zones, index) = policy_zone();
    let messages = transfer(&query("rpz.example.org", rtype::AXFR, false), &zones, &index).unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(header(&messages[0]), (rcode::NOERROR, 5, 0, 0), "SOA, three triggers, SOA");
    assert!(
        transfer(&query("dnsbl.example.org", rtype::AXFR, false), &zones, &index).is_none(),
        "the DNSBL is not transferred"
    );
    assert!(transfer(&query("rpz.example.org", rtype::SOA, false), &zones, &index).is_none());
    // Many triggers: split into messages under 16 KiB + one record.
    let mut big = index.clone();
    let names: Vec<String> = (0..3000).map(|i| format!("c2-{i}.example")).collect();
    big.rpz = crate::index::Rpz::from_names(names.iter().map(String::as_str), 7);
    let messages = transfer(&query("rpz.example.org", rtype::IXFR, false), &zones, &big).unwrap();
    assert!(messages.len() > 1 && messages.iter().all(|m| m.len() < 17 * 1024));
    let records: u32 = messages.iter().map(|m| u32::from(header(m).1)).sum();
    assert_eq!(records, 3002);
}

/// An IXFR request from a secondary that holds `serial`.
fn ixfr(zone_name: &str, serial: u32) -> Vec<u8> {
    let mut q = query(zone_name, rtype::IXFR, false);
    q[9] = 1; // one authority record: the SOA it has
    q.extend([0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 22, 0, 0]);
    q.extend(serial.to_be_bytes());
    q.extend([0; 16]);
    q
}

#[test]
fn ixfr_sends_only_what_changed_since_the_secondarys_serial() {
    let zones = vec![Zone::rpz("rpz.example.org", "ns1.example.org").unwrap()];
    let mut index = index();
    let first = crate::index::Rpz::from_names(["a.example", "b.example"], 1);
    let mut second = crate::index::Rpz::from_names(["b.example", "c.example"], 2);
    second.follow(&first);
    let mut third = crate::index::Rpz::from_names(["b.example", "c.example", "d.example"], 3);
    third.follow(&second);
    index.rpz = third;
    let records = |serial: u32| -> u16 {
        let messages = transfer(&ixfr("rpz.example.org", serial), &zones, &index).unwrap();
        messages.iter().map(|m| header(m).1).sum()
    };
    // SOA 3; SOA 1, -a, SOA 2, +c; SOA 2, SOA 3, +d; SOA 3.
    assert_eq!(records(1), 9);
    assert_eq!(records(2), 5, "SOA 3; SOA 2, SOA 3, +d; SOA 3");
    assert_eq!(records(3), 1, "up to date: the SOA alone");
    assert_eq!(records(77), 5, "unknown: the whole zone, SOA b c d SOA");
    let text = String::from_utf8_lossy(&transfer(&ixfr("rpz.example.org", 1), &zones, &index).unwrap()[0]).into_owned();
    assert!(text.contains("\u{1}a\u{7}example") && text.contains("\u{1}d\u{7}example"), "{text:?}");
}

#[test]
fn a_batch_is_answered_as_each_message_alone() {
    let mut packets: Vec<Vec<u8>> = [
        ("7.1.10.45.dnsbl.example.org", rtype::A),
        ("1.0.0.127.dnsbl.example.org", rtype::A),
        ("2.0.0.127.dnsbl.example.org", rtype::TXT),
        ("dnsbl.example.org", rtype::SOA),
        ("9.9.20.45.dnsbl.example.org", rtype::ANY),
        ("7.1.10.45.elsewhere.example", rtype::A),
        ("8.1.10.45.dnsbl.example.org", rtype::A),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.f.4.0.1.0.a.2.dnsbl.example.org", rtype::A),
        ("256.1.10.45.dnsbl.example.org", rtype::A),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, qtype))| query(name, *qtype, i % 2 == 0))
    .collect();
    packets.push(vec![0x12]);
    packets.push(vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xff]);
    let (zones, index) = (vec![zone()], index());
    let alone: Vec<Option<Vec<u8>>> = packets.iter().map(|p| respond_in(p, &zones, &index)).collect();
    assert_eq!(respond_all(packets.iter().map(Vec::as_slice), &zones, &index), alone);
    let rcodes: Vec<Option<u8>> = alone.iter().map(|r| r.as_deref().map(|r| header(r).0)).collect();
    let (ok, nx) = (Some(rcode::NOERROR), Some(rcode::NXDOMAIN));
    let (formerr, refused) = (Some(rcode::FORMERR), Some(rcode::REFUSED));
    assert_eq!(rcodes, [ok, nx, ok, ok, ok, refused, nx, ok, nx, None, formerr]);
}
