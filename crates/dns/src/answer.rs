//! One query in, one response out: the DNSBL's whole behaviour, pure.
//!
//! `7.1.10.45.ZONE` (reversed octets) and `1.0.…32 nibbles….ZONE`
//! (reversed IPv6 nibbles) are listed when the index covers the address:
//! `A 127.0.0.x` (x the category's code) and a `TXT` with the reason and a
//! lookup URL; unlisted names are NXDOMAIN with the SOA for negative
//! caching. `2.0.0.127.ZONE` is always listed and `1.0.0.127.ZONE` never
//! (RFC 5782's test points). The apex answers SOA and NS.
//!
//! A response policy zone answers its triggers (`CNAME .`) to queries and
//! its whole content to AXFR and IXFR over TCP ([`transfer`]).

use crate::index::{Code, Index, category};
use crate::wire::{self, Malformed, QNAME_POINTER, Query, Response, Section, rcode, rtype};

/// What a zone serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    Dnsbl,
    Rpz,
}

/// A served zone: its name and the records its apex holds.
#[derive(Debug, Clone)]
pub struct Zone {
    pub kind: ZoneKind,
    /// Lower-case labels, e.g. `["dnsbl", "example", "org"]`.
    labels: Vec<Vec<u8>>,
    name_wire: Vec<u8>,
    /// The name server the NS and SOA records name.
    ns_wire: Vec<u8>,
    hostmaster_wire: Vec<u8>,
    /// Where the TXT record sends a reader (`{}` is the address).
    pub lookup_url: String,
    pub ttl: u32,
}

impl Zone {
    /// A zone named `name` whose name server is `ns`; `None` if either is
    /// not a valid DNS name.
    pub fn new(name: &str, ns: &str, lookup_url: &str) -> Option<Zone> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let name_wire = wire::encode_name(&name)?;
        Some(Zone {
            kind: ZoneKind::Dnsbl,
            labels: name.split('.').filter(|l| !l.is_empty()).map(|l| l.as_bytes().to_vec()).collect(),
            name_wire,
            ns_wire: wire::encode_name(ns)?,
            hostmaster_wire: wire::encode_name(&format!("hostmaster.{name}"))?,
            lookup_url: lookup_url.to_string(),
            ttl: 300,
        })
    }

    /// A response policy zone named `name` whose name server is `ns`.
    pub fn rpz(name: &str, ns: &str) -> Option<Zone> {
        Some(Zone { kind: ZoneKind::Rpz, ..Zone::new(name, ns, "")? })
    }

    /// The zone's name, wire encoded.
    pub fn name_wire(&self) -> &[u8] {
        &self.name_wire
    }

    /// The serial its SOA gives now.
    fn serial(&self, index: &Index) -> u32 {
        match self.kind {
            ZoneKind::Dnsbl => index.serial,
            ZoneKind::Rpz => index.rpz.serial,
        }
    }

    fn soa(&self, serial: u32) -> Vec<u8> {
        let mut rdata = Vec::with_capacity(self.ns_wire.len() + self.hostmaster_wire.len() + 20);
        rdata.extend_from_slice(&self.ns_wire);
        rdata.extend_from_slice(&self.hostmaster_wire);
        for n in [serial, 3600, 600, 604_800, self.ttl] {
            rdata.extend_from_slice(&n.to_be_bytes());
        }
        rdata
    }
}

/// What the part of the name below the zone asks about.
#[derive(Debug, Clone, Copy)]
enum Asked {
    V4(u32),
    V6(u128),
    Nothing,
}

fn lower_eq(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The labels of `labels` below `zone`, if the name is in it.
fn below<'a, 'b>(zone: &Zone, labels: &'b [&'a [u8]]) -> Option<&'b [&'a [u8]]> {
    let below = labels.len().checked_sub(zone.labels.len())?;
    let (host, suffix) = labels.split_at(below);
    suffix.iter().zip(&zone.labels).all(|(a, b)| lower_eq(a, b)).then_some(host)
}

fn asked(host: &[&[u8]]) -> Asked {
    match host.len() {
        4 => match octets(host) {
            Some(a) => Asked::V4(a),
            None => Asked::Nothing,
        },
        32 => match nibbles(host) {
            Some(a) => Asked::V6(a),
            None => Asked::Nothing,
        },
        _ => Asked::Nothing,
    }
}

/// `7.1.10.45` → 45.10.1.7. Decimal octets without leading zeros.
fn octets(labels: &[&[u8]]) -> Option<u32> {
    let mut address = 0u32;
    for label in labels.iter().rev() {
        if label.is_empty() || label.len() > 3 || (label.len() > 1 && label.first() == Some(&b'0')) {
            return None;
        }
        let mut octet = 0u32;
        for b in label.iter() {
            octet = octet * 10 + char::from(*b).to_digit(10)?;
        }
        address = (address << 8) | Some(octet).filter(|o| *o <= 255)?;
    }
    Some(address)
}

/// 32 one-digit hex labels, least significant first.
fn nibbles(labels: &[&[u8]]) -> Option<u128> {
    let mut address = 0u128;
    for label in labels.iter().rev() {
        let [digit] = label else { return None };
        address = (address << 4) | u128::from(char::from(*digit).to_digit(16)?);
    }
    Some(address)
}

/// The response to one message for one zone (see [`respond_in`]).
pub fn respond(packet: &[u8], zone: &Zone, index: &Index) -> Option<Vec<u8>> {
    respond_in(packet, std::slice::from_ref(zone), index)
}

/// The response to one message, or `None` when it deserves none (too
/// short to carry an id, or itself a response). A name in none of
/// `zones` is refused.
pub fn respond_in(packet: &[u8], zones: &[Zone], index: &Index) -> Option<Vec<u8>> {
    match parse(packet, zones, index) {
        Parsed::Answered(response) => response,
        Parsed::Lookup { q, zone, asked } => Some(answer(&q, zone, index, asked, look_up(index, asked))),
    }
}

/// The responses to a batch of messages, in order (as [`respond_in`]
/// gives them one by one). The IPv4 lookups of the whole batch are made
/// together, level by level through the index, so that their memory reads
/// overlap instead of each waiting for the one before: on a large list
/// they are cache misses, and a server answering one lookup at a time
/// spent an eighth of its CPU waiting on them.
pub fn respond_all<'p>(
    packets: impl IntoIterator<Item = &'p [u8]>,
    zones: &[Zone],
    index: &Index,
) -> Vec<Option<Vec<u8>>> {
    let parsed: Vec<Parsed<'_, '_>> = packets.into_iter().map(|p| parse(p, zones, index)).collect();
    let addresses: Vec<u32> = parsed
        .iter()
        .filter_map(|p| match p {
            Parsed::Lookup { asked, .. } => in_index_v4(*asked),
            Parsed::Answered(_) => None,
        })
        .collect();
    let mut codes = index.find_all_v4(&addresses).into_iter();
    parsed
        .into_iter()
        .map(|p| match p {
            Parsed::Answered(response) => response,
            Parsed::Lookup { q, zone, asked } => {
                let code = match in_index_v4(asked) {
                    Some(_) => codes.next().flatten(),
                    None => look_up(index, asked),
                };
                Some(answer(&q, zone, index, asked, code))
            }
        })
        .collect()
}

/// A message parsed: answered already, or a DNSBL lookup to make first.
enum Parsed<'a, 'z> {
    Answered(Option<Vec<u8>>),
    Lookup { q: Query<'a>, zone: &'z Zone, asked: Asked },
}

fn parse<'a, 'z>(packet: &'a [u8], zones: &'z [Zone], index: &Index) -> Parsed<'a, 'z> {
    let q = match wire::parse(packet) {
        Ok(q) => q,
        Err(Malformed::NoHeader | Malformed::NotAQuery) => return Parsed::Answered(None),
        Err(Malformed::Bad { id, opcode }) => {
            return Parsed::Answered(Some(Response::error(id, opcode, rcode::FORMERR)));
        }
    };
    if q.opcode != 0 {
        return Parsed::Answered(Some(finish(Response::to(&q, rcode::NOTIMP), &q)));
    }
    if q.qclass != wire::CLASS_IN && q.qclass != wire::CLASS_ANY {
        return Parsed::Answered(Some(finish(Response::to(&q, rcode::REFUSED), &q)));
    }
    let Some((zone, host)) = zones.iter().find_map(|z| Some((z, below(z, &q.labels)?))) else {
        return Parsed::Answered(Some(finish(Response::to(&q, rcode::REFUSED), &q)));
    };
    if host.is_empty() {
        return Parsed::Answered(Some(apex(&q, zone, index)));
    }
    match zone.kind {
        ZoneKind::Dnsbl => {
            let asked = asked(host);
            Parsed::Lookup { q, zone, asked }
        }
        ZoneKind::Rpz => Parsed::Answered(Some(policy(&q, zone, index, host))),
    }
}

/// RFC 5782's listed test point, 127.0.0.2.
const TEST_POINT: u32 = 0x7f00_0002;

/// The IPv4 address to find in the index for `asked`, if any: what
/// [`respond_all`] looks up together, and the codes it hands out in turn.
fn in_index_v4(asked: Asked) -> Option<u32> {
    match asked {
        Asked::V4(a) if a != TEST_POINT => Some(a),
        _ => None,
    }
}

fn look_up(index: &Index, asked: Asked) -> Option<Code> {
    match asked {
        Asked::V4(TEST_POINT) => Some(2),
        Asked::V4(a) => index.find_v4(a),
        Asked::V6(a) => index.find_v6(a),
        Asked::Nothing => None,
    }
}

/// A trigger of the policy zone answers `CNAME .`; anything else NXDOMAIN.
fn policy(q: &Query<'_>, zone: &Zone, index: &Index, host: &[&[u8]]) -> Vec<u8> {
    let mut relative = Vec::with_capacity(64);
    for label in host {
        relative.push(u8::try_from(label.len()).unwrap_or(63));
        relative.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    if !index.rpz.contains(&relative) {
        let mut r = Response::to(q, rcode::NXDOMAIN);
        r.record(Section::Authority, &zone.name_wire, rtype::SOA, zone.ttl, &zone.soa(zone.serial(index)));
        return finish(r, q);
    }
    let mut r = Response::to(q, rcode::NOERROR);
    if q.qtype == rtype::CNAME || q.qtype == rtype::ANY {
        r.record(Section::Answer, &QNAME_POINTER, rtype::CNAME, zone.ttl, &[0]);
    } else {
        r.record(Section::Authority, &zone.name_wire, rtype::SOA, zone.ttl, &zone.soa(zone.serial(index)));
    }
    finish(r, q)
}

/// Largest message of a zone transfer, well under TCP DNS's 65,535.
const TRANSFER_MESSAGE: usize = 16 * 1024;

/// A zone transfer (AXFR, or IXFR answered with the whole zone as RFC 1995
/// §4 allows) of a policy zone: the messages to send, SOA first and last.
/// `None` when the message is not a transfer request this server serves.
pub fn transfer(packet: &[u8], zones: &[Zone], index: &Index) -> Option<Vec<Vec<u8>>> {
    let q = wire::parse(packet).ok()?;
    if q.opcode != 0 || (q.qtype != rtype::AXFR && q.qtype != rtype::IXFR) {
        return None;
    }
    let zone = zones.iter().find(|z| z.kind == ZoneKind::Rpz && below(z, &q.labels).is_some_and(<[_]>::is_empty))?;
    let soa = zone.soa(zone.serial(index));
    let mut out = Transfer { q: &q, zone, messages: Vec::new(), current: Response::to(&q, rcode::NOERROR) };
    out.soa(&soa);
    let incremental = match q.known_serial {
        Some(known) if q.qtype == rtype::IXFR && known == index.rpz.serial => Some(&[][..]),
        Some(known) if q.qtype == rtype::IXFR => index.rpz.since(known),
        _ => None,
    };
    match incremental {
        // Up to date: the SOA alone (RFC 1995 §4).
        Some([]) => return Some(out.finish()),
        // Each change: its old SOA and what left, its new SOA and what came.
        Some(changes) => {
            for change in changes {
                out.soa(&zone.soa(change.from));
                change.removed.iter().for_each(|n| out.trigger(n));
                out.soa(&zone.soa(change.to));
                change.added.iter().for_each(|n| out.trigger(n));
            }
        }
        None => index.rpz.names.iter().for_each(|n| out.trigger(n)),
    }
    out.soa(&soa);
    Some(out.finish())
}

/// A transfer's messages as they fill.
struct Transfer<'q, 'a> {
    q: &'q Query<'a>,
    zone: &'q Zone,
    messages: Vec<Vec<u8>>,
    current: Response,
}

impl Transfer<'_, '_> {
    fn room(&mut self) {
        if self.current.bytes.len() > TRANSFER_MESSAGE {
            let full = std::mem::replace(&mut self.current, Response::to(self.q, rcode::NOERROR));
            self.messages.push(full.finish());
        }
    }

    fn soa(&mut self, rdata: &[u8]) {
        self.room();
        self.current.record(Section::Answer, &self.zone.name_wire, rtype::SOA, self.zone.ttl, rdata);
    }

    fn trigger(&mut self, name: &[u8]) {
        if name.len() + self.zone.name_wire.len() > wire::MAX_NAME {
            return;
        }
        self.room();
        let owner = [name, &self.zone.name_wire].concat();
        self.current.record(Section::Answer, &owner, rtype::CNAME, self.zone.ttl, &[0]);
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        self.messages.push(self.current.finish());
        self.messages
    }
}

/// The answer to a DNSBL question, once its address's `code` is looked up.
fn answer(q: &Query<'_>, zone: &Zone, index: &Index, asked: Asked, code: Option<Code>) -> Vec<u8> {
    let Some(code) = code else {
        let mut r = Response::to(q, rcode::NXDOMAIN);
        r.record(Section::Authority, &zone.name_wire, rtype::SOA, zone.ttl, &zone.soa(index.serial));
        return finish(r, q);
    };
    let mut r = Response::to(q, rcode::NOERROR);
    let wants = |t: u16| q.qtype == t || q.qtype == rtype::ANY;
    if wants(rtype::A) {
        r.record(Section::Answer, &QNAME_POINTER, rtype::A, zone.ttl, &[127, 0, 0, code]);
    }
    if wants(rtype::TXT) {
        let what = category(code).map_or("test point", |c| c.as_str());
        let address = match asked {
            Asked::V4(a) => std::net::Ipv4Addr::from(a).to_string(),
            Asked::V6(a) => std::net::Ipv6Addr::from(a).to_string(),
            _ => String::new(),
        };
        let text = format!("listed by Dragnet: {what}; {}", zone.lookup_url.replace("{}", &address));
        r.record(Section::Answer, &QNAME_POINTER, rtype::TXT, zone.ttl, &wire::txt(&text));
    }
    if !wants(rtype::A) && !wants(rtype::TXT) {
        r.record(Section::Authority, &zone.name_wire, rtype::SOA, zone.ttl, &zone.soa(index.serial));
    }
    finish(r, q)
}

fn apex(q: &Query<'_>, zone: &Zone, index: &Index) -> Vec<u8> {
    let serial = zone.serial(index);
    let mut r = Response::to(q, rcode::NOERROR);
    // A transfer asked over UDP gets the SOA alone: "ask me over TCP" (RFC 1995 §2).
    let transfer = q.qtype == rtype::IXFR || q.qtype == rtype::AXFR;
    let wants = |t: u16| q.qtype == t || q.qtype == rtype::ANY || (transfer && t == rtype::SOA);
    if wants(rtype::SOA) {
        r.record(Section::Answer, &QNAME_POINTER, rtype::SOA, zone.ttl, &zone.soa(serial));
    }
    if wants(rtype::NS) {
        r.record(Section::Answer, &QNAME_POINTER, rtype::NS, zone.ttl, &zone.ns_wire);
    }
    if !wants(rtype::SOA) && !wants(rtype::NS) {
        r.record(Section::Authority, &QNAME_POINTER, rtype::SOA, zone.ttl, &zone.soa(serial));
    }
    finish(r, q)
}

fn finish(mut r: Response, q: &Query<'_>) -> Vec<u8> {
    if q.edns.is_some() {
        r.opt();
    }
    r.finish()
}

#[cfg(test)]
mod tests;
