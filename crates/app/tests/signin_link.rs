//! issue 18: signing in from an `assay://signin` link with a one-time code,
//! against a real reference platform on loopback (token in a real Secret
//! Service: run inside `dbus-run-session` with an unlocked gnome-keyring).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use std::sync::Arc;

use assay_app::links::{parse_link, DeepLink};
use assay_app::{ErrorCode, ScriptedDialogs, Workbench};
use assay_protocol::SigninCode;

#[path = "support/expert_api.rs"]
mod expert_api;

fn open(dir: &std::path::Path, confirm: Option<String>) -> Workbench {
    open_asking(dir, confirm).0
}

/// The workbench and the dialogs it asks, to read what was shown.
fn open_asking(
    dir: &std::path::Path,
    confirm: Option<String>,
) -> (Workbench, Arc<ScriptedDialogs>) {
    let dialogs = Arc::new(ScriptedDialogs {
        confirm_sign_in: confirm,
        ..Default::default()
    });
    let wb = Workbench::open(
        &format!("dev.assay.desktop.test-link-{}", std::process::id()),
        dir,
        Arc::new(|_| {}),
        dialogs.clone(),
    )
    .unwrap();
    (wb, dialogs)
}

async fn new_code(platform: &assay_platform::testing::TestPlatform) -> SigninCode {
    expert_api::expert_json(platform, reqwest::Method::POST, "/auth/signin-codes").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_exchanges_its_code_once_for_a_token_of_its_own() {
    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let url = platform.base_url();
    let code = new_code(&platform).await;
    // The link the platform would hand out parses to exactly this.
    let link = format!("assay://signin?platform={url}&code={}", code.code);
    let Ok(DeepLink::SignIn {
        platform: linked,
        code: linked_code,
    }) = parse_link(&link)
    else {
        panic!("{link} did not parse as a sign-in link");
    };
    assert_eq!(
        (linked.as_str(), linked_code.as_str()),
        (url.as_str(), code.code.as_str())
    );

    // Not confirmed: nothing is sent, and the code stays usable.
    let dir = tempfile::tempdir().unwrap();
    let (wb, dialogs) = open_asking(dir.path(), None);
    let err = wb.sign_in_with_code(&url, &code.code).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    assert!(err.message.contains("cancelled"), "{}", err.message);
    // The person was asked about the link (worded for a link, not for a
    // token they typed: see `assay_app::sign_in_question`).
    assert_eq!(dialogs.shown(), vec![format!("confirm link {url}")]);

    let wb = open(dir.path(), Some(url.clone()));
    let session = wb.sign_in_with_code(&url, &code.code).await.unwrap();
    assert!(session.signed_in);
    assert_eq!(session.expert.as_ref().unwrap().email, "demo@assay.dev");
    // It syncs with the token the code was exchanged for (kept in the
    // keyring, not in the settings file).
    let state = wb.sync_now(|_| {}).await.unwrap();
    assert!(state.online, "{state:?}");
    let settings = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(!settings.contains(&code.code));
    wb.sign_out().await.unwrap();

    // The code was spent: a second use is refused in words.
    let dir2 = tempfile::tempdir().unwrap();
    let wb2 = open(dir2.path(), Some(url.clone()));
    let err = wb2.sign_in_with_code(&url, &code.code).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthenticated, "{err:?}");
    assert!(
        err.message.contains("already used or expired"),
        "{}",
        err.message
    );
    assert!(!wb2.session().await.unwrap().signed_in);

    // A malformed code or platform never reaches the network or a dialog.
    let err = wb2.sign_in_with_code(&url, "<script>").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    let err = wb2
        .sign_in_with_code("javascript:alert(1)", &code.code)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_expert_tokens_get_codes_and_exchange_needs_no_token() {
    let platform = assay_platform::testing::start_seeded().await.unwrap();
    let http = reqwest::Client::new();
    // Without a token: 401.
    let r = http
        .post(platform.api_url("/auth/signin-codes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The operator's token is not handed on through links.
    let r = http
        .post(platform.api_url("/auth/signin-codes"))
        .bearer_auth(&platform.admin_token)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status().as_u16(), 401 | 403),
        "{}",
        r.text().await.unwrap()
    );
    // An unknown code: 401 with an ApiError.
    let r = http
        .post(platform.api_url("/auth/signin-codes/exchange"))
        .json(&serde_json::json!({"code": "0".repeat(64)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized", "{body}");
}
