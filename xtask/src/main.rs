//! `cargo xtask demo | test | tour | setup | ui | bindings | bench | fuzz | bundle | icons`: everything
//! needed to build, run, test and package Assay from a fresh Debian machine with only Rust, Node
//! and Python.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

mod bench;
mod link_order;
mod postgres;
mod sync_dir;

/// tauri-driver is pinned: the end-to-end harness is tested against this version.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// tauri-cli (the bundler) is pinned to the `tauri` crate's version in
/// Cargo.lock (checked by `bundle`). Installed from npm (`@tauri-apps/cli`
/// ships prebuilt binaries) into `target/tauri-cli`, never globally.
const TAURI_CLI_VERSION: &str = "2.12.5";

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
/// pinned; installed from `PyPI` into a venv under `target/` and kept there.
const LABEL_STUDIO_VERSION: &str = "1.23.2";

/// Extra Debian packages the tests need.
const TEST_PACKAGES: &[&str] = &[
    "webkit2gtk-driver",
    "dbus-x11",
    "gnome-keyring",
    "chromium",
    postgres::PACKAGE,
    // `secret-tool`: the package test checks the keyring entry outlives an uninstall.
    "libsecret-tools",
    // `dcmdjpeg`: render decodes 12-bit JPEG Extended scans through DCMTK.
    "dcmtk",
    // A real notification server (draws on the display) and `dbus-monitor`:
    // the e2e test of issue 18's native notifications.
    "dunst",
    "dbus-bin",
];

/// Extra Debian packages `bundle` needs: `dpkg-shlibdeps` computes the
/// .deb's dependencies from the binary.
/// `rpm` reads the built .rpm back (`rpm -qpR`, `rpm -qpl`) to check it.
const BUNDLE_PACKAGES: &[&str] = &["dpkg-dev", "rpm"];

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
    /// Regenerate the TypeScript bindings (ui/src/lib/bindings) and re-record
    /// the real app's answers the mock backend replays (ui/src/lib/backend/fixtures).
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
        /// Only these benchmarks (diff, queue, draft, access, load, series, startup, appsync, sync); all by default.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Also count instructions of one run of each diff tool under
        /// valgrind's callgrind (deterministic under load; slow).
        #[arg(long)]
        callgrind: bool,
    },
    /// Fuzz the series and archive parser and the frame decoder (release
    /// build of `crates/render/tests/fuzz.rs`, `fuzz_long`): a seeded mutator
    /// over the committed DICOM fixtures and series zips, counting panics
    /// (caught or not), hangs and memory blowups; fails on any.
    Fuzz {
        /// Most inputs to run.
        #[arg(long, default_value_t = 100_000)]
        iters: u64,
        /// Stop after this many seconds, whatever the count.
        #[arg(long, default_value_t = 3600)]
        secs: u64,
        /// Seed; input i of seed s is reproducible from (s, i).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Rerun only input i and write it to target/fuzz/.
        #[arg(long)]
        only: Option<u64>,
        /// An input running longer than this is a hang (the run aborts).
        #[arg(long, default_value_t = 10)]
        hang_secs: u64,
    },
    /// Build installable packages with the Tauri bundler (a .deb and an .rpm
    /// on Linux) into target/{release,debug}/bundle/.
    Bundle {
        /// A debug build (faster; the same bundling path). The package test
        /// needs it: only a debug build answers the test's scripted dialogs.
        #[arg(long)]
        debug: bool,
        /// Then install the .deb on this machine (root) or into an extracted
        /// root, and drive the installed app end to end (tests/tests/package.rs).
        #[arg(long)]
        e2e: bool,
    },
    /// Regenerate the committed icons (icons/) from icons/app-icon.png.
    Icons,
    /// Write the linker's symbol order for the release app
    /// (src-tauri/link-order.txt): the functions one launch through the
    /// start-up bench's steps runs, read with valgrind's callgrind.
    LinkOrder,
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
        Cmd::Fuzz {
            iters,
            secs,
            seed,
            only,
            hang_secs,
        } => fuzz(iters, secs, seed, only, hang_secs),
        Cmd::Tour => tour(&root),
        Cmd::Bundle { debug, e2e } => bundle(&root, debug, e2e),
        Cmd::Icons => icons(&root),
        Cmd::LinkOrder => link_order(&root),
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
        "512×512×500 CT series (pydicom): time to first slice, scroll p50/p99, cache memory",
    ),
    (
        "startup",
        "assay-e2e",
        "startup",
        "the release app's cold start to the first queue row and its process tree's PSS, N synced items (tauri-driver under Xvfb)",
    ),
    (
        "appsync",
        "assay-e2e",
        "startup",
        "the release app's first pull of N items (resumed session, empty store) vs the engine alone (sync_bench engine), paired (tauri-driver under Xvfb)",
    ),
    (
        "sync",
        "assay-sync",
        "sync_bench",
        "engine's pull of N items from `assay-platform serve` vs curl making the same requests (SQLite, PostgreSQL)",
    ),
];

/// `cargo xtask fuzz`: `crates/render/tests/fuzz.rs`, `fuzz_long`, in release.
/// The test reads `FUZZ_ITERS`, `FUZZ_SECS`, `FUZZ_SEED`, `FUZZ_HANG_SECS` and
/// `FUZZ_ONLY`; `--workspace` (not `-p assay-render`) keeps the workspace's
/// feature resolution, so the dependencies already built are reused.
fn fuzz(iters: u64, secs: u64, seed: u64, only: Option<u64>, hang_secs: u64) -> Result<()> {
    step(&format!(
        "fuzzing the series/archive parser and frame decoder: seed {seed}, \
         at most {iters} inputs or {secs} s"
    ));
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--release",
        "--workspace",
        "--test",
        "fuzz",
        "--",
        "--ignored",
        "--nocapture",
        "--exact",
        "fuzz_long",
    ])
    .env("FUZZ_ITERS", iters.to_string())
    .env("FUZZ_SECS", secs.to_string())
    .env("FUZZ_SEED", seed.to_string())
    .env("FUZZ_HANG_SECS", hang_secs.to_string());
    if let Some(i) = only {
        cmd.env("FUZZ_ONLY", i.to_string());
    }
    run(&mut cmd)
}

fn bench(root: &Path, runs: u32, items: u32, only: &[String], callgrind: bool) -> Result<()> {
    if runs < 7 {
        bail!("--runs must be at least 7 (got {runs})");
    }
    for o in only {
        if !BENCHES.iter().any(|b| b.0 == o) {
            bail!("unknown benchmark {o:?}; known: diff, queue, draft, access, load, series, startup, appsync, sync");
        }
    }
    let (runs, items) = (runs.to_string(), items.to_string());
    for (name, krate, example, what) in BENCHES {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        step(&format!("{example}: {what}"));
        if *name == "sync" {
            sync_bench(root, &items, &runs)?;
            continue;
        }
        if *name == "startup" || *name == "appsync" {
            startup_bench(root, name, &items, &runs)?;
            continue;
        }
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

/// What the sync benchmarks build in release: `sync_bench` and the platform.
const SYNC_BENCH_BUILD: [&str; 8] = [
    "-p",
    "assay-sync",
    "--example",
    "sync_bench",
    "-p",
    "assay-platform",
    "--bin",
    "assay-platform",
];

/// `sync_bench` runs the release `assay-platform` binary (seed, token, serve)
/// and itself as the engine's child process: one cargo build of both (one
/// feature resolution), then the example run directly. Needs curl, and
/// PostgreSQL's server programs for the PostgreSQL half (installed here when
/// missing; the bench skips that half with a note if no cluster starts).
fn sync_bench(root: &Path, items: &str, runs: &str) -> Result<()> {
    ensure_packages(&["curl", postgres::PACKAGE])?;
    run(cargo().args(["build", "--release"]).args(SYNC_BENCH_BUILD))?;
    let release = cargo_target(root).join("release");
    run(Command::new(release.join("examples/sync_bench"))
        .arg("--platform")
        .arg(release.join("assay-platform"))
        .args(["--items", items, "--runs", runs]))
}

/// `tests/tests/startup.rs` against the release app: the debug app signs in
/// and syncs once (it answers the test's scripted sign-in confirmation),
/// then the release app and the release minimal Tauri app
/// (`tests/minimal-tauri`, the anchor) are started `runs` times each, paired.
///
/// `appsync` (the same file's `first_pull_in_the_app_against_the_engine_alone`)
/// starts from the same first launch, then times the release app's pull into
/// an empty store against `sync_bench engine`'s (release), paired.
fn startup_bench(root: &Path, name: &str, items: &str, runs: &str) -> Result<()> {
    let target = release_app_for_startup_tests(root, &[])?;
    let mut cmd_env = Vec::new();
    link_order::report(root, &target.join("release/assay-desktop"))?;
    let mut others = cargo();
    others.args(["build", "--release"]);
    let test = if name == "appsync" {
        // The release platform too: against the debug one the server's own
        // time hides what the client costs.
        others.args(SYNC_BENCH_BUILD);
        cmd_env.push(("ASSAY_PLATFORM_BIN", target.join("release/assay-platform")));
        "first_pull_in_the_app_against_the_engine_alone"
    } else {
        others.args(["-p", "assay-minimal-tauri", "--bin", "assay-minimal-tauri"]);
        // The memory figure also opens a real 10,000-line diff (serde
        // 1.0.100 -> 1.0.210, the diff bench's input) and a scan.
        let diff = bench::prepare_input(&bench::bench_dir(root)?, "serde")?;
        cmd_env.push(("ASSAY_BENCH_DIFF", diff));
        "cold_start_and_memory_with_ten_thousand_items"
    };
    run(&mut others)?;
    let mut cmd = startup_test(test)?;
    run(cmd
        .envs(cmd_env)
        .env("ASSAY_BENCH_APP", target.join("release/assay-desktop"))
        .env(
            "ASSAY_BENCH_MINIMAL",
            target.join("release/assay-minimal-tauri"),
        )
        .env(
            "ASSAY_BENCH_ENGINE",
            target.join("release/examples/sync_bench"),
        )
        .env("ASSAY_BENCH_ITEMS", items)
        .env("ASSAY_BENCH_RUNS", runs))
}

/// What a test of `tests/tests/startup.rs` against the release app needs:
/// the system packages (and `extra`), tauri-driver, the UI and the app as it
/// ships ([`RELEASE_APP_BUILD`]). Returns the cargo target directory.
fn release_app_for_startup_tests(root: &Path, extra: &[&str]) -> Result<PathBuf> {
    ensure_packages(&[BUILD_PACKAGES, TEST_PACKAGES, extra].concat())?;
    ensure_tauri_driver()?;
    ensure_ui_deps(root)?;
    build_ui(root)?;
    run(cargo().args(RELEASE_APP_BUILD))?;
    Ok(cargo_target(root))
}

/// The test `name` of `tests/tests/startup.rs` under Xvfb, once the debug
/// app and platform its first launch signs in with are built.
fn startup_test(name: &str) -> Result<Command> {
    run(cargo().args(["build", "-p", "assay-desktop", "-p", "assay-platform"]))?;
    under_xvfb(&format!(
        "exec cargo test -p assay-e2e --test startup -- --ignored --nocapture --exact {name}"
    ))
}

/// The release app's build, as `cargo xtask bundle` does it: the package
/// alone. With other packages in the same build cargo unifies other
/// features, and the crates' symbol names, which the link order lists,
/// change.
const RELEASE_APP_BUILD: [&str; 6] = [
    "build",
    "--release",
    "-p",
    "assay-desktop",
    "--bin",
    "assay-desktop",
];

/// `cargo xtask link-order`: the release app run once under callgrind through
/// the start-up bench's steps (`functions_a_measured_launch_runs`), and the
/// functions of it that ran written to [`link_order::FILE`] (see there).
fn link_order(root: &Path) -> Result<()> {
    let target = release_app_for_startup_tests(root, &["valgrind"])?;
    let binary = target.join("release/assay-desktop");
    let diff = bench::prepare_input(&bench::bench_dir(root)?, "serde")?;
    let dir = target.join("link-order");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    step("the start-up bench's steps, once, with the release app under callgrind");
    let mut cmd = startup_test("functions_a_measured_launch_runs")?;
    run(cmd
        .env("ASSAY_BENCH_APP", &binary)
        .env("ASSAY_BENCH_DIFF", diff)
        .env("ASSAY_BENCH_ITEMS", "10000")
        .env("ASSAY_CALLGRIND_DIR", &dir))?;
    let ran = link_order::executed_functions(&dir, &binary)?;
    let mut text = String::new();
    for f in &ran {
        text.push_str(f);
        text.push('\n');
    }
    std::fs::write(root.join(link_order::FILE), text)?;
    eprintln!(
        "wrote {} functions to {}; the next release build links them together",
        ran.len(),
        link_order::FILE
    );
    Ok(())
}

/// The benchmark's series, written by pydicom (a venv in `target/pyenv`)
/// once and cached in `target/bench-data/series-512x500`.
fn series_bench_data() -> Result<PathBuf> {
    let root = project_root()?;
    let dir = root.join("target/bench-data/series-512x500");
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
    step("writing the 512×512×500 benchmark series with pydicom");
    run(Command::new(&python)
        .arg(root.join("crates/render/tests/fixtures/dicom/generate_series.py"))
        .arg("--bench")
        .arg(&dir)
        .args(["--size", "512", "--slices", "500"]))?;
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
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
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
        .is_ok_and(|s| s.success())
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

/// Builds the UI bundle into `ui/dist`: Vite writes a staging folder under
/// `target/`, and only the files whose bytes changed reach `ui/dist`
/// ([`sync_dir::sync_dir`]), so an unchanged UI does not make cargo rebuild
/// the app that embeds it.
fn build_ui(root: &Path) -> Result<()> {
    step("building the UI bundle");
    let staging = root.join("target/ui-dist");
    run(npm(root)
        .args(["run", "build", "--", "--emptyOutDir", "--outDir"])
        .arg(&staging))?;
    let done = sync_dir::sync_dir(&staging, &root.join("ui/dist"))?;
    println!(
        "ui/dist: {} file(s) written, {} removed{}",
        done.written.len(),
        done.removed.len(),
        if done.written.is_empty() && done.removed.is_empty() {
            " (unchanged: the app is not rebuilt for it)"
        } else {
            ""
        }
    );
    Ok(())
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
    ]))?;
    // The mock backend's fixtures: the real app's answers on the demo data
    // (crates/app/tests/recorded.rs; it signs in, so it needs a keyring).
    step("recording the real app's answers for the mock (ui/src/lib/backend/fixtures)");
    run(&mut with_keyring(
        "ASSAY_WRITE_FIXTURES=1 exec cargo test -p assay-app --test recorded",
    ))
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
    // `--workspace`, as the test step above: the same feature resolution,
    // so the binary built there is reused (`-p assay-sync` alone resolves
    // other features for shared dependencies and rebuilds them).
    run(cargo().env("ASSAY_LABEL_STUDIO_VENV", &venv).args([
        "test",
        "--workspace",
        "--test",
        "labelstudio",
        "--",
        "--ignored",
        "--nocapture",
    ]))?;

    step("checking generated TypeScript bindings are committed");
    let status = Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--",
            "ui/src/lib/bindings",
            "ui/src/lib/backend/fixtures",
        ])
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
        // `assay` too: tests/from_empty.rs runs the README's commands, `assay rubric lint` included.
        run(cargo().args([
            "build",
            "-p",
            "assay-desktop",
            "-p",
            "assay-platform",
            "-p",
            "assay-rubric",
        ]))?;
        // Every test binary of assay-e2e, the tour (tests/tour.rs) included:
        // a screen that raises an error, draws nothing or shows raw ids fails.
        run(&mut under_xvfb(
            // The package test installs a .deb: `cargo xtask bundle --debug --e2e` runs it.
            // The start-up and in-app pull benchmarks are `cargo xtask bench
            // --only startup,appsync`; the run under callgrind is `cargo
            // xtask link-order`.
            "exec cargo test -p assay-e2e -- --ignored --test-threads=1 --nocapture --skip installed_deb --skip cold_start_and_memory --skip first_pull_in_the_app --skip functions_a_measured_launch_runs",
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
        .env("PATH", path)
        // A failing test's error then ends its output: no captured
        // backtrace after it (panics keep theirs, by RUST_BACKTRACE), so a
        // report that shows only the tail of the log still shows why.
        .env("RUST_LIB_BACKTRACE", "0");
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
    cargo_target(root).join("debug")
}

/// The cargo target directory (honours `CARGO_TARGET_DIR`).
fn cargo_target(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root.join(d),
        _ => root.join("target"),
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

// ------------------------------------------------------------------ packages

/// The desktop icons the bundle config lists, all generated by `tauri icon`
/// from `icons/app-icon.png`. (`icon.icns` is generated too but is not
/// byte-for-byte reproducible, so the freshness check skips it.)
const DESKTOP_ICONS: &[&str] = &[
    "32x32.png",
    "64x64.png",
    "128x128.png",
    "128x128@2x.png",
    "icon.png",
    "icon.ico",
    "icon.icns",
];

/// Libraries the app loads with dlopen: the tray icon's `AppIndicator`.
const DLOPENED_DEPENDS: &[&str] = &["libayatana-appindicator3-1"];

/// Installs the pinned tauri-cli into `target/tauri-cli` (npm) unless it is
/// there already; returns the path of its `tauri` executable.
fn ensure_tauri_cli(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/tauri-cli");
    let bin = dir.join("node_modules/.bin/tauri");
    let want = format!("tauri-cli {TAURI_CLI_VERSION}");
    let have = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if have == want {
        return Ok(bin);
    }
    step(&format!(
        "installing tauri-cli {TAURI_CLI_VERSION} (npm, into target/tauri-cli)"
    ));
    std::fs::create_dir_all(&dir)?;
    run(Command::new("npm").args([
        "install",
        "--no-audit",
        "--no-fund",
        "--save-exact",
        "--prefix",
        &dir.display().to_string(),
        &format!("@tauri-apps/cli@{TAURI_CLI_VERSION}"),
    ]))?;
    Ok(bin)
}

/// The version of a package in Cargo.lock.
fn locked_version(root: &Path, name: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .with_context(|| format!("{name} is not in Cargo.lock"))?
        + needle.len();
    let rest = &lock[start..];
    let end = rest.find('"').context("malformed Cargo.lock")?;
    Ok(rest[..end].to_string())
}

/// `cargo xtask icons`: every icon in icons/ from the one source icon.
fn icons(root: &Path) -> Result<()> {
    let tauri = ensure_tauri_cli(root)?;
    let fresh = generate_icons(root, &tauri)?;
    for name in DESKTOP_ICONS {
        std::fs::copy(fresh.join(name), root.join("icons").join(name))
            .with_context(|| format!("copying icons/{name}"))?;
    }
    eprintln!("icons/ regenerated from icons/app-icon.png; commit them");
    Ok(())
}

/// Runs `tauri icon icons/app-icon.png` into a scratch folder under target/.
fn generate_icons(root: &Path, tauri: &Path) -> Result<PathBuf> {
    let out = root.join("target/icons-generated");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    step("generating icons from icons/app-icon.png (tauri icon)");
    let mut cmd = Command::new(tauri);
    cmd.arg("icon")
        .arg(root.join("icons/app-icon.png"))
        .arg("-o")
        .arg(&out)
        .stdout(Stdio::null());
    run(&mut cmd)?;
    Ok(out)
}

/// The committed icons are exactly what `tauri icon` makes of the source.
fn check_icons(root: &Path, tauri: &Path) -> Result<()> {
    let fresh = generate_icons(root, tauri)?;
    for name in DESKTOP_ICONS
        .iter()
        .filter(|n| Path::new(n).extension().is_none_or(|e| e != "icns"))
    {
        let committed = std::fs::read(root.join("icons").join(name))
            .with_context(|| format!("reading icons/{name}"))?;
        let generated = std::fs::read(fresh.join(name))?;
        if committed != generated {
            bail!("icons/{name} is not what `tauri icon icons/app-icon.png` makes: run `cargo xtask icons` and commit");
        }
    }
    Ok(())
}

/// The .deb's `Depends`, computed from the built binary's shared libraries
/// by `dpkg-shlibdeps` (as a Debian package build does), versions included.
fn shlib_depends(root: &Path, binary: &Path) -> Result<Vec<String>> {
    let scratch = root.join("target/shlibdeps");
    std::fs::create_dir_all(scratch.join("debian"))?;
    std::fs::write(
        scratch.join("debian/control"),
        "Source: assay\n\nPackage: assay\nArchitecture: any\n",
    )?;
    let out = Command::new("dpkg-shlibdeps")
        .arg("-O")
        .arg(format!("-e{}", binary.display()))
        .current_dir(&scratch)
        .stderr(Stdio::inherit())
        .output()
        .context("running dpkg-shlibdeps (package dpkg-dev)")?;
    if !out.status.success() {
        bail!("dpkg-shlibdeps failed on {}", binary.display());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .context("dpkg-shlibdeps printed no shlibs:Depends")?;
    let deps: Vec<String> = line
        .split(',')
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    if deps.is_empty() {
        bail!(
            "dpkg-shlibdeps found no dependencies of {}",
            binary.display()
        );
    }
    Ok(deps)
}

/// The sonames the app loads with dlopen, as RPM requirements.
const DLOPENED_RPM_REQUIRES: &[&str] = &["libayatana-appindicator3.so.1()(64bit)"];

/// The .rpm's `Requires`, computed from the built binary as rpmbuild's
/// elfdeps does: each needed shared library by soname, and each symbol
/// version it needs (`libc.so.6(GLIBC_2.34)(64bit)`). Soname requirements
/// resolve on every RPM distribution, whatever it names its packages.
fn rpm_requires(binary: &Path) -> Result<Vec<String>> {
    let readelf = |flag: &str| -> Result<String> {
        let out = Command::new("readelf")
            .arg(flag)
            .arg(binary)
            .output()
            .context("running readelf (package binutils)")?;
        if !out.status.success() {
            bail!("readelf {flag} failed on {}", binary.display());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let mut requires = Vec::new();
    for line in readelf("-d")?.lines() {
        if let Some(rest) = line.split("Shared library: [").nth(1) {
            let soname = rest.trim_end_matches(']');
            requires.push(format!("{soname}()(64bit)"));
        }
    }
    // `readelf -V`: "File: libc.so.6  Cnt: 19" then "Name: GLIBC_2.34 ...".
    let mut file: Option<String> = None;
    for line in readelf("-V")?.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "File:") {
            file = words.get(i + 1).map(ToString::to_string);
        } else if let (Some(f), Some(i)) = (&file, words.iter().position(|w| *w == "Name:")) {
            if let Some(name) = words.get(i + 1) {
                requires.push(format!("{f}({name})(64bit)"));
            }
        }
    }
    if requires.is_empty() {
        bail!("readelf found no shared libraries in {}", binary.display());
    }
    requires.extend(DLOPENED_RPM_REQUIRES.iter().map(ToString::to_string));
    requires.sort();
    requires.dedup();
    Ok(requires)
}

/// `cargo xtask bundle [--debug] [--e2e]`.
fn bundle(root: &Path, debug: bool, e2e: bool) -> Result<()> {
    let started = Instant::now();
    if !cfg!(target_os = "linux") {
        bail!("`cargo xtask bundle` builds the Linux packages; on macOS/Windows run `target/tauri-cli/node_modules/.bin/tauri build` in src-tauri (see README, Packages)");
    }
    let mut pkgs = [BUILD_PACKAGES, BUNDLE_PACKAGES].concat();
    if e2e {
        pkgs.extend_from_slice(TEST_PACKAGES);
    }
    ensure_packages(&pkgs)?;
    let tauri = ensure_tauri_cli(root)?;
    let locked = locked_version(root, "tauri")?;
    if locked != TAURI_CLI_VERSION {
        bail!("Cargo.lock has tauri {locked} but xtask pins tauri-cli {TAURI_CLI_VERSION}: update TAURI_CLI_VERSION in xtask/src/main.rs");
    }
    check_icons(root, &tauri)?;
    ensure_ui_deps(root)?;
    build_ui(root)?;

    // issue 18: the package test's throwaway update key (never committed):
    // version N is built trusting it, N+1 is signed with it.
    let update_key = if e2e {
        Some(update_test_key(root, &tauri)?)
    } else {
        None
    };
    let profile = if debug { "debug" } else { "release" };
    let mut flags: Vec<&str> = vec!["--ci"];
    if debug {
        flags.push("--debug");
    }
    step(&format!("building the app ({profile})"));
    let build_started = Instant::now();
    // Plain cargo (the UI is embedded by the crate's default feature): a
    // debug build with the platform shares its artefacts with `cargo xtask
    // test`, where `tauri build` (which builds assay-desktop alone, so with
    // other dependency features) would rebuild the whole tree. `tauri
    // bundle` then packages exactly this binary.
    let mut build = cargo();
    build.args(["build", "-p", "assay-desktop"]);
    if debug {
        build.args(["-p", "assay-platform"]);
    } else {
        build.arg("--release");
    }
    build.env_remove("ASSAY_BUILD_VERSION");
    if let Some(key) = &update_key {
        build.env("ASSAY_UPDATE_PUBLIC_KEY", &key.public);
    }
    run(&mut build)?;
    let build_secs = build_started.elapsed().as_secs_f64();

    // Honours CARGO_TARGET_DIR (release builds share /work/rel-style dirs).
    let out_dir = cargo_target(root).join(profile);
    let binary = out_dir.join("assay-desktop");
    let mut depends = shlib_depends(root, &binary)?;
    // Loaded at run time (dlopen), so dpkg-shlibdeps cannot see them.
    depends.extend(DLOPENED_DEPENDS.iter().map(ToString::to_string));
    eprintln!("Depends (dpkg-shlibdeps): {}", depends.join(", "));
    let requires = rpm_requires(&binary)?;
    eprintln!("Requires (readelf): {}", requires.join(", "));
    let config = serde_json::json!({
        "bundle": { "linux": {
            "deb": { "depends": depends },
            "rpm": { "depends": requires },
        } }
    });
    step("bundling .deb and .rpm");
    let bundle_started = Instant::now();
    let bundle_dir = out_dir.join("bundle");
    for kind in ["deb", "rpm"] {
        let d = bundle_dir.join(kind);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
    }
    run(Command::new(&tauri)
        .arg("bundle")
        .args(&flags)
        .args(["--bundles", "deb,rpm", "--config"])
        .arg(config.to_string())
        .current_dir(root.join("src-tauri")))?;
    let bundle_secs = bundle_started.elapsed().as_secs_f64();

    let deb = only_file(&bundle_dir.join("deb"), "deb")?;
    let rpm = only_file(&bundle_dir.join("rpm"), "rpm")?;
    check_deb(&deb)?;
    check_rpm(&rpm)?;
    eprintln!(
        "\nbuilt in {build_secs:.0}s, bundled in {bundle_secs:.0}s ({:.0}s in all):",
        started.elapsed().as_secs_f64()
    );
    println!("{}", deb.display());
    println!("{}", rpm.display());
    eprintln!("AppImage, .dmg/.app and .msi/NSIS are built elsewhere: see README, Packages.");

    if let Some(key) = update_key {
        // N is kept aside: bundling N+1 replaces target/debug/bundle.
        let keep = root.join("target/update-test");
        let deb_n = keep.join(deb.file_name().context("deb name")?);
        std::fs::copy(&deb, &deb_n)?;
        let next = next_patch(&locked_version(root, "assay-desktop")?)?;
        step(&format!(
            "building version {next} (N+1) for the update test"
        ));
        // The same package set as N's build, so cargo resolves the same
        // features and rebuilds only what reads the stamped version.
        let mut build = cargo();
        build
            .args(["build", "-p", "assay-desktop"])
            .env("ASSAY_UPDATE_PUBLIC_KEY", &key.public)
            .env("ASSAY_BUILD_VERSION", &next);
        if debug {
            build.args(["-p", "assay-platform"]);
        } else {
            build.arg("--release");
        }
        run(&mut build)?;
        let mut depends = shlib_depends(root, &binary)?;
        depends.extend(DLOPENED_DEPENDS.iter().map(ToString::to_string));
        let config = serde_json::json!({
            "version": next,
            "bundle": { "linux": { "deb": { "depends": depends } } }
        });
        std::fs::remove_dir_all(bundle_dir.join("deb"))?;
        run(Command::new(&tauri)
            .arg("bundle")
            .args(&flags)
            .args(["--bundles", "deb", "--config"])
            .arg(config.to_string())
            .current_dir(root.join("src-tauri")))?;
        let deb_next = only_file(&bundle_dir.join("deb"), "deb")?;
        run(Command::new(&tauri)
            .args(["signer", "sign", "-f"])
            .arg(&key.private)
            .args(["-p", "", "--app-version", &next])
            .arg(&deb_next))?;
        let sig = PathBuf::from(format!("{}.sig", deb_next.display()));

        if !debug {
            step("building the reference platform");
            run(cargo().args(["build", "-p", "assay-platform"]))?;
        }
        step("installing the .deb and driving the installed app (tests/tests/package.rs)");
        let mut cmd = under_xvfb(
            "exec cargo test -p assay-e2e --test package -- --ignored --test-threads=1 --nocapture",
        )?;
        cmd.env("ASSAY_DEB", &deb_n)
            .env("ASSAY_UPDATE_DEB", &deb_next)
            .env("ASSAY_UPDATE_SIG", &sig)
            .env("ASSAY_UPDATE_VERSION", &next);
        run(&mut cmd)?;
    }
    Ok(())
}

/// A throwaway minisign key pair for the update test (`tauri signer
/// generate`, no password), in target/update-test: fresh on every run.
struct UpdateKey {
    private: PathBuf,
    /// The `.pub` file's text (base64, as Tauri writes it).
    public: String,
}

fn update_test_key(root: &Path, tauri: &Path) -> Result<UpdateKey> {
    let dir = root.join("target/update-test");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let private = dir.join("assay-test.key");
    run(Command::new(tauri)
        .args(["signer", "generate", "--ci", "-f", "-p", "", "-w"])
        .arg(&private))?;
    let public = std::fs::read_to_string(dir.join("assay-test.key.pub"))?
        .trim()
        .to_string();
    Ok(UpdateKey { private, public })
}

/// `0.1.0` → `0.1.1`.
fn next_patch(version: &str) -> Result<String> {
    let mut parts: Vec<u64> = version
        .split('.')
        .map(str::parse::<u64>)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{version} is not x.y.z"))?;
    let last = parts.last_mut().context("empty version")?;
    *last = last.checked_add(1).context("version overflow")?;
    Ok(parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// The one file with extension `ext` in `dir`.
fn only_file(dir: &Path, ext: &str) -> Result<PathBuf> {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("expected one .{ext} in {}, found {found:?}", dir.display()),
    }
}

/// The .deb holds the binary, the desktop entry (registered for `assay://`
/// links) and an icon at each size.
fn check_deb(deb: &Path) -> Result<()> {
    let out = Command::new("dpkg-deb")
        .arg("-c")
        .arg(deb)
        .output()
        .context("running dpkg-deb -c")?;
    let listing = String::from_utf8_lossy(&out.stdout);
    // dpkg-deb lists paths with or without a leading `./`.
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| p.trim_start_matches("./"))
        .collect();
    let mut want = vec!["usr/bin/assay-desktop".to_string()];
    for size in ["32x32", "64x64", "128x128", "256x256@2", "512x512"] {
        want.push(format!(
            "usr/share/icons/hicolor/{size}/apps/assay-desktop.png"
        ));
    }
    for path in &want {
        if !paths.contains(&path.as_str()) {
            bail!("{} lacks {path}:\n{listing}", deb.display());
        }
    }
    let desktop = paths
        .iter()
        .find(|p| p.starts_with("usr/share/applications/") && p.ends_with(".desktop"))
        .with_context(|| format!("{} has no desktop entry", deb.display()))?
        .to_string();
    let scratch = tempfile_dir()?;
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&scratch))?;
    let entry = std::fs::read_to_string(scratch.join(&desktop))?;
    let _ = std::fs::remove_dir_all(&scratch);
    for line in ["MimeType=x-scheme-handler/assay", "Exec=assay-desktop %u"] {
        if !entry.lines().any(|l| l.trim_end_matches(';') == line) {
            bail!("{desktop} lacks `{line}`:\n{entry}");
        }
    }
    Ok(())
}

/// The libraries every package must require: the webview, GTK, libsoup
/// (the webview's network stack) and the tray's `AppIndicator`.
const RPM_MUST_REQUIRE: &[&str] = &[
    "libwebkit2gtk-4.1.so.0()(64bit)",
    "libgtk-3.so.0()(64bit)",
    "libsoup-3.0.so.0()(64bit)",
    "libayatana-appindicator3.so.1()(64bit)",
];

/// The .rpm requires the libraries the binary needs, and holds the binary,
/// the desktop entry (registered for `assay://`) and the icons.
fn check_rpm(rpm: &Path) -> Result<()> {
    let query = |flag: &str| -> Result<String> {
        let out = Command::new("rpm")
            .arg(flag)
            .arg(rpm)
            .output()
            .context("running rpm (package rpm)")?;
        if !out.status.success() {
            bail!(
                "rpm {flag} {}: {}",
                rpm.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let requires = query("-qpR")?;
    for want in RPM_MUST_REQUIRE {
        if !requires.lines().any(|l| l.trim() == *want) {
            bail!("{} does not require {want}:\n{requires}", rpm.display());
        }
    }
    let files = query("-qpl")?;
    let mut want = vec![
        "/usr/bin/assay-desktop".to_string(),
        "/usr/share/applications/Assay.desktop".to_string(),
    ];
    for size in ["32x32", "64x64", "128x128", "256x256@2", "512x512"] {
        want.push(format!(
            "/usr/share/icons/hicolor/{size}/apps/assay-desktop.png"
        ));
    }
    for path in &want {
        if !files.lines().any(|l| l.trim() == path) {
            bail!("{} lacks {path}:\n{files}", rpm.display());
        }
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("assay-xtask-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
