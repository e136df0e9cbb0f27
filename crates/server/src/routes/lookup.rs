//! `/lookup` and `/explain`: what the caller may see about values.
//! Lookups are answered from the lookup snapshot, explanations (which
//! show each observation's origin) from the store.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_core::policy::Answer;
use dragnet_engine::access::Scope;
use dragnet_engine::lookup::{Context, Explained, explain_value};
use dragnet_engine::snapshot::{self, Snapshot};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{At, parse_at};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json as Body, Path, Query};
use crate::state::{Access, App, Credential};

/// Most values one POST may look up.
const MAX_VALUES: usize = 1000;
/// More values than this are looked up on the blocking pool, so that one
/// large request never holds up an async thread.
const QUICK_VALUES: usize = 16;

/// A value that could not be understood, in place of its answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unreadable {
    value: String,
    error: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Line {
    Answer(Box<Answer>),
    Unreadable(Unreadable),
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Values {
    /// IPs, CIDRs, domains, URLs, hashes, e-mail addresses, ASNs (at most 1000).
    values: Vec<String>,
    /// Score as of this time (RFC 3339 or YYYY-MM-DD) instead of now.
    at: Option<String>,
}

fn unreadable(value: &str, error: String) -> ApiError {
    ApiError::Engine(dragnet_engine::Error::invalid(format!("{value}: {error}")))
}

/// Look one value up: everything the caller may see about it.
#[utoipa::path(get, path = "/lookup/{value}", tag = "lookup",
    params(("value" = String, Path, description = "The value; percent-encode a URL's slashes"), At),
    responses(
        (status = 200, description = "The answer (found or not)", body = Answer),
        (status = 400, description = "Not a value Dragnet understands", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn one(
    State(app): State<App>,
    credential: Credential,
    Path(value): Path<String>,
    Query(q): Query<At>,
) -> Result<Json<Answer>, ApiError> {
    answer(app, credential, Access::Token(Role::Reader), value, q).await
}

/// One value's answer for a caller with `access`.
async fn answer(
    app: App,
    credential: Credential,
    access: Access,
    value: String,
    q: At,
) -> Result<Json<Answer>, ApiError> {
    let at = parse_at(q.at.as_deref())?;
    let work = move |snapshot: &Snapshot, ctx: &Context, scope: &Scope| {
        snapshot::look_up(snapshot, ctx, scope, &value, at).map_err(|e| unreadable(&value, e))
    };
    answered(app, credential, access, work).await.map(Json)
}

/// Runs a lookup from the snapshot: at once when the caller is known,
/// after reading who it is from the store otherwise.
async fn answered<T: Send + 'static>(
    app: App,
    credential: Credential,
    access: Access,
    work: impl FnOnce(&Snapshot, &Context, &Scope) -> Result<T, ApiError> + Clone + Send + 'static,
) -> Result<T, ApiError> {
    if let Some(done) = app.quick(&credential, access, work.clone()) {
        return done;
    }
    let snapshot = app.snapshot();
    app.call(credential, access, move |_, ctx, scope| work(&snapshot, ctx, scope)).await
}

/// Look one value up in the TLP:CLEAR data, without a token.
#[utoipa::path(get, path = "/public/lookup/{value}", tag = "public", security(()),
    params(("value" = String, Path, description = "The value; percent-encode a URL's slashes"), At),
    responses(
        (status = 200, description = "The answer from TLP:CLEAR observations only", body = Answer),
        (status = 400, description = "Not a value Dragnet understands", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn public_one(
    State(app): State<App>,
    credential: Credential,
    Path(value): Path<String>,
    Query(q): Query<At>,
) -> Result<Json<Answer>, ApiError> {
    answer(app, credential, Access::Public, value, q).await
}

/// Look many values up at once; a value that cannot be read gets an error line.
#[utoipa::path(post, path = "/lookup", tag = "lookup", request_body = Values,
    responses(
        (status = 200, description = "One line per value, in order", body = Vec<Line>),
        (status = 400, description = "Too many values, a bad time, or not JSON", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "JSON, but not the documented shape", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn many(
    State(app): State<App>,
    credential: Credential,
    Body(body): Body<Values>,
) -> Result<Json<Vec<Line>>, ApiError> {
    if body.values.len() > MAX_VALUES {
        return Err(ApiError::Engine(dragnet_engine::Error::invalid(format!(
            "{} values; at most {MAX_VALUES} a request",
            body.values.len()
        ))));
    }
    let at = parse_at(body.at.as_deref())?;
    let values_len = body.values.len();
    let values = Arc::new(body.values);
    let work = move |snapshot: &Snapshot, ctx: &Context, scope: &Scope| {
        let lines = values.iter().map(|value| match snapshot::look_up(snapshot, ctx, scope, value, at) {
            Ok(answer) => Line::Answer(Box::new(answer)),
            Err(error) => Line::Unreadable(Unreadable { value: value.clone(), error }),
        });
        Ok(lines.collect())
    };
    let access = Access::Token(Role::Reader);
    if values_len > QUICK_VALUES {
        let snapshot = app.snapshot();
        return app.call(credential, access, move |_, ctx, scope| work(&snapshot, ctx, scope)).await.map(Json);
    }
    answered(app, credential, access, work).await.map(Json)
}

/// Every observation's part in a value's score, as far as the caller may see.
#[utoipa::path(get, path = "/explain/{value}", tag = "lookup",
    params(("value" = String, Path, description = "The value; percent-encode a URL's slashes"), At),
    responses(
        (status = 200, description = "The score and its contributions", body = Explained),
        (status = 400, description = "Not a value Dragnet understands", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn explain(
    State(app): State<App>,
    credential: Credential,
    Path(value): Path<String>,
    Query(q): Query<At>,
) -> Result<Json<Explained>, ApiError> {
    let at = parse_at(q.at.as_deref())?;
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        Ok(explain_value(store, ctx, scope, &value, at)?)
    })
    .await
    .map(Json)
}
