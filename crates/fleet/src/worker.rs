//! A worker: takes jobs from the shared durable consumer one at a time,
//! runs each (an ingest, a share of telemetry) with the engine on its store (on a blocking thread, telling
//! JetStream it is still at work meanwhile), and acknowledges it only once
//! its batch committed. Bad input is retried up to `max_tries` and then
//! dead-lettered with its reason; a store that is down is retried without
//! end, since the job is not at fault.

use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::object_store::ObjectStore;
use dragnet_core::Store;
use dragnet_core::store::Source;
use dragnet_engine::ingest::FileReport;
use dragnet_engine::telemetry::{Partition, Request, Sensor};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::queue::{self, CONSUMER, DeadLetter, Queue};
use crate::{Error, Job, Payload, Result, Work, nats};

/// The largest payload a worker reads.
const MAX_PAYLOAD: u64 = 512 << 20;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub queue: Queue,
    /// Deliveries of a job with bad input before it is dead-lettered.
    pub max_tries: i64,
    /// How long JetStream waits for a word from a worker before giving its
    /// job to another (a worker at work says so every third of it).
    pub ack_wait: Duration,
    /// Pause before a job is offered again after a failure.
    pub retry_after: Duration,
    /// Stop after this long without a job (None: run until stopped).
    pub idle_exit: Option<Duration>,
}

/// What happened to one job.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Worked {
    /// `report` is what `dragnet ingest --json` or `dragnet telemetry
    /// --json` prints for the same input.
    Done {
        job: Job,
        tries: i64,
        report: serde_json::Value,
    },
    Retry {
        job: Option<Job>,
        tries: i64,
        reason: String,
    },
    Dead {
        letter: Box<DeadLetter>,
    },
}

/// Works until stopped (or idle for `idle_exit`), calling `each` after every job.
pub fn work(
    url: &str,
    config: &WorkerConfig,
    store: Box<dyn Store + Send>,
    each: &mut dyn FnMut(&Worked),
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().map_err(nats)?;
    rt.block_on(async {
        let js = queue::connect(url).await?;
        let jobs = queue::jobs(&js, &config.queue).await?;
        queue::dead(&js, &config.queue).await?;
        let bucket = queue::bucket(&js, &config.queue).await?;
        let consumer: PullConsumer = jobs
            .get_or_create_consumer(
                CONSUMER,
                pull::Config {
                    durable_name: Some(CONSUMER.into()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: config.ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(nats)?;
        let mut store = Some(store);
        let mut last_job = Instant::now();
        loop {
            let mut batch =
                consumer.fetch().max_messages(1).expires(Duration::from_secs(1)).messages().await.map_err(nats)?;
            let Some(message) = batch.next().await else {
                if config.idle_exit.is_some_and(|idle| last_job.elapsed() >= idle) {
                    return Ok(());
                }
                continue;
            };
            let message = message.map_err(nats)?;
            let tries = message.info().map(|i| i.delivered).unwrap_or(1);
            let worked = match serde_json::from_slice::<Job>(&message.payload) {
                Err(e) => Worked::Dead {
                    letter: Box::new(DeadLetter {
                        job: None,
                        raw: Some(String::from_utf8_lossy(&message.payload).into_owned()),
                        reason: format!("not a job: {e}"),
                        tries: tries as u64,
                    }),
                },
                Ok(job) => {
                    let ran = run(&bucket, &job, &mut store, &message, config.ack_wait).await;
                    judge(job, tries, ran, config.max_tries)
                }
            };
            match &worked {
                Worked::Done { .. } => message.double_ack().await.map_err(nats)?,
                Worked::Retry { .. } => message.ack_with(AckKind::Nak(Some(config.retry_after))).await.map_err(nats)?,
                Worked::Dead { letter } => {
                    let body = serde_json::to_vec(letter).map_err(|e| Error::Invalid(e.to_string()))?;
                    js.publish(config.queue.dead_subject(), body.into()).await.map_err(nats)?.await.map_err(nats)?;
                    message.ack_with(AckKind::Term).await.map_err(nats)?;
                }
            }
            each(&worked);
            last_job = Instant::now();
            if store.is_none() {
                return Err(Error::Invalid("the store was lost with a job's thread".into()));
            }
        }
    })
}

/// Why a job's run did not end in a committed batch.
enum Failed {
    /// The job or its input is at fault: retried, then dead-lettered.
    Input(String),
    /// The store or the fleet is: retried without end.
    Store(String),
}

fn judge(job: Job, tries: i64, ran: std::result::Result<serde_json::Value, Failed>, max_tries: i64) -> Worked {
    match ran {
        Ok(report) => Worked::Done { job, tries, report },
        Err(Failed::Store(reason)) => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) if tries < max_tries => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) => {
            Worked::Dead { letter: Box::new(DeadLetter { job: Some(job), raw: None, reason, tries: tries as u64 }) }
        }
    }
}

/// A job's work on the store, ready to run on a blocking thread.
type Task = Box<dyn FnOnce(&mut dyn Store) -> std::result::Result<serde_json::Value, Failed> + Send>;

/// Fetches the payloads and does the work on a blocking thread, saying
/// "still at work" to JetStream every third of `ack_wait` meanwhile.
async fn run(
    bucket: &ObjectStore,
    job: &Job,
    store: &mut Option<Box<dyn Store + Send>>,
    message: &async_nats::jetstream::Message,
    ack_wait: Duration,
) -> std::result::Result<serde_json::Value, Failed> {
    let labels = job.labels().map_err(|e| Failed::Input(e.to_string()))?;
    let wanted = Source {
        name: job.source.clone(),
        grade: labels.grade.unwrap_or(dragnet_core::Grade::UNGRADED),
        tlp: labels.tlp.unwrap_or(dragnet_core::Tlp::Amber),
    };
    let task: Task = match &job.work {
        Work::Ingest { format, columns, payload, .. } => {
            let format = dragnet_engine::ingest::format_named(format).map_err(|e| Failed::Input(e.to_string()))?;
            let mapping = match columns {
                Some(spec) => {
                    spec.parse::<dragnet_ingest::Mapping>().map_err(|e| Failed::Input(format!("columns: {e}")))?
                }
                None => dragnet_ingest::Mapping::default(),
            };
            let bytes = fetch(bucket, payload).await?;
            let origin = job.origin.clone();
            Box::new(move |store| {
                let report = dragnet_engine::ingest::submit(store, &wanted, labels, format, &mapping, &origin, &bytes);
                match report {
                    Ok(r) if r.store_failed => Err(Failed::Store(r.error.unwrap_or_default())),
                    Ok(FileReport { error: Some(e), .. }) => Err(Failed::Input(e)),
                    Ok(r) => serde_json::to_value(&r).map_err(|e| Failed::Store(e.to_string())),
                    Err(e) => Err(engine_failure(e)),
                }
            })
        }
        Work::Telemetry { files, internal, partition, partitions } => {
            let partition = Partition::new(*partition, *partitions).map_err(|e| Failed::Input(e.to_string()))?;
            let dir = Scratch::new(&job.id).map_err(Failed::Store)?;
            for (i, file) in files.iter().enumerate() {
                let bytes = fetch(bucket, file).await?;
                // The submitter's name, kept only as far as it is harmless: a log's
                // name says what it holds (conn.log, dns.log.gz).
                let name: String = file
                    .name
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    .collect();
                let path = dir.0.join(format!("{i:04}-{name}"));
                std::fs::write(&path, bytes).map_err(|e| Failed::Store(format!("{}: {e}", path.display())))?;
            }
            let request = Request {
                sensor: Sensor {
                    paths: vec![dir.0.clone()],
                    internal: internal.clone(),
                    partition: Some(partition),
                    ..Sensor::default()
                },
                grade: labels.grade,
                tlp: labels.tlp,
                ..Request::new(job.source.clone())
            };
            Box::new(move |store| {
                let report = dragnet_engine::telemetry::detect(store, &request);
                drop(dir);
                match report {
                    Ok(r) => match &r.error {
                        Some(e) => Err(Failed::Store(e.clone())),
                        None => serde_json::to_value(&r).map_err(|e| Failed::Store(e.to_string())),
                    },
                    Err(e) => Err(engine_failure(e)),
                }
            })
        }
    };
    let Some(mut owned) = store.take() else { return Err(Failed::Store("no store".into())) };
    let mut blocking = tokio::task::spawn_blocking(move || {
        let outcome = task(&mut *owned);
        (owned, outcome)
    });
    let mut beat = tokio::time::interval((ack_wait / 3).max(Duration::from_millis(100)));
    beat.tick().await;
    let (owned, outcome) = loop {
        tokio::select! {
            done = &mut blocking => break done.map_err(|e| Failed::Store(format!("the job's thread failed: {e}")))?,
            _ = beat.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    *store = Some(owned);
    outcome
}

/// An engine error: the store's fault (retried) or the input's.
fn engine_failure(e: dragnet_engine::Error) -> Failed {
    match e {
        dragnet_engine::Error::Store(e) => Failed::Store(e.to_string()),
        e => Failed::Input(e.to_string()),
    }
}

/// A payload's bytes, at most [`MAX_PAYLOAD`].
async fn fetch(bucket: &ObjectStore, payload: &Payload) -> std::result::Result<Vec<u8>, Failed> {
    let mut object =
        bucket.get(&payload.object).await.map_err(|e| Failed::Input(format!("payload {}: {e}", payload.object)))?;
    let mut bytes = Vec::new();
    (&mut object)
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| Failed::Store(format!("reading payload {}: {e}", payload.object)))?;
    if bytes.len() as u64 > MAX_PAYLOAD {
        return Err(Failed::Input(format!("payload {} is over {MAX_PAYLOAD} bytes", payload.name)));
    }
    Ok(bytes)
}

/// A folder of a job's files, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(job: &str) -> std::result::Result<Scratch, String> {
        let id: String = job.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        let dir = std::env::temp_dir().join(format!("dragnet-job-{}-{id}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
