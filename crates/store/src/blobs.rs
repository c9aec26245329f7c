//! Content-addressed attachment blobs on disk: `blobs/ab/cdef…` named by sha256.
//!
//! Downloads go to `blobs/tmp/<sha>.part`, are verified, fsynced and renamed
//! into place; reads verify the hash again so a corrupted file is detected.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// Check that `s` is a lower-case hex sha256 (also what keeps paths inside the store).
pub fn validate_digest(s: &str) -> Result<()> {
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(StoreError::InvalidDigest(s.to_string()))
    }
}

/// Blob directory layout and verified I/O.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub(crate) fn open(root: PathBuf) -> Result<Self> {
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        Ok(Self { root })
    }

    /// Final path of a verified blob.
    pub fn path(&self, sha256: &str) -> Result<PathBuf> {
        validate_digest(sha256)?;
        Ok(self.root.join(&sha256[..2]).join(&sha256[2..]))
    }

    /// Path of the partial download of a blob (resume with `Range: bytes=<len>-`).
    pub fn part_path(&self, sha256: &str) -> Result<PathBuf> {
        validate_digest(sha256)?;
        Ok(self.root.join("tmp").join(format!("{sha256}.part")))
    }

    /// Length of the partial download so far (0 if none).
    pub fn part_len(&self, sha256: &str) -> Result<u64> {
        let p = self.part_path(sha256)?;
        match fs::metadata(&p) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StoreError::io(p, e)),
        }
    }

    /// Open the partial file for appending (created if missing).
    pub fn open_part_append(&self, sha256: &str) -> Result<File> {
        let p = self.part_path(sha256)?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| StoreError::io(p, e))
    }

    /// Throw away a partial download (e.g. the server ignored `Range`).
    pub fn discard_part(&self, sha256: &str) -> Result<()> {
        let p = self.part_path(sha256)?;
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(p, e)),
        }
    }

    /// Verify the partial file hashes to `sha256`, fsync it and move it into place.
    /// A part that does not verify is deleted so the next attempt starts over.
    pub(crate) fn commit_part(&self, sha256: &str) -> Result<u64> {
        let part = self.part_path(sha256)?;
        let (actual, size) = hash_file(&part)?;
        self.place_if_verified(sha256, &part, &actual, size)
    }

    /// The digest of what the partial download of `sha256` holds so far
    /// (read back from disk; empty when there is none), for a download that
    /// resumes it to continue with the bytes it appends.
    pub fn part_digest(&self, sha256: &str) -> Result<PartDigest> {
        let part = self.part_path(sha256)?;
        match hash_file_state(&part) {
            Ok((hasher, len)) => Ok(PartDigest { hasher, len }),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(PartDigest::new())
            }
            Err(e) => Err(e),
        }
    }

    /// [`Self::commit_part`] for a part whose bytes were hashed as they were
    /// written (`digest`: what the part held before, if resumed, then every
    /// byte appended): the part is not read back. A part whose length on
    /// disk is not the digest's (something else wrote to it) is hashed from
    /// disk as [`Self::commit_part`] does. A part that does not verify is
    /// deleted so the next attempt starts over.
    pub(crate) fn commit_digested_part(&self, sha256: &str, digest: PartDigest) -> Result<u64> {
        let part = self.part_path(sha256)?;
        let on_disk = fs::metadata(&part)
            .map_err(|e| StoreError::io(&part, e))?
            .len();
        if on_disk != digest.len {
            return self.commit_part(sha256);
        }
        let actual = hex::encode(digest.hasher.finalize());
        self.place_if_verified(sha256, &part, &actual, on_disk)
    }

    /// Whether a part whose bytes hash to `actual` is the blob `sha256`: if
    /// so it is fsynced and moved into place (`size` bytes); if not it is
    /// deleted so the next attempt starts over, and the error says so.
    fn place_if_verified(&self, sha256: &str, part: &Path, actual: &str, size: u64) -> Result<u64> {
        if actual != sha256 {
            self.discard_part(sha256)?;
            return Err(StoreError::BlobCorrupt {
                expected: sha256.to_string(),
                actual: actual.to_string(),
            });
        }
        let file = File::open(part).map_err(|e| StoreError::io(part, e))?;
        file.sync_all().map_err(|e| StoreError::io(part, e))?;
        let dest = self.path(sha256)?;
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        fs::rename(part, &dest).map_err(|e| StoreError::io(&dest, e))?;
        sync_dir(dest.parent());
        Ok(size)
    }

    /// Write a whole blob from memory, verified like a download: its bytes
    /// are hashed as they are written, not read back.
    pub(crate) fn write_verified(&self, sha256: &str, bytes: &[u8]) -> Result<u64> {
        self.discard_part(sha256)?;
        let mut f = self.open_part_append(sha256)?;
        let p = self.part_path(sha256)?;
        f.write_all(bytes).map_err(|e| StoreError::io(&p, e))?;
        drop(f);
        let mut digest = PartDigest::new();
        digest.update(bytes);
        self.commit_digested_part(sha256, digest)
    }

    /// Read a blob, verifying its hash.
    pub fn read_verified(&self, sha256: &str) -> Result<Vec<u8>> {
        let p = self.path(sha256)?;
        let bytes = fs::read(&p).map_err(|e| StoreError::io(&p, e))?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            return Err(StoreError::BlobCorrupt {
                expected: sha256.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Whether a blob file exists (not verified).
    pub fn exists(&self, sha256: &str) -> Result<bool> {
        Ok(self.path(sha256)?.is_file())
    }

    /// Delete a blob file (used after corruption is detected so it is downloaded again).
    pub(crate) fn remove(&self, sha256: &str) -> Result<()> {
        let p = self.path(sha256)?;
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(p, e)),
        }
    }
}

/// The sha256 of a partial download, taken as its bytes are written
/// ([`BlobStore::part_digest`] for a resumed one), so committing it need not
/// read the file back ([`crate::Store::commit_attachment_digest`]).
#[derive(Clone, Default)]
pub struct PartDigest {
    hasher: Sha256,
    len: u64,
}

impl std::fmt::Debug for PartDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartDigest")
            .field("len", &self.len)
            .finish()
    }
}

impl PartDigest {
    /// The digest of an empty part.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add bytes appended to the part.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len = self.len.saturating_add(bytes.len() as u64);
    }

    /// How many bytes it has hashed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it has hashed nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn hash_file(path: &Path) -> Result<(String, u64)> {
    let (hasher, size) = hash_file_state(path)?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// The running sha256 of a file's bytes, and their count.
fn hash_file_state(path: &Path) -> Result<(Sha256, u64)> {
    let mut f = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hasher, size))
}

/// Best-effort fsync of a directory so a rename survives power loss (no-op on Windows).
fn sync_dir(dir: Option<&Path>) {
    #[cfg(unix)]
    if let Some(d) = dir {
        if let Ok(f) = File::open(d) {
            if let Err(e) = f.sync_all() {
                tracing::warn!(error = %e, "fsync of blob directory failed");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    #[test]
    fn digest_validation_rejects_traversal() {
        assert!(validate_digest("../../etc/passwd").is_err());
        assert!(validate_digest(&"A".repeat(64)).is_err());
        assert!(validate_digest(&"a".repeat(63)).is_err());
        assert!(validate_digest(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn write_read_and_detect_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let bs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let data = b"hello scan".to_vec();
        let h = sha(&data);
        bs.write_verified(&h, &data).unwrap();
        let p = bs.path(&h).unwrap();
        assert!(p.starts_with(dir.path().join("blobs").join(&h[..2])));
        assert_eq!(bs.read_verified(&h).unwrap(), data);
        fs::write(&p, b"hellO scan").unwrap();
        assert!(matches!(
            bs.read_verified(&h),
            Err(StoreError::BlobCorrupt { .. })
        ));
    }

    #[test]
    fn bad_part_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let bs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let h = sha(b"right");
        let mut f = bs.open_part_append(&h).unwrap();
        f.write_all(b"wrong").unwrap();
        drop(f);
        assert!(matches!(
            bs.commit_part(&h),
            Err(StoreError::BlobCorrupt { .. })
        ));
        assert_eq!(bs.part_len(&h).unwrap(), 0);
        assert!(!bs.exists(&h).unwrap());
    }
}
