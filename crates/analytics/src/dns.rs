//! DNS detectors: tunnels (many unique names under one registrable domain,
//! RITA's "C2 over DNS") and NXDOMAIN bursts (a host asking for names that
//! do not exist, as DGA malware does; Slips' rule).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use dragnet_core::telemetry::DnsQuery;
use serde::Serialize;

use crate::filter::Filter;

#[derive(Debug, Clone, PartialEq)]
pub struct DnsConfig {
    /// RITA's base threshold of unique subdomains per registrable domain.
    pub tunnel_unique_names: usize,
    /// Slips' NXDOMAIN answers per host per window.
    pub nxdomain_threshold: usize,
    pub nxdomain_window_seconds: i64,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig { tunnel_unique_names: 100, nxdomain_threshold: 10, nxdomain_window_seconds: 3600 }
    }
}

/// The registrable domain (eTLD+1) of a name, by the public suffix list.
pub fn registrable_domain(name: &str) -> Option<&str> {
    psl::domain_str(name)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tunnel {
    pub domain: String,
    pub unique_names: usize,
    pub queries: usize,
    /// Up to five hosts that asked, in address order.
    pub sources: Vec<IpAddr>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub sample_names: Vec<String>,
}

/// Registrable domains with at least the threshold of unique names below
/// them, most first. Reverse-lookup (`.arpa`) and `.local` names are left out.
pub fn tunnels(queries: &[DnsQuery], filter: &Filter, cfg: &DnsConfig) -> Vec<Tunnel> {
    #[derive(Default)]
    struct Acc<'a> {
        names: BTreeSet<&'a str>,
        queries: usize,
        sources: BTreeSet<IpAddr>,
        first: i64,
        last: i64,
    }
    let mut by_domain: HashMap<&str, Acc<'_>> = HashMap::new();
    for q in queries {
        if q.query.ends_with(".arpa") || q.query.ends_with(".local") || filter.never.contains(q.src) {
            continue;
        }
        let Some(domain) = registrable_domain(&q.query) else { continue };
        let t = q.ts.trunc() as i64;
        let acc = by_domain.entry(domain).or_insert_with(|| Acc { first: t, last: t, ..Default::default() });
        acc.names.insert(&q.query);
        acc.queries += 1;
        acc.sources.insert(q.src);
        acc.first = acc.first.min(t);
        acc.last = acc.last.max(t);
    }
    let mut out: Vec<Tunnel> = by_domain
        .into_iter()
        .filter(|(_, a)| a.names.len() >= cfg.tunnel_unique_names)
        .map(|(domain, a)| Tunnel {
            domain: domain.to_string(),
            unique_names: a.names.len(),
            queries: a.queries,
            sources: a.sources.into_iter().take(5).collect(),
            first_seen: a.first,
            last_seen: a.last,
            sample_names: a.names.into_iter().take(5).map(str::to_string).collect(),
        })
        .collect();
    out.sort_by(|a, b| b.unique_names.cmp(&a.unique_names).then_with(|| a.domain.cmp(&b.domain)));
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NxdomainBurst {
    pub src: IpAddr,
    /// NXDOMAIN answers in the windows where the burst was seen.
    pub nxdomains: usize,
    pub windows: usize,
    pub first_seen: i64,
    pub last_seen: i64,
    pub sample_names: Vec<String>,
}

/// Hosts with at least the threshold of NXDOMAIN answers in a window,
/// merged across windows.
pub fn nxdomain_bursts(queries: &[DnsQuery], filter: &Filter, cfg: &DnsConfig) -> Vec<NxdomainBurst> {
    let mut per_window: HashMap<(IpAddr, i64), Vec<&str>> = HashMap::new();
    for q in queries.iter().filter(|q| q.rcode == "NXDOMAIN" && !filter.never.contains(q.src)) {
        let w = (q.ts.trunc() as i64).div_euclid(cfg.nxdomain_window_seconds) * cfg.nxdomain_window_seconds;
        per_window.entry((q.src, w)).or_default().push(&q.query);
    }
    let mut hits: Vec<_> = per_window.into_iter().filter(|(_, names)| names.len() >= cfg.nxdomain_threshold).collect();
    hits.sort_by_key(|((src, w), _)| (*w, *src));
    let mut merged: HashMap<IpAddr, NxdomainBurst> = HashMap::new();
    for ((src, w), names) in hits {
        let end = w + cfg.nxdomain_window_seconds - 1;
        let b = merged.entry(src).or_insert_with(|| NxdomainBurst {
            src,
            nxdomains: 0,
            windows: 0,
            first_seen: w,
            last_seen: end,
            sample_names: names.iter().take(5).map(|n| n.to_string()).collect(),
        });
        b.nxdomains += names.len();
        b.windows += 1;
        b.last_seen = b.last_seen.max(end);
    }
    let mut out: Vec<NxdomainBurst> = merged.into_values().collect();
    out.sort_by(|a, b| b.nxdomains.cmp(&a.nxdomains).then(a.src.cmp(&b.src)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(ts: f64, src: &str, name: &str, rcode: &'static str) -> DnsQuery {
        DnsQuery { ts, uid: String::new(), src: src.parse().unwrap(), query: name.into(), rcode: rcode.into() }
    }

    #[test]
    fn tunnels_count_unique_names_per_registrable_domain() {
        let mut qs: Vec<DnsQuery> =
            (0..120).map(|i| q(f64::from(i), "10.0.0.5", &format!("{i:08x}.dnsc.tunnel.co.uk"), "NOERROR")).collect();
        qs.extend((0..50).map(|i| q(f64::from(i), "10.0.0.6", &format!("h{i}.example.com"), "NOERROR")));
        qs.extend((0..150).map(|i| q(f64::from(i), "10.0.0.6", &format!("{i}.in-addr.arpa"), "NOERROR")));
        let found = tunnels(&qs, &Filter::default(), &DnsConfig::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].domain.as_str(), found[0].unique_names), ("tunnel.co.uk", 120));
        assert_eq!(registrable_domain("a.b.example.co.uk"), Some("example.co.uk"));
    }

    #[test]
    fn nxdomain_bursts_need_ten_in_an_hour() {
        let mut qs: Vec<DnsQuery> =
            (0..12).map(|i| q(f64::from(i) * 60.0, "10.0.0.7", &format!("x{i}qzv.example"), "NXDOMAIN")).collect();
        qs.extend((0..9).map(|i| q(f64::from(i), "10.0.0.8", &format!("y{i}.example"), "NXDOMAIN")));
        qs.extend((0..30).map(|i| q(f64::from(i), "10.0.0.9", &format!("ok{i}.example"), "NOERROR")));
        let found = nxdomain_bursts(&qs, &Filter::default(), &DnsConfig::default());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].src.to_string(), found[0].nxdomains), ("10.0.0.7".to_string(), 12));
    }
}
