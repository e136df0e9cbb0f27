//! What a job says: which payload to ingest, into which source, labelled how.

use dragnet_core::policy::BatchLabels;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One submitted input to ingest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Unique per submission: the publish is deduplicated by it.
    pub id: String,
    pub source: String,
    /// `auto` or a format name, as `dragnet ingest --format`.
    pub format: String,
    /// A CSV column mapping, as `dragnet ingest --columns`.
    pub columns: Option<String>,
    pub tlp: Option<String>,
    pub grade: Option<String>,
    pub category: Option<String>,
    /// Where the input came from (a file name), for reports and rejects.
    pub origin: String,
    /// The payload's object: its SHA-256, hex.
    pub object: String,
    pub size: u64,
}

impl Job {
    /// The labels the job asks for, or why they cannot be read.
    pub fn labels(&self) -> Result<BatchLabels> {
        let bad =
            |what: &str, value: &str, e: String| Error::Invalid(format!("job {}: {what} `{value}`: {e}", self.id));
        Ok(BatchLabels {
            tlp: self
                .tlp
                .as_deref()
                .map(|t| t.parse().map_err(|e: dragnet_core::LabelError| bad("tlp", t, e.to_string())))
                .transpose()?,
            grade: self
                .grade
                .as_deref()
                .map(|g| g.parse().map_err(|e: dragnet_core::LabelError| bad("grade", g, e.to_string())))
                .transpose()?,
            category: self
                .category
                .as_deref()
                .map(|c| c.parse().map_err(|e: dragnet_core::LabelError| bad("category", c, e.to_string())))
                .transpose()?,
        })
    }
}
