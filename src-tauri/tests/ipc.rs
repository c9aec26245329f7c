//! The shell's commands through Tauri's IPC layer with the mock runtime
//! (no window system): results serialize as the UI expects and errors cross
//! as `{code, message}`.

use assay_desktop::{builder, Profile};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;

fn request(cmd: &str, body: serde_json::Value) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("static URL"),
        body: InvokeBody::Json(body),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

#[test]
fn commands_answer_and_errors_are_code_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile {
        identifier: "dev.assay.desktop.test-ipc".into(),
        data_dir: dir.path().to_path_buf(),
    };
    let app = builder(mock_builder(), profile)
        .unwrap()
        .build(tauri::generate_context!())
        .unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let info = get_ipc_response(&webview, request("app_info", serde_json::json!({})))
        .unwrap()
        .deserialize::<serde_json::Value>()
        .unwrap();
    assert_eq!(info["identifier"], "dev.assay.desktop.test-ipc");

    let page = get_ipc_response(
        &webview,
        request(
            "queue_page",
            serde_json::json!({"filter": {"search": "", "statuses": [], "opportunity_id": null, "kind": null, "sort": "due"}, "offset": 0, "limit": 50}),
        ),
    )
    .unwrap()
    .deserialize::<serde_json::Value>()
    .unwrap();
    assert_eq!(page["total"], 0);

    let err = get_ipc_response(
        &webview,
        request("open_item", serde_json::json!({"assignment_id": "nope"})),
    )
    .unwrap_err();
    assert_eq!(err["code"], "not_found", "{err}");
    assert!(err["message"].as_str().unwrap().contains("nope"));

    // Idle waiting, with the argument shape the UI sends (`{span}`), lands
    // in the store and shows in the earnings overview.
    let now = chrono::Utc::now();
    let span = serde_json::json!({
        "started_at": now - chrono::Duration::minutes(12),
        "ended_at": now - chrono::Duration::minutes(2),
        "corrected": false,
    });
    let waited = get_ipc_response(
        &webview,
        request("record_waiting", serde_json::json!({"span": span})),
    )
    .unwrap()
    .deserialize::<serde_json::Value>()
    .unwrap();
    assert_eq!(waited["waiting_seconds"], 600);
    let overview = get_ipc_response(
        &webview,
        request(
            "earnings_summary",
            serde_json::json!({"query": {"from": null, "to": null, "opportunity_id": null}}),
        ),
    )
    .unwrap()
    .deserialize::<serde_json::Value>()
    .unwrap();
    assert_eq!(overview["unpaid"]["waiting_seconds"], 600, "{overview}");
    assert_eq!(overview["unpaid"]["screening_seconds"], 0, "{overview}");
    let backwards = serde_json::json!({"started_at": now, "ended_at": now - chrono::Duration::minutes(1), "corrected": false});
    let err = get_ipc_response(
        &webview,
        request("record_waiting", serde_json::json!({"span": backwards})),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid", "{err}");

    // Bad input is refused with a clear message, not a panic.
    let err = get_ipc_response(
        &webview,
        request("save_settings", serde_json::json!({"settings": {"theme": "dark", "keymap": {}, "idle_timeout_s": 1, "focus_grace_s": 5, "diff_mode": "split"}})),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid", "{err}");
}
