//! `dragnet ingest`: arguments in, the engine's report out (text or JSON).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dragnet_core::policy::BatchLabels;
use dragnet_core::store::Source;
use dragnet_core::{Category, Grade, Store, Tlp};
use dragnet_engine::ingest::{FileReport, Progress, Request, Step, ingest_paths};
use dragnet_ingest::Mapping;

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
    #[command(flatten)]
    input: Input,
    /// List every reject with file:line and reason.
    #[arg(long)]
    show_rejects: bool,
}

/// How an input is read and labelled: `dragnet ingest` and `dragnet submit` alike.
#[derive(clap::Args)]
pub struct Input {
    /// auto (detect from content) or one of: stix, misp, misp-feed, feodo,
    /// urlhaus, threatfox, drop, asn-drop, dshield, plain, csv.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Column mapping for csv: value=COL[,kind=COL,category=COL,first_seen=COL,
    /// last_seen=COL,tags=COL,confidence=COL,tlp=COL,delimiter=C]; COL is a
    /// header name or a 1-based position.
    #[arg(long)]
    pub columns: Option<String>,
    /// TLP floor for this input (a record marked stricter keeps its marking);
    /// also the default of a new source.
    #[arg(long)]
    pub tlp: Option<Tlp>,
    /// Admiralty grade for this input, e.g. B2; also the default of a new source.
    #[arg(long)]
    pub grade: Option<Grade>,
    /// Category for records whose feed does not say.
    #[arg(long)]
    pub category: Option<Category>,
}

impl Input {
    pub fn labels(&self) -> BatchLabels {
        BatchLabels { tlp: self.tlp, grade: self.grade, category: self.category }
    }
}

/// Prints each input's outcome as it happens, with a progress bar on a
/// terminal for large inputs.
struct Printer {
    bar: indicatif::ProgressBar,
    json: bool,
    show_rejects: bool,
}

impl Progress for Printer {
    fn start(&mut self, total: u64) {
        if !self.json && std::io::stderr().is_terminal() && total >= 4 * 1024 * 1024 {
            self.bar = indicatif::ProgressBar::new(total);
            self.bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
        }
    }
    fn reading(&mut self, origin: &str) {
        self.bar.set_message(origin.to_string());
    }
    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn file(&mut self, file: &FileReport) {
        if !self.json {
            self.bar.suspend(|| print_file(file, self.show_rejects));
        }
    }
    fn skipped(&mut self, origin: &str, why: &str) {
        if !self.json {
            self.bar.suspend(|| println!("{origin}: {why}"));
        }
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

pub fn run(store: &mut dyn Store, data: &Path, args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    let format = dragnet_engine::ingest::format_named(&args.input.format)?;
    let mapping = match &args.input.columns {
        Some(spec) => spec.parse::<Mapping>().map_err(|e| anyhow::anyhow!("--columns: {e}"))?,
        None => Mapping::default(),
    };
    let source = match args.source.as_deref().map(str::trim) {
        Some("") => anyhow::bail!("--source must name the partner feed"),
        Some(name) => Some(Source {
            name: name.to_string(),
            grade: args.input.grade.unwrap_or(Grade::UNGRADED),
            tlp: args.input.tlp.unwrap_or(Tlp::Amber),
        }),
        None => None,
    };
    let request = Request {
        paths: &args.paths,
        source,
        labels: args.input.labels(),
        format,
        mapping: &mapping,
        keep_rejects: args.show_rejects,
    };
    let mut printer = Printer { bar: indicatif::ProgressBar::hidden(), json, show_rejects: args.show_rejects };
    let report = ingest_paths(store, data, &request, &mut printer)?;
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
    if let Some(notice) = dragnet_engine::warninglists::none_loaded(store)? {
        eprintln!("note: {notice}");
    }
    if report.step_failed() {
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

fn print_step(step: &Step) {
    match step {
        Step::Warninglists { path, imported, failed } => {
            println!("{}: {imported} warninglists imported", path.display());
            for f in failed {
                eprintln!("{}: {}", f.file, f.error);
            }
        }
        Step::Geo { path, asn_ranges, country_ranges } => {
            let paths: Vec<String> = path.iter().map(|p| p.display().to_string()).collect();
            println!("{}: {asn_ranges} ASN ranges and {country_ranges} country ranges imported", paths.join(", "));
        }
        Step::Telemetry { path, report: r } => {
            println!(
                "{}: telemetry of {}: {} connections → {} beacons, {} scans, {} sightings; {} findings stored ({} new), {} links ({} new)",
                path.display(),
                r.source,
                r.connections,
                r.beacons,
                r.scans,
                r.sightings,
                r.accepted,
                r.new,
                r.links,
                r.new_links
            );
            crate::telemetry::print_notes(&r.notes);
            if let Some(e) = &r.error {
                eprintln!("error: {e}");
            }
        }
    }
}

pub fn print_file(file: &FileReport, show_rejects: bool) {
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
        let unlisted = file.rejected.saturating_sub(file.rejects.len() as u64);
        if unlisted > 0 {
            println!("  … and {unlisted} more, all stored: `dragnet rejects` lists them");
        }
    }
}
