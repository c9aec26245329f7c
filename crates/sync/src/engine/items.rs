//! Items: fetched a few at a time, hidden fields dropped before decoding,
//! scoped, and stored in batches on a blocking thread while the next ones
//! download.

use super::*;

/// Remove every field of a raw item envelope that `visible` does not name,
/// before anything decodes it: a hidden field is never parsed, stored or quoted.
pub(super) fn strip_hidden_fields(envelope: &mut serde_json::Value, visible: &HashSet<&str>) {
    if let Some(fields) = envelope
        .get_mut("item")
        .and_then(|i| i.get_mut("fields"))
        .and_then(|f| f.as_object_mut())
    {
        fields.retain(|k, _| visible.contains(k.as_str()));
    }
}

/// Fetched items are stored this many (or all that are left) at a time.
const ITEM_WRITE_BATCH: usize = 128;

/// A batch of fetched items handed to the blocking writer, and how it went.
type ItemBatch = (
    Vec<(Assignment, FetchedItem)>,
    std::result::Result<(), StoreError>,
);

/// The running batch write's outcome (never ready when none runs).
async fn join_writer(
    writing: &mut Option<tokio::task::JoinHandle<ItemBatch>>,
) -> std::result::Result<ItemBatch, tokio::task::JoinError> {
    match writing {
        Some(w) => w.await,
        None => std::future::pending().await,
    }
}

/// Store a batch of fetched items in one transaction, media first (an item
/// never points at bytes that are not stored; `pull_items` has already
/// stored and dropped the media of items it batches). Blocking.
fn store_item_batch(
    store: &Store,
    batch: &[(Assignment, FetchedItem)],
) -> std::result::Result<(), StoreError> {
    for (_, f) in batch {
        for bytes in &f.media {
            store.put_blob(bytes)?;
        }
    }
    let writes: Vec<ScopedItemWrite<'_>> = batch
        .iter()
        .map(|(a, f)| ScopedItemWrite {
            assignment_id: &a.id,
            item: &f.scoped,
            reviewed: f.reviewed.as_ref(),
            own: f.own.as_ref(),
        })
        .collect();
    store.put_scoped_items(&writes)
}

/// How an item is named in messages: its title, else its id.
fn item_label(a: &Assignment) -> String {
    if a.item_title.is_empty() {
        a.item_id.clone()
    } else {
        a.item_title.clone()
    }
}

/// An item as fetched and scoped, with the submissions the platform sent with it.
struct FetchedItem {
    scoped: assay_rubric::ScopedItem,
    reviewed: Option<assay_protocol::ReviewedSubmission>,
    own: Option<assay_protocol::ReviewedSubmission>,
    /// Bytes of media the connector downloaded with the item (Label Studio
    /// images), stored as blobs before it.
    media: Vec<Vec<u8>>,
}

impl SyncEngine {
    /// Fetch an item, drop the fields `rubric` hides before decoding, decode
    /// and scope it.
    async fn fetch_scoped_item(&self, a: &Assignment, rubric: &Rubric) -> Result<FetchedItem> {
        const ROUTE: &str = "GET /items/{id}";
        let fetched = match &self.client {
            // The protocol's envelope as sent: decoded once, straight into
            // the scoped item; hidden fields are skipped unparsed.
            Connector::Assay(c) => {
                let bytes = c.item_bytes(&a.item_id).await?;
                let env =
                    decode_scoped(&bytes, rubric).map_err(|e| SyncError::malformed(ROUTE, &e))?;
                FetchedItem {
                    scoped: env.scoped,
                    reviewed: env.reviewed,
                    own: env.own,
                    media: Vec::new(),
                }
            }
            // A mapped envelope whose media the connector rewrites in place.
            Connector::LabelStudio(_) => {
                let mut raw = self.client.item_raw(&a.item_id).await?;
                let visible: HashSet<&str> = rubric.fields.iter().map(|f| f.id.as_str()).collect();
                strip_hidden_fields(&mut raw, &visible);
                // Only now, with hidden fields gone: nothing hidden is ever fetched.
                let media = self.client.resolve_media(&mut raw).await?;
                let env: assay_protocol::ItemEnvelope =
                    serde_json::from_value(raw).map_err(|e| SyncError::malformed(ROUTE, &e))?;
                // Scope BEFORE storing: hidden fields never reach the disk.
                FetchedItem {
                    scoped: scope_item(env.item, rubric),
                    reviewed: env.reviewed_submission,
                    own: env.own_submission,
                    media,
                }
            }
        };
        if fetched.scoped.item_id != a.item_id {
            return Err(SyncError::Protocol(format!(
                "asked for item {}, the platform sent another one",
                a.item_id
            )));
        }
        Ok(fetched)
    }

    /// Store a fetched item with the submissions that came with it.
    fn put_fetched_item(
        &self,
        a: &Assignment,
        f: &FetchedItem,
    ) -> std::result::Result<(), StoreError> {
        // Media first: the item never points at bytes that are not stored.
        for bytes in &f.media {
            self.store.put_blob(bytes)?;
        }
        self.store
            .put_scoped_item(&a.id, &f.scoped, f.reviewed.as_ref())?;
        self.store.put_own_submission(&a.id, f.own.as_ref())
    }

    pub(super) async fn pull_items(
        &self,
        pull: &mut PullState,
        progress: &impl Progress,
    ) -> Result<()> {
        let (todo, mut p) =
            self.phase_todo(SyncPhase::Items, Store::assignments_missing_items, progress)?;
        // Each rubric version is read and parsed once, not once per item.
        let mut rubrics: HashMap<(String, u32), Option<Rubric>> = HashMap::new();
        for a in &todo {
            if let std::collections::hash_map::Entry::Vacant(e) =
                rubrics.entry((a.rubric_id.clone(), a.rubric_version))
            {
                e.insert(self.store.rubric(&a.rubric_id, a.rubric_version)?);
            }
        }
        let rubrics = &rubrics;
        let results = stream::iter(todo)
            .map(|a| async move {
                let fetched = match rubrics.get(&(a.rubric_id.clone(), a.rubric_version)) {
                    Some(Some(rubric)) => self.fetch_scoped_item(&a, rubric).await.map(Some),
                    _ => Ok(None),
                };
                (a, fetched)
            })
            .buffer_unordered(self.config.item_concurrency.max(1));
        let mut fatal = None;
        // Fetched items are stored in batches of at least ITEM_WRITE_BATCH
        // (one transaction each) on a blocking thread, while the next ones
        // download: a commit per item would rewrite the same index pages
        // thousands of times and stall the downloads while it writes.
        let mut chunks = results.ready_chunks(ITEM_WRITE_BATCH);
        let mut pending: Vec<(Assignment, FetchedItem)> = Vec::new();
        let mut writing: Option<tokio::task::JoinHandle<ItemBatch>> = None;
        let mut fetching = true;
        while fetching || writing.is_some() || !pending.is_empty() {
            if writing.is_none()
                && (pending.len() >= ITEM_WRITE_BATCH || (!fetching && !pending.is_empty()))
            {
                let batch = std::mem::take(&mut pending);
                let store = Arc::clone(&self.store);
                writing = Some(tokio::task::spawn_blocking(move || {
                    let stored = store_item_batch(&store, &batch);
                    (batch, stored)
                }));
            }
            let mut written = None;
            tokio::select! {
                chunk = chunks.next(), if fetching => match chunk {
                    Some(chunk) => {
                        for (a, fetched) in chunk {
                            p.count(1);
                            match fetched {
                                Ok(Some(mut x)) => {
                                    // Media (Label Studio images, up to the
                                    // attachment limit each) is stored as it
                                    // arrives, so a batch waiting to be
                                    // written holds only the items' JSON.
                                    for bytes in std::mem::take(&mut x.media) {
                                        self.store.put_blob(&bytes)?;
                                    }
                                    pending.push((a, x));
                                }
                                Ok(None) => pull.report.errors.push(format!(
                                    "item {}: rubric {} v{} unavailable; not stored",
                                    a.item_id, a.rubric_id, a.rubric_version
                                )),
                                Err(e) => {
                                    let label = item_label(&a);
                                    if let Err(e) = self.item_failed(
                                        QuarantineKind::Item, &a.id, &label, e, pull,
                                    ) {
                                        fatal.get_or_insert(e);
                                    }
                                }
                            }
                        }
                        progress(p.clone());
                    }
                    None => fetching = false,
                },
                done = join_writer(&mut writing), if writing.is_some() => written = Some(done),
            }
            if let Some(done) = written {
                writing = None;
                let (batch, stored) = done?;
                self.finish_item_batch(&batch, stored, pull)?;
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// After a batch was written: release its items from quarantine and
    /// count them. When the batch was refused for an invalid attachment
    /// reference, each item is stored alone so only the bad ones fail.
    fn finish_item_batch(
        &self,
        batch: &[(Assignment, FetchedItem)],
        stored: std::result::Result<(), StoreError>,
        pull: &mut PullState,
    ) -> Result<()> {
        match stored {
            Ok(()) => {
                let ids: Vec<&str> = batch.iter().map(|(a, _)| a.id.as_str()).collect();
                self.store.release_quarantines(QuarantineKind::Item, &ids)?;
                add_count(&mut pull.report.items, batch.len());
                Ok(())
            }
            Err(StoreError::InvalidDigest(_)) => {
                for (a, f) in batch {
                    match self.put_fetched_item(a, f) {
                        Ok(()) => {
                            self.store.release_quarantine(QuarantineKind::Item, &a.id)?;
                            add_count(&mut pull.report.items, 1);
                        }
                        Err(e @ StoreError::InvalidDigest(_)) => {
                            let e = SyncError::Protocol(format!(
                                "an attachment reference is invalid: {e}"
                            ));
                            let label = item_label(a);
                            self.item_failed(QuarantineKind::Item, &a.id, &label, e, pull)?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Downloads one assignment's item now (the reviewer opened work this
    /// machine never downloaded, e.g. finished work from before it synced),
    /// scoped by its rubric before it is stored; the rubric is fetched first
    /// when missing. Attachments follow with the next sync.
    pub async fn fetch_item(&self, a: &Assignment) -> Result<()> {
        let rubric = if let Some(r) = self.store.rubric(&a.rubric_id, a.rubric_version)? {
            r
        } else {
            let r = self.fetch_rubric(&a.rubric_id, a.rubric_version).await?;
            self.store.put_rubric(&r)?;
            let key = rubric_key(&a.rubric_id, a.rubric_version);
            self.store
                .release_quarantine(QuarantineKind::Rubric, &key)?;
            r
        };
        let fetched = self.fetch_scoped_item(a, &rubric).await?;
        self.put_fetched_item(a, &fetched)?;
        self.store.release_quarantine(QuarantineKind::Item, &a.id)?;
        Ok(())
    }
}
