//! What a script in the webview could do through the app's use cases, and
//! what a hostile server could make the app say: sign-in only to an address
//! a person confirmed in a native dialog, errors in words that never repeat
//! a reply, and a rubric preview that reads only the files a person picked.

use std::path::Path;
use std::sync::{Arc, Mutex};

use assay_app::{ErrorCode, ScriptedDialogs, Workbench};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "s3cr3t-reply-7d1e";

fn open(dir: &Path, dialogs: Arc<ScriptedDialogs>) -> Workbench {
    Workbench::open(
        &format!("dev.assay.desktop.test-sec-{}", std::process::id()),
        dir,
        Arc::new(|_| {}),
        dialogs,
    )
    .unwrap()
}

/// One request as the server saw it: path and Authorization header.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A loopback HTTP server answering each request with `reply(path)`:
/// (status, content type, body). Records every request.
async fn server(reply: Reply) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    // A TLS handshake (https:// to this plain server): answer
                    // in plain HTTP, as a misconfigured server would.
                    if buf.first() == Some(&0x16) {
                        let _ = sock
                            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                            .await;
                        return;
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let auth = head
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                    .map(|l| l["authorization:".len()..].trim().to_string());
                log.lock().unwrap().push((path.clone(), auth));
                let (status, ctype, body) = reply(&path);
                // A redirect goes to another origin (a port nothing listens on).
                let location = if (300..400).contains(&status) {
                    "location: http://127.0.0.1:9/elsewhere\r\n"
                } else {
                    ""
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\n{location}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn health(version: &str) -> String {
    format!(r#"{{"status":"ok","protocol_version":"{version}","platform_name":"P"}}"#)
}

/// A script cannot sign in by itself: without the person's confirmation no
/// request leaves the app, and a confirmation of one address does not
/// cover another.
#[tokio::test]
async fn sign_in_needs_a_confirmation_naming_the_address() {
    let (url, seen) = server(|_| (200, "application/json", health("1.0.0"))).await;
    let (other, other_seen) = server(|_| (200, "text/plain", SECRET.to_string())).await;
    let dir = tempfile::tempdir().unwrap();
    let dialogs = Arc::new(ScriptedDialogs {
        confirm_sign_in: Some(url.clone()),
        ..Default::default()
    });
    let wb = open(dir.path(), dialogs.clone());

    // The script's choice of address: the person is asked, says no.
    let err = wb.sign_in(&other, "script-token").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    assert!(err.message.contains("cancelled"), "{err:?}");
    assert!(err.message.contains(&other), "{err:?}");
    assert!(
        other_seen.lock().unwrap().is_empty(),
        "a request left the app"
    );
    assert_eq!(dialogs.shown(), vec![format!("confirm {other}")]);

    // The address the person confirms is the one asked (trailing slash and
    // spaces aside); only then does a request go out, to it alone.
    let err = wb.sign_in(&format!(" {url}/ "), "tok").await.unwrap_err();
    assert_eq!(dialogs.shown().last(), Some(&format!("confirm {url}")));
    assert!(
        !seen.lock().unwrap().is_empty(),
        "confirmed sign-in sent nothing"
    );
    assert!(other_seen.lock().unwrap().is_empty());
    // This server is no platform beyond /health: a worded error, nothing echoed.
    assert!(!err.message.contains(SECRET), "{err:?}");

    // A malformed or plain-http address is refused before anyone is asked.
    let before = dialogs.shown().len();
    for wrong in [
        "http://example.com",
        "platform.example.com",
        "ftp://platform.example.com",
        "not a url",
    ] {
        let err = wb.sign_in(wrong, "t").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Invalid, "{wrong}: {err:?}");
        assert!(
            err.message
                .contains("is not an address Assay can sign in to")
                && err.message.contains("https://"),
            "{wrong}: {err:?}"
        );
    }
    assert_eq!(dialogs.shown().len(), before);
}

/// What a server answers a request for a path: status, content type, body.
type Reply = fn(&str) -> (u16, &'static str, String);

/// A current platform's health route; every other path answers `other()`.
fn current(path: &str, other: fn() -> (u16, &'static str, String)) -> (u16, &'static str, String) {
    match path {
        "/api/v1/health" => (200, "application/json", health("1.0.0")),
        _ => other(),
    }
}

/// The error of a sign-in to `url`, which the person confirms.
async fn confirmed_sign_in_error(dir: &Path, url: &str) -> assay_app::AppError {
    let wb = open(
        dir,
        Arc::new(ScriptedDialogs {
            confirm_sign_in: Some(url.to_owned()),
            ..Default::default()
        }),
    );
    wb.sign_in(url, "tok").await.unwrap_err()
}

async fn sign_in_error(reply: Reply) -> assay_app::AppError {
    let (url, _) = server(reply).await;
    let dir = tempfile::tempdir().unwrap();
    let err = confirmed_sign_in_error(dir.path(), &url).await;
    assert!(!err.message.contains(SECRET), "reply echoed: {err:?}");
    assert!(err.message.contains(&url), "address not named: {err:?}");
    err
}

/// Every way a sign-in fails gets its own words; no reply is ever echoed
/// (the old client put up to 200 bytes of the body into the message).
#[tokio::test]
async fn sign_in_errors_are_worded_and_never_echo_replies() {
    // Wrong or revoked token.
    let err = sign_in_error(|p| current(p, || (401, "text/plain", SECRET.into()))).await;
    assert_eq!(err.code, ErrorCode::Unauthenticated, "{err:?}");
    assert!(err.message.contains("wrong, expired or revoked"), "{err:?}");

    let not_assay: [Reply; 4] = [
        // Some other web server: HTML everywhere.
        |_| (404, "text/html", format!("<h1>{SECRET}</h1>")),
        |_| (200, "text/html", format!("<h1>{SECRET}</h1>")),
        // An Assay-shaped health route, but /me answers with a 400 whose
        // body is what a script would want to read, or with no profile.
        |p| {
            current(p, || {
                let body = format!(r#"{{"code":"bad_request","message":"{SECRET}"}}"#);
                (400, "application/json", body)
            })
        },
        |p| {
            current(p, || {
                (
                    200,
                    "application/json",
                    format!(r#"{{"id": 5, "x": "{SECRET}"}}"#),
                )
            })
        },
    ];
    for reply in not_assay {
        let err = sign_in_error(reply).await;
        assert!(
            err.message
                .contains("does not answer like an Assay platform"),
            "{err:?}"
        );
    }

    // An old platform.
    let err = sign_in_error(|_| (200, "application/json", health("0.9.1"))).await;
    assert!(
        err.message
            .contains("older Assay platform (protocol 0.9.1)"),
        "{err:?}"
    );
    // A version string that is not a number is not repeated.
    let err = sign_in_error(|_| (200, "application/json", health(&format!("0.{SECRET}")))).await;
    assert!(err.message.contains("older"), "{err:?}");

    // A redirect to another origin is not followed with the token.
    let err = sign_in_error(|p| current(p, || (307, "text/plain", SECRET.into()))).await;
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    assert!(
        err.message.contains("another address (HTTP 307)"),
        "{err:?}"
    );
    assert!(!err.message.contains("elsewhere"), "{err:?}");

    // Trouble on the platform's side.
    let err = sign_in_error(|_| (503, "text/plain", SECRET.into())).await;
    assert_eq!(err.code, ErrorCode::Offline, "{err:?}");
    assert!(err.message.contains("HTTP 503"), "{err:?}");

    // Nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let err = confirmed_sign_in_error(dir.path(), &url).await;
    assert_eq!(err.code, ErrorCode::Offline, "{err:?}");
    assert!(err.message.contains("nothing is listening"), "{err:?}");

    // A host name that does not exist (`.invalid` never resolves).
    let url = "https://no-such-host.invalid";
    let err = confirmed_sign_in_error(dir.path(), url).await;
    assert_eq!(err.code, ErrorCode::Offline, "{err:?}");
    assert!(
        err.message
            .starts_with(&format!("Cannot reach {url}: no such host name")),
        "{err:?}"
    );

    // TLS: https to a server that does not speak it, and to one whose
    // certificate no one vouches for (self-signed).
    let (plain, _) = server(|_| (200, "text/plain", SECRET.into())).await;
    let self_signed = tls_server().await;
    for https in [plain.replace("http://", "https://"), self_signed] {
        let err = confirmed_sign_in_error(dir.path(), &https).await;
        assert!(
            err.message.contains("secure connection"),
            "{https}: {err:?}"
        );
        assert!(!err.message.contains(SECRET), "{err:?}");
    }
}

/// An https server on loopback with a self-signed certificate (a test
/// fixture, valid for 127.0.0.1) that would answer every request with a
/// secret, if the client trusted it.
async fn tls_server() -> String {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cert = CertificateDer::from_pem_file(dir.join("selfsigned-cert.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("selfsigned-key.pem")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut chunk = [0u8; 4096];
                let _ = tls.read(&mut chunk).await;
                let body = SECRET;
                let _ = tls
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    url
}

fn write_samples(root: &Path, hidden_value: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let rubric = serde_json::json!({
        "id": "r", "version": 1, "title": "Granted rubric", "guidelines": "g",
        "payout": {"basis": "per_item", "amount_cents": 100, "currency": "USD"},
        "fields": [{"id": "answer", "label": "Answer", "viewer": "text"}],
        "questions": [{"id": "q", "prompt": "Ok?", "type": "scale", "min": 1, "max": 5}]
    });
    let rubric_path = root.join("rubric.json");
    std::fs::write(&rubric_path, serde_json::to_vec(&rubric).unwrap()).unwrap();
    let items = root.join("items");
    std::fs::create_dir_all(&items).unwrap();
    let good = serde_json::json!({
        "id": "i1", "opportunity_id": "o", "title": "Sample", "created_at": "2026-01-01T00:00:00Z",
        "fields": {"answer": {"type": "text", "value": "42"}}
    });
    std::fs::write(items.join("good.json"), serde_json::to_vec(&good).unwrap()).unwrap();
    // A hidden field that is malformed (an unknown type tag): the parse
    // error must not carry its text to the UI.
    let bad = format!(
        r#"{{"id": "i2", "opportunity_id": "o", "title": "Bad", "created_at": "2026-01-01T00:00:00Z",
            "fields": {{"answer": {{"type": "text", "value": "x"}},
                        "model": {{"type": "{hidden_value}", "value": 1}}}}}}"#
    );
    std::fs::write(items.join("bad.json"), bad).unwrap();
    (rubric_path, items)
}

/// The preview opens only what the person picked in the dialogs; it
/// remembers the folder for the next dialog; findings never quote a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_reads_only_picked_files() {
    let dir = tempfile::tempdir().unwrap();
    let samples = tempfile::tempdir().unwrap();
    let (rubric, items) = write_samples(samples.path(), SECRET);

    // Nothing picked: nothing to open.
    let wb = open(dir.path(), Arc::new(ScriptedDialogs::default()));
    let err = wb.preview_open().unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid, "{err:?}");
    // Cancelled dialogs grant nothing.
    let sel = wb.preview_choose_rubric().await.unwrap();
    assert_eq!(sel.rubric_path, None);
    assert!(wb.preview_open().is_err());
    drop(wb);

    // A picked file that is not a rubric is refused.
    let other = samples.path().join("notes.txt");
    std::fs::write(&other, SECRET).unwrap();
    let dialogs = Arc::new(ScriptedDialogs {
        rubric_file: Some(other),
        ..Default::default()
    });
    let wb = open(dir.path(), dialogs);
    let err = wb.preview_choose_rubric().await.unwrap_err();
    assert!(err.message.contains("not a rubric"), "{err:?}");
    assert!(!err.message.contains(SECRET));
    drop(wb);

    let dialogs = Arc::new(ScriptedDialogs {
        rubric_file: Some(rubric.clone()),
        samples_folder: Some(items.clone()),
        ..Default::default()
    });
    let wb = open(dir.path(), dialogs.clone());
    let sel = wb.preview_choose_rubric().await.unwrap();
    assert_eq!(
        sel.rubric_path.as_deref(),
        Some(
            rubric
                .canonicalize()
                .unwrap()
                .display()
                .to_string()
                .as_str()
        )
    );
    assert!(wb.preview_open().is_err(), "samples folder not picked yet");
    let sel = wb.preview_choose_samples().await.unwrap();
    assert!(sel.items_dir.is_some());
    let state = wb.preview_open().unwrap();
    assert_eq!(state.rubric_title.as_deref(), Some("Granted rubric"));
    assert_eq!(state.items.len(), 1);
    let bad = state
        .findings
        .iter()
        .find(|f| f.code == "sample-item-invalid")
        .expect("the bad sample is reported");
    assert!(bad.message.contains("line"), "{bad:?}");
    let all = serde_json::to_string(&state).unwrap();
    assert!(
        !all.contains(SECRET),
        "file content in the preview state: {all}"
    );
    // The samples dialog opened where the rubric is.
    let root = samples.path().canonicalize().unwrap();
    assert_eq!(dialogs.shown()[1], format!("samples {}", root.display()));

    // A restart remembers the folder for the next dialog.
    drop(wb);
    let again = Arc::new(ScriptedDialogs::default());
    let wb = open(dir.path(), again.clone());
    wb.preview_choose_rubric().await.unwrap();
    assert_eq!(again.shown(), vec![format!("rubric {}", root.display())]);
}
