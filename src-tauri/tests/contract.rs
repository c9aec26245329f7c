//! The UI's contract module (`ui/src/lib/bindings/index.ts`) is generated
//! from the table of commands and events and the Rust types it reaches:
//! this fails while the committed module is stale, or while the folder
//! holds any file the contract does not generate (an orphan).
//! `cargo xtask bindings` runs it with `ASSAY_WRITE_BINDINGS=1`, which
//! writes the module and removes everything else in the folder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::path::{Path, PathBuf};

use assay_desktop::contract::{module, MODULE_PATH};

fn module_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(MODULE_PATH)
}

fn others(dir: &Path, keep: &Path) -> Vec<PathBuf> {
    let keep = keep.file_name().unwrap();
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.file_name() != Some(keep))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn contract_is_fresh() {
    let generated = module().unwrap();
    let path = module_path();
    let dir = path.parent().unwrap().to_path_buf();
    if std::env::var_os("ASSAY_WRITE_BINDINGS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for orphan in others(&dir, &path) {
            if orphan.is_dir() {
                std::fs::remove_dir_all(&orphan).unwrap();
            } else {
                std::fs::remove_file(&orphan).unwrap();
            }
        }
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{MODULE_PATH} is stale: run `cargo xtask bindings` and commit it"
    );
    let orphans = others(&dir, &path);
    assert!(
        orphans.is_empty(),
        "files the contract does not generate in {}: {orphans:?}; run `cargo xtask bindings`",
        dir.display()
    );
}

/// The module declares every type once and only what the contract reaches.
#[test]
fn module_declares_each_type_once() {
    let generated = module().unwrap();
    let mut names = std::collections::BTreeMap::<&str, usize>::new();
    for line in generated.lines() {
        if let Some(rest) = line.strip_prefix("export type ") {
            let name = rest.split([' ', '<', '=']).next().unwrap();
            *names.entry(name).or_default() += 1;
        }
    }
    for (name, n) in &names {
        assert_eq!(*n, 1, "{name} declared {n} times");
    }
    for needed in ["AppError", "ErrorCode", "Rules", "OpenedItem", "SyncState"] {
        assert!(names.contains_key(needed), "{needed} missing");
    }
    assert!(generated.contains("export interface Commands"));
    assert!(
        generated.contains("earningsOverview(query: EarningsQuery): Promise<EarningsOverview>;")
    );
    assert!(generated.contains("\"review_feedback_min_chars\": 10"));
}
