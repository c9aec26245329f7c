//! The Label Studio connector against a real Label Studio (Community)
//! server: the pinned release from `PyPI` in a venv under `target/`.
//!
//! `#[ignore]`d in a plain `cargo test` (it needs that venv and starts a
//! Django server); `cargo xtask test` installs the venv when missing and runs
//! this binary with `--ignored`. Without the venv the test fails and says how
//! to install it: it never passes vacuously.
//!
//! One server per test binary (its start-up, with migrations, is slow); a
//! migrated database is kept next to the venv and copied for later runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assay_pgtest::process::KillOnDrop;
use assay_protocol::{SubmissionRequest, TimeSpan};
use assay_rubric::{Answer, Answers};
use assay_store::{QueueStatus, Store};
use assay_sync::{
    LabelStudioAuth, LabelStudioClient, PlatformKind, SyncConfig, SyncEngine, SyncError, Token,
};
use serde_json::{json, Value};

#[allow(dead_code)] // each test binary uses part of the shared support
mod support;

const ADMIN_TOKEN: &str = "a11ce0000000000000000000000000000000beef";
const HIDDEN: &str = "SECRET-GOLD-7f3a";

/// Where the venv is: `ASSAY_LABEL_STUDIO_VENV` (set by xtask) or `target/labelstudio-venv`.
fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os("ASSAY_LABEL_STUDIO_VENV") {
        return PathBuf::from(v);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/labelstudio-venv")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running Label Studio; killed on drop.
struct LabelStudio {
    child: KillOnDrop,
    url: String,
    addr: SocketAddr,
    data: tempfile::TempDir,
    venv: PathBuf,
    /// Django's `SECRET_KEY`, the same for the server and the shell that makes
    /// tokens. (Label Studio's generated key may hold `$` or `#`, which its
    /// own .env reader then reads back differently in another process.)
    secret: String,
}

impl LabelStudio {
    /// Environment of every Label Studio process: its data folder, and no
    /// analytics, Sentry or version checks (nothing leaves the machine).
    fn env(&self, cmd: &mut Command) {
        cmd.env("LABEL_STUDIO_BASE_DATA_DIR", self.data.path())
            .env("SECRET_KEY", &self.secret)
            .env("COLLECT_ANALYTICS", "false")
            .env("SENTRY_DSN", "")
            .env("FRONTEND_SENTRY_DSN", "")
            .env("LATEST_VERSION_CHECK", "false")
            .env("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "true")
            .env("DJANGO_SETTINGS_MODULE", "core.settings.label_studio");
    }

    async fn start() -> Self {
        let venv = venv();
        let bin = venv.join("bin/label-studio");
        assert!(
            bin.exists(),
            "Label Studio is not installed at {}: run `cargo xtask test` (it installs the pinned \
             release into target/labelstudio-venv), or `python3 -m venv target/labelstudio-venv && \
             target/labelstudio-venv/bin/pip install label-studio==1.23.2`",
            venv.display()
        );
        let data = tempfile::tempdir().unwrap();
        let template = venv.join("assay-migrated.sqlite3");
        if template.exists() {
            std::fs::copy(&template, data.path().join("label_studio.sqlite3")).unwrap();
        }
        let port = free_port();
        let log = std::fs::File::create(data.path().join("server.log")).unwrap();
        let mut ls = LabelStudio {
            child: KillOnDrop(Command::new("true").spawn().unwrap()),
            url: format!("http://127.0.0.1:{port}"),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data,
            venv: venv.clone(),
            secret: format!("assay-test-{}", uuid::Uuid::new_v4().simple()),
        };
        let mut cmd = Command::new(&bin);
        ls.env(&mut cmd);
        cmd.args([
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--username",
            "admin@example.org",
            "--password",
            "admin-pass-1234",
            "--user-token",
            ADMIN_TOKEN,
            "--enable-legacy-api-token",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
        let _ = ls.child.wait();
        ls.child = KillOnDrop(cmd.spawn().unwrap());
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{}/health", ls.url)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Ok(Some(status)) = ls.child.try_wait() {
                panic!("Label Studio exited ({status}): {}", ls.log_tail());
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "Label Studio did not start in 10 minutes: {}",
                ls.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "Label Studio up in {:.1}s ({})",
            started.elapsed().as_secs_f64(),
            if template.exists() {
                "from the migrated template"
            } else {
                "fresh migrations"
            }
        );
        if !template.exists() {
            // Keep the migrated, still empty database for later runs.
            let db =
                rusqlite::Connection::open(ls.data.path().join("label_studio.sqlite3")).unwrap();
            let tmp = venv.join("assay-migrated.sqlite3.tmp");
            let _ = std::fs::remove_file(&tmp);
            db.execute("VACUUM INTO ?1", [tmp.to_str().unwrap()])
                .unwrap();
            std::fs::rename(&tmp, &template).unwrap();
        }
        ls
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data.path().join("server.log")).unwrap_or_default();
        log.chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }

    /// Create a reviewer in the organisation (Django shell: Community has no
    /// API for it) and return (user id, legacy token, personal access token).
    fn create_reviewer(&self, email: &str, first: &str, last: &str) -> (u64, String, String) {
        let script = format!(
            "from users.models import User\n\
             from organizations.models import Organization\n\
             from jwt_auth.models import LSAPIToken\n\
             u = User.objects.create_user(email='{email}', password='reviewer-pass-1234', first_name='{first}', last_name='{last}')\n\
             org = Organization.objects.first()\n\
             org.add_user(u)\n\
             u.active_organization = org\n\
             u.save()\n\
             print('ASSAY', u.id, u.auth_token.key, LSAPIToken.for_user(u).get_full_jwt())\n"
        );
        let site = std::fs::read_dir(self.venv.join("lib"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path().join("site-packages/label_studio"))
            .find(|p| p.join("manage.py").exists())
            .expect("label_studio package in the venv");
        let mut cmd = Command::new(self.venv.join("bin/python"));
        self.env(&mut cmd);
        let mut child = cmd
            .current_dir(&site)
            .args(["manage.py", "shell"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("ASSAY "))
            .unwrap_or_else(|| {
                panic!(
                    "creating {email} failed: {stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let mut parts = line.split_whitespace();
        (
            parts.next().unwrap().parse().unwrap(),
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        )
    }

    /// A call to Label Studio's API as the admin.
    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        call(&self.url, ADMIN_TOKEN, method, path, body).await
    }

    /// The first (and only) page of a project's tasks, as the admin sees it.
    async fn tasks(&self, project: u64) -> Value {
        let path = format!("/api/tasks/?project={project}&page=1&page_size=100");
        self.admin(reqwest::Method::GET, &path, None).await
    }

    /// Imports `tasks` (a JSON array of task data) into a project.
    async fn import(&self, project: u64, tasks: Value) {
        let path = format!("/api/projects/{project}/import");
        self.admin(reqwest::Method::POST, &path, Some(tasks)).await;
    }

    /// A task's annotations.
    async fn annotations(&self, task: u64) -> Value {
        let path = format!("/api/tasks/{task}/annotations/");
        self.admin(reqwest::Method::GET, &path, None).await
    }
}

async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut rb = reqwest::Client::new()
        .request(method.clone(), format!("{base}{path}"))
        .header("Authorization", format!("Token {token}"));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    support::success_json(resp, &format!("{method} {path}")).await
}

/// A loopback link between Assay and Label Studio that can break uploads:
/// in mode 1 it forwards the first try of each annotation POST and then
/// drops the connection (stored, but the client never hears back; a repeat
/// of the same body passes); in mode 2 it answers every request with a 502
/// HTML error page; mode 0 passes everything.
struct Link {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
    dropped: Arc<Mutex<std::collections::HashSet<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const PASS: u8 = 0;
const DROP_AFTER_UPLOAD: u8 = 1;
const HTML_502: u8 = 2;

async fn link(upstream: SocketAddr) -> Link {
    use assay_pgtest::relay::{find, forward, read_request};
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mode = Arc::new(AtomicU8::new(PASS));
    let dropped = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let (m, d) = (mode.clone(), dropped.clone());
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (m, d) = (m.clone(), d.clone());
            tokio::spawn(async move {
                // Read one request (head + Content-Length body), force Connection: close.
                let Some(req) = read_request(&mut conn).await else {
                    return;
                };
                let head_end = find(&req, b"\r\n\r\n").map_or(req.len(), |i| i + 4);
                let head = String::from_utf8_lossy(&req[..head_end]).to_string();
                let mode = m.load(Ordering::SeqCst);
                if mode == HTML_502 {
                    let body = "<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>";
                    let _ = conn
                        .write_all(
                            format!(
                                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                    return;
                }
                let Some(mut resp) = forward(&req, upstream).await else {
                    return;
                };
                let upload = head.starts_with("POST ") && head.contains("/annotations/");
                let body = req[head_end..].to_vec();
                if mode == DROP_AFTER_UPLOAD && upload && d.lock().unwrap().insert(body) {
                    return; // stored upstream; the client hears nothing
                }
                // One request per connection: say so, or the client pools it.
                if let Some(i) = resp.windows(2).position(|w| w == b"\r\n") {
                    resp.splice(i + 2..i + 2, b"Connection: close\r\n".iter().copied());
                }
                let _ = conn.write_all(&resp).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    Link {
        addr,
        mode,
        dropped,
        task,
    }
}

const CONFIG: &str = r#"<View>
  <Header value="Review the assistant's fix"/>
  <Text name="prompt" value="$prompt"/>
  <Text name="patch" value="$code_diff"/>
  <Text name="answer" value="$answer"/>
  <Header value="Is the fix correct?"/>
  <Choices name="verdict" toName="answer" choice="single" required="true">
    <Choice value="Correct"/>
    <Choice value="Partly correct" alias="partial"/>
    <Choice value="Wrong"/>
  </Choices>
  <Choices name="issues" toName="answer" choice="multiple">
    <Choice value="Breaks tests"/><Choice value="Unsafe"/><Choice value="Style"/>
  </Choices>
  <Rating name="quality" toName="answer" maxRating="10" required="true"/>
  <TextArea name="notes" toName="answer" rows="3"/>
  <Number name="confidence" toName="answer" min="1" max="5"/>
  <Labels name="spans" toName="answer"><Label value="Claim"/></Labels>
</View>"#;

fn task_data(i: usize) -> Value {
    let diff = format!(
        "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,3 @@\n fn add(a: i32, b: i32) -> i32 {{\n-    a - b\n+    a + b + {i}\n }}\n"
    );
    json!({
        "prompt": format!("Task {i}: fix the addition bug in `add` without breaking callers."),
        "code_diff": diff,
        "answer": format!("Changed the operator; also added {i} for the new offset requirement."),
        "gold_label": format!("{HIDDEN}-{i}"),
    })
}

/// The answers graded for task number `i` (varied so every value is checked).
fn answers_for(i: usize) -> Answers {
    let mut a = Answers::default();
    let verdict = ["Correct", "partial", "Wrong"][i % 3];
    a.answers.insert(
        "verdict".into(),
        Answer::SingleChoice {
            choice: verdict.into(),
        },
    );
    a.answers.insert(
        "quality".into(),
        Answer::Scale {
            value: (i % 10 + 1) as i32,
        },
    );
    if i.is_multiple_of(2) {
        a.answers.insert(
            "issues".into(),
            Answer::MultiChoice {
                choices: vec!["Breaks tests".into(), "Style".into()],
            },
        );
        a.answers.insert(
            "notes".into(),
            Answer::FreeText {
                text: format!("Offset {i} is unexplained.\nAsk for a test."),
            },
        );
    }
    a.answers.insert(
        "confidence".into(),
        Answer::Scale {
            value: (i % 5 + 1) as i32,
        },
    );
    a
}

fn expected_results(i: usize) -> Vec<(String, Value)> {
    let a = answers_for(i);
    let mut out = vec![
        (
            "verdict".to_string(),
            json!({"choices": [match &a.answers["verdict"] { Answer::SingleChoice { choice } => choice.clone(), _ => unreachable!() }]}),
        ),
        ("quality".to_string(), json!({"rating": i % 10 + 1})),
        ("confidence".to_string(), json!({"number": i % 5 + 1})),
    ];
    if i.is_multiple_of(2) {
        out.push((
            "issues".to_string(),
            json!({"choices": ["Breaks tests", "Style"]}),
        ));
        out.push((
            "notes".to_string(),
            json!({"text": [format!("Offset {i} is unexplained.\nAsk for a test.")]}),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn config() -> SyncConfig {
    SyncConfig {
        page_size: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..SyncConfig::default()
    }
}

fn engine(url: &str, token: &str, store: Arc<Store>) -> SyncEngine {
    let client = LabelStudioClient::new(url)
        .unwrap()
        .with_auth(LabelStudioAuth::from_token(Token::new(token)));
    SyncEngine::new(client, store, config())
}

/// Grade `assignment` as the app does: a draft, a timed span of `secs`, then
/// the outbox.
fn grade(store: &Store, assignment: &str, answers: &Answers, secs: i64) {
    store.save_draft(assignment, answers).unwrap();
    let end = chrono::Utc::now();
    store
        .add_time_span(
            assignment,
            &TimeSpan {
                started_at: end - chrono::Duration::seconds(secs),
                ended_at: end,
                corrected: false,
            },
        )
        .unwrap();
    let (time_log, active_seconds) = store.time_spans(assignment).unwrap();
    let a = store.assignment(assignment).unwrap().unwrap();
    let req = SubmissionRequest {
        assignment_id: a.id.clone(),
        rubric_id: a.rubric_id.clone(),
        rubric_version: a.rubric_version,
        answers: serde_json::to_value(answers).unwrap(),
        active_seconds,
        time_log,
        client_created_at: end,
    };
    store.submit(assignment, &req).unwrap();
}

/// Captured tracing output of the whole test.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
#[ignore = "needs the pinned Label Studio venv: run through `cargo xtask test`"]
fn label_studio_round_trip() {
    let logs = LogBuf::default();
    let sink = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ls = LabelStudio::start().await;
        round_trip(&ls).await;
    });
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("uploaded"), "the logs were captured");
    assert!(!logs.contains(HIDDEN), "the hidden field reached the logs");
}

async fn round_trip(ls: &LabelStudio) {
    use reqwest::Method;
    let t0 = Instant::now();
    let (rev_id, legacy, pat) = ls.create_reviewer("rev@example.org", "Rae", "Viewer");
    assert!(pat.starts_with("eyJ") && legacy.len() == 40);

    // A project whose config hides `gold_label`, with 8 realistic tasks;
    // an empty project; and one task annotated by someone else.
    let project = ls
        .admin(
            Method::POST,
            "/api/projects/",
            Some(json!({"title": "Fix review", "label_config": CONFIG,
                        "expert_instruction": "Judge the fix, not the style."})),
        )
        .await;
    let pid = project["id"].as_u64().unwrap();
    let tasks: Vec<Value> = (0..8).map(task_data).collect();
    ls.import(pid, Value::Array(tasks)).await;
    let empty = ls
        .admin(
            Method::POST,
            "/api/projects/",
            Some(json!({"title": "Nothing yet", "label_config": "<View><Text name=\"t\" value=\"$text\"/><Choices name=\"c\" toName=\"t\"><Choice value=\"a\"/></Choices></View>"})),
        )
        .await;
    let listed = ls.tasks(pid).await;
    let task_ids: Vec<u64> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(task_ids.len(), 8);
    let taken = task_ids[7];
    ls.admin(
        Method::POST,
        &format!("/api/tasks/{taken}/annotations/"),
        Some(
            json!({"result": [{"from_name": "verdict", "to_name": "answer", "type": "choices",
                     "value": {"choices": ["Wrong"]}}], "lead_time": 3.0}),
        ),
    )
    .await;
    eprintln!("set up in {:.1}s", t0.elapsed().as_secs_f64());

    // Sign in both ways: the legacy token, and a personal access token.
    for token in [&legacy, &pat] {
        let c = LabelStudioClient::new(&ls.url)
            .unwrap()
            .with_auth(LabelStudioAuth::from_token(Token::new(token.as_str())));
        let kind = if token.starts_with("eyJ") {
            "personal"
        } else {
            "legacy"
        };
        let probed = c.probe().await;
        assert_eq!(probed.as_deref().ok(), Some("1.23.2"), "{kind}: {probed:?}");
        let me = c
            .me()
            .await
            .unwrap_or_else(|e| panic!("{kind} token: {e}\n{}", ls.log_tail()));
        assert_eq!(me.id, format!("ls-user-{rev_id}"));
        assert_eq!(me.display_name, "Rae Viewer");
    }
    let bad = LabelStudioClient::new(&ls.url)
        .unwrap()
        .with_auth(LabelStudioAuth::from_token(Token::new("0".repeat(40))));
    assert!(matches!(bad.me().await, Err(SyncError::Unauthorized)));

    // Sync with the personal access token through the loopback link.
    let link = link(ls.addr).await;
    let url = format!("http://{}", link.addr);
    let dir = tempfile::tempdir().unwrap();
    // The app's layout: the store in `<data dir>/store`, so the shell's
    // `open_item` (a Workbench on the data dir) reads what the sync stored.
    let store = Arc::new(Store::open(dir.path().join("store")).unwrap());
    let eng = engine(&url, &pat, store.clone());
    assert_eq!(eng.client().kind(), PlatformKind::LabelStudio);
    let progress = Arc::new(Mutex::new(Vec::new()));
    let p = progress.clone();
    let report = eng
        .sync_once(move |x| p.lock().unwrap().push(x))
        .await
        .unwrap();
    assert_eq!(report.pull.assignments, 8, "{report:?}");
    // The task someone else annotated is not downloaded.
    assert_eq!(report.pull.items, 7, "{report:?}");
    assert!(report.pull.errors.is_empty(), "{report:?}");
    assert!(progress
        .lock()
        .unwrap()
        .iter()
        .any(|p| p.phase == assay_sync::SyncPhase::Items && p.items_total == 7));
    let opportunities = store.opportunities().unwrap();
    assert!(opportunities
        .iter()
        .any(|o| o.id == format!("ls-project-{}", empty["id"])));

    let aid = |t: u64| format!("ls-task-{t}");
    // The task someone else annotated left the queue; the rest are new.
    let queue = store.queue(chrono::Utc::now()).unwrap();
    let new: Vec<String> = queue
        .iter()
        .filter(|r| r.status == QueueStatus::New)
        .map(|r| r.assignment_id.clone())
        .collect();
    assert_eq!(new.len(), 7, "{queue:?}");
    assert!(!new.contains(&aid(taken)));

    // What the reviewer sees: the visible fields in config order, the diff
    // in the diff viewer, the unsupported tag listed, and no hidden field.
    let scoped = store.scoped_item(&aid(task_ids[0])).unwrap().unwrap();
    let ids: Vec<&str> = scoped.fields.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["prompt", "code_diff", "answer"]);
    assert_eq!(scoped.fields[1].viewer, assay_rubric::ViewerKind::Diff);
    let rubric = store
        .rubric(&scoped.rubric_id, scoped.rubric_version)
        .unwrap()
        .unwrap();
    assert!(
        rubric.guidelines.contains("Labels \"spans\""),
        "{}",
        rubric.guidelines
    );
    assert!(!rubric.questions.iter().any(|q| q.id == "spans"));
    // The IPC payload: what the shell's `open_item` command returns to the
    // webview (the Workbench's answer, serialized as Tauri serializes it).
    let opened = hostile::ipc_open_item(dir.path(), &aid(task_ids[0])).await;
    assert_eq!(opened["assignment_id"], aid(task_ids[0]).as_str());
    assert_eq!(hostile::view_of(&opened, "code_diff")["kind"], "diff");
    let payload = opened.to_string();
    assert!(
        payload.contains("fix the addition bug"),
        "the payload is the item"
    );
    assert!(!payload.contains(HIDDEN) && !payload.contains("gold_label"));

    // Grade three tasks while offline (Label Studio unreachable: the link
    // answers HTML error pages); nothing is lost.
    link.mode.store(HTML_502, Ordering::SeqCst);
    let secs = |i: usize| 40 + 7 * i as i64;
    for (i, t) in task_ids.iter().enumerate().take(3) {
        grade(&store, &aid(*t), &answers_for(i), secs(i));
    }
    let err = eng.sync_once(|_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("502") || err.to_string().contains("not JSON"),
        "{err}"
    );
    assert_eq!(pending(&store), 3);

    // Restart: a new store handle and engine on the same folder.
    drop(eng);
    drop(store);
    let store = Arc::new(Store::open(dir.path().join("store")).unwrap());
    assert_eq!(pending(&store), 3, "the outbox survived the restart");
    let eng = engine(&url, &legacy, store.clone());
    for (i, t) in task_ids.iter().enumerate().take(7).skip(3) {
        grade(&store, &aid(*t), &answers_for(i), secs(i));
    }

    // Online again, but every upload's answer is lost on the way back:
    // Label Studio stored it, Assay retries and finds it (409 → read back).
    link.mode.store(DROP_AFTER_UPLOAD, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut replayed = 0;
    let mut pushes = 0;
    while pending(&store) > 0 {
        assert!(Instant::now() < deadline, "uploads did not drain");
        store.outbox_due_now(chrono::Utc::now()).unwrap();
        let r = eng.push().await.unwrap();
        replayed += r.replayed;
        pushes += 1;
    }
    assert_eq!(
        link.dropped.lock().unwrap().len(),
        7,
        "each upload's first answer was lost"
    );
    assert!(pushes >= 8, "{pushes}");
    link.mode.store(PASS, Ordering::SeqCst);
    assert_eq!(
        replayed, 7,
        "every dropped upload was confirmed by reading it back"
    );

    // Read everything back through Label Studio's API.
    for (i, t) in task_ids.iter().enumerate().take(7) {
        let anns = ls.annotations(*t).await;
        let anns = anns.as_array().unwrap();
        assert_eq!(anns.len(), 1, "task {t}: exactly one annotation: {anns:?}");
        let a = &anns[0];
        assert_eq!(a["completed_by"].as_u64(), Some(rev_id));
        assert_eq!(a["lead_time"].as_f64(), Some(secs(i) as f64), "task {t}");
        let mut got: Vec<(String, Value)> = a["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let to = r["to_name"].as_str().unwrap();
                assert_eq!(to, "answer");
                (
                    r["from_name"].as_str().unwrap().to_string(),
                    r["value"].clone(),
                )
            })
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, expected_results(i), "task {t}");
    }
    // The next sync marks them completed; the other reviewer's task stays out.
    eng.sync_once(|_| {}).await.unwrap();
    for t in task_ids.iter().take(7) {
        let status = store.status_of(&aid(*t), chrono::Utc::now()).unwrap();
        assert_eq!(status, QueueStatus::Submitted, "task {t}");
    }

    // A fresh machine signing in finds its finished work with its answers.
    let dir2 = tempfile::tempdir().unwrap();
    let store2 = Arc::new(Store::open(dir2.path()).unwrap());
    let eng2 = engine(&ls.url, &legacy, store2.clone());
    eng2.sync_once(|_| {}).await.unwrap();
    // Opening finished work downloads it (as the app does).
    let a = store2.assignment(&aid(task_ids[1])).unwrap().unwrap();
    eng2.fetch_item(&a).await.unwrap();
    let own = store2.submitted_work(&aid(task_ids[1])).unwrap();
    let own = own.expect("finished work is shown on a new machine");
    assert_eq!(
        own.answers,
        answers_for(1),
        "the answers read back from Label Studio"
    );
    assert_eq!(own.active_seconds, secs(1) as u64);

    images(ls, &eng, &store, dir.path(), rev_id).await;

    // The hidden field never reached either database: not its files, nor
    // the items' JSON, which the files hold compressed.
    for s in [&store, &store2] {
        let items = s.stored_item_json().unwrap();
        assert!(!items.is_empty(), "no item was stored");
        for (id, json) in items {
            assert!(
                !json.contains(HIDDEN),
                "the item of {id} holds the hidden field"
            );
        }
    }
    drop((eng, eng2));
    for d in [dir.path(), dir2.path()] {
        for entry in walk(d) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(HIDDEN.len()).any(|w| w == HIDDEN.as_bytes()),
                "{} holds the hidden field",
                entry.display()
            );
        }
    }
    eprintln!("round trip in {:.1}s", t0.elapsed().as_secs_f64());
}

const IMAGE_CONFIG: &str = r#"<View>
  <Image name="xray" value="$image"/>
  <Text name="history" value="$history"/>
  <Choices name="finding" toName="xray" choice="single" required="true">
    <Choice value="Fracture"/><Choice value="No fracture"/>
  </Choices>
</View>"#;

/// Image tasks: a real PNG uploaded through Label Studio's import API (so
/// its URL is a real `/data/upload/…` one, served only with a token), a task
/// that names that upload with a hidden field beside it, and one whose image
/// is on another server. Synced by the reviewer's engine through the link,
/// shown as the webview receives it, graded and read back.
async fn images(ls: &LabelStudio, eng: &SyncEngine, store: &Store, data_dir: &Path, rev_id: u64) {
    use reqwest::Method;
    let t0 = Instant::now();
    let project = ls
        .admin(
            Method::POST,
            "/api/projects/",
            // Label Studio takes a bare file only while the config reads
            // one data key; the full config follows the upload.
            Some(json!({"title": "Wrist films", "label_config": IMAGE_CONFIG
                .replace(r#"<Text name="history" value="$history"/>"#, "")})),
        )
        .await;
    let pid = project["id"].as_u64().unwrap();
    // multipart/form-data by hand: one file part.
    let boundary = "assay-7d1e5c0b";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"wrist-pa.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(hostile::PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("{}/api/projects/{pid}/import", ls.url))
        .header("Authorization", format!("Token {ADMIN_TOKEN}"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    support::success_json(resp, "upload").await;
    ls.admin(
        Method::PATCH,
        &format!("/api/projects/{pid}/"),
        Some(json!({ "label_config": IMAGE_CONFIG })),
    )
    .await;
    let listed = ls.tasks(pid).await;
    let uploaded = &listed["tasks"][0];
    let upload_task = uploaded["id"].as_u64().unwrap();
    let upload_url = uploaded["data"]
        .as_object()
        .unwrap()
        .values()
        .find_map(|v| v.as_str().filter(|s| s.contains("/data/upload/")))
        .unwrap_or_else(|| panic!("no upload URL in {uploaded}"))
        .to_string();
    assert!(upload_url.starts_with("/data/upload/"), "{upload_url}");
    // Label Studio serves it only with a token.
    let anonymous = reqwest::get(format!("{}{upload_url}", ls.url))
        .await
        .unwrap();
    assert!(
        !anonymous.status().is_success()
            || !anonymous.bytes().await.unwrap().starts_with(b"\x89PNG")
    );
    ls.import(
        pid,
        json!([
            {"image": upload_url, "history": "Fell on outstretched hand; snuffbox tenderness.",
             "gold_label": format!("{HIDDEN}-image")},
            {"image": "https://images.example.org/wrist-lateral.png", "history": "Lateral view."}
        ]),
    )
    .await;
    let listed = ls.tasks(pid).await;
    let tasks = listed["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    let by_history = |h: &str| {
        tasks
            .iter()
            .find(|t| {
                t["data"]["history"]
                    .as_str()
                    .is_some_and(|x| x.starts_with(h))
            })
            .and_then(|t| t["id"].as_u64())
            .unwrap_or_else(|| panic!("no task {h}: {listed}"))
    };
    let (named, external) = (by_history("Fell"), by_history("Lateral"));

    let r = eng.sync_once(|_| {}).await.unwrap();
    assert!(r.pull.errors.is_empty(), "{r:?}");
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(hostile::PNG));
    assert_eq!(store.read_attachment(&sha).unwrap(), hostile::PNG);
    for t in [upload_task, named] {
        let a = format!("ls-task-{t}");
        let scoped = store.scoped_item(&a).unwrap().unwrap();
        let v = serde_json::to_value(&scoped.fields[0].value).unwrap();
        assert_eq!(scoped.fields[0].id, "image");
        assert_eq!(v["type"], "attachment", "task {t}: {v}");
        assert_eq!(v["value"]["sha256"], sha.as_str());
        assert_eq!(v["value"]["media_type"], "image/png");
        let opened = hostile::ipc_open_item(data_dir, &a).await;
        let view = hostile::view_of(&opened, "image");
        assert_eq!(view["kind"], "scan", "task {t}: {view}");
        assert!(view["info"]["width"].as_u64().unwrap() > 0);
        assert!(!opened.to_string().contains(HIDDEN));
    }
    let opened = hostile::ipc_open_item(data_dir, &format!("ls-task-{external}")).await;
    let view = hostile::view_of(&opened, "image");
    assert_eq!(view["kind"], "error", "{view}");
    let message = view["message"].as_str().unwrap();
    assert!(
        message.contains("Image not downloaded") && message.contains("another server"),
        "{message}"
    );

    // Graded about the image, uploaded, read back.
    let mut answers = Answers::default();
    answers.answers.insert(
        "finding".into(),
        Answer::SingleChoice {
            choice: "Fracture".into(),
        },
    );
    grade(store, &format!("ls-task-{named}"), &answers, 25);
    let p = eng.push().await.unwrap();
    assert_eq!(p.sent, 1, "{p:?}");
    let anns = ls.annotations(named).await;
    let anns = anns.as_array().unwrap();
    assert_eq!(anns.len(), 1, "{anns:?}");
    assert_eq!(anns[0]["completed_by"].as_u64(), Some(rev_id));
    assert_eq!(anns[0]["lead_time"].as_f64(), Some(25.0));
    assert_eq!(anns[0]["result"][0]["from_name"], "finding");
    assert_eq!(anns[0]["result"][0]["to_name"], "xray");
    assert_eq!(
        anns[0]["result"][0]["value"],
        json!({"choices": ["Fracture"]})
    );
    eprintln!("images in {:.1}s", t0.elapsed().as_secs_f64());
}

/// Uploads not yet acknowledged (queued or being sent).
fn pending(store: &Store) -> usize {
    store
        .due_outbox(chrono::Utc::now() + chrono::Duration::days(1))
        .unwrap()
        .len()
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Bad input from a server that answers like Label Studio: HTML error pages,
/// 500s, a config that does not parse, a task missing a referenced variable,
/// a 404 for a project with no tasks. Runs without Label Studio.
mod hostile {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use assay_rubric::{Answer, Answers};
    use assay_store::{QueueStatus, Store};
    use axum::extract::{Path, Query, State};
    use axum::http::StatusCode;
    use axum::response::{Html, IntoResponse, Response};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use serde_json::{json, Value};

    const GOOD: &str = r#"<View><Text name="q" value="$question"/><Text name="a" value="$answer"/>
        <Choices name="ok" toName="a" required="true"><Choice value="yes"/><Choice value="no"/></Choices>
        <Rating name="stars" toName="a" maxRating="3"/></View>"#;

    #[derive(Default)]
    struct Fake {
        task_list_calls: AtomicU32,
        uploads: AtomicU32,
        stored: std::sync::Mutex<Vec<Value>>,
    }

    fn page_500() -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html("<html><body><h1>Server Error (500)</h1></body></html>"),
        )
            .into_response()
    }

    fn project(id: u64) -> Value {
        let config = match id {
            2 => "<View><Text name=\"q\" value=\"$question\">",
            _ => GOOD,
        };
        json!({"id": id, "title": format!("P{id}"), "label_config": config, "expert_instruction": ""})
    }

    fn task(id: u64) -> Value {
        let project = id / 10;
        let mut data =
            json!({"question": format!("Q{id}"), "answer": format!("A{id}"), "secret": "HIDDEN-X"});
        if id == 12 {
            data.as_object_mut().unwrap().remove("answer");
        }
        json!({"id": id, "project": project, "data": data, "annotations": [], "is_labeled": false,
               "created_at": "2026-11-30T10:00:00Z"})
    }

    async fn tasks(State(f): State<Arc<Fake>>, Query(q): Query<Vec<(String, String)>>) -> Response {
        let project: u64 = q
            .iter()
            .find(|(k, _)| k == "project")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if f.task_list_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return page_500();
        }
        match project {
            1 => Json(json!({"total": 3, "tasks": [task(11), task(12), task(13)]})).into_response(),
            2 => Json(json!({"total": 1, "tasks": [task(21)]})).into_response(),
            _ => (StatusCode::NOT_FOUND, Json(json!({"detail": "Not found."}))).into_response(),
        }
    }

    async fn one_task(Path(id): Path<u64>) -> Response {
        if id == 13 {
            return (StatusCode::NOT_FOUND, Html("<html>404 Not Found</html>")).into_response();
        }
        Json(task(id)).into_response()
    }

    async fn upload(
        State(f): State<Arc<Fake>>,
        Path(id): Path<u64>,
        Json(body): Json<Value>,
    ) -> Response {
        if f.uploads.fetch_add(1, Ordering::SeqCst) == 0 {
            return page_500();
        }
        f.stored.lock().unwrap().push(body.clone());
        (
            StatusCode::CREATED,
            Json(
                json!({"id": 900 + id, "task": id, "completed_by": 5, "result": body["result"],
                        "lead_time": body["lead_time"], "created_at": "2026-12-01T10:00:00Z"}),
            ),
        )
            .into_response()
    }

    /// Answers of the fake's config: the choice `ok` and `stars` stars.
    fn ok_and_stars(ok: &str, stars: i32) -> Answers {
        let mut a = Answers::default();
        a.answers
            .insert("ok".into(), Answer::SingleChoice { choice: ok.into() });
        a.answers
            .insert("stars".into(), Answer::Scale { value: stars });
        a
    }

    async fn start() -> (String, Arc<Fake>) {
        let fake = Arc::new(Fake::default());
        let app = Router::new()
            .route("/health", get(|| async { Json(json!({"status": "UP"})) }))
            .route(
                "/api/version",
                get(|| async { Json(json!({"release": "1.23.2", "label-studio-os-package": {}})) }),
            )
            .route(
                "/api/current-user/whoami",
                get(|| async { Json(json!({"id": 5, "email": "r@example.org", "first_name": "R"})) }),
            )
            .route(
                "/api/projects/",
                get(|| async {
                    Json(json!({"count": 3, "next": null, "results": [project(1), project(2), project(3)]}))
                }),
            )
            .route("/api/projects/{id}/", get(|Path(id): Path<u64>| async move { Json(project(id)) }))
            .route("/api/tasks/", get(tasks))
            .route("/api/tasks/{id}/", get(one_task))
            .route("/api/tasks/{id}/annotations/", post(upload).get(|| async { Json(json!([])) }))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, fake)
    }

    #[tokio::test]
    async fn bad_input_is_named_nothing_is_lost_and_sync_resumes() {
        let (url, fake) = start().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let eng = super::engine(
            &url,
            "0123456789abcdef0123456789abcdef01234567",
            store.clone(),
        );

        // An HTML 500 page while listing tasks: the sync fails and says so.
        let e = eng.sync_once(|_| {}).await.unwrap_err();
        assert!(e.to_string().contains("HTTP 500"), "{e}");

        // It resumes: the good tasks arrive; each bad thing is named.
        let r = eng.sync_once(|_| {}).await.unwrap();
        let errors = r.pull.errors.join("\n");
        assert!(errors.contains("labeling config is not usable"), "{errors}");
        assert!(errors.contains("not JSON"), "{errors}");
        assert_eq!(r.pull.items, 2, "{r:?}");
        let missing = store.scoped_item("ls-task-12").unwrap().unwrap();
        assert_eq!(missing.missing_fields, vec!["answer".to_string()]);
        let ok = store.scoped_item("ls-task-11").unwrap().unwrap();
        assert!(!serde_json::to_string(&ok).unwrap().contains("HIDDEN-X"));
        assert!(store.scoped_item("ls-task-21").unwrap().is_none());

        // A grade the config refuses is never sent: the draft is kept and the
        // item says why.
        super::grade(&store, "ls-task-12", &ok_and_stars("yes", 9), 30);
        // A good grade meets a 500 first, then is uploaded once.
        super::grade(&store, "ls-task-11", &ok_and_stars("no", 3), 65);
        let first = eng.push().await.unwrap();
        assert_eq!(first.failed, 1, "{first:?}");
        assert_eq!(first.retry_scheduled, 1, "{first:?}");
        let status = store.status_of("ls-task-12", chrono::Utc::now()).unwrap();
        assert_eq!(status, QueueStatus::SubmitFailed);
        let held =
            serde_json::to_string(&store.item_detail("ls-task-12", chrono::Utc::now()).unwrap())
                .unwrap();
        assert!(
            held.contains("the rating must be from 1 to 3") || held.contains("stars"),
            "{held}"
        );
        assert!(
            store.draft("ls-task-12").unwrap().is_some(),
            "the refused answers are kept"
        );
        store.outbox_due_now(chrono::Utc::now()).unwrap();
        let second = eng.push().await.unwrap();
        assert_eq!(second.sent, 1, "{second:?}");
        let stored = fake.stored.lock().unwrap().clone();
        assert_eq!(stored.len(), 1, "only valid answers reach the server");
        assert_eq!(stored[0]["lead_time"], json!(65.0));
        assert_eq!(
            stored[0]["result"],
            json!([
                {"from_name": "ok", "to_name": "a", "type": "choices", "value": {"choices": ["no"]}},
                {"from_name": "stars", "to_name": "a", "type": "rating", "value": {"rating": 3}}
            ])
        );
        let uid = stored[0]["unique_id"].as_str().unwrap();
        assert_eq!(uuid::Uuid::parse_str(uid).unwrap().get_version_num(), 5);
    }

    /// A real radiograph (PNG) from the examples.
    pub(super) const PNG: &[u8] =
        include_bytes!("../../../examples/scan-triage/attachments/wrist-pa-0317.png");

    const IMAGE_CONFIG: &str = r#"<View><Image name="img" value="$image"/><Text name="cap" value="$caption"/>
        <Choices name="ok" toName="img" required="true"><Choice value="sharp"/><Choice value="blurry"/></Choices></View>"#;

    /// A Label Studio whose uploads need a Bearer access token that the
    /// first refresh's token is already too old for, and a second server
    /// (another origin) that must never be asked for anything.
    #[derive(Default)]
    struct MediaFake {
        other: String,
        refreshes: AtomicU32,
        /// (path and query, Authorization) of every media request.
        hits: std::sync::Mutex<Vec<(String, String)>>,
        slow: std::sync::atomic::AtomicBool,
    }

    fn image_project() -> Value {
        json!({"id": 1, "title": "Wrists", "label_config": IMAGE_CONFIG, "expert_instruction": ""})
    }

    fn image_task(id: u64, other: &str) -> Value {
        let image = match id {
            101 => "/data/upload/1/wrist.png".to_string(),
            102 => format!("{other}/data/upload/1/wrist.png"),
            103 => "/data/upload/1/huge.png".into(),
            104 => "/data/upload/1/page.png".into(),
            105 => "/data/upload/1/moved.png".into(),
            106 => "/data/upload/1/fake.png".into(),
            107 => "/data/upload/1/slow.png".into(),
            _ => "/data/local-files/?d=scans%2Fwrist.png".into(),
        };
        json!({"id": id, "project": 1, "annotations": [], "is_labeled": false,
               "created_at": "2026-11-30T10:00:00Z",
               "data": {"image": image, "caption": format!("Wrist PA {id}"),
                        "secret": "HIDDEN-X", "secret_scan": "/data/upload/1/secret.png"}})
    }

    async fn media(
        State(f): State<Arc<MediaFake>>,
        uri: axum::http::Uri,
        headers: axum::http::HeaderMap,
    ) -> Response {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        f.hits.lock().unwrap().push((path.clone(), auth.clone()));
        // Only a fresh access token opens uploads; `acc-1` has expired.
        if !auth.starts_with("Bearer acc-") || auth == "Bearer acc-1" {
            return (StatusCode::UNAUTHORIZED, Json(json!({"detail": "expired"}))).into_response();
        }
        let png = || ([("content-type", "image/png")], PNG.to_vec()).into_response();
        match path.as_str() {
            "/data/upload/1/wrist.png" | "/data/local-files/?d=scans%2Fwrist.png" => png(),
            "/data/upload/1/huge.png" => {
                let mut big = PNG.to_vec();
                big.resize(3 << 20, 0);
                ([("content-type", "image/png")], big).into_response()
            }
            "/data/upload/1/page.png" => Html("<html><body>Log in</body></html>").into_response(),
            "/data/upload/1/moved.png" => (
                StatusCode::FOUND,
                [("location", format!("{}/data/upload/1/wrist.png", f.other))],
            )
                .into_response(),
            "/data/upload/1/fake.png" => (
                [("content-type", "image/png")],
                b"GIF89a not really".to_vec(),
            )
                .into_response(),
            "/data/upload/1/slow.png" => {
                if f.slow.load(Ordering::SeqCst) {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
                png()
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }

    async fn start_media() -> (String, Arc<MediaFake>, Arc<AtomicU32>) {
        // The other origin: counts whatever reaches it.
        let other_hits = Arc::new(AtomicU32::new(0));
        let counter = other_hits.clone();
        let other_app = Router::new().fallback(move || {
            let c = counter.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                ([("content-type", "image/png")], PNG.to_vec())
            }
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let other = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, other_app).await.unwrap() });

        let fake = Arc::new(MediaFake {
            other,
            ..Default::default()
        });
        let app =
            Router::new()
                .route("/health", get(|| async { Json(json!({"status": "UP"})) }))
                .route(
                    "/api/token/refresh/",
                    post(|State(f): State<Arc<MediaFake>>| async move {
                        let n = f.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
                        Json(json!({"access": format!("acc-{n}")}))
                    }),
                )
                .route(
                    "/api/current-user/whoami",
                    get(|| async {
                        Json(json!({"id": 5, "email": "r@example.org", "first_name": "R"}))
                    }),
                )
                .route(
                    "/api/projects/",
                    get(|| async {
                        Json(json!({"count": 1, "next": null, "results": [image_project()]}))
                    }),
                )
                .route(
                    "/api/projects/{id}/",
                    get(|| async { Json(image_project()) }),
                )
                .route(
                    "/api/tasks/",
                    get(
                        |State(f): State<Arc<MediaFake>>,
                         Query(q): Query<Vec<(String, String)>>| async move {
                            let n = |k: &str| {
                                q.iter()
                                    .find(|(x, _)| x == k)
                                    .and_then(|(_, v)| v.parse::<u64>().ok())
                            };
                            let (page, size) =
                                (n("page").unwrap_or(1), n("page_size").unwrap_or(100));
                            let tasks: Vec<Value> = (101..=108u64)
                                .skip(((page - 1) * size) as usize)
                                .take(size as usize)
                                .map(|i| image_task(i, &f.other))
                                .collect();
                            Json(json!({"total": 8, "tasks": tasks}))
                        },
                    ),
                )
                .route(
                    "/api/tasks/{id}/",
                    get(
                        |State(f): State<Arc<MediaFake>>, Path(id): Path<u64>| async move {
                            Json(image_task(id, &f.other))
                        },
                    ),
                )
                .route(
                    "/api/tasks/{id}/annotations/",
                    get(|| async { Json(json!([])) }),
                )
                .route("/data/upload/{project}/{file}", get(media))
                .route("/data/local-files/", get(media))
                .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, fake, other_hits)
    }

    /// The views of one item exactly as the shell's `open_item` command
    /// hands them to the webview (the command serializes `OpenedItem`).
    pub(super) async fn ipc_open_item(data_dir: &std::path::Path, assignment: &str) -> Value {
        let wb = assay_app::Workbench::open(
            "dev.assay.desktop.test-ls-media",
            data_dir,
            Arc::new(|_| {}),
            Arc::new(assay_app::ScriptedDialogs::default()),
        )
        .unwrap();
        let opened = wb.open_item(assignment).await.unwrap();
        let payload = serde_json::to_string(&opened).unwrap();
        serde_json::from_str(&payload).unwrap()
    }

    pub(super) fn view_of<'a>(opened: &'a Value, field: &str) -> &'a Value {
        opened["views"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["field_id"] == field)
            .unwrap_or_else(|| panic!("no view of {field}: {opened}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn images_come_from_the_server_only_with_auth_within_bounds() {
        use sha2::Digest;
        let (url, fake, other_hits) = start_media().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path().join("store")).unwrap());
        let client = assay_sync::LabelStudioClient::new(&url).unwrap().with_auth(
            assay_sync::LabelStudioAuth::from_token(assay_sync::Token::new(
                "eyJhbGciOiJIUzI1NiJ9.eyJ0IjoxfQ.c2ln",
            )),
        );
        let config = assay_sync::SyncConfig {
            limits: assay_sync::Limits {
                attachment_max_bytes: 1 << 20,
                request_deadline: std::time::Duration::from_secs(2),
                ..Default::default()
            },
            ..super::config()
        };
        let eng = assay_sync::SyncEngine::new(client, store.clone(), config);
        fake.slow.store(true, Ordering::SeqCst);

        // The slow image times out: the sync says so, its task waits for
        // the next sync, and the other tasks are stored.
        let e = eng.sync_once(|_| {}).await.unwrap_err();
        assert!(e.to_string().contains("within 2s"), "{e}");
        assert!(store.scoped_item("ls-task-107").unwrap().is_none());

        let sha = hex::encode(sha2::Sha256::digest(PNG));
        let value = |t: u64| {
            let s = store.scoped_item(&format!("ls-task-{t}")).unwrap().unwrap();
            let f = s.fields.iter().find(|f| f.id == "image").unwrap();
            assert_eq!(f.viewer, assay_rubric::ViewerKind::Scan);
            serde_json::to_value(&f.value).unwrap()
        };
        // An upload and a local file: stored once, content-addressed.
        for t in [101, 108] {
            let v = value(t);
            assert_eq!(v["type"], "attachment", "{t}: {v}");
            assert_eq!(v["value"]["sha256"], sha.as_str());
            assert_eq!(v["value"]["media_type"], "image/png");
            assert_eq!(v["value"]["size"], PNG.len());
        }
        assert_eq!(value(101)["value"]["filename"], "wrist.png");
        assert_eq!(store.read_attachment(&sha).unwrap(), PNG);
        // Everything else is named, not downloaded.
        for (t, why) in [
            (102, "on another server"),
            (103, "larger than 1.0 MiB"),
            (104, "sent text/html"),
            (105, "redirected it elsewhere"),
            (106, "not a PNG, JPEG or DICOM image"),
        ] {
            let v = value(t);
            assert_eq!(v["type"], "text", "{t}: {v}");
            let text = v["value"].as_str().unwrap();
            assert!(
                text.starts_with("Image not downloaded: ") && text.contains(why),
                "{t}: {text}"
            );
        }
        // Nothing reached the other origin (neither the link nor the
        // redirect), the hidden image was never asked for, and every request
        // carried the reviewer's token.
        assert_eq!(other_hits.load(Ordering::SeqCst), 0);
        let hits = fake.hits.lock().unwrap().clone();
        assert!(!hits.iter().any(|(p, _)| p.contains("secret")), "{hits:?}");
        assert!(
            hits.iter().all(|(_, a)| a.starts_with("Bearer acc-")),
            "{hits:?}"
        );
        // acc-1 always gets a 401: the images above arrived after a refresh.
        assert!(hits.iter().any(|(_, a)| a == "Bearer acc-1"), "{hits:?}");
        assert!(fake.refreshes.load(Ordering::SeqCst) >= 2);

        // The server is quick again: the next sync brings the waiting task.
        fake.slow.store(false, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let r = eng.sync_once(|_| {}).await.unwrap();
        assert_eq!(r.pull.items, 1, "{r:?}");
        assert_eq!(value(107)["value"]["sha256"], sha.as_str());

        // The item screen: the image in the scan viewer, the refusal in words,
        // nothing hidden in what the webview receives.
        drop(eng);
        let opened = ipc_open_item(dir.path(), "ls-task-101").await;
        let view = view_of(&opened, "image");
        assert_eq!(view["kind"], "scan", "{view}");
        assert!(view["info"]["width"].as_u64().unwrap() > 0, "{view}");
        let payload = opened.to_string();
        assert!(!payload.contains("HIDDEN-X") && !payload.contains("secret_scan"));
        let opened = ipc_open_item(dir.path(), "ls-task-102").await;
        let view = view_of(&opened, "image");
        assert_eq!(view["kind"], "error", "{view}");
        assert!(
            view["message"].as_str().unwrap().contains("another server"),
            "{view}"
        );
    }
}
