//! Plain listings: sources, stats and rejects, as text or JSON.

use std::process::ExitCode;

use dragnet_core::{Store, format_timestamp};

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn sources(store: &mut dyn Store, json: bool) -> anyhow::Result<ExitCode> {
    let sources = store.sources()?;
    if json {
        print_json(&sources)?;
    } else if sources.is_empty() {
        println!("no sources yet: `dragnet ingest PATH --source NAME` creates one");
    } else {
        println!("{:<24} {:<6} {:<13} {:>12} {:>9}  last ingest", "source", "grade", "tlp", "observations", "rejects");
        for s in sources {
            println!(
                "{:<24} {:<6} {:<13} {:>12} {:>9}  {}",
                s.source.name,
                s.source.grade.to_string(),
                format!("TLP:{}", s.source.tlp.as_str().to_uppercase()),
                s.observations,
                s.rejects,
                s.last_ingest.map(format_timestamp).unwrap_or_else(|| "-".into())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats(store: &mut dyn Store, json: bool) -> anyhow::Result<ExitCode> {
    let stats = store.stats()?;
    if json {
        print_json(&stats)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} observables, {} observations from {} sources, {} rejects",
        stats.observables, stats.observations, stats.sources, stats.rejects
    );
    for (title, counts) in [
        ("observables by kind", &stats.observables_by_kind),
        ("observations by category", &stats.observations_by_category),
        ("observations by source", &stats.observations_by_source),
        ("observations by TLP", &stats.observations_by_tlp),
    ] {
        println!("\n{title}:");
        for (k, v) in counts {
            println!("  {k:<24} {v:>10}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct RejectsArgs {
    /// Only this source's rejects.
    #[arg(long)]
    source: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

pub fn rejects(store: &mut dyn Store, args: &RejectsArgs, json: bool) -> anyhow::Result<ExitCode> {
    let rejects = store.rejects(args.source.as_deref(), args.limit)?;
    if json {
        print_json(&rejects)?;
    } else {
        for r in &rejects {
            let field = r.reject.field.as_deref().map(|f| format!(" [{f}]")).unwrap_or_default();
            println!(
                "{}:{}{}: {} ({})\n    {}",
                r.origin, r.reject.line, field, r.reject.reason, r.source, r.reject.raw
            );
        }
        if rejects.is_empty() {
            println!("no rejects");
        }
    }
    Ok(ExitCode::SUCCESS)
}
