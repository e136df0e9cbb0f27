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
    /// `exists`, `rate_limited`, `busy`, `too_large`,
    /// `unsupported_media_type`, `timeout`, `internal`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub enum ApiError {
    Engine(Error),
    /// Too many requests: retry after this many seconds.
    RateLimited(u64),
    /// The worker fleet's queue is full: retry after this many seconds.
    QueueFull {
        retry_after: u64,
        why: String,
    },
    /// The worker fleet could not be reached.
    Unavailable(String),
    /// The request could not be read (a bad query, path or body).
    Rejected(StatusCode, String),
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
            ApiError::QueueFull { .. } => (StatusCode::TOO_MANY_REQUESTS, "queue_full"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Rejected(status, _) => match *status {
                StatusCode::PAYLOAD_TOO_LARGE => (*status, "too_large"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => (*status, "unsupported_media_type"),
                StatusCode::NOT_FOUND => (*status, "not_found"),
                s if s.is_client_error() => (s, "invalid"),
                _ => (StatusCode::BAD_REQUEST, "invalid"),
            },
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl ApiError {
    /// The one mapping to a response: status, code and a message safe to
    /// send (internal details are logged, not sent), rendered by `body`
    /// (REST's JSON, TAXII's error message), with the headers the status needs.
    pub fn respond(self, body: impl FnOnce(StatusCode, &'static str, String) -> Response) -> Response {
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
            ApiError::QueueFull { retry_after, why } => format!("{why}; retry in {retry_after} s"),
            ApiError::Unavailable(why) => {
                tracing::error!(error = %why, "worker fleet unreachable");
                "the worker fleet is unreachable; try again later".to_string()
            }
            ApiError::Rejected(_, why) => why.clone(),
        };
        let mut response = body(status, code, message);
        let headers = response.headers_mut();
        match (&self, status) {
            (ApiError::RateLimited(after) | ApiError::QueueFull { retry_after: after, .. }, _) => {
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.respond(|status, code, message| (status, Json(ErrorBody { code, message })).into_response())
    }
}
