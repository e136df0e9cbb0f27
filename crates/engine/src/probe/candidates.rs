//! Candidate addresses to probe: one address or network per line, `#`
//! comments. A list comes from outside (a provider's ranges, a scanner's
//! export), so it is read line by line with the line named in an error,
//! and a network is expanded only within a bound.

use std::net::IpAddr;

use crate::{Error, Result};

/// The most addresses one list may expand to (a /16 of IPv4).
pub const MAX_CANDIDATES: usize = 65_536;

/// The addresses `text` lists, in order, each once; `origin` names it in errors.
pub fn parse_candidates(origin: &str, text: &str) -> Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: String| Error::invalid(format!("{origin}:{}: `{line}`: {why}", n + 1));
        let (first, count) = network(line).map_err(bad)?;
        if out.len() as u128 + count > MAX_CANDIDATES as u128 {
            return Err(bad(format!("more than {MAX_CANDIDATES} candidate addresses")));
        }
        for i in 0..count {
            let ip = match first {
                IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) + i as u32).into()),
                IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) + i).into()),
            };
            if seen.insert(ip) {
                out.push(ip);
            }
        }
    }
    Ok(out)
}

/// The first address of `text` (an address or a network) and how many it holds.
fn network(text: &str) -> std::result::Result<(IpAddr, u128), String> {
    let (address, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let ip: IpAddr = address.parse().map_err(|_| "not an IP address or network".to_string())?;
    let bits: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let Some(prefix) = prefix else { return Ok((ip, 1)) };
    let prefix: u32 = prefix.parse().ok().filter(|p| *p <= bits).ok_or_else(|| format!("prefix must be 0–{bits}"))?;
    let host_bits = bits - prefix;
    if host_bits > 16 {
        return Err(format!("a /{prefix} holds more than {MAX_CANDIDATES} addresses"));
    }
    let first = match ip {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & !((1u32 << host_bits) - 1)).into()),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << host_bits) - 1)).into()),
    };
    Ok((first, 1u128 << host_bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn addresses_and_networks_are_expanded_once_each() {
        let text = "# the provider's ranges\n45.10.1.7\n45.10.2.0/30  # a small block\n\n45.10.2.1\n2001:db8::/127\n";
        assert_eq!(
            parse_candidates("c.txt", text).unwrap(),
            ips(&["45.10.1.7", "45.10.2.0", "45.10.2.1", "45.10.2.2", "45.10.2.3", "2001:db8::", "2001:db8::1"])
        );
        // A network given by an inner address starts at its first.
        assert_eq!(parse_candidates("c.txt", "45.10.2.3/31").unwrap(), ips(&["45.10.2.2", "45.10.2.3"]));
    }

    #[test]
    fn bad_lines_are_named_and_large_lists_refused() {
        let err = |text: &str| parse_candidates("c.txt", text).unwrap_err().to_string();
        assert!(err("45.10.1.1\nsrv.example\n").contains("c.txt:2: `srv.example`"), "{}", err("x\nsrv.example"));
        assert!(err("45.10.1.0/33").contains("prefix must be 0–32"));
        assert!(err("2001:db8::/64").contains("more than 65536"));
        assert!(err("10.0.0.0/8").contains("more than 65536"));
        assert!(err("45.10.0.0/16\n45.11.0.0/31").contains("c.txt:2"));
        assert!(err("Ünïcødé/24").contains("not an IP address"));
        assert_eq!(parse_candidates("c.txt", "45.10.0.0/16").unwrap().len(), MAX_CANDIDATES);
    }
}
