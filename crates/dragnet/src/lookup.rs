//! `dragnet lookup`: normalise each value and answer from the store.

use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_core::policy::Answer;
use dragnet_engine::access::Scope;
use dragnet_engine::lookup::{Context, explain_value, look_up};
use serde::Serialize;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// Values to look up: IPs, CIDRs, domains, URLs (defanged forms accepted),
    /// hashes, e-mail addresses, ASNs.
    #[arg(required = true)]
    values: Vec<String>,
    /// Score as of this time (RFC 3339 or a date) instead of now.
    #[arg(long, value_parser = parse_at)]
    at: Option<i64>,
    /// Answer as this organisation would be answered (only what it may see).
    #[arg(long = "as", value_name = "ORG")]
    viewer: Option<String>,
}

/// The scope of `--as ORG`, else the operator's; what it shows of
/// AMBER+STRICT and RED data is logged when the command ends.
pub fn scope(store: &mut dyn Store, viewer: Option<&str>) -> anyhow::Result<Scope> {
    let scope = match viewer {
        Some(org) => Scope::of_org(store, org)?,
        None => Scope::operator(),
    };
    crate::audit::watch_reads(&scope);
    Ok(scope)
}

pub fn parse_at(s: &str) -> Result<i64, String> {
    dragnet_core::parse_timestamp(s).ok_or_else(|| format!("`{s}` is not a time; use RFC 3339 or YYYY-MM-DD"))
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
    Answer(Box<Answer>),
    Unreadable(Unreadable),
}

pub fn run(store: &mut dyn Store, data: &std::path::Path, args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    let ctx = Context::load(store, data)?;
    crate::warninglists::print_unusable(&ctx.unusable);
    let scope = scope(store, args.viewer.as_deref())?;
    let mut lines = Vec::new();
    let mut unreadable = 0;
    for raw in &args.values {
        lines.push(match look_up(store, &ctx, &scope, raw, args.at)? {
            Ok(a) => Line::Answer(Box::new(a)),
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
    if !a.warninglists.is_empty() {
        println!("{}: on warninglists {} (kept, never served or exported)", a.value, a.warninglists.join("; "));
    }
    let place = match (a.asn, &a.country) {
        (Some(asn), cc) => format!(
            " [AS{asn} {}, {}]",
            a.as_org.as_deref().unwrap_or_default(),
            cc.as_deref().unwrap_or("country unknown")
        ),
        (None, Some(cc)) => format!(" [{cc}]"),
        (None, None) => String::new(),
    };
    if !a.found {
        println!("{} ({}){place}: not found", a.value, a.kind);
        return;
    }
    let categories: Vec<&str> = a.categories.iter().map(|c| c.as_str()).collect();
    println!(
        "{} ({}): FOUND, score {}, {} observation{} from {} [{}] TLP:{}",
        a.value,
        a.kind,
        a.score,
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
    if let Some(asn) = a.asn {
        println!(
            "    AS{asn} {} {}",
            a.as_org.as_deref().unwrap_or_default(),
            a.country.as_deref().unwrap_or("country unknown")
        );
    } else if let Some(cc) = &a.country {
        println!("    country {cc}");
    }
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// Values to explain.
    #[arg(required = true)]
    values: Vec<String>,
    /// Score as of this time (RFC 3339 or a date) instead of now.
    #[arg(long, value_parser = parse_at)]
    at: Option<i64>,
    /// Explain as this organisation would see it (only what it may see).
    #[arg(long = "as", value_name = "ORG")]
    viewer: Option<String>,
}

/// `dragnet explain`: every observation's part in a value's score.
pub fn explain_values(
    store: &mut dyn Store,
    data: &std::path::Path,
    args: &ExplainArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let ctx = Context::load(store, data)?;
    crate::warninglists::print_unusable(&ctx.unusable);
    let scope = scope(store, args.viewer.as_deref())?;
    let mut out = Vec::new();
    for raw in &args.values {
        out.push(explain_value(store, &ctx, &scope, raw, args.at)?);
    }
    if json {
        print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &out {
        let x = &e.explanation;
        println!("{} ({}): score {} from {} independent partner(s)", e.value, e.kind, x.score, x.independent_partners);
        if !e.warninglists.is_empty() {
            println!("  on warninglists: {} (kept, never served or exported)", e.warninglists.join("; "));
        }
        for c in &x.contributions {
            println!(
                "  {} {:<20} {} {:<20} conf {:>4} age {:>6.1} d  rel {:.2} × cred {:.2} × conf {:.2} × cat {:.2} × decay {:.3} = {:.3}{}",
                if c.counted { "*" } else { " " },
                c.source,
                c.grade,
                c.category.as_str(),
                c.confidence.map_or("-".to_string(), |v| v.to_string()),
                c.age_days,
                c.reliability_weight,
                c.credibility_weight,
                c.confidence_weight,
                c.category_weight,
                c.decay,
                c.strength,
                if c.expired { " (expired)" } else { "" }
            );
        }
        println!(
            "  * = the partner's strongest observation, the one that counts; partners combine as 1 − Π(1 − strength)"
        );
    }
    Ok(ExitCode::SUCCESS)
}
