//! Typed HTTP client of the platform protocol (`/api/v1`).

use std::net::IpAddr;
use std::time::Duration;

use assay_protocol::*;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RANGE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::credentials::Token;
use crate::error::{Result, SyncError};

/// Client of one platform. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct PlatformClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Token>,
}

impl std::fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parse `Retry-After` (delta-seconds form; HTTP dates are treated as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Map a non-success response to a [`SyncError`].
pub(crate) async fn error_from(resp: Response) -> SyncError {
    let status = resp.status();
    let ra = retry_after(resp.headers());
    if status == StatusCode::UNAUTHORIZED {
        return SyncError::Unauthorized;
    }
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        return SyncError::Server {
            status: status.as_u16(),
            retry_after: ra,
        };
    }
    let body = resp.bytes().await.unwrap_or_default();
    let error = serde_json::from_slice::<ApiError>(&body).unwrap_or_else(|_| {
        ApiError::new(
            ApiErrorCode::BadRequest,
            format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
        )
    });
    SyncError::Rejected {
        status: status.as_u16(),
        error,
    }
}

impl PlatformClient {
    /// A client for the platform at `base_url` (e.g. `https://platform.example`).
    /// Plain `http` is refused unless the host is loopback.
    pub fn new(base_url: &str) -> Result<Self> {
        let mut base = Url::parse(base_url).map_err(|e| SyncError::InvalidUrl(e.to_string()))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => {
                return Err(SyncError::InvalidUrl(format!(
                    "{base_url}: plain http is only allowed to localhost; use https"
                )))
            }
            other => {
                return Err(SyncError::InvalidUrl(format!(
                    "{base_url}: unsupported scheme {other}"
                )))
            }
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .user_agent(concat!("assay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Internal(e.to_string()))?;
        Ok(Self {
            http,
            base,
            token: None,
        })
    }

    /// The same client authenticated with `token`.
    pub fn with_token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    pub fn set_token(&mut self, token: Option<Token>) {
        self.token = token;
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn url(&self, path: &str) -> Result<Url> {
        let rel = format!("{}{path}", API_PREFIX.trim_start_matches('/'));
        self.base
            .join(&rel)
            .map_err(|e| SyncError::InvalidUrl(e.to_string()))
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        let mut rb = self.http.request(method, self.url(path)?);
        if let Some(t) = &self.token {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                .map_err(|_| SyncError::Internal("token is not a valid header value".into()))?;
            v.set_sensitive(true);
            rb = rb.header(AUTHORIZATION, v);
        }
        Ok(rb)
    }

    async fn send(rb: RequestBuilder) -> Result<Response> {
        let resp = rb.send().await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_from(resp).await)
        }
    }

    /// Read the whole body (so truncation is an error) and decode it.
    async fn json<T: DeserializeOwned>(rb: RequestBuilder) -> Result<T> {
        let resp = Self::send(rb).await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Self::json(self.request(Method::GET, path)?).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T> {
        let mut rb = self.request(Method::POST, path)?.json(body);
        if let Some(k) = idempotency_key {
            rb = rb.header(IDEMPOTENCY_KEY_HEADER, k);
        }
        Self::json(rb).await
    }

    fn cursor_path(base: &str, since: Option<&str>, limit: Option<u32>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = since {
            q.append_pair("since", s);
        }
        if let Some(l) = limit {
            q.append_pair("limit", &l.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{q}")
        }
    }

    fn seg(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    // ------------------------------------------------------------ endpoints

    pub async fn health(&self) -> Result<Health> {
        self.get("/health").await
    }

    /// Exchange e-mail and password for a token (store it with [`crate::Credentials`]).
    pub async fn login(&self, req: &LoginRequest) -> Result<TokenResponse> {
        self.post("/auth/login", req, None).await
    }

    /// Revoke the current token on the platform.
    pub async fn logout(&self) -> Result<()> {
        Self::send(self.request(Method::DELETE, "/auth/tokens/current")?).await?;
        Ok(())
    }

    pub async fn me(&self) -> Result<ExpertProfile> {
        self.get("/me").await
    }

    pub async fn opportunities(&self) -> Result<OpportunityList> {
        self.get("/opportunities").await
    }

    pub async fn assignments(
        &self,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AssignmentPage> {
        self.get(&Self::cursor_path("/assignments", since, limit))
            .await
    }

    pub async fn renew_lease(&self, assignment_id: &str) -> Result<Lease> {
        self.post(
            &format!("/assignments/{}/lease", Self::seg(assignment_id)),
            &serde_json::json!({}),
            None,
        )
        .await
    }

    pub async fn release(&self, assignment_id: &str) -> Result<()> {
        let rb = self
            .request(
                Method::POST,
                &format!("/assignments/{}/release", Self::seg(assignment_id)),
            )?
            .json(&serde_json::json!({}));
        Self::send(rb).await?;
        Ok(())
    }

    pub async fn item(&self, item_id: &str) -> Result<ItemEnvelope> {
        self.get(&format!("/items/{}", Self::seg(item_id))).await
    }

    pub async fn rubric(&self, id: &str, version: u32) -> Result<RubricEnvelope> {
        self.get(&format!("/rubrics/{}/versions/{version}", Self::seg(id)))
            .await
    }

    /// Start downloading an attachment from byte `offset` (a `Range` request when > 0).
    pub async fn attachment(&self, sha256: &str, offset: u64) -> Result<Response> {
        let mut rb = self.request(Method::GET, &format!("/attachments/{}", Self::seg(sha256)))?;
        if offset > 0 {
            rb = rb.header(RANGE, format!("bytes={offset}-"));
        }
        let resp = rb.send().await?;
        if resp.status().is_success() || resp.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            Ok(resp)
        } else {
            Err(error_from(resp).await)
        }
    }

    /// Upload a submission; repeating the same key replays the original receipt.
    pub async fn submit(
        &self,
        req: &SubmissionRequest,
        idempotency_key: &str,
    ) -> Result<SubmissionReceipt> {
        self.post("/submissions", req, Some(idempotency_key)).await
    }

    /// Upload a senior review (idempotent by key).
    pub async fn review(
        &self,
        req: &ReviewRequest,
        idempotency_key: &str,
    ) -> Result<ReviewReceipt> {
        self.post("/reviews", req, Some(idempotency_key)).await
    }

    pub async fn outcomes(&self, since: Option<&str>, limit: Option<u32>) -> Result<OutcomePage> {
        self.get(&Self::cursor_path("/outcomes", since, limit))
            .await
    }

    pub async fn rate_card(&self) -> Result<RateCard> {
        self.get("/rate-card").await
    }

    pub async fn ledger(&self, since: Option<&str>, limit: Option<u32>) -> Result<LedgerPage> {
        self.get(&Self::cursor_path("/ledger", since, limit)).await
    }

    pub async fn payouts(&self) -> Result<PayoutList> {
        self.get("/payouts").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plain_http_except_loopback() {
        assert!(PlatformClient::new("https://platform.example").is_ok());
        assert!(PlatformClient::new("http://127.0.0.1:8080").is_ok());
        assert!(PlatformClient::new("http://[::1]:8080").is_ok());
        assert!(PlatformClient::new("http://localhost:1").is_ok());
        assert!(matches!(
            PlatformClient::new("http://platform.example"),
            Err(SyncError::InvalidUrl(_))
        ));
        assert!(matches!(
            PlatformClient::new("ftp://127.0.0.1"),
            Err(SyncError::InvalidUrl(_))
        ));
        assert!(PlatformClient::new("not a url").is_err());
    }

    #[test]
    fn urls_keep_base_path_and_escape_segments() {
        let c = PlatformClient::new("https://h.example/tenant").unwrap();
        assert_eq!(
            c.url("/items/a").unwrap().as_str(),
            "https://h.example/tenant/api/v1/items/a"
        );
        assert_eq!(PlatformClient::seg("a/../b"), "a%2F..%2Fb");
        assert_eq!(
            PlatformClient::cursor_path("/ledger", Some("x y"), Some(5)),
            "/ledger?since=x+y&limit=5"
        );
    }

    #[test]
    fn debug_redacts_token() {
        let c = PlatformClient::new("https://h.example")
            .unwrap()
            .with_token(Token::new("tok-secret"));
        assert!(!format!("{c:?}").contains("tok-secret"));
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
