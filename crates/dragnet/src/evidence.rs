//! `dragnet evidence`: files kept by content with their custody chain.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use dragnet_core::{Store, format_timestamp};
use dragnet_engine::evidence::{self, NewEvidence};

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Keep a file as evidence of an operation (by its SHA-256), held first by an organisation.
    Add {
        file: PathBuf,
        #[arg(long = "op", value_name = "OPERATION")]
        operation: String,
        /// The organisation that holds it first.
        #[arg(long)]
        holder: String,
        #[arg(long)]
        server: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Record a hand-over: FROM (the current holder) gave it to TO.
    Transfer {
        sha256: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The evidence kept, with its current holder.
    List {
        #[arg(long = "op", value_name = "OPERATION")]
        operation: Option<String>,
    },
    /// One piece of evidence and its whole custody chain.
    Show { sha256: String },
    /// Re-hash every file kept; exits 1 if one is missing or altered.
    Verify,
}

pub fn run(
    store: &mut dyn Store,
    data: &Path,
    audit_key: &Path,
    command: Command,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let scope = crate::audit::operator();
    let now = dragnet_engine::now();
    match command {
        Command::Add { file, operation, holder, server, description } => {
            let mut content = std::fs::File::open(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let new = NewEvidence { name, operation, server, description, holder };
            let kept = evidence::add(store, data, &scope, &new, &mut content, now)?;
            crate::audit::checkpoint(store, audit_key)?;
            if json {
                print_json(&kept)?;
            } else {
                println!("{}  {} bytes  {}", kept.sha256, kept.size, kept.name);
            }
        }
        Command::Transfer { sha256, from, to, note } => {
            let custody = evidence::transfer(store, &scope, &sha256, &from, &to, &note, now)?;
            crate::audit::checkpoint(store, audit_key)?;
            if json {
                print_json(&custody)?;
            } else {
                println!("{}: {} → {}", custody.sha256, custody.from, custody.to);
            }
        }
        Command::List { operation } => {
            let kept = store.evidence(operation.as_deref())?;
            if json {
                print_json(&kept)?;
            } else {
                for e in &kept {
                    println!("{}  {:>12} bytes  {:<24} {}", e.sha256, e.size, e.operation, e.name);
                }
            }
        }
        Command::Show { sha256 } => {
            let sha = sha256.trim().to_ascii_lowercase();
            let piece = store.evidence(None)?.into_iter().find(|e| e.sha256 == sha);
            let Some(piece) = piece else { anyhow::bail!("no evidence {sha}") };
            let chain = store.custody(Some(&sha))?;
            if json {
                print_json(&serde_json::json!({ "evidence": piece, "custody": chain }))?;
            } else {
                println!("{}  {} bytes  {}  ({})", piece.sha256, piece.size, piece.name, piece.operation);
                for c in &chain {
                    let from = if c.from.is_empty() { "handed in" } else { c.from.as_str() };
                    println!("  {}  {from} → {}  {}", format_timestamp(c.at), c.to, c.note);
                }
            }
        }
        Command::Verify => {
            let checked = evidence::verify(store, data)?;
            if json {
                print_json(&checked)?;
            } else {
                for c in &checked {
                    println!("{:<8} {}  {}  (held by {})", c.status, c.sha256, c.name, c.holder);
                }
            }
            if checked.iter().any(|c| c.status != "ok") {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
