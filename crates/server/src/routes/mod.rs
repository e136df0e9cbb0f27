//! Every route. Documented routes live in [`api`], each declared once with
//! `#[utoipa::path]` and registered through `routes!`, so the OpenAPI
//! document is generated from the router itself and cannot drift from it.
//! To add a route: write the handler in the module of its resource,
//! annotate it, and add one `.routes(routes!(…))` line below.

mod audit;
mod blocklists;
mod directory;
mod evidence;
mod lookup;
mod notices;
mod operations;
mod packages;
mod servers;
mod submissions;
mod takedowns;
mod taxii;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use dragnet_core::access::Role;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::{Access, App, Credential};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dragnet",
        description = "Coordinated takedowns of malicious infrastructure: lookups, servers, sources and \
                       submissions, each answered as far as the caller's organisation may see (TLP 2.0).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "lookup", description = "Values and what partners said about them"),
        (name = "servers", description = "Observables joined into servers"),
        (name = "directory", description = "Organisations, sources, counts"),
        (name = "submissions", description = "Partners' data in"),
        (name = "packages", description = "What each agency must act on"),
        (name = "takedowns", description = "Each server from identified to verified offline"),
        (name = "operations", description = "Operations, what agencies did in them, and their reports"),
        (name = "notices", description = "Abuse desks and the takedown requests sent to them"),
        (name = "audit", description = "The tamper-evident log of changes"),
        (name = "protect", description = "Blocklists of what is still live, for defenders' tools"),
        (name = "public", description = "TLP:CLEAR data, no token needed")
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.components.get_or_insert_with(Default::default).add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("dgt_…").build()),
        );
    }
}

/// The documented API under `/api/v1`.
pub fn api() -> OpenApiRouter<App> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(lookup::one))
        .routes(routes!(lookup::many))
        .routes(routes!(lookup::explain))
        .routes(routes!(lookup::public_one))
        .routes(routes!(servers::list))
        .routes(routes!(servers::one))
        .routes(routes!(directory::organisations))
        .routes(routes!(directory::sources))
        .routes(routes!(directory::stats))
        .routes(routes!(submissions::submit))
        .routes(routes!(packages::list, packages::build))
        .routes(routes!(packages::one))
        .routes(routes!(packages::export))
        .routes(routes!(takedowns::list, takedowns::set))
        .routes(routes!(takedowns::one))
        .routes(routes!(takedowns::probes))
        .routes(routes!(operations::list, operations::create))
        .routes(routes!(operations::one))
        .routes(routes!(operations::actions, operations::record))
        .routes(routes!(operations::report))
        .routes(routes!(operations::packages))
        .routes(routes!(operations::add_suspect))
        .routes(routes!(operations::suspects_list))
        .routes(routes!(evidence::hand_in))
        .routes(routes!(evidence::verify))
        .routes(routes!(evidence::one))
        .routes(routes!(evidence::transfer))
        .routes(routes!(notices::list, notices::import))
        .routes(routes!(notices::send))
        .routes(routes!(audit::entries))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::proof))
        .routes(routes!(blocklists::export))
        .routes(routes!(blocklists::stream));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1)
}

/// Health, readiness, metrics and the document itself: not API resources.
pub fn unlisted(spec: Arc<String>) -> Router<App> {
    taxii::router()
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async {
            ApiError::Engine(dragnet_engine::Error::NotFound("no such route; /api/v1/openapi.json lists them".into()))
        })
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let spec = spec.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], spec.as_str().to_string()) }
            }),
        )
}

async fn ready(State(app): State<App>) -> Result<&'static str, ApiError> {
    app.ready().await?;
    Ok("ready\n")
}

/// Prometheus metrics; an admin token is needed (they show traffic).
async fn metrics(State(app): State<App>, credential: Credential) -> Result<impl IntoResponse, ApiError> {
    app.call(credential, Access::Token(Role::Admin), |_, _, _| Ok(())).await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render()))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct At {
    /// Score as of this time (RFC 3339 or YYYY-MM-DD) instead of now.
    at: Option<String>,
}

/// `at` query parameter: a time to score as of.
fn parse_at(at: Option<&str>) -> Result<Option<i64>, ApiError> {
    at.filter(|s| !s.trim().is_empty())
        .map(|s| {
            dragnet_core::parse_timestamp(s).ok_or_else(|| {
                ApiError::Engine(dragnet_engine::Error::invalid(format!(
                    "at: `{s}` is not a time; use RFC 3339 or YYYY-MM-DD"
                )))
            })
        })
        .transpose()
}
