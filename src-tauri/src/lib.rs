//! The Assay desktop shell: builds the Tauri app, owns state, adapts commands
//! (one line each) into `assay-app`, and forwards events. Nothing else lives here.

mod commands;
mod profile;

use tauri::{Manager, Runtime};

pub use profile::Profile;

/// Shared state: the application services.
pub struct Shell {
    pub profile: Profile,
}

/// Adds Assay's commands and state to any builder (a real one or
/// `tauri::test::mock_builder()`).
pub fn builder<R: Runtime>(builder: tauri::Builder<R>, profile: Profile) -> tauri::Builder<R> {
    builder
        .manage(Shell { profile })
        .invoke_handler(tauri::generate_handler![commands::app_info])
}

/// Entry point of the desktop binary.
pub fn run() -> anyhow::Result<()> {
    let profile = Profile::from_env()?;
    let _log_guard = profile::init_logging(&profile)?;
    tracing::info!(identifier = %profile.identifier, data_dir = %profile.data_dir.display(), "starting Assay");
    builder(tauri::Builder::default(), profile)
        .setup(|app| {
            if let Some(window) = app.get_webview_window("main") {
                let title = format!("Assay {}", env!("CARGO_PKG_VERSION"));
                window.set_title(&title)?;
            }
            Ok(())
        })
        .run(tauri::generate_context!())?;
    Ok(())
}
