//! The score of an observable, 0–100, computed at read time from stored
//! observations, so decay never needs a rescoring job. See `docs/scoring.md`.
//!
//! Each observation's strength is `reliability × credibility × confidence ×
//! category weight × decay`, with decay halving every category half-life and
//! dropping to zero past the expiry. A partner's strongest observation counts
//! for it (two feeds of one partner are not independent); partners combine by
//! noisy-OR: `1 − Π(1 − strength)`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Category, Credibility, Grade, Reliability};
use crate::store::{Hit, Observation};
use crate::time::Timestamp;

/// The knobs of the score, with documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// Weight of reliability A..F.
    pub reliability: [f64; 6],
    /// Weight of credibility 1..6.
    pub credibility: [f64; 6],
    /// Half-life in days per category, in `Category::ALL` order.
    pub half_life_days: [f64; 9],
    /// Weight per category, in `Category::ALL` order.
    pub category_weight: [f64; 9],
    /// Observations older than this many half-lives no longer count.
    pub expiry_half_lives: f64,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            // F and 6 "cannot be judged" sit between fairly and not usually reliable.
            reliability: [1.0, 0.85, 0.7, 0.5, 0.3, 0.4],
            credibility: [1.0, 0.85, 0.7, 0.5, 0.3, 0.4],
            // phishing, credential-theft, banking-malware, ransomware, botnet-c2,
            // malware-distribution, scanning, spam, other
            half_life_days: [7.0, 14.0, 30.0, 30.0, 30.0, 10.0, 7.0, 7.0, 14.0],
            category_weight: [0.95, 0.95, 1.0, 1.0, 1.0, 0.9, 0.6, 0.5, 0.5],
            expiry_half_lives: 6.0,
        }
    }
}

/// One observation's part in a score.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub source: String,
    pub partner: String,
    pub grade: Grade,
    pub category: Category,
    pub confidence: Option<u8>,
    pub last_seen: Timestamp,
    pub age_days: f64,
    pub reliability_weight: f64,
    pub credibility_weight: f64,
    pub confidence_weight: f64,
    pub category_weight: f64,
    pub decay: f64,
    pub expired: bool,
    pub strength: f64,
    /// Whether this is its partner's strongest observation (the one that counts).
    pub counted: bool,
}

/// A score with every contribution behind it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub score: u8,
    pub independent_partners: usize,
    pub contributions: Vec<Contribution>,
}

/// The partner a source belongs to: the part of its name before the first
/// `/` or `:` (`abusech/feodo` and `abusech/urlhaus` are one partner).
pub fn partner_of(source: &str) -> &str {
    source.split(['/', ':']).next().unwrap_or(source)
}

fn reliability_index(r: Reliability) -> usize {
    r as usize
}

fn credibility_index(c: Credibility) -> usize {
    usize::from(c.get() - 1)
}

fn category_index(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(Category::ALL.len() - 1)
}

/// How long after its last sighting an observation of `category` expires, in seconds.
// The index is an enum position into an array sized by the enum.
#[allow(clippy::indexing_slicing)]
pub fn expiry_seconds(cfg: &ScoringConfig, category: Category) -> i64 {
    let days = cfg.half_life_days[category_index(category)].max(0.001) * cfg.expiry_half_lives;
    (days * 86_400.0) as i64
}

/// One observation's strength in 0–1 at time `now`.
// The indices are enum positions into arrays sized by the enum.
#[allow(clippy::indexing_slicing)]
pub fn contribution(
    cfg: &ScoringConfig,
    source: &str,
    grade: Grade,
    category: Category,
    confidence: Option<u8>,
    last_seen: Timestamp,
    now: Timestamp,
) -> Contribution {
    let age_days = ((now - last_seen).max(0)) as f64 / 86_400.0;
    let half_life = cfg.half_life_days[category_index(category)].max(0.001);
    let expired = age_days > half_life * cfg.expiry_half_lives;
    let decay = if expired { 0.0 } else { 0.5f64.powf(age_days / half_life) };
    let reliability_weight = cfg.reliability[reliability_index(grade.reliability)];
    let credibility_weight = cfg.credibility[credibility_index(grade.credibility)];
    let confidence_weight = confidence.map_or(1.0, |c| f64::from(c.min(100)) / 100.0);
    let category_weight = cfg.category_weight[category_index(category)];
    Contribution {
        source: source.to_string(),
        partner: partner_of(source).to_string(),
        grade,
        category,
        confidence,
        last_seen,
        age_days,
        reliability_weight,
        credibility_weight,
        confidence_weight,
        category_weight,
        decay,
        expired,
        strength: (reliability_weight * credibility_weight * confidence_weight * category_weight * decay)
            .clamp(0.0, 1.0),
        counted: false,
    }
}

/// Combines contributions: each partner's strongest counts, partners by noisy-OR.
// Every index comes from enumerating `contributions` itself.
#[allow(clippy::indexing_slicing)]
pub fn combine(mut contributions: Vec<Contribution>) -> Explanation {
    let mut best: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in contributions.iter().enumerate() {
        let entry = best.entry(c.partner.clone()).or_insert(i);
        if c.strength > contributions[*entry].strength {
            *entry = i;
        }
    }
    let mut miss = 1.0;
    let mut partners = 0;
    for &i in best.values() {
        contributions[i].counted = true;
        if contributions[i].strength > 0.0 {
            partners += 1;
        }
        miss *= 1.0 - contributions[i].strength;
    }
    Explanation {
        score: ((1.0 - miss) * 100.0).round().clamp(0.0, 100.0) as u8,
        independent_partners: partners,
        contributions,
    }
}

/// The score of the observable behind `hits` at time `now`.
pub fn explain(cfg: &ScoringConfig, hits: &[Hit], now: Timestamp) -> Explanation {
    explain_observations(cfg, hits.iter().map(|h| (h.source.as_str(), &h.observation)), now)
}

/// The score of one observable's (source, observation) pairs at time `now`.
pub fn explain_observations<'a>(
    cfg: &ScoringConfig,
    observations: impl IntoIterator<Item = (&'a str, &'a Observation)>,
    now: Timestamp,
) -> Explanation {
    combine(
        observations
            .into_iter()
            .map(|(source, o)| contribution(cfg, source, o.grade, o.category, o.confidence, o.last_seen, now))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn c(source: &str, grade: &str, age_days: i64) -> Contribution {
        contribution(
            &ScoringConfig::default(),
            source,
            grade.parse().unwrap(),
            Category::BotnetC2,
            None,
            0,
            age_days * DAY,
        )
    }

    /// A small deterministic generator, so the properties run over many cases.
    fn cases() -> impl Iterator<Item = (String, i64, u8)> {
        let grades: Vec<String> = "ABCDEF".chars().flat_map(|r| (1..=6).map(move |n| format!("{r}{n}"))).collect();
        (0..36 * 8).map(move |i| (grades[i % 36].clone(), (i / 36) as i64 * 5, (i * 37 % 101) as u8))
    }

    #[test]
    fn more_independent_corroboration_never_lowers_a_score() {
        for (grade, age, _) in cases() {
            let one = combine(vec![c("a", &grade, age)]).score;
            let two = combine(vec![c("a", &grade, age), c("b", "C3", 3)]).score;
            assert!(two >= one, "{grade} {age}: {two} < {one}");
            let same_partner = combine(vec![c("a/x", &grade, age), c("a/y", &grade, age)]);
            assert_eq!(same_partner.score, one, "two feeds of one partner are not independent");
            assert_eq!(same_partner.independent_partners, usize::from(one > 0));
        }
    }

    #[test]
    fn a_worse_grade_never_raises_a_score() {
        let cfg = ScoringConfig::default();
        for age in [0, 3, 30] {
            for r in 0..5 {
                for n in 1..=6 {
                    let better = format!("{}{n}", "ABCDE".as_bytes()[r] as char);
                    let worse_r = format!("{}{n}", "BCDEF".as_bytes()[r] as char);
                    // F ("cannot be judged") is weighted above E on purpose; compare A–E only.
                    if worse_r.starts_with('F') {
                        continue;
                    }
                    assert!(c("a", &worse_r, age).strength <= c("a", &better, age).strength, "{worse_r} vs {better}");
                }
            }
            for n in 1..5u8 {
                let better = c("a", &format!("B{n}"), age).strength;
                let worse = c("a", &format!("B{}", n + 1), age).strength;
                assert!(worse <= better);
            }
        }
        assert!(cfg.reliability.windows(2).take(4).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn an_older_observation_never_counts_more() {
        for (grade, age, confidence) in cases() {
            let cfg = ScoringConfig::default();
            let g: Grade = grade.parse().unwrap();
            let newer = contribution(&cfg, "a", g, Category::Phishing, Some(confidence), 0, age * DAY);
            let older = contribution(&cfg, "a", g, Category::Phishing, Some(confidence), 0, (age + 1) * DAY);
            assert!(older.strength <= newer.strength);
        }
        let expired = c("a", "A1", 30 * 6 + 1);
        assert!(expired.expired && expired.strength == 0.0);
    }

    #[test]
    fn scores_combine_as_documented() {
        // A1 botnet-c2 seen today: 1.0 × 1.0 × 1.0 × 1.0 × 1.0.
        assert_eq!(combine(vec![c("a", "A1", 0)]).score, 100);
        // C3 seen one half-life ago: 0.7 × 0.7 × 0.5 = 0.245.
        assert_eq!(combine(vec![c("a", "C3", 30)]).score, 25);
        // Two independent C3 today: 1 − (1 − 0.49)² = 0.7399.
        assert_eq!(combine(vec![c("a", "C3", 0), c("b", "C3", 0)]).score, 74);
        assert_eq!(combine(Vec::new()).score, 0);
    }
}
