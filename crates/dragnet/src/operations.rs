//! `dragnet op`, `dragnet action` and `dragnet report`: operations, what
//! agencies did in them, and the operation's report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use dragnet_core::case::ActionKind;
use dragnet_core::{Category, Store, format_timestamp};
use dragnet_engine::access::{Scope, Who};
use dragnet_engine::lookup::Context;
use dragnet_engine::operations::{self, NewAction, NewOperation};
use dragnet_engine::report;

use crate::lookup::parse_at;
use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum OpCommand {
    /// Open an operation.
    Create {
        name: String,
        #[arg(long, value_parser = parse_at)]
        from: i64,
        #[arg(long, value_parser = parse_at)]
        to: i64,
        /// The categories it goes after (repeat); none: all.
        #[arg(long = "scope", value_name = "CATEGORY")]
        scope: Vec<Category>,
        /// An organisation taking part, with its role: `police-ee=agency` (repeat).
        #[arg(long = "participant", value_name = "ORG=ROLE", value_parser = participant)]
        participants: Vec<(String, String)>,
    },
    /// The operations.
    List {
        #[arg(long = "as", value_name = "ORG")]
        viewer: Option<String>,
    },
    /// One operation, its participants and its case actions.
    Show {
        name: String,
        #[arg(long = "as", value_name = "ORG")]
        viewer: Option<String>,
    },
}

fn participant(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((org, role)) if !org.trim().is_empty() && !role.trim().is_empty() => {
            Ok((org.trim().to_string(), role.trim().to_string()))
        }
        _ => Err(format!("`{s}`: give ORG=ROLE, e.g. police-ee=agency")),
    }
}

#[derive(clap::Subcommand)]
pub enum ActionCommand {
    /// Record what an agency did.
    Add {
        #[arg(long = "op", value_name = "OPERATION")]
        operation: String,
        /// house-search, arrest, suspect-identified, under-investigation,
        /// device-seized, server-seized, data-seized or sinkholed.
        #[arg(long)]
        kind: ActionKind,
        #[arg(long)]
        agency: String,
        /// ISO 3166 code of where it happened.
        #[arg(long)]
        country: String,
        #[arg(long, value_parser = parse_at)]
        date: i64,
        /// The server it concerns (`srv-…`).
        #[arg(long)]
        server: Option<String>,
        /// How many (21 house searches are one record of 21).
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Data seized: its size in bytes.
        #[arg(long)]
        bytes: Option<u64>,
        /// Data seized: its SHA-256.
        #[arg(long)]
        sha256: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
        /// Record as an analyst of this organisation.
        #[arg(long = "as", value_name = "ORG")]
        actor: Option<String>,
    },
    /// An operation's case actions.
    List {
        #[arg(long = "op", value_name = "OPERATION")]
        operation: String,
        #[arg(long = "as", value_name = "ORG")]
        viewer: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct ReportArgs {
    operation: String,
    /// md, html or json.
    #[arg(long, default_value = "md")]
    format: String,
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long = "as", value_name = "ORG")]
    viewer: Option<String>,
}

fn actor_scope(store: &mut dyn Store, actor: Option<String>) -> anyhow::Result<Scope> {
    Ok(match actor {
        Some(name) => Scope::load(store, Who::Org { name, role: dragnet_core::access::Role::Analyst, token: 0 })?,
        None => crate::audit::operator(),
    })
}

pub fn op(store: &mut dyn Store, audit_key: &Path, command: OpCommand, json: bool) -> anyhow::Result<ExitCode> {
    let now = dragnet_engine::now();
    match command {
        OpCommand::Create { name, from, to, scope, participants } => {
            let new = NewOperation { name, starts: from, ends: to, scope, participants };
            let op = operations::create(store, &crate::audit::operator(), &new, now)?;
            crate::audit::checkpoint(store, audit_key)?;
            if json {
                print_json(&op)?;
            } else {
                println!("operation {} opened ({} participants)", op.name, op.participants.len());
            }
        }
        OpCommand::List { viewer } => {
            let scope = crate::lookup::scope(store, viewer.as_deref())?;
            let ops = operations::list(store, &scope)?;
            if json {
                print_json(&ops)?;
            } else {
                for op in &ops {
                    println!(
                        "{:<24} {} to {}  {} participants",
                        op.name,
                        format_timestamp(op.starts),
                        format_timestamp(op.ends),
                        op.participants.len()
                    );
                }
            }
        }
        OpCommand::Show { name, viewer } => {
            let scope = crate::lookup::scope(store, viewer.as_deref())?;
            let op = operations::show(store, &scope, &name)?;
            let actions = operations::actions(store, &scope, &name)?;
            let packages = operations::packages(store, &scope, &name)?;
            if json {
                print_json(&serde_json::json!({ "operation": op, "actions": actions, "packages": packages }))?;
            } else {
                println!("{}  {} to {}", op.name, format_timestamp(op.starts), format_timestamp(op.ends));
                let scope: Vec<&str> = op.scope.iter().map(|c| c.as_str()).collect();
                println!("scope: {}", if scope.is_empty() { "all categories".to_string() } else { scope.join(", ") });
                for p in &op.participants {
                    println!("  {} ({})", p.org, p.role);
                }
                for p in &packages {
                    println!("  package {} for {} v{}: {} servers", p.id, p.org, p.version, p.servers);
                }
                println!("{} packages, {} case actions", packages.len(), actions.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn action(store: &mut dyn Store, audit_key: &Path, command: ActionCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        ActionCommand::Add { operation, kind, agency, country, date, server, count, bytes, sha256, note, actor } => {
            let scope = actor_scope(store, actor)?;
            let new =
                NewAction { operation, kind, agency, country, happened: date, server, count, bytes, sha256, note };
            let recorded = operations::record(store, &scope, &new, dragnet_engine::now())?;
            crate::audit::checkpoint(store, audit_key)?;
            if json {
                print_json(&recorded)?;
            } else {
                println!(
                    "recorded: {} × {} by {} in {}",
                    recorded.count, recorded.kind, recorded.agency, recorded.country
                );
            }
        }
        ActionCommand::List { operation, viewer } => {
            let scope = crate::lookup::scope(store, viewer.as_deref())?;
            let actions = operations::actions(store, &scope, &operation)?;
            if json {
                print_json(&actions)?;
            } else {
                for a in &actions {
                    println!(
                        "{}  {:<20} {:>4} × {:<20} {} {}",
                        format_timestamp(a.happened),
                        a.agency,
                        a.count,
                        a.kind.as_str(),
                        a.country,
                        a.server.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn report(store: &mut dyn Store, data: &Path, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let ctx = Context::load(store, data)?;
    let scope = crate::lookup::scope(store, args.viewer.as_deref())?;
    let built = report::build(store, &ctx, &scope, &args.operation, dragnet_engine::now())?;
    let text = match args.format.as_str() {
        "md" | "markdown" => report::markdown::render(&built),
        "html" => report::html::render(&built),
        "json" => serde_json::to_string_pretty(&built)? + "\n",
        other => anyhow::bail!("--format {other}: use md, html or json"),
    };
    match &args.out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
