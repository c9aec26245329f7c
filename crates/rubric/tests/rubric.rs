//! Integration tests of assay-rubric: fixtures in all three formats, the
//! `assay` binary, scoping leaks and property tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

mod rubric {
    mod cli;
    mod fixtures;
    mod props;
}

use std::path::{Path, PathBuf};

/// Path of `name` under this crate's `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Path of `name` under this crate's `examples` (the shipped example rubrics).
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}
