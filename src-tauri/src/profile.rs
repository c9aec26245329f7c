//! Which profile the app runs as. Tests set `ASSAY_PROFILE` (and usually
//! `ASSAY_DATA_DIR`) so they never touch a user's real data or keyring.

use std::path::PathBuf;

use anyhow::Context;

/// Identifier of the real app; also the keyring service name.
pub const APP_IDENTIFIER: &str = "dev.assay.desktop";

#[derive(Debug, Clone)]
pub struct Profile {
    /// `dev.assay.desktop` or `dev.assay.desktop.<profile>` for tests.
    pub identifier: String,
    pub data_dir: PathBuf,
}

impl Profile {
    pub fn from_env() -> anyhow::Result<Self> {
        let identifier = match std::env::var("ASSAY_PROFILE") {
            Ok(p) if !p.is_empty() => {
                if !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    anyhow::bail!("ASSAY_PROFILE may hold only letters, digits and '-'");
                }
                format!("{APP_IDENTIFIER}.{p}")
            }
            _ => APP_IDENTIFIER.to_string(),
        };
        let data_dir = match std::env::var_os("ASSAY_DATA_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => default_data_dir(&identifier)?,
        };
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        Ok(Self {
            identifier,
            data_dir,
        })
    }
}

fn default_data_dir(identifier: &str) -> anyhow::Result<PathBuf> {
    #[cfg(target_os = "macos")]
    let base =
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"));
    #[cfg(target_os = "windows")]
    let base = std::env::var_os("APPDATA").map(PathBuf::from);
    #[cfg(not(any(target_os = "macos", target_os = "windows")))]
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    let base = base.context("cannot find the user's data directory (HOME is unset)")?;
    Ok(base.join(identifier))
}

/// Log lines that may wait for the log file's writer thread. The crate's
/// default, 128,000, is a channel allocated and initialised in full at
/// start-up: 4.1 MB of the app's heap for its whole life (`heaptrack` of
/// the release app). At `info` the app logs a line per event (an upload, a
/// refused lease renewal, a migration), never one per item, so this leaves
/// room for bursts; past it a line is dropped (the writer is lossy) rather
/// than the caller blocked on the disk.
const LOG_LINES_BUFFERED: usize = 8_192;

/// The log file's writer: lines go to a thread that writes them to `out`.
fn file_writer<W: std::io::Write + Send + 'static>(
    out: W,
) -> (
    tracing_appender::non_blocking::NonBlocking,
    tracing_appender::non_blocking::WorkerGuard,
) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_LINES_BUFFERED)
        .thread_name("assay-log")
        .finish(out)
}

/// Logs go to a daily-rotated file in `<data_dir>/logs` (7 kept) and to stderr.
pub fn init_logging(
    profile: &Profile,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::{fmt, prelude::*, EnvFilter};
    let log_dir = profile.data_dir.join("logs");
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("creating log directory {}", log_dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("assay")
        .filename_suffix("log")
        .max_log_files(7)
        .build(&log_dir)
        .context("opening the log file")?;
    let (file_writer, guard) = file_writer(appender);
    let filter = EnvFilter::try_from_env("ASSAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_ansi(false).with_writer(file_writer))
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init()
        .context("installing the log subscriber")?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{file_writer, LOG_LINES_BUFFERED};

    /// A burst as long as the buffer reaches the file whole and in order
    /// once the guard is dropped (as at the app's exit).
    #[test]
    fn a_burst_of_buffered_lines_reaches_the_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assay.log");
        let (mut writer, guard) = file_writer(std::fs::File::create(&path).unwrap());
        for i in 0..LOG_LINES_BUFFERED {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(guard);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), LOG_LINES_BUFFERED);
        assert!(lines
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}")));
    }
}
