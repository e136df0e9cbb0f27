//! NetFlow v5, v9 and IPFIX export packets. Pure: a [`Decoder`] keeps the
//! templates each exporter announced (per exporter, observation domain and
//! template id) and turns packets into flows; malformed or truncated
//! packets are errors, never panics.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dragnet_core::telemetry::{CONN_STATES, Conn, PROTOCOLS, intern};

/// One flow record, with the fields the detectors use.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub protocol: u8,
    pub packets: u64,
    pub bytes: u64,
    /// Unix seconds, when the exporter said.
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub tcp_flags: u8,
}

impl Flow {
    /// The flow as a connection record; `uid` names it for evidence.
    pub fn to_conn(&self, uid: String, export_time: f64) -> Conn {
        let start = self.start.unwrap_or(export_time);
        let proto = match self.protocol {
            6 => "tcp",
            17 => "udp",
            1 | 58 => "icmp",
            _ => "unknown_transport",
        };
        // A TCP flow whose flags never went past SYN did not complete a handshake.
        let state = if self.protocol == 6 && self.tcp_flags & 0x10 == 0 { "S0" } else { "SF" };
        Conn {
            ts: start,
            uid: uid.into(),
            src: self.src,
            src_port: self.src_port,
            dst: self.dst,
            dst_port: self.dst_port,
            proto: intern(proto, PROTOCOLS),
            duration: (self.end.unwrap_or(start) - start).max(0.0),
            orig_ip_bytes: self.bytes,
            resp_ip_bytes: 0,
            state: intern(state, CONN_STATES),
        }
    }
}

/// What a packet held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub version: u16,
    pub export_time: f64,
    pub flows: Vec<Flow>,
    pub templates: usize,
    /// Data sets whose template has not been seen yet. Their records cannot
    /// be read (as with every collector until the exporter sends the
    /// template), so they are counted here for the caller to report.
    pub without_template: usize,
    /// Templates not stored because the cache was full (see [`Limits`]).
    pub templates_refused: usize,
}

/// Bounds on the template cache. Templates arrive over UDP from addresses
/// anyone can spoof, so without bounds a stream of invented exporters or
/// template ids would grow the cache until memory runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Exporters (address and observation domain) whose templates are kept.
    pub max_exporters: usize,
    /// Templates kept per exporter.
    pub max_templates_per_exporter: usize,
    /// Template fields kept in all (12 bytes each): what bounds the memory,
    /// since one template may have up to [`MAX_TEMPLATE_FIELDS`].
    pub max_fields: usize,
}

/// Fields one template may have: real ones have a few dozen. More is
/// refused as malformed, so a data record's decoding stays short.
pub const MAX_TEMPLATE_FIELDS: usize = 512;

impl Default for Limits {
    /// Far above real deployments (a router exports a few dozen templates
    /// of a few dozen fields); the cache holds at most about 12 MB of fields.
    fn default() -> Self {
        Limits { max_exporters: 1024, max_templates_per_exporter: 256, max_fields: 1 << 20 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetflowError {
    #[error("packet too short: {0}")]
    Truncated(&'static str),
    #[error("not a NetFlow v5, v9 or IPFIX packet (version {0})")]
    Version(u16),
    #[error("malformed {what} at byte {offset}")]
    Malformed { what: &'static str, offset: usize },
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    id: u16,
    len: u16,
    /// The private enterprise number of an enterprise-specific field.
    enterprise: Option<u32>,
}

/// Template cache for many exporters, bounded by [`Limits`]: once full, new
/// exporters and templates are refused (and counted) while those already
/// known keep being updated, so a flood of spoofed ones cannot evict them.
#[derive(Debug, Default)]
pub struct Decoder {
    templates: HashMap<(String, u32), HashMap<u16, Vec<Field>>>,
    limits: Limits,
    refused: usize,
    /// Fields held in `templates`, against `limits.max_fields`.
    fields: usize,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn uint(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    pub fn with_limits(limits: Limits) -> Decoder {
        Decoder { limits, ..Decoder::default() }
    }

    /// Templates refused so far because the cache was full.
    pub fn templates_refused(&self) -> usize {
        self.refused
    }

    fn template(&self, exporter: &str, domain: u32, id: u16) -> Option<&Vec<Field>> {
        self.templates.get(&(exporter.to_string(), domain))?.get(&id)
    }

    /// Stores a template unless that would pass the limits; false if refused.
    fn store(&mut self, exporter: &str, domain: u32, id: u16, fields: Vec<Field>) -> bool {
        let key = (exporter.to_string(), domain);
        let known = self.templates.contains_key(&key);
        if !known && self.templates.len() >= self.limits.max_exporters {
            self.refused += 1;
            return false;
        }
        let replaced = self.templates.get(&key).and_then(|t| t.get(&id)).map_or(0, Vec::len);
        if self.fields - replaced + fields.len() > self.limits.max_fields {
            self.refused += 1;
            return false;
        }
        let templates = self.templates.entry(key).or_default();
        if !templates.contains_key(&id) && templates.len() >= self.limits.max_templates_per_exporter {
            self.refused += 1;
            return false;
        }
        self.fields = self.fields - replaced + fields.len();
        templates.insert(id, fields);
        true
    }

    fn withdraw(&mut self, exporter: &str, domain: u32, id: u16) {
        let key = (exporter.to_string(), domain);
        if let Some(templates) = self.templates.get_mut(&key) {
            if let Some(fields) = templates.remove(&id) {
                self.fields -= fields.len();
            }
            if templates.is_empty() {
                self.templates.remove(&key);
            }
        }
    }

    /// Decodes one export packet from `exporter` (any stable name: its
    /// address, or a file's name).
    pub fn decode(&mut self, exporter: &str, packet: &[u8]) -> Result<Decoded, NetflowError> {
        match be16(packet, 0).ok_or(NetflowError::Truncated("no version"))? {
            5 => decode_v5(packet),
            9 => self.decode_sets(exporter, packet, 9),
            10 => self.decode_sets(exporter, packet, 10),
            v => Err(NetflowError::Version(v)),
        }
    }

    fn decode_sets(&mut self, exporter: &str, p: &[u8], version: u16) -> Result<Decoded, NetflowError> {
        let (header, domain, uptime_ms, export) = if version == 9 {
            if p.len() < 20 {
                return Err(NetflowError::Truncated("NetFlow v9 header is 20 bytes"));
            }
            (20, be32(p, 16).unwrap_or(0), be32(p, 4), f64::from(be32(p, 8).unwrap_or(0)))
        } else {
            if p.len() < 16 {
                return Err(NetflowError::Truncated("IPFIX header is 16 bytes"));
            }
            let len = usize::from(be16(p, 2).unwrap_or(0));
            if len > p.len() || len < 16 {
                return Err(NetflowError::Malformed { what: "IPFIX message length", offset: 2 });
            }
            (16, be32(p, 12).unwrap_or(0), None, f64::from(be32(p, 4).unwrap_or(0)))
        };
        let end = if version == 10 { usize::from(be16(p, 2).unwrap_or(0)) } else { p.len() };
        let mut out = Decoded { version, export_time: export, ..Default::default() };
        let mut at = header;
        let mut sets = 0;
        while at + 4 <= end {
            let set_id = be16(p, at).unwrap_or(0);
            let set_len = usize::from(be16(p, at + 2).unwrap_or(0));
            if set_len == 0 && p.get(at..end).is_some_and(|rest| rest.iter().all(|b| *b == 0)) {
                // Zero padding after the last flowset (seen from Palo Alto and Cisco ACI).
                break;
            }
            sets += 1;
            let body = match p.get(at + 4..at + set_len) {
                Some(body) if set_len >= 4 && at + set_len <= end => body,
                _ => return Err(NetflowError::Malformed { what: "flowset length", offset: at + 2 }),
            };
            let refused_before = self.refused;
            match (version, set_id) {
                (9, 0) | (10, 2) => {
                    out.templates += self.read_templates(body, version, false, exporter, domain, at + 4)?
                }
                (9, 1) | (10, 3) => {
                    out.templates += self.read_templates(body, version, true, exporter, domain, at + 4)?
                }
                (_, id) if id >= 256 => match self.template(exporter, domain, id) {
                    Some(fields) => read_records(body, fields, uptime_ms, export, &mut out.flows),
                    None => out.without_template += 1,
                },
                _ => {}
            }
            out.templates_refused += self.refused - refused_before;
            at += set_len;
        }
        // Every flowset holds at least one record, so a v9 header that counts
        // fewer records than there are flowsets describes another packet.
        let count = usize::from(be16(p, 2).unwrap_or(0));
        if version == 9 && sets > count {
            return Err(NetflowError::Malformed {
                what: "NetFlow v9 record count (fewer records than flowsets)",
                offset: 2,
            });
        }
        Ok(out)
    }

    fn read_templates(
        &mut self,
        body: &[u8],
        version: u16,
        options: bool,
        exporter: &str,
        domain: u32,
        base: usize,
    ) -> Result<usize, NetflowError> {
        let malformed = |what, at: usize| NetflowError::Malformed { what, offset: base + at };
        let mut at = 0;
        let mut count = 0;
        while at + 4 <= body.len() {
            let id = be16(body, at).ok_or(malformed("template id", at))?;
            if id < 256 {
                // Padding at the end of the set.
                break;
            }
            let mut fields = Vec::new();
            let field_count;
            if options && version == 9 {
                let scope_len = usize::from(be16(body, at + 2).ok_or(malformed("option scope length", at))?);
                let option_len = usize::from(be16(body, at + 4).ok_or(malformed("option length", at))?);
                field_count = (scope_len + option_len) / 4;
                at += 6;
            } else {
                field_count = usize::from(be16(body, at + 2).ok_or(malformed("field count", at))?);
                at += if options { 6 } else { 4 };
            }
            if field_count > MAX_TEMPLATE_FIELDS {
                return Err(malformed("template with more fields than any exporter sends", at));
            }
            if field_count == 0 {
                // A template withdrawal.
                self.withdraw(exporter, domain, id);
                continue;
            }
            for _ in 0..field_count {
                let raw_id = be16(body, at).ok_or(malformed("template field", at))?;
                let len = be16(body, at + 2).ok_or(malformed("template field length", at))?;
                at += 4;
                let mut enterprise = None;
                if version == 10 && raw_id & 0x8000 != 0 {
                    enterprise = Some(be32(body, at).ok_or(malformed("enterprise number", at))?);
                    at += 4;
                }
                // Exporters do send fields of length 0 (Juniper SRX): they
                // carry nothing, and keeping them would let a template of
                // thousands of them cost that many steps per byte of data.
                if len != 0 {
                    fields.push(Field { id: raw_id & 0x7fff, len, enterprise });
                }
            }
            count += usize::from(self.store(exporter, domain, id, fields));
        }
        Ok(count)
    }
}

fn decode_v5(p: &[u8]) -> Result<Decoded, NetflowError> {
    if p.len() < 24 {
        return Err(NetflowError::Truncated("NetFlow v5 header is 24 bytes"));
    }
    let count = usize::from(be16(p, 2).unwrap_or(0));
    if count == 0 || count > 30 || p.len() < 24 + count * 48 {
        return Err(NetflowError::Malformed { what: "NetFlow v5 record count", offset: 2 });
    }
    let uptime = f64::from(be32(p, 4).unwrap_or(0));
    let secs = f64::from(be32(p, 8).unwrap_or(0)) + f64::from(be32(p, 12).unwrap_or(0)) / 1e9;
    let at_uptime = |ms: u32| secs - (uptime - f64::from(ms)) / 1000.0;
    let mut out = Decoded { version: 5, export_time: secs, ..Default::default() };
    for r in p.get(24..24 + count * 48).unwrap_or_default().chunks_exact(48) {
        let ip = |at: usize| IpAddr::V4(Ipv4Addr::from(be32(r, at).unwrap_or(0)));
        let byte = |at: usize| r.get(at).copied().unwrap_or(0);
        out.flows.push(Flow {
            src: ip(0),
            dst: ip(4),
            packets: u64::from(be32(r, 16).unwrap_or(0)),
            bytes: u64::from(be32(r, 20).unwrap_or(0)),
            start: Some(at_uptime(be32(r, 24).unwrap_or(0))),
            end: Some(at_uptime(be32(r, 28).unwrap_or(0))),
            src_port: be16(r, 32).unwrap_or(0),
            dst_port: be16(r, 34).unwrap_or(0),
            tcp_flags: byte(37),
            protocol: byte(38),
        });
    }
    Ok(out)
}

fn read_records(body: &[u8], fields: &[Field], uptime_ms: Option<u32>, export: f64, flows: &mut Vec<Flow>) {
    let fixed: Option<usize> = fields.iter().map(|f| (f.len != 0xffff).then_some(usize::from(f.len))).sum();
    let mut at = 0;
    loop {
        if fixed.is_some_and(|n| n == 0 || at + n > body.len()) || at >= body.len() {
            return;
        }
        let mut flow = Flow {
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            src_port: 0,
            dst_port: 0,
            protocol: 0,
            packets: 0,
            bytes: 0,
            start: None,
            end: None,
            tcp_flags: 0,
        };
        let mut has_address = false;
        // Cisco AVC's connection endpoints, used where the standard fields are absent.
        let mut client: Option<IpAddr> = None;
        let mut server: Option<IpAddr> = None;
        let (mut client_port, mut server_port) = (None, None);
        let (mut has_dst, mut has_src_port, mut has_dst_port) = (false, false, false);
        for f in fields {
            let mut len = usize::from(f.len);
            if f.len == 0xffff {
                // IPFIX variable length: one byte, or 255 and two more.
                let Some(&first) = body.get(at) else { return };
                at += 1;
                len = usize::from(first);
                if first == 255 {
                    let Some(l) = be16(body, at) else { return };
                    at += 2;
                    len = usize::from(l);
                }
            }
            let Some(v) = body.get(at..at + len) else { return };
            at += len;
            let v4 = || IpAddr::V4(Ipv4Addr::from(be32(v, 0).unwrap_or(0)));
            let v6 = || IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).unwrap_or_default()));
            match f.enterprise {
                None => {}
                // Cisco (enterprise 9) AVC fields, as CESNET's libfds (the
                // element registry of ipfixcol2, config/system/elements/
                // cisco.xml) and the netflow_parser crate (0.5.8) list them:
                // 12236 clientIPv4Address, 12237 serverIPv4Address, 12238
                // clientIPv6Address, 12239 serverIPv6Address, 12240
                // clientTransportPort, 12241 serverTransportPort. The client
                // opened the connection, so it is the source.
                Some(9) => match (f.id, len) {
                    (12236, 4) => client = Some(v4()),
                    (12237, 4) => server = Some(v4()),
                    (12238, 16) => client = Some(v6()),
                    (12239, 16) => server = Some(v6()),
                    (12240, 2) => client_port = Some(uint(v) as u16),
                    (12241, 2) => server_port = Some(uint(v) as u16),
                    _ => {}
                },
                Some(_) => continue,
            }
            if f.enterprise.is_some() {
                continue;
            }
            let uptime = |ms: u64| uptime_ms.map(|u| export - (f64::from(u) - ms as f64) / 1000.0);
            match (f.id, len) {
                (1 | 85, _) => flow.bytes = uint(v),
                (2 | 86, _) => flow.packets = uint(v),
                (4, 1) => flow.protocol = uint(v) as u8,
                (6, _) => flow.tcp_flags = uint(v) as u8,
                (7, 2) => {
                    flow.src_port = uint(v) as u16;
                    has_src_port = true;
                }
                (11, 2) => {
                    flow.dst_port = uint(v) as u16;
                    has_dst_port = true;
                }
                (8, 4) | (27, 16) => {
                    flow.src = if len == 4 { v4() } else { v6() };
                    has_address = true;
                }
                (12, 4) | (28, 16) => {
                    flow.dst = if len == 4 { v4() } else { v6() };
                    has_dst = true;
                }
                (22, 4) => flow.start = uptime(uint(v)).or(flow.start),
                (21, 4) => flow.end = uptime(uint(v)).or(flow.end),
                (150, 4) => flow.start = Some(uint(v) as f64),
                (151, 4) => flow.end = Some(uint(v) as f64),
                (152, 8) => flow.start = Some(uint(v) as f64 / 1000.0),
                (153, 8) => flow.end = Some(uint(v) as f64 / 1000.0),
                _ => {}
            }
        }
        // The standard fields win where both are present; the client and
        // server stand in only for what is missing.
        if !has_address && let Some(c) = client {
            flow.src = c;
            has_address = true;
        }
        if !has_dst && let Some(s) = server {
            flow.dst = s;
        }
        if !has_src_port && let Some(p) = client_port {
            flow.src_port = p;
        }
        if !has_dst_port && let Some(p) = server_port {
            flow.dst_port = p;
        }
        if has_address {
            flows.push(flow);
        }
        if fixed.is_none() && at >= body.len() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPFIX message (domain 1) holding `sets`, each `(set id, body)`.
    fn ipfix(sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (id, set) in sets {
            body.extend(id.to_be_bytes());
            body.extend((set.len() as u16 + 4).to_be_bytes());
            body.extend(set);
        }
        let mut p = vec![0, 10];
        p.extend((body.len() as u16 + 16).to_be_bytes());
        p.extend(1_700_000_000u32.to_be_bytes());
        p.extend(1u32.to_be_bytes());
        p.extend(1u32.to_be_bytes());
        p.extend(body);
        p
    }

    /// A template record: `(id, length, enterprise)` per field.
    fn template(id: u16, fields: &[(u16, u16, Option<u32>)]) -> Vec<u8> {
        let mut t = id.to_be_bytes().to_vec();
        t.extend((fields.len() as u16).to_be_bytes());
        for &(field, len, enterprise) in fields {
            t.extend((field | if enterprise.is_some() { 0x8000 } else { 0 }).to_be_bytes());
            t.extend(len.to_be_bytes());
            t.extend(enterprise.map(u32::to_be_bytes).into_iter().flatten());
        }
        t
    }

    const CISCO: Option<u32> = Some(9);

    #[test]
    fn cisco_avc_client_and_server_fields_give_the_endpoints() {
        let fields = [(12236, 4, CISCO), (12237, 4, CISCO), (12240, 2, CISCO), (12241, 2, CISCO), (4, 1, None)];
        let mut record = vec![10, 0, 0, 5, 198, 51, 100, 7];
        record.extend(51000u16.to_be_bytes());
        record.extend(443u16.to_be_bytes());
        record.push(6);
        let mut d = Decoder::new();
        let out = d.decode("r1", &ipfix(&[(2, template(300, &fields)), (300, record.clone())])).unwrap();
        let f = &out.flows[0];
        assert_eq!(
            (f.src.to_string(), f.dst.to_string(), f.src_port, f.dst_port, f.protocol),
            ("10.0.0.5".into(), "198.51.100.7".into(), 51000, 443, 6)
        );
        // Another enterprise's fields with the same ids are not Cisco's.
        let other = fields.map(|(id, len, e)| (id, len, e.map(|_| 29305)));
        let out = d.decode("r2", &ipfix(&[(2, template(300, &other)), (300, record)])).unwrap();
        assert!(out.flows.is_empty(), "{:?}", out.flows);
    }

    #[test]
    fn standard_fields_win_over_cisco_ones() {
        let fields = [(8, 4, None), (12236, 4, CISCO), (12237, 16, None), (12237, 4, CISCO)];
        let record = vec![192, 0, 2, 1, 10, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 198, 51, 100, 7];
        let out = Decoder::new().decode("r", &ipfix(&[(2, template(256, &fields)), (256, record)])).unwrap();
        assert_eq!(
            (out.flows[0].src.to_string(), out.flows[0].dst.to_string()),
            ("192.0.2.1".into(), "198.51.100.7".into())
        );
    }

    #[test]
    fn data_sets_before_their_template_are_counted() {
        let mut d = Decoder::new();
        let data = (400, vec![10, 0, 0, 1]);
        let out = d.decode("r", &ipfix(&[data.clone(), data.clone()])).unwrap();
        assert_eq!((out.without_template, out.flows.len()), (2, 0));
        let out = d.decode("r", &ipfix(&[(2, template(400, &[(8, 4, None)])), data])).unwrap();
        assert_eq!((out.without_template, out.flows.len()), (0, 1));
    }

    #[test]
    fn the_template_cache_is_bounded_and_keeps_what_it_knows() {
        let limits = Limits { max_exporters: 2, max_templates_per_exporter: 3, max_fields: 1 << 20 };
        let mut d = Decoder::with_limits(limits);
        let t = |id| (2, template(id, &[(8, 4, None)]));
        let out = d.decode("a", &ipfix(&[t(256), t(257), t(258), t(259)])).unwrap();
        assert_eq!((out.templates, out.templates_refused), (3, 1));
        assert_eq!(d.decode("b", &ipfix(&[t(256)])).unwrap().templates, 1);
        let out = d.decode("spoofed", &ipfix(&[t(256)])).unwrap();
        assert_eq!((out.templates, out.templates_refused), (0, 1));
        // Known templates are still updated, and still decode.
        assert_eq!(d.decode("a", &ipfix(&[t(258)])).unwrap().templates, 1);
        let out = d.decode("a", &ipfix(&[(258, vec![10, 0, 0, 1])])).unwrap();
        assert_eq!(out.flows.len(), 1);
        assert_eq!(d.templates_refused(), 2);
        for i in 0..10_000u32 {
            let _ = d.decode(&format!("flood{i}"), &ipfix(&[t(256 + (i % 1000) as u16)]));
        }
        assert!(d.templates.len() <= 2 && d.templates.values().all(|t| t.len() <= 3));
    }

    #[test]
    fn templates_that_would_make_decoding_or_the_cache_unbounded_are_refused() {
        let mut d = Decoder::new();
        let zero = d.decode("r", &ipfix(&[(2, template(256, &[(8, 4, None), (9, 0, None)]))])).unwrap();
        assert_eq!(zero.templates, 1);
        assert_eq!(d.template("r", 1, 256).map(Vec::len), Some(1), "a field of length 0 is not kept");
        let wide: Vec<(u16, u16, Option<u32>)> =
            (0..=MAX_TEMPLATE_FIELDS as u16).map(|i| (i % 100 + 1, 1, None)).collect();
        assert!(d.decode("r", &ipfix(&[(2, template(256, &wide))])).is_err());
        // The total of fields held is bounded, whatever the exporters.
        let mut d = Decoder::with_limits(Limits { max_fields: 10, ..Limits::default() });
        let four = [(8, 4, None), (12, 4, None), (7, 2, None), (11, 2, None)];
        let out = d.decode("a", &ipfix(&[(2, template(256, &four)), (2, template(257, &four))])).unwrap();
        assert_eq!((out.templates, out.templates_refused), (2, 0));
        let out = d.decode("b", &ipfix(&[(2, template(256, &four))])).unwrap();
        assert_eq!((out.templates, out.templates_refused), (0, 1), "8 + 4 fields > 10");
        // Replacing a template counts only the difference; withdrawing frees its fields.
        assert_eq!(d.decode("a", &ipfix(&[(2, template(256, &four[..2]))])).unwrap().templates, 1);
        assert_eq!(d.decode("b", &ipfix(&[(2, template(256, &four))])).unwrap().templates, 1);
        assert_eq!(d.fields, 10);
    }

    #[test]
    fn never_panics_on_prefixes_or_garbage() {
        let mut d = Decoder::new();
        let v9 = [0u8, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 12, 1, 0, 0, 1, 0, 8, 0, 4];
        for n in 0..v9.len() {
            let _ = d.decode("x", &v9[..n]);
        }
        assert!(matches!(d.decode("x", &[0, 7, 1, 2]), Err(NetflowError::Version(7))));
        assert!(d.decode("x", &[0, 5, 0, 1]).is_err());
    }
}
