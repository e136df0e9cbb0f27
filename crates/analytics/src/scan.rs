//! Scans, as Slips finds them: in each hour, one source that tried more
//! than five ports of one host without completing a handshake (vertical), or
//! one port on more than five hosts (horizontal).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use dragnet_core::telemetry::{Conn, Uid};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
    /// Most distinct ports (vertical) or hosts (horizontal) tried without a
    /// handshake within one window.
    pub targets: usize,
    /// Unestablished connections in the windows where the scan was seen.
    pub attempts: usize,
    /// Start of the first and end of the last window the scan was seen in.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Windows (hours by default) the scan was seen in.
    pub windows: usize,
    pub sample_uids: Vec<String>,
}

#[derive(Default)]
struct Tally {
    targets: BTreeSet<String>,
    attempts: usize,
    uids: Vec<Uid>,
}

impl Tally {
    fn add(&mut self, target: String, uid: &Uid) {
        self.targets.insert(target);
        self.attempts += 1;
        if self.uids.len() < 5 {
            self.uids.push(uid.clone());
        }
    }
}

/// Every vertical and horizontal scan among unestablished connections,
/// most targets first. Only the never-included addresses are filtered out:
/// scanners are usually outside, their targets inside.
pub fn scans(conns: &[Conn], filter: &Filter, cfg: &ScanConfig) -> Vec<Scan> {
    let mut found = Scans::new(filter, cfg);
    conns.iter().for_each(|c| found.add(c));
    found.finish()
}

/// Scans found one connection at a time, in the order they were read,
/// then [`Scans::finish`]: memory holds a tally per window and target, not
/// the connections.
pub struct Scans<'a> {
    filter: &'a Filter,
    cfg: &'a ScanConfig,
    vertical: HashMap<(i64, IpAddr, IpAddr), Tally>,
    horizontal: HashMap<(i64, IpAddr, u16), Tally>,
}

impl<'a> Scans<'a> {
    pub fn new(filter: &'a Filter, cfg: &'a ScanConfig) -> Self {
        Scans { filter, cfg, vertical: HashMap::new(), horizontal: HashMap::new() }
    }

    pub fn add(&mut self, c: &Conn) {
        if c.established() || self.filter.never.contains(c.src) || self.filter.never.contains(c.dst) {
            return;
        }
        let w = (c.ts.trunc() as i64).div_euclid(self.cfg.window_seconds) * self.cfg.window_seconds;
        self.vertical.entry((w, c.src, c.dst)).or_default().add(c.dst_port.to_string(), &c.uid);
        self.horizontal.entry((w, c.src, c.dst_port)).or_default().add(c.dst.to_string(), &c.uid);
    }

    pub fn finish(self) -> Vec<Scan> {
        let cfg = self.cfg;
        // Detected per window, reported once per scanner and target across windows.
        let mut merged: HashMap<(ScanKind, IpAddr, Option<IpAddr>, Option<u16>), Scan> = HashMap::new();
        let mut found: Vec<_> = self
            .vertical
            .into_iter()
            .map(|((w, src, dst), t)| (ScanKind::Vertical, src, Some(dst), None, w, t))
            .chain(
                self.horizontal
                    .into_iter()
                    .map(|((w, src, port), t)| (ScanKind::Horizontal, src, None, Some(port), w, t)),
            )
            .filter(|(.., t)| t.targets.len() > cfg.threshold)
            .collect();
        // In time order, so the evidence (the first window's connections) is the
        // same on every run.
        found.sort_by_key(|(kind, src, dst, port, w, _)| (*w, *kind, *src, *dst, *port));
        for (kind, src, dst, port, w, t) in found {
            let end = w + cfg.window_seconds - 1;
            let scan = merged.entry((kind, src, dst, port)).or_insert_with(|| Scan {
                kind,
                src,
                dst,
                port,
                targets: 0,
                attempts: 0,
                first_seen: w,
                last_seen: end,
                windows: 0,
                sample_uids: t.uids.iter().map(|u| u.to_string()).collect(),
            });
            scan.targets = scan.targets.max(t.targets.len());
            scan.attempts += t.attempts;
            scan.first_seen = scan.first_seen.min(w);
            scan.last_seen = scan.last_seen.max(end);
            scan.windows += 1;
        }
        let mut out: Vec<Scan> = merged.into_values().collect();
        out.sort_by(|a, b| b.targets.cmp(&a.targets).then(a.first_seen.cmp(&b.first_seen)).then(a.kind.cmp(&b.kind)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(dst: &str, port: u16, state: &'static str) -> Conn {
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
