//! Which connections the detectors look at: RITA's import filter. Internal
//! networks are the sensor owner's clients; only internal → external
//! connections are kept (optionally external → internal too), and
//! link-local, multicast, loopback and unspecified addresses never are.

use std::net::IpAddr;

use dragnet_core::observable::ip_key;
use dragnet_core::telemetry::Conn;
use dragnet_core::{Kind, Observable};

/// A set of networks, matched by address range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Networks(Vec<([u8; 16], [u8; 16])>);

impl Networks {
    /// Parses CIDRs or addresses, e.g. `["10.0.0.0/8", "fd00::/8"]`.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Networks, String> {
        list.iter()
            .map(|s| {
                let s = s.as_ref().trim();
                let obs = if s.contains('/') { Observable::parse(Kind::Cidr, s) } else { Observable::guess(s) };
                obs.ok().and_then(|o| o.ip_range()).ok_or_else(|| format!("`{s}` is not a network or address"))
            })
            .collect::<Result<_, _>>()
            .map(Networks)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let k = ip_key(ip);
        self.0.iter().any(|(lo, hi)| *lo <= k && k <= *hi)
    }
}

/// RITA's default internal networks: RFC 1918 and IPv6 unique-local.
pub const DEFAULT_INTERNAL: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"];

/// Addresses no detector ever considers (RITA's mandatory exclusions).
pub const NEVER_INCLUDED: &[&str] = &[
    "0.0.0.0/32",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "224.0.0.0/4",
    "255.255.255.255/32",
    "::1/128",
    "::/128",
    "fe80::/10",
    "ff00::/8",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub internal: Networks,
    pub never: Networks,
    /// Keep external → internal connections as well (RITA's
    /// `filter_external_to_internal: false`).
    pub keep_external_to_internal: bool,
}

impl Default for Filter {
    fn default() -> Self {
        Filter::with_internal(DEFAULT_INTERNAL).expect("the default networks parse")
    }
}

impl Filter {
    pub fn with_internal<S: AsRef<str>>(internal: &[S]) -> Result<Filter, String> {
        Ok(Filter {
            internal: Networks::parse(internal)?,
            never: Networks::parse(NEVER_INCLUDED)?,
            keep_external_to_internal: false,
        })
    }

    pub fn keeps(&self, c: &Conn) -> bool {
        if self.never.contains(c.src) || self.never.contains(c.dst) {
            return false;
        }
        match (self.internal.contains(c.src), self.internal.contains(c.dst)) {
            (true, false) => true,
            (false, true) => self.keep_external_to_internal,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(src: &str, dst: &str) -> Conn {
        Conn {
            ts: 0.0,
            uid: Default::default(),
            src: src.parse().unwrap(),
            src_port: 1,
            dst: dst.parse().unwrap(),
            dst_port: 2,
            proto: "tcp".into(),
            duration: 0.0,
            orig_ip_bytes: 0,
            resp_ip_bytes: 0,
            state: "SF".into(),
        }
    }

    #[test]
    fn keeps_internal_to_external_only_by_default() {
        let f = Filter::default();
        assert!(f.keeps(&conn("10.0.0.5", "198.51.100.1")));
        assert!(!f.keeps(&conn("198.51.100.1", "10.0.0.5")));
        assert!(!f.keeps(&conn("10.0.0.5", "10.0.0.6")));
        assert!(!f.keeps(&conn("198.51.100.1", "203.0.113.1")));
        assert!(!f.keeps(&conn("10.0.0.5", "224.0.0.251")));
        assert!(!f.keeps(&conn("fd00::1", "fe80::1")));
        let both = Filter { keep_external_to_internal: true, ..Filter::default() };
        assert!(both.keeps(&conn("198.51.100.1", "10.0.0.5")));
        assert!(Networks::parse(&["nonsense"]).is_err());
    }
}
