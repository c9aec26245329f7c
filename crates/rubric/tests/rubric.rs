//! Integration tests of assay-rubric: fixtures in all three formats, the
//! `assay` binary, scoping leaks and property tests.

mod rubric {
    mod cli;
    mod fixtures;
    mod props;
}

use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}
