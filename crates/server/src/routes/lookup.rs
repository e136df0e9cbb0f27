//! `/lookup` and `/explain`: what the caller may see about values.

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_core::policy::Answer;
use dragnet_engine::lookup::{Explained, explain_value, look_up};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{At, parse_at};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json as Body, Path, Query};
use crate::state::{Access, App, Credential};

/// Most values one POST may look up.
const MAX_VALUES: usize = 1000;

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
    app.call(credential, access, move |store, ctx, scope| {
        look_up(store, ctx, scope, &value, at)?.map_err(|e| unreadable(&value, e))
    })
    .await
    .map(Json)
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
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        let mut lines = Vec::with_capacity(body.values.len());
        for value in body.values {
            lines.push(match look_up(store, ctx, scope, &value, at)? {
                Ok(answer) => Line::Answer(Box::new(answer)),
                Err(error) => Line::Unreadable(Unreadable { value, error }),
            });
        }
        Ok(lines)
    })
    .await
    .map(Json)
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
