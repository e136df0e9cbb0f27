//! How model values are written to and read from columns, the same for
//! every backend.

use dragnet_core::{Category, Grade, Kind, Observable, Relation, StoreError, Tlp};

const TAG_SEPARATOR: char = '\u{1f}';

pub fn join_tags(tags: &[String]) -> String {
    tags.iter().map(|t| t.replace(TAG_SEPARATOR, " ")).collect::<Vec<_>>().join(&TAG_SEPARATOR.to_string())
}

pub fn split_tags(text: &str) -> Vec<String> {
    if text.is_empty() { Vec::new() } else { text.split(TAG_SEPARATOR).map(str::to_string).collect() }
}

/// FNV-1a, 64-bit: a stable fingerprint of a raw record, used to make
/// re-ingesting the same record a no-op. Stored, so it must never change.
pub fn raw_hash(raw: &str) -> i64 {
    fnv1a(0xcbf2_9ce4_8422_2325, raw.as_bytes()) as i64
}

/// The id of an observable: a hash of its kind and normal value, so a
/// lookup or an upsert is one primary-key probe with no secondary index.
/// Stored, so it must never change; collisions are detected on write.
pub fn observable_id(observable: &Observable) -> i64 {
    let h = fnv1a(0xcbf2_9ce4_8422_2325, observable.kind().as_str().as_bytes());
    fnv1a(fnv1a(h, &[0]), observable.value().as_bytes()) as i64
}

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
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
        // Fixed value: changing the hash would break idempotence of existing stores.
        assert_eq!(raw_hash("1.2.3.4"), 790_097_504_932_053_221);
        let ip = Observable::guess("1.2.3.4").unwrap();
        assert_eq!(observable_id(&ip), observable_id(&Observable::guess("::ffff:1.2.3.4").unwrap()));
        assert_ne!(observable_id(&ip), observable_id(&Observable::guess("1.2.3.5").unwrap()));
    }
}
