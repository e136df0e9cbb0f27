//! Servers taken down whose certificate answers at another address this
//! round: they have moved there. At a candidate address (in no server) the
//! address joins the old server; at another server's address it is
//! evidence only, since a probe does not merge two takedown records.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dragnet_core::Store;
use dragnet_core::store::ProbeResult;

use super::Moved;
use super::join::Join;
use crate::Result;
use crate::takedown::Row;

/// The servers among `rows` that moved, and the candidate addresses that
/// join them; servers in `reappeared` answered at home and are left out.
pub(super) fn find(
    store: &mut dyn Store,
    rows: &[Row],
    results: &[ProbeResult],
    reappeared: &[String],
) -> Result<(Vec<Moved>, Vec<Join>)> {
    // A certificate once shown by a server now verified offline (or
    // closed), answering at another address: it moved there. Where it
    // showed it, for the join.
    let mut known: HashMap<String, (String, BTreeSet<String>)> = HashMap::new();
    // A certificate two servers were seen with (a framework's default,
    // shipped with its key) says nothing about which one came back.
    let mut shared: BTreeSet<String> = BTreeSet::new();
    for row in rows.iter().filter(|r| r.state.is_down()) {
        for (certificate, address) in store.probe_certificates(&row.server)? {
            let (server, at) =
                known.entry(certificate.clone()).or_insert_with(|| (row.server.clone(), BTreeSet::new()));
            if server == &row.server {
                at.insert(address);
            } else {
                shared.insert(certificate);
            }
        }
    }
    // Nor does one that answers at several addresses this round.
    let mut answering: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for r in results.iter().filter(|r| r.connected) {
        if let Some(c) = &r.certificate {
            answering.entry(c.as_str()).or_default().insert(r.address.as_str());
        }
    }
    let mut moved: BTreeMap<String, Moved> = BTreeMap::new();
    let mut joins = Vec::new();
    for r in results.iter().filter(|r| r.connected) {
        let Some((certificate, (old, shown_at))) = r.certificate.as_ref().and_then(|c| Some((c, known.get(c)?))) else {
            continue;
        };
        if old == &r.server || reappeared.contains(old) || moved.contains_key(old) {
            continue;
        }
        // At several addresses this round (the old server's own aside),
        // or known from several servers: a default, not a trace.
        let elsewhere =
            answering.get(certificate.as_str()).map_or(0, |at| at.iter().filter(|a| !shown_at.contains(**a)).count());
        if shared.contains(certificate) || elsewhere > 1 {
            continue;
        }
        let candidate = r.server == super::CANDIDATE;
        let whose =
            if candidate { "a new address, which joins it".to_string() } else { format!("server {}", r.server) };
        let evidence = format!("its certificate {certificate} answers on {}:{} ({whose})", r.address, r.port);
        if candidate {
            joins.push(Join {
                server: old.clone(),
                address: r.address.clone(),
                certificate: certificate.clone(),
                shown_at: shown_at.iter().cloned().collect(),
                evidence: evidence.clone(),
            });
        }
        let joined = candidate.then(|| r.address.clone());
        moved.insert(old.clone(), Moved { server: old.clone(), evidence, joined });
    }
    Ok((moved.into_values().collect(), joins))
}
