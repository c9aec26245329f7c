//! Checking a platform and a token before signing in, with errors in words.
//! Nothing a server sends back is copied into an error: a sign-in to an
//! address that is not an Assay platform must not become a way to read that
//! address's replies.

use std::time::Duration;

use assay_protocol::{ExpertProfile, PROTOCOL_VERSION};
use assay_sync::{
    Connector, LabelStudioAuth, LabelStudioClient, PlatformClient, PlatformKind, SyncError, Token,
};

use crate::error::{AppError, ErrorCode};

/// How long the diagnosis of a failed connection may take.
const DIAGNOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the platform at `url` who `token` belongs to, and which kind of
/// platform it is: first Assay's public health route (no token sent), and
/// when that does not answer like Assay, Label Studio's public version route
/// (no token sent); then who the token belongs to.
pub(crate) async fn check_platform(
    url: &str,
    token: &str,
) -> Result<(ExpertProfile, PlatformKind), AppError> {
    let anonymous = PlatformClient::new(url).map_err(|e| invalid_url(url, &e))?;
    let health = match anonymous.health().await {
        Ok(h) => h,
        Err(e) => {
            let not_ours = health_error(url, e).await;
            // Not an Assay platform: is it a Label Studio server?
            if not_ours.message == not_assay(url).message {
                if let Ok(ls) = LabelStudioClient::new(url) {
                    if ls.probe().await.is_ok() {
                        let ls = ls.with_auth(LabelStudioAuth::from_token(Token::new(token)));
                        let me = who(url, Connector::from(ls)).await?;
                        return Ok((me, PlatformKind::LabelStudio));
                    }
                }
            }
            return Err(not_ours);
        }
    };
    check_version(url, &health.protocol_version)?;
    let client = anonymous.with_token(Token::new(token));
    Ok((
        who(url, Connector::from(client)).await?,
        PlatformKind::Assay,
    ))
}

/// Who `client`'s token belongs to, with errors in words.
async fn who(url: &str, client: Connector) -> Result<ExpertProfile, AppError> {
    match client.me().await {
        Ok(me) => Ok(me),
        Err(SyncError::Unauthorized) => Err(AppError::new(
            ErrorCode::Unauthenticated,
            format!(
                "{url} refused this access token: it is wrong, expired or revoked. \
                 Create a new token on the platform and paste it here."
            ),
        )),
        Err(SyncError::Rejected { status: 403, .. }) => Err(AppError::new(
            ErrorCode::Unauthenticated,
            format!("{url} does not let this token review (HTTP 403). Ask the platform for a reviewer token."),
        )),
        Err(e) => Err(other_error(url, e).await),
    }
}

// ---- issue 18: one-time sign-in codes ----

/// Exchanges the one-time `code` of an `assay://signin` link for a token of
/// the platform at `url` (after the same health and version check as a
/// token sign-in); the errors are worded as for a token.
pub(crate) async fn exchange_code(url: &str, code: &str) -> Result<String, AppError> {
    let anonymous = PlatformClient::new(url).map_err(|e| invalid_url(url, &e))?;
    let health = match anonymous.health().await {
        Ok(h) => h,
        Err(e) => return Err(health_error(url, e).await),
    };
    check_version(url, &health.protocol_version)?;
    let req = assay_protocol::SigninCodeExchange {
        code: code.to_string(),
        label: Some("Assay (sign-in link)".into()),
    };
    match anonymous.exchange_signin_code(&req).await {
        Ok(t) => Ok(t.token),
        Err(SyncError::Unauthorized) => Err(AppError::new(
            ErrorCode::Unauthenticated,
            format!(
                "{url} does not accept this sign-in link: its code is unknown, already used or expired. \
                 Ask the platform for a new link, or sign in with a token."
            ),
        )),
        Err(e) => Err(other_error(url, e).await),
    }
}

// ---- end issue 18 ----

fn invalid_url(url: &str, e: &SyncError) -> AppError {
    match e {
        SyncError::InvalidUrl(_) => AppError::invalid(format!(
            "{url} is not an address Assay can sign in to: use https:// (plain http only to this computer)."
        )),
        _ => AppError::internal(format!("cannot prepare a connection to {url}")),
    }
}

async fn health_error(url: &str, e: SyncError) -> AppError {
    match e {
        SyncError::Rejected { .. } | SyncError::Protocol(_) | SyncError::Unauthorized => {
            not_assay(url)
        }
        other => other_error(url, other).await,
    }
}

async fn other_error(url: &str, e: SyncError) -> AppError {
    match e {
        SyncError::Offline(_) => diagnose(url).await,
        SyncError::Server { status, .. } => AppError::new(
            ErrorCode::Offline,
            format!("{url} has a problem of its own (HTTP {status}); try again later."),
        ),
        SyncError::Timeout { .. } => AppError::new(
            ErrorCode::Offline,
            format!("Cannot reach {url}: it did not finish answering in time."),
        ),
        SyncError::Redirected { status, .. } => AppError::invalid(format!(
            "{url} sends the sign-in to another address (HTTP {status}), which Assay does not follow. Enter the platform's own address."
        )),
        SyncError::TooLarge { .. } => not_assay(url),
        SyncError::InvalidUrl(_) => invalid_url(url, &e),
        // Local failures (keyring, storage): their own words.
        SyncError::Storage(_) | SyncError::Credentials(_) => AppError::from(e),
        // Anything else came from the server's reply: logged here, never
        // repeated to the UI.
        other => {
            tracing::warn!(platform = %url, error = %other, "sign-in check failed");
            not_assay(url)
        }
    }
}

fn not_assay(url: &str) -> AppError {
    AppError::invalid(format!(
        "{url} does not answer like an Assay platform or a Label Studio server. Check the address (it is the platform's base URL, without /api/v1)."
    ))
}

/// The platform must speak the same major protocol version as this app.
fn check_version(url: &str, theirs: &str) -> Result<(), AppError> {
    let major = |v: &str| v.split('.').next().and_then(|m| m.parse::<u64>().ok());
    let ours = major(PROTOCOL_VERSION);
    let Some(their_major) = major(theirs) else {
        return Err(not_assay(url));
    };
    // Only a plain version number is repeated back; anything else is not.
    let shown = if theirs.len() <= 20 && theirs.chars().all(|c| c.is_ascii_digit() || c == '.') {
        theirs
    } else {
        "an unknown version"
    };
    match ours {
        Some(o) if their_major < o => Err(AppError::invalid(format!(
            "{url} runs an older Assay platform (protocol {shown}); this app needs protocol {PROTOCOL_VERSION}. Ask the platform's administrators to update it."
        ))),
        Some(o) if their_major > o => Err(AppError::invalid(format!(
            "{url} runs a newer Assay platform (protocol {shown}) than this app supports ({PROTOCOL_VERSION}). Update Assay."
        ))),
        _ => Ok(()),
    }
}

/// Why a connection to `url` failed, found by connecting once more (no
/// token, no body read) and reading the transport error's causes.
async fn diagnose(url: &str) -> AppError {
    let cannot_reach =
        |why: &str| AppError::new(ErrorCode::Offline, format!("Cannot reach {url}: {why}."));
    let Ok(client) = reqwest::Client::builder()
        .timeout(DIAGNOSE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        return cannot_reach("the connection failed");
    };
    let Err(err) = client.head(url).send().await else {
        // It answers now: the first attempt broke off midway.
        return cannot_reach("the connection broke off; try again");
    };
    transport_error(url, &err)
}

/// Words for a transport error, from its chain of causes.
fn transport_error(url: &str, err: &reqwest::Error) -> AppError {
    let mut causes = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        causes.push_str(&e.to_string().to_ascii_lowercase());
        causes.push('\n');
        cur = e.source();
    }
    let cannot_reach =
        |why: &str| AppError::new(ErrorCode::Offline, format!("Cannot reach {url}: {why}."));
    const TLS_WORDS: &[&str] = &["certificate", "tls", "handshake", "ssl", "corrupt message"];
    if TLS_WORDS.iter().any(|w| causes.contains(w)) {
        return AppError::invalid(format!(
            "The secure connection to {url} failed (TLS): its certificate is not trusted, has expired or does not match the address."
        ));
    }
    if err.is_timeout() || causes.contains("timed out") {
        return cannot_reach("it did not answer in time");
    }
    if causes.contains("dns") || causes.contains("lookup") || causes.contains("name or service") {
        return cannot_reach("no such host name (check the spelling and your network)");
    }
    if causes.contains("refused") {
        return cannot_reach("nothing is listening at that address and port");
    }
    cannot_reach("the connection failed (check the address and your network)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compared_by_major_and_only_numbers_are_repeated() {
        assert!(check_version("u", PROTOCOL_VERSION).is_ok());
        let old = check_version("u", "0.9").unwrap_err();
        assert!(old.message.contains("older"), "{old:?}");
        let new = check_version("u", "99.0.0").unwrap_err();
        assert!(new.message.contains("newer"), "{new:?}");
        let odd = check_version("u", "0.1 <secret>").unwrap_err();
        assert!(!odd.message.contains("secret"), "{odd:?}");
        let junk = check_version("u", "<html>").unwrap_err();
        assert!(junk
            .message
            .contains("does not answer like an Assay platform"));
    }
}
