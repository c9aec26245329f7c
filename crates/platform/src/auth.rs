//! Secrets: bearer tokens (only their sha256 is stored) and password hashes.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do. `operator` may do everything, `author` publishes
/// rubrics, opportunities, attachments and items (and may also do work),
/// `expert` only does work. The admin token given at start-up is an operator.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Grades assigned work (every account can).
    Expert,
    /// Also publishes rubrics, opportunities, attachments and items.
    Author,
    /// Also manages people, assignments, outcomes, payouts and exports.
    Operator,
}

impl Role {
    /// The name stored and shown (`expert`, `author`, `operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Expert => "expert",
            Role::Author => "author",
            Role::Operator => "operator",
        }
    }

    /// Parse a stored or typed role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "expert" => Some(Role::Expert),
            "author" => Some(Role::Author),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }

    /// Whether a token of this role may use a route that needs `required`.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Role> for assay_protocol::TokenRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Expert => Self::Expert,
            Role::Author => Self::Author,
            Role::Operator => Self::Operator,
        }
    }
}

/// Prefix of every token the platform issues (helps secret scanners).
pub const TOKEN_PREFIX: &str = "asy_";

/// Rounds of salted SHA-256 for password verifiers. The reference platform
/// has no password-hashing crate in its dependency set; a production
/// deployment would use Argon2id behind the same two functions.
const PASSWORD_ROUNDS: u32 = 20_000;

/// A fresh random bearer token.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random salt (hex).
pub fn generate_salt() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Password verifier for `password` under `salt`.
pub fn hash_password(salt: &str, password: &str) -> String {
    let mut digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(password.as_bytes())
        .finalize();
    for _ in 1..PASSWORD_ROUNDS {
        digest = Sha256::new()
            .chain_update(digest)
            .chain_update(salt.as_bytes())
            .finalize();
    }
    hex::encode(digest)
}

/// Constant-time comparison of two hex strings.
pub fn verify_password(salt: &str, password: &str, expected_hash: &str) -> bool {
    let actual = hash_password(salt, password);
    actual.len() == expected_hash.len()
        && actual
            .bytes()
            .zip(expected_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether `s` looks like a lower-case hex sha256.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Operator.allows(Role::Author));
        assert!(Role::Operator.allows(Role::Expert));
        assert!(Role::Author.allows(Role::Expert));
        assert!(!Role::Author.allows(Role::Operator));
        assert!(!Role::Expert.allows(Role::Author));
        for r in [Role::Expert, Role::Author, Role::Operator] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn passwords_verify_only_with_the_right_secret() {
        let salt = generate_salt();
        let h = hash_password(&salt, "demo");
        assert!(verify_password(&salt, "demo", &h));
        assert!(!verify_password(&salt, "Demo", &h));
        assert!(!verify_password("other", "demo", &h));
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(token_hash(&a), token_hash(&a));
        assert!(is_sha256_hex(&token_hash(&a)));
        assert!(!is_sha256_hex("../etc/passwd"));
    }
}
