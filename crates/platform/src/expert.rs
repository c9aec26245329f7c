//! The expert API: the routes a reviewer's app calls (health, sign-in and
//! tokens, profile, opportunities, assignments and leases, items and
//! attachments, rubrics, submissions, outcomes, reviews, money).

use assay_protocol::{
    ApiError, ApiErrorCode, Assignment, AssignmentKind, AssignmentPage, CursorQuery, ExpertProfile,
    Health, ItemEnvelope, Lease, LedgerPage, LoginRequest, OpportunityList, OutcomePage,
    PayoutList, RateCard, ReviewReceipt, ReviewRequest, RubricEnvelope, SubmissionReceipt,
    SubmissionRequest, TokenResponse, CONTENT_SHA256_HEADER, PROTOCOL_VERSION,
};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncSeekExt;

use crate::api::{
    blocking, blocking_json, cursor_page, file_body, idempotency_key, issue_token, request_hash,
    ApiFailure, ApiJson, ApiQuery, ApiResult, AppState, AuthExpert,
};
use crate::auth::{self, Role};
use crate::error::PlatformError;
use crate::rules::Rules;
use crate::storage::Storage;

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
    issue_token(&state, expert_id, req.label, Role::Expert).await
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
    issue_token(&state, who.expert_id, req.label, who.role).await
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
    blocking_json(&state, move |s| s.expert_profile(&who.expert_id)).await
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
    ApiQuery(q): ApiQuery<CursorQuery>,
) -> ApiResult<AssignmentPage> {
    let now = Utc::now();
    cursor_page(&state, &q, move |s, after, limit| {
        s.expire_overdue_leases(&who.expert_id, now)?;
        s.list_assignments(&who.expert_id, after, limit)
    })
    .await
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
    blocking_json(&state, move |s| {
        s.renew_lease(&who.expert_id, &id, now, ttl)
    })
    .await
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
    blocking_json(&state, move |s| {
        s.release_assignment(&who.expert_id, &id, now)
    })
    .await
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
    blocking_json(&state, move |s| s.item_for_expert(&who.expert_id, &id)).await
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
    let body = file_body(file, len);
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
    blocking_json(&state, move |s| s.rubric(&id, version)).await
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
    blocking_json(&state, move |s| {
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
    .await
}

/// Outcomes of the caller's submissions changed after the cursor.
#[utoipa::path(get, path = "/api/v1/outcomes", tag = "submissions", security(("bearer" = [])),
    params(("since" = Option<String>, Query, description = "Opaque cursor"),
           ("limit" = Option<u32>, Query, description = "Page size, 1..=500")),
    responses((status = 200, body = OutcomePage), (status = 400, body = ApiError)))]
pub async fn outcomes(
    State(state): State<AppState>,
    who: AuthExpert,
    ApiQuery(q): ApiQuery<CursorQuery>,
) -> ApiResult<OutcomePage> {
    cursor_page(&state, &q, move |s, after, limit| {
        s.list_outcomes(&who.expert_id, after, limit)
    })
    .await
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
    blocking_json(&state, move |s| {
        s.review(&who.expert_id, &key, &hash, &req, now)
    })
    .await
}

/// Every rate of every opportunity.
#[utoipa::path(get, path = "/api/v1/rate-card", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = RateCard)))]
pub async fn rate_card(State(state): State<AppState>, _who: AuthExpert) -> ApiResult<RateCard> {
    blocking_json(&state, Storage::rate_card).await
}

/// The caller's ledger entries changed after the cursor.
#[utoipa::path(get, path = "/api/v1/ledger", tag = "money", security(("bearer" = [])),
    params(("since" = Option<String>, Query, description = "Opaque cursor"),
           ("limit" = Option<u32>, Query, description = "Page size, 1..=500")),
    responses((status = 200, body = LedgerPage), (status = 400, body = ApiError)))]
pub async fn ledger(
    State(state): State<AppState>,
    who: AuthExpert,
    ApiQuery(q): ApiQuery<CursorQuery>,
) -> ApiResult<LedgerPage> {
    cursor_page(&state, &q, move |s, after, limit| {
        s.list_ledger(&who.expert_id, after, limit)
    })
    .await
}

/// The caller's payouts.
#[utoipa::path(get, path = "/api/v1/payouts", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = PayoutList)))]
pub async fn payouts(State(state): State<AppState>, who: AuthExpert) -> ApiResult<PayoutList> {
    let payouts = blocking(&state, move |s| s.list_payouts(&who.expert_id)).await?;
    Ok(axum::Json(PayoutList { payouts }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
