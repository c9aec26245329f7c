//! Helpers for end-to-end tests of the real app: a small W3C `WebDriver` client
//! that drives the Assay binary through `tauri-driver` + `WebKitWebDriver`.
//!
//! The end-to-end tests are `#[ignore]`d in a plain `cargo test` (they need a
//! display, tauri-driver and a built app); `cargo xtask test` runs them under
//! Xvfb with `--ignored`.

pub mod gate;

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};

pub use gate::UploadGate;

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

/// How long one [`App::wait_mark`] call waits in the page, under the HTTP
/// client's 60 s limit.
const MARK_WAIT_STEP: Duration = Duration::from_secs(20);

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
    built_binary("assay-desktop")
}

/// Path of the binary of package `name` (built by `cargo build -p NAME`),
/// or an error that says how to build it.
fn built_binary(name: &str) -> Result<PathBuf> {
    let path = target_dir().join(name);
    if !path.exists() {
        bail!(
            "{} is missing: build it first with `cargo build -p {name}`",
            path.display()
        );
    }
    Ok(path)
}

/// The reference platform's binary: `ASSAY_PLATFORM_BIN` (benchmarks pass
/// the release build) or the debug build.
fn platform_binary() -> Result<PathBuf> {
    match std::env::var_os("ASSAY_PLATFORM_BIN") {
        Some(p) => Ok(PathBuf::from(p)),
        None => built_binary("assay-platform"),
    }
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

/// A port free on loopback now (for a server the test starts next).
pub fn free_port() -> Result<u16> {
    let [port] = free_ports()?;
    Ok(port)
}

/// `N` distinct free ports: all `N` are held while the next is picked, so the
/// system cannot hand out one it just released again (two separate calls
/// gave tauri-driver and WebKitWebDriver the same port once in CI, and the
/// second could not listen).
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut ports = [0u16; N];
    for (p, l) in ports.iter_mut().zip(&listeners) {
        *p = l.local_addr()?.port();
    }
    Ok(ports)
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

/// A window's position and size, as `WebDriver` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowRect {
    /// Left edge, in screen pixels.
    pub x: i64,
    /// Top edge, in screen pixels.
    pub y: i64,
    /// Outer width.
    pub width: i64,
    /// Outer height.
    pub height: i64,
}

/// A `WebDriver` session on one running instance of the app.
pub struct App {
    http: reqwest::blocking::Client,
    base: String,
    session: String,
    driver: Child,
    /// The app's binary: `quit` waits until no process runs it any more.
    binary: PathBuf,
    /// Whether [`App::shutdown`] ran (`quit`, then the drop, end it once).
    ended: bool,
}

impl App {
    /// Starts tauri-driver (which starts WebKitWebDriver, which starts the app)
    /// with the given environment for the app, and opens a session.
    pub fn launch<K: AsRef<OsStr>, V: AsRef<OsStr>>(envs: &[(K, V)]) -> Result<App> {
        Self::launch_binary(&app_binary()?, envs)
    }

    /// [`App::launch`] of another build of the app, e.g. the one a package
    /// installed in `/usr/bin`.
    pub fn launch_binary<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        app: &Path,
        envs: &[(K, V)],
    ) -> Result<App> {
        // A driver that cannot listen (its port taken between our pick and
        // its bind), or a session that cannot be opened, is replaced by a
        // driver on other ports, twice at most; each retry says why, so a
        // flake stays visible in the log. A failed attempt's processes (the
        // native driver, the app it may have started) are ended first.
        let mut attempt = 1;
        loop {
            let mut me = Self::start_driver(app, envs)?;
            match me.wait_listening().and_then(|()| me.open_session()) {
                Ok(()) => return Ok(me),
                Err(e) if attempt < 3 => {
                    eprintln!("e2e harness: {e:#}; starting tauri-driver again on other ports");
                    drop(me);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens the `WebDriver` session, which starts the app.
    fn open_session(&mut self) -> Result<()> {
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": { "application": self.binary.display().to_string() }
                }
            }
        });
        let v = self
            .post("/session", &caps)
            .context("opening a WebDriver session (starting the app)")?;
        self.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId in {v}"))?
            .to_string();
        Ok(())
    }

    /// tauri-driver on two fresh ports, not yet known to listen.
    fn start_driver<K: AsRef<OsStr>, V: AsRef<OsStr>>(app: &Path, envs: &[(K, V)]) -> Result<App> {
        let [port, native_port] = free_ports()?;
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
        Ok(App {
            http,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            driver,
            binary: app.to_path_buf(),
            ended: false,
        })
    }

    /// Waits (20 s at most) until the driver answers, or fails at once if it
    /// has exited.
    fn wait_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self
                .http
                .get(format!("{}/status", self.base))
                .send()
                .is_ok()
            {
                return Ok(());
            }
            if let Some(status) = self.driver.try_wait()? {
                bail!(
                    "tauri-driver exited ({status}) before listening on {}",
                    self.base
                );
            }
            if Instant::now() > deadline {
                bail!("tauri-driver did not start listening on {}", self.base);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
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

    /// Waits until the page has made the performance mark `mark`, without
    /// polling: each `WebDriver` call waits in the page (a
    /// `PerformanceObserver`) for up to [`MARK_WAIT_STEP`], or what is left of
    /// `timeout` if less, and answers as the mark is made. A benchmark
    /// waiting this way adds almost no work beside what it times, where
    /// polling an element every 150 ms cost about 5 ms of CPU a poll (the
    /// driver, the web process and the app answering it).
    pub fn wait_mark(&self, mark: &str, timeout: Duration) -> Result<()> {
        // The driver's own limit for the script: the longest step, with room
        // to answer.
        let longest = u64::try_from(MARK_WAIT_STEP.as_millis())?;
        self.post("/timeouts", &json!({ "script": longest + 10_000 }))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let step = u64::try_from(left.min(MARK_WAIT_STEP).as_millis())?;
            let seen = self.post(
                "/execute/async",
                &json!({
                    "script": "const [name, ms, done] = arguments;
                        const seen = () => performance.getEntriesByName(name, 'mark').length > 0;
                        if (seen()) return done(true);
                        let timer;
                        const obs = new PerformanceObserver(() => {
                          if (!seen()) return;
                          obs.disconnect(); clearTimeout(timer); done(true);
                        });
                        obs.observe({ entryTypes: ['mark'] });
                        timer = setTimeout(() => { obs.disconnect(); done(seen()); }, ms);",
                    "args": [mark, step],
                }),
            )?;
            if seen.as_bool() == Some(true) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "the page made no mark {mark} within {timeout:?}; page text:\n{}",
                    self.page_text().unwrap_or_default()
                );
            }
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

    /// `execute` without arguments.
    pub fn js(&self, script: &str) -> Result<Value> {
        self.execute(script, json!([]))
    }

    /// The page's visible text.
    pub fn page_text(&self) -> Result<String> {
        let v = self.js("return document.body.innerText")?;
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
            // Let the current DOM reach the screen before grabbing it: under
            // load WebKitGTK draws a frame only every second or two, and a
            // grab 300 ms after the DOM changed showed an older frame (an
            // "In outbox" badge and an enabled Submit after the upload). A
            // second animation frame starts only once the first was drawn.
            let _ = self.js("return new Promise(done => {
                   const t = setTimeout(() => done(false), 5000);
                   requestAnimationFrame(() => requestAnimationFrame(() => { clearTimeout(t); done(true); }));
                 })");
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

    /// Moves and resizes the window (W3C Set Window Rect).
    pub fn set_window_rect_to(&self, rect: WindowRect) -> Result<()> {
        self.post(
            "/window/rect",
            &json!({"x": rect.x, "y": rect.y, "width": rect.width, "height": rect.height}),
        )?;
        Ok(())
    }

    /// The window's position and size (W3C Get Window Rect).
    pub fn window_rect(&self) -> Result<WindowRect> {
        let v = self.get("/window/rect")?;
        let n = |k: &str| {
            v[k].as_i64()
                .ok_or_else(|| anyhow!("no {k} in the window rect {v}"))
        };
        Ok(WindowRect {
            x: n("x")?,
            y: n("y")?,
            width: n("width")?,
            height: n("height")?,
        })
    }

    /// Ends the session (closing the app) and stops tauri-driver.
    pub fn quit(mut self) -> Result<()> {
        self.shutdown();
        Ok(())
    }

    fn shutdown(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let had_session = !self.session.is_empty();
        if had_session {
            let _ = self.http.delete(self.url("")).send();
            self.session.clear();
        }
        // What tauri-driver started: WebKitWebDriver and, under it, the app.
        // Ending the session closes the app; whatever of the tree still runs
        // after that (or at once, without a session: a failed launch) is
        // killed before the driver, whose death would hide the tree, so no
        // window outlives its test and holds its profile or slows the next.
        let tree = descendants(self.driver.id());
        let app = self.binary.canonicalize().ok();
        let is_app = |pid: u32| app.is_some() && exe_of(pid) == app;
        if had_session {
            wait_while(Duration::from_secs(15), || tree.iter().any(|&p| is_app(p)));
        }
        let left: Vec<u32> = tree.into_iter().filter(|&p| exe_of(p).is_some()).collect();
        let apps: Vec<u32> = left.iter().copied().filter(|&p| is_app(p)).collect();
        if had_session && !apps.is_empty() {
            eprintln!(
                "e2e harness: the app (pid {apps:?}) still ran 15 s after its WebDriver session ended; killing it"
            );
        }
        for pid in left {
            let _ = signal(pid, "KILL"); // it may have exited meanwhile
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // A second launch of a test (not under the driver) may still be
        // exiting: a launch now would find its single-instance name on
        // D-Bus and hand its arguments to a process that is going away.
        wait_until_gone(&self.binary, Duration::from_secs(15));
    }
}

/// The processes under `root` (Linux: parents read from `/proc/<pid>/stat`;
/// elsewhere none), parents before their children.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = pids()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parent_in_stat(&stat)?))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while let Some(&parent) = found.get(i) {
        found.extend(
            parents
                .iter()
                .filter(|&&(_, p)| p == parent)
                .map(|&(pid, _)| pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The parent pid in a `/proc/<pid>/stat` line: the second field after the
/// command name, which is in parentheses and may hold spaces or `)`.
fn parent_in_stat(stat: &str) -> Option<u32> {
    let rest = stat.get(stat.rfind(')')?.checked_add(1)?..)?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The executable of a running process (`None` once it exited or was reaped).
pub fn exe_of(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Waits (at most `limit`) until no process runs the binary `app`
/// (Linux: `/proc/<pid>/exe`; elsewhere returns at once).
fn wait_until_gone(app: &Path, limit: Duration) {
    let Ok(app) = app.canonicalize() else { return };
    wait_while(limit, || {
        pids().any(|pid| exe_of(pid).is_some_and(|exe| exe == app))
    });
}

/// Polls `busy` every 100 ms until it is false or `limit` has passed.
fn wait_while(limit: Duration, busy: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while busy() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `sig` (a name such as `STOP` or `KILL`) to process `pid` with `kill`;
/// a failure is the error, `kill`'s own message is not printed.
pub fn signal(pid: u32, sig: &str) -> Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("kill -{sig} {pid} failed");
    }
    Ok(())
}

/// The ids of the running processes (Linux: `/proc`; elsewhere none).
pub fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|p| p.file_name().to_str()?.parse().ok())
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The operator's token the test platform serves with (`--admin-token`).
const ADMIN_TOKEN: &str = "e2e-admin";

/// The reference platform run as its own process (`assay-platform serve`), so
/// a test can stop it (the reviewer goes offline) and start it again on the
/// same port and database.
pub struct PlatformProcess {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// Token of the demo reviewer.
    pub token: String,
    /// More arguments for `serve` (e.g. `--updates-dir DIR`).
    pub serve_args: Vec<String>,
}

impl PlatformProcess {
    /// Seeds a fresh database with the demo data and issues a token.
    pub fn seeded() -> Result<Self> {
        Self::seeded_with(&["--small"])
    }

    /// Seeds a fresh database with the demo data, with more `seed`
    /// arguments (e.g. `--bulk 10000`), and issues a token.
    pub fn seeded_with(seed_args: &[&str]) -> Result<Self> {
        let bin = platform_binary()?;
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("platform.sqlite");
        let status = Command::new(&bin)
            .args(["seed", "--demo"])
            .args(seed_args)
            .arg("--db")
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
            serve_args: Vec::new(),
        })
    }

    /// Base URL of the running platform (loopback).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts serving (auto-reviewing submissions after `review_secs`).
    pub fn start(&mut self, review_secs: u64) -> Result<()> {
        let child = Command::new(platform_binary()?)
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{}", self.port),
                "--admin-token",
                ADMIN_TOKEN,
                "--demo-auto-review-secs",
                &review_secs.to_string(),
                "--db",
            ])
            .arg(self.dir.path().join("platform.sqlite"))
            .args(&self.serve_args)
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

    /// `POST /api/v1/admin{path}` with the admin token (decide outcomes,
    /// issue tokens, ...).
    pub fn admin_post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            &format!("/admin{path}"),
            ADMIN_TOKEN,
            Some(body),
        )
    }

    /// `GET /api/v1/admin{path}` with the admin token (the export, ...).
    pub fn admin_get(&self, path: &str) -> Result<Value> {
        self.call(
            reqwest::Method::GET,
            &format!("/admin{path}"),
            ADMIN_TOKEN,
            None,
        )
    }

    /// `GET /api/v1{path}` as the demo reviewer.
    pub fn get(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::GET, path, &self.token, None)
    }

    /// `POST /api/v1{path}` as the demo reviewer, without a body.
    pub fn post(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::POST, path, &self.token, None)
    }

    /// `method /api/v1{path}` with `token` (and `body` as JSON); the JSON
    /// answer, or an error naming the call and the platform's status.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut req = reqwest::blocking::Client::new()
            .request(method.clone(), format!("{}/api/v1{path}", self.url()))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send()?;
        if !resp.status().is_success() {
            let status = resp.status();
            bail!(
                "{method} {path}: HTTP {status}: {}",
                resp.text().unwrap_or_default()
            );
        }
        Ok(resp.json()?)
    }
}

impl Drop for PlatformProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A test's environment for the app: its `profile` and its data in `data_dir`.
pub fn profile_env(profile: &str, data_dir: &Path) -> [(&'static str, String); 2] {
    [
        ("ASSAY_PROFILE", profile.to_owned()),
        ("ASSAY_DATA_DIR", data_dir.display().to_string()),
    ]
}

/// [`profile_env`] on a fresh data folder (removed when the folder is dropped).
pub fn fresh_profile(profile: &str) -> Result<(tempfile::TempDir, [(&'static str, String); 2])> {
    let data = tempfile::tempdir()?;
    let env = profile_env(profile, data.path());
    Ok((data, env))
}

/// [`profile_env`] with the scripted dialogs (`ASSAY_TEST_DIALOGS`, JSON).
pub fn app_env(profile: &str, data_dir: &Path, dialogs: String) -> [(&'static str, String); 3] {
    let [profile, data_dir] = profile_env(profile, data_dir);
    [profile, data_dir, ("ASSAY_TEST_DIALOGS", dialogs)]
}

/// How many entries of `assignment` a cursor-paged feed holds, over every
/// page: `page(since)` fetches the page after cursor `since` (empty: the
/// first), whose entries are the array under `key`.
pub fn count_in_feed(
    key: &str,
    assignment: &str,
    mut page: impl FnMut(&str) -> Result<Value>,
) -> Result<usize> {
    let mut n = 0;
    let mut since = String::new();
    loop {
        let page = page(&since)?;
        n += page[key].as_array().map_or(0, |a| {
            a.iter()
                .filter(|x| x["assignment_id"] == assignment)
                .count()
        });
        if !page["has_more"].as_bool().unwrap_or(false) {
            return Ok(n);
        }
        since = page["next_cursor"].as_str().unwrap_or_default().to_string();
    }
}

/// How long the grading helpers wait for the page.
const GRADE_WAIT: Duration = Duration::from_secs(30);

/// Signs in through the form with the platform's address and token, then
/// waits (up to `online_within`) until the app is online.
pub fn sign_in(app: &App, platform: &PlatformProcess, online_within: Duration) -> Result<()> {
    app.fill("input[type=url]", &platform.url())?;
    app.fill("input[type=password]", &platform.token)?;
    app.press(&[keys::ENTER])?;
    app.wait_text("[data-testid=online-badge]", online_within, |t| {
        t.contains("Online")
    })?;
    Ok(())
}

/// Waits until the queue counts at least one item (a sync filled it).
pub fn wait_queue_filled(app: &App) -> Result<()> {
    app.wait_text("[data-testid=queue-count]", GRADE_WAIT, |t| {
        t.split_whitespace()
            .next()
            .and_then(|n| n.replace(',', "").parse::<u32>().ok())
            .unwrap_or(0)
            > 0
    })?;
    Ok(())
}

/// Waits until the open item's submit button is enabled; if it stays
/// disabled, saves screenshot `shot` and fails with the page's text (which
/// says why).
pub fn wait_submit_enabled(app: &App, shot: &str) -> Result<()> {
    app.wait_text("[data-testid=submit]", GRADE_WAIT, |_| true)?;
    let deadline = Instant::now() + GRADE_WAIT;
    while app
        .js("return document.querySelector('[data-testid=submit]').disabled")?
        .as_bool()
        .unwrap_or(true)
    {
        if Instant::now() > deadline {
            app.screenshot(shot)?;
            bail!("submit stayed disabled:\n{}", app.page_text()?);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    Ok(())
}

/// Opens the first paid grade row matching `search` that is still new
/// (senior reviews and unpaid screening tasks are skipped).
pub fn open_new_item(app: &App, search: &str) -> Result<String> {
    search_queue(app, search)?;
    let id = click_new_item(app, search)?;
    app.wait_for("[data-testid=item-screen]", GRADE_WAIT)?;
    // Let the item screen finish mounting (keyboard handlers, draft).
    std::thread::sleep(Duration::from_millis(800));
    Ok(id)
}

/// Types `search` into the queue's search box (unless it is there already)
/// and waits for the queue to show its result.
pub fn search_queue(app: &App, search: &str) -> Result<()> {
    let current =
        app.js("return document.querySelector(\"input[aria-label='Search queue']\")?.value ?? ''")?;
    if current.as_str() != Some(search) {
        let before = app
            .text_content("[data-testid=queue-count]")?
            .unwrap_or_default();
        app.fill("input[aria-label='Search queue']", search)?;
        // The queue refreshes after a short debounce.
        app.wait_text("[data-testid=queue-count]", GRADE_WAIT, |t| t != before)?;
    }
    Ok(())
}

/// The page's global where [`click_new_item`] keeps the `performance.now()`
/// of its click, to time what the click brings up in the page's own clock.
pub const CLICKED_AT: &str = "__assayClickedAt";

/// Clicks the first paid grade row in the queue that is still new (senior
/// reviews and unpaid screening tasks are skipped), waiting for one to show
/// up; returns its assignment id. The click's `performance.now()` is left
/// in the page's [`CLICKED_AT`].
pub fn click_new_item(app: &App, search: &str) -> Result<String> {
    let deadline = Instant::now() + GRADE_WAIT;
    loop {
        let id = app.js(&format!(
            "const rows = [...document.querySelectorAll('li[data-queue-row]')];
             const row = rows.find(r =>
               r.querySelector('.st')?.textContent.trim() === 'New' &&
               r.getAttribute('data-downloaded') === 'true' &&
               !/\\breview\\b/.test(r.querySelector('.l1')?.textContent ?? '') &&
               !r.querySelector('[data-testid=screening-badge]'));
             if (!row) return null;
             window.{CLICKED_AT} = performance.now();
             row.querySelector('.card').click();
             return row.getAttribute('data-queue-row');"
        ))?;
        if let Some(id) = id.as_str() {
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
    app.js("document.activeElement && document.activeElement.blur()")?;
    for k in ["1", "2", "3", "4", "j", "5", "j", "1"] {
        app.press(&[k])?;
        std::thread::sleep(Duration::from_millis(60));
    }
    wait_submit_enabled(app, "submit-disabled")?;
    app.press(&[keys::CONTROL, keys::ENTER])?;
    Ok(())
}

/// Waits until the open item's scan canvas shows an image: the frame
/// arrives as a PNG and is drawn; count the pixels that are neither the
/// black background nor transparent. Also checks the canvas is laid out
/// square and at a readable size.
pub fn wait_scan_painted(app: &App) -> Result<()> {
    app.wait_for("[data-viewer=scan] canvas", GRADE_WAIT)?;
    let deadline = Instant::now() + GRADE_WAIT;
    loop {
        let painted = app.js("const c = document.querySelector('[data-viewer=scan] canvas');
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0;
             for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 30) n++;
             return [n, c.width * c.height, c.getBoundingClientRect().width, c.getBoundingClientRect().height];")?;
        let v: Vec<f64> = serde_json::from_value(painted)?;
        if v[0] > v[1] * 0.05 {
            // Laid out square and at a readable size.
            assert!(
                v[2] >= 256.0 && (v[2] - v[3]).abs() < 2.0,
                "canvas box {v:?}"
            );
            break;
        }
        if Instant::now() > deadline {
            app.screenshot("scan-not-painted")?;
            anyhow::bail!("the scan never painted: {v:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Presses Shift+S (sync now) with the focus outside any text box.
pub fn sync_now(app: &App) -> Result<()> {
    app.js("document.activeElement && document.activeElement.blur()")?;
    app.press(&[keys::SHIFT, "S"])?;
    Ok(())
}

/// Syncs until the open item shows `want` in its status badge.
pub fn sync_until_status(app: &App, want: &str) -> Result<()> {
    let deadline = Instant::now() + GRADE_WAIT;
    loop {
        sync_now(app)?;
        let ok = app
            .wait_text("[data-testid=item-status]", Duration::from_secs(3), |t| {
                t.to_lowercase().contains(want)
            })
            .is_ok();
        if ok {
            return Ok(());
        }
        if Instant::now() > deadline {
            app.screenshot(&format!("status-not-{want}"))?;
            anyhow::bail!("the item never showed {want:?}:\n{}", app.page_text()?);
        }
    }
}

/// Clicks the option labelled `label` of the question `prompt`.
pub fn choose(app: &App, prompt: &str, label: &str) -> Result<()> {
    let ok = app.execute(
        "const g = document.querySelector(`[aria-label='${arguments[0]}']`);
         const b = g && [...g.querySelectorAll('button')].find(b => b.textContent.includes(arguments[1]));
         if (!b) return false; b.click(); return true;",
        serde_json::json!([prompt, label]),
    )?;
    anyhow::ensure!(
        ok == serde_json::json!(true),
        "no option {label:?} for {prompt:?}"
    );
    std::thread::sleep(Duration::from_millis(100));
    Ok(())
}

/// Where an open dialog is and whether the page has it on top, from the
/// DOM: `{rect: [x, y, w, h] (device pixels), dim: [r, g, b, a] (its
/// backdrop's colour, if any), problems: [...]}`. A problem is an empty or
/// off-screen box, a hidden or transparent dialog (or ancestor), or a point
/// of the dialog (its centre and four points inset from its corners) where
/// `elementFromPoint` finds something else on top.
const DIALOG_BOX: &str = r"const d = document.querySelector(arguments[0]);
if (!d) return {problems: ['no ' + arguments[0] + ' in the page']};
const problems = [];
const r = d.getBoundingClientRect();
const dpr = window.devicePixelRatio || 1;
if (r.width < 20 || r.height < 20) problems.push('laid out ' + Math.round(r.width) + 'x' + Math.round(r.height));
if (r.left < 0 || r.top < 0 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1)
  problems.push('box ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(',') + ' outside the ' + innerWidth + 'x' + innerHeight + ' viewport');
for (let e = d; e; e = e.parentElement) {
  const s = getComputedStyle(e);
  if (s.display === 'none' || s.visibility !== 'visible' || Number(s.opacity) < 0.99)
    problems.push((e === d ? 'the dialog' : 'an ancestor ' + e.tagName.toLowerCase() + '.' + [...e.classList].join('.')) + ': display ' + s.display + ', visibility ' + s.visibility + ', opacity ' + s.opacity);
}
const inset = Math.min(12, r.width / 4, r.height / 4);
for (const [x, y] of [[r.left + r.width / 2, r.top + Math.min(r.height / 2, innerHeight / 2 - r.top)],
                      [r.left + inset, r.top + inset], [r.right - inset, r.top + inset],
                      [r.left + inset, Math.min(r.bottom, innerHeight) - inset], [r.right - inset, Math.min(r.bottom, innerHeight) - inset]]) {
  const hit = document.elementFromPoint(x, y);
  if (!hit || !d.contains(hit))
    problems.push('at ' + Math.round(x) + ',' + Math.round(y) + ' the top element is ' + (hit ? hit.tagName.toLowerCase() + '.' + [...hit.classList].join('.') : 'nothing'));
}
let dim = null;
const backdrop = d.parentElement;
if (backdrop && getComputedStyle(backdrop).position === 'fixed') {
  const m = getComputedStyle(backdrop).backgroundColor.match(/[\d.]+/g);
  if (m) dim = [Number(m[0]), Number(m[1]), Number(m[2]), m.length > 3 ? Number(m[3]) : 1];
}
const x = Math.max(0, r.left), y = Math.max(0, r.top);
return {rect: [x, y, Math.min(r.right, innerWidth) - x, Math.min(r.bottom, innerHeight) - y].map(v => Math.round(v * dpr)), dim, problems};";

/// An RGB screenshot decoded from a PNG.
pub struct Pixels {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Pixels {
    /// Decodes a PNG screenshot (8-bit RGB, RGBA, grey or grey+alpha).
    pub fn read(path: &Path) -> Result<Pixels> {
        let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf)?;
        let channels = info.color_type.samples();
        let (width, height) = (info.width as usize, info.height as usize);
        let rgb = buf[..info.buffer_size()]
            .chunks_exact(channels)
            .map(|p| match channels {
                1 | 2 => [p[0]; 3],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Ok(Pixels { width, height, rgb })
    }

    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.width + x]
    }
}

/// Two colours a person can tell apart (some channel differs by more than 24).
fn differs(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).any(|(x, y)| x.abs_diff(y) > 24)
}

/// The share of pixels (every 4th each way) that differ between two screenshots.
fn changed_share(a: &Pixels, b: &Pixels) -> f64 {
    let (mut changed, mut total) = (0usize, 0usize);
    for y in (0..a.height.min(b.height)).step_by(4) {
        for x in (0..a.width.min(b.width)).step_by(4) {
            total += 1;
            if differs(a.at(x, y), b.at(x, y)) {
                changed += 1;
            }
        }
    }
    if total == 0 {
        0.0
    } else {
        changed as f64 / total as f64
    }
}

/// What a screenshot shows of a dialog opened over the screen in `before`:
/// the share of the dialog's box that shows the dialog (pixels that differ
/// from the screen before it opened seen through the backdrop `dim`, or
/// without a backdrop from the screen before), and the share of the screen outside the box that
/// shows the backdrop (of the pixels the backdrop changes visibly). A
/// dialog that is in the page but not drawn scores about 0 on both.
pub fn dialog_paint(
    before: &Pixels,
    after: &Pixels,
    rect: [usize; 4],
    dim: Option<[f64; 4]>,
) -> (f64, Option<f64>) {
    let [x0, y0, w, h] = rect;
    let (x1, y1) = (
        (x0 + w).min(before.width).min(after.width),
        (y0 + h).min(before.height).min(after.height),
    );
    let through = |p: [u8; 3]| -> [u8; 3] {
        match dim {
            Some([r, g, b, a]) => {
                let mix = |c: u8, d: f64| {
                    (f64::from(c) * (1.0 - a) + d * a).round().clamp(0.0, 255.0) as u8
                };
                [mix(p[0], r), mix(p[1], g), mix(p[2], b)]
            }
            None => p,
        }
    };
    let inside = |x: usize, y: usize| x >= x0 && x < x1 && y >= y0 && y < y1;
    let (mut shown, mut total) = (0usize, 0usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let (b, a) = (before.at(x, y), after.at(x, y));
            total += 1;
            let shows = if dim.is_some() {
                differs(a, through(b))
            } else {
                differs(a, b)
            };
            if shows {
                shown += 1;
            }
        }
    }
    let dialog = if total == 0 {
        0.0
    } else {
        shown as f64 / total as f64
    };
    let backdrop = dim.map(|_| {
        let (mut dimmed, mut visible) = (0usize, 0usize);
        // Every 4th pixel each way is plenty.
        for y in (0..before.height.min(after.height)).step_by(4) {
            for x in (0..before.width.min(after.width)).step_by(4) {
                let b = before.at(x, y);
                if inside(x, y) || !differs(b, through(b)) {
                    continue;
                }
                visible += 1;
                if !differs(after.at(x, y), through(b)) {
                    dimmed += 1;
                }
            }
        }
        if visible == 0 {
            1.0
        } else {
            dimmed as f64 / visible as f64
        }
    });
    (dialog, backdrop)
}

impl App {
    /// Opens a dialog and checks a person would see it: runs `open` (a
    /// script) after a screenshot of the screen without it, waits for
    /// `selector`, checks in the DOM that the dialog has a box on screen and
    /// is what lies on top at its centre and corners, then takes
    /// screenshots until the dialog's box shows the dialog (at least 60% of
    /// its pixels differ from the screen before seen through the backdrop)
    /// and the backdrop dims at least 80% of the rest,
    /// for up to `paint_wait`. Returns how long the dialog took to show on
    /// screen, or every problem found (the last screenshot is then
    /// `DIR/NAME-not-shown.png`).
    pub fn open_dialog_visibly(
        &self,
        dir: &Path,
        name: &str,
        open: &str,
        selector: &str,
        paint_wait: Duration,
    ) -> Result<std::result::Result<Duration, Vec<String>>> {
        let tmp = tempfile::tempdir()?;
        // The screen before, once it has caught up with the page (a dialog
        // closed just now may still be on it): two screenshots in a row that
        // differ in under 1% of their pixels, for up to `paint_wait`.
        let started = Instant::now();
        let mut before = Pixels::read(&self.screenshot_in(tmp.path(), "before")?)?;
        loop {
            let next = Pixels::read(&self.screenshot_in(tmp.path(), "before")?)?;
            let settled = changed_share(&before, &next) < 0.01;
            before = next;
            if settled || started.elapsed() >= paint_wait {
                break;
            }
        }
        self.js(open)?;
        if self.wait_for(selector, Duration::from_secs(5)).is_err() {
            return Ok(Err(vec![format!("{selector} did not open")]));
        }
        let opened = Instant::now();
        let v = self.execute(DIALOG_BOX, json!([selector]))?;
        let mut problems: Vec<String> =
            serde_json::from_value(v["problems"].clone()).unwrap_or_default();
        let rect: Option<[usize; 4]> = serde_json::from_value(v["rect"].clone()).ok();
        let dim: Option<[f64; 4]> = serde_json::from_value(v["dim"].clone()).ok();
        let Some(rect) = rect else {
            return Ok(Err(problems));
        };
        let last = loop {
            let path = self.screenshot_in(tmp.path(), "after")?;
            let after = Pixels::read(&path)?;
            let (dialog, backdrop) = dialog_paint(&before, &after, rect, dim);
            if dialog >= 0.6 && backdrop.is_none_or(|b| b >= 0.8) {
                return Ok(if problems.is_empty() {
                    Ok(opened.elapsed())
                } else {
                    Err(problems)
                });
            }
            if opened.elapsed() >= paint_wait {
                std::fs::copy(&path, dir.join(format!("{name}-not-shown.png")))?;
                break format!(
                    "not on screen after {} ms: {:.0}% of its box shows it{}",
                    opened.elapsed().as_millis(),
                    dialog * 100.0,
                    backdrop
                        .map(|b| format!(", the backdrop dims {:.0}% of the rest", b * 100.0))
                        .unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        problems.push(format!("the dialog is in the page but {last}"));
        Ok(Err(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_past_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(
            parent_in_stat("4242 (assay-desktop) S 4100 4242 1 0"),
            Some(4100)
        );
        assert_eq!(parent_in_stat("77 (Web Content) (x)) R 12 77 1"), Some(12));
        assert_eq!(parent_in_stat("77 (cut"), None);
    }

    #[test]
    fn the_tree_under_this_process_holds_its_child_and_not_itself() -> Result<()> {
        let mut child = Command::new("sleep").arg("5").spawn()?;
        let under = descendants(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(under.contains(&child.id()), "{under:?}");
        assert!(!under.contains(&std::process::id()));
        assert!(descendants(child.id()).is_empty());
        Ok(())
    }

    const DIM: [f64; 4] = [10.0, 14.0, 20.0, 0.45];

    /// A 100×80 screen: white with a band of grey "text" rows.
    fn screen() -> Pixels {
        let (width, height) = (100, 80);
        let rgb = (0..width * height)
            .map(|i| {
                if (i / width) % 10 < 2 {
                    [60, 60, 60]
                } else {
                    [255, 255, 255]
                }
            })
            .collect();
        Pixels { width, height, rgb }
    }

    /// `before` seen through the backdrop, with (or without) a white dialog
    /// with dark rows drawn in `rect`.
    fn opened(before: &Pixels, rect: [usize; 4], dialog: bool) -> Pixels {
        let mut after = Pixels {
            width: before.width,
            height: before.height,
            rgb: before.rgb.clone(),
        };
        for p in &mut after.rgb {
            for (c, d) in p.iter_mut().zip(DIM) {
                *c = (f64::from(*c) * (1.0 - DIM[3]) + d * DIM[3]).round() as u8;
            }
        }
        if dialog {
            let [x0, y0, w, h] = rect;
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    after.rgb[y * after.width + x] = if y % 7 == 0 {
                        [30, 30, 30]
                    } else {
                        [250, 250, 250]
                    };
                }
            }
        }
        after
    }

    #[test]
    fn a_drawn_dialog_passes_and_one_not_drawn_fails() {
        let before = screen();
        let rect = [20, 10, 60, 50];
        let (dialog, backdrop) =
            dialog_paint(&before, &opened(&before, rect, true), rect, Some(DIM));
        assert!(
            dialog >= 0.6 && backdrop.unwrap_or(0.0) >= 0.8,
            "{dialog} {backdrop:?}"
        );
        // The frame with the dialog has not reached the screen yet.
        let (_, backdrop) = dialog_paint(&before, &screen(), rect, Some(DIM));
        assert!(backdrop.unwrap_or(1.0) < 0.05, "{backdrop:?}");
        // A white dialog over white content still shows (against the dimmed screen).
        let white = Pixels {
            width: 100,
            height: 80,
            rgb: vec![[255, 255, 255]; 8000],
        };
        let (dialog, backdrop) = dialog_paint(&white, &opened(&white, rect, true), rect, Some(DIM));
        assert!(
            dialog >= 0.6 && backdrop.unwrap_or(0.0) >= 0.8,
            "{dialog} {backdrop:?}"
        );
        // The backdrop is drawn but the dialog is not (covered or transparent).
        let (dialog, backdrop) =
            dialog_paint(&before, &opened(&before, rect, false), rect, Some(DIM));
        assert!(
            dialog < 0.05 && backdrop.unwrap_or(0.0) >= 0.8,
            "{dialog} {backdrop:?}"
        );
    }
}
