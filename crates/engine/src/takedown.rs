//! The takedown lifecycle as a use case: where each server the caller may
//! see stands, its history, and moving servers on, one by one or by query,
//! as the lifecycle allows and as the caller may.

use std::collections::{BTreeSet, HashMap};

use dragnet_core::access::{OrgKind, Role};
use dragnet_core::store::{TakedownEvent, TakedownRecord};
use dragnet_core::takedown::{State, transition};
use dragnet_core::{Store, Timestamp, format_timestamp};
use serde::Serialize;

use crate::access::Scope;
use crate::lookup::Context;
use crate::servers::{ServerView, compute};
use crate::{Error, Result};

/// Longest reason or evidence text kept with a move.
const MAX_TEXT: usize = 4000;

/// One server and where its takedown stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub server: String,
    pub state: State,
    /// When it last moved; none while identified.
    pub updated: Option<String>,
    pub score: u8,
    pub countries: Vec<String>,
    pub ips: Vec<String>,
    pub domains: Vec<String>,
}

/// One server's takedown with every move so far.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub row: Row,
    /// Where it may go next.
    pub next: Vec<State>,
    pub history: Vec<TakedownEvent>,
}

/// Which servers a listing or a bulk move takes.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub state: Option<State>,
    /// ISO 3166 code of one of the server's addresses.
    pub country: Option<String>,
    /// At least this score.
    pub min_score: u8,
}

impl Selection {
    fn takes(&self, row: &Row) -> bool {
        self.state.is_none_or(|s| s == row.state)
            && self.country.as_ref().is_none_or(|c| row.countries.iter().any(|x| x.eq_ignore_ascii_case(c)))
            && row.score >= self.min_score
    }
}

/// A move asked for: these servers to `to`, for this reason.
#[derive(Debug, Clone)]
pub struct Move {
    pub servers: Vec<String>,
    pub to: State,
    pub reason: String,
    pub evidence: String,
}

fn row(view: &ServerView, record: Option<&TakedownRecord>) -> Row {
    Row {
        server: view.id.clone(),
        state: record.map_or(State::Identified, |r| r.state),
        updated: record.map(|r| format_timestamp(r.updated)),
        score: view.score,
        countries: view.countries.clone(),
        ips: view.ips.clone(),
        domains: view.domains.clone(),
    }
}

/// The servers `scope` may see, with where their takedown stands.
pub fn list(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    which: &Selection,
) -> Result<Vec<Row>> {
    let servers = compute(store, ctx, scope, now, false)?;
    Ok(rows(store, &servers.views)?.into_iter().filter(|r| which.takes(r)).collect())
}

/// Where the takedown of each of `views` stands, in their order.
pub fn rows(store: &mut dyn Store, views: &[ServerView]) -> Result<Vec<Row>> {
    let records: HashMap<String, TakedownRecord> =
        store.takedowns()?.into_iter().map(|r| (r.server.clone(), r)).collect();
    Ok(views.iter().map(|v| row(v, records.get(&v.id))).collect())
}

/// One server's takedown and history; not found unless `scope` may see the server.
pub fn show(store: &mut dyn Store, ctx: &Context, scope: &Scope, now: Timestamp, server: &str) -> Result<Shown> {
    let row = list(store, ctx, scope, now, &Selection::default())?
        .into_iter()
        .find(|r| r.server == server)
        .ok_or_else(|| Error::NotFound(format!("no server {server}")))?;
    let history = store.takedown_history(Some(server))?;
    Ok(Shown { next: row.state.next().to_vec(), row, history })
}

/// Moves `request.servers` to `request.to`, all or none: each must be a
/// server the caller may see and act on, and each move one the lifecycle
/// allows from where that server stands.
pub fn set(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    request: &Move,
) -> Result<Vec<TakedownEvent>> {
    set_many(store, ctx, scope, now, std::slice::from_ref(request))
}

/// Several moves (each with its own reason and evidence) made as one, all
/// or none; a server may appear in one of them only.
pub fn set_many(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    requests: &[Move],
) -> Result<Vec<TakedownEvent>> {
    scope.require(Role::Analyst)?;
    let actable = actable(store, scope)?;
    let rows: HashMap<String, Row> =
        list(store, ctx, scope, now, &Selection::default())?.into_iter().map(|r| (r.server.clone(), r)).collect();
    let by = scope.actor()?;
    let mut events = Vec::new();
    let mut seen = BTreeSet::new();
    for request in requests {
        let reason = bounded("reason", &request.reason)?;
        if reason.is_empty() {
            return Err(Error::invalid("a move needs a reason"));
        }
        let evidence = bounded("evidence", &request.evidence)?;
        if request.servers.is_empty() {
            return Err(Error::invalid("no server to move"));
        }
        for server in &request.servers {
            if !seen.insert(server) {
                continue;
            }
            let row = rows.get(server).ok_or_else(|| Error::NotFound(format!("no server {server}")))?;
            if let Some(allowed) = &actable
                && !allowed.contains(server)
            {
                return Err(Error::Forbidden(format!("{server} is not in a package of {by}")));
            }
            let to = transition(row.state, request.to).map_err(|e| Error::invalid(format!("{server}: {e}")))?;
            events.push(TakedownEvent {
                server: server.clone(),
                from: row.state,
                to,
                by: by.clone(),
                at: now,
                reason: reason.to_string(),
                evidence: evidence.to_string(),
            });
        }
    }
    store.move_takedowns(&events)?;
    Ok(events)
}

fn bounded<'a>(what: &str, text: &'a str) -> Result<&'a str> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        return Err(Error::invalid(format!("{what}: longer than {MAX_TEXT} characters")));
    }
    Ok(text)
}

/// The servers the caller may move: all it may see (`None`) for the
/// operator and coordinators; for an agency, those of its latest package.
fn actable(store: &mut dyn Store, scope: &Scope) -> Result<Option<BTreeSet<String>>> {
    let Some(org) = scope.org() else { return Ok(None) };
    match org.kind {
        OrgKind::Coordinator => Ok(None),
        OrgKind::Agency => {
            let Some(latest) = store.packages(Some(&org.name))?.into_iter().next() else {
                return Ok(Some(BTreeSet::new()));
            };
            let record = store.package(latest.id)?.ok_or_else(|| Error::NotFound(format!("package {}", latest.id)))?;
            let package = crate::packages::read(&record)?;
            Ok(Some(package.servers.iter().filter_map(|p| p.server["id"].as_str().map(str::to_string)).collect()))
        }
        OrgKind::Partner | OrgKind::Public => Err(Error::Forbidden(format!("a {} does not move takedowns", org.kind))),
    }
}
