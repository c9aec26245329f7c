//! issue 14: publishing the previewed rubric from the app to a real
//! platform on loopback (the token in a real Secret Service: run inside
//! `dbus-run-session` with an unlocked gnome-keyring, as `cargo xtask test`
//! does). An author publishes version N+1; an expert is not offered Publish
//! and is refused with 403; a rubric with lint errors comes back with every
//! finding and nothing is published.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::path::Path;
use std::sync::Arc;

use assay_app::{ErrorCode, ScriptedDialogs, Workbench};
use assay_platform::testing::EmptyPlatform;
use assay_protocol::TokenRole;

fn example_rubric() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scan-triage/rubric.toml"),
    )
    .unwrap()
}

/// A new account with `role`, made the way a team lead does
/// (`assay-platform expert add`); returns its token.
async fn account(p: &EmptyPlatform, email: &str, role: &str) -> String {
    let base = p.base_url();
    let args = [
        "assay-platform",
        "expert",
        "add",
        "--email",
        email,
        "--name",
        email,
        "--role",
        role,
        "--server",
        &base,
        "--token",
        &p.admin_token,
    ];
    let command = assay_platform::cli::RemoteCli::parse_command(args).unwrap();
    let mut out = Vec::new();
    assay_platform::cli::run(command, &mut out).await.unwrap();
    String::from_utf8(out).unwrap().trim().to_owned()
}

/// The HTTP status of `GET /rubrics/{id}/versions/{v}` for `token`.
async fn rubric_status(p: &EmptyPlatform, token: &str, v: u32) -> u16 {
    reqwest::Client::new()
        .get(p.api_url(&format!("/rubrics/er-imaging-triage/versions/{v}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn author_publishes_the_previewed_rubric_expert_is_refused() {
    let p = assay_platform::testing::start_empty().await.unwrap();
    let author = account(&p, "author@example.org", "author").await;
    let expert = account(&p, "expert@example.org", "expert").await;
    // Version 1 is on the platform already (published from the CLI).
    let files = tempfile::tempdir().unwrap();
    let rubric_path = files.path().join("rubric.toml");
    std::fs::write(&rubric_path, example_rubric()).unwrap();
    let command = assay_platform::cli::RemoteCli::parse_command([
        "assay-platform",
        "rubric",
        "publish",
        rubric_path.to_str().unwrap(),
        "--server",
        &p.base_url(),
        "--token",
        &author,
    ])
    .unwrap();
    assay_platform::cli::run(command, &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(rubric_status(&p, &author, 1).await, 200);

    // The author edits the rubric to version 2 and previews it.
    let v2 = example_rubric()
        .replace("version = 1", "version = 2")
        .replacen(
            "title = \"Triage an emergency imaging study\"",
            "title = \"Triage an emergency imaging study (v2)\"",
            1,
        );
    assert_ne!(v2, example_rubric());
    std::fs::write(&rubric_path, &v2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dialogs = Arc::new(ScriptedDialogs {
        confirm_sign_in: Some(p.base_url()),
        rubric_file: Some(rubric_path.clone()),
        ..Default::default()
    });
    let wb = Workbench::open(
        &format!("dev.assay.desktop.test-publish-{}", std::process::id()),
        dir.path(),
        Arc::new(|_| {}),
        dialogs,
    )
    .unwrap();
    // Not signed in: no Publish, and why.
    let access = wb.publish_access().await.unwrap();
    assert!(!access.can_publish);
    assert!(access.reason.unwrap().contains("Sign in"));
    wb.preview_choose_rubric().await.unwrap();
    wb.sign_in(&p.base_url(), &author).await.unwrap();

    let access = wb.publish_access().await.unwrap();
    assert!(access.can_publish, "{access:?}");
    assert_eq!(access.role, Some(TokenRole::Author));
    let plan = wb.publish_check().await.unwrap();
    assert_eq!(plan.version, Some(2), "{plan:?}");
    assert_eq!(plan.latest_published, Some(1));
    assert_eq!(plan.rubric_id.as_deref(), Some("er-imaging-triage"));
    assert!(plan.errors.is_empty() && plan.can_confirm, "{plan:?}");
    assert_eq!(plan.summary, "Publishes er-imaging-triage as version 2.");
    assert_eq!(
        rubric_status(&p, &author, 2).await,
        404,
        "checking publishes nothing"
    );
    let done = wb.publish_rubric().await.unwrap();
    assert!(done.published && done.created, "{done:?}");
    assert_eq!(done.version, Some(2));
    assert_eq!(
        rubric_status(&p, &author, 2).await,
        200,
        "version N+1 exists"
    );
    // Checked again: already there, nothing to confirm.
    let plan = wb.publish_check().await.unwrap();
    assert!(!plan.can_confirm, "{plan:?}");
    assert!(plan.summary.contains("already published"), "{plan:?}");

    // Lint errors: listed with line/column, confirm disabled, and a publish
    // anyway is refused with the platform's findings; nothing is published.
    let bad = v2
        .replace("version = 2", "version = 3")
        .replace("min = 1\nmax = 4", "min = 4\nmax = 1");
    assert_ne!(bad, v2.replace("version = 2", "version = 3"));
    std::fs::write(&rubric_path, &bad).unwrap();
    let plan = wb.publish_check().await.unwrap();
    assert!(!plan.can_confirm);
    assert!(!plan.errors.is_empty(), "{plan:?}");
    assert!(plan.errors.iter().all(|f| f.line.is_some()), "{plan:?}");
    assert!(plan.summary.contains("lint error"), "{plan:?}");
    let refused = wb.publish_rubric().await.unwrap();
    assert!(!refused.published, "{refused:?}");
    assert!(
        refused
            .errors
            .iter()
            .any(|f| f.code == "scale-range" && f.line.is_some() && f.column.is_some()),
        "{refused:?}"
    );
    assert_eq!(
        rubric_status(&p, &author, 3).await,
        404,
        "nothing published"
    );

    // An expert token: no Publish button, and a publish anyway is a clear 403.
    std::fs::write(&rubric_path, v2.replace("version = 2", "version = 4")).unwrap();
    wb.sign_in(&p.base_url(), &expert).await.unwrap();
    let access = wb.publish_access().await.unwrap();
    assert!(!access.can_publish);
    assert_eq!(access.role, Some(TokenRole::Expert));
    let err = wb.publish_check().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Rejected, "{err:?}");
    let err = wb.publish_rubric().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Rejected, "{err:?}");
    assert!(
        err.message.contains("403") && err.message.contains("author"),
        "{err:?}"
    );
    assert_eq!(rubric_status(&p, &author, 4).await, 404);
    p.shutdown().await.unwrap();
}
