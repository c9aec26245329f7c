//! Processes of tests and benchmarks: the others they start next to a
//! cluster (the platform's `serve`, Label Studio, curl, sha256sum), and what
//! Linux says about their own (`/proc/self/status`).

use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

/// A child process of a test or benchmark, killed (and reaped) when dropped.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of a field of `/proc/self/status` (Linux), split at white
/// space: `self_status("VmHWM")` is `["1234", "kB"]`. `None` when there is
/// no such field (or no such file).
pub fn self_status(field: &str) -> Option<Vec<String>> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    Some(line.split_whitespace().skip(1).map(str::to_owned).collect())
}

/// This process's peak resident memory in KiB (`VmHWM`; Linux), if known.
pub fn peak_rss_kib() -> Option<u64> {
    self_status("VmHWM")?.first()?.parse().ok()
}

/// Runs `cmd` (its stderr passed through) and returns what it printed; an
/// error when it cannot start or exits unsuccessfully.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed with {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_status_is_read_by_field() {
        // Real, effective, saved and file-system user id.
        assert_eq!(self_status("Uid").map(|ids| ids.len()), Some(4));
        // A prefix of a field's name is not the field.
        assert_eq!(self_status("VmHW"), None);
        assert!(peak_rss_kib().is_some_and(|kib| kib > 0));
    }
}
