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
    /// Data records whose template has not been seen yet (they are dropped, as
    /// every collector must until the exporter sends the template).
    pub without_template: usize,
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
    enterprise: bool,
}

/// Template cache for many exporters.
#[derive(Debug, Default)]
pub struct Decoder {
    templates: HashMap<(String, u32, u16), Vec<Field>>,
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
            if set_len == 0 && p[at..end].iter().all(|b| *b == 0) {
                // Zero padding after the last flowset (seen from Palo Alto and Cisco ACI).
                break;
            }
            sets += 1;
            if set_len < 4 || at + set_len > end {
                return Err(NetflowError::Malformed { what: "flowset length", offset: at + 2 });
            }
            let body = &p[at + 4..at + set_len];
            let key = |id: u16| (exporter.to_string(), domain, id);
            match (version, set_id) {
                (9, 0) | (10, 2) => out.templates += self.read_templates(body, version, false, &key, at + 4)?,
                (9, 1) | (10, 3) => out.templates += self.read_templates(body, version, true, &key, at + 4)?,
                (_, id) if id >= 256 => match self.templates.get(&key(id)) {
                    Some(fields) => read_records(body, fields, uptime_ms, export, &mut out.flows),
                    None => out.without_template += 1,
                },
                _ => {}
            }
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
        key: &dyn Fn(u16) -> (String, u32, u16),
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
            if field_count == 0 {
                // A template withdrawal.
                self.templates.remove(&key(id));
                continue;
            }
            for _ in 0..field_count {
                let raw_id = be16(body, at).ok_or(malformed("template field", at))?;
                let len = be16(body, at + 2).ok_or(malformed("template field length", at))?;
                at += 4;
                let enterprise = version == 10 && raw_id & 0x8000 != 0;
                if enterprise {
                    be32(body, at).ok_or(malformed("enterprise number", at))?;
                    at += 4;
                }
                fields.push(Field { id: raw_id & 0x7fff, len, enterprise });
            }
            self.templates.insert(key(id), fields);
            count += 1;
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
    for i in 0..count {
        let r = &p[24 + i * 48..24 + (i + 1) * 48];
        let ip = |at: usize| IpAddr::V4(Ipv4Addr::new(r[at], r[at + 1], r[at + 2], r[at + 3]));
        out.flows.push(Flow {
            src: ip(0),
            dst: ip(4),
            packets: u64::from(be32(r, 16).unwrap_or(0)),
            bytes: u64::from(be32(r, 20).unwrap_or(0)),
            start: Some(at_uptime(be32(r, 24).unwrap_or(0))),
            end: Some(at_uptime(be32(r, 28).unwrap_or(0))),
            src_port: be16(r, 32).unwrap_or(0),
            dst_port: be16(r, 34).unwrap_or(0),
            tcp_flags: r[37],
            protocol: r[38],
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
            if f.enterprise {
                continue;
            }
            let uptime = |ms: u64| uptime_ms.map(|u| export - (f64::from(u) - ms as f64) / 1000.0);
            match (f.id, len) {
                (1 | 85, _) => flow.bytes = uint(v),
                (2 | 86, _) => flow.packets = uint(v),
                (4, 1) => flow.protocol = v[0],
                (6, _) => flow.tcp_flags = uint(v) as u8,
                (7, 2) => flow.src_port = uint(v) as u16,
                (11, 2) => flow.dst_port = uint(v) as u16,
                (8, 4) => {
                    flow.src = IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]));
                    has_address = true;
                }
                (12, 4) => flow.dst = IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
                (27, 16) => {
                    flow.src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).unwrap_or_default()));
                    has_address = true;
                }
                (28, 16) => flow.dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).unwrap_or_default())),
                (22, 4) => flow.start = uptime(uint(v)).or(flow.start),
                (21, 4) => flow.end = uptime(uint(v)).or(flow.end),
                (150, 4) => flow.start = Some(uint(v) as f64),
                (151, 4) => flow.end = Some(uint(v) as f64),
                (152, 8) => flow.start = Some(uint(v) as f64 / 1000.0),
                (153, 8) => flow.end = Some(uint(v) as f64 / 1000.0),
                _ => {}
            }
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
