//! `dragnet audit`: sign the log's tree head, check the log and the store's
//! rows against it, print an inclusion proof, read entries.

use std::path::Path;
use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_core::digest::{hex, parse_hex};
use dragnet_engine::audit::{self, Signer};

use crate::output::print_json;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Sign a tree head over every entry so far (every command that changes
    /// what the log records does this itself).
    Checkpoint,
    /// Check every entry, every signed tree head and the takedown rows
    /// against the log; exits 1 naming the first altered entry.
    Verify {
        /// Also trust tree heads signed by this ed25519 public key (hex);
        /// this machine's key is always trusted.
        #[arg(long = "trust", value_name = "KEY")]
        trusted: Vec<String>,
    },
    /// An entry's RFC 6962 inclusion proof in the newest signed tree head,
    /// as JSON that any RFC 6962 and ed25519 implementation can check.
    Proof { entry: u64 },
    /// The log's entries, oldest first.
    Log {
        /// Only entries after this one.
        #[arg(long, default_value_t = 0)]
        after: u64,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// This machine's public key (hex), for `--trust` elsewhere.
    Key,
}

pub fn run(store: &mut dyn Store, key: &Path, command: Command, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::Checkpoint => {
            let signer = Signer::load_or_create(key)?;
            match audit::checkpoint(store, &signer, dragnet_engine::now())? {
                Some(head) if json => print_json(&audit::HeadView::from(&head))?,
                Some(head) => println!("tree head: {} entries, root {}", head.size, hex(&head.root)),
                None => println!("the log is empty"),
            }
        }
        Command::Verify { trusted } => {
            let mut keys = vec![Signer::load_or_create(key)?.public_key()];
            for k in &trusted {
                keys.push(
                    parse_hex(k)
                        .filter(|b| b.len() == 32)
                        .ok_or_else(|| anyhow::anyhow!("--trust {k}: not a 64-digit hex ed25519 public key"))?,
                );
            }
            let report = audit::verify(store, &keys)?;
            if json {
                print_json(&report)?;
            } else {
                println!("{} entries, {} signed tree heads", report.entries, report.tree_heads);
                if let Some(head) = &report.newest_head {
                    println!("newest tree head: size {} at {}, root {}", head.size, head.at, head.root);
                }
                for p in &report.problems {
                    println!("ALTERED: {}", p.what);
                }
                match report.first_altered {
                    Some(seq) => println!("first altered entry: {seq}"),
                    None if report.problems.is_empty() => println!("the log and the store agree"),
                    None => {}
                }
            }
            if !report.problems.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Proof { entry } => print_json(&audit::proof(store, entry)?)?,
        Command::Log { after, limit } => {
            let entries = audit::entries(store, after, limit)?;
            if json {
                print_json(&entries)?;
            } else {
                for e in &entries {
                    println!("{:>6}  {}  {:<14} {:<16} {}  {}", e.seq, e.at, e.actor, e.action, e.subject, e.body);
                }
            }
        }
        Command::Key => println!("{}", hex(&Signer::load_or_create(key)?.public_key())),
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs a tree head over what a command just logged.
pub fn checkpoint(store: &mut dyn Store, key: &Path) -> anyhow::Result<()> {
    let signer = Signer::load_or_create(key)?;
    audit::checkpoint(store, &signer, dragnet_engine::now())?;
    Ok(())
}

/// The scopes the command's reads went through: `log_reads` appends what
/// they were shown of AMBER+STRICT and RED data once the command is done.
static READERS: std::sync::Mutex<Vec<dragnet_engine::access::Scope>> = std::sync::Mutex::new(Vec::new());

/// The operator's scope on the command line, its reads logged when the
/// command ends.
pub fn operator() -> dragnet_engine::access::Scope {
    let scope = dragnet_engine::access::Scope::operator();
    watch_reads(&scope);
    scope
}

/// How to log the reads when the process must end early (a closed pipe).
static AT_EXIT: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>> = std::sync::OnceLock::new();

/// Sets what [`flush_at_exit`] does.
pub fn on_exit(flush: impl Fn() + Send + Sync + 'static) {
    let _ = AT_EXIT.set(Box::new(flush));
}

/// Logs the reads made so far, when the process is about to end without
/// returning from the command.
pub fn flush_at_exit() {
    if let Some(flush) = AT_EXIT.get() {
        flush();
    }
}

/// Remembers `scope` (its clones count into the same tally) so the
/// restricted reads made through it are logged like the API's.
pub fn watch_reads(scope: &dragnet_engine::access::Scope) {
    READERS.lock().unwrap_or_else(|p| p.into_inner()).push(scope.clone());
}

/// Appends the restricted reads the command made, and signs a tree head
/// over them; opens the store only when there is something to log.
pub fn log_reads(open: impl FnOnce() -> anyhow::Result<Box<dyn Store + Send>>, key: &Path) -> anyhow::Result<()> {
    let scopes = std::mem::take(&mut *READERS.lock().unwrap_or_else(|p| p.into_inner()));
    let now = dragnet_engine::now();
    let reads: Vec<_> = scopes.iter().flat_map(|s| audit::restricted_reads(s, now)).collect();
    if reads.is_empty() {
        return Ok(());
    }
    let mut store = open()?;
    store.append_audit(&reads)?;
    checkpoint(&mut *store, key)
}
