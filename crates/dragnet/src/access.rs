//! `dragnet org`, `dragnet token` and `dragnet share`: organisations, their
//! tokens, and who owns and receives each source's data.

use std::process::ExitCode;

use dragnet_core::access::{Org, OrgKind, Role};
use dragnet_core::store::Source;
use dragnet_core::{Grade, Store, Tlp, format_timestamp};
use dragnet_engine::access;

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum OrgCommand {
    /// Add an organisation; an agency's countries, ASNs and prefixes are its jurisdiction.
    Add {
        name: String,
        #[arg(long)]
        kind: OrgKind,
        /// ISO 3166 country code (repeatable).
        #[arg(long = "country")]
        countries: Vec<String>,
        /// Autonomous system number (repeatable).
        #[arg(long = "asn")]
        asns: Vec<u32>,
        /// CIDR (repeatable).
        #[arg(long = "prefix")]
        prefixes: Vec<String>,
        /// An organisation this one names as its client, who may then see
        /// TLP:AMBER it receives (repeatable).
        #[arg(long = "client")]
        clients: Vec<String>,
    },
    /// List the organisations.
    List,
    /// One organisation with its tokens (never their secrets).
    Show { name: String },
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once, alone on standard output.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        role: Role,
        /// Expiry (RFC 3339 or a date).
        #[arg(long, value_parser = crate::lookup::parse_at)]
        expires: Option<i64>,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token by its id.
    Revoke { id: i64 },
}

#[derive(clap::Args)]
pub struct ShareArgs {
    /// The source.
    source: String,
    /// The partner organisation whose source this is.
    #[arg(long)]
    owner: Option<String>,
    /// An organisation, or `kind:coordinator|partner|agency|public`, that
    /// receives this source's data (repeatable; default kind:coordinator).
    #[arg(long = "with")]
    recipients: Vec<String>,
}

pub fn org(store: &mut dyn Store, command: OrgCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        OrgCommand::Add { name, kind, countries, asns, prefixes, clients } => {
            let org = access::add_org(store, Org { name, kind, countries, asns, prefixes, clients }, access::OPERATOR)?;
            if json {
                print_json(&org)?;
            } else {
                println!("added {} ({})", org.name, org.kind);
            }
        }
        OrgCommand::List => {
            let orgs = store.orgs()?;
            if json {
                print_json(&orgs)?;
            } else {
                for o in &orgs {
                    println!("{:<24} {:<12} {}", o.name, o.kind.as_str(), jurisdiction(o));
                }
                if orgs.is_empty() {
                    println!("no organisations yet: `dragnet org add NAME --kind KIND` adds one");
                }
            }
        }
        OrgCommand::Show { name } => {
            let Some(org) = store.orgs()?.into_iter().find(|o| o.name == name) else {
                anyhow::bail!("no organisation `{name}`; `dragnet org list` lists them");
            };
            let tokens: Vec<_> = store.tokens()?.into_iter().filter(|t| t.org == name).collect();
            if json {
                print_json(&serde_json::json!({"org": org, "tokens": tokens}))?;
            } else {
                println!("{} ({})  {}", org.name, org.kind, jurisdiction(&org));
                if !org.clients.is_empty() {
                    println!("  clients: {}", org.clients.join(", "));
                }
                for t in &tokens {
                    print_token(t);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn jurisdiction(o: &Org) -> String {
    let mut parts = Vec::new();
    parts.extend(o.countries.iter().cloned());
    parts.extend(o.asns.iter().map(|a| format!("AS{a}")));
    parts.extend(o.prefixes.iter().cloned());
    parts.join(" ")
}

fn print_token(t: &dragnet_core::store::TokenRecord) {
    let state = match (t.revoked, t.expires) {
        (Some(at), _) => format!("revoked {}", format_timestamp(at)),
        (None, Some(at)) => format!("expires {}", format_timestamp(at)),
        (None, None) => "no expiry".into(),
    };
    println!("  token {:>4}  {}…  {:<10} {:<20} {state}", t.id, t.label, t.role.as_str(), t.org);
}

pub fn token(store: &mut dyn Store, command: TokenCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { org, role, expires } => {
            let (secret, record) = access::create_token(store, access::OPERATOR, &org, role, expires)?;
            // The secret alone on standard output, so `$(dragnet token create …)` captures it.
            println!("{secret}");
            eprintln!("token {} for {} ({}): store it now, it is not shown again", record.id, record.org, record.role);
        }
        TokenCommand::List => {
            let tokens = store.tokens()?;
            if json {
                print_json(&tokens)?;
            } else {
                tokens.iter().for_each(print_token);
            }
        }
        TokenCommand::Revoke { id } => {
            if !access::revoke_token(store, access::OPERATOR, id)? {
                anyhow::bail!("no token {id} that is not already revoked");
            }
            println!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn share(store: &mut dyn Store, args: &ShareArgs, json: bool) -> anyhow::Result<ExitCode> {
    let wanted = Source { name: args.source.trim().to_string(), grade: Grade::UNGRADED, tlp: Tlp::Amber };
    let source = dragnet_engine::ingest::stored_or(store, &wanted)?;
    let recipients =
        if args.recipients.is_empty() { vec!["kind:coordinator".to_string()] } else { args.recipients.clone() };
    access::share_source(store, access::OPERATOR, &source, args.owner.as_deref(), &recipients)?;
    let sharing = store.sharing()?.remove(&source.name).unwrap_or_default();
    if json {
        print_json(&serde_json::json!({"source": source.name, "sharing": sharing}))?;
    } else {
        let recipients: Vec<String> = sharing.recipients.iter().map(ToString::to_string).collect();
        println!(
            "{}: owner {}, given to {}",
            source.name,
            sharing.owner.as_deref().unwrap_or("none"),
            if recipients.is_empty() { "nobody else".into() } else { recipients.join(", ") }
        );
    }
    Ok(ExitCode::SUCCESS)
}
