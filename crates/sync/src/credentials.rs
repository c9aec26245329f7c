//! Platform token in the OS keyring (Secret Service, macOS Keychain, Windows
//! Credential Manager). The token is never written to disk or logs by Assay.

/// Keyring failures.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No keyring service is available (e.g. no Secret Service on the session bus).
    #[error("the OS keyring is unavailable: {0}")]
    Unavailable(String),
    /// The keyring refused or failed the operation.
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

impl From<keyring::Error> for CredentialsError {
    fn from(e: keyring::Error) -> Self {
        match e {
            keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => {
                Self::Unavailable(e.to_string())
            }
            other => Self::Failed(other.to_string()),
        }
    }
}

/// Tokens stored under one keyring service name (the app's identifier; tests
/// use their own so they never touch a user's real entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    service: String,
}

impl Credentials {
    /// Tokens kept in the OS keyring under `service`.
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_string(),
        }
    }

    /// The keyring service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, CredentialsError> {
        Ok(keyring::Entry::new(&self.service, account)?)
    }

    /// Store (or replace) the token of `account`.
    pub fn set_token(&self, account: &str, token: &str) -> Result<(), CredentialsError> {
        self.entry(account)?.set_password(token)?;
        tracing::info!(service = %self.service, account, "token stored in keyring");
        Ok(())
    }

    /// The token of `account`, or `None` if none is stored.
    pub fn get_token(&self, account: &str) -> Result<Option<Token>, CredentialsError> {
        match self.entry(account)?.get_password() {
            Ok(t) => Ok(Some(Token(t))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Delete the token of `account`; `false` if there was none.
    pub fn delete_token(&self, account: &str) -> Result<bool, CredentialsError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// A bearer token. `Debug` and `Display` are redacted so it cannot end up in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wrap a bearer token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
    /// The secret itself; only for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_redacted() {
        let t = Token::new("s3cr3t-value");
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert!(!format!("{t}").contains("s3cr3t"));
        assert_eq!(t.expose(), "s3cr3t-value");
    }
}
