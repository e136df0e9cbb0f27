//! The verification prober: one round checks every server whose takedown
//! was actioned or verified (TCP connect, a TLS handshake that records the
//! certificate's SHA-256, an HTTP GET), with bounded concurrency and a rate
//! limit per target network. A server silent for `offline_after`
//! consecutive rounds is verified offline; one that answers again after it
//! was verified has reappeared, and so has one whose certificate answers
//! at another address. Candidate addresses (a provider's range, a scan's
//! finds) are probed for the certificates of servers taken down: one that
//! shows such a certificate joins that server, as the prober's report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use dragnet_core::store::ProbeResult;
use dragnet_core::takedown::State;
use dragnet_core::{Store, Timestamp};
use serde::{Deserialize, Serialize};

mod candidates;
mod connect;
mod join;
mod moved;

pub use candidates::{MAX_CANDIDATES, parse_candidates};
pub use join::PROBER;

use crate::access::Scope;
use crate::lookup::Context;
use crate::takedown::{self, Move};
use crate::{Error, Result, operations};

/// How a round probes, as a user says it (`dragnet probe run`'s options; a
/// fleet job carries it as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub ports: Vec<u16>,
    pub timeout_seconds: u64,
    pub concurrency: usize,
    /// New connections a second to one /24 (or /48).
    pub rate_per_network: u32,
    pub offline_after: u32,
    /// `ADDR:PORT=ADDR:PORT` rules (see [`Config::connect_to`]).
    pub connect_to: Vec<String>,
    pub mapped_only: bool,
}

impl Settings {
    /// The round's configuration, with `candidates` to probe besides the servers.
    pub fn config(&self, candidates: Vec<IpAddr>) -> Result<Config> {
        if self.ports.is_empty() || self.ports.contains(&0) {
            return Err(Error::invalid("--ports: at least one port, none of them 0"));
        }
        Ok(Config {
            ports: self.ports.clone(),
            timeout: Duration::from_secs(self.timeout_seconds.clamp(1, 60)),
            concurrency: self.concurrency.clamp(1, 1024),
            per_network_per_second: self.rate_per_network,
            offline_after: self.offline_after,
            connect_to: self.connect_to.iter().map(|c| parse_connect_to(c)).collect::<Result<_>>()?,
            mapped_only: self.mapped_only,
            candidates,
        })
    }
}

/// How a round probes.
#[derive(Debug, Clone)]
pub struct Config {
    pub ports: Vec<u16>,
    pub timeout: Duration,
    /// Probes at once.
    pub concurrency: usize,
    /// Connection attempts a second to one network (/24 or /48).
    pub per_network_per_second: u32,
    /// Consecutive silent rounds before a server is verified offline.
    pub offline_after: u32,
    /// Where to really connect for an address and port (a lab or demo
    /// stand-in, as curl's --connect-to): results stay under the address.
    pub connect_to: HashMap<SocketAddr, SocketAddr>,
    /// Refuse to probe any address and port without a `connect_to` rule
    /// (labs and demos: nothing outside them is ever touched).
    pub mapped_only: bool,
    /// Addresses in no server, probed for the certificates of servers
    /// taken down.
    pub candidates: Vec<IpAddr>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            ports: vec![80, 443],
            timeout: Duration::from_secs(3),
            concurrency: 32,
            per_network_per_second: 10,
            offline_after: 3,
            connect_to: HashMap::new(),
            mapped_only: false,
            candidates: Vec::new(),
        }
    }
}

/// What one round did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct Round {
    pub servers: usize,
    /// Candidate addresses probed (those already in a probed server are not).
    pub candidates: usize,
    pub probes: usize,
    pub answered: Vec<String>,
    pub silent: Vec<String>,
    /// Moved to verified-offline this round.
    pub verified_offline: Vec<String>,
    /// Moved to reappeared this round: they answered again.
    pub reappeared: Vec<String>,
    /// Moved to reappeared this round: their certificate answered elsewhere.
    pub moved: Vec<Moved>,
    pub results: Vec<ProbeResult>,
}

/// A server verified offline whose certificate answered at another address.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub server: String,
    /// Where, and under which server that address is.
    pub evidence: String,
    /// The candidate address that joined the server, if it was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined: Option<String>,
}

/// The result of a probe of a candidate address: under no server.
const CANDIDATE: &str = "";

/// States whose servers are probed.
fn probed(state: State) -> bool {
    state.is_actioned() || matches!(state, State::VerifiedOffline | State::Monitoring)
}

/// Runs one round over the servers `scope` may see (those of `operation`'s
/// categories, if given), records it, and moves the servers it settles.
pub fn round(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    operation: Option<&str>,
    config: &Config,
) -> Result<Round> {
    scope.require_coordinator(dragnet_core::access::Role::Analyst)?;
    let categories = match operation {
        Some(name) => operations::show(store, scope, name)?.scope,
        None => Vec::new(),
    };
    let views = crate::servers::compute(store, ctx, scope, now, false)?.views;
    let rows = takedown::rows(store, &views)?;
    let mut targets: BTreeMap<String, (State, Vec<IpAddr>)> = BTreeMap::new();
    for (row, view) in rows.iter().zip(&views).filter(|(r, _)| probed(r.state)) {
        if !categories.is_empty() && !view.categories.iter().any(|c| categories.contains(c)) {
            continue;
        }
        let ips = row.ips.iter().filter_map(|ip| ip.parse().ok()).collect();
        targets.insert(row.server.clone(), (row.state, ips));
    }
    let in_servers: BTreeSet<IpAddr> =
        rows.iter().flat_map(|r| r.ips.iter().filter_map(|ip| ip.parse().ok())).collect();
    let candidates: BTreeSet<IpAddr> =
        config.candidates.iter().filter(|ip| !in_servers.contains(ip)).copied().collect();
    let addresses = targets
        .iter()
        .flat_map(|(server, (_, ips))| ips.iter().map(move |ip| (server.clone(), *ip)))
        .chain(candidates.iter().map(|ip| (CANDIDATE.to_string(), *ip)));
    let jobs: Vec<(String, SocketAddr)> = addresses
        .flat_map(|(server, ip)| config.ports.iter().map(move |p| (server.clone(), SocketAddr::new(ip, *p))))
        .collect();
    if config.mapped_only
        && let Some((server, address)) = jobs.iter().find(|(_, a)| !config.connect_to.contains_key(a))
    {
        let whose = if server == CANDIDATE { "candidate" } else { server };
        return Err(Error::invalid(format!(
            "{whose}: {address} has no --connect-to rule, and only mapped targets may be probed"
        )));
    }
    let results = run(jobs, config, now);
    let mut streaks: HashMap<String, u32> = store.probe_streaks()?.into_iter().collect();
    let mut out =
        Round { servers: targets.len(), candidates: candidates.len(), probes: results.len(), ..Round::default() };
    let mut updates = Vec::new();
    for (server, (state, _)) in &targets {
        let answered = results.iter().any(|r| &r.server == server && r.connected);
        let silent = if answered { 0 } else { streaks.remove(server).unwrap_or(0) + 1 };
        updates.push((server.clone(), silent));
        if answered {
            out.answered.push(server.clone());
            if matches!(state, State::VerifiedOffline | State::Monitoring) {
                out.reappeared.push(server.clone());
            }
        } else {
            out.silent.push(server.clone());
            if state.is_actioned() && silent >= config.offline_after {
                out.verified_offline.push(server.clone());
            }
        }
    }
    let (moved, joins) = moved::find(store, &rows, &results, &out.reappeared)?;
    store.add_probe_round(&results, &updates)?;
    let evidence = |server: &str| {
        let found: Vec<String> = results
            .iter()
            .filter(|r| r.server == server)
            .map(|r| match (&r.certificate, r.http_status, r.connected) {
                (_, _, false) => format!("{}:{} silent", r.address, r.port),
                (Some(c), _, true) => format!("{}:{} answers, certificate {c}", r.address, r.port),
                (None, Some(s), true) => format!("{}:{} answers HTTP {s}", r.address, r.port),
                (None, None, true) => format!("{}:{} accepts connections", r.address, r.port),
            })
            .collect();
        found.join("; ")
    };
    let mut moves = Vec::new();
    for (servers, to, reason) in [
        (
            &out.verified_offline,
            State::VerifiedOffline,
            format!("prober: silent {} rounds in a row", config.offline_after),
        ),
        (&out.reappeared, State::Reappeared, "prober: it answers again".to_string()),
    ] {
        for server in servers {
            moves.push(Move { servers: vec![server.clone()], to, reason: reason.clone(), evidence: evidence(server) });
        }
    }
    for m in moved {
        moves.push(Move {
            servers: vec![m.server.clone()],
            to: State::Reappeared,
            reason: "prober: it answers at another address".into(),
            evidence: m.evidence.clone(),
        });
        out.moved.push(m);
    }
    join::record(store, &views, &joins, now)?;
    if !moves.is_empty() {
        takedown::set_many(store, ctx, scope, now, &moves)?;
    }
    out.results = results;
    Ok(out)
}

/// The network a target belongs to, for the rate limit: /24 or /48.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & 0xffff_ff00).into()),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 80) - 1)).into()),
    }
}

/// Probes every job on `config.concurrency` threads, at most
/// `per_network_per_second` new connections a second to each network.
fn run(jobs: Vec<(String, SocketAddr)>, config: &Config, now: Timestamp) -> Vec<ProbeResult> {
    let (job_tx, job_rx) = mpsc::channel::<(String, SocketAddr)>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (result_tx, result_rx) = mpsc::channel();
    let next_slot: Arc<Mutex<HashMap<IpAddr, Instant>>> = Arc::default();
    let spacing = Duration::from_secs(1) / config.per_network_per_second.max(1);
    let workers = config.concurrency.clamp(1, 256).min(jobs.len().max(1));
    for job in jobs {
        let _ = job_tx.send(job);
    }
    drop(job_tx);
    std::thread::scope(|threads| {
        for _ in 0..workers {
            let (job_rx, result_tx, next_slot) = (job_rx.clone(), result_tx.clone(), next_slot.clone());
            threads.spawn(move || {
                loop {
                    let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((server, address)) = job else { break };
                    let wait = {
                        let mut slots = next_slot.lock().unwrap_or_else(|p| p.into_inner());
                        let slot = slots.entry(network(address.ip())).or_insert_with(Instant::now);
                        let at = (*slot).max(Instant::now());
                        *slot = at + spacing;
                        at.saturating_duration_since(Instant::now())
                    };
                    std::thread::sleep(wait);
                    let _ = result_tx.send(connect::probe(&server, address, config, now));
                }
            });
        }
    });
    drop(result_tx);
    let mut results: Vec<ProbeResult> = result_rx.into_iter().collect();
    results.sort_by(|a, b| (&a.server, &a.address, a.port).cmp(&(&b.server, &b.address, b.port)));
    results
}

/// Parses `ADDRESS:PORT=HOST:PORT` (a connect-to rule).
pub fn parse_connect_to(text: &str) -> Result<(SocketAddr, SocketAddr)> {
    let (from, to) =
        text.split_once('=').ok_or_else(|| Error::invalid(format!("`{text}`: give ADDR:PORT=ADDR:PORT")))?;
    let parse = |s: &str| s.trim().parse::<SocketAddr>().map_err(|e| Error::invalid(format!("`{s}`: {e}")));
    Ok((parse(from)?, parse(to)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_group_by_24_and_48() {
        assert_eq!(network("45.10.1.77".parse().unwrap()), "45.10.1.0".parse::<IpAddr>().unwrap());
        assert_eq!(network("2001:db8:1:2::9".parse().unwrap()), "2001:db8:1::".parse::<IpAddr>().unwrap());
    }
}
