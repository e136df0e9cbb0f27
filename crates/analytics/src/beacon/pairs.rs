//! Connections gathered into pairs and scored, one connection at a time,
//! so that a reader can feed them as it parses and memory holds the pairs
//! (a few bytes per connection), never the connections.
//!
//! Scoring needs the window before it places a connection, and the window
//! ends at the last kept connection: the connections go past twice, first
//! through [`WindowOf`], then through [`Beacons`]. [`analyze`] does both over
//! a slice.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::IpAddr;

use dragnet_core::telemetry::{Conn, NamedConn, Uid};
use serde::Serialize;

use super::spill::{Spill, Spilled, buckets_for};
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
    /// The pair's number, in the order pairs were first seen (its bucket
    /// when times are spilled).
    id: u32,
    /// Connections, whether their times are held or spilled.
    count: usize,
    /// The earliest and latest offsets.
    first: u32,
    last: u32,
    /// Times are no longer kept: the pair has reached the strobe threshold
    /// and is never scored as a beacon.
    strobe: bool,
    /// Seconds since the start of the window's first hour, of the
    /// connections not spilled.
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
    fn new(id: u32) -> Pair {
        Pair { id, ..Pair::default() }
    }

    fn add(&mut self, offset: u32, traffic: Option<Traffic>, uid: &str) {
        (self.first, self.last) =
            if self.count == 0 { (offset, offset) } else { (self.first.min(offset), self.last.max(offset)) };
        self.count += 1;
        if !self.strobe {
            self.ts.push(offset);
            self.bytes.push(traffic.map_or(0, |t| u32::try_from(t.orig_ip_bytes).unwrap_or(u32::MAX)));
        }
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
            count: p.count,
            total_duration: p.duration,
            total_bytes: p.total_bytes,
            first_seen: from + i64::from(p.first),
            last_seen: from + i64::from(p.last),
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
    beacons.finish().expect("nothing spilled, so nothing read back")
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
    spiller: Option<Spiller>,
}

/// Times written out past a budget (see [`super::spill`]).
struct Spiller {
    spill: Box<dyn Spill>,
    /// Bytes the held times may take before they are written out.
    budget: usize,
    held: usize,
    buckets: usize,
    /// Connection times written out so far.
    spilled: usize,
    /// The first write that failed; nothing more is written after it.
    failed: Option<io::Error>,
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
            spiller: None,
        }
    }

    /// Holds at most about `budget` bytes of connection times, writing the
    /// rest to `spill`; `connections` (the first pass's count) sizes the
    /// buckets so that one bucket read back fits the budget too.
    pub fn spilling(mut self, spill: Box<dyn Spill>, budget: usize, connections: usize) -> Self {
        let buckets = buckets_for(connections, budget);
        self.spiller = Some(Spiller { spill, budget, held: 0, buckets, spilled: 0, failed: None });
        self
    }

    /// How many connection times were written out so far (all of them
    /// are by the last [`Beacons::add`]).
    pub fn spilled(&self) -> usize {
        self.spiller.as_ref().map_or(0, |s| s.spilled)
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
        // After a failed write the report is an error: nothing more is held for it.
        let failed = self.spiller.as_ref().is_some_and(|s| s.failed.is_some());
        if !self.kept.keeps(c) || !self.in_window(t) || failed {
            return;
        }
        let offset = self.offset(t);
        let next = u32::try_from(self.pairs.len()).unwrap_or(u32::MAX);
        let pair = self.pairs.entry((c.src, c.dst)).or_insert_with(|| Pair::new(next));
        let before = pair.ts.capacity() + pair.bytes.capacity();
        pair.add(offset, Some(Traffic::of(c)), c.uid.as_str());
        if !c.uid.as_str().is_empty() {
            pair.named.extend(named.into_iter().flatten());
        }
        if pair.count >= self.cfg.strobe_threshold && !pair.strobe {
            (pair.strobe, pair.ts, pair.bytes) = (true, Vec::new(), Vec::new());
        }
        let after = pair.ts.capacity() + pair.bytes.capacity();
        if let Some(s) = self.spiller.as_mut() {
            s.held = (s.held + after * 4).saturating_sub(before * 4);
            if s.held > s.budget {
                s.write_out(&mut self.pairs);
            }
        }
    }

    /// The report; an error only when spilled times could not be written
    /// or read back.
    pub fn finish(self) -> io::Result<Report> {
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
            v.sort_by(|a, b| {
                let heavier = b.total_duration.total_cmp(&a.total_duration).then(b.count.cmp(&a.count));
                heavier.then_with(|| (a.src, a.dst).cmp(&(b.src, b.dst)))
            });
            v
        };
        let strobes = summaries(&|p| p.count >= cfg.strobe_threshold);
        let long_connections = summaries(&|p| p.duration >= cfg.long_connection_seconds);
        let is_claimed = |i: &u32| names.get(*i as usize).is_some_and(|n| claimed.contains(n.uid.as_str()));
        pairs.retain(|_, p| claimed.is_empty() || !p.named.iter().any(is_claimed));
        let ip = match self.spiller {
            Some(s) if s.spilled > 0 || s.failed.is_some() => s.score(pairs, from, win, cfg)?,
            _ => score_all(pairs.into_iter().map(|((src, dst), p)| (src, dst.to_string(), p)), from, win, cfg),
        };
        Ok(Report { window: Some(win), ip, fqdn, strobes, long_connections })
    }
}

impl Spiller {
    /// Writes out every held time, each pair's to its bucket.
    fn write_out(&mut self, pairs: &mut HashMap<(IpAddr, IpAddr), Pair>) {
        let mut records = Vec::new();
        for p in pairs.values_mut().filter(|p| !p.ts.is_empty()) {
            records.clear();
            let times = p.ts.iter().zip(&p.bytes);
            records.extend(times.map(|(&offset, &bytes)| Spilled { pair: p.id, offset, bytes }));
            if let Err(e) = self.spill.append(p.id as usize % self.buckets, &records) {
                self.failed = Some(e);
                return;
            }
            self.spilled += records.len();
            (p.ts, p.bytes) = (Vec::new(), Vec::new());
        }
        self.held = 0;
    }

    /// Scores the pairs a bucket at a time, each with its times read back.
    fn score(
        mut self,
        pairs: HashMap<(IpAddr, IpAddr), Pair>,
        from: i64,
        win: Window,
        cfg: &Config,
    ) -> io::Result<Vec<Beacon>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut by_bucket: Vec<Vec<((IpAddr, IpAddr), Pair)>> = (0..self.buckets).map(|_| Vec::new()).collect();
        for (key, p) in pairs {
            if let Some(b) = by_bucket.get_mut(p.id as usize % self.buckets) {
                b.push((key, p));
            }
        }
        let mut out = Vec::new();
        for (bucket, mut group) in by_bucket.into_iter().enumerate() {
            let mut records = self.spill.take(bucket)?;
            records.sort_unstable_by_key(|r| r.pair);
            group.sort_unstable_by_key(|(_, p)| p.id);
            let mut records = records.into_iter().peekable();
            for ((src, dst), mut p) in group {
                // Records of pairs left out since (claimed by a name) are skipped.
                while let Some(r) = records.next_if(|r| r.pair <= p.id) {
                    if r.pair == p.id && !p.strobe {
                        p.ts.push(r.offset);
                        p.bytes.push(r.bytes);
                    }
                }
                out.extend(score_pair(src, dst.to_string(), p, from, win, cfg));
            }
        }
        sort_beacons(&mut out);
        Ok(out)
    }
}

fn score_all(pairs: impl Iterator<Item = (IpAddr, String, Pair)>, from: i64, win: Window, cfg: &Config) -> Vec<Beacon> {
    let mut out: Vec<Beacon> = pairs.filter_map(|(src, dst, p)| score_pair(src, dst, p, from, win, cfg)).collect();
    sort_beacons(&mut out);
    out
}

fn sort_beacons(out: &mut [Beacon]) {
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.dst.cmp(&b.dst))
            .then_with(|| a.src.cmp(&b.src))
    });
}

fn score_pair(src: IpAddr, dst: String, p: Pair, from: i64, win: Window, cfg: &Config) -> Option<Beacon> {
    let count = p.count;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::spill::InMemory;

    /// A day of connections over many pairs, some periodic with jitter,
    /// some at random, some names seen on them, in a shuffled order.
    fn day() -> (Vec<Conn>, Vec<NamedConn>) {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut conns, mut names) = (Vec::new(), Vec::new());
        for pair in 0..300u32 {
            let period = 60 + u64::from(pair % 7) * 300;
            let n = 5 + (next() % 200) as u32;
            for i in 0..n {
                let jitter = if pair % 3 == 0 { next() % 86_000 } else { next() % 5 };
                let ts = 1_700_000_000 + (u64::from(i) * period + jitter) % 86_000;
                let uid = format!("C{pair}x{i}");
                let src: IpAddr = format!("10.0.{}.{}", pair / 250, pair % 250 + 1).parse().unwrap();
                let dst: IpAddr = format!("198.51.100.{}", pair % 50).parse().unwrap();
                if pair % 10 == 0 {
                    names.push(NamedConn {
                        ts: ts as f64,
                        uid: uid.clone(),
                        src,
                        dst,
                        dst_port: 443,
                        name: format!("c2-{}.example", pair % 4),
                        proxied: false,
                    });
                }
                conns.push(Conn {
                    ts: ts as f64 + 0.25,
                    uid: uid.into(),
                    src,
                    src_port: 40000,
                    dst,
                    dst_port: 443,
                    proto: "tcp".into(),
                    duration: (next() % 50) as f64,
                    orig_ip_bytes: 100 + next() % 3,
                    resp_ip_bytes: 200,
                    state: "SF".into(),
                });
            }
        }
        for i in (1..conns.len()).rev() {
            conns.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        (conns, names)
    }

    #[test]
    fn scoring_spilled_times_a_bucket_at_a_time_gives_the_same_report() {
        let (conns, names) = day();
        let (filter, cfg) = (Filter::default(), Config { strobe_threshold: 150, ..Config::default() });
        let held = analyze(&conns, &names, &filter, &cfg);
        assert!(held.ip.len() > 100 && !held.fqdn.is_empty() && !held.strobes.is_empty());
        let win = held.window.unwrap();
        for budget in [64, 4096, 100_000] {
            let mut b =
                Beacons::new(&names, &filter, &cfg, win).spilling(Box::new(InMemory::default()), budget, conns.len());
            conns.iter().for_each(|c| b.add(c));
            assert!(b.spilled() > 0, "budget {budget}");
            assert_eq!(b.finish().unwrap(), held, "budget {budget}");
        }
    }

    struct Broken;

    impl Spill for Broken {
        fn append(&mut self, _: usize, _: &[Spilled]) -> io::Result<()> {
            Err(io::Error::other("disk full"))
        }

        fn take(&mut self, _: usize) -> io::Result<Vec<Spilled>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_spill_that_cannot_be_written_is_an_error_not_a_short_report() {
        let (conns, names) = day();
        let (filter, cfg) = (Filter::default(), Config::default());
        let win = window(&conns, &cfg).unwrap();
        let mut b = Beacons::new(&names, &filter, &cfg, win).spilling(Box::new(Broken), 64, conns.len());
        conns.iter().for_each(|c| b.add(c));
        assert_eq!(b.finish().unwrap_err().to_string(), "disk full");
    }
}
