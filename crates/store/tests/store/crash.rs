//! The crash harness against the real `crash-child` binary.

use std::time::{Duration, Instant};

/// Kill a grading child 25 times at random points; every acknowledged
/// draft and submission must survive each restart, with no duplicates.
#[test]
fn sigkill_never_loses_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let child = std::path::Path::new(env!("CARGO_BIN_EXE_crash-child"));
    let report = crate::support::run(child, dir.path(), 25, 42, Duration::from_millis(60)).unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.kills, 25);
    assert!(report.acked_drafts > 0, "{report:?}");
    assert!(report.acked_submissions > 0, "{report:?}");
}

/// The crash soak: the same as above with (by default) 1,000 kills.
/// `cargo test -p assay-store --release --test store -- --ignored crash_soak --nocapture`
/// (optional `ASSAY_CRASH_KILLS`, `ASSAY_CRASH_SEED`, `ASSAY_CRASH_MAX_DELAY_MS`).
#[test]
#[ignore = "long: run on demand (see the doc comment)"]
fn crash_soak() {
    let var = |name: &str, default: u64| -> u64 {
        std::env::var(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|e| panic!("{name}={v:?} is not a number: {e}"))
        })
    };
    let kills = u32::try_from(var("ASSAY_CRASH_KILLS", 1000)).expect("ASSAY_CRASH_KILLS");
    let seed = var("ASSAY_CRASH_SEED", 0x5eed);
    let max_delay_ms = var("ASSAY_CRASH_MAX_DELAY_MS", 40);
    let dir = tempfile::tempdir().unwrap();
    let child = std::path::Path::new(env!("CARGO_BIN_EXE_crash-child"));
    let started = Instant::now();
    let report = crate::support::run(
        child,
        dir.path(),
        kills,
        seed,
        Duration::from_millis(max_delay_ms),
    )
    .unwrap();
    assert_eq!(report.kills, kills);
    println!(
        "crash-soak OK: {} SIGKILLs in {:.1?}; {} acknowledged draft saves and {} acknowledged \
         submissions all present after restart; {} outbox entries, no duplicates (seed {seed})",
        report.kills,
        started.elapsed(),
        report.acked_drafts,
        report.acked_submissions,
        report.outbox_entries
    );
}
