//! `dragnet warninglist`: import MISP warninglists into the store and list
//! them with Dragnet's built-in ones.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use dragnet_analytics::warninglist::{WarningList, built_in};
use dragnet_core::Store;
use serde::Serialize;

use crate::ingest::now;
use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Import MISP warninglists (list.json files, or folders of them).
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List the warninglists in force: built-in and imported.
    List,
}

#[derive(Serialize)]
struct Listed {
    name: String,
    kind: String,
    entries: usize,
    version: u64,
    origin: &'static str,
}

/// Built-in lists and every stored one that parses (a damaged stored list is
/// reported and left out, never silently matched).
pub fn in_force(store: &mut dyn Store) -> anyhow::Result<Vec<WarningList>> {
    let mut lists = built_in();
    for (name, body) in store.warninglists()? {
        match WarningList::parse(&body) {
            Ok(l) => lists.push(l),
            Err(e) => eprintln!("warning: stored warninglist `{name}` is unusable: {e}"),
        }
    }
    Ok(lists)
}

/// What to tell the user when no warninglist of MISP's is loaded: only the
/// built-in special-use ranges hold values back then, so public resolvers,
/// CDNs and cloud ranges can become findings.
pub fn none_loaded(store: &mut dyn Store) -> anyhow::Result<Option<&'static str>> {
    Ok(store.warninglists()?.is_empty().then_some(
        "no warninglists are loaded: only special-use ranges are held back, so public resolvers, CDNs and \
         cloud ranges can be reported as malicious; run scripts/fetch-warninglists or `dragnet warninglist import DIR`",
    ))
}

/// Imports every list file under `paths`; returns what was imported and
/// what failed (file and error), as JSON objects.
pub fn import(
    store: &mut dyn Store,
    paths: &[std::path::PathBuf],
) -> anyhow::Result<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    let mut files = Vec::new();
    for p in paths {
        crate::walk::files_under(p, &mut files)?;
    }
    let (mut imported, mut failed) = (Vec::new(), Vec::new());
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        match WarningList::parse(&text) {
            Ok(list) => {
                store.put_warninglist(&list.name, &text, now())?;
                imported.push(
                    serde_json::json!({"name": list.name, "entries": list.entries, "file": f.display().to_string()}),
                );
            }
            Err(e) => failed.push(serde_json::json!({"file": f.display().to_string(), "error": e.to_string()})),
        }
    }
    Ok((imported, failed))
}

pub fn run(store: &mut dyn Store, command: &Command, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::List => {
            let stored: Vec<String> = store.warninglists()?.into_iter().map(|(n, _)| n).collect();
            let listed: Vec<Listed> = in_force(store)?
                .into_iter()
                .map(|l| Listed {
                    origin: if stored.contains(&l.name) { "imported" } else { "built-in" },
                    kind: format!("{:?}", l.kind).to_lowercase(),
                    name: l.name,
                    entries: l.entries,
                    version: l.version,
                })
                .collect();
            if json {
                print_json(&listed)?;
            } else {
                for l in &listed {
                    println!("{:<9} {:<10} {:>6} entries  {}", l.origin, l.kind, l.entries, l.name);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { paths } => {
            let (imported, failed) = import(store, paths)?;
            if json {
                print_json(&serde_json::json!({"imported": imported, "failed": failed}))?;
            } else {
                for i in &imported {
                    println!("imported {} ({} entries)", i["name"].as_str().unwrap_or_default(), i["entries"]);
                }
                for f in &failed {
                    eprintln!(
                        "{}: {}",
                        f["file"].as_str().unwrap_or_default(),
                        f["error"].as_str().unwrap_or_default()
                    );
                }
            }
            if imported.is_empty() {
                eprintln!("error: no warninglist imported");
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
