//! The publishing commands of `assay-platform` (`expert add`, `rubric
//! publish`, `opportunity publish`, `import`, `assign`, `export`). They talk
//! to a running platform over its HTTP API with a role token, so they work
//! the same for a laptop and for a team server. Tests run them in-process
//! through [`RemoteCli`], with the same arguments the README shows.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use assay_protocol::ApiError;
use clap::{Args, Parser, Subcommand};
use sha2::{Digest, Sha256};

use crate::auth::Role;
use crate::publish::{
    AssignItemRequest, AttachmentStored, CreateExpertRequest, ExpertCreated, ExportPage,
    ImportLine, ImportReport, PolicyAssigned, PublishedOpportunity, RubricFinding, RubricPublished,
};

/// Failure of a publishing command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The request did not reach the platform or its answer could not be read.
    #[error("cannot reach the platform: {0}")]
    Http(#[from] reqwest::Error),
    /// The platform refused the request; `report` has the details rendered.
    #[error("the platform refused ({status}): {message}{report}")]
    Api {
        /// HTTP status of the answer.
        status: u16,
        /// The platform's message.
        message: String,
        /// Details from the answer (lint findings, bad import lines), one per line; empty when none.
        report: String,
        /// The whole error body as the platform sent it.
        error: ApiError,
    },
    /// A file named on the command line cannot be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file named on the command line.
        path: String,
        /// Why it cannot be used.
        message: String,
    },
    /// Arguments that cannot work together, in words.
    #[error("{0}")]
    Usage(String),
    /// Writing the output (stdout or `--out`) failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

fn file_err(path: &Path, message: impl std::fmt::Display) -> CliError {
    CliError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Where the platform is and which token to use.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Platform base URL.
    #[arg(
        long,
        env = "ASSAY_PLATFORM_URL",
        default_value = "http://127.0.0.1:8787"
    )]
    pub server: String,
    /// Bearer token (operator or author; the server's admin token acts as operator).
    #[arg(long, env = "ASSAY_PLATFORM_TOKEN", hide_env_values = true)]
    pub token: String,
}

/// The publishing commands, run against a platform over HTTP.
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Experts (accounts).
    #[command(subcommand)]
    Expert(ExpertCommand),
    /// Rubric versions.
    #[command(subcommand)]
    Rubric(RubricCommand),
    /// Opportunities.
    #[command(subcommand)]
    Opportunity(OpportunityCommand),
    /// Import items from NDJSON, uploading their attachments first.
    Import {
        /// One item per line: {"`external_id`", "title", "fields"}.
        file: PathBuf,
        /// Id of the opportunity the items belong to (published before).
        #[arg(long)]
        opportunity: String,
        /// Folder holding the attachments, by the `filename` the lines give.
        #[arg(long)]
        attachments: Option<PathBuf>,
        /// Import the valid lines even when others are bad.
        #[arg(long)]
        partial: bool,
        /// Where the platform is and which token to use.
        #[command(flatten)]
        conn: Connection,
    },
    /// Run an opportunity's assignment policy now (`--opportunity`), or
    /// give one item to one expert (`--item` and `--expert`): the expert must
    /// qualify and must not hold the item already.
    Assign {
        /// The opportunity whose policy runs; with `--item`, the opportunity
        /// the external id belongs to (only needed when several use it).
        #[arg(long, required_unless_present = "item")]
        opportunity: Option<String>,
        /// One item: its item id, or the external id it was imported with.
        #[arg(long, requires = "expert")]
        item: Option<String>,
        /// The expert for `--item`: id, e-mail or (unique) display name.
        #[arg(long, requires = "item")]
        expert: Option<String>,
        /// Where the platform is and which token to use.
        #[command(flatten)]
        conn: Connection,
    },
    /// Write graded submissions as NDJSON (the buyer's manifest).
    Export {
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where the platform is and which token to use.
        #[command(flatten)]
        conn: Connection,
    },
}

/// Managing experts' accounts.
#[derive(Debug, Subcommand)]
pub enum ExpertCommand {
    /// Create an account and print its token.
    Add {
        /// Sign-in e-mail of the account.
        #[arg(long)]
        email: String,
        /// Name shown in the app.
        #[arg(long)]
        name: String,
        /// Password for signing in to the app (else token only).
        #[arg(long)]
        password: Option<String>,
        /// Comma-separated expertise tags.
        #[arg(long, value_delimiter = ',')]
        expertise: Vec<String>,
        /// May make senior review decisions.
        #[arg(long)]
        senior_reviewer: bool,
        /// expert, author or operator.
        #[arg(long, default_value = "expert", value_parser = parse_role)]
        role: Role,
        /// Where the platform is and which token to use.
        #[command(flatten)]
        conn: Connection,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: use expert, author or operator"))
}

/// Publishing rubric versions.
#[derive(Debug, Subcommand)]
pub enum RubricCommand {
    /// Lint and publish a rubric file (.toml, .json, .yaml) as its version.
    Publish {
        /// The rubric file.
        file: PathBuf,
        /// Where the platform is and which token to use.
        #[command(flatten)]
        conn: Connection,
    },
}

/// Publishing opportunities.
#[derive(Debug, Subcommand)]
pub enum OpportunityCommand {
    /// Create or update an opportunity from a file (.toml, .json, .yaml)
    /// holding `id` plus the card (see `OpportunitySpec` in the OpenAPI).
    Publish {
        /// The opportunity file.
        file: PathBuf,
        /// Where the platform is and which token to use.
        #[command(flatten)]
        conn: Connection,
    },
}

/// The publishing commands alone, for running them in-process (tests).
#[derive(Debug, Parser)]
#[command(name = "assay-platform")]
pub struct RemoteCli {
    /// The command to run.
    #[command(subcommand)]
    pub command: RemoteCommand,
}

impl RemoteCli {
    /// Parse a command line (`assay-platform rubric publish FILE ...`) into a
    /// publishing command, as the `assay-platform` binary does.
    pub fn parse_command<I, T>(args: I) -> Result<RemoteCommand, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::try_parse_from(args).map(|c| c.command)
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(conn: &Connection) -> Result<Self, CliError> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(600))
                .build()?,
            base: format!(
                "{}{}",
                conn.server.trim_end_matches('/'),
                assay_protocol::API_PREFIX
            ),
            token: conn.token.clone(),
        })
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, CliError> {
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if status.is_success() {
            serde_json::from_str(&text).map_err(|e| CliError::Api {
                status: status.as_u16(),
                message: format!("unexpected response ({e})"),
                report: String::new(),
                error: ApiError::new(assay_protocol::ApiErrorCode::Internal, text.clone()),
            })
        } else {
            let error: ApiError = serde_json::from_str(&text).unwrap_or_else(|_| {
                ApiError::new(assay_protocol::ApiErrorCode::Internal, text.clone())
            });
            Err(CliError::Api {
                status: status.as_u16(),
                message: format!("{}: {}", code_name(&error), error.message),
                report: render_details(&error),
                error,
            })
        }
    }
}

/// A path segment, percent-encoded (external ids may hold any character).
fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A serde enum's wire name (`grade`, `screening`, ...).
fn code_name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn code_name(e: &ApiError) -> String {
    serde_json::to_value(e.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Lint findings and bad import lines, one per line, as a human reads them.
fn render_details(e: &ApiError) -> String {
    let mut out = String::new();
    let Some(details) = &e.details else {
        return out;
    };
    if let Some(findings) = details.get("findings") {
        let findings: Vec<RubricFinding> =
            serde_json::from_value(findings.clone()).unwrap_or_default();
        for f in findings {
            out.push('\n');
            out.push_str(&render_finding(&f));
        }
    }
    if let Some(lines) = details.get("bad_lines").and_then(|v| v.as_array()) {
        for l in lines {
            out.push_str(&format!(
                "\n  line {}: {}",
                l.get("line")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0),
                l.get("reason").and_then(|v| v.as_str()).unwrap_or("")
            ));
        }
    }
    if let Some(problems) = details.get("problems").and_then(|v| v.as_array()) {
        for p in problems {
            out.push_str(&format!("\n  {}", p.as_str().unwrap_or("")));
        }
    }
    out
}

fn render_finding(f: &RubricFinding) -> String {
    let at = match (f.line, f.column) {
        (Some(l), Some(c)) => format!("{l}:{c}: "),
        (Some(l), None) => format!("{l}: "),
        _ => String::new(),
    };
    format!("  {at}{}[{}]: {}", f.severity, f.code, f.message)
}

fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| file_err(path, e))
}

fn ext_of(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Read a TOML/JSON/YAML document as JSON.
fn read_document(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = read_text(path)?;
    match ext_of(path).as_str() {
        "json" => serde_json::from_str(&text).map_err(|e| file_err(path, e)),
        "toml" => toml::from_str(&text).map_err(|e| file_err(path, e)),
        "yaml" | "yml" => serde_yaml::from_str(&text).map_err(|e| file_err(path, e)),
        _ => Err(file_err(path, "use a .toml, .json or .yaml file")),
    }
}

fn sha256_file(path: &Path) -> Result<String, CliError> {
    let mut file = std::fs::File::open(path).map_err(|e| file_err(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| file_err(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

fn media_type_of(path: &Path) -> &'static str {
    match ext_of(path).as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "dcm" => "application/dicom",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "txt" | "md" | "diff" | "patch" => "text/plain",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

/// Run one publishing command, writing its result to `out` (progress goes
/// to stderr).
pub async fn run(command: RemoteCommand, out: &mut dyn Write) -> Result<(), CliError> {
    run_with_progress(command, out, &mut std::io::stderr()).await
}

/// How often (in lines) `import` reports the lines it has checked.
pub const PROGRESS_EVERY_LINES: usize = 1_000;

/// An import's progress report, one line per step, phase by phase: `[1/3
/// check]` the lines read and the attachments they name, `[2/3 upload]`
/// each attachment with its bytes, the running total and a text bar, `[3/3 import]` the
/// batch sent and checked by the platform. Line-based, so it reads the same
/// in a terminal, a CI log or a file.
struct Progress<'a> {
    w: &'a mut dyn Write,
    started: std::time::Instant,
}

impl Progress<'_> {
    fn line(&mut self, phase: &str, text: std::fmt::Arguments<'_>) {
        // Progress is best effort: a closed stderr never fails the import.
        let _ = writeln!(
            self.w,
            "[{phase}] {text} ({:.1} s)",
            self.started.elapsed().as_secs_f64()
        );
        let _ = self.w.flush();
    }
}

fn percent(done: u64, total: u64) -> u64 {
    done.saturating_mul(100).checked_div(total).unwrap_or(100)
}

/// Cells of the upload's progress bar.
const BAR_CELLS: u64 = 24;

/// A text progress bar, `[######..................]`: ASCII, so it reads the
/// same in a terminal, a CI log or a file.
fn bar(done: u64, total: u64) -> String {
    let full = percent(done, total).min(100).saturating_mul(BAR_CELLS) / 100;
    let mut s = String::with_capacity(26);
    s.push('[');
    for cell in 0..BAR_CELLS {
        s.push(if cell < full { '#' } else { '.' });
    }
    s.push(']');
    s
}

/// [`run`] with its progress report written to `progress` instead of stderr.
pub async fn run_with_progress(
    command: RemoteCommand,
    out: &mut dyn Write,
    progress: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        RemoteCommand::Expert(ExpertCommand::Add {
            email,
            name,
            password,
            expertise,
            senior_reviewer,
            role,
            conn,
        }) => {
            let c = Client::new(&conn)?;
            let body = CreateExpertRequest {
                email,
                display_name: name,
                password,
                expertise,
                senior_reviewer,
                timezone: None,
                role: Some(role),
            };
            let created: ExpertCreated = c
                .send(c.req(reqwest::Method::POST, "/admin/experts").json(&body))
                .await?;
            eprintln!(
                "added {} ({}) as {}; its token follows",
                created.email, created.expert_id, created.role
            );
            writeln!(out, "{}", created.token)?;
        }
        RemoteCommand::Rubric(RubricCommand::Publish { file, conn }) => {
            let format = match ext_of(&file).as_str() {
                "toml" => "toml",
                "json" => "json",
                "yaml" | "yml" => "yaml",
                _ => return Err(file_err(&file, "use a .toml, .json, .yaml or .yml file")),
            };
            let text = read_text(&file)?;
            let c = Client::new(&conn)?;
            let result: Result<RubricPublished, CliError> = c
                .send(
                    c.req(
                        reqwest::Method::POST,
                        &format!("/author/rubrics?format={format}"),
                    )
                    .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .body(text),
                )
                .await;
            let published = result.map_err(|e| match e {
                CliError::Api {
                    status,
                    message,
                    error,
                    ..
                } => {
                    // Name the file on every finding, as `assay rubric lint` does.
                    let report =
                        render_details(&error).replace("\n  ", &format!("\n  {}:", file.display()));
                    CliError::Api {
                        status,
                        message,
                        report,
                        error,
                    }
                }
                other => other,
            })?;
            for w in &published.warnings {
                eprintln!("{}:{}", file.display(), render_finding(w).trim_start());
            }
            writeln!(
                out,
                "{} rubric {} version {}",
                if published.created {
                    "published"
                } else {
                    "already published (unchanged):"
                },
                published.id,
                published.version
            )?;
        }
        RemoteCommand::Opportunity(OpportunityCommand::Publish { file, conn }) => {
            let mut doc = read_document(&file)?;
            let id = doc
                .as_object_mut()
                .and_then(|o| o.remove("id"))
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(|| file_err(&file, "needs a string `id` (the opportunity id)"))?;
            let c = Client::new(&conn)?;
            let p: PublishedOpportunity = c
                .send(
                    c.req(reqwest::Method::PUT, &format!("/author/opportunities/{id}"))
                        .json(&doc),
                )
                .await?;
            writeln!(
                out,
                "{} opportunity {} (rubric {} v{}, licence {})",
                if p.created { "created" } else { "updated" },
                p.opportunity.id,
                p.opportunity.rubric_id,
                p.opportunity.rubric_version,
                p.opportunity.licence_category
            )?;
        }
        RemoteCommand::Import {
            file,
            opportunity,
            attachments,
            partial,
            conn,
        } => {
            let c = Client::new(&conn)?;
            let mut progress = Progress {
                w: progress,
                started: std::time::Instant::now(),
            };
            let text = read_text(&file)?;
            // Attachments first: every sha256 the lines name, found in the folder by filename.
            let mut wanted: BTreeMap<String, String> = BTreeMap::new();
            let (mut lines, mut unreadable) = (0usize, 0usize);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                lines += 1;
                if lines % PROGRESS_EVERY_LINES == 0 {
                    progress.line(
                        "1/3 check",
                        format_args!("{lines} lines read, {} attachment(s) named", wanted.len()),
                    );
                }
                // Bad lines are reported by the platform with their numbers.
                let Ok(parsed) = serde_json::from_str::<ImportLine>(line) else {
                    unreadable += 1;
                    continue;
                };
                for v in parsed.fields.values() {
                    for a in v.attachments() {
                        wanted.entry(a.sha256.clone()).or_insert(a.filename.clone());
                    }
                }
            }
            progress.line(
                "1/3 check",
                format_args!(
                    "{}: {lines} line(s) read ({unreadable} not readable here, left for the platform to report), {} attachment(s) named",
                    file.display(),
                    wanted.len()
                ),
            );
            if !wanted.is_empty() {
                let dir = attachments.as_deref().ok_or_else(|| {
                    CliError::Usage(format!(
                        "{} names {} attachment(s): give --attachments DIR",
                        file.display(),
                        wanted.len()
                    ))
                })?;
                let total = wanted.len();
                // Sizes first, so each step can say how far the upload is in bytes.
                let mut total_bytes = 0u64;
                for filename in wanted.values() {
                    let path = inside_dir(dir, filename)?;
                    let len = std::fs::metadata(&path)
                        .map_err(|e| file_err(&path, e))?
                        .len();
                    total_bytes = total_bytes.saturating_add(len);
                }
                let (mut done_bytes, mut sent_bytes, mut skipped) = (0u64, 0u64, 0usize);
                for (i, (sha256, filename)) in wanted.iter().enumerate() {
                    let path = inside_dir(dir, filename)?;
                    let actual = sha256_file(&path)?;
                    if &actual != sha256 {
                        return Err(file_err(
                            &path,
                            format!("its sha256 is {actual}, but the import names {sha256}"),
                        ));
                    }
                    // Resumable: what the platform already holds is not sent again.
                    let have = c
                        .req(
                            reqwest::Method::GET,
                            &format!("/author/attachments/{sha256}"),
                        )
                        .send()
                        .await?;
                    if have.status().is_success() {
                        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
                        done_bytes = done_bytes.saturating_add(len);
                        skipped += 1;
                        progress.line(
                            "2/3 upload",
                            format_args!(
                                "{}/{total} {filename}: already there, not sent ({len} bytes); {done_bytes}/{total_bytes} bytes ({}%) {}",
                                i + 1,
                                percent(done_bytes, total_bytes),
                                bar(done_bytes, total_bytes)
                            ),
                        );
                        continue;
                    }
                    let bytes = tokio::fs::File::open(&path)
                        .await
                        .map_err(|e| file_err(&path, e))?;
                    let stored: AttachmentStored = c
                        .send(
                            c.req(reqwest::Method::PUT, &format!("/attachments/{sha256}"))
                                .header(reqwest::header::CONTENT_TYPE, media_type_of(&path))
                                .body(reqwest::Body::from(bytes)),
                        )
                        .await?;
                    done_bytes = done_bytes.saturating_add(stored.size);
                    if stored.created {
                        sent_bytes = sent_bytes.saturating_add(stored.size);
                    } else {
                        skipped += 1;
                    }
                    progress.line(
                        "2/3 upload",
                        format_args!(
                            "{}/{total} {filename}: {} ({} bytes); {done_bytes}/{total_bytes} bytes ({}%) {}",
                            i + 1,
                            if stored.created {
                                "uploaded"
                            } else {
                                "already there"
                            },
                            stored.size,
                            percent(done_bytes, total_bytes),
                            bar(done_bytes, total_bytes)
                        ),
                    );
                }
                progress.line(
                    "2/3 upload",
                    format_args!(
                        "{total} attachment(s): {} uploaded ({sent_bytes} bytes), {skipped} already there",
                        total - skipped
                    ),
                );
            }
            let body = tokio::fs::File::open(&file)
                .await
                .map_err(|e| file_err(&file, e))?;
            progress.line(
                "3/3 import",
                format_args!(
                    "sending {lines} line(s) ({} bytes) to the platform, which checks every line against the rubric and stores the batch",
                    text.len()
                ),
            );
            let report: ImportReport = c
                .send(
                    c.req(
                        reqwest::Method::POST,
                        &format!("/author/opportunities/{opportunity}/items?partial={partial}"),
                    )
                    .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                    .body(reqwest::Body::from(body)),
                )
                .await?;
            progress.line(
                "3/3 import",
                format_args!(
                    "the platform checked {} line(s): {} stored, {} rejected",
                    report.lines,
                    report
                        .created
                        .saturating_add(report.updated)
                        .saturating_add(report.unchanged),
                    report.rejected.len()
                ),
            );
            writeln!(
                out,
                "imported {} line(s) into {}: {} created, {} updated, {} unchanged, {} rejected; {} assignment(s) made",
                report.lines,
                report.opportunity_id,
                report.created,
                report.updated,
                report.unchanged,
                report.rejected.len(),
                report.assigned
            )?;
            for b in &report.rejected {
                writeln!(out, "  line {}: {}", b.line, b.reason)?;
            }
            if let Some(e) = &report.assignment_error {
                writeln!(out, "  the assignment policy did not run: {e}")?;
            }
        }
        RemoteCommand::Assign {
            opportunity,
            item: Some(item),
            expert: Some(expert),
            conn,
        } => {
            let c = Client::new(&conn)?;
            let body = AssignItemRequest {
                expert: expert.clone(),
                opportunity,
            };
            let a: assay_protocol::Assignment = c
                .send(
                    c.req(
                        reqwest::Method::POST,
                        &format!("/admin/items/{}/assign", path_segment(&item)),
                    )
                    .json(&body),
                )
                .await?;
            writeln!(
                out,
                "assigned item {item} ({}, {:?}) to {expert} as {} work in {}: assignment {}, lease until {}",
                a.item_id,
                a.item_title,
                code_name_of(&a.kind),
                a.opportunity_id,
                a.id,
                a.lease_expires_at.format("%Y-%m-%d %H:%M UTC")
            )?;
        }
        RemoteCommand::Assign {
            opportunity: None, ..
        } => {
            return Err(CliError::Usage(
                "give --opportunity ID (run its policy) or --item ITEM --expert EXPERT".into(),
            ))
        }
        RemoteCommand::Assign {
            opportunity: Some(opportunity),
            conn,
            ..
        } => {
            let c = Client::new(&conn)?;
            let r: PolicyAssigned = c
                .send(c.req(
                    reqwest::Method::POST,
                    &format!("/admin/opportunities/{opportunity}/assign"),
                ))
                .await?;
            writeln!(
                out,
                "{} assignment(s) made in {}",
                r.assignments.len(),
                r.opportunity_id
            )?;
        }
        RemoteCommand::Export { out: path, conn } => {
            let c = Client::new(&conn)?;
            let mut file = match &path {
                Some(p) => Some(std::fs::File::create(p).map_err(|e| file_err(p, e))?),
                None => None,
            };
            let mut since = String::new();
            let mut n = 0usize;
            loop {
                let page: ExportPage = c
                    .send(
                        c.req(reqwest::Method::GET, "/admin/export")
                            .query(&[("since", since.as_str()), ("limit", "500")]),
                    )
                    .await?;
                for r in &page.records {
                    let line = serde_json::to_string(r).map_err(std::io::Error::other)?;
                    match file.as_mut() {
                        Some(f) => writeln!(f, "{line}")?,
                        None => writeln!(out, "{line}")?,
                    }
                    n += 1;
                }
                since = page.next_cursor;
                if !page.has_more {
                    break;
                }
            }
            eprintln!("exported {n} graded submission(s)");
        }
    }
    Ok(())
}

/// `dir/filename`, refusing names that leave the folder.
fn inside_dir(dir: &Path, filename: &str) -> Result<PathBuf, CliError> {
    let rel = Path::new(filename);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(CliError::Usage(format!(
            "attachment filename {filename:?} must be a plain path inside the attachments folder"
        )));
    }
    Ok(dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_upload_bar_fills_with_the_bytes() {
        assert_eq!(bar(0, 100), format!("[{}]", ".".repeat(24)));
        assert_eq!(
            bar(50, 100),
            format!("[{}{}]", "#".repeat(12), ".".repeat(12))
        );
        assert_eq!(bar(100, 100), format!("[{}]", "#".repeat(24)));
        // Nothing to send counts as done; more than the total stays full.
        assert_eq!(bar(0, 0), format!("[{}]", "#".repeat(24)));
        assert_eq!(bar(7, 5), format!("[{}]", "#".repeat(24)));
    }
}
