//! `dragnet beacons`: RITA-compatible beacon scores of the connections in
//! Zeek conn logs (plain or gzip, TSV or JSON, files or folders).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use dragnet_analytics::beacon::{Config, analyze};
use dragnet_analytics::filter::{DEFAULT_INTERNAL, Filter};
use dragnet_core::format_timestamp;
use dragnet_core::telemetry::{Conn, NamedConn};
use dragnet_ingest::zeek;
use serde::Serialize;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// Zeek log files or folders: conn, ssl and http logs are read, others skipped.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The sensor's internal networks, comma-separated (default: RFC 1918 and fd00::/8).
    #[arg(long, value_delimiter = ',')]
    internal: Vec<String>,
    /// Also score external → internal connections (servers on the internal side).
    #[arg(long)]
    inbound: bool,
    /// Show at most this many pairs (0 = all).
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Serialize)]
struct Output {
    window_start: Option<String>,
    window_end: Option<String>,
    connections: usize,
    rejected_lines: usize,
    files: usize,
    beacons: Vec<dragnet_analytics::beacon::Beacon>,
}

fn files_under(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            files_under(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// What the Zeek logs under some paths hold, for the detectors.
pub struct Telemetry {
    pub conns: Vec<Conn>,
    pub names: Vec<NamedConn>,
    pub rejected_lines: usize,
    pub files: usize,
}

/// Reads every conn, ssl and http log under `paths`; other logs are skipped,
/// files that are not Zeek logs are reported and skipped.
pub fn read_telemetry(paths: &[PathBuf]) -> anyhow::Result<Telemetry> {
    let mut files = Vec::new();
    for p in paths {
        files_under(p, &mut files)?;
    }
    let mut t = Telemetry { conns: Vec::new(), names: Vec::new(), rejected_lines: 0, files: 0 };
    for f in files {
        let raw = std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
        let bytes = zeek::decompress(&raw).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        let located = |e: dragnet_core::FileError| anyhow::anyhow!("{}:{e}", f.display());
        let rejects = match zeek::log_path(&bytes).as_deref() {
            Some("conn") => {
                let log = zeek::read_conn(&bytes).map_err(located)?;
                t.conns.extend(log.conns);
                log.rejects
            }
            Some("ssl" | "http") => {
                let (names, rejects) = zeek::read_names(&bytes).map_err(located)?;
                t.names.extend(names);
                rejects
            }
            Some(_) => continue,
            None => {
                eprintln!("{}: not a Zeek log, skipped", f.display());
                continue;
            }
        };
        for r in &rejects {
            eprintln!("{}:{}: {}", f.display(), r.line, r.reason);
        }
        t.rejected_lines += rejects.len();
        t.files += 1;
    }
    Ok(t)
}

pub fn run(args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    let internal: Vec<String> = if args.internal.is_empty() {
        DEFAULT_INTERNAL.iter().map(|s| s.to_string()).collect()
    } else {
        args.internal.clone()
    };
    let mut filter = Filter::with_internal(&internal).map_err(|e| anyhow::anyhow!("--internal: {e}"))?;
    filter.keep_external_to_internal = args.inbound;
    let t = read_telemetry(&args.paths)?;
    if t.conns.is_empty() && t.names.is_empty() {
        anyhow::bail!("no Zeek conn, ssl or http log with data found under the given paths");
    }
    let report = analyze(&t.conns, &t.names, &filter, &Config::default());
    let window = report.window;
    let mut beacons: Vec<_> = report.ip.into_iter().chain(report.fqdn).collect();
    beacons.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.count.cmp(&a.count)));
    if args.limit > 0 {
        beacons.truncate(args.limit);
    }
    let out = Output {
        window_start: window.map(|w| format_timestamp(w.min)),
        window_end: window.map(|w| format_timestamp(w.max)),
        connections: t.conns.len(),
        rejected_lines: t.rejected_lines,
        files: t.files,
        beacons,
    };
    if json {
        print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} connections from {} Zeek logs, window {} – {}",
        out.connections,
        out.files,
        out.window_start.as_deref().unwrap_or("-"),
        out.window_end.as_deref().unwrap_or("-")
    );
    println!("{:>6} {:>6} {:>6} {:>6} {:>6} {:>7}  {:<39} dst", "score", "ts", "ds", "dur", "hist", "count", "src");
    for b in &out.beacons {
        println!(
            "{:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>7}  {:<39} {}",
            b.score, b.ts_score, b.ds_score, b.dur_score, b.hist_score, b.count, b.src, b.dst
        );
    }
    Ok(ExitCode::SUCCESS)
}
