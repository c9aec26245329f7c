//! Start-up and memory of the real app with 10,000 synced items (issue 17),
//! a benchmark, not a timed test: `cargo xtask bench --only startup` builds
//! the release app and runs it under Xvfb with a private keyring.
//!
//! Each cold start is measured from just before the `WebDriver` session is
//! asked for (tauri-driver is already listening; `WebKitWebDriver` then
//! execs the app) to the first queue row in the DOM, so the figures include
//! `WebKitWebDriver`'s own session setup: an upper bound of exec → first row.
//! Memory is the proportional set size (PSS) of the app and every process
//! below it (`WebKit`'s web and network processes), summed from
//! `/proc/<pid>/smaps_rollup`, after the queue was scrolled to its end,
//! and again after a 10,000-line diff (`ASSAY_BENCH_DIFF`: a real diff
//! between two releases of a crate, put into a demo coding item before the
//! first launch) was opened and scrolled end to end and a scan was opened.
//! Every launch of Assay also scrolls the queue twice (3,000 px/s, then end
//! to end in 4 s) and records the intervals between animation frames, the
//! method of the UI's Chromium scroll bench, here on `WebKitGTK`.
//! The anchor, measured the same way in the same run (paired launches,
//! alternating order): `tests/minimal-tauri`, the smallest Tauri app on the
//! same Tauri and `WebKitGTK` (one static page), to its heading in the DOM.
//! The anchor runs with the engine settings Assay's web process runs with
//! (its `WEBKIT_*` and `JSC_*` environment: the drawing mode Assay chose,
//! e.g. no compositing where there is no GPU, and its JavaScript engine
//! tuning), read from that process at the first launch: a default Tauri app
//! on a machine without a GPU composites with llvmpipe, about 60 MiB more in
//! its web process, which would flatter the ratio. `ASSAY_BENCH_ANCHOR_DEFAULT=1`
//! runs the anchor with Tauri's defaults instead.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use assay_e2e::{
    app_binary, click_new_item, open_new_item, search_queue, sign_in, target_dir,
    wait_scan_painted, App, PlatformProcess, CLICKED_AT,
};

const WAIT: Duration = Duration::from_secs(60);

/// The app to measure: `ASSAY_BENCH_APP` (the release build) or the debug one.
fn bench_app() -> Result<PathBuf> {
    match std::env::var_os("ASSAY_BENCH_APP") {
        Some(p) => Ok(PathBuf::from(p)),
        None => app_binary(),
    }
}

/// The anchor: `ASSAY_BENCH_MINIMAL` (the release build of
/// `tests/minimal-tauri`) or the debug one.
fn minimal_app() -> Result<PathBuf> {
    let path = std::env::var_os("ASSAY_BENCH_MINIMAL")
        .map_or_else(|| target_dir().join("assay-minimal-tauri"), PathBuf::from);
    if !path.exists() {
        bail!(
            "{} is missing: cargo build -p assay-minimal-tauri",
            path.display()
        );
    }
    Ok(path)
}

/// Launches `binary` through tauri-driver and waits for `ready` in the DOM:
/// milliseconds from asking for the session; the app stays open.
fn cold_start(binary: &Path, env: &[(&str, &str)], ready: &str) -> Result<(App, f64)> {
    let t0 = Instant::now();
    let app = App::launch_binary(binary, env)?;
    app.wait_for(ready, WAIT)
        .with_context(|| format!("no {ready} after a cold start of {}", binary.display()))?;
    Ok((app, t0.elapsed().as_secs_f64() * 1000.0))
}

/// When the process running `binary` was started (its exec), in ms since
/// the Unix epoch: its start in clock ticks after boot (`/proc/<pid>/stat`)
/// plus the boot time (now less `/proc/uptime`); to about 20 ms.
fn exec_epoch_ms(binary: &Path) -> Result<f64> {
    let pid = *running(binary)?.first().context("no process")?;
    // Field 22 (starttime); the fields after the name start at field 3.
    let ticks: f64 = stat_fields(&pid.to_string())?
        .get(19)
        .context("starttime")?
        .parse()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")?
        .split_whitespace()
        .next()
        .context("uptime")?
        .parse()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    Ok((now - uptime + ticks / clock_ticks()?) * 1000.0)
}

/// Milliseconds from the exec of the process running `binary` to the
/// performance mark `mark` in its page (the UI marks its first queue row,
/// the anchor its heading): the app's own start-up, without
/// `WebKitWebDriver`'s session setup or the test's polling for the element.
/// Also returns how much of that came before the page's time origin (the
/// app's own set-up, GTK, `WebKit`'s processes starting).
fn exec_to_mark(app: &App, binary: &Path, mark: &str) -> Result<(f64, f64)> {
    let exec = exec_epoch_ms(binary)?;
    for _ in 0..50 {
        let at = app.execute(
            "const m = performance.getEntriesByName(arguments[0], 'mark')[0];
             return m ? [performance.timeOrigin, m.startTime] : null;",
            serde_json::json!([mark]),
        )?;
        if let (Some(origin), Some(mark)) = (
            at.get(0).and_then(serde_json::Value::as_f64),
            at.get(1).and_then(serde_json::Value::as_f64),
        ) {
            return Ok((origin + mark - exec, origin - exec));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("no performance mark {mark} in {}", binary.display())
}

/// One of the apps the start-up bench launches run after run: the element
/// in the DOM and the page's performance mark that say it is ready, what the
/// printed lines call that moment, and the times of its launches so far.
struct Launches {
    ready: &'static str,
    mark: &'static str,
    what: &'static str,
    /// From the launch until `ready` is in the DOM, ms.
    starts: Vec<f64>,
    /// From the process's exec to `mark`, ms.
    execs: Vec<f64>,
}

impl Launches {
    fn new(ready: &'static str, mark: &'static str, what: &'static str, runs: usize) -> Self {
        Self {
            ready,
            mark,
            what,
            starts: Vec::with_capacity(runs),
            execs: Vec::with_capacity(runs),
        }
    }

    /// One timed start (launch `run`, 0-based) of `binary` with `env`: both
    /// times are kept and printed.
    fn timed(&mut self, binary: &Path, env: &[(&str, &str)], run: usize) -> Result<App> {
        let (app, ms) = cold_start(binary, env, self.ready)?;
        self.starts.push(ms);
        let (exec, page) = exec_to_mark(&app, binary, self.mark)?;
        self.execs.push(exec);
        println!(
            "run {}: {} after {ms:.0} ms ({exec:.0} ms after its exec, of which {page:.0} before the page's time origin)",
            run + 1,
            self.what
        );
        Ok(app)
    }
}

/// Prints where launch `launch`'s start-up went, from the page's own
/// timings: exec to the page's time origin (the Rust side, GTK and
/// `WebKit`'s processes starting), then each resource the page loaded and
/// each IPC call it made (start and end, ms after the time origin), up to
/// the first queue row's mark.
fn print_start_timeline(app: &App, binary: &Path, launch: usize) -> Result<()> {
    let exec = exec_epoch_ms(binary)?;
    let v = app.execute(
        "const nav = performance.getEntriesByType('navigation')[0];
         const mark = performance.getEntriesByName('assay:first-queue-row', 'mark')[0];
         return {
           origin: performance.timeOrigin,
           dom: nav ? nav.domContentLoadedEventEnd : null,
           row: mark ? mark.startTime : null,
           measures: performance.getEntriesByType('measure').concat(performance.getEntriesByType('mark'))
             .map(e => [e.name, e.startTime, e.startTime + e.duration]),
           entries: performance.getEntriesByType('resource')
             .filter(e => !mark || e.startTime <= mark.startTime)
             .map(e => [e.name.replace(/^[a-z]+:\\/\\/[^/]*\\//, ''), e.startTime, e.responseEnd]),
         };",
        serde_json::json!([]),
    )?;
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let origin = num("origin").context("no time origin")?;
    println!(
        "start-up timeline of launch {launch} (ms): exec at {exec:.0} ms since the epoch; exec -> page time origin {:.0}; DOM content loaded at +{:.0}; first queue row at +{:.0}",
        origin - exec,
        num("dom").unwrap_or(f64::NAN),
        num("row").unwrap_or(f64::NAN)
    );
    for e in ["measures", "entries"]
        .iter()
        .filter_map(|k| v.get(k).and_then(serde_json::Value::as_array))
        .flatten()
    {
        let name = e.get(0).and_then(serde_json::Value::as_str).unwrap_or("?");
        let at = |i| {
            e.get(i)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        println!("  +{:>5.0} .. +{:>5.0}  {name}", at(1), at(2));
    }
    Ok(())
}

/// The processes whose executable is `binary` (at least one, or an error).
fn running(binary: &Path) -> Result<Vec<u32>> {
    let binary = binary.canonicalize()?;
    let pids: Vec<u32> = assay_e2e::pids()
        .filter(|&p| assay_e2e::exe_of(p).is_some_and(|e| e == binary))
        .collect();
    if pids.is_empty() {
        bail!("no process runs {}", binary.display());
    }
    Ok(pids)
}

/// Every process running `binary` and all their descendants.
fn tree_pids(binary: &Path) -> Result<Vec<u32>> {
    Ok(tree_of(&running(binary)?))
}

/// The processes `roots` and all their descendants, each once.
fn tree_of(roots: &[u32]) -> Vec<u32> {
    let mut tree = roots.to_vec();
    for &root in roots {
        tree.extend(assay_e2e::descendants(root));
    }
    tree.sort_unstable();
    tree.dedup();
    tree
}

/// Clock ticks per second of `/proc`'s CPU times.
fn clock_ticks() -> Result<f64> {
    Ok(String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()?
            .stdout,
    )?
    .trim()
    .parse()?)
}

/// Fields of `/proc/<pid>/stat` after the process's name, from field 3.
fn stat_fields(pid: &str) -> Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = &stat[stat.rfind(')').context("stat")? + 1..];
    Ok(after_name.split_whitespace().map(str::to_string).collect())
}

/// CPU (user + system) in ms that `/proc/<pid>/stat` reports at fields
/// `user` and `user + 1` (14/15: the process's own; 16/17: its waited-for
/// children's).
fn stat_cpu_ms(pid: &str, user: usize, hz: f64) -> Result<f64> {
    let f = stat_fields(pid)?;
    let tick = |i: usize| -> Result<f64> { Ok(f.get(i - 3).context("stat field")?.parse()?) };
    Ok((tick(user)? + tick(user + 1)?) * 1000.0 / hz)
}

/// The PSS (KiB) of every process running a binary and all their
/// descendants: in all, `WebKit`'s web process's, the app's own, and one line
/// per process (its name, PSS and how much of it is anonymous, file-backed
/// and shared memory) for the report.
#[derive(Default)]
struct TreePss {
    total: u64,
    count: usize,
    /// KiB of `WebKit`'s web process (the page: DOM, JavaScript, painting).
    web: u64,
    /// KiB of the app's own process.
    app: u64,
    lines: Vec<String>,
}

impl TreePss {
    fn mib(kib: u64) -> f64 {
        kib as f64 / 1024.0
    }

    /// Prints launch `run`'s figures (0-based) in a line, and returns them.
    fn printed(self, run: usize, when: &str) -> Self {
        println!(
            "run {}: PSS {when}: {:.1} MiB over {} processes (web process {:.1}, app process {:.1})",
            run + 1,
            Self::mib(self.total),
            self.count,
            Self::mib(self.web),
            Self::mib(self.app)
        );
        self
    }
}

/// Median, min and max of the trees' PSS over the launches, by process, and
/// the ratio against the anchor: of the medians, and per launch pair.
fn memory_summary(when: &str, trees: &[TreePss], anchor: &[TreePss]) {
    let stats = |v: Vec<f64>| {
        let mut s = v;
        s.sort_by(f64::total_cmp);
        match (s.first(), s.last()) {
            (Some(&lo), Some(&hi)) => (percentile(&s, 0.5), lo, hi),
            _ => (f64::NAN, f64::NAN, f64::NAN),
        }
    };
    let of = |v: &[TreePss], f: fn(&TreePss) -> u64| {
        stats(v.iter().map(|t| TreePss::mib(f(t))).collect())
    };
    let line = |(m, lo, hi): (f64, f64, f64)| format!("median {m:.1} (min {lo:.1}, max {hi:.1})");
    let total = of(trees, |t| t.total);
    let anchor_total = of(anchor, |t| t.total);
    let pairs = stats(
        trees
            .iter()
            .zip(anchor)
            .map(|(a, b)| a.total as f64 / b.total.max(1) as f64)
            .collect(),
    );
    println!(
        "PSS over {} launches {when}: Assay {} MiB, web process {}, app process {}; minimal Tauri app {} MiB, web process {}, app process {}; ratio of medians {:.2}x, per launch pair median {:.2}x (min {:.2}x, max {:.2}x)",
        trees.len(),
        line(total),
        line(of(trees, |t| t.web)),
        line(of(trees, |t| t.app)),
        line(anchor_total),
        line(of(anchor, |t| t.web)),
        line(of(anchor, |t| t.app)),
        total.0 / anchor_total.0,
        pairs.0,
        pairs.1,
        pairs.2
    );
}

/// The `WEBKIT_*` and `JSC_*` environment of the web process below
/// `binary`'s running app: the engine settings that page runs with.
fn engine_settings(binary: &Path) -> Result<Vec<(String, String)>> {
    for p in tree_of(&running(binary)?) {
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        if !comm.starts_with("WebKitWebProces") {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{p}/environ"))
            .with_context(|| format!("environment of the web process {p}"))?;
        return Ok(environ
            .split(|b| *b == 0)
            .filter_map(|kv| std::str::from_utf8(kv).ok()?.split_once('='))
            // The inspector's address is the driver's, set for each launch.
            .filter(|(k, _)| {
                (k.starts_with("WEBKIT_") || k.starts_with("JSC_"))
                    && *k != "WEBKIT_INSPECTOR_SERVER"
            })
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect());
    }
    bail!("no web process below {}", binary.display())
}

fn tree_pss(binary: &Path) -> Result<TreePss> {
    let mut tree = TreePss::default();
    let roots = running(binary)?;
    for p in tree_of(&roots) {
        let Ok(rollup) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else {
            continue;
        };
        let field = |name: &str| -> u64 {
            rollup
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let pss = field("Pss:");
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        if comm.starts_with("WebKitWebProces") {
            tree.web += pss;
        }
        if roots.contains(&p) {
            tree.app += pss;
        }
        tree.lines.push(format!(
            "{:<20} PSS {:>7.1} MiB (anon {:.1}, file {:.1}, shmem {:.1})",
            comm.trim(),
            pss as f64 / 1024.0,
            field("Pss_Anon:") as f64 / 1024.0,
            field("Pss_File:") as f64 / 1024.0,
            field("Pss_Shmem:") as f64 / 1024.0,
        ));
        tree.total += pss;
        tree.count += 1;
    }
    Ok(tree)
}

/// The queue scrolls of each launch: (label, pixels per second; 0: top to
/// bottom in [`SCROLL_MS`]).
const SCROLLS: [(&str, f64); 2] = [
    ("queue scrolled at 3,000 px/s", 3000.0),
    ("queue scrolled end to end in 4 s", 0.0),
];
/// How long each scroll lasts.
const SCROLL_MS: f64 = 4000.0;
/// The queue's and the diff viewer's scrolling elements.
const QUEUE_SCROLLER: &str = "[data-testid=queue-scroller]";
const DIFF_SCROLLER: &str = "[data-testid=diff-scroller]";
/// The demo coding item whose patch becomes the large diff
/// (`ASSAY_BENCH_DIFF`); assigned to the demo reviewer, new.
const BIG_DIFF_ITEM: &str = "itm-code-py-intervals-1";
/// A demo scan, new for the demo reviewer (found by this search).
const SCAN_SEARCH: &str = "Chest CT: incidental";

/// Scrolls the element `scroller` (CSS) for [`SCROLL_MS`] at `speed` px/s
/// (0: top to bottom) moving it every animation frame, and returns the
/// intervals between frames in ms (the method of `ui/bench/scroll.mjs`).
fn scroll_frames(app: &App, scroller: &str, speed: f64) -> Result<Vec<f64>> {
    let v = app.execute(
        "const [ms, speed, scroller] = arguments;
         const el = document.querySelector(scroller);
         el.scrollTop = 0;
         const max = el.scrollHeight - el.clientHeight;
         return new Promise(done => {
           const frames = []; let t0 = null; let last = 0;
           const step = now => {
             if (t0 === null) t0 = last = now; else frames.push(now - last);
             last = now;
             const t = now - t0;
             el.scrollTop = speed > 0 ? Math.min(max, t / 1000 * speed) : Math.min(1, t / ms) * max;
             if (t < ms) requestAnimationFrame(step); else done(frames);
           };
           requestAnimationFrame(() => requestAnimationFrame(step));
         });",
        serde_json::json!([SCROLL_MS, speed, scroller]),
    )?;
    let frames: Vec<f64> = serde_json::from_value(v).context("frame intervals")?;
    if frames.is_empty() {
        bail!("no animation frame while scrolling {scroller}");
    }
    Ok(frames)
}

/// Frame intervals summarised as the UI's scroll bench prints them.
struct FrameStats {
    frames: usize,
    p50: f64,
    p95: f64,
    max: f64,
    over_50: usize,
}

impl FrameStats {
    fn of(frames: &[f64]) -> Self {
        let mut s = frames.to_vec();
        s.sort_by(f64::total_cmp);
        Self {
            frames: s.len(),
            p50: percentile(&s, 0.5),
            p95: percentile(&s, 0.95),
            max: s.last().copied().unwrap_or(0.0),
            over_50: s.iter().filter(|&&f| f > 50.0).count(),
        }
    }

    fn line(&self, label: &str) -> String {
        format!(
            "{label}: {} frames, frame interval p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; {} frames > 50 ms",
            self.frames, self.p50, self.p95, self.max, self.over_50
        )
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    // Nearest rank.
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `ASSAY_BENCH_RUNS` (default 10) and `ASSAY_BENCH_ITEMS` (default 10,000).
fn runs_and_items() -> (usize, usize) {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(default)
    };
    (
        var("ASSAY_BENCH_RUNS", 10),
        var("ASSAY_BENCH_ITEMS", 10_000),
    )
}

/// Whether the queue's count says it holds at least `items`.
fn holds(count: &str, items: usize) -> bool {
    count
        .replace(',', "")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n >= items)
}

/// A platform seeded with N bulk items and a data dir whose profile signed
/// in there and synced once ([`first_launch_signed_in`]).
struct SignedIn {
    platform: PlatformProcess,
    data: tempfile::TempDir,
    data_dir: String,
    profile: &'static str,
}

impl SignedIn {
    /// `diff`: the candidate patch [`BIG_DIFF_ITEM`] gets before the first
    /// launch syncs it.
    fn new(profile: &'static str, items: usize, diff: Option<&str>) -> Result<Self> {
        let mut platform = PlatformProcess::seeded_with(&["--bulk", &items.to_string()])?;
        platform.start(1_000_000)?;
        if let Some(diff) = diff {
            platform.admin_post(
                &format!("/items/{BIG_DIFF_ITEM}/content"),
                &serde_json::json!({
                    "fields": { "candidate_patch": { "type": "text", "value": diff } }
                }),
            )?;
        }
        let data = tempfile::tempdir()?;
        let data_dir = data.path().display().to_string();
        let signed = Self {
            platform,
            data,
            data_dir,
            profile,
        };
        first_launch_signed_in(&signed.platform, items, &signed.env())?;
        Ok(signed)
    }

    /// The app's environment for this profile and data dir.
    fn env(&self) -> [(&str, &str); 2] {
        [
            ("ASSAY_PROFILE", self.profile),
            ("ASSAY_DATA_DIR", self.data_dir.as_str()),
        ]
    }
}

/// First launch: sign in and sync everything, with the debug build (only a
/// debug build answers the sign-in confirmation from the test's script; the
/// release build asks in a native dialog). Same profile, data dir and
/// keyring entry (`env`), so the release build starts signed in.
fn first_launch_signed_in(
    platform: &PlatformProcess,
    items: usize,
    env: &[(&str, &str); 2],
) -> Result<()> {
    let dialogs = serde_json::json!({ "confirm_sign_in": platform.url() }).to_string();
    let first_env = [env[0], env[1], ("ASSAY_TEST_DIALOGS", dialogs.as_str())];
    let app = App::launch_binary(&app_binary()?, &first_env)?;
    app.wait_for("input[type=url]", WAIT)?;
    let synced = Instant::now();
    sign_in(&app, platform, Duration::from_secs(600))?;
    app.wait_text("[data-testid=queue-count]", Duration::from_secs(600), |t| {
        holds(t, items)
    })?;
    println!(
        "signed in and synced {items} items in {:.1} s (first launch)",
        synced.elapsed().as_secs_f64()
    );
    app.quit()
}

/// The real app's first pull against the engine alone (issue 17: inside the
/// app at most 1.3× the engine). Paired runs, alternating order, against one
/// `assay-platform serve` seeded with N bulk items:
/// - the app: the release build, signed in (the session and keyring entry
///   of a first launch) with its store deleted, so it resumes the session
///   and pulls everything, measured from asking tauri-driver for the
///   session to the page's performance mark of the sync bar's first
///   "synced" (`assay:first-synced`), waited for in the page
///   ([`App::wait_mark`]) rather than polled, so the measuring adds no work
///   while the app pulls (the queue then must hold N); its wall time
///   includes the app's start-up; CPU is the user+system time of the app's
///   process tree (the app, `WebKit`'s web and network processes) at that
///   moment, start-up included; also from the app's exec to that mark,
///   without the driver's session setup, as the engine's wall has none;
/// - the engine: `sync_bench engine` (`ASSAY_BENCH_ENGINE`, the release
///   example: one `SyncEngine::sync_once` into a fresh store on its own sync
///   thread, as in the app), wall time and its CPU as a waited-for child.
#[test]
#[ignore = "a benchmark: run by `cargo xtask bench --only appsync`"]
fn first_pull_in_the_app_against_the_engine_alone() -> Result<()> {
    let (runs, items) = runs_and_items();
    let engine = PathBuf::from(
        std::env::var_os("ASSAY_BENCH_ENGINE")
            .context("ASSAY_BENCH_ENGINE: the release sync_bench example")?,
    );
    let binary = bench_app()?;
    let signed = SignedIn::new("bench-appsync", items, None)?;
    let (platform, env) = (&signed.platform, signed.env());
    let store = signed.data.path().join("store");
    let engine_dir = signed.data.path().join("engine");
    let hz = clock_ticks()?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let (mut app_wall, mut app_cpu, mut eng_wall, mut eng_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // The app's exec to the sync bar's first "synced … ago" (its page's
    // performance mark): without WebKitWebDriver's session setup, as the
    // engine's wall has none.
    let mut app_exec = Vec::new();
    for run in 0..runs {
        for app_first in [run % 2 == 0, run % 2 != 0] {
            if app_first {
                std::fs::remove_dir_all(&store)?;
                let t0 = Instant::now();
                let app = App::launch_binary(&binary, &env)?;
                // Done when the sync bar says when it last synced (an empty
                // store says "synced never"; the bar shows it only once no
                // sync runs) and the queue holds every assignment. The queue
                // alone counts assignments, which arrive before the items.
                // Waited for in the page, not polled: polling the bar every
                // 150 ms put the app's arm 0.01-0.12 higher in the ratio from
                // exec (four 7-run series each way, alternating;
                // docs/benchmarks.md).
                app.wait_mark("assay:first-synced", Duration::from_secs(600))?;
                let wall = t0.elapsed().as_secs_f64() * 1000.0;
                // The queue's count is read again as the sync ends, shortly
                // after the bar says "synced".
                app.wait_text("[data-testid=queue-count]", Duration::from_secs(30), |t| {
                    holds(t, items)
                })
                .context("the app finished its pull without every assignment in its queue")?;
                let (exec_ms, _) = exec_to_mark(&app, &binary, "assay:first-synced")?;
                let mut cpu = 0.0;
                let mut by_process = Vec::new();
                for p in tree_pids(&binary)? {
                    let ms = stat_cpu_ms(&p.to_string(), 14, hz).unwrap_or(0.0);
                    let comm =
                        std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
                    by_process.push(format!("{} {ms:.0}", comm.trim()));
                    cpu += ms;
                }
                app.quit()?;
                println!(
                    "run {}: the app pulled {items} items in {wall:.0} ms wall ({exec_ms:.0} ms from its exec to the bar's first \"synced\"), {cpu:.0} ms CPU (its process tree, start-up included: {})",
                    run + 1,
                    by_process.join(", ")
                );
                app_exec.push(exec_ms);
                app_wall.push(wall);
                app_cpu.push(cpu);
            } else {
                let _ = std::fs::remove_dir_all(&engine_dir);
                let before = stat_cpu_ms("self", 16, hz)?;
                let t0 = Instant::now();
                let out = std::process::Command::new(&engine)
                    .args([
                        "engine",
                        "--url",
                        &platform.url(),
                        "--token",
                        &platform.token,
                    ])
                    .arg("--dir")
                    .arg(&engine_dir)
                    .env("RUST_LOG", "warn")
                    .output()?;
                let wall = t0.elapsed().as_secs_f64() * 1000.0;
                let cpu = stat_cpu_ms("self", 16, hz)? - before;
                let report: serde_json::Value =
                    serde_json::from_slice(&out.stdout).with_context(|| {
                        format!(
                            "the engine printed {}",
                            String::from_utf8_lossy(&out.stderr)
                        )
                    })?;
                let stored = report["items"].as_u64().unwrap_or(0);
                if !out.status.success() || (stored as usize) < items {
                    bail!("the engine stored {stored} items: {report}");
                }
                println!(
                    "run {}: the engine pulled {stored} items in {wall:.0} ms wall, {cpu:.0} ms CPU",
                    run + 1
                );
                eng_wall.push(wall);
                eng_cpu.push(cpu);
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        (percentile(&s, 0.5), s[0])
    };
    let ratios =
        |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x / y).collect() };
    for (what, app, eng) in [
        ("wall", &app_wall, &eng_wall),
        (
            "exec to \"synced\" (app) against wall (engine)",
            &app_exec,
            &eng_wall,
        ),
        ("CPU", &app_cpu, &eng_cpu),
    ] {
        let ((a50, amin), (e50, emin)) = (median(app), median(eng));
        let (r50, rmin) = median(&ratios(app, eng));
        println!(
            "{what} over {runs} paired runs: app median {a50:.0} ms (min {amin:.0}), engine median {e50:.0} ms (min {emin:.0}); app/engine per pair median {r50:.2}x (min {rmin:.2}x)"
        );
    }
    Ok(())
}

#[test]
#[ignore = "a benchmark: run by `cargo xtask bench --only startup`"]
fn cold_start_and_memory_with_ten_thousand_items() -> Result<()> {
    let (runs, items) = runs_and_items();
    let binary = bench_app()?;
    // A real 10,000-line diff (xtask passes one; without it the bench
    // measures the queue only).
    let diff = bench_diff()?;
    let signed = SignedIn::new("bench-startup", items, diff.as_deref())?;
    let env = signed.env();

    let minimal = minimal_app()?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let mut assay = Launches::new(
        "li[data-queue-row]",
        "assay:first-queue-row",
        "Assay's first queue row",
        runs,
    );
    let mut anchor = Launches::new("#ready", "ready", "minimal Tauri app's heading", runs);
    // The trees' PSS, every launch: after the queue was scrolled, then with
    // the diff and the scan open; the anchor's after its heading.
    let mut pss: Vec<TreePss> = Vec::with_capacity(runs);
    let mut opened_pss: Vec<TreePss> = Vec::with_capacity(runs);
    let mut anchor_pss: Vec<TreePss> = Vec::with_capacity(runs);
    let mut scrolls: Vec<Vec<f64>> = vec![Vec::new(); SCROLLS.len()];
    // The anchor's engine settings: Assay's web process's, read at its first
    // launch (run 0 starts Assay first).
    let default_anchor = std::env::var_os("ASSAY_BENCH_ANCHOR_DEFAULT").is_some();
    let mut anchor_env: Vec<(String, String)> = Vec::new();
    for run in 0..runs {
        // Paired, alternating which starts first.
        for assay_first in [run % 2 == 0, run % 2 != 0] {
            if assay_first {
                let app = assay.timed(&binary, &env, run)?;
                print_start_timeline(&app, &binary, run + 1)?;
                if run == 0 && !default_anchor {
                    anchor_env = engine_settings(&binary)?;
                    println!(
                        "the minimal Tauri app runs with the engine settings of Assay's web process: {}",
                        if anchor_env.is_empty() {
                            "none set".to_owned()
                        } else {
                            anchor_env
                                .iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        }
                    );
                }
                if run == 0 {
                    let tree = tree_pss(&binary)?;
                    println!(
                        "PSS at the first queue row, before scrolling: {:.1} MiB",
                        TreePss::mib(tree.total)
                    );
                    for line in tree.lines {
                        println!("  {line}");
                    }
                }
                // Scroll the queue as the UI's scroll bench does in Chromium
                // (ui/bench/scroll.mjs), here in the real app on WebKitGTK:
                // at reading speed, then the whole queue end to end.
                for (i, (label, speed)) in SCROLLS.iter().enumerate() {
                    let frames = scroll_frames(&app, QUEUE_SCROLLER, *speed)?;
                    println!("run {}: {}", run + 1, FrameStats::of(&frames).line(label));
                    scrolls[i].extend(frames);
                }
                std::thread::sleep(Duration::from_secs(2));
                pss.push(tree_pss(&binary)?.printed(run, "after scrolling the queue"));
                // `ASSAY_BENCH_SETTLE_S`: read the tree again this much later,
                // to see what the web process gives back by itself (its
                // garbage collector and allocator work on timers).
                if let Some(s) = std::env::var("ASSAY_BENCH_SETTLE_S")
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    std::thread::sleep(Duration::from_secs(s));
                    let t = tree_pss(&binary)?
                        .printed(run, &format!("{s} s after that, the queue left as it was"));
                    for line in t.lines {
                        println!("  {line}");
                    }
                }
                if let Some(diff) = &diff {
                    let tree = open_diff_and_scan(&app, &binary, diff)?;
                    opened_pss.push(tree.printed(run, "with the diff and the scan open"));
                }
                if run == 0 {
                    // `ASSAY_BENCH_HOLD_S`: keep the measured app open this
                    // long, to look inside its processes (smaps, heap).
                    if let Some(s) = std::env::var("ASSAY_BENCH_HOLD_S")
                        .ok()
                        .and_then(|s| s.parse().ok())
                    {
                        println!("holding the measured app open for {s} s");
                        std::thread::sleep(Duration::from_secs(s));
                    }
                }
                app.quit()?;
            } else {
                let env: Vec<(&str, &str)> = anchor_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let app = anchor.timed(&minimal, &env, run)?;
                std::thread::sleep(Duration::from_secs(2));
                anchor_pss.push(
                    tree_pss(&minimal)?.printed(run, "of the minimal Tauri app after its heading"),
                );
                app.quit()?;
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
    let summary = |v: &[f64]| {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        (
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.95),
            sorted[0],
            sorted[sorted.len() - 1],
        )
    };
    let (a50, a95, amin, amax) = summary(&assay.starts);
    let (m50, m95, mmin, mmax) = summary(&anchor.starts);
    println!(
        "cold start over {runs} paired launches ({} vs {}): Assay to its first queue row median {a50:.0} ms, p95 {a95:.0}, min {amin:.0}, max {amax:.0}; minimal Tauri app to its heading median {m50:.0} ms, p95 {m95:.0}, min {mmin:.0}, max {mmax:.0}; ratio of medians {:.2}x",
        binary.display(),
        minimal.display(),
        a50 / m50
    );
    let (e50, e95, emin, emax) = summary(&assay.execs);
    let (x50, x95, xmin, xmax) = summary(&anchor.execs);
    println!(
        "exec to first row (the page's performance mark less the process's start; no driver setup, no polling) over {runs} launches: Assay median {e50:.0} ms, p95 {e95:.0}, min {emin:.0}, max {emax:.0}; minimal Tauri app to its heading median {x50:.0} ms, p95 {x95:.0}, min {xmin:.0}, max {xmax:.0}; ratio of medians {:.2}x",
        e50 / x50
    );
    for ((label, _), frames) in SCROLLS.iter().zip(&scrolls) {
        println!(
            "all {runs} launches, {}",
            FrameStats::of(frames).line(label)
        );
    }
    let first_lines = |v: &[TreePss]| v.first().map(|t| t.lines.clone()).unwrap_or_default();
    for (who, tree) in [
        (
            "Assay, first launch, after scrolling the queue",
            first_lines(&pss),
        ),
        (
            "Assay, first launch, with the diff and the scan open",
            first_lines(&opened_pss),
        ),
        ("minimal Tauri app, first launch", first_lines(&anchor_pss)),
    ] {
        if tree.is_empty() {
            continue;
        }
        println!("PSS by process, {who}:");
        for line in tree {
            println!("  {line}");
        }
    }
    memory_summary("after scrolling the queue", &pss, &anchor_pss);
    if !opened_pss.is_empty() {
        memory_summary(
            "after scrolling the queue, opening and scrolling the diff and opening the scan",
            &opened_pss,
            &anchor_pss,
        );
    }
    Ok(())
}

/// The real 10,000-line diff `ASSAY_BENCH_DIFF` names (xtask passes one),
/// if it names one.
fn bench_diff() -> Result<Option<String>> {
    std::env::var_os("ASSAY_BENCH_DIFF")
        .map(|path| {
            std::fs::read_to_string(&path)
                .with_context(|| format!("ASSAY_BENCH_DIFF {}", Path::new(&path).display()))
        })
        .transpose()
}

/// Opens [`BIG_DIFF_ITEM`] (its patch is `diff`), scrolls the diff end to
/// end, opens a demo scan and waits for it to paint; then the PSS of the
/// app's tree, 2 s later.
fn open_diff_and_scan(app: &App, binary: &Path, diff: &str) -> Result<TreePss> {
    open_diff_and_scan_steps(app, diff)?;
    std::thread::sleep(Duration::from_secs(2));
    tree_pss(binary)
}

/// The steps of [`open_diff_and_scan`] without the reading.
fn open_diff_and_scan_steps(app: &App, diff: &str) -> Result<()> {
    let lines = diff.lines().count();
    search_queue(app, BIG_DIFF_ITEM)?;
    click_new_item(app, BIG_DIFF_ITEM)?;
    // Polled every 20 ms in the page's clock, from the click: the item
    // screen's mount, `open_item`, the diff's layout and its first window.
    let deadline = Instant::now() + WAIT;
    let shown = loop {
        let v = app.js(&format!(
            "return document.querySelector('[data-diff-row]') ? performance.now() - window.{CLICKED_AT} : null"
        ))?;
        if let Some(ms) = v.as_f64() {
            break ms;
        }
        ensure!(Instant::now() < deadline, "the diff's rows never showed");
        std::thread::sleep(Duration::from_millis(20));
    };
    println!(
        "the {lines}-line diff's first rows {shown:.0} ms after the click that opened its item (polled every 20 ms)"
    );
    let frames = scroll_frames(app, DIFF_SCROLLER, 0.0)?;
    println!(
        "{}",
        FrameStats::of(&frames).line(&format!("the {lines}-line diff scrolled end to end in 4 s"))
    );
    open_new_item(app, SCAN_SEARCH)?;
    wait_scan_painted(app)
}

/// The functions of our binary that a measured launch runs, for the
/// linker's symbol order (`src-tauri/link-order.txt`, written by `cargo
/// xtask link-order`, which runs this and reads what it leaves). The release
/// app (`ASSAY_BENCH_APP`) starts under valgrind's callgrind, signed in with
/// `ASSAY_BENCH_ITEMS` items and the large diff (`ASSAY_BENCH_DIFF`) as in
/// [`cold_start_and_memory_with_ten_thousand_items`], and goes through that
/// bench's steps: the first queue row, both queue scrolls, the diff opened
/// and scrolled end to end, the scan opened. Then callgrind writes its
/// profile (`callgrind_control --dump`) into `ASSAY_CALLGRIND_DIR`: only
/// which functions ran is wanted, the timings under valgrind mean nothing.
#[test]
#[ignore = "run by `cargo xtask link-order`"]
fn functions_a_measured_launch_runs() -> Result<()> {
    let Some(dir) = std::env::var_os("ASSAY_CALLGRIND_DIR").map(PathBuf::from) else {
        bail!("ASSAY_CALLGRIND_DIR: where callgrind writes its profile");
    };
    let diff = bench_diff()?.context("ASSAY_BENCH_DIFF: the large diff")?;
    let (_, items) = runs_and_items();
    let binary = bench_app()?.canonicalize()?;
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    // tauri-driver starts the program it is given: a script that starts
    // the app under callgrind with the same arguments.
    let wrapper = dir.join("assay-desktop");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec valgrind --tool=callgrind --dump-instr=no --demangle=no \\\n  --callgrind-out-file='{}/callgrind.out.%p' '{}' \"$@\"\n",
            dir.display(),
            binary.display()
        ),
    )?;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
    let signed = SignedIn::new("link-order", items, Some(&diff))?;
    let started = Instant::now();
    let app = App::launch_binary(&wrapper, &signed.env())?;
    app.wait_for("li[data-queue-row]", Duration::from_secs(300))
        .context("no queue row from the app under callgrind")?;
    println!(
        "the first queue row under callgrind after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (_, speed) in SCROLLS {
        scroll_frames(&app, QUEUE_SCROLLER, speed)?;
    }
    open_diff_and_scan_steps(&app, &diff)?;
    // The app is ended by the driver, not exited: callgrind would write
    // nothing then, so it is asked to write what it has now.
    let dumped = std::process::Command::new("callgrind_control")
        .arg("--dump")
        .status()
        .context("callgrind_control (valgrind)")?;
    ensure!(
        dumped.success(),
        "callgrind_control --dump failed: {dumped}"
    );
    println!(
        "callgrind's profile written to {} after {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    app.quit()
}
