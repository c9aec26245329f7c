//! HTTP client of Label Studio's REST API, speaking Assay's protocol types
//! to the sync engine (see the module docs of [`super`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assay_protocol::*;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Deserialize;
use serde_json::{json, Value};

use super::config::{config_version, LabelConfig};
use super::media::{self, PENDING_MEDIA};
use super::result::{from_results, to_results};
use crate::client::{error_from, read_capped, Connection, Limits};
use crate::credentials::Token;
use crate::error::{human_bytes, Result, SyncError};

/// Namespace of annotation `unique_id`s (`UUIDv5` of server, task, reviewer, upload key).
const UNIQUE_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5c1e_7a0d_4e2b_4f7a_9c33_a55a_7e57_0001);
/// Access tokens live 300 s; refresh a while before.
const ACCESS_REFRESH_AFTER: Duration = Duration::from_secs(240);
/// Page size of the project list.
const PROJECT_PAGE_SIZE: u32 = 100;
/// Most pages of the project list.
const MAX_PROJECT_PAGES: u32 = 1_000;
/// Label Studio has no leases: Assay shows tasks as held this long.
const NO_LEASE_DAYS: i64 = 365;
/// The data key of a task imported from a bare file (Label Studio's
/// `DATA_UNDEFINED_NAME`).
const UNDEFINED_DATA_KEY: &str = "$undefined$";
/// Longest message quoted from a Label Studio error.
const MAX_MESSAGE_CHARS: usize = 300;

/// How the reviewer authenticates.
#[derive(Clone)]
pub enum LabelStudioAuth {
    /// A legacy API token, sent as `Authorization: Token …`.
    Legacy(Token),
    /// A personal access token (a refresh JWT): exchanged for 300 s access
    /// tokens sent as `Bearer`.
    Personal(Token),
}

impl LabelStudioAuth {
    /// The kind of a pasted token by its shape: a JWT (three base64url parts,
    /// starting `eyJ`) is a personal access token, anything else a legacy one.
    pub fn from_token(token: Token) -> Self {
        let t = token.expose();
        let jwt = t.starts_with("eyJ") && t.contains('.');
        if jwt {
            Self::Personal(token)
        } else {
            Self::Legacy(token)
        }
    }
}

/// A downloaded image (bytes, media type, file name), or why it was not
/// downloaded.
type MediaOutcome = std::result::Result<(Vec<u8>, &'static str, String), String>;

/// A project as listed.
#[derive(Debug, Clone, Deserialize)]
struct Project {
    id: u64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    label_config: Option<String>,
    #[serde(default)]
    expert_instruction: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProjectPage {
    #[serde(default)]
    results: Vec<Project>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TaskPage {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    tasks: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct WhoAmI {
    id: u64,
    #[serde(default)]
    email: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

/// A project's config, parsed once per config text.
struct ParsedProject {
    xml: String,
    version: u32,
    title: String,
    config: std::result::Result<LabelConfig, String>,
    rubric: Option<assay_rubric::Rubric>,
}

/// Client of one Label Studio server. Cheap to clone.
#[derive(Clone)]
pub struct LabelStudioClient {
    conn: Connection,
    auth: Option<LabelStudioAuth>,
    access: Arc<tokio::sync::Mutex<Option<(String, Instant)>>>,
    me: Arc<tokio::sync::OnceCell<WhoAmI>>,
    projects: Arc<Mutex<HashMap<u64, Arc<ParsedProject>>>>,
}

impl std::fmt::Debug for LabelStudioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.conn
            .debug(f, "LabelStudioClient", "auth", self.auth.is_some())
    }
}

fn clip(s: &str) -> String {
    crate::text::clip(s, MAX_MESSAGE_CHARS)
}

/// The number in an Assay id `prefix{n}`.
fn id_number(id: &str, prefix: &str) -> Result<u64> {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| SyncError::Internal(format!("{id} is not a Label Studio {prefix}… id")))
}

pub(crate) fn task_id(n: u64) -> String {
    format!("ls-task-{n}")
}

pub(crate) fn project_id(n: u64) -> String {
    format!("ls-project-{n}")
}

/// A Label Studio error reply: only a JSON body is quoted (shortened);
/// an HTML page or other bytes are described, never repeated.
async fn ls_error(resp: Response, route: &'static str, max: u64) -> SyncError {
    let status = resp.status();
    if status.is_redirection()
        || status == StatusCode::UNAUTHORIZED
        || status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        return error_from(resp, route, max).await;
    }
    let body = read_capped(resp, route, max).await.unwrap_or_default();
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return SyncError::Protocol(format!(
            "HTTP {status} on {route}: Label Studio answered with something that is not JSON (an error page?)"
        ));
    };
    let detail = v
        .get("detail")
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| v.get("validation_errors").map(Value::to_string))
        .unwrap_or_else(|| v.to_string());
    let code = match status {
        StatusCode::BAD_REQUEST => ApiErrorCode::ValidationFailed,
        StatusCode::FORBIDDEN => ApiErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ApiErrorCode::NotFound,
        StatusCode::CONFLICT => ApiErrorCode::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE => ApiErrorCode::PayloadTooLarge,
        _ => ApiErrorCode::BadRequest,
    };
    SyncError::Rejected {
        status: status.as_u16(),
        error: ApiError::new(code, format!("Label Studio: {}", clip(&detail))),
    }
}

fn far_future() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::days(NO_LEASE_DAYS)
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// Text of a task-data value as Assay shows it.
fn as_text(tag: Option<&str>, v: &Value) -> String {
    match (tag, v) {
        (_, Value::String(s)) => s.clone(),
        (Some("Paragraphs"), Value::Array(items)) => items
            .iter()
            .map(|p| {
                let who = p
                    .get("author")
                    .or_else(|| p.get("speaker"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let text = p.get("text").and_then(Value::as_str).unwrap_or("");
                if who.is_empty() {
                    text.to_string()
                } else {
                    format!("{who}: {text}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
        (Some("Table"), Value::Object(rows)) => rows
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        (_, other) => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// Whether two result lists hold the same answers (order and extra keys
/// such as ids do not matter).
fn same_results(a: &[Value], b: &[Value]) -> bool {
    let key = |r: &Value| {
        (
            r.get("from_name").map(Value::to_string),
            r.get("to_name").map(Value::to_string),
            r.get("type").map(Value::to_string),
            r.get("value").map(Value::to_string),
        )
    };
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort();
    y.sort();
    x == y
}

impl LabelStudioClient {
    /// A client for the Label Studio server at `base_url` (https, or plain
    /// http to loopback only).
    pub fn new(base_url: &str) -> Result<Self> {
        Ok(Self {
            conn: Connection::new(base_url)?,
            auth: None,
            access: Arc::default(),
            me: Arc::default(),
            projects: Arc::default(),
        })
    }

    /// The same client authenticated with `auth`.
    #[must_use]
    pub fn with_auth(mut self, auth: LabelStudioAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The same client with other size and time limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.conn.limits = limits;
        self
    }

    /// The server's base URL, as configured.
    pub fn base_url(&self) -> &str {
        self.conn.base.as_str()
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.conn
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| SyncError::InvalidUrl(e.to_string()))
    }

    /// Exchange the personal access token for an access token.
    async fn refresh(&self, pat: &Token) -> Result<String> {
        const ROUTE: &str = "POST /api/token/refresh/";
        let rb = self
            .conn
            .write
            .post(self.url("api/token/refresh/")?)
            .json(&json!({ "refresh": pat.expose() }));
        let v: Value = self
            .fetch_json(rb, ROUTE, self.conn.limits.json_max_bytes)
            .await?;
        v.get("access")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty() && a.len() < 8192)
            .map(String::from)
            .ok_or_else(|| {
                SyncError::Protocol(format!("the answer to {ROUTE} has no access token"))
            })
    }

    /// The `Authorization` header value; `fresh` forces a new access token.
    async fn authorization(&self, fresh: bool) -> Result<Option<HeaderValue>> {
        let value = match &self.auth {
            None => return Ok(None),
            Some(LabelStudioAuth::Legacy(t)) => format!("Token {}", t.expose()),
            Some(LabelStudioAuth::Personal(pat)) => {
                let mut cached = self.access.lock().await;
                let usable = cached
                    .as_ref()
                    .filter(|(_, at)| !fresh && at.elapsed() < ACCESS_REFRESH_AFTER)
                    .map(|(a, _)| a.clone());
                let access = if let Some(a) = usable {
                    a
                } else {
                    let a = self.refresh(pat).await?;
                    *cached = Some((a.clone(), Instant::now()));
                    a
                };
                format!("Bearer {access}")
            }
        };
        let mut v = HeaderValue::from_str(&value)
            .map_err(|_| SyncError::Internal("token is not a valid header value".into()))?;
        v.set_sensitive(true);
        Ok(Some(v))
    }

    /// Send a request built by `build`, with authorization, within the
    /// deadline, and read its JSON body within `max` bytes. A 401 with a
    /// personal access token refreshes the access token and tries once more.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        route: &'static str,
        max: u64,
    ) -> Result<T> {
        let url = self.url(path)?;
        let personal = matches!(self.auth, Some(LabelStudioAuth::Personal(_)));
        let mut fresh = false;
        loop {
            let mut rb = self.conn.http(&method).request(method.clone(), url.clone());
            if let Some(h) = self.authorization(fresh).await? {
                rb = rb.header(AUTHORIZATION, h);
            }
            if let Some(b) = body {
                rb = rb.json(b);
            }
            match self.fetch_json(rb, route, max).await {
                Err(SyncError::Unauthorized) if personal && !fresh => fresh = true,
                other => return other,
            }
        }
    }

    async fn fetch_json<T: serde::de::DeserializeOwned>(
        &self,
        rb: RequestBuilder,
        route: &'static str,
        max: u64,
    ) -> Result<T> {
        let after = self.conn.limits.request_deadline;
        let work = async {
            let resp = rb.send().await?;
            if !resp.status().is_success() {
                return Err(ls_error(resp, route, self.conn.limits.error_max_bytes).await);
            }
            let bytes = read_capped(resp, route, max).await?;
            serde_json::from_slice(&bytes).map_err(|e| SyncError::malformed(route, &e))
        };
        tokio::time::timeout(after, work)
            .await
            .unwrap_or(Err(SyncError::Timeout { route, after }))
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        route: &'static str,
    ) -> Result<T> {
        self.call(
            Method::GET,
            path,
            None,
            route,
            self.conn.limits.json_max_bytes,
        )
        .await
    }

    // ------------------------------------------------------------ identity

    /// `GET /health`: whether a Label Studio answers at this address.
    pub async fn health(&self) -> Result<Health> {
        let v: Value = self.get("health", "GET /health").await?;
        if v.get("status").and_then(Value::as_str) != Some("UP") {
            return Err(SyncError::Protocol(
                "GET /health did not answer like Label Studio".into(),
            ));
        }
        Ok(Health {
            status: "ok".into(),
            protocol_version: PROTOCOL_VERSION.into(),
            platform_name: "Label Studio".into(),
        })
    }

    /// Whether `base_url` is a Label Studio server: its public
    /// `/api/version` names the Label Studio package.
    pub async fn probe(&self) -> Result<String> {
        let v: Value = self.get("api/version", "GET /api/version").await?;
        let release = v.get("release").and_then(Value::as_str);
        let package = v.get("label-studio-os-package").is_some()
            || v.get("label-studio-os-backend").is_some();
        match release {
            Some(r) if package => Ok(clip(r)),
            _ => Err(SyncError::Protocol(
                "GET /api/version did not answer like Label Studio".into(),
            )),
        }
    }

    async fn whoami(&self) -> Result<&WhoAmI> {
        self.me
            .get_or_try_init(|| async {
                self.get::<WhoAmI>("api/current-user/whoami", "GET /api/current-user/whoami")
                    .await
            })
            .await
    }

    /// The signed-in user as an expert profile.
    pub async fn me(&self) -> Result<ExpertProfile> {
        let me = self.whoami().await?;
        let name = format!("{} {}", me.first_name, me.last_name);
        let display_name = [name.trim(), me.username.as_str(), me.email.as_str()]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or("Label Studio user")
            .to_string();
        Ok(ExpertProfile {
            id: format!("ls-user-{}", me.id),
            email: me.email.clone(),
            display_name,
            expertise: Vec::new(),
            attestations: Vec::new(),
            senior_reviewer: false,
            timezone: "UTC".into(),
        })
    }

    // ------------------------------------------------------------ projects

    fn parsed(&self, p: &Project) -> Arc<ParsedProject> {
        let xml = p.label_config.clone().unwrap_or_default();
        let mut cache = self
            .projects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hit) = cache.get(&p.id).filter(|c| c.xml == xml) {
            return hit.clone();
        }
        let version = config_version(&xml);
        let title = p
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("Project {}", p.id));
        let config = LabelConfig::parse(&xml).map_err(|e| e.to_string());
        let rubric = config.as_ref().ok().map(|c| {
            c.to_rubric(
                &project_id(p.id),
                version,
                &title,
                p.expert_instruction.as_deref().unwrap_or(""),
            )
        });
        let parsed = Arc::new(ParsedProject {
            xml,
            version,
            title,
            config,
            rubric,
        });
        cache.insert(p.id, parsed.clone());
        parsed
    }

    /// Every project the user can see (paged by `next`; a 404 is the end).
    async fn projects(&self) -> Result<Vec<Project>> {
        let mut out = Vec::new();
        for page in 1..=MAX_PROJECT_PAGES {
            let path = format!("api/projects/?page={page}&page_size={PROJECT_PAGE_SIZE}");
            let p: ProjectPage = match self.get(&path, "GET /api/projects/").await {
                Ok(p) => p,
                Err(SyncError::Rejected { status: 404, .. }) if page > 1 => break,
                Err(e) => return Err(e),
            };
            let done = p.next.is_none() || p.results.is_empty();
            out.extend(p.results);
            if done {
                out.sort_by_key(|p| p.id);
                return Ok(out);
            }
        }
        Err(SyncError::Protocol(format!(
            "the project list did not end after {MAX_PROJECT_PAGES} pages"
        )))
    }

    async fn project(&self, id: u64) -> Result<Arc<ParsedProject>> {
        let p: Project = self
            .get(&format!("api/projects/{id}/"), "GET /api/projects/{id}/")
            .await?;
        if p.id != id {
            return Err(SyncError::Protocol(format!(
                "asked for project {id}, Label Studio sent another one"
            )));
        }
        Ok(self.parsed(&p))
    }

    /// The user's projects as opportunities.
    pub async fn opportunities(&self) -> Result<OpportunityList> {
        let opportunities = self
            .projects()
            .await?
            .iter()
            .map(|p| {
                let parsed = self.parsed(p);
                Opportunity {
                    id: project_id(p.id),
                    title: parsed.title.clone(),
                    description: p.description.clone().unwrap_or_default(),
                    rubric_id: project_id(p.id),
                    rubric_version: parsed.version,
                    licence_category: String::new(),
                    buyer: String::new(),
                }
            })
            .collect();
        Ok(OpportunityList { opportunities })
    }

    /// The rubric of project `ls-project-{n}` at `version` (the config's digest).
    pub async fn rubric(&self, id: &str, version: u32) -> Result<RubricEnvelope> {
        let n = id_number(id, "ls-project-")?;
        let invalid = |message: String| SyncError::InvalidRubric {
            id: id.to_string(),
            version,
            message,
        };
        let parsed = self.project(n).await?;
        let rubric = match (&parsed.config, &parsed.rubric) {
            (Err(e), _) => return Err(invalid(e.clone())),
            (Ok(_), Some(r)) => r,
            (Ok(_), None) => return Err(invalid("it could not be read".into())),
        };
        if parsed.version != version {
            return Err(invalid(
                "the project's labeling config changed since its tasks were listed; the next sync reads the new one"
                    .into(),
            ));
        }
        Ok(RubricEnvelope {
            id: id.to_string(),
            version,
            document: serde_json::to_value(rubric)
                .map_err(|e| SyncError::Internal(e.to_string()))?,
        })
    }

    // ------------------------------------------------------------ tasks

    /// The task feed: every task of every project, project by project and
    /// page by page. The cursor is `{project}:{page}` of the next page to
    /// read; the feed ends with an empty cursor, so the next pull lists again
    /// from the start (Label Studio has no change feed).
    pub async fn assignments(
        &self,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AssignmentPage> {
        let page_size = limit.unwrap_or(100).clamp(1, 1000);
        let (after_project, page) = match since.filter(|s| !s.is_empty()) {
            None => (0, 1),
            Some(c) => {
                let parsed = c.split_once(':').and_then(|(p, n)| {
                    Some((
                        p.parse::<u64>().ok()?,
                        n.parse::<u32>().ok().filter(|n| *n >= 1)?,
                    ))
                });
                parsed.ok_or_else(|| {
                    SyncError::Protocol(format!("unreadable task cursor {}", clip(c)))
                })?
            }
        };
        let projects = self.projects().await?;
        let me = self.whoami().await?.id;
        // The project of this page: the cursor's, or the next one after it if it is gone.
        let Some(idx) = projects.iter().position(|p| p.id >= after_project) else {
            return Ok(AssignmentPage {
                assignments: Vec::new(),
                next_cursor: String::new(),
                has_more: false,
            });
        };
        let project = &projects[idx];
        let page = if project.id == after_project { page } else { 1 };
        let parsed = self.parsed(project);
        let path = format!(
            "api/tasks/?project={}&page={page}&page_size={page_size}&fields=all",
            project.id
        );
        let tasks = match self.get::<TaskPage>(&path, "GET /api/tasks/").await {
            Ok(t) => t,
            // A project without tasks, or a page past the end: nothing (more) here.
            Err(SyncError::Rejected { status: 404, .. }) => TaskPage {
                total: 0,
                tasks: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        let mut assignments = Vec::with_capacity(tasks.tasks.len());
        for t in &tasks.tasks {
            let Some(id) = t.get("id").and_then(Value::as_u64) else {
                return Err(SyncError::Protocol(
                    "GET /api/tasks/ sent a task without an id".into(),
                ));
            };
            let annotations = t
                .get("annotations")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let author = |a: &Value| {
                let by = a.get("completed_by");
                by.and_then(Value::as_u64)
                    .or_else(|| by.and_then(|b| b.get("id")).and_then(Value::as_u64))
            };
            let live = |a: &&Value| a.get("was_cancelled").and_then(Value::as_bool) != Some(true);
            let mine = annotations
                .iter()
                .filter(live)
                .any(|a| author(a) == Some(me));
            let others = annotations
                .iter()
                .filter(live)
                .any(|a| author(a) != Some(me))
                || (t.get("is_labeled").and_then(Value::as_bool) == Some(true) && !mine);
            let state = if mine {
                AssignmentState::Completed
            } else if others {
                AssignmentState::Reassigned
            } else {
                AssignmentState::Active
            };
            let created = parse_time(t.get("created_at")).unwrap_or_else(Utc::now);
            assignments.push(Assignment {
                id: task_id(id),
                item_id: task_id(id),
                item_title: format!("{} · task {id}", parsed.title),
                opportunity_id: project_id(project.id),
                rubric_id: project_id(project.id),
                rubric_version: parsed.version,
                kind: AssignmentKind::Grade,
                state,
                assigned_at: created,
                lease_expires_at: far_future(),
                due_at: far_future(),
                review_of_submission_id: None,
                seq: i64::try_from(id).unwrap_or(i64::MAX),
                item_revision: 1,
            });
        }
        let read = u64::from(page).saturating_mul(u64::from(page_size));
        let (next_cursor, has_more) = if !tasks.tasks.is_empty() && read < tasks.total {
            (format!("{}:{}", project.id, page.saturating_add(1)), true)
        } else {
            match projects.get(idx + 1) {
                Some(next) => (format!("{}:1", next.id), true),
                None => (String::new(), false),
            }
        };
        Ok(AssignmentPage {
            assignments,
            next_cursor,
            has_more,
        })
    }

    /// The item envelope of task `ls-task-{n}` as raw JSON: every data field
    /// as text (the engine drops those the rubric hides before decoding),
    /// and the reviewer's own latest annotation as its submission.
    pub async fn item_raw(&self, item_id: &str) -> Result<Value> {
        const ROUTE: &str = "GET /api/tasks/{id}/";
        let n = id_number(item_id, "ls-task-")?;
        let task: Value = self
            .call(
                Method::GET,
                &format!("api/tasks/{n}/"),
                None,
                ROUTE,
                self.conn.limits.item_max_bytes,
            )
            .await?;
        if task.get("id").and_then(Value::as_u64) != Some(n) {
            return Err(SyncError::Protocol(format!(
                "asked for task {n}, Label Studio sent another one"
            )));
        }
        let project = task
            .get("project")
            .and_then(Value::as_u64)
            .ok_or_else(|| SyncError::Protocol(format!("task {n} names no project")))?;
        let parsed = self.project(project).await?;
        let config = parsed.config.as_ref().ok();
        let mut fields = serde_json::Map::new();
        if let Some(data) = task.get("data").and_then(Value::as_object) {
            let mut data = data.clone();
            // A task made from an uploaded file holds it under `$undefined$`;
            // Label Studio reads that as the config's first data variable.
            if let Some(first) = config.and_then(|c| c.objects.iter().find(|o| o.tag != "Header")) {
                if !data.contains_key(&first.var) {
                    if let Some(v) = data.remove(UNDEFINED_DATA_KEY) {
                        data.insert(first.var.clone(), v);
                    }
                }
            }
            for (k, v) in &data {
                let tag = config.and_then(|c| c.object_of(k)).map(|o| o.tag.as_str());
                let value = if tag == Some("Image") {
                    // Fetched by [`Self::resolve_media`] once hidden fields are gone.
                    json!({ "type": PENDING_MEDIA, "value": { "url": v } })
                } else {
                    json!({ "type": "text", "value": as_text(tag, v) })
                };
                fields.insert(k.clone(), value);
            }
        }
        let own = match config {
            Some(c) => self.own_annotation(n, c).await?,
            None => None,
        };
        let created = parse_time(task.get("created_at")).unwrap_or_else(Utc::now);
        let mut env = json!({
            "item": {
                "id": task_id(n),
                "opportunity_id": project_id(project),
                "title": format!("{} · task {n}", parsed.title),
                "fields": fields,
                "created_at": created,
            }
        });
        if let Some(own) = own {
            env["own_submission"] =
                serde_json::to_value(own).map_err(|e| SyncError::Internal(e.to_string()))?;
        }
        Ok(env)
    }

    /// Download the images of a raw item envelope whose hidden fields are
    /// already gone (see [`media`]): each becomes an attachment whose bytes
    /// are returned (to be stored before the item), or a text saying why it
    /// was not downloaded. A server error, a timeout or a lost connection is
    /// an error: the item is tried again later.
    pub async fn resolve_media(&self, raw: &mut Value) -> Result<Vec<Vec<u8>>> {
        use sha2::{Digest, Sha256};
        let Some(fields) = raw
            .get_mut("item")
            .and_then(|i| i.get_mut("fields"))
            .and_then(Value::as_object_mut)
        else {
            return Ok(Vec::new());
        };
        let mut blobs = Vec::new();
        // One budget for all of an item's images (they are held in memory).
        let mut left = self
            .conn
            .limits
            .attachment_max_bytes
            .min(media::MEDIA_MAX_BYTES);
        for (name, field) in fields.iter_mut() {
            if field.get("type").and_then(Value::as_str) != Some(PENDING_MEDIA) {
                continue;
            }
            let outcome = match field.pointer("/value/url").and_then(Value::as_str) {
                None => Err("the task's value is not a URL".to_string()),
                Some(u) => match media::locate(&self.conn.base, u) {
                    Ok(url) => self.download_media(&url, left).await?,
                    Err(why) => Err(why),
                },
            };
            *field = match outcome {
                Ok((bytes, media_type, filename)) => {
                    left = left.saturating_sub(bytes.len() as u64);
                    let sha256 = hex::encode(Sha256::digest(&bytes));
                    let v = json!({ "type": "attachment", "value": {
                        "sha256": sha256, "size": bytes.len(),
                        "media_type": media_type, "filename": filename,
                    }});
                    blobs.push(bytes);
                    v
                }
                Err(why) => {
                    tracing::info!(field = %name, reason = %why, "image not downloaded");
                    json!({ "type": "text", "value": format!("Image not downloaded: {why}.") })
                }
            };
        }
        Ok(blobs)
    }

    /// GET one image of the server (with authorization, bounded, checked):
    /// the bytes, their media type and file name, or why they are refused.
    async fn download_media(&self, url: &Url, max: u64) -> Result<MediaOutcome> {
        const ROUTE: &str = "GET /data/upload/…";
        let after = self.conn.limits.request_deadline;
        let personal = matches!(self.auth, Some(LabelStudioAuth::Personal(_)));
        let mut fresh = false;
        loop {
            let mut rb = self.conn.read.get(url.clone());
            if let Some(h) = self.authorization(fresh).await? {
                rb = rb.header(AUTHORIZATION, h);
            }
            let r = tokio::time::timeout(after, self.media_once(rb, url, ROUTE, max))
                .await
                .unwrap_or(Err(SyncError::Timeout {
                    route: ROUTE,
                    after,
                }));
            match r {
                Err(SyncError::Unauthorized) if personal && !fresh => fresh = true,
                other => return other,
            }
        }
    }

    async fn media_once(
        &self,
        rb: RequestBuilder,
        url: &Url,
        route: &'static str,
        max: u64,
    ) -> Result<MediaOutcome> {
        let resp = rb.send().await?;
        let status = resp.status();
        if status.is_redirection() {
            return Ok(Err(
                "Label Studio redirected it elsewhere; Assay follows redirects only within the server"
                    .to_string(),
            ));
        }
        if status == StatusCode::UNAUTHORIZED
            || status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            return Err(error_from(resp, route, self.conn.limits.error_max_bytes).await);
        }
        if !status.is_success() {
            return Ok(Err(format!(
                "Label Studio answered HTTP {} for it",
                status.as_u16()
            )));
        }
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !media::acceptable_content_type(ct.as_deref()) {
            return Ok(Err(format!(
                "Label Studio sent {} instead of an image",
                clip(ct.as_deref().unwrap_or(""))
            )));
        }
        let bytes = match read_capped(resp, route, max).await {
            Ok(b) => b,
            Err(SyncError::TooLarge { .. }) => {
                return Ok(Err(format!(
                    "it is larger than {} (the most Assay downloads for one item's images)",
                    human_bytes(&max)
                )))
            }
            Err(e) => return Err(e),
        };
        Ok(match media::sniff(&bytes) {
            Some(media_type) => Ok((bytes, media_type, media::file_name(url))),
            None => Err("it is not a PNG, JPEG or DICOM image".to_string()),
        })
    }

    async fn annotations(&self, task: u64) -> Result<Vec<Value>> {
        self.get(
            &format!("api/tasks/{task}/annotations/"),
            "GET /api/tasks/{id}/annotations/",
        )
        .await
    }

    /// The reviewer's latest annotation of `task`, as a submission.
    async fn own_annotation(
        &self,
        task: u64,
        config: &LabelConfig,
    ) -> Result<Option<ReviewedSubmission>> {
        let me = self.whoami().await?.id;
        let mine = self
            .annotations(task)
            .await?
            .into_iter()
            .filter(|a| a.get("completed_by").and_then(Value::as_u64) == Some(me))
            .filter(|a| a.get("was_cancelled").and_then(Value::as_bool) != Some(true))
            .max_by_key(|a| a.get("id").and_then(Value::as_u64).unwrap_or(0));
        let Some(a) = mine else { return Ok(None) };
        let results = a
            .get("result")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let answers = from_results(config, results);
        let lead = a.get("lead_time").and_then(Value::as_f64).unwrap_or(0.0);
        Ok(Some(ReviewedSubmission {
            submission_id: format!(
                "ls-annotation-{}",
                a.get("id").and_then(Value::as_u64).unwrap_or(0)
            ),
            answers: serde_json::to_value(answers)
                .map_err(|e| SyncError::Internal(e.to_string()))?,
            active_seconds: if lead.is_finite() && lead > 0.0 {
                lead.round() as u64
            } else {
                0
            },
            submitted_at: parse_time(a.get("created_at")).unwrap_or_else(Utc::now),
        }))
    }

    // ------------------------------------------------------------ upload

    /// The `unique_id` of the annotation for one outbox entry.
    pub fn unique_id(&self, task: u64, reviewer: u64, key: &str) -> uuid::Uuid {
        let name = format!("{}|{task}|{reviewer}|{key}", self.conn.base.as_str());
        uuid::Uuid::new_v5(&UNIQUE_ID_NAMESPACE, name.as_bytes())
    }

    /// Upload a submission as an annotation, after checking every answer
    /// against the config. A repeat (409) is confirmed by reading the task's
    /// annotations back.
    pub async fn submit(
        &self,
        req: &SubmissionRequest,
        idempotency_key: &str,
    ) -> Result<SubmissionReceipt> {
        const ROUTE: &str = "POST /api/tasks/{id}/annotations/";
        let task = id_number(&req.assignment_id, "ls-task-")?;
        let project = id_number(&req.rubric_id, "ls-project-")?;
        let refuse = |code: ApiErrorCode, message: String| SyncError::Rejected {
            status: 422,
            error: ApiError::new(code, format!("Not uploaded: {message}")),
        };
        let parsed = self.project(project).await?;
        let (Ok(config), Some(rubric)) = (&parsed.config, &parsed.rubric) else {
            return Err(refuse(
                ApiErrorCode::ValidationFailed,
                "the project's labeling config cannot be read".into(),
            ));
        };
        if parsed.version != req.rubric_version {
            return Err(refuse(
                ApiErrorCode::RubricVersionMismatch,
                "the project's labeling config changed since this was graded".into(),
            ));
        }
        let answers: assay_rubric::Answers =
            serde_json::from_value(req.answers.clone()).map_err(|_| {
                refuse(
                    ApiErrorCode::ValidationFailed,
                    "the answers are unreadable".into(),
                )
            })?;
        let results = to_results(config, rubric, &answers)
            .map_err(|e| refuse(ApiErrorCode::ValidationFailed, e.0))?;
        let me = self.whoami().await?.id;
        let unique_id = self.unique_id(task, me, idempotency_key).to_string();
        let body = json!({
            "result": results,
            "lead_time": req.active_seconds as f64,
            "unique_id": unique_id,
            "task": task,
            "project": project,
        });
        let created: Result<Value> = self
            .call(
                Method::POST,
                &format!("api/tasks/{task}/annotations/"),
                Some(&body),
                ROUTE,
                self.conn.limits.json_max_bytes,
            )
            .await;
        let (annotation, replayed) = match created {
            Ok(a) => (a, false),
            // This exact upload is stored already (the id is derived from the
            // task, the reviewer and the outbox entry). Label Studio does not
            // return `unique_id`: confirm by finding the reviewer's annotation
            // of this task with exactly these results.
            Err(SyncError::Rejected { status: 409, .. }) => {
                let stored = self.annotations(task).await?.into_iter().find(|a| {
                    a.get("completed_by").and_then(Value::as_u64) == Some(me)
                        && a.get("was_cancelled").and_then(Value::as_bool) != Some(true)
                        && a.get("result")
                            .and_then(Value::as_array)
                            .is_some_and(|r| same_results(r, &results))
                });
                match stored {
                    Some(a) => (a, true),
                    None => {
                        return Err(SyncError::ReceiptMismatch(format!(
                            "Label Studio says annotation {unique_id} exists, but task {task} holds no annotation by this reviewer with these answers"
                        )))
                    }
                }
            }
            Err(e) => return Err(e),
        };
        let by = annotation.get("completed_by").and_then(Value::as_u64);
        if by != Some(me) {
            return Err(SyncError::ReceiptMismatch(format!(
                "the annotation stored for task {task} is not by this reviewer"
            )));
        }
        if let Some(t) = annotation.get("task").and_then(Value::as_u64) {
            if t != task {
                return Err(SyncError::ReceiptMismatch(format!(
                    "the upload was for task {task}, Label Studio stored it on another task"
                )));
            }
        }
        let id = annotation
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| SyncError::ReceiptMismatch("the annotation has no id".into()))?;
        Ok(SubmissionReceipt {
            submission_id: format!("ls-annotation-{id}"),
            assignment_id: req.assignment_id.clone(),
            received_at: parse_time(annotation.get("created_at")).unwrap_or_else(Utc::now),
            status: OutcomeStatus::Pending,
            replayed,
        })
    }

    /// Label Studio has no senior review that Assay can upload.
    #[allow(clippy::unused_async)] // the same signature as `PlatformClient::review` for `Connector`
    pub async fn review(&self, _req: &ReviewRequest, _key: &str) -> Result<ReviewReceipt> {
        Err(SyncError::Rejected {
            status: 422,
            error: ApiError::new(
                ApiErrorCode::BadRequest,
                "Label Studio has no senior review Assay can upload",
            ),
        })
    }

    /// No leases in Label Studio: the task stays available.
    #[allow(clippy::unused_async)] // the same signature as `PlatformClient::renew_lease` for `Connector`
    pub async fn renew_lease(&self, assignment_id: &str) -> Result<Lease> {
        Ok(Lease {
            assignment_id: assignment_id.to_string(),
            lease_expires_at: far_future(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kind_by_shape_and_debug_redacts() {
        assert!(matches!(
            LabelStudioAuth::from_token(Token::new("0123456789abcdef0123456789abcdef01234567")),
            LabelStudioAuth::Legacy(_)
        ));
        assert!(matches!(
            LabelStudioAuth::from_token(Token::new("eyJhbGciOiJIUzI1NiJ9.eyJ0IjoxfQ.c2ln")),
            LabelStudioAuth::Personal(_)
        ));
        let c = LabelStudioClient::new("http://127.0.0.1:1")
            .unwrap()
            .with_auth(LabelStudioAuth::Legacy(Token::new("SECRET-TOKEN")));
        assert!(!format!("{c:?}").contains("SECRET"));
        assert!(LabelStudioClient::new("http://ls.example").is_err());
    }

    #[test]
    fn unique_ids_are_stable_per_task_reviewer_and_upload() {
        let c = LabelStudioClient::new("https://ls.example").unwrap();
        let a = c.unique_id(1, 2, "k");
        assert_eq!(a, c.unique_id(1, 2, "k"));
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, c.unique_id(2, 2, "k"));
        assert_ne!(a, c.unique_id(1, 3, "k"));
        assert_ne!(a, c.unique_id(1, 2, "k2"));
        let other = LabelStudioClient::new("https://other.example").unwrap();
        assert_ne!(a, other.unique_id(1, 2, "k"));
    }

    #[test]
    fn data_values_become_text() {
        assert_eq!(as_text(Some("Text"), &json!("hi")), "hi");
        assert_eq!(
            as_text(
                Some("Paragraphs"),
                &json!([{"author": "user", "text": "Q"}, {"author": "bot", "text": "A"}])
            ),
            "user: Q\n\nbot: A"
        );
        assert_eq!(
            as_text(Some("Table"), &json!({"a": "1", "b": 2})),
            "a: 1\nb: 2"
        );
        assert_eq!(as_text(None, &json!(3)), "3");
    }
}
