//! `dragnet-bench`: measures parse and durable-ingest rates, Zeek and
//! NetFlow decoding, beacon analysis and the prefix index on generated
//! inputs (`docs/benchmarks.md`). A binary of its own, so the counting
//! allocator its memory figures need never runs in production.

mod alloc;
mod dnsbl;
mod measure;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

#[derive(Parser)]
#[command(name = "dragnet-bench", version, about = "Measure Dragnet's parse, ingest and analysis rates")]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    args: measure::Args,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match measure::run(&cli.args, cli.json) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
