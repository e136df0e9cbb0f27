//! `dragnet takedown`: where each server's takedown stands, its history,
//! and moving servers on through the lifecycle.

use std::path::Path;
use std::process::ExitCode;

use dragnet_core::access::Role;
use dragnet_core::takedown::State;
use dragnet_core::{Store, format_timestamp};
use dragnet_engine::access::{Scope, Who};
use dragnet_engine::lookup::Context;
use dragnet_engine::takedown::{self, Move, Selection};

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Query {
    /// Only servers whose takedown is in this state.
    #[arg(long)]
    state: Option<State>,
    /// Only servers with an address in this country (ISO 3166 code).
    #[arg(long)]
    country: Option<String>,
    /// Only servers scoring at least this (0–100).
    #[arg(long, default_value_t = 0)]
    min_score: u8,
}

impl Query {
    fn selection(&self) -> Selection {
        Selection { state: self.state, country: self.country.clone(), min_score: self.min_score }
    }

    fn is_empty(&self) -> bool {
        self.state.is_none() && self.country.is_none() && self.min_score == 0
    }
}

#[derive(clap::Subcommand)]
pub enum TakedownCommand {
    /// Servers and where their takedowns stand.
    List {
        #[command(flatten)]
        query: Query,
        /// As this organisation would see them.
        #[arg(long = "as", value_name = "ORG")]
        viewer: Option<String>,
    },
    /// One server's takedown, where it may go next, and every move so far.
    Show {
        server: String,
        #[arg(long = "as", value_name = "ORG")]
        viewer: Option<String>,
    },
    /// Move servers on: those named, or every server the query selects.
    Set {
        /// Server ids (`srv-…`); none: every server the query selects.
        servers: Vec<String>,
        /// The state to move them to.
        #[arg(long)]
        to: State,
        /// Why (kept with the move).
        #[arg(long)]
        reason: String,
        /// What shows it: a ticket, a message id, a file's SHA-256.
        #[arg(long, default_value = "")]
        evidence: String,
        #[command(flatten)]
        query: Query,
        /// Act as an analyst of this organisation (an agency moves only the
        /// servers of its latest package).
        #[arg(long = "as", value_name = "ORG")]
        actor: Option<String>,
    },
}

pub fn run(
    store: &mut dyn Store,
    data: &Path,
    audit_key: &Path,
    command: TakedownCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let ctx = Context::load(store, data)?;
    let now = dragnet_engine::now();
    match command {
        TakedownCommand::List { query, viewer } => {
            let scope = crate::lookup::scope(store, viewer.as_deref())?;
            let rows = takedown::list(store, &ctx, &scope, now, &query.selection())?;
            if json {
                print_json(&rows)?;
            } else {
                println!(
                    "{:<22} {:<17} {:>5}  {:<8} {:<20} ips / domains",
                    "server", "state", "score", "cc", "updated"
                );
                for r in &rows {
                    let values: Vec<&str> = r.ips.iter().chain(&r.domains).map(String::as_str).take(3).collect();
                    println!(
                        "{:<22} {:<17} {:>5}  {:<8} {:<20} {}",
                        r.server,
                        r.state.as_str(),
                        r.score,
                        r.countries.join(","),
                        r.updated.as_deref().unwrap_or("-"),
                        values.join(" ")
                    );
                }
                println!("{} servers", rows.len());
            }
        }
        TakedownCommand::Show { server, viewer } => {
            let scope = crate::lookup::scope(store, viewer.as_deref())?;
            let shown = takedown::show(store, &ctx, &scope, now, &server)?;
            if json {
                print_json(&shown)?;
            } else {
                println!("{}  {}  score {}", shown.row.server, shown.row.state, shown.row.score);
                let next: Vec<&str> = shown.next.iter().map(|s| s.as_str()).collect();
                println!("may go to: {}", next.join(", "));
                for e in &shown.history {
                    println!("{}  {} → {}  by {}: {}", format_timestamp(e.at), e.from, e.to, e.by, e.reason);
                    if !e.evidence.is_empty() {
                        println!("    evidence: {}", e.evidence);
                    }
                }
            }
        }
        TakedownCommand::Set { servers, to, reason, evidence, query, actor } => {
            let scope = match actor {
                Some(org) => Scope::load(store, Who::Org { name: org, role: Role::Analyst, token: 0 })?,
                None => crate::audit::operator(),
            };
            let servers = match (servers.is_empty(), query.is_empty()) {
                (false, true) => servers,
                (true, false) => takedown::list(store, &ctx, &scope, now, &query.selection())?
                    .into_iter()
                    .map(|r| r.server)
                    .collect(),
                (false, false) => {
                    anyhow::bail!("name servers or give a query (--state, --country, --min-score), not both")
                }
                (true, true) => anyhow::bail!("name servers, or select them with --state, --country or --min-score"),
            };
            let moved = takedown::set(store, &ctx, &scope, now, &Move { servers, to, reason, evidence })?;
            crate::audit::checkpoint(store, audit_key)?;
            if json {
                print_json(&moved)?;
            } else {
                for e in &moved {
                    println!("{}  {} → {}", e.server, e.from, e.to);
                }
                println!("{} servers moved to {to}", moved.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
