//! The work queue: filter, search, sort and group the store's rows, and hand
//! the UI one window at a time (the UI virtualizes; 10,000 rows are fine).

use std::collections::{BTreeMap, HashMap};

use assay_protocol::Opportunity;
use assay_store::{QueueRow, Store};

use crate::error::AppResult;
use crate::types::{OpportunityRef, QueueEntry, QueueFilter, QueueGroup, QueuePage, QueueSort};

/// Largest window one call returns.
const MAX_LIMIT: u32 = 500;

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
    row.pay.as_ref().map(|p| p.amount_cents).unwrap_or(0)
}

pub fn page(store: &Store, filter: &QueueFilter, offset: u32, limit: u32) -> AppResult<QueuePage> {
    let rows = store.queue(chrono::Utc::now())?;
    let opportunities: HashMap<String, Opportunity> = store
        .opportunities()?
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();
    let mut status_counts = BTreeMap::new();
    for r in &rows {
        *status_counts.entry(r.status).or_insert(0u32) += 1;
    }
    let needle = filter.search.trim().to_lowercase();
    let mut picked: Vec<QueueRow> = rows
        .into_iter()
        .filter(|r| matches(r, filter, &needle))
        .collect();
    let group_title = |r: &QueueRow| -> String {
        r.opportunity_title
            .clone()
            .or_else(|| {
                opportunities
                    .get(&r.opportunity_id)
                    .map(|o| o.title.clone())
            })
            .unwrap_or_else(|| r.opportunity_id.clone())
    };
    picked.sort_by(|a, b| {
        group_title(a)
            .cmp(&group_title(b))
            .then_with(|| a.opportunity_id.cmp(&b.opportunity_id))
            .then_with(|| match filter.sort {
                QueueSort::Due => a.due_at.cmp(&b.due_at),
                QueueSort::Lease => a.lease_expires_at.cmp(&b.lease_expires_at),
                QueueSort::Pay => pay_key(b).cmp(&pay_key(a)),
                QueueSort::Title => a.title.cmp(&b.title),
            })
            .then_with(|| a.assignment_id.cmp(&b.assignment_id))
    });
    let mut groups: Vec<QueueGroup> = Vec::new();
    for (i, r) in picked.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if g.opportunity_id == r.opportunity_id => g.count += 1,
            _ => {
                let o = opportunities.get(&r.opportunity_id);
                groups.push(QueueGroup {
                    opportunity_id: r.opportunity_id.clone(),
                    opportunity_title: group_title(r),
                    buyer: o.map(|o| o.buyer.clone()).unwrap_or_default(),
                    licence_category: o.map(|o| o.licence_category.clone()).unwrap_or_default(),
                    first_index: i as u32,
                    count: 1,
                });
            }
        }
    }
    let total = picked.len() as u32;
    let limit = limit.min(MAX_LIMIT);
    let rows = picked
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|r| {
            let opportunity_title = group_title(&r);
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
            }
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
