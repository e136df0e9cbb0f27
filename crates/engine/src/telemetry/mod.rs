//! Telemetry: RITA-compatible beacon scores, and every detector run over a
//! partner's Zeek logs, Suricata EVE and NetFlow/IPFIX (plain or gzip, files
//! or folders), with the findings stored as that partner's observations.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use dragnet_analytics::beacon::{Beacon, Beacons, Config, Kept, Report, WindowOf};
use dragnet_analytics::dns::{DnsConfig, nxdomain_bursts, tunnels};
use dragnet_analytics::filter::{DEFAULT_INTERNAL, Filter};
use dragnet_analytics::scan::{ScanConfig, Scans};
use dragnet_core::policy::BatchLabels;
use dragnet_core::store::Source;
use dragnet_core::{Category, Grade, Observable, Record, Store, Tlp, format_timestamp};
use dragnet_ingest::Mapping;
use serde::Serialize;

use crate::ingest::{FileReport, Job};
use crate::{Error, Result};

mod read;
mod sightings;
mod spill;

pub use read::{Connections, Telemetry, read_telemetry};
use sightings::Sightings;
pub use spill::DEFAULT_BUDGET as DEFAULT_BEACON_MEMORY;

/// At most this many notes (rejected lines, skipped files) are kept for the
/// edge to show; the rest are counted.
const MAX_NOTES: usize = 1000;

/// Where the logs are and what is inside the sensor's network.
#[derive(Debug, Clone, Default)]
pub struct Sensor {
    /// Zeek logs, Suricata EVE files, captures or NetFlow export packets.
    pub paths: Vec<PathBuf>,
    /// The sensor's internal networks (empty: RFC 1918 and fd00::/8).
    pub internal: Vec<String>,
    /// Also score external → internal connections (servers on the internal side).
    pub inbound: bool,
    /// Read the files as NetFlow v5/v9/IPFIX export packets, one per file.
    pub netflow: bool,
    /// Only this share of the connections (a worker's, in a fleet).
    pub partition: Option<Partition>,
}

/// One of `count` shares of a sensor's connections, by a hash of the
/// source address: every connection of a pair, and every connection of a
/// scanner, falls in one share, so beacon and scan scoring see all they
/// need. Share 0 also runs what gathers by destination or is not about
/// connections: sightings of known values, and the DNS, name and alert
/// detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    pub fn new(index: u32, count: u32) -> Result<Partition> {
        if count == 0 || index >= count {
            return Err(Error::invalid(format!("partition {index} of {count}: give 0 ≤ index < count")));
        }
        Ok(Partition { index, count })
    }

    /// Whether a connection from `src` is this share's.
    pub fn owns(&self, src: std::net::IpAddr) -> bool {
        let bytes = match src {
            std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(a) => a.octets(),
        };
        // FNV-1a: stable across processes, machines and releases.
        let hash =
            bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
        hash % u64::from(self.count) == u64::from(self.index)
    }

    fn runs_the_rest(&self) -> bool {
        self.index == 0
    }
}

impl Sensor {
    fn filter(&self) -> Result<Filter> {
        let internal: Vec<String> = if self.internal.is_empty() {
            DEFAULT_INTERNAL.iter().map(|s| s.to_string()).collect()
        } else {
            self.internal.clone()
        };
        let mut filter = Filter::with_internal(&internal).map_err(|e| Error::invalid(format!("--internal: {e}")))?;
        filter.keep_external_to_internal = self.inbound;
        Ok(filter)
    }

    fn read(&self, netflow: bool) -> Result<Telemetry> {
        read_telemetry(&self.paths, self.netflow || netflow)
    }
}

/// The first pass over a sensor's connections: how many there are, and the
/// window beacon scoring needs before it can place one. Refused when the
/// files hold nothing at all.
fn first_pass(t: &mut Telemetry, filter: &Filter) -> Result<(usize, WindowOf)> {
    let (mut count, mut window) = (0, WindowOf::default());
    let kept = Kept::new(&t.names, filter);
    t.conns.each(Some((&mut t.notes, &mut t.rejected_lines)), &mut |c| {
        count += 1;
        if kept.keeps(c) {
            window.add(c);
        }
    })?;
    if count == 0 && t.names.is_empty() && t.dns.is_empty() && t.alerts.is_empty() {
        return Err(Error::invalid(
            "no Suricata EVE events and no Zeek conn, dns, ssl or http log with data under the given paths",
        ));
    }
    Ok((count, window))
}

/// Beacon scoring that writes connection times out past the memory the
/// scoring settings allow.
fn spilling<'n>(beacons: Beacons<'n>, scoring: &BeaconScoring, connections: usize) -> Beacons<'n> {
    beacons.spilling(Box::<spill::TempSpill>::default(), scoring.memory, connections)
}

/// The report, and how many connection times were written out for it.
fn finish(beacons: Beacons<'_>) -> Result<(Report, usize)> {
    let spilled = beacons.spilled();
    Ok((beacons.finish().map_err(spill_error)?, spilled))
}

fn spill_error(e: std::io::Error) -> Error {
    Error::io("use beacon scoring's temporary files under", &std::env::temp_dir())(e)
}

/// RITA's beacon scoring knobs, with RITA v5's defaults.
#[derive(Debug, Clone)]
pub struct BeaconScoring {
    /// A pair needs at least this many distinct connection times.
    pub unique_connections: usize,
    /// Histogram: a bucket within this fraction of the mode counts as modal.
    pub histogram_mode_sensitivity: f64,
    /// Histogram: outliers removed before the bimodal test.
    pub histogram_bimodal_outliers: usize,
    /// Histogram: hours a pair must be seen in for the bimodal test.
    pub histogram_bimodal_min_hours: usize,
    /// Duration: hours a pair must be seen in to get a duration score.
    pub duration_min_hours: usize,
    /// Duration: hours seen that give full consistency.
    pub duration_ideal_hours: usize,
    /// Weights of the timestamp, data-size, duration and histogram subscores.
    pub weights: Vec<f64>,
    /// Bytes the pairs' connection times may take before they are written
    /// to temporary files (under `TMPDIR`) and scored a bucket at a time.
    pub memory: usize,
}

impl Default for BeaconScoring {
    fn default() -> Self {
        BeaconScoring {
            unique_connections: 4,
            histogram_mode_sensitivity: 0.05,
            histogram_bimodal_outliers: 1,
            histogram_bimodal_min_hours: 11,
            duration_min_hours: 6,
            duration_ideal_hours: 12,
            weights: vec![0.25; 4],
            memory: DEFAULT_BEACON_MEMORY,
        }
    }
}

impl BeaconScoring {
    fn config(&self) -> Result<Config> {
        let weights: [f64; 4] =
            self.weights.as_slice().try_into().map_err(|_| Error::invalid("--weights needs four numbers"))?;
        if !(weights.iter().all(|w| (0.0..=1.0).contains(w)) && (weights.iter().sum::<f64>() - 1.0).abs() < 1e-9) {
            return Err(Error::invalid(format!(
                "--weights must be four numbers in 0–1 that sum to 1, got {}",
                self.weights.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
            )));
        }
        if !(0.0..=1.0).contains(&self.histogram_mode_sensitivity) {
            return Err(Error::invalid("--histogram-mode-sensitivity must be in 0–1"));
        }
        if self.memory < 1 << 20 {
            return Err(Error::invalid("--beacon-memory must be at least 1 (MiB)"));
        }
        if self.unique_connections < 1 {
            return Err(Error::invalid("--unique-connections must be at least 1"));
        }
        // RITA replaces a value below 6 by its default; say so instead of doing it silently.
        if self.histogram_bimodal_min_hours < 6 {
            return Err(Error::invalid("--histogram-bimodal-min-hours must be at least 6"));
        }
        Ok(Config {
            unique_connection_threshold: self.unique_connections,
            histogram_mode_sensitivity: self.histogram_mode_sensitivity,
            histogram_bimodal_outlier_removal: self.histogram_bimodal_outliers,
            histogram_bimodal_min_hours_seen: self.histogram_bimodal_min_hours,
            duration_min_hours_seen: self.duration_min_hours,
            duration_consistency_ideal_hours_seen: self.duration_ideal_hours,
            weights,
            ..Config::default()
        })
    }
}

/// How telemetry files are read: each recognised by content, or all as
/// NetFlow export packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TelemetryFormat {
    #[default]
    Auto,
    Zeek,
    Suricata,
    Netflow,
}

impl FromStr for TelemetryFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => TelemetryFormat::Auto,
            "zeek" => TelemetryFormat::Zeek,
            "suricata" => TelemetryFormat::Suricata,
            "netflow" => TelemetryFormat::Netflow,
            other => return Err(Error::invalid(format!("--format {other}: expected auto, zeek, suricata or netflow"))),
        })
    }
}

/// A telemetry run: the sensor, the detectors' thresholds and whose
/// findings they become.
#[derive(Debug, Clone)]
pub struct Request {
    pub sensor: Sensor,
    pub scoring: BeaconScoring,
    /// The telemetry partner; created on first use.
    pub source: String,
    pub format: TelemetryFormat,
    /// Store beacons scoring at least this (RITA's "low" threshold is 0.7).
    pub beacon_threshold: f64,
    /// A pair with at least this many connections in the window is a strobe (RITA: 86400).
    pub strobe_threshold: usize,
    /// A pair whose connections add up to this many seconds is a long connection (RITA: 3600).
    pub long_connection_seconds: f64,
    /// A scan needs more than this many ports or hosts in a window (Slips: 5).
    pub scan_threshold: usize,
    /// Unique names under one registrable domain that make a DNS tunnel (RITA: 100).
    pub dns_tunnel_names: usize,
    /// NXDOMAIN answers per host per hour that make a burst (Slips: 10).
    pub nxdomain_threshold: usize,
    /// Admiralty grade for these findings; also the default of a new source.
    pub grade: Option<Grade>,
    /// TLP floor for these findings; also the default of a new source.
    pub tlp: Option<Tlp>,
    /// Where the logs came from, as their batch records it (default: the
    /// paths read; a worker names the submitter's files, not its own copies).
    pub origin: Option<String>,
}

impl Request {
    /// `dragnet telemetry PATH --source NAME --internal NETS` with every
    /// other setting at its default, the source's grade and TLP as labels.
    pub fn defaults(path: &Path, source: &Source, internal: &[String]) -> Request {
        Request {
            sensor: Sensor { paths: vec![path.to_path_buf()], internal: internal.to_vec(), ..Sensor::default() },
            source: source.name.clone(),
            grade: Some(source.grade),
            tlp: Some(source.tlp),
            ..Request::new(String::new())
        }
    }

    /// A run for `source` with every threshold at its default.
    pub fn new(source: String) -> Request {
        Request {
            sensor: Sensor::default(),
            scoring: BeaconScoring::default(),
            source,
            format: TelemetryFormat::Auto,
            beacon_threshold: 0.7,
            strobe_threshold: 86_400,
            long_connection_seconds: 3600.0,
            scan_threshold: 5,
            dns_tunnel_names: 100,
            nxdomain_threshold: 10,
            grade: None,
            tlp: None,
            origin: None,
        }
    }
}

/// Notes for the edge to show, bounded: a file of a million bad lines
/// costs a counter, not a million strings.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    pub kept: Vec<String>,
    pub dropped: usize,
}

impl Notes {
    fn push(&mut self, note: String) {
        if self.kept.len() < MAX_NOTES {
            self.kept.push(note);
        } else {
            self.dropped += 1;
        }
    }
}

/// Beacon scores of some telemetry, strongest first.
#[derive(Debug, Serialize)]
pub struct BeaconReport {
    pub window_start: Option<String>,
    pub window_end: Option<String>,
    pub connections: usize,
    pub rejected_lines: usize,
    pub files: usize,
    /// Connection times beacon scoring wrote to temporary files, past its memory.
    pub spilled_connections: usize,
    pub beacons: Vec<Beacon>,
    #[serde(skip)]
    pub notes: Notes,
}

/// RITA's beacon analysis of the sensor's logs, at most `limit` pairs (0: all).
pub fn beacons(sensor: &Sensor, scoring: &BeaconScoring, limit: usize) -> Result<BeaconReport> {
    let mut t = sensor.read(false)?;
    let (filter, cfg) = (sensor.filter()?, scoring.config()?);
    let (connections, window) = first_pass(&mut t, &filter)?;
    let (report, spilled_connections) = match window.window(&cfg) {
        Some(win) => {
            let mut beacons = spilling(Beacons::new(&t.names, &filter, &cfg, win), scoring, connections);
            t.conns.each(None, &mut |c| beacons.add(c))?;
            finish(beacons)?
        }
        None => (Report::empty(None), 0),
    };
    let window = report.window;
    let mut beacons: Vec<_> = report.ip.into_iter().chain(report.fqdn).collect();
    beacons.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.count.cmp(&a.count)));
    if limit > 0 {
        beacons.truncate(limit);
    }
    Ok(BeaconReport {
        window_start: window.map(|w| format_timestamp(w.min)),
        window_end: window.map(|w| format_timestamp(w.max)),
        connections,
        rejected_lines: t.rejected_lines,
        files: t.files,
        spilled_connections,
        beacons,
        notes: t.notes,
    })
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct TelemetryReport {
    pub source: String,
    pub connections: usize,
    pub dns_queries: usize,
    pub rejected_lines: usize,
    pub files: usize,
    pub beacons: usize,
    pub scans: usize,
    pub strobes: usize,
    pub long_connections: usize,
    pub dns_tunnels: usize,
    pub nxdomain_bursts: usize,
    pub alerts: usize,
    pub sightings: usize,
    /// Connection times beacon scoring wrote to temporary files, past its memory.
    pub spilled_connections: usize,
    pub accepted: u64,
    pub new: u64,
    pub new_observables: u64,
    pub links: u64,
    pub new_links: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The findings were refused by the store (busy, unreachable), not
    /// for their content: worth retrying.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub store_failed: bool,
    /// Lines and files that could not be used.
    #[serde(skip)]
    pub notes: Notes,
}

/// The category of an IDS alert, from its rule's classtype text.
fn alert_category(classtype: &str) -> Category {
    let c = classtype.to_ascii_lowercase();
    if c.contains("trojan") || c.contains("command and control") {
        Category::BotnetC2
    } else if c.contains("scan") || c.contains("brute") || c.contains("attempted") {
        Category::Scanning
    } else if c.contains("phishing") || c.contains("social engineering") {
        Category::Phishing
    } else {
        Category::Other
    }
}

/// A finding as a record: the suspicious server (or scanner) with the
/// detector's evidence as its raw text.
fn finding(
    value: &str,
    category: Category,
    first: i64,
    last: i64,
    tags: Vec<String>,
    evidence: serde_json::Value,
) -> Option<Record> {
    let observable = Observable::guess(value).ok()?;
    let mut r = Record::new(observable, 0, evidence.to_string());
    r.category = Some(category);
    r.first_seen = Some(first);
    r.last_seen = Some(last);
    r.tags = tags;
    Some(r)
}

/// Runs the detectors and stores their findings and the links seen.
pub fn detect(store: &mut dyn Store, args: &Request) -> Result<TelemetryReport> {
    let filter = args.sensor.filter()?;
    let mut t = args.sensor.read(args.format == TelemetryFormat::Netflow)?;
    let beacon_cfg = Config {
        strobe_threshold: args.strobe_threshold,
        long_connection_seconds: args.long_connection_seconds,
        ..args.scoring.config()?
    };
    let scan_cfg = ScanConfig { threshold: args.scan_threshold, ..ScanConfig::default() };
    // Two passes over the connections, each detector gathering what it
    // needs as they go by: memory holds pairs and tallies, not connections.
    let (connections, window) = first_pass(&mut t, &filter)?;
    // A share scores the names of its own sources (a name's pair is its
    // source's); the window above was every connection's, as one run's is.
    let partition = args.sensor.partition;
    let share_names: Option<Vec<_>> = partition.map(|p| t.names.iter().filter(|n| p.owns(n.src)).cloned().collect());
    let names = share_names.as_deref().unwrap_or(&t.names);
    let mut beacons = window
        .window(&beacon_cfg)
        .map(|win| spilling(Beacons::new(names, &filter, &beacon_cfg, win), &args.scoring, connections));
    let mut scanning = Scans::new(&filter, &scan_cfg);
    let mut sighted = Sightings::default();
    // Sightings gather per destination, whoever connected: one share sees them all.
    let sights = partition.is_none_or(|p| p.runs_the_rest());
    t.conns.each(None, &mut |c| {
        if sights {
            sighted.conn(c, &filter);
        }
        if partition.is_some_and(|p| !p.owns(c.src)) {
            return;
        }
        if let Some(b) = beacons.as_mut() {
            b.add(c);
        }
        scanning.add(c);
    })?;
    let (report, spilled_connections) = match beacons {
        Some(b) => finish(b)?,
        None => (Report::empty(None), 0),
    };
    let found_scans = scanning.finish();
    let window = report.window.map(|w| serde_json::json!({"start": w.min, "end": w.max}));
    let mut records = Vec::new();
    let strong = report.ip.iter().chain(&report.fqdn).filter(|b| b.score >= args.beacon_threshold);
    let mut beacon_count = 0;
    for b in strong {
        let evidence = serde_json::json!({
            "detector": "beacon", "src": b.src, "dst": b.dst, "count": b.count, "score": b.score,
            "ts_score": b.ts_score, "ds_score": b.ds_score, "dur_score": b.dur_score, "hist_score": b.hist_score,
            "total_bytes": b.total_bytes, "window": window, "sample_uids": b.sample_uids,
        });
        let tags = vec!["beacon".to_string()];
        if let Some(mut r) = finding(&b.dst, Category::BotnetC2, b.first_seen, b.last_seen, tags, evidence) {
            r.confidence = Some((b.score * 100.0).round() as u8);
            records.push(r);
            beacon_count += 1;
        }
    }
    let pairs = [("strobe", &report.strobes), ("long-connection", &report.long_connections)];
    for (detector, list) in pairs {
        for p in list.iter() {
            let evidence = serde_json::json!({
                "detector": detector, "src": p.src, "dst": p.dst, "count": p.count,
                "total_duration": p.total_duration, "total_bytes": p.total_bytes, "window": window,
                "sample_uids": p.sample_uids,
            });
            let tags = vec![detector.to_string()];
            records.extend(finding(&p.dst.to_string(), Category::Other, p.first_seen, p.last_seen, tags, evidence));
        }
    }
    // What is not connections is one share's to judge, not every share's.
    if !partition.is_none_or(|p| p.runs_the_rest()) {
        t.dns.clear();
        t.alerts.clear();
        t.names.clear();
        t.links.clear();
    }
    let dns_cfg = DnsConfig {
        tunnel_unique_names: args.dns_tunnel_names,
        nxdomain_threshold: args.nxdomain_threshold,
        ..DnsConfig::default()
    };
    let found_tunnels = tunnels(&t.dns, &filter, &dns_cfg);
    for d in &found_tunnels {
        let evidence = serde_json::json!({
            "detector": "dns-tunnel", "domain": d.domain, "unique_names": d.unique_names, "queries": d.queries,
            "sources": d.sources, "sample_names": d.sample_names,
        });
        let tags = vec!["dns-tunnel".to_string()];
        records.extend(finding(&d.domain, Category::BotnetC2, d.first_seen, d.last_seen, tags, evidence));
    }
    let bursts = nxdomain_bursts(&t.dns, &filter, &dns_cfg);
    for b in &bursts {
        let evidence = serde_json::json!({
            "detector": "nxdomain-burst", "src": b.src, "nxdomains": b.nxdomains, "windows": b.windows,
            "sample_names": b.sample_names,
        });
        let tags = vec!["nxdomain-burst".to_string()];
        records.extend(finding(&b.src.to_string(), Category::Other, b.first_seen, b.last_seen, tags, evidence));
    }
    for a in &t.alerts {
        // The suspect is the side outside the sensor's networks.
        let suspect = if filter.internal.contains(a.src) { a.dst } else { a.src };
        let evidence = serde_json::json!({
            "detector": "ids-alert", "signature": a.signature, "category": a.category, "severity": a.severity,
            "src": a.src, "src_port": a.src_port, "dst": a.dst, "dst_port": a.dst_port, "flow_id": a.flow_id,
        });
        let tags = vec!["ids-alert".to_string(), a.signature.clone()];
        let t = a.ts.trunc() as i64;
        if let Some(mut r) = finding(&suspect.to_string(), alert_category(&a.category), t, t, tags, evidence) {
            r.confidence = Some([80, 60, 40, 20][usize::from(a.severity.clamp(1, 4) - 1)]);
            records.push(r);
        }
    }
    for s in &found_scans {
        let evidence = serde_json::json!({
            "detector": "scan", "kind": s.kind, "src": s.src, "dst": s.dst, "port": s.port,
            "targets": s.targets, "attempts": s.attempts, "windows": s.windows, "sample_uids": s.sample_uids,
        });
        let tags = vec!["scan".to_string(), format!("{:?}-scan", s.kind).to_lowercase()];
        records.extend(finding(&s.src.to_string(), Category::Scanning, s.first_seen, s.last_seen, tags, evidence));
    }
    sighted.names_and_queries(&t.names, &t.dns);
    let sighted = sighted.finish(store, &args.source)?;
    let sighting_count = sighted.len();
    records.extend(sighted);
    let wanted = Source {
        name: args.source.trim().to_string(),
        grade: args.grade.unwrap_or(Grade::UNGRADED),
        tlp: args.tlp.unwrap_or(Tlp::Amber),
    };
    let source = crate::ingest::stored_or(store, &wanted)?;
    let labels = BatchLabels { tlp: args.tlp, grade: args.grade, category: None };
    let mapping = Mapping::default();
    let job = Job { source, labels, format: None, mapping: &mapping, keep_rejects: false };
    let origin = match &args.origin {
        Some(origin) => origin.clone(),
        None => args.sensor.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
    };
    let mut file = FileReport { path: origin.clone(), accepted: records.len() as u64, ..Default::default() };
    if !records.is_empty() || !t.links.is_empty() {
        job.write(store, &format!("telemetry:{origin}"), records, &[], &t.links, &mut file);
    }
    let out = TelemetryReport {
        source: wanted.name,
        connections,
        dns_queries: t.dns.len(),
        rejected_lines: t.rejected_lines,
        files: t.files,
        beacons: beacon_count,
        scans: found_scans.len(),
        strobes: report.strobes.len(),
        long_connections: report.long_connections.len(),
        dns_tunnels: found_tunnels.len(),
        nxdomain_bursts: bursts.len(),
        alerts: t.alerts.len(),
        sightings: sighting_count,
        spilled_connections,
        accepted: file.accepted,
        new: file.new,
        new_observables: file.new_observables,
        links: file.links,
        new_links: file.new_links,
        error: file.error.clone(),
        store_failed: file.store_failed,
        notes: t.notes,
    };
    Ok(out)
}
