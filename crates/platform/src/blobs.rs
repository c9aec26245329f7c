//! Content-addressed blob directory: `<dir>/<aa>/<sha256>`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::auth::is_sha256_hex;
use crate::error::{PlatformError, PlatformResult};
use crate::storage::{BlobMeta, Storage};

/// Blob bytes on disk, addressed by their sha256.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// A blob store over the folder `dir` (`<dir>/<aa>/<sha256>`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder the blobs live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of a blob; `None` for anything that is not a sha256 (no traversal).
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256_hex(sha256).then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Write `bytes` (atomically: temp file + rename) and record its metadata.
    pub fn put(
        &self,
        storage: &dyn Storage,
        bytes: &[u8],
        media_type: &str,
    ) -> PlatformResult<BlobMeta> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self
            .path_of(&sha256)
            .ok_or_else(|| PlatformError::Corrupt("sha256 was not hex".into()))?;
        if !path.exists() {
            let parent = path
                .parent()
                .ok_or_else(|| PlatformError::Corrupt("blob path has no parent".into()))?;
            std::fs::create_dir_all(parent)?;
            let tmp = parent.join(format!(".{sha256}.tmp"));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)?;
        }
        let meta = BlobMeta {
            sha256,
            size: bytes.len() as u64,
            media_type: media_type.to_owned(),
        };
        storage.insert_blob_meta(&meta)?;
        Ok(meta)
    }
}
