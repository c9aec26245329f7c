//! `cargo xtask demo | test | tour | setup | ui | bindings | bench`: everything needed to build,
//! run and test Assay from a fresh Debian machine with only Rust, Node and Python.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

mod bench;
mod postgres;

/// tauri-driver is pinned: the end-to-end harness is tested against this version.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// Debian packages needed to build and run the app.
const BUILD_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libssl-dev",
    "libxdo-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libdbus-1-dev",
    "xvfb",
    "xauth",
    "imagemagick",
    // charls-sys builds CharLS (JPEG-LS scans) with cmake.
    "cmake",
];

/// Label Studio (Community) the connector's integration test runs against,
/// pinned; installed from PyPI into a venv under `target/` and kept there.
const LABEL_STUDIO_VERSION: &str = "1.23.2";

/// Extra Debian packages the tests need.
const TEST_PACKAGES: &[&str] = &[
    "webkit2gtk-driver",
    "dbus-x11",
    "gnome-keyring",
    "chromium",
    postgres::PACKAGE,
];

#[derive(Parser)]
#[command(about = "Assay project automation")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what's missing, build, start the reference platform with demo
    /// data and open the app signed in to it.
    Demo {
        /// Take a screenshot after this many seconds and exit (implied without $DISPLAY).
        #[arg(long)]
        screenshot_after: Option<u64>,
    },
    /// Install test dependencies, then run fmt, clippy, Rust tests, UI tests and
    /// end-to-end tests of the real app.
    Test {
        /// Skip the end-to-end tests of the real app.
        #[arg(long)]
        no_e2e: bool,
    },
    /// Drive the real app through every screen and state (each item kind in
    /// light and dark, each assignment status, offline, earnings, preview,
    /// dialogs), checking each, and write named screenshots to artifacts/tour/.
    Tour,
    /// Install system packages, tauri-driver and UI dependencies only.
    Setup,
    /// Build the UI bundle (ui/dist).
    Ui,
    /// Regenerate the TypeScript bindings (ui/src/lib/bindings).
    Bindings,
    /// Run the benchmark suite (release builds; not part of `test`): paired,
    /// repeated runs of each figure against its anchor, median and min, CPU
    /// and wall, machine load printed.
    Bench {
        /// Paired runs per benchmark (at least 7).
        #[arg(long, default_value_t = 9)]
        runs: u32,
        /// Items synced for the queue and platform benchmarks.
        #[arg(long, default_value_t = 10_000)]
        items: u32,
        /// Only these benchmarks (diff, queue, draft, access); all by default.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Also count instructions of one run of each diff tool under
        /// valgrind's callgrind (deterministic under load; slow).
        #[arg(long)]
        callgrind: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = project_root()?;
    std::env::set_current_dir(&root)?;
    match cli.cmd {
        Cmd::Setup => {
            ensure_packages(&[BUILD_PACKAGES, TEST_PACKAGES].concat())?;
            ensure_tauri_driver()?;
            ensure_ui_deps(&root)
        }
        Cmd::Ui => {
            ensure_ui_deps(&root)?;
            build_ui(&root)
        }
        Cmd::Bindings => bindings(&root),
        Cmd::Test { no_e2e } => test(&root, !no_e2e),
        Cmd::Demo { screenshot_after } => demo(&root, screenshot_after),
        Cmd::Bench {
            runs,
            items,
            only,
            callgrind,
        } => bench(&root, runs, items, &only, callgrind),
        Cmd::Tour => tour(&root),
    }
}

/// The benchmarks of the suite: (name, crate, example, what it measures against).
const BENCHES: &[(&str, &str, &str, &str)] = &[
    (
        "diff",
        "assay-render",
        "diff_bench",
        "diff view model (parse, highlight, rows as JSON) vs delta on real releases",
    ),
    (
        "queue",
        "assay-app",
        "queue_bench",
        "queue_page with N synced items vs the previous rebuild-per-call",
    ),
    (
        "draft",
        "assay-app",
        "draft_bench",
        "draft save p50/p99 vs a bare SQLite WAL upsert (synchronous=FULL)",
    ),
    (
        "access",
        "assay-platform",
        "access_bench",
        "platform GET /items access check, newest vs oldest of N, vs no index",
    ),
    (
        "load",
        "assay-platform",
        "load_bench",
        "200 reviewers syncing, renewing, submitting: SQLite vs PostgreSQL (lost/duplicated = 0)",
    ),
    (
        "series",
        "assay-app",
        "series_bench",
        "512×512×300 CT series (pydicom): time to first slice, scroll p50/p99, cache memory",
    ),
];

fn bench(root: &Path, runs: u32, items: u32, only: &[String], callgrind: bool) -> Result<()> {
    if runs < 7 {
        bail!("--runs must be at least 7 (got {runs})");
    }
    for o in only {
        if !BENCHES.iter().any(|b| b.0 == o) {
            bail!("unknown benchmark {o:?}; known: diff, queue, draft, access, load, series");
        }
    }
    let (runs, items) = (runs.to_string(), items.to_string());
    for (name, krate, example, what) in BENCHES {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        step(&format!("{example}: {what}"));
        let mut cmd = cargo();
        cmd.args([
            "run",
            "--release",
            "-q",
            "-p",
            krate,
            "--example",
            example,
            "--",
        ]);
        match *name {
            "diff" => {
                let dir = bench::bench_dir(root)?;
                let delta = bench::ensure_delta(&dir)?;
                let inputs = bench::prepare_inputs(&dir)?;
                for input in bench::INPUTS {
                    eprintln!("  {:10} {}", input.name, input.what);
                }
                cmd.arg("compare").arg("--delta").arg(delta);
                if callgrind {
                    cmd.arg("--callgrind");
                }
                for (name, path) in inputs {
                    cmd.arg(format!("{name}={}", path.display()));
                }
            }
            "draft" => {}
            "series" => {
                cmd.arg("--dir").arg(series_bench_data()?);
            }
            _ => {
                cmd.args(["--items", &items]);
            }
        }
        cmd.args(["--runs", &runs]);
        run(&mut cmd)?;
    }
    Ok(())
}

/// The benchmark's series, written by pydicom (a venv in `target/pyenv`)
/// once and cached in `target/bench-data/series-512x300`.
fn series_bench_data() -> Result<PathBuf> {
    let root = project_root()?;
    let dir = root.join("target/bench-data/series-512x300");
    if dir.join("done").exists() {
        return Ok(dir);
    }
    let venv = root.join("target/pyenv");
    let python = venv.join("bin/python");
    if !python.exists() {
        step("creating target/pyenv (pydicom, numpy from PyPI)");
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(&python).args(["-m", "pip", "install", "-q", "pydicom", "numpy"]))?;
    step("writing the 512×512×300 benchmark series with pydicom");
    run(Command::new(&python)
        .arg(root.join("crates/render/tests/fixtures/dicom/generate_series.py"))
        .arg("--bench")
        .arg(&dir)
        .args(["--size", "512", "--slices", "300"]))?;
    Ok(dir)
}

fn project_root() -> Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

// ------------------------------------------------------------------ helpers

fn step(name: &str) {
    eprintln!("\n==> {name}");
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(cmd));
    if QUIET_STDOUT.load(std::sync::atomic::Ordering::Relaxed) {
        cmd.stdout(Stdio::from(std::io::stderr()));
    }
    let status = cmd
        .status()
        .with_context(|| format!("starting {}", display(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", display(cmd));
    }
    Ok(())
}

fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs missing Debian packages with apt (as root or through sudo);
/// otherwise prints the exact command and fails.
fn ensure_packages(pkgs: &[&str]) -> Result<()> {
    if !have("dpkg-query") {
        eprintln!("not a Debian-based system: install the equivalents of {pkgs:?} yourself");
        return Ok(());
    }
    let missing: Vec<&str> = pkgs.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing system packages: {}",
        missing.join(" ")
    ));
    let sudo: &[&str] = if is_root() {
        &[]
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        &["sudo"]
    } else {
        bail!(
            "missing system packages; run:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends {}",
            missing.join(" ")
        );
    };
    let apt = |args: &[&str]| {
        let mut c = if let Some((first, rest)) = sudo.split_first() {
            let mut c = Command::new(first);
            c.args(rest).arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        c.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        c
    };
    run(&mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn cargo_bin_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home).join("bin");
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo/bin")
}

fn ensure_tauri_driver() -> Result<()> {
    let listed = cargo()
        .args(["install", "--list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if listed.contains(&format!("tauri-driver v{TAURI_DRIVER_VERSION}:")) {
        return Ok(());
    }
    step(&format!("installing tauri-driver {TAURI_DRIVER_VERSION}"));
    run(cargo().args([
        "install",
        "--locked",
        "tauri-driver",
        "--version",
        TAURI_DRIVER_VERSION,
    ]))
}

fn npm(root: &Path) -> Command {
    let mut c = Command::new("npm");
    c.current_dir(root.join("ui"));
    c
}

fn ensure_ui_deps(root: &Path) -> Result<()> {
    let lock = root.join("ui/package-lock.json");
    let stamp = root.join("ui/node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&stamp)) {
        (Ok(l), Ok(s)) => match (l.modified(), s.modified()) {
            (Ok(l), Ok(s)) => s >= l,
            _ => false,
        },
        _ => false,
    };
    if !fresh {
        step("installing UI dependencies (npm ci)");
        run(npm(root).args(["ci", "--no-audit", "--no-fund"]))?;
    }
    Ok(())
}

fn build_ui(root: &Path) -> Result<()> {
    step("building the UI bundle");
    run(npm(root).args(["run", "build"]))
}

fn bindings(root: &Path) -> Result<()> {
    step("generating the UI's contract module (ui/src/lib/bindings/index.ts)");
    // One module from the table of commands and events in
    // src-tauri/src/command_table.rs and every Rust type it reaches (ts-rs);
    // anything else in the folder is removed. Without the variable the same
    // test only checks, as every `cargo test` does.
    let _ = root;
    run(cargo().env("ASSAY_WRITE_BINDINGS", "1").args([
        "test",
        "-p",
        "assay-desktop",
        "--test",
        "contract",
    ]))
}

/// Starts an unlocked gnome-keyring whose files live in a fresh temporary
/// directory, so it never meets (or prompts for) an existing login keyring.
const PRIVATE_KEYRING: &str = "export XDG_DATA_HOME=\"$(mktemp -d)\"; echo -n assay-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null;";

/// Runs `inner` inside a private D-Bus session with an unlocked gnome-keyring,
/// so keyring tests use a real Secret Service and never the user's own.
fn with_keyring(inner: &str) -> Command {
    let script = format!("{PRIVATE_KEYRING} {inner}");
    let mut c = Command::new("dbus-run-session");
    c.args(["--", "sh", "-c", &script]);
    c
}

fn test(root: &Path, e2e: bool) -> Result<()> {
    let started = Instant::now();
    if std::env::var_os("CI").is_some() {
        // A one-off build: incremental compilation only costs time and disk.
        std::env::set_var("CARGO_INCREMENTAL", "0");
    }
    ensure_packages(&[BUILD_PACKAGES, TEST_PACKAGES].concat())?;
    if e2e {
        ensure_tauri_driver()?;
    }
    ensure_ui_deps(root)?;
    build_ui(root)?;

    step("rustfmt");
    run(cargo().args(["fmt", "--all", "--check"]))?;

    step("clippy");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("Rust tests (with a private Secret Service)");
    run(&mut with_keyring("exec cargo test --workspace"))?;
    postgres::platform_tests(root)?;

    step("Label Studio connector against a real Label Studio");
    let venv = ensure_label_studio(root)?;
    run(cargo().env("ASSAY_LABEL_STUDIO_VENV", &venv).args([
        "test",
        "-p",
        "assay-sync",
        "--test",
        "labelstudio",
        "--",
        "--ignored",
        "--nocapture",
    ]))?;

    step("checking generated TypeScript bindings are committed");
    let status = Command::new("git")
        .args(["status", "--porcelain", "--", "ui/src/lib/bindings"])
        .output()
        .context("running git status")?;
    let dirty = String::from_utf8_lossy(&status.stdout).trim().to_string();
    if !dirty.is_empty() {
        bail!("generated bindings are stale; run `cargo xtask bindings` and commit:\n{dirty}");
    }

    step("UI type check, format and lint (Biome), unit tests");
    run(npm(root).args(["run", "check"]))?;
    run(npm(root).args(["run", "lint"]))?;
    run(npm(root).args(["test"]))?;
    step("UI tests in headless Chromium");
    run(npm(root).args(["run", "test:browser"]))?;

    if e2e {
        step("end-to-end tests of the real app (tauri-driver + WebKitWebDriver under Xvfb)");
        run(cargo().args(["build", "-p", "assay-desktop", "-p", "assay-platform"]))?;
        // Every test binary of assay-e2e, the tour (tests/tour.rs) included:
        // a screen that raises an error, draws nothing or shows raw ids fails.
        run(&mut under_xvfb(
            "exec cargo test -p assay-e2e -- --ignored --test-threads=1 --nocapture",
        )?)?;
        eprintln!(
            "tour screenshots: {}",
            root.join("artifacts/tour").display()
        );
    }
    eprintln!(
        "\nall checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The venv holding the pinned Label Studio (`target/labelstudio-venv`),
/// created with `python3 -m venv` and filled by pip when missing or of
/// another version; a stamp file records what is installed.
fn ensure_label_studio(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target/labelstudio-venv");
    let stamp = venv.join("assay-installed");
    let want = format!("label-studio=={LABEL_STUDIO_VERSION}");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == want) {
        return Ok(venv);
    }
    if !have("python3") {
        bail!("python3 is needed to install Label Studio for the connector test");
    }
    let started = Instant::now();
    if !venv.join("bin/pip").exists() {
        ensure_packages(&["python3-venv"])?;
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--disable-pip-version-check",
        "--quiet",
        &want,
    ]))?;
    std::fs::write(&stamp, &want).context("writing the Label Studio stamp")?;
    eprintln!(
        "installed {want} in {:.0}s into {}",
        started.elapsed().as_secs_f64(),
        venv.display()
    );
    Ok(venv)
}

/// `sh -c "<private keyring> INNER"` in a private D-Bus session on a fresh
/// Xvfb display (1440×900), with cargo's bin folder (tauri-driver) on PATH.
fn under_xvfb(inner: &str) -> Result<Command> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths: Vec<PathBuf> = vec![cargo_bin_dir()];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths)?;
    let mut cmd = Command::new("xvfb-run");
    cmd.args(["-a", "-s", "-screen 0 1440x900x24"])
        .args(["dbus-run-session", "--", "sh", "-c"])
        .arg(format!("{PRIVATE_KEYRING} {inner}"))
        .env("PATH", path);
    Ok(cmd)
}

/// `cargo xtask tour`: builds the UI, the app and the reference platform,
/// runs tests/tour.rs under Xvfb with a private keyring and prints the
/// folder of named screenshots (also when a screen failed its checks).
fn tour(root: &Path) -> Result<()> {
    // Children write to stderr: stdout carries only the screenshot folder.
    QUIET_STDOUT.store(true, std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    ensure_packages(&[BUILD_PACKAGES, TEST_PACKAGES].concat())?;
    ensure_tauri_driver()?;
    ensure_ui_deps(root)?;
    build_ui(root)?;
    step("building the app and the reference platform");
    run(cargo().args(["build", "-p", "assay-desktop", "-p", "assay-platform"]))?;
    step("touring every screen of the real app (tauri-driver + WebKitWebDriver under Xvfb)");
    let result = run(&mut under_xvfb(
        "exec cargo test -p assay-e2e --test tour -- --ignored --nocapture",
    )?);
    let dir = root.join("artifacts/tour");
    eprintln!(
        "\ntour finished in {:.0}s; screenshots:",
        started.elapsed().as_secs_f64()
    );
    println!("{}", dir.display());
    result
}

/// Set by `demo`: children write to stderr so stdout carries only the
/// screenshot path.
static QUIET_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn demo(root: &Path, screenshot_after: Option<u64>) -> Result<()> {
    QUIET_STDOUT.store(true, std::sync::atomic::Ordering::Relaxed);
    ensure_packages(&[BUILD_PACKAGES, &["dbus-x11", "gnome-keyring"]].concat())?;
    ensure_ui_deps(root)?;
    build_ui(root)?;
    step("building the app and the reference platform");
    run(cargo().args(["build", "-p", "assay-desktop", "-p", "assay-platform"]))?;
    let target = target_dir(root);
    let headless = std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty());
    let shot = screenshot_after.or(if headless { Some(15) } else { None });

    // A fresh demo every run: platform database, blobs and the app's data.
    let demo_dir = root.join("target/demo");
    if demo_dir.exists() {
        std::fs::remove_dir_all(&demo_dir)
            .with_context(|| format!("removing {}", demo_dir.display()))?;
    }
    std::fs::create_dir_all(&demo_dir)?;
    let db = demo_dir.join("platform.sqlite");
    let platform = target.join("assay-platform");
    step("seeding the reference platform with demo data");
    run(Command::new(&platform)
        .args(["seed", "--demo", "--db"])
        .arg(&db))?;
    let out = Command::new(&platform)
        .args([
            "token",
            "issue",
            "--email",
            "demo@assay.dev",
            "--label",
            "assay demo",
            "--db",
        ])
        .arg(&db)
        .stderr(Stdio::inherit())
        .output()
        .context("issuing the demo token")?;
    if !out.status.success() {
        bail!("`assay-platform token issue` failed");
    }
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let url = format!("http://127.0.0.1:{port}");
    step(&format!("starting the reference platform on {url}"));
    let mut server = Command::new(&platform)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--demo-auto-review-secs",
            "20",
            "--db",
        ])
        .arg(&db)
        .spawn()
        .context("starting assay-platform")?;
    let _guard = KillOnDrop(&mut server);
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("the reference platform did not start");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let app = target.join("assay-desktop");
    let envs: Vec<(&str, String)> = vec![
        ("ASSAY_PROFILE", "demo".into()),
        ("ASSAY_DATA_DIR", demo_dir.join("app").display().to_string()),
        ("ASSAY_DEMO", "1".into()),
        ("ASSAY_DEMO_URL", url.clone()),
        ("ASSAY_DEMO_TOKEN", token),
    ];
    // The app keeps its token in the OS keyring: headless runs get a private,
    // unlocked one.
    let keyring = PRIVATE_KEYRING;
    let script = match shot {
        None => format!("{keyring} exec {}", shell_quote(&app)),
        Some(secs) => {
            let png = demo_dir.join("screenshot.png");
            format!(
                "{keyring} {app} & pid=$!; sleep {secs}; import -window root {png}; kill $pid; wait $pid 2>/dev/null; true",
                app = shell_quote(&app),
                png = shell_quote(&png),
            )
        }
    };
    let mut cmd = if headless {
        let mut c = Command::new("xvfb-run");
        c.args([
            "-a",
            "-s",
            "-screen 0 1440x900x24",
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            &script,
        ]);
        c
    } else if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        // A desktop session: use the user's own keyring.
        let mut c = Command::new("sh");
        c.args(["-c", &script.replacen(keyring, "", 1)]);
        c
    } else {
        let mut c = Command::new("dbus-run-session");
        c.args(["--", "sh", "-c", &script]);
        c
    };
    for (k, v) in &envs {
        cmd.env(k, v);
    }
    step("starting Assay, signed in to the demo platform");
    run(&mut cmd)?;
    if shot.is_some() {
        println!("{}", demo_dir.join("screenshot.png").display());
    }
    Ok(())
}

/// Stops a child process when dropped.
struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The cargo target directory's `debug` folder (honours `CARGO_TARGET_DIR`).
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root.join(d).join("debug"),
        _ => root.join("target/debug"),
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}
