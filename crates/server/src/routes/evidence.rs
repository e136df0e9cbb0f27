//! `/evidence`: files kept by content with their custody chain, for
//! coordinators and the organisations of the operation.

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_core::case::{Custody, Evidence};
use dragnet_engine::evidence::{self, Checked, NewEvidence};
use dragnet_engine::{Error, audit, operations};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Bytes, Json as Body, Path, Query};
use crate::state::{Access, App, Credential};

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceCustody {
    evidence: Evidence,
    custody: Vec<Custody>,
}

/// One piece of evidence and its custody chain (participants of its operation).
#[utoipa::path(get, path = "/evidence/{sha256}", tag = "operations",
    params(("sha256" = String, Path, description = "The file's SHA-256")),
    responses(
        (status = 200, description = "The evidence and who handed it to whom", body = EvidenceCustody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such evidence, or not of an operation the caller takes part in", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn one(
    State(app): State<App>,
    credential: Credential,
    Path(sha): Path<String>,
) -> Result<Json<EvidenceCustody>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), move |store, _, scope| {
        let sha = sha.trim().to_ascii_lowercase();
        let missing = || ApiError::Engine(Error::NotFound(format!("no evidence {sha}")));
        let piece = store.evidence(None)?.into_iter().find(|e| e.sha256 == sha).ok_or_else(missing)?;
        operations::show(store, scope, &piece.operation).map_err(|_| missing())?;
        let custody = store.custody(Some(&sha))?;
        Ok(EvidenceCustody { evidence: piece, custody })
    })
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HandIn {
    /// The file's name.
    name: String,
    /// The organisation that holds it first.
    holder: String,
    server: Option<String>,
    description: Option<String>,
}

/// Keeps the body as evidence of the operation, by its SHA-256 (analysts).
#[utoipa::path(post, path = "/operations/{name}/evidence", tag = "operations", params(("name" = String, Path, description = "The operation's name"), HandIn),
    request_body(content = String, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 200, description = "Kept", body = Evidence),
        (status = 400, description = "A bad name, or this content is kept already", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not an analyst", body = ErrorBody),
        (status = 404, description = "No such operation (or not the caller's), or no such holder", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn hand_in(
    State(app): State<App>,
    credential: Credential,
    Path(operation): Path<String>,
    Query(q): Query<HandIn>,
    Bytes(body): Bytes,
) -> Result<Json<Evidence>, ApiError> {
    let state = app.clone();
    app.call(credential, Access::Token(Role::Analyst), move |store, _, scope| {
        let now = dragnet_engine::now();
        let new = NewEvidence {
            name: q.name,
            operation,
            server: q.server,
            description: q.description.unwrap_or_default(),
            holder: q.holder,
        };
        let kept = evidence::add(store, &state.config.data, scope, &new, &mut &body[..], now)?;
        audit::checkpoint(store, &state.signer, now)?;
        Ok(kept)
    })
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferRequest {
    /// The current holder.
    from: String,
    to: String,
    #[serde(default)]
    note: String,
}

/// Records a hand-over by its current holder (an analyst of a coordinator).
#[utoipa::path(post, path = "/evidence/{sha256}/custody", tag = "operations", request_body = TransferRequest,
    params(("sha256" = String, Path, description = "The file's SHA-256")),
    responses(
        (status = 200, description = "The hand-over recorded", body = Custody),
        (status = 400, description = "Not a SHA-256, or `from` does not hold it", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's analyst token", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "JSON, but not the documented shape", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn transfer(
    State(app): State<App>,
    credential: Credential,
    Path(sha): Path<String>,
    Body(body): Body<TransferRequest>,
) -> Result<Json<Custody>, ApiError> {
    let state = app.clone();
    app.call(credential, Access::Coordinator(Role::Analyst), move |store, _, scope| {
        let now = dragnet_engine::now();
        let custody = evidence::transfer(store, scope, &sha, &body.from, &body.to, &body.note, now)?;
        audit::checkpoint(store, &state.signer, now)?;
        Ok(custody)
    })
    .await
    .map(Json)
}

/// Re-hashes every piece of evidence this server keeps (coordinators' admins).
#[utoipa::path(get, path = "/evidence/verify", tag = "operations",
    responses(
        (status = 200, description = "Each piece: ok, missing or altered", body = Vec<Checked>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's admin token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn verify(State(app): State<App>, credential: Credential) -> Result<Json<Vec<Checked>>, ApiError> {
    let data = app.config.data.clone();
    app.call(credential, Access::Coordinator(Role::Admin), move |store, _, _| Ok(evidence::verify(store, &data)?))
        .await
        .map(Json)
}
