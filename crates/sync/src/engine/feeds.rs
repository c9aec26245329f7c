//! Cursor feeds (assignments, outcomes, ledger): paged to their end, each
//! page stored whole with its cursor while the next downloads, a repeated
//! cursor or an endless feed stopped.

use super::*;

/// Pages of one cursor feed within one pull: a repeated cursor or more than
/// `max_pages` pages stops the feed with an error.
pub(super) struct CursorGuard {
    feed: &'static str,
    seen: HashSet<String>,
    pages: u32,
    max_pages: u32,
}

impl CursorGuard {
    pub(super) fn new(feed: &'static str, start: Option<&str>, max_pages: u32) -> Self {
        Self {
            feed,
            seen: start.map(ToString::to_string).into_iter().collect(),
            pages: 0,
            max_pages,
        }
    }

    /// Check the next cursor of a page that says `has_more`.
    pub(super) fn next(&mut self, cursor: &str) -> Result<()> {
        self.pages = self.pages.saturating_add(1);
        if !self.seen.insert(cursor.to_string()) {
            return Err(SyncError::CursorCycle {
                feed: self.feed,
                cursor: clip(cursor),
            });
        }
        if self.pages >= self.max_pages {
            return Err(SyncError::Protocol(format!(
                "the {} feed did not end after {} pages",
                self.feed, self.max_pages
            )));
        }
        Ok(())
    }
}

/// A page of a cursor feed (assignments, outcomes, ledger).
pub(super) trait FeedPage {
    /// Pass as `since` to continue.
    fn next_cursor(&self) -> &str;
    /// Whether another page follows.
    fn has_more(&self) -> bool;
    /// How many entries the page holds.
    fn len(&self) -> usize;
}

macro_rules! feed_page {
    ($page:ty, $entries:ident) => {
        impl FeedPage for $page {
            fn next_cursor(&self) -> &str {
                &self.next_cursor
            }
            fn has_more(&self) -> bool {
                self.has_more
            }
            fn len(&self) -> usize {
                self.$entries.len()
            }
        }
    };
}

feed_page!(AssignmentPage, assignments);

feed_page!(OutcomePage, outcomes);

feed_page!(LedgerPage, entries);

/// A cursor feed the pull pages through (assignments, outcomes, ledger): the
/// store applies each page whole with its cursor, and the page adds to the
/// report.
pub(super) trait CountedFeed: FeedPage + Sized + Send + 'static {
    /// The feed's stored cursor.
    const CURSOR: &'static str;
    /// The phase progress reports while the feed is paged.
    const PHASE: SyncPhase;
    /// The page after `since`, of at most `limit` entries.
    fn fetch<'a>(
        client: &'a Connector,
        since: Option<&'a str>,
        limit: u32,
    ) -> impl std::future::Future<Output = Result<Self>> + Send + 'a;
    /// Store the page together with its next cursor (on a blocking thread).
    fn store(self, store: &Store) -> Result<StoredPage>;
    /// The report's count of this feed's entries.
    fn count(report: &mut PullReport) -> &mut u32;
}

/// What storing one feed page hands back to the pull's report.
pub(super) struct StoredPage {
    /// Entries the page held.
    entries: usize,
    /// Assignments that became orphaned holding a draft (assignment pages).
    orphaned_with_drafts: Vec<String>,
}

macro_rules! counted_feed {
    ($page:ty, $cursor:expr, $phase:expr, $fetch:ident, $apply:ident($entries:ident), $count:ident) => {
        impl CountedFeed for $page {
            const CURSOR: &'static str = $cursor;
            const PHASE: SyncPhase = $phase;
            fn fetch<'a>(
                client: &'a Connector,
                since: Option<&'a str>,
                limit: u32,
            ) -> impl std::future::Future<Output = Result<Self>> + Send + 'a {
                client.$fetch(since, Some(limit))
            }
            fn store(self, store: &Store) -> Result<StoredPage> {
                store.$apply(&self.$entries, &self.next_cursor)?;
                Ok(StoredPage {
                    entries: self.len(),
                    orphaned_with_drafts: Vec::new(),
                })
            }
            fn count(report: &mut PullReport) -> &mut u32 {
                &mut report.$count
            }
        }
    };
}

impl CountedFeed for AssignmentPage {
    const CURSOR: &'static str = cursor::ASSIGNMENTS;
    const PHASE: SyncPhase = SyncPhase::Assignments;
    fn fetch<'a>(
        client: &'a Connector,
        since: Option<&'a str>,
        limit: u32,
    ) -> impl std::future::Future<Output = Result<Self>> + Send + 'a {
        client.assignments(since, Some(limit))
    }
    /// Also lists the assignments that became orphaned holding a draft.
    fn store(self, store: &Store) -> Result<StoredPage> {
        let orphaned = store.apply_assignment_page(&self.assignments, &self.next_cursor)?;
        Ok(StoredPage {
            entries: self.assignments.len(),
            orphaned_with_drafts: orphaned,
        })
    }
    fn count(report: &mut PullReport) -> &mut u32 {
        &mut report.assignments
    }
}

counted_feed!(
    OutcomePage,
    cursor::OUTCOMES,
    SyncPhase::Outcomes,
    outcomes,
    apply_outcome_page(outcomes),
    outcomes
);

counted_feed!(
    LedgerPage,
    cursor::LEDGER,
    SyncPhase::Ledger,
    ledger,
    apply_ledger_page(entries),
    ledger_entries
);

impl SyncEngine {
    /// Pull one cursor feed page by page until it says there is no more,
    /// reporting `p` when it starts and with the count after each page.
    /// The feed's stored cursor (named `feed`) is where it starts; `write`
    /// stores a page together with its next cursor, on a blocking thread
    /// while the next page downloads, and `stored` takes in what it gave.
    /// A repeated cursor or an endless feed stops with an error (see
    /// [`CursorGuard`]).
    pub(super) async fn pull_feed<P, R, Fut>(
        &self,
        feed: &'static str,
        mut p: SyncProgress,
        progress: &impl Progress,
        fetch: impl Fn(Option<String>, u32) -> Fut,
        write: fn(P, &Store) -> Result<R>,
        mut stored: impl FnMut(R),
    ) -> Result<()>
    where
        P: FeedPage + Send + 'static,
        R: Send + 'static,
        Fut: std::future::Future<Output = Result<P>>,
    {
        // Named when it starts, not after its first page: a feed that is
        // slow to answer shows as itself, not as the phase before it.
        progress(p.clone());
        let cur = self.store.cursor(feed)?;
        let mut guard = CursorGuard::new(feed, cur.as_deref(), self.config.max_pages);
        let page_done = |p: &mut SyncProgress, len: usize| {
            p.count(len);
            p.items_total = p.items_done;
            progress(p.clone());
        };
        // Each request's future is boxed: held across the store's write
        // below, it would otherwise enlarge every future awaiting a pull.
        let mut page = Box::pin(fetch(cur, self.config.page_size)).await?;
        loop {
            let next = if page.has_more() {
                guard.next(page.next_cursor())?;
                Some(page.next_cursor().to_string())
            } else {
                None
            };
            let len = page.len();
            // The page is stored (a commit, with its fsync) while the next
            // one downloads, instead of the two taking turns. Each page
            // still commits with its own cursor, in order: a pull stopped
            // between them resumes after the last page stored, and a page
            // that fails to store stops the feed before the next one is.
            let store = Arc::clone(&self.store);
            let mut writing = tokio::task::spawn_blocking(move || write(page, &store));
            let Some(cursor) = next else {
                stored(writing.await??);
                page_done(&mut p, len);
                break;
            };
            let mut fetching = Box::pin(fetch(Some(cursor), self.config.page_size));
            let mut fetched = None;
            let written = loop {
                tokio::select! {
                    w = &mut writing => break w,
                    f = &mut fetching, if fetched.is_none() => fetched = Some(f),
                }
            };
            stored(written??);
            page_done(&mut p, len);
            page = match fetched {
                Some(f) => f?,
                None => fetching.await?,
            };
        }
        Ok(())
    }

    /// Pull a [`CountedFeed`] to its end, counting its entries into the report.
    pub(super) async fn pull_counted<P: CountedFeed>(
        &self,
        report: &mut PullReport,
        progress: &impl Progress,
    ) -> Result<()> {
        self.pull_feed(
            P::CURSOR,
            SyncProgress::new(P::PHASE),
            progress,
            |cur, limit| async move { P::fetch(&self.client, cur.as_deref(), limit).await },
            P::store,
            |page| {
                add_count(P::count(report), page.entries);
                report
                    .orphaned_with_drafts
                    .extend(page.orphaned_with_drafts);
            },
        )
        .await
    }
}
