//! What every request shares: the configuration, a pool of store
//! connections, the lookup context (warninglists, enrichment), the lookup
//! snapshot, the rate limiter and the metrics. Store work runs on the
//! blocking pool; lookups whose caller is already known are answered from
//! the snapshot on the async threads, without it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use dragnet_core::Store;
use dragnet_core::access::Role;
use dragnet_engine::access::{Directory, Scope, Who, authenticate, token_digest};
use dragnet_engine::audit::Signer;
use dragnet_engine::lookup::Context;
use dragnet_engine::snapshot::Snapshot;

use crate::Config;
use crate::error::ApiError;
use crate::limit::{Caller, Limiter};
use crate::metrics::Metrics;

/// How often the warninglists and enrichment data are re-read.
const CONTEXT_TTL: Duration = Duration::from_secs(30);
/// How long a token's owner, the organisations and the sharing limits are
/// trusted before they are read again: a revocation or a change of
/// sharing takes effect within this.
const DIRECTORY_TTL: Duration = Duration::from_secs(1);

type BoxedStore = Box<dyn Store + Send>;

pub struct Inner {
    pub config: Config,
    /// At most this many requests work on the store at once, each on its
    /// own connection; the others wait for a permit, not for a new connection.
    permits: Arc<tokio::sync::Semaphore>,
    pool: Mutex<Vec<BoxedStore>>,
    context: RwLock<(Arc<Context>, Instant)>,
    directory: RwLock<(Arc<Directory>, Instant)>,
    /// Every observation in memory, replaced whole when the store changes.
    snapshot: RwLock<Arc<Snapshot>>,
    /// Held while a snapshot is rebuilt, so that two rebuilds never race.
    rebuilding: Mutex<()>,
    /// Token digest → (who, when read).
    tokens: Mutex<HashMap<String, (Who, Instant)>>,
    pub limiter: Limiter,
    pub metrics: Metrics,
    /// Signs a tree head after each change the audit log records.
    pub signer: Signer,
    /// Restricted reads answered from the snapshot, not yet in the log.
    pending_reads: Mutex<Vec<dragnet_core::audit::Entry>>,
}

/// The shared state, cheap to clone into every handler.
#[derive(Clone)]
pub struct App(Arc<Inner>);

impl Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// What a request says about who sends it: the bearer secret, if any, and
/// the peer's address (for the limits of callers without a token).
#[derive(Debug, Clone)]
pub struct Credential {
    secret: Option<String>,
    /// An Authorization header that is not `Bearer …`.
    malformed: bool,
    address: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequestParts<S> for Credential {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let header = parts.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or_default());
        let secret = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).filter(|s| !s.is_empty());
        Ok(Credential { secret: secret.map(str::to_string), malformed: header.is_some() && secret.is_none(), address })
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// Anyone; served as to anyone (TLP:CLEAR), a token or not.
    Public,
    /// A token whose role includes this one.
    Token(Role),
    /// A coordinator's token (or the operator) whose role includes this one.
    Coordinator(Role),
}

impl App {
    /// Opens the store (migrating it) and loads the lookup context.
    pub fn start(config: Config) -> Result<App, dragnet_engine::Error> {
        let mut store = dragnet_store::open_waiting(&config.location, config.busy_timeout)?;
        let context = Context::load(&mut *store, &config.data)?;
        let directory = Directory::load(&mut *store)?;
        let snapshot = Snapshot::load(&mut *store)?;
        let workers = std::thread::available_parallelism().map_or(4, |n| 2 * n.get()).max(4);
        for u in &context.unusable {
            tracing::warn!("{u}");
        }
        let limiter = Limiter::new(config.rate);
        let signer = Signer::load_or_create(&config.audit_key)?;
        Ok(App(Arc::new(Inner {
            config,
            permits: Arc::new(tokio::sync::Semaphore::new(workers)),
            pool: Mutex::new(vec![store]),
            context: RwLock::new((Arc::new(context), Instant::now())),
            directory: RwLock::new((Arc::new(directory), Instant::now())),
            snapshot: RwLock::new(Arc::new(snapshot)),
            rebuilding: Mutex::new(()),
            tokens: Mutex::new(HashMap::new()),
            limiter,
            metrics: Metrics::default(),
            signer,
            pending_reads: Mutex::new(Vec::new()),
        })))
    }

    fn checkout(&self) -> Result<BoxedStore, ApiError> {
        if let Some(store) = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(store);
        }
        Ok(dragnet_store::open_waiting(&self.config.location, self.config.busy_timeout)?)
    }

    fn give_back(&self, store: BoxedStore) {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).push(store);
    }

    fn directory(&self, store: &mut dyn Store) -> Result<Arc<Directory>, ApiError> {
        if let Some(dir) = fresh(&self.directory, DIRECTORY_TTL) {
            return Ok(dir);
        }
        let fresh = Arc::new(Directory::load(store)?);
        *self.directory.write().unwrap_or_else(|p| p.into_inner()) = (fresh.clone(), Instant::now());
        Ok(fresh)
    }

    /// Who a bearer secret stands for, read again after `DIRECTORY_TTL`.
    fn who(&self, store: &mut dyn Store, secret: &str) -> Result<Who, ApiError> {
        if let Some(who) = self.cached_who(secret) {
            return Ok(who);
        }
        let digest = token_digest(secret);
        let who = authenticate(store, secret, dragnet_engine::now())?;
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.len() > 10_000 {
            tokens.retain(|_, (_, at)| at.elapsed() < DIRECTORY_TTL);
        }
        tokens.insert(digest, (who.clone(), Instant::now()));
        Ok(who)
    }

    /// Who a bearer secret stands for, if that was read less than
    /// `DIRECTORY_TTL` ago.
    fn cached_who(&self, secret: &str) -> Option<Who> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let (who, at) = tokens.get(&token_digest(secret))?;
        (at.elapsed() < DIRECTORY_TTL).then(|| who.clone())
    }

    fn context(&self, store: &mut dyn Store) -> Result<Arc<Context>, ApiError> {
        if let Some(ctx) = fresh(&self.context, CONTEXT_TTL) {
            return Ok(ctx);
        }
        let fresh = Arc::new(Context::load(store, &self.config.data)?);
        *self.context.write().unwrap_or_else(|p| p.into_inner()) = (fresh.clone(), Instant::now());
        Ok(fresh)
    }

    /// The snapshot lookups are answered from.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the snapshot again if the store has changed since it was
    /// taken (blocking: run it off the async threads).
    pub fn refresh_snapshot(&self) -> Result<(), ApiError> {
        let _one_at_a_time = self.rebuilding.lock().unwrap_or_else(|p| p.into_inner());
        let mut store = self.checkout()?;
        let current = self.snapshot().generation();
        if store.generation()? != current {
            let started = Instant::now();
            let fresh = Snapshot::load(&mut *store)?;
            tracing::info!(
                generation = fresh.generation(),
                observations = fresh.observations(),
                millis = started.elapsed().as_millis() as u64,
                "lookup snapshot replaced"
            );
            *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        }
        self.give_back(store);
        Ok(())
    }

    /// After a request wrote observations: its caller's next lookup sees them.
    pub async fn written(&self) -> Result<(), ApiError> {
        let app = self.clone();
        run_blocking(move || app.refresh_snapshot()).await
    }

    /// Runs `work` at once on the calling thread when everything needed to
    /// authorise the caller is cached and fresh; `None` when something must
    /// be read from the store first (then use [`App::call`]).
    pub fn quick<T>(
        &self,
        credential: &Credential,
        access: Access,
        work: impl FnOnce(&Snapshot, &Context, &Scope) -> Result<T, ApiError>,
    ) -> Option<Result<T, ApiError>> {
        let who = match (access, &credential.secret) {
            (Access::Public, _) => Who::Anyone,
            (_, Some(secret)) => self.cached_who(secret)?,
            (_, None) => return None,
        };
        let directory = fresh(&self.directory, DIRECTORY_TTL)?;
        let context = fresh(&self.context, CONTEXT_TTL)?;
        Some(self.admit(credential, access, who, directory).and_then(|scope| {
            let out = work(&self.snapshot(), &context, &scope);
            // No store here: the refresher appends these within half a second.
            let reads = dragnet_engine::audit::restricted_reads(&scope, dragnet_engine::now());
            if !reads.is_empty() {
                self.pending_reads.lock().unwrap_or_else(|p| p.into_inner()).extend(reads);
            }
            out
        }))
    }

    /// Whether the store answers (for `/readyz`).
    pub async fn ready(&self) -> Result<(), ApiError> {
        let app = self.clone();
        let permit = self.permit().await?;
        run_blocking(move || {
            let _permit = permit;
            let mut store = app.checkout()?;
            store.source("")?;
            app.give_back(store);
            Ok(())
        })
        .await
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.permits.clone().acquire_owned().await.map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Runs `work` on the blocking pool for the caller `credential` stands
    /// for: authenticated, rate-limited and checked against `access` first.
    pub async fn call<T, F>(&self, credential: Credential, access: Access, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store, &Context, &Scope) -> Result<T, ApiError> + Send + 'static,
    {
        let app = self.clone();
        let permit = self.permit().await?;
        run_blocking(move || {
            let _permit = permit;
            let mut store = app.checkout()?;
            let out = app.authorised(&mut *store, &credential, access).and_then(|(ctx, scope)| {
                let out = work(&mut *store, &ctx, &scope);
                app.log_restricted_reads(&mut *store, &scope);
                out
            });
            // A connection that failed may be broken: open a new one next time.
            if !matches!(out, Err(ApiError::Engine(dragnet_engine::Error::Store(_)))) {
                app.give_back(store);
            }
            out
        })
        .await
    }

    /// Appends the restricted reads a request made to the audit log, and
    /// signs a tree head over them.
    fn log_restricted_reads(&self, store: &mut dyn Store, scope: &Scope) {
        let mut reads = dragnet_engine::audit::restricted_reads(scope, dragnet_engine::now());
        reads.extend(std::mem::take(&mut *self.pending_reads.lock().unwrap_or_else(|p| p.into_inner())));
        if reads.is_empty() {
            return;
        }
        let logged = store
            .append_audit(&reads)
            .map_err(dragnet_engine::Error::from)
            .and_then(|()| dragnet_engine::audit::checkpoint(store, &self.signer, dragnet_engine::now()).map(|_| ()));
        if let Err(e) = logged {
            tracing::error!("restricted reads not logged: {e}");
            self.pending_reads.lock().unwrap_or_else(|p| p.into_inner()).extend(reads);
        }
    }

    /// Appends the reads answered from the snapshot since the last call
    /// (blocking: run it off the async threads).
    pub fn flush_reads(&self) -> Result<(), ApiError> {
        if self.pending_reads.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
            return Ok(());
        }
        let mut store = self.checkout()?;
        self.log_restricted_reads(&mut *store, &Scope::operator());
        self.give_back(store);
        Ok(())
    }

    fn authorised(
        &self,
        store: &mut dyn Store,
        credential: &Credential,
        access: Access,
    ) -> Result<(Arc<Context>, Scope), ApiError> {
        let unauthenticated = |why: &str| ApiError::Engine(dragnet_engine::Error::Unauthenticated(why.into()));
        let who = match (access, &credential.secret) {
            (Access::Public, _) => Who::Anyone,
            (_, Some(secret)) => self.who(store, secret)?,
            (_, None) if credential.malformed => return Err(unauthenticated("expected `Authorization: Bearer TOKEN`")),
            (_, None) => return Err(unauthenticated("a token is needed: `Authorization: Bearer TOKEN`")),
        };
        let scope = self.admit(credential, access, who, self.directory(store)?)?;
        Ok((self.context(store)?, scope))
    }

    /// The caller's scope, once its rate limit and role allow the request.
    fn admit(
        &self,
        credential: &Credential,
        access: Access,
        who: Who,
        directory: Arc<Directory>,
    ) -> Result<Scope, ApiError> {
        let caller = match (&who, credential.address) {
            (Who::Org { token, .. }, _) => Caller::Token(*token),
            (_, Some(address)) => Caller::Address(address),
            (_, None) => Caller::Address(IpAddr::from([0, 0, 0, 0])),
        };
        self.limiter.check(caller).map_err(ApiError::RateLimited)?;
        let scope = Scope::within(directory, who)?;
        match access {
            Access::Public => {}
            Access::Token(role) => scope.require(role)?,
            Access::Coordinator(role) => scope.require_coordinator(role)?,
        }
        Ok(scope)
    }
}

/// A cached value read less than `ttl` ago.
fn fresh<T>(cell: &RwLock<(Arc<T>, Instant)>, ttl: Duration) -> Option<Arc<T>> {
    let (value, at) = &*cell.read().unwrap_or_else(|p| p.into_inner());
    (at.elapsed() < ttl).then(|| value.clone())
}

/// Runs synchronous store work off the async threads; a panic in it is an
/// internal error for that request, not a dead server.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(out) => out,
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
