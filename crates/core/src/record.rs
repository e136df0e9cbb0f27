//! What parsers produce: records that became observables, and rejects that
//! did not, each with where it was found and its raw text.

use serde::Serialize;

use crate::model::{Category, Tlp};
use crate::observable::{Kind, Observable};
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

/// Two observables an input says belong together: a domain that resolves
/// to an IP, an IP that presents a certificate or a JARM fingerprint. Links
/// are what clustering joins observables into servers by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub from: Observable,
    pub to: Observable,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// 1-based line in the input (0 when unknown).
    pub line: u32,
}

impl Link {
    /// A link between two observables, or `None` when their kinds have no
    /// relation Dragnet knows (see [`Relation::between`]).
    pub fn new(from: Observable, to: Observable, line: u32) -> Option<Link> {
        Relation::between(from.kind(), to.kind())?;
        Some(Link { from, to, first_seen: None, last_seen: None, line })
    }

    /// The link between two records' observables, seen when both were:
    /// from the later of their first sightings to the later of their last.
    pub fn between_records(from: &Record, to: &Record, line: u32) -> Option<Link> {
        let mut link = Link::new(from.observable.clone(), to.observable.clone(), line)?;
        link.first_seen = from.first_seen.max(to.first_seen);
        link.last_seen = from.last_seen.max(to.last_seen);
        Some(link)
    }

    pub fn relation(&self) -> Relation {
        Relation::between(self.from.kind(), self.to.kind()).unwrap_or(Relation::ResolvesTo)
    }
}

/// What a link says. Identity-level relations join observables into one
/// server; configuration-level ones (a TLS stack's fingerprint, shared by
/// every server an operator sets up the same way) join servers into
/// infrastructure clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// domain → IP, from DNS answers, SNI or Host on a connection, or a report.
    ResolvesTo,
    /// IP or domain → the SHA-256 of the TLS certificate it presents.
    PresentsCertificate,
    /// IP or domain → its SSH host key fingerprint.
    HasSshHostKey,
    /// IP or domain → its JARM fingerprint.
    HasJarm,
    /// IP or domain → its JA3S fingerprint.
    HasJa3s,
}

impl Relation {
    pub const ALL: [Relation; 5] = [
        Relation::ResolvesTo,
        Relation::PresentsCertificate,
        Relation::HasSshHostKey,
        Relation::HasJarm,
        Relation::HasJa3s,
    ];

    /// The relation a link from a `from` to a `to` expresses, if any.
    pub fn between(from: Kind, to: Kind) -> Option<Relation> {
        let host = matches!(from, Kind::Ipv4 | Kind::Ipv6 | Kind::Domain);
        match to {
            Kind::Ipv4 | Kind::Ipv6 if from == Kind::Domain => Some(Relation::ResolvesTo),
            Kind::X509Sha256 if host => Some(Relation::PresentsCertificate),
            Kind::SshHostKey if host => Some(Relation::HasSshHostKey),
            Kind::Jarm if host => Some(Relation::HasJarm),
            Kind::Ja3s if host => Some(Relation::HasJa3s),
            _ => None,
        }
    }

    /// Whether the relation puts both ends on one server (otherwise it
    /// only puts their servers in one infrastructure cluster).
    pub fn same_server(self) -> bool {
        matches!(self, Relation::ResolvesTo | Relation::PresentsCertificate | Relation::HasSshHostKey)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::ResolvesTo => "resolves-to",
            Relation::PresentsCertificate => "presents-certificate",
            Relation::HasSshHostKey => "has-ssh-host-key",
            Relation::HasJarm => "has-jarm",
            Relation::HasJa3s => "has-ja3s",
        }
    }
}

/// A piece of input that did not become a record, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub line: u32,
    /// The field (column, JSON key or STIX property) at fault, when one is.
    pub field: Option<String>,
    pub reason: String,
    pub raw: String,
}

impl Reject {
    /// A reject with its field name, reason and raw text bounded (see
    /// [`MAX_REASON_CHARS`] and [`MAX_REJECT_RAW_BYTES`]), since all three
    /// can carry text the feed's author chose.
    pub fn new(line: u32, field: Option<&str>, reason: impl Into<String>, raw: impl Into<String>) -> Reject {
        Reject {
            line,
            field: field.map(|f| clip(f).into_owned()),
            reason: bound(reason.into(), MAX_REASON_CHARS),
            raw: bound_raw(raw.into()),
        }
    }
}

/// How many characters of an input value a message quotes.
pub const MAX_ECHO_CHARS: usize = 200;

/// A reason or error message as a whole: values in it are already
/// [`clip`]ped, this catches what a message quotes without clipping.
pub const MAX_REASON_CHARS: usize = 1000;

/// The raw text a reject keeps. Rejects are stored so that a partner can be
/// shown what was refused; 64 KiB shows any real record whole, while a
/// multi-megabyte line (a mistake or an attack) is kept only in part rather
/// than copied into the store and every report.
pub const MAX_REJECT_RAW_BYTES: usize = 64 * 1024;

/// `text` as a message may quote it: whole when it is at most
/// [`MAX_ECHO_CHARS`] characters, else its start and `… (N bytes)`.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    clip_to(text, MAX_ECHO_CHARS)
}

fn clip_to(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => {
            let head = text.get(..cut).unwrap_or_default();
            std::borrow::Cow::Owned(format!("{head}… ({} bytes)", text.len()))
        }
    }
}

fn bound(text: String, max_chars: usize) -> String {
    match clip_to(&text, max_chars) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(clipped) => clipped,
    }
}

fn bound_raw(mut raw: String) -> String {
    if raw.len() > MAX_REJECT_RAW_BYTES {
        let total = raw.len();
        let mut cut = MAX_REJECT_RAW_BYTES;
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        raw.truncate(cut);
        raw.push_str(&format!("… ({total} bytes)"));
    }
    raw
}

/// The outcome of parsing one input.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Parsed {
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
    /// Relations between observables the input states.
    pub links: Vec<Link>,
    /// Well-formed items that carry nothing Dragnet tracks (a MISP `text`
    /// attribute, a STIX `malware` object): counted, not stored.
    pub skipped: u64,
}

impl Parsed {
    /// The first broken promise of a parser's output for `input`, if any:
    /// every line is within the input, every value is in normal form (it
    /// parses back to itself), every reject has a reason and stays within
    /// its bounds. Tests and fuzz targets check it on hostile input.
    pub fn broken_promise(&self, input: &[u8]) -> Option<String> {
        let lines = u32::try_from(input.iter().filter(|&&b| b == b'\n').count() + 1).unwrap_or(u32::MAX);
        for r in &self.records {
            if r.line > lines {
                return Some(format!("record at line {} of a {lines}-line input", r.line));
            }
            let again = Observable::parse(r.observable.kind(), r.observable.value());
            if again.as_ref() != Ok(&r.observable) {
                return Some(format!("`{}` is not in normal form", clip(r.observable.value())));
            }
        }
        for r in &self.rejects {
            if r.line > lines {
                return Some(format!("reject at line {} of a {lines}-line input", r.line));
            }
            if r.reason.is_empty() || r.reason.chars().count() > MAX_REASON_CHARS + 40 {
                return Some(format!("reject reason of {} characters", r.reason.chars().count()));
            }
            if r.raw.len() > MAX_REJECT_RAW_BYTES + 64 {
                return Some(format!("reject raw text of {} bytes", r.raw.len()));
            }
        }
        None
    }
}

impl FileError {
    /// As [`Parsed::broken_promise`], for an input refused whole.
    pub fn broken_promise(&self, input: &[u8]) -> Option<String> {
        let lines = input.iter().filter(|&&b| b == b'\n').count() + 1;
        if self.line as usize > lines {
            return Some(format!("file error at line {} of a {lines}-line input", self.line));
        }
        (self.message.is_empty() || self.message.chars().count() > MAX_REASON_CHARS + 40)
            .then(|| format!("file error message of {} characters", self.message.chars().count()))
    }
}

/// The first broken promise of a parse result for `input` (see [`Parsed::broken_promise`]).
pub fn broken_promise(input: &[u8], result: &Result<Parsed, FileError>) -> Option<String> {
    match result {
        Ok(parsed) => parsed.broken_promise(input),
        Err(e) => e.broken_promise(input),
    }
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
        FileError { line, column: None, message: bound(message.into(), MAX_REASON_CHARS) }
    }
}

/// 1-based line number of byte `offset` in `input`.
pub fn line_at(input: &[u8], offset: usize) -> u32 {
    let before = input.get(..offset).unwrap_or(input);
    1 + before.iter().filter(|&&b| b == b'\n').count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_on_a_character_boundary_and_says_how_long_the_value_was() {
        assert_eq!(clip("short"), "short");
        let exact = "é".repeat(MAX_ECHO_CHARS);
        assert_eq!(clip(&exact), exact.as_str());
        let long = format!("{exact}€😀");
        assert_eq!(clip(&long), format!("{exact}… ({} bytes)", long.len()));
    }

    #[test]
    fn rejects_and_file_errors_are_bounded() {
        let value = "😀".repeat(MAX_REJECT_RAW_BYTES);
        let r = Reject::new(3, Some(&value), format!("`{value}` is bad"), value.clone());
        assert!(r.reason.chars().count() <= MAX_REASON_CHARS + 30, "{}", r.reason.len());
        assert!(r.field.as_deref().is_some_and(|f| f.chars().count() < MAX_ECHO_CHARS + 30));
        assert!(r.raw.len() <= MAX_REJECT_RAW_BYTES + 30 && r.raw.ends_with(&format!("({} bytes)", value.len())));
        assert!(r.raw.starts_with("😀😀"));
        let small = Reject::new(1, None, "why", "raw");
        assert_eq!((small.reason.as_str(), small.raw.as_str()), ("why", "raw"));
        assert!(FileError::new(1, value).message.len() < MAX_REASON_CHARS * 4 + 30);
    }
}
