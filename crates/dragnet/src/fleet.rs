//! `dragnet submit`, `dragnet worker` and `dragnet fleet`: the worker fleet
//! on NATS JetStream, for stores that several machines share (PostgreSQL).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use dragnet_core::{Category, Grade, Store, Tlp};
use dragnet_fleet::{Job, Queue, Worked, WorkerConfig};

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
    /// Files to ingest, a job each.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long)]
    source: String,
    /// As `dragnet ingest --format`.
    #[arg(long, default_value = "auto")]
    format: String,
    /// As `dragnet ingest --columns`.
    #[arg(long)]
    columns: Option<String>,
    #[arg(long)]
    tlp: Option<Tlp>,
    #[arg(long)]
    grade: Option<Grade>,
    #[arg(long)]
    category: Option<Category>,
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
}

pub fn submit(args: &SubmitArgs, json: bool) -> anyhow::Result<ExitCode> {
    let template = Job {
        id: String::new(),
        source: args.source.clone(),
        format: args.format.clone(),
        columns: args.columns.clone(),
        tlp: args.tlp.map(|t| t.as_str().to_string()),
        grade: args.grade.map(|g| g.to_string()),
        category: args.category.map(|c| c.as_str().to_string()),
        origin: String::new(),
        object: String::new(),
        size: 0,
    };
    let mut inputs = Vec::with_capacity(args.paths.len());
    for path in &args.paths {
        let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        inputs.push((path.display().to_string(), bytes));
    }
    match dragnet_fleet::submit(&args.nats.nats, &args.nats.queue()?, &template, &inputs) {
        Ok(submitted) => {
            if json {
                print_json(&submitted)?;
            } else {
                for s in &submitted {
                    println!("{}: job {} ({} bytes)", s.origin, s.job, s.size);
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

pub fn worker(store: Box<dyn Store + Send>, args: &WorkerArgs, json: bool) -> anyhow::Result<ExitCode> {
    let config = WorkerConfig {
        queue: args.nats.queue()?,
        max_tries: args.max_tries.max(1),
        ack_wait: args.ack_wait.max(Duration::from_secs(1)),
        retry_after: args.retry_after,
        idle_exit: args.idle_exit,
    };
    eprintln!("worker: taking jobs from {} on {}", config.queue.name, args.nats.nats);
    dragnet_fleet::work(&args.nats.nats, &config, store, &mut |worked| {
        if json {
            let _ = print_json(worked);
            return;
        }
        match worked {
            Worked::Done { job, tries, report } => println!(
                "{}: done (try {tries}): {} accepted, {} rejected, {} new",
                job.origin, report.accepted, report.rejected, report.new
            ),
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

pub fn fleet(command: &FleetCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
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
