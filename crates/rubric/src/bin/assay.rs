//! `assay`: command-line tools for rubric authors.
//!
//! ```text
//! assay rubric lint FILE [--items DIR] [--format human|json]
//! assay rubric schema
//! assay rubric preview FILE --items DIR
//! ```
//! Exit status: 0 clean or warnings only, 1 lint errors, 2 unreadable input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use assay_rubric::{preview, preview_text, LintSeverity};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "assay", version, about = "Assay tools for rubric authors")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with rubric files.
    #[command(subcommand)]
    Rubric(RubricCommand),
}

#[derive(Subcommand)]
enum RubricCommand {
    /// Check a rubric (and optionally sample items); exit 1 on errors.
    Lint {
        /// Rubric file (.toml, .json, .yaml, .yml).
        file: PathBuf,
        /// Folder of sample item JSON files to check the rubric against.
        #[arg(long)]
        items: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Print the rubric JSON Schema.
    Schema,
    /// Show what reviewers would see of each sample item, and the questions.
    Preview {
        file: PathBuf,
        #[arg(long)]
        items: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Human,
    Json,
}

const EXIT_ERRORS: u8 = 1;
const EXIT_UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_UNREADABLE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("assay: {e:#}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Command::Rubric(cmd) = cli.command;
    let mut stdout = std::io::stdout().lock();
    match cmd {
        RubricCommand::Schema => {
            stdout.write_all(assay_rubric::schema::json_schema_string().as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        RubricCommand::Lint {
            file,
            items,
            format,
        } => {
            let p = preview(&file, items.as_deref())?;
            match format {
                OutputFormat::Human => {
                    for f in &p.findings {
                        match &f.location {
                            Some(_) => writeln!(stdout, "{f}")?,
                            None => writeln!(stdout, "{}: {f}", file.display())?,
                        }
                    }
                    eprintln!(
                        "{}: {} error(s), {} warning(s)",
                        file.display(),
                        p.error_count(),
                        p.warning_count()
                    );
                }
                OutputFormat::Json => {
                    let report = serde_json::json!({
                        "file": file.display().to_string(),
                        "errors": p.error_count(),
                        "warnings": p.warning_count(),
                        "findings": p.findings,
                    });
                    serde_json::to_writer_pretty(&mut stdout, &report)?;
                    writeln!(stdout)?;
                }
            }
            let has_errors = p.findings.iter().any(|f| f.severity == LintSeverity::Error);
            Ok(if has_errors {
                ExitCode::from(EXIT_ERRORS)
            } else {
                ExitCode::SUCCESS
            })
        }
        RubricCommand::Preview { file, items } => {
            let p = preview(&file, Some(&items))?;
            stdout.write_all(preview_text(&p).as_bytes())?;
            Ok(if p.error_count() > 0 {
                ExitCode::from(EXIT_ERRORS)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
