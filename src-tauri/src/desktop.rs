//! Desktop integration (issue 18) with the official Tauri plugins: one
//! instance per profile (a second launch focuses the first window and hands
//! over its arguments), `assay://` links, the window's size and position
//! restored, and a tray icon with the sync state and pending uploads (the
//! words from `assay_app::tray`). Links are checked by `assay_app::links`; the UI takes them with
//! the `take_links` command when `link://pending` fires.

use std::sync::Arc;

use assay_app::links::LinkInbox;
use tauri::{Emitter, Manager, Runtime};

use crate::Profile;

use crate::events::LINK_PENDING;

/// Where the window-state plugin keeps the main window's size and position:
/// in the profile's data dir, so test profiles never touch the user's config.
pub fn window_state_file(profile: &Profile) -> std::path::PathBuf {
    profile.data_dir.join("window-state.json")
}

/// Counts this launch's restarts after the running instance went away while
/// it was handing over its arguments (see [`relaunch_after_lost_instance`]).
const RELAUNCH_TRIES: &str = "ASSAY_RELAUNCH_TRY";

/// How often a launch starts over while the previous instance is exiting
/// (300 ms apart: about 3 s in all).
const MAX_RELAUNCH_TRIES: u32 = 10;

/// Whether building the app failed because the instance holding this
/// profile's single-instance name went away while this launch handed it its
/// arguments (it was quitting: D-Bus answers "`NoReply`"). Starting again then
/// takes the freed name and opens the window, instead of failing.
pub fn lost_the_running_instance(e: &tauri::Error) -> bool {
    matches!(e, tauri::Error::PluginInitialization(plugin, message)
        if plugin == "single-instance" && message.contains("failed to forward arguments"))
}

/// Starts this launch over (same program, arguments and environment) after
/// a short wait, at most [`MAX_RELAUNCH_TRIES`] times; then the error stands.
pub fn relaunch_after_lost_instance(e: tauri::Error) -> anyhow::Result<()> {
    let tries = std::env::var(RELAUNCH_TRIES)
        .ok()
        .and_then(|t| t.parse::<u32>().ok())
        .unwrap_or(0);
    if tries >= MAX_RELAUNCH_TRIES {
        return Err(anyhow::Error::new(e).context(
            "another Assay window of this profile is still closing; start Assay again in a moment",
        ));
    }
    tracing::warn!(error = %e, tries, "the running instance went away during the hand-over; starting again");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut again = std::process::Command::new(std::env::current_exe()?);
    again
        .args(std::env::args_os().skip(1))
        .env(RELAUNCH_TRIES, tries.saturating_add(1).to_string());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns on failure.
        Err(anyhow::Error::new(again.exec()).context("starting Assay again"))
    }
    #[cfg(not(unix))]
    {
        again.spawn()?;
        Ok(())
    }
}

/// Adds the desktop plugins to the real app's builder (not to the mock
/// runtime's, which has no D-Bus or window system).
pub fn plugins<R: Runtime>(builder: tauri::Builder<R>, profile: &Profile) -> tauri::Builder<R> {
    // Linux and the BSDs: notifications go out as "Assay" on a connection of their own (`fdo`).
    #[cfg(freedesktop)]
    let builder = builder.manage(fdo::Notifier::default());
    let builder = builder
        // First, so a second instance exits before anything else starts.
        .plugin(tauri_plugin_single_instance::init(
            move |app, argv, _cwd| {
                tracing::info!(
                    args = argv.len(),
                    "a second launch handed over its arguments"
                );
                focus_main(app);
                let inbox = app.state::<Arc<LinkInbox>>();
                if inbox.push_args(argv.into_iter().skip(1)) > 0 {
                    announce(app);
                }
            },
        ))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_filename(window_state_file(profile).display().to_string())
                .build(),
        );
    // Elsewhere (macOS, Windows) notifications go through the notification
    // plugin, used from Rust only (`show_notice`): the capability grants the
    // webview none of its commands.
    #[cfg(not(freedesktop))]
    let builder = builder.plugin(tauri_plugin_notification::init());
    builder
}

/// How long the window must stay put before its size and position are saved.
const SAVE_WINDOW_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// Saves the main window's size and position shortly after each move or
/// resize, not only at a clean exit (the plugin's own save): a killed or
/// crashed Assay, or one ended at logout, comes back where it was too.
///
/// The save runs on the main thread. The plugin holds its lock while it
/// asks the window for its state, and off the main thread each question
/// waits for the main thread, whose move and resize handlers take the same
/// lock: a save from a background thread while the window moved froze the
/// app for good (CI caught it: a link's focus moved the window mid-save).
pub fn save_window_state_on_change<R: Runtime>(app: &tauri::App<R>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tauri_plugin_window_state::{AppHandleExt, StateFlags};
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let handle = app.handle().clone();
    let changes = Arc::new(AtomicU64::new(0));
    window.on_window_event(move |event| {
        if !matches!(
            event,
            tauri::WindowEvent::Moved(_) | tauri::WindowEvent::Resized(_)
        ) {
            return;
        }
        let this = changes.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        let (handle, changes) = (handle.clone(), changes.clone());
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(SAVE_WINDOW_AFTER).await;
            if changes.load(Ordering::SeqCst) != this {
                return; // a later change saves
            }
            let on_main = handle.clone();
            let queued = handle.run_on_main_thread(move || {
                if changes.load(Ordering::SeqCst) != this {
                    return; // moved again while this waited its turn
                }
                if let Err(e) = on_main.save_window_state(StateFlags::all()) {
                    tracing::warn!(error = %e, "could not save the window's size and position");
                }
            });
            if let Err(e) = queued {
                tracing::warn!(error = %e, "could not save the window's size and position");
            }
        });
    });
}

/// Called once the app is built: links given to this (first) launch, and on
/// macOS the ones the OS delivers as events.
pub fn setup<R: Runtime>(app: &tauri::App<R>) {
    let inbox = app.state::<Arc<LinkInbox>>().inner().clone();
    if inbox.push_args(std::env::args().skip(1)) > 0 {
        announce(app.handle());
    }
    #[cfg(target_os = "macos")]
    {
        use tauri_plugin_deep_link::DeepLinkExt;
        let handle = app.handle().clone();
        app.deep_link().on_open_url(move |event| {
            for url in event.urls() {
                inbox.push(url.as_str());
            }
            announce(&handle);
        });
    }
}

/// The tray's status entry, updated on each sync state.
struct TrayStatusItem<R: Runtime>(tauri::menu::MenuItem<R>);

/// Adds the tray icon: a status line (sync state, pending uploads) and Open,
/// Sync now, Quit. Where the desktop has no tray the app goes on without.
pub fn tray<R: Runtime>(app: &tauri::App<R>) {
    if let Err(e) = try_tray(app) {
        tracing::warn!(error = %e, "no tray icon");
    }
}

fn try_tray<R: Runtime>(app: &tauri::App<R>) -> tauri::Result<()> {
    use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
    let status = MenuItem::with_id(app, "status", "Assay", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Assay", true, None::<&str>)?;
    let sync = MenuItem::with_id(app, "sync", "Sync now", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Assay", true, Some("CmdOrCtrl+Q"))?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&status, &separator, &open, &sync, &quit])?;
    let mut builder = tauri::tray::TrayIconBuilder::with_id("main")
        .tooltip("Assay")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => focus_main(app),
            "sync" => {
                let wb = app.state::<Arc<assay_app::Workbench>>().inner().clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = wb.sync_now(|_| {}).await {
                        tracing::info!(error = %e, "sync from the tray failed");
                    }
                });
            }
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone().to_owned());
    }
    builder.build(app)?;
    app.manage(TrayStatusItem(status));
    Ok(())
}

/// Shows a sync state in the tray (called for each `sync://status`).
pub fn on_sync<R: Runtime>(app: &tauri::AppHandle<R>, state: &assay_app::SyncState) {
    let words = assay_app::tray::tray_status(state);
    if let Some(item) = app.try_state::<TrayStatusItem<R>>() {
        if let Err(e) = item.0.set_text(&words.line) {
            tracing::debug!(error = %e, "could not update the tray's status");
        }
    }
    if let Some(tray) = app.tray_by_id("main") {
        let _ = tray.set_tooltip(Some(&words.line));
        let _ = tray.set_title(Some(&words.title));
    }
}

/// Shows the native notifications `assay_app::notices` decides on for this
/// sync state (off the event path: it reads the queue). Each one is logged
/// as shown only once the desktop took it (on Linux and the BSDs the
/// notification server answered with its id).
pub fn notify<R: Runtime>(app: &tauri::AppHandle<R>, state: &assay_app::SyncState) {
    if !can_notify(app) {
        return; // the mock runtime of the Rust tests has no notifications
    }
    let Some(wb) = app.try_state::<Arc<assay_app::Workbench>>() else {
        return;
    };
    let wb = wb.inner().clone();
    let (app, state) = (app.clone(), state.clone());
    tauri::async_runtime::spawn_blocking(move || {
        for n in wb.notices_for(&state) {
            match show_notice(&app, &n) {
                Ok(server_id) => tracing::info!(kind = ?n.kind, ?server_id, "notification shown"),
                Err(e) => {
                    tracing::warn!(error = %e, kind = ?n.kind, "could not show a notification");
                }
            }
        }
    });
}

/// Linux and the BSDs: whether [`plugins`] added the notifier.
#[cfg(freedesktop)]
fn can_notify<R: Runtime>(app: &tauri::AppHandle<R>) -> bool {
    app.try_state::<fdo::Notifier>().is_some()
}

/// Linux and the BSDs: sends the notice as the app (its `productName`,
/// "Assay"), on the notifier's connection, and returns the server's id for
/// it; an error when the server refused it or there is none.
#[cfg(freedesktop)]
fn show_notice<R: Runtime>(
    app: &tauri::AppHandle<R>,
    n: &assay_app::notices::Notice,
) -> anyhow::Result<Option<u32>> {
    let notifier = app
        .try_state::<fdo::Notifier>()
        .ok_or_else(|| anyhow::anyhow!("no notifier"))?;
    let app_name = fdo::app_name(app.config().product_name.as_deref());
    let icon = fdo::icon_name();
    let id = notifier.show(&fdo::Notify {
        app_name,
        icon: &icon,
        summary: &n.title,
        body: &n.body,
    })?;
    Ok(Some(id))
}

/// Elsewhere: whether [`plugins`] added the notification plugin.
#[cfg(not(freedesktop))]
fn can_notify<R: Runtime>(app: &tauri::AppHandle<R>) -> bool {
    app.try_state::<tauri_plugin_notification::Notification<R>>()
        .is_some()
}

/// Elsewhere: hands the notice to the notification plugin (which shows it
/// as the app the OS knows by the bundle's identifier); no id comes back.
#[cfg(not(freedesktop))]
fn show_notice<R: Runtime>(
    app: &tauri::AppHandle<R>,
    n: &assay_app::notices::Notice,
) -> anyhow::Result<Option<u32>> {
    use tauri_plugin_notification::NotificationExt;
    app.notification()
        .builder()
        .title(&n.title)
        .body(&n.body)
        .show()?;
    Ok(None)
}

/// Linux and the BSDs: notifications sent straight to the notification
/// server (Desktop Notifications Specification, `org.freedesktop.Notifications`
/// on the session bus) rather than through the notification plugin, which
/// sends the executable's file name ("assay-desktop") as the application
/// name and drops the server's answer. Here the name is the app's
/// `productName` and a refused or unanswered `Notify` is an error.
#[cfg(freedesktop)]
pub(crate) mod fdo {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};

    /// The name notifications carry when the configuration has no `productName`.
    const FALLBACK_APP_NAME: &str = "Assay";

    /// The application name to send: the configuration's `productName`.
    pub(crate) fn app_name(product_name: Option<&str>) -> &str {
        product_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(FALLBACK_APP_NAME)
    }

    /// The icon name to send: the executable's file name, which is the name
    /// the bundles install the app's icon under (as the plugin did).
    pub(crate) fn icon_name() -> String {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()
    }

    /// One `Notify` call's words.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Notify<'a> {
        /// Who sends it (the server may show and group by it).
        pub(crate) app_name: &'a str,
        /// Icon name or file (empty: none).
        pub(crate) icon: &'a str,
        /// The title.
        pub(crate) summary: &'a str,
        /// The text.
        pub(crate) body: &'a str,
    }

    /// The session bus connection the notifications go out on, opened with
    /// the first one and kept while the app runs: servers like GNOME's take
    /// a notification down once the connection that sent it is gone.
    #[derive(Default)]
    pub(crate) struct Notifier {
        connection: Mutex<Option<zbus::blocking::Connection>>,
    }

    impl Notifier {
        /// Sends `n` and returns the id the server gave it. After an error
        /// the next notification opens a new connection.
        pub(crate) fn show(&self, n: &Notify<'_>) -> zbus::Result<u32> {
            let mut held = self
                .connection
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let connection = match held.as_ref() {
                Some(c) => c.clone(),
                None => held.insert(zbus::blocking::Connection::session()?).clone(),
            };
            let sent = send(&connection, n);
            if sent.is_err() {
                *held = None;
            }
            sent
        }
    }

    /// `org.freedesktop.Notifications.Notify` on `connection`: a new
    /// notification (replaces none), no actions or hints, the server's
    /// default timeout.
    fn send(connection: &zbus::blocking::Connection, n: &Notify<'_>) -> zbus::Result<u32> {
        let hints: HashMap<&str, zbus::zvariant::Value<'_>> = HashMap::new();
        let actions: Vec<&str> = Vec::new();
        connection
            .call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.Notifications"),
                "Notify",
                &(
                    n.app_name, 0u32, n.icon, n.summary, n.body, actions, hints, -1i32,
                ),
            )?
            .body()
            .deserialize()
    }
}

/// The native menu (entries from `assay_app::menu`): the UI's actions
/// reach it as `menu://action`; Quit and Edit are native.
pub fn menu<R: Runtime>(app: &tauri::App<R>) {
    if let Err(e) = try_menu(app) {
        tracing::warn!(error = %e, "no native menu");
    }
}

fn try_menu<R: Runtime>(app: &tauri::App<R>) -> tauri::Result<()> {
    use assay_app::menu::{action_for, MENU, QUIT_ACCELERATOR};
    use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
    let menu = Menu::new(app)?;
    for (title, entries) in MENU {
        let sub = Submenu::new(app, *title, true)?;
        if *title == "Edit" {
            sub.append(&PredefinedMenuItem::undo(app, None)?)?;
            sub.append(&PredefinedMenuItem::redo(app, None)?)?;
            sub.append(&PredefinedMenuItem::separator(app)?)?;
            sub.append(&PredefinedMenuItem::cut(app, None)?)?;
            sub.append(&PredefinedMenuItem::copy(app, None)?)?;
            sub.append(&PredefinedMenuItem::paste(app, None)?)?;
            sub.append(&PredefinedMenuItem::select_all(app, None)?)?;
        }
        for e in *entries {
            sub.append(&MenuItem::with_id(app, e.id, e.label, true, e.accelerator)?)?;
        }
        if *title == "File" {
            sub.append(&PredefinedMenuItem::separator(app)?)?;
            sub.append(&MenuItem::with_id(
                app,
                "app_quit",
                "Quit Assay",
                true,
                Some(QUIT_ACCELERATOR),
            )?)?;
        }
        menu.append(&sub)?;
    }
    app.set_menu(menu)?;
    app.on_menu_event(|app, event| {
        let id = event.id().as_ref();
        if id == "app_quit" {
            app.exit(0);
        } else if let Some(action) = action_for(id) {
            if let Err(e) = app.emit(crate::events::MENU_ACTION, action) {
                tracing::warn!(error = %e, "could not pass on a menu action");
            }
        }
    });
    Ok(())
}

/// Restarts Assay shortly after an update was installed (once the command
/// has answered), releasing the single-instance lock first so the new
/// process does not take itself for a second launch.
pub fn restart_soon<R: Runtime>(app: &tauri::AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        tracing::info!("restarting into the installed update");
        tauri_plugin_single_instance::destroy(&app);
        app.request_restart();
    });
}

fn announce<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Err(e) = app.emit(LINK_PENDING, ()) {
        tracing::warn!(error = %e, "could not announce a link");
    }
}

fn focus_main<R: Runtime>(app: &tauri::AppHandle<R>) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    for (what, result) in [
        ("unminimize", window.unminimize()),
        ("show", window.show()),
        ("focus", window.set_focus()),
    ] {
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not {what} the main window");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(freedesktop)]
    #[test]
    fn notifications_are_sent_as_the_product_name() {
        // The name the real app's configuration gives: what `show_notice` sends.
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        assert_eq!(fdo::app_name(config["productName"].as_str()), "Assay");
        // Never the executable's name, also without a product name.
        assert_eq!(fdo::app_name(None), "Assay");
        assert_eq!(fdo::app_name(Some("  ")), "Assay");
        assert_eq!(fdo::app_name(Some("Assay Beta")), "Assay Beta");
        // The icon is still found by the executable's name.
        let exe = std::env::current_exe().unwrap();
        assert_eq!(fdo::icon_name(), exe.file_name().unwrap().to_string_lossy());
    }

    #[test]
    fn only_a_lost_hand_over_starts_the_launch_again() {
        let lost = |plugin: &str, message: &str| {
            lost_the_running_instance(&tauri::Error::PluginInitialization(
                plugin.into(),
                message.into(),
            ))
        };
        // What the plugin says when the first instance exits mid hand-over.
        assert!(lost(
            "single-instance",
            "failed to forward arguments to the running instance: org.freedesktop.DBus.Error.NoReply: Message recipient disconnected from message bus without replying"
        ));
        assert!(!lost("single-instance", "D-Bus connection refused"));
        assert!(!lost("deep-link", "failed to forward arguments"));
        assert!(!lost_the_running_instance(
            &tauri::Error::FailedToReceiveMessage
        ));
    }
}
