//! Crash-harness child for the sync engine: pulls from the platform, grades
//! every workable assignment, submits and uploads, in a loop. The harness
//! (`crates/sync/tests/sync.rs`, `crash` module) SIGKILLs it at random points
//! and checks that the platform ends up with exactly one copy of every
//! submission. Prints `S <assignment> <key>` once a submit is durable.
//!
//! Usage: `ASSAY_SYNC_TOKEN=... sync-crash-child <store-dir> <platform-url> <answers.json>`
//! (the token comes from the environment so it never shows in a process list).
//! `answers.json` maps `<rubric id>@<version>` to the answers to submit for
//! that rubric (the harness writes it); work under other rubrics is skipped.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use assay_protocol::{AssignmentKind, SubmissionRequest};
use assay_rubric::Answers;
use assay_store::{QueueStatus, Store};
use assay_sync::{PlatformClient, SyncConfig, SyncEngine, Token};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(url), Some(answers)) = (args.next(), args.next(), args.next()) else {
        anyhow::bail!("usage: sync-crash-child <store-dir> <platform-url> <answers.json>");
    };
    let answers: HashMap<String, Answers> = serde_json::from_slice(&std::fs::read(answers)?)?;
    let token = std::env::var("ASSAY_SYNC_TOKEN")?;
    let store = Arc::new(Store::open(&dir)?);
    let client = PlatformClient::new(&url)?.with_token(Token::new(token));
    let config = SyncConfig {
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        ..SyncConfig::default()
    };
    let engine = SyncEngine::new(client, Arc::clone(&store), config);
    let mut out = std::io::stdout().lock();
    loop {
        // Errors are expected here (the harness kills the platform connection
        // mid-flight only by killing us); the loop just tries again.
        let _ = engine.push().await;
        let _ = engine.pull(|_| {}).await;
        let workable: Vec<String> = store
            .queue(chrono::Utc::now())?
            .into_iter()
            .filter(|r| {
                r.kind == AssignmentKind::Grade
                    && r.downloaded
                    && matches!(r.status, QueueStatus::New | QueueStatus::Draft)
            })
            .map(|r| r.assignment_id)
            .collect();
        if workable.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for id in workable {
            let Some(a) = store.assignment(&id)? else {
                continue;
            };
            let Some(answers) = answers.get(&format!("{}@{}", a.rubric_id, a.rubric_version))
            else {
                continue;
            };
            store.save_draft_with(&id, answers, true)?;
            let entry = store.submit(
                &id,
                &SubmissionRequest {
                    assignment_id: id.clone(),
                    rubric_id: a.rubric_id.clone(),
                    rubric_version: a.rubric_version,
                    answers: serde_json::to_value(answers)?,
                    active_seconds: 30,
                    time_log: vec![],
                    client_created_at: chrono::Utc::now(),
                },
            )?;
            writeln!(out, "S {id} {}", entry.idempotency_key)?;
            out.flush()?;
            let _ = engine.push().await;
        }
    }
}
