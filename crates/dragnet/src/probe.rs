//! `dragnet probe`: the verification prober, round after round, and what
//! it found for a server.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use dragnet_core::{Store, format_timestamp};
use dragnet_engine::lookup::Context;
use dragnet_engine::probe::{self, Config};

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Probe every server whose takedown was actioned or verified: a
    /// server silent for --offline-after rounds in a row is verified
    /// offline, one verified offline that answers has reappeared.
    Run {
        #[command(flatten)]
        round: RoundArgs,
        /// Rounds to run.
        #[arg(long, default_value_t = 1)]
        rounds: u32,
        /// Pause between rounds (30s, 15m, 1h).
        #[arg(long, default_value = "60s", value_parser = crate::taxii::parse_duration)]
        every: Duration,
    },
    /// What the prober found for a server, newest first.
    Results {
        server: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// How one round probes: `dragnet probe run`'s, and `dragnet fleet probe`'s.
#[derive(clap::Args)]
pub struct RoundArgs {
    /// Only the servers of this operation's categories.
    #[arg(long = "op", value_name = "OPERATION")]
    pub operation: Option<String>,
    #[arg(long, default_value_t = 3)]
    offline_after: u32,
    /// Ports to probe (TLS is tried on 443, 8443, 465, 993, 995).
    #[arg(long, value_delimiter = ',', default_value = "80,443")]
    ports: Vec<u16>,
    /// Seconds a connection or an answer may take.
    #[arg(long, default_value_t = 3)]
    timeout: u64,
    /// Probes at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// New connections a second to one /24 (or /48).
    #[arg(long, default_value_t = 10)]
    rate_per_network: u32,
    /// Connect somewhere else for an address and port, keeping the
    /// results under the address (a lab stand-in): `ADDR:PORT=ADDR:PORT`.
    #[arg(long = "connect-to", value_name = "FROM=TO")]
    connect_to: Vec<String>,
    /// Probe nothing that has no --connect-to rule (a lab or a demo).
    #[arg(long)]
    mapped_only: bool,
    /// Also probe these addresses (one address or network per line, at
    /// most 65,536 in all) for the certificates of servers taken down:
    /// one that shows such a certificate joins that server.
    #[arg(long, value_name = "FILE")]
    pub candidates: Option<std::path::PathBuf>,
}

impl RoundArgs {
    /// The settings as a fleet job carries them (the candidates go as a payload).
    pub fn settings(&self) -> probe::Settings {
        probe::Settings {
            ports: self.ports.clone(),
            timeout_seconds: self.timeout,
            concurrency: self.concurrency,
            rate_per_network: self.rate_per_network,
            offline_after: self.offline_after,
            connect_to: self.connect_to.clone(),
            mapped_only: self.mapped_only,
        }
    }

    /// The round's configuration, the candidates file read (refused as
    /// `dragnet probe run` refuses it, also before a fleet job is queued).
    pub fn config(&self) -> anyhow::Result<Config> {
        self.config_with(self.candidates_file()?.as_ref())
    }

    /// The `--candidates` file's name and text, when one is given.
    pub fn candidates_file(&self) -> anyhow::Result<Option<(String, String)>> {
        let Some(path) = &self.candidates else { return Ok(None) };
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        Ok(Some((path.display().to_string(), text)))
    }

    /// The round's configuration with the candidates file already read.
    pub fn config_with(&self, candidates: Option<&(String, String)>) -> anyhow::Result<Config> {
        let candidates = match candidates {
            Some((name, text)) => probe::parse_candidates(name, text)?,
            None => Vec::new(),
        };
        Ok(self.settings().config(candidates)?)
    }
}

pub fn run(
    store: &mut dyn Store,
    data: &Path,
    audit_key: &Path,
    command: Command,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { round: args, rounds, every } => {
            let (config, operation) = (args.config()?, args.operation);
            let ctx = Context::load(store, data)?;
            for n in 1..=rounds.max(1) {
                let round = probe::round(
                    store,
                    &ctx,
                    &crate::audit::operator(),
                    dragnet_engine::now(),
                    operation.as_deref(),
                    &config,
                )?;
                crate::audit::checkpoint(store, audit_key)?;
                if json {
                    print_json(&round)?;
                } else {
                    println!(
                        "round {n}: {} servers, {} probes: {} answered, {} silent; verified offline: {}; reappeared: {}",
                        round.servers,
                        round.probes,
                        round.answered.len(),
                        round.silent.len(),
                        list(&round.verified_offline),
                        list(&round.reappeared)
                    );
                    for moved in &round.moved {
                        println!("  {} reappeared: {}", moved.server, moved.evidence);
                    }
                }
                if n < rounds {
                    std::thread::sleep(every);
                }
            }
        }
        Command::Results { server, limit } => {
            let results = store.probe_results(&server, limit)?;
            if json {
                print_json(&results)?;
            } else {
                for r in &results {
                    let what = match (r.connected, &r.certificate, r.http_status) {
                        (false, _, _) => format!("silent ({})", r.error.as_deref().unwrap_or("-")),
                        (true, Some(c), _) => match &r.ja3s {
                            Some(ja3s) => format!("answers, certificate {c}, JA3S {ja3s}"),
                            None => format!("answers, certificate {c}"),
                        },
                        (true, None, Some(s)) => format!("answers HTTP {s}"),
                        (true, None, None) => "accepts connections".to_string(),
                    };
                    println!("{}  {}:{}  {what}", format_timestamp(r.at), r.address, r.port);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(servers: &[String]) -> String {
    if servers.is_empty() { "-".to_string() } else { servers.join(", ") }
}
