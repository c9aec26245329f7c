//! End-to-end tests of the real app binary through tauri-driver.
//! Run with `cargo xtask test` (or, with a display and tauri-driver installed,
//! `cargo test -p assay-e2e -- --ignored --test-threads=1`).

use std::time::Duration;

use assay_e2e::App;

const WAIT: Duration = Duration::from_secs(30);

#[test]
#[ignore = "needs a display, tauri-driver and the built app: run by `cargo xtask test`"]
fn app_starts_and_answers_ipc() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let data_dir = data.path().display().to_string();
    let app = App::launch(&[("ASSAY_PROFILE", "e2e"), ("ASSAY_DATA_DIR", &data_dir)])?;
    // The version line is filled in from the `app_info` command: a real IPC round trip.
    let text = app.wait_text("[data-testid=app-version]", WAIT, |t| t.contains("Version"))?;
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    assert!(text.contains("dev.assay.desktop.e2e"), "{text}");
    app.screenshot("first-screen")?;
    // The test profile keeps its logs in its own data dir, never the user's.
    assert!(data.path().join("logs").is_dir());
    app.quit()
}
