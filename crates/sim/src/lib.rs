//! A synthetic takedown operation, deterministic for a seed: malicious
//! servers (several IPs, domains, a shared certificate) spread over many
//! countries; partners' feeds in different formats that overlap, contradict
//! each other and report false positives; a partner sensor's Zeek logs in
//! which infected hosts beacon to some servers amid ordinary traffic; and
//! `truth.json` saying what is what, and how providers and police will answer
//! the takedown requests. Generation is pure: [`generate`]
//! returns the files, the caller writes them.

mod response;
mod rng;
mod sensor;
mod world;

pub use response::{CaseAction, Response};
pub use rng::Rng;
pub use world::{Scenario, Server, Truth, generate};
