//! `/organisations`, `/sources`, `/stats`: who is in the community, what
//! each source brought, and the store's counts.

use axum::Json;
use axum::extract::State;
use dragnet_core::access::{Org, Role};
use dragnet_core::store::{SourceInfo, Stats};

use crate::error::{ApiError, ErrorBody};
use crate::state::{Access, App, Credential};

/// The organisations: all of them to a coordinator, one's own to others.
#[utoipa::path(get, path = "/organisations", tag = "directory",
    responses(
        (status = 200, description = "Organisations with their jurisdiction", body = Vec<Org>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn organisations(State(app): State<App>, credential: Credential) -> Result<Json<Vec<Org>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), |store, _, scope| {
        Ok(store.orgs()?.into_iter().filter(|o| scope.acts_for(&o.name)).collect())
    })
    .await
    .map(Json)
}

/// The sources whose data the caller may see at their default marking.
#[utoipa::path(get, path = "/sources", tag = "directory",
    responses(
        (status = 200, description = "Sources with their defaults and activity", body = Vec<SourceInfo>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn sources(State(app): State<App>, credential: Credential) -> Result<Json<Vec<SourceInfo>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), |store, _, scope| {
        Ok(store.sources()?.into_iter().filter(|s| scope.allows(&s.source.name, s.source.tlp)).collect())
    })
    .await
    .map(Json)
}

/// Counts over the whole store, for coordinators.
#[utoipa::path(get, path = "/stats", tag = "directory",
    responses(
        (status = 200, description = "Counts by kind, category, source and TLP", body = Stats),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn stats(State(app): State<App>, credential: Credential) -> Result<Json<Stats>, ApiError> {
    app.call(credential, Access::Coordinator(Role::Reader), |store, _, _| Ok(store.stats()?)).await.map(Json)
}
