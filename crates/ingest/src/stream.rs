//! Large line-based inputs, read and parsed a stretch at a time, so that
//! memory holds one stretch and its records, never the whole input.
//!
//! A stretch is parsed by the format's own parser with the input's
//! preamble (its comments and header row, whatever comes before the first
//! line that yields anything) in front of it, so every stretch is read with
//! the same columns as the first; what the preamble itself yields is
//! dropped, and line numbers are those of the whole input.

use std::io::{self, Read};

use dragnet_core::{FileError, Parsed};

use crate::{Format, Mapping};

/// Bytes a stretch holds, give or take a line.
pub const STRETCH_BYTES: usize = 1 << 20;

/// At most this many stretches' worth of bytes (and at least
/// [`MIN_WAIT_BYTES`]) wait for a line to end, or in CSV for a quoted field
/// to close, before the input is cut anyway.
const MAX_STRETCHES_PER_CUT: usize = 8;
const MIN_WAIT_BYTES: usize = 64 * 1024;

/// The most of the input's start kept as its preamble.
const MAX_PREAMBLE_BYTES: usize = 64 * 1024;

/// Whether an input of `format` that starts with `head` can be parsed a
/// stretch at a time: every format read line by line can; JSON documents
/// (STIX, MISP, the JSON forms of the abuse.ch feeds) are read whole.
pub fn streams(format: Format, head: &[u8]) -> bool {
    match format {
        Format::Stix | Format::Misp | Format::MispFeed => false,
        Format::Feodo | Format::Threatfox => !crate::json::looks_like_json(head),
        // One JSON object per line: line-based all the same.
        Format::Drop | Format::AsnDrop => true,
        Format::Urlhaus | Format::Dshield | Format::Plain | Format::Csv => true,
    }
}

/// Formats whose fields may be quoted across a line break.
fn quoted(format: Format) -> bool {
    matches!(format, Format::Csv | Format::Feodo | Format::Urlhaus | Format::Threatfox)
}

/// A run of whole lines of the input.
#[derive(Debug)]
pub struct Stretch {
    /// The input's 1-based line on which the stretch starts.
    pub first_line: u32,
    pub bytes: Vec<u8>,
}

/// The stretches of an input, each ending at the end of a line (outside a
/// quoted field, for CSV) near [`STRETCH_BYTES`] long.
pub struct Stretches<R> {
    reader: R,
    first_target: usize,
    target: usize,
    quoted: bool,
    pending: Vec<u8>,
    next_line: u32,
    done: bool,
}

impl<R: Read> Stretches<R> {
    pub fn new(reader: R, format: Format) -> Self {
        Self::with_target(reader, format, STRETCH_BYTES)
    }

    /// Stretches of about `target` bytes (tests cut small ones). The first
    /// holds at least what format detection looked at, so that it holds the
    /// header every later stretch is read with.
    pub fn with_target(reader: R, format: Format, target: usize) -> Self {
        Self::with_sizes(reader, format, target.max(crate::SNIFF_BYTES), target)
    }

    /// A first stretch of about `first` bytes, then of `target` (the fuzz
    /// target cuts tiny inputs).
    pub fn with_sizes(reader: R, format: Format, first: usize, target: usize) -> Self {
        Stretches {
            reader,
            first_target: first.max(1),
            target: target.max(1),
            quoted: quoted(format),
            pending: Vec::new(),
            next_line: 1,
            done: false,
        }
    }

    /// Reads until `pending` holds at least `want` bytes or the input ends.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        while !self.done && self.pending.len() < want {
            let before = self.pending.len();
            let step = (want - before).max(64 * 1024);
            (&mut self.reader).take(step as u64).read_to_end(&mut self.pending)?;
            if self.pending.len() == before {
                self.done = true;
            }
        }
        Ok(())
    }

    /// Where to cut the first `window` bytes of `pending`: after the last
    /// line end outside quotes (when the format quotes); once too much is
    /// waiting, after the last line end, or at the window's end.
    fn cut(&self, window: usize, forced: bool) -> Option<usize> {
        let window = self.pending.get(..window).unwrap_or(&self.pending);
        let mut inside = false;
        let mut last_even = None;
        let mut last_any = None;
        for (i, &b) in window.iter().enumerate() {
            match b {
                b'"' if self.quoted => inside = !inside,
                b'\n' => {
                    last_any = Some(i + 1);
                    if !inside {
                        last_even = Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        match (last_even, forced) {
            (Some(at), _) => Some(at),
            (None, true) => Some(last_any.unwrap_or(window.len())),
            (None, false) => None,
        }
    }

    fn next_stretch(&mut self) -> io::Result<Option<Stretch>> {
        let most = (self.target.saturating_mul(MAX_STRETCHES_PER_CUT)).max(MIN_WAIT_BYTES);
        let mut want = if self.next_line == 1 { self.first_target } else { self.target };
        loop {
            self.fill(want)?;
            if self.pending.is_empty() {
                return Ok(None);
            }
            let at = if self.done && self.pending.len() <= want {
                Some(self.pending.len())
            } else {
                self.cut(want, want >= most)
            };
            if let Some(at) = at {
                let rest = self.pending.split_off(at);
                let bytes = std::mem::replace(&mut self.pending, rest);
                let first_line = self.next_line;
                let lines = bytes.iter().filter(|&&b| b == b'\n').count();
                self.next_line = first_line.saturating_add(u32::try_from(lines).unwrap_or(u32::MAX));
                return Ok(Some(Stretch { first_line, bytes }));
            }
            want = want.saturating_mul(2);
        }
    }
}

impl<R: Read> Iterator for Stretches<R> {
    type Item = io::Result<Stretch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_stretch().transpose()
    }
}

/// Parses an input's stretches in order, reading each with the preamble
/// the first one found.
pub struct StretchParser<'a> {
    format: Format,
    mapping: &'a Mapping,
    preamble: Vec<u8>,
    preamble_lines: u32,
    preamble_skipped: u64,
    started: bool,
}

impl<'a> StretchParser<'a> {
    pub fn new(format: Format, mapping: &'a Mapping) -> Self {
        StretchParser { format, mapping, preamble: Vec::new(), preamble_lines: 0, preamble_skipped: 0, started: false }
    }

    /// The records, rejects and links of `stretch`, with the whole input's
    /// line numbers.
    pub fn parse(&mut self, stretch: &Stretch) -> Result<Parsed, FileError> {
        if !self.started {
            self.started = true;
            let parsed = crate::parse(self.format, &stretch.bytes, self.mapping)?;
            self.keep_preamble(&stretch.bytes, &parsed);
            return Ok(parsed);
        }
        let mut input = Vec::with_capacity(self.preamble.len() + stretch.bytes.len());
        input.extend_from_slice(&self.preamble);
        input.extend_from_slice(&stretch.bytes);
        let (before, shift) = (self.preamble_lines, stretch.first_line.saturating_sub(1));
        let moved = |line: u32| if line == 0 { 0 } else { line - before + shift };
        let mut parsed = crate::parse(self.format, &input, self.mapping).map_err(|mut e| {
            if e.line > before {
                e.line = moved(e.line);
            }
            e
        })?;
        // A line-0 item cannot be placed; it is kept rather than lost.
        let ours = |line: u32| line == 0 || line > before;
        parsed.records.retain(|r| ours(r.line));
        parsed.rejects.retain(|r| ours(r.line));
        parsed.links.retain(|l| ours(l.line));
        parsed.records.iter_mut().for_each(|r| r.line = moved(r.line));
        parsed.rejects.iter_mut().for_each(|r| r.line = moved(r.line));
        parsed.links.iter_mut().for_each(|l| l.line = moved(l.line));
        parsed.skipped = parsed.skipped.saturating_sub(self.preamble_skipped);
        Ok(parsed)
    }

    /// Keeps the lines of the first stretch before its first item, up to
    /// [`MAX_PREAMBLE_BYTES`] of whole lines.
    fn keep_preamble(&mut self, first: &[u8], parsed: &Parsed) {
        let first_item = parsed
            .records
            .iter()
            .map(|r| r.line)
            .chain(parsed.rejects.iter().map(|r| r.line))
            .chain(parsed.links.iter().map(|l| l.line))
            .filter(|&l| l > 0)
            .min();
        let mut end = 0;
        let mut lines = 0u32;
        for (i, &b) in first.iter().enumerate().take(MAX_PREAMBLE_BYTES) {
            if b != b'\n' {
                continue;
            }
            if first_item.is_some_and(|l| lines + 1 >= l) {
                break;
            }
            lines += 1;
            end = i + 1;
        }
        self.preamble = first.get(..end).unwrap_or_default().to_vec();
        self.preamble_lines = lines;
        if !self.preamble.is_empty() {
            self.preamble_skipped = crate::parse(self.format, &self.preamble, self.mapping).map_or(0, |p| p.skipped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stretched(format: Format, input: &[u8], target: usize) -> Parsed {
        let mapping = Mapping::default();
        let mut parser = StretchParser::new(format, &mapping);
        let mut all = Parsed::default();
        let mut joined = Vec::new();
        for stretch in Stretches::with_target(input, format, target) {
            let stretch = stretch.unwrap();
            joined.extend_from_slice(&stretch.bytes);
            let p = parser.parse(&stretch).unwrap();
            all.records.extend(p.records);
            all.rejects.extend(p.rejects);
            all.links.extend(p.links);
            all.skipped += p.skipped;
        }
        assert_eq!(joined, input, "the stretches are the input, in order, nothing lost or doubled");
        all
    }

    /// `header` and then `rows` again and again, past the first stretch's
    /// 64 KiB, so that later ones are cut.
    fn long(header: &str, rows: &str) -> Vec<u8> {
        [header, &rows.repeat(70 * 1024 / rows.len())].concat().into_bytes()
    }

    #[test]
    fn stretches_parse_as_the_whole_input_does() {
        let feodo = (
            "# Feodo\n# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n",
            "\"2026-01-01 00:00:00\",\"192.0.2.1\",\"443\",\"online\",\"2026-01-02\",\"Emotet\"\n\
             \"2026-01-01 00:00:00\",\"999.0.2.1\",\"443\",\"online\",\"2026-01-02\",\"Emotet\"\n\
             \"2026-01-01 00:00:00\",\"198.51.100.9\",\"8080\",\"online\",\"2026-01-02\",\"QakBot\"\n",
        );
        let csv = (
            "indicator,type,tags\n",
            "evil.example,domain,\"a,\nb\"\n192.0.2.7,ip,x\nnot a value,,\n203.0.113.0/24,cidr,\"q\"\n",
        );
        let drop = ("; Spamhaus DROP\n", "1.4.0.0/17 ; SBL1\n2.56.0.0/14 ; SBL2\nbad ; SBL3\n5.0.0.0/16 ; SBL4\n");
        let plain = ("# list\n", "192.0.2.1\névil.example\n\nhttp://x.example/a\"b\n2001:db8::1\n");
        let cases = [(Format::Feodo, feodo), (Format::Csv, csv), (Format::Drop, drop), (Format::Plain, plain)];
        for (format, (header, rows)) in cases {
            let text = long(header, rows);
            let whole = crate::parse(format, &text, &Mapping::default()).unwrap();
            assert!(!whole.records.is_empty() && (format == Format::Plain || !whole.rejects.is_empty()), "{format}");
            for target in [1, 7, 40, 1 << 20] {
                let parts = stretched(format, &text, target);
                assert_eq!(parts.records, whole.records, "{format} in stretches of {target}");
                assert_eq!(parts.rejects, whole.rejects, "{format} in stretches of {target}");
                assert_eq!(parts.skipped, whole.skipped, "{format} in stretches of {target}");
            }
        }
    }

    #[test]
    fn a_quoted_line_break_is_never_cut() {
        let text = long("value,note\n", "\"192.0.2.1\",\"one\ntwo\nthree\"\n192.0.2.2,x\n");
        let cuts: Vec<_> = Stretches::with_target(&text[..], Format::Csv, 1).map(|s| s.unwrap()).collect();
        let starts: Vec<u32> = cuts.iter().skip(1).map(|s| s.first_line).collect();
        assert!(starts.len() > 100);
        // Rows start on lines 2, 6, 10…: a cut falls before a row or between
        // the two rows, never inside the quoted note.
        assert!(starts.iter().all(|l| l % 4 == 2 || l % 4 == 1), "{starts:?}");
        // Plain text has no quoting: a stray quote does not hold the cut.
        let text = long("#\n", "a\"\nb\n");
        let cuts: Vec<_> = Stretches::with_target(&text[..], Format::Plain, 1).map(|s| s.unwrap()).collect();
        assert!(cuts.iter().skip(1).all(|s| s.bytes.iter().filter(|&&b| b == b'\n').count() == 1));
    }

    #[test]
    fn an_unclosed_quote_is_cut_once_enough_waits() {
        let mut text = b"value\n\"192.0.2.1\n".to_vec();
        text.extend(std::iter::repeat_n(b"192.0.2.3\n".as_slice(), 40_000).flatten());
        let cuts: Vec<_> = Stretches::with_target(&text[..], Format::Csv, 8).map(|s| s.unwrap()).collect();
        assert!(cuts.len() > 3, "bounded, not the whole input");
        assert!(cuts.iter().all(|s| s.bytes.len() <= 2 * MIN_WAIT_BYTES));
        assert_eq!(cuts.concat_bytes(), text);
    }

    trait Concat {
        fn concat_bytes(&self) -> Vec<u8>;
    }
    impl Concat for Vec<Stretch> {
        fn concat_bytes(&self) -> Vec<u8> {
            self.iter().flat_map(|s| s.bytes.iter().copied()).collect()
        }
    }
}
