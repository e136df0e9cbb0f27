//! The rules that turn a parsed record into a labelled observation, and many
//! observations of one value into a single answer. Pure, so every backend and
//! interface applies them the same way.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::{Category, Grade, Tlp};
use crate::observable::{Kind, Observable};
use crate::record::Record;
use crate::store::{Hit, Observation, Source};
use crate::time::Timestamp;

/// Labels an operator gives a whole input on the command line or API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchLabels {
    /// Applied as a floor: a record marked more strictly keeps its marking,
    /// one marked less strictly (or not at all) gets this one.
    pub tlp: Option<Tlp>,
    /// Replaces the source's default grade for this input.
    pub grade: Option<Grade>,
    /// For records whose feed says nothing about what they are.
    pub category: Option<Category>,
}

/// Labels a record: the record's own TLP (never widened below the batch's),
/// else the source default; the batch grade, else the source's; the record's
/// category, else the batch's, else `other`. Missing times fall back to each
/// other and then to the ingest time.
pub fn label(record: Record, source: &Source, batch: &BatchLabels, ingested_at: Timestamp) -> Observation {
    let tlp = match (record.tlp, batch.tlp) {
        (Some(own), Some(floor)) => own.max(floor),
        (Some(own), None) => own,
        (None, Some(floor)) => floor,
        (None, None) => source.tlp,
    };
    let first_seen = record.first_seen.or(record.last_seen).unwrap_or(ingested_at);
    let last_seen = record.last_seen.unwrap_or(first_seen).max(first_seen);
    Observation {
        observable: record.observable,
        category: record.category.or(batch.category).unwrap_or(Category::Other),
        tlp,
        grade: batch.grade.unwrap_or(source.grade),
        confidence: record.confidence,
        first_seen,
        last_seen,
        tags: record.tags,
        line: record.line,
        raw: record.raw,
    }
}

/// The answer to looking one value up, merged over every hit.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub value: String,
    pub kind: Kind,
    pub found: bool,
    pub sources: Vec<String>,
    pub categories: Vec<Category>,
    pub tags: Vec<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The strictest marking among the hits.
    pub tlp: Option<Tlp>,
    pub observations: usize,
    /// 0–100, from grades, confidence, independent corroboration, category
    /// and age (`dragnet explain` shows how).
    pub score: u8,
    /// The warninglists that hold the value: it is kept, but never served,
    /// routed or exported. Filled by the caller, which has the lists.
    pub warninglists: Vec<String>,
    /// Offline enrichment, filled by the caller: for an IP, its AS and
    /// country when the imported data knows them; for a domain, its
    /// registrable domain. Unknown stays empty.
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    pub country: Option<String>,
    pub registrable_domain: Option<String>,
    /// The stored values that matched, and how (exact, covering CIDR, parent domain).
    pub matches: Vec<AnswerMatch>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AnswerMatch {
    pub value: String,
    pub kind: Kind,
    pub via: crate::store::Via,
}

/// Merges hits into one answer: union of sources, categories and tags,
/// earliest first-seen, latest last-seen, strictest TLP.
pub fn answer(observable: &Observable, hits: &[Hit], scoring: &crate::score::ScoringConfig, now: Timestamp) -> Answer {
    let sources: BTreeSet<&str> = hits.iter().map(|h| h.source.as_str()).collect();
    let categories: BTreeSet<Category> = hits.iter().map(|h| h.observation.category).collect();
    let tags: BTreeSet<&str> = hits.iter().flat_map(|h| h.observation.tags.iter().map(String::as_str)).collect();
    let matches: BTreeSet<AnswerMatch> = hits
        .iter()
        .map(|h| AnswerMatch { value: h.matched.value().to_string(), kind: h.matched.kind(), via: h.via })
        .collect();
    Answer {
        value: observable.value().to_string(),
        kind: observable.kind(),
        found: !hits.is_empty(),
        sources: sources.into_iter().map(str::to_string).collect(),
        categories: categories.into_iter().collect(),
        tags: tags.into_iter().map(str::to_string).collect(),
        first_seen: hits.iter().map(|h| h.observation.first_seen).min().map(crate::time::format_timestamp),
        last_seen: hits.iter().map(|h| h.observation.last_seen).max().map(crate::time::format_timestamp),
        tlp: hits.iter().map(|h| h.observation.tlp).max(),
        observations: hits.len(),
        score: crate::score::explain(scoring, hits, now).score,
        warninglists: Vec::new(),
        asn: None,
        as_org: None,
        country: None,
        registrable_domain: None,
        matches: matches.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source { name: "p".into(), grade: Grade::UNGRADED, tlp: Tlp::Amber }
    }

    fn record(tlp: Option<Tlp>) -> Record {
        let mut r = Record::new(Observable::guess("1.2.3.4").unwrap(), 1, "1.2.3.4");
        r.tlp = tlp;
        r
    }

    #[test]
    fn tlp_is_never_widened() {
        let floor = BatchLabels { tlp: Some(Tlp::Green), ..Default::default() };
        assert_eq!(label(record(Some(Tlp::Red)), &source(), &floor, 0).tlp, Tlp::Red);
        assert_eq!(label(record(Some(Tlp::Clear)), &source(), &floor, 0).tlp, Tlp::Green);
        assert_eq!(label(record(None), &source(), &BatchLabels::default(), 0).tlp, Tlp::Amber);
    }

    #[test]
    fn times_fall_back_and_stay_ordered() {
        let mut r = record(None);
        r.first_seen = Some(100);
        r.last_seen = Some(50);
        let o = label(r, &source(), &BatchLabels::default(), 999);
        assert_eq!((o.first_seen, o.last_seen), (100, 100));
        let o = label(record(None), &source(), &BatchLabels::default(), 999);
        assert_eq!((o.first_seen, o.last_seen), (999, 999));
    }
}
