//! Telemetry records: what sensors (Zeek, Suricata, NetFlow) report about
//! connections, reduced to the fields the detectors use.

use std::borrow::Cow;
use std::net::IpAddr;

/// A sensor's connection id (Zeek `uid`, Suricata `flow_id`, a capture
/// position), kept inline when short, as they nearly all are: reading a
/// log then allocates nothing per connection for it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Uid {
    Inline(u8, [u8; 22]),
    Heap(Box<str>),
}

impl Uid {
    pub fn new(text: &str) -> Uid {
        let bytes = text.as_bytes();
        if bytes.len() <= 22 {
            let mut inline = [0u8; 22];
            inline.iter_mut().zip(bytes).for_each(|(to, from)| *to = *from);
            Uid::Inline(bytes.len() as u8, inline)
        } else {
            Uid::Heap(text.into())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Built from a whole `&str`, so the bytes are valid UTF-8.
            Uid::Inline(len, bytes) => {
                bytes.get(..usize::from(*len)).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default()
            }
            Uid::Heap(s) => s,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl Default for Uid {
    fn default() -> Self {
        Uid::Inline(0, [0; 22])
    }
}

impl From<&str> for Uid {
    fn from(text: &str) -> Uid {
        Uid::new(text)
    }
}

impl From<String> for Uid {
    fn from(text: String) -> Uid {
        Uid::new(&text)
    }
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl serde::Serialize for Uid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One connection as a sensor logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conn {
    /// Start time, Unix seconds with sub-second precision.
    pub ts: f64,
    /// The sensor's connection id (Zeek `uid`), for evidence.
    pub uid: Uid,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    /// `tcp`, `udp`, `icmp`, … (the common values are not allocated).
    pub proto: Cow<'static, str>,
    /// Seconds; 0 when the sensor did not record it.
    pub duration: f64,
    /// Bytes the originator sent at the IP layer (Zeek `orig_ip_bytes`).
    pub orig_ip_bytes: u64,
    pub resp_ip_bytes: u64,
    /// Zeek's `conn_state` (`SF`, `S0`, `REJ`, …); empty when unknown.
    pub state: Cow<'static, str>,
}

impl Conn {
    /// Whether the handshake completed (Zeek states S1–S3, SF, RSTO, RSTR).
    /// Connections with an unknown state count as established.
    pub fn established(&self) -> bool {
        !matches!(&*self.state, "S0" | "REJ" | "SH" | "SHR" | "RSTOS0" | "RSTRH" | "OTH")
    }
}

/// `value` as a static string when it is one of `known`, else owned: sensor
/// fields with a handful of values cost no allocation per record.
pub fn intern(value: &str, known: &[&'static str]) -> Cow<'static, str> {
    // Byte by byte: these values are a few bytes long, shorter than a memcmp call.
    let same = |k: &&'static str| k.len() == value.len() && k.bytes().zip(value.bytes()).all(|(a, b)| a == b);
    match known.iter().copied().find(same) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(value.to_string()),
    }
}

/// Transport protocols as sensors name them.
pub const PROTOCOLS: &[&str] = &["tcp", "udp", "icmp", "unknown_transport"];

/// Zeek's connection states.
pub const CONN_STATES: &[&str] =
    &["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"];

/// A server name a client asked for on one connection: TLS SNI from
/// ssl.log or the HTTP Host (including proxy `CONNECT` targets) from http.log.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedConn {
    pub ts: f64,
    pub uid: String,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub dst_port: u16,
    /// Lower-case host name, without port.
    pub name: String,
    /// An HTTP `CONNECT` through a proxy.
    pub proxied: bool,
}

/// One DNS query as a sensor logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsQuery {
    pub ts: f64,
    pub uid: String,
    pub src: IpAddr,
    /// Lower-case name without the trailing dot.
    pub query: String,
    /// `NOERROR`, `NXDOMAIN`, … (empty when no answer was seen).
    pub rcode: Cow<'static, str>,
}

/// DNS response codes by name.
pub const RCODES: &[&str] = &["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP"];

/// A signature alert from an IDS (Suricata EVE `alert`).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub ts: f64,
    pub flow_id: String,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub signature: String,
    /// The rule's classtype text, e.g. `A Network Trojan was detected`.
    pub category: String,
    /// 1 (high) to 4 (low).
    pub severity: u8,
}
