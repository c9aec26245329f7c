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

/// Bounds on what one response may cost: bytes per route and time per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Feeds (assignments, outcomes, ledger), rubrics, reference data, receipts.
    pub json_max_bytes: u64,
    /// One item envelope (`GET /items/{id}`).
    pub item_max_bytes: u64,
    /// The body of an error response.
    pub error_max_bytes: u64,
    /// One attachment, whatever size the platform declares.
    pub attachment_max_bytes: u64,
    /// Disk space a download must leave free.
    pub keep_free_bytes: u64,
    /// Whole request (connect, headers, full body) of every JSON route.
    pub request_deadline: Duration,
    /// Whole download of one attachment.
    pub attachment_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            json_max_bytes: 16 << 20,
            item_max_bytes: 64 << 20,
            error_max_bytes: 64 << 10,
            attachment_max_bytes: 2 << 30,
            keep_free_bytes: 256 << 20,
            request_deadline: Duration::from_secs(60),
            attachment_deadline: Duration::from_secs(30 * 60),
        }
    }
}

/// Client of one platform. Cheap to clone (shares the connection pools).
#[derive(Clone)]
pub struct PlatformClient {
    conn: Connection,
    token: Option<Token>,
}

impl std::fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.conn
            .debug(f, "PlatformClient", "token", self.token.is_some())
    }
}

/// What every connector to a server holds: its HTTP clients, its base URL
/// and the limits it enforces.
#[derive(Clone)]
pub(crate) struct Connection {
    /// GET: follows same-origin redirects only.
    pub(crate) read: reqwest::Client,
    /// Everything else (uploads, sign-in): follows no redirects.
    pub(crate) write: reqwest::Client,
    /// The server's base URL (see [`parse_base`]).
    pub(crate) base: Url,
    /// Bounds on what one response may cost.
    pub(crate) limits: Limits,
}

impl Connection {
    /// A connection to the server at `base_url` (see [`parse_base`]), with
    /// the clients of [`http_pair`] and the default limits.
    pub(crate) fn new(base_url: &str) -> Result<Self> {
        let base = parse_base(base_url)?;
        let (read, write) = http_pair()?;
        Ok(Self {
            read,
            write,
            base,
            limits: Limits::default(),
        })
    }

    /// The client a request of `method` goes through: `read` for GET,
    /// `write` for everything else.
    pub(crate) fn http(&self, method: &Method) -> &reqwest::Client {
        if *method == Method::GET {
            &self.read
        } else {
            &self.write
        }
    }

    /// The `Debug` form of the connector `name`: its base URL, and its
    /// credential (named `secret`) only as `<redacted>` when it has one.
    pub(crate) fn debug(
        &self,
        f: &mut std::fmt::Formatter<'_>,
        name: &str,
        secret: &str,
        has_secret: bool,
    ) -> std::fmt::Result {
        f.debug_struct(name)
            .field("base", &self.base.as_str())
            .field(secret, &has_secret.then_some("<redacted>"))
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

/// Parse `Retry-After`: delta-seconds, or an HTTP date (a date in the past means now).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// `now + wait`, or the latest representable time when that overflows.
pub(crate) fn checked_later(
    now: chrono::DateTime<chrono::Utc>,
    wait: Duration,
) -> chrono::DateTime<chrono::Utc> {
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Largest part of an error message taken from the platform's `ApiError`.
const MAX_ERROR_MESSAGE_CHARS: usize = 500;

/// Map a non-success response to a [`SyncError`]. The body is read up to
/// `max` bytes; only a well-formed `ApiError` is quoted (shortened), never raw bytes.
pub(crate) async fn error_from(resp: Response, route: &'static str, max: u64) -> SyncError {
    let status = resp.status();
    if status.is_redirection() {
        return SyncError::Redirected {
            route,
            status: status.as_u16(),
            why: if route.starts_with("GET ") {
                "Assay follows redirects only within the platform's own origin"
            } else {
                "Assay follows no redirects on uploads; nothing was marked sent"
            },
        };
    }
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
            asked_until: ra.map(|d| checked_later(chrono::Utc::now(), d)),
        };
    }
    let body = read_capped(resp, route, max).await.unwrap_or_default();
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(mut error) => {
            if error.message.chars().count() > MAX_ERROR_MESSAGE_CHARS {
                error.message = error
                    .message
                    .chars()
                    .take(MAX_ERROR_MESSAGE_CHARS)
                    .collect::<String>()
                    + "…";
            }
            SyncError::Rejected {
                status: status.as_u16(),
                error,
            }
        }
        // Only the platform's own error document is a refusal for good; a
        // bare 4xx (a proxy, a broken or hostile server) is retried.
        Err(_) => SyncError::Protocol(format!(
            "HTTP {status} on {route} without the platform's error description"
        )),
    }
}

/// Read a whole body, refusing it as soon as it exceeds `max` bytes (by its
/// declared `Content-Length` or while streaming). A truncated body is an error.
pub(crate) async fn read_capped(
    mut resp: Response,
    route: &'static str,
    max: u64,
) -> Result<Vec<u8>> {
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(SyncError::TooLarge { route, limit: max });
    }
    // The announced length (within the cap) is reserved once, not grown to
    // chunk by chunk; a body longer than announced still stops at `max`.
    let announced = resp.content_length().unwrap_or(0).min(max);
    let mut buf = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await? {
        let len = u64::try_from(buf.len())
            .ok()
            .and_then(|n| n.checked_add(chunk.len() as u64));
        match len {
            Some(n) if n <= max => buf.extend_from_slice(&chunk),
            _ => return Err(SyncError::TooLarge { route, limit: max }),
        }
    }
    Ok(buf)
}

/// Same origin: scheme, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// The base URL of a platform: `https`, or plain `http` to loopback only;
/// always ending in `/` so relative routes keep its path.
pub(crate) fn parse_base(base_url: &str) -> Result<Url> {
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
    Ok(base)
}

/// The two HTTP clients every platform connector uses: reads follow
/// same-origin redirects only (at most 5), writes follow none.
fn http_pair() -> Result<(reqwest::Client, reqwest::Client)> {
    let builder = || {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .user_agent(concat!("assay/", env!("CARGO_PKG_VERSION")))
    };
    let read = builder()
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same = attempt
                .previous()
                .first()
                .is_some_and(|first| same_origin(first, attempt.url()));
            if same && attempt.previous().len() < 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .map_err(|e| SyncError::Internal(e.to_string()))?;
    let write = builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SyncError::Internal(e.to_string()))?;
    Ok((read, write))
}

impl PlatformClient {
    /// A client for the platform at `base_url` (e.g. `https://platform.example`).
    /// Plain `http` is refused unless the host is loopback.
    pub fn new(base_url: &str) -> Result<Self> {
        Ok(Self {
            conn: Connection::new(base_url)?,
            token: None,
        })
    }

    /// The same client with other size and time limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.conn.limits = limits;
        self
    }

    /// The size and time limits the client enforces.
    pub fn limits(&self) -> &Limits {
        &self.conn.limits
    }

    /// The same client authenticated with `token`.
    #[must_use]
    pub fn with_token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// Replace (or with `None`, drop) the token sent with requests.
    pub fn set_token(&mut self, token: Option<Token>) {
        self.token = token;
    }

    /// Whether requests carry a token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The platform's base URL, as configured.
    pub fn base_url(&self) -> &str {
        self.conn.base.as_str()
    }

    fn url(&self, path: &str) -> Result<Url> {
        let rel = format!("{}{path}", API_PREFIX.trim_start_matches('/'));
        self.conn
            .base
            .join(&rel)
            .map_err(|e| SyncError::InvalidUrl(e.to_string()))
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        let mut rb = self.conn.http(&method).request(method, self.url(path)?);
        if let Some(t) = &self.token {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                .map_err(|_| SyncError::Internal("token is not a valid header value".into()))?;
            v.set_sensitive(true);
            rb = rb.header(AUTHORIZATION, v);
        }
        Ok(rb)
    }

    async fn send(&self, rb: RequestBuilder, route: &'static str) -> Result<Response> {
        let resp = rb.send().await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_from(resp, route, self.conn.limits.error_max_bytes).await)
        }
    }

    /// Run `fut` within the request deadline.
    async fn deadline<T>(
        &self,
        route: &'static str,
        after: Duration,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(after, fut)
            .await
            .unwrap_or(Err(SyncError::Timeout { route, after }))
    }

    /// Send, read the whole body within `max` bytes (so truncation is an
    /// error) and decode it, all within the request deadline. Returns the
    /// response headers too.
    async fn json_with_headers<T: DeserializeOwned>(
        &self,
        rb: RequestBuilder,
        route: &'static str,
        max: u64,
    ) -> Result<(T, HeaderMap)> {
        let (bytes, headers) = self.body(rb, route, max).await?;
        let v = serde_json::from_slice(&bytes).map_err(|e| SyncError::malformed(route, &e))?;
        Ok((v, headers))
    }

    /// Sends `rb` and reads the answer's body, at most `max` bytes, all
    /// within the request deadline; with the answer's headers.
    async fn body(
        &self,
        rb: RequestBuilder,
        route: &'static str,
        max: u64,
    ) -> Result<(Vec<u8>, HeaderMap)> {
        self.deadline(route, self.conn.limits.request_deadline, async {
            let resp = self.send(rb, route).await?;
            let headers = resp.headers().clone();
            Ok((read_capped(resp, route, max).await?, headers))
        })
        .await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        rb: RequestBuilder,
        route: &'static str,
        max: u64,
    ) -> Result<T> {
        Ok(self.json_with_headers(rb, route, max).await?.0)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, route: &'static str) -> Result<T> {
        self.json(
            self.request(Method::GET, path)?,
            route,
            self.conn.limits.json_max_bytes,
        )
        .await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        route: &'static str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<(T, HeaderMap)> {
        let mut rb = self.request(Method::POST, path)?.json(body);
        if let Some(k) = idempotency_key {
            rb = rb.header(IDEMPOTENCY_KEY_HEADER, k);
        }
        self.json_with_headers(rb, route, self.conn.limits.json_max_bytes)
            .await
    }

    /// POST an upload with its idempotency key; its receipt (whose
    /// assignment `receipt_assignment` names) is checked against the key and
    /// `sent_assignment` (see [`Self::check_receipt`]).
    async fn upload<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        route: &'static str,
        req: &B,
        idempotency_key: &str,
        sent_assignment: &str,
        receipt_assignment: impl Fn(&T) -> &str,
    ) -> Result<T> {
        let (r, headers): (T, _) = self.post(path, route, req, Some(idempotency_key)).await?;
        Self::check_receipt(
            &headers,
            idempotency_key,
            sent_assignment,
            receipt_assignment(&r),
        )?;
        Ok(r)
    }

    /// An upload's receipt must echo the idempotency key it was sent with
    /// (the `Idempotency-Key` response header) and name the same assignment.
    fn check_receipt(
        headers: &HeaderMap,
        key: &str,
        sent_assignment: &str,
        got_assignment: &str,
    ) -> Result<()> {
        match headers.get(IDEMPOTENCY_KEY_HEADER) {
            Some(echo) if echo.as_bytes() == key.as_bytes() => {}
            Some(_) => {
                return Err(SyncError::ReceiptMismatch(format!(
                    "it answers another idempotency key than {key}"
                )))
            }
            None => {
                return Err(SyncError::ReceiptMismatch(format!(
                    "it does not echo the idempotency key {key}"
                )))
            }
        }
        if got_assignment != sent_assignment {
            return Err(SyncError::ReceiptMismatch(format!(
                "the upload was for assignment {sent_assignment}, the receipt names another one"
            )));
        }
        Ok(())
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

    /// `GET /health`: whether the platform answers, and its protocol version.
    pub async fn health(&self) -> Result<Health> {
        self.get("/health", "GET /health").await
    }

    /// Exchange e-mail and password for a token (store it with [`crate::Credentials`]).
    pub async fn login(&self, req: &LoginRequest) -> Result<TokenResponse> {
        Ok(self
            .post("/auth/login", "POST /auth/login", req, None)
            .await?
            .0)
    }

    /// issue 18: exchange a one-time sign-in code (from an `assay://signin`
    /// link) for a token of its own (store it with [`crate::Credentials`]).
    pub async fn exchange_signin_code(&self, req: &SigninCodeExchange) -> Result<TokenResponse> {
        Ok(self
            .post(
                "/auth/signin-codes/exchange",
                "POST /auth/signin-codes/exchange",
                req,
                None,
            )
            .await?
            .0)
    }

    /// Revoke the current token on the platform.
    pub async fn logout(&self) -> Result<()> {
        const ROUTE: &str = "DELETE /auth/tokens/current";
        self.deadline(ROUTE, self.conn.limits.request_deadline, async {
            self.send(self.request(Method::DELETE, "/auth/tokens/current")?, ROUTE)
                .await
        })
        .await?;
        Ok(())
    }

    /// `GET /me`: the signed-in expert's profile.
    pub async fn me(&self) -> Result<ExpertProfile> {
        self.get("/me", "GET /me").await
    }

    /// `GET /opportunities`: the opportunities open to the expert.
    pub async fn opportunities(&self) -> Result<OpportunityList> {
        self.get("/opportunities", "GET /opportunities").await
    }

    /// `GET /assignments`: one page of assignment changes after `since`.
    pub async fn assignments(
        &self,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AssignmentPage> {
        self.get(
            &Self::cursor_path("/assignments", since, limit),
            "GET /assignments",
        )
        .await
    }

    /// `POST /assignments/{id}/lease`: renew the lease; the new expiry.
    pub async fn renew_lease(&self, assignment_id: &str) -> Result<Lease> {
        Ok(self
            .post(
                &format!("/assignments/{}/lease", Self::seg(assignment_id)),
                "POST /assignments/{id}/lease",
                &serde_json::json!({}),
                None,
            )
            .await?
            .0)
    }

    /// `POST /assignments/{id}/release`: hand the assignment back.
    pub async fn release(&self, assignment_id: &str) -> Result<()> {
        let rb = self
            .request(
                Method::POST,
                &format!("/assignments/{}/release", Self::seg(assignment_id)),
            )?
            .json(&serde_json::json!({}));
        const ROUTE: &str = "POST /assignments/{id}/release";
        self.deadline(
            ROUTE,
            self.conn.limits.request_deadline,
            self.send(rb, ROUTE),
        )
        .await?;
        Ok(())
    }

    /// `GET /items/{id}`: the item (all fields; scope it before storing).
    pub async fn item(&self, item_id: &str) -> Result<ItemEnvelope> {
        self.json(
            self.request(Method::GET, &format!("/items/{}", Self::seg(item_id)))?,
            "GET /items/{id}",
            self.conn.limits.item_max_bytes,
        )
        .await
    }

    /// An item envelope as raw JSON (size-capped, depth-limited by the parser),
    /// so the caller can drop hidden fields before decoding it.
    pub async fn item_raw(&self, item_id: &str) -> Result<serde_json::Value> {
        self.json(
            self.request(Method::GET, &format!("/items/{}", Self::seg(item_id)))?,
            "GET /items/{id}",
            self.conn.limits.item_max_bytes,
        )
        .await
    }

    /// An item envelope's bytes as the platform sent them (size-capped,
    /// within the request deadline), for the engine to decode straight into
    /// the scoped item (hidden fields skipped unparsed).
    pub async fn item_bytes(&self, item_id: &str) -> Result<Vec<u8>> {
        let rb = self.request(Method::GET, &format!("/items/{}", Self::seg(item_id)))?;
        Ok(self
            .body(rb, "GET /items/{id}", self.conn.limits.item_max_bytes)
            .await?
            .0)
    }

    /// `GET /rubrics/{id}/versions/{version}`: one rubric version.
    pub async fn rubric(&self, id: &str, version: u32) -> Result<RubricEnvelope> {
        self.get(
            &format!("/rubrics/{}/versions/{version}", Self::seg(id)),
            "GET /rubrics/{id}/versions/{version}",
        )
        .await
    }

    /// Start downloading an attachment from byte `offset` (a `Range` request when > 0).
    /// The caller streams the body within [`Limits::attachment_deadline`].
    pub async fn attachment(&self, sha256: &str, offset: u64) -> Result<Response> {
        let mut rb = self.request(Method::GET, &format!("/attachments/{}", Self::seg(sha256)))?;
        if offset > 0 {
            rb = rb.header(RANGE, format!("bytes={offset}-"));
        }
        let resp = rb.send().await?;
        if resp.status().is_success() || resp.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            Ok(resp)
        } else {
            Err(error_from(
                resp,
                Self::ATTACHMENT_ROUTE,
                self.conn.limits.error_max_bytes,
            )
            .await)
        }
    }

    pub(crate) const ATTACHMENT_ROUTE: &'static str = "GET /attachments/{sha256}";

    /// Upload a submission; repeating the same key replays the original receipt.
    pub async fn submit(
        &self,
        req: &SubmissionRequest,
        idempotency_key: &str,
    ) -> Result<SubmissionReceipt> {
        self.upload(
            "/submissions",
            "POST /submissions",
            req,
            idempotency_key,
            &req.assignment_id,
            |r: &SubmissionReceipt| &r.assignment_id,
        )
        .await
    }

    /// Upload a senior review (idempotent by key).
    pub async fn review(
        &self,
        req: &ReviewRequest,
        idempotency_key: &str,
    ) -> Result<ReviewReceipt> {
        let r = self
            .upload(
                "/reviews",
                "POST /reviews",
                req,
                idempotency_key,
                &req.assignment_id,
                |r: &ReviewReceipt| &r.assignment_id,
            )
            .await?;
        if r.submission_id != req.submission_id {
            return Err(SyncError::ReceiptMismatch(format!(
                "the review was of submission {}, the receipt names another one",
                req.submission_id
            )));
        }
        Ok(r)
    }

    /// `GET /outcomes`: one page of review outcome changes after `since`.
    pub async fn outcomes(&self, since: Option<&str>, limit: Option<u32>) -> Result<OutcomePage> {
        self.get(
            &Self::cursor_path("/outcomes", since, limit),
            "GET /outcomes",
        )
        .await
    }

    /// `GET /rate-card`: the rates of the expert's opportunities.
    pub async fn rate_card(&self) -> Result<RateCard> {
        self.get("/rate-card", "GET /rate-card").await
    }

    /// `GET /ledger`: one page of ledger changes after `since`.
    pub async fn ledger(&self, since: Option<&str>, limit: Option<u32>) -> Result<LedgerPage> {
        self.get(&Self::cursor_path("/ledger", since, limit), "GET /ledger")
            .await
    }

    /// `GET /auth/whoami`: the token's expert and role, and whether the
    /// platform lets it publish.
    pub async fn whoami(&self) -> Result<WhoAmI> {
        self.get("/auth/whoami", "GET /auth/whoami").await
    }

    /// `POST /author/rubrics/check`: what publishing this rubric file would
    /// do (lint findings, the version, whether it may be published); nothing
    /// is stored. An expert token gets `Rejected` with 403.
    pub async fn check_rubric(
        &self,
        text: &str,
        format: assay_rubric::Format,
    ) -> Result<RubricCheck> {
        self.rubric_post(
            "/author/rubrics/check",
            "POST /author/rubrics/check",
            text,
            format,
        )
        .await
    }

    /// `POST /author/rubrics`: publish a rubric file as its version. Lint
    /// errors come back as `Rejected` with 422 and every finding in
    /// `error.details.findings`.
    pub async fn publish_rubric(
        &self,
        text: &str,
        format: assay_rubric::Format,
    ) -> Result<RubricPublished> {
        self.rubric_post("/author/rubrics", "POST /author/rubrics", text, format)
            .await
    }

    /// A rubric file sent as text (at most the parser's limit, so nothing
    /// the platform must refuse is sent); the answer, and an error body with
    /// many findings, are read within the JSON limit and the deadline.
    async fn rubric_post<T: DeserializeOwned>(
        &self,
        path: &str,
        route: &'static str,
        text: &str,
        format: assay_rubric::Format,
    ) -> Result<T> {
        if text.len() > assay_rubric::parse::MAX_RUBRIC_BYTES {
            return Err(SyncError::TooLarge {
                route,
                limit: assay_rubric::parse::MAX_RUBRIC_BYTES as u64,
            });
        }
        let name = match format {
            assay_rubric::Format::Toml => "toml",
            assay_rubric::Format::Json => "json",
            assay_rubric::Format::Yaml => "yaml",
        };
        let rb = self
            .request(Method::POST, &format!("{path}?format={name}"))?
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(text.to_owned());
        let max = self.conn.limits.json_max_bytes;
        self.deadline(route, self.conn.limits.request_deadline, async {
            let resp = rb.send().await?;
            if !resp.status().is_success() {
                return Err(error_from(resp, route, max).await);
            }
            let bytes = read_capped(resp, route, max).await?;
            serde_json::from_slice(&bytes).map_err(|e| SyncError::malformed(route, &e))
        })
        .await
    }

    /// `GET /payouts`: the expert's payouts.
    pub async fn payouts(&self) -> Result<PayoutList> {
        self.get("/payouts", "GET /payouts").await
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
    fn receipts_must_echo_the_key_and_name_the_assignment() {
        let mut h = HeaderMap::new();
        let no_echo = PlatformClient::check_receipt(&h, "k1", "a1", "a1");
        assert!(matches!(no_echo, Err(SyncError::ReceiptMismatch(_))));
        h.insert(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_static("k2"));
        let other_key = PlatformClient::check_receipt(&h, "k1", "a1", "a1");
        assert!(
            matches!(other_key, Err(SyncError::ReceiptMismatch(m)) if m.contains("another idempotency key"))
        );
        h.insert(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_static("k1"));
        let other = PlatformClient::check_receipt(&h, "k1", "a1", "a2");
        assert!(matches!(other, Err(SyncError::ReceiptMismatch(m)) if m.contains("assignment a1")));
        PlatformClient::check_receipt(&h, "k1", "a1", "a1").unwrap();
    }

    #[test]
    fn absurd_retry_after_never_overflows() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("99999999999999"));
        let d = retry_after(&h).unwrap();
        let now = chrono::Utc::now();
        assert_eq!(
            checked_later(now, d),
            chrono::DateTime::<chrono::Utc>::MAX_UTC
        );
        assert_eq!(
            checked_later(now, Duration::MAX),
            chrono::DateTime::<chrono::Utc>::MAX_UTC
        );
        let soon = checked_later(now, Duration::from_secs(5));
        assert_eq!((soon - now).num_seconds(), 5);
    }

    #[test]
    fn malformed_json_errors_quote_no_content() {
        let e = serde_json::from_str::<u64>(r#""SECRET-42""#).unwrap_err();
        assert!(e.to_string().contains("SECRET-42"), "serde would quote it");
        let m = SyncError::malformed("GET /items/{id}", &e).to_string();
        assert!(!m.contains("SECRET"), "{m}");
        assert!(
            m.contains("GET /items/{id}") && m.contains("wrong shape"),
            "{m}"
        );
        let deep = "[".repeat(10_000);
        let e = serde_json::from_str::<serde_json::Value>(&deep).unwrap_err();
        let m = SyncError::malformed("GET /items/{id}", &e).to_string();
        assert!(m.contains("nested too deeply"), "{m}");
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
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a past date means now"
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
