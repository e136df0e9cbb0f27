//! The worker fleet. `submit` puts payloads in a JetStream object store
//! (by their SHA-256, so the same bytes are stored once) and publishes jobs
//! naming them: a file to ingest, or one share of a sensor's telemetry
//! (partitioned by a hash of the source address, so every connection of a
//! pair reaches one worker); a prober round, a package or a blocklist
//! export is a job too (an export's text is kept in the bucket). `work` takes jobs from a durable pull
//! consumer, runs them with the engine on the worker's store, and
//! acknowledges each only after its store transaction committed. A batch written twice changes nothing,
//! so a job redelivered after a crash has its effect once. A job that
//! keeps failing on its input goes to a dead-letter stream with its reason
//! after `max_tries` and never holds up the others. The job stream is
//! bounded: when the workers fall behind, a submission is refused
//! ([`Error::Full`]) rather than queued without end.
//!
//! The functions here are blocking: each runs its own Tokio runtime, so
//! the command line and the server's blocking pool call them as they call
//! the rest of the engine.

mod job;
mod queue;
mod submit;
mod worker;

pub use job::{Job, Payload, Work};
pub use queue::{DeadLetter, Queue, Status, result, status};
pub use submit::{Bytes, Submitted, submit, submit_async};
pub use worker::{Worked, WorkerConfig, work};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The job stream holds as many jobs as it may: try again later.
    #[error("the job queue is full ({queued} jobs waiting for workers): try again later")]
    Full { queued: u64 },
    #[error("NATS: {0}")]
    Nats(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Engine(#[from] dragnet_engine::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

fn nats(e: impl std::fmt::Display) -> Error {
    Error::Nats(e.to_string())
}

/// A runtime for one blocking call.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(nats)
}
