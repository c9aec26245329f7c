//! Bringing a folder up to date from a freshly built copy without touching
//! the files whose bytes did not change.
//!
//! The app crates embed `ui/dist` (Tauri's `generate_context!`), so cargo
//! rebuilds them whenever a file there is newer than the last build. Vite
//! writes every file anew on each build, so an unchanged UI used to cost a
//! full release rebuild of the app (fat LTO: about five minutes on two
//! cores) before every app benchmark, and the benchmark then started on a
//! machine still hot from it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// What [`sync_dir`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Synced {
    /// Files written (new, or with other bytes), relative to the target.
    pub written: Vec<PathBuf>,
    /// Files removed from the target (no longer built).
    pub removed: Vec<PathBuf>,
}

/// Makes `to` hold exactly the files of `from`, with the same bytes: a file
/// is written only when it is missing or its bytes differ (so an unchanged
/// file keeps its modification time), and files (and then empty folders)
/// that `from` does not have are removed.
pub fn sync_dir(from: &Path, to: &Path) -> Result<Synced> {
    let wanted = files_under(from)?;
    let mut done = Synced::default();
    for rel in &wanted {
        let (src, dst) = (from.join(rel), to.join(rel));
        let bytes = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
        if std::fs::read(&dst).is_ok_and(|old| old == bytes) {
            continue;
        }
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&dst, &bytes).with_context(|| format!("writing {}", dst.display()))?;
        done.written.push(rel.clone());
    }
    if to.is_dir() {
        for rel in files_under(to)? {
            if !wanted.contains(&rel) {
                let stale = to.join(&rel);
                std::fs::remove_file(&stale)
                    .with_context(|| format!("removing {}", stale.display()))?;
                done.removed.push(rel);
            }
        }
        remove_empty_dirs(to)?;
    }
    Ok(done)
}

/// Every file below `dir`, relative to it, in order.
fn files_under(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.strip_prefix(dir)?.to_path_buf());
            }
        }
    }
    Ok(out)
}

/// Removes the folders below `dir` that hold no file (deepest first).
fn remove_empty_dirs(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            remove_empty_dirs(&path)?;
            if std::fs::read_dir(&path)?.next().is_none() {
                std::fs::remove_dir(&path)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn mtime(p: &Path) -> SystemTime {
        std::fs::metadata(p).unwrap().modified().unwrap()
    }

    #[test]
    fn only_changed_files_are_written_and_stale_ones_go() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (f, t) = (from.path(), to.path());
        std::fs::create_dir_all(f.join("assets")).unwrap();
        std::fs::write(f.join("index.html"), "<html>").unwrap();
        std::fs::write(f.join("assets/main-a.js"), "same").unwrap();
        std::fs::write(f.join("assets/changed.css"), "new").unwrap();
        std::fs::create_dir_all(t.join("assets")).unwrap();
        std::fs::create_dir_all(t.join("old")).unwrap();
        std::fs::write(t.join("index.html"), "<html>").unwrap();
        std::fs::write(t.join("assets/main-a.js"), "same").unwrap();
        std::fs::write(t.join("assets/changed.css"), "old").unwrap();
        std::fs::write(t.join("assets/main-b.js"), "stale").unwrap();
        std::fs::write(t.join("old/gone.txt"), "stale").unwrap();
        // An old time on the unchanged files, so a rewrite would show.
        let old = SystemTime::now() - Duration::from_secs(3600);
        for p in ["index.html", "assets/main-a.js"] {
            std::fs::File::options()
                .write(true)
                .open(t.join(p))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }

        let done = sync_dir(f, t).unwrap();
        assert_eq!(done.written, [PathBuf::from("assets/changed.css")]);
        assert_eq!(
            done.removed,
            [
                PathBuf::from("assets/main-b.js"),
                PathBuf::from("old/gone.txt")
            ]
        );
        assert_eq!(mtime(&t.join("index.html")), old);
        assert_eq!(mtime(&t.join("assets/main-a.js")), old);
        assert_eq!(
            std::fs::read_to_string(t.join("assets/changed.css")).unwrap(),
            "new"
        );
        assert!(!t.join("old").exists());
        assert_eq!(files_under(t).unwrap(), files_under(f).unwrap());

        // Again: nothing to do.
        assert_eq!(sync_dir(f, t).unwrap(), Synced::default());
    }

    #[test]
    fn a_missing_target_is_created() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(from.path().join("index.html"), "x").unwrap();
        let target = to.path().join("dist");
        let done = sync_dir(from.path(), &target).unwrap();
        assert_eq!(done.written, [PathBuf::from("index.html")]);
        assert_eq!(
            std::fs::read_to_string(target.join("index.html")).unwrap(),
            "x"
        );
    }
}
