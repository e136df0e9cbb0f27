//! A worker: takes jobs from the shared durable consumer one at a time,
//! runs each (an ingest, a share of telemetry, a prober round, a package,
//! an export) with the engine on its store (on a blocking thread, telling
//! JetStream it is still at work meanwhile), and acknowledges it only once
//! its batch committed (and an export's text is in the bucket). Bad input is retried up to `max_tries` and then
//! dead-lettered with its reason; a store that is down is retried without
//! end, since the job is not at fault.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::object_store::{GetErrorKind, ObjectStore};
use dragnet_core::Store;
use dragnet_core::store::Source;
use dragnet_engine::access::Scope;
use dragnet_engine::ingest::FileReport;
use dragnet_engine::lookup::Context;
use dragnet_engine::telemetry::{Partition, Request, Sensor, TelemetryReport};
use dragnet_engine::{audit, blocklist, packages, probe};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::queue::{self, CONSUMER, DeadLetter, Queue, result_object};
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
    /// The worker's data folder (geolocation ranges), as `dragnet --data`.
    pub data: PathBuf,
    /// The key that signs the audit log's tree heads after a job that
    /// moved servers or read restricted data.
    pub audit_key: PathBuf,
}

/// What happened to one job.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Worked {
    /// `report` is what `dragnet ingest --json`, `dragnet telemetry
    /// --json` or `dragnet probe run --json` prints for the same input; an
    /// export's names the bucket object its text is in.
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
    // The store lives outside the runtime: a PostgreSQL client closes its
    // connection with a runtime of its own when dropped, which may not
    // happen inside this one.
    let mut store = Some(store);
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
                // Its worker went quiet: the round or build may have happened.
                Ok(job) if tries > 1 && job.work.runs_once() => {
                    let why = "delivered again after its worker went quiet: it may have run, and a prober round or \
                               package build is not run twice (queue another if it did not happen)";
                    dead(Some(job), None, why.to_string(), tries)
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
        match run(bucket, job, store, config).await {
            Err(Failed::Store(reason)) if store.is_some() && !job.work.runs_once() => {
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
        Err(Failed::Input(reason) | Failed::Store(reason)) if job.work.runs_once() => {
            dead(Some(job), None, format!("{reason} (not retried: it may have run in part)"), tries)
        }
        // Only when the store went with a failed thread: offered again.
        Err(Failed::Store(reason)) => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) if tries < max_tries => Worked::Retry { job: Some(job), tries, reason },
        Err(Failed::Input(reason)) => dead(Some(job), None, reason, tries),
    }
}

/// A job's work on the store, ready to run on a blocking thread.
type Task = Box<dyn FnOnce(&mut dyn Store) -> std::result::Result<Outcome, Failed> + Send>;

/// What a job's work gave: its report, and what to keep in the bucket.
struct Outcome {
    report: serde_json::Value,
    result: Option<Vec<u8>>,
}

impl From<serde_json::Value> for Outcome {
    fn from(report: serde_json::Value) -> Outcome {
        Outcome { report, result: None }
    }
}

/// Fetches the payloads and does the work on a blocking thread.
async fn run(
    bucket: &ObjectStore,
    job: &Job,
    store: &mut Option<Box<dyn Store + Send>>,
    config: &WorkerConfig,
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
                    Ok(r) => reported(&r),
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
                    Ok(Ok(r)) => reported(&r),
                    Ok(Err(e)) => Err(engine_failure(e)),
                }
            })
        }
        Work::Probe { operation, settings, candidates } => {
            let candidates = match candidates {
                Some(payload) => {
                    let text = String::from_utf8(fetch(bucket, payload).await?)
                        .map_err(|_| Failed::Input(format!("candidates {}: not UTF-8 text", payload.name)))?;
                    probe::parse_candidates(&payload.name, &text).map_err(engine_failure)?
                }
                None => Vec::new(),
            };
            let probing = settings.config(candidates).map_err(engine_failure)?;
            let (operation, data, key) = (operation.clone(), config.data.clone(), config.audit_key.clone());
            Box::new(move |store| {
                let ctx = Context::load(store, &data).map_err(engine_failure)?;
                let scope = Scope::operator();
                let now = dragnet_engine::now();
                let round = probe::round(store, &ctx, &scope, now, operation.as_deref(), &probing);
                let mut report = reported(&round.map_err(engine_failure)?)?;
                note_audit(&mut report.report, audited(store, &key, &scope));
                Ok(report)
            })
        }
        Work::Package { agency } => {
            let (agency, data, key) = (agency.clone(), config.data.clone(), config.audit_key.clone());
            Box::new(move |store| {
                let ctx = Context::load(store, &data).map_err(engine_failure)?;
                let (record, package) =
                    packages::build(store, &ctx, &agency, dragnet_engine::now()).map_err(engine_failure)?;
                let mut report: Outcome = serde_json::json!({
                    "id": record.id, "agency": package.agency, "version": package.version,
                    "servers": package.servers.len(), "tlp": package.tlp, "changes": package.changes,
                })
                .into();
                note_audit(&mut report.report, audited(store, &key, &Scope::operator()));
                Ok(report)
            })
        }
        Work::Export { selection, viewer } => {
            let request = selection.request().map_err(engine_failure)?;
            // The id names the result in the bucket: only a submitter's UUID will do.
            uuid::Uuid::parse_str(&job.id).map_err(|_| Failed::Input(format!("job id `{}` is not a UUID", job.id)))?;
            let (viewer, data, key) = (viewer.clone(), config.data.clone(), config.audit_key.clone());
            let object = result_object(&job.id);
            Box::new(move |store| {
                let ctx = Context::load(store, &data).map_err(engine_failure)?;
                let scope = match &viewer {
                    Some(org) => Scope::of_org(store, org).map_err(engine_failure)?,
                    None => Scope::operator(),
                };
                let written =
                    blocklist::export(store, &ctx, &scope, dragnet_engine::now(), &request).map_err(engine_failure)?;
                let mut report = serde_json::json!({
                    "format": request.format.name(), "lines": written.lines, "skipped": written.skipped,
                    "bytes": written.text.len(), "result": object,
                    "sha256": dragnet_core::digest::hex(&dragnet_core::digest::sha256(written.text.as_bytes())),
                });
                // What was read is logged before anyone can fetch it, or the export is not kept.
                let audit = audited(store, &key, &scope).map_err(Failed::Store)?;
                note_audit(&mut report, Ok(audit));
                Ok(Outcome { report, result: Some(written.text.into_bytes()) })
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
            let Outcome { report, result } = outcome?;
            if let Some(bytes) = result {
                let object = result_object(&job.id);
                bucket
                    .put(object.as_str(), &mut &bytes[..])
                    .await
                    .map_err(|e| Failed::Store(format!("keeping the result as {object}: {e}")))?;
            }
            Ok(report)
        }
        // The thread died with the store: the input is the likely cause.
        Err(e) => Err(Failed::Input(format!("the job's thread failed: {e}"))),
    }
}

fn reported(report: &impl Serialize) -> std::result::Result<Outcome, Failed> {
    Ok(serde_json::to_value(report).map_err(|e| Failed::Store(e.to_string()))?.into())
}

/// Logs the restricted data `scope` was shown and signs a tree head, as
/// the command line does when a command ends. Refused when the reads could
/// not be logged; a tree head that could not be signed is only reported
/// (`Ok(Some(why))`): the next one covers what this one missed.
fn audited(store: &mut dyn Store, key: &std::path::Path, scope: &Scope) -> std::result::Result<Option<String>, String> {
    let now = dragnet_engine::now();
    let reads = audit::restricted_reads(scope, now);
    if !reads.is_empty() {
        store.append_audit(&reads).map_err(|e| format!("logging the restricted reads: {e}"))?;
    }
    let signed = audit::Signer::load_or_create(key).and_then(|signer| audit::checkpoint(store, &signer, now));
    Ok(signed.err().map(|e| format!("signing a tree head: {e}")))
}

/// Puts an audit failure into the job's report: a prober round or package
/// is committed already and is not run again for it.
fn note_audit(report: &mut serde_json::Value, audit: std::result::Result<Option<String>, String>) {
    let problem = match audit {
        Ok(None) => return,
        Ok(Some(e)) | Err(e) => e,
    };
    if let Some(fields) = report.as_object_mut() {
        fields.insert("audit_error".into(), problem.into());
    }
}

/// An engine error: the store's (waited for) or the job's. A file the
/// worker could not write or read (a full disk under beacon scoring's
/// temporary files) counts as the job's: it is offered again, maybe to a
/// worker on another machine, and dead-lettered with its reason if it
/// keeps failing, rather than holding this worker forever.
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
