//! Feed parsers. Every format is a pure function from bytes to
//! [`Parsed`] records and rejects; reading files and folders is the caller's job.

pub mod formats;
