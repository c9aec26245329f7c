//! Non-secret settings in `<data_dir>/settings.json`: the platform URL, who is
//! signed in, and UI preferences. The token is never here (OS keyring only).

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{ExpertSummary, Settings};

/// What `settings.json` holds; a field missing from the file takes its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Saved {
    pub platform_url: Option<String>,
    pub expert: Option<ExpertSummary>,
    /// Which kind of platform `platform_url` is (probed at sign-in).
    pub platform_kind: assay_sync::PlatformKind,
    pub ui: Settings,
    /// The folder the rubric preview's file dialogs open in: where the
    /// author last picked a rubric or a samples folder.
    pub preview_dir: Option<PathBuf>,
}

pub struct SettingsFile {
    path: PathBuf,
    lock: Mutex<()>,
}

impl SettingsFile {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    /// Reads the settings; a missing file means defaults. A corrupt file is
    /// reported, not silently replaced.
    pub fn load(&self) -> AppResult<Saved> {
        let _g = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.read()
    }

    fn read(&self) -> AppResult<Saved> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                AppError::new(
                    ErrorCode::Storage,
                    format!("{} is not valid settings JSON: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Saved::default()),
            Err(e) => Err(AppError::new(
                ErrorCode::Storage,
                format!("reading {}: {e}", self.path.display()),
            )),
        }
    }

    /// Read-modify-write, atomically replaced on disk (write + fsync + rename).
    pub fn update(&self, f: impl FnOnce(&mut Saved)) -> AppResult<Saved> {
        let _g = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut saved = self.read()?;
        f(&mut saved);
        let json = serde_json::to_vec_pretty(&saved)
            .map_err(|e| AppError::internal(format!("settings: {e}")))?;
        let tmp = self.path.with_extension("json.tmp");
        let io = |e: std::io::Error| {
            AppError::new(
                ErrorCode::Storage,
                format!("writing {}: {e}", self.path.display()),
            )
        };
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp).map_err(io)?;
            file.write_all(&json).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_defaults_and_updates_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let f = SettingsFile::new(dir.path().join("settings.json"));
        assert_eq!(f.load().unwrap(), Saved::default());
        f.update(|s| s.platform_url = Some("http://127.0.0.1:9".into()))
            .unwrap();
        assert_eq!(
            f.load().unwrap().platform_url.as_deref(),
            Some("http://127.0.0.1:9")
        );
        let text = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
        assert!(!text.contains("token"));
    }

    #[test]
    fn settings_written_before_notifications_load_with_them_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(
            &path,
            br#"{"ui":{"theme":"dark","keymap":{},"idle_timeout_s":90,"focus_grace_s":5,"diff_mode":"split"}}"#,
        )
        .unwrap();
        let ui = SettingsFile::new(path).load().unwrap().ui;
        assert_eq!(ui.idle_timeout_s, 90);
        assert!(ui.notifications);
        assert_eq!(ui.notify_interval_s, 600);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{nope").unwrap();
        let f = SettingsFile::new(path.clone());
        let err = f.load().unwrap_err();
        assert_eq!(err.code, ErrorCode::Storage);
        assert_eq!(std::fs::read(&path).unwrap(), b"{nope");
    }
}
