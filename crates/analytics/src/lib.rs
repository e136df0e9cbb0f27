//! Detectors over telemetry. Pure computation on [`dragnet_core::telemetry`]
//! records; reading logs is `dragnet-ingest`'s job, storing findings the
//! binary's.

pub mod beacon;
pub mod cluster;
pub mod dns;
pub mod filter;
pub mod geo;
pub mod prefix;
pub mod scan;
mod stats;
pub mod warninglist;
