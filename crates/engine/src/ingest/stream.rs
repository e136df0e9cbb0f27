//! One large line-based input read, parsed and written a stretch at a time
//! inside its one batch, so memory stays flat however large the input.

use std::io::Read;

use dragnet_core::policy::label;
use dragnet_core::store::{Batch, Part};
use dragnet_core::{Store, Timestamp};
use dragnet_ingest::Format;
use dragnet_ingest::stream::{StretchParser, Stretches};

use super::{FileReport, Job};

/// The most rejects one input's report lists; all of them are counted and
/// stored (`dragnet rejects` reads them back).
pub const MAX_LISTED_REJECTS: usize = 1_000;

/// The largest input read whole (a JSON document: a STIX bundle, a MISP
/// event); anything larger is refused before it can exhaust memory.
pub const MAX_WHOLE_BYTES: u64 = 512 << 20;

impl Job<'_> {
    /// Reads `reader` (`origin`) and writes it as one batch: a line-based
    /// format a stretch at a time, a JSON document whole. `advance` hears
    /// of the bytes as they are read.
    pub fn ingest_reader(
        &self,
        store: &mut dyn Store,
        origin: &str,
        mut reader: impl Read,
        format: Option<Format>,
        advance: &mut dyn FnMut(u64),
    ) -> FileReport {
        let mut head = Vec::with_capacity(dragnet_ingest::SNIFF_BYTES);
        if let Err(e) = (&mut reader).take(dragnet_ingest::SNIFF_BYTES as u64).read_to_end(&mut head) {
            return FileReport::failed(origin, format!("cannot read {origin}: {e}"));
        }
        let (format, detected) = match format.or(self.format) {
            Some(f) => (f, false),
            None => (dragnet_ingest::detect(&head), true),
        };
        if !dragnet_ingest::stream::streams(format, &head) {
            let mut whole = head;
            let room = MAX_WHOLE_BYTES.saturating_sub(whole.len() as u64) + 1;
            if let Err(e) = reader.take(room).read_to_end(&mut whole) {
                return FileReport::failed(origin, format!("cannot read {origin}: {e}"));
            }
            if whole.len() as u64 > MAX_WHOLE_BYTES {
                let why = format!(
                    "{origin}: a {format} document is read whole, and this one is over {} MiB; nothing was written: split it (a STIX bundle into several bundles, MISP events into a feed folder of one file each)",
                    MAX_WHOLE_BYTES >> 20
                );
                return FileReport { format: Some(format.name().into()), detected, ..FileReport::failed(origin, why) };
            }
            advance(whole.len() as u64);
            let mut report = self.ingest_bytes(store, origin, &whole, Some(format));
            report.detected = detected;
            return report;
        }
        let mut report =
            FileReport { path: origin.to_string(), format: Some(format.name().into()), detected, ..Default::default() };
        let at = crate::now();
        let mut reading = Reading {
            job: self,
            origin,
            format,
            stretches: Stretches::new(std::io::Cursor::new(head).chain(reader), format),
            parser: StretchParser::new(format, self.mapping),
            report: &mut report,
            advance,
            at,
            usable: false,
            ended: false,
        };
        let head = Batch { source: &self.source, origin, observations: &[], rejects: &[], links: &[], ingested_at: at };
        let outcome = store.write_parts(&head, &mut reading);
        report.stored(origin, outcome);
        report
    }
}

/// An input's parts, parsed as the store asks for them; an input that
/// fails, or ends with nothing usable, ends in an `Err` that rolls its
/// batch back.
struct Reading<'a, 'j, R> {
    job: &'a Job<'j>,
    origin: &'a str,
    format: Format,
    stretches: Stretches<R>,
    parser: StretchParser<'j>,
    report: &'a mut FileReport,
    advance: &'a mut dyn FnMut(u64),
    at: Timestamp,
    usable: bool,
    ended: bool,
}

impl<R: Read> Reading<'_, '_, R> {
    fn part(&mut self, stretch: &dragnet_ingest::stream::Stretch) -> Result<Part, String> {
        let origin = self.origin;
        // A parser bug costs this input, never the run.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.parser.parse(stretch)));
        let parsed = match parsed {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(format!("{origin}:{e}")),
            Err(panic) => {
                let what = crate::panic_message(panic.as_ref());
                return Err(format!(
                    "{origin}: internal error while reading it ({what}); nothing was written, please report this"
                ));
            }
        };
        self.usable |= !parsed.records.is_empty() || !parsed.links.is_empty();
        let report = &mut *self.report;
        report.accepted += parsed.records.len() as u64;
        report.rejected += parsed.rejects.len() as u64;
        report.skipped += parsed.skipped;
        report.links += parsed.links.len() as u64;
        if self.job.keep_rejects {
            let room = MAX_LISTED_REJECTS.saturating_sub(report.rejects.len());
            report.rejects.extend(parsed.rejects.iter().take(room).cloned());
        }
        let job = self.job;
        let observations = parsed.records.into_iter().map(|r| label(r, &job.source, &job.labels, self.at)).collect();
        Ok(Part { observations, rejects: parsed.rejects, links: parsed.links })
    }
}

impl<R: Read> Iterator for Reading<'_, '_, R> {
    type Item = Result<Part, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let failed = |this: &mut Self, why: String| {
            this.ended = true;
            Some(Err(why))
        };
        match self.stretches.next() {
            Some(Ok(stretch)) => {
                (self.advance)(stretch.bytes.len() as u64);
                match self.part(&stretch) {
                    Ok(part) => Some(Ok(part)),
                    Err(why) => failed(self, why),
                }
            }
            Some(Err(e)) => failed(self, format!("{}: cannot read it: {e}; nothing was written", self.origin)),
            None if self.usable => {
                self.ended = true;
                None
            }
            None => {
                let r = &self.report;
                let why = format!(
                    "{}: nothing usable as {} ({} rejected, {} skipped); nothing was written",
                    self.origin, self.format, r.rejected, r.skipped
                );
                failed(self, why)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use dragnet_core::policy::BatchLabels;
    use dragnet_core::store::Source;
    use dragnet_core::{Grade, Store, Tlp};
    use dragnet_ingest::{Format, Mapping};

    use super::super::Job;
    use super::MAX_WHOLE_BYTES;

    #[test]
    fn a_document_too_large_to_read_whole_is_refused_before_it_is_read() {
        let mut store = dragnet_store::SqliteStore::in_memory().unwrap();
        let mapping = Mapping::default();
        let source = Source { name: "big".into(), grade: Grade::UNGRADED, tlp: Tlp::Amber };
        let job = Job { source, labels: BatchLabels::default(), format: None, mapping: &mapping, keep_rejects: false };
        let mut read = 0;
        let huge = b"{\"type\": \"bundle\", \"objects\": [".chain(std::io::repeat(b' ').take(MAX_WHOLE_BYTES));
        let report = job.ingest_reader(&mut store, "huge.json", huge, None, &mut |n| read += n);
        let error = report.error.unwrap();
        assert!(error.contains("over 512 MiB") && error.contains("split it"), "{error}");
        assert_eq!(report.format.as_deref(), Some(Format::Stix.name()));
        assert_eq!(read, 0, "refused before anything was parsed");
        assert_eq!(store.stats().unwrap().observations, 0);
        assert!(store.source("big").unwrap().is_none());
    }
}
