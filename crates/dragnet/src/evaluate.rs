//! `dragnet evaluate TRUTH`: the engine's evaluation of the store against a
//! simulated operation's `truth.json`, printed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_engine::evaluate::{Detection, Request, evaluate};

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// The simulator's truth.json.
    truth: PathBuf,
    /// An observable counts as malicious from this score on (0–100).
    #[arg(long, default_value_t = 20)]
    threshold: u8,
    /// Assess as of this time (default: the truth's `as_of`).
    #[arg(long, value_parser = crate::lookup::parse_at)]
    at: Option<i64>,
}

pub fn run(store: &mut dyn Store, data: &std::path::Path, args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    let request = Request { truth: &args.truth, threshold: args.threshold, at: args.at };
    let e = evaluate(store, data, &request)?;
    if json {
        print_json(&e)?;
        return Ok(ExitCode::SUCCESS);
    }
    let by_kind: BTreeMap<&str, &Detection> =
        [("scoring only", &e.scoring_only), ("with warninglists", &e.with_warninglists)].into_iter().collect();
    println!("as of {}, malicious from score {}:", e.as_of, e.threshold);
    println!(
        "  truth: {} servers, {} values ({} reported by some source)",
        e.truth_servers, e.truth_values, e.reported_truth_values
    );
    for (name, d) in by_kind {
        println!(
            "  {name:<18} precision {:.4}  recall {:.4}  (TP {}, FP {}, FN {})",
            d.precision, d.recall, d.true_positives, d.false_positives, d.false_negatives
        );
    }
    println!(
        "  planted false positives caught by warninglists: {} of {}",
        e.planted_false_positives_caught, e.planted_false_positives
    );
    for (name, p) in [("servers", &e.servers), ("clusters", &e.clusters)] {
        println!(
            "  {name:<9} pairwise precision {:.4}  recall {:.4}  ARI {:.4}  over {} values",
            p.precision, p.recall, p.adjusted_rand_index, p.observables
        );
    }
    println!(
        "  {} servers in {} clusters; clustering took {:.1} ms",
        e.servers_found, e.clusters_found, e.clustering_ms
    );
    Ok(ExitCode::SUCCESS)
}
