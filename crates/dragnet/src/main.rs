//! The `dragnet` command: arguments in, the engine's use cases called,
//! their reports printed as text or JSON. No use case lives here.

mod access;
mod audit;
mod collect;
mod config;
mod decisions;
mod demo;
mod evaluate;
mod evidence;
mod export;
mod fleet;
mod geo;
mod ingest;
mod lookup;
mod notices;
mod operations;
mod output;
mod packages;
mod probe;
mod serve;
mod servers;
mod simulate;
mod suspects;
mod takedown;
mod taxii;
mod telemetry;
mod warninglists;

use std::path::PathBuf;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dragnet_store::Location;

#[derive(Parser)]
#[command(
    name = "dragnet",
    version,
    about = "Coordinated takedowns of malicious infrastructure, from partner feeds to verified offline"
)]
struct Cli {
    /// Data directory of the embedded store.
    #[arg(long, global = true, env = "DRAGNET_DATA", default_value = "./dragnet-data")]
    data: PathBuf,
    /// Use this store instead of the embedded one: a postgres:// URL.
    #[arg(long, global = true, env = "DRAGNET_STORE", hide_env_values = true)]
    store: Option<String>,
    /// Seconds a writer waits for another process's write to the embedded
    /// store before giving up (readers never wait).
    #[arg(long, global = true, env = "DRAGNET_BUSY_TIMEOUT", default_value_t = 300)]
    busy_timeout: u64,
    /// Configuration file (JSON: `scoring`, `clustering`); default
    /// `DATA/config.json` when it exists.
    #[arg(long, global = true, env = "DRAGNET_CONFIG")]
    config: Option<PathBuf>,
    /// The ed25519 seed that signs the audit log's tree heads (made on first
    /// use, readable by its owner only); default `DATA/audit.key`.
    #[arg(long, global = true, env = "DRAGNET_AUDIT_KEY")]
    audit_key: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest feed files or folders (a folder ingests every file in it; a
    /// folder with manifest.json is read as a MISP feed).
    Ingest(ingest::Args),
    /// Hand files to the worker fleet on NATS JetStream: a job each, run by
    /// `dragnet worker` (exit status 75 when the queue is full: retry later).
    Submit(fleet::SubmitArgs),
    /// Run jobs from the fleet's queue on this store until stopped.
    Worker(fleet::WorkerArgs),
    /// The worker fleet's queue and dead letters.
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// Look values up (IP, CIDR, domain, URL, hash, e-mail, ASN).
    Lookup(lookup::Args),
    /// Show how each value's score comes about: every observation's part.
    Explain(lookup::ExplainArgs),
    /// Import and list warninglists (values never to serve, route or export).
    #[command(subcommand)]
    Warninglist(warninglists::Command),
    /// Servers: the store's IPs, domains and URLs joined by shared
    /// certificates, resolutions and URL hosts, scored and enriched.
    Servers(servers::ListArgs),
    /// One server with its members, artifacts and the evidence that joined them.
    Server(servers::ShowArgs),
    /// Compare the store with a simulated operation's truth.json: precision
    /// and recall of flagged values, pairwise agreement of servers and clusters.
    Evaluate(evaluate::Args),
    /// Print the configuration in force (scoring and clustering knobs).
    Config,
    /// Offline IP enrichment data (ASN, organisation, country).
    #[command(subcommand)]
    Geo(geo::Command),
    /// List sources with their default grade and TLP and their activity.
    Sources,
    /// Counts by kind, category, source and TLP.
    Stats,
    /// Show stored rejects (input that could not be used), newest first.
    Rejects(output::RejectsArgs),
    /// Score beaconing in Zeek conn logs the way RITA v5 does.
    Beacons(telemetry::BeaconArgs),
    /// Run every detector over partner telemetry and store the findings as
    /// observations of that partner's source.
    Telemetry(telemetry::TelemetryArgs),
    /// Receive telemetry from the network (NetFlow/IPFIX over UDP).
    #[command(subcommand)]
    Collect(collect::Collect),
    /// Write a synthetic operation (partners' feeds, sensor logs with planted
    /// beacons, truth.json) to a folder; deterministic for a seed.
    Simulate(simulate::Args),
    /// Organisations: coordinators, partners, agencies (with their jurisdiction), the public.
    #[command(subcommand)]
    Org(access::OrgCommand),
    /// API tokens of organisations, each with a role.
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// Set whose source this is and who receives its data (TLP recipients).
    Share(access::ShareArgs),
    /// Route servers to agencies by hand, or list what is routed to one.
    #[command(subcommand)]
    Route(packages::RouteCommand),
    /// Agencies' packages: what each must act on, version by version.
    #[command(subcommand)]
    Package(packages::PackageCommand),
    /// Takedowns: where each server stands in the lifecycle, its history, moves.
    #[command(subcommand)]
    Takedown(takedown::TakedownCommand),
    /// Operations: open one with its participants, list, show.
    #[command(subcommand)]
    Op(operations::OpCommand),
    /// Case actions: what agencies did in an operation (house searches, arrests, seizures, …).
    #[command(subcommand)]
    Action(operations::ActionCommand),
    /// Suspects: minimal records, seen by their agency only.
    #[command(subcommand)]
    Suspect(suspects::SuspectCommand),
    /// Data retention: erase what is kept past its date.
    #[command(subcommand)]
    Retention(suspects::RetentionCommand),
    /// Evidence files kept by content, with their custody chain.
    #[command(subcommand)]
    Evidence(evidence::Command),
    /// An operation's report: takedowns, countries, partners, what is still online.
    Report(operations::ReportArgs),
    /// Hosting providers' abuse desks, by ASN or prefix.
    #[command(subcommand)]
    Contacts(notices::ContactsCommand),
    /// Takedown requests: X-ARF reports e-mailed to abuse desks.
    #[command(subcommand)]
    Notice(notices::NoticeCommand),
    /// The verification prober: is each actioned server really offline?
    #[command(subcommand)]
    Probe(probe::Command),
    /// The tamper-evident audit log: checkpoint, verify, proof, log, key.
    #[command(subcommand)]
    Audit(audit::Command),
    /// A package, or the servers an organisation may see, as STIX 2.1, MISP
    /// or XARF; or a blocklist of what is still live (docs/protect.md).
    Export(export::Args),
    /// The decision stream (ban this address, network or domain until then):
    /// every standing decision, or what changed since a cursor.
    Decisions(decisions::Args),
    /// TAXII 2.1 client: pull a remote collection into a source.
    #[command(subcommand)]
    Taxii(taxii::Command),
    /// Serve the REST API (OpenAPI at /api/v1/openapi.json) until SIGTERM.
    Serve(serve::Args),
    /// A whole takedown operation, simulated end to end, with its report
    /// (`--feeds`: the bundled demo feeds and a few lookups).
    Demo(demo::Args),
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `dragnet … | head` closes stdout early; like other command-line tools,
/// end quietly (status 141, as for SIGPIPE) instead of reporting a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if dragnet_engine::panic_message(info.payload()).contains("Broken pipe") {
            audit::flush_at_exit();
            std::process::exit(141);
        }
        default(info);
    }));
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    dragnet_engine::config::init(cli.config.as_deref(), &cli.data)?;
    let location = Location::choose(cli.store.as_deref(), &cli.data)?;
    let busy = std::time::Duration::from_secs(cli.busy_timeout);
    let open_within = |memory| {
        dragnet_store::open_with(&location, busy, memory)
            .with_context(|| format!("opening the store {}", location.display()))
    };
    let open = || open_within(dragnet_store::Memory::Mapped);
    // The bulk writers: their memory stays flat whatever the input's size.
    let open_lean = || open_within(dragnet_store::Memory::Lean);
    let audit_key = cli.audit_key.clone().unwrap_or_else(|| cli.data.join("audit.key"));
    {
        let (location, key) = (location.clone(), audit_key.clone());
        audit::on_exit(move || {
            let open = || Ok(dragnet_store::open_with(&location, busy, dragnet_store::Memory::Lean)?);
            if let Err(e) = audit::log_reads(open, &key) {
                eprintln!("error: the command's reads were not logged: {e:#}");
            }
        });
    }
    let done = match cli.command {
        Command::Ingest(args) => ingest::run(&mut *open_lean()?, &cli.data, &args, cli.json),
        Command::Submit(args) => fleet::submit(&args, cli.json),
        Command::Worker(args) => fleet::worker(open_lean()?, &cli.data, &audit_key, &args, cli.json),
        Command::Fleet(c) => fleet::fleet(&c, cli.json),
        Command::Lookup(args) => lookup::run(&mut *open()?, &cli.data, &args, cli.json),
        Command::Geo(c) => geo::run(&cli.data, &c, cli.json),
        Command::Explain(args) => lookup::explain_values(&mut *open()?, &cli.data, &args, cli.json),
        Command::Serve(args) => serve::run(location.clone(), &cli.data, &audit_key, busy, &args),
        Command::Export(args) => export::run(&mut *open()?, &cli.data, &args),
        Command::Decisions(args) => decisions::run(&mut *open()?, &cli.data, &args),
        Command::Taxii(c) => taxii::run(&mut *open()?, &c, cli.json),
        Command::Route(c) => packages::route(&mut *open()?, &cli.data, c, cli.json),
        Command::Package(c) => packages::package(&mut *open()?, &cli.data, c, cli.json),
        Command::Takedown(c) => takedown::run(&mut *open()?, &cli.data, &audit_key, c, cli.json),
        Command::Op(c) => operations::op(&mut *open()?, &audit_key, c, cli.json),
        Command::Action(c) => operations::action(&mut *open()?, &audit_key, c, cli.json),
        Command::Suspect(c) => suspects::suspect(&mut *open()?, &audit_key, c, cli.json),
        Command::Retention(c) => suspects::retention(&mut *open()?, &audit_key, c, cli.json),
        Command::Evidence(c) => evidence::run(&mut *open()?, &cli.data, &audit_key, c, cli.json),
        Command::Report(args) => operations::report(&mut *open()?, &cli.data, &args),
        Command::Contacts(c) => notices::contacts(&mut *open()?, c, cli.json),
        Command::Notice(c) => notices::notice(&mut *open()?, &cli.data, &audit_key, c, cli.json),
        Command::Probe(c) => probe::run(&mut *open()?, &cli.data, &audit_key, c, cli.json),
        Command::Audit(c) => audit::run(&mut *open()?, &audit_key, c, cli.json),
        Command::Org(c) => access::org(&mut *open()?, c, cli.json),
        Command::Token(c) => access::token(&mut *open()?, c, cli.json),
        Command::Share(args) => access::share(&mut *open()?, &args, cli.json),
        Command::Warninglist(c) => warninglists::run(&mut *open()?, &c, cli.json),
        Command::Servers(args) => servers::list(&mut *open()?, &cli.data, &args, cli.json),
        Command::Server(args) => servers::show(&mut *open()?, &cli.data, &args, cli.json),
        Command::Config => config::show(),
        Command::Evaluate(args) => evaluate::run(&mut *open()?, &cli.data, &args, cli.json),
        Command::Sources => output::sources(&mut *open()?, cli.json),
        Command::Stats => output::stats(&mut *open()?, cli.json),
        Command::Rejects(args) => output::rejects(&mut *open()?, &args, cli.json),
        Command::Demo(args) => demo::run(&mut *open()?, &cli.data, &location.display(), &args, cli.json),
        Command::Collect(c) => collect::run(&c),
        Command::Simulate(args) => simulate::run(&args, cli.json),
        Command::Beacons(args) => telemetry::beacons(&args, cli.json),
        Command::Telemetry(args) => telemetry::run(&mut *open_lean()?, &args, cli.json),
    };
    // Reads are logged even when the command failed after making them.
    audit::log_reads(open, &audit_key)?;
    done
}
