//! Helpers for other crates' tests: a seeded platform on `127.0.0.1:0` in a
//! temporary directory, with an expert token and the admin token.
//!
//! ```no_run
//! # async fn t() -> Result<(), assay_platform::Error> {
//! let p = assay_platform::testing::start_seeded().await?;
//! let url = p.api_url("/assignments"); // http://127.0.0.1:PORT/api/v1/assignments
//! // ... call it with `Authorization: Bearer {p.expert_token}`
//! p.shutdown().await?;
//! # Ok(()) }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::Utc;

use crate::demo::{self, SeedOptions, SeedSummary};
use crate::error::Error;
use crate::server::{spawn_with_storage, RunningServer, ServerConfig};
use crate::storage::Storage;
use crate::BlobStore;

/// Admin token of test servers.
pub const TEST_ADMIN_TOKEN: &str = "assay-test-admin-token";

/// Names a PostgreSQL server (`postgres://user@host:port/db`, or with
/// `?host=/socket/dir`) to run test platforms on; each platform gets a fresh
/// database of its own there. Unset: test platforms use SQLite files.
/// `cargo xtask test` runs the platform's tests once per backend.
pub const TEST_POSTGRES_ENV: &str = "ASSAY_TEST_POSTGRES_URL";

/// The database a new test platform uses: a fresh PostgreSQL database when
/// [`TEST_POSTGRES_ENV`] is set, else `platform.db` in `dir`.
pub async fn test_database(dir: &std::path::Path) -> Result<std::path::PathBuf, Error> {
    match std::env::var(TEST_POSTGRES_ENV) {
        Ok(server) if !server.trim().is_empty() => {
            let name = format!("assay_test_{}", uuid::Uuid::new_v4().simple());
            let url = tokio::task::spawn_blocking(move || {
                crate::storage::PostgresStorage::create_database(&server, &name)
            })
            .await
            .map_err(|e| Error::Io(std::io::Error::other(e)))??;
            Ok(std::path::PathBuf::from(url))
        }
        _ => Ok(dir.join("platform.db")),
    }
}

/// Options of [`start_seeded_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TestOptions {
    /// Enable demo auto-review with this delay.
    pub auto_review: Option<Duration>,
    /// Full-size scans (slower) instead of the small test seed.
    pub full_seed: bool,
}

/// A running, seeded test platform. Dropping it without `shutdown` aborts
/// nothing in flight but deletes its directory when the runtime ends.
pub struct TestPlatform {
    /// The running server.
    pub server: RunningServer,
    /// Token of the demo reviewer (`demo@assay.dev`).
    pub expert_token: String,
    /// The admin token (acts as operator).
    pub admin_token: String,
    /// What the demo seed created.
    pub summary: SeedSummary,
    /// The "now" the demo data was seeded relative to.
    pub seeded_at: chrono::DateTime<Utc>,
    dir: tempfile::TempDir,
}

/// The accessors of a running test platform (`server` and `dir` fields).
macro_rules! running_platform {
    ($platform:ty) => {
        impl $platform {
            /// `http://127.0.0.1:PORT`.
            pub fn base_url(&self) -> String {
                self.server.base_url()
            }

            /// Full URL of an API path, e.g. `api_url("/me")`.
            pub fn api_url(&self, path: &str) -> String {
                format!(
                    "{}{}{path}",
                    self.server.base_url(),
                    assay_protocol::API_PREFIX
                )
            }

            /// Directory holding the database and blobs.
            pub fn dir(&self) -> &std::path::Path {
                self.dir.path()
            }

            /// Stops the server and waits for it and its background tasks.
            pub async fn shutdown(self) -> Result<(), Error> {
                self.server.shutdown().await
            }
        }
    };
}

running_platform!(TestPlatform);

/// A running platform with an empty database (no demo data) and the admin
/// token: the starting point of a real deployment.
pub struct EmptyPlatform {
    /// The running server.
    pub server: RunningServer,
    /// The admin token (acts as operator).
    pub admin_token: String,
    dir: tempfile::TempDir,
}

running_platform!(EmptyPlatform);

/// Start a platform on an empty database.
pub async fn start_empty() -> Result<EmptyPlatform, Error> {
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(
        test_database(dir.path()).await?,
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    );
    config.blob_dir = Some(dir.path().join("blobs"));
    config.admin_token = Some(TEST_ADMIN_TOKEN.to_owned());
    let server = crate::server::spawn(config).await?;
    Ok(EmptyPlatform {
        server,
        admin_token: TEST_ADMIN_TOKEN.to_owned(),
        dir,
    })
}

/// Start a seeded platform with default options.
pub async fn start_seeded() -> Result<TestPlatform, Error> {
    start_seeded_with(TestOptions::default()).await
}

/// Start a seeded platform.
pub async fn start_seeded_with(options: TestOptions) -> Result<TestPlatform, Error> {
    let dir = tempfile::tempdir()?;
    let db_path = test_database(dir.path()).await?;
    let blob_dir = dir.path().join("blobs");
    let now = Utc::now();
    let (storage, summary, expert_token) = {
        let (db_path, blob_dir) = (db_path.clone(), blob_dir.clone());
        tokio::task::spawn_blocking(move || -> Result<_, Error> {
            let storage = crate::storage::open(&db_path)?;
            let blobs = BlobStore::new(blob_dir);
            let seed = if options.full_seed {
                SeedOptions::full()
            } else {
                SeedOptions::small()
            };
            let summary = demo::seed_demo(storage.as_ref(), &blobs, seed, now)?;
            let token = crate::issue_token_blocking(
                storage.as_ref(),
                demo::DEMO_EXPERT_ID,
                Some("test"),
                now,
            )?;
            Ok((storage, summary, token.token))
        })
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))??
    };
    let mut config = ServerConfig::new(db_path, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.blob_dir = Some(blob_dir);
    config.admin_token = Some(TEST_ADMIN_TOKEN.to_owned());
    config.demo_auto_review = options.auto_review;
    let storage: std::sync::Arc<dyn Storage> = storage;
    let server = spawn_with_storage(config, storage).await?;
    Ok(TestPlatform {
        server,
        expert_token,
        admin_token: TEST_ADMIN_TOKEN.to_owned(),
        summary,
        seeded_at: now,
        dir,
    })
}
