//! `assay://` links (from a browser, a mail, another app): the only forms the
//! app opens, checked strictly before anything acts on them. A link never
//! carries a token: sign-in links carry a one-time code the platform
//! exchanges for one.

use serde::Serialize;
use ts_rs::TS;

/// The URL scheme Assay registers with the OS.
pub const SCHEME: &str = "assay";

/// The longest link accepted, in bytes.
pub const MAX_LINK_LEN: usize = 512;

/// The longest assignment id accepted.
const MAX_ID_LEN: usize = 128;

/// Bounds of a one-time sign-in code.
const MIN_CODE_LEN: usize = 16;
const MAX_CODE_LEN: usize = 128;

/// A link the app acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum DeepLink {
    /// `assay://assignment/ID`: open this assignment.
    Assignment {
        /// The assignment id (1 to 128 letters, digits, `-` or `_`).
        id: String,
    },
    /// `assay://signin?platform=URL&code=CODE`: sign in to `platform` with a
    /// one-time code (after the reviewer confirms the platform).
    SignIn {
        /// The platform's base URL, validated.
        platform: String,
        /// The one-time sign-in code.
        code: String,
    },
}

/// Why a link was refused. Each names the problem; nothing acts on a
/// refused link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The link is longer than `MAX_LINK_LEN` characters.
    #[error("the link is {len} characters long; at most {max} are accepted", max = MAX_LINK_LEN)]
    TooLong {
        /// Characters the link has.
        len: usize,
    },
    /// Spaces, quotes, angle brackets, backslashes or control characters.
    #[error("the link contains characters an Assay link never has (spaces, quotes, angle brackets, backslashes or control characters)")]
    BadCharacters,
    /// A `..` path segment.
    #[error("the link climbs out of its path (`..`)")]
    PathTraversal,
    /// The scheme is not `assay://`.
    #[error("not an assay:// link")]
    NotAssay,
    /// The URL does not parse, or gives a user, password or port; why.
    #[error("the link is malformed ({0})")]
    Malformed(String),
    /// A path other than `assignment/ID` or `signin`; the path given.
    #[error("Assay opens only assay://assignment/ID and assay://signin links, not `{0}`")]
    UnknownPath(String),
    /// The assignment id is empty, too long or has other characters than letters, digits, `-` and `_`.
    #[error("the assignment id in the link is not valid (1 to {max} letters, digits, '-' or '_')", max = MAX_ID_LEN)]
    BadAssignmentId,
    /// The sign-in code is too short, too long or has other characters than letters, digits, `-` and `_`.
    #[error("the sign-in code in the link is not valid ({min} to {max} letters, digits, '-' or '_')", min = MIN_CODE_LEN, max = MAX_CODE_LEN)]
    BadCode,
    /// The `platform` parameter is not an http(s) URL Assay accepts; why.
    #[error("the platform address in the link is not valid: {0}")]
    BadPlatform(String),
    /// A query parameter the link kind does not take; its name.
    #[error("the link has a parameter Assay does not accept: `{0}`")]
    UnknownParameter(String),
    /// A query parameter given twice; its name.
    #[error("the link gives `{0}` more than once")]
    RepeatedParameter(String),
    /// A required query parameter is missing; its name.
    #[error("the link lacks its `{0}` parameter")]
    MissingParameter(&'static str),
    /// The link carries a `token` (or similar) parameter: never accepted.
    #[error("the link carries a token; Assay never takes a token from a link (sign-in links carry a one-time code)")]
    TokenInLink,
}

impl From<LinkError> for crate::AppError {
    fn from(e: LinkError) -> Self {
        crate::AppError::invalid(format!("This link was refused: {e}. Nothing was changed."))
    }
}

fn id_like(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `arg` (a command-line argument, as the OS passes a link) is meant
/// as an Assay link, valid or not.
pub fn looks_like_link(arg: &str) -> bool {
    arg.get(..SCHEME.len() + 1)
        .is_some_and(|head| head.eq_ignore_ascii_case("assay:"))
}

/// Parses and checks an `assay://` link.
pub fn parse_link(raw: &str) -> Result<DeepLink, LinkError> {
    if raw.len() > MAX_LINK_LEN {
        return Err(LinkError::TooLong { len: raw.len() });
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'))
    {
        return Err(LinkError::BadCharacters);
    }
    // Also caught encoded: `%2e%2e`.
    if raw.contains("..") || raw.to_ascii_lowercase().contains("%2e") {
        return Err(LinkError::PathTraversal);
    }
    let url = url::Url::parse(raw).map_err(|e| LinkError::Malformed(e.to_string()))?;
    if url.scheme() != SCHEME {
        return Err(LinkError::NotAssay);
    }
    if !url.username().is_empty() || url.password().is_some() || url.port().is_some() {
        return Err(LinkError::Malformed("user, password or port given".into()));
    }
    if url.fragment().is_some() {
        return Err(LinkError::Malformed("a `#` fragment".into()));
    }
    let host = url.host_str().unwrap_or_default();
    let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    let params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if params
        .iter()
        .any(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "token" | "access_token"))
    {
        return Err(LinkError::TokenInLink);
    }
    match host {
        "assignment" => {
            if let Some((k, _)) = params.first() {
                return Err(LinkError::UnknownParameter(k.clone()));
            }
            match segments.as_slice() {
                [id] if id_like(id, 1, MAX_ID_LEN) => Ok(DeepLink::Assignment {
                    id: (*id).to_string(),
                }),
                _ => Err(LinkError::BadAssignmentId),
            }
        }
        "signin" => {
            if !segments.is_empty() {
                return Err(LinkError::UnknownPath(format!("signin{}", url.path())));
            }
            let (mut platform, mut code) = (None, None);
            for (k, v) in params {
                let slot = match k.as_str() {
                    "platform" => &mut platform,
                    "code" => &mut code,
                    _ => return Err(LinkError::UnknownParameter(k.clone())),
                };
                if slot.replace(v).is_some() {
                    return Err(LinkError::RepeatedParameter(k));
                }
            }
            let code = code.ok_or(LinkError::MissingParameter("code"))?;
            if !id_like(&code, MIN_CODE_LEN, MAX_CODE_LEN) {
                return Err(LinkError::BadCode);
            }
            let platform = platform.ok_or(LinkError::MissingParameter("platform"))?;
            let platform = check_platform(&platform)?;
            Ok(DeepLink::SignIn { platform, code })
        }
        other => {
            let shown: String = other.chars().take(40).collect();
            Err(LinkError::UnknownPath(shown))
        }
    }
}

/// The platform of a sign-in link: an http(s) address with a host and
/// nothing else (no user, query or fragment); returned without a trailing `/`.
fn check_platform(raw: &str) -> Result<String, LinkError> {
    let url = url::Url::parse(raw).map_err(|e| LinkError::BadPlatform(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LinkError::BadPlatform("only http and https".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(LinkError::BadPlatform("no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(LinkError::BadPlatform(
            "a user or password in the address".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(LinkError::BadPlatform("a query or fragment".into()));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl crate::Workbench {
    /// Signs in with the one-time code of an `assay://signin` link: asks the
    /// reviewer to confirm the platform (nothing is sent before), exchanges
    /// the code for a token of its own, then signs in as with a token (the
    /// token goes to the OS keyring).
    pub async fn sign_in_with_code(
        &self,
        platform_url: &str,
        code: &str,
    ) -> crate::AppResult<crate::SessionInfo> {
        let url = check_platform(platform_url)?;
        if !id_like(code, MIN_CODE_LEN, MAX_CODE_LEN) {
            return Err(LinkError::BadCode.into());
        }
        self.confirm_platform(&url, crate::SignInWith::LinkCode)
            .await?;
        let token = crate::signin::exchange_code(&url, code).await?;
        self.sign_in_confirmed(&url, &token).await
    }
}

/// What became of a link the OS handed to the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[ts(export)]
pub enum LinkOutcome {
    /// Act on it (open the assignment, confirm and sign in).
    Open {
        /// The parsed, validated link.
        link: DeepLink,
    },
    /// Refused; `message` says why (shown to the reviewer).
    Refused {
        /// Why the link was refused, in words for the reviewer.
        message: String,
    },
}

/// Links received (at launch, or passed on by a second launch) and not yet
/// taken by the UI. Bounded: a flood of links keeps only the newest.
#[derive(Debug, Default)]
pub struct LinkInbox {
    pending: std::sync::Mutex<std::collections::VecDeque<LinkOutcome>>,
}

/// How many links wait at most.
pub const MAX_PENDING_LINKS: usize = 8;

impl LinkInbox {
    /// Checks `raw` and queues the outcome (a refusal is queued too, so the
    /// reviewer learns why nothing opened).
    pub fn push(&self, raw: &str) -> LinkOutcome {
        let outcome = match parse_link(raw) {
            Ok(link) => LinkOutcome::Open { link },
            Err(e) => {
                tracing::warn!(error = %e, "refused an assay:// link");
                LinkOutcome::Refused {
                    message: crate::AppError::from(e).message,
                }
            }
        };
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.len() == MAX_PENDING_LINKS {
            pending.pop_front();
        }
        pending.push_back(outcome.clone());
        outcome
    }

    /// Queues every argument that is meant as a link; how many there were.
    pub fn push_args<I: IntoIterator<Item = String>>(&self, args: I) -> usize {
        let mut queued = 0;
        for arg in args.into_iter().filter(|a| looks_like_link(a)) {
            self.push(&arg);
            queued += 1;
        }
        queued
    }

    /// The waiting links, oldest first; the inbox is empty afterwards.
    pub fn take(&self) -> Vec<LinkOutcome> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_an_assignment() {
        assert_eq!(
            parse_link("assay://assignment/asg-00012_b"),
            Ok(DeepLink::Assignment {
                id: "asg-00012_b".into()
            })
        );
        assert_eq!(
            parse_link("assay://assignment/asg-1/"),
            Ok(DeepLink::Assignment { id: "asg-1".into() })
        );
    }

    #[test]
    fn starts_sign_in_with_a_code() {
        let link = "assay://signin?platform=https%3A%2F%2Fwork.example.org%3A8443%2F&code=abcdEFGH12345678_-";
        assert_eq!(
            parse_link(link),
            Ok(DeepLink::SignIn {
                platform: "https://work.example.org:8443".into(),
                code: "abcdEFGH12345678_-".into()
            })
        );
        // Unencoded is fine too.
        assert!(
            parse_link("assay://signin?platform=http://127.0.0.1:8787&code=0123456789abcdef")
                .is_ok()
        );
    }

    #[test]
    fn refuses_traversal_overlong_and_script() {
        assert_eq!(parse_link("assay://../../"), Err(LinkError::PathTraversal));
        assert_eq!(
            parse_link("assay://assignment/..%2F..%2Fetc"),
            Err(LinkError::PathTraversal)
        );
        assert_eq!(
            parse_link("assay://assignment/%2e%2e"),
            Err(LinkError::PathTraversal)
        );
        let long = format!("assay://assignment/{}", "a".repeat(MAX_LINK_LEN));
        assert_eq!(
            parse_link(&long),
            Err(LinkError::TooLong { len: long.len() })
        );
        assert_eq!(
            parse_link("assay://signin?platform=http://x&code=<script>alert(1)</script>"),
            Err(LinkError::BadCharacters)
        );
        assert_eq!(
            parse_link("assay://signin?platform=javascript:alert(1)&code=0123456789abcdef"),
            Err(LinkError::BadPlatform("only http and https".into()))
        );
        assert_eq!(
            parse_link("assay://assignment/javascript:alert(1)"),
            Err(LinkError::BadAssignmentId)
        );
        assert_eq!(
            parse_link("assay://assignment/%3Cscript%3E"),
            Err(LinkError::BadAssignmentId)
        );
        assert_eq!(
            parse_link("assay://assignment/a b"),
            Err(LinkError::BadCharacters)
        );
        assert_eq!(
            parse_link("assay://assignment/a\u{0}b"),
            Err(LinkError::BadCharacters)
        );
    }

    #[test]
    fn refuses_unknown_forms_and_tokens() {
        assert!(matches!(
            parse_link("assay://settings/delete-all"),
            Err(LinkError::UnknownPath(_))
        ));
        assert_eq!(parse_link("https://assignment/x"), Err(LinkError::NotAssay));
        assert_eq!(
            parse_link("assay://signin?platform=http://x&token=secret"),
            Err(LinkError::TokenInLink)
        );
        assert_eq!(
            parse_link("assay://signin?platform=http://x&code=short"),
            Err(LinkError::BadCode)
        );
        assert_eq!(
            parse_link("assay://signin?code=0123456789abcdef"),
            Err(LinkError::MissingParameter("platform"))
        );
        assert_eq!(
            parse_link(
                "assay://signin?platform=http://x&code=0123456789abcdef&code=0123456789abcdeg"
            ),
            Err(LinkError::RepeatedParameter("code".into()))
        );
        assert_eq!(
            parse_link("assay://assignment/a1?open=1"),
            Err(LinkError::UnknownParameter("open".into()))
        );
        assert_eq!(
            parse_link("assay://assignment/a1/b2"),
            Err(LinkError::BadAssignmentId)
        );
        assert_eq!(
            parse_link("assay://assignment/a1#x"),
            Err(LinkError::Malformed("a `#` fragment".into()))
        );
        assert_eq!(
            parse_link("assay://signin?platform=http://u:p@x&code=0123456789abcdef"),
            Err(LinkError::BadPlatform(
                "a user or password in the address".into()
            ))
        );
    }

    #[test]
    fn refused_links_become_invalid_errors_that_say_nothing_changed() {
        let e: crate::AppError = LinkError::BadCode.into();
        assert_eq!(e.code, crate::ErrorCode::Invalid);
        assert!(e.message.contains("Nothing was changed"), "{}", e.message);
    }

    #[test]
    fn inbox_queues_links_and_refusals_bounded() {
        let inbox = LinkInbox::default();
        let n = inbox.push_args(
            [
                "/usr/bin/assay-desktop",
                "--verbose",
                "assay://assignment/a1",
                "assay://../../",
            ]
            .map(String::from),
        );
        assert_eq!(n, 2);
        let taken = inbox.take();
        assert_eq!(
            taken[0],
            LinkOutcome::Open {
                link: DeepLink::Assignment { id: "a1".into() }
            }
        );
        assert!(
            matches!(&taken[1], LinkOutcome::Refused { message } if message.contains("climbs out")),
            "{taken:?}"
        );
        assert!(inbox.take().is_empty());
        for i in 0..20 {
            inbox.push(&format!("assay://assignment/a{i}"));
        }
        let taken = inbox.take();
        assert_eq!(taken.len(), MAX_PENDING_LINKS);
        assert_eq!(
            taken.last(),
            Some(&LinkOutcome::Open {
                link: DeepLink::Assignment { id: "a19".into() }
            })
        );
    }

    #[test]
    fn recognises_link_arguments() {
        assert!(looks_like_link("assay://assignment/x"));
        assert!(looks_like_link("ASSAY:foo"));
        assert!(!looks_like_link("--flag"));
        assert!(!looks_like_link("assay"));
        assert!(!looks_like_link("é"));
        assert!(!looks_like_link("assayé://x"));
    }
}
