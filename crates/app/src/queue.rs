//! The work queue: filter, search, sort and group the store's rows, and hand
//! the UI one window at a time (the UI virtualizes; 10,000 rows are fine).
//!
//! A window is read from the store's queue index in the order asked for
//! ([`Store::queue_window`]): the rows of the window are decoded, not the
//! whole queue, and a write re-derives only the rows it touched.
//! [`uncached_page`], which builds the whole queue, is the reference the
//! tests hold it to.

use std::collections::{BTreeMap, HashMap};

use assay_protocol::Opportunity;
use assay_store::{HeldBack, QuarantineKind, QueueQuery, QueueRow, QueueStatus, Store};
use chrono::{DateTime, Utc};

use crate::error::AppResult;
use crate::types::{OpportunityRef, QueueEntry, QueueFilter, QueueGroup, QueuePage, QueueSort};

/// Largest window one call returns.
const MAX_LIMIT: u32 = 500;

/// The opportunity's id, title, buyer and licence, from the store (the id as title when it is unknown).
pub fn opportunity_ref(store: &Store, id: &str) -> AppResult<OpportunityRef> {
    let found = store.opportunities()?.into_iter().find(|o| o.id == id);
    Ok(match found {
        Some(o) => OpportunityRef {
            id: o.id,
            title: o.title,
            buyer: o.buyer,
            licence_category: o.licence_category,
        },
        None => OpportunityRef {
            id: id.to_string(),
            title: id.to_string(),
            buyer: "unknown".into(),
            licence_category: "unknown".into(),
        },
    })
}

/// The row the UI gets for a stored queue row in its opportunity group.
fn entry(opportunity_title: String, r: QueueRow) -> QueueEntry {
    QueueEntry {
        assignment_id: r.assignment_id,
        item_id: r.item_id,
        title: r.title,
        opportunity_id: r.opportunity_id,
        opportunity_title,
        kind: r.kind,
        status: r.status,
        due_at: r.due_at,
        lease_expires_at: r.lease_expires_at,
        pay_basis: r.pay.as_ref().map(|p| p.basis),
        pay_cents: r.pay.as_ref().map(|p| p.amount_cents),
        currency: r.pay.map(|p| p.currency),
        downloaded: r.downloaded,
        held_back: r.held_back.as_ref().map(held_back_text),
    }
}

/// What the reviewer reads about content the sync holds back (on the queue
/// row and on the item screen).
pub fn held_back_text(h: &HeldBack) -> String {
    match h.kind {
        QuarantineKind::Rubric => format!(
            "Held back: its rubric was refused ({}). Retried with the next syncs.",
            h.reason
        ),
        _ => format!(
            "Held back: {}. Retried with the next syncs.",
            h.reason.trim_end_matches('.')
        ),
    }
}

fn matches(row: &QueueRow, filter: &QueueFilter, needle: &str) -> bool {
    if !filter.statuses.is_empty() && !filter.statuses.contains(&row.status) {
        return false;
    }
    if let Some(o) = &filter.opportunity_id {
        if &row.opportunity_id != o {
            return false;
        }
    }
    if let Some(k) = filter.kind {
        if row.kind != k {
            return false;
        }
    }
    if needle.is_empty() {
        return true;
    }
    row.title.to_lowercase().contains(needle)
        || row.item_id.to_lowercase().contains(needle)
        || row.assignment_id.to_lowercase().contains(needle)
        || row
            .opportunity_title
            .as_deref()
            .is_some_and(|t| t.to_lowercase().contains(needle))
}

/// Hourly pay is compared per hour of the rubric's estimate where known; here
/// simply by amount, the rate card's own unit.
fn pay_key(row: &QueueRow) -> i64 {
    row.pay.as_ref().map_or(0, |p| p.amount_cents)
}

/// The store's query for `filter` (its search trimmed and lower-cased as
/// `search` is).
fn query<'a>(filter: &'a QueueFilter, search: &'a str) -> QueueQuery<'a> {
    QueueQuery {
        statuses: &filter.statuses,
        opportunity_id: filter.opportunity_id.as_deref(),
        kind: filter.kind,
        search,
        order: filter.sort,
    }
}

/// One window of the queue under `filter`, read from the store's queue
/// index in the order asked for (see [`Store::queue_window`]).
pub fn page(store: &Store, filter: &QueueFilter, offset: u32, limit: u32) -> AppResult<QueuePage> {
    page_at(store, filter, offset, limit, Utc::now())
}

pub(crate) fn page_at(
    store: &Store,
    filter: &QueueFilter,
    offset: u32,
    limit: u32,
    now: DateTime<Utc>,
) -> AppResult<QueuePage> {
    let search = filter.search.trim().to_lowercase();
    let window =
        match store.queue_window(&query(filter, &search), offset, limit.min(MAX_LIMIT), now) {
            Ok(w) => w,
            // The index could not be brought up to date (e.g. a full disk: it
            // is written before it is read): the same answer, built the slow
            // way, rather than no queue.
            Err(e) => {
                tracing::warn!(error = %e, "queue index unavailable; building the whole queue");
                return uncached_page(store, filter, offset, limit, now);
            }
        };
    let opportunities = opportunities_by_id(store)?;
    let mut first_index = 0u32;
    let groups = window
        .groups
        .into_iter()
        .map(|g| {
            let group = queue_group(
                g.opportunity_id,
                g.title,
                first_index,
                g.count,
                &opportunities,
            );
            first_index = first_index.saturating_add(g.count);
            group
        })
        .collect();
    Ok(QueuePage {
        total: window.total,
        offset,
        rows: window
            .rows
            .into_iter()
            .map(|r| entry(r.group_title().to_owned(), r))
            .collect(),
        groups,
        status_counts: window.status_counts,
    })
}

/// What the reference page starts from.
struct StoredQueue {
    /// The whole queue as stored.
    rows: Vec<QueueRow>,
    /// The opportunities, by id.
    opportunities: HashMap<String, Opportunity>,
    /// How many rows have each status.
    status_counts: BTreeMap<QueueStatus, u32>,
}

/// Order of two rows of one opportunity by the chosen sort (pay: highest first).
fn by_sort(sort: QueueSort, a: &QueueRow, b: &QueueRow) -> std::cmp::Ordering {
    match sort {
        QueueSort::Due => a.due_at.cmp(&b.due_at),
        QueueSort::Lease => a.lease_expires_at.cmp(&b.lease_expires_at),
        QueueSort::Pay => pay_key(b).cmp(&pay_key(a)),
        QueueSort::Title => a.title.cmp(&b.title),
    }
}

/// The title a row's group is shown under: the row's opportunity title,
/// else the stored opportunity's, else its id.
fn group_title(r: &QueueRow, opportunities: &HashMap<String, Opportunity>) -> String {
    r.opportunity_title
        .clone()
        .or_else(|| {
            opportunities
                .get(&r.opportunity_id)
                .map(|o| o.title.clone())
        })
        .unwrap_or_else(|| r.opportunity_id.clone())
}

/// Order of two rows within the groups of the queue: by opportunity, then
/// the chosen sort, then assignment id.
fn in_group(sort: QueueSort, a: &QueueRow, b: &QueueRow) -> std::cmp::Ordering {
    a.opportunity_id
        .cmp(&b.opportunity_id)
        .then_with(|| by_sort(sort, a, b))
        .then_with(|| a.assignment_id.cmp(&b.assignment_id))
}

/// Counts `r` (at `index` of the sorted queue) into the last of `groups`
/// when it is of the same opportunity, else starts a group titled `title()`.
fn add_to_groups(
    groups: &mut Vec<QueueGroup>,
    index: usize,
    r: &QueueRow,
    title: impl FnOnce() -> String,
    opportunities: &HashMap<String, Opportunity>,
) {
    match groups.last_mut() {
        Some(g) if g.opportunity_id == r.opportunity_id => g.count += 1,
        _ => groups.push(queue_group(
            r.opportunity_id.clone(),
            title(),
            u32::try_from(index).unwrap_or(u32::MAX),
            1,
            opportunities,
        )),
    }
}

/// The stored opportunities, by id.
fn opportunities_by_id(store: &Store) -> AppResult<HashMap<String, Opportunity>> {
    Ok(store
        .opportunities()?
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect())
}

/// An opportunity group of the queue, with the stored opportunity's buyer
/// and licence (empty when it is unknown).
fn queue_group(
    opportunity_id: String,
    opportunity_title: String,
    first_index: u32,
    count: u32,
    opportunities: &HashMap<String, Opportunity>,
) -> QueueGroup {
    let o = opportunities.get(&opportunity_id);
    QueueGroup {
        buyer: o.map(|o| o.buyer.clone()).unwrap_or_default(),
        licence_category: o.map(|o| o.licence_category.clone()).unwrap_or_default(),
        opportunity_id,
        opportunity_title,
        first_index,
        count,
    }
}

fn read_queue(store: &Store, now: DateTime<Utc>) -> AppResult<StoredQueue> {
    let rows = store.queue(now)?;
    let opportunities = opportunities_by_id(store)?;
    let mut status_counts = BTreeMap::new();
    for r in &rows {
        *status_counts.entry(r.status).or_insert(0u32) += 1;
    }
    Ok(StoredQueue {
        rows,
        opportunities,
        status_counts,
    })
}

/// The queue page as it was before the queue index and its cache, kept as it
/// was but for the clock (a parameter): every call reads, filters and sorts
/// the whole queue, the group title computed per comparison. What a window
/// falls back to when the index cannot be brought up to date, the reference
/// the unit tests hold the indexed pages to and the "before" that
/// `examples/queue_bench.rs` times.
#[doc(hidden)]
pub fn uncached_page(
    store: &Store,
    filter: &QueueFilter,
    offset: u32,
    limit: u32,
    now: DateTime<Utc>,
) -> AppResult<QueuePage> {
    let StoredQueue {
        rows,
        opportunities,
        status_counts,
    } = read_queue(store, now)?;
    let needle = filter.search.trim().to_lowercase();
    let mut picked: Vec<QueueRow> = rows
        .into_iter()
        .filter(|r| matches(r, filter, &needle))
        .collect();
    let group_title = |r: &QueueRow| group_title(r, &opportunities);
    picked.sort_by(|a, b| {
        group_title(a)
            .cmp(&group_title(b))
            .then_with(|| in_group(filter.sort, a, b))
    });
    let mut groups: Vec<QueueGroup> = Vec::new();
    for (i, r) in picked.iter().enumerate() {
        add_to_groups(&mut groups, i, r, || group_title(r), &opportunities);
    }
    let total = picked.len() as u32;
    let limit = limit.min(MAX_LIMIT);
    let rows = picked
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|r| {
            let opportunity_title = group_title(&r);
            entry(opportunity_title, r)
        })
        .collect();
    Ok(QueuePage {
        total,
        offset,
        rows,
        groups,
        status_counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_protocol::{
        Assignment, AssignmentKind, AssignmentState, OutcomeStatus, PayBasis, Rate, RateCard,
        ReviewOutcome, SubmissionRequest,
    };
    use assay_rubric::{Answer, Answers, ScopedItem};
    use chrono::{Duration, TimeZone};

    /// [`uncached_page`]: the reference the indexed pages must equal.
    fn legacy_page(
        store: &Store,
        filter: &QueueFilter,
        offset: u32,
        limit: u32,
        now: DateTime<Utc>,
    ) -> QueuePage {
        uncached_page(store, filter, offset, limit, now).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
            .single()
            .unwrap()
    }

    const OPPS: &[(&str, &str)] = &[
        ("opp-rust", "Rust diffs"),
        ("opp-legal", "Contrats — révision"),
        ("opp-scan", "Scan triage"),
        ("opp-pair", "Rust diffs"), // same title as another opportunity
    ];

    /// A deterministic pseudo-random sequence (no dependency, same every run).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    fn assignment(i: u64, rng: &mut u64) -> Assignment {
        // Five opportunities: one unknown to the store (grouped by its id).
        let opp = match i % 5 {
            4 => "opp-unknown".to_string(),
            k => OPPS[k as usize].0.to_string(),
        };
        let titles = [
            "Fix parser",
            "fix PARSER overflow",
            "Straße Ölmühle",
            "",
            "Scan 7",
        ];
        Assignment {
            id: format!("as-{:05}", lcg(rng) % 100_000),
            item_id: format!("item-{i}"),
            item_title: format!("{} {}", titles[(i % 5) as usize], i % 37),
            opportunity_id: opp,
            rubric_id: "rub".into(),
            rubric_version: 1,
            kind: if i.is_multiple_of(13) {
                AssignmentKind::Screening
            } else {
                AssignmentKind::Grade
            },
            state: match i % 29 {
                0 => AssignmentState::Completed,
                1 => AssignmentState::Expired,
                _ => AssignmentState::Active,
            },
            assigned_at: t0() - Duration::days(2),
            // Leases run out all over the next hours (and some already did).
            lease_expires_at: t0() + Duration::minutes((lcg(rng) % 600) as i64 - 60),
            // Ties on purpose: many rows share a due date.
            due_at: t0() + Duration::hours((lcg(rng) % 48) as i64),
            review_of_submission_id: None,
            seq: i as i64 + 1,
            item_revision: 1,
        }
    }

    fn answers(text: &str) -> Answers {
        let mut a = Answers::default();
        a.answers
            .insert("q1".into(), Answer::FreeText { text: text.into() });
        a
    }

    /// A store shaped like a reviewer's after syncing a large queue: several
    /// opportunities and rates, downloaded and missing items, drafts, ready
    /// drafts, outbox entries, decided submissions, expired leases and
    /// orphaned work.
    fn realistic_store(n: u64) -> (tempfile::TempDir, Store, Vec<Assignment>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut rng = 7u64;
        let mut list: Vec<Assignment> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut i = 0;
        while (list.len() as u64) < n {
            let a = assignment(i, &mut rng);
            i += 1;
            if seen.insert(a.id.clone()) {
                list.push(a);
            }
        }
        for chunk in list.chunks(500) {
            store.apply_assignment_page(chunk, "c").unwrap();
        }
        store
            .put_opportunities(
                &OPPS
                    .iter()
                    .map(|(id, title)| Opportunity {
                        id: (*id).into(),
                        title: (*title).into(),
                        description: String::new(),
                        rubric_id: "rub".into(),
                        rubric_version: 1,
                        licence_category: "commercial-training".into(),
                        buyer: format!("buyer of {id}"),
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let rate = |opp: &str, basis, cents, days: i64| Rate {
            opportunity_id: opp.into(),
            basis,
            amount_cents: cents,
            currency: "USD".into(),
            effective_from: t0() - Duration::days(days),
        };
        store
            .set_rate_card(&RateCard {
                rates: vec![
                    rate("opp-rust", PayBasis::PerItem, 500, 30),
                    rate("opp-rust", PayBasis::PerItem, 700, 1),
                    rate("opp-legal", PayBasis::PerHour, 4_500, 10),
                    rate("opp-scan", PayBasis::PerSubmission, 300, 10),
                ],
            })
            .unwrap();
        for (k, a) in list.iter().enumerate() {
            if k.is_multiple_of(4) {
                let item = ScopedItem {
                    item_id: a.item_id.clone(),
                    opportunity_id: a.opportunity_id.clone(),
                    // The stored item's title wins over the feed's.
                    title: if k.is_multiple_of(8) {
                        format!("Stored {}", a.item_title)
                    } else {
                        String::new()
                    },
                    rubric_id: "rub".into(),
                    rubric_version: 1,
                    fields: vec![],
                    missing_fields: vec![],
                };
                store.put_scoped_item(&a.id, &item, None).unwrap();
            }
            if k.is_multiple_of(3) {
                store
                    .save_draft_with(&a.id, &answers("x"), k.is_multiple_of(7))
                    .unwrap();
            }
            if k.is_multiple_of(17) {
                store.submit(&a.id, &request(&a.id)).unwrap();
            }
        }
        let statuses = [
            OutcomeStatus::Pending,
            OutcomeStatus::Accepted,
            OutcomeStatus::Rejected,
            OutcomeStatus::NeedsRevision,
        ];
        let outcomes: Vec<ReviewOutcome> = list
            .iter()
            .enumerate()
            .filter(|(k, _)| k.is_multiple_of(19))
            .map(|(k, a)| ReviewOutcome {
                submission_id: format!("sub-{}", a.id),
                assignment_id: a.id.clone(),
                item_id: a.item_id.clone(),
                status: statuses[k % 4],
                feedback: None,
                decided_at: Some(t0() - Duration::hours(1)),
                active_seconds: 60,
                seq: k as i64 + 1,
            })
            .collect();
        store.apply_outcome_page(&outcomes, "o").unwrap();
        // Revoked work: shown while it holds a draft, hidden otherwise.
        let revoked: Vec<Assignment> = list
            .iter()
            .step_by(23)
            .map(|a| Assignment {
                state: AssignmentState::Revoked,
                seq: a.seq + 1_000_000,
                ..a.clone()
            })
            .collect();
        store.apply_assignment_page(&revoked, "c2").unwrap();
        (dir, store, list)
    }

    /// The scan opportunity gets a new title (and licence and buyer).
    fn rename_scan_opportunity(store: &Store) {
        store
            .put_opportunities(&[Opportunity {
                id: "opp-scan".into(),
                title: "Aardvark scans".into(),
                description: String::new(),
                rubric_id: "rub".into(),
                rubric_version: 1,
                licence_category: "research".into(),
                buyer: "b".into(),
            }])
            .unwrap();
    }

    fn request(id: &str) -> SubmissionRequest {
        SubmissionRequest {
            assignment_id: id.into(),
            rubric_id: "rub".into(),
            rubric_version: 1,
            answers: serde_json::json!({"q1": {"type": "free_text", "text": "x"}}),
            active_seconds: 60,
            time_log: vec![],
            client_created_at: t0(),
        }
    }

    fn filters() -> Vec<QueueFilter> {
        let mut out = Vec::new();
        for sort in [
            QueueSort::Due,
            QueueSort::Lease,
            QueueSort::Pay,
            QueueSort::Title,
        ] {
            out.push(QueueFilter {
                sort,
                ..QueueFilter::default()
            });
        }
        out.push(QueueFilter {
            statuses: vec![QueueStatus::Draft, QueueStatus::Ready, QueueStatus::New],
            ..QueueFilter::default()
        });
        out.push(QueueFilter {
            opportunity_id: Some("opp-legal".into()),
            sort: QueueSort::Pay,
            ..QueueFilter::default()
        });
        out.push(QueueFilter {
            kind: Some(AssignmentKind::Screening),
            ..QueueFilter::default()
        });
        for search in [
            "parser",
            " STRASSE ",
            "straße",
            "rust",
            "as-0",
            "zzz-nothing",
        ] {
            out.push(QueueFilter {
                search: search.into(),
                sort: QueueSort::Title,
                ..QueueFilter::default()
            });
        }
        out
    }

    /// Every window of every filter equals the old, uncached answer at `now`.
    fn assert_same_as_legacy(store: &Store, now: DateTime<Utc>) {
        // The ids by status (what notifications read) too.
        let all = store.queue(now).unwrap();
        for s in QueueStatus::ALL {
            let mut want: Vec<String> = all
                .iter()
                .filter(|r| r.status == s)
                .map(|r| r.assignment_id.clone())
                .collect();
            want.sort();
            assert_eq!(store.queue_ids_with_status(s, now).unwrap(), want, "{s:?}");
        }
        for filter in filters() {
            // The old answer, in its largest windows (each a full rebuild).
            let first = legacy_page(store, &filter, 0, MAX_LIMIT, now);
            let mut legacy_rows = first.rows.clone();
            while (legacy_rows.len() as u32) < first.total {
                let next = legacy_page(store, &filter, legacy_rows.len() as u32, MAX_LIMIT, now);
                assert_eq!(next.total, first.total);
                legacy_rows.extend(next.rows);
            }
            let mut offset = 0u32;
            loop {
                let indexed = page_at(store, &filter, offset, 100, now).unwrap();
                let want: Vec<QueueEntry> = legacy_rows
                    .iter()
                    .skip(offset as usize)
                    .take(100)
                    .cloned()
                    .collect();
                assert_eq!(indexed.rows, want, "filter {filter:?} offset {offset}");
                assert_eq!(indexed.total, first.total, "{filter:?}");
                assert_eq!(indexed.offset, offset);
                assert_eq!(indexed.groups, first.groups, "{filter:?}");
                assert_eq!(indexed.status_counts, first.status_counts, "{filter:?}");
                if offset > indexed.total {
                    break;
                }
                offset += 100;
            }
            // Windows wider than the largest one are clamped alike.
            assert_eq!(
                page_at(store, &filter, 37, 10_000, now).unwrap(),
                legacy_page(store, &filter, 37, 10_000, now)
            );
        }
    }

    #[test]
    fn cached_pages_equal_the_rebuilt_queue_on_a_realistic_set() {
        let (_dir, store, list) = realistic_store(2_000);
        let now = t0();
        let all = legacy_page(&store, &QueueFilter::default(), 0, 0, now);
        // The set exercises every status the queue shows.
        for s in [
            QueueStatus::New,
            QueueStatus::Draft,
            QueueStatus::Ready,
            QueueStatus::InOutbox,
            QueueStatus::Submitted,
            QueueStatus::Accepted,
            QueueStatus::Rejected,
            QueueStatus::NeedsRevision,
            QueueStatus::LeaseExpired,
            QueueStatus::Orphaned,
        ] {
            assert!(
                all.status_counts.get(&s).copied().unwrap_or(0) > 0,
                "{s:?}: {:?}",
                all.status_counts
            );
        }
        assert!(all.groups.len() >= 5);
        assert_same_as_legacy(&store, now);

        // Writes between calls are seen on the next call.
        let a = &list[1];
        store
            .save_draft_with(&a.id, &answers("ready"), true)
            .unwrap();
        store.submit(&list[2].id, &request(&list[2].id)).unwrap();
        rename_scan_opportunity(&store);
        let mut moved = list[5].clone();
        moved.seq += 2_000_000;
        moved.due_at = t0() - Duration::days(3);
        moved.lease_expires_at = t0() - Duration::minutes(1);
        store.apply_assignment_page(&[moved], "c3").unwrap();
        // A page of assignments derived its rows in its own commit.
        assert_eq!(store.refresh_queue_index().unwrap(), 0);
        assert_same_as_legacy(&store, now);

        // Time alone changes statuses when leases run out: later clocks
        // (past several lease expiries) still match.
        for minutes in [59, 61, 600] {
            assert_same_as_legacy(&store, now + Duration::minutes(minutes));
        }
    }

    #[test]
    fn a_lease_running_out_is_seen_without_any_write() {
        let (_dir, store, _list) = realistic_store(600);
        let filter = QueueFilter {
            sort: QueueSort::Lease,
            ..QueueFilter::default()
        };
        let mut changed = 0;
        let mut previous = legacy_page(&store, &filter, 0, MAX_LIMIT, t0()).status_counts;
        // Minute by minute across the leases' spread: the cached answer
        // always equals the rebuilt one, and statuses do change on the way.
        for minute in (0..=600).step_by(3) {
            let now = t0() + Duration::minutes(minute);
            let want = legacy_page(&store, &filter, 0, MAX_LIMIT, now);
            assert_eq!(
                page_at(&store, &filter, 0, MAX_LIMIT, now).unwrap(),
                want,
                "at +{minute} min"
            );
            if want.status_counts != previous {
                changed += 1;
                previous = want.status_counts;
            }
        }
        assert!(changed > 10, "leases ran out at {changed} minutes only");
    }

    #[test]
    fn a_write_derives_only_the_rows_it_touched() {
        let (_dir, store, list) = realistic_store(1_000);
        let filter = QueueFilter::default();
        let now = t0();
        let first = page_at(&store, &filter, 0, 100, now).unwrap();
        // Scrolling derives nothing again.
        let mut offset = 100;
        while offset < first.total {
            page_at(&store, &filter, offset, 100, now).unwrap();
            assert_eq!(store.refresh_queue_index().unwrap(), 0, "offset {offset}");
            offset += 100;
        }
        // A draft's first save marks its row; later saves that leave it
        // as it was mark nothing.
        let fresh = list
            .iter()
            .find(|a| {
                first
                    .rows
                    .iter()
                    .any(|r| r.assignment_id == a.id && r.status == QueueStatus::New)
            })
            .unwrap();
        store.save_draft(&fresh.id, &answers("one")).unwrap();
        assert_eq!(store.refresh_queue_index().unwrap(), 1);
        store.save_draft(&fresh.id, &answers("two")).unwrap();
        assert_eq!(store.refresh_queue_index().unwrap(), 0);
        let row = page_at(&store, &filter, 0, MAX_LIMIT, now)
            .unwrap()
            .rows
            .into_iter()
            .find(|r| r.assignment_id == fresh.id)
            .unwrap();
        assert_eq!(row.status, QueueStatus::Draft);
        // An opportunity's new title marks the rows of that opportunity only.
        let of_scan = list
            .iter()
            .filter(|a| a.opportunity_id == "opp-scan")
            .count();
        rename_scan_opportunity(&store);
        assert_eq!(store.refresh_queue_index().unwrap(), of_scan);
        assert_same_as_legacy(&store, now);

        // An item changes its row only through its title: stored again as
        // it was, or new with its assignment's own title, it marks nothing
        // (as a pull stores every item); a title of its own marks its row.
        let item = |a: &Assignment, title: &str| ScopedItem {
            item_id: a.item_id.clone(),
            opportunity_id: a.opportunity_id.clone(),
            title: title.into(),
            rubric_id: "rub".into(),
            rubric_version: 1,
            fields: vec![],
            missing_fields: vec![],
        };
        let titled = &list[0]; // stored with a title of its own
        let stored = store.scoped_item(&titled.id).unwrap().unwrap();
        store.put_scoped_item(&titled.id, &stored, None).unwrap();
        let (fresh_a, fresh_b) = (&list[1], &list[2]); // no item stored
        assert!(store.scoped_item(&fresh_a.id).unwrap().is_none());
        store
            .put_scoped_item(&fresh_a.id, &item(fresh_a, &fresh_a.item_title), None)
            .unwrap();
        assert_eq!(store.refresh_queue_index().unwrap(), 0);
        store
            .put_scoped_item(&fresh_b.id, &item(fresh_b, "Retitled by its item"), None)
            .unwrap();
        assert_eq!(store.refresh_queue_index().unwrap(), 1);
        assert_same_as_legacy(&store, now);
    }

    #[test]
    fn a_queue_index_that_cannot_be_written_falls_back_to_building_the_queue() {
        let (dir, store, _list) = realistic_store(300);
        let filter = QueueFilter::default();
        let now = t0();
        let want = legacy_page(&store, &filter, 0, 100, now);
        assert_eq!(page_at(&store, &filter, 0, 100, now).unwrap(), want);
        // A write marks a row, and the index can no longer be written (as
        // on a full disk): the window is still the right one.
        let fresh = want
            .rows
            .iter()
            .find(|r| r.status == QueueStatus::New)
            .unwrap();
        store
            .save_draft(&fresh.assignment_id, &answers("x"))
            .unwrap();
        rusqlite::Connection::open(dir.path().join(assay_store::DB_FILE))
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER no_room BEFORE INSERT ON queue_index \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
            )
            .unwrap();
        assert!(store.refresh_queue_index().is_err());
        assert_eq!(
            page_at(&store, &filter, 0, 100, now).unwrap(),
            legacy_page(&store, &filter, 0, 100, now)
        );
        // The ids of new work (what notifications read) too.
        let mut new_work: Vec<String> = store
            .queue(now)
            .unwrap()
            .into_iter()
            .filter(|r| r.status == QueueStatus::New)
            .map(|r| r.assignment_id)
            .collect();
        new_work.sort();
        assert!(!new_work.is_empty());
        assert_eq!(
            store.queue_ids_with_status(QueueStatus::New, now).unwrap(),
            new_work
        );
        assert_ne!(legacy_page(&store, &filter, 0, 100, now), want);
    }

    #[test]
    fn a_quarantined_assignment_shows_why_on_its_row_until_released() {
        let (_dir, store, list) = realistic_store(50);
        let filter = QueueFilter::default();
        let now = t0();
        let row_of = |id: &str| -> QueueEntry {
            let page = page_at(&store, &filter, 0, MAX_LIMIT, now).unwrap();
            page.rows
                .into_iter()
                .find(|r| r.assignment_id == id)
                .unwrap()
        };
        let first = page_at(&store, &filter, 0, 2, now).unwrap();
        let find = |id: &str| list.iter().find(|a| a.id == id).unwrap();
        let held = find(&first.rows[0].assignment_id);
        let other = find(&first.rows[1].assignment_id);
        // Built (and cached) before anything is quarantined.
        assert_eq!(row_of(&held.id).held_back, None);

        store
            .quarantine(
                QuarantineKind::Item,
                &held.id,
                "Item one",
                "the platform sent a malformed item",
                now + Duration::minutes(5),
            )
            .unwrap();
        let text = row_of(&held.id).held_back.expect("the row says why");
        assert!(text.starts_with("Held back: "), "{text}");
        assert!(
            text.contains("the platform sent a malformed item"),
            "{text}"
        );
        assert_eq!(row_of(&other.id).held_back, None, "only that row");
        assert_same_as_legacy(&store, now);

        // Released: the row no longer carries it.
        assert!(store
            .release_quarantine(QuarantineKind::Item, &held.id)
            .unwrap());
        assert_eq!(row_of(&held.id).held_back, None);

        // A refused rubric holds back every assignment using it, and says so.
        let key = format!("{}@{}", other.rubric_id, other.rubric_version);
        store
            .quarantine(
                QuarantineKind::Rubric,
                &key,
                "rubric",
                "nested too deeply",
                now + Duration::minutes(5),
            )
            .unwrap();
        let text = row_of(&other.id).held_back.expect("the row says why");
        assert!(
            text.contains("rubric was refused (nested too deeply)"),
            "{text}"
        );
        // (Every assignment here uses that rubric.)
        let page = page_at(&store, &filter, 0, MAX_LIMIT, now).unwrap();
        assert!(page.rows.iter().all(|r| r.held_back.is_some()));
        store
            .release_quarantine(QuarantineKind::Rubric, &key)
            .unwrap();
        assert_eq!(row_of(&other.id).held_back, None);
    }
}
