//! One module per input format. Each exposes a pure `parse(&[u8])` that
//! returns records and rejects, or a [`dragnet_core::FileError`] when the input
//! as a whole cannot be read.

pub mod abusech;
pub mod csv_mapped;
pub mod dshield;
pub mod misp;
pub mod plain;
pub mod spamhaus;
pub mod stix;
mod stix_pattern;
