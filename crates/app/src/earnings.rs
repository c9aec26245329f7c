//! Earnings from the ledger mirror: totals, effective hourly rates (paid time
//! and all time), series by day/week/opportunity, payouts, CSV export, and
//! discrepancies between expected pay (rate card × accepted work) and the
//! platform's ledger.

use std::collections::{BTreeMap, HashMap};

use assay_protocol::{AssignmentKind, LedgerEntry, LedgerStatus, OutcomeStatus, PayBasis, Rate};
use assay_store::{QueueStatus, Store};
use chrono::{Datelike, NaiveDate};

use crate::error::{AppError, AppResult};
use crate::types::{
    Discrepancy, EarningsGrouping, EarningsOverview, EarningsPoint, EarningsQuery, EarningsSeries,
    PayoutView, UnpaidTime,
};

fn parse_day(s: &Option<String>, what: &str) -> AppResult<Option<NaiveDate>> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(&d[..d.len().min(10)], "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid(format!("{what} must be a date like 2026-11-24"))),
    }
}

fn entries(store: &Store, q: &EarningsQuery) -> AppResult<Vec<LedgerEntry>> {
    let from = parse_day(&q.from, "From")?;
    let to = parse_day(&q.to, "To")?;
    Ok(store
        .ledger()?
        .into_iter()
        .filter(|e| {
            let day = e.created_at.date_naive();
            from.is_none_or(|f| day >= f)
                && to.is_none_or(|t| day <= t)
                && q.opportunity_id
                    .as_ref()
                    .is_none_or(|o| &e.opportunity_id == o)
        })
        .collect())
}

/// The currency most entries use (the overview is per currency).
fn main_currency(entries: &[LedgerEntry]) -> String {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in entries {
        *counts.entry(e.currency.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(c, _)| c.to_string())
        .unwrap_or_else(|| "USD".into())
}

fn add(p: &mut EarningsPoint, e: &LedgerEntry) {
    match e.status {
        LedgerStatus::Pending => p.pending_cents += e.amount_cents,
        LedgerStatus::Accepted => p.accepted_cents += e.amount_cents,
        LedgerStatus::Paid => p.paid_cents += e.amount_cents,
        LedgerStatus::Reversed => p.reversed_cents += e.amount_cents,
    }
}

fn per_hour(cents: i64, seconds: u64) -> Option<i64> {
    (seconds >= 60).then(|| ((cents as i128 * 3600) / seconds as i128) as i64)
}

pub fn overview(store: &Store, q: &EarningsQuery) -> AppResult<EarningsOverview> {
    let entries = entries(store, q)?;
    let currency = main_currency(&entries);
    let mut totals = EarningsPoint {
        key: String::new(),
        label: String::new(),
        pending_cents: 0,
        accepted_cents: 0,
        paid_cents: 0,
        reversed_cents: 0,
    };
    let mut earning_assignments: HashMap<&str, bool> = HashMap::new();
    for e in entries.iter().filter(|e| e.currency == currency) {
        add(&mut totals, e);
        let earned = e.status != LedgerStatus::Reversed;
        let slot = earning_assignments
            .entry(e.assignment_id.as_str())
            .or_insert(false);
        *slot |= earned;
    }
    // Time: every assignment in the queue, split by what became of it.
    let mut paid_seconds = 0u64;
    let mut unpaid = UnpaidTime::default();
    for row in store.queue(chrono::Utc::now())? {
        if q.opportunity_id
            .as_ref()
            .is_some_and(|o| o != &row.opportunity_id)
        {
            continue;
        }
        let (_, secs) = store.time_spans(&row.assignment_id)?;
        if secs == 0 {
            continue;
        }
        if row.kind == AssignmentKind::Screening {
            // Qualification work is never paid, passed or failed.
            unpaid.screening_seconds += secs;
            continue;
        }
        match earning_assignments.get(row.assignment_id.as_str()) {
            Some(true) => paid_seconds += secs,
            Some(false) => unpaid.rejected_seconds += secs,
            None => match row.status {
                _ if row.kind == AssignmentKind::SeniorReview => unpaid.review_seconds += secs,
                QueueStatus::Rejected => unpaid.rejected_seconds += secs,
                // In flight: counted once the ledger has it.
                QueueStatus::InOutbox | QueueStatus::Submitted | QueueStatus::Accepted => {}
                _ => unpaid.unsubmitted_seconds += secs,
            },
        }
    }
    // Idle waiting belongs to no opportunity: counted when not filtering by one.
    if q.opportunity_id.is_none() {
        unpaid.waiting_seconds = store.waiting_seconds()?;
    }
    let earned = totals.pending_cents + totals.accepted_cents + totals.paid_cents;
    let all = paid_seconds + unpaid.total_seconds();
    Ok(EarningsOverview {
        currency,
        pending_cents: totals.pending_cents,
        accepted_cents: totals.accepted_cents,
        paid_cents: totals.paid_cents,
        reversed_cents: totals.reversed_cents,
        paid_seconds,
        unpaid,
        hourly_paid_time_cents: per_hour(earned, paid_seconds),
        hourly_all_time_cents: per_hour(earned, all),
    })
}

pub fn series(
    store: &Store,
    q: &EarningsQuery,
    grouping: EarningsGrouping,
) -> AppResult<EarningsSeries> {
    let entries = entries(store, q)?;
    let currency = main_currency(&entries);
    let titles: HashMap<String, String> = store
        .opportunities()?
        .into_iter()
        .map(|o| (o.id, o.title))
        .collect();
    let mut points: BTreeMap<String, EarningsPoint> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.currency == currency) {
        let day = e.created_at.date_naive();
        let (key, label) = match grouping {
            EarningsGrouping::Day => (
                day.format("%Y-%m-%d").to_string(),
                day.format("%b %-d").to_string(),
            ),
            EarningsGrouping::Week => {
                let w = day.iso_week();
                (
                    format!("{}-W{:02}", w.year(), w.week()),
                    format!("Week {} {}", w.week(), w.year()),
                )
            }
            EarningsGrouping::Opportunity => (
                e.opportunity_id.clone(),
                titles
                    .get(&e.opportunity_id)
                    .cloned()
                    .unwrap_or_else(|| e.opportunity_id.clone()),
            ),
        };
        let p = points.entry(key.clone()).or_insert_with(|| EarningsPoint {
            key,
            label,
            pending_cents: 0,
            accepted_cents: 0,
            paid_cents: 0,
            reversed_cents: 0,
        });
        add(p, e);
    }
    Ok(EarningsSeries {
        grouping,
        currency,
        points: points.into_values().collect(),
    })
}

pub fn payouts(store: &Store) -> AppResult<Vec<PayoutView>> {
    let mut out: Vec<PayoutView> = store
        .payouts()?
        .into_iter()
        .map(|p| PayoutView {
            entry_count: p.entry_ids.len() as u32,
            id: p.id,
            amount_cents: p.amount_cents,
            currency: p.currency,
            paid_at: p.paid_at,
            method: p.method,
        })
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.paid_at));
    Ok(out)
}

fn csv_field(s: &str) -> String {
    // Quote always; double quotes; neutralise spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn csv(store: &Store, q: &EarningsQuery) -> AppResult<String> {
    let titles: HashMap<String, String> = store
        .queue(chrono::Utc::now())?
        .into_iter()
        .map(|r| (r.assignment_id, r.title))
        .collect();
    let mut out = String::from(
        "entry_id,created_at,opportunity_id,assignment_id,item_title,status,amount,currency,payout_id\n",
    );
    for e in entries(store, q)? {
        let amount = format!(
            "{}.{:02}",
            e.amount_cents / 100,
            (e.amount_cents % 100).abs()
        );
        let status = match e.status {
            LedgerStatus::Pending => "pending",
            LedgerStatus::Accepted => "accepted",
            LedgerStatus::Paid => "paid",
            LedgerStatus::Reversed => "reversed",
        };
        let row = [
            csv_field(&e.id),
            csv_field(&e.created_at.to_rfc3339()),
            csv_field(&e.opportunity_id),
            csv_field(&e.assignment_id),
            csv_field(
                titles
                    .get(&e.assignment_id)
                    .map(String::as_str)
                    .unwrap_or(""),
            ),
            csv_field(status),
            amount,
            csv_field(&e.currency),
            csv_field(e.payout_id.as_deref().unwrap_or("")),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    Ok(out)
}

fn expected_cents(rate: &Rate, active_seconds: u64) -> i64 {
    match rate.basis {
        PayBasis::PerItem | PayBasis::PerSubmission => rate.amount_cents,
        PayBasis::PerHour => {
            ((rate.amount_cents as i128 * active_seconds as i128 + 1800) / 3600) as i64
        }
    }
}

/// Accepted work whose ledger amount differs from rate card × work, or is missing.
pub fn discrepancies(store: &Store) -> AppResult<Vec<Discrepancy>> {
    let card = store.rate_card()?;
    let ledger = store.ledger()?;
    let by_submission: HashMap<&str, &LedgerEntry> = ledger
        .iter()
        .map(|e| (e.submission_id.as_str(), e))
        .collect();
    let rows: HashMap<String, assay_store::QueueRow> = store
        .queue(chrono::Utc::now())?
        .into_iter()
        .map(|r| (r.assignment_id.clone(), r))
        .collect();
    let mut out = Vec::new();
    for sub in store.submissions()? {
        if sub.status != OutcomeStatus::Accepted {
            continue;
        }
        let Some(row) = rows.get(&sub.assignment_id) else {
            continue;
        };
        if row.kind == AssignmentKind::Screening {
            // A passed qualification is unpaid by design: nothing to expect.
            continue;
        }
        // The rate in effect when the platform received the submission.
        let Some(rate) = card
            .rates
            .iter()
            .filter(|r| {
                r.opportunity_id == row.opportunity_id && r.effective_from <= sub.received_at
            })
            .max_by_key(|r| r.effective_from)
        else {
            continue;
        };
        let (_, secs) = store.time_spans(&sub.assignment_id)?;
        if rate.basis == PayBasis::PerHour && secs == 0 {
            // Work graded elsewhere (no local time log): no expectation to compare.
            continue;
        }
        let expected = expected_cents(rate, secs);
        let entry = by_submission.get(sub.submission_id.as_str());
        let (ledger_cents, reason) = match entry {
            None => (
                None,
                "accepted, but missing from the platform's ledger".to_string(),
            ),
            Some(e) if e.status == LedgerStatus::Reversed => (
                Some(e.amount_cents),
                "accepted, but the ledger entry is reversed".to_string(),
            ),
            Some(e) if e.currency != rate.currency => (
                Some(e.amount_cents),
                format!(
                    "ledger pays in {}, the rate card in {}",
                    e.currency, rate.currency
                ),
            ),
            Some(e) if (e.amount_cents - expected).abs() > 1 => (
                Some(e.amount_cents),
                format!(
                    "ledger amount differs from the rate card ({:?} at {} {})",
                    rate.basis, rate.amount_cents, rate.currency
                ),
            ),
            Some(_) => continue,
        };
        out.push(Discrepancy {
            assignment_id: sub.assignment_id.clone(),
            item_id: row.item_id.clone(),
            title: if row.title.is_empty() {
                row.item_id.clone()
            } else {
                row.title.clone()
            },
            opportunity_id: row.opportunity_id.clone(),
            expected_cents: expected,
            ledger_cents,
            currency: rate.currency.clone(),
            reason,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=SUM(A1)"), "\"'=SUM(A1)\"");
    }

    #[test]
    fn hourly_pay_rounds_to_the_cent() {
        let rate = Rate {
            opportunity_id: "o".into(),
            basis: PayBasis::PerHour,
            amount_cents: 6000,
            currency: "USD".into(),
            effective_from: chrono::Utc::now(),
        };
        assert_eq!(expected_cents(&rate, 1800), 3000);
        assert_eq!(expected_cents(&rate, 61), 102);
        assert_eq!(per_hour(3000, 1800), Some(6000));
        assert_eq!(per_hour(3000, 10), None);
    }
}
