//! The diff view model against delta, on the same unified diff files
//! (`cargo xtask bench --only diff` fetches real releases, installs the pinned
//! delta and calls `compare`).
//!
//! - `diff_bench view FILE`: what the app does when a diff opens and is read
//!   to the end: parse, lay out, build every row of every file (unified),
//!   highlighted on demand by `rows_for` on the calling thread as the app's
//!   row windows are (here one call per file), and encode it as JSON as the
//!   webview gets it. With `DIFF_BENCH_ALL_AT_ONCE=1` in the environment
//!   (also for `compare`, whose children inherit it) `view` first calls
//!   `DiffRows::highlight_all`, which highlights every file with the hunks
//!   spread over the cores and one memo per thread; the app never calls
//!   it (until 2026-12-03 afternoon `view` always did).
//! - `diff_bench first FILE [--runs N]`: time to the first rows, as the app
//!   opens a diff: parse and lay out the diff and list its files (what
//!   opening the item does), then the first window of 100 rows of file 0
//!   (the file the viewer opens on) and of the largest file (the one a
//!   reviewer jumps to); next to it, that file highlighted whole and then
//!   its first window (what the first window cost when a file was
//!   highlighted whole on first use). One process per run; median and min
//!   of CPU (the process's user+sys, all threads) and wall.
//! - `diff_bench dump FILE`: every row of every file in both modes as JSON
//!   lines (compare highlighting before/after a change).
//! - `diff_bench compare --delta PATH [--runs N] [--callgrind] NAME=FILE...`:
//!   paired runs of `delta` and `diff_bench view` as child processes on each
//!   FILE (order alternating), CPU (user+sys of the child, getrusage) and
//!   wall; median and min, and each as a ratio against delta in the same run.
//!   Both do the same work: delta highlights removed lines too
//!   (`--minus-style 'syntax auto'`), does not truncate lines and highlights
//!   lines up to the same length as Assay ([`MAX_HIGHLIGHT_LINE_BYTES`]).
//! - `diff_bench --generate OUT`: the old synthetic diff (tests only).

#![allow(unsafe_code)] // getrusage (libc) for the children's CPU time; a benchmark tool, never shipped

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use assay_render::diff::{parse_unified_diff, DiffRows};
use assay_render::highlight::MAX_HIGHLIGHT_LINE_BYTES;
use assay_rubric::model::DiffMode;

#[path = "../benches/support/input.rs"]
mod bench_input;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn view(file: &str) -> Res<()> {
    let start = Instant::now();
    let text = std::fs::read_to_string(file)?;
    let diff = parse_unified_diff(&text)?;
    let rows = DiffRows::new(diff);
    if std::env::var_os("DIFF_BENCH_ALL_AT_ONCE").is_some() {
        rows.highlight_all();
    }
    let mut bytes = 0usize;
    let mut n = 0usize;
    for f in 0..rows.file_count() {
        let count = rows.row_count(f, DiffMode::Unified, &[]);
        let r = rows.rows_for(f, 0, count, DiffMode::Unified, &[])?;
        n += r.len();
        bytes += serde_json::to_vec(&r)?.len();
    }
    eprintln!(
        "lines={} rows={n} json_bytes={bytes} total_ms={:.1}",
        text.lines().count(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// CPU time (user + sys) of this process's threads so far, in ms.
fn self_cpu_ms() -> f64 {
    cpu_ms(libc::RUSAGE_SELF)
}

/// CPU time (user + sys) of `who` (`RUSAGE_SELF`, `RUSAGE_CHILDREN`) so far, in ms.
fn cpu_ms(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a zeroed rusage.
    if unsafe { libc::getrusage(who, &raw mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Rows of the viewer's first window.
const FIRST_WINDOW: u32 = 100;

/// One run of `first` in this process: (cpu, wall) ms of open + first
/// window of file 0, of the largest file's first window (after that), and
/// of the largest file's every row (in a second, fresh open).
fn first_once(text: &str) -> Res<[(f64, f64); 3]> {
    let timed = |f: &mut dyn FnMut() -> Res<()>| -> Res<(f64, f64)> {
        let (c, t) = (self_cpu_ms(), Instant::now());
        f()?;
        Ok((self_cpu_ms() - c, t.elapsed().as_secs_f64() * 1e3))
    };
    let mut rows = None;
    let open = timed(&mut || {
        let r = DiffRows::new(parse_unified_diff(text)?);
        std::hint::black_box(r.summaries());
        std::hint::black_box(assay_render::diff::file_tree(r.diff(), &[]));
        let w = r.rows_for(0, 0, FIRST_WINDOW, DiffMode::Unified, &[])?;
        std::hint::black_box(serde_json::to_vec(&w)?);
        rows = Some(r);
        Ok(())
    })?;
    let rows = rows.ok_or("no rows")?;
    let largest = (0..rows.file_count())
        .max_by_key(|&f| rows.row_count(f, DiffMode::Unified, &[]))
        .ok_or("no files")?;
    let jump = timed(&mut || {
        let w = rows.rows_for(largest, 0, FIRST_WINDOW, DiffMode::Unified, &[])?;
        std::hint::black_box(serde_json::to_vec(&w)?);
        Ok(())
    })?;
    let fresh = DiffRows::new(parse_unified_diff(text)?);
    let whole = timed(&mut || {
        fresh.highlight_file(largest);
        let w = fresh.rows_for(largest, 0, FIRST_WINDOW, DiffMode::Unified, &[])?;
        std::hint::black_box(serde_json::to_vec(&w)?);
        Ok(())
    })?;
    Ok([open, jump, whole])
}

fn first(args: &[String]) -> Res<()> {
    let (file, runs) = match args {
        [file] => (file, 9usize),
        [file, flag, n] if flag == "--runs" => (file, n.parse()?),
        _ => return Err("usage: diff_bench first FILE [--runs N]".into()),
    };
    if let Ok(once) = std::env::var("DIFF_BENCH_FIRST_ONCE") {
        let text = std::fs::read_to_string(&once)?;
        let r = first_once(&text)?;
        for (c, w) in r {
            print!("{c} {w} ");
        }
        println!();
        return Ok(());
    }
    let text = std::fs::read_to_string(file)?;
    let diff = parse_unified_diff(&text)?;
    let rows = DiffRows::new(diff);
    let largest = (0..rows.file_count())
        .max_by_key(|&f| rows.row_count(f, DiffMode::Unified, &[]))
        .ok_or("no files")?;
    println!(
        "first rows of {file} ({} lines, {} files; file 0 {} with {} rows, largest file {}          with {} rows); {runs} runs, one process each; load {}",
        text.lines().count(),
        rows.file_count(),
        rows.diff().files[0].path,
        rows.row_count(0, DiffMode::Unified, &[]),
        rows.diff().files[largest].path,
        rows.row_count(largest, DiffMode::Unified, &[]),
        load()
    );
    let mut all: [Vec<(f64, f64)>; 3] = Default::default();
    for _ in 0..runs {
        let out = Command::new(std::env::current_exe()?)
            .args(["first", file])
            .env("DIFF_BENCH_FIRST_ONCE", file)
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("a run failed with {}", out.status).into());
        }
        let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        for (k, slot) in all.iter_mut().enumerate() {
            slot.push((v[2 * k], v[2 * k + 1]));
        }
    }
    let names = [
        "open + file 0's first 100 rows",
        "then the largest file's first 100 rows",
        "largest file highlighted whole, first 100 rows",
    ];
    println!(
        "{:45} {:>10} {:>10} {:>10} {:>10}",
        "", "cpu med", "cpu min", "wall med", "wall min"
    );
    for (name, v) in names.iter().zip(&all) {
        let c: Vec<f64> = v.iter().map(|x| x.0).collect();
        let w: Vec<f64> = v.iter().map(|x| x.1).collect();
        println!(
            "{name:45} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>8.1}ms",
            median(&c),
            min(&c),
            median(&w),
            min(&w)
        );
    }
    println!("load after {}", load());
    Ok(())
}

fn dump(file: &str) -> Res<()> {
    let text = std::fs::read_to_string(file)?;
    let rows = DiffRows::new(parse_unified_diff(&text)?);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    use std::io::Write;
    for f in 0..rows.file_count() {
        for mode in [DiffMode::Unified, DiffMode::Split] {
            let count = rows.row_count(f, mode, &[]);
            let r = rows.rows_for(f, 0, count, mode, &[])?;
            serde_json::to_writer(&mut out, &r)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// user + sys of all waited-for children so far, in ms.
fn children_cpu_ms() -> f64 {
    cpu_ms(libc::RUSAGE_CHILDREN)
}

/// The program and arguments, run directly or under callgrind.
fn tool(program: &Path, under_callgrind: bool) -> Command {
    if under_callgrind {
        let mut c = Command::new("valgrind");
        c.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn delta_cmd(delta: &str, input: &Path, under_callgrind: bool) -> Res<Command> {
    let mut c = tool(Path::new(delta), under_callgrind);
    c.args([
        "--no-gitconfig",
        "--paging=never",
        "--true-color=always",
        // Removed lines syntax-highlighted like added ones (delta's default
        // leaves them plain).
        "--minus-style=syntax auto",
        "--minus-emph-style=syntax auto",
        // No truncation, and highlighting up to Assay's limit.
        "--max-line-length=0",
    ])
    .arg(format!(
        "--max-syntax-highlighting-length={MAX_HIGHLIGHT_LINE_BYTES}"
    ))
    .env_remove("DELTA_FEATURES")
    .env_remove("BAT_THEME")
    .stdin(std::fs::File::open(input)?);
    Ok(c)
}

fn assay_cmd(input: &Path, under_callgrind: bool) -> Res<Command> {
    let mut c = tool(&std::env::current_exe()?, under_callgrind);
    c.arg("view").arg(input).stdin(Stdio::null());
    Ok(c)
}

/// One measured run: (wall ms, cpu ms).
fn measure(mut cmd: Command) -> Res<(f64, f64)> {
    let c0 = children_cpu_ms();
    let t = Instant::now();
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    let wall = t.elapsed().as_secs_f64() * 1e3;
    if !status.success() {
        return Err(format!("{cmd:?} failed with {status}").into());
    }
    Ok((wall, children_cpu_ms() - c0))
}

/// Instructions of one run under callgrind (all threads).
fn instructions(mut cmd: Command) -> Res<u64> {
    let out = cmd.stdout(Stdio::null()).output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no callgrind total in: {err}").into())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn compare(args: &[String]) -> Res<()> {
    let mut delta = None;
    let mut runs = 9usize;
    let mut with_callgrind = false;
    let mut inputs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--delta" => delta = it.next().cloned(),
            "--runs" => runs = it.next().ok_or("--runs needs a value")?.parse()?,
            "--callgrind" => with_callgrind = true,
            other => {
                let (name, path) = other
                    .split_once('=')
                    .ok_or_else(|| format!("expected NAME=FILE, got {other:?}"))?;
                inputs.push((name.to_string(), std::path::PathBuf::from(path)));
            }
        }
    }
    let delta = delta.ok_or("--delta PATH is required")?;
    if runs < 7 {
        return Err("--runs must be at least 7".into());
    }
    let version = Command::new(&delta).arg("--version").output()?;
    println!(
        "diff_bench: {} vs `diff_bench view` (assay-render); {runs} paired runs per input, \
         order alternating, after one unmeasured warm-up each; CPU = user+sys of the child \
         (getrusage); {} cores; load before {}",
        String::from_utf8_lossy(&version.stdout).trim(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        load()
    );
    println!(
        "{:10} {:>7} {:>5} | {:>22} | {:>22} | {:>22} | {:>22}",
        "input",
        "lines",
        "files",
        "delta cpu med/min ms",
        "assay cpu med/min ms",
        "cpu assay/delta med/min",
        "wall assay/delta med/min"
    );
    let mut worst: f64 = 0.0;
    for (name, path) in &inputs {
        let text = std::fs::read_to_string(path)?;
        let lines = text.lines().count();
        let files = parse_unified_diff(&text)?.files.len();
        // Warm-up (page cache, lazily loaded code) for both.
        measure(delta_cmd(&delta, path, false)?)?;
        measure(assay_cmd(path, false)?)?;
        let (mut dw, mut dc, mut aw, mut ac) = (vec![], vec![], vec![], vec![]);
        let (mut rc, mut rw) = (vec![], vec![]);
        for run in 0..runs {
            let (d, a) = if run % 2 == 0 {
                let d = measure(delta_cmd(&delta, path, false)?)?;
                (d, measure(assay_cmd(path, false)?)?)
            } else {
                let a = measure(assay_cmd(path, false)?)?;
                (measure(delta_cmd(&delta, path, false)?)?, a)
            };
            dw.push(d.0);
            dc.push(d.1);
            aw.push(a.0);
            ac.push(a.1);
            rc.push(a.1 / d.1.max(0.001));
            rw.push(a.0 / d.0.max(0.001));
        }
        worst = worst.max(median(&rc));
        println!(
            "{name:10} {lines:>7} {files:>5} | {:>10.0} / {:>9.0} | {:>10.0} / {:>9.0} | {:>11.2}x / {:>8.2}x | {:>11.2}x / {:>8.2}x",
            median(&dc),
            min(&dc),
            median(&ac),
            min(&ac),
            median(&rc),
            min(&rc),
            median(&rw),
            min(&rw),
        );
        if with_callgrind {
            let d = instructions(delta_cmd(&delta, path, true)?)?;
            let a = instructions(assay_cmd(path, true)?)?;
            println!(
                "{name:10} callgrind instructions: delta {d}, assay {a}, assay/delta {:.2}x",
                a as f64 / d.max(1) as f64
            );
        }
    }
    println!(
        "worst median CPU ratio assay/delta: {worst:.2}x; load after {}",
        load()
    );
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, out] if flag == "--generate" => {
            let text = bench_input::generate_diff(24, 50);
            std::fs::write(out, &text)?;
            eprintln!("wrote {} lines to {out}", text.lines().count());
        }
        [cmd, file] if cmd == "view" => view(file)?,
        [cmd, file] if cmd == "dump" => dump(file)?,
        [cmd, rest @ ..] if cmd == "first" => first(rest)?,
        [cmd, rest @ ..] if cmd == "compare" => compare(rest)?,
        _ => {
            eprintln!(
                "usage: diff_bench view FILE | dump FILE | first FILE [--runs N] | compare --delta PATH [--runs N] \
                 [--callgrind] NAME=FILE... | --generate OUT"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
