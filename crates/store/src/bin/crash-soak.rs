//! Crash soak: SIGKILL `crash-child` at random points many times and verify
//! after each restart that nothing acknowledged was lost or duplicated.
//!
//! `cargo run -p assay-store --release --bin crash-soak -- --kills 1000`
//! (builds `crash-child` alongside; optional `--seed N`, `--max-delay-ms N`).

#[path = "../crash_harness.rs"]
mod crash_harness;

use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let kills: u32 = arg(&args, "--kills")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1000);
    let seed: u64 = arg(&args, "--seed")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(0x5eed);
    let max_delay_ms: u64 = arg(&args, "--max-delay-ms")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(40);
    let exe = std::env::current_exe()?;
    let child = exe.with_file_name(format!("crash-child{}", std::env::consts::EXE_SUFFIX));
    if !child.is_file() {
        anyhow::bail!(
            "{} not found; build it first (cargo build -p assay-store --release --bins)",
            child.display()
        );
    }
    let dir = tempfile_dir()?;
    let started = Instant::now();
    let report = crash_harness::run(
        &child,
        &dir,
        kills,
        seed,
        Duration::from_millis(max_delay_ms),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "crash-soak OK: {} SIGKILLs in {:.1?}; {} acknowledged draft saves and {} acknowledged \
         submissions all present after restart; {} outbox entries, no duplicates (seed {seed})",
        report.kills,
        started.elapsed(),
        report.acked_drafts,
        report.acked_submissions,
        report.outbox_entries
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("assay-crash-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
