//! Dragnet's core: the data model (observables, categories, TLP, grades),
//! what parsers produce, the policies that label an observation, and the
//! [`Store`] trait every backend implements. No I/O happens here.

// Values come from partners' feeds and telemetry: slicing a `str` at a byte
// offset panics inside a multi-byte character, and indexing panics out of
// bounds, so neither is allowed outside tests; use `get`, `split_*`,
// `strip_prefix` instead, or a local `allow` that says why it cannot fail.
#![deny(clippy::string_slice)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod access;
pub mod audit;
pub mod case;
pub mod digest;
pub mod model;
pub mod observable;
pub mod policy;
pub mod record;
pub mod score;
pub mod store;
pub mod takedown;
pub mod telemetry;
pub mod time;

pub use model::{Category, Credibility, Grade, LabelError, Reliability, Tlp};
pub use observable::{Kind, Observable, ObservableError};
pub use record::{FileError, Link, Parsed, Record, Reject, Relation, broken_promise};
pub use store::{Store, StoreError};
pub use time::{Timestamp, format_timestamp, parse_timestamp};
