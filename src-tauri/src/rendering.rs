//! How `WebKitGTK` draws the window on Linux.
//!
//! `WebKitGTK` composites the page with OpenGL. On a machine with no GPU that
//! a process can reach (no DRM render node: a VM without a virtual GPU, a
//! container, a remote or Xvfb session), Mesa falls back to llvmpipe, which
//! runs OpenGL on the CPU, and compositing then costs far more CPU than it
//! saves. Measured in the in-app pull bench
//! (`cargo xtask bench --only appsync`, README): during a 10,000-item pull
//! the web process spent about 4 s of CPU, mostly in llvmpipe's threads,
//! against about 0.8 s with compositing off. So where no render node exists,
//! Assay asks `WebKit` to draw without compositing (its
//! `WEBKIT_DISABLE_COMPOSITING_MODE`), unless the user chose either way
//! already. With a GPU nothing changes.
//!
//! It also tunes the page's JavaScript engine ([`tune_javascript`]): the web
//! process collects garbage after 4 MiB of allocation instead of 32 MiB,
//! never uses `JavaScriptCore`'s "aggressive" heap growth for machines with
//! 16 GiB of RAM or more, and runs the page's JavaScript without the
//! optimizing compilers (DFG and FTL), which cost memory the page's light
//! script does not repay.
//!
//! And it points the page's `sans-serif` at the desktop's own font
//! ([`desktop_fonts`]), which is what the UI's `system-ui` means elsewhere.

use std::path::Path;

/// `WebKit`'s own switches: when the user set either, their choice stands.
const USER_CHOICES: [&str; 2] = [
    "WEBKIT_DISABLE_COMPOSITING_MODE",
    "WEBKIT_FORCE_COMPOSITING_MODE",
];

/// Whether compositing should be turned off: no GPU render node, or Mesa
/// told to render in software, and the user has not chosen themselves.
fn compositing_off(has_render_node: bool, var: impl Fn(&str) -> Option<String>) -> bool {
    if USER_CHOICES.iter().any(|k| var(k).is_some()) {
        return false;
    }
    let forced_software = var("LIBGL_ALWAYS_SOFTWARE").is_some_and(|v| !v.is_empty() && v != "0");
    !has_render_node || forced_software
}

/// Whether `dir` (`/dev/dri`) holds a render node (`renderD128`, …).
fn has_render_node(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Chooses `WebKit`'s drawing mode for this process (and the `WebKit`
/// processes it starts, which inherit the environment). Call first thing
/// in [`crate::run`], before any thread starts: it may set an environment
/// variable.
pub fn choose() -> Option<&'static str> {
    if cfg!(target_os = "linux")
        && compositing_off(has_render_node(Path::new("/dev/dri")), |k| {
            std::env::var(k).ok()
        })
    {
        std::env::set_var(USER_CHOICES[0], "1");
        return Some("no GPU render node (or software GL): WebKit draws without compositing");
    }
    None
}

/// The family of a GTK font name (`gtk-font-name`: "Cantarell 11",
/// "Ubuntu Medium 11"), as Pango reads it; `None` when it names none.
#[cfg(target_os = "linux")]
fn font_family(font_name: &str) -> Option<String> {
    let family = gtk::pango::FontDescription::from_string(font_name).family()?;
    let family = family.trim();
    (!family.is_empty()).then(|| family.to_owned())
}

/// Points the page's `sans-serif` at the desktop's interface font (GTK's
/// `gtk-font-name`, which GNOME, KDE and the others set).
///
/// The UI's stacks are `system-ui, sans-serif` and `ui-monospace,
/// monospace`: one name each that macOS's and Windows' webviews resolve to
/// the system's font, then a generic family. `WebKitGTK` resolves neither
/// `system-ui` nor a family that is not installed without a fontconfig
/// search for each font the page uses (each size, weight and style; about
/// 1.5 ms a search on the 2-core development machine). The old seven-name
/// stacks, whose Linux names (Ubuntu, Cantarell, "Noto Sans") stood there to
/// find the desktop's font, cost the web process about 0.16 s of CPU in
/// fontconfig over one start-up bench launch, 0.07 s of it in its first
/// 1.2 s, against 0.04 s and 0.02 s now (docs/benchmarks.md, "Font stacks").
/// So on Linux the page's `sans-serif` is the desktop's font, set here once;
/// `monospace` stays fontconfig's. Where GTK names no font, `WebKit`'s
/// default (fontconfig's `sans-serif`) stays.
pub fn desktop_fonts<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    {
        use gtk::prelude::GtkSettingsExt;
        use webkit2gtk::{SettingsExt, WebViewExt};
        let sent = window.with_webview(|webview| {
            let Some(family) = gtk::Settings::default()
                .and_then(|s| s.gtk_font_name())
                .and_then(|name| font_family(&name))
            else {
                return;
            };
            if let Some(settings) = WebViewExt::settings(&webview.inner()) {
                tracing::info!(%family, "the page's sans-serif is the desktop's font");
                settings.set_sans_serif_font_family(&family);
            }
        });
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not set the page's fonts");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// `JavaScriptCore`'s settings for Assay's page.
///
/// - `largeHeapSize`: collect after 4 MiB of allocation rather than `JSCore`'s
///   default of 32 MiB for a page's heap. Assay's page keeps little alive (a
///   window of queue rows, a window of diff rows), but scrolling 10,000 rows
///   allocates and drops a great deal: every row scrolled past builds and
///   drops its blocks (about 150 MB allocated in one end-to-end scroll of
///   the queue, sampled in Chromium), and with the default the web process
///   held tens of MiB of garbage at a time.
/// - `aggressiveHeapThresholdInMB`: never use `JSCore`'s "aggressive" heap.
///   On a machine with 16 GiB of RAM or more (as many reviewers' laptops
///   have) `JSCore` otherwise lets the heap grow about fourfold between full
///   collections and lets each young-generation cycle run to 8 times the
///   setting above (32 MiB) before it collects, so collections came far
///   later than the first setting asks (`JSC_logGC`: requested only after
///   33.5 MB allocated, against 12 MB allowed). With it, `JSCore` uses its
///   default growth on every machine.
/// - `useDFGJIT`: no DFG tier, and so no FTL tier either (FTL compiles
///   from DFG's graph); functions run in `JSCore`'s interpreter and its
///   baseline JIT. The page's script is light (it shows what Rust decided:
///   rows, diffs, forms), and what the optimizing tiers compiled stayed in
///   the web process: with them off it held about 8-11 MiB less with the
///   10,751-line diff and a scan open, and 13-16 MiB less after scrolling
///   10,000 queue rows, with no cost measured in start-up, frame intervals
///   or the web process's CPU (docs/benchmarks.md, "Where the memory ratio
///   comes from, and the page's JavaScript without the optimizing
///   compilers").
///
/// Measured with `cargo xtask bench --only startup` (README, Benchmarks).
const JS_ENGINE: [(&str, &str); 3] = [
    ("JSC_largeHeapSize", "4194304"),
    ("JSC_aggressiveHeapThresholdInMB", "4294967295"),
    ("JSC_useDFGJIT", "0"),
];

/// Which of [`JS_ENGINE`] to set: on Linux (`WebKitGTK` reads `JSC_*` options
/// from the environment of its web process, which inherits this process's),
/// each unless the user set that option themselves.
fn engine_settings(
    linux: bool,
    var: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, &'static str)> {
    if !linux {
        return Vec::new();
    }
    JS_ENGINE
        .into_iter()
        .filter(|(k, _)| var(k).is_none())
        .collect()
}

/// Sets Assay's JavaScript engine tuning ([`JS_ENGINE`]) for the web process
/// `WebKitGTK` starts. Call first thing in [`crate::run`], before any thread
/// starts: it may set environment variables. Returns what it set, to log.
pub fn tune_javascript() -> Option<String> {
    let set = engine_settings(cfg!(target_os = "linux"), |k| std::env::var(k).ok());
    if set.is_empty() {
        return None;
    }
    let mut said = Vec::with_capacity(set.len());
    for (k, v) in set {
        std::env::set_var(k, v);
        said.push(format!("{k}={v}"));
    }
    Some(format!(
        "JavaScript engine: {} (collect sooner, no optimizing JIT)",
        said.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn compositing_goes_off_only_without_a_gpu_and_without_the_users_choice() {
        assert!(compositing_off(false, env(&[])));
        assert!(!compositing_off(true, env(&[])));
        assert!(compositing_off(
            true,
            env(&[("LIBGL_ALWAYS_SOFTWARE", "1")])
        ));
        assert!(!compositing_off(
            true,
            env(&[("LIBGL_ALWAYS_SOFTWARE", "0")])
        ));
        assert!(!compositing_off(
            false,
            env(&[("WEBKIT_FORCE_COMPOSITING_MODE", "1")])
        ));
        assert!(!compositing_off(
            false,
            env(&[("WEBKIT_DISABLE_COMPOSITING_MODE", "0")])
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_desktop_font_is_the_family_of_gtks_font_name() {
        assert_eq!(font_family("Cantarell 11").as_deref(), Some("Cantarell"));
        assert_eq!(font_family("Noto Sans 10").as_deref(), Some("Noto Sans"));
        // Style words and the size are Pango's, not the family's.
        assert_eq!(
            font_family("Ubuntu Medium Italic 11").as_deref(),
            Some("Ubuntu")
        );
        assert_eq!(
            font_family("Adwaita Sans, 11").as_deref(),
            Some("Adwaita Sans")
        );
        assert_eq!(font_family(""), None);
        assert_eq!(font_family("11"), None);
    }

    #[test]
    fn a_render_node_is_found_by_its_name() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_render_node(dir.path()));
        assert!(!has_render_node(&dir.path().join("missing")));
        std::fs::write(dir.path().join("card0"), "").unwrap();
        assert!(!has_render_node(dir.path()));
        std::fs::write(dir.path().join("renderD128"), "").unwrap();
        assert!(has_render_node(dir.path()));
    }

    #[test]
    fn the_engine_is_tuned_on_linux_unless_the_user_chose() {
        let all = JS_ENGINE.to_vec();
        assert_eq!(engine_settings(true, env(&[])), all);
        assert!(engine_settings(false, env(&[])).is_empty());
        assert_eq!(engine_settings(true, env(&[("JSC_logGC", "1")])), all);
        // Each setting stands on its own: a value the user gave one is left
        // alone, and the others are still set.
        assert_eq!(
            engine_settings(true, env(&[("JSC_largeHeapSize", "33554432")])),
            [
                ("JSC_aggressiveHeapThresholdInMB", "4294967295"),
                ("JSC_useDFGJIT", "0")
            ]
        );
        assert_eq!(
            engine_settings(true, env(&[("JSC_aggressiveHeapThresholdInMB", "16384")])),
            [("JSC_largeHeapSize", "4194304"), ("JSC_useDFGJIT", "0")]
        );
        // Someone who wants the optimizing tiers back sets it themselves.
        assert_eq!(
            engine_settings(true, env(&[("JSC_useDFGJIT", "1")])),
            [
                ("JSC_largeHeapSize", "4194304"),
                ("JSC_aggressiveHeapThresholdInMB", "4294967295")
            ]
        );
    }
}
