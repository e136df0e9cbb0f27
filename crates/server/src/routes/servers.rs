//! `/servers`: observables joined into servers, as far as the caller may see.

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_engine::servers::{ServerView, compute, find};
use serde::Deserialize;
use utoipa::IntoParams;

use super::parse_at;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query};
use crate::state::{Access, App, Credential};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Only servers scoring at least this (0–100).
    #[param(maximum = 100)]
    min_score: Option<u8>,
    /// Only servers with an address in this country (ISO 3166 code).
    country: Option<String>,
    /// At most this many (default 100, at most 10000).
    #[param(maximum = 10000)]
    limit: Option<usize>,
    /// Score as of this time (RFC 3339 or YYYY-MM-DD) instead of now.
    at: Option<String>,
}

/// Servers, highest score first.
#[utoipa::path(get, path = "/servers", tag = "servers", params(Filter),
    responses(
        (status = 200, description = "Servers the caller may see, with the members it may see", body = Vec<ServerView>),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<App>,
    credential: Credential,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<ServerView>>, ApiError> {
    let at = parse_at(f.at.as_deref())?;
    let limit = f.limit.unwrap_or(100).min(10_000);
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        let all = compute(store, ctx, scope, at.unwrap_or_else(dragnet_engine::now), false)?;
        let country = f.country.as_deref().map(str::to_ascii_uppercase);
        Ok(all
            .views
            .into_iter()
            .filter(|v| v.score >= f.min_score.unwrap_or(0))
            .filter(|v| country.as_ref().is_none_or(|c| v.countries.contains(c)))
            .take(limit)
            .collect())
    })
    .await
    .map(Json)
}

/// One server with its members, artifacts and evidence.
#[utoipa::path(get, path = "/servers/{id}", tag = "servers",
    params(("id" = String, Path, description = "A server id (`srv-…`), or any IP, domain or URL of it"), super::At),
    responses(
        (status = 200, description = "The server as far as the caller may see it", body = ServerView),
        (status = 400, description = "A bad time", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such server, or none the caller may see", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn one(
    State(app): State<App>,
    credential: Credential,
    Path(id): Path<String>,
    Query(q): Query<super::At>,
) -> Result<Json<ServerView>, ApiError> {
    let at = parse_at(q.at.as_deref())?;
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        let all = compute(store, ctx, scope, at.unwrap_or_else(dragnet_engine::now), true)?;
        find(&all, &id)
            .cloned()
            .ok_or_else(|| ApiError::Engine(dragnet_engine::Error::NotFound(format!("no server `{id}`"))))
    })
    .await
    .map(Json)
}
