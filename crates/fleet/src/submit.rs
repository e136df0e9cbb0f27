//! Submitting inputs to the fleet: each payload is put in the bucket under
//! its SHA-256 (once, however often it is sent) and a job naming it is
//! published, deduplicated by the job's id.

use serde::Serialize;

use crate::queue::{self, Queue};
use crate::{Error, Job, Result, nats, runtime};

/// A job the fleet accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    pub job: String,
    pub origin: String,
    pub object: String,
    pub size: u64,
    /// Its place in the job stream.
    pub sequence: u64,
}

/// Publishes one job per input, `template` giving the source and labels
/// (its `id`, `origin`, `object` and `size` are each input's own).
/// Refused with [`Error::Full`] once the queue holds `max_queued` jobs.
pub fn submit(url: &str, q: &Queue, template: &Job, inputs: &[(String, Vec<u8>)]) -> Result<Vec<Submitted>> {
    runtime()?.block_on(async {
        let js = queue::connect(url).await?;
        let mut stream = queue::jobs(&js, q).await?;
        let bucket = queue::bucket(&js, q).await?;
        let mut out = Vec::with_capacity(inputs.len());
        for (origin, bytes) in inputs {
            let queued = stream.info().await.map_err(nats)?.state.messages;
            if queued >= q.max_queued as u64 {
                return Err(Error::Full { queued });
            }
            let object = dragnet_core::digest::hex(&dragnet_core::digest::sha256(bytes));
            if bucket.info(&object).await.is_err() {
                bucket.put(object.as_str(), &mut bytes.as_slice()).await.map_err(nats)?;
            }
            let job = Job {
                id: uuid::Uuid::new_v4().to_string(),
                origin: origin.clone(),
                object: object.clone(),
                size: bytes.len() as u64,
                ..template.clone()
            };
            let body = serde_json::to_vec(&job).map_err(|e| Error::Invalid(e.to_string()))?;
            let published = js
                .send_publish(
                    q.job_subject(),
                    async_nats::jetstream::message::PublishMessage::build().payload(body.into()).message_id(&job.id),
                )
                .await
                .map_err(nats)?
                .await;
            let ack = match published {
                Ok(ack) => ack,
                // The stream refused it: full since the check above.
                Err(e) if e.to_string().contains("maximum messages") => {
                    return Err(Error::Full { queued: q.max_queued as u64 });
                }
                Err(e) => return Err(nats(e)),
            };
            out.push(Submitted { job: job.id, origin: origin.clone(), object, size: job.size, sequence: ack.sequence });
        }
        Ok(out)
    })
}
