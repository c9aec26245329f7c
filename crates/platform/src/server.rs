//! The HTTP server: configuration, the router assembled from the route
//! modules, and the embeddable [`spawn`] entry point.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use assay_protocol::{ApiErrorCode, IDEMPOTENCY_KEY_HEADER, MAX_JSON_BODY_BYTES};
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{ApiFailure, AppState};
use crate::blobs::BlobStore;
use crate::error::Error;
use crate::storage::Storage;
use crate::{admin, expert, publish, signin_codes, updates};

/// How to run a platform server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The database: a SQLite file (created and migrated if missing), or a
    /// `postgres://…` URL (migrated if needed).
    pub db_path: PathBuf,
    /// Blob directory; defaults to the SQLite database path with extension
    /// `blobs` (`assay-blobs` in the working directory for PostgreSQL).
    pub blob_dir: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Bearer token of the admin API (`/api/v1/admin/*`); `None` disables it.
    pub admin_token: Option<String>,
    /// Demo mode: decide submissions automatically after this delay and pay
    /// out accepted work periodically.
    pub demo_auto_review: Option<std::time::Duration>,
    /// Length of a lease (on assignment and on each renewal).
    pub lease_ttl: Duration,
    /// issue 18: where Assay's signed updates are published (`None`: none).
    pub updates_dir: Option<PathBuf>,
}

impl ServerConfig {
    /// A configuration for `db_path` listening on `bind`: no admin token, no demo auto-review, no updates, 4-hour leases.
    pub fn new(db_path: impl Into<PathBuf>, bind: SocketAddr) -> Self {
        Self {
            db_path: db_path.into(),
            blob_dir: None,
            bind,
            admin_token: None,
            demo_auto_review: None,
            lease_ttl: Duration::hours(4),
            updates_dir: None,
        }
    }

    /// The blob directory in effect.
    pub fn blob_dir(&self) -> PathBuf {
        match (&self.blob_dir, self.postgres_url()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(_)) => PathBuf::from("assay-blobs"),
            (None, None) => self.db_path.with_extension("blobs"),
        }
    }

    /// The PostgreSQL URL, when the database is one.
    pub fn postgres_url(&self) -> Option<&str> {
        self.db_path
            .to_str()
            .filter(|s| crate::storage::is_postgres_url(s))
    }
}

async fn not_found() -> ApiFailure {
    ApiFailure::new(ApiErrorCode::NotFound, "no such endpoint")
}

/// A successful answer to a request with an idempotency key echoes the key,
/// so the client can tell the receipt belongs to its upload.
async fn echo_idempotency_key(req: Request, next: axum::middleware::Next) -> Response {
    let key = req.headers().get(IDEMPOTENCY_KEY_HEADER).cloned();
    let mut resp = next.run(req).await;
    if let Some(k) = key {
        if resp.status().is_success() {
            resp.headers_mut().insert(IDEMPOTENCY_KEY_HEADER, k);
        }
    }
    resp
}

/// The full router (API under [`assay_protocol::API_PREFIX`]).
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(expert::health))
        .route("/auth/login", post(expert::login))
        .route("/auth/tokens", post(expert::new_token))
        .route("/auth/tokens/current", delete(expert::revoke_current_token))
        .route("/me", get(expert::me))
        .route("/auth/whoami", get(expert::whoami))
        .route("/opportunities", get(expert::opportunities))
        .route("/assignments", get(expert::assignments))
        .route("/assignments/{id}/lease", post(expert::renew_lease))
        .route("/assignments/{id}/release", post(expert::release))
        .route("/items/{id}", get(expert::item))
        .route(
            "/attachments/{sha256}",
            get(expert::attachment).put(publish::put_attachment),
        )
        .route("/rubrics/{id}/versions/{version}", get(expert::rubric))
        .route("/submissions", post(expert::submit))
        .route("/outcomes", get(expert::outcomes))
        .route("/reviews", post(expert::review))
        .route("/rate-card", get(expert::rate_card))
        .route("/ledger", get(expert::ledger))
        .route("/payouts", get(expert::payouts))
        .nest("/author", publish::author_router())
        .nest("/admin", admin::router())
        // issue 18: one-time sign-in codes for `assay://signin` links.
        .merge(signin_codes::router())
        // issue 18: signed app updates.
        .merge(updates::router());
    Router::new()
        .nest(assay_protocol::API_PREFIX, api)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(echo_idempotency_key))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

// ------------------------------------------------------------------ embedding

/// A server running in this process.
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash, no API prefix).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The storage behind the server (seeding, inspection in tests).
    pub fn storage(&self) -> Arc<dyn Storage> {
        self.state.storage.clone()
    }

    /// Where the server keeps uploaded attachments.
    pub fn blobs(&self) -> &BlobStore {
        &self.state.blobs
    }

    /// Stop accepting connections, finish in-flight requests, stop background tasks.
    pub async fn shutdown(self) -> Result<(), Error> {
        let _ = self.shutdown.send(true);
        for task in self.background {
            let _ = task.await;
        }
        match self.server.await {
            Ok(result) => Ok(result?),
            Err(e) => Err(Error::Io(std::io::Error::other(e))),
        }
    }
}

/// Open the database, bind and serve in the background.
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, Error> {
    let db_path = config.db_path.clone();
    let storage = tokio::task::spawn_blocking(move || crate::storage::open(&db_path))
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))??;
    spawn_with_storage(config, storage).await
}

/// Serve an already opened storage backend.
pub async fn spawn_with_storage(
    config: ServerConfig,
    storage: Arc<dyn Storage>,
) -> Result<RunningServer, Error> {
    let blobs = BlobStore::new(config.blob_dir());
    std::fs::create_dir_all(blobs.dir())?;
    let mut state = AppState::new(
        storage,
        blobs,
        config.admin_token.as_deref(),
        config.lease_ttl,
    );
    state.updates_dir = config.updates_dir.clone().map(Arc::new);
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let app = router(state.clone());
    let mut server_rx = rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    let mut background = Vec::new();
    if let Some(delay) = config.demo_auto_review {
        background.push(tokio::spawn(crate::demo::auto_review::run(
            state.storage.clone(),
            delay,
            rx,
        )));
    }
    tracing::info!(%addr, "assay platform listening");
    Ok(RunningServer {
        addr,
        state,
        shutdown: tx,
        server,
        background,
    })
}
