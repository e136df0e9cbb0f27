//! What a job says: whose input it is, how it is labelled, and the work:
//! a file to ingest, one share of a sensor's telemetry to run the
//! detectors over, a round of the verification prober, an agency's next
//! package, or a blocklist export. Payloads are named by their SHA-256 in
//! the bucket.

use dragnet_core::policy::BatchLabels;
use dragnet_core::{Category, Grade, LabelError, Tlp};
use dragnet_engine::blocklist::Selection;
use dragnet_engine::probe::Settings as ProbeSettings;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One unit of work for a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Unique per job: the publish is deduplicated by it.
    pub id: String,
    pub source: String,
    pub tlp: Option<String>,
    pub grade: Option<String>,
    /// Where the input came from (file names), for reports and rejects.
    pub origin: String,
    #[serde(flatten)]
    pub work: Work,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Work {
    /// A feed file, as `dragnet ingest` takes it.
    Ingest {
        /// `auto` or a format name, as `dragnet ingest --format`.
        format: String,
        /// A CSV column mapping, as `dragnet ingest --columns`.
        columns: Option<String>,
        category: Option<String>,
        payload: Payload,
    },
    /// Share `partition` of `partitions` of a sensor's logs, as `dragnet
    /// telemetry --partition` takes them.
    Telemetry { files: Vec<Payload>, internal: Vec<String>, partition: u32, partitions: u32 },
    /// One round of the verification prober, as `dragnet probe run` runs
    /// it; the candidate addresses, when given, are a payload.
    Probe { operation: Option<String>, settings: ProbeSettings, candidates: Option<Payload> },
    /// The agency's next package, as `dragnet package build`.
    Package { agency: String },
    /// A blocklist of what is live, as `dragnet export`, for `viewer` (none:
    /// the operator); its text is kept in the bucket under `result-JOB` for
    /// `dragnet fleet result`.
    Export { selection: Selection, viewer: Option<String> },
}

impl Work {
    /// Work that must not run twice: a second prober round would count as
    /// another silent round, a second build would be another package
    /// version. Such a job is not retried; one delivered again after its
    /// worker went quiet is dead-lettered unrun.
    pub fn runs_once(&self) -> bool {
        matches!(self, Work::Probe { .. } | Work::Package { .. })
    }
}

/// A payload in the bucket: the file's name, its SHA-256 (the object's
/// name) and size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub name: String,
    pub object: String,
    pub size: u64,
}

impl Job {
    /// An ingest job for one file (its payload filled in when submitted).
    pub fn ingest(source: &str, name: &str, format: &str, columns: Option<String>, labels: BatchLabels) -> Job {
        Job {
            id: String::new(),
            source: source.to_string(),
            tlp: labels.tlp.map(|t| t.as_str().to_string()),
            grade: labels.grade.map(|g| g.to_string()),
            origin: name.to_string(),
            work: Work::Ingest {
                format: format.to_string(),
                columns,
                category: labels.category.map(|c| c.as_str().to_string()),
                payload: Payload { name: name.to_string(), ..Payload::default() },
            },
        }
    }

    /// `partitions` telemetry jobs over the files named, one per share.
    pub fn telemetry(
        source: &str,
        names: &[String],
        internal: &[String],
        partitions: u32,
        labels: BatchLabels,
    ) -> Vec<Job> {
        (0..partitions.max(1))
            .map(|partition| Job {
                id: String::new(),
                source: source.to_string(),
                tlp: labels.tlp.map(|t| t.as_str().to_string()),
                grade: labels.grade.map(|g| g.to_string()),
                origin: names.join(" "),
                work: Work::Telemetry {
                    files: names.iter().map(|n| Payload { name: n.clone(), ..Payload::default() }).collect(),
                    internal: internal.to_vec(),
                    partition,
                    partitions: partitions.max(1),
                },
            })
            .collect()
    }

    /// Work on the store as a whole, not on a partner's input.
    fn task(origin: String, work: Work) -> Job {
        Job { id: String::new(), source: String::new(), tlp: None, grade: None, origin, work }
    }

    /// A prober round (its candidates' payload filled in when submitted).
    pub fn probe(operation: Option<String>, settings: ProbeSettings, candidates: Option<&str>) -> Job {
        let candidates = candidates.map(|name| Payload { name: name.to_string(), ..Payload::default() });
        let origin = match &operation {
            Some(op) => format!("probe round ({op})"),
            None => "probe round".to_string(),
        };
        Job::task(origin, Work::Probe { operation, settings, candidates })
    }

    pub fn package(agency: &str) -> Job {
        Job::task(format!("package for {agency}"), Work::Package { agency: agency.to_string() })
    }

    pub fn export(selection: Selection, viewer: Option<&str>) -> Job {
        let origin = format!("{} export for {}", selection.format, viewer.unwrap_or("the operator"));
        Job::task(origin, Work::Export { selection, viewer: viewer.map(str::to_string) })
    }

    /// The subject the job is published on: telemetry by share.
    pub(crate) fn subject(&self, queue: &str) -> String {
        match &self.work {
            Work::Ingest { .. } => format!("{queue}.jobs.ingest"),
            Work::Telemetry { partition, .. } => format!("{queue}.jobs.telemetry.{partition}"),
            Work::Probe { .. } => format!("{queue}.jobs.probe"),
            Work::Package { .. } => format!("{queue}.jobs.package"),
            Work::Export { .. } => format!("{queue}.jobs.export"),
        }
    }

    /// The payloads the job names, in order.
    pub(crate) fn payloads_mut(&mut self) -> Vec<&mut Payload> {
        match &mut self.work {
            Work::Ingest { payload, .. } => vec![payload],
            Work::Telemetry { files, .. } => files.iter_mut().collect(),
            Work::Probe { candidates, .. } => candidates.iter_mut().collect(),
            Work::Package { .. } | Work::Export { .. } => Vec::new(),
        }
    }

    /// The labels the job asks for, or why they cannot be read.
    pub fn labels(&self) -> Result<BatchLabels> {
        let category = match &self.work {
            Work::Ingest { category, .. } => category.as_deref(),
            _ => None,
        };
        Ok(BatchLabels {
            tlp: self.label::<Tlp>("tlp", self.tlp.as_deref())?,
            grade: self.label::<Grade>("grade", self.grade.as_deref())?,
            category: self.label::<Category>("category", category)?,
        })
    }

    fn label<T: std::str::FromStr<Err = LabelError>>(&self, what: &str, value: Option<&str>) -> Result<Option<T>> {
        value
            .map(|v| v.parse::<T>().map_err(|e| Error::Invalid(format!("job {}: {what} `{v}`: {e}", self.id))))
            .transpose()
    }
}
