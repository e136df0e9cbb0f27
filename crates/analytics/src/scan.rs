//! Scans, as Slips finds them: in each hour, one source that tried more
//! than five ports of one host without completing a handshake (vertical), or
//! one port on more than five hosts (horizontal).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use dragnet_core::telemetry::Conn;
use serde::Serialize;

use crate::filter::Filter;

/// Slips' defaults (`time_window_width`, the "more than 5" thresholds).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanConfig {
    pub window_seconds: i64,
    /// A scan needs more than this many distinct ports (vertical) or hosts (horizontal).
    pub threshold: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig { window_seconds: 3600, threshold: 5 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanKind {
    Vertical,
    Horizontal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scan {
    pub kind: ScanKind,
    pub src: IpAddr,
    /// The host scanned (vertical).
    pub dst: Option<IpAddr>,
    /// The port scanned (horizontal).
    pub port: Option<u16>,
    /// Distinct ports (vertical) or hosts (horizontal) tried without a handshake.
    pub targets: usize,
    pub attempts: usize,
    pub window_start: i64,
    pub sample_uids: Vec<String>,
}

#[derive(Default)]
struct Tally<'a> {
    targets: BTreeSet<String>,
    attempts: usize,
    uids: Vec<&'a str>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, target: String, uid: &'a str) {
        self.targets.insert(target);
        self.attempts += 1;
        if self.uids.len() < 5 {
            self.uids.push(uid);
        }
    }
}

/// Every vertical and horizontal scan among unestablished connections,
/// most targets first. Only the never-included addresses are filtered out:
/// scanners are usually outside, their targets inside.
pub fn scans(conns: &[Conn], filter: &Filter, cfg: &ScanConfig) -> Vec<Scan> {
    let mut vertical: HashMap<(i64, IpAddr, IpAddr), Tally<'_>> = HashMap::new();
    let mut horizontal: HashMap<(i64, IpAddr, u16), Tally<'_>> = HashMap::new();
    for c in conns.iter().filter(|c| !c.established()) {
        if filter.never.contains(c.src) || filter.never.contains(c.dst) {
            continue;
        }
        let w = (c.ts.trunc() as i64).div_euclid(cfg.window_seconds) * cfg.window_seconds;
        vertical.entry((w, c.src, c.dst)).or_default().add(c.dst_port.to_string(), &c.uid);
        horizontal.entry((w, c.src, c.dst_port)).or_default().add(c.dst.to_string(), &c.uid);
    }
    let found = |t: &Tally<'_>| t.targets.len() > cfg.threshold;
    let mut out: Vec<Scan> = vertical
        .into_iter()
        .filter(|(_, t)| found(t))
        .map(|((w, src, dst), t)| scan(ScanKind::Vertical, src, Some(dst), None, w, t))
        .chain(
            horizontal
                .into_iter()
                .filter(|(_, t)| found(t))
                .map(|((w, src, port), t)| scan(ScanKind::Horizontal, src, None, Some(port), w, t)),
        )
        .collect();
    out.sort_by(|a, b| b.targets.cmp(&a.targets).then(a.window_start.cmp(&b.window_start)).then(a.kind.cmp(&b.kind)));
    out
}

fn scan(kind: ScanKind, src: IpAddr, dst: Option<IpAddr>, port: Option<u16>, w: i64, t: Tally<'_>) -> Scan {
    Scan {
        kind,
        src,
        dst,
        port,
        targets: t.targets.len(),
        attempts: t.attempts,
        window_start: w,
        sample_uids: t.uids.into_iter().map(str::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(dst: &str, port: u16, state: &str) -> Conn {
        Conn {
            ts: 1000.0,
            uid: "C".into(),
            src: "203.0.113.9".parse().unwrap(),
            src_port: 40000,
            dst: dst.parse().unwrap(),
            dst_port: port,
            proto: "tcp".into(),
            duration: 0.0,
            orig_ip_bytes: 40,
            resp_ip_bytes: 0,
            state: state.into(),
        }
    }

    #[test]
    fn finds_vertical_and_horizontal_scans_above_five() {
        let mut conns: Vec<Conn> = (1..=6).map(|p| conn("10.0.0.1", p, "S0")).collect();
        conns.extend((1..=5).map(|h| conn(&format!("10.0.0.{}", h + 10), 22, "REJ")));
        conns.extend((1..=9).map(|h| conn(&format!("10.0.1.{h}"), 443, "SF")));
        let found = scans(&conns, &Filter::default(), &ScanConfig::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].kind, found[0].targets, found[0].dst), (ScanKind::Vertical, 6, "10.0.0.1".parse().ok()));
    }
}
