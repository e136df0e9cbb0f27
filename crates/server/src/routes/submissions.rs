//! `/submissions`: a feed file, STIX bundle or MISP event posted by a
//! partner, ingested as one all-or-nothing batch exactly as `dragnet
//! ingest` ingests a file, and answered with the same report. With a
//! worker fleet (`serve --nats`) it is queued for the workers instead,
//! once the caller is found to be allowed to write there: 202, or 429 when
//! the workers have fallen behind.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dragnet_core::access::Role;
use dragnet_core::policy::BatchLabels;
use dragnet_core::{Category, Grade, Tlp};
use dragnet_engine::Error;
use dragnet_engine::ingest::{Report, admit_submission, submit_as};
use dragnet_ingest::Mapping;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// A submission queued for the worker fleet.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// The job's id.
    pub job: String,
    /// The payload's SHA-256.
    pub object: String,
    pub size: u64,
    /// Its place in the job stream.
    pub sequence: u64,
}

/// Seconds a submitter refused by a full queue is asked to wait.
const QUEUE_RETRY_AFTER: u64 = 5;

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
        (status = 202, description = "Queued for the worker fleet (`serve --nats`)", body = Queued),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not the caller's source, or a reader's token", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
        (status = 422, description = "Nothing usable in it; nothing was written", body = Report),
        (status = 429, description = "Too many requests, or the worker fleet's queue is full", body = ErrorBody),
        (status = 503, description = "The store is busy, or the worker fleet unreachable; nothing was written", body = Report),
    ))]
pub async fn submit(
    State(app): State<App>,
    credential: Credential,
    Query(q): Query<Submission>,
    Bytes(body): Bytes,
) -> Result<Response, ApiError> {
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
    if let Some(fleet) = app.config.fleet.clone() {
        let format = q.format.clone().unwrap_or_else(|| "auto".into());
        let job = dragnet_fleet::Job::ingest(&name, &format!("api:{name}"), &format, q.columns.clone(), labels);
        return queue(app, credential, fleet, job, labels, body.to_vec()).await;
    }
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
    Ok(answer.into_response())
}

/// Admits the caller to the source against the store, then queues the job.
async fn queue(
    app: App,
    credential: Credential,
    fleet: crate::Fleet,
    job: dragnet_fleet::Job,
    labels: BatchLabels,
    body: Vec<u8>,
) -> Result<Response, ApiError> {
    let name = job.source.clone();
    app.call(credential, Access::Token(Role::Submitter), move |store, _, scope| {
        Ok(admit_submission(store, scope, &name, labels)?)
    })
    .await?;
    match dragnet_fleet::submit_async(&fleet.nats, &fleet.queue, vec![(job, vec![body.into()])]).await {
        Ok(queued) => {
            let s = queued.into_iter().next().ok_or_else(|| ApiError::Internal("no job was queued".into()))?;
            let object = s.objects.into_iter().next().unwrap_or_default();
            let queued = Queued { job: s.job, object, size: s.size, sequence: s.sequence };
            Ok((StatusCode::ACCEPTED, Json(queued)).into_response())
        }
        Err(e @ dragnet_fleet::Error::Full { .. }) => {
            Err(ApiError::QueueFull { retry_after: QUEUE_RETRY_AFTER, why: e.to_string() })
        }
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}
