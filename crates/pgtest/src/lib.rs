//! A throw-away PostgreSQL cluster for tests and benchmarks: `initdb` into a
//! private directory, `pg_ctl start` on a free loopback port with its socket
//! in that directory, trust authentication for the superuser `assay`, and
//! stop + delete on drop. No system service, no configuration outside the
//! directory.
//!
//! PostgreSQL refuses to run as root. Run as root, the cluster belongs to a
//! dedicated unprivileged system user ([`SERVICE_USER`], created when
//! missing) and the server programs run through `runuser`; the directory
//! must then be reachable by that user (else a private directory under the
//! system temp dir is used instead, and [`Cluster::dir`] says where).
//!
//! Also shared by the tests: [`process`] (child processes), [`migrations`]
//! (embedded migration checks) and [`relay`] (a raw HTTP/1.1 relay for test
//! proxies).
//!
//! ```no_run
//! let cluster = assay_pgtest::Cluster::start(std::path::Path::new("target/pg")).unwrap();
//! println!("{}", cluster.url()); // postgres://assay@127.0.0.1:PORT/postgres
//! ```

pub mod migrations;
pub mod process;
pub mod relay;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The unprivileged user owning clusters started as root.
pub const SERVICE_USER: &str = "assay-pgtest";

/// Superuser of the cluster (trust authentication on loopback only).
pub const SUPERUSER: &str = "assay";

/// Why a cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// PostgreSQL's server programs are not installed (or not on `PG_BIN`).
    #[error(
        "PostgreSQL's server programs (initdb, pg_ctl) were not found; install Debian's \
         `postgresql` package (cargo xtask test does) or set PG_BIN"
    )]
    NotInstalled,
    /// A server program (`initdb`, `pg_ctl`, ...) exited with an error.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command line that failed.
        command: String,
        /// Its exit status and output.
        detail: String,
    },
    /// A file or process operation failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// A running throw-away cluster; stopped and deleted when dropped.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    owner: Option<String>,
}

/// Where PostgreSQL's server programs are: `$PG_BIN`, else the newest
/// `/usr/lib/postgresql/N/bin` (Debian), else the directory of `initdb` on `PATH`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("initdb").is_file() && p.join("pg_ctl").is_file())
    })
}

fn is_root() -> bool {
    // `Uid:` lists the real, effective, saved and file-system user ids.
    process::self_status("Uid").is_some_and(|ids| ids.get(1).is_some_and(|euid| euid == "0"))
}

fn check(command: &str, out: Output) -> Result<Output, Error> {
    if out.status.success() {
        return Ok(out);
    }
    Err(Error::Command {
        command: command.to_owned(),
        detail: format!(
            "{}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

fn run_plain(program: &str, args: &[&str]) -> Result<Output, Error> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    check(&format!("{program} {}", args.join(" ")), out)
}

/// Create [`SERVICE_USER`] if it does not exist (root only).
fn ensure_service_user() -> Result<(), Error> {
    let exists = Command::new("id")
        .arg(SERVICE_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if exists {
        return Ok(());
    }
    match run_plain(
        "useradd",
        &[
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            SERVICE_USER,
        ],
    ) {
        Ok(_) => Ok(()),
        // Another process created it meanwhile.
        Err(e)
            if Command::new("id")
                .arg(SERVICE_USER)
                .output()?
                .status
                .success() =>
        {
            let _ = e;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Whether every ancestor of `dir` lets other users through (`o+x`).
fn reachable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .skip(1)
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

impl Cluster {
    /// `initdb` a new cluster in `dir` (which must not exist or be empty)
    /// and start it. Blocking; takes a few seconds.
    pub fn start(dir: &Path) -> Result<Self, Error> {
        let bin = bin_dir().ok_or(Error::NotInstalled)?;
        let root = is_root();
        let mut dir = std::path::absolute(dir)?;
        let owner = if root {
            ensure_service_user()?;
            if !reachable_by_others(&dir) {
                dir = std::env::temp_dir().join(format!(
                    "assay-pgtest-{}-{}",
                    std::process::id(),
                    dir.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("cluster")
                ));
            }
            Some(SERVICE_USER.to_owned())
        } else {
            None
        };
        std::fs::create_dir_all(&dir)?;
        let mut cluster = Self {
            dir,
            bin,
            port: 0,
            owner,
        };
        if let Some(owner) = &cluster.owner {
            let d = cluster.dir.to_string_lossy().into_owned();
            run_plain("chown", &[&format!("{owner}:"), &d])?;
        }
        let data = cluster.dir.join("data");
        let data_s = data.to_string_lossy().into_owned();
        cluster.pg(
            "initdb",
            &[
                "-D",
                &data_s,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        // A port that was free a moment ago may be taken by the time the
        // server binds it: try a few.
        let mut last = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => return Ok(cluster),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(Error::NotInstalled))
    }

    fn pg_ctl_start(&self) -> Result<(), Error> {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.join("data").display()
        );
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
            ],
        )
        .map(drop)
        .map_err(|e| match e {
            Error::Command { command, detail } => Error::Command {
                command,
                detail: format!(
                    "{detail}\nserver log:\n{}",
                    std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
                ),
            },
            other => other,
        })
    }

    /// Run one of PostgreSQL's programs as the cluster's owner.
    fn pg(&self, program: &str, args: &[&str]) -> Result<Output, Error> {
        let exe = self.bin.join(program);
        let mut cmd = match &self.owner {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()?;
        check(&format!("{program} {}", args.join(" ")), out)
    }

    /// URL of the cluster's `postgres` database as [`SUPERUSER`].
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the cluster (data, socket, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        if self.port != 0 {
            if let Err(e) = self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]) {
                eprintln!("stopping the test PostgreSQL cluster: {e}");
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("removing {}: {e}", self.dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_answers_and_is_removed() {
        if bin_dir().is_none() && std::env::var_os("CI").is_none() {
            eprintln!("PostgreSQL is not installed; skipping (CI fails instead)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("pgtest-selftest-{}", std::process::id()));
        let cluster = Cluster::start(&dir).unwrap();
        let where_ = cluster.dir().to_path_buf();
        assert!(where_.join("data/PG_VERSION").is_file());
        let ready = Command::new(cluster.bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &cluster.port().to_string()])
            .status()
            .unwrap();
        assert!(ready.success());
        assert!(cluster.url().contains(&cluster.port().to_string()));
        drop(cluster);
        assert!(!where_.exists(), "the cluster's directory is removed");
    }
}
