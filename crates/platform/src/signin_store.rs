//! The memory store of one-time sign-in codes (issue 18): short-lived,
//! single use, bounded in number, kept by their hash. The routes that issue
//! and redeem them are in `signin_codes`.

use std::collections::HashMap;
use std::sync::Mutex;

use assay_protocol::SigninCode;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use crate::auth::token_hash;
use crate::error::{PlatformError, PlatformResult};

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
    pub fn issue(&self, expert_id: &str, now: DateTime<Utc>) -> PlatformResult<SigninCode> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        // Hex: only characters an `assay://` link carries as they are.
        let code = hex::encode(bytes);
        let expires_at = now + CODE_TTL;
        let mut pending = self.lock();
        pending.retain(|_, p| p.expires_at > now);
        if pending.len() >= MAX_CODES {
            return Err(PlatformError::RateLimited(
                "too many sign-in codes are outstanding; try again in a few minutes".into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use assay_protocol::ApiErrorCode;

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
        assert_eq!(refused.code(), ApiErrorCode::RateLimited);
        // Once they expire there is room again.
        assert!(codes.issue("exp-1", now + CODE_TTL).is_ok());
    }
}
