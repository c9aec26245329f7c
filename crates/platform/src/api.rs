//! Request plumbing shared by every route module: the handlers' state,
//! error responses, extractors (JSON, query, bearer tokens and roles),
//! idempotency keys, request hashes and cursors. It depends on no route
//! module; the route modules (`expert`, `admin`, `publish`, `signin_codes`,
//! `updates`) take what they share from here and `server` assembles them.

use std::path::PathBuf;
use std::sync::Arc;

use assay_protocol::{
    ApiError, ApiErrorCode, CursorQuery, TokenResponse, IDEMPOTENCY_KEY_HEADER, MAX_JSON_BODY_BYTES,
};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::{self, Role};
use crate::blobs::BlobStore;
use crate::error::{PlatformError, PlatformResult};
use crate::signin_store::SigninCodes;
use crate::storage::Storage;

/// Default and largest page sizes of cursor listings.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;
/// Largest page size of cursor listings.
pub const MAX_PAGE_LIMIT: u32 = 500;
/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 200;

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
    pub signin_codes: Arc<SigninCodes>,
    /// issue 18: the published updates (served by the `updates` routes).
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

/// What a JSON handler returns.
pub(crate) type ApiResult<T> = Result<axum::Json<T>, ApiFailure>;

/// Bytes read from a file per chunk of a streamed response body. tokio
/// reads a file on its blocking pool, one round trip per read, and a
/// `ReaderStream` reads 4 KiB at a time by default: a 53 MiB download took
/// about 13,600 round trips and ran at about 20 MB/s on loopback.
const FILE_CHUNK: usize = 256 * 1024;

/// A response body streaming `file` from where it stands, `len` bytes at
/// most, in [`FILE_CHUNK`] reads.
pub(crate) fn file_body(file: tokio::fs::File, len: u64) -> axum::body::Body {
    use tokio::io::AsyncReadExt;
    axum::body::Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        file.take(len),
        FILE_CHUNK,
    ))
}

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

/// [`blocking`], its value the JSON response.
pub(crate) async fn blocking_json<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Storage) -> PlatformResult<T> + Send + 'static,
{
    Ok(axum::Json(blocking(state, f).await?))
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

/// An extractor that is proof the request's token allows a role (403
/// otherwise): `$name(Principal)`.
macro_rules! role_proof {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiFailure;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                require_role(parts, state, $role).await.map(Self)
            }
        }
    };
}

role_proof!(
    /// Proof that the request carries an operator token (or the admin token).
    AdminAuth,
    Role::Operator
);
role_proof!(
    /// Proof that the request carries an author or operator token.
    AuthorAuth,
    Role::Author
);

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiFailure> {
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

pub(crate) fn page_params(q: &CursorQuery) -> Result<(i64, u32), ApiFailure> {
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

/// A page of a cursor-paged list as an endpoint answers it: rows after a
/// cursor, the cursor after them, and whether more follow.
pub(crate) trait CursorPage: Sized {
    /// One row of the page.
    type Row: Send + 'static;
    /// The row's sequence number (what the cursor points after).
    fn seq(row: &Self::Row) -> i64;
    /// The page of `rows` with `next_cursor`.
    fn new(rows: Vec<Self::Row>, next_cursor: String, has_more: bool) -> Self;
}

/// Implements [`CursorPage`] for page types whose rows (field, row type)
/// carry a `seq`.
macro_rules! cursor_pages {
    ($($page:ty { $rows:ident: $row:ty }),* $(,)?) => {$(
        impl CursorPage for $page {
            type Row = $row;
            fn seq(row: &$row) -> i64 {
                row.seq
            }
            fn new(rows: Vec<$row>, next_cursor: String, has_more: bool) -> Self {
                Self { $rows: rows, next_cursor, has_more }
            }
        }
    )*};
}

cursor_pages!(
    assay_protocol::AssignmentPage {
        assignments: assay_protocol::Assignment
    },
    assay_protocol::OutcomePage {
        outcomes: assay_protocol::ReviewOutcome
    },
    assay_protocol::LedgerPage {
        entries: assay_protocol::LedgerEntry
    },
    crate::publish::ExportPage {
        records: crate::storage::ExportRecord
    },
);

/// The page of rows after the cursor of `q` (at most its limit), read by
/// `fetch(storage, after_seq, limit)` on the blocking pool, with the cursor
/// after its last row.
pub(crate) async fn cursor_page<P, F>(state: &AppState, q: &CursorQuery, fetch: F) -> ApiResult<P>
where
    P: CursorPage,
    F: FnOnce(&dyn Storage, i64, u32) -> PlatformResult<crate::storage::Page<P::Row>>
        + Send
        + 'static,
{
    let (after, limit) = page_params(q)?;
    let page = blocking(state, move |s| fetch(s, after, limit)).await?;
    let last = page.rows.last().map_or(after, P::seq);
    Ok(axum::Json(P::new(
        page.rows,
        encode_cursor(last),
        page.has_more,
    )))
}

/// Issue a token with `role` for `expert_id`: the answer of login, new
/// tokens and sign-in codes.
pub(crate) async fn issue_token(
    state: &AppState,
    expert_id: String,
    label: Option<String>,
    role: Role,
) -> ApiResult<TokenResponse> {
    let now = Utc::now();
    blocking_json(state, move |s| {
        crate::issue_role_token_blocking(s, &expert_id, label.as_deref(), role, now)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file body streams exactly the bytes from where the file stands,
    /// `len` of them, across several chunks (a resumed download).
    #[tokio::test]
    async fn a_file_body_streams_the_asked_bytes_across_chunks() {
        use tokio::io::AsyncSeekExt;
        let bytes: Vec<u8> = (0..FILE_CHUNK * 3 + 1234)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, &bytes).unwrap();
        for (start, len) in [
            (0, bytes.len()),
            (FILE_CHUNK / 2, FILE_CHUNK * 2 + 7),
            (17, 0),
        ] {
            let mut file = tokio::fs::File::open(&path).await.unwrap();
            file.seek(std::io::SeekFrom::Start(start as u64))
                .await
                .unwrap();
            let body = file_body(file, len as u64);
            let got = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            assert_eq!(
                &got[..],
                &bytes[start..start + len],
                "from {start}, {len} bytes"
            );
        }
        // In reads of FILE_CHUNK, not tokio's 4 KiB default (one blocking
        // pool round trip each): the whole file comes in four frames.
        let file = tokio::fs::File::open(&path).await.unwrap();
        let mut frames = file_body(file, bytes.len() as u64).into_data_stream();
        let mut sizes = Vec::new();
        while let Some(frame) = futures_util::StreamExt::next(&mut frames).await {
            sizes.push(frame.unwrap().len());
        }
        assert_eq!(sizes, [FILE_CHUNK, FILE_CHUNK, FILE_CHUNK, 1234]);
    }

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
}
