//! What parsers produce: records that became observables, and rejects that
//! did not, each with where it was found and its raw text.

use serde::Serialize;

use crate::model::{Category, Tlp};
use crate::observable::Observable;
use crate::time::Timestamp;

/// One observable as a feed reported it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub observable: Observable,
    pub category: Option<Category>,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// The marking the record itself carries, if any.
    pub tlp: Option<Tlp>,
    /// The feed's own confidence, 0–100, if it states one.
    pub confidence: Option<u8>,
    /// Malware families, threat types and tags the feed attached.
    pub tags: Vec<String>,
    /// 1-based line in the input where the record starts (0 when unknown).
    pub line: u32,
    /// The record as it appeared in the input.
    pub raw: String,
}

impl Record {
    pub fn new(observable: Observable, line: u32, raw: impl Into<String>) -> Record {
        Record {
            observable,
            category: None,
            first_seen: None,
            last_seen: None,
            tlp: None,
            confidence: None,
            tags: Vec::new(),
            line,
            raw: raw.into(),
        }
    }
}

/// A piece of input that did not become a record, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub line: u32,
    /// The field (column, JSON key or STIX property) at fault, when one is.
    pub field: Option<String>,
    pub reason: String,
    pub raw: String,
}

impl Reject {
    pub fn new(line: u32, field: Option<&str>, reason: impl Into<String>, raw: impl Into<String>) -> Reject {
        Reject { line, field: field.map(str::to_string), reason: reason.into(), raw: raw.into() }
    }
}

/// The outcome of parsing one input.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Parsed {
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
    /// Well-formed items that carry nothing Dragnet tracks (a MISP `text`
    /// attribute, a STIX `malware` object): counted, not stored.
    pub skipped: u64,
}

/// An input that could not be read at all (malformed JSON, a binary file
/// given as text), with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct FileError {
    pub line: u32,
    pub column: Option<u32>,
    pub message: String,
}

impl FileError {
    pub fn new(line: u32, message: impl Into<String>) -> FileError {
        FileError { line, column: None, message: message.into() }
    }
}

/// 1-based line number of byte `offset` in `input`.
pub fn line_at(input: &[u8], offset: usize) -> u32 {
    let end = offset.min(input.len());
    1 + input[..end].iter().filter(|&&b| b == b'\n').count() as u32
}
