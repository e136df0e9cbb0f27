//! The DNS message format (RFC 1035), as much as a DNSBL needs: a query's
//! header, its one question and an EDNS OPT record (RFC 6891) read; a
//! response written with the question echoed and its name compressed.

/// Record types and classes used here.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const OPT: u16 = 41;
    pub const IXFR: u16 = 251;
    pub const AXFR: u16 = 252;
    pub const ANY: u16 = 255;
}

pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
}

pub const CLASS_IN: u16 = 1;
pub const CLASS_ANY: u16 = 255;
/// The largest name on the wire (RFC 1035 §2.3.4).
pub const MAX_NAME: usize = 255;

/// A parsed query: what a response needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<'a> {
    pub id: u16,
    /// The opcode (0: QUERY, 4: NOTIFY).
    pub opcode: u8,
    /// Recursion desired: echoed.
    pub rd: bool,
    /// The question's name as lower-case labels, in order.
    pub labels: Vec<&'a [u8]>,
    /// The question's name as it came, wire encoded (echoed in the response).
    pub qname_wire: &'a [u8],
    pub qtype: u16,
    pub qclass: u16,
    /// The requester's EDNS UDP payload size, if it sent an OPT record.
    pub edns: Option<u16>,
    /// The serial an IXFR requester holds (the SOA in its authority section).
    pub known_serial: Option<u32>,
}

/// Why a message cannot be answered as a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Too short even for a header: nothing to answer with.
    NoHeader,
    /// A response, not a query: never answered (no loops).
    NotAQuery,
    /// A header, but the rest is not one well-formed question.
    Bad { id: u16, opcode: u8 },
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// Reads a query. Names in the question are plain labels (a query has
/// nothing to point back to), at most 255 bytes.
pub fn parse(data: &[u8]) -> Result<Query<'_>, Malformed> {
    let id = u16_at(data, 0).ok_or(Malformed::NoHeader)?;
    let flags = u16_at(data, 2).ok_or(Malformed::NoHeader)?;
    let (qd, an, ns, ar) = match (u16_at(data, 4), u16_at(data, 6), u16_at(data, 8), u16_at(data, 10)) {
        (Some(qd), Some(an), Some(ns), Some(ar)) => (qd, an, ns, ar),
        _ => return Err(Malformed::NoHeader),
    };
    if flags & 0x8000 != 0 {
        return Err(Malformed::NotAQuery);
    }
    let opcode = ((flags >> 11) & 0xf) as u8;
    let bad = Malformed::Bad { id, opcode };
    // An IXFR request carries the SOA the requester has in its authority section.
    if qd != 1 || an != 0 || ns > 1 {
        return Err(bad);
    }
    let mut at = 12;
    // A DNSBL name has six or more labels: no regrowing for most.
    let mut labels = Vec::with_capacity(8);
    loop {
        let len = usize::from(*data.get(at).ok_or(bad)?);
        if len == 0 {
            at += 1;
            break;
        }
        // A pointer (0xC0) or an extended label type: not in a question.
        if len > 63 {
            return Err(bad);
        }
        let label = data.get(at + 1..at + 1 + len).ok_or(bad)?;
        labels.push(label);
        at += 1 + len;
        if at - 12 > MAX_NAME {
            return Err(bad);
        }
    }
    let qname_wire = data.get(12..at).ok_or(bad)?;
    let qtype = u16_at(data, at).ok_or(bad)?;
    let qclass = u16_at(data, at + 2).ok_or(bad)?;
    at += 4;
    let mut known_serial = None;
    for _ in 0..ns {
        let after_name = skip_name(data, at).ok_or(bad)?;
        let rdlen = usize::from(u16_at(data, after_name + 8).ok_or(bad)?);
        if u16_at(data, after_name) == Some(rtype::SOA) {
            // MNAME, RNAME, then the serial.
            let rdata = after_name + 10;
            let serial_at = skip_name(data, skip_name(data, rdata).ok_or(bad)?).ok_or(bad)?;
            let serial = data.get(serial_at..serial_at + 4).ok_or(bad)?;
            known_serial = Some(u32::from_be_bytes(<[u8; 4]>::try_from(serial).map_err(|_| bad)?));
        }
        at = after_name + 10 + rdlen;
        if at > data.len() {
            return Err(bad);
        }
    }
    let mut edns = None;
    for _ in 0..ar {
        // An additional record: only the OPT pseudo-record is read.
        let (name_len, is_root) = match data.get(at) {
            Some(0) => (1, true),
            Some(_) => (skip_name(data, at).ok_or(bad)? - at, false),
            None => return Err(bad),
        };
        let rtype = u16_at(data, at + name_len).ok_or(bad)?;
        let class = u16_at(data, at + name_len + 2).ok_or(bad)?;
        let rdlen = usize::from(u16_at(data, at + name_len + 8).ok_or(bad)?);
        if rtype == rtype::OPT {
            if !is_root || edns.is_some() {
                return Err(bad);
            }
            edns = Some(class.max(512));
        }
        at += name_len + 10 + rdlen;
        if at > data.len() {
            return Err(bad);
        }
    }
    Ok(Query { id, opcode, rd: flags & 0x0100 != 0, labels, qname_wire, qtype, qclass, edns, known_serial })
}

/// The offset after a (possibly compressed) name starting at `at`.
fn skip_name(data: &[u8], mut at: usize) -> Option<usize> {
    for _ in 0..128 {
        let len = *data.get(at)?;
        match len {
            0 => return Some(at + 1),
            1..=63 => at += 1 + usize::from(len),
            0xc0..=0xff => return (at + 2 <= data.len()).then_some(at + 2),
            _ => return None,
        }
    }
    None
}

/// Writes a response: header, the question echoed, then records added
/// with [`Response::record`].
pub struct Response {
    pub bytes: Vec<u8>,
    answers: u16,
    authority: u16,
    additional: u16,
    section: Section,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

/// Where the question's name sits in every response: a pointer to it.
pub const QNAME_POINTER: [u8; 2] = [0xc0, 12];

impl Response {
    /// A response to `q` with `rcode`, authoritative.
    pub fn to(q: &Query<'_>, rcode: u8) -> Response {
        let mut bytes = Vec::with_capacity(128 + q.qname_wire.len());
        bytes.extend_from_slice(&q.id.to_be_bytes());
        // QR, the opcode, AA, RD as asked; RA never (not a resolver).
        let rd: u16 = if q.rd { 0x0100 } else { 0 };
        let flags: u16 = 0x8000 | (u16::from(q.opcode) << 11) | 0x0400 | rd | u16::from(rcode);
        bytes.extend_from_slice(&flags.to_be_bytes());
        bytes.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(q.qname_wire);
        bytes.extend_from_slice(&q.qtype.to_be_bytes());
        bytes.extend_from_slice(&q.qclass.to_be_bytes());
        Response { bytes, answers: 0, authority: 0, additional: 0, section: Section::Answer }
    }

    /// A bare error for a message that had a header but no usable question.
    pub fn error(id: u16, opcode: u8, rcode: u8) -> Vec<u8> {
        let flags: u16 = 0x8000 | (u16::from(opcode & 0xf) << 11) | u16::from(rcode);
        let mut bytes = id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&flags.to_be_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes
    }

    /// Appends a record in `section` (sections in order) with `owner`
    /// already wire encoded (often [`QNAME_POINTER`]).
    pub fn record(&mut self, section: Section, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) {
        debug_assert!(section >= self.section, "sections are written in order");
        self.section = section;
        self.bytes.extend_from_slice(owner);
        self.bytes.extend_from_slice(&rtype.to_be_bytes());
        self.bytes.extend_from_slice(&CLASS_IN.to_be_bytes());
        self.bytes.extend_from_slice(&ttl.to_be_bytes());
        // Callers write records far below 64 KiB.
        self.bytes.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(u16::MAX).to_be_bytes());
        self.bytes.extend_from_slice(rdata);
        match section {
            Section::Answer => self.answers += 1,
            Section::Authority => self.authority += 1,
            Section::Additional => self.additional += 1,
        }
    }

    /// The EDNS OPT record (payload size 1232, no options).
    pub fn opt(&mut self) {
        self.section = Section::Additional;
        self.bytes.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        self.additional += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        let counts = [self.answers, self.authority, self.additional];
        for (i, n) in counts.iter().enumerate() {
            let at = 6 + 2 * i;
            if let Some(field) = self.bytes.get_mut(at..at + 2) {
                field.copy_from_slice(&n.to_be_bytes());
            }
        }
        self.bytes
    }
}

/// A message of one question for `name` (wire encoded) of type `qtype`,
/// class IN, as a client or a primary sends it: `flags` are the header's
/// second two bytes (0x0100 a query asking for recursion, 0x2400 a NOTIFY).
pub fn question(id: u16, flags: u16, name: &[u8], qtype: u16) -> Vec<u8> {
    let mut message = Vec::with_capacity(16 + name.len());
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&flags.to_be_bytes());
    message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    message.extend_from_slice(name);
    message.extend_from_slice(&qtype.to_be_bytes());
    message.extend_from_slice(&CLASS_IN.to_be_bytes());
    message
}

/// A name as wire labels: `example.org` → `7example3org0`. Labels over 63
/// bytes or names over 255 are refused.
pub fn encode_name(name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        let len = u8::try_from(label.len()).ok().filter(|l| *l <= 63)?;
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    (out.len() <= MAX_NAME).then_some(out)
}

/// TXT rdata: the text in strings of at most 255 bytes.
pub fn txt(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    for chunk in text.as_bytes().chunks(255) {
        out.push(u8::try_from(chunk.len()).unwrap_or(255));
        out.extend_from_slice(chunk);
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}
