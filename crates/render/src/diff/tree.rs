//! The file tree of a diff with viewed marks.

use super::*;

/// A directory or file in the diff's file tree (chains of directories holding only one directory are one node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileTreeNode {
    /// Display name (collapsed directory chains read `a/b/c`).
    pub name: String,
    /// Full path of the file or directory.
    pub path: String,
    /// Index into `MultiFileDiff::files` for files; `None` for directories.
    pub file_index: Option<u32>,
    /// The file's diff status; `None` for directories.
    pub status: Option<FileStatus>,
    /// Lines added and removed in the file, or summed over everything below a directory.
    pub stats: DiffStats,
    /// For files: the key to store the viewed mark under.
    pub viewed_key: Option<String>,
    /// Files: marked viewed. Directories: every file below is viewed.
    pub viewed: bool,
    /// Entries below a directory (subdirectories by name, then files); empty for files.
    pub children: Vec<FileTreeNode>,
}

/// The files of a diff as a directory tree, with how many the reviewer has marked viewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileTree {
    /// Top-level entries.
    pub roots: Vec<FileTreeNode>,
    /// Number of files in the diff.
    pub total_files: u32,
    /// Number of files marked viewed whose key is still current.
    pub viewed_files: u32,
}

/// Build the file tree of a diff. `viewed` holds the viewed keys the app
/// stored (see [`FileDiff::viewed_key`]); stale keys are ignored.
pub fn file_tree(diff: &MultiFileDiff, viewed: &[String]) -> FileTree {
    #[derive(Default)]
    struct Dir {
        dirs: BTreeMap<String, Dir>,
        files: Vec<usize>,
    }
    let viewed: HashSet<&str> = viewed.iter().map(String::as_str).collect();
    let mut root = Dir::default();
    for (i, f) in diff.files.iter().enumerate() {
        let parts: Vec<&str> = f.path.split('/').filter(|p| !p.is_empty()).collect();
        let mut d = &mut root;
        if parts.len() > 1 {
            for p in &parts[..parts.len() - 1] {
                d = d.dirs.entry((*p).to_string()).or_default();
            }
        }
        d.files.push(i);
    }
    fn build(
        d: Dir,
        prefix: &str,
        diff: &MultiFileDiff,
        viewed: &HashSet<&str>,
    ) -> Vec<FileTreeNode> {
        let mut out = Vec::new();
        for (name, sub) in d.dirs {
            let mut name = name;
            let mut sub = sub;
            // Collapse chains of single-child directories.
            while sub.files.is_empty() && sub.dirs.len() == 1 {
                let Some((child_name, child)) = std::mem::take(&mut sub.dirs).into_iter().next()
                else {
                    break;
                };
                name = format!("{name}/{child_name}");
                sub = child;
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let children = build(sub, &path, diff, viewed);
            let stats = children
                .iter()
                .fold(DiffStats::default(), |a, c| DiffStats {
                    added: a.added + c.stats.added,
                    removed: a.removed + c.stats.removed,
                });
            let all_viewed = !children.is_empty() && children.iter().all(|c| c.viewed);
            out.push(FileTreeNode {
                name,
                path,
                file_index: None,
                status: None,
                stats,
                viewed_key: None,
                viewed: all_viewed,
                children,
            });
        }
        let mut files: Vec<FileTreeNode> = d
            .files
            .into_iter()
            .map(|i| {
                let f = &diff.files[i];
                let key = f.viewed_key();
                FileTreeNode {
                    name: f.path.rsplit('/').next().unwrap_or(&f.path).to_string(),
                    path: f.path.clone(),
                    file_index: Some(i as u32),
                    status: Some(f.status),
                    stats: f.stats,
                    viewed: viewed.contains(key.as_str()),
                    viewed_key: Some(key),
                    children: Vec::new(),
                }
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(files);
        out
    }
    let roots = build(root, "", diff, &viewed);
    let viewed_files = diff
        .files
        .iter()
        .filter(|f| viewed.contains(f.viewed_key().as_str()))
        .count() as u32;
    FileTree {
        roots,
        total_files: diff.files.len() as u32,
        viewed_files,
    }
}
