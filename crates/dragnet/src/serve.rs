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
    /// Print the OpenAPI document and exit.
    #[arg(long)]
    openapi: bool,
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
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(dragnet_server::serve(config))?;
    Ok(ExitCode::SUCCESS)
}
