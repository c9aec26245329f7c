//! Crash-harness child: grades and submits in a loop against a store, printing
//! an acknowledgement line after every call returns. The harness kills it with
//! SIGKILL at random points and checks every acknowledged write survived.
//!
//! Output lines (only printed once the store call has returned):
//! - `D <assignment> <revision> <text>`: draft saved
//! - `S <assignment> <idempotency-key>`: submission queued in the outbox
//!
//! Usage: `crash-child <data-dir>`

use std::io::Write;

use assay_protocol::{Assignment, SubmissionRequest};
use assay_rubric::{Answer, Answers};
use assay_store::{QueueStatus, Store};
use chrono::Utc;

/// Draft revisions written before each submit.
const REVISIONS: i64 = 4;

fn answers(text: &str) -> Answers {
    let mut a = Answers::default();
    a.answers
        .insert("notes".into(), Answer::FreeText { text: text.into() });
    a
}

fn request(assignment_id: &str, answers: &Answers) -> anyhow::Result<SubmissionRequest> {
    Ok(SubmissionRequest {
        assignment_id: assignment_id.into(),
        rubric_id: "crash".into(),
        rubric_version: 1,
        answers: serde_json::to_value(answers)?,
        active_seconds: 1,
        time_log: vec![],
        client_created_at: Utc::now(),
    })
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: crash-child <data-dir>"))?;
    let store = Store::open(&dir)?;
    let mut out = std::io::stdout().lock();
    // Like the app after a restart: drafts left from the previous run get submitted.
    for row in store.queue(Utc::now())? {
        if matches!(row.status, QueueStatus::Draft | QueueStatus::Ready) {
            if let Some(d) = store.draft(&row.assignment_id)? {
                let e = store.submit(
                    &row.assignment_id,
                    &request(&row.assignment_id, &d.answers)?,
                )?;
                writeln!(out, "S {} {}", row.assignment_id, e.idempotency_key)?;
                out.flush()?;
            }
        }
    }
    let mut n = store.queue(Utc::now())?.len();
    loop {
        let id = format!("c{n:07}");
        n += 1;
        store.apply_assignment_page(
            &[Assignment {
                item_title: format!("Crash item {id}"),
                rubric_id: "crash".into(),
                ..Assignment::example(&id, n as i64, Utc::now())
            }],
            &n.to_string(),
        )?;
        let mut last = Answers::default();
        for rev in 1..=REVISIONS {
            let text = format!("{id}-rev-{rev}");
            last = answers(&text);
            let saved = store.save_draft(&id, &last)?;
            writeln!(out, "D {id} {} {text}", saved.revision)?;
            out.flush()?;
        }
        let e = store.submit(&id, &request(&id, &last)?)?;
        writeln!(out, "S {id} {}", e.idempotency_key)?;
        out.flush()?;
    }
}
