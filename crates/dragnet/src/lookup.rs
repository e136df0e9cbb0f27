//! `dragnet lookup`: normalise each value and answer from the store.

use std::process::ExitCode;

use dragnet_core::policy::{Answer, answer};
use dragnet_core::{Observable, Store};
use serde::Serialize;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// Values to look up: IPs, CIDRs, domains, URLs (defanged forms accepted),
    /// hashes, e-mail addresses, ASNs.
    #[arg(required = true)]
    values: Vec<String>,
}

/// A value that could not be understood, reported in place of an answer.
#[derive(Serialize)]
struct Unreadable {
    value: String,
    kind: Option<String>,
    found: bool,
    error: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Line {
    Answer(Answer),
    Unreadable(Unreadable),
}

pub fn look_up(store: &mut dyn Store, raw: &str) -> anyhow::Result<Result<Answer, String>> {
    match Observable::guess(raw) {
        Ok(obs) => Ok(Ok(answer(&obs, &store.lookup(&obs)?))),
        Err(e) => Ok(Err(e.to_string())),
    }
}

pub fn run(store: &mut dyn Store, args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    let mut lines = Vec::new();
    let mut unreadable = 0;
    for raw in &args.values {
        lines.push(match look_up(store, raw)? {
            Ok(a) => Line::Answer(a),
            Err(error) => {
                unreadable += 1;
                Line::Unreadable(Unreadable { value: raw.clone(), kind: None, found: false, error })
            }
        });
    }
    if json {
        print_json(&lines)?;
    } else {
        for line in &lines {
            match line {
                Line::Answer(a) => print_answer(a),
                Line::Unreadable(u) => println!("{}: cannot look up: {}", u.value, u.error),
            }
        }
    }
    Ok(if unreadable > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

pub fn print_answer(a: &Answer) {
    if !a.found {
        println!("{} ({}): not found", a.value, a.kind);
        return;
    }
    let categories: Vec<&str> = a.categories.iter().map(|c| c.as_str()).collect();
    println!(
        "{} ({}): FOUND, {} observation{} from {} [{}] TLP:{}",
        a.value,
        a.kind,
        a.observations,
        if a.observations == 1 { "" } else { "s" },
        a.sources.join(", "),
        categories.join(", "),
        a.tlp.map(|t| t.as_str().to_uppercase()).unwrap_or_default()
    );
    println!(
        "    first seen {}, last seen {}",
        a.first_seen.as_deref().unwrap_or("-"),
        a.last_seen.as_deref().unwrap_or("-")
    );
    for m in a.matches.iter().filter(|m| m.value != a.value) {
        println!("    via {} {} ({})", m.kind, m.value, m.via.as_str());
    }
    if !a.tags.is_empty() {
        println!("    tags: {}", a.tags.join(", "));
    }
}
