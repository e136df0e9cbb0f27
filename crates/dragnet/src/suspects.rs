//! `dragnet suspect` and `dragnet retention`: suspects' minimal records,
//! seen by their agency only, and their erasure when retention ends.

use std::path::Path;
use std::process::ExitCode;

use dragnet_core::access::Role;
use dragnet_core::{Store, format_timestamp};
use dragnet_engine::access::{Scope, Who};
use dragnet_engine::suspects::{self, NewSuspect};

use crate::lookup::parse_at;
use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum SuspectCommand {
    /// Record a suspect: as little as the case needs.
    Add {
        #[arg(long = "op", value_name = "OPERATION")]
        operation: String,
        /// The owning agency: nobody else sees the record.
        #[arg(long)]
        agency: String,
        #[arg(long)]
        alias: String,
        /// ISO 3166 code.
        #[arg(long)]
        nationality: Option<String>,
        #[arg(long, default_value = "")]
        role: String,
        /// Erased by `dragnet retention apply` after this date.
        #[arg(long, value_parser = parse_at)]
        retain_until: i64,
        /// Record as an analyst of this agency.
        #[arg(long = "as", value_name = "ORG")]
        actor: Option<String>,
    },
    /// The suspects of an agency (`--as AGENCY`), or all to the operator.
    List {
        #[arg(long = "as", value_name = "ORG")]
        viewer: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum RetentionCommand {
    /// Erase every suspect whose retention date has passed.
    Apply {
        /// As if it were this time (default: now).
        #[arg(long, value_parser = parse_at)]
        now: Option<i64>,
    },
}

pub fn suspect(
    store: &mut dyn Store,
    audit_key: &Path,
    command: SuspectCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        SuspectCommand::Add { operation, agency, alias, nationality, role, retain_until, actor } => {
            let scope = match actor {
                Some(name) => Scope::load(store, Who::Org { name, role: Role::Analyst, token: 0 })?,
                None => crate::audit::operator(),
            };
            let new = NewSuspect { operation, agency, alias, nationality, role, retain_until };
            let kept = suspects::add(store, &scope, &new, dragnet_engine::now())?;
            crate::audit::checkpoint(store, audit_key)?;
            if json {
                print_json(&kept)?;
            } else {
                println!(
                    "suspect {} recorded for {}, kept until {}",
                    kept.id,
                    kept.agency,
                    format_timestamp(kept.retain_until)
                );
            }
        }
        SuspectCommand::List { viewer } => {
            let scope = crate::lookup::scope(store, viewer.as_deref())?;
            let all = suspects::list(store, &scope)?;
            if json {
                print_json(&all)?;
            } else {
                for s in &all {
                    println!(
                        "{:>5}  {:<16} {:<20} {:<4} {:<16} until {}",
                        s.id,
                        s.agency,
                        s.alias,
                        s.nationality.as_deref().unwrap_or("-"),
                        s.role,
                        format_timestamp(s.retain_until)
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn retention(
    store: &mut dyn Store,
    audit_key: &Path,
    command: RetentionCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Apply { now } = command;
    let erased = suspects::apply_retention(store, &crate::audit::operator(), now.unwrap_or_else(dragnet_engine::now))?;
    crate::audit::checkpoint(store, audit_key)?;
    if json {
        let ids: Vec<i64> = erased.iter().map(|s| s.id).collect();
        print_json(&serde_json::json!({ "erased": ids }))?;
    } else {
        println!("{} suspects erased", erased.len());
    }
    Ok(ExitCode::SUCCESS)
}
