//! Integration tests of assay-store.

#[path = "../src/crash_harness.rs"]
#[allow(dead_code)]
mod crash_harness;

mod crash {
    use std::time::Duration;

    /// Kill a grading child 25 times at random points; every acknowledged
    /// draft and submission must survive each restart, with no duplicates.
    /// (The ≥1,000-kill version: `cargo run -p assay-store --release --bin crash-soak`.)
    #[test]
    fn sigkill_never_loses_acknowledged_writes() {
        let dir = tempfile::tempdir().unwrap();
        let child = std::path::Path::new(env!("CARGO_BIN_EXE_crash-child"));
        let report =
            super::crash_harness::run(child, dir.path(), 25, 42, Duration::from_millis(60))
                .unwrap();
        eprintln!("{report:?}");
        assert_eq!(report.kills, 25);
        assert!(report.acked_drafts > 0, "{report:?}");
        assert!(report.acked_submissions > 0, "{report:?}");
    }
}
