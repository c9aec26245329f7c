//! Native dialogs the commands need (tauri-plugin-dialog). The webview never
//! names a path to write: the reviewer picks it in the OS dialog.

use std::path::PathBuf;

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;

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
