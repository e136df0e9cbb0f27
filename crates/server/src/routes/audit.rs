//! `/audit`: the tamper-evident log, for coordinators: its entries, a check
//! of the whole log and the store against it, and inclusion proofs.

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_engine::audit::{self, EntryView, Proof, Verification};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query};
use crate::state::{Access, App, Credential};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Only entries after this one.
    after: Option<u64>,
    /// At most this many (up to 10,000; default 100).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
}

/// The log's entries, oldest first.
#[utoipa::path(get, path = "/audit/entries", tag = "audit", params(Page),
    responses(
        (status = 200, description = "Entries", body = Vec<EntryView>),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's admin token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn entries(
    State(app): State<App>,
    credential: Credential,
    Query(page): Query<Page>,
) -> Result<Json<Vec<EntryView>>, ApiError> {
    app.call(credential, Access::Coordinator(Role::Admin), move |store, _, _| {
        Ok(audit::entries(store, page.after.unwrap_or(0), page.limit.unwrap_or(100).max(1))?)
    })
    .await
    .map(Json)
}

/// Checks every entry, every signed tree head (against this server's key)
/// and the takedown rows against the log.
#[utoipa::path(get, path = "/audit/verify", tag = "audit",
    responses(
        (status = 200, description = "What was found; `problems` is empty when nothing was altered", body = Verification),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's admin token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn verify(State(app): State<App>, credential: Credential) -> Result<Json<Verification>, ApiError> {
    let key = app.signer.public_key();
    app.call(credential, Access::Coordinator(Role::Admin), move |store, _, _| Ok(audit::verify(store, &[key])?))
        .await
        .map(Json)
}

/// An entry's RFC 6962 inclusion proof in the newest signed tree head.
#[utoipa::path(get, path = "/audit/proof/{entry}", tag = "audit",
    params(("entry" = u64, Path, description = "The entry's sequence number", minimum = 1)),
    responses(
        (status = 200, description = "The entry, its audit path and the signed tree head", body = Proof),
        (status = 400, description = "Not an entry number", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's analyst token", body = ErrorBody),
        (status = 404, description = "No such entry, or none covered by a signed tree head yet", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn proof(
    State(app): State<App>,
    credential: Credential,
    Path(entry): Path<u64>,
) -> Result<Json<Proof>, ApiError> {
    app.call(credential, Access::Coordinator(Role::Analyst), move |store, _, _| Ok(audit::proof(store, entry)?))
        .await
        .map(Json)
}
