//! Ledger mirror, rate card and payouts (earnings are computed by the app
//! from these, in the reviewer's time zone).

use assay_protocol::{LedgerEntry, Payout, Rate, RateCard};
use rusqlite::{params, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::{enum_parse, enum_str, get_ts, ts, Store};

impl Store {
    /// Apply one page of `GET /ledger` and advance the cursor, atomically.
    pub fn apply_ledger_page(&self, entries: &[LedgerEntry], next_cursor: &str) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for e in entries {
            tx.execute(
                "INSERT INTO ledger (id, submission_id, assignment_id, item_id, opportunity_id, \
                   amount_cents, currency, status, payout_id, created_at, updated_at, seq) \
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) \
                 ON CONFLICT(id) DO UPDATE SET amount_cents = excluded.amount_cents, \
                   currency = excluded.currency, status = excluded.status, \
                   payout_id = excluded.payout_id, updated_at = excluded.updated_at, \
                   seq = excluded.seq WHERE excluded.seq >= ledger.seq",
                params![
                    e.id,
                    e.submission_id,
                    e.assignment_id,
                    e.item_id,
                    e.opportunity_id,
                    e.amount_cents,
                    e.currency,
                    enum_str(&e.status),
                    e.payout_id,
                    ts(e.created_at),
                    ts(e.updated_at),
                    e.seq
                ],
            )?;
        }
        crate::sync_state::set_cursor_tx(&tx, crate::cursor::LEDGER, next_cursor)?;
        tx.commit()?;
        Ok(())
    }

    /// The ledger mirror, newest first.
    pub fn ledger(&self) -> Result<Vec<LedgerEntry>> {
        self.ledger_where("1 = 1", params![])
    }

    /// The ledger entries of one assignment, newest first.
    pub fn ledger_of(&self, assignment_id: &str) -> Result<Vec<LedgerEntry>> {
        self.ledger_where("assignment_id = ?1", [assignment_id])
    }

    fn ledger_where<P: rusqlite::Params>(&self, filter: &str, p: P) -> Result<Vec<LedgerEntry>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!(
            "SELECT id, submission_id, assignment_id, item_id, opportunity_id, amount_cents, \
               currency, status, payout_id, created_at, updated_at, seq \
             FROM ledger WHERE {filter} ORDER BY created_at DESC, id"
        ))?;
        let rows = st.query_map(p, |r| {
            Ok(LedgerEntry {
                id: r.get(0)?,
                submission_id: r.get(1)?,
                assignment_id: r.get(2)?,
                item_id: r.get(3)?,
                opportunity_id: r.get(4)?,
                amount_cents: r.get(5)?,
                currency: r.get(6)?,
                status: enum_parse(&r.get::<_, String>(7)?)?,
                payout_id: r.get(8)?,
                created_at: get_ts(r, 9)?,
                updated_at: get_ts(r, 10)?,
                seq: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replace the stored rate card.
    pub fn set_rate_card(&self, card: &RateCard) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM rate_card", [])?;
        for r in &card.rates {
            tx.execute(
                "INSERT OR REPLACE INTO rate_card (opportunity_id, effective_from, basis, \
                   amount_cents, currency) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    r.opportunity_id,
                    ts(r.effective_from),
                    enum_str(&r.basis),
                    r.amount_cents,
                    r.currency
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored rate card.
    pub fn rate_card(&self) -> Result<RateCard> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT opportunity_id, basis, amount_cents, currency, effective_from FROM rate_card \
             ORDER BY opportunity_id, effective_from",
        )?;
        let rates = st
            .query_map([], |r| {
                Ok(Rate {
                    opportunity_id: r.get(0)?,
                    basis: enum_parse(&r.get::<_, String>(1)?)?,
                    amount_cents: r.get(2)?,
                    currency: r.get(3)?,
                    effective_from: get_ts(r, 4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(RateCard { rates })
    }

    /// Replace the stored payouts.
    pub fn set_payouts(&self, payouts: &[Payout]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM payouts", [])?;
        for p in payouts {
            let json = serde_json::to_string(p).map_err(StoreError::json("payout"))?;
            tx.execute(
                "INSERT OR REPLACE INTO payouts (id, paid_at, json) VALUES (?1, ?2, ?3)",
                params![p.id, ts(p.paid_at), json],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Stored payouts, newest first.
    pub fn payouts(&self) -> Result<Vec<Payout>> {
        self.json_rows("SELECT json FROM payouts ORDER BY paid_at DESC, id")
    }
}
