//! `dragnet submit`, `dragnet worker` and `dragnet fleet`: the worker fleet
//! on NATS JetStream, for stores that several machines share (PostgreSQL).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use dragnet_core::Store;
use dragnet_fleet::{Job, Queue, Work, Worked, WorkerConfig};

use crate::output::print_json;

/// Exit status of a submission the full queue refused (EX_TEMPFAIL): retry later.
const TRY_LATER: u8 = 75;

#[derive(clap::Args)]
pub struct NatsArgs {
    /// The NATS server with JetStream.
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// The fleet's name: its streams and bucket are named after it.
    #[arg(long, default_value = "dragnet")]
    queue: String,
    /// Jobs that may wait for workers; a submission past it is refused.
    #[arg(long, default_value_t = 10_000)]
    max_queued: i64,
}

impl NatsArgs {
    fn queue(&self) -> anyhow::Result<Queue> {
        Ok(Queue::new(&self.queue, self.max_queued)?)
    }
}

#[derive(clap::Args)]
pub struct SubmitArgs {
    /// Files to ingest, a job each; with --telemetry, one sensor's logs.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The files are a sensor's logs (as `dragnet telemetry` reads them):
    /// --partitions jobs, each running the detectors over its share of
    /// the connections (by a hash of the source address).
    #[arg(long)]
    telemetry: bool,
    /// Telemetry: how many shares, so how many workers may share the logs.
    #[arg(long, default_value_t = 4, requires = "telemetry", value_parser = clap::value_parser!(u32).range(1..=64))]
    partitions: u32,
    /// Telemetry: the sensor's internal networks, comma-separated.
    #[arg(long, value_delimiter = ',', requires = "telemetry")]
    internal: Vec<String>,
    /// The partner feed or sensor this comes from; created on first use.
    #[arg(long)]
    source: String,
    #[command(flatten)]
    input: crate::ingest::Input,
    #[command(flatten)]
    nats: NatsArgs,
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// Deliveries of a job with bad input before it goes to the dead letters.
    #[arg(long, default_value_t = 5)]
    max_tries: i64,
    /// How long a job may go without a word from its worker before another
    /// worker gets it (30s, 2m).
    #[arg(long, default_value = "30s", value_parser = crate::taxii::parse_duration)]
    ack_wait: Duration,
    /// Pause before a failed job is offered again.
    #[arg(long, default_value = "5s", value_parser = crate::taxii::parse_duration)]
    retry_after: Duration,
    /// Stop after this long without a job (default: run until stopped).
    #[arg(long, value_parser = crate::taxii::parse_duration)]
    idle_exit: Option<Duration>,
}

#[derive(clap::Subcommand)]
pub enum FleetCommand {
    /// Jobs waiting, and the newest dead letters with their reasons.
    Status(NatsArgs),
    /// Queue one round of the verification prober for a worker, as
    /// `dragnet probe run` runs one.
    Probe {
        #[command(flatten)]
        round: crate::probe::RoundArgs,
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Queue the agency's next package, as `dragnet package build`.
    Package {
        #[arg(long = "for")]
        agency: String,
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Queue a blocklist export, as `dragnet export` writes it; `dragnet
    /// fleet result JOB` fetches its text once a worker has built it.
    Export {
        /// plain, cidr, csv, jsonl, hosts, adblock, nftables, ipset,
        /// suricata, suricata-categories, mikrotik or rpz.
        #[arg(long)]
        format: String,
        /// The organisation whose view it is (default: all, as the operator).
        #[arg(long = "for", value_name = "ORG")]
        viewer: Option<String>,
        #[command(flatten)]
        selection: crate::export::Selection,
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// What a finished job left in the bucket: an export's text.
    Result {
        job: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        nats: NatsArgs,
    },
}

pub fn submit(args: &SubmitArgs, json: bool) -> anyhow::Result<ExitCode> {
    let labels = args.input.labels();
    let mut files = Vec::with_capacity(args.paths.len());
    for path in &args.paths {
        let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        files.push((path.display().to_string(), dragnet_fleet::Bytes::from(bytes)));
    }
    let jobs: Vec<(Job, Vec<dragnet_fleet::Bytes>)> = if args.telemetry {
        let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let bytes: Vec<dragnet_fleet::Bytes> = files.into_iter().map(|(_, b)| b).collect();
        Job::telemetry(&args.source, &names, &args.internal, args.partitions, labels)
            .into_iter()
            .map(|job| (job, bytes.clone()))
            .collect()
    } else {
        files
            .into_iter()
            .map(|(name, bytes)| {
                (Job::ingest(&args.source, &name, &args.input.format, args.input.columns.clone(), labels), vec![bytes])
            })
            .collect()
    };
    publish(&args.nats, jobs, json)
}

/// Publishes the jobs and says what was queued; exit status 75 when the
/// queue is full.
fn publish(nats: &NatsArgs, jobs: Vec<(Job, Vec<dragnet_fleet::Bytes>)>, json: bool) -> anyhow::Result<ExitCode> {
    match dragnet_fleet::submit(&nats.nats, &nats.queue()?, jobs) {
        Ok(submitted) => {
            if json {
                print_json(&submitted)?;
            } else {
                for s in &submitted {
                    match s.objects.is_empty() {
                        true => println!("{}: job {}", s.origin, s.job),
                        false => println!("{}: job {} ({} bytes)", s.origin, s.job, s.size),
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ dragnet_fleet::Error::Full { .. }) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(TRY_LATER))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn worker(
    store: Box<dyn Store + Send>,
    data: &Path,
    audit_key: &Path,
    args: &WorkerArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = WorkerConfig {
        queue: args.nats.queue()?,
        max_tries: args.max_tries.max(1),
        ack_wait: args.ack_wait.max(Duration::from_secs(1)),
        retry_after: args.retry_after,
        idle_exit: args.idle_exit,
        data: data.to_path_buf(),
        audit_key: audit_key.to_path_buf(),
    };
    eprintln!("worker: taking jobs from {} on {}", config.queue.name, args.nats.nats);
    dragnet_fleet::work(&args.nats.nats, &config, store, &mut |worked| {
        if json {
            let _ = print_json(worked);
            return;
        }
        match worked {
            Worked::Done { job, tries, report } => {
                println!("{}: done (try {tries}): {}", job.origin, done(job, report))
            }
            Worked::Retry { job, tries, reason } => {
                let origin = job.as_ref().map_or("?", |j| j.origin.as_str());
                println!("{origin}: failed (try {tries}), offered again: {reason}");
            }
            Worked::Dead { letter } => {
                let origin = letter.job.as_ref().map_or("?", |j| j.origin.as_str());
                println!("{origin}: dead-lettered after {} tries: {}", letter.tries, letter.reason);
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One line on what a finished job did.
fn done(job: &Job, r: &serde_json::Value) -> String {
    match job.work {
        Work::Ingest { .. } | Work::Telemetry { .. } => format!("{} accepted, {} new", r["accepted"], r["new"]),
        Work::Probe { .. } => format!(
            "{} servers, {} probes, {} verified offline, {} reappeared",
            r["servers"],
            r["probes"],
            r["verified_offline"].as_array().map_or(0, Vec::len),
            r["reappeared"].as_array().map_or(0, Vec::len)
        ),
        Work::Package { .. } => format!("package {} version {}, {} servers", r["id"], r["version"], r["servers"]),
        Work::Export { .. } => format!("{} lines, {} bytes: `dragnet fleet result {}`", r["lines"], r["bytes"], job.id),
    }
}

pub fn fleet(command: &FleetCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        FleetCommand::Probe { round, nats } => {
            // Refused here as `dragnet probe run` refuses it, not on a worker.
            let file = round.candidates_file()?;
            round.config_with(file.as_ref())?;
            let (name, payloads) = match file {
                Some((name, text)) => (Some(name), vec![dragnet_fleet::Bytes::from(text.into_bytes())]),
                None => (None, Vec::new()),
            };
            let job = Job::probe(round.operation.clone(), round.settings(), name.as_deref());
            return publish(nats, vec![(job, payloads)], json);
        }
        FleetCommand::Package { agency, nats } => return publish(nats, vec![(Job::package(agency), Vec::new())], json),
        FleetCommand::Export { format, viewer, selection, nats } => {
            let selection = selection.engine(format);
            selection.request()?;
            return publish(nats, vec![(Job::export(selection, viewer.as_deref()), Vec::new())], json);
        }
        FleetCommand::Result { job, out, nats } => {
            let bytes = dragnet_fleet::result(&nats.nats, &nats.queue()?, job)?;
            match out {
                // Written aside and renamed, as `dragnet export --out` does.
                Some(path) => {
                    let part = path.with_extension("part");
                    std::fs::write(&part, &bytes)?;
                    std::fs::rename(&part, path)?;
                }
                None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?,
            }
        }
        FleetCommand::Status(args) => {
            let status = dragnet_fleet::status(&args.nats, &args.queue()?)?;
            if json {
                print_json(&status)?;
            } else {
                println!(
                    "{}: {} queued (of {}), {} dead letters",
                    status.queue, status.queued, status.max_queued, status.dead
                );
                for d in &status.dead_letters {
                    let origin = d.job.as_ref().map_or("?", |j| j.origin.as_str());
                    println!("  {origin}: {} ({} tries)", d.reason, d.tries);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
