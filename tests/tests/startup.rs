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
    let binary = binary.canonicalize()?;
    let pids: Vec<u32> = std::fs::read_dir("/proc")?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let roots: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == binary))
        .collect();
    if roots.is_empty() {
        bail!("no process runs {}", binary.display());
    }
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
    for run in 0..runs {
        // Paired, alternating which starts first.
        for assay_first in [run % 2 == 0, run % 2 != 0] {
            if assay_first {
                let (app, ms) = cold_start(&binary, &env, "li[data-queue-row]")?;
                starts.push(ms);
                println!("run {}: Assay's first queue row after {ms:.0} ms", run + 1);
                if run == 0 {
                    let (kib, _, tree) = tree_pss_kib(&binary)?;
                    println!(
                        "PSS at the first queue row, before scrolling: {:.1} MiB",
                        kib as f64 / 1024.0
                    );
                    for line in tree {
                        println!("  {line}");
                    }
                    // Scroll the whole queue, then measure the process tree.
                    app.execute(
                        "const s = document.querySelector('[data-testid=queue-scroller]');
                         return new Promise(done => { let f = 0; const step = () => {
                           s.scrollTop = s.scrollHeight * f; f += 0.02;
                           if (f <= 1.0001) requestAnimationFrame(step); else setTimeout(done, 500); };
                           step(); });",
                        serde_json::json!([]),
                    )?;
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
                let (app, ms) = cold_start(&minimal, &[], "#ready")?;
                anchor.push(ms);
                println!(
                    "run {}: minimal Tauri app's heading after {ms:.0} ms",
                    run + 1
                );
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
