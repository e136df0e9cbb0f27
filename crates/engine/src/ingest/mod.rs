//! Ingesting feeds: files and folders are read (a folder's `sources.json`
//! says whose each file is, a `manifest.json` makes it a MISP feed), each
//! input's bytes go to the pure parsers, the records are labelled and each
//! input is written as one batch. A submission over the API is one input.

use std::io::Read;
use std::path::{Path, PathBuf};

use dragnet_core::policy::{BatchLabels, label};
use dragnet_core::store::{Batch, BatchOutcome, Source};
use dragnet_core::{Link, Reject, Store, StoreError};
use dragnet_ingest::sources_json::{self, Role};
use dragnet_ingest::{Format, Mapping};
use serde::Serialize;

use crate::{Error, Result};

mod stream;
pub use stream::MAX_LISTED_REJECTS;

/// What one input contributed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Default, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub format: Option<String>,
    pub detected: bool,
    pub accepted: u64,
    pub rejected: u64,
    pub skipped: u64,
    pub new: u64,
    pub new_observables: u64,
    /// Relations between observables the input stated (domain → IP, IP → certificate…).
    pub links: u64,
    pub new_links: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejects: Vec<Reject>,
    /// The input was read but the store refused it (busy, unreachable):
    /// worth retrying, unlike bad input.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub store_failed: bool,
}

impl FileReport {
    fn failed(path: &str, error: String) -> FileReport {
        FileReport { path: path.to_string(), error: Some(error), ..Default::default() }
    }

    /// Notes what the store did with this input's batch: what was new, or
    /// why nothing was kept (the writer gave up on bad input, or the store
    /// refused it, which is worth retrying).
    fn stored(&mut self, origin: &str, outcome: std::result::Result<BatchOutcome, StoreError>) {
        match outcome {
            Ok(out) => {
                self.new = out.new_observations;
                self.new_observables = out.new_observables;
                self.new_links = out.new_links;
            }
            Err(StoreError::Aborted(why)) => {
                self.accepted = 0;
                self.error = Some(why);
            }
            Err(e) => {
                self.accepted = 0;
                self.store_failed = true;
                self.error = Some(format!("{origin}: not stored, the store is unchanged: {e}"));
            }
        }
    }
}

/// A step a folder's `sources.json` asked for besides reading feeds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "lowercase")]
pub enum Step {
    Warninglists {
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        path: PathBuf,
        imported: usize,
        failed: Vec<crate::warninglists::FailedFile>,
    },
    Geo {
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        path: Vec<PathBuf>,
        asn_ranges: usize,
        country_ranges: usize,
    },
    Telemetry {
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        path: PathBuf,
        report: Box<crate::telemetry::TelemetryReport>,
    },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub source: String,
    pub accepted: u64,
    pub rejected: u64,
    pub skipped: u64,
    pub new: u64,
    pub new_observables: u64,
    pub links: u64,
    pub new_links: u64,
    pub files_failed: u64,
    pub files: Vec<FileReport>,
    /// Warninglists and geo ranges imported by the steps below.
    #[serde(skip)]
    pub prepared: u64,
    /// Warninglist and geo imports and telemetry runs a `sources.json` asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

impl Report {
    pub fn add(&mut self, file: FileReport) {
        self.accepted += file.accepted;
        self.rejected += file.rejected;
        self.skipped += file.skipped;
        self.new += file.new;
        self.new_observables += file.new_observables;
        self.links += file.links;
        self.new_links += file.new_links;
        self.files_failed += u64::from(file.error.is_some());
        self.files.push(file);
    }

    /// A telemetry step failed (its detectors ran but nothing was stored).
    pub fn step_failed(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Telemetry { report, .. } if report.error.is_some()))
    }
}

/// The stored source of that name, or `wanted` when it is new: the store
/// creates it with the first batch that is written, so an ingest that fails
/// leaves no empty source behind.
pub fn stored_or(store: &mut dyn Store, wanted: &Source) -> Result<Source> {
    Ok(store.source(&wanted.name)?.unwrap_or_else(|| wanted.clone()))
}

/// Everything that is the same for every input of one ingest.
pub struct Job<'a> {
    pub source: Source,
    pub labels: BatchLabels,
    pub format: Option<Format>,
    pub mapping: &'a Mapping,
    pub keep_rejects: bool,
}

impl Job<'_> {
    /// Parses one input and writes it as one batch. Inputs that cannot be
    /// read, or hold nothing usable, write nothing.
    pub fn ingest_bytes(
        &self,
        store: &mut dyn Store,
        origin: &str,
        bytes: &[u8],
        format: Option<Format>,
    ) -> FileReport {
        // A parser bug must cost one input, never the run: a panic is caught
        // here, before anything is written, and reported as that input's error.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (format, detected) = match format.or(self.format) {
                Some(f) => (f, false),
                None => (dragnet_ingest::detect(bytes), true),
            };
            (format, detected, dragnet_ingest::parse(format, bytes, self.mapping))
        }));
        let (format, detected, parsed) = match read {
            Ok(read) => read,
            Err(panic) => {
                let what = crate::panic_message(panic.as_ref());
                return FileReport::failed(
                    origin,
                    format!(
                        "{origin}: internal error while reading it ({what}); nothing was written, please report this"
                    ),
                );
            }
        };
        let mut report =
            FileReport { path: origin.to_string(), format: Some(format.name().into()), detected, ..Default::default() };
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                report.error = Some(format!("{origin}:{e}"));
                return report;
            }
        };
        report.rejected = parsed.rejects.len() as u64;
        report.skipped = parsed.skipped;
        report.accepted = parsed.records.len() as u64;
        if self.keep_rejects {
            report.rejects = parsed.rejects.iter().take(MAX_LISTED_REJECTS).cloned().collect();
        }
        if parsed.records.is_empty() && parsed.links.is_empty() {
            report.error = Some(format!(
                "{origin}: nothing usable as {format} ({} rejected, {} skipped); nothing was written",
                report.rejected, report.skipped
            ));
            report.accepted = 0;
            return report;
        }
        self.write(store, origin, parsed.records, &parsed.rejects, &parsed.links, &mut report);
        report
    }

    /// Labels `records` and writes them with `rejects` as one batch, noting
    /// the outcome in `report`.
    pub fn write(
        &self,
        store: &mut dyn Store,
        origin: &str,
        records: Vec<dragnet_core::Record>,
        rejects: &[Reject],
        links: &[Link],
        report: &mut FileReport,
    ) {
        let at = crate::now();
        let observations: Vec<_> = records.into_iter().map(|r| label(r, &self.source, &self.labels, at)).collect();
        let batch =
            Batch { source: &self.source, origin, observations: &observations, rejects, links, ingested_at: at };
        let outcome = store.write_batch(&batch);
        if outcome.is_ok() {
            report.links = links.len() as u64;
        }
        report.stored(origin, outcome);
    }
}

/// One input given as bytes (a submission over the API, a demo feed):
/// parsed, labelled and written as one all-or-nothing batch, exactly as a
/// file given to `dragnet ingest`.
pub fn submit(
    store: &mut dyn Store,
    wanted: &Source,
    labels: BatchLabels,
    format: Option<Format>,
    mapping: &Mapping,
    origin: &str,
    bytes: &[u8],
) -> Result<FileReport> {
    let source = stored_or(store, wanted)?;
    let job = Job { source, labels, format, mapping, keep_rejects: true };
    // Read as a file is: a line-based feed a stretch at a time.
    Ok(job.ingest_reader(store, origin, bytes, None, &mut |_| {}))
}

/// One input a caller submits to the source `name` (over the API or
/// TAXII): refused unless the caller may write there; a source it creates
/// becomes its organisation's own, given to the coordinators.
#[allow(clippy::too_many_arguments)]
pub fn submit_as(
    store: &mut dyn Store,
    scope: &crate::access::Scope,
    name: &str,
    labels: BatchLabels,
    format: Option<Format>,
    mapping: &Mapping,
    origin: &str,
    bytes: &[u8],
) -> Result<FileReport> {
    let wanted = admit_submission(store, scope, name, labels)?;
    submit(store, &wanted, labels, format, mapping, origin, bytes)
}

/// Whether the caller may submit to the source `name`, answered before
/// anything is read or queued: the source as it will be written, or why
/// not. A source it creates is claimed for its organisation here.
pub fn admit_submission(
    store: &mut dyn Store,
    scope: &crate::access::Scope,
    name: &str,
    labels: BatchLabels,
) -> Result<Source> {
    let existing = store.source(name)?;
    let wanted = existing.clone().unwrap_or(Source {
        name: name.to_string(),
        grade: labels.grade.unwrap_or(dragnet_core::Grade::UNGRADED),
        tlp: labels.tlp.unwrap_or(dragnet_core::Tlp::Amber),
    });
    // Ownership as the store says now, not as the scope's moment-old
    // directory does: a source another server just created is not unowned.
    // A new source is claimed (created with its owner in one step) before
    // anything is written to it, so two servers racing to create it agree
    // on whose it is.
    let owner = match (&existing, scope.org()) {
        (None, Some(org)) => {
            scope.may_write(name, false, None)?;
            let sharing = dragnet_core::access::Sharing {
                owner: Some(org.name.clone()),
                recipients: vec![dragnet_core::access::Recipient::Kind(dragnet_core::access::OrgKind::Coordinator)],
            };
            store.claim_source(&wanted, &sharing, &org.name, crate::now())?
        }
        _ => store.sharing()?.remove(name).and_then(|s| s.owner),
    };
    let exists = existing.is_some() || scope.org().is_some();
    scope.may_write(name, exists, owner.as_deref())?;
    Ok(wanted)
}

/// A `--format` name: `auto` is `None` (detect each input from its content).
pub fn format_named(name: &str) -> Result<Option<Format>> {
    match name {
        "auto" => Ok(None),
        name => name.parse::<Format>().map(Some).map_err(|e| Error::invalid(format!("format: {e}"))),
    }
}

/// What `dragnet ingest` was asked to do.
pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    /// The source named by the caller; it wins over `sources.json`.
    pub source: Option<Source>,
    pub labels: BatchLabels,
    /// `None`: detect each input's format from its content.
    pub format: Option<Format>,
    pub mapping: &'a Mapping,
    pub keep_rejects: bool,
}

/// What the edge is told while an ingest runs, so it can show progress and
/// each input's outcome as it happens.
pub trait Progress {
    /// Before the first input, with the bytes to read in all.
    fn start(&mut self, _total_bytes: u64) {}
    /// Reading `origin` begins.
    fn reading(&mut self, _origin: &str) {}
    /// `bytes` more were read.
    fn advance(&mut self, _bytes: u64) {}
    /// An input's outcome.
    fn file(&mut self, _file: &FileReport) {}
    /// An input left alone, and why.
    fn skipped(&mut self, _origin: &str, _why: &str) {}
    fn finish(&mut self) {}
}

/// Reports nothing.
impl Progress for () {}

/// An input file, with the format it must be read as when the layout says so
/// (event files of a MISP feed).
struct Input {
    path: PathBuf,
    format: Option<Format>,
    /// The source named for this file by a folder's `sources.json`.
    source: Option<Source>,
    /// Why this path could not be listed or read as a folder.
    error: Option<String>,
}

struct Entry {
    path: PathBuf,
    source: Option<Source>,
    role: Role,
    internal: Vec<String>,
}

fn provenance(folder: &Path) -> Result<Vec<Entry>> {
    let path = folder.join("sources.json");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(&path).map_err(Error::io("read", &path))?;
    let named = sources_json::parse(&bytes).map_err(|e| Error::invalid(format!("{}:{e}", path.display())))?;
    Ok(named
        .into_iter()
        .map(|n| Entry { path: folder.join(n.path), source: n.source, role: n.role, internal: n.internal })
        .collect())
}

/// Expands folders: a folder with `manifest.json` is a MISP feed (its event
/// files, in manifest order); any other folder gives its files, recursively,
/// in name order, skipping hidden ones.
fn expand(path: &Path, out: &mut Vec<Input>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(Error::io("read", path))?;
    if !meta.is_dir() {
        out.push(Input { path: path.to_path_buf(), format: None, source: None, error: None });
        return Ok(());
    }
    let manifest = path.join("manifest.json");
    if manifest.is_file() {
        let bytes = std::fs::read(&manifest).map_err(Error::io("read", &manifest))?;
        let events = dragnet_ingest::formats::misp::feed_event_files(&bytes)
            .map_err(|e| Error::invalid(format!("{}:{e}", manifest.display())))?;
        for event in events {
            out.push(Input { path: path.join(event), format: Some(Format::Misp), source: None, error: None });
        }
        return Ok(());
    }
    let named = provenance(path)?;
    for entry in crate::walk::entries(path)?.into_iter().filter(|e| !e.ends_with("sources.json")) {
        let start = out.len();
        // One unreadable folder (or damaged manifest) is one failed input;
        // its siblings are still read.
        if let Err(e) = expand(&entry, out) {
            out.push(Input { path: entry.clone(), format: None, source: None, error: Some(e.to_string()) });
        }
        for input in out.iter_mut().skip(start) {
            if input.source.is_none() {
                input.source = named.iter().find(|e| input.path.starts_with(&e.path)).and_then(|e| e.source.clone());
            }
        }
    }
    Ok(())
}

/// Imports the warninglists and geo data a folder's `sources.json` names.
fn prepare(store: &mut dyn Store, data: &Path, entries: &[Entry], report: &mut Report) -> Result<()> {
    for e in entries.iter().filter(|e| e.role == Role::Warninglists) {
        let imported = crate::warninglists::import(store, std::slice::from_ref(&e.path))?;
        report.prepared += imported.imported.len() as u64;
        report.steps.push(Step::Warninglists {
            path: e.path.clone(),
            imported: imported.imported.len(),
            failed: imported.failed,
        });
    }
    // Every geo entry's files in one import: each import replaces the data in force.
    let geo: Vec<&Entry> = entries.iter().filter(|e| e.role == Role::Geo).collect();
    if !geo.is_empty() {
        let mut files = Vec::new();
        for e in &geo {
            crate::walk::files_under(&e.path, &mut files)?;
        }
        let imported = crate::geo::import(data, &files)?;
        report.prepared += (imported.asn_ranges + imported.country_ranges) as u64;
        report.steps.push(Step::Geo {
            path: geo.iter().map(|e| e.path.clone()).collect(),
            asn_ranges: imported.asn_ranges,
            country_ranges: imported.country_ranges,
        });
    }
    Ok(())
}

/// Runs the detectors over the telemetry a folder's `sources.json` names.
fn detect(store: &mut dyn Store, entries: &[Entry], report: &mut Report) -> Result<()> {
    for e in entries.iter().filter(|e| e.role == Role::Telemetry) {
        let Some(source) = &e.source else { continue };
        let request = crate::telemetry::Request::defaults(&e.path, source, &e.internal);
        let out = crate::telemetry::detect(store, &request)?;
        report.accepted += out.accepted;
        report.new += out.new;
        report.new_observables += out.new_observables;
        report.links += out.links;
        report.new_links += out.new_links;
        report.files_failed += u64::from(out.error.is_some());
        report.steps.push(Step::Telemetry { path: e.path.clone(), report: Box::new(out) });
    }
    Ok(())
}

/// Ingests files and folders: every input is one batch; one that cannot be
/// read or holds nothing usable is reported and the others go on.
pub fn ingest_paths(
    store: &mut dyn Store,
    data: &Path,
    request: &Request<'_>,
    progress: &mut dyn Progress,
) -> Result<Report> {
    let mut inputs = Vec::new();
    let mut entries = Vec::new();
    let mut report = Report::default();
    for path in request.paths {
        // A folder that cannot be listed (or a damaged MISP manifest) is one
        // failed input; the other paths are still read.
        let listed = expand(path, &mut inputs).and_then(|()| {
            if path.is_dir() {
                entries.extend(provenance(path)?.into_iter().filter(|e| e.role != Role::Feed));
            }
            Ok(())
        });
        if let Err(e) = listed {
            let file = FileReport::failed(&path.display().to_string(), e.to_string());
            progress.file(&file);
            report.add(file);
        }
    }
    inputs.retain(|i| !entries.iter().any(|e| i.path.starts_with(&e.path)));
    prepare(store, data, &entries, &mut report)?;
    if request.source.is_none() && inputs.iter().all(|i| i.source.is_none()) && entries.is_empty() {
        return Err(Error::invalid("--source is needed: no folder given has a sources.json naming its files' sources"));
    }
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let total: u64 = inputs.iter().filter_map(|i| std::fs::metadata(&i.path).ok()).map(|m| m.len()).sum();
    progress.start(total);
    let mut names = std::collections::BTreeSet::new();
    for input in &inputs {
        let origin = input.path.display().to_string();
        progress.reading(&origin);
        if let Some(e) = &input.error {
            let file = FileReport::failed(&origin, e.clone());
            progress.file(&file);
            report.add(file);
            continue;
        }
        // A source named by the caller wins over sources.json.
        let Some(wanted) = request.source.as_ref().or(input.source.as_ref()) else {
            progress.skipped(&origin, "not named in sources.json, skipped (give --source to ingest it)");
            continue;
        };
        let job = match jobs.iter().position(|j| j.source.name == wanted.name) {
            Some(i) => &jobs[i],
            None => {
                let source = stored_or(store, wanted)?;
                jobs.push(Job {
                    source,
                    labels: request.labels,
                    format: request.format,
                    mapping: request.mapping,
                    keep_rejects: request.keep_rejects,
                });
                &jobs[jobs.len() - 1]
            }
        };
        let file = match std::fs::File::open(&input.path) {
            Ok(mut opened) => {
                let mut head = Vec::new();
                let telemetry = (&mut opened)
                    .take(dragnet_ingest::SNIFF_BYTES as u64)
                    .read_to_end(&mut head)
                    .is_ok_and(|_| request.format.is_none() && dragnet_ingest::is_telemetry(&head));
                if telemetry {
                    progress.advance(std::fs::metadata(&input.path).map_or(0, |m| m.len()));
                    let why =
                        format!("telemetry, not a feed: run `dragnet telemetry {origin} --source {}`", job.source.name);
                    progress.skipped(&origin, &why);
                    continue;
                }
                names.insert(job.source.name.clone());
                let reader = std::io::Cursor::new(head).chain(opened);
                job.ingest_reader(store, &origin, reader, input.format, &mut |n| progress.advance(n))
            }
            Err(e) => FileReport::failed(&origin, format!("cannot read {origin}: {e}")),
        };
        progress.file(&file);
        report.add(file);
    }
    progress.finish();
    detect(store, &entries, &mut report)?;
    names.extend(
        entries.iter().filter(|e| e.role == Role::Telemetry).filter_map(|e| e.source.as_ref()).map(|s| s.name.clone()),
    );
    report.source = names.into_iter().collect::<Vec<_>>().join(", ");
    Ok(report)
}
