//! `dragnet servers` and `dragnet server ID`: the engine's servers, listed
//! or shown one at a time.

use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_engine::servers::{ServerView, compute, find};

use crate::output::print_json;
use dragnet_engine::lookup::Context;

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only servers scoring at least this (0–100).
    #[arg(long, default_value_t = 0)]
    min_score: u8,
    /// Only servers with an address in this country (ISO 3166 code).
    #[arg(long)]
    country: Option<String>,
    /// Print at most this many servers (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Score as of this time (RFC 3339 or a date) instead of now.
    #[arg(long, value_parser = crate::lookup::parse_at)]
    at: Option<i64>,
    /// Show what this organisation would be shown (only what it may see).
    #[arg(long = "as", value_name = "ORG")]
    viewer: Option<String>,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// A server id (`srv-…`), or any IP, domain or URL of the server.
    id: String,
    /// Score as of this time (RFC 3339 or a date) instead of now.
    #[arg(long, value_parser = crate::lookup::parse_at)]
    at: Option<i64>,
    /// Show what this organisation would be shown (only what it may see).
    #[arg(long = "as", value_name = "ORG")]
    viewer: Option<String>,
}

fn context(store: &mut dyn Store, data: &std::path::Path) -> anyhow::Result<Context> {
    let ctx = Context::load(store, data)?;
    crate::warninglists::print_unusable(&ctx.unusable);
    Ok(ctx)
}

pub fn list(store: &mut dyn Store, data: &std::path::Path, args: &ListArgs, json: bool) -> anyhow::Result<ExitCode> {
    let ctx = context(store, data)?;
    if let Some(notice) = dragnet_engine::warninglists::none_loaded(store)? {
        eprintln!("note: {notice}");
    }
    let scope = crate::lookup::scope(store, args.viewer.as_deref())?;
    let all = compute(store, &ctx, &scope, args.at.unwrap_or_else(dragnet_engine::now), false)?;
    let country = args.country.as_deref().map(str::to_ascii_uppercase);
    let mut shown: Vec<&ServerView> = all
        .views
        .iter()
        .filter(|v| v.score >= args.min_score)
        .filter(|v| country.as_ref().is_none_or(|c| v.countries.contains(c)))
        .collect();
    if args.limit > 0 {
        shown.truncate(args.limit);
    }
    if json {
        print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} servers in {} infrastructure clusters ({} warninglisted values left out); showing {}",
        all.views.len(),
        all.clustering.clusters.len(),
        all.warninglisted.len(),
        shown.len()
    );
    println!(
        "{:<16} {:>5}  {:<4} {:<28} {:<30} {:<22} sources",
        "server", "score", "cc", "ips", "domains", "categories"
    );
    for v in shown {
        let list = |items: &[String], width: usize| {
            let text = items.join(",");
            if text.chars().count() > width {
                format!("{}…", text.chars().take(width - 1).collect::<String>())
            } else {
                text
            }
        };
        let categories: Vec<String> = v.categories.iter().map(|c| c.as_str().to_string()).collect();
        println!(
            "{:<16} {:>5}  {:<4} {:<28} {:<30} {:<22} {}",
            v.id,
            v.score,
            list(&v.countries, 4),
            list(&v.ips, 28),
            list(&v.domains, 30),
            list(&categories, 22),
            v.sources.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(store: &mut dyn Store, data: &std::path::Path, args: &ShowArgs, json: bool) -> anyhow::Result<ExitCode> {
    let ctx = context(store, data)?;
    let scope = crate::lookup::scope(store, args.viewer.as_deref())?;
    let all = compute(store, &ctx, &scope, args.at.unwrap_or_else(dragnet_engine::now), true)?;
    let Some(v) = find(&all, &args.id) else {
        eprintln!("error: no server `{}`; `dragnet servers` lists them", args.id);
        return Ok(ExitCode::from(2));
    };
    if json {
        print_json(v)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("server {}  (cluster {})  score {}", v.id, v.cluster, v.score);
    println!("  countries   {}", v.countries.join(", "));
    println!("  ASNs        {}", v.asns.join("; "));
    let categories: Vec<&str> = v.categories.iter().map(|c| c.as_str()).collect();
    println!("  categories  {}", categories.join(", "));
    println!("  sources     {}", v.sources.join(", "));
    println!("  seen        {} – {}", v.first_seen.as_deref().unwrap_or("-"), v.last_seen.as_deref().unwrap_or("-"));
    println!("  TLP         {}", v.tlp.map_or("-".to_string(), |t| t.as_str().to_uppercase()));
    println!("members:");
    for m in &v.members {
        println!(
            "  {:<7} {:<44} score {:>3}  {}  {}",
            m.kind.as_str(),
            m.value,
            m.score,
            m.country.as_deref().unwrap_or(""),
            m.sources.join(",")
        );
    }
    if !v.artifacts.is_empty() {
        println!("artifacts:");
        for a in &v.artifacts {
            println!("  {a}");
        }
    }
    println!("evidence:");
    for e in &v.evidence {
        println!("  {} {} {}  [{}]", e.from, e.relation, e.to, e.sources.join(","));
    }
    Ok(ExitCode::SUCCESS)
}
