//! Sync benchmark: the engine's full pull of N assignments against curl
//! doing the same HTTP requests, on a real reference platform.
//!
//! `sync_bench [--items 10000] [--runs 7] [--backend both|sqlite|postgres]
//!  [--platform target/release/assay-platform] [--scaling 2500,5000|none] [--small]`
//! (`cargo xtask bench --only sync` builds both in release and runs this).
//!
//! Per backend (SQLite file; PostgreSQL on a throw-away cluster from
//! `assay-pgtest`, skipped with a note when none can be started):
//! 1. `assay-platform seed --demo --bulk N` (the demo seed, then N more
//!    assignments for the demo reviewer, each on a copy of a demo item) and
//!    `assay-platform token issue`, both through the release binary;
//! 2. `assay-platform serve` on loopback with its per-request trace on: the
//!    engine pulls once into a fresh store, and the exact requests the server
//!    saw (method and URI, in order) become curl's config: serial routes in
//!    one `curl` each, items and attachments with `--parallel --parallel-max`
//!    at the engine's own concurrency (`SyncConfig::default()`); then curl
//!    runs once, and both request lists as the server saw them must be equal
//!    (same URIs, same counts, all 2xx);
//! 3. `serve` again without the trace, then `--runs` paired runs in
//!    alternating order: (A) the engine as a child process (`sync_bench
//!    engine`: a fresh store, one `SyncEngine::sync_once`), (B) curl. Wall
//!    time, client CPU (user+sys of the children, getrusage) and the server's
//!    CPU (`/proc/<pid>/stat` of `serve`, plus every PostgreSQL process of
//!    the cluster) per run; median and min, each as a ratio against curl.
//! 4. `--scaling`: the same once (one pair) at each smaller size, to show
//!    the server's cost per item stays flat (linear, not quadratic).
//!
//! `SYNC_BENCH_PHASES=1 sync_bench engine --url U --token T --dir D` also
//! prints the engine child's CPU and wall time per phase of the sync.

#![allow(unsafe_code)] // getrusage, sysconf and kill (libc); a benchmark tool, never shipped

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use assay_pgtest::process::output;
use assay_store::Store;
use assay_sync::{PlatformClient, SyncConfig, SyncEngine, SyncThread, Token};

// ------------------------------------------------------------------ helpers

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => f64::midpoint(s[n / 2 - 1], s[n / 2]),
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// User+sys CPU (ms) of every child process this one has waited for.
fn children_cpu_ms() -> f64 {
    rusage_ms(libc::RUSAGE_CHILDREN)
}

/// User+sys CPU (ms) of `who` (`RUSAGE_SELF`, `RUSAGE_CHILDREN`).
fn rusage_ms(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a zeroed rusage.
    if unsafe { libc::getrusage(who, &raw mut ru) } != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// With `SYNC_BENCH_PHASES` set, the engine child prints to stderr the
/// process's CPU and the wall time spent in each phase of the sync (from
/// one progress report naming a phase to the first naming another), and
/// before and after `sync_once`.
struct PhaseClock {
    start: Instant,
    at: Mutex<(String, f64, Instant)>,
    lines: Mutex<Vec<String>>,
}

impl PhaseClock {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            start: now,
            at: Mutex::new(("start-up".into(), rusage_ms(libc::RUSAGE_SELF), now)),
            lines: Mutex::new(Vec::new()),
        }
    }

    /// A phase named `name` starts now (nothing when it is the current one).
    fn enter(&self, name: &str) {
        let Ok(mut at) = self.at.lock() else { return };
        if at.0 == name {
            return;
        }
        let (cpu, now) = (rusage_ms(libc::RUSAGE_SELF), Instant::now());
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(format!(
                "  {:<22} cpu {:>7.1} ms  wall {:>7.1} ms",
                at.0,
                cpu - at.1,
                now.duration_since(at.2).as_secs_f64() * 1e3
            ));
        }
        *at = (name.to_string(), cpu, now);
    }

    fn print(&self) {
        self.enter("(end)");
        if let Ok(lines) = self.lines.lock() {
            eprintln!(
                "engine phases (process CPU, wall; {:.0} ms in all):",
                self.start.elapsed().as_secs_f64() * 1e3
            );
            for l in lines.iter() {
                eprintln!("{l}");
            }
        }
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// (ppid, utime + stime, cutime + cstime) of a process, in clock ticks.
fn proc_stat(pid: u32) -> Option<(u32, u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some((u32::try_from(n(1)?).ok()?, n(11)? + n(12)?, n(13)? + n(14)?))
}

/// CPU (ms) the server has used so far: the `serve` process, and with
/// PostgreSQL the postmaster (its own, and its reaped children's) and
/// every live backend.
fn server_cpu_ms(serve: u32, postmaster: Option<u32>) -> f64 {
    let mut ticks = proc_stat(serve).map_or(0, |(_, own, _)| own);
    if let Some(pm) = postmaster {
        if let Some((_, own, reaped)) = proc_stat(pm) {
            ticks += own + reaped;
        }
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if let Some((ppid, own, _)) = proc_stat(pid) {
                if ppid == pm {
                    ticks += own;
                }
            }
        }
    }
    ticks as f64 * 1e3 / clock_ticks()
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

// ------------------------------------------------------------------ engine (child)

/// `sync_bench engine --url URL --token TOKEN --dir DIR`: one
/// `SyncEngine::sync_once` into a fresh store in DIR; prints the pull report.
/// The sync runs on a [`SyncThread`], as the app runs it (its background loop
/// and "Sync now"); with `SYNC_BENCH_MULTI_THREAD` set it runs as a task on a
/// multi-threaded runtime instead (how the app ran it before), for comparison.
fn engine_child() -> Result<()> {
    // The app's process tunes glibc's malloc before anything else
    // (src-tauri's main); the engine arm runs with the same allocator.
    assay_store::heap::tune_allocator();
    let url = arg("--url").context("--url")?;
    let token = arg("--token").context("--token")?;
    let dir = PathBuf::from(arg("--dir").context("--dir")?);
    let clock = std::env::var_os("SYNC_BENCH_PHASES").map(|_| Arc::new(PhaseClock::new()));
    let phases = clock.clone();
    let sync = async move {
        let store = Arc::new(Store::open(&dir)?);
        let client = PlatformClient::new(&url)?.with_token(Token::new(token));
        let engine = SyncEngine::new(client, store, SyncConfig::default());
        if let Some(c) = &phases {
            c.enter("store opened");
        }
        let report = engine
            .sync_once(|p| {
                if let Some(c) = &phases {
                    c.enter(&format!("{:?}", p.phase));
                }
            })
            .await?;
        if let Some(c) = &phases {
            // After `Done`: the queue's index and the memory handed back.
            c.enter("returned");
        }
        anyhow::Ok(report)
    };
    // The caller's runtime only waits, as a Tauri command does.
    let caller = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = if std::env::var_os("SYNC_BENCH_MULTI_THREAD").is_some() {
        caller.block_on(caller.spawn(sync))??
    } else {
        let thread = SyncThread::start()?;
        caller.block_on(thread.spawn(sync))??
    };
    println!("{}", serde_json::to_string(&report.pull)?);
    if let Some(c) = clock {
        c.print();
    }
    Ok(())
}

// ------------------------------------------------------------------ platform

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// A seeded database: where it is, the token, the cluster holding it.
struct Seeded {
    db: String,
    blob_dir: PathBuf,
    token: String,
    cluster: Option<assay_pgtest::Cluster>,
    seed_secs: f64,
}

impl Seeded {
    fn postmaster(&self) -> Option<u32> {
        let c = self.cluster.as_ref()?;
        let pid = std::fs::read_to_string(c.dir().join("data/postmaster.pid")).ok()?;
        pid.lines().next()?.trim().parse().ok()
    }
}

fn seed(
    platform: &Path,
    work: &Path,
    backend: Backend,
    items: usize,
    small: bool,
) -> Result<Seeded> {
    let dir = work.join(format!(
        "{}-{items}",
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "pg",
        }
    ));
    fresh(&dir)?;
    let blob_dir = dir.join("blobs");
    let (db, cluster) = match backend {
        Backend::Sqlite => (dir.join("platform.db").display().to_string(), None),
        Backend::Postgres => {
            let c = assay_pgtest::Cluster::start(&dir.join("cluster"))
                .context("starting a throw-away PostgreSQL cluster")?;
            (c.url(), Some(c))
        }
    };
    let t = Instant::now();
    let mut cmd = Command::new(platform);
    cmd.args(["seed", "--demo", "--db", &db, "--bulk", &items.to_string()])
        .arg("--blob-dir")
        .arg(&blob_dir)
        .env("RUST_LOG", "warn");
    if small {
        cmd.arg("--small");
    }
    eprint!("  {}", output(&mut cmd)?);
    let seed_secs = t.elapsed().as_secs_f64();
    let token = output(
        Command::new(platform)
            .args([
                "token",
                "issue",
                "--db",
                &db,
                "--email",
                "demo@assay.dev",
                "--label",
                "sync_bench",
            ])
            .env("RUST_LOG", "warn"),
    )?
    .trim()
    .to_string();
    ensure!(!token.is_empty(), "token issue printed no token");
    Ok(Seeded {
        db,
        blob_dir,
        token,
        cluster,
        seed_secs,
    })
}

/// A running `assay-platform serve`; interrupted and waited for on drop.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(platform: &Path, seeded: &Seeded, log: PathBuf, trace: bool) -> Result<Self> {
        let port = free_port()?;
        let bind = format!("127.0.0.1:{port}");
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(platform)
            .args(["serve", "--db", &seeded.db, "--bind", &bind])
            .arg("--blob-dir")
            .arg(&seeded.blob_dir)
            .env(
                "RUST_LOG",
                if trace {
                    "warn,tower_http=debug"
                } else {
                    "warn"
                },
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .context("starting assay-platform serve")?;
        let mut server = Self {
            child,
            base: format!("http://{bind}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "assay-platform serve exited with {status}: {}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                bail!("assay-platform serve did not listen within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// The requests the server finished since byte `from` of its log:
    /// (method, URI, status), in order.
    fn requests_since(&self, from: u64) -> Result<Vec<(String, String, u16)>> {
        let mut f = std::fs::File::open(&self.log)?;
        f.seek(SeekFrom::Start(from))?;
        let mut text = String::new();
        f.read_to_string(&mut text)?;
        let field = |line: &str, name: &str| -> Option<String> {
            let i = line.find(name)? + name.len();
            let rest = &line[i..];
            let end = rest.find([' ', '}']).unwrap_or(rest.len());
            Some(rest[..end].to_string())
        };
        let mut out = Vec::new();
        for line in text.lines() {
            let line = strip_ansi(line);
            if !line.contains("finished processing request") {
                continue;
            }
            let (Some(m), Some(u), Some(s)) = (
                field(&line, "method="),
                field(&line, "uri="),
                field(&line, "status="),
            ) else {
                bail!("unexpected trace line: {line}");
            };
            out.push((m, u, s.parse().unwrap_or(0)));
        }
        Ok(out)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signals our own child (serve stops on SIGINT).
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ------------------------------------------------------------------ the two arms

/// One `curl` invocation: its URIs, run serially or `parallel` at most N at once.
struct Phase {
    route: String,
    parallel: usize,
    uris: Vec<String>,
}

/// `/api/v1/items/x?y` -> `items`.
fn route_of(uri: &str) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    path.trim_start_matches("/api/v1/")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string()
}

/// The engine's requests, as the server saw them, grouped into curl phases:
/// the engine's serial steps in one serial curl each, items and attachments
/// at the engine's concurrency.
fn phases(requests: &[(String, String, u16)], config: &SyncConfig) -> Vec<Phase> {
    let mut out: Vec<Phase> = Vec::new();
    for (_, uri, _) in requests {
        let route = route_of(uri);
        let parallel = match route.as_str() {
            "items" => config.item_concurrency.max(1),
            "attachments" => config.attachment_concurrency.max(1),
            _ => 1,
        };
        let key = if parallel > 1 {
            route.clone()
        } else {
            "serial".into()
        };
        match out.last_mut() {
            Some(p) if p.route == key => p.uris.push(uri.clone()),
            _ => out.push(Phase {
                route: key,
                parallel,
                uris: vec![uri.clone()],
            }),
        }
    }
    out
}

/// Writes one curl config per phase; returns the curl command lines.
fn curl_commands(dir: &Path, base: &str, token: &str, phases: &[Phase]) -> Result<Vec<Command>> {
    let mut cmds = Vec::new();
    for (i, p) in phases.iter().enumerate() {
        let mut cfg = String::new();
        cfg.push_str(&format!("header = \"Authorization: Bearer {token}\"\n"));
        cfg.push_str(&format!(
            "user-agent = \"assay/{}\"\n",
            env!("CARGO_PKG_VERSION")
        ));
        for u in &p.uris {
            cfg.push_str(&format!("url = \"{base}{u}\"\noutput = \"/dev/null\"\n"));
        }
        let file = dir.join(format!("curl-{i}-{}.txt", p.route));
        std::fs::write(&file, cfg)?;
        let mut cmd = Command::new("curl");
        cmd.args([
            "--silent",
            "--show-error",
            "--no-progress-meter",
            "--globoff",
        ])
        .args(["--write-out", "%{http_code}\\n"]);
        if p.parallel > 1 {
            cmd.args([
                "--parallel",
                "--parallel-immediate",
                "--parallel-max",
                &p.parallel.to_string(),
            ]);
        }
        cmd.arg("--config").arg(&file);
        cmds.push(cmd);
    }
    Ok(cmds)
}

/// One measured arm: wall ms, client CPU ms, server CPU ms, requests / items.
struct Sample {
    wall: f64,
    cpu: f64,
    server: f64,
    count: usize,
}

fn measure(
    server: &Server,
    postmaster: Option<u32>,
    run: impl FnOnce() -> Result<usize>,
) -> Result<Sample> {
    let s0 = server_cpu_ms(server.pid(), postmaster);
    let c0 = children_cpu_ms();
    let t = Instant::now();
    let count = run()?;
    let wall = t.elapsed().as_secs_f64() * 1e3;
    let cpu = children_cpu_ms() - c0;
    // The server's last writes settle (its CPU clock is read from /proc).
    let server_ms = server_cpu_ms(server.pid(), postmaster) - s0;
    Ok(Sample {
        wall,
        cpu,
        server: server_ms,
        count,
    })
}

/// The engine arm: a fresh store, one `sync_once` in a child process.
/// Returns the items it stored.
fn run_engine(store_dir: &Path, base: &str, token: &str) -> Result<usize> {
    let exe = std::env::current_exe()?;
    let out = output(
        Command::new(exe)
            .args(["engine", "--url", base, "--token", token, "--dir"])
            .arg(store_dir)
            .env("RUST_LOG", "warn"),
    )?;
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).with_context(|| format!("the engine printed {out:?}"))?;
    let errors = report["errors"].as_array().map_or(0, Vec::len);
    ensure!(errors == 0, "the engine's pull reported errors: {report}");
    Ok(report["items"].as_u64().unwrap_or(0) as usize)
}

/// The curl arm: every phase in turn. Returns the transfers it made (all 2xx).
fn run_curl(cmds: &mut [Command]) -> Result<usize> {
    let mut n = 0;
    for cmd in cmds {
        let out = output(cmd)?;
        for code in out.lines() {
            ensure!(code.starts_with('2'), "curl got HTTP {code}");
            n += 1;
        }
    }
    Ok(n)
}

/// Where [`discard`] moves what a run is done with; emptied only when the
/// bench ends.
static TRASH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Moves `dir` (if it exists) into [`TRASH`] instead of deleting it: on an
/// ext4 without a journal (as on this bench's machines) creating a file
/// skips inodes freed in the last minute or more, reading each one's
/// deletion time first, so deleting the last run's store (about 500 files
/// and folders) right before a run made that run's attachments slower and
/// each run slower than the one before (the attachments phase's CPU rose
/// from 220 to 630 ms over 12 pulls that each deleted the previous store,
/// and stayed at 210-250 ms over 12 that deleted nothing). A reviewer's
/// first pull follows no such deletion.
fn discard(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let trash = TRASH.get().context("the trash is set up in main")?;
    std::fs::create_dir_all(trash)?;
    for n in 0u32.. {
        let to = trash.join(n.to_string());
        if !to.exists() {
            std::fs::rename(dir, &to)?;
            return Ok(());
        }
    }
    bail!("no free name in {}", trash.display())
}

fn fresh(dir: &Path) -> Result<()> {
    discard(dir)?;
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// The verified request list both arms make, and the curl commands.
struct Prepared {
    requests: usize,
    items: usize,
    phases: Vec<Phase>,
    dir: PathBuf,
    token: String,
}

/// Runs each arm once against a tracing server: the engine's requests
/// become curl's config, and both request lists must be equal.
fn prepare(platform: &Path, seeded: &Seeded, dir: &Path) -> Result<Prepared> {
    let server = Server::start(platform, seeded, dir.join("serve-trace.log"), true)?;
    let store = dir.join("store");
    fresh(&store)?;
    let items = run_engine(&store, &server.base, &seeded.token)?;
    let engine_reqs = server.requests_since(0)?;
    let config = SyncConfig::default();
    let ph = phases(&engine_reqs, &config);
    let mut curl = curl_commands(dir, &server.base, &seeded.token, &ph)?;
    let mark = server.log_len();
    let curl_n = run_curl(&mut curl)?;
    // The log is written as responses finish; let the last line land.
    std::thread::sleep(Duration::from_millis(200));
    let curl_reqs = server.requests_since(mark)?;
    drop(server);

    let mut by_route: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    for (side, reqs) in [&engine_reqs, &curl_reqs].into_iter().enumerate() {
        for (m, u, s) in reqs {
            ensure!(m == "GET", "unexpected {m} {u}");
            ensure!((200..300).contains(s), "{m} {u} answered {s}");
            by_route.entry(route_of(u)).or_default()[side] += 1;
        }
    }
    println!("  requests as the server saw them (engine | curl), by route:");
    for (r, [e, c]) in &by_route {
        println!("    GET /{r:<14} {e:>6} | {c:>6}");
    }
    println!(
        "    total           {:>6} | {:>6}   (curl counted {curl_n} transfers itself)",
        engine_reqs.len(),
        curl_reqs.len()
    );
    let sorted = |v: &[(String, String, u16)]| {
        let mut u: Vec<String> = v.iter().map(|r| r.1.clone()).collect();
        u.sort();
        u
    };
    ensure!(
        sorted(&engine_reqs) == sorted(&curl_reqs) && curl_n == engine_reqs.len(),
        "the engine and curl did not make the same requests"
    );
    println!(
        "  curl: {} invocation(s): {}",
        ph.len(),
        ph.iter()
            .map(|p| if p.parallel > 1 {
                format!(
                    "{} × {} (--parallel-max {})",
                    p.route,
                    p.uris.len(),
                    p.parallel
                )
            } else {
                format!("{} serial", p.uris.len())
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Prepared {
        requests: engine_reqs.len(),
        items,
        phases: ph,
        dir: dir.to_path_buf(),
        token: seeded.token.clone(),
    })
}

impl Prepared {
    /// curl commands against the (timed) server at `base`.
    fn curl_for(&self, base: &str) -> Result<Vec<Command>> {
        curl_commands(&self.dir, base, &self.token, &self.phases)
    }
}

// ------------------------------------------------------------------ the bench

struct Result3 {
    items: usize,
    requests: usize,
    engine: Vec<Sample>,
    curl: Vec<Sample>,
}

/// Seeds `items`, prepares, then `runs` paired runs; prints each run.
fn bench_size(
    platform: &Path,
    work: &Path,
    backend: Backend,
    items: usize,
    runs: usize,
    small: bool,
) -> Result<Result3> {
    println!(
        "\n{} · {items} bulk assignments · load before {}",
        backend.name(),
        load()
    );
    let seeded = seed(platform, work, backend, items, small)?;
    println!(
        "  seeded in {:.1} s (assay-platform seed --demo --bulk {items}{})",
        seeded.seed_secs,
        if small { " --small" } else { "" }
    );
    let dir = work.join(format!("run-{}-{items}", backend.name()));
    fresh(&dir)?;
    let prep = prepare(platform, &seeded, &dir)?;
    let server = Server::start(platform, &seeded, dir.join("serve.log"), false)?;
    let mut curl = prep.curl_for(&server.base)?;
    let pm = seeded.postmaster();
    let store = dir.join("store");
    let (mut engine, mut curls) = (Vec::new(), Vec::new());
    println!(
        "  run  first  | engine wall ms  cpu ms  server ms | curl wall ms  cpu ms  server ms | load"
    );
    for r in 0..runs {
        let engine_first = r % 2 == 0;
        let l = load();
        let mut pair: [Option<Sample>; 2] = [None, None];
        for side in if engine_first { [0, 1] } else { [1, 0] } {
            let (s, expected, counted) = if side == 0 {
                fresh(&store)?;
                let s = measure(&server, pm, || {
                    run_engine(&store, &server.base, &seeded.token)
                })?;
                (s, prep.items, "items stored by the engine")
            } else {
                let s = measure(&server, pm, || run_curl(&mut curl))?;
                (s, prep.requests, "requests made by curl")
            };
            ensure!(
                s.count == expected,
                "{} {counted}, expected {expected}",
                s.count
            );
            pair[side] = Some(s);
        }
        let [Some(e), Some(c)] = pair else {
            bail!("a run lost an arm");
        };
        println!(
            "  {:>3}  {:6} | {:>14.0} {:>7.0} {:>10.0} | {:>12.0} {:>7.0} {:>10.0} | {l}",
            r + 1,
            if engine_first { "engine" } else { "curl" },
            e.wall,
            e.cpu,
            e.server,
            c.wall,
            c.cpu,
            c.server
        );
        engine.push(e);
        curls.push(c);
    }
    drop(server);
    discard(&store)?;
    drop(seeded);
    Ok(Result3 {
        items: prep.items,
        requests: prep.requests,
        engine,
        curl: curls,
    })
}

fn col(v: &[Sample], f: fn(&Sample) -> f64) -> Vec<f64> {
    v.iter().map(f).collect()
}

fn summary(backend: Backend, r: &Result3) {
    let ratio = |f: fn(&Sample) -> f64| -> Vec<f64> {
        r.engine
            .iter()
            .zip(&r.curl)
            .map(|(e, c)| f(e) / f(c))
            .collect()
    };
    println!(
        "\n  {} summary: {} items stored by the engine, {} requests per arm, {} paired runs",
        backend.name(),
        r.items,
        r.requests,
        r.engine.len()
    );
    println!(
        "  | figure (ms)        | engine median | engine min | curl median | curl min | engine/curl (paired median) |"
    );
    for (name, f) in [
        ("wall", (|s: &Sample| s.wall) as fn(&Sample) -> f64),
        ("client CPU", |s: &Sample| s.cpu),
        ("server CPU", |s: &Sample| s.server),
    ] {
        let (e, c) = (col(&r.engine, f), col(&r.curl, f));
        println!(
            "  | {name:18} | {:>13.0} | {:>10.0} | {:>11.0} | {:>8.0} | {:>26.2}× |",
            median(&e),
            min(&e),
            median(&c),
            min(&c),
            median(&ratio(f))
        );
    }
    let per_req = |v: &[Sample]| median(&col(v, |s| s.server)) * 1e3 / r.requests as f64;
    println!(
        "  server CPU per request: {:.0} µs under the engine, {:.0} µs under curl",
        per_req(&r.engine),
        per_req(&r.curl)
    );
}

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("engine") {
        return engine_child();
    }
    let items: usize = arg("--items").map_or(Ok(10_000), |v| v.parse())?;
    let runs: usize = arg("--runs").map_or(Ok(7), |v| v.parse())?;
    let small = flag("--small");
    let exe = std::env::current_exe()?;
    // target/<profile>/examples/sync_bench
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("where is the target dir?")?
        .to_path_buf();
    let platform =
        arg("--platform").map_or_else(|| profile_dir.join("assay-platform"), PathBuf::from);
    ensure!(
        platform.is_file(),
        "{} not found: build it (cargo build --release -p assay-platform) or pass --platform",
        platform.display()
    );
    let work = profile_dir
        .parent()
        .context("where is the target dir?")?
        .join("bench/sync");
    std::fs::create_dir_all(&work)?;
    // A bench stopped half way left its trash; it goes before anything is
    // timed (the seeding and the traced first pulls come in between).
    let trash = work.join("trash");
    let _ = std::fs::remove_dir_all(&trash);
    TRASH
        .set(trash.clone())
        .map_err(|_| anyhow::anyhow!("the trash was set twice"))?;
    let scaling: Vec<usize> = match arg("--scaling").as_deref() {
        Some("none") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()?,
        None => vec![items / 4, items / 2],
    };
    let backends = match arg("--backend").as_deref() {
        None | Some("both") => vec![Backend::Sqlite, Backend::Postgres],
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") => vec![Backend::Postgres],
        Some(b) => bail!("--backend {b}: both, sqlite or postgres"),
    };
    let curl_version = output(Command::new("curl").arg("--version"))?;
    println!(
        "sync_bench: engine (SyncEngine::sync_once into a fresh store, child process) vs {} \
         making the same requests; {} cores; {} paired runs; load before {}",
        curl_version.lines().next().unwrap_or("curl").trim(),
        cores(),
        runs,
        load()
    );
    let config = SyncConfig::default();
    println!(
        "engine concurrency: items {}, attachments {}; page size {}",
        config.item_concurrency, config.attachment_concurrency, config.page_size
    );
    let mut results = Vec::new();
    for backend in backends {
        let r = match bench_size(&platform, &work, backend, items, runs, small) {
            Ok(r) => r,
            Err(e) if backend == Backend::Postgres && is_no_postgres(&e) => {
                println!("\nPostgreSQL skipped: {e:#}");
                continue;
            }
            Err(e) => return Err(e),
        };
        summary(backend, &r);
        let mut scale = Vec::new();
        for &n in &scaling {
            scale.push(bench_size(&platform, &work, backend, n, 1, small)?);
        }
        scale.push(r);
        results.push((backend, scale));
    }
    println!("\nscaling: server CPU per item stays flat when the work grows linearly");
    println!(
        "  | backend    | bulk items | requests | engine wall ms | server CPU ms (engine) | per request µs | curl wall ms | server CPU ms (curl) | per request µs |"
    );
    for (backend, scale) in &results {
        for r in scale {
            let es = median(&col(&r.engine, |s| s.server));
            let cs = median(&col(&r.curl, |s| s.server));
            println!(
                "  | {:10} | {:>10} | {:>8} | {:>14.0} | {:>22.0} | {:>14.0} | {:>12.0} | {:>20.0} | {:>14.0} |",
                backend.name(),
                r.items,
                r.requests,
                median(&col(&r.engine, |s| s.wall)),
                es,
                es * 1e3 / r.requests as f64,
                median(&col(&r.curl, |s| s.wall)),
                cs,
                cs * 1e3 / r.requests as f64,
            );
        }
    }
    println!("load after {}", load());
    // Deleted only now, when nothing is timed any more (see `discard`).
    let _ = std::fs::remove_dir_all(&trash);
    Ok(())
}

fn is_no_postgres(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<assay_pgtest::Error>().is_some())
}
