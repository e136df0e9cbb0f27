//! A worker: takes jobs from the shared durable consumer one at a time,
//! runs each (an ingest, a share of telemetry) with the engine on its store (on a blocking thread, telling
//! JetStream it is still at work meanwhile), and acknowledges it only once
//! its batch committed. Bad input is retried up to `max_tries` and then
//! dead-lettered with its reason; a store that is down is retried without
//! end, since the job is not at fault.

use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::object_store::{GetErrorKind, ObjectStore};
use dragnet_core::Store;
use dragnet_core::store::Source;
use dragnet_engine::ingest::FileReport;
use dragnet_engine::telemetry::{Partition, Request, Sensor, TelemetryReport};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::queue::{self, CONSUMER, DeadLetter, Queue};
use crate::{Error, Job, Payload, Result, Work, nats};

/// The largest payload a worker reads.
const MAX_PAYLOAD: u64 = 512 << 20;
/// The most a job's payloads may add up to (a sensor's logs).
const MAX_JOB_BYTES: u64 = 4 << 30;

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
        // The consumer keeps the wait it was created with, whatever this
        // worker was told: say "still at work" by that one.
        let ack_wait = consumer.cached_info().config.ack_wait;
        let beat_every = (ack_wait / 3).max(Duration::from_millis(100));
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
                Err(e) => dead(None, Some(&message.payload), format!("not a job: {e}"), tries),
                // Delivered more often than it may fail: its workers died on
                // it (a crash, the kernel's OOM killer) before they could say.
                Ok(job) if tries > config.max_tries => {
                    let why = format!("delivered {tries} times without an outcome: its workers died on it");
                    dead(Some(job), None, why, tries)
                }
                Ok(job) => {
                    let ran = beating(
                        &message,
                        beat_every,
                        until_the_store_answers(&bucket, &job, tries, &mut store, config, each),
                    )
                    .await;
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

fn dead(job: Option<Job>, raw: Option<&[u8]>, reason: String, tries: i64) -> Worked {
    let raw = raw.map(|r| String::from_utf8_lossy(r).into_owned());
    Worked::Dead { letter: Box::new(DeadLetter { job, raw, reason, tries: tries as u64 }) }
}

/// Runs `work`, telling JetStream every `every` that the job is in hand,
/// from its first payload fetched to its batch committed.
async fn beating<T>(message: &async_nats::jetstream::Message, every: Duration, work: impl Future<Output = T>) -> T {
    let mut beat = tokio::time::interval(every);
    beat.tick().await;
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = beat.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    }
}

/// Runs the job until it succeeds or fails on its input: a store (or
/// bucket) that does not answer is waited for here, with the job in hand,
/// so its outage costs no delivery and dead-letters nothing.
async fn until_the_store_answers(
    bucket: &ObjectStore,
    job: &Job,
    tries: i64,
    store: &mut Option<Box<dyn Store + Send>>,
    config: &WorkerConfig,
    each: &mut dyn FnMut(&Worked),
) -> std::result::Result<serde_json::Value, Failed> {
    loop {
        match run(bucket, job, store).await {
            Err(Failed::Store(reason)) if store.is_some() => {
                each(&Worked::Retry { job: Some(job.clone()), tries, reason });
                tokio::time::sleep(config.retry_after).await;
            }
            other => return other,
        }
    }
}

/// Why a job's run did not end in a committed batch.
enum Failed {
    /// The job or its input is at fault: retried, then dead-lettered.
    Input(String),
    /// The store or the fleet is: waited for.
    Store(String),
}

fn judge(job: Job, tries: i64, ran: std::result::Result<serde_json::Value, Failed>, max_tries: i64) -> Worked {
    match ran {
        Ok(report) => Worked::Done { job, tries, report },
        // Only when the store went with a failed thread: offered again.
        Err(Failed::Store(reason)) => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) if tries < max_tries => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) => dead(Some(job), None, reason, tries),
    }
}

/// A job's work on the store, ready to run on a blocking thread.
type Task = Box<dyn FnOnce(&mut dyn Store) -> std::result::Result<serde_json::Value, Failed> + Send>;

/// Fetches the payloads and does the work on a blocking thread.
async fn run(
    bucket: &ObjectStore,
    job: &Job,
    store: &mut Option<Box<dyn Store + Send>>,
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
            let total: u64 = files.iter().map(|f| f.size).sum();
            if total > MAX_JOB_BYTES {
                return Err(Failed::Input(format!("the job's payloads add up to {total} bytes, over {MAX_JOB_BYTES}")));
            }
            let dir = tempfile::Builder::new()
                .prefix("dragnet-job-")
                .tempdir()
                .map_err(|e| Failed::Store(format!("a folder for the job's files: {e}")))?;
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
                let path = dir.path().join(format!("{i:04}-{name}"));
                tokio::fs::write(&path, bytes).await.map_err(|e| Failed::Store(format!("{}: {e}", path.display())))?;
            }
            let request = Request {
                sensor: Sensor {
                    paths: vec![dir.path().to_path_buf()],
                    internal: internal.clone(),
                    partition: Some(partition),
                    ..Sensor::default()
                },
                grade: labels.grade,
                tlp: labels.tlp,
                origin: Some(job.origin.clone()),
                ..Request::new(job.source.clone())
            };
            Box::new(move |store| {
                let detected = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    dragnet_engine::telemetry::detect(store, &request)
                }));
                drop(dir);
                match detected {
                    Err(panic) => Err(Failed::Input(format!(
                        "the detectors failed on this input: {}",
                        dragnet_engine::panic_message(panic.as_ref())
                    ))),
                    Ok(Ok(r)) if r.store_failed => Err(Failed::Store(r.error.clone().unwrap_or_default())),
                    Ok(Ok(TelemetryReport { error: Some(e), .. })) => Err(Failed::Input(e)),
                    Ok(Ok(r)) => serde_json::to_value(&r).map_err(|e| Failed::Store(e.to_string())),
                    Ok(Err(e)) => Err(engine_failure(e)),
                }
            })
        }
    };
    let Some(mut owned) = store.take() else { return Err(Failed::Store("no store".into())) };
    let done = tokio::task::spawn_blocking(move || {
        let outcome = task(&mut *owned);
        (owned, outcome)
    })
    .await;
    match done {
        Ok((owned, outcome)) => {
            *store = Some(owned);
            outcome
        }
        // The thread died with the store: the input is the likely cause.
        Err(e) => Err(Failed::Input(format!("the job's thread failed: {e}"))),
    }
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
    let mut object = bucket.get(&payload.object).await.map_err(|e| {
        let why = format!("payload {}: {e}", payload.object);
        match e.kind() {
            GetErrorKind::NotFound | GetErrorKind::InvalidName => Failed::Input(why),
            _ => Failed::Store(why),
        }
    })?;
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
