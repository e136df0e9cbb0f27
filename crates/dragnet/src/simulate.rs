//! `dragnet simulate`: writes a synthetic operation to a folder.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use dragnet_sim::{Scenario, generate};
use serde::Serialize;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// Folder to write (created; existing files of the same names are replaced).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Malicious IP addresses in all.
    #[arg(long, default_value_t = 30_000)]
    ips: usize,
    /// Use only the first N of the 95 countries.
    #[arg(long)]
    countries: Option<usize>,
    /// Infected hosts beaconing in the sensor's logs.
    #[arg(long, default_value_t = 20)]
    beacons: usize,
}

#[derive(Serialize)]
struct Written {
    out: String,
    servers: usize,
    ips: usize,
    countries: usize,
    beacons: usize,
    false_positives: usize,
    files: Vec<String>,
}

pub fn run(args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    let mut scenario = Scenario { seed: args.seed, ips: args.ips, beacons: args.beacons, ..Scenario::default() };
    if let Some(n) = args.countries {
        anyhow::ensure!((1..=95).contains(&n), "--countries must be between 1 and 95");
        scenario.countries.truncate(n);
    }
    anyhow::ensure!(args.ips > 0, "--ips must be at least 1");
    let (files, truth) = generate(&scenario);
    for (rel, bytes) in &files {
        let path = args.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let countries: std::collections::BTreeSet<&str> = truth.servers.iter().map(|s| s.country.as_str()).collect();
    let written = Written {
        out: args.out.display().to_string(),
        servers: truth.servers.len(),
        ips: truth.servers.iter().map(|s| s.ips.len()).sum(),
        countries: countries.len(),
        beacons: truth.beacons.len(),
        false_positives: truth.false_positives.len(),
        files: files.iter().map(|(p, _)| p.clone()).collect(),
    };
    if json {
        print_json(&written)?;
    } else {
        println!(
            "{}: {} servers with {} IPs in {} countries, {} planted beacons, {} false positives (seed {})",
            written.out,
            written.servers,
            written.ips,
            written.countries,
            written.beacons,
            written.false_positives,
            args.seed
        );
        let out = &written.out;
        println!("next: dragnet ingest {out}   then   dragnet servers");
    }
    Ok(ExitCode::SUCCESS)
}
