//! `/packages`: what each agency must act on. An agency reads its own; a
//! coordinator reads and builds all of them.

use axum::Json;
use axum::extract::State;
use dragnet_core::access::Role;
use dragnet_core::store::PackageRecord;
use dragnet_engine::Error;
use dragnet_engine::export::{self, Format, xarf, xarf::Reporter};
use dragnet_engine::packages::{self, Package};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query};
use crate::state::{Access, App, Credential};

/// Packages, newest first: the caller's own, or all of them for a coordinator.
#[utoipa::path(get, path = "/packages", tag = "packages",
    responses(
        (status = 200, description = "Packages without their bodies", body = Vec<PackageRecord>),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn list(State(app): State<App>, credential: Credential) -> Result<Json<Vec<PackageRecord>>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), |store, _, scope| {
        Ok(store.packages(None)?.into_iter().filter(|p| scope.acts_for(&p.org)).collect())
    })
    .await
    .map(Json)
}

/// One package with its servers, evidence and changes since the one before.
#[utoipa::path(get, path = "/packages/{id}", tag = "packages",
    params(("id" = i64, Path, description = "The package's id")),
    responses(
        (status = 200, description = "The package", body = Package),
        (status = 400, description = "Not a package id", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such package, or not the caller's", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn one(
    State(app): State<App>,
    credential: Credential,
    Path(id): Path<i64>,
) -> Result<Json<Package>, ApiError> {
    app.call(credential, Access::Token(Role::Reader), move |store, _, scope| match store.package(id)? {
        Some(record) if scope.acts_for(&record.org) => Ok(packages::read(&record)?),
        _ => Err(ApiError::Engine(Error::NotFound(format!("no package {id}")))),
    })
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct For {
    /// The agency.
    #[serde(rename = "for")]
    #[param(rename = "for")]
    agency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Built {
    id: i64,
    package: Package,
}

/// Build an agency's next package (coordinators).
#[utoipa::path(post, path = "/packages", tag = "packages", params(For),
    responses(
        (status = 200, description = "The package built and stored", body = Built),
        (status = 400, description = "Not an agency", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 403, description = "Not a coordinator's analyst", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The store is busy; nothing was built", body = ErrorBody),
    ))]
pub async fn build(
    State(app): State<App>,
    credential: Credential,
    Query(q): Query<For>,
) -> Result<Json<Built>, ApiError> {
    app.call(credential, Access::Coordinator(Role::Analyst), move |store, ctx, _| {
        let (record, package) = packages::build(store, ctx, &q.agency, dragnet_engine::now())?;
        Ok(Built { id: record.id, package })
    })
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFormat {
    /// stix (a STIX 2.1 bundle), misp (a MISP event) or xarf (X-ARF v4
    /// abuse reports, one per server, as a JSON array).
    format: String,
    /// XARF: the reporting organisation.
    reporter_org: Option<String>,
    /// XARF: the reporter's abuse e-mail address.
    reporter_contact: Option<String>,
    /// XARF: the reporter's domain.
    reporter_domain: Option<String>,
}

/// One package as a STIX 2.1 bundle, a MISP event or X-ARF reports.
#[utoipa::path(get, path = "/packages/{id}/export", tag = "packages",
    params(("id" = i64, Path, description = "The package's id"), ExportFormat),
    responses(
        (status = 200, description = "The bundle, the event, or the array of reports", body = Object),
        (status = 400, description = "Not a package id, an unknown format, or XARF without its reporter", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 404, description = "No such package, or not the caller's", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn export(
    State(app): State<App>,
    credential: Credential,
    Path(id): Path<i64>,
    Query(q): Query<ExportFormat>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let format: Format = q.format.parse()?;
    let reporter = match (q.reporter_org, q.reporter_contact, q.reporter_domain) {
        (Some(org), Some(contact), Some(domain)) => Some(Reporter { org, contact, domain }),
        (None, None, None) => None,
        _ => {
            return Err(ApiError::Engine(Error::invalid(
                "give reporter_org, reporter_contact and reporter_domain together",
            )));
        }
    };
    if format == Format::Xarf && reporter.is_none() {
        return Err(ApiError::Engine(Error::invalid(
            "XARF reports name their reporter: give reporter_org, reporter_contact and reporter_domain",
        )));
    }
    app.call(credential, Access::Token(Role::Reader), move |store, _, scope| match store.package(id)? {
        Some(record) if scope.acts_for(&record.org) => {
            let package = packages::read(&record)?;
            let shared = export::of_package(&package);
            match (format, &reporter) {
                (Format::Xarf, Some(reporter)) => Ok(serde_json::Value::Array(xarf::reports(&shared, reporter))),
                _ => {
                    let text = export::write(format, &shared, reporter.as_ref())?;
                    serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))
                }
            }
        }
        _ => Err(ApiError::Engine(Error::NotFound(format!("no package {id}")))),
    })
    .await
    .map(Json)
}
