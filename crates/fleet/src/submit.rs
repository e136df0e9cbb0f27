//! Submitting work to the fleet: each payload is put in the bucket under
//! its SHA-256 (once, however often it is sent) and each job is published
//! on its subject, deduplicated by the job's id.

use serde::Serialize;

use crate::queue::{self, Queue};
use crate::{Error, Job, Result, nats, runtime};

/// A job the fleet accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    pub job: String,
    pub origin: String,
    /// The payloads' SHA-256, in the job's order.
    pub objects: Vec<String>,
    pub size: u64,
    /// Its place in the job stream.
    pub sequence: u64,
}

/// The bytes of a payload, shared by the jobs that name it (a sensor's
/// logs are named by every share).
pub type Bytes = std::sync::Arc<[u8]>;

/// Publishes each job with its payloads' bytes (in the order of the job's
/// payloads); each payload is hashed and stored once however many jobs
/// name it. Refused with [`Error::Full`], before anything is published,
/// when the queue has no room for all of them.
pub fn submit(url: &str, q: &Queue, jobs: Vec<(Job, Vec<Bytes>)>) -> Result<Vec<Submitted>> {
    runtime()?.block_on(submit_async(url, q, jobs))
}

/// [`submit`] from async code (the server's routes).
pub async fn submit_async(url: &str, q: &Queue, jobs: Vec<(Job, Vec<Bytes>)>) -> Result<Vec<Submitted>> {
    let js = queue::connect(url).await?;
    let mut stream = queue::jobs(&js, q).await?;
    let bucket = queue::bucket(&js, q).await?;
    let queued = stream.info().await.map_err(nats)?.state.messages;
    if queued + jobs.len() as u64 > q.max_queued as u64 {
        return Err(Error::Full { queued });
    }
    let mut stored: std::collections::HashMap<usize, (String, u64)> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(jobs.len());
    for (mut job, payloads) in jobs {
        let mut slots = job.payloads_mut();
        if slots.len() != payloads.len() {
            return Err(Error::Invalid(format!("a job naming {} payloads given {}", slots.len(), payloads.len())));
        }
        for (slot, bytes) in slots.iter_mut().zip(&payloads) {
            // The same shared bytes, by address.
            let key = bytes.as_ptr() as usize;
            let (object, size) = match stored.get(&key) {
                Some(known) => known.clone(),
                None => {
                    let object = dragnet_core::digest::hex(&dragnet_core::digest::sha256(bytes));
                    if bucket.info(&object).await.is_err() {
                        bucket.put(object.as_str(), &mut &bytes[..]).await.map_err(nats)?;
                    }
                    stored.insert(key, (object.clone(), bytes.len() as u64));
                    (object, bytes.len() as u64)
                }
            };
            slot.object = object;
            slot.size = size;
        }
        let objects: Vec<String> = slots.iter().map(|p| p.object.clone()).collect();
        let size = slots.iter().map(|p| p.size).sum();
        job.id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::to_vec(&job).map_err(|e| Error::Invalid(e.to_string()))?;
        let message = async_nats::jetstream::message::PublishMessage::build().payload(body.into()).message_id(&job.id);
        let published = js.send_publish(job.subject(&q.name), message).await.map_err(nats)?.await;
        let ack = match published {
            Ok(ack) => ack,
            // The stream refused it: another submitter filled it since the check above.
            Err(e) if e.to_string().contains("maximum messages") => {
                return Err(Error::Full { queued: q.max_queued as u64 });
            }
            Err(e) => return Err(nats(e)),
        };
        out.push(Submitted { job: job.id, origin: job.origin, objects, size, sequence: ack.sequence });
    }
    Ok(out)
}
