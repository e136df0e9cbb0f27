//! Beacon scoring compatible with RITA v5: per (source, destination) pair,
//! four subscores on whole-second timestamps and originator IP bytes inside
//! a 24-hour window ending at the last connection, with RITA's defaults,
//! rounding and window rules (see `docs/detection.md`).

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::stats::{ceil3, regularity, round3};

/// RITA v5 defaults (`default_config.hjson`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// A pair needs at least this many distinct timestamps.
    pub unique_connection_threshold: usize,
    /// Pairs with this many connections or more are strobes, not beacons.
    pub strobe_threshold: usize,
    pub histogram_mode_sensitivity: f64,
    pub histogram_bimodal_outlier_removal: usize,
    pub histogram_bimodal_min_hours_seen: usize,
    pub duration_min_hours_seen: usize,
    pub duration_consistency_ideal_hours_seen: usize,
    /// Weights of the timestamp, data-size, duration and histogram scores.
    pub weights: [f64; 4],
    /// Length of the analysis window, ending at the last connection.
    pub window_seconds: i64,
    /// A pair whose connections add up to this many seconds is a long connection.
    pub long_connection_seconds: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            unique_connection_threshold: 4,
            strobe_threshold: 86_400,
            histogram_mode_sensitivity: 0.05,
            histogram_bimodal_outlier_removal: 1,
            histogram_bimodal_min_hours_seen: 11,
            duration_min_hours_seen: 6,
            duration_consistency_ideal_hours_seen: 12,
            weights: [0.25; 4],
            window_seconds: 86_400,
            long_connection_seconds: 3600.0,
        }
    }
}

/// A scored pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Beacon {
    pub src: IpAddr,
    pub dst: String,
    pub count: usize,
    pub unique_timestamps: usize,
    pub score: f64,
    pub ts_score: f64,
    pub ds_score: f64,
    pub dur_score: f64,
    pub hist_score: f64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Bytes at the IP layer, both directions.
    pub total_bytes: u64,
    pub total_duration: f64,
    /// Up to five connection ids, as evidence.
    pub sample_uids: Vec<String>,
}

/// The analysis window `[min, max]` in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub min: i64,
    pub max: i64,
}

mod pairs;
pub mod spill;

pub use pairs::{Beacons, Kept, PairSummary, Report, WindowOf, analyze, ip_beacons, window};

/// The four subscores and the weighted total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub ts: f64,
    pub ds: f64,
    pub dur: f64,
    pub hist: f64,
    pub score: f64,
}

/// Scores one pair from its sorted timestamps and its byte counts.
pub fn scores(sorted_ts: &[i64], bytes: &mut [f64], win: Window, cfg: &Config) -> Scores {
    let ts = timestamp_score(sorted_ts);
    bytes.sort_by(f64::total_cmp);
    let ds = if bytes.len() >= 3 { regularity(bytes, 0.0) } else { 0.0 };
    let hist = Histogram::new(sorted_ts, win);
    let hist_score = hist.score(cfg);
    let dur = duration_score(sorted_ts, win, &hist, cfg);
    let [wt, wd, wu, wh] = cfg.weights;
    Scores { ts, ds, dur, hist: hist_score, score: round3(wt * ts + wd * ds + wu * dur + wh * hist_score) }
}

/// Regularity of the gaps between connections; zero gaps (several
/// connections in one second) are left out. Needs 3 non-zero gaps.
pub fn timestamp_score(sorted_ts: &[i64]) -> f64 {
    if sorted_ts.len() < 4 {
        return 0.0;
    }
    let mut gaps: Vec<f64> = sorted_ts.windows(2).map(|w| (w[1] - w[0]) as f64).filter(|d| *d > 0.0).collect();
    if gaps.len() < 3 {
        return 0.0;
    }
    gaps.sort_by(f64::total_cmp);
    regularity(&gaps, 1.0)
}

/// Connections per hour-long bin of the window (24 bins).
pub struct Histogram {
    pub bins: [u32; 24],
}

impl Histogram {
    pub fn new(sorted_ts: &[i64], win: Window) -> Histogram {
        let mut bins = [0u32; 24];
        let span = (win.max - win.min) as f64;
        for &t in sorted_ts {
            let i = if span <= 0.0 { 0.0 } else { (((t - win.min) as f64 / span) * 24.0).floor() };
            bins[i.clamp(0.0, 23.0) as usize] += 1;
        }
        Histogram { bins }
    }

    /// Bins with at least one connection.
    pub fn bars(&self) -> usize {
        self.bins.iter().filter(|b| **b > 0).count()
    }

    /// The longest run of consecutive non-empty bins, wrapping around midnight.
    pub fn longest_run(&self) -> usize {
        let (mut best, mut run) = (0, 0);
        for i in 0..48 {
            if self.bins[i % 24] > 0 {
                run += 1;
                best = best.max(run);
            } else {
                run = 0;
            }
        }
        best.min(24)
    }

    /// The better of how flat the histogram is (1 − coefficient of
    /// variation) and how well it fits two modes.
    pub fn score(&self, cfg: &Config) -> f64 {
        let n = self.bins.len() as f64;
        let mean = self.bins.iter().map(|b| f64::from(*b)).sum::<f64>() / n;
        let var = self.bins.iter().map(|b| (f64::from(*b) - mean).powi(2)).sum::<f64>() / n;
        let cv = if mean > 0.0 { var.sqrt() / mean } else { f64::INFINITY };
        let cv_score = if cv > 1.0 { 0.0 } else { round3(1.0 - cv) };
        let bars = self.bars();
        let min_hours =
            if cfg.histogram_bimodal_min_hours_seen < 6 { 11 } else { cfg.histogram_bimodal_min_hours_seen };
        let mut bimodal = 0.0;
        if bars >= min_hours {
            let max = f64::from(*self.bins.iter().max().unwrap_or(&0));
            let size = (max * cfg.histogram_mode_sensitivity).ceil().max(1.0);
            let mut buckets: HashMap<i64, usize> = HashMap::new();
            for b in self.bins.iter().filter(|b| **b > 0) {
                *buckets.entry(((f64::from(*b) / size).floor() * size) as i64).or_default() += 1;
            }
            let mut sizes: Vec<usize> = buckets.into_values().collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            let top = sizes.first().copied().unwrap_or(0) + sizes.get(1).copied().unwrap_or(0);
            let denom = bars.saturating_sub(cfg.histogram_bimodal_outlier_removal).max(1);
            bimodal = round3(top as f64 / denom as f64).min(1.0);
        }
        cv_score.max(bimodal)
    }
}

/// How much of the window the pair covers, or how many consecutive hours
/// it is seen, whichever is higher; 0 when seen in fewer than 6 hours.
pub fn duration_score(sorted_ts: &[i64], win: Window, hist: &Histogram, cfg: &Config) -> f64 {
    if hist.bars() < cfg.duration_min_hours_seen || sorted_ts.is_empty() {
        return 0.0;
    }
    let span = (win.max - win.min) as f64;
    let coverage =
        if span > 0.0 { ceil3((sorted_ts[sorted_ts.len() - 1] - sorted_ts[0]) as f64 / span).min(1.0) } else { 0.0 };
    let consistency = ceil3(hist.longest_run() as f64 / cfg.duration_consistency_ideal_hours_seen as f64).min(1.0);
    coverage.max(consistency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;
    use dragnet_core::telemetry::Conn;

    fn from_gaps(gaps: &[i64]) -> Vec<i64> {
        let mut t = vec![1_000];
        for g in gaps {
            t.push(t[t.len() - 1] + g);
        }
        t
    }

    // RITA's own unit vectors (analysis/beacons_test.go).
    #[test]
    fn timestamp_scores_match_rita() {
        assert_eq!(timestamp_score(&(1..=10).collect::<Vec<_>>()), 1.0);
        assert_eq!(timestamp_score(&(0..10).map(|i| i * 60).collect::<Vec<_>>()), 1.0);
        assert_eq!(timestamp_score(&from_gaps(&[98, 99, 99, 100, 100, 100, 101, 101, 102])), 0.995);
        assert_eq!(timestamp_score(&from_gaps(&[98, 300, 98, 300, 98, 300, 98, 300, 98, 300])), 0.746);
        assert_eq!(timestamp_score(&from_gaps(&[1, 299, 25, 4975, 90, 2, 42, 500, 1500])), 0.083);
        assert_eq!(timestamp_score(&[5; 9]), 0.0);
    }

    #[test]
    fn histogram_runs_wrap_around() {
        let mut h = Histogram { bins: [0; 24] };
        for i in [22, 23, 0, 1, 5] {
            h.bins[i] = 1;
        }
        assert_eq!((h.bars(), h.longest_run()), (5, 4));
        let full = Histogram { bins: [3; 24] };
        assert_eq!((full.longest_run(), full.score(&Config::default())), (24, 1.0));
    }

    fn conn(ts: f64, duration: f64) -> Conn {
        Conn {
            ts,
            uid: format!("C{ts}").into(),
            src: "10.0.0.5".parse().unwrap(),
            src_port: 40000,
            dst: "198.51.100.7".parse().unwrap(),
            dst_port: 443,
            proto: "tcp".into(),
            duration,
            orig_ip_bytes: 100,
            resp_ip_bytes: 200,
            state: "SF".into(),
        }
    }

    #[test]
    fn strobes_and_long_connections_are_reported() {
        let cfg = Config { strobe_threshold: 50, ..Config::default() };
        let many: Vec<Conn> = (0..60).map(|i| conn(f64::from(i) * 10.0, 100.0)).collect();
        let report = analyze(&many, &[], &Filter::default(), &cfg);
        assert!(report.ip.is_empty(), "a strobe is not a beacon");
        assert_eq!(report.strobes.len(), 1);
        assert_eq!((report.strobes[0].count, report.strobes[0].total_bytes), (60, 18_000));
        assert_eq!(report.long_connections[0].total_duration, 6000.0);
        let short: Vec<Conn> = (0..10).map(|i| conn(f64::from(i) * 60.0, 1.0)).collect();
        let report = analyze(&short, &[], &Filter::default(), &Config::default());
        assert!(report.strobes.is_empty() && report.long_connections.is_empty());
    }

    #[test]
    fn a_perfect_hourly_beacon_scores_one() {
        let ts: Vec<i64> = (0..=24).map(|h| h * 3600).collect();
        let win = Window { min: 0, max: 24 * 3600 };
        let mut bytes = vec![300.0; ts.len()];
        let s = scores(&ts, &mut bytes, win, &Config::default());
        assert_eq!((s.ts, s.ds, s.dur, s.hist, s.score), (1.0, 1.0, 1.0, 1.0, 1.0));
    }
}
