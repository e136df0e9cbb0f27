//! Keeping the index current: what is live as `scope` may see it, read
//! from the store into a new index and swapped in when the store changed
//! (a batch written, or anything the audit log records: a takedown move,
//! a sharing limit), and at least once a minute (sightings expire).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dragnet_core::{Store, Timestamp};
use dragnet_engine::access::Scope;
use dragnet_engine::blocklist::formats::rpz_triggers;
use dragnet_engine::blocklist::{self, Filter, cidr};
use dragnet_engine::lookup::Context;

use crate::answer::ZoneKind;
use crate::index::{Index, IndexBuilder, Rpz, code};
use crate::server::{Shared, notify};

/// How often the store is asked whether it changed.
const POLL: Duration = Duration::from_millis(250);
/// Rebuilt at least this often, changed or not.
const AT_LEAST: Duration = Duration::from_secs(60);

/// The index of what `scope` may see that is live at `now`.
pub fn build(store: &mut dyn Store, ctx: &Context, scope: &Scope, now: Timestamp) -> dragnet_engine::Result<Index> {
    let entries = blocklist::select(store, ctx, scope, now, &Filter::default())?;
    let serial = blocklist::serial(store, &entries)?;
    let mut index = index_of(&entries, serial);
    index.rpz = rpz_of(&entries, serial);
    Ok(index)
}

/// The policy zone's triggers for `entries`: each plain domain and its
/// subdomains, each address and network as an `rpz-ip` trigger.
pub fn rpz_of(entries: &[blocklist::Entry], serial: u32) -> Rpz {
    let names: Vec<String> = entries.iter().flat_map(rpz_triggers).collect();
    Rpz::from_names(names.iter().map(String::as_str), serial)
}

/// Serials never go back, and the policy zone's moves only when its
/// content does (a secondary transfers it again only then); true when it moved.
fn carry_serials(new: &mut Index, old: &Index) -> bool {
    new.serial = new.serial.max(old.serial);
    if new.rpz.names == old.rpz.names {
        new.rpz.serial = old.rpz.serial;
        new.rpz.history = old.rpz.history.clone();
        false
    } else {
        new.rpz.serial = new.rpz.serial.max(old.rpz.serial.saturating_add(1));
        new.rpz.follow(&old.rpz);
        true
    }
}

/// The addresses and networks among `entries`, each with its category's code.
pub fn index_of(entries: &[blocklist::Entry], serial: u32) -> Index {
    let mut builder = IndexBuilder::with_capacity(entries.len());
    for e in entries {
        if let Some(block) = cidr::parse(&e.value) {
            builder.add(&block, code(e.category()));
        }
    }
    builder.build(serial)
}

/// What tells that the store changed: its batch generation and the audit
/// log's size.
fn signature(store: &mut dyn Store) -> dragnet_engine::Result<(i64, u64)> {
    Ok((store.generation()?, store.audit_size()?))
}

/// Rebuilds and swaps the index whenever the store changes, until the
/// process ends. Errors are reported through `report` and retried.
pub fn keep_current(
    mut store: Box<dyn Store + Send>,
    ctx: Context,
    scope: Scope,
    shared: Arc<Shared>,
    secondaries: Vec<std::net::SocketAddr>,
    report: impl Fn(&str) + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new().name("dns-refresh".into()).spawn(move || {
        let mut last = signature(&mut *store).ok();
        let mut built = Instant::now();
        loop {
            std::thread::sleep(POLL);
            let now_signature = match signature(&mut *store) {
                Ok(s) => s,
                Err(e) => {
                    report(&format!("the DNS index could not read the store: {e}"));
                    continue;
                }
            };
            if Some(now_signature) == last && built.elapsed() < AT_LEAST {
                continue;
            }
            match build(&mut *store, &ctx, &scope, dragnet_engine::now()) {
                Ok(mut index) => {
                    let moved = carry_serials(&mut index, &shared.current());
                    shared.swap(index);
                    if moved {
                        for zone in shared.zones.iter().filter(|z| z.kind == ZoneKind::Rpz) {
                            if let Err(e) = notify(zone, &secondaries) {
                                report(&format!("NOTIFY not sent: {e}"));
                            }
                        }
                    }
                    last = Some(now_signature);
                    built = Instant::now();
                }
                Err(e) => report(&format!("the DNS index could not be rebuilt: {e}")),
            }
        }
    })?;
    Ok(())
}
