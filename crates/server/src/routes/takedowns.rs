//! `/takedowns`: where each server's takedown stands, its history, and
//! moves through the lifecycle (coordinators' analysts on any server they
//! see, agencies' analysts on the servers of their latest package).

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_core::store::{ProbeResult, TakedownEvent};
use dragnet_engine::audit;
use dragnet_engine::takedown::{self, Move, Row, Selection, Shown};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json as Body, Path, Query};
use crate::state::{Access, App, Credential};

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Only servers whose takedown is in this state (`identified`, `requested`, `seized`, …).
    state: Option<String>,
    /// Only servers with an address in this country (ISO 3166 code).
    country: Option<String>,
    /// Only servers scoring at least this (0–100).
    #[param(maximum = 100)]
    #[schema(maximum = 100)]
    min_score: Option<u8>,
}

impl Filter {
    fn selection(self) -> Result<Selection, ApiError> {
        let state = match self.state {
            Some(s) => {
                Some(s.parse().map_err(|e| ApiError::Engine(dragnet_engine::Error::invalid(format!("state: {e}"))))?)
            }
            None => None,
        };
        Ok(Selection { state, country: self.country, min_score: self.min_score.unwrap_or(0) })
    }

    fn is_empty(&self) -> bool {
        self.state.is_none() && self.country.is_none() && self.min_score.is_none()
    }
}

/// Servers the caller may see and where their takedowns stand.
#[utoipa::path(get, path = "/takedowns", tag = "takedowns", params(Filter),
    responses(
        (status = 200, description = "Servers with their takedown state", body = Vec<Row>),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<App>,
    credential: Credential,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<Row>>, ApiError> {
    let which = f.selection()?;
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        Ok(takedown::list(store, ctx, scope, dragnet_engine::now(), &which)?)
    })
    .await
    .map(Json)
}

/// One server's takedown, where it may go next, and every move so far.
#[utoipa::path(get, path = "/takedowns/{server}", tag = "takedowns",
    params(("server" = String, Path, description = "A server id (`srv-…`)")),
    responses(
        (status = 200, description = "The takedown and its history", body = Shown),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such server, or none the caller may see", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn one(
    State(app): State<App>,
    credential: Credential,
    Path(server): Path<String>,
) -> Result<Json<Shown>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        Ok(takedown::show(store, ctx, scope, dragnet_engine::now(), &server)?)
    })
    .await
    .map(Json)
}

/// Servers to move on: named, or selected by the filter fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveRequest {
    /// Server ids; leave out to move every server the filter selects.
    #[serde(default)]
    servers: Vec<String>,
    /// The state to move them to.
    to: String,
    /// Why (kept with each move).
    reason: String,
    /// What shows it: a ticket, a message id, a file's SHA-256.
    #[serde(default)]
    evidence: String,
    #[serde(flatten)]
    filter: Filter,
}

/// Moves servers on through the lifecycle, all or none.
#[utoipa::path(post, path = "/takedowns", tag = "takedowns", request_body = MoveRequest,
    responses(
        (status = 200, description = "The moves made", body = Vec<TakedownEvent>),
        (status = 400, description = "A move the lifecycle does not allow (the message names the allowed ones), or no reason", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not an analyst of a coordinator, or not in the agency's package", body = ErrorBody),
        (status = 404, description = "No such server, or none the caller may see", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "JSON, but not the documented shape", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The store is busy, or someone moved one of them meanwhile; nothing was moved", body = ErrorBody),
    ))]
pub async fn set(
    State(app): State<App>,
    credential: Credential,
    Body(body): Body<MoveRequest>,
) -> Result<Json<Vec<TakedownEvent>>, ApiError> {
    let invalid = |m: String| ApiError::Engine(dragnet_engine::Error::invalid(m));
    let to = body.to.parse().map_err(|e| invalid(format!("to: {e}")))?;
    let (named, by_query) = (!body.servers.is_empty(), !body.filter.is_empty());
    if named == by_query {
        return Err(invalid("name servers, or select them with state, country or min_score (not both)".into()));
    }
    let which = body.filter.selection()?;
    let servers = body.servers;
    let (reason, evidence) = (body.reason, body.evidence);
    let signer = app.clone();
    app.call(credential, Access::Token(Role::Analyst), move |store, ctx, scope| {
        let now = dragnet_engine::now();
        let servers = if named {
            servers
        } else {
            takedown::list(store, ctx, scope, now, &which)?.into_iter().map(|r| r.server).collect()
        };
        let moved = takedown::set(store, ctx, scope, now, &Move { servers, to, reason, evidence })?;
        audit::checkpoint(store, &signer.signer, now)?;
        Ok(moved)
    })
    .await
    .map(Json)
}

/// What the verification prober found for a server, newest first.
#[utoipa::path(get, path = "/takedowns/{server}/probes", tag = "takedowns",
    params(("server" = String, Path, description = "A server id (`srv-…`)")),
    responses(
        (status = 200, description = "Probe results: connected, certificate, HTTP status, error", body = Vec<ProbeResult>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such server, or none the caller may see", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn probes(
    State(app): State<App>,
    credential: Credential,
    Path(server): Path<String>,
) -> Result<Json<Vec<ProbeResult>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        takedown::show(store, ctx, scope, dragnet_engine::now(), &server)?;
        Ok(store.probe_results(&server, 100)?)
    })
    .await
    .map(Json)
}
