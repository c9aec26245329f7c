//! Shared by the app's benchmarks: a store filled the way a reviewer's is,
//! by the real sync engine pulling from a seeded reference platform (the demo
//! seed plus `bulk` assignments on copies of the demo items), and the
//! statistics every benchmark prints (median and min over paired runs, CPU
//! and wall, machine load).

#![allow(dead_code)] // each example uses part of it

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use assay_platform::demo;
use assay_platform::{spawn_with_storage, BlobStore, ServerConfig, SqliteStorage};
use assay_store::Store;
use assay_sync::{PlatformClient, SyncConfig, SyncEngine, Token};
use chrono::Utc;

/// Fills `store` by syncing from a freshly seeded platform with `bulk`
/// extra assignments. Returns the number of items the pull stored.
pub async fn sync_seeded(store: Arc<Store>, bulk: usize) -> anyhow::Result<u32> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("platform.db");
    let blob_dir = dir.path().join("blobs");
    let storage = SqliteStorage::open(&db)?;
    let now = Utc::now();
    demo::seed_small_with_bulk(&storage, &BlobStore::new(blob_dir.clone()), bulk, now)?;
    let token =
        assay_platform::issue_token_blocking(&storage, demo::DEMO_EXPERT_ID, Some("bench"), now)?;
    let mut config = ServerConfig::new(db, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.blob_dir = Some(blob_dir);
    let server = spawn_with_storage(config, Arc::new(storage)).await?;
    let client = PlatformClient::new(&server.base_url())?.with_token(Token::new(token.token));
    let engine = SyncEngine::new(client, store, SyncConfig::default());
    let report = engine.pull(|_| {}).await?;
    server.shutdown().await?;
    Ok(report.items)
}

/// CPU time of the calling thread in ns (Linux schedstat; 0 elsewhere).
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The 1, 5 and 15 minute load averages.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
}

/// `--name VALUE` from the command line, or `default`.
pub fn arg(name: &str, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args
            .get(i + 1)
            .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?
            .parse()?),
        None => Ok(default),
    }
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

pub fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// "median X min Y" of `v`, each written by `show`.
pub fn spread(v: &[f64], show: impl Fn(f64) -> String) -> String {
    format!("median {} min {}", show(median(v)), show(min(v)))
}

/// The `q`-quantile (0..=1) of `v` (nearest rank).
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

/// Per-run samples of one measured arm.
#[derive(Default)]
pub struct Arm {
    pub wall: Vec<f64>,
    pub cpu: Vec<f64>,
}

impl Arm {
    pub fn push(&mut self, wall: f64, cpu: f64) {
        self.wall.push(wall);
        self.cpu.push(cpu);
    }

    pub fn line(&self, label: &str, unit: &str) -> String {
        format!(
            "{label:44} wall median {:9.1} {unit} min {:9.1} {unit} | cpu median {:9.1} {unit} min {:9.1} {unit} ({} runs)",
            median(&self.wall),
            min(&self.wall),
            median(&self.cpu),
            min(&self.cpu),
            self.wall.len()
        )
    }
}

/// Prints one [`Arm::line`] per `(arm, label)`, in that order, all in `unit`.
pub fn print_arms(unit: &str, arms: &[(&Arm, &str)]) {
    for (arm, label) in arms {
        println!("{}", arm.line(label, unit));
    }
}
