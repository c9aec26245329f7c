//! Native dialogs: the only way a file reaches the rubric preview and the
//! only way a sign-in starts. The shell shows real OS dialogs; tests answer
//! them with [`ScriptedDialogs`]. A script in the webview can call the
//! commands that open a dialog but cannot answer one: a person has to.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;

/// Dialogs the app asks the person at the machine. Every method blocks until
/// they answer (the app calls them off the async runtime).
pub trait Dialogs: Send + Sync {
    /// "Send your access token to `url`?": true only when they confirm.
    fn confirm_sign_in(&self, url: &str) -> bool;
    /// A rubric file (`.toml`, `.json`, `.yaml`, `.yml`), starting in `start`.
    fn pick_rubric_file(&self, start: Option<&Path>) -> Option<PathBuf>;
    /// The folder of sample items, starting in `start`.
    fn pick_samples_folder(&self, start: Option<&Path>) -> Option<PathBuf>;
}

/// What a prompted person answers, decided in advance: for tests, and for
/// the app under end-to-end tests (set from the process environment at
/// start, which a script in the webview cannot change). It confirms a
/// sign-in only to the one URL it was given, so a test can also show that
/// a sign-in to any other address is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptedDialogs {
    /// The only platform URL the "person" confirms a sign-in to.
    pub confirm_sign_in: Option<String>,
    /// The file the "person" picks as the rubric.
    pub rubric_file: Option<PathBuf>,
    /// The folder the "person" picks as the samples folder.
    pub samples_folder: Option<PathBuf>,
    /// Every dialog shown, in order (`confirm <url>`, `rubric <start>`,
    /// `samples <start>`).
    #[serde(skip)]
    pub shown: Mutex<Vec<String>>,
}

impl ScriptedDialogs {
    fn note(&self, what: String) {
        self.shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(what);
    }

    /// The dialogs shown so far.
    pub fn shown(&self) -> Vec<String> {
        self.shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn start_of(start: Option<&Path>) -> String {
    start.map(|p| p.display().to_string()).unwrap_or_default()
}

impl Dialogs for ScriptedDialogs {
    fn confirm_sign_in(&self, url: &str) -> bool {
        self.note(format!("confirm {url}"));
        self.confirm_sign_in.as_deref() == Some(url)
    }

    fn pick_rubric_file(&self, start: Option<&Path>) -> Option<PathBuf> {
        self.note(format!("rubric {}", start_of(start)));
        self.rubric_file.clone()
    }

    fn pick_samples_folder(&self, start: Option<&Path>) -> Option<PathBuf> {
        self.note(format!("samples {}", start_of(start)));
        self.samples_folder.clone()
    }
}
