//! The shell's commands through Tauri's IPC layer with the mock runtime
//! (no window system): results serialize as the UI expects and errors cross
//! as `{code, message}`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is how a test fails

use assay_desktop::{builder, Profile};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::Manager;

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

/// Invokes `cmd` with `args` as the UI does: its answer as JSON, or the
/// error as it crosses IPC.
fn invoke<W: AsRef<tauri::Webview<tauri::test::MockRuntime>>>(
    webview: &W,
    cmd: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    get_ipc_response(webview, request(cmd, args))
        .map(|body| body.deserialize::<serde_json::Value>().unwrap())
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

    let info = invoke(&webview, "app_info", serde_json::json!({})).unwrap();
    assert_eq!(info["identifier"], "dev.assay.desktop.test-ipc");

    let first_page = serde_json::json!({"filter": {"search": "", "statuses": [], "opportunity_id": null, "kind": null, "sort": "due"}, "offset": 0, "limit": 50});
    let page = invoke(&webview, "queue_page", first_page).unwrap();
    assert_eq!(page["total"], 0);

    let err = invoke(
        &webview,
        "open_item",
        serde_json::json!({"assignment_id": "nope"}),
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
    let waited = invoke(
        &webview,
        "record_waiting",
        serde_json::json!({"span": span}),
    )
    .unwrap();
    assert_eq!(waited["waiting_seconds"], 600);
    let overview = invoke(
        &webview,
        "earnings_overview",
        serde_json::json!({"query": {"from": null, "to": null, "opportunity_id": null}}),
    )
    .unwrap();
    assert_eq!(overview["unpaid"]["waiting_seconds"], 600, "{overview}");
    assert_eq!(overview["unpaid"]["screening_seconds"], 0, "{overview}");
    let backwards = serde_json::json!({"started_at": now, "ended_at": now - chrono::Duration::minutes(1), "corrected": false});
    let err = invoke(
        &webview,
        "record_waiting",
        serde_json::json!({"span": backwards}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid", "{err}");

    // Bad input is refused with a clear message, not a panic.
    let settings = serde_json::json!({"settings": {"theme": "dark", "keymap": {}, "idle_timeout_s": 1, "focus_grace_s": 5, "diff_mode": "split"}});
    let err = invoke(&webview, "save_settings", settings).unwrap_err();
    assert_eq!(err["code"], "invalid", "{err}");
}

fn mock_app(
    name: &str,
    dir: &std::path::Path,
    dialogs: std::sync::Arc<assay_app::ScriptedDialogs>,
) -> tauri::App<tauri::test::MockRuntime> {
    let profile = Profile {
        identifier: format!("dev.assay.desktop.test-{name}"),
        data_dir: dir.to_path_buf(),
    };
    let dialogs: std::sync::Arc<dyn assay_app::Dialogs> = dialogs;
    assay_desktop::builder_with_dialogs(mock_builder(), profile, Some(dialogs))
        .unwrap()
        .build(tauri::generate_context!())
        .unwrap()
}

/// The capability file lists exactly Assay's commands, each by its own
/// permission, plus listening to events; and the UI's Tauri backend calls
/// exactly those commands.
#[test]
fn capability_lists_exactly_the_commands_the_ui_calls() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cap: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("capabilities/default.json")).unwrap())
            .unwrap();
    assert_eq!(cap["windows"], serde_json::json!(["main"]));
    let listed: std::collections::BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let mut expected: std::collections::BTreeSet<String> = assay_desktop::COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    expected.insert("core:event:allow-listen".into());
    expected.insert("core:event:allow-unlisten".into());
    assert_eq!(listed, expected);

    // The UI calls commands only through the generated module, whose
    // methods are exactly the table's commands.
    let ts = std::fs::read_to_string(root.join("..").join(assay_desktop::contract::MODULE_PATH))
        .unwrap();
    let called: std::collections::BTreeSet<&str> = ts
        .split("invoke<")
        .skip(1)
        .filter_map(|rest| rest.split('"').nth(1))
        .collect();
    let commands: std::collections::BTreeSet<&str> =
        assay_desktop::COMMANDS.iter().copied().collect();
    assert_eq!(called, commands, "UI calls vs registered commands");
}

/// With the app manifest every command is checked against the
/// capabilities: the dialog plugin's commands (not listed) are refused, a
/// window the capability does not name may call nothing, and a capability
/// that lists one command allows that one only.
#[test]
fn unlisted_commands_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = mock_app("acl", dir.path(), Default::default());
    let main = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    assert!(get_ipc_response(&main, request("app_info", serde_json::json!({}))).is_ok());
    for cmd in [
        "plugin:dialog|open",
        "plugin:dialog|message",
        "plugin:dialog|save",
    ] {
        let err =
            get_ipc_response(&main, request(cmd, serde_json::json!({"options": {}}))).unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{cmd}: {err}");
    }

    // A window no capability names.
    let other = tauri::WebviewWindowBuilder::new(&app, "other", Default::default())
        .build()
        .unwrap();
    let err = get_ipc_response(&other, request("app_info", serde_json::json!({}))).unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");

    // A capability listing one command: the others are refused there.
    app.add_capability(
        tauri::ipc::CapabilityBuilder::new("only-app-info")
            .window("limited")
            .permission("allow-app-info"),
    )
    .unwrap();
    let limited = tauri::WebviewWindowBuilder::new(&app, "limited", Default::default())
        .build()
        .unwrap();
    assert!(get_ipc_response(&limited, request("app_info", serde_json::json!({}))).is_ok());
    let err = get_ipc_response(
        &limited,
        request(
            "sign_in",
            serde_json::json!({"platform_url": "http://127.0.0.1:9", "token": "t"}),
        ),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
}

/// Through IPC, a sign-in asks the person first (here: who declines) and
/// sends nothing; the preview opens only what was picked in a dialog, and
/// paths passed by the caller are not used.
#[test]
fn sign_in_and_preview_go_through_dialogs() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let dialogs = std::sync::Arc::new(assay_app::ScriptedDialogs::default());
    let app = mock_app("dialogs", dir.path(), dialogs.clone());
    let main = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let err = get_ipc_response(
        &main,
        request(
            "sign_in",
            serde_json::json!({"platform_url": url, "token": "chosen"}),
        ),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("cancelled"),
        "{err}"
    );
    assert_eq!(dialogs.shown(), vec![format!("confirm {url}")]);
    assert!(listener.accept().is_err(), "a request reached the address");

    // A file the caller names is not opened: only a dialog's pick is.
    let secret = dir.path().join("secret.json");
    std::fs::write(&secret, r#"{"password": "hunter2"}"#).unwrap();
    let err = get_ipc_response(
        &main,
        request(
            "preview_open",
            serde_json::json!({"rubric_path": secret, "items_dir": dir.path()}),
        ),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid", "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let sel = get_ipc_response(
        &main,
        request("preview_choose_rubric", serde_json::json!({})),
    )
    .unwrap()
    .deserialize::<serde_json::Value>()
    .unwrap();
    assert_eq!(sel["rubric_path"], serde_json::Value::Null);
}
