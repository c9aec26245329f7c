//! Benchmark of the queue query: `cargo run -p assay-store --release --bin queue-bench -- [rows]`.
//! Builds a store with N assignments (default 10,000), drafts on a third, an
//! outbox entry on a tenth, then times `Store::queue()` over repeated runs.

use std::time::Instant;

use assay_protocol::{
    Assignment, AssignmentKind, AssignmentState, PayBasis, Rate, RateCard, SubmissionRequest,
};
use assay_rubric::Answers;
use assay_store::Store;
use chrono::{Duration, Utc};

fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("assay-queue-bench-{}", std::process::id()));
    let store = Store::open(&dir)?;
    let now = Utc::now();
    let page: Vec<Assignment> = (0..rows)
        .map(|i| Assignment {
            id: format!("a{i:06}"),
            item_id: format!("i{i:06}"),
            item_title: format!("Item {i}"),
            opportunity_id: format!("opp-{}", i % 5),
            rubric_id: "r".into(),
            rubric_version: 1,
            kind: AssignmentKind::Grade,
            state: AssignmentState::Active,
            assigned_at: now,
            lease_expires_at: now + Duration::hours(1),
            due_at: now + Duration::minutes((i * 7 % 5000) as i64),
            review_of_submission_id: None,
            seq: i as i64,
            item_revision: 1,
        })
        .collect();
    store.apply_assignment_page(&page, "c")?;
    store.set_rate_card(&RateCard {
        rates: (0..5)
            .map(|o| Rate {
                opportunity_id: format!("opp-{o}"),
                basis: PayBasis::PerItem,
                amount_cents: 500,
                currency: "USD".into(),
                effective_from: now,
            })
            .collect(),
    })?;
    for a in page.iter().step_by(3) {
        store.save_draft(&a.id, &Answers::default())?;
    }
    for a in page.iter().step_by(10) {
        store.submit(
            &a.id,
            &SubmissionRequest {
                assignment_id: a.id.clone(),
                rubric_id: "r".into(),
                rubric_version: 1,
                answers: serde_json::json!({}),
                active_seconds: 1,
                time_log: vec![],
                client_created_at: now,
            },
        )?;
    }
    let runs = 20;
    let mut best = f64::MAX;
    let mut total = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        let q = store.queue(Utc::now())?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(q.len() == rows, "queue returned {} rows", q.len());
        best = best.min(ms);
        total += ms;
    }
    println!(
        "queue-bench: {rows} rows, {runs} runs: best {best:.1} ms, mean {:.1} ms",
        total / f64::from(runs)
    );
    drop(store);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
