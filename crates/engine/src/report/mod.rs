//! An operation's report: every figure computed from the store as of one
//! time, from the servers in the operation's scope, their takedowns and the
//! case actions recorded in it.

use std::collections::{BTreeMap, HashMap};

use dragnet_core::case::{ActionKind, Operation};
use dragnet_core::takedown::State;
use dragnet_core::{Store, Timestamp, format_timestamp};
use serde::Serialize;

use crate::access::Scope;
use crate::lookup::Context;
use crate::servers::compute;
use crate::{Result, operations};

pub mod html;
pub mod markdown;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub operation: String,
    pub from: String,
    pub to: String,
    /// The time every figure is computed as of.
    pub as_of: String,
    pub totals: Totals,
    /// Hours from a server's first move (triage) to its move to verified offline.
    pub time_to_verified_offline: Durations,
    pub countries: Vec<CountryRow>,
    pub partners: Vec<PartnerRow>,
    /// Servers not (yet) taken offline, highest score first.
    pub still_online: Vec<ServerBrief>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub servers_identified: u64,
    pub ips_identified: u64,
    /// Actioned (offline claimed, seized, sinkholed) or verified offline since.
    pub servers_taken_offline: u64,
    pub ips_taken_offline: u64,
    pub servers_verified_offline: u64,
    /// Rejected as false positives.
    pub servers_rejected: u64,
    pub servers_still_online: u64,
    /// Servers taken offline per server identified and not rejected, 0–1.
    pub takedown_rate: f64,
    #[serde(flatten)]
    pub actions: Actions,
}

/// Case actions, summed over their counts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Actions {
    pub house_searches: u64,
    pub arrests: u64,
    pub suspects_identified: u64,
    pub under_investigation: u64,
    pub devices_seized: u64,
    pub servers_seized: u64,
    pub data_seized_bytes: u64,
    pub sinkholed: u64,
}

impl Actions {
    fn add(&mut self, kind: ActionKind, count: u64, bytes: u64) {
        match kind {
            ActionKind::HouseSearch => self.house_searches += count,
            ActionKind::Arrest => self.arrests += count,
            ActionKind::SuspectIdentified => self.suspects_identified += count,
            ActionKind::UnderInvestigation => self.under_investigation += count,
            ActionKind::DeviceSeized => self.devices_seized += count,
            ActionKind::ServerSeized => self.servers_seized += count,
            ActionKind::DataSeized => self.data_seized_bytes += bytes,
            ActionKind::Sinkholed => self.sinkholed += count,
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Durations {
    pub servers: u64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CountryRow {
    pub country: String,
    pub servers_identified: u64,
    pub servers_taken_offline: u64,
    #[serde(flatten)]
    pub actions: Actions,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PartnerRow {
    pub source: String,
    /// Servers of the operation this source reported a member of.
    pub servers_reported: u64,
    /// Of those, servers taken offline.
    pub servers_taken_offline: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerBrief {
    pub server: String,
    pub state: State,
    pub score: u8,
    pub countries: Vec<String>,
    pub ips: Vec<String>,
    pub domains: Vec<String>,
}

fn taken_offline(state: State) -> bool {
    state.is_actioned() || state.is_down()
}

/// The report of `operation` as `scope` may see it, as of `now`.
pub fn build(store: &mut dyn Store, ctx: &Context, scope: &Scope, operation: &str, now: Timestamp) -> Result<Report> {
    let op: Operation = operations::show(store, scope, operation)?;
    let servers = compute(store, ctx, scope, now, false)?;
    let states: HashMap<String, State> = store.takedowns()?.into_iter().map(|r| (r.server, r.state)).collect();
    let mut first_move: HashMap<String, Timestamp> = HashMap::new();
    let mut verified_at: HashMap<String, Timestamp> = HashMap::new();
    for e in store.takedown_history(None)? {
        first_move.entry(e.server.clone()).or_insert(e.at);
        if e.to == State::VerifiedOffline {
            verified_at.entry(e.server).or_insert(e.at);
        }
    }
    let mut totals = Totals::default();
    let mut countries: BTreeMap<String, CountryRow> = BTreeMap::new();
    let mut partners: BTreeMap<String, PartnerRow> = BTreeMap::new();
    let mut still_online = Vec::new();
    let mut hours = Vec::new();
    for v in &servers.views {
        if !op.scope.is_empty() && !v.categories.iter().any(|c| op.scope.contains(c)) {
            continue;
        }
        let state = states.get(&v.id).copied().unwrap_or(State::Identified);
        let offline = taken_offline(state);
        let ips = v.ips.len() as u64;
        totals.servers_identified += 1;
        totals.ips_identified += ips;
        if state == State::Rejected {
            totals.servers_rejected += 1;
        }
        if offline {
            totals.servers_taken_offline += 1;
            totals.ips_taken_offline += ips;
        } else if state != State::Rejected {
            still_online.push(ServerBrief {
                server: v.id.clone(),
                state,
                score: v.score,
                countries: v.countries.clone(),
                ips: v.ips.clone(),
                domains: v.domains.clone(),
            });
        }
        if state.is_down() {
            totals.servers_verified_offline += 1;
        }
        if let (Some(start), Some(end)) = (first_move.get(&v.id), verified_at.get(&v.id)) {
            hours.push((end - start) as f64 / 3600.0);
        }
        for c in &v.countries {
            let row =
                countries.entry(c.clone()).or_insert_with(|| CountryRow { country: c.clone(), ..Default::default() });
            row.servers_identified += 1;
            row.servers_taken_offline += u64::from(offline);
        }
        // The prober reports what it saw of servers already known; it is no partner.
        for s in v.sources.iter().filter(|s| s.as_str() != crate::probe::PROBER) {
            let row =
                partners.entry(s.clone()).or_insert_with(|| PartnerRow { source: s.clone(), ..Default::default() });
            row.servers_reported += 1;
            row.servers_taken_offline += u64::from(offline);
        }
    }
    for a in store.case_actions(Some(&op.name))? {
        let (count, bytes) = (u64::from(a.count), a.bytes.unwrap_or(0));
        totals.actions.add(a.kind, count, bytes);
        let row = countries
            .entry(a.country.clone())
            .or_insert_with(|| CountryRow { country: a.country.clone(), ..Default::default() });
        row.actions.add(a.kind, count, bytes);
    }
    totals.servers_still_online = still_online.len() as u64;
    let considered = totals.servers_identified - totals.servers_rejected;
    totals.takedown_rate = if considered == 0 { 0.0 } else { totals.servers_taken_offline as f64 / considered as f64 };
    still_online.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.server.cmp(&b.server)));
    let mut countries: Vec<CountryRow> = countries.into_values().collect();
    countries
        .sort_by(|a, b| b.servers_taken_offline.cmp(&a.servers_taken_offline).then_with(|| a.country.cmp(&b.country)));
    let mut partners: Vec<PartnerRow> = partners.into_values().collect();
    partners
        .sort_by(|a, b| b.servers_taken_offline.cmp(&a.servers_taken_offline).then_with(|| a.source.cmp(&b.source)));
    hours.sort_by(f64::total_cmp);
    Ok(Report {
        operation: op.name,
        from: format_timestamp(op.starts),
        to: format_timestamp(op.ends),
        as_of: format_timestamp(now),
        totals,
        time_to_verified_offline: Durations {
            servers: hours.len() as u64,
            median_hours: percentile(&hours, 50),
            p90_hours: percentile(&hours, 90),
        },
        countries,
        partners,
        still_online,
    })
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50), Some(5.0));
        assert_eq!(percentile(&v, 90), Some(9.0));
        assert_eq!(percentile(&[3.0], 90), Some(3.0));
        assert_eq!(percentile(&[], 50), None);
    }
}
