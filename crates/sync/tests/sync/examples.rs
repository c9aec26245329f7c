//! The README's walk-through of `examples/scan-triage/`, run exactly as
//! written: from an empty platform, the five `assay-platform` commands
//! between the `five-commands` markers (parsed by the binary's own argument
//! parser and run in-process), with the real client in between: the expert
//! signs in, syncs, grades one item and uploads it; the export then holds it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_platform::cli::{self, RemoteCli};
use assay_platform::testing::start_empty;
use assay_protocol::{AssignmentKind, LoginRequest, SubmissionRequest};
use assay_store::{QueueStatus, Store};
use assay_sync::{PlatformClient, SyncConfig, SyncEngine, Token};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Shell-like split: whitespace separates, double quotes group.
fn split_args(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// The commands between the README's `five-commands` markers.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- five-commands: begin")
        .expect("begin marker");
    let end = readme
        .find("<!-- five-commands: end -->")
        .expect("end marker");
    readme[start..end]
        .lines()
        .filter(|l| l.starts_with("assay-platform "))
        .map(split_args)
        .collect()
}

fn arg_after(args: &[String], flag: &str) -> String {
    let i = args.iter().position(|a| a == flag).unwrap();
    args[i + 1].clone()
}

#[tokio::test]
async fn readme_walkthrough_from_an_empty_platform_to_a_graded_export() {
    let platform = start_empty().await.unwrap();
    let root = repo_root();
    let out_dir = tempfile::tempdir().unwrap();
    let commands = readme_commands();
    assert_eq!(
        commands.len(),
        5,
        "the README promises five commands: {commands:?}"
    );

    let mut outputs = Vec::new();
    for (step, words) in commands.iter().enumerate() {
        if step == 4 {
            grade_one_item(&platform.base_url(), &commands[0]).await;
        }
        // Paths are relative to the repository root; the export goes to a temp dir.
        let mut args: Vec<String> = words
            .iter()
            .map(|w| {
                if w.starts_with("examples/") {
                    root.join(w).display().to_string()
                } else if w == "graded.ndjson" {
                    out_dir.path().join(w).display().to_string()
                } else {
                    w.clone()
                }
            })
            .collect();
        // What the README's `export ASSAY_PLATFORM_URL=… ASSAY_PLATFORM_TOKEN=…` gives.
        args.extend([
            "--server".to_owned(),
            platform.base_url(),
            "--token".to_owned(),
            platform.admin_token.clone(),
        ]);
        let command = RemoteCli::parse_command(&args)
            .unwrap_or_else(|e| panic!("step {}: {words:?}: {e}", step + 1));
        let mut out = Vec::new();
        cli::run(command, &mut out)
            .await
            .unwrap_or_else(|e| panic!("step {}: {words:?}: {e}", step + 1));
        outputs.push(String::from_utf8(out).unwrap());
    }
    assert!(outputs[0].trim().starts_with("asy_"), "{outputs:?}");
    assert_eq!(
        outputs[1].trim(),
        "published rubric er-imaging-triage version 1"
    );
    assert!(
        outputs[2].starts_with("created opportunity er-triage-2026-12"),
        "{outputs:?}"
    );
    assert!(
        outputs[3].contains("3 line(s)")
            && outputs[3].contains("3 created")
            && outputs[3].contains("0 rejected; 3 assignment(s) made"),
        "{outputs:?}"
    );

    // The export: the one graded submission, with what a buyer needs.
    let export = std::fs::read_to_string(out_dir.path().join("graded.ndjson")).unwrap();
    let lines: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{export}");
    let r = &lines[0];
    assert_eq!(r["rubric_id"], "er-imaging-triage");
    assert_eq!(r["rubric_version"], 1);
    assert_eq!(r["expert_email"], "rad@example.org");
    assert_eq!(r["active_seconds"], 420);
    assert_eq!(r["licence_category"], "commercial-training");
    assert_eq!(r["buyer"], "Northwind Health AI");
    assert_eq!(r["opportunity_id"], "er-triage-2026-12");
    assert!(r["external_id"].as_str().unwrap().starts_with("ER-2026-"));
    assert_eq!(r["status"], "pending");
    assert!(r["answers"]["answers"]["impression"].is_object(), "{r}");
    platform.shutdown().await.unwrap();
}

/// The reviewer added in step 1 signs in with the real client, syncs,
/// grades one item and uploads the grade (what the app does).
async fn grade_one_item(base_url: &str, expert_add: &[String]) {
    let mut client = PlatformClient::new(base_url).unwrap();
    let login = client
        .login(&LoginRequest {
            email: arg_after(expert_add, "--email"),
            password: arg_after(expert_add, "--password"),
            label: Some("examples test".into()),
        })
        .await
        .unwrap();
    client.set_token(Some(Token::new(login.token)));
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let engine = SyncEngine::new(client, Arc::clone(&store), SyncConfig::default());
    let report = engine.pull(|_| {}).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!((report.assignments, report.items), (3, 3), "{report:?}");
    assert_eq!(report.attachments, 3, "{report:?}");
    let queue = store.queue(chrono::Utc::now()).unwrap();
    let workable: Vec<_> = queue
        .iter()
        .filter(|r| r.kind == AssignmentKind::Grade && r.status == QueueStatus::New && r.downloaded)
        .collect();
    assert_eq!(workable.len(), 3);
    let id = workable[0].assignment_id.clone();
    let a = store.assignment(&id).unwrap().unwrap();
    let rubric = store
        .rubric(&a.rubric_id, a.rubric_version)
        .unwrap()
        .unwrap();
    let answers = crate::support::valid_answers(&rubric);
    store.save_draft_with(&id, &answers, true).unwrap();
    store
        .submit(
            &id,
            &SubmissionRequest {
                assignment_id: id.clone(),
                rubric_id: a.rubric_id.clone(),
                rubric_version: a.rubric_version,
                answers: serde_json::to_value(&answers).unwrap(),
                active_seconds: 420,
                time_log: vec![],
                client_created_at: chrono::Utc::now(),
            },
        )
        .unwrap();
    let pushed = engine.push().await.unwrap();
    assert_eq!((pushed.sent, pushed.failed), (1, 0), "{pushed:?}");
}
