//! Connections gathered into pairs and scored, one connection at a time,
//! so that a reader can feed them as it parses and memory holds the pairs
//! (a few bytes per connection), never the connections.
//!
//! Scoring needs the window before it places a connection, and the window
//! ends at the last kept connection: the connections go past twice, first
//! through [`WindowOf`], then through [`Beacons`]. [`analyze`] does both over
//! a slice.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use dragnet_core::telemetry::{Conn, NamedConn, Uid};
use serde::Serialize;

use super::{Beacon, Config, Window, scores};
use crate::filter::Filter;

/// The window RITA uses: from 24 h before the last kept connection (or the
/// first kept connection, if later) to the last one.
pub fn window<'a>(conns: impl IntoIterator<Item = &'a Conn>, cfg: &Config) -> Option<Window> {
    let mut w = WindowOf::default();
    conns.into_iter().for_each(|c| w.add(c));
    w.window(cfg)
}

/// The window, found one connection at a time.
#[derive(Debug, Clone, Copy)]
pub struct WindowOf {
    lo: i64,
    hi: i64,
}

impl Default for WindowOf {
    fn default() -> Self {
        WindowOf { lo: i64::MAX, hi: i64::MIN }
    }
}

impl WindowOf {
    pub fn add(&mut self, c: &Conn) {
        let t = c.ts.trunc() as i64;
        self.lo = self.lo.min(t);
        self.hi = self.hi.max(t);
    }

    pub fn window(&self, cfg: &Config) -> Option<Window> {
        (self.lo <= self.hi).then(|| Window { min: self.lo.max(self.hi - cfg.window_seconds), max: self.hi })
    }
}

/// Which connections beacon scoring keeps: those the filter keeps, and
/// those to a proxy (seen as the target of an HTTP `CONNECT`).
pub struct Kept<'f> {
    filter: &'f Filter,
    proxies: HashSet<(IpAddr, u16)>,
}

impl<'f> Kept<'f> {
    pub fn new(names: &[NamedConn], filter: &'f Filter) -> Self {
        Kept { filter, proxies: names.iter().filter(|n| n.proxied).map(|n| (n.dst, n.dst_port)).collect() }
    }

    pub fn keeps(&self, c: &Conn) -> bool {
        self.filter.keeps(c) || self.proxies.contains(&(c.dst, c.dst_port))
    }
}

/// What a connection adds to a pair besides its time.
#[derive(Debug, Clone, Copy)]
struct Traffic {
    orig_ip_bytes: u64,
    resp_ip_bytes: u64,
    duration: f64,
}

impl Traffic {
    fn of(c: &Conn) -> Traffic {
        Traffic { orig_ip_bytes: c.orig_ip_bytes, resp_ip_bytes: c.resp_ip_bytes, duration: c.duration }
    }
}

/// One pair's connections in the window, kept compact: a few bytes per
/// connection, since a day of a large network holds millions of pairs.
#[derive(Default)]
struct Pair {
    /// Seconds since the start of the window's first hour.
    ts: Vec<u32>,
    /// Originator bytes per connection (saturating at 4 GiB).
    bytes: Vec<u32>,
    total_bytes: u64,
    duration: f64,
    /// The first few connection ids, for evidence.
    samples: Vec<Uid>,
    /// The names (by index) seen on this pair's connections: if one of them
    /// is scored, the pair is not scored again by IP.
    named: Vec<u32>,
}

/// Connection ids kept per pair as evidence.
const SAMPLES: usize = 5;

impl Pair {
    fn add(&mut self, offset: u32, traffic: Option<Traffic>, uid: &str) {
        self.ts.push(offset);
        self.bytes.push(traffic.map_or(0, |t| u32::try_from(t.orig_ip_bytes).unwrap_or(u32::MAX)));
        self.total_bytes += traffic.map_or(0, |t| t.orig_ip_bytes + t.resp_ip_bytes);
        self.duration += traffic.map_or(0.0, |t| t.duration);
        if self.samples.len() < SAMPLES && !uid.is_empty() {
            self.samples.push(Uid::new(uid));
        }
    }

    /// The pair's times as Unix seconds, sorted.
    fn times(&self, from: i64) -> Vec<i64> {
        let mut ts: Vec<i64> = self.ts.iter().map(|&t| from + i64::from(t)).collect();
        ts.sort_unstable();
        ts
    }
}

/// Beacons found in one dataset, by destination IP and by server name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub window: Option<Window>,
    /// (source IP, destination IP) pairs, leaving out connections already
    /// scored under a server name.
    pub ip: Vec<Beacon>,
    /// (source IP, server name) pairs from TLS SNI, HTTP Host and proxy `CONNECT`s.
    pub fqdn: Vec<Beacon>,
    /// IP pairs with so many connections they are not beacons (RITA strobes).
    pub strobes: Vec<PairSummary>,
    /// IP pairs whose connections add up to a long time (RITA long connections).
    pub long_connections: Vec<PairSummary>,
}

impl Report {
    /// Nothing found (no connection was kept, so there is no window).
    pub fn empty(window: Option<Window>) -> Report {
        Report { window, ip: Vec::new(), fqdn: Vec::new(), strobes: Vec::new(), long_connections: Vec::new() }
    }
}

/// An IP pair's totals in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairSummary {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub count: usize,
    /// Seconds, summed over the pair's connections.
    pub total_duration: f64,
    pub total_bytes: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub sample_uids: Vec<String>,
}

impl PairSummary {
    fn of(src: IpAddr, dst: IpAddr, p: &Pair, from: i64) -> PairSummary {
        PairSummary {
            src,
            dst,
            count: p.ts.len(),
            total_duration: p.duration,
            total_bytes: p.total_bytes,
            first_seen: from + i64::from(p.ts.iter().copied().min().unwrap_or_default()),
            last_seen: from + i64::from(p.ts.iter().copied().max().unwrap_or_default()),
            sample_uids: p.samples.iter().map(|u| u.to_string()).collect(),
        }
    }
}

/// Scores every pair the filter keeps, like RITA: connections to a proxy
/// (seen as the target of an HTTP `CONNECT`) are kept too, names are scored
/// per (source, name) on the connections they were seen on, and an IP pair
/// that shares a connection with a scored name pair is not scored again.
pub fn analyze(conns: &[Conn], names: &[NamedConn], filter: &Filter, cfg: &Config) -> Report {
    let kept = Kept::new(names, filter);
    let Some(win) = window(conns.iter().filter(|c| kept.keeps(c)), cfg) else { return Report::empty(None) };
    let mut beacons = Beacons::new(names, filter, cfg, win);
    conns.iter().for_each(|c| beacons.add(c));
    beacons.finish()
}

/// Scores every (source IP, destination IP) pair the filter keeps; sorted by
/// score, highest first.
pub fn ip_beacons(conns: &[Conn], filter: &Filter, cfg: &Config) -> (Option<Window>, Vec<Beacon>) {
    let report = analyze(conns, &[], filter, cfg);
    (report.window, report.ip)
}

/// Beacon scoring in its second pass: every connection, kept or not, in
/// the order they were read, then [`Beacons::finish`].
pub struct Beacons<'n> {
    names: &'n [NamedConn],
    filter: &'n Filter,
    kept: Kept<'n>,
    cfg: &'n Config,
    win: Window,
    /// RITA selects rows by hour: everything from the start of the hour
    /// the window begins in, so a pair's list may start a little before it.
    from: i64,
    /// The names (by index) seen on each connection id.
    by_uid: HashMap<&'n str, Vec<u32>>,
    /// Each name's connection: the last one read with its id.
    matched: Vec<Option<(f64, Traffic)>>,
    pairs: HashMap<(IpAddr, IpAddr), Pair>,
}

impl<'n> Beacons<'n> {
    /// `win` is what [`WindowOf`] found over the connections [`Kept`] keeps.
    pub fn new(names: &'n [NamedConn], filter: &'n Filter, cfg: &'n Config, win: Window) -> Self {
        let mut by_uid: HashMap<&str, Vec<u32>> = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            by_uid.entry(n.uid.as_str()).or_default().push(u32::try_from(i).unwrap_or(u32::MAX));
        }
        Beacons {
            names,
            filter,
            kept: Kept::new(names, filter),
            cfg,
            win,
            from: win.min.div_euclid(3600) * 3600,
            by_uid,
            matched: vec![None; names.len()],
            pairs: HashMap::new(),
        }
    }

    fn in_window(&self, t: i64) -> bool {
        t >= self.from && t <= self.win.max
    }

    fn offset(&self, t: i64) -> u32 {
        u32::try_from(t - self.from).unwrap_or(u32::MAX)
    }

    pub fn add(&mut self, c: &Conn) {
        let named = self.by_uid.get(c.uid.as_str());
        for &i in named.into_iter().flatten() {
            if let Some(slot) = self.matched.get_mut(i as usize) {
                *slot = Some((c.ts, Traffic::of(c)));
            }
        }
        let t = c.ts.trunc() as i64;
        if !self.kept.keeps(c) || !self.in_window(t) {
            return;
        }
        let offset = self.offset(t);
        let pair = self.pairs.entry((c.src, c.dst)).or_default();
        pair.add(offset, Some(Traffic::of(c)), c.uid.as_str());
        if !c.uid.as_str().is_empty() {
            pair.named.extend(named.into_iter().flatten());
        }
    }

    pub fn finish(self) -> Report {
        let (names, filter, cfg, win, from) = (self.names, self.filter, self.cfg, self.win, self.from);
        let mut named: HashMap<(IpAddr, &str), Pair> = HashMap::new();
        let mut seen: HashSet<(IpAddr, &str, &str)> = HashSet::new();
        let mut named_uids: Vec<(IpAddr, &str, &str)> = Vec::new();
        for (n, conn) in names.iter().zip(&self.matched) {
            let src_ok =
                !filter.never.contains(n.src) && (filter.internal.contains(n.src) || filter.keep_external_to_internal);
            if !src_ok || (!n.uid.is_empty() && !seen.insert((n.src, n.name.as_str(), n.uid.as_str()))) {
                continue;
            }
            let t = conn.map_or(n.ts, |(ts, _)| ts).trunc() as i64;
            if self.in_window(t) {
                let offset = self.offset(t);
                named.entry((n.src, n.name.as_str())).or_default().add(offset, conn.map(|(_, t)| t), &n.uid);
                named_uids.push((n.src, n.name.as_str(), n.uid.as_str()));
            }
        }
        let fqdn = score_all(named.into_iter().map(|((src, name), p)| (src, name.to_string(), p)), from, win, cfg);
        // The connections of every name pair that was scored are not scored again by IP.
        let scored: HashSet<(IpAddr, &str)> = fqdn.iter().map(|b| (b.src, b.dst.as_str())).collect();
        let claimed: HashSet<&str> = named_uids
            .iter()
            .filter(|(src, name, uid)| !uid.is_empty() && scored.contains(&(*src, *name)))
            .map(|(_, _, uid)| *uid)
            .collect();
        let mut pairs = self.pairs;
        let summaries = |keep: &dyn Fn(&Pair) -> bool| -> Vec<PairSummary> {
            let mut v: Vec<PairSummary> = pairs
                .iter()
                .filter(|(_, p)| keep(p))
                .map(|((src, dst), p)| PairSummary::of(*src, *dst, p, from))
                .collect();
            v.sort_by(|a, b| b.total_duration.total_cmp(&a.total_duration).then(b.count.cmp(&a.count)));
            v
        };
        let strobes = summaries(&|p| p.ts.len() >= cfg.strobe_threshold);
        let long_connections = summaries(&|p| p.duration >= cfg.long_connection_seconds);
        let is_claimed = |i: &u32| names.get(*i as usize).is_some_and(|n| claimed.contains(n.uid.as_str()));
        pairs.retain(|_, p| claimed.is_empty() || !p.named.iter().any(is_claimed));
        let ip = score_all(pairs.into_iter().map(|((src, dst), p)| (src, dst.to_string(), p)), from, win, cfg);
        Report { window: Some(win), ip, fqdn, strobes, long_connections }
    }
}

fn score_all(pairs: impl Iterator<Item = (IpAddr, String, Pair)>, from: i64, win: Window, cfg: &Config) -> Vec<Beacon> {
    let mut out: Vec<Beacon> = pairs.filter_map(|(src, dst, p)| score_pair(src, dst, p, from, win, cfg)).collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.count.cmp(&a.count)).then_with(|| a.dst.cmp(&b.dst)));
    out
}

fn score_pair(src: IpAddr, dst: String, p: Pair, from: i64, win: Window, cfg: &Config) -> Option<Beacon> {
    let count = p.ts.len();
    if count < cfg.unique_connection_threshold || count >= cfg.strobe_threshold {
        return None;
    }
    let ts = p.times(from);
    let mut unique = ts.clone();
    unique.dedup();
    if unique.len() < cfg.unique_connection_threshold {
        return None;
    }
    // Timestamps and byte counts are sorted separately, as RITA does.
    let mut bytes: Vec<f64> = p.bytes.iter().map(|&b| f64::from(b)).collect();
    let s = scores(&ts, &mut bytes, win, cfg);
    Some(Beacon {
        src,
        dst,
        count,
        unique_timestamps: unique.len(),
        score: s.score,
        ts_score: s.ts,
        ds_score: s.ds,
        dur_score: s.dur,
        hist_score: s.hist,
        first_seen: ts.first().copied().unwrap_or_default(),
        last_seen: ts.last().copied().unwrap_or_default(),
        total_bytes: p.total_bytes,
        total_duration: p.duration,
        sample_uids: p.samples.iter().map(|u| u.to_string()).collect(),
    })
}
