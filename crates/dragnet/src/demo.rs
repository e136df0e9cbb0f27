//! `dragnet demo`: the engine's demo, printed as it goes.

use std::process::ExitCode;

use dragnet_core::Store;

use crate::lookup::print_answer;
use crate::output::print_json;

pub fn run(store: &mut dyn Store, location: &str, json: bool) -> anyhow::Result<ExitCode> {
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
