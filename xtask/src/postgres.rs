//! `cargo xtask test`'s PostgreSQL step: the platform's whole test suite
//! again, on a throw-away cluster under `target/` (see `assay-pgtest`:
//! initdb + `pg_ctl` on a free loopback port, as an unprivileged user when run
//! as root), removed afterwards whatever the outcome.

use std::path::Path;

use anyhow::{Context, Result};

/// Debian package with PostgreSQL's server programs.
pub(crate) const PACKAGE: &str = "postgresql";

/// The environment variable test platforms read (`assay_platform::testing::TEST_POSTGRES_ENV`).
const TEST_POSTGRES_ENV: &str = "ASSAY_TEST_POSTGRES_URL";

/// Run `cargo test -p assay-platform` with every test platform on PostgreSQL.
pub(crate) fn platform_tests(root: &Path) -> Result<()> {
    crate::ensure_packages(&[PACKAGE])?;
    crate::step("starting a throw-away PostgreSQL cluster under target/");
    let dir = crate::target_dir(root).join(format!("pg-test-{}", std::process::id()));
    let cluster =
        assay_pgtest::Cluster::start(&dir).context("starting a throw-away PostgreSQL cluster")?;
    eprintln!(
        "PostgreSQL at {} ({})",
        cluster.url(),
        cluster.dir().display()
    );
    crate::step("platform tests on PostgreSQL");
    let result = crate::run(
        crate::cargo()
            .args(["test", "-p", "assay-platform"])
            .env(TEST_POSTGRES_ENV, cluster.url()),
    );
    // Stops the server and deletes its directory.
    drop(cluster);
    result
}
