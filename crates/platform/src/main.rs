//! `assay-platform`: run the reference platform, seed demo data, issue tokens,
//! print the OpenAPI document.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use assay_platform::{demo, storage, BlobStore, ServerConfig};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "assay-platform",
    version,
    about = "Assay reference platform server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// A SQLite file (created if missing; the default kind) or a
        /// `postgres://user@host:port/db` URL (several servers may share one).
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8787")]
        bind: SocketAddr,
        /// Blob directory (default: next to a SQLite database; required with
        /// PostgreSQL, shared by every server of the team).
        #[arg(long)]
        blob_dir: Option<PathBuf>,
        /// Enables /api/v1/admin/* with this bearer token.
        #[arg(long)]
        admin_token: Option<String>,
        /// Demo: decide submissions automatically after N seconds.
        #[arg(long)]
        demo_auto_review_secs: Option<u64>,
        /// Lease length in minutes.
        #[arg(long, default_value_t = 240)]
        lease_minutes: i64,
        /// Serves Assay's signed updates from this directory (its
        /// manifest.json and the artefacts it names; see `publish-update`).
        #[arg(long)]
        updates_dir: Option<PathBuf>,
    },
    /// Publish a signed Assay package as an update: copies it into the
    /// updates directory and writes manifest.json (URL, size, SHA-256,
    /// signature) for one target.
    PublishUpdate {
        /// The directory `serve --updates-dir` serves.
        #[arg(long)]
        dir: PathBuf,
        /// The platform's public base URL (the artefact's URL is below it).
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        version: String,
        #[arg(long, default_value = "")]
        notes: String,
        /// e.g. linux-x86_64-deb, linux-x86_64-rpm.
        #[arg(long)]
        target: String,
        /// The package (.deb/.rpm).
        #[arg(long)]
        artefact: PathBuf,
        /// Its `.sig` from `tauri signer sign` (base64 text).
        #[arg(long)]
        signature: PathBuf,
    },
    /// Write demo data into an empty database.
    Seed {
        #[arg(long)]
        demo: bool,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        blob_dir: Option<PathBuf>,
        /// Small scans (fast; for tests).
        #[arg(long)]
        small: bool,
        /// Also give the demo reviewer N more assignments, each on a copy of
        /// a demo item (a large, realistic queue for benchmarks).
        #[arg(long, default_value_t = 0)]
        bulk: usize,
    },
    /// Token management.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    #[command(flatten)]
    Remote(assay_platform::cli::RemoteCommand),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token for an expert and print it.
    Issue {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        email: String,
        #[arg(long)]
        label: Option<String>,
        /// expert, author or operator.
        #[arg(long, default_value = "expert")]
        role: String,
    },
}

fn blob_dir_for(db: &std::path::Path, explicit: Option<PathBuf>) -> PathBuf {
    let mut c = ServerConfig::new(db, SocketAddr::from(([127, 0, 0, 1], 0)));
    c.blob_dir = explicit;
    c.blob_dir()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            db,
            bind,
            blob_dir,
            admin_token,
            demo_auto_review_secs,
            lease_minutes,
            updates_dir,
        } => {
            let mut config = ServerConfig::new(db, bind);
            anyhow::ensure!(
                blob_dir.is_some() || config.postgres_url().is_none(),
                "--blob-dir is required with a PostgreSQL database"
            );
            config.blob_dir = blob_dir;
            config.admin_token = admin_token;
            config.demo_auto_review = demo_auto_review_secs.map(std::time::Duration::from_secs);
            config.lease_ttl = chrono::Duration::minutes(lease_minutes.max(1));
            config.updates_dir = updates_dir;
            let server = assay_platform::spawn(config)
                .await
                .context("starting the server")?;
            eprintln!("assay-platform listening on {}", server.base_url());
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            eprintln!("shutting down");
            server.shutdown().await?;
        }
        Command::PublishUpdate {
            dir,
            base_url,
            version,
            notes,
            target,
            artefact,
            signature,
        } => {
            let sig = std::fs::read_to_string(&signature)
                .with_context(|| format!("reading {}", signature.display()))?;
            let m = assay_platform::updates::write_manifest(
                &dir, &base_url, &version, &notes, &target, &artefact, &sig,
            )
            .context("publishing the update")?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        Command::Seed {
            demo: is_demo,
            db,
            blob_dir,
            small,
            bulk,
        } => {
            anyhow::ensure!(is_demo, "only `seed --demo` is supported");
            // Storage calls block (PostgreSQL runs its own runtime).
            tokio::task::spawn_blocking(move || seed(&db, blob_dir, small, bulk)).await??;
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    db,
                    email,
                    label,
                    role,
                },
        } => {
            let token = tokio::task::spawn_blocking(move || issue_token(&db, &email, label, &role))
                .await??;
            println!("{token}");
        }
        Command::Openapi => {
            print!("{}", assay_platform::openapi::openapi_json()?);
        }
        Command::Remote(command) => {
            // The platform's refusal (with every lint finding or bad line) is
            // the message; no backtrace.
            if let Err(e) = assay_platform::cli::run(command, &mut std::io::stdout().lock()).await {
                eprintln!("assay-platform: {e}");
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// `seed --demo`.
fn seed(
    db: &std::path::Path,
    blob_dir: Option<PathBuf>,
    small: bool,
    bulk: usize,
) -> anyhow::Result<()> {
    let storage = storage::open(db).context("opening the database")?;
    let blobs = BlobStore::new(blob_dir_for(db, blob_dir));
    let options = if small {
        demo::SeedOptions::small()
    } else {
        demo::SeedOptions::full()
    };
    let s = demo::seed_demo(storage.as_ref(), &blobs, options, chrono::Utc::now())?;
    println!(
                "seeded {} opportunities, {} items, {} blobs; {} active assignments, {} screening tasks and {} senior reviews for {} (password {:?}); {} past submissions, {} payouts",
                s.opportunities, s.items, s.blobs, s.active_grade_assignments,
                s.screening_assignments, s.senior_review_assignments, demo::DEMO_EMAIL, demo::DEMO_PASSWORD,
                s.past_submissions, s.payouts
            );
    if bulk > 0 {
        let b = demo::seed_bulk(storage.as_ref(), &s, bulk, chrono::Utc::now())?;
        println!(
            "seeded {} more assignments on copies of the demo items",
            b.items.len()
        );
    }
    Ok(())
}

/// `token issue`: the new token.
fn issue_token(
    db: &std::path::Path,
    email: &str,
    label: Option<String>,
    role: &str,
) -> anyhow::Result<String> {
    let role = assay_platform::auth::Role::parse(role)
        .with_context(|| format!("unknown role {role:?}: use expert, author or operator"))?;
    let storage = storage::open(db).context("opening the database")?;
    let expert = storage
        .expert_id_by_email(email)?
        .with_context(|| format!("no expert with e-mail {email}"))?;
    let t = assay_platform::issue_role_token_blocking(
        storage.as_ref(),
        &expert,
        Some(label.as_deref().unwrap_or("cli")),
        role,
        chrono::Utc::now(),
    )?;
    Ok(t.token)
}
