//! The draft save path does no redundant work: the rubric is parsed once
//! per stored text and diff-comment line hashes come from the diff the item
//! view already parsed (the one the reviewer sees), not from re-reading the
//! item. Synced by the sync engine itself (no keyring needed).

use std::sync::Arc;

use assay_app::Workbench;
use assay_protocol::FieldValue;
use assay_rubric::{Annotation, AnnotationAnchor, Answer, Answers, DiffSide};
use assay_sync::{PlatformClient, SyncConfig, SyncEngine, Token};

async fn synced_workbench(
    platform: &assay_platform::testing::TestPlatform,
    dir: &std::path::Path,
) -> Workbench {
    let wb = Workbench::open(
        "dev.assay.test.save-path",
        dir,
        Arc::new(|_| {}),
        Arc::new(assay_app::ScriptedDialogs::default()),
    )
    .unwrap();
    let client = PlatformClient::new(&platform.base_url())
        .unwrap()
        .with_token(Token::new(platform.expert_token.clone()));
    SyncEngine::new(client, wb.store().clone(), SyncConfig::default())
        .pull(|_| {})
        .await
        .unwrap();
    wb
}

/// A seeded platform, a workbench synced from it (in its own folder), and
/// one of its new code reviews.
async fn on_a_new_code_review() -> (
    assay_platform::testing::TestPlatform,
    tempfile::TempDir,
    Workbench,
    assay_app::types::QueueEntry,
) {
    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wb = synced_workbench(&platform, dir.path()).await;
    let row = crate::new_code_review(&wb);
    (platform, dir, wb, row)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_hashes_come_from_the_diff_the_reviewer_sees() {
    let (platform, _dir, wb, row) = on_a_new_code_review().await;
    let opened = wb.open_item(&row.assignment_id).await.unwrap();
    let shown = assay_app::views::item_diffs(&opened.item)
        .into_iter()
        .find(|(id, _)| id == "diff")
        .expect("a diff field")
        .1;
    let file = shown.files[0].path.clone();
    let line = (1..400)
        .find(|l| assay_render::diff::anchor_for(&shown, &file, DiffSide::New, *l).is_some())
        .expect("a new-side line");
    let expected = assay_render::diff::anchor_for(&shown, &file, DiffSide::New, line)
        .unwrap()
        .line_hash;

    // The stored item changes under the open view (its diff no longer has
    // that file): a save that re-read the item would find no line to hash.
    let store = wb.store();
    let mut item = store.scoped_item(&row.assignment_id).unwrap().unwrap();
    for f in item.fields.iter_mut().filter(|f| f.id == "diff") {
        f.value = FieldValue::Text(
            "diff --git a/other.txt b/other.txt\n--- a/other.txt\n+++ b/other.txt\n@@ -1 +1 @@\n-a\n+b\n"
                .into(),
        );
    }
    store
        .put_scoped_item(&row.assignment_id, &item, None)
        .unwrap();

    let mut answers = Answers::default();
    answers.answers.insert(
        "comments".into(),
        Answer::Annotations {
            items: vec![Annotation {
                comment: "keep".into(),
                ..Annotation::on_diff_line("c1", "diff", &file, DiffSide::New, line, None)
            }],
        },
    );
    wb.save_draft(&row.assignment_id, &answers, None).unwrap();
    let saved = store.draft(&row.assignment_id).unwrap().unwrap();
    let Some(Answer::Annotations { items }) = saved.answers.answers.get("comments") else {
        panic!("{saved:?}")
    };
    assert!(
        matches!(&items[0].anchor, AnnotationAnchor::DiffLine { line_hash: Some(h), .. } if *h == expected),
        "{items:?}"
    );
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rubric_stored_again_with_other_text_is_used_by_the_next_save() {
    let (platform, _dir, wb, row) = on_a_new_code_review().await;
    let empty = Answers::default();
    let first = wb.save_draft(&row.assignment_id, &empty, None).unwrap();
    assert!(!first.validation.ok, "required questions are unanswered");
    // Saved again: same answer from the parsed (cached) rubric.
    let again = wb.save_draft(&row.assignment_id, &empty, None).unwrap();
    assert_eq!(again.validation, first.validation);
    assert!(again.revision > first.revision);

    // The same rubric version stored with nothing required any more.
    let a = wb.store().assignment(&row.assignment_id).unwrap().unwrap();
    let mut rubric = wb
        .store()
        .rubric(&a.rubric_id, a.rubric_version)
        .unwrap()
        .unwrap();
    for q in &mut rubric.questions {
        q.required = false;
    }
    wb.store().put_rubric(&rubric).unwrap();
    let relaxed = wb.save_draft(&row.assignment_id, &empty, None).unwrap();
    assert!(relaxed.validation.ok, "{:?}", relaxed.validation);
    platform.shutdown().await.unwrap();
}
