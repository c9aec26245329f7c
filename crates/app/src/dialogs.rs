//! Native dialogs: the only way a file reaches the rubric preview and the
//! only way a sign-in starts. The shell shows real OS dialogs; tests answer
//! them with [`ScriptedDialogs`]. A script in the webview can call the
//! commands that open a dialog but cannot answer one: a person has to.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;

/// Where a sign-in's secret comes from, which its confirmation names: the
/// person typed a token, or a link opened from outside the app carries a
/// one-time code (no token was entered at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInWith {
    /// The access token typed or pasted into the sign-in form.
    Token,
    /// The one-time code of an `assay://signin` link.
    LinkCode,
}

/// The sign-in confirmation's title and message for `url`, in words that fit
/// how the sign-in started. The shell shows them in a native dialog.
#[must_use]
pub fn sign_in_question(url: &str, with: SignInWith) -> (&'static str, String) {
    match with {
        SignInWith::Token => (
            "Sign in to this platform?",
            format!(
                "Assay will send the access token you entered to\n\n{url}\n\n\
                 Sign in only if you typed this address yourself."
            ),
        ),
        SignInWith::LinkCode => (
            "Open this sign-in link?",
            format!(
                "A sign-in link asks Assay to sign in to\n\n{url}\n\n\
                 Assay will send the link's one-time code there and keep the access \
                 token it gets back. Sign in only if this is your platform's address \
                 and you asked it for this link just now."
            ),
        ),
    }
}

/// Dialogs the app asks the person at the machine. Every method blocks until
/// they answer (the app calls them off the async runtime).
pub trait Dialogs: Send + Sync {
    /// "Sign in to `url`?" (see [`sign_in_question`]): true only when they
    /// confirm.
    fn confirm_sign_in(&self, url: &str, with: SignInWith) -> bool;
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
    /// Every dialog shown, in order (`confirm <url>`, `confirm link <url>`,
    /// `rubric <start>`, `samples <start>`).
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
    fn confirm_sign_in(&self, url: &str, with: SignInWith) -> bool {
        self.note(match with {
            SignInWith::Token => format!("confirm {url}"),
            SignInWith::LinkCode => format!("confirm link {url}"),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_links_confirmation_speaks_of_the_link_not_of_a_typed_token() {
        let url = "https://platform.example.org";
        let (title, typed) = sign_in_question(url, SignInWith::Token);
        assert_eq!(title, "Sign in to this platform?");
        assert!(typed.contains(url) && typed.contains("token you entered"));

        let (title, link) = sign_in_question(url, SignInWith::LinkCode);
        assert!(title.contains("link"), "{title}");
        assert!(link.contains(url), "{link}");
        assert!(link.contains("one-time code"), "{link}");
        // Nothing was entered and nothing typed when a link started it.
        for wrong in ["you entered", "typed"] {
            assert!(!link.contains(wrong), "{link:?} says {wrong:?}");
        }
    }
}
