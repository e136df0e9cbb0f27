//! `/contacts` and `/notices`: hosting providers' abuse desks, and takedown
//! requests e-mailed to them through the relay this server was started with.

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_core::store::AbuseContact;
use dragnet_engine::notices::{self, Outcome};
use dragnet_engine::{Error, audit, contacts};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Bytes, Json as Body};
use crate::state::{Access, App, Credential};

/// Every abuse contact (coordinators).
#[utoipa::path(get, path = "/contacts", tag = "notices",
    responses(
        (status = 200, description = "Abuse contacts by network", body = Vec<AbuseContact>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn list(State(app): State<App>, credential: Credential) -> Result<Json<Vec<AbuseContact>>, ApiError> {
    app.call(credential, Access::Coordinator(Role::Reader), |store, _, _| Ok(store.contacts()?)).await.map(Json)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    imported: usize,
}

/// Imports `network,email[,name]` lines, all or nothing (coordinators' admins).
#[utoipa::path(post, path = "/contacts", tag = "notices",
    request_body(content = String, content_type = "text/csv", description = "The contacts file"),
    responses(
        (status = 200, description = "How many were imported", body = Imported),
        (status = 400, description = "Bad lines (each named); nothing was imported", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's admin token", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn import(
    State(app): State<App>,
    credential: Credential,
    Bytes(body): Bytes,
) -> Result<Json<Imported>, ApiError> {
    app.call(credential, Access::Coordinator(Role::Admin), move |store, _, scope| {
        let imported = contacts::import_bytes(store, &scope.actor()?, "body", &body, dragnet_engine::now())?;
        Ok(Imported { imported })
    })
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NoticeRequest {
    /// Server ids (`srv-…`), each `assigned` (or reappeared) with a known abuse desk.
    #[schema(min_items = 1)]
    servers: Vec<String>,
}

/// E-mails an X-ARF report for each server to its abuse desks and moves its
/// takedown to `requested`; nothing is sent unless every server qualifies.
#[utoipa::path(post, path = "/notices", tag = "notices", request_body = NoticeRequest,
    responses(
        (status = 200, description = "The notices sent, and those the relay refused", body = Outcome),
        (status = 400, description = "A server that may not move to requested or has no desk, or this server sends no notices", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's analyst token", body = ErrorBody),
        (status = 404, description = "No such server, or none the caller may see", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "JSON, but not the documented shape", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn send(
    State(app): State<App>,
    credential: Credential,
    Body(body): Body<NoticeRequest>,
) -> Result<Json<Outcome>, ApiError> {
    let state = app.clone();
    app.call(credential, Access::Coordinator(Role::Analyst), move |store, ctx, scope| {
        let mailer = state.config.mailer.as_ref().ok_or_else(|| {
            Error::invalid("this server sends no notices: start it with --smtp-relay and the --reporter-* options")
        })?;
        let now = dragnet_engine::now();
        let outcome = notices::send(store, ctx, scope, now, &body.servers, mailer)?;
        audit::checkpoint(store, &state.signer, now)?;
        Ok(outcome)
    })
    .await
    .map(Json)
}
