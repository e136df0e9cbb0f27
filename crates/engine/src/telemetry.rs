//! Telemetry: RITA-compatible beacon scores, and every detector run over a
//! partner's Zeek logs, Suricata EVE and NetFlow/IPFIX (plain or gzip, files
//! or folders), with the findings stored as that partner's observations.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use dragnet_analytics::beacon::{Beacon, Config, analyze};
use dragnet_analytics::dns::{DnsConfig, nxdomain_bursts, tunnels};
use dragnet_analytics::filter::{DEFAULT_INTERNAL, Filter};
use dragnet_analytics::scan::{ScanConfig, scans};
use dragnet_core::policy::BatchLabels;
use dragnet_core::store::Source;
use dragnet_core::telemetry::{Alert, Conn, DnsQuery, NamedConn};
use dragnet_core::{Category, Grade, Link, Observable, Record, Store, Tlp, format_timestamp};
use dragnet_ingest::{Mapping, netflow, suricata, zeek};
use serde::Serialize;

use crate::ingest::{FileReport, Job};
use crate::{Error, Result};

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
        let t = read_telemetry(&self.paths, self.netflow || netflow)?;
        if t.conns.is_empty() && t.names.is_empty() && t.dns.is_empty() && t.alerts.is_empty() {
            return Err(Error::invalid(
                "no Suricata EVE events and no Zeek conn, dns, ssl or http log with data under the given paths",
            ));
        }
        Ok(t)
    }
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
    pub beacons: Vec<Beacon>,
    #[serde(skip)]
    pub notes: Notes,
}

/// RITA's beacon analysis of the sensor's logs, at most `limit` pairs (0: all).
pub fn beacons(sensor: &Sensor, scoring: &BeaconScoring, limit: usize) -> Result<BeaconReport> {
    let t = sensor.read(false)?;
    let report = analyze(&t.conns, &t.names, &sensor.filter()?, &scoring.config()?);
    let window = report.window;
    let mut beacons: Vec<_> = report.ip.into_iter().chain(report.fqdn).collect();
    beacons.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.count.cmp(&a.count)));
    if limit > 0 {
        beacons.truncate(limit);
    }
    Ok(BeaconReport {
        window_start: window.map(|w| format_timestamp(w.min)),
        window_end: window.map(|w| format_timestamp(w.max)),
        connections: t.conns.len(),
        rejected_lines: t.rejected_lines,
        files: t.files,
        beacons,
        notes: t.notes,
    })
}

/// What the Zeek logs under some paths hold, for the detectors.
pub struct Telemetry {
    pub conns: Vec<Conn>,
    pub names: Vec<NamedConn>,
    pub dns: Vec<DnsQuery>,
    pub alerts: Vec<Alert>,
    /// Names, addresses and certificates seen together (SNI, DNS answers,
    /// server certificates, JA3S), stored for clustering.
    pub links: Vec<Link>,
    pub rejected_lines: usize,
    pub files: usize,
    /// NetFlow v9/IPFIX data sets that arrived before their template (not
    /// decoded: the exporter had not announced their layout yet).
    pub without_template: usize,
    /// Lines and files that could not be used, for the edge to show.
    pub notes: Notes,
}

/// Reads every conn, ssl and http log under `paths`; other logs are skipped,
/// files that are not Zeek logs are reported and skipped.
pub fn read_telemetry(paths: &[PathBuf], netflow: bool) -> Result<Telemetry> {
    let mut files = Vec::new();
    for p in paths {
        crate::walk::files_under(p, &mut files)?;
    }
    let mut t = Telemetry {
        conns: Vec::new(),
        names: Vec::new(),
        dns: Vec::new(),
        alerts: Vec::new(),
        links: Vec::new(),
        rejected_lines: 0,
        files: 0,
        without_template: 0,
        notes: Notes::default(),
    };
    // Packets are decoded in name order with one template cache, so a
    // template file is read before the data files that need it.
    let mut decoder = netflow::Decoder::new();
    for f in files {
        let raw = std::fs::read(&f).map_err(Error::io("read", &f))?;
        if dragnet_ingest::pcap::is_capture(&raw) {
            read_capture(&f, &raw, &mut decoder, &mut t)?;
            continue;
        }
        if netflow {
            match decoder.decode("files", &raw) {
                Ok(packet) => {
                    t.without_template += packet.without_template;
                    let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    for (i, flow) in packet.flows.iter().enumerate() {
                        t.conns.push(flow.to_conn(format!("{name}#{i}"), packet.export_time));
                    }
                    t.files += 1;
                }
                Err(e) => {
                    t.notes.push(format!("{}: {e}", f.display()));
                    t.rejected_lines += 1;
                }
            }
            continue;
        }
        let bytes = zeek::decompress(&raw).map_err(|e| Error::invalid(format!("{}: {e}", f.display())))?;
        let located = |e: dragnet_core::FileError| Error::invalid(format!("{}:{e}", f.display()));
        if suricata::is_eve(&bytes) {
            let eve = suricata::read_eve(&bytes).map_err(located)?;
            for r in &eve.rejects {
                t.notes.push(format!("{}:{}: {}", f.display(), r.line, r.reason));
            }
            t.rejected_lines += eve.rejects.len();
            t.files += 1;
            t.conns.extend(eve.conns);
            t.names.extend(eve.names);
            t.dns.extend(eve.dns);
            t.alerts.extend(eve.alerts);
            t.links.extend(eve.links);
            continue;
        }
        let rejects = match zeek::log_path(&bytes).as_deref() {
            Some("conn") => {
                let log = zeek::read_conn(&bytes).map_err(located)?;
                t.conns.extend(log.conns);
                log.rejects
            }
            Some(path @ ("ssl" | "http")) => {
                let (names, rejects) = zeek::read_names(&bytes).map_err(located)?;
                t.names.extend(names);
                if path == "ssl" {
                    t.links.extend(zeek::read_links(&bytes).map_err(located)?.0);
                }
                rejects
            }
            Some("dns") => {
                let (queries, rejects) = zeek::read_dns(&bytes).map_err(located)?;
                t.dns.extend(queries);
                t.links.extend(zeek::read_links(&bytes).map_err(located)?.0);
                rejects
            }
            Some("x509") => {
                let (links, rejects) = zeek::read_links(&bytes).map_err(located)?;
                t.links.extend(links);
                rejects
            }
            Some(_) => continue,
            None => {
                t.notes
                    .push(format!("{}: not Suricata EVE nor a Zeek conn, dns, http or ssl log, skipped", f.display()));
                continue;
            }
        };
        for r in &rejects {
            t.notes.push(format!("{}:{}: {}", f.display(), r.line, r.reason));
        }
        t.rejected_lines += rejects.len();
        t.files += 1;
    }
    if t.without_template > 0 {
        let note = format!(
            "{} NetFlow/IPFIX data sets came before their exporter's template and were not decoded{}",
            t.without_template,
            if decoder.templates_refused() > 0 {
                format!("; {} templates were refused (the template cache is full)", decoder.templates_refused())
            } else {
                String::new()
            }
        );
        t.notes.push(note);
    }
    Ok(t)
}

/// A capture file of export packets: each UDP datagram is decoded with the
/// templates of its exporter (source address); datagrams that are not
/// NetFlow/IPFIX are counted and reported once.
fn read_capture(path: &Path, raw: &[u8], decoder: &mut netflow::Decoder, t: &mut Telemetry) -> Result<()> {
    let capture = dragnet_ingest::pcap::read(raw).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut refused = 0;
    let mut first_error = None;
    for (i, d) in capture.datagrams.iter().enumerate() {
        match decoder.decode(&d.src.to_string(), d.payload) {
            Ok(packet) => {
                t.without_template += packet.without_template;
                for (j, flow) in packet.flows.iter().enumerate() {
                    t.conns.push(flow.to_conn(format!("{name}#{i}.{j}"), packet.export_time));
                }
            }
            Err(e) => {
                refused += 1;
                first_error.get_or_insert_with(|| format!("datagram {} from {}: {e}", i + 1, d.src));
            }
        }
    }
    if let Some(e) = first_error {
        t.notes.push(format!("{}: {refused} datagrams were not NetFlow/IPFIX, the first: {e}", path.display()));
    }
    t.rejected_lines += refused;
    t.files += 1;
    Ok(())
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
    pub accepted: u64,
    pub new: u64,
    pub new_observables: u64,
    pub links: u64,
    pub new_links: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Lines and files that could not be used.
    #[serde(skip)]
    pub notes: Notes,
}

/// Contacts with values other sources already reported: every external
/// address connected to, server name and DNS name asked for is looked up,
/// and each one found becomes a sighting of the stored value by this sensor.
fn sightings(store: &mut dyn Store, t: &Telemetry, filter: &Filter, me: &str) -> Result<Vec<Record>> {
    #[derive(Default)]
    struct Seen {
        contacts: usize,
        hosts: BTreeSet<IpAddr>,
        first: i64,
        last: i64,
    }
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut note = |value: String, src: IpAddr, ts: f64| {
        let t = ts.trunc() as i64;
        let s = seen.entry(value).or_insert_with(|| Seen { first: t, last: t, ..Default::default() });
        s.contacts += 1;
        s.hosts.insert(src);
        s.first = s.first.min(t);
        s.last = s.last.max(t);
    };
    for c in &t.conns {
        if filter.internal.contains(c.src) && !filter.internal.contains(c.dst) && !filter.never.contains(c.dst) {
            note(c.dst.to_string(), c.src, c.ts);
        }
    }
    for n in &t.names {
        note(n.name.clone(), n.src, n.ts);
    }
    for q in &t.dns {
        note(q.query.clone(), q.src, q.ts);
    }
    let mut out = Vec::new();
    for (value, s) in seen {
        let Ok(observable) = Observable::guess(&value) else { continue };
        let hits: Vec<_> = store.lookup(&observable)?.into_iter().filter(|h| h.source != me).collect();
        let Some(first_hit) = hits.first() else { continue };
        let known_sources: BTreeSet<&str> = hits.iter().map(|h| h.source.as_str()).collect();
        let category = first_hit.observation.category;
        let evidence = serde_json::json!({
            "detector": "sighting", "value": value, "matched": first_hit.matched.value(), "via": first_hit.via,
            "known_sources": known_sources, "contacts": s.contacts,
            "hosts": s.hosts.iter().take(5).collect::<Vec<_>>(),
        });
        let tags = vec!["sighting".to_string()];
        out.extend(finding(&value, category, s.first, s.last, tags, evidence));
    }
    Ok(out)
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
    let t = args.sensor.read(args.format == TelemetryFormat::Netflow)?;
    let beacon_cfg = Config {
        strobe_threshold: args.strobe_threshold,
        long_connection_seconds: args.long_connection_seconds,
        ..args.scoring.config()?
    };
    let report = analyze(&t.conns, &t.names, &filter, &beacon_cfg);
    let found_scans = scans(&t.conns, &filter, &ScanConfig { threshold: args.scan_threshold, ..ScanConfig::default() });
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
    let sighted = sightings(store, &t, &filter, &args.source)?;
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
    let origin = args.sensor.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ");
    let mut file = FileReport { path: origin.clone(), accepted: records.len() as u64, ..Default::default() };
    if !records.is_empty() || !t.links.is_empty() {
        job.write(store, &format!("telemetry:{origin}"), records, &[], &t.links, &mut file);
    }
    let out = TelemetryReport {
        source: wanted.name,
        connections: t.conns.len(),
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
        accepted: file.accepted,
        new: file.new,
        new_observables: file.new_observables,
        links: file.links,
        new_links: file.new_links,
        error: file.error.clone(),
        notes: t.notes,
    };
    Ok(out)
}
