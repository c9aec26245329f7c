//! Earnings from the ledger mirror: totals, effective hourly rates (paid time
//! and all time), series by day/week/opportunity, payouts, CSV export, and
//! discrepancies between expected pay (rate card × accepted work) and the
//! platform's ledger. Days are the reviewer's local calendar days (the
//! caller passes the [`Calendar`]; the app passes the system's time zone, on
//! its [`Clock`]), and so are the periods the screen offers ([`period`]).

use std::collections::{BTreeMap, HashMap};

use assay_protocol::{AssignmentKind, LedgerEntry, LedgerStatus, OutcomeStatus, PayBasis, Rate};
use assay_store::{QueueStatus, Store};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use crate::error::{AppError, AppResult};
use crate::types::{
    Discrepancy, EarningsGrouping, EarningsOverview, EarningsPeriod, EarningsPoint, EarningsQuery,
    EarningsRange, EarningsSeries, LedgerAmounts, PayoutView, UnpaidTime,
};

/// The reviewer's calendar: which local day an instant falls on, where a
/// local day starts, and how an instant reads as local time. Every time zone
/// is one; [`Moved`] is a clock set ahead of the system's.
pub trait Calendar {
    /// The local day `t` falls on.
    fn day(&self, t: &DateTime<Utc>) -> NaiveDate;
    /// The first instant of local day `d` (`None` past chrono's range).
    fn start(&self, d: NaiveDate) -> Option<DateTime<Utc>>;
    /// `t` as local time, RFC 3339 with the local offset.
    fn stamp(&self, t: &DateTime<Utc>) -> String;
}

impl<Tz: TimeZone> Calendar for Tz
where
    Tz::Offset: std::fmt::Display,
{
    fn day(&self, t: &DateTime<Utc>) -> NaiveDate {
        t.with_timezone(self).date_naive()
    }

    fn start(&self, d: NaiveDate) -> Option<DateTime<Utc>> {
        let midnight = d.and_hms_opt(0, 0, 0)?;
        // `earliest` picks the first instant of days that start in a DST gap.
        self.from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    fn stamp(&self, t: &DateTime<Utc>) -> String {
        t.with_timezone(self).to_rfc3339()
    }
}

/// The calendar of a clock `by` ahead of the system's, in `tz`: every
/// instant (now, the ledger's, the time log's) reads as `by` later.
#[derive(Debug, Clone, Copy)]
pub struct Moved<Tz> {
    /// The time zone days are counted in.
    pub tz: Tz,
    /// How far the clock is ahead of the system's.
    pub by: chrono::Duration,
}

impl<Tz: Calendar> Calendar for Moved<Tz> {
    fn day(&self, t: &DateTime<Utc>) -> NaiveDate {
        self.tz.day(&(*t + self.by))
    }

    fn start(&self, d: NaiveDate) -> Option<DateTime<Utc>> {
        self.tz.start(d).map(|t| t - self.by)
    }

    fn stamp(&self, t: &DateTime<Utc>) -> String {
        self.tz.stamp(&(*t + self.by))
    }
}

/// The clock the app counts earnings' days by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system's clock and time zone: the app's.
    #[default]
    System,
    /// A clock this far ahead of the system's, counting days in UTC. The
    /// recording of the UI's answers (`crates/app/tests/recorded.rs`) reads
    /// the demo data on a clock set to its fixed "now", so its days, weeks
    /// and periods do not depend on the day or zone it ran in.
    Moved(chrono::Duration),
}

impl Clock {
    /// The calendar this clock counts days by.
    pub fn calendar(self) -> Box<dyn Calendar + Send + Sync> {
        match self {
            Self::System => Box::new(chrono::Local),
            Self::Moved(by) => Box::new(Moved { tz: Utc, by }),
        }
    }
}

/// `YYYY-MM-DD`.
fn iso_day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The local days `period` covers when it is `today`: a week starts on
/// Monday, a month on its first; every period ends today, included.
pub fn period_days(period: EarningsPeriod, today: NaiveDate) -> EarningsRange {
    let from = match period {
        EarningsPeriod::All => return EarningsRange::default(),
        EarningsPeriod::ThisWeek => {
            today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()))
        }
        EarningsPeriod::ThisMonth => today.with_day(1).unwrap_or(today),
        EarningsPeriod::Last30Days => today - chrono::Days::new(29),
    };
    EarningsRange {
        from: Some(iso_day(from)),
        to: Some(iso_day(today)),
    }
}

/// The local days `period` covers at `now`, on the reviewer's calendar (the
/// days the earnings are counted in, whatever the browser's clock says).
pub fn period<C: Calendar + ?Sized>(
    period: EarningsPeriod,
    now: DateTime<Utc>,
    calendar: &C,
) -> EarningsRange {
    period_days(period, calendar.day(&now))
}

fn parse_day(s: Option<&str>, what: &str) -> AppResult<Option<NaiveDate>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(&d[..d.len().min(10)], "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid(format!("{what} must be a date like 2026-11-24"))),
    }
}

/// Seconds spent on an assignment: the local time log, or (for work done on
/// another device or before a reinstall) what its submission reported.
fn work_seconds(
    local: u64,
    reported: &HashMap<String, (u64, DateTime<Utc>)>,
    assignment_id: &str,
) -> u64 {
    if local > 0 {
        local
    } else {
        reported.get(assignment_id).map_or(0, |(secs, _)| *secs)
    }
}

/// The query's date range as instants: from the start of the `from` day to
/// the end of the `to` day, both on `cal`. `None` for an open end.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn window<C: Calendar + ?Sized>(q: &EarningsQuery, cal: &C) -> AppResult<Window> {
    let from = parse_day(q.from.as_deref(), "From")?.and_then(|d| cal.start(d));
    let to = parse_day(q.to.as_deref(), "To")?
        .and_then(|d| d.succ_opt())
        .and_then(|d| cal.start(d));
    Ok((from, to))
}

/// `12345` → `"123.45"`, `-5` → `"-0.05"`.
fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A rate as a reviewer reads it: `$150.00/h`, `12.00 EUR/item`.
fn rate_text(rate: &Rate) -> String {
    let amount = match rate.currency.as_str() {
        "USD" => format!("${}", decimal(rate.amount_cents)),
        "EUR" => format!("€{}", decimal(rate.amount_cents)),
        "GBP" => format!("£{}", decimal(rate.amount_cents)),
        other => format!("{} {other}", decimal(rate.amount_cents)),
    };
    let per = match rate.basis {
        PayBasis::PerHour => "/h",
        PayBasis::PerItem => "/item",
        PayBasis::PerSubmission => "/submission",
    };
    format!("{amount}{per}")
}

fn entries<C: Calendar + ?Sized>(
    store: &Store,
    q: &EarningsQuery,
    cal: &C,
) -> AppResult<Vec<LedgerEntry>> {
    let from = parse_day(q.from.as_deref(), "From")?;
    let to = parse_day(q.to.as_deref(), "To")?;
    Ok(store
        .ledger()?
        .into_iter()
        .filter(|e| {
            let day = cal.day(&e.created_at);
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
        .map_or_else(|| "USD".into(), |(c, _)| c.to_string())
}

impl LedgerAmounts {
    /// Counts `e`'s amount under its state.
    fn add(&mut self, e: &LedgerEntry) {
        let sum = match e.status {
            LedgerStatus::Pending => &mut self.pending_cents,
            LedgerStatus::Accepted => &mut self.accepted_cents,
            LedgerStatus::Paid => &mut self.paid_cents,
            LedgerStatus::Reversed => &mut self.reversed_cents,
        };
        *sum += e.amount_cents;
    }

    /// What was earned: pending, accepted and paid (not what was taken back).
    fn earned(&self) -> i64 {
        self.pending_cents + self.accepted_cents + self.paid_cents
    }
}

fn per_hour(cents: i64, seconds: u64) -> Option<i64> {
    (seconds >= 60).then(|| ((i128::from(cents) * 3600) / i128::from(seconds)) as i64)
}

/// How a day's point of a series is labelled (`Jun 7`).
pub fn day_label(day: NaiveDate) -> String {
    day.format("%b %-d").to_string()
}

/// Totals and hourly rates of the ledger entries matching `q` (days counted on `cal`), in the currency most entries use.
pub fn overview<C: Calendar + ?Sized>(
    store: &Store,
    q: &EarningsQuery,
    cal: &C,
) -> AppResult<EarningsOverview> {
    let entries = entries(store, q, cal)?;
    let currency = main_currency(&entries);
    let mut totals = LedgerAmounts::default();
    let mut earning_assignments: HashMap<&str, bool> = HashMap::new();
    for e in entries.iter().filter(|e| e.currency == currency) {
        totals.add(e);
        let earned = e.status != LedgerStatus::Reversed;
        let slot = earning_assignments
            .entry(e.assignment_id.as_str())
            .or_insert(false);
        *slot |= earned;
    }
    // Time: every assignment in the queue, split by what became of it. Work
    // whose pay falls in the date range counts whole (money and time belong
    // together); other time counts where it was spent inside the range.
    let win = window(q, cal)?;
    let windowed = win.0.is_some() || win.1.is_some();
    let mut paid_seconds = 0u64;
    let mut unpaid = UnpaidTime::default();
    let reported = store.reported_seconds()?;
    for row in store.queue(Utc::now())? {
        if q.opportunity_id
            .as_ref()
            .is_some_and(|o| o != &row.opportunity_id)
        {
            continue;
        }
        let (spans, local) = store.time_spans(&row.assignment_id)?;
        let mut secs = work_seconds(local, &reported, &row.assignment_id);
        if windowed && !earning_assignments.contains_key(row.assignment_id.as_str()) {
            secs = if local > 0 {
                assay_store::covered_seconds(&spans, win.0, win.1)
            } else {
                // Reported time only: counted on the day it was submitted.
                match reported.get(&row.assignment_id) {
                    Some((s, at))
                        if win.0.is_none_or(|f| *at >= f) && win.1.is_none_or(|t| *at < t) =>
                    {
                        *s
                    }
                    _ => 0,
                }
            };
        }
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
        unpaid.waiting_seconds = store.waiting_seconds_in(win.0, win.1)?;
    }
    let earned = totals.earned();
    let all = paid_seconds + unpaid.total_seconds();
    Ok(EarningsOverview {
        currency,
        amounts: totals,
        paid_seconds,
        unpaid,
        hourly_paid_time_cents: per_hour(earned, paid_seconds),
        hourly_all_time_cents: per_hour(earned, all),
    })
}

/// The ledger entries matching `q` bucketed by `grouping` (days and weeks counted on `cal`), for the earnings chart.
pub fn series<C: Calendar + ?Sized>(
    store: &Store,
    q: &EarningsQuery,
    grouping: EarningsGrouping,
    cal: &C,
) -> AppResult<EarningsSeries> {
    let entries = entries(store, q, cal)?;
    let currency = main_currency(&entries);
    let titles: HashMap<String, String> = store
        .opportunities()?
        .into_iter()
        .map(|o| (o.id, o.title))
        .collect();
    let mut points: BTreeMap<String, EarningsPoint> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.currency == currency) {
        let day = cal.day(&e.created_at);
        let (key, label, start_day) = match grouping {
            EarningsGrouping::Day => (
                day.format("%Y-%m-%d").to_string(),
                day_label(day),
                Some(day.format("%Y-%m-%d").to_string()),
            ),
            EarningsGrouping::Week => {
                let w = day.iso_week();
                let monday =
                    day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()));
                (
                    format!("{}-W{:02}", w.year(), w.week()),
                    format!("Week {} {}", w.week(), w.year()),
                    Some(monday.format("%Y-%m-%d").to_string()),
                )
            }
            EarningsGrouping::Opportunity => (
                e.opportunity_id.clone(),
                titles
                    .get(&e.opportunity_id)
                    .cloned()
                    .unwrap_or_else(|| e.opportunity_id.clone()),
                None,
            ),
        };
        let p = points.entry(key.clone()).or_insert_with(|| EarningsPoint {
            key,
            label,
            start_day,
            amounts: LedgerAmounts::default(),
        });
        p.amounts.add(e);
    }
    Ok(EarningsSeries {
        grouping,
        currency,
        points: points.into_values().collect(),
    })
}

/// The payouts the platform reported, with the number of entries each settled.
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
            method_label: payout_method_label(&p.method),
            method: p.method,
        })
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.paid_at));
    Ok(out)
}

/// A payout method as people say it (`bank_transfer` → "Bank transfer");
/// unknown methods are de-snake-cased and kept short.
pub fn payout_method_label(method: &str) -> String {
    match method.trim().to_ascii_lowercase().as_str() {
        "bank_transfer" | "bank-transfer" | "wire" | "sepa" => "Bank transfer".into(),
        "paypal" => "PayPal".into(),
        "wise" => "Wise".into(),
        "payoneer" => "Payoneer".into(),
        "check" | "cheque" => "Cheque".into(),
        "" => "Unknown method".into(),
        _ => {
            let words: String = method
                .trim()
                .chars()
                .take(60)
                .map(|c| if c == '_' || c == '-' { ' ' } else { c })
                .collect();
            let mut chars = words.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => "Unknown method".into(),
            }
        }
    }
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

/// The ledger entries matching `q` as CSV (header row first; times written on `cal`), spreadsheet formulas neutralised.
pub fn csv<C: Calendar + ?Sized>(store: &Store, q: &EarningsQuery, cal: &C) -> AppResult<String> {
    let titles: HashMap<String, String> = store
        .queue(Utc::now())?
        .into_iter()
        .map(|r| (r.assignment_id, r.title))
        .collect();
    let mut out = String::from(
        "entry_id,created_at,opportunity_id,assignment_id,item_title,status,amount,currency,payout_id\n",
    );
    for e in entries(store, q, cal)? {
        let amount = decimal(e.amount_cents);
        let status = match e.status {
            LedgerStatus::Pending => "pending",
            LedgerStatus::Accepted => "accepted",
            LedgerStatus::Paid => "paid",
            LedgerStatus::Reversed => "reversed",
        };
        let row = [
            csv_field(&e.id),
            csv_field(&cal.stamp(&e.created_at)),
            csv_field(&e.opportunity_id),
            csv_field(&e.assignment_id),
            csv_field(titles.get(&e.assignment_id).map_or("", String::as_str)),
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
            ((i128::from(rate.amount_cents) * i128::from(active_seconds) + 1800) / 3600) as i64
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
        .queue(Utc::now())?
        .into_iter()
        .map(|r| (r.assignment_id.clone(), r))
        .collect();
    let reported = store.reported_seconds()?;
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
        let (_, local) = store.time_spans(&sub.assignment_id)?;
        let secs = work_seconds(local, &reported, &sub.assignment_id);
        if rate.basis == PayBasis::PerHour && secs == 0 {
            // No time known at all (neither logged here nor reported): nothing to compare.
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
                    "ledger amount differs from the rate card ({}{})",
                    rate_text(rate),
                    if rate.basis == PayBasis::PerHour {
                        format!(" × {}", duration_text(secs))
                    } else {
                        String::new()
                    }
                ),
            ),
            Some(_) => continue,
        };
        out.push(Discrepancy {
            assignment_id: sub.assignment_id.clone(),
            item_id: row.item_id.clone(),
            title: crate::item_name(&row.title, &row.item_id),
            opportunity_id: row.opportunity_id.clone(),
            expected_cents: expected,
            ledger_cents,
            currency: rate.currency.clone(),
            reason,
        });
    }
    Ok(out)
}

/// `5400` → `"1h 30m"`, `75` → `"1m 15s"`.
fn duration_text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
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
    fn payout_methods_read_as_words() {
        assert_eq!(payout_method_label("bank_transfer"), "Bank transfer");
        assert_eq!(payout_method_label("paypal"), "PayPal");
        assert_eq!(payout_method_label("gift_card_credit"), "Gift card credit");
        assert_eq!(payout_method_label("  "), "Unknown method");
        assert_eq!(payout_method_label(&"x_".repeat(500)).chars().count(), 60);
    }

    #[test]
    fn hourly_pay_rounds_to_the_cent() {
        let rate = Rate {
            opportunity_id: "o".into(),
            basis: PayBasis::PerHour,
            amount_cents: 6000,
            currency: "USD".into(),
            effective_from: Utc::now(),
        };
        assert_eq!(expected_cents(&rate, 1800), 3000);
        assert_eq!(expected_cents(&rate, 61), 102);
        assert_eq!(per_hour(3000, 1800), Some(6000));
        assert_eq!(per_hour(3000, 10), None);
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ledger_entry(id: &str, amount: i64, at: &str) -> LedgerEntry {
        LedgerEntry {
            id: format!("le-{id}"),
            submission_id: format!("sub-{id}"),
            assignment_id: id.into(),
            item_id: format!("item-{id}"),
            opportunity_id: "opp".into(),
            amount_cents: amount,
            currency: "USD".into(),
            status: LedgerStatus::Accepted,
            payout_id: None,
            created_at: t(at),
            updated_at: t(at),
            seq: 1,
        }
    }

    /// A store holding two accepted per-hour assignments graded on another
    /// device: their only time is what their submissions reported.
    fn graded_elsewhere() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        let assignment = |id: &str, seq| assay_protocol::Assignment {
            state: assay_protocol::AssignmentState::Completed,
            lease_expires_at: now - chrono::Duration::days(2),
            due_at: now - chrono::Duration::days(2),
            ..assay_protocol::Assignment::example(id, seq, now - chrono::Duration::days(3))
        };
        store
            .apply_assignment_page(&[assignment("a1", 1), assignment("a2", 2)], "c")
            .unwrap();
        let outcome = |id: &str, secs| assay_protocol::ReviewOutcome {
            submission_id: format!("sub-{id}"),
            assignment_id: id.into(),
            item_id: format!("item-{id}"),
            status: OutcomeStatus::Accepted,
            feedback: None,
            decided_at: Some(now - chrono::Duration::days(1)),
            active_seconds: secs,
            seq: 1,
        };
        store
            .apply_outcome_page(&[outcome("a1", 5400), outcome("a2", 1800)], "o")
            .unwrap();
        store
            .set_rate_card(&assay_protocol::RateCard {
                rates: vec![Rate {
                    opportunity_id: "opp".into(),
                    basis: PayBasis::PerHour,
                    amount_cents: 6000,
                    currency: "USD".into(),
                    effective_from: now - chrono::Duration::days(30),
                }],
            })
            .unwrap();
        // a1: 1.5 h at $60/h = $90, paid right; a2: 0.5 h should be $30, paid $25.
        store
            .apply_ledger_page(
                &[
                    ledger_entry("a1", 9000, "2026-11-24T03:00:00Z"),
                    ledger_entry("a2", 2500, "2026-11-24T12:00:00Z"),
                ],
                "l",
            )
            .unwrap();
        (dir, store)
    }

    #[test]
    fn reported_time_counts_when_the_work_was_not_logged_here() {
        let (_dir, store) = graded_elsewhere();
        let o = overview(&store, &EarningsQuery::default(), &Utc).unwrap();
        assert_eq!(o.paid_seconds, 7200);
        assert_eq!(o.hourly_paid_time_cents, Some(i64::midpoint(9000, 2500)));
        let d = discrepancies(&store).unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].assignment_id, "a2");
        assert_eq!(d[0].title, "Item a2");
        assert_eq!((d[0].expected_cents, d[0].ledger_cents), (3000, Some(2500)));
        assert!(
            d[0].reason.contains("$60.00/h × 30m 00s"),
            "{}",
            d[0].reason
        );
    }

    /// Every entry's series grouped by `grouping` in `tz`.
    fn all_series<C: Calendar + ?Sized>(
        store: &Store,
        grouping: EarningsGrouping,
        cal: &C,
    ) -> EarningsSeries {
        series(store, &EarningsQuery::default(), grouping, cal).unwrap()
    }

    #[test]
    fn days_are_the_reviewers_local_days() {
        let (_dir, store) = graded_elsewhere();
        // 03:00 UTC on the 24th is the evening of the 23rd in New York (UTC-5).
        let new_york = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        let s = all_series(&store, EarningsGrouping::Day, &new_york);
        let keys: Vec<_> = s.points.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["2026-11-23", "2026-11-24"]);
        // Each day bucket names its day for a continuous date axis.
        let days: Vec<_> = s.points.iter().map(|p| p.start_day.as_deref()).collect();
        assert_eq!(days, [Some("2026-11-23"), Some("2026-11-24")]);
        // A week bucket starts on its Monday (2026-11-23 is a Monday).
        let weeks = all_series(&store, EarningsGrouping::Week, &Utc);
        assert_eq!(weeks.points.len(), 1);
        assert_eq!(weeks.points[0].start_day.as_deref(), Some("2026-11-23"));
        let by_opp = all_series(&store, EarningsGrouping::Opportunity, &Utc);
        assert!(by_opp.points.iter().all(|p| p.start_day.is_none()));
        let utc = all_series(&store, EarningsGrouping::Day, &Utc);
        assert_eq!(utc.points.len(), 1);
        // Date filters use the same local days.
        let q = EarningsQuery {
            from: Some("2026-11-24".into()),
            ..Default::default()
        };
        let o = overview(&store, &q, &new_york).unwrap();
        assert_eq!(o.amounts.accepted_cents, 2500);
        let csv = csv(&store, &EarningsQuery::default(), &new_york).unwrap();
        assert!(csv.contains("2026-11-23T22:00:00-05:00"), "{csv}");
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// `(from, to)` of a resolved period.
    fn days(r: &EarningsRange) -> (Option<&str>, Option<&str>) {
        (r.from.as_deref(), r.to.as_deref())
    }

    #[test]
    fn each_period_covers_its_local_days_up_to_today() {
        use EarningsPeriod::{Last30Days, ThisMonth, ThisWeek};
        // (period, today, first day, last day). 2026-11-23 is a Monday,
        // 2026-11-29 a Sunday; February 2026 has 28 days, 2028 29.
        let cases = [
            (ThisWeek, "2026-11-23", "2026-11-23", "2026-11-23"),
            (ThisWeek, "2026-11-26", "2026-11-23", "2026-11-26"),
            (ThisWeek, "2026-11-29", "2026-11-23", "2026-11-29"),
            (ThisWeek, "2026-11-30", "2026-11-30", "2026-11-30"),
            (ThisWeek, "2027-01-01", "2026-12-28", "2027-01-01"),
            (ThisMonth, "2026-11-30", "2026-11-01", "2026-11-30"),
            (ThisMonth, "2026-12-01", "2026-12-01", "2026-12-01"),
            (ThisMonth, "2028-02-29", "2028-02-01", "2028-02-29"),
            (Last30Days, "2026-11-30", "2026-11-01", "2026-11-30"),
            (Last30Days, "2026-03-01", "2026-01-31", "2026-03-01"),
        ];
        for (period, today, from, to) in cases {
            let r = period_days(period, day(today));
            assert_eq!(days(&r), (Some(from), Some(to)), "{period:?} on {today}");
        }
        let r = period_days(Last30Days, day("2026-03-01"));
        let (from, to) = (
            day(r.from.as_deref().unwrap()),
            day(r.to.as_deref().unwrap()),
        );
        assert_eq!((to - from).num_days() + 1, 30);
        assert_eq!(
            period_days(EarningsPeriod::All, day("2026-11-30")),
            EarningsRange::default()
        );
    }

    #[test]
    fn periods_are_the_reviewers_local_days_not_utcs() {
        let new_york = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        let tokyo = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
        // Monday 03:00 UTC is still Sunday evening in New York: last week.
        let now = t("2026-11-30T03:00:00Z");
        let r = period(EarningsPeriod::ThisWeek, now, &Utc);
        assert_eq!(days(&r), (Some("2026-11-30"), Some("2026-11-30")));
        let r = period(EarningsPeriod::ThisWeek, now, &new_york);
        assert_eq!(days(&r), (Some("2026-11-23"), Some("2026-11-29")));
        // The 1st at 02:00 UTC is still the 30th in New York: last month.
        let now = t("2026-12-01T02:00:00Z");
        let r = period(EarningsPeriod::ThisMonth, now, &Utc);
        assert_eq!(days(&r), (Some("2026-12-01"), Some("2026-12-01")));
        let r = period(EarningsPeriod::ThisMonth, now, &new_york);
        assert_eq!(days(&r), (Some("2026-11-01"), Some("2026-11-30")));
        let r = period(EarningsPeriod::Last30Days, now, &new_york);
        assert_eq!(days(&r), (Some("2026-11-01"), Some("2026-11-30")));
        // Sunday 20:00 UTC is already Monday in Tokyo: a new week.
        let r = period(EarningsPeriod::ThisWeek, t("2026-11-29T20:00:00Z"), &tokyo);
        assert_eq!(days(&r), (Some("2026-11-30"), Some("2026-11-30")));
    }

    #[test]
    fn a_moved_clock_reads_every_instant_later() {
        // Friday noon read on a clock three days ahead: Monday noon.
        let moved = Moved {
            tz: Utc,
            by: chrono::Duration::days(3),
        };
        let now = t("2026-11-27T12:00:00Z");
        let r = period(EarningsPeriod::ThisWeek, now, &moved);
        assert_eq!(days(&r), (Some("2026-11-30"), Some("2026-11-30")));
        assert_eq!(
            moved.start(day("2026-11-30")),
            Some(t("2026-11-27T00:00:00Z"))
        );
        assert_eq!(moved.stamp(&now), "2026-11-30T12:00:00+00:00");
        // Ledger days follow the same clock.
        let (_dir, store) = graded_elsewhere();
        let s = all_series(&store, EarningsGrouping::Day, &moved);
        let keys: Vec<_> = s.points.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["2026-11-27"]);
        let s = all_series(
            &store,
            EarningsGrouping::Day,
            Clock::Moved(moved.by).calendar().as_ref(),
        );
        assert_eq!(s.points[0].key, "2026-11-27");
    }

    #[test]
    fn money_and_rates_read_like_money() {
        assert_eq!(decimal(-5), "-0.05");
        assert_eq!(decimal(-150), "-1.50");
        assert_eq!(decimal(12345), "123.45");
        let mut rate = Rate {
            opportunity_id: "o".into(),
            basis: PayBasis::PerHour,
            amount_cents: 15000,
            currency: "USD".into(),
            effective_from: Utc::now(),
        };
        assert_eq!(rate_text(&rate), "$150.00/h");
        rate.basis = PayBasis::PerItem;
        rate.currency = "CHF".into();
        assert_eq!(rate_text(&rate), "150.00 CHF/item");
        assert_eq!(duration_text(5400), "1h 30m");
        assert_eq!(duration_text(75), "1m 15s");
    }

    #[test]
    fn a_date_range_limits_time_to_the_range() {
        let (_dir, store) = graded_elsewhere();
        let now = Utc::now();
        let a3 = assay_protocol::Assignment {
            lease_expires_at: now + chrono::Duration::days(1),
            due_at: now + chrono::Duration::days(1),
            ..assay_protocol::Assignment::example("a3", 3, now - chrono::Duration::days(10))
        };
        store.apply_assignment_page(&[a3], "c3").unwrap();
        let span = |a: &str, b: &str| assay_protocol::TimeSpan {
            started_at: t(a),
            ended_at: t(b),
            corrected: false,
        };
        // Unsubmitted work: 30 min on the 20th, 10 min on the 24th.
        store
            .add_time_span("a3", &span("2026-11-20T10:00:00Z", "2026-11-20T10:30:00Z"))
            .unwrap();
        store
            .add_time_span("a3", &span("2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z"))
            .unwrap();
        // Waiting: 15 min on the 20th, 20 min across midnight into the 24th.
        store
            .add_waiting_span(&span("2026-11-20T09:00:00Z", "2026-11-20T09:15:00Z"))
            .unwrap();
        store
            .add_waiting_span(&span("2026-11-23T23:50:00Z", "2026-11-24T00:10:00Z"))
            .unwrap();

        let all = overview(&store, &EarningsQuery::default(), &Utc).unwrap();
        assert_eq!(all.unpaid.unsubmitted_seconds, 40 * 60);
        assert_eq!(all.unpaid.waiting_seconds, 35 * 60);
        assert_eq!(all.paid_seconds, 7200);

        let day = EarningsQuery {
            from: Some("2026-11-24".into()),
            to: Some("2026-11-24".into()),
            ..Default::default()
        };
        let o = overview(&store, &day, &Utc).unwrap();
        assert_eq!(o.unpaid.unsubmitted_seconds, 10 * 60);
        assert_eq!(o.unpaid.waiting_seconds, 10 * 60, "clipped at midnight");
        assert_eq!(o.paid_seconds, 7200, "both payments fall on the 24th (UTC)");
        assert_eq!(
            o.hourly_all_time_cents,
            Some((9000 + 2500) * 3600 / (7200 + 20 * 60))
        );
        // In New York the first payment (03:00 UTC) falls on the 23rd, and
        // the waiting span lies wholly on the 23rd's evening.
        let new_york = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        let o = overview(&store, &day, &new_york).unwrap();
        assert_eq!(o.paid_seconds, 1800);
        assert_eq!(o.amounts.accepted_cents, 2500);
        assert_eq!(o.unpaid.waiting_seconds, 0);
        assert_eq!(o.unpaid.unsubmitted_seconds, 10 * 60);
    }
}
