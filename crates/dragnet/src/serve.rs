//! `dragnet serve`: the REST API and TAXII 2.1 over this store.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use dragnet_engine::export::xarf::Reporter;
use dragnet_engine::notices::Mailer;
use dragnet_store::Location;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest request body in bytes (a submitted feed file).
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    max_body: usize,
    /// Requests a second each token may make, sustained (bursts of twice that).
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// The SMTP relay takedown notices go through (`smtp://host:port`,
    /// `?tls=required` for STARTTLS, or `smtps://`); none: no notices.
    #[arg(long, env = "DRAGNET_SMTP_RELAY", hide_env_values = true, requires_all = ["reporter_org", "reporter_contact", "reporter_domain"])]
    smtp_relay: Option<String>,
    /// Notices: the reporting organisation.
    #[arg(long)]
    reporter_org: Option<String>,
    /// Notices: the reporter's abuse address (their sender).
    #[arg(long)]
    reporter_contact: Option<String>,
    /// Notices: the reporter's domain.
    #[arg(long)]
    reporter_domain: Option<String>,
    /// Queue submissions for the worker fleet on this NATS server instead
    /// of ingesting them here (`dragnet worker` runs them).
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// The worker fleet's queue name.
    #[arg(long, default_value = "dragnet", requires = "nats")]
    queue: String,
    /// Jobs that may wait for workers; a submission past it is answered 429.
    #[arg(long, default_value_t = 10_000, requires = "nats")]
    max_queued: i64,
    /// Also serve DNS (UDP and TCP) on this address: the DNSBL zone, the
    /// response policy zone, or both.
    #[arg(long)]
    dns: Option<SocketAddr>,
    /// The DNSBL zone's name (`dnsbl.example.org`).
    #[arg(long, requires = "dns")]
    dnsbl_zone: Option<String>,
    /// The response policy zone's name (`rpz.example.org`), served by AXFR
    /// and IXFR over TCP.
    #[arg(long, requires = "dns")]
    rpz_zone: Option<String>,
    /// A secondary to send NOTIFY to when the policy zone changes (repeat).
    #[arg(long, value_name = "ADDR", requires = "rpz_zone")]
    notify: Vec<SocketAddr>,
    /// The name server the zone's NS and SOA records name.
    #[arg(long, default_value = "localhost")]
    dns_ns: String,
    /// Answer as this organisation may see (default: the public, TLP:CLEAR
    /// and what was shared with everyone: a DNS zone is read by anyone).
    #[arg(long, value_name = "ORG")]
    dns_as: Option<String>,
    /// Threads reading DNS over UDP (default: one per core).
    #[arg(long)]
    dns_threads: Option<usize>,
    /// The lookup URL a TXT answer gives (`{}` is the address; default this
    /// server's public lookup).
    #[arg(long)]
    lookup_url: Option<String>,
    /// Print the OpenAPI document and exit.
    #[arg(long)]
    openapi: bool,
}

/// Starts the DNSBL on `address` with an index built now, kept current
/// from the store by a thread of its own.
fn start_dns(location: &Location, data: &Path, busy: Duration, address: SocketAddr, args: &Args) -> anyhow::Result<()> {
    use dragnet_engine::access::{Scope, Who};
    let lookup_url =
        args.lookup_url.clone().unwrap_or_else(|| format!("http://{}/api/v1/public/lookup/{{}}", args.listen));
    if lookup_url.len() > 200 {
        anyhow::bail!("--lookup-url: at most 200 characters");
    }
    let mut zones = Vec::new();
    if let Some(name) = &args.dnsbl_zone {
        let Some(zone) = dragnet_dns::Zone::new(name, &args.dns_ns, &lookup_url) else {
            anyhow::bail!("--dnsbl-zone {name} / --dns-ns {}: not valid DNS names", args.dns_ns);
        };
        zones.push(zone);
    }
    if let Some(name) = &args.rpz_zone {
        let Some(zone) = dragnet_dns::Zone::rpz(name, &args.dns_ns) else {
            anyhow::bail!("--rpz-zone {name} / --dns-ns {}: not valid DNS names", args.dns_ns);
        };
        zones.push(zone);
    }
    if zones.is_empty() {
        anyhow::bail!("--dns serves a zone: give --dnsbl-zone, --rpz-zone or both");
    }
    let mut store = dragnet_store::open_waiting(location, busy)?;
    let ctx = dragnet_engine::lookup::Context::load(&mut *store, data)?;
    let scope = match &args.dns_as {
        Some(org) => Scope::of_org(&mut *store, org)?,
        None => Scope::load(&mut *store, Who::Anyone)?,
    };
    let started = std::time::Instant::now();
    let index = dragnet_dns::refresh::build(&mut *store, &ctx, &scope, dragnet_engine::now())?;
    let (entries, ranges, bytes) = (index.entries, index.ranges(), index.bytes());
    let policies = index.rpz.names.len();
    let shared = dragnet_dns::Shared::new(zones, index);
    let threads = args.dns_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let listening = dragnet_dns::serve(address, std::sync::Arc::clone(&shared), threads)?;
    tracing::info!(
        dnsbl = args.dnsbl_zone.as_deref().unwrap_or("-"),
        rpz = args.rpz_zone.as_deref().unwrap_or("-"),
        policies,
        udp = %listening.udp,
        tcp = %listening.tcp,
        entries,
        ranges,
        bytes,
        ms = started.elapsed().as_millis() as u64,
        "serving DNS"
    );
    let secondaries = args.notify.clone();
    dragnet_dns::refresh::keep_current(store, ctx, scope, shared, secondaries, |problem| tracing::error!("{problem}"))?;
    Ok(())
}

pub fn run(
    location: Location,
    data: &Path,
    audit_key: &Path,
    busy_timeout: Duration,
    args: &Args,
) -> anyhow::Result<ExitCode> {
    if args.openapi {
        println!("{}", dragnet_server::openapi_json());
        return Ok(ExitCode::SUCCESS);
    }
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_target(false).init();
    let config = dragnet_server::Config {
        listen: args.listen,
        location,
        data: data.to_path_buf(),
        audit_key: audit_key.to_path_buf(),
        busy_timeout,
        max_body: args.max_body,
        rate: args.rate,
        timeout: Duration::from_secs(args.timeout.max(1)),
        mailer: args.smtp_relay.clone().map(|relay| Mailer {
            relay,
            reporter: Reporter {
                org: args.reporter_org.clone().unwrap_or_default(),
                contact: args.reporter_contact.clone().unwrap_or_default(),
                domain: args.reporter_domain.clone().unwrap_or_default(),
            },
        }),
        fleet: match &args.nats {
            Some(nats) => Some(dragnet_server::Fleet {
                nats: nats.clone(),
                queue: dragnet_fleet::Queue::new(&args.queue, args.max_queued)?,
            }),
            None => None,
        },
    };
    if let Some(address) = args.dns {
        start_dns(&config.location, data, busy_timeout, address, args)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(dragnet_server::serve(config))?;
    Ok(ExitCode::SUCCESS)
}
