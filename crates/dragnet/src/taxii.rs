//! `dragnet taxii pull`: a remote TAXII 2.1 collection into a source.

use std::process::ExitCode;
use std::time::Duration;

use dragnet_core::store::Source;
use dragnet_core::{Grade, Store, Tlp};
use dragnet_engine::taxii_pull::{Pull, pull};

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Fetch what a remote collection added since the last pull and ingest it.
    Pull(PullArgs),
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// The remote API root, e.g. https://taxii.example.org/api1/.
    api_root: String,
    #[arg(long)]
    collection: String,
    /// The source the objects become observations of; created on first use.
    #[arg(long)]
    source: String,
    /// Bearer token for the remote server.
    #[arg(long, env = "DRAGNET_TAXII_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Objects a page.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Pull again after this long (e.g. 30s, 15m, 1h), until stopped.
    #[arg(long, value_parser = parse_duration)]
    every: Option<Duration>,
    /// TLP of a new source.
    #[arg(long, default_value = "amber")]
    tlp: Tlp,
    /// Admiralty grade of a new source.
    #[arg(long)]
    grade: Option<Grade>,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.trim().split_at(s.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(s.trim().len()));
    let n: u64 = number.parse().map_err(|_| format!("`{s}` is not a duration like 30s, 15m, 1h"))?;
    if unit == "ms" {
        return Ok(Duration::from_millis(n.max(1)));
    }
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}` is not a duration like 30s, 15m, 1h")),
    };
    Ok(Duration::from_secs(seconds.max(1)))
}

pub fn run(store: &mut dyn Store, command: &Command, json: bool) -> anyhow::Result<ExitCode> {
    let Command::Pull(args) = command;
    let wanted = Source { name: args.source.clone(), grade: args.grade.unwrap_or(Grade::UNGRADED), tlp: args.tlp };
    loop {
        let source = dragnet_engine::ingest::stored_or(store, &wanted)?;
        let request = Pull {
            api_root: &args.api_root,
            collection: &args.collection,
            source,
            token: args.token.as_deref(),
            limit: args.limit,
        };
        let pulled = pull(store, &request)?;
        if json {
            print_json(&pulled)?;
        } else {
            let written = pulled.report.as_ref().map_or(String::new(), |r| {
                format!(": {} accepted, {} new, {} rejected", r.accepted, r.new, r.rejected)
            });
            println!(
                "{} objects in {} pages since {}{written}",
                pulled.objects,
                pulled.pages,
                pulled.added_after.as_deref().unwrap_or("the start")
            );
        }
        if let Some(e) = pulled.report.as_ref().and_then(|r| r.error.as_ref()) {
            eprintln!("error: {e}");
            if args.every.is_none() {
                return Ok(ExitCode::FAILURE);
            }
        }
        match args.every {
            Some(wait) => std::thread::sleep(wait),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
}
