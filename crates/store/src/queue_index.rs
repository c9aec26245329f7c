//! The queue's index (migration 9): what the queue filters and orders by,
//! one row per assignment it shows, so that a window of the queue is read in
//! the order asked for: O(window) rows decoded, whatever the queue's size.
//!
//! Triggers mark the assignments a write may have changed in `queue_dirty`;
//! [`Store::refresh_queue_index`] derives exactly those rows again, with the
//! same query and the same status rule as [`Store::queue`]. Time changes a
//! status only when a lease ends, so each row keeps both statuses (before
//! its lease's end, and from it on) and a window picks one by its clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use assay_protocol::AssignmentKind;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::Result;
use crate::items::{earns_rate, queue_row, queue_sql};
use crate::types::{QueueRow, QueueStatus};
use crate::{enum_str, Store};

/// Order of rows inside each opportunity group of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum QueueSort {
    /// Earliest due date first (the default).
    #[default]
    Due,
    /// Earliest lease expiry first.
    Lease,
    /// Highest pay first (items without a rate last).
    Pay,
    /// Title, alphabetically.
    Title,
}

/// Which rows of the queue a window is of.
#[derive(Debug, Clone, Copy)]
pub struct QueueQuery<'a> {
    /// Only rows with one of these statuses (all when empty).
    pub statuses: &'a [QueueStatus],
    /// Only rows of this opportunity.
    pub opportunity_id: Option<&'a str>,
    /// Only rows of this kind.
    pub kind: Option<AssignmentKind>,
    /// Only rows whose title, item id, assignment id or opportunity title
    /// contains this, compared lower-cased (all when empty).
    pub search: &'a str,
    /// The order within each group (groups by title, then opportunity id;
    /// ties by assignment id).
    pub order: QueueSort,
}

/// One opportunity's group of a queue window's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGroupCount {
    /// The opportunity.
    pub opportunity_id: String,
    /// The group's title: the opportunity's title, else its id.
    pub title: String,
    /// How many rows the query has in it.
    pub count: u32,
}

/// A window of the queue under a [`QueueQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueueWindow {
    /// How many rows the query has.
    pub total: u32,
    /// The window's rows, in order.
    pub rows: Vec<QueueRow>,
    /// The query's groups, in order.
    pub groups: Vec<QueueGroupCount>,
    /// How many rows of the whole queue (not only the query's) have each status.
    pub status_counts: BTreeMap<QueueStatus, u32>,
}

impl QueueRow {
    /// The title the row's group is shown under: its opportunity's title,
    /// else the opportunity's id.
    pub fn group_title(&self) -> &str {
        self.opportunity_title
            .as_deref()
            .unwrap_or(&self.opportunity_id)
    }
}

/// A status's position in [`QueueStatus::ALL`], as the index stores it.
fn status_code(s: QueueStatus) -> i64 {
    QueueStatus::ALL
        .iter()
        .position(|x| *x == s)
        .map_or(-1, |i| i as i64)
}

/// Nanoseconds since 1970, saturated beyond the years 1677–2262.
fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The status a row has at `:now`.
const STATUS_AT_NOW: &str = "CASE WHEN lease_ns <= :now THEN status_lapsed ELSE status_live END";

/// Derive the marked rows again; returns how many were marked. Called with
/// the connection held, so nothing writes in between.
fn refresh(conn: &mut Connection) -> Result<usize> {
    let marked: bool = conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM queue_dirty)")?
        .query_row([], |r| r.get(0))?;
    if !marked {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = derive_marked(&tx)?;
    tx.commit()?;
    Ok(n)
}

/// Derive the rows marked so far again inside `tx`, a write transaction
/// (a writer that marks many rows does it before its commit, so the
/// queue's next window finds them done); returns how many were marked.
pub(crate) fn derive_marked(tx: &rusqlite::Transaction<'_>) -> Result<usize> {
    let mut st = tx.prepare_cached(&queue_sql(
        "a.id IN (SELECT assignment_id FROM queue_dirty)",
    ))?;
    // A plain `INSERT`: the marked rows were deleted just before, and the
    // query gives one row per assignment. `OR REPLACE` made SQLite keep a
    // statement journal for every row (a replace may delete before it
    // inserts), copying each page the row changed.
    let mut insert = tx.prepare_cached(
        "INSERT INTO queue_index (assignment_id, group_title, opportunity_id, \
           kind, earns_rate, lease_ns, due_ns, status_live, status_lapsed, title, \
           search_title, search_item, search_assignment, search_opportunity) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    // Rows the queue no longer shows (orphaned without work, or gone)
    // go first; the shown ones are written back below. These statements
    // are cached too: a pull runs them once per page of assignments, and
    // parsing them cost more than running them.
    tx.prepare_cached(
        "DELETE FROM queue_index WHERE assignment_id IN (SELECT assignment_id FROM queue_dirty)",
    )?
    .execute([])?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        // The clock does not matter here: both statuses are kept.
        let Some((row, inputs)) = queue_row(r, DateTime::<Utc>::UNIX_EPOCH)? else {
            continue;
        };
        insert.execute(params![
            row.assignment_id,
            row.group_title(),
            row.opportunity_id,
            enum_str(&row.kind),
            earns_rate(row.kind),
            nanos(row.lease_expires_at),
            nanos(row.due_at),
            status_code(inputs.status_when(false)),
            status_code(inputs.status_when(true)),
            row.title,
            row.title.to_lowercase(),
            row.item_id.to_lowercase(),
            row.assignment_id.to_lowercase(),
            row.opportunity_title.as_deref().map(str::to_lowercase),
        ])?;
    }
    let n = tx.prepare_cached("DELETE FROM queue_dirty")?.execute([])?;
    if n > 0 {
        tx.prepare_cached("UPDATE queue_generation SET n = n + 1 WHERE id = 1")?
            .execute([])?;
    }
    Ok(n)
}

/// The SQL condition of `q` on `queue_index` rows (`:now`, `:search`,
/// `:opportunity` and `:kind` bound by the caller). Statuses are the
/// closed enum's positions, written into the SQL as numbers.
fn condition(q: &QueueQuery<'_>) -> String {
    let mut c = String::from("1");
    if !q.statuses.is_empty() {
        let codes: Vec<String> = q
            .statuses
            .iter()
            .map(|s| status_code(*s).to_string())
            .collect();
        c.push_str(&format!(" AND {STATUS_AT_NOW} IN ({})", codes.join(",")));
    }
    if q.opportunity_id.is_some() {
        c.push_str(" AND opportunity_id = :opportunity");
    }
    if q.kind.is_some() {
        c.push_str(" AND kind = :kind");
    }
    if !q.search.is_empty() {
        c.push_str(
            " AND (instr(search_title, :search) > 0 OR instr(search_item, :search) > 0 \
             OR instr(search_assignment, :search) > 0 \
             OR instr(search_opportunity, :search) > 0)",
        );
    }
    c
}

/// The assignments of a window of `q`, in order (`:limit` and `:offset`
/// bound besides those of [`condition`]). Ordered by due date, lease or
/// title, it reads the queue index's own index for that order.
pub(crate) fn window_sql(q: &QueueQuery<'_>) -> String {
    let within = match q.order {
        QueueSort::Due => "due_ns",
        QueueSort::Lease => "lease_ns",
        QueueSort::Title => "title",
        // The opportunity's latest rate (what `Store::queue` reports), for
        // the kinds of work that earn it.
        QueueSort::Pay => {
            "CASE WHEN earns_rate THEN COALESCE((SELECT r.amount_cents FROM rate_card r \
               WHERE r.opportunity_id = queue_index.opportunity_id \
               ORDER BY r.effective_from DESC LIMIT 1), 0) ELSE 0 END DESC"
        }
    };
    format!(
        "SELECT assignment_id FROM queue_index WHERE {} \
         ORDER BY group_title, opportunity_id, {within}, assignment_id \
         LIMIT :limit OFFSET :offset",
        condition(q)
    )
}

/// A query's counts as of one generation of the queue index.
struct Counts {
    /// The query's groups, in order.
    groups: Vec<QueueGroupCount>,
    /// The whole queue's rows by status.
    by_status: BTreeMap<QueueStatus, u32>,
    /// The first lease end after the moment they were counted at, when a
    /// status may change.
    valid_until: Option<i64>,
}

/// The queue's counts, counted at `now_ns` for the condition `cond`.
fn counts(
    tx: &rusqlite::Transaction<'_>,
    cond: &str,
    all: &[(&str, &dyn rusqlite::ToSql)],
    now_ns: i64,
) -> Result<Counts> {
    let mut by_status = BTreeMap::new();
    let mut groups: Vec<QueueGroupCount> = Vec::new();
    // In the order of the groups (one covering index when no search
    // needs the row), counted here rather than by SQLite's sorter.
    let sql = format!(
        "SELECT group_title, opportunity_id, {STATUS_AT_NOW}, COALESCE(({cond}), 0) \
         FROM queue_index INDEXED BY queue_index_counts ORDER BY group_title, opportunity_id"
    );
    let mut st = tx.prepare_cached(&sql)?;
    let mut rows = st.query(bind(&sql, all).as_slice())?;
    let mut per_code = [0u32; QueueStatus::ALL.len()];
    while let Some(r) = rows.next()? {
        if let Some(n) = usize::try_from(r.get::<_, i64>(2)?)
            .ok()
            .and_then(|i| per_code.get_mut(i))
        {
            *n += 1;
        }
        if r.get::<_, i64>(3)? == 0 {
            continue;
        }
        let same = match (groups.last(), r.get_ref(1)?.as_str()) {
            (Some(g), Ok(id)) => g.opportunity_id == id,
            _ => false,
        };
        match groups.last_mut() {
            Some(g) if same => g.count += 1,
            _ => groups.push(QueueGroupCount {
                opportunity_id: r.get(1)?,
                title: r.get(0)?,
                count: 1,
            }),
        }
    }
    for (s, n) in QueueStatus::ALL.iter().zip(per_code) {
        if n > 0 {
            by_status.insert(*s, n);
        }
    }
    let valid_until = tx
        .prepare_cached("SELECT MIN(lease_ns) FROM queue_index WHERE lease_ns > ?1")?
        .query_row([now_ns], |r| r.get(0))?;
    Ok(Counts {
        groups,
        by_status,
        valid_until,
    })
}

/// How many queries' counts are kept (the full queue beside a search or a
/// status filter).
const CACHED_COUNTS: usize = 3;

/// A query's counts, kept.
struct Counted {
    /// The queue index's generation they were counted in.
    generation: i64,
    /// The query's condition and values.
    key: String,
    /// The moment they were counted at.
    at_ns: i64,
    counts: Arc<Counts>,
}

/// Recently counted queries, most recent first.
#[derive(Default)]
pub(crate) struct CountsCache(Mutex<Vec<Counted>>);

impl CountsCache {
    fn find(&self, generation: i64, key: &str, now_ns: i64) -> Option<Arc<Counts>> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter()
            .find(|c| {
                c.generation == generation
                    && c.key == key
                    && c.at_ns <= now_ns
                    && c.counts.valid_until.is_none_or(|until| now_ns < until)
            })
            .map(|c| c.counts.clone())
    }

    fn keep(&self, generation: i64, key: String, now_ns: i64, counts: Arc<Counts>) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|c| c.generation == generation && c.key != key);
        kept.insert(
            0,
            Counted {
                generation,
                key,
                at_ns: now_ns,
                counts,
            },
        );
        kept.truncate(CACHED_COUNTS);
    }
}

/// The named parameters `sql` uses, of these.
fn bind<'a>(
    sql: &str,
    all: &'a [(&'a str, &'a dyn rusqlite::ToSql)],
) -> Vec<(&'a str, &'a dyn rusqlite::ToSql)> {
    all.iter()
        .copied()
        .filter(|(n, _)| sql.contains(n))
        .collect()
}

impl Store {
    /// Bring the queue's index up to date with every write so far (only
    /// the rows writes marked); returns how many rows were derived again.
    /// A window does it first; the app also does it after a sync, so the
    /// next window does not.
    pub fn refresh_queue_index(&self) -> Result<usize> {
        refresh(&mut *self.conn()?)
    }

    /// The assignments the queue shows with `status` at `now`, by id: what
    /// filtering [`Store::queue`] by status gives, read from the queue's
    /// index instead of building every row. When the index cannot be
    /// brought up to date (a full disk), from the queue built the old way.
    pub fn queue_ids_with_status(
        &self,
        status: QueueStatus,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        {
            let mut conn = self.conn()?;
            match refresh(&mut conn) {
                Ok(_) => {
                    let mut st = conn.prepare_cached(&format!(
                        "SELECT assignment_id FROM queue_index WHERE {STATUS_AT_NOW} = :status \
                         ORDER BY assignment_id"
                    ))?;
                    let ids = st
                        .query_map(
                            rusqlite::named_params! {
                                ":now": nanos(now), ":status": status_code(status)
                            },
                            |r| r.get(0),
                        )?
                        .collect::<rusqlite::Result<_>>()?;
                    return Ok(ids);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "queue index not brought up to date; building the queue");
                }
            }
        }
        let mut ids: Vec<String> = self
            .queue(now)?
            .into_iter()
            .filter(|r| r.status == status)
            .map(|r| r.assignment_id)
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// `limit` rows from `offset` of the queue under `q` at `now`, ordered
    /// by group, then `q.order`, then assignment id; with the query's total
    /// and groups and the whole queue's status counts. The same rows, in
    /// the same order and with the same statuses, as filtering and sorting
    /// [`Store::queue`] would give.
    pub fn queue_window(
        &self,
        q: &QueueQuery<'_>,
        offset: u32,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<QueueWindow> {
        let mut conn = self.conn()?;
        refresh(&mut conn)?;
        let tx = conn.transaction()?;
        let now_ns = nanos(now);
        let kind = q.kind.as_ref().map(enum_str);
        let all: [(&str, &dyn rusqlite::ToSql); 4] = [
            (":now", &now_ns),
            (":search", &q.search),
            (":opportunity", &q.opportunity_id),
            (":kind", &kind),
        ];
        let cond = condition(q);

        // Counts: the whole queue's by status, the query's by group; the
        // same until something is derived again or a lease ends.
        let generation: i64 = tx
            .prepare_cached("SELECT n FROM queue_generation WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        let key = format!("{cond}|{:?}|{kind:?}|{}", q.opportunity_id, q.search);
        let counts = if let Some(c) = self.queue_counts.find(generation, &key, now_ns) {
            c
        } else {
            let c = Arc::new(counts(&tx, &cond, &all, now_ns)?);
            self.queue_counts.keep(generation, key, now_ns, c.clone());
            c
        };
        let Counts {
            groups,
            by_status,
            valid_until: _,
        } = &*counts;
        let total = groups.iter().map(|g| g.count).sum();

        // The window's assignments, in order, then their rows.
        let sql = window_sql(q);
        let ids: Vec<String> = {
            let mut params = bind(&sql, &all);
            params.push((":limit", &limit));
            params.push((":offset", &offset));
            let mut st = tx.prepare_cached(&sql)?;
            let ids = st
                .query_map(params.as_slice(), |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids
        };
        let mut rows: Vec<QueueRow> = Vec::with_capacity(ids.len());
        if !ids.is_empty() {
            let json = serde_json::to_string(&ids).map_err(crate::StoreError::json("queue ids"))?;
            let mut st =
                tx.prepare_cached(&queue_sql("a.id IN (SELECT value FROM json_each(?1))"))?;
            let mut found = st.query([json])?;
            let mut by_id = std::collections::HashMap::with_capacity(ids.len());
            while let Some(r) = found.next()? {
                if let Some((row, _)) = queue_row(r, now)? {
                    by_id.insert(row.assignment_id.clone(), row);
                }
            }
            rows.extend(ids.iter().filter_map(|id| by_id.remove(id)));
        }
        drop(tx);
        Ok(QueueWindow {
            total,
            rows,
            groups: groups.clone(),
            status_counts: by_status.clone(),
        })
    }
}
