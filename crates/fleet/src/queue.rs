//! The fleet's JetStream parts, named after one queue name so that several
//! fleets (or test runs) can share a NATS server: the job stream (a work
//! queue, bounded, refusing new jobs when full), the dead-letter stream and
//! the payload bucket. Each is created on first use with the same settings.

use std::time::Duration;

use async_nats::jetstream::{self, Context, object_store, stream};
use serde::{Deserialize, Serialize};

use crate::{Error, Job, Result, nats, runtime};

/// The durable consumer every worker shares: each job goes to one of them.
pub(crate) const CONSUMER: &str = "workers";
/// How long a payload stays in the bucket: long past any job's retries.
const PAYLOAD_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Dead letters kept for an operator to read.
const MAX_DEAD: i64 = 100_000;

/// A fleet's name and bound.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    /// Jobs waiting at most; a submission past it is refused.
    pub max_queued: i64,
}

impl Queue {
    pub fn new(name: &str, max_queued: i64) -> Result<Queue> {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(Error::Invalid(format!("queue name `{name}`: 1–32 of a-z, 0-9, - and _")));
        }
        if max_queued < 1 {
            return Err(Error::Invalid("the queue must hold at least one job".into()));
        }
        Ok(Queue { name: name.to_string(), max_queued })
    }
    pub(crate) fn jobs_stream(&self) -> String {
        format!("{}-jobs", self.name)
    }
    pub(crate) fn dead_stream(&self) -> String {
        format!("{}-dead", self.name)
    }
    pub(crate) fn bucket(&self) -> String {
        format!("{}-payloads", self.name)
    }
    pub(crate) fn dead_subject(&self) -> String {
        format!("{}.dead", self.name)
    }
}

/// The bucket object a job's result (an export's text) is kept under.
pub(crate) fn result_object(job: &str) -> String {
    format!("result-{job}")
}

/// A job given up on, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The job as it was published (its text, when it was not a job at all).
    pub job: Option<Job>,
    pub raw: Option<String>,
    pub reason: String,
    pub tries: u64,
}

/// What the fleet holds now.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub queue: String,
    pub queued: u64,
    /// Jobs a worker has taken and not yet acknowledged.
    pub in_progress: u64,
    pub max_queued: i64,
    pub dead: u64,
    /// The newest dead letters, at most 100.
    pub dead_letters: Vec<DeadLetter>,
}

pub(crate) async fn connect(url: &str) -> Result<Context> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|e| Error::Nats(format!("{url}: {e}")))?;
    Ok(jetstream::new(client))
}

pub(crate) async fn jobs(js: &Context, q: &Queue) -> Result<stream::Stream> {
    js.get_or_create_stream(stream::Config {
        name: q.jobs_stream(),
        subjects: vec![format!("{}.jobs.>", q.name)],
        retention: stream::RetentionPolicy::WorkQueue,
        max_messages: q.max_queued,
        discard: stream::DiscardPolicy::New,
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .map_err(nats)
}

pub(crate) async fn dead(js: &Context, q: &Queue) -> Result<stream::Stream> {
    js.get_or_create_stream(stream::Config {
        name: q.dead_stream(),
        subjects: vec![q.dead_subject()],
        max_messages: MAX_DEAD,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(nats)
}

pub(crate) async fn bucket(js: &Context, q: &Queue) -> Result<object_store::ObjectStore> {
    if let Ok(bucket) = js.get_object_store(q.bucket()).await {
        return Ok(bucket);
    }
    js.create_object_store(object_store::Config {
        bucket: q.bucket(),
        max_age: PAYLOAD_AGE,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(nats)
}

/// How many jobs wait, and the newest dead letters.
pub fn status(url: &str, q: &Queue) -> Result<Status> {
    runtime()?.block_on(async {
        let js = connect(url).await?;
        let mut job_stream = jobs(&js, q).await?;
        let queued = job_stream.info().await.map_err(nats)?.state.messages;
        let in_progress = match job_stream.get_consumer::<async_nats::jetstream::consumer::pull::Config>(CONSUMER).await
        {
            Ok(mut consumer) => consumer.info().await.map_err(nats)?.num_ack_pending as u64,
            Err(_) => 0,
        };
        let mut dead_stream = dead(&js, q).await?;
        let state = dead_stream.info().await.map_err(nats)?.state.clone();
        let mut dead_letters = Vec::new();
        let from = state.last_sequence.saturating_sub(99).max(state.first_sequence);
        for seq in from..=state.last_sequence {
            if seq == 0 {
                continue;
            }
            if let Ok(m) = dead_stream.get_raw_message(seq).await
                && let Ok(letter) = serde_json::from_slice::<DeadLetter>(&m.payload)
            {
                dead_letters.push(letter);
            }
        }
        Ok(Status {
            queue: q.name.clone(),
            queued,
            in_progress,
            max_queued: q.max_queued,
            dead: state.messages,
            dead_letters,
        })
    })
}

/// What a finished job left in the bucket (an export's text); refused
/// when the job has left nothing (not done yet, or nothing to keep).
pub fn result(url: &str, q: &Queue, job: &str) -> Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    if job.is_empty() || !job.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(Error::Invalid(format!("`{job}` is not a job id")));
    }
    runtime()?.block_on(async {
        let js = connect(url).await?;
        let bucket = bucket(&js, q).await?;
        let mut object = bucket.get(result_object(job)).await.map_err(|e| match e.kind() {
            object_store::GetErrorKind::NotFound => Error::Invalid(format!("job {job} has left no result (yet)")),
            _ => nats(e),
        })?;
        let mut bytes = Vec::new();
        object.read_to_end(&mut bytes).await.map_err(nats)?;
        Ok(bytes)
    })
}
