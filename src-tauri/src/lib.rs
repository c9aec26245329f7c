//! The Assay desktop shell: builds the Tauri app, owns state, adapts commands
//! (one line each) into `assay-app`, and forwards events. Nothing else lives here.

mod commands;
mod profile;

use std::sync::Arc;

use assay_app::{AppEvent, Workbench};
use tauri::{Emitter, Manager, Runtime};

pub use profile::Profile;

/// Names of the events the UI listens to.
pub mod events {
    pub const SYNC_STATUS: &str = "sync://status";
    pub const SYNC_PROGRESS: &str = "sync://progress";
    pub const PREVIEW_CHANGED: &str = "preview://changed";
}

/// Adds Assay's commands and state to any builder (a real one or
/// `tauri::test::mock_builder()`). The workbench is opened in `setup`, where
/// the app handle exists to emit its events.
pub fn builder<R: Runtime>(builder: tauri::Builder<R>, profile: Profile) -> tauri::Builder<R> {
    builder
        .setup(move |app| {
            let handle = app.handle().clone();
            let sink: assay_app::EventSink = Arc::new(move |ev: AppEvent| {
                let sent = match &ev {
                    AppEvent::Sync { state } => handle.emit(events::SYNC_STATUS, state),
                    AppEvent::Progress { progress } => handle.emit(events::SYNC_PROGRESS, progress),
                    AppEvent::Preview { state } => handle.emit(events::PREVIEW_CHANGED, state),
                };
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "could not emit an event");
                }
            });
            let workbench = Arc::new(Workbench::open(
                &profile.identifier,
                &profile.data_dir,
                sink,
            )?);
            app.manage(workbench.clone());
            // Resume the saved session (token from the keyring) in the background.
            tauri::async_runtime::spawn(async move {
                if let Err(e) = workbench.resume().await {
                    tracing::warn!(error = %e, "could not resume the saved session");
                }
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::session,
            commands::sign_in,
            commands::sign_out,
            commands::queue_page,
            commands::open_item,
            commands::save_draft,
            commands::validate,
            commands::submit,
            commands::review_decision,
            commands::time_log,
            commands::record_time,
            commands::correct_time_log,
            commands::sync_status,
            commands::sync_now,
            commands::earnings_summary,
            commands::earnings_series,
            commands::payouts,
            commands::discrepancies,
            commands::export_earnings_csv,
            commands::diff_rows,
            commands::preview_open,
            commands::preview_item,
            commands::preview_validate,
            commands::settings,
            commands::save_settings,
        ])
}

/// Entry point of the desktop binary.
pub fn run() -> anyhow::Result<()> {
    let profile = Profile::from_env()?;
    let _log_guard = profile::init_logging(&profile)?;
    tracing::info!(identifier = %profile.identifier, data_dir = %profile.data_dir.display(), "starting Assay");
    builder(tauri::Builder::default(), profile).run(tauri::generate_context!())?;
    Ok(())
}
