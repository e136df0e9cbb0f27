//! `/submissions`: a feed file, STIX bundle or MISP event posted by a
//! partner, ingested as one all-or-nothing batch exactly as `dragnet
//! ingest` ingests a file, and answered with the same report.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dragnet_core::access::Role;
use dragnet_core::policy::BatchLabels;
use dragnet_core::{Category, Grade, Tlp};
use dragnet_engine::Error;
use dragnet_engine::ingest::{Report, submit_as};
use dragnet_ingest::Mapping;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Bytes, Query};
use crate::state::{Access, App, Credential};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Submission {
    /// The source to write to: the caller's organisation's own (a new one
    /// becomes its own).
    source: String,
    /// auto (detect) or stix, misp, misp-feed, feodo, urlhaus, threatfox,
    /// drop, asn-drop, dshield, plain, csv.
    format: Option<String>,
    /// TLP floor for this input.
    tlp: Option<String>,
    /// Admiralty grade for this input, e.g. B2.
    grade: Option<String>,
    /// Category for records whose feed does not say.
    category: Option<String>,
    /// Column mapping for csv, as `dragnet ingest --columns`.
    columns: Option<String>,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Engine(Error::invalid(format!("{what}: {e}")))
}

fn label<T: std::str::FromStr>(what: &str, value: Option<&str>) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    value.map(|v| v.parse::<T>().map_err(|e| invalid(what, e))).transpose()
}

/// Submit one input; it is written whole or not at all.
#[utoipa::path(post, path = "/submissions", tag = "submissions", params(Submission),
    request_body(content = String, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 200, description = "Written: the same report as `dragnet ingest --json`", body = Report),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not the caller's source, or a reader's token", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 422, description = "Nothing usable in it; nothing was written", body = Report),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The store is busy; nothing was written", body = Report),
    ))]
pub async fn submit(
    State(app): State<App>,
    credential: Credential,
    Query(q): Query<Submission>,
    Bytes(body): Bytes,
) -> Result<(StatusCode, Json<Report>), ApiError> {
    let name = q.source.trim().to_string();
    dragnet_engine::access::check_name(&name)?;
    let format = dragnet_engine::ingest::format_named(q.format.as_deref().unwrap_or("auto"))?;
    let labels = BatchLabels {
        tlp: label::<Tlp>("tlp", q.tlp.as_deref())?,
        grade: label::<Grade>("grade", q.grade.as_deref())?,
        category: label::<Category>("category", q.category.as_deref())?,
    };
    let mapping = match &q.columns {
        Some(spec) => spec.parse::<Mapping>().map_err(|e| invalid("columns", e))?,
        None => Mapping::default(),
    };
    let answer = app
        .call(credential, Access::Token(Role::Submitter), move |store, _, scope| {
            let file = submit_as(store, scope, &name, labels, format, &mapping, &format!("api:{name}"), &body)?;
            let status = match (&file.error, file.store_failed) {
                (None, _) => StatusCode::OK,
                (Some(_), true) => StatusCode::SERVICE_UNAVAILABLE,
                (Some(_), false) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let mut report = Report { source: name, ..Report::default() };
            report.add(file);
            Ok((status, Json(report)))
        })
        .await?;
    // The submitter's next lookup sees what it just wrote.
    if answer.0 == StatusCode::OK {
        app.written().await?;
    }
    Ok(answer)
}
