//! Dragnet's core: the data model (observables, categories, TLP, grades),
//! what parsers produce, the policies that label an observation, and the
//! [`Store`] trait every backend implements. No I/O happens here.

pub mod model;
pub mod observable;
pub mod policy;
pub mod record;
pub mod score;
pub mod store;
pub mod telemetry;
pub mod time;

pub use model::{Category, Credibility, Grade, LabelError, Reliability, Tlp};
pub use observable::{Kind, Observable, ObservableError};
pub use record::{FileError, Link, Parsed, Record, Reject, Relation};
pub use store::{Store, StoreError};
pub use time::{Timestamp, format_timestamp, parse_timestamp};
