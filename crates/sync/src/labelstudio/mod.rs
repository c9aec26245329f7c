//! The Label Studio (Community) connector: Assay as the offline reviewer
//! client of a Label Studio server, behind the same [`crate::Connector`]
//! interface as the reference platform.
//!
//! How Label Studio maps onto Assay's protocol:
//!
//! | Label Studio | Assay |
//! |---|---|
//! | project the user can see | opportunity `ls-project-{id}` |
//! | project `label_config` (XML) | rubric `ls-project-{id}`, version = digest of the XML ([`config`]) |
//! | task | assignment and item `ls-task-{id}` (fields = task `data`, scoped by the rubric before storage) |
//! | annotation by this user | submission `ls-annotation-{id}`; the task shows as completed |
//! | task annotated only by others | reassigned (leaves the queue; a draft is kept) |
//!
//! - Auth: a legacy token (`Authorization: Token …`) or a personal access
//!   token (a refresh JWT exchanged at `/api/token/refresh/` for a 300 s
//!   access token sent as `Bearer`; refreshed ahead of expiry and on 401).
//! - Paging: `/api/projects/` (`count`/`next`) and
//!   `/api/tasks/?project=&page=&page_size=` (`{total, tasks}`); both answer 404
//!   past the end, so paging stops by `total`/`next`, and a 404 is the end.
//! - Upload: every answer is checked against the config ([`result`]), then
//!   `POST /api/tasks/{id}/annotations/` with `lead_time` = active seconds on
//!   the task and `unique_id` = `UUIDv5` of (server, task, reviewer, outbox key):
//!   a retry repeats the same id, Label Studio answers 409, and the task's
//!   annotations are read back to confirm what is stored (`completed_by` =
//!   the reviewer). Drafts stay local (Label Studio's drafts are writable by
//!   other users).
//! - Images: an `Image` field's file is downloaded by the sync engine from
//!   the Label Studio server only, with the reviewer's auth header and within
//!   bounds, stored as a content-addressed blob and shown in the scan viewer;
//!   anything else is shown as not downloaded, with the reason ([`media`]).
//! - No leases, review outcomes, rates, ledger or payouts: the feeds are
//!   empty and the app says that this platform does not report pay.
//! - Hardening is the reference client's: the same redirect policy, byte caps
//!   ([`crate::Limits`], `read_capped`), deadlines and error mapping; bad data
//!   (a config that does not parse, an HTML error page) quarantines only the
//!   project or task it came from.

mod client;
pub mod config;
pub mod media;
pub mod result;

pub use client::{LabelStudioAuth, LabelStudioClient};
