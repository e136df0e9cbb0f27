//! A worker: takes jobs from the shared durable consumer one at a time,
//! runs each with the engine on its store (on a blocking thread, telling
//! JetStream it is still at work meanwhile), and acknowledges it only once
//! its batch committed. Bad input is retried up to `max_tries` and then
//! dead-lettered with its reason; a store that is down is retried without
//! end, since the job is not at fault.

use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use dragnet_core::Store;
use dragnet_core::store::Source;
use dragnet_engine::ingest::FileReport;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::queue::{self, CONSUMER, DeadLetter, Queue};
use crate::{Error, Job, Result, nats};

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
    Done { job: Job, tries: i64, report: Box<FileReport> },
    Retry { job: Option<Job>, tries: i64, reason: String },
    Dead { letter: Box<DeadLetter> },
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
            last_job = Instant::now();
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

fn judge(job: Job, tries: i64, ran: std::result::Result<FileReport, Failed>, max_tries: i64) -> Worked {
    match ran {
        Ok(report) => Worked::Done { job, tries, report: Box::new(report) },
        Err(Failed::Store(reason)) => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) if tries < max_tries => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) => {
            Worked::Dead { letter: Box::new(DeadLetter { job: Some(job), raw: None, reason, tries: tries as u64 }) }
        }
    }
}

/// Fetches the payload and ingests it on a blocking thread, saying "still
/// at work" to JetStream every third of `ack_wait` meanwhile.
async fn run(
    bucket: &async_nats::jetstream::object_store::ObjectStore,
    job: &Job,
    store: &mut Option<Box<dyn Store + Send>>,
    message: &async_nats::jetstream::Message,
    ack_wait: Duration,
) -> std::result::Result<FileReport, Failed> {
    let labels = job.labels().map_err(|e| Failed::Input(e.to_string()))?;
    let format = dragnet_engine::ingest::format_named(&job.format).map_err(|e| Failed::Input(e.to_string()))?;
    let mapping = match &job.columns {
        Some(spec) => spec.parse::<dragnet_ingest::Mapping>().map_err(|e| Failed::Input(format!("columns: {e}")))?,
        None => dragnet_ingest::Mapping::default(),
    };
    let mut object =
        bucket.get(&job.object).await.map_err(|e| Failed::Input(format!("payload {}: {e}", job.object)))?;
    let mut bytes = Vec::new();
    (&mut object)
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| Failed::Store(format!("reading payload {}: {e}", job.object)))?;
    if bytes.len() as u64 > MAX_PAYLOAD {
        return Err(Failed::Input(format!("payload over {MAX_PAYLOAD} bytes")));
    }
    let Some(mut owned) = store.take() else { return Err(Failed::Store("no store".into())) };
    let wanted = Source {
        name: job.source.clone(),
        grade: labels.grade.unwrap_or(dragnet_core::Grade::UNGRADED),
        tlp: labels.tlp.unwrap_or(dragnet_core::Tlp::Amber),
    };
    let origin = job.origin.clone();
    let mut ingest = tokio::task::spawn_blocking(move || {
        let report = dragnet_engine::ingest::submit(&mut *owned, &wanted, labels, format, &mapping, &origin, &bytes);
        (owned, report)
    });
    let mut beat = tokio::time::interval((ack_wait / 3).max(Duration::from_millis(100)));
    beat.tick().await;
    let (owned, report) = loop {
        tokio::select! {
            done = &mut ingest => break done.map_err(|e| Failed::Store(format!("the job's thread failed: {e}")))?,
            _ = beat.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    *store = Some(owned);
    match report {
        Ok(r) if r.store_failed => Err(Failed::Store(r.error.unwrap_or_default())),
        Ok(r) => match &r.error {
            Some(e) => Err(Failed::Input(e.clone())),
            None => Ok(r),
        },
        Err(dragnet_engine::Error::Store(e)) => Err(Failed::Store(e.to_string())),
        Err(e) => Err(Failed::Input(e.to_string())),
    }
}
