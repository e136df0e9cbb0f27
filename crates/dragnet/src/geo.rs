//! `dragnet geo import`: offline IP → ASN / organisation / country data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

pub fn run(data: &Path, command: &Command, json: bool) -> anyhow::Result<ExitCode> {
    let Command::Import { paths } = command;
    let imported = dragnet_engine::geo::import(data, paths)?;
    if json {
        print_json(&imported)?;
    } else {
        println!(
            "{} ASN ranges and {} country ranges now in {}",
            imported.asn_ranges,
            imported.country_ranges,
            imported.file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
