//! `dragnet export`: a package, or the servers an organisation may see, as a
//! STIX 2.1 bundle, a MISP event or X-ARF reports; or what is still live as
//! a blocklist for a defender's tool (`docs/protect.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_engine::export::xarf::Reporter;
use dragnet_engine::export::{self, Format, Shared};
use dragnet_engine::lookup::Context;
use dragnet_engine::{blocklist, packages};

#[derive(clap::Args)]
pub struct Args {
    /// stix (a STIX 2.1 bundle), misp (a MISP event) or xarf (XARF v4
    /// abuse reports, one per server, one a line); or a blocklist: plain,
    /// cidr, csv, jsonl, hosts, adblock, nftables, ipset, suricata,
    /// suricata-categories, mikrotik or rpz.
    #[arg(long)]
    format: String,
    #[command(flatten)]
    selection: Selection,
    /// Export this package (`dragnet package list`).
    #[arg(long, conflicts_with = "viewer")]
    package: Option<i64>,
    /// Export every server this organisation may see (default: all, as the operator).
    #[arg(long = "for", value_name = "ORG")]
    viewer: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// XARF: the reporting organisation.
    #[arg(long, env = "DRAGNET_REPORTER_ORG")]
    reporter_org: Option<String>,
    /// XARF: the reporter's abuse e-mail address.
    #[arg(long, env = "DRAGNET_REPORTER_CONTACT")]
    reporter_contact: Option<String>,
    /// XARF: the reporter's domain.
    #[arg(long, env = "DRAGNET_REPORTER_DOMAIN")]
    reporter_domain: Option<String>,
}

/// Which entries a blocklist holds and how it names itself: `dragnet
/// export`'s options, and `dragnet fleet export`'s.
#[derive(clap::Args)]
pub struct Selection {
    /// Blocklists: leave out what is marked stricter than this TLP.
    #[arg(long)]
    tlp_max: Option<String>,
    /// Blocklists: only these categories (repeat, or comma-separated).
    #[arg(long)]
    category: Vec<String>,
    /// Blocklists: only values scoring at least this (0–100).
    #[arg(long)]
    min_score: Option<u8>,
    /// Blocklists: the firewall set or address list's name (default dragnet).
    #[arg(long)]
    name: Option<String>,
    /// rpz: the zone's name (default rpz.dragnet).
    #[arg(long)]
    zone: Option<String>,
}

impl Selection {
    /// As the engine (and a fleet job) takes it.
    pub fn engine(&self, format: &str) -> blocklist::Selection {
        blocklist::Selection {
            format: format.to_string(),
            tlp_max: self.tlp_max.clone(),
            categories: self.category.clone(),
            min_score: self.min_score,
            name: self.name.clone(),
            zone: self.zone.clone(),
        }
    }
}

pub fn run(store: &mut dyn Store, data: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    if let Ok(format) = args.format.parse::<blocklist::Format>() {
        return blocklist(store, data, args, format);
    }
    let format: Format = args.format.parse().map_err(|_| {
        anyhow::anyhow!("--format {}: expected stix, misp, xarf, {}", args.format, blocklist::Format::NAMES)
    })?;
    let reporter = match (&args.reporter_org, &args.reporter_contact, &args.reporter_domain) {
        (Some(org), Some(contact), Some(domain)) => {
            Some(Reporter { org: org.clone(), contact: contact.clone(), domain: domain.clone() })
        }
        _ => None,
    };
    let text = match args.package {
        Some(id) => {
            let Some(record) = store.package(id)? else {
                anyhow::bail!("no package {id}; `dragnet package list` lists them")
            };
            let package = packages::read(&record)?;
            export::write(format, &export::of_package(&package), reporter.as_ref())?
        }
        None => {
            let ctx = Context::load(store, data)?;
            let scope = crate::lookup::scope(store, args.viewer.as_deref())?;
            let now = dragnet_engine::now();
            let servers = dragnet_engine::servers::compute(store, &ctx, &scope, now, true)?;
            let values: Vec<serde_json::Value> =
                servers.views.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
            let who = args.viewer.as_deref().unwrap_or("operator");
            let shared = Shared {
                title: format!("Dragnet servers as {who} sees them"),
                key: format!("servers:{who}:{now}"),
                created: now,
                servers: values.iter().map(|v| (v, &[][..])).collect(),
            };
            export::write(format, &shared, reporter.as_ref())?
        }
    };
    match &args.out {
        Some(path) => std::fs::write(path, text + "\n")?,
        None => println!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn blocklist(store: &mut dyn Store, data: &Path, args: &Args, format: blocklist::Format) -> anyhow::Result<ExitCode> {
    if args.package.is_some() {
        anyhow::bail!("a blocklist is of what is live now: --package goes with stix, misp and xarf");
    }
    let request = args.selection.engine(format.name()).request()?;
    let ctx = Context::load(store, data)?;
    let scope = crate::lookup::scope(store, args.viewer.as_deref())?;
    let written = blocklist::export(store, &ctx, &scope, dragnet_engine::now(), &request)?;
    match &args.out {
        // Written aside and renamed, so a tool reading the file never sees half of it.
        Some(path) => {
            let part = path.with_extension("part");
            std::fs::write(&part, &written.text)?;
            std::fs::rename(&part, path)?;
        }
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(written.text.as_bytes())?;
        }
    }
    eprintln!("{} lines written, {} values the format cannot hold left out", written.lines, written.skipped);
    Ok(ExitCode::SUCCESS)
}
