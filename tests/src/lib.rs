//! Helpers for end-to-end tests of the real app: a small W3C `WebDriver` client
//! that drives the Assay binary through `tauri-driver` + `WebKitWebDriver`.
//!
//! The end-to-end tests are `#[ignore]`d in a plain `cargo test` (they need a
//! display, tauri-driver and a built app); `cargo xtask test` runs them under
//! Xvfb with `--ignored`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};

/// W3C key codes used by the tests.
pub mod keys {
    /// `WebDriver` key code of Enter.
    pub const ENTER: &str = "\u{E007}";
    /// `WebDriver` key code of Control.
    pub const CONTROL: &str = "\u{E009}";
    /// `WebDriver` key code of Shift.
    pub const SHIFT: &str = "\u{E008}";
    /// `WebDriver` key code of Escape.
    pub const ESCAPE: &str = "\u{E00C}";
    /// `WebDriver` key code of Page Down.
    pub const PAGE_DOWN: &str = "\u{E00F}";
    /// `WebDriver` key code of Arrow Down.
    pub const ARROW_DOWN: &str = "\u{E015}";
}

/// The W3C key of an element reference in JSON.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The workspace root (parent of `tests/`).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Directory holding the built binaries (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let p = PathBuf::from(dir);
            if p.is_absolute() {
                p.join("debug")
            } else {
                workspace_root().join(p).join("debug")
            }
        }
        _ => workspace_root().join("target/debug"),
    }
}

/// Path of the desktop app binary built by `cargo build -p assay-desktop`.
pub fn app_binary() -> Result<PathBuf> {
    let path = target_dir().join("assay-desktop");
    if !path.exists() {
        bail!(
            "{} is missing: build it first with `cargo build -p assay-desktop`",
            path.display()
        );
    }
    Ok(path)
}

/// Where tests put screenshots (kept as CI artifacts).
pub fn artifacts_dir() -> PathBuf {
    let dir = workspace_root().join("artifacts/e2e");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn find_tauri_driver() -> Result<PathBuf> {
    let home_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|p| p.join("bin/tauri-driver"));
    if let Some(p) = home_bin.filter(|p| p.exists()) {
        return Ok(p);
    }
    let out = Command::new("sh")
        .args(["-c", "command -v tauri-driver"])
        .output()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if s.is_empty() {
        bail!("tauri-driver not found: run `cargo xtask setup`");
    }
    Ok(PathBuf::from(s))
}

/// A `WebDriver` session on one running instance of the app.
pub struct App {
    http: reqwest::blocking::Client,
    base: String,
    session: String,
    driver: Child,
}

impl App {
    /// Starts tauri-driver (which starts WebKitWebDriver, which starts the app)
    /// with the given environment for the app, and opens a session.
    pub fn launch(envs: &[(&str, &str)]) -> Result<App> {
        Self::launch_binary(&app_binary()?, envs)
    }

    /// [`App::launch`] of another build of the app, e.g. the one a package
    /// installed in `/usr/bin`.
    pub fn launch_binary(app: &Path, envs: &[(&str, &str)]) -> Result<App> {
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = Command::new(find_tauri_driver()?);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let driver = cmd.spawn().context("starting tauri-driver")?;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut me = App {
            http,
            base,
            session: String::new(),
            driver,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if me.http.get(format!("{}/status", me.base)).send().is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!("tauri-driver did not start listening on {}", me.base);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": { "application": app.display().to_string() }
                }
            }
        });
        let v = me.post("/session", &caps)?;
        me.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId in {v}"))?
            .to_string();
        Ok(me)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.session, path)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let url = if path == "/session" {
            format!("{}/session", self.base)
        } else {
            self.url(path)
        };
        let resp = self.http.post(&url).json(body).send()?;
        Self::value(resp)
    }

    fn get(&self, path: &str) -> Result<Value> {
        let resp = self.http.get(self.url(path)).send()?;
        Self::value(resp)
    }

    fn value(resp: reqwest::blocking::Response) -> Result<Value> {
        let status = resp.status();
        let v: Value = resp.json().context("WebDriver response was not JSON")?;
        if !status.is_success() {
            bail!("WebDriver error {status}: {}", v["value"]);
        }
        Ok(v.get("value").cloned().unwrap_or(Value::Null))
    }

    /// Finds the first element matching a CSS selector, if any.
    pub fn try_find(&self, css: &str) -> Result<Option<String>> {
        let v = self.post("/elements", &json!({"using": "css selector", "value": css}))?;
        Ok(v.as_array()
            .and_then(|a| a.first())
            .and_then(|e| e.as_object())
            .and_then(|o| o.values().next())
            .and_then(|id| id.as_str())
            .map(str::to_string))
    }

    /// Waits until an element matching `css` exists.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(id) = self.try_find(css)? {
                return Ok(id);
            }
            if Instant::now() > deadline {
                let body = self.page_text().unwrap_or_default();
                let shot = self.screenshot(&format!("timeout-{}", sanitize(css)));
                bail!("timed out waiting for `{css}` (screenshot: {shot:?}); page text:\n{body}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the text of the element matching `css` satisfies `pred`.
    pub fn wait_text(
        &self,
        css: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if let Some(id) = self.try_find(css)? {
                if let Ok(t) = self.text(&id) {
                    if pred(&t) {
                        return Ok(t);
                    }
                    last = t;
                }
            }
            if Instant::now() > deadline {
                let shot = self.screenshot(&format!("timeout-{}", sanitize(css)));
                bail!("timed out waiting for text of `{css}` (screenshot: {shot:?}); last seen: {last:?}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The visible text of a `WebDriver` element (empty when it has none).
    pub fn text(&self, element: &str) -> Result<String> {
        let v = self.get(&format!("/element/{element}/text"))?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Click a `WebDriver` element.
    pub fn click(&self, element: &str) -> Result<()> {
        self.post(&format!("/element/{element}/click"), &json!({}))?;
        Ok(())
    }

    /// The `textContent` of the first element matching `css` (also for
    /// visually hidden, screen-reader-only text), if it exists.
    pub fn text_content(&self, css: &str) -> Result<Option<String>> {
        let v = self.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            json!([css]),
        )?;
        Ok(v.as_str().map(str::to_string))
    }

    /// Replaces the value of an input (as a user selecting all and typing).
    pub fn fill(&self, css: &str, text: &str) -> Result<()> {
        let el = self.wait_for(css, Duration::from_secs(30))?;
        self.execute(
            "const e = arguments[0]; e.focus(); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true}));",
            json!([{ELEMENT_KEY: el.clone()}]),
        )?;
        self.type_into(&el, text)
    }

    /// Type `text` into a `WebDriver` element (appended to its value).
    pub fn type_into(&self, element: &str, text: &str) -> Result<()> {
        self.post(&format!("/element/{element}/value"), &json!({"text": text}))?;
        Ok(())
    }

    /// Presses keys on whatever has focus (W3C actions): each string is one key.
    pub fn press(&self, keys: &[&str]) -> Result<()> {
        let mut actions = Vec::new();
        for k in keys {
            actions.push(json!({"type": "keyDown", "value": k}));
        }
        for k in keys.iter().rev() {
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        self.post(
            "/actions",
            &json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )?;
        Ok(())
    }

    /// Runs JavaScript in the page and returns its result.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/sync", &json!({"script": script, "args": args}))
    }

    /// The page's visible text.
    pub fn page_text(&self) -> Result<String> {
        let v = self.execute("return document.body.innerText", json!([]))?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Saves a PNG screenshot under `artifacts/e2e/NAME.png`: of the X display
    /// (`import -window root`, what a person would see) when one is set,
    /// otherwise `WebDriver`'s own (which `WebKitGTK` may leave blank under Xvfb).
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        self.screenshot_in(&artifacts_dir(), name)
    }

    /// [`App::screenshot`] into another folder: `DIR/NAME.png`.
    pub fn screenshot_in(&self, dir: &Path, name: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}.png"));
        if std::env::var_os("DISPLAY").is_some() {
            // Let the last frame paint before grabbing it.
            std::thread::sleep(Duration::from_millis(300));
            let status = Command::new("import")
                .args(["-window", "root"])
                .arg(&path)
                .status()
                .context("running imagemagick's import")?;
            if status.success() {
                return Ok(path);
            }
        }
        let v = self.get("/screenshot")?;
        let b64 = v.as_str().ok_or_else(|| anyhow!("no screenshot data"))?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64)?;
        std::fs::write(&path, bytes)?;
        Ok(path)
    }

    /// Moves the window to the top left corner and resizes it (W3C Set
    /// Window Rect), e.g. to fill the Xvfb screen.
    pub fn set_window_rect(&self, width: u32, height: u32) -> Result<()> {
        self.post(
            "/window/rect",
            &json!({"x": 0, "y": 0, "width": width, "height": height}),
        )?;
        Ok(())
    }

    /// Ends the session (closing the app) and stops tauri-driver.
    pub fn quit(mut self) -> Result<()> {
        self.shutdown();
        Ok(())
    }

    fn shutdown(&mut self) {
        if !self.session.is_empty() {
            let _ = self.http.delete(self.url("")).send();
            self.session.clear();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The reference platform run as its own process (`assay-platform serve`), so
/// a test can stop it (the reviewer goes offline) and start it again on the
/// same port and database.
pub struct PlatformProcess {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// Token of the demo reviewer.
    pub token: String,
}

impl PlatformProcess {
    /// Seeds a fresh database with the demo data and issues a token.
    pub fn seeded() -> Result<Self> {
        let bin = target_dir().join("assay-platform");
        if !bin.exists() {
            bail!(
                "{} is missing: `cargo build -p assay-platform`",
                bin.display()
            );
        }
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("platform.sqlite");
        let status = Command::new(&bin)
            .args(["seed", "--demo", "--small", "--db"])
            .arg(&db)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("seeding the platform failed");
        }
        let out = Command::new(&bin)
            .args(["token", "issue", "--email", "demo@assay.dev", "--db"])
            .arg(&db)
            .output()?;
        if !out.status.success() {
            bail!("issuing a token failed");
        }
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(Self {
            dir,
            port: free_port()?,
            child: None,
            token,
        })
    }

    /// Base URL of the running platform (loopback).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts serving (auto-reviewing submissions after `review_secs`).
    pub fn start(&mut self, review_secs: u64) -> Result<()> {
        let bin = target_dir().join("assay-platform");
        let child = Command::new(bin)
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{}", self.port),
                "--admin-token",
                "e2e-admin",
                "--demo-auto-review-secs",
                &review_secs.to_string(),
                "--db",
            ])
            .arg(self.dir.path().join("platform.sqlite"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                bail!("the platform did not start listening");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Stops serving (the reviewer is offline).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `POST /api/v1/admin{path}` with the admin token (decide outcomes, ...).
    pub fn admin_post(&self, path: &str, body: &Value) -> Result<Value> {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/admin{path}", self.url()))
            .bearer_auth("e2e-admin")
            .json(body)
            .send()?;
        if !resp.status().is_success() {
            let status = resp.status();
            bail!(
                "POST /admin{path}: HTTP {status}: {}",
                resp.text().unwrap_or_default()
            );
        }
        Ok(resp.json()?)
    }

    /// `GET /api/v1{path}` as the demo reviewer.
    pub fn get(&self, path: &str) -> Result<Value> {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1{path}", self.url()))
            .bearer_auth(&self.token)
            .send()?;
        if !resp.status().is_success() {
            bail!("GET {path}: HTTP {}", resp.status());
        }
        Ok(resp.json()?)
    }
}

impl Drop for PlatformProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How long the grading helpers wait for the page.
const GRADE_WAIT: Duration = Duration::from_secs(30);

/// Opens the first paid grade row matching `search` that is still new
/// (senior reviews and unpaid screening tasks are skipped).
pub fn open_new_item(app: &App, search: &str) -> Result<String> {
    let current = app.execute(
        "return document.querySelector(\"input[aria-label='Search queue']\")?.value ?? ''",
        serde_json::json!([]),
    )?;
    if current.as_str() != Some(search) {
        let before = app
            .text_content("[data-testid=queue-count]")?
            .unwrap_or_default();
        app.fill("input[aria-label='Search queue']", search)?;
        // The queue refreshes after a short debounce.
        app.wait_text("[data-testid=queue-count]", GRADE_WAIT, |t| t != before)?;
    }
    let deadline = Instant::now() + GRADE_WAIT;
    loop {
        let id = app.execute(
            "const rows = [...document.querySelectorAll('li[data-queue-row]')];
             const row = rows.find(r =>
               r.querySelector('.st')?.textContent.trim() === 'New' &&
               r.getAttribute('data-downloaded') === 'true' &&
               !/\\breview\\b/.test(r.querySelector('.l1')?.textContent ?? '') &&
               !r.querySelector('[data-testid=screening-badge]'));
             if (!row) return null;
             row.querySelector('.card').click();
             return row.getAttribute('data-queue-row');",
            serde_json::json!([]),
        )?;
        if let Some(id) = id.as_str() {
            app.wait_for("[data-testid=item-screen]", GRADE_WAIT)?;
            // Let the item screen finish mounting (keyboard handlers, draft).
            std::thread::sleep(Duration::from_millis(800));
            return Ok(id.to_string());
        }
        if Instant::now() > deadline {
            anyhow::bail!("no new item matches {search:?}:\n{}", app.page_text()?);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Grades an open coding-validation item with the keyboard only: every
/// criterion passes (1–4), quality 5, verdict "accept", then Ctrl+Enter.
pub fn grade_by_keyboard(app: &App) -> Result<()> {
    // Focus the page (not a text box) so shortcuts apply.
    app.execute(
        "document.activeElement && document.activeElement.blur()",
        serde_json::json!([]),
    )?;
    for k in ["1", "2", "3", "4", "j", "5", "j", "1"] {
        app.press(&[k])?;
        std::thread::sleep(Duration::from_millis(60));
    }
    app.wait_text("[data-testid=submit]", GRADE_WAIT, |_| true)?;
    let deadline = Instant::now() + GRADE_WAIT;
    while app
        .execute(
            "return document.querySelector('[data-testid=submit]').disabled",
            serde_json::json!([]),
        )?
        .as_bool()
        .unwrap_or(true)
    {
        if Instant::now() > deadline {
            app.screenshot("submit-disabled")?;
            let reasons = app.page_text()?;
            anyhow::bail!("submit stayed disabled:\n{reasons}");
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    app.press(&[keys::CONTROL, keys::ENTER])?;
    Ok(())
}
