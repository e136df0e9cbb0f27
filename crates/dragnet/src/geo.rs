//! `dragnet geo import`: offline IP → ASN / organisation / country data,
//! checked whole, then swapped in atomically (written beside, then renamed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use dragnet_analytics::geo::{GeoIndex, is_mmdb, parse_mmdb, parse_ranges};

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Replace the enrichment data with these files: MaxMind DB files (ASN,
    /// Country, City) or range files (`start,end,asn,org` or `start,end,CC`;
    /// addresses or IPv4 integers).
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

const FILE: &str = "geo/ranges.csv";

/// The enrichment index of the data directory; empty when none was imported.
pub fn load(data: &Path) -> anyhow::Result<GeoIndex> {
    let path = data.join(FILE);
    if !path.is_file() {
        return Ok(GeoIndex::default());
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let facts = parse_ranges(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    Ok(GeoIndex::build(facts))
}

pub fn run(data: &Path, command: &Command, json: bool) -> anyhow::Result<ExitCode> {
    let Command::Import { paths } = command;
    let (asn, country, target) = import(data, paths)?;
    if json {
        print_json(
            &serde_json::json!({"asn_ranges": asn, "country_ranges": country, "file": target.display().to_string()}),
        )?;
    } else {
        println!("{asn} ASN ranges and {country} country ranges now in {}", target.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the index from `paths` and swaps it in; returns the ASN and
/// country range counts and the file written.
pub fn import(data: &Path, paths: &[PathBuf]) -> anyhow::Result<(usize, usize, PathBuf)> {
    let mut facts = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        let parsed = if is_mmdb(&bytes) {
            parse_mmdb(&bytes).map_err(|e| anyhow::anyhow!("{}: {}; nothing was imported", p.display(), e.why))?
        } else {
            let text = std::str::from_utf8(&bytes).map_err(|e| {
                anyhow::anyhow!(
                    "{}: neither a MaxMind DB nor a text range file ({e}); nothing was imported",
                    p.display()
                )
            })?;
            parse_ranges(text).map_err(|e| anyhow::anyhow!("{}:{e}; nothing was imported", p.display()))?
        };
        facts.extend(parsed);
    }
    let index = GeoIndex::build(facts);
    let target = data.join(FILE);
    let dir = target.parent().unwrap_or(data);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let staging = dir.join("ranges.csv.new");
    std::fs::write(&staging, index.to_lines()).with_context(|| format!("cannot write {}", staging.display()))?;
    std::fs::rename(&staging, &target).with_context(|| format!("cannot replace {}", target.display()))?;
    let (asn, country) = index.len();
    Ok((asn, country, target))
}
