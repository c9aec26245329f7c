//! The OS's own dialogs (tauri-plugin-dialog, called from Rust only: the
//! capability grants the webview none of the plugin's commands), and the
//! test-only stand-in answered from the process environment.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use assay_app::{sign_in_question, Dialogs, SignInWith};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

/// Native dialogs over the main window. Before the app handle exists (it is
/// set in `setup`) every dialog answers "no".
pub struct NativeDialogs<R: Runtime> {
    pub app: Arc<OnceLock<AppHandle<R>>>,
}

impl<R: Runtime> NativeDialogs<R> {
    fn parent(&self) -> Option<tauri::WebviewWindow<R>> {
        self.app.get()?.get_webview_window("main")
    }
}

impl<R: Runtime> Dialogs for NativeDialogs<R> {
    fn confirm_sign_in(&self, url: &str, with: SignInWith) -> bool {
        let Some(app) = self.app.get() else {
            return false;
        };
        let (title, message) = sign_in_question(url, with);
        let mut dialog = app
            .dialog()
            .message(message)
            .title(title)
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Sign in".into(),
                "Cancel".into(),
            ));
        if let Some(w) = self.parent() {
            dialog = dialog.parent(&w);
        }
        dialog.blocking_show()
    }

    fn pick_rubric_file(&self, start: Option<&Path>) -> Option<PathBuf> {
        let app = self.app.get()?;
        let mut dialog = app
            .dialog()
            .file()
            .set_title("Choose a rubric file")
            .add_filter(
                "Rubric (TOML, JSON, YAML)",
                &["toml", "json", "yaml", "yml"],
            );
        if let Some(dir) = start.filter(|d| d.is_dir()) {
            dialog = dialog.set_directory(dir);
        }
        if let Some(w) = self.parent() {
            dialog = dialog.set_parent(&w);
        }
        dialog.blocking_pick_file()?.into_path().ok()
    }

    fn pick_samples_folder(&self, start: Option<&Path>) -> Option<PathBuf> {
        let app = self.app.get()?;
        let mut dialog = app
            .dialog()
            .file()
            .set_title("Choose the folder of sample items");
        if let Some(dir) = start.filter(|d| d.is_dir()) {
            dialog = dialog.set_directory(dir);
        }
        if let Some(w) = self.parent() {
            dialog = dialog.set_parent(&w);
        }
        dialog.blocking_pick_folder()?.into_path().ok()
    }
}

/// End-to-end tests cannot click a native dialog, so in a debug build run
/// under a test profile (`ASSAY_PROFILE` set) `ASSAY_TEST_DIALOGS` may hold
/// the answers as JSON (`assay_app::ScriptedDialogs`: the one URL a sign-in
/// is confirmed to, the rubric file and samples folder picked). It is read
/// once from the process environment at start: nothing in the webview can
/// set or change it. Release builds do not contain this code.
#[cfg(debug_assertions)]
pub fn scripted_from_env(
    profile: &crate::Profile,
) -> anyhow::Result<Option<assay_app::ScriptedDialogs>> {
    use anyhow::Context;
    let Some(json) = std::env::var_os("ASSAY_TEST_DIALOGS") else {
        return Ok(None);
    };
    if profile.identifier == crate::profile::APP_IDENTIFIER {
        anyhow::bail!("ASSAY_TEST_DIALOGS is only honoured with a test profile (ASSAY_PROFILE)");
    }
    let json = json
        .into_string()
        .map_err(|_| anyhow::anyhow!("ASSAY_TEST_DIALOGS is not UTF-8"))?;
    let scripted = serde_json::from_str(&json).context("ASSAY_TEST_DIALOGS")?;
    tracing::warn!("dialogs are answered by ASSAY_TEST_DIALOGS (test build)");
    Ok(Some(scripted))
}

/// Release builds never answer dialogs by themselves.
#[cfg(not(debug_assertions))]
pub fn scripted_from_env(
    _profile: &crate::Profile,
) -> anyhow::Result<Option<assay_app::ScriptedDialogs>> {
    if std::env::var_os("ASSAY_TEST_DIALOGS").is_some() {
        tracing::warn!("ASSAY_TEST_DIALOGS is ignored: this is a release build");
    }
    Ok(None)
}

/// Asks where to save a CSV (starting in Documents, with `file_name`
/// suggested). `None` when the reviewer cancels.
pub async fn save_csv<R: Runtime>(app: &AppHandle<R>, file_name: &str) -> Option<PathBuf> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app
        .dialog()
        .file()
        .set_title("Export earnings as CSV")
        .add_filter("CSV", &["csv"])
        .set_file_name(file_name);
    if let Ok(dir) = app.path().document_dir() {
        dialog = dialog.set_directory(dir);
    }
    dialog.save_file(move |picked| {
        let _ = tx.send(picked);
    });
    let picked = rx.await.ok().flatten()?;
    match picked.into_path() {
        Ok(path) => Some(path),
        Err(e) => {
            tracing::warn!(error = %e, "the save dialog returned no usable path");
            None
        }
    }
}
