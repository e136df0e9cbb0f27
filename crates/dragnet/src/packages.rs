//! `dragnet route` and `dragnet package`: which agency acts on which
//! server, and the packages that tell each agency what to act on.

use std::path::Path;
use std::process::ExitCode;

use dragnet_core::{Store, format_timestamp};
use dragnet_engine::lookup::Context;
use dragnet_engine::packages::{self, Package};

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum RouteCommand {
    /// Route a server to an agency by hand, whatever its jurisdiction says.
    Add {
        /// The server id (`srv-…`).
        server: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
    },
    /// Keep a server out of an agency's packages, whatever its jurisdiction says.
    Remove {
        server: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
    },
    /// The servers routed to an agency now, with why.
    List {
        #[arg(long = "for")]
        agency: String,
        /// Route as of this time (RFC 3339 or a date) instead of now.
        #[arg(long, value_parser = crate::lookup::parse_at)]
        at: Option<i64>,
    },
}

#[derive(clap::Subcommand)]
pub enum PackageCommand {
    /// Build an agency's next package: its servers as it may see them, and
    /// what changed since its last one.
    Build {
        #[arg(long = "for")]
        agency: String,
        /// Build as of this time (RFC 3339 or a date) instead of now.
        #[arg(long, value_parser = crate::lookup::parse_at)]
        at: Option<i64>,
    },
    /// Packages, newest first.
    List {
        #[arg(long = "for")]
        agency: Option<String>,
    },
    /// One package with its servers and evidence.
    Show { id: i64 },
}

pub fn route(store: &mut dyn Store, data: &Path, command: RouteCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        RouteCommand::Add { server, to, reason } => by_hand(store, &server, &to, true, &reason, json),
        RouteCommand::Remove { server, to, reason } => by_hand(store, &server, &to, false, &reason, json),
        RouteCommand::List { agency, at } => {
            let ctx = Context::load(store, data)?;
            let routed = packages::routed(store, &ctx, &agency, at.unwrap_or_else(dragnet_engine::now))?;
            if json {
                print_json(&routed)?;
            } else {
                for p in &routed {
                    println!("{}  {}", p.server["id"].as_str().unwrap_or_default(), p.why.join("; "));
                }
                println!("{} servers routed to {agency}", routed.len());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn by_hand(
    store: &mut dyn Store,
    server: &str,
    to: &str,
    add: bool,
    reason: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let routing = packages::route_by_hand(store, server, to, add, reason, "operator")?;
    if json {
        print_json(&routing)?;
    } else {
        println!("{} {} {}: {}", server, if add { "routed to" } else { "kept out of" }, to, routing.reason);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn package(store: &mut dyn Store, data: &Path, command: PackageCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        PackageCommand::Build { agency, at } => {
            let ctx = Context::load(store, data)?;
            let (record, package) = packages::build(store, &ctx, &agency, at.unwrap_or_else(dragnet_engine::now))?;
            if json {
                print_json(&serde_json::json!({"id": record.id, "package": package}))?;
            } else {
                print_summary(record.id, &package);
            }
        }
        PackageCommand::List { agency } => {
            let listed = store.packages(agency.as_deref())?;
            if json {
                print_json(&listed)?;
            } else {
                for p in &listed {
                    println!(
                        "{:>5}  {:<20} v{:<3} {}  {:>5} servers  TLP:{}",
                        p.id,
                        p.org,
                        p.version,
                        format_timestamp(p.created),
                        p.servers,
                        p.tlp.map_or("-".into(), |t| t.as_str().to_uppercase())
                    );
                }
            }
        }
        PackageCommand::Show { id } => {
            let Some(record) = store.package(id)? else {
                anyhow::bail!("no package {id}; `dragnet package list` lists them")
            };
            let package = packages::read(&record)?;
            if json {
                print_json(&package)?;
            } else {
                print_summary(id, &package);
                for p in &package.servers {
                    let s = &p.server;
                    let list = |k: &str| {
                        s[k].as_array()
                            .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(","))
                            .unwrap_or_default()
                    };
                    println!(
                        "  {}  score {}  {} {}  ({})",
                        s["id"].as_str().unwrap_or_default(),
                        s["score"],
                        list("ips"),
                        list("domains"),
                        p.why.join("; ")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(id: i64, p: &Package) {
    println!(
        "package {id}: {} v{} built {}, {} servers, TLP:{}",
        p.agency,
        p.version,
        p.created,
        p.servers.len(),
        p.tlp.map_or("-".into(), |t| t.as_str().to_uppercase())
    );
    let c = &p.changes;
    match c.previous_version {
        Some(v) => {
            println!("  since v{v}: {} added, {} removed, {} changed", c.added.len(), c.removed.len(), c.changed.len())
        }
        None => println!("  first package: {} servers", c.added.len()),
    }
}
