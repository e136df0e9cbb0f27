//! `dragnet contacts` and `dragnet notice`: hosting providers' abuse desks,
//! and takedown requests sent to them as X-ARF reports by e-mail.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_core::takedown::State;
use dragnet_engine::export::xarf::Reporter;
use dragnet_engine::lookup::Context;
use dragnet_engine::notices::{self, Mailer};
use dragnet_engine::takedown::{self, Selection};
use dragnet_engine::{contacts, now};

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum ContactsCommand {
    /// Import `network,email[,name]` files (network: `AS64500` or a CIDR
    /// prefix), all or nothing; a network already known gets the new address.
    Import { paths: Vec<PathBuf> },
    /// Every abuse contact.
    List,
}

#[derive(clap::Subcommand)]
pub enum NoticeCommand {
    /// E-mail an X-ARF v4 report for each server to the abuse desks of its
    /// networks, and move its takedown to `requested` (the message id is
    /// the evidence).
    Send {
        /// Server ids; none: every server whose takedown is `assigned`.
        servers: Vec<String>,
        /// The SMTP relay: `smtp://host:port`, `smtp://host:port?tls=required`
        /// (STARTTLS) or `smtps://host:port`, with `user:password@` if needed.
        #[arg(long, env = "DRAGNET_SMTP_RELAY", hide_env_values = true)]
        relay: String,
        #[arg(long)]
        reporter_org: String,
        /// The reporter's abuse address: the notices' sender.
        #[arg(long)]
        reporter_contact: String,
        #[arg(long)]
        reporter_domain: String,
    },
}

pub fn contacts(store: &mut dyn Store, command: ContactsCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        ContactsCommand::Import { paths } => {
            let mut total = 0;
            for path in &paths {
                total += contacts::import(store, dragnet_engine::access::OPERATOR, path, now())?;
            }
            if json {
                print_json(&serde_json::json!({ "imported": total }))?;
            } else {
                println!("{total} abuse contacts imported");
            }
        }
        ContactsCommand::List => {
            let all = store.contacts()?;
            if json {
                print_json(&all)?;
            } else {
                for c in &all {
                    println!("{:<20} {:<40} {}", c.network, c.email, c.name);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn notice(
    store: &mut dyn Store,
    data: &Path,
    audit_key: &Path,
    command: NoticeCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let NoticeCommand::Send { servers, relay, reporter_org, reporter_contact, reporter_domain } = command;
    let ctx = Context::load(store, data)?;
    let scope = crate::audit::operator();
    let now = now();
    let servers = if servers.is_empty() {
        let assigned = Selection { state: Some(State::Assigned), ..Selection::default() };
        takedown::list(store, &ctx, &scope, now, &assigned)?.into_iter().map(|r| r.server).collect()
    } else {
        servers
    };
    let mailer =
        Mailer { relay, reporter: Reporter { org: reporter_org, contact: reporter_contact, domain: reporter_domain } };
    let outcome = notices::send(store, &ctx, &scope, now, &servers, &mailer)?;
    crate::audit::checkpoint(store, audit_key)?;
    if json {
        print_json(&outcome)?;
    } else {
        for s in &outcome.sent {
            println!("{}  sent to {}  {}", s.server, s.to.join(", "), s.message_id);
        }
        for f in &outcome.failed {
            eprintln!("{}: not sent: {}", f.server, f.reason);
        }
        println!("{} notices sent, {} failed", outcome.sent.len(), outcome.failed.len());
    }
    Ok(if outcome.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
