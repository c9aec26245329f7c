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
//! `/proc/<pid>/smaps_rollup`, after the queue was scrolled to its end.
//! Every launch of Assay also scrolls the queue twice (3,000 px/s, then end
//! to end in 4 s) and records the intervals between animation frames, the
//! method of the UI's Chromium scroll bench, here on `WebKitGTK`.
//! The anchor, measured the same way in the same run (paired launches,
//! alternating order): `tests/minimal-tauri`, the smallest Tauri app on the
//! same Tauri and `WebKitGTK` (one static page), to its heading in the DOM.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use assay_e2e::{app_binary, sign_in, target_dir, App, PlatformProcess};

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
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = &stat[stat.rfind(')').context("stat")? + 1..];
    // Field 22 (starttime); the fields after the name start at field 3.
    let ticks: f64 = after_name
        .split_whitespace()
        .nth(19)
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
    let hz: f64 = String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()?
            .stdout,
    )?
    .trim()
    .parse()?;
    Ok((now - uptime + ticks / hz) * 1000.0)
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

/// One timed start of `binary` with `env`: the time until the `ready`
/// element is in the DOM (pushed to the first list) and from its exec to the
/// page's performance mark `mark` (pushed to the second), printed after
/// `label`.
fn timed_launch(
    (binary, env): (&Path, &[(&str, &str)]),
    (ready, mark): (&str, &str),
    label: &str,
    (starts, execs): (&mut Vec<f64>, &mut Vec<f64>),
) -> Result<App> {
    let (app, ms) = cold_start(binary, env, ready)?;
    starts.push(ms);
    let (exec, page) = exec_to_mark(&app, binary, mark)?;
    execs.push(exec);
    println!(
        "{label} after {ms:.0} ms ({exec:.0} ms after its exec, of which {page:.0} before the page's time origin)"
    );
    Ok(app)
}

/// Prints where the first launch's start-up went, from the page's own
/// timings: exec to the page's time origin (the Rust side, GTK and
/// `WebKit`'s processes starting), then each resource the page loaded and
/// each IPC call it made (start and end, ms after the time origin), up to
/// the first queue row's mark.
fn print_start_timeline(app: &App, binary: &Path) -> Result<()> {
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
        "start-up timeline of launch 1 (ms): exec at {exec:.0} ms since the epoch; exec -> page time origin {:.0}; DOM content loaded at +{:.0}; first queue row at +{:.0}",
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

/// Every process id in `/proc`.
fn all_pids() -> Result<Vec<u32>> {
    Ok(std::fs::read_dir("/proc")?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect())
}

/// The processes whose executable is `binary` (at least one, or an error).
fn running(binary: &Path) -> Result<Vec<u32>> {
    let binary = binary.canonicalize()?;
    let pids: Vec<u32> = all_pids()?
        .into_iter()
        .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == binary))
        .collect();
    if pids.is_empty() {
        bail!("no process runs {}", binary.display());
    }
    Ok(pids)
}

/// Parent pid of `pid` (`/proc/<pid>/stat`, the field after the name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// PSS in KiB of every process running `binary` and all their descendants,
/// with one line per process (its name, PSS and how much of it is anonymous,
/// file-backed and shared memory) for the report.
fn tree_pss_kib(binary: &Path) -> Result<(u64, usize, Vec<String>)> {
    let pids = all_pids()?;
    let roots = running(binary)?;
    let in_tree = |mut p: u32| loop {
        if roots.contains(&p) {
            return true;
        }
        match parent_of(p) {
            Some(q) if q > 1 && q != p => p = q,
            _ => return false,
        }
    };
    let mut total = 0;
    let mut count = 0;
    let mut lines = Vec::new();
    for p in pids.into_iter().filter(|&p| in_tree(p)) {
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
        lines.push(format!(
            "{:<20} PSS {:>7.1} MiB (anon {:.1}, file {:.1}, shmem {:.1})",
            comm.trim(),
            pss as f64 / 1024.0,
            field("Pss_Anon:") as f64 / 1024.0,
            field("Pss_File:") as f64 / 1024.0,
            field("Pss_Shmem:") as f64 / 1024.0,
        ));
        total += pss;
        count += 1;
    }
    Ok((total, count, lines))
}

/// The queue scrolls of each launch: (label, pixels per second; 0: top to
/// bottom in [`SCROLL_MS`]).
const SCROLLS: [(&str, f64); 2] = [
    ("queue scrolled at 3,000 px/s", 3000.0),
    ("queue scrolled end to end in 4 s", 0.0),
];
/// How long each scroll lasts.
const SCROLL_MS: f64 = 4000.0;

/// Scrolls the queue for [`SCROLL_MS`] at `speed` px/s (0: top to bottom)
/// moving it every animation frame, and returns the intervals between
/// frames in ms (the method of `ui/bench/scroll.mjs`).
fn scroll_frames(app: &App, speed: f64) -> Result<Vec<f64>> {
    let v = app.execute(
        "const [ms, speed] = arguments;
         const el = document.querySelector('[data-testid=queue-scroller]');
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
        serde_json::json!([SCROLL_MS, speed]),
    )?;
    let frames: Vec<f64> = serde_json::from_value(v).context("frame intervals")?;
    if frames.is_empty() {
        bail!("no animation frame while scrolling the queue");
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

#[test]
#[ignore = "a benchmark: run by `cargo xtask bench --only startup`"]
fn cold_start_and_memory_with_ten_thousand_items() -> Result<()> {
    let runs: usize = std::env::var("ASSAY_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let items: usize = std::env::var("ASSAY_BENCH_ITEMS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10_000);
    let binary = bench_app()?;
    let mut platform = PlatformProcess::seeded_with(&["--bulk", &items.to_string()])?;
    platform.start(1_000_000)?;
    let data = tempfile::tempdir()?;
    let data_dir = data.path().display().to_string();
    let env = [
        ("ASSAY_PROFILE", "bench-startup"),
        ("ASSAY_DATA_DIR", data_dir.as_str()),
    ];
    // First launch: sign in and sync everything, with the debug build (only
    // a debug build answers the sign-in confirmation from the test's
    // script; the release build asks in a native dialog). Same profile, data
    // dir and keyring entry, so the release build starts signed in.
    let dialogs = serde_json::json!({ "confirm_sign_in": platform.url() }).to_string();
    let first_env = [env[0], env[1], ("ASSAY_TEST_DIALOGS", dialogs.as_str())];
    let app = App::launch_binary(&app_binary()?, &first_env)?;
    app.wait_for("input[type=url]", WAIT)?;
    let synced = Instant::now();
    sign_in(&app, &platform, Duration::from_secs(600))?;
    app.wait_text("[data-testid=queue-count]", Duration::from_secs(600), |t| {
        t.replace(',', "")
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n >= items)
    })?;
    println!(
        "signed in and synced {items} items in {:.1} s (first launch)",
        synced.elapsed().as_secs_f64()
    );
    app.quit()?;

    let minimal = minimal_app()?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let mut starts = Vec::with_capacity(runs);
    let mut anchor = Vec::with_capacity(runs);
    let mut pss = (0, 0, Vec::new());
    let mut anchor_pss = (0, 0, Vec::new());
    let mut execs = Vec::with_capacity(runs);
    let mut anchor_execs = Vec::with_capacity(runs);
    let mut scrolls: Vec<Vec<f64>> = vec![Vec::new(); SCROLLS.len()];
    for run in 0..runs {
        // Paired, alternating which starts first.
        for assay_first in [run % 2 == 0, run % 2 != 0] {
            if assay_first {
                let app = timed_launch(
                    (&binary, &env),
                    ("li[data-queue-row]", "assay:first-queue-row"),
                    &format!("run {}: Assay's first queue row", run + 1),
                    (&mut starts, &mut execs),
                )?;
                if run == 0 {
                    print_start_timeline(&app, &binary)?;
                    let (kib, _, tree) = tree_pss_kib(&binary)?;
                    println!(
                        "PSS at the first queue row, before scrolling: {:.1} MiB",
                        kib as f64 / 1024.0
                    );
                    for line in tree {
                        println!("  {line}");
                    }
                }
                // Scroll the queue as the UI's scroll bench does in Chromium
                // (ui/bench/scroll.mjs), here in the real app on WebKitGTK:
                // at reading speed, then the whole queue end to end.
                for (i, (label, speed)) in SCROLLS.iter().enumerate() {
                    let frames = scroll_frames(&app, *speed)?;
                    println!("run {}: {}", run + 1, FrameStats::of(&frames).line(label));
                    scrolls[i].extend(frames);
                }
                if run == 0 {
                    std::thread::sleep(Duration::from_secs(2));
                    pss = tree_pss_kib(&binary)?;
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
                let app = timed_launch(
                    (&minimal, &[]),
                    ("#ready", "ready"),
                    &format!("run {}: minimal Tauri app's heading", run + 1),
                    (&mut anchor, &mut anchor_execs),
                )?;
                if run == 0 {
                    std::thread::sleep(Duration::from_secs(2));
                    anchor_pss = tree_pss_kib(&minimal)?;
                }
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
    let (a50, a95, amin, amax) = summary(&starts);
    let (m50, m95, mmin, mmax) = summary(&anchor);
    println!(
        "cold start over {runs} paired launches ({} vs {}): Assay to its first queue row median {a50:.0} ms, p95 {a95:.0}, min {amin:.0}, max {amax:.0}; minimal Tauri app to its heading median {m50:.0} ms, p95 {m95:.0}, min {mmin:.0}, max {mmax:.0}; ratio of medians {:.2}x",
        binary.display(),
        minimal.display(),
        a50 / m50
    );
    let (e50, e95, emin, emax) = summary(&execs);
    let (x50, x95, xmin, xmax) = summary(&anchor_execs);
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
    for (who, tree) in [("Assay", &pss.2), ("minimal Tauri app", &anchor_pss.2)] {
        println!("PSS by process, {who}:");
        for line in tree {
            println!("  {line}");
        }
    }
    println!(
        "PSS: Assay {:.1} MiB over {} processes after scrolling the queue; minimal Tauri app {:.1} MiB over {} processes; ratio {:.2}x",
        pss.0 as f64 / 1024.0,
        pss.1,
        anchor_pss.0 as f64 / 1024.0,
        anchor_pss.1,
        pss.0 as f64 / anchor_pss.0.max(1) as f64
    );
    Ok(())
}
