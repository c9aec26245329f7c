//! The Assay desktop shell: builds the Tauri app, owns state, adapts commands
//! (one line each) into `assay-app`, and forwards events. Nothing else lives here.

#![allow(missing_docs)] // the shell: its public items are the Tauri entry points, documented by the command table

mod commands;
pub mod contract;
mod dialogs;
/// `build.rs`'s decision on the link order, included for its unit tests.
#[cfg(test)]
#[path = "../link_order.rs"]
mod link_order;
mod profile;
mod rendering;
// ---- issue 18: desktop integration (single instance, links, window state) ----
mod desktop;
pub use desktop::window_state_file;
// ---- end issue 18 ----

use std::sync::{Arc, OnceLock};

use assay_app::{AppEvent, Dialogs, Workbench};
use tauri::{Emitter, Runtime};

pub use profile::Profile;

pub use commands::{events, COMMANDS};

/// Adds Assay's commands and state to any builder (a real one or
/// `tauri::test::mock_builder()`), with the OS's native dialogs. Fails when
/// the data directory cannot be opened (e.g. a database written by a newer
/// Assay).
pub fn builder<R: Runtime>(
    builder: tauri::Builder<R>,
    profile: Profile,
) -> anyhow::Result<tauri::Builder<R>> {
    builder_with_dialogs(builder, profile, None)
}

/// [`builder`], with `dialogs` answering instead of the native dialogs when
/// given (Rust tests; never reachable from the webview).
pub fn builder_with_dialogs<R: Runtime>(
    builder: tauri::Builder<R>,
    profile: Profile,
    dialogs: Option<Arc<dyn Dialogs>>,
) -> anyhow::Result<tauri::Builder<R>> {
    // Events are emitted once the app handle exists (set in `setup`).
    let handle: Arc<OnceLock<tauri::AppHandle<R>>> = Arc::new(OnceLock::new());
    let dialogs = dialogs.unwrap_or_else(|| {
        Arc::new(dialogs::NativeDialogs {
            app: handle.clone(),
        })
    });
    let emitter = handle.clone();
    let sink: assay_app::EventSink = Arc::new(move |ev: AppEvent| {
        let Some(app) = emitter.get() else { return };
        let sent = match &ev {
            AppEvent::Sync { state } => {
                desktop::on_sync(app, state); // issue 18: tray
                desktop::notify(app, state); // issue 18: notifications
                app.emit(events::SYNC_STATE, state)
            }
            AppEvent::Progress { progress } => app.emit(events::SYNC_PROGRESS, progress),
            AppEvent::Preview { state } => app.emit(events::PREVIEW_CHANGED, state),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not emit an event");
        }
    });
    let workbench = Arc::new(Workbench::open(
        &profile.identifier,
        &profile.data_dir,
        sink,
        dialogs,
    )?);
    Ok(builder
        // Used from Rust only: the capability grants the webview none of
        // the plugin's commands.
        .plugin(tauri_plugin_dialog::init())
        .manage(workbench.clone())
        // ---- issue 18: `assay://` links waiting for the UI (`take_links`) ----
        .manage(Arc::new(assay_app::links::LinkInbox::default()))
        // ---- end issue 18 ----
        .setup(move |app| {
            let _ = handle.set(app.handle().clone());
            // Resume the saved session (token from the keyring) in the background.
            tauri::async_runtime::spawn(async move {
                if let Err(e) = workbench.resume().await {
                    tracing::warn!(error = %e, "could not resume the saved session");
                }
            });
            Ok(())
        })
        .invoke_handler(commands::handler()))
}

/// Entry point of the desktop binary.
pub fn run() -> anyhow::Result<()> {
    // Before any thread starts: it may set an environment variable.
    let drawing = rendering::choose();
    let engine = rendering::tune_javascript();
    let profile = Profile::from_env()?;
    let log_guard = profile::init_logging(&profile)?;
    if let Some(why) = drawing {
        tracing::info!("{why}");
    }
    if let Some(what) = engine {
        tracing::info!("{what}");
    }
    tracing::info!(version = assay_app::update::running_version(), identifier = %profile.identifier, data_dir = %profile.data_dir.display(), "starting Assay");
    let scripted = dialogs::scripted_from_env(&profile)?.map(|d| Arc::new(d) as Arc<dyn Dialogs>);
    // ---- issue 18: one instance per profile (its identifier), desktop plugins ----
    let mut context = tauri::generate_context!();
    context.config_mut().identifier = profile.identifier.clone();
    let builder = desktop::plugins(tauri::Builder::default(), &profile);
    // ---- end issue 18 ----
    let app = match builder_with_dialogs(builder, profile.clone(), scripted)?.build(context) {
        Ok(app) => app,
        // issue 11: a launch while the previous window is still closing.
        Err(e) if desktop::lost_the_running_instance(&e) => {
            drop(log_guard); // flush the log before the process is replaced
            return desktop::relaunch_after_lost_instance(e);
        }
        Err(e) => return Err(e.into()),
    };
    main_window(&app, &profile)?;
    desktop::save_window_state_on_change(&app); // issue 18: window state
    desktop::setup(&app); // issue 18: links given at launch
    desktop::tray(&app); // issue 18: tray icon
    desktop::menu(&app); // issue 18: native menu
    app.run(|_, _| {});
    drop(log_guard);
    Ok(())
}

/// Where `WebKit` keeps its own data (local storage, caches) for a profile:
/// inside the profile's data dir, so `ASSAY_PROFILE` / `ASSAY_DATA_DIR` runs
/// never share or touch the real app's.
pub fn webview_data_dir(profile: &Profile) -> std::path::PathBuf {
    profile.data_dir.join("webview")
}

/// The main window, from its entry in tauri.conf.json (`create: false`, so
/// Tauri does not open it with the default data directory), with `WebKit`'s
/// data in the profile.
fn main_window<R: Runtime>(app: &tauri::App<R>, profile: &Profile) -> anyhow::Result<()> {
    use anyhow::Context;
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .context("tauri.conf.json has no main window")?
        .clone();
    let window = tauri::WebviewWindowBuilder::from_config(app, &config)?
        .data_directory(webview_data_dir(profile))
        .build()?;
    rendering::desktop_fonts(&window);
    Ok(())
}
