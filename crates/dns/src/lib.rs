//! The DNS edge: a DNSBL zone answered from an immutable in-memory index
//! of what is still live, swapped whole when the store changes.
//!
//! - [`index`]: addresses and networks flattened into sorted, disjoint
//!   ranges with an answer code each (9 bytes an IPv4 entry);
//! - [`wire`]: the DNS message format, parsed and written by hand (a query
//!   is a header, one question and perhaps an EDNS record);
//! - [`answer`]: one query in, one response out, a pure function, fuzzed;
//! - [`server`]: UDP and TCP listeners on threads that share the index;
//! - [`refresh`]: the index rebuilt from the store (through the engine's
//!   blocklist selection, so the policy point decides) when it changes.

// Packets come from anyone: no indexing that could panic.
#![deny(clippy::string_slice)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod answer;
pub mod index;
pub mod refresh;
pub mod server;
pub mod wire;

pub use answer::{Zone, ZoneKind, respond, respond_all, respond_in, transfer};
pub use index::{Index, IndexBuilder, Rpz};
pub use server::{Listening, Shared, serve};
