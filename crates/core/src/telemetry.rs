//! Telemetry records: what sensors (Zeek, Suricata, NetFlow) report about
//! connections, reduced to the fields the detectors use.

use std::net::IpAddr;

/// One connection as a sensor logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conn {
    /// Start time, Unix seconds with sub-second precision.
    pub ts: f64,
    /// The sensor's connection id (Zeek `uid`), for evidence.
    pub uid: String,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub proto: String,
    /// Seconds; 0 when the sensor did not record it.
    pub duration: f64,
    /// Bytes the originator sent at the IP layer (Zeek `orig_ip_bytes`).
    pub orig_ip_bytes: u64,
    pub resp_ip_bytes: u64,
    /// Zeek's `conn_state` (`SF`, `S0`, `REJ`, …); empty when unknown.
    pub state: String,
}

impl Conn {
    /// Whether the handshake completed (Zeek states S1–S3, SF, RSTO, RSTR).
    /// Connections with an unknown state count as established.
    pub fn established(&self) -> bool {
        !matches!(self.state.as_str(), "S0" | "REJ" | "SH" | "SHR" | "RSTOS0" | "RSTRH" | "OTH")
    }
}

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
