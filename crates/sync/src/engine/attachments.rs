//! Attachments: downloaded by their SHA-256 into part files (resumed after
//! an interruption), hashed as written, and committed to the blob store.

use super::*;

/// Attachment bytes are written to their part file in pieces of up to this
/// many. Below the app's fixed 256 KiB mmap threshold
/// (`assay_store::heap::tune_allocator`): at 1 MiB this buffer, and the copy
/// `tokio::fs::File` keeps of each write, were mapped afresh for every
/// attachment and page-faulted in again (315 times in a 10k pull); at 128 KiB
/// they come from the heap and are reused. 56 MB are still a few hundred
/// hand-offs to the blocking pool.
const ATTACHMENT_WRITE_BUFFER: usize = 128 << 10;

/// What downloading an attachment leaves to do.
enum Downloaded {
    /// Nothing: a part complete before an interruption was committed.
    Committed,
    /// Commit the complete part: `written` bytes came now, hashed as written.
    Part { written: u64, digest: PartDigest },
}

/// Commits of downloaded attachments that may run per download in flight.
const COMMITS_PER_DOWNLOAD: usize = 2;

impl SyncEngine {
    pub(super) async fn pull_attachments(
        &self,
        pull: &mut PullState,
        progress: &impl Progress,
    ) -> Result<()> {
        let todo = self.not_held_back(Store::missing_attachments)?;
        let blobs = self.store.blobs();
        let mut already = 0u64;
        for a in &todo {
            already = already.saturating_add(blobs.part_len(&a.sha256)?.min(a.size));
        }
        let total: u64 = todo.iter().fold(0u64, |t, a| t.saturating_add(a.size));
        let bytes_done = AtomicU64::new(already);
        let base = SyncProgress {
            phase: SyncPhase::Attachments,
            items_done: 0,
            items_total: todo.len() as u64,
            bytes_done: already,
            bytes_total: total,
        };
        progress(base.clone());
        let items_done = AtomicU64::new(0);
        let report_progress = |bytes: u64| {
            let b = bytes_done
                .fetch_add(bytes, Ordering::Relaxed)
                .saturating_add(bytes);
            progress(SyncProgress {
                bytes_done: b,
                items_done: items_done.load(Ordering::Relaxed),
                ..base.clone()
            });
        };
        let deadline = self.config.limits.attachment_deadline;
        let results: Vec<(AttachmentRef, Result<u64>)> = stream::iter(todo)
            .map(|a| {
                let report_progress = &report_progress;
                async move {
                    let r = tokio::time::timeout(
                        deadline,
                        self.download_attachment(&a, report_progress),
                    )
                    .await
                    .unwrap_or(Err(SyncError::Timeout {
                        route: PlatformClient::ATTACHMENT_ROUTE,
                        after: deadline,
                    }));
                    (a, r)
                }
            })
            .buffer_unordered(self.config.attachment_concurrency.max(1))
            // Each complete part is committed (fsynced, moved into place, its
            // directory fsynced, recorded) while the next downloads run:
            // `attachment_concurrency` requests stay in flight, as before,
            // and the disk's latency no longer holds a download slot.
            .map(|(a, r)| async move {
                let r = match r {
                    Ok(Downloaded::Committed) => Ok(0),
                    Ok(Downloaded::Part { written, digest }) => {
                        self.commit(&a.sha256, Some(digest)).await.map(|_| written)
                    }
                    Err(e) => Err(e),
                };
                (a, r)
            })
            .buffer_unordered(
                self.config
                    .attachment_concurrency
                    .max(1)
                    .saturating_mul(COMMITS_PER_DOWNLOAD),
            )
            .collect()
            .await;
        let mut fatal = None;
        for (a, r) in results {
            items_done.fetch_add(1, Ordering::Relaxed);
            match r {
                Ok(n) => {
                    self.store
                        .release_quarantine(QuarantineKind::Attachment, &a.sha256)?;
                    add_count(&mut pull.report.attachments, 1);
                    pull.report.bytes = pull.report.bytes.saturating_add(n);
                }
                Err(e) => {
                    tracing::warn!(sha256 = %a.sha256, error = %e, "attachment not downloaded");
                    if let Err(e) = self.item_failed(
                        QuarantineKind::Attachment,
                        &a.sha256,
                        &a.filename,
                        e,
                        pull,
                    ) {
                        fatal.get_or_insert(e);
                    }
                }
            }
        }
        progress(SyncProgress {
            bytes_done: bytes_done.load(Ordering::Relaxed),
            items_done: items_done.load(Ordering::Relaxed),
            ..base
        });
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Download one attachment into its `.part` file (resuming with `Range`),
    /// hashing it as it is written; [`Self::commit`] verifies and moves it
    /// into the blob store. A part complete before an interruption is
    /// committed here.
    async fn download_attachment(
        &self,
        att: &AttachmentRef,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded> {
        let sha = att.sha256.as_str();
        let limits = &self.config.limits;
        if att.size > limits.attachment_max_bytes {
            return Err(SyncError::TooLarge {
                route: PlatformClient::ATTACHMENT_ROUTE,
                limit: limits.attachment_max_bytes,
            });
        }
        let blobs = self.store.blobs();
        let mut offset = blobs.part_len(sha)?;
        if offset > att.size {
            blobs.discard_part(sha)?;
            offset = 0;
        }
        if offset == att.size && offset > 0 {
            // Fully downloaded before an interruption: just verify and commit.
            match self.commit(sha, None).await {
                Ok(_) => return Ok(Downloaded::Committed),
                Err(SyncError::Integrity(_)) => offset = 0, // bad part was discarded
                Err(e) => return Err(e),
            }
        }
        // Never start what the disk cannot hold (keeping a reserve free).
        let needed = att
            .size
            .saturating_sub(offset)
            .saturating_add(limits.keep_free_bytes);
        let dir = blobs.part_path(sha)?;
        let dir = dir.parent().unwrap_or(self.store.dir());
        let available = fs4::available_space(dir).map_err(|e| {
            SyncError::Storage(StoreError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        })?;
        if available < needed {
            return Err(SyncError::DiskFull {
                sha256: sha.to_string(),
                needed,
                available,
            });
        }
        let resp = self.client.attachment(sha, offset).await?;
        match resp.status() {
            StatusCode::PARTIAL_CONTENT => {
                let start = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(offset) {
                    blobs.discard_part(sha)?;
                    return Err(SyncError::Protocol(format!(
                        "attachment {sha}: asked for bytes from {offset}, got range {start:?}"
                    )));
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                blobs.discard_part(sha)?;
                return Err(SyncError::Protocol(format!(
                    "attachment {sha}: range not satisfiable; restarting"
                )));
            }
            _ => {
                if offset > 0 {
                    // The server ignored Range: start over.
                    blobs.discard_part(sha)?;
                    offset = 0;
                }
            }
        }
        if let Some(h) = resp.headers().get(CONTENT_SHA256_HEADER) {
            if h.to_str().ok() != Some(sha) {
                return Err(SyncError::Integrity(format!(
                    "attachment {sha}: the platform announced another digest"
                )));
            }
        }
        let path = blobs.part_path(sha)?;
        let io = |e: std::io::Error| {
            SyncError::Storage(StoreError::Io {
                path: path.clone(),
                source: e,
            })
        };
        // The bytes are hashed as they are written, so the commit need not
        // read the part back; a resumed part's bytes so far are read once.
        let mut digest = if offset == 0 {
            PartDigest::new()
        } else {
            let store = Arc::clone(&self.store);
            let sha = sha.to_string();
            tokio::task::spawn_blocking(move || store.blobs().part_digest(&sha)).await??
        };
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(io)?;
        // The body arrives in chunks as the socket delivers them, and each
        // write of a `tokio::fs::File` is a hand-off to a blocking thread and
        // back: the chunks are gathered into writes of up to 128 KiB.
        let mut file = tokio::io::BufWriter::with_capacity(ATTACHMENT_WRITE_BUFFER, file);
        let mut body = resp.bytes_stream();
        let mut written = 0u64;
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    failure = Some(SyncError::from(e));
                    break;
                }
            };
            let end = offset
                .checked_add(written)
                .and_then(|n| n.checked_add(chunk.len() as u64));
            if end.is_none_or(|end| end > att.size) {
                drop(file);
                blobs.discard_part(sha)?;
                return Err(SyncError::Integrity(format!(
                    "attachment {sha}: more bytes than the declared {}",
                    att.size
                )));
            }
            digest.update(&chunk);
            file.write_all(&chunk).await.map_err(io)?;
            written = written.saturating_add(chunk.len() as u64);
            on_bytes(chunk.len() as u64);
        }
        // Keep what arrived so the next attempt resumes from here. Not
        // fsynced here: a complete part is fsynced by the commit below before
        // it is moved into place and recorded, and a part cut short by a
        // power loss is only ever resumed into a file whose hash the commit
        // checks (a torn part is discarded there and fetched again).
        file.flush().await.map_err(io)?;
        drop(file);
        if let Some(e) = failure {
            return Err(e);
        }
        if offset.checked_add(written) != Some(att.size) {
            return Err(SyncError::Offline(format!(
                "attachment {sha}: body ended after {} of {} bytes",
                offset.saturating_add(written),
                att.size
            )));
        }
        Ok(Downloaded::Part { written, digest })
    }

    /// Verify the part of `sha` (by `digest` when its bytes were hashed as
    /// they were written, else read back) and move it into the blob store.
    async fn commit(&self, sha: &str, digest: Option<PartDigest>) -> Result<u64> {
        let store = Arc::clone(&self.store);
        let sha = sha.to_string();
        tokio::task::spawn_blocking(move || match digest {
            Some(d) => store.commit_attachment_digest(&sha, d),
            None => store.commit_attachment_part(&sha),
        })
        .await?
        .map_err(|e| match e {
            e @ StoreError::BlobCorrupt { .. } => SyncError::Integrity(e.to_string()),
            e => SyncError::Storage(e),
        })
    }
}
