//! `dragnet beacons` prints RITA-compatible beacon scores; `dragnet
//! telemetry` runs every detector over a partner's logs and stores the
//! findings. The work is the engine's; this is arguments and printing.

use std::path::PathBuf;
use std::process::ExitCode;

use dragnet_core::{Grade, Store, Tlp};
use dragnet_engine::telemetry::{self as engine, BeaconScoring, Notes, TelemetryReport};

use crate::output::print_json;

/// Where the logs are and what is inside the sensor's network.
#[derive(clap::Args)]
pub struct Sensor {
    /// Zeek log files or folders (conn, dns, ssl and http logs are read,
    /// others skipped) and Suricata EVE JSON files, recognised by content.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The sensor's internal networks, comma-separated (default: RFC 1918 and fd00::/8).
    #[arg(long, value_delimiter = ',')]
    internal: Vec<String>,
    /// Also score external → internal connections (servers on the internal side).
    #[arg(long)]
    inbound: bool,
    /// Read the files as NetFlow v5/v9/IPFIX export packets, one per file,
    /// templates before data (name order).
    #[arg(long)]
    netflow: bool,
    /// Only the connections of share I of N, by a hash of the source
    /// address, as one of N workers takes them (`--partition 0/3`); share 0
    /// also runs the DNS, name and alert detectors.
    #[arg(long, value_name = "I/N", value_parser = parse_partition)]
    partition: Option<engine::Partition>,
}

fn parse_partition(s: &str) -> Result<engine::Partition, String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}`: give I/N, as 0/3"))?;
    let number = |x: &str| x.trim().parse::<u32>().map_err(|_| format!("`{s}`: give I/N, as 0/3"));
    engine::Partition::new(number(i)?, number(n)?).map_err(|e| e.to_string())
}

impl Sensor {
    fn engine(&self) -> engine::Sensor {
        engine::Sensor {
            paths: self.paths.clone(),
            internal: self.internal.clone(),
            inbound: self.inbound,
            netflow: self.netflow,
            partition: self.partition,
        }
    }
}

/// RITA's beacon scoring knobs, with RITA v5's defaults.
#[derive(clap::Args, Clone)]
pub struct Scoring {
    /// A pair needs at least this many distinct connection times (RITA: 4).
    #[arg(long, default_value_t = BeaconScoring::default().unique_connections)]
    unique_connections: usize,
    /// Histogram: a bucket within this fraction of the mode counts as modal (RITA: 0.05).
    #[arg(long, default_value_t = BeaconScoring::default().histogram_mode_sensitivity)]
    histogram_mode_sensitivity: f64,
    /// Histogram: outliers removed before the bimodal test (RITA: 1).
    #[arg(long, default_value_t = BeaconScoring::default().histogram_bimodal_outliers)]
    histogram_bimodal_outliers: usize,
    /// Histogram: hours a pair must be seen in for the bimodal test (RITA: 11).
    #[arg(long, default_value_t = BeaconScoring::default().histogram_bimodal_min_hours)]
    histogram_bimodal_min_hours: usize,
    /// Duration: hours a pair must be seen in to get a duration score (RITA: 6).
    #[arg(long, default_value_t = BeaconScoring::default().duration_min_hours)]
    duration_min_hours: usize,
    /// Duration: hours seen that give full consistency (RITA: 12).
    #[arg(long, default_value_t = BeaconScoring::default().duration_ideal_hours)]
    duration_ideal_hours: usize,
    /// Weights of the timestamp, data-size, duration and histogram subscores,
    /// comma-separated, summing to 1 (RITA: 0.25 each).
    #[arg(long, value_delimiter = ',', default_values_t = BeaconScoring::default().weights)]
    weights: Vec<f64>,
    /// MiB of connection times held for beacon scoring; past it they are
    /// written to temporary files (under TMPDIR) and scored a share of the
    /// pairs at a time, so memory does not grow with the logs.
    #[arg(long, value_name = "MIB", default_value_t = engine::DEFAULT_BEACON_MEMORY >> 20)]
    beacon_memory: usize,
}

impl Scoring {
    fn engine(&self) -> BeaconScoring {
        BeaconScoring {
            unique_connections: self.unique_connections,
            histogram_mode_sensitivity: self.histogram_mode_sensitivity,
            histogram_bimodal_outliers: self.histogram_bimodal_outliers,
            histogram_bimodal_min_hours: self.histogram_bimodal_min_hours,
            duration_min_hours: self.duration_min_hours,
            duration_ideal_hours: self.duration_ideal_hours,
            weights: self.weights.clone(),
            memory: self.beacon_memory.saturating_mul(1 << 20),
        }
    }
}

#[derive(clap::Args)]
pub struct BeaconArgs {
    #[command(flatten)]
    sensor: Sensor,
    #[command(flatten)]
    scoring: Scoring,
    /// Show at most this many pairs (0 = all).
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// Lines and files that could not be used, on standard error.
pub fn print_notes(notes: &Notes) {
    for n in &notes.kept {
        eprintln!("{n}");
    }
    if notes.dropped > 0 {
        eprintln!("… and {} more like these", notes.dropped);
    }
}

pub fn beacons(args: &BeaconArgs, json: bool) -> anyhow::Result<ExitCode> {
    let out = engine::beacons(&args.sensor.engine(), &args.scoring.engine(), args.limit)?;
    print_notes(&out.notes);
    if json {
        print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} connections from {} files, window {} – {}",
        out.connections,
        out.files,
        out.window_start.as_deref().unwrap_or("-"),
        out.window_end.as_deref().unwrap_or("-")
    );
    print_spilled(out.spilled_connections);
    println!("{:>6} {:>6} {:>6} {:>6} {:>6} {:>7}  {:<39} dst", "score", "ts", "ds", "dur", "hist", "count", "src");
    for b in &out.beacons {
        println!(
            "{:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>7}  {:<39} {}",
            b.score, b.ts_score, b.ds_score, b.dur_score, b.hist_score, b.count, b.src, b.dst
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn defaults() -> engine::Request {
    engine::Request::new(String::new())
}

#[derive(clap::Args)]
pub struct TelemetryArgs {
    #[command(flatten)]
    sensor: Sensor,
    #[command(flatten)]
    scoring: Scoring,
    /// The telemetry partner; created on first use.
    #[arg(long)]
    source: String,
    /// auto, zeek or suricata (each file is recognised by its content), or
    /// netflow (export packets, like --netflow).
    #[arg(long, default_value = "auto")]
    format: String,
    /// Store beacons scoring at least this (RITA's "low" threshold is 0.7).
    #[arg(long, default_value_t = defaults().beacon_threshold)]
    beacon_threshold: f64,
    /// A pair with at least this many connections in the window is a strobe (RITA: 86400).
    #[arg(long, default_value_t = defaults().strobe_threshold)]
    strobe_threshold: usize,
    /// A pair whose connections add up to this many seconds is a long connection (RITA: 3600).
    #[arg(long, default_value_t = defaults().long_connection_seconds)]
    long_connection_seconds: f64,
    /// A scan needs more than this many ports or hosts in a window (Slips: 5).
    #[arg(long, default_value_t = defaults().scan_threshold)]
    scan_threshold: usize,
    /// Unique names under one registrable domain that make a DNS tunnel (RITA: 100).
    #[arg(long, default_value_t = defaults().dns_tunnel_names)]
    dns_tunnel_names: usize,
    /// NXDOMAIN answers per host per hour that make a burst (Slips: 10).
    #[arg(long, default_value_t = defaults().nxdomain_threshold)]
    nxdomain_threshold: usize,
    /// Admiralty grade for these findings; also the default of a new source.
    #[arg(long)]
    grade: Option<Grade>,
    /// TLP floor for these findings; also the default of a new source.
    #[arg(long)]
    tlp: Option<Tlp>,
}

impl TelemetryArgs {
    fn request(&self) -> anyhow::Result<engine::Request> {
        Ok(engine::Request {
            sensor: self.sensor.engine(),
            scoring: self.scoring.engine(),
            source: self.source.clone(),
            format: self.format.parse()?,
            beacon_threshold: self.beacon_threshold,
            strobe_threshold: self.strobe_threshold,
            long_connection_seconds: self.long_connection_seconds,
            scan_threshold: self.scan_threshold,
            dns_tunnel_names: self.dns_tunnel_names,
            nxdomain_threshold: self.nxdomain_threshold,
            grade: self.grade,
            tlp: self.tlp,
            origin: None,
        })
    }
}

pub fn run(store: &mut dyn Store, args: &TelemetryArgs, json: bool) -> anyhow::Result<ExitCode> {
    let out = engine::detect(store, &args.request()?)?;
    print_notes(&out.notes);
    if json {
        print_json(&out)?;
    } else {
        print_report(&out, args.beacon_threshold);
    }
    if let Some(notice) = dragnet_engine::warninglists::none_loaded(store)? {
        eprintln!("note: {notice}");
    }
    if let Some(e) = &out.error {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(out: &TelemetryReport, beacon_threshold: f64) {
    println!(
        "{}: {} connections, {} DNS queries from {} files → {} beacons ≥ {}, {} scans, {} strobes, \
         {} long connections, {} DNS tunnels, {} NXDOMAIN bursts, {} IDS alerts, {} sightings of known-bad values; {} findings stored ({} new), {} links ({} new)",
        out.source,
        out.connections,
        out.dns_queries,
        out.files,
        out.beacons,
        beacon_threshold,
        out.scans,
        out.strobes,
        out.long_connections,
        out.dns_tunnels,
        out.nxdomain_bursts,
        out.alerts,
        out.sightings,
        out.accepted,
        out.new,
        out.links,
        out.new_links
    );
    print_spilled(out.spilled_connections);
}

/// Says when beacon scoring outgrew its memory and used temporary files.
fn print_spilled(connections: usize) {
    if connections > 0 {
        eprintln!("beacon scoring wrote {connections} connection times to temporary files (past --beacon-memory)");
    }
}
