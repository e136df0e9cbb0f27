//! `dragnet demo`: a whole simulated operation, printed as it goes; with
//! `--feeds`, the bundled demo feeds and a few lookups.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use dragnet_core::Store;
use dragnet_engine::operation_demo::{self, Options};

use crate::lookup::print_answer;
use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// Only ingest the bundled demo feeds and look a few values up.
    #[arg(long)]
    feeds: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Malicious IP addresses in the simulated world.
    #[arg(long, default_value_t = 3000)]
    ips: usize,
    /// Use only the first N of the simulator's 95 countries.
    #[arg(long)]
    countries: Option<usize>,
}

pub fn run(store: &mut dyn Store, data: &Path, location: &str, args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    if args.feeds {
        return feeds(store, location, json);
    }
    let started = Instant::now();
    if !json {
        println!("A whole takedown operation, simulated, into {location}\n");
    }
    let options = Options { seed: args.seed, ips: args.ips, countries: args.countries };
    let outcome = operation_demo::run(store, data, &options, &mut |what| {
        if !json {
            println!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
        }
    })?;
    if json {
        print_json(&outcome)?;
        return Ok(ExitCode::SUCCESS);
    }
    let t = &outcome.report.totals;
    println!(
        "\n{} of {} identified servers taken offline ({:.1} %), {} verified offline, {} still online; \
         {} house searches, {} arrests, {} servers seized.",
        t.servers_taken_offline,
        t.servers_identified,
        100.0 * t.takedown_rate,
        t.servers_verified_offline,
        t.servers_still_online,
        t.actions.house_searches,
        t.actions.arrests,
        t.actions.servers_seized
    );
    for f in &outcome.report_files {
        println!("report: {}", f.display());
    }
    println!(
        "\nNext: `dragnet report {} --format md`, `dragnet takedown list --state reappeared`, `dragnet audit verify`,\n\
         `dragnet serve`, and the simulator's truth in {}/truth.json.",
        operation_demo::OPERATION,
        outcome.world.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn feeds(store: &mut dyn Store, location: &str, json: bool) -> anyhow::Result<ExitCode> {
    if !json {
        println!("Ingesting the bundled demo feeds into {location}\n");
    }
    let report = dragnet_engine::demo::run(store, location, &mut |source, file| {
        if !json {
            let name = file.path.strip_prefix("demo/").unwrap_or(&file.path);
            println!(
                "  {:<26} {:<10} → {:<18} {:>2} accepted, {:>2} new, {} rejected, {} skipped",
                name,
                file.format.as_deref().unwrap_or("?"),
                source,
                file.accepted,
                file.new,
                file.rejected,
                file.skipped
            );
        }
    })?;
    if json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("\nLooking values up:\n");
    for answer in &report.lookups {
        print_answer(answer);
    }
    println!("\nNext: `dragnet stats`, `dragnet sources`, `dragnet rejects`, `dragnet lookup VALUE`.");
    Ok(ExitCode::SUCCESS)
}
