//! Tauri commands: one-line adapters into `assay-app`.

use assay_app::{AppError, AppInfo};
use tauri::State;

use crate::Shell;

#[tauri::command]
pub fn app_info(shell: State<'_, Shell>) -> Result<AppInfo, AppError> {
    Ok(AppInfo::new(
        &shell.profile.identifier,
        &shell.profile.data_dir,
    ))
}
