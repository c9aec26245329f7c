//! The HTTP server: configuration, router, handlers and the embeddable
//! [`spawn`] entry point.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use assay_protocol::{
    ApiError, ApiErrorCode, Assignment, AssignmentKind, AssignmentPage, ExpertProfile, Health,
    ItemEnvelope, Lease, LedgerPage, LoginRequest, OpportunityList, OutcomePage, PayoutList,
    RateCard, ReviewReceipt, ReviewRequest, RubricEnvelope, SubmissionReceipt, SubmissionRequest,
    TokenResponse, CONTENT_SHA256_HEADER, IDEMPOTENCY_KEY_HEADER, MAX_JSON_BODY_BYTES,
    PROTOCOL_VERSION,
};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::{Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin;
use crate::auth::{self, Role};
use crate::blobs::BlobStore;
use crate::error::{Error, PlatformError, PlatformResult};
use crate::rules::Rules;
use crate::storage::Storage;

/// Default and largest page sizes of cursor listings.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;
/// Largest page size of cursor listings.
pub const MAX_PAGE_LIMIT: u32 = 500;
/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 200;

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

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    /// The storage backend.
    pub storage: Arc<dyn Storage>,
    /// Where uploaded attachments are kept.
    pub blobs: BlobStore,
    admin_token_hash: Option<String>,
    /// Length of a lease (on assignment and on each renewal).
    pub lease_ttl: Duration,
    /// issue 18: outstanding one-time sign-in codes (memory only).
    pub signin_codes: Arc<crate::signin_codes::SigninCodes>,
    /// issue 18: the published updates (`crate::updates`).
    pub updates_dir: Option<Arc<PathBuf>>,
}

impl AppState {
    /// State over `storage` and `blobs`; the admin API is on only with an `admin_token` (kept as its hash).
    pub fn new(
        storage: Arc<dyn Storage>,
        blobs: BlobStore,
        admin_token: Option<&str>,
        lease_ttl: Duration,
    ) -> Self {
        Self {
            storage,
            blobs,
            admin_token_hash: admin_token.map(auth::token_hash),
            lease_ttl,
            signin_codes: Arc::default(),
            updates_dir: None,
        }
    }
}

// ------------------------------------------------------------------ errors

/// An error response: HTTP status plus an [`ApiError`] body.
#[derive(Debug)]
pub struct ApiFailure {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error body (`{code, message, details}`).
    pub body: ApiError,
}

impl ApiFailure {
    /// A failure with the HTTP status that `code` maps to.
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            body: ApiError::new(code, message),
        }
    }
}

/// The HTTP status of each error code.
pub fn status_of(code: ApiErrorCode) -> StatusCode {
    match code {
        ApiErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ApiErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ApiErrorCode::NotFound => StatusCode::NOT_FOUND,
        ApiErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ApiErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ApiErrorCode::Conflict
        | ApiErrorCode::LeaseExpired
        | ApiErrorCode::RubricVersionMismatch => StatusCode::CONFLICT,
        ApiErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ApiErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ApiErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ApiErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<PlatformError> for ApiFailure {
    fn from(e: PlatformError) -> Self {
        if e.code() == ApiErrorCode::Internal {
            tracing::error!(error = %e, "request failed");
        }
        let body = e.to_api_error();
        Self {
            status: status_of(body.code),
            body,
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

type ApiResult<T> = Result<axum::Json<T>, ApiFailure>;

/// Run a storage call off the async runtime.
pub(crate) async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiFailure>
where
    T: Send + 'static,
    F: FnOnce(&dyn Storage) -> PlatformResult<T> + Send + 'static,
{
    let storage = state.storage.clone();
    tokio::task::spawn_blocking(move || f(storage.as_ref()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storage task failed");
            ApiFailure::new(ApiErrorCode::Internal, "internal server error")
        })?
        .map_err(ApiFailure::from)
}

// ------------------------------------------------------------------ extractors

/// JSON body whose rejections are [`ApiError`]s (400, or 413 when too large).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => {
                let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiErrorCode::PayloadTooLarge
                } else {
                    ApiErrorCode::BadRequest
                };
                let message = if code == ApiErrorCode::PayloadTooLarge {
                    format!("request body exceeds {MAX_JSON_BODY_BYTES} bytes")
                } else {
                    rejection.body_text()
                };
                Err(ApiFailure::new(code, message))
            }
        }
    }
}

/// Query string whose rejections are [`ApiError`]s.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|r| ApiFailure::new(ApiErrorCode::BadRequest, r.body_text()))
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiFailure> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiFailure::new(ApiErrorCode::Unauthorized, "missing bearer token"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiFailure::new(
                ApiErrorCode::Unauthorized,
                "the Authorization header must be `Bearer <token>`",
            )
        })
}

/// The authenticated expert of a request (any role may do expert work).
#[derive(Debug, Clone)]
pub struct AuthExpert {
    /// The expert the token belongs to.
    pub expert_id: String,
    /// The token's id (for revoking it).
    pub token_id: String,
    /// What the token may do.
    pub role: Role,
}

impl FromRequestParts<AppState> for AuthExpert {
    type Rejection = ApiFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let hash = auth::token_hash(bearer(parts)?);
        let record = blocking(state, move |s| s.token_by_hash(&hash)).await?;
        match record {
            None => Err(ApiFailure::new(ApiErrorCode::Unauthorized, "unknown token")),
            Some(r) if r.revoked => Err(ApiFailure::new(
                ApiErrorCode::Unauthorized,
                "this token has been revoked; sign in again",
            )),
            Some(r) => Ok(Self {
                expert_id: r.expert_id,
                token_id: r.token_id,
                role: r.role,
            }),
        }
    }
}

/// Who called a privileged route: an expert's token with a role, or the
/// server's admin token (which acts as an operator).
#[derive(Debug, Clone)]
pub struct Principal {
    /// `None` for the admin token.
    pub expert_id: Option<String>,
    /// What the caller may do (operator for the admin token).
    pub role: Role,
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Authenticate a privileged request and require `required` (403 otherwise).
async fn require_role(
    parts: &Parts,
    state: &AppState,
    required: Role,
) -> Result<Principal, ApiFailure> {
    let token = bearer(parts)?;
    let hash = auth::token_hash(token);
    let principal = if state
        .admin_token_hash
        .as_deref()
        .is_some_and(|admin| constant_time_eq(&hash, admin))
    {
        Principal {
            expert_id: None,
            role: Role::Operator,
        }
    } else {
        let record = blocking(state, move |s| s.token_by_hash(&hash)).await?;
        match record {
            None => {
                return Err(ApiFailure::new(
                    ApiErrorCode::Unauthorized,
                    "unknown token (neither an issued token nor the admin token)",
                ))
            }
            Some(r) if r.revoked => {
                return Err(ApiFailure::new(
                    ApiErrorCode::Unauthorized,
                    "this token has been revoked",
                ))
            }
            Some(r) => Principal {
                expert_id: Some(r.expert_id),
                role: r.role,
            },
        }
    };
    if principal.role.allows(required) {
        Ok(principal)
    } else {
        Err(ApiFailure::new(
            ApiErrorCode::Forbidden,
            format!(
                "this route needs the {required} role; your token has the {} role",
                principal.role
            ),
        ))
    }
}

/// Proof that the request carries an operator token (or the admin token).
pub struct AdminAuth(pub Principal);

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        require_role(parts, state, Role::Operator).await.map(Self)
    }
}

/// Proof that the request carries an author or operator token.
pub struct AuthorAuth(pub Principal);

impl FromRequestParts<AppState> for AuthorAuth {
    type Rejection = ApiFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        require_role(parts, state, Role::Author).await.map(Self)
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiFailure> {
    let key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .ok_or_else(|| {
            ApiFailure::new(
                ApiErrorCode::BadRequest,
                format!("the {IDEMPOTENCY_KEY_HEADER} header is required"),
            )
        })?
        .to_str()
        .map_err(|_| ApiFailure::new(ApiErrorCode::BadRequest, "idempotency key is not ASCII"))?
        .trim()
        .to_owned();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(ApiFailure::new(
            ApiErrorCode::BadRequest,
            format!("the idempotency key must be 1..={MAX_IDEMPOTENCY_KEY_LEN} characters"),
        ));
    }
    Ok(key)
}

/// Sort object keys recursively so equal bodies hash equally.
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let sorted: std::collections::BTreeMap<_, _> =
                map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(canonical).collect())
        }
        other => other.clone(),
    }
}

/// Hash of a request body, independent of key order and whitespace.
pub fn request_hash<T: Serialize>(body: &T) -> Result<String, ApiFailure> {
    let value = serde_json::to_value(body)
        .map_err(|e| ApiFailure::new(ApiErrorCode::Internal, format!("hash body: {e}")))?;
    let bytes = serde_json::to_vec(&canonical(&value))
        .map_err(|e| ApiFailure::new(ApiErrorCode::Internal, format!("hash body: {e}")))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

// ------------------------------------------------------------------ cursors

/// Query of cursor listings (`since`, `limit`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// Opaque cursor from the previous page's `next_cursor`; none starts at the beginning.
    #[serde(default)]
    pub since: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

const CURSOR_PREFIX: &str = "c1.";

/// The opaque cursor for "everything after `seq`".
pub fn encode_cursor(seq: i64) -> String {
    format!("{CURSOR_PREFIX}{seq}")
}

/// Parse a cursor; absent or empty means "from the beginning".
pub fn decode_cursor(cursor: Option<&str>) -> Result<i64, ApiFailure> {
    match cursor.map(str::trim) {
        None | Some("") => Ok(0),
        Some(c) => c
            .strip_prefix(CURSOR_PREFIX)
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiFailure::new(ApiErrorCode::BadRequest, format!("invalid cursor {c:?}"))
            }),
    }
}

fn page_params(q: &ListQuery) -> Result<(i64, u32), ApiFailure> {
    let after = decode_cursor(q.since.as_deref())?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
    if limit == 0 || limit > MAX_PAGE_LIMIT {
        return Err(ApiFailure::new(
            ApiErrorCode::BadRequest,
            format!("limit must be 1..={MAX_PAGE_LIMIT}"),
        ));
    }
    Ok((after, limit))
}

// ------------------------------------------------------------------ handlers

/// Liveness check: answers while the server runs.
#[utoipa::path(get, path = "/api/v1/health", tag = "meta",
    responses((status = 200, description = "Server is up", body = Health)))]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok".into(),
        protocol_version: PROTOCOL_VERSION.into(),
        platform_name: "Assay reference platform".into(),
    })
}

async fn issue_token(
    state: &AppState,
    expert_id: String,
    label: Option<String>,
    role: Role,
) -> Result<TokenResponse, ApiFailure> {
    let now = Utc::now();
    blocking(state, move |s| {
        crate::issue_role_token_blocking(s, &expert_id, label.as_deref(), role, now)
    })
    .await
}

/// Signs in with e-mail and password and returns a new token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse),
              (status = 401, description = "Wrong e-mail or password", body = ApiError),
              (status = 400, body = ApiError)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<TokenResponse> {
    let email = req.email.clone();
    let creds = blocking(&state, move |s| s.expert_credentials(&email)).await?;
    let password = req.password;
    // Hash on the blocking pool: it is deliberately slow.
    let expert_id = tokio::task::spawn_blocking(move || {
        if let Some(c) = creds {
            auth::verify_password(&c.salt, &password, &c.password_hash).then_some(c.expert_id)
        } else {
            // Same work for unknown e-mails, so timing does not reveal accounts.
            let _ = auth::hash_password("unknown-account", &password);
            None
        }
    })
    .await
    .map_err(|_| ApiFailure::new(ApiErrorCode::Internal, "internal server error"))?
    .ok_or_else(|| ApiFailure::new(ApiErrorCode::Unauthorized, "wrong e-mail or password"))?;
    Ok(axum::Json(
        issue_token(&state, expert_id, req.label, Role::Expert).await?,
    ))
}

/// Body of `POST /auth/tokens`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewTokenRequest {
    /// Label stored with the token (e.g. the device).
    #[serde(default)]
    pub label: Option<String>,
}

/// Issues another token for the caller's account.
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", request_body = NewTokenRequest,
    security(("bearer" = [])),
    responses((status = 200, body = TokenResponse), (status = 401, body = ApiError)))]
pub async fn new_token(
    State(state): State<AppState>,
    who: AuthExpert,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> ApiResult<TokenResponse> {
    Ok(axum::Json(
        issue_token(&state, who.expert_id, req.label, who.role).await?,
    ))
}

/// Revokes the token the request carries.
#[utoipa::path(delete, path = "/api/v1/auth/tokens/current", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Token revoked"), (status = 401, body = ApiError)))]
pub async fn revoke_current_token(
    State(state): State<AppState>,
    who: AuthExpert,
) -> Result<StatusCode, ApiFailure> {
    let now = Utc::now();
    blocking(&state, move |s| s.revoke_token(&who.token_id, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's expert profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "experts", security(("bearer" = [])),
    responses((status = 200, body = ExpertProfile), (status = 401, body = ApiError)))]
pub async fn me(State(state): State<AppState>, who: AuthExpert) -> ApiResult<ExpertProfile> {
    Ok(axum::Json(
        blocking(&state, move |s| s.expert_profile(&who.expert_id)).await?,
    ))
}

/// The signed-in token's expert, its role, and whether it may publish rubrics.
#[utoipa::path(get, path = "/api/v1/auth/whoami", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The token's expert and role (what the app may offer)",
               body = assay_protocol::WhoAmI),
              (status = 401, body = ApiError)))]
pub async fn whoami(who: AuthExpert) -> ApiResult<assay_protocol::WhoAmI> {
    Ok(axum::Json(assay_protocol::WhoAmI {
        expert_id: who.expert_id,
        role: who.role.into(),
        may_publish: who.role.allows(Role::Author),
    }))
}

/// The opportunities the platform offers.
#[utoipa::path(get, path = "/api/v1/opportunities", tag = "catalogue", security(("bearer" = [])),
    responses((status = 200, body = OpportunityList), (status = 401, body = ApiError)))]
pub async fn opportunities(
    State(state): State<AppState>,
    _who: AuthExpert,
) -> ApiResult<OpportunityList> {
    let opportunities = blocking(&state, Storage::list_opportunities).await?;
    Ok(axum::Json(OpportunityList { opportunities }))
}

/// The caller's assignments changed after the cursor.
#[utoipa::path(get, path = "/api/v1/assignments", tag = "assignments", security(("bearer" = [])),
    params(("since" = Option<String>, Query, description = "Opaque cursor from a previous page"),
           ("limit" = Option<u32>, Query, description = "Page size, 1..=500 (default 100)")),
    responses((status = 200, body = AssignmentPage), (status = 400, body = ApiError),
              (status = 401, body = ApiError)))]
pub async fn assignments(
    State(state): State<AppState>,
    who: AuthExpert,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<AssignmentPage> {
    let (after, limit) = page_params(&q)?;
    let now = Utc::now();
    let page = blocking(&state, move |s| {
        s.expire_overdue_leases(&who.expert_id, now)?;
        s.list_assignments(&who.expert_id, after, limit)
    })
    .await?;
    let last = page.rows.last().map_or(after, |a| a.seq);
    Ok(axum::Json(AssignmentPage {
        assignments: page.rows,
        next_cursor: encode_cursor(last),
        has_more: page.has_more,
    }))
}

/// Renews the lease of an active assignment of the caller.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/lease", tag = "assignments",
    security(("bearer" = [])), params(("id" = String, Path, description = "Assignment id")),
    responses((status = 200, body = Lease), (status = 404, body = ApiError),
              (status = 409, description = "lease_expired or not active", body = ApiError)))]
pub async fn renew_lease(
    State(state): State<AppState>,
    who: AuthExpert,
    Path(id): Path<String>,
) -> ApiResult<Lease> {
    let (now, ttl) = (Utc::now(), state.lease_ttl);
    Ok(axum::Json(
        blocking(&state, move |s| {
            s.renew_lease(&who.expert_id, &id, now, ttl)
        })
        .await?,
    ))
}

/// Gives an active assignment back; the caller loses access to its item.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/release", tag = "assignments",
    security(("bearer" = [])), params(("id" = String, Path, description = "Assignment id")),
    responses((status = 200, body = Assignment), (status = 404, body = ApiError),
              (status = 409, body = ApiError)))]
pub async fn release(
    State(state): State<AppState>,
    who: AuthExpert,
    Path(id): Path<String>,
) -> ApiResult<Assignment> {
    let now = Utc::now();
    Ok(axum::Json(
        blocking(&state, move |s| {
            s.release_assignment(&who.expert_id, &id, now)
        })
        .await?,
    ))
}

/// An item the caller holds an assignment for, scoped to what the rubric shows.
#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "items", security(("bearer" = [])),
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, body = ItemEnvelope), (status = 403, body = ApiError),
              (status = 404, body = ApiError)))]
pub async fn item(
    State(state): State<AppState>,
    who: AuthExpert,
    Path(id): Path<String>,
) -> ApiResult<ItemEnvelope> {
    Ok(axum::Json(
        blocking(&state, move |s| s.item_for_expert(&who.expert_id, &id)).await?,
    ))
}

/// Parse `Range: bytes=N-` or `bytes=N-M` against a body of `size` bytes.
/// Returns the inclusive byte range, or `None` for a full response.
fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ApiFailure> {
    let Some(raw) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let bad = || ApiFailure {
        status: StatusCode::RANGE_NOT_SATISFIABLE,
        body: ApiError::new(
            ApiErrorCode::BadRequest,
            format!("unsatisfiable range; the attachment has {size} bytes"),
        ),
    };
    let spec = raw
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
        .filter(|v| !v.contains(','))
        .ok_or_else(|| {
            ApiFailure::new(
                ApiErrorCode::BadRequest,
                "only `bytes=N-` or `bytes=N-M` ranges are supported",
            )
        })?;
    let (start, end) = spec
        .split_once('-')
        .ok_or_else(|| ApiFailure::new(ApiErrorCode::BadRequest, "malformed Range header"))?;
    let start: u64 = start
        .trim()
        .parse()
        .map_err(|_| ApiFailure::new(ApiErrorCode::BadRequest, "malformed Range header"))?;
    let end: u64 = match end.trim() {
        "" => size.saturating_sub(1),
        e => e
            .parse::<u64>()
            .map_err(|_| ApiFailure::new(ApiErrorCode::BadRequest, "malformed Range header"))?
            .min(size.saturating_sub(1)),
    };
    if start >= size || end < start {
        return Err(bad());
    }
    Ok(Some((start, end)))
}

/// An attachment of an item the caller may read (byte ranges supported).
#[utoipa::path(get, path = "/api/v1/attachments/{sha256}", tag = "items", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "Lower-case hex sha256 of the content"),
           ("Range" = Option<String>, Header, description = "`bytes=N-` to resume a download")),
    responses((status = 200, description = "The bytes; `x-content-sha256` carries the hash",
               content_type = "application/octet-stream"),
              (status = 206, description = "Partial content for a Range request"),
              (status = 403, body = ApiError), (status = 404, body = ApiError),
              (status = 416, body = ApiError)))]
pub async fn attachment(
    State(state): State<AppState>,
    who: AuthExpert,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let path = state
        .blobs
        .path_of(&sha256)
        .ok_or_else(|| ApiFailure::new(ApiErrorCode::BadRequest, "not a lower-case hex sha256"))?;
    let sha = sha256.clone();
    let (meta, allowed) = blocking(&state, move |s| {
        let meta = s.blob_meta(&sha)?;
        let allowed = s.expert_can_read_blob(&who.expert_id, &sha)?;
        Ok((meta, allowed))
    })
    .await?;
    let meta = meta.ok_or_else(|| {
        ApiFailure::new(
            ApiErrorCode::NotFound,
            format!("attachment {sha256} not found"),
        )
    })?;
    if !allowed {
        return Err(ApiFailure::new(
            ApiErrorCode::Forbidden,
            "this attachment belongs to no item assigned to you",
        ));
    }
    let range = parse_range(&headers, meta.size)?;
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!(error = %e, sha256 = %sha256, "blob missing from the blob directory");
        ApiFailure::new(ApiErrorCode::Internal, "attachment bytes are unavailable")
    })?;
    let (status, start, len) = match range {
        None => (StatusCode::OK, 0, meta.size),
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(PlatformError::from)?;
    }
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file.take(len)));
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.media_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&meta.sha256) {
        h.insert(CONTENT_SHA256_HEADER, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) =
            HeaderValue::from_str(&format!("bytes {start}-{}/{}", start + len - 1, meta.size))
        {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

/// A published rubric version.
#[utoipa::path(get, path = "/api/v1/rubrics/{id}/versions/{version}", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Rubric id"),
           ("version" = u32, Path, description = "Rubric version")),
    responses((status = 200, body = RubricEnvelope), (status = 404, body = ApiError)))]
pub async fn rubric(
    State(state): State<AppState>,
    _who: AuthExpert,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<RubricEnvelope> {
    let version: u32 = version.parse().map_err(|_| {
        ApiFailure::new(ApiErrorCode::BadRequest, "rubric version must be a number")
    })?;
    Ok(axum::Json(
        blocking(&state, move |s| s.rubric(&id, version)).await?,
    ))
}

/// Submits a grade (once per idempotency key); paid work books its pay as pending.
#[utoipa::path(post, path = "/api/v1/submissions", tag = "submissions", security(("bearer" = [])),
    request_body = SubmissionRequest,
    params(("Idempotency-Key" = String, Header, description = "Client-chosen key; a repeat returns the original receipt")),
    responses((status = 200, body = SubmissionReceipt),
              (status = 400, body = ApiError), (status = 403, body = ApiError),
              (status = 404, body = ApiError),
              (status = 409, description = "conflict, lease_expired or rubric_version_mismatch", body = ApiError),
              (status = 413, body = ApiError), (status = 422, body = ApiError)))]
pub async fn submit(
    State(state): State<AppState>,
    who: AuthExpert,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SubmissionRequest>,
) -> ApiResult<SubmissionReceipt> {
    let key = idempotency_key(&headers)?;
    let hash = request_hash(&req)?;
    let expert = who.expert_id.clone();
    let (aid, rid, rver) = (
        req.assignment_id.clone(),
        req.rubric_id.clone(),
        req.rubric_version,
    );
    // Validate against the assignment's rubric first (read-only). A version
    // mismatch is reported by the transactional submit below.
    let rubric = blocking(&state, move |s| {
        let a = s.assignment_for_expert(&expert, &aid)?;
        if a.kind == AssignmentKind::SeniorReview {
            return Err(PlatformError::BadRequest(format!(
                "assignment {aid} is a senior review; answer it with POST /reviews"
            )));
        }
        if a.rubric_id == rid && a.rubric_version == rver {
            Ok(Some(s.rubric(&rid, rver)?))
        } else {
            Ok(None)
        }
    })
    .await?;
    if let Some(env) = rubric {
        let rubric: assay_rubric::Rubric = serde_json::from_value(env.document)
            .map_err(|e| PlatformError::Corrupt(format!("stored rubric does not parse: {e}")))?;
        if let Err(issues) = crate::validate::validate_answers(&rubric, &req.answers) {
            return Err(ApiFailure::from(PlatformError::ValidationFailed {
                message: format!("{} answer(s) do not satisfy the rubric", issues.len()),
                details: serde_json::to_value(&issues).unwrap_or_default(),
            }));
        }
    }
    let now = Utc::now();
    let ttl = state.lease_ttl;
    Ok(axum::Json(
        blocking(&state, move |s| {
            let receipt = s.submit(&who.expert_id, &key, &hash, &req, now)?;
            if !receipt.replayed {
                // The submission is stored; sampling for senior review must
                // not turn it into an error.
                if let Err(e) = crate::publish::sample_senior_review_blocking(
                    s,
                    &who.expert_id,
                    &receipt.assignment_id,
                    &receipt.submission_id,
                    now,
                    ttl,
                ) {
                    tracing::error!(error = %e, submission = %receipt.submission_id,
                        "senior-review sampling failed");
                }
            }
            Ok(receipt)
        })
        .await?,
    ))
}

/// Outcomes of the caller's submissions changed after the cursor.
#[utoipa::path(get, path = "/api/v1/outcomes", tag = "submissions", security(("bearer" = [])),
    params(("since" = Option<String>, Query, description = "Opaque cursor"),
           ("limit" = Option<u32>, Query, description = "Page size, 1..=500")),
    responses((status = 200, body = OutcomePage), (status = 400, body = ApiError)))]
pub async fn outcomes(
    State(state): State<AppState>,
    who: AuthExpert,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<OutcomePage> {
    let (after, limit) = page_params(&q)?;
    let page = blocking(&state, move |s| {
        s.list_outcomes(&who.expert_id, after, limit)
    })
    .await?;
    let last = page.rows.last().map_or(after, |o| o.seq);
    Ok(axum::Json(OutcomePage {
        outcomes: page.rows,
        next_cursor: encode_cursor(last),
        has_more: page.has_more,
    }))
}

/// Records a senior reviewer's decision on a submission.
#[utoipa::path(post, path = "/api/v1/reviews", tag = "submissions", security(("bearer" = [])),
    request_body = ReviewRequest,
    params(("Idempotency-Key" = String, Header, description = "Client-chosen key")),
    responses((status = 200, body = ReviewReceipt), (status = 400, body = ApiError),
              (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn review(
    State(state): State<AppState>,
    who: AuthExpert,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> ApiResult<ReviewReceipt> {
    let key = idempotency_key(&headers)?;
    let hash = request_hash(&req)?;
    let now = Utc::now();
    Ok(axum::Json(
        blocking(&state, move |s| {
            s.review(&who.expert_id, &key, &hash, &req, now)
        })
        .await?,
    ))
}

/// Every rate of every opportunity.
#[utoipa::path(get, path = "/api/v1/rate-card", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = RateCard)))]
pub async fn rate_card(State(state): State<AppState>, _who: AuthExpert) -> ApiResult<RateCard> {
    Ok(axum::Json(blocking(&state, Storage::rate_card).await?))
}

/// The caller's ledger entries changed after the cursor.
#[utoipa::path(get, path = "/api/v1/ledger", tag = "money", security(("bearer" = [])),
    params(("since" = Option<String>, Query, description = "Opaque cursor"),
           ("limit" = Option<u32>, Query, description = "Page size, 1..=500")),
    responses((status = 200, body = LedgerPage), (status = 400, body = ApiError)))]
pub async fn ledger(
    State(state): State<AppState>,
    who: AuthExpert,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<LedgerPage> {
    let (after, limit) = page_params(&q)?;
    let page = blocking(&state, move |s| s.list_ledger(&who.expert_id, after, limit)).await?;
    let last = page.rows.last().map_or(after, |e| e.seq);
    Ok(axum::Json(LedgerPage {
        entries: page.rows,
        next_cursor: encode_cursor(last),
        has_more: page.has_more,
    }))
}

/// The caller's payouts.
#[utoipa::path(get, path = "/api/v1/payouts", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = PayoutList)))]
pub async fn payouts(State(state): State<AppState>, who: AuthExpert) -> ApiResult<PayoutList> {
    let payouts = blocking(&state, move |s| s.list_payouts(&who.expert_id)).await?;
    Ok(axum::Json(PayoutList { payouts }))
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
        .route("/health", get(health))
        .route("/auth/login", post(login))
        .route("/auth/tokens", post(new_token))
        .route("/auth/tokens/current", delete(revoke_current_token))
        .route("/me", get(me))
        .route("/auth/whoami", get(whoami))
        .route("/opportunities", get(opportunities))
        .route("/assignments", get(assignments))
        .route("/assignments/{id}/lease", post(renew_lease))
        .route("/assignments/{id}/release", post(release))
        .route("/items/{id}", get(item))
        .route(
            "/attachments/{sha256}",
            get(attachment).put(crate::publish::put_attachment),
        )
        .route("/rubrics/{id}/versions/{version}", get(rubric))
        .route("/submissions", post(submit))
        .route("/outcomes", get(outcomes))
        .route("/reviews", post(review))
        .route("/rate-card", get(rate_card))
        .route("/ledger", get(ledger))
        .route("/payouts", get(payouts))
        .nest("/author", crate::publish::author_router())
        .nest("/admin", admin::router())
        // issue 18: one-time sign-in codes for `assay://signin` links.
        .merge(crate::signin_codes::router())
        // issue 18: signed app updates.
        .merge(crate::updates::router());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(None).ok(), Some(0));
        assert_eq!(decode_cursor(Some(&encode_cursor(42))).ok(), Some(42));
        assert!(decode_cursor(Some("42")).is_err());
        assert!(decode_cursor(Some("c1.-3")).is_err());
    }

    #[test]
    fn request_hash_ignores_key_order() {
        let a = serde_json::json!({"x": 1, "y": {"b": 2, "a": 1}});
        let b: serde_json::Value = serde_json::from_str(r#"{"y":{"a":1,"b":2},"x":1}"#).unwrap();
        assert_eq!(request_hash(&a).unwrap(), request_hash(&b).unwrap());
        let c = serde_json::json!({"x": 2, "y": {"b": 2, "a": 1}});
        assert_ne!(request_hash(&a).unwrap(), request_hash(&c).unwrap());
    }

    #[test]
    fn ranges_are_parsed_and_bounded() {
        let mut h = HeaderMap::new();
        assert_eq!(parse_range(&h, 10).unwrap(), None);
        h.insert(header::RANGE, HeaderValue::from_static("bytes=4-"));
        assert_eq!(parse_range(&h, 10).unwrap(), Some((4, 9)));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=2-100"));
        assert_eq!(parse_range(&h, 10).unwrap(), Some((2, 9)));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=10-"));
        assert_eq!(
            parse_range(&h, 10).unwrap_err().status,
            StatusCode::RANGE_NOT_SATISFIABLE
        );
        h.insert(header::RANGE, HeaderValue::from_static("items=1-"));
        assert_eq!(
            parse_range(&h, 10).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
