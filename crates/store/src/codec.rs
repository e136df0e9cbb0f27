//! How model values are written to and read from columns, the same for
//! every backend.

use dragnet_core::digest::{hex, sha256, sha256_parts};
use dragnet_core::{Category, Grade, Kind, Observable, Relation, StoreError, Tlp};

const TAG_SEPARATOR: char = '\u{1f}';

pub fn join_tags(tags: &[String]) -> String {
    tags.iter().map(|t| t.replace(TAG_SEPARATOR, " ")).collect::<Vec<_>>().join(&TAG_SEPARATOR.to_string())
}

pub fn split_tags(text: &str) -> Vec<String> {
    if text.is_empty() { Vec::new() } else { text.split(TAG_SEPARATOR).map(str::to_string).collect() }
}

/// The identity of a raw record: SHA-256 of its text, so re-ingesting the
/// same record is a no-op and no crafted record can take another's place.
/// Stored, so it must never change.
pub fn raw_digest(raw: &str) -> String {
    hex(&sha256(raw.as_bytes()))
}

/// The identity of an observable: SHA-256 of its kind and normal value
/// (a separator between them, which neither contains). Partners choose the
/// values, so the identity must be one they cannot collide: a 64-bit hash
/// could be made to roll back a partner's file or pre-empt an indicator.
/// Stored under a unique constraint, so it must never change.
pub fn observable_digest(observable: &Observable) -> String {
    digest_of(observable.kind().as_str(), observable.value())
}

/// [`observable_digest`] of a stored kind and value, as they are.
pub fn digest_of(kind: &str, value: &str) -> String {
    hex(&sha256_parts(&[kind.as_bytes(), &[0], value.as_bytes()]))
}

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt { what, value: value.to_string() }
}

pub fn observable(kind: &str, value: &str) -> Result<Observable, StoreError> {
    let kind: Kind = kind.parse().map_err(|_| corrupt("kind", kind))?;
    Observable::parse(kind, value).map_err(|_| corrupt("observable", value))
}

/// Labels on observations are stored as small numbers: a position in
/// `Category::ALL`, in `Tlp::ALL` (so `MAX(tlp)` is the strictest), and
/// [`Grade::code`]. Rows stay compact and writes bind no text for them.
pub fn category_code(c: Category) -> i64 {
    Category::ALL.iter().position(|x| *x == c).unwrap_or_default() as i64
}

pub fn category_from_code(code: i64) -> Result<Category, StoreError> {
    usize::try_from(code)
        .ok()
        .and_then(|i| Category::ALL.get(i))
        .copied()
        .ok_or_else(|| corrupt("category", &code.to_string()))
}

/// A link's relation as its position in `Relation::ALL` (kept for queries
/// by relation; reading back derives it from the two ends' kinds).
pub fn relation_code(r: Relation) -> i64 {
    Relation::ALL.iter().position(|x| *x == r).unwrap_or_default() as i64
}

pub fn tlp_code(t: Tlp) -> i64 {
    Tlp::ALL.iter().position(|x| *x == t).unwrap_or_default() as i64
}

pub fn tlp_from_code(code: i64) -> Result<Tlp, StoreError> {
    usize::try_from(code).ok().and_then(|i| Tlp::ALL.get(i)).copied().ok_or_else(|| corrupt("tlp", &code.to_string()))
}

pub fn grade_from_code(code: i64) -> Result<Grade, StoreError> {
    u8::try_from(code).ok().and_then(Grade::from_code).ok_or_else(|| corrupt("grade", &code.to_string()))
}

pub fn tlp(s: &str) -> Result<Tlp, StoreError> {
    s.parse().map_err(|_| corrupt("tlp", s))
}

pub fn grade(s: &str) -> Result<Grade, StoreError> {
    s.parse().map_err(|_| corrupt("grade", s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_hash_is_stable() {
        let tags = vec!["a b".to_string(), "c".to_string()];
        assert_eq!(split_tags(&join_tags(&tags)), tags);
        assert!(split_tags("").is_empty());
        for c in Category::ALL {
            assert_eq!(category_from_code(category_code(*c)).unwrap(), *c);
        }
        for t in Tlp::ALL {
            assert_eq!(tlp_from_code(tlp_code(*t)).unwrap(), *t);
        }
        assert!(tlp_code(Tlp::Red) > tlp_code(Tlp::Amber));
        assert!(category_from_code(99).is_err() && tlp_from_code(-1).is_err() && grade_from_code(7).is_err());
        // Fixed values: changing a digest would break idempotence of existing stores.
        assert_eq!(raw_digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        // (Values from Python's hashlib.)
        assert_eq!(raw_digest("1.2.3.4"), "6694f83c9f476da31f5df6bcc520034e7e57d421d247b9d34f49edbfc84a764c");
        let ip = Observable::guess("1.2.3.4").unwrap();
        assert_eq!(observable_digest(&ip), "1eb85b221352a669edef8de1b6c4d2089333cbb2e579442f5ffcfdab5158b788");
        assert_eq!(observable_digest(&ip), observable_digest(&Observable::guess("::ffff:1.2.3.4").unwrap()));
        assert_ne!(observable_digest(&ip), observable_digest(&Observable::guess("1.2.3.5").unwrap()));
    }
}
