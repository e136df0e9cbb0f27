//! `dragnet warninglist`: import MISP warninglists into the store and list
//! them with Dragnet's built-in ones.

use std::path::PathBuf;
use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_engine::warninglists::{import, list};

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

/// Stored lists that could not be used, as warnings on standard error.
pub fn print_unusable(unusable: &[String]) {
    for u in unusable {
        eprintln!("warning: {u}");
    }
}

pub fn run(store: &mut dyn Store, command: &Command, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::List => {
            let (listed, unusable) = list(store)?;
            print_unusable(&unusable);
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
            let out = import(store, paths)?;
            if json {
                print_json(&out)?;
            } else {
                for i in &out.imported {
                    println!("imported {} ({} entries)", i.name, i.entries);
                }
                for f in &out.failed {
                    eprintln!("{}: {}", f.file, f.error);
                }
            }
            if out.imported.is_empty() {
                eprintln!("error: no warninglist imported");
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
