//! One-time sign-in codes (issue 18): a signed-in expert asks for a code and
//! hands it to the app in an `assay://signin?platform=…&code=…` link; the app
//! exchanges it for its own token. Links never carry a token. Codes live in
//! memory only (short-lived, single use, bounded in number); the token the
//! exchange issues is stored like any other. The store is `signin_store`.

use assay_protocol::{ApiError, ApiErrorCode, SigninCode, SigninCodeExchange, TokenResponse};
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use chrono::Utc;

use crate::api::{issue_token, ApiFailure, ApiJson, AppState, AuthExpert};
use crate::auth::Role;

/// Issues a one-time sign-in code for the caller, for an `assay://signin` link.
#[utoipa::path(post, path = "/api/v1/auth/signin-codes", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = SigninCode), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 429, body = ApiError)))]
pub async fn create_code(
    State(state): State<AppState>,
    who: AuthExpert,
) -> Result<axum::Json<SigninCode>, ApiFailure> {
    // The code signs in as an expert: author and operator tokens are not
    // handed on through links.
    if who.role != Role::Expert {
        return Err(ApiFailure::new(
            ApiErrorCode::Forbidden,
            "sign-in codes are for expert tokens only",
        ));
    }
    Ok(axum::Json(
        state.signin_codes.issue(&who.expert_id, Utc::now())?,
    ))
}

/// Exchanges an unexpired sign-in code for a token; the code is spent either way.
#[utoipa::path(post, path = "/api/v1/auth/signin-codes/exchange", tag = "auth",
    request_body = SigninCodeExchange,
    responses((status = 200, body = TokenResponse),
              (status = 401, description = "Unknown, used or expired code", body = ApiError),
              (status = 400, body = ApiError)))]
pub async fn exchange_code(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SigninCodeExchange>,
) -> Result<axum::Json<TokenResponse>, ApiFailure> {
    let expert_id = state
        .signin_codes
        .redeem(&req.code, Utc::now())
        .ok_or_else(|| {
            ApiFailure::new(
                ApiErrorCode::Unauthorized,
                "this sign-in code is unknown, already used or expired; ask for a new link",
            )
        })?;
    issue_token(&state, expert_id, req.label, Role::Expert).await
}

/// Routes under `/api/v1/auth/signin-codes`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/signin-codes", post(create_code))
        .route("/auth/signin-codes/exchange", post(exchange_code))
}
