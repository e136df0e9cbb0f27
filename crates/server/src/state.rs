//! What every request shares: the configuration, a pool of store
//! connections, the lookup context (warninglists, enrichment), the rate
//! limiter and the metrics. Store work runs on the blocking pool.

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
use dragnet_engine::lookup::Context;

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
    /// Token digest → (who, when read).
    tokens: Mutex<HashMap<String, (Who, Instant)>>,
    pub limiter: Limiter,
    pub metrics: Metrics,
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
        let workers = std::thread::available_parallelism().map_or(4, |n| 2 * n.get()).max(4);
        for u in &context.unusable {
            tracing::warn!("{u}");
        }
        let limiter = Limiter::new(config.rate);
        Ok(App(Arc::new(Inner {
            config,
            permits: Arc::new(tokio::sync::Semaphore::new(workers)),
            pool: Mutex::new(vec![store]),
            context: RwLock::new((Arc::new(context), Instant::now())),
            directory: RwLock::new((Arc::new(directory), Instant::now())),
            tokens: Mutex::new(HashMap::new()),
            limiter,
            metrics: Metrics::default(),
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
        {
            let (dir, at) = &*self.directory.read().unwrap_or_else(|p| p.into_inner());
            if at.elapsed() < DIRECTORY_TTL {
                return Ok(dir.clone());
            }
        }
        let fresh = Arc::new(Directory::load(store)?);
        *self.directory.write().unwrap_or_else(|p| p.into_inner()) = (fresh.clone(), Instant::now());
        Ok(fresh)
    }

    /// Who a bearer secret stands for, read again after `DIRECTORY_TTL`.
    fn who(&self, store: &mut dyn Store, secret: &str) -> Result<Who, ApiError> {
        let digest = token_digest(secret);
        if let Some((who, at)) = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&digest)
            && at.elapsed() < DIRECTORY_TTL
        {
            return Ok(who.clone());
        }
        let who = authenticate(store, secret, dragnet_engine::now())?;
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.len() > 10_000 {
            tokens.retain(|_, (_, at)| at.elapsed() < DIRECTORY_TTL);
        }
        tokens.insert(digest, (who.clone(), Instant::now()));
        Ok(who)
    }

    fn context(&self, store: &mut dyn Store) -> Result<Arc<Context>, ApiError> {
        {
            let (ctx, at) = &*self.context.read().unwrap_or_else(|p| p.into_inner());
            if at.elapsed() < CONTEXT_TTL {
                return Ok(ctx.clone());
            }
        }
        let fresh = Arc::new(Context::load(store, &self.config.data)?);
        *self.context.write().unwrap_or_else(|p| p.into_inner()) = (fresh.clone(), Instant::now());
        Ok(fresh)
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
            let out = app
                .authorised(&mut *store, &credential, access)
                .and_then(|(ctx, scope)| work(&mut *store, &ctx, &scope));
            // A connection that failed may be broken: open a new one next time.
            if !matches!(out, Err(ApiError::Engine(dragnet_engine::Error::Store(_)))) {
                app.give_back(store);
            }
            out
        })
        .await
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
        let caller = match (&who, credential.address) {
            (Who::Org { token, .. }, _) => Caller::Token(*token),
            (_, Some(address)) => Caller::Address(address),
            (_, None) => Caller::Address(IpAddr::from([0, 0, 0, 0])),
        };
        self.limiter.check(caller).map_err(ApiError::RateLimited)?;
        let scope = Scope::within(self.directory(store)?, who)?;
        match access {
            Access::Public => {}
            Access::Token(role) => scope.require(role)?,
            Access::Coordinator(role) => scope.require_coordinator(role)?,
        }
        Ok((self.context(store)?, scope))
    }
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
