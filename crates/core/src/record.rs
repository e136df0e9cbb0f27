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
    /// Relations between observables the input states.
    pub links: Vec<Link>,
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
