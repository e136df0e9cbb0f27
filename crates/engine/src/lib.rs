//! Dragnet's use cases, written once and called alike by the command line
//! (`crates/dragnet`) and the HTTP server: ingesting feeds, running the
//! detectors over telemetry, looking values up, building servers, scoring a
//! simulated operation. Nothing here parses arguments, prints or speaks
//! HTTP; every function takes a [`Store`](dragnet_core::Store) and returns
//! a report that the edges render.

pub mod access;
pub mod audit;
pub mod blocklist;
pub mod config;
pub mod contacts;
pub mod decisions;
pub mod demo;
pub mod error;
pub mod evaluate;
pub mod evidence;
pub mod export;
pub mod geo;
pub mod ingest;
pub mod lookup;
pub mod notices;
pub mod operation_demo;
pub mod operations;
pub mod packages;
pub mod probe;
pub mod report;
pub mod servers;
pub mod snapshot;
pub mod suspects;
pub mod takedown;
pub mod taxii;
pub mod taxii_pull;
pub mod telemetry;
pub mod walk;
pub mod warninglists;

pub use error::{Error, Result};

use dragnet_core::Timestamp;

/// Seconds since the Unix epoch, now.
pub fn now() -> Timestamp {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Microseconds since the Unix epoch, now (TAXII's `date_added`).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// The text a panic was raised with (`panic!` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default()
}
