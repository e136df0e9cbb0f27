//! Evaluation: how well the store's scored, warninglisted and
//! clustered view of a simulated operation matches its `truth.json` —
//! precision and recall of malicious observables, and pairwise precision,
//! recall and adjusted Rand index of servers and infrastructure clusters.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use dragnet_core::{Observable, Store};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What to compare the store with.
pub struct Request<'a> {
    /// The simulator's truth.json.
    pub truth: &'a Path,
    /// An observable counts as malicious from this score on (0–100).
    pub threshold: u8,
    /// Assess as of this time (default: the truth's `as_of`).
    pub at: Option<i64>,
}

#[derive(Deserialize)]
struct Truth {
    as_of: Option<String>,
    servers: Vec<TruthServer>,
    false_positives: Vec<FalsePositive>,
}

#[derive(Deserialize)]
struct TruthServer {
    id: String,
    ips: Vec<String>,
    domains: Vec<String>,
    cluster: Option<String>,
}

#[derive(Deserialize)]
struct FalsePositive {
    value: String,
}

/// Precision and recall of one yes/no decision.
#[derive(Debug, Default, Serialize)]
pub struct Detection {
    pub true_positives: usize,
    pub false_positives: usize,
    /// Truth values that some source reported but were not flagged.
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
}

/// Pairwise agreement of a partition with the truth.
#[derive(Debug, Default, Serialize)]
pub struct Pairwise {
    pub observables: usize,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub agreeing_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub adjusted_rand_index: f64,
}

#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub as_of: String,
    pub threshold: u8,
    pub truth_servers: usize,
    pub truth_values: usize,
    /// Truth values any source reported (the most any fusion can find).
    pub reported_truth_values: usize,
    pub servers_found: usize,
    pub clusters_found: usize,
    /// Flagged = score ≥ threshold, without warninglists.
    pub scoring_only: Detection,
    /// Flagged = score ≥ threshold and on no warninglist.
    pub with_warninglists: Detection,
    pub planted_false_positives_caught: usize,
    pub planted_false_positives: usize,
    pub servers: Pairwise,
    pub clusters: Pairwise,
    pub clustering_ms: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Pairwise scores of `predicted` (labels) against `truth` (labels), over
/// the items both label.
fn pairwise(items: &[(String, String)]) -> Pairwise {
    let mut cells: HashMap<(&str, &str), u64> = HashMap::new();
    let mut rows: HashMap<&str, u64> = HashMap::new();
    let mut cols: HashMap<&str, u64> = HashMap::new();
    for (p, t) in items {
        *cells.entry((p, t)).or_default() += 1;
        *rows.entry(p).or_default() += 1;
        *cols.entry(t).or_default() += 1;
    }
    let agreeing: u64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted: u64 = rows.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = cols.values().map(|&n| pairs(n)).sum();
    let all = pairs(items.len() as u64) as f64;
    let expected = if all > 0.0 { predicted as f64 * true_pairs as f64 / all } else { 0.0 };
    let max = (predicted as f64 + true_pairs as f64) / 2.0;
    Pairwise {
        observables: items.len(),
        predicted_pairs: predicted,
        true_pairs,
        agreeing_pairs: agreeing,
        precision: if predicted == 0 { 1.0 } else { agreeing as f64 / predicted as f64 },
        recall: if true_pairs == 0 { 1.0 } else { agreeing as f64 / true_pairs as f64 },
        adjusted_rand_index: if max - expected == 0.0 { 1.0 } else { (agreeing as f64 - expected) / (max - expected) },
    }
}

pub fn evaluate(store: &mut dyn Store, data: &Path, args: &Request<'_>) -> Result<Evaluation> {
    let text = std::fs::read_to_string(args.truth).map_err(Error::io("read", args.truth))?;
    let truth: Truth = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(format!("{}:{}:{}: not a simulator truth.json: {e}", args.truth.display(), e.line(), e.column()))
    })?;
    let at = match (args.at, truth.as_of.as_deref()) {
        (Some(at), _) => at,
        (None, Some(t)) => {
            dragnet_core::parse_timestamp(t).ok_or_else(|| Error::invalid(format!("as_of `{t}` is not a time")))?
        }
        (None, None) => crate::now(),
    };
    let normal = |v: &str| Observable::guess(v).map(|o| o.value().to_string()).unwrap_or_else(|_| v.to_string());
    let mut server_of: HashMap<String, (&str, &str)> = HashMap::new();
    for s in &truth.servers {
        let cluster = s.cluster.as_deref().unwrap_or(&s.id);
        for v in s.ips.iter().chain(&s.domains) {
            server_of.insert(normal(v), (&s.id, cluster));
        }
    }
    let planted: HashSet<String> = truth.false_positives.iter().map(|f| normal(&f.value)).collect();
    let ctx = crate::lookup::Context::load(store, data)?;
    let all = crate::servers::compute(store, &ctx, &crate::access::Scope::operator(), at, true)?;
    let (mut scoring_only, mut with_lists) = (Detection::default(), Detection::default());
    let mut flagged: HashSet<String> = HashSet::new();
    let mut reported: HashSet<String> = HashSet::new();
    // Members are the non-warninglisted values; the warninglisted ones are
    // scored separately below.
    for v in &all.views {
        for m in &v.members {
            reported.insert(m.value.clone());
            if m.score >= args.threshold {
                flagged.insert(m.value.clone());
            }
        }
    }
    let listed_scores = &all.warninglisted;
    for (value, score) in listed_scores {
        reported.insert(value.clone());
        let malicious = server_of.contains_key(value);
        let d = &mut scoring_only;
        match (score >= &args.threshold, malicious) {
            (true, true) => d.true_positives += 1,
            (true, false) => d.false_positives += 1,
            (false, true) => d.false_negatives += 1,
            _ => {}
        }
        if malicious {
            with_lists.false_negatives += 1;
        }
    }
    for value in &reported {
        if listed_scores.contains_key(value) {
            continue;
        }
        let malicious = server_of.contains_key(value);
        let hit = flagged.contains(value);
        for d in [&mut scoring_only, &mut with_lists] {
            match (hit, malicious) {
                (true, true) => d.true_positives += 1,
                (true, false) => d.false_positives += 1,
                (false, true) => d.false_negatives += 1,
                _ => {}
            }
        }
    }
    for d in [&mut scoring_only, &mut with_lists] {
        d.precision = ratio(d.true_positives, d.true_positives + d.false_positives);
        d.recall = ratio(d.true_positives, d.true_positives + d.false_negatives);
    }
    let caught = planted.iter().filter(|v| listed_scores.contains_key(*v)).count();
    let mut server_items = Vec::new();
    let mut cluster_items = Vec::new();
    for v in &all.views {
        for m in &v.members {
            if let Some((server, cluster)) = server_of.get(&m.value) {
                server_items.push((v.id.clone(), server.to_string()));
                cluster_items.push((v.cluster.clone(), cluster.to_string()));
            }
        }
    }
    let reported_truth_values = reported.iter().filter(|v| server_of.contains_key(*v)).count();
    Ok(Evaluation {
        as_of: dragnet_core::format_timestamp(at),
        threshold: args.threshold,
        truth_servers: truth.servers.len(),
        truth_values: server_of.len(),
        reported_truth_values,
        servers_found: all.views.len(),
        clusters_found: all.clustering.clusters.len(),
        scoring_only,
        with_warninglists: with_lists,
        planted_false_positives_caught: caught,
        planted_false_positives: planted.len(),
        servers: pairwise(&server_items),
        clusters: pairwise(&cluster_items),
        clustering_ms: all.clustering_ms,
    })
}
