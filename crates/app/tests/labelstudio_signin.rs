//! Sign-in picks the platform kind by probing the address: a Label Studio
//! server (a stand-in answering its public routes as 1.23.2 does) becomes a
//! Label Studio session, shown as such, with pay reported as absent; an
//! address that is neither kind is refused in words. Needs the Secret Service
//! (`cargo xtask test` runs it inside `dbus-run-session`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::sync::Arc;

use assay_app::{ScriptedDialogs, Workbench};
use assay_sync::PlatformKind;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn workbench(dir: &std::path::Path, confirm: &str) -> Workbench {
    Workbench::open(
        &format!("dev.assay.desktop.test-ls-{}", std::process::id()),
        dir,
        Arc::new(|_| {}),
        Arc::new(ScriptedDialogs {
            confirm_sign_in: Some(confirm.to_string()),
            ..Default::default()
        }),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_probes_label_studio_and_remembers_the_kind() {
    let ls = serve(
        Router::new()
            // Label Studio answers Assay's health route with an HTML 404 page.
            .route(
                "/api/v1/health",
                get(|| async { (StatusCode::NOT_FOUND, Html("<html>404</html>")) }),
            )
            .route(
                "/api/version",
                get(|| async {
                    Json(json!({"release": "1.23.2", "label-studio-os-package": {"version": "1.23.2"}}))
                }),
            )
            .route("/health", get(|| async { Json(json!({"status": "UP"})) }))
            .route(
                "/api/current-user/whoami",
                get(|| async {
                    Json(json!({"id": 7, "email": "rae@example.org", "first_name": "Rae", "last_name": "Viewer"}))
                }),
            )
            .route(
                "/api/projects/",
                get(|| async { Json(json!({"count": 0, "next": null, "results": []})) }),
            ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let wb = workbench(dir.path(), &ls);
    wb.resume().await.unwrap();
    let s = wb
        .sign_in(&ls, "0123456789abcdef0123456789abcdef01234567")
        .await
        .unwrap();
    assert!(s.signed_in);
    assert_eq!(s.platform_kind, Some(PlatformKind::LabelStudio));
    assert_eq!(s.platform_label.as_deref(), Some("Label Studio"));
    assert!(
        s.pay_note
            .as_deref()
            .is_some_and(|n| n.contains("does not report pay")),
        "{s:?}"
    );
    assert_eq!(s.expert.as_ref().unwrap().display_name, "Rae Viewer");
    drop(wb);

    // A restart resumes the same kind of session from the settings.
    let wb = workbench(dir.path(), &ls);
    let s = wb.resume().await.unwrap();
    assert!(s.signed_in, "{s:?}");
    assert_eq!(s.platform_kind, Some(PlatformKind::LabelStudio));
    wb.sign_out().await.unwrap();

    // Neither an Assay platform nor Label Studio: refused in words.
    let other = serve(Router::new().route("/", get(|| async { "hello" }))).await;
    let dir = tempfile::tempdir().unwrap();
    let wb = workbench(dir.path(), &other);
    wb.resume().await.unwrap();
    let e = wb.sign_in(&other, "token").await.unwrap_err();
    assert!(
        e.message
            .contains("does not answer like an Assay platform or a Label Studio server"),
        "{e:?}"
    );
}
