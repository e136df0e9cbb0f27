//! `dragnet serve`: the engine's use cases over HTTP. Routes only translate:
//! a request becomes an engine call under the caller's [`Scope`], the
//! result becomes JSON. Store work runs on tokio's blocking pool (the
//! stores are synchronous); lookups are answered from an in-memory
//! snapshot; see ARCHITECTURE.md for why.
//!
//! [`Scope`]: dragnet_engine::access::Scope

mod error;
mod extract;
mod limit;
mod metrics;
mod routes;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use dragnet_store::Location;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;
pub use state::App;

/// How often the store is asked whether the lookup snapshot is current.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub location: Location,
    /// The data directory (enrichment data, the embedded store).
    pub data: PathBuf,
    /// The ed25519 seed that signs the audit log's tree heads.
    pub audit_key: PathBuf,
    /// How long a writer waits for another writer on the embedded store.
    pub busy_timeout: Duration,
    /// Largest request body (a submitted feed file).
    pub max_body: usize,
    /// Requests a second each token may make, sustained; bursts of twice that.
    pub rate: u32,
    /// Longest a request may take.
    pub timeout: Duration,
    /// How takedown notices go out; none: this server sends none.
    pub mailer: Option<dragnet_engine::notices::Mailer>,
    /// Where submissions go when a worker fleet ingests them; none: this
    /// server ingests them itself.
    pub fleet: Option<Fleet>,
}

/// The worker fleet submissions are queued for.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub nats: String,
    pub queue: dragnet_fleet::Queue,
}

/// The whole application: every route, with its limits and metrics.
pub fn app(state: App) -> Router {
    let timeout = state.config.timeout;
    let max_body = state.config.max_body;
    let (router, api) = routes::api().split_for_parts();
    let spec = Arc::new(api.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")));
    router
        .merge(routes::unlisted(spec))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::observe))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .with_state(state)
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    routes::api().into_openapi().to_pretty_json().unwrap_or_default()
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(config: Config) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    // The store's drivers block (PostgreSQL's runs its own runtime): open it
    // where blocking is allowed, as every request's store work is.
    let state = tokio::task::spawn_blocking(move || App::start(config))
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
    tokio::spawn(refresh_snapshots(state.clone()));
    let last = state.clone();
    tracing::info!(listen = %listener.local_addr()?, "serving");
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown()).await?;
    // Restricted reads answered from the snapshot since the last tick.
    if let Err(e) = tokio::task::spawn_blocking(move || last.flush_reads()).await {
        tracing::error!("restricted reads not logged at shutdown: {e}");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Replaces the lookup snapshot within `SNAPSHOT_EVERY` of a change to the
/// store, by this process or any other.
async fn refresh_snapshots(state: App) {
    let mut every = tokio::time::interval(SNAPSHOT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let app = state.clone();
        match tokio::task::spawn_blocking(move || app.refresh_snapshot().and_then(|()| app.flush_reads())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("lookup snapshot not refreshed: {e:?}"),
            Err(e) => tracing::warn!("lookup snapshot not refreshed: {e}"),
        }
    }
}

async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = interrupt => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing the requests in flight");
}
