//! `dragnet ingest`: reads files and folders (the I/O edge), hands bytes to
//! the pure parsers, labels the records and writes each input as one batch.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use dragnet_core::policy::{BatchLabels, label};
use dragnet_core::store::{Batch, Source};
use dragnet_core::{Category, Grade, Link, Reject, Store, Timestamp, Tlp};
use dragnet_ingest::sources_json::{self, Role};
use dragnet_ingest::{Format, Mapping};
use serde::Serialize;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to ingest.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The partner feed this comes from; created on first use. May be left
    /// out for a folder with a `sources.json` saying whose each file is.
    #[arg(long)]
    source: Option<String>,
    /// auto (detect from content) or one of: stix, misp, misp-feed, feodo,
    /// urlhaus, threatfox, drop, asn-drop, dshield, plain, csv.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Column mapping for csv: value=COL[,kind=COL,category=COL,first_seen=COL,
    /// last_seen=COL,tags=COL,confidence=COL,tlp=COL,delimiter=C]; COL is a
    /// header name or a 1-based position.
    #[arg(long)]
    columns: Option<String>,
    /// TLP floor for this input (a record marked stricter keeps its marking);
    /// also the default of a new source.
    #[arg(long)]
    tlp: Option<Tlp>,
    /// Admiralty grade for this input, e.g. B2; also the default of a new source.
    #[arg(long)]
    grade: Option<Grade>,
    /// Category for records whose feed does not say.
    #[arg(long)]
    category: Option<Category>,
    /// List every reject with file:line and reason.
    #[arg(long)]
    show_rejects: bool,
}

/// What one input contributed.
#[derive(Debug, Default, Serialize)]
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
    pub steps: Vec<serde_json::Value>,
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
}

pub fn now() -> Timestamp {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The stored source of that name, or `wanted` when it is new: the store
/// creates it with the first batch that is written, so an ingest that fails
/// leaves no empty source behind.
pub fn stored_or(store: &mut dyn Store, wanted: &Source) -> Result<Source, dragnet_core::StoreError> {
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
                return FileReport {
                    path: origin.to_string(),
                    error: Some(format!(
                        "{origin}: internal error while reading it ({what}); nothing was written, please report this"
                    )),
                    ..Default::default()
                };
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
            report.rejects = parsed.rejects.clone();
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
        let at = now();
        let observations: Vec<_> = records.into_iter().map(|r| label(r, &self.source, &self.labels, at)).collect();
        let batch =
            Batch { source: &self.source, origin, observations: &observations, rejects, links, ingested_at: at };
        match store.write_batch(&batch) {
            Ok(out) => {
                report.new = out.new_observations;
                report.new_observables = out.new_observables;
                report.links = links.len() as u64;
                report.new_links = out.new_links;
            }
            Err(e) => {
                report.accepted = 0;
                report.store_failed = true;
                report.error = Some(format!("{origin}: not stored, the store is unchanged: {e}"));
            }
        }
    }
}

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

fn provenance(folder: &Path) -> anyhow::Result<Vec<Entry>> {
    let path = folder.join("sources.json");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let named = sources_json::parse(&bytes).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    Ok(named
        .into_iter()
        .map(|n| Entry { path: folder.join(n.path), source: n.source, role: n.role, internal: n.internal })
        .collect())
}

/// Expands folders: a folder with `manifest.json` is a MISP feed (its event
/// files, in manifest order); any other folder gives its files, recursively,
/// in name order, skipping hidden ones.
fn expand(path: &Path, out: &mut Vec<Input>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_dir() {
        out.push(Input { path: path.to_path_buf(), format: None, source: None, error: None });
        return Ok(());
    }
    let manifest = path.join("manifest.json");
    if manifest.is_file() {
        let bytes = std::fs::read(&manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
        let events = dragnet_ingest::formats::misp::feed_event_files(&bytes)
            .map_err(|e| anyhow::anyhow!("{}:{e}", manifest.display()))?;
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
            out.push(Input { path: entry.clone(), format: None, source: None, error: Some(format!("{e:#}")) });
        }
        for input in &mut out[start..] {
            if input.source.is_none() {
                input.source = named.iter().find(|e| input.path.starts_with(&e.path)).and_then(|e| e.source.clone());
            }
        }
    }
    Ok(())
}

/// Imports the warninglists and geo data a folder's `sources.json` names.
fn prepare(store: &mut dyn Store, data: &Path, entries: &[Entry], report: &mut Report) -> anyhow::Result<()> {
    for e in entries.iter().filter(|e| e.role == Role::Warninglists) {
        let (imported, failed) = crate::warninglists::import(store, std::slice::from_ref(&e.path))?;
        report.prepared += imported.len() as u64;
        report.steps.push(
            serde_json::json!({"step": "warninglists", "path": e.path, "imported": imported.len(), "failed": failed}),
        );
    }
    // Every geo entry's files in one import: each import replaces the data in force.
    let geo: Vec<&Entry> = entries.iter().filter(|e| e.role == Role::Geo).collect();
    if !geo.is_empty() {
        let mut files = Vec::new();
        for e in &geo {
            crate::walk::files_under(&e.path, &mut files)?;
        }
        let (asn, country, _) = crate::geo::import(data, &files)?;
        report.prepared += (asn + country) as u64;
        let paths: Vec<&Path> = geo.iter().map(|e| e.path.as_path()).collect();
        report
            .steps
            .push(serde_json::json!({"step": "geo", "path": paths, "asn_ranges": asn, "country_ranges": country}));
    }
    Ok(())
}

/// Runs the detectors over the telemetry a folder's `sources.json` names.
fn detect(store: &mut dyn Store, entries: &[Entry], report: &mut Report) -> anyhow::Result<()> {
    for e in entries.iter().filter(|e| e.role == Role::Telemetry) {
        let Some(source) = &e.source else { continue };
        let args = crate::telemetry::default_args(&e.path, source, &e.internal)?;
        let out = crate::telemetry::detect(store, &args)?;
        report.accepted += out.accepted;
        report.new += out.new;
        report.new_observables += out.new_observables;
        report.links += out.links;
        report.new_links += out.new_links;
        report.files_failed += u64::from(out.error.is_some());
        report.steps.push(serde_json::json!({"step": "telemetry", "path": e.path, "report": out}));
    }
    Ok(())
}

pub fn run(store: &mut dyn Store, data: &Path, args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    let format = match args.format.as_str() {
        "auto" => None,
        name => Some(name.parse::<Format>().map_err(anyhow::Error::msg)?),
    };
    let mapping = match &args.columns {
        Some(spec) => spec.parse::<Mapping>().map_err(|e| anyhow::anyhow!("--columns: {e}"))?,
        None if format == Some(Format::Csv) => Mapping::default(),
        None => Mapping::default(),
    };
    let mut inputs = Vec::new();
    let mut entries = Vec::new();
    let mut report = Report::default();
    for path in &args.paths {
        // A folder that cannot be listed (or a damaged MISP manifest) is one
        // failed input; the other paths are still read.
        let listed = expand(path, &mut inputs).and_then(|()| {
            if path.is_dir() {
                entries.extend(provenance(path)?.into_iter().filter(|e| e.role != Role::Feed));
            }
            Ok(())
        });
        if let Err(e) = listed {
            let file =
                FileReport { path: path.display().to_string(), error: Some(format!("{e:#}")), ..Default::default() };
            if !json {
                print_file(&file, false);
            }
            report.add(file);
        }
    }
    inputs.retain(|i| !entries.iter().any(|e| i.path.starts_with(&e.path)));
    prepare(store, data, &entries, &mut report)?;
    let given = match args.source.as_deref().map(str::trim) {
        Some("") => bail!("--source must name the partner feed"),
        Some(name) => Some(Source {
            name: name.to_string(),
            grade: args.grade.unwrap_or(Grade::UNGRADED),
            tlp: args.tlp.unwrap_or(Tlp::Amber),
        }),
        None => None,
    };
    if given.is_none() && inputs.iter().all(|i| i.source.is_none()) && entries.is_empty() {
        bail!("--source is needed: no folder given has a sources.json naming its files' sources");
    }
    let labels = BatchLabels { tlp: args.tlp, grade: args.grade, category: args.category };
    let mut jobs: Vec<Job<'_>> = Vec::new();

    let total: u64 = inputs.iter().filter_map(|i| std::fs::metadata(&i.path).ok()).map(|m| m.len()).sum();
    let bar = progress_bar(total, json);
    let mut names = std::collections::BTreeSet::new();
    for input in &inputs {
        let origin = input.path.display().to_string();
        bar.set_message(origin.clone());
        if let Some(e) = &input.error {
            let file = FileReport { path: origin, error: Some(e.clone()), ..Default::default() };
            if !json {
                bar.suspend(|| print_file(&file, false));
            }
            report.add(file);
            continue;
        }
        // A source named on the command line wins over sources.json.
        let Some(wanted) = given.as_ref().or(input.source.as_ref()) else {
            if !json {
                bar.suspend(|| println!("{origin}: not named in sources.json, skipped (give --source to ingest it)"));
            }
            continue;
        };
        let job = match jobs.iter().position(|j| j.source.name == wanted.name) {
            Some(i) => &jobs[i],
            None => {
                let source = stored_or(store, wanted)?;
                jobs.push(Job { source, labels, format, mapping: &mapping, keep_rejects: args.show_rejects });
                &jobs[jobs.len() - 1]
            }
        };
        let file = match std::fs::read(&input.path) {
            Ok(bytes) if format.is_none() && dragnet_ingest::is_telemetry(&bytes) => {
                bar.inc(bytes.len() as u64);
                if !json {
                    bar.suspend(|| {
                        println!(
                            "{origin}: telemetry, not a feed: run `dragnet telemetry {origin} --source {}`",
                            job.source.name
                        )
                    });
                }
                continue;
            }
            Ok(bytes) => {
                names.insert(job.source.name.clone());
                let file = job.ingest_bytes(store, &origin, &bytes, input.format);
                bar.inc(bytes.len() as u64);
                file
            }
            Err(e) => FileReport {
                path: origin.clone(),
                error: Some(format!("cannot read {origin}: {e}")),
                ..Default::default()
            },
        };
        if !json {
            bar.suspend(|| print_file(&file, args.show_rejects));
        }
        report.add(file);
    }
    bar.finish_and_clear();
    detect(store, &entries, &mut report)?;
    names.extend(
        entries.iter().filter(|e| e.role == Role::Telemetry).filter_map(|e| e.source.as_ref()).map(|s| s.name.clone()),
    );
    report.source = names.into_iter().collect::<Vec<_>>().join(", ");
    if json {
        print_json(&report)?;
    } else {
        for step in &report.steps {
            print_step(step);
        }
        println!(
            "{}: {} accepted ({} new observations, {} new observables), {} rejected, {} skipped{}",
            report.source,
            report.accepted,
            report.new,
            report.new_observables,
            report.rejected,
            report.skipped,
            if report.files_failed > 0 {
                format!(", {} inputs not ingested", report.files_failed)
            } else {
                String::new()
            }
        );
        if report.rejected > 0 && !args.show_rejects {
            println!("(--show-rejects lists them; `dragnet rejects` shows the stored ones)");
        }
    }
    if let Some(notice) = crate::warninglists::none_loaded(store)? {
        eprintln!("note: {notice}");
    }
    let step_failed = report.steps.iter().any(|s| s["report"]["error"].is_string());
    if step_failed {
        return Ok(ExitCode::FAILURE);
    }
    let refused = report.files.iter().filter(|f| f.store_failed).count();
    if json && (refused > 0 || report.accepted == 0) {
        for e in report.files.iter().filter_map(|f| f.error.as_deref()) {
            eprintln!("error: {e}");
        }
    }
    // The store refusing an input is not bad input: say so, and fail, so a
    // script retries rather than believing the input was empty.
    if refused > 0 {
        eprintln!(
            "error: the store refused {refused} of {} inputs (see above); they were not written",
            report.files.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    if report.accepted == 0 && report.links == 0 && report.prepared == 0 {
        eprintln!("error: the input held nothing usable; nothing was written");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_step(step: &serde_json::Value) {
    let path = match &step["path"] {
        serde_json::Value::Array(paths) => paths.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
        p => p.as_str().unwrap_or_default().to_string(),
    };
    match step["step"].as_str() {
        Some("warninglists") => println!("{path}: {} warninglists imported", step["imported"]),
        Some("geo") => {
            println!("{path}: {} ASN ranges and {} country ranges imported", step["asn_ranges"], step["country_ranges"])
        }
        Some("telemetry") => {
            let r = &step["report"];
            println!(
                "{path}: telemetry of {}: {} connections → {} beacons, {} scans, {} sightings; {} findings stored ({} new), {} links ({} new)",
                r["source"].as_str().unwrap_or_default(),
                r["connections"],
                r["beacons"],
                r["scans"],
                r["sightings"],
                r["accepted"],
                r["new"],
                r["links"],
                r["new_links"]
            );
            if let Some(e) = r["error"].as_str() {
                eprintln!("error: {e}");
            }
        }
        _ => {}
    }
    if let Some(failed) = step["failed"].as_array() {
        for f in failed {
            eprintln!("{}: {}", f["file"].as_str().unwrap_or_default(), f["error"].as_str().unwrap_or_default());
        }
    }
}

fn print_file(file: &FileReport, show_rejects: bool) {
    let format = file.format.as_deref().unwrap_or("?");
    let how = if file.detected { format!("detected {format}") } else { format.to_string() };
    match &file.error {
        Some(e) => eprintln!("{} ({how}): error: {e}", file.path),
        None => println!(
            "{} ({how}): {} accepted, {} new, {} rejected, {} skipped",
            file.path, file.accepted, file.new, file.rejected, file.skipped
        ),
    }
    if show_rejects {
        for r in &file.rejects {
            let field = r.field.as_deref().map(|f| format!(" [{f}]")).unwrap_or_default();
            println!("  {}:{}{}: {}\n      {}", file.path, r.line, field, r.reason, r.raw);
        }
    }
}

fn progress_bar(total: u64, json: bool) -> indicatif::ProgressBar {
    if json || !std::io::stderr().is_terminal() || total < 4 * 1024 * 1024 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
