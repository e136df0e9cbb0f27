//! The one mapping from an engine error to an HTTP response: a status and
//! a JSON body with a stable `code` and a message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dragnet_core::StoreError;
use dragnet_engine::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable: `invalid`, `unauthenticated`, `forbidden`, `not_found`,
    /// `rate_limited`, `busy`, `too_large`, `internal`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub enum ApiError {
    Engine(Error),
    /// Too many requests: retry after this many seconds.
    RateLimited(u64),
    /// The work could not run (a panic or a cancelled task).
    Internal(String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::Engine(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Engine(Error::Store(e))
    }
}

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Engine(e) => match e {
                Error::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
                Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
                Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
                Error::Store(StoreError::Busy(_) | StoreError::Conflict(_)) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy")
                }
                Error::Store(StoreError::NotFound(_) | StoreError::UnknownSource(_)) => {
                    (StatusCode::NOT_FOUND, "not_found")
                }
                Error::Store(StoreError::Exists(_)) => (StatusCode::CONFLICT, "exists"),
                Error::Store(_) | Error::Io { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            // The store's own words may name tables or hosts: logged, not sent.
            ApiError::Engine(Error::Store(e)) if status == StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(error = %e, "store failure");
                "the store failed; the operator's log says why".to_string()
            }
            ApiError::Engine(Error::Io { .. }) | ApiError::Internal(_) => {
                tracing::error!(error = ?self, "internal failure");
                "internal error; the operator's log says why".to_string()
            }
            ApiError::Engine(e) => e.to_string(),
            ApiError::RateLimited(after) => format!("too many requests: retry in {after} s"),
        };
        let mut response = (status, Json(ErrorBody { code, message })).into_response();
        let headers = response.headers_mut();
        match (&self, status) {
            (ApiError::RateLimited(after), _) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*after));
            }
            (_, StatusCode::UNAUTHORIZED) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            (_, StatusCode::SERVICE_UNAVAILABLE) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            _ => {}
        }
        response
    }
}
