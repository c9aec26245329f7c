//! Admin API (`/api/v1/admin/*`), guarded by the admin token: decide
//! outcomes, pay out, assign, revoke and reassign work, issue tokens. Used by
//! tests and the demo; a real platform would have its own back office.

use std::collections::BTreeMap;

use assay_protocol::{
    ApiError, Assignment, AssignmentKind, FieldValue, Lease, OutcomeStatus, PayoutList,
    ReviewOutcome, TokenResponse,
};
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{blocking, blocking_json, AdminAuth, ApiJson, ApiResult, AppState};
use crate::rules::Rules;
use crate::storage::{NewAssignment, Storage};

/// `POST /admin/outcomes`: decide a pending submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecideOutcomeRequest {
    /// The pending submission to decide.
    pub submission_id: String,
    /// The decision: accepted, rejected or sent back for revision.
    pub status: OutcomeStatus,
    /// Feedback shown to the grader.
    #[serde(default)]
    pub feedback: Option<String>,
}

/// `POST /admin/payouts`: pay out an expert's accepted entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatePayoutRequest {
    /// The expert to pay (their sign-in e-mail).
    pub expert_email: String,
    /// E.g. "bank transfer"; defaults to "`bank_transfer`".
    #[serde(default)]
    pub method: Option<String>,
}

/// `POST /admin/assignments`: assign an item to an expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// The item to assign.
    pub item_id: String,
    /// The expert to assign it to (their sign-in e-mail).
    pub expert_email: String,
    /// Grading, senior review or screening.
    pub kind: AssignmentKind,
    /// For a senior review: the submission it reviews.
    #[serde(default)]
    pub review_of_submission_id: Option<String>,
    /// Lease length; defaults to the server's lease TTL.
    #[serde(default)]
    pub lease_seconds: Option<u64>,
    /// Due date from now; defaults to 7 days.
    #[serde(default)]
    pub due_in_seconds: Option<u64>,
}

/// `POST /admin/assignments/{id}/reassign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReassignRequest {
    /// The expert who takes the work over (their sign-in e-mail).
    pub expert_email: String,
}

/// `POST /admin/assignments/{id}/lease`: set a lease's expiry (e.g. in the past).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SetLeaseRequest {
    /// The new expiry; may lie in the past (tests of expired leases).
    pub lease_expires_at: DateTime<Utc>,
}

/// `POST /admin/items/{id}/content`: re-publish an item with changed fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateItemContentRequest {
    /// Fields to replace, keyed by field id; fields not named are kept.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, FieldValue>,
}

/// The item's new content revision and how many assignments re-publish it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemContentUpdated {
    /// The item changed.
    pub item_id: String,
    /// The item's new content revision.
    pub revision: u32,
    /// Assignments that now carry the new revision (clients re-fetch the item).
    pub assignments: u32,
}

/// `POST /admin/tokens`: issue a token for an expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssueTokenRequest {
    /// The expert the token is for (their sign-in e-mail).
    pub expert_email: String,
    /// Label stored with the token (e.g. where it is used).
    #[serde(default)]
    pub label: Option<String>,
    /// Role the token carries (default expert).
    #[serde(default)]
    pub role: Option<crate::auth::Role>,
}

fn secs(s: u64) -> Duration {
    Duration::seconds(
        i64::try_from(s)
            .unwrap_or(i64::MAX / 1000)
            .min(10 * 365 * 86_400),
    )
}

fn expert_by_email(s: &dyn Storage, email: &str) -> crate::error::PlatformResult<String> {
    s.expert_id_by_email(email)?
        .ok_or_else(|| crate::error::PlatformError::not_found(format!("expert {email}")))
}

/// Decides a pending submission: accept, reject or send back for revision.
#[utoipa::path(post, path = "/api/v1/admin/outcomes", tag = "admin", security(("admin" = [])),
    request_body = DecideOutcomeRequest,
    responses((status = 200, body = ReviewOutcome), (status = 404, body = ApiError),
              (status = 409, body = ApiError)))]
pub async fn decide_outcome(
    State(state): State<AppState>,
    _a: AdminAuth,
    ApiJson(req): ApiJson<DecideOutcomeRequest>,
) -> ApiResult<ReviewOutcome> {
    let now = Utc::now();
    blocking_json(&state, move |s| {
        s.decide_outcome(&req.submission_id, req.status, req.feedback.as_deref(), now)
    })
    .await
}

/// Pays out the expert's accepted, unpaid ledger entries (one payout per currency).
#[utoipa::path(post, path = "/api/v1/admin/payouts", tag = "admin", security(("admin" = [])),
    request_body = CreatePayoutRequest,
    responses((status = 200, description = "Payouts created (empty when nothing was payable)",
               body = PayoutList), (status = 404, body = ApiError)))]
pub async fn create_payout(
    State(state): State<AppState>,
    _a: AdminAuth,
    ApiJson(req): ApiJson<CreatePayoutRequest>,
) -> ApiResult<PayoutList> {
    let now = Utc::now();
    let payouts = blocking(&state, move |s| {
        let expert = expert_by_email(s, &req.expert_email)?;
        s.create_payout(
            &expert,
            req.method.as_deref().unwrap_or("bank_transfer"),
            now,
        )
    })
    .await?;
    Ok(axum::Json(PayoutList { payouts }))
}

/// Assigns an item to an expert, with a lease and a due date.
#[utoipa::path(post, path = "/api/v1/admin/assignments", tag = "admin", security(("admin" = [])),
    request_body = AssignRequest,
    responses((status = 200, body = Assignment), (status = 400, body = ApiError),
              (status = 404, body = ApiError)))]
pub async fn assign(
    State(state): State<AppState>,
    _a: AdminAuth,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<Assignment> {
    let now = Utc::now();
    let lease = req.lease_seconds.map_or(state.lease_ttl, secs);
    let due = req.due_in_seconds.map_or(Duration::days(7), secs);
    blocking_json(&state, move |s| {
        let expert_id = expert_by_email(s, &req.expert_email)?;
        s.create_assignment(&NewAssignment {
            id: crate::new_id("asg"),
            expert_id,
            item_id: req.item_id,
            kind: req.kind,
            assigned_at: now,
            lease_expires_at: now + lease,
            due_at: now + due.max(lease),
            review_of_submission_id: req.review_of_submission_id,
        })
    })
    .await
}

/// Revokes an assignment; its holder loses access to the item.
#[utoipa::path(post, path = "/api/v1/admin/assignments/{id}/revoke", tag = "admin",
    security(("admin" = [])), params(("id" = String, Path, description = "Assignment id")),
    responses((status = 200, body = Assignment), (status = 404, body = ApiError),
              (status = 409, body = ApiError)))]
pub async fn revoke(
    State(state): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<Assignment> {
    let now = Utc::now();
    blocking_json(&state, move |s| s.revoke_assignment(&id, now)).await
}

/// Revokes an assignment and gives the same item to another expert.
#[utoipa::path(post, path = "/api/v1/admin/assignments/{id}/reassign", tag = "admin",
    security(("admin" = [])), params(("id" = String, Path, description = "Assignment id")),
    request_body = ReassignRequest,
    responses((status = 200, description = "The new assignment", body = Assignment),
              (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn reassign(
    State(state): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReassignRequest>,
) -> ApiResult<Assignment> {
    let (now, ttl) = (Utc::now(), state.lease_ttl);
    blocking_json(&state, move |s| {
        let to = expert_by_email(s, &req.expert_email)?;
        s.reassign_assignment(&id, &to, now, ttl)
    })
    .await
}

/// Sets an assignment's lease expiry.
#[utoipa::path(post, path = "/api/v1/admin/assignments/{id}/lease", tag = "admin",
    security(("admin" = [])), params(("id" = String, Path, description = "Assignment id")),
    request_body = SetLeaseRequest,
    responses((status = 200, body = Lease), (status = 404, body = ApiError)))]
pub async fn set_lease(
    State(state): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SetLeaseRequest>,
) -> ApiResult<Lease> {
    blocking_json(&state, move |s| s.set_lease(&id, req.lease_expires_at)).await
}

/// Replaces named fields of an item; its revision goes up and its assignments carry the new content.
#[utoipa::path(post, path = "/api/v1/admin/items/{id}/content", tag = "admin",
    security(("admin" = [])), params(("id" = String, Path, description = "Item id")),
    request_body = UpdateItemContentRequest,
    responses((status = 200, body = ItemContentUpdated), (status = 400, body = ApiError),
              (status = 404, body = ApiError)))]
pub async fn update_item_content(
    State(state): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateItemContentRequest>,
) -> ApiResult<ItemContentUpdated> {
    blocking_json(&state, move |s| {
        let (revision, assignments) = s.update_item_fields(&id, &req.fields)?;
        tracing::info!(item = %id, revision, assignments, "item content re-published");
        Ok(ItemContentUpdated {
            item_id: id,
            revision,
            assignments,
        })
    })
    .await
}

/// Issues a new token for an expert; the token is shown once.
#[utoipa::path(post, path = "/api/v1/admin/tokens", tag = "admin", security(("admin" = [])),
    request_body = IssueTokenRequest,
    responses((status = 200, body = TokenResponse), (status = 404, body = ApiError)))]
pub async fn issue_token(
    State(state): State<AppState>,
    _a: AdminAuth,
    ApiJson(req): ApiJson<IssueTokenRequest>,
) -> ApiResult<TokenResponse> {
    let now = Utc::now();
    blocking_json(&state, move |s| {
        let expert = expert_by_email(s, &req.expert_email)?;
        crate::issue_role_token_blocking(
            s,
            &expert,
            req.label.as_deref(),
            req.role.unwrap_or(crate::auth::Role::Expert),
            now,
        )
    })
    .await
}

/// The admin routes (`/admin/*`), each guarded by the admin token or an operator token.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/outcomes", post(decide_outcome))
        .route("/payouts", post(create_payout))
        .route("/assignments", post(assign))
        .route("/assignments/{id}/revoke", post(revoke))
        .route("/assignments/{id}/reassign", post(reassign))
        .route("/assignments/{id}/lease", post(set_lease))
        .route("/tokens", post(issue_token))
        .route("/items/{id}/content", post(update_item_content))
        .route("/items/{id}/assign", post(crate::publish::assign_item))
        .route("/experts", post(crate::publish::create_expert))
        .route(
            "/opportunities/{id}/assign",
            post(crate::publish::assign_by_policy),
        )
        .route("/export", axum::routing::get(crate::publish::export))
}
