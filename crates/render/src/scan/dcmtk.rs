//! 12-bit JPEG Extended (1.2.840.10008.1.2.4.51) through DCMTK's `dcmdjpeg`.
//!
//! No maintained Rust crate decodes 12-bit lossy JPEG; Debian's `dcmtk`
//! package ships a 12-bit IJG decoder. The file (already walked and bounded
//! by the caller) is written to a private temporary directory, `dcmdjpeg`
//! rewrites it as uncompressed explicit VR little endian under a hard time
//! limit and an output size limit, and the caller decodes the result.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The DCMTK program that decodes JPEG-compressed DICOM files.
pub(crate) const PROGRAM: &str = "dcmdjpeg";

/// How long `dcmdjpeg` may run before it is killed.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(20);

/// Bytes allowed beyond the decoded pixels for the data set around them.
const HEADER_SLACK: u64 = 1 << 20;

/// The first executable file called `name` (`name.exe` on Windows) in the
/// directories of `path` (a `PATH`-style list), as a shell would find it.
/// Empty entries (the current directory to a shell) are skipped.
pub(crate) fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(&file))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Why a 12-bit JPEG cannot be decoded when `dcmdjpeg` is not installed.
pub(crate) fn missing_message(syntax: &str) -> String {
    format!(
        "{syntax} with 12-bit samples cannot be decoded: it needs DCMTK's `{PROGRAM}`, which \
         is not installed (not found on PATH). Install the `dcmtk` package (Debian/Ubuntu: \
         `sudo apt-get install dcmtk`) and open the scan again, or convert the file to an \
         uncompressed syntax first (`{PROGRAM} in.dcm out.dcm` or `gdcmconv --raw in.dcm out.dcm`)"
    )
}

/// Rewrite `file` (a whole DICOM file) as explicit VR little endian with
/// `program`, whose output may hold at most `pixel_bytes` of pixels plus the
/// data set around them (the input's size plus some slack). Returns the new
/// file and what `dcmdjpeg` said on stderr (its warnings), if anything.
pub(crate) fn decompress(
    program: &Path,
    file: &[u8],
    pixel_bytes: u64,
    timeout: Duration,
) -> Result<(Vec<u8>, Option<String>), String> {
    let limit = pixel_bytes
        .saturating_add(file.len() as u64)
        .saturating_add(HEADER_SLACK);
    let dir = tempfile::Builder::new()
        .prefix("assay-dcmdjpeg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory for {PROGRAM}: {e}"))?;
    let input = dir.path().join("in.dcm");
    let output = dir.path().join("out.dcm");
    let log = dir.path().join("stderr.txt");
    std::fs::write(&input, file).map_err(|e| format!("cannot write a temporary file: {e}"))?;
    let stderr = File::create(&log).map_err(|e| format!("cannot write a temporary file: {e}"))?;
    let mut child = Command::new(program)
        // Absolute paths in a directory of ours: never read as options.
        .arg("--write-xfer-little")
        .arg(&input)
        .arg(&output)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("cannot wait for {PROGRAM}: {e}"));
            }
        }
        let written = std::fs::metadata(&output).map_or(0, |m| m.len());
        let problem = if written > limit {
            Some(format!(
                "{PROGRAM} wrote more than the {limit} bytes the image can need (corrupt file?)"
            ))
        } else if started.elapsed() > timeout {
            Some(format!(
                "{PROGRAM} took longer than {} s and was stopped (corrupt or hostile file?)",
                timeout.as_secs()
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            let _ = child.kill();
            let _ = child.wait();
            return Err(problem);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let said = read_start(&log, 2048);
    if !status.success() {
        return Err(format!(
            "{PROGRAM} could not decode it ({status}){}",
            said.as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ));
    }
    let len = std::fs::metadata(&output)
        .map_err(|e| format!("{PROGRAM} wrote no output: {e}"))?
        .len();
    if len > limit {
        return Err(format!(
            "{PROGRAM} wrote more than the {limit} bytes the image can need (corrupt file?)"
        ));
    }
    let out = std::fs::read(&output).map_err(|e| format!("cannot read {PROGRAM}'s output: {e}"))?;
    Ok((out, said))
}

/// Up to `max` bytes of a text file, trimmed and on one line; `None` if empty.
fn read_start(path: &Path, max: u64) -> Option<String> {
    let mut raw = Vec::new();
    File::open(path)
        .ok()?
        .take(max)
        .read_to_end(&mut raw)
        .ok()?;
    let text = String::from_utf8_lossy(&raw);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then_some(line)
}
