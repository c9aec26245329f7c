//! One-time sign-in codes (issue 18): a signed-in expert asks for a code and
//! hands it to the app in an `assay://signin?platform=…&code=…` link; the app
//! exchanges it for its own token. Links never carry a token. Codes live in
//! memory only (short-lived, single use, bounded in number); the token the
//! exchange issues is stored like any other.

use std::collections::HashMap;
use std::sync::Mutex;

use assay_protocol::{ApiError, ApiErrorCode, SigninCode, SigninCodeExchange, TokenResponse};
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use crate::auth::{token_hash, Role};
use crate::server::{ApiFailure, ApiJson, AppState, AuthExpert};

/// How long a code stays valid.
pub const CODE_TTL: Duration = Duration::minutes(5);
/// Codes outstanding at most (expired ones are dropped first).
pub const MAX_CODES: usize = 10_000;
/// Longest code accepted by the exchange (they are 64).
const MAX_CODE_LEN: usize = 128;

struct Pending {
    expert_id: String,
    expires_at: DateTime<Utc>,
}

/// Outstanding codes by their hash (a memory dump does not reveal usable codes).
#[derive(Default)]
pub struct SigninCodes {
    pending: Mutex<HashMap<String, Pending>>,
}

impl SigninCodes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh code for `expert_id`, valid until `now + CODE_TTL`.
    pub fn issue(&self, expert_id: &str, now: DateTime<Utc>) -> Result<SigninCode, ApiFailure> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        // Hex: only characters an `assay://` link carries as they are.
        let code = hex::encode(bytes);
        let expires_at = now + CODE_TTL;
        let mut pending = self.lock();
        pending.retain(|_, p| p.expires_at > now);
        if pending.len() >= MAX_CODES {
            return Err(ApiFailure::new(
                ApiErrorCode::RateLimited,
                "too many sign-in codes are outstanding; try again in a few minutes",
            ));
        }
        pending.insert(
            token_hash(&code),
            Pending {
                expert_id: expert_id.to_string(),
                expires_at,
            },
        );
        Ok(SigninCode { code, expires_at })
    }

    /// The expert of `code` if it is known and unexpired; the code is spent
    /// either way.
    pub fn redeem(&self, code: &str, now: DateTime<Utc>) -> Option<String> {
        if code.is_empty() || code.len() > MAX_CODE_LEN {
            return None;
        }
        let found = self.lock().remove(&token_hash(code))?;
        (found.expires_at > now).then_some(found.expert_id)
    }
}

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
    let now = Utc::now();
    let label = req.label;
    let token = crate::server::blocking(&state, move |s| {
        crate::issue_role_token_blocking(s, &expert_id, label.as_deref(), Role::Expert, now)
    })
    .await?;
    Ok(axum::Json(token))
}

/// Routes under `/api/v1/auth/signin-codes`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/signin-codes", post(create_code))
        .route("/auth/signin-codes/exchange", post(exchange_code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_single_use_and_expires() {
        let codes = SigninCodes::default();
        let now = Utc::now();
        let c = codes.issue("exp-1", now).unwrap();
        assert_eq!(c.code.len(), 64);
        assert!(c.code.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(codes.redeem(&c.code, now), Some("exp-1".into()));
        assert_eq!(codes.redeem(&c.code, now), None, "used twice");
        let late = codes.issue("exp-1", now).unwrap();
        assert_eq!(codes.redeem(&late.code, now + CODE_TTL), None, "expired");
        assert_eq!(codes.redeem("", now), None);
        assert_eq!(codes.redeem(&"x".repeat(10_000), now), None);
    }

    #[test]
    fn outstanding_codes_are_bounded() {
        let codes = SigninCodes::default();
        let now = Utc::now();
        for _ in 0..MAX_CODES {
            codes.issue("exp-1", now).unwrap();
        }
        let refused = codes.issue("exp-1", now).unwrap_err();
        assert_eq!(refused.body.code, ApiErrorCode::RateLimited);
        // Once they expire there is room again.
        assert!(codes.issue("exp-1", now + CODE_TTL).is_ok());
    }
}
