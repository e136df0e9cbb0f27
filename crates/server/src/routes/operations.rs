//! `/operations`: operations, the case actions recorded in them, and their
//! reports. Writes are logged in the audit log and a tree head is signed.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dragnet_core::Category;
use dragnet_core::access::Role;
use dragnet_core::case::{CaseAction, Operation, Suspect};
use dragnet_core::store::PackageRecord;
use dragnet_engine::operations::{self, NewAction, NewOperation};
use dragnet_engine::suspects::{self, NewSuspect};
use dragnet_engine::{Error, audit, report};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json as Body, Path, Query};
use crate::state::{Access, App, Credential};

fn time(what: &str, text: &str) -> Result<i64, ApiError> {
    dragnet_core::parse_timestamp(text).ok_or_else(|| {
        ApiError::Engine(Error::invalid(format!("{what}: `{text}` is not a time; use RFC 3339 or YYYY-MM-DD")))
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ParticipantRequest {
    org: String,
    /// Its role in the operation (`agency`, `partner`, `coordinator`, …).
    role: String,
}

/// An operation to open.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OperationRequest {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// RFC 3339 or YYYY-MM-DD.
    from: String,
    to: String,
    /// Categories it goes after; none: all.
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    participants: Vec<ParticipantRequest>,
}

/// The operations the caller may know of.
#[utoipa::path(get, path = "/operations", tag = "operations",
    responses(
        (status = 200, description = "Operations: all to a coordinator, those it takes part in to others", body = Vec<Operation>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn list(State(app): State<App>, credential: Credential) -> Result<Json<Vec<Operation>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), |store, _, scope| Ok(operations::list(store, scope)?))
        .await
        .map(Json)
}

/// Opens an operation (coordinators' analysts).
#[utoipa::path(post, path = "/operations", tag = "operations", request_body = OperationRequest,
    responses(
        (status = 200, description = "The operation opened", body = Operation),
        (status = 400, description = "A bad field, or the name is taken", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's analyst token", body = ErrorBody),
        (status = 404, description = "A participant that is not an organisation", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "JSON, but not the documented shape", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<App>,
    credential: Credential,
    Body(body): Body<OperationRequest>,
) -> Result<Json<Operation>, ApiError> {
    let scope = body
        .scope
        .iter()
        .map(|c| c.parse::<Category>().map_err(|e| ApiError::Engine(Error::invalid(format!("scope: {e}")))))
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewOperation {
        name: body.name,
        starts: time("from", &body.from)?,
        ends: time("to", &body.to)?,
        scope,
        participants: body.participants.into_iter().map(|p| (p.org, p.role)).collect(),
    };
    let signer = app.clone();
    app.call(credential, Access::Coordinator(Role::Analyst), move |store, _, scope| {
        let now = dragnet_engine::now();
        let op = operations::create(store, scope, &new, now)?;
        audit::checkpoint(store, &signer.signer, now)?;
        Ok(op)
    })
    .await
    .map(Json)
}

/// One operation.
#[utoipa::path(get, path = "/operations/{name}", tag = "operations",
    params(("name" = String, Path, description = "The operation's name")),
    responses(
        (status = 200, description = "The operation and its participants", body = Operation),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such operation, or not one the caller takes part in", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn one(
    State(app): State<App>,
    credential: Credential,
    Path(name): Path<String>,
) -> Result<Json<Operation>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), move |store, _, scope| Ok(operations::show(store, scope, &name)?))
        .await
        .map(Json)
}

/// A case action to record.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionRequest {
    /// house-search, arrest, suspect-identified, under-investigation,
    /// device-seized, server-seized, data-seized or sinkholed.
    kind: String,
    agency: String,
    /// ISO 3166 code of where it happened.
    country: String,
    /// RFC 3339 or YYYY-MM-DD.
    date: String,
    server: Option<String>,
    /// How many (default 1).
    #[schema(minimum = 1)]
    count: Option<u32>,
    /// Data seized: its size.
    bytes: Option<u64>,
    /// Data seized: its SHA-256 (hex).
    sha256: Option<String>,
    #[serde(default)]
    note: String,
}

/// An operation's case actions: all to a coordinator, its own to an agency.
#[utoipa::path(get, path = "/operations/{name}/actions", tag = "operations",
    params(("name" = String, Path, description = "The operation's name")),
    responses(
        (status = 200, description = "Case actions in the order recorded", body = Vec<CaseAction>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such operation, or not one the caller takes part in", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn actions(
    State(app): State<App>,
    credential: Credential,
    Path(name): Path<String>,
) -> Result<Json<Vec<CaseAction>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), move |store, _, scope| {
        Ok(operations::actions(store, scope, &name)?)
    })
    .await
    .map(Json)
}

/// Records what an agency did (its own analysts, or a coordinator's).
#[utoipa::path(post, path = "/operations/{name}/actions", tag = "operations", request_body = ActionRequest,
    params(("name" = String, Path, description = "The operation's name")),
    responses(
        (status = 200, description = "The action recorded", body = CaseAction),
        (status = 400, description = "A bad field (data seized needs bytes and sha256)", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Another agency's action, or not an analyst", body = ErrorBody),
        (status = 404, description = "No such operation or agency", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "JSON, but not the documented shape", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn record(
    State(app): State<App>,
    credential: Credential,
    Path(name): Path<String>,
    Body(body): Body<ActionRequest>,
) -> Result<Json<CaseAction>, ApiError> {
    let new = NewAction {
        operation: name,
        kind: body.kind.parse().map_err(|e| ApiError::Engine(Error::invalid(format!("kind: {e}"))))?,
        agency: body.agency,
        country: body.country,
        happened: time("date", &body.date)?,
        server: body.server,
        count: body.count.unwrap_or(1),
        bytes: body.bytes,
        sha256: body.sha256,
        note: body.note,
    };
    let signer = app.clone();
    app.call(credential, Access::Token(Role::Analyst), move |store, _, scope| {
        let now = dragnet_engine::now();
        let action = operations::record(store, scope, &new, now)?;
        audit::checkpoint(store, &signer.signer, now)?;
        Ok(action)
    })
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportFormat {
    /// `json` (default), `md` or `html`.
    format: Option<String>,
}

/// The operation's report as the caller may see it, computed now.
#[utoipa::path(get, path = "/operations/{name}/report", tag = "operations",
    params(("name" = String, Path, description = "The operation's name"), ReportFormat),
    responses(
        (status = 200, description = "The report (JSON; Markdown with format=md; one self-contained HTML file with format=html)",
            content((report::Report = "application/json"), (String = "text/markdown"), (String = "text/html"))),
        (status = 400, description = "An unknown format", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such operation, or not one the caller takes part in", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn report(
    State(app): State<App>,
    credential: Credential,
    Path(name): Path<String>,
    Query(q): Query<ReportFormat>,
) -> Result<Response, ApiError> {
    let format = q.format.unwrap_or_else(|| "json".into());
    if !["json", "md", "markdown", "html"].contains(&format.as_str()) {
        return Err(ApiError::Engine(Error::invalid(format!("format: `{format}`; use json, md or html"))));
    }
    let built = app
        .call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
            Ok(report::build(store, ctx, scope, &name, dragnet_engine::now())?)
        })
        .await?;
    Ok(match format.as_str() {
        "md" | "markdown" => {
            ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], report::markdown::render(&built)).into_response()
        }
        "html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], report::html::render(&built)).into_response(),
        _ => Json(built).into_response(),
    })
}

/// A suspect to record: as little as the case needs.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SuspectRequest {
    agency: String,
    #[schema(min_length = 1, max_length = 200)]
    alias: String,
    /// ISO 3166 code.
    nationality: Option<String>,
    #[serde(default)]
    role: String,
    /// RFC 3339 or YYYY-MM-DD: erased after this.
    retain_until: String,
}

/// Records a suspect (an analyst of the owning agency).
#[utoipa::path(post, path = "/operations/{name}/suspects", tag = "operations", request_body = SuspectRequest,
    params(("name" = String, Path, description = "The operation's name")),
    responses(
        (status = 200, description = "Recorded", body = Suspect),
        (status = 400, description = "A bad field, or a retention date not in the future", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not an analyst of that agency", body = ErrorBody),
        (status = 404, description = "No such operation or agency", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "JSON, but not the documented shape", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn add_suspect(
    State(app): State<App>,
    credential: Credential,
    Path(name): Path<String>,
    Body(body): Body<SuspectRequest>,
) -> Result<Json<Suspect>, ApiError> {
    let new = NewSuspect {
        operation: name,
        agency: body.agency,
        alias: body.alias,
        nationality: body.nationality,
        role: body.role,
        retain_until: time("retain_until", &body.retain_until)?,
    };
    let signer = app.clone();
    app.call(credential, Access::Token(Role::Analyst), move |store, _, scope| {
        let now = dragnet_engine::now();
        let kept = suspects::add(store, scope, &new, now)?;
        audit::checkpoint(store, &signer.signer, now)?;
        Ok(kept)
    })
    .await
    .map(Json)
}

/// The caller's agency's suspects (nobody else's, and to no other kind of organisation).
#[utoipa::path(get, path = "/suspects", tag = "operations",
    responses(
        (status = 200, description = "The agency's own suspects", body = Vec<Suspect>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not an agency's token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn suspects_list(State(app): State<App>, credential: Credential) -> Result<Json<Vec<Suspect>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), |store, _, scope| Ok(suspects::list(store, scope)?))
        .await
        .map(Json)
}

/// The packages sent within the operation: built for its agencies between its start and end.
#[utoipa::path(get, path = "/operations/{name}/packages", tag = "operations",
    params(("name" = String, Path, description = "The operation's name")),
    responses(
        (status = 200, description = "Packages (without their bodies) the caller may read", body = Vec<PackageRecord>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such operation, or not one the caller takes part in", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn packages(
    State(app): State<App>,
    credential: Credential,
    Path(name): Path<String>,
) -> Result<Json<Vec<PackageRecord>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), move |store, _, scope| {
        Ok(operations::packages(store, scope, &name)?)
    })
    .await
    .map(Json)
}
