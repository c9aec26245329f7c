//! The linker's symbol order for the release app (`src-tauri/link-order.txt`).
//!
//! The kernel maps a binary's code into a process in blocks around each page
//! the process reads, and the code one launch runs lies scattered across
//! the app's 19 MB of `.text`: the start-up bench found 15 MiB of it
//! resident with the diff and the scan open. Listing the functions a launch
//! runs, in one block, lets the linker (rust-lld, `--symbol-ordering-file`,
//! set up by `src-tauri/build.rs` for release builds) put them together, so
//! the code a reviewer's session reads sits on as few pages as it can.
//!
//! `cargo xtask link-order` writes the list: the start-up bench's steps run
//! once with the release app under valgrind's callgrind
//! (`tests/tests/startup.rs`, `functions_a_measured_launch_runs`), and every
//! function of the binary that callgrind saw run is listed, sorted by name.
//! The names are the linker's (mangled); they carry each crate's
//! disambiguator, which changes with the crate's version, features and the
//! compiler, so after such changes a name no longer matches and that
//! function keeps its default place (the linker is told not to warn). The
//! start-up bench says how many of the list are in the binary it built
//! ([`report`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The list, relative to the repository's root.
pub const FILE: &str = "src-tauri/link-order.txt";

/// Below this share of the list found in the binary, the bench says to
/// write it again.
const STALE_BELOW: f64 = 0.9;

/// The functions defined in `binary` (an object callgrind names by its
/// path) that ran in the callgrind profiles in `dir` (`callgrind.out.*`),
/// as the linker names them: only those the binary defines as code.
pub fn executed_functions(dir: &Path, binary: &Path) -> Result<BTreeSet<String>> {
    let defined = defined_functions(binary)?;
    let object = binary.canonicalize()?;
    let object = object.to_string_lossy();
    let mut ran = BTreeSet::new();
    let mut profiles = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let is_profile = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("callgrind.out."));
        if !is_profile {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if text.is_empty() {
            continue;
        }
        profiles += 1;
        ran.extend(
            functions_in_profile(&text, &object)
                .into_iter()
                .filter(|f| defined.contains(f)),
        );
    }
    if profiles == 0 {
        bail!("no callgrind profile in {}", dir.display());
    }
    Ok(ran)
}

/// The functions with cost in a callgrind profile (`text`, its format with
/// name compression) whose object's path ends with `object`. Every function
/// that ran has its own cost block (`fn=`) under the object it is in
/// (`ob=`); callees (`cfn=`) only add names to the table. Callgrind names a
/// function that recursed `name'2`, `name'3`…: the suffix is dropped.
pub fn functions_in_profile(text: &str, object: &str) -> BTreeSet<String> {
    let mut objects: HashMap<&str, &str> = HashMap::new();
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut in_object = false;
    let mut ran = BTreeSet::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once('=') else {
            continue;
        };
        let table = match key {
            "ob" | "cob" => &mut objects,
            "fn" | "cfn" => &mut names,
            _ => continue,
        };
        // `(id) name` defines an id, `(id)` refers to it; without
        // compression the line is the name itself.
        let value = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
            Some((id, "")) => table.get(id).copied(),
            Some((id, name)) => {
                let name = name.trim_start();
                table.insert(id, name);
                Some(name)
            }
            None => Some(rest),
        };
        let Some(value) = value else { continue };
        match key {
            "ob" => in_object = value.ends_with(object),
            "fn" if in_object => {
                let name = value
                    .rsplit_once('\'')
                    .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(value, |(base, _)| base);
                ran.insert(name.to_owned());
            }
            _ => {}
        }
    }
    ran
}

/// The code symbols `binary` defines (`nm --defined-only`: `t`/`T`).
pub fn defined_functions(binary: &Path) -> Result<HashSet<String>> {
    let out = Command::new("nm")
        .arg("--defined-only")
        .arg(binary)
        .output()
        .context("running nm (binutils)")?;
    if !out.status.success() {
        bail!(
            "nm {}: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (_, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
            matches!(kind, "t" | "T").then(|| name.to_owned())
        })
        .collect())
}

/// Prints how many of the list's functions `binary` defines, and says to
/// write the list again when too few do.
pub fn report(root: &Path, binary: &Path) -> Result<()> {
    let path = root.join(FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("link order: no {FILE}; the release app is linked in the default order");
        return Ok(());
    };
    let listed: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let defined = defined_functions(binary)?;
    let found = listed.iter().filter(|f| defined.contains(**f)).count();
    let share = found as f64 / listed.len().max(1) as f64;
    eprintln!(
        "link order: {found} of the {} functions in {FILE} are in {} ({:.0}%)",
        listed.len(),
        binary.display(),
        share * 100.0
    );
    if share < STALE_BELOW {
        eprintln!(
            "link order: the list is out of date for this build (crate versions, features or \
             the compiler changed); `cargo xtask link-order` writes it again"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile as callgrind writes it with name compression: ids defined
    /// once, referred to later, callees naming functions first, a recursion
    /// suffix, and another object's functions.
    const PROFILE: &str = "\
# callgrind format
version: 1
positions: line
events: Ir
ob=(1) /opt/app/assay-desktop
fl=(1) ???
fn=(1) _RNvCs1_4main4main
0 10
cob=(2) /usr/lib/libc.so.6
cfn=(2) malloc
calls=1 0
0 5
cfn=(3) _RNvCs1_4main5setup
calls=1 0
0 20
fn=(3)
0 7
fn=(4) _RNvCs1_4main4walk'2
0 3
ob=(2)
fn=(2)
0 5
fn=(5) free
0 2
ob=(1)
fn=(1)
0 1
";

    #[test]
    fn functions_with_cost_in_the_object_are_listed() {
        let ran = functions_in_profile(PROFILE, "/assay-desktop");
        let ran: Vec<&str> = ran.iter().map(String::as_str).collect();
        assert_eq!(
            ran,
            [
                "_RNvCs1_4main4main",
                "_RNvCs1_4main4walk",
                "_RNvCs1_4main5setup"
            ]
        );
    }

    #[test]
    fn another_objects_functions_are_not() {
        let ran = functions_in_profile(PROFILE, "/libc.so.6");
        assert_eq!(
            ran.into_iter().collect::<Vec<_>>(),
            ["free".to_owned(), "malloc".to_owned()]
        );
    }

    #[test]
    fn a_profile_without_compression_is_read_too() {
        let text = "ob=/opt/app/assay-desktop\nfn=main\n0 1\nob=/lib/x.so\nfn=other\n0 1\n";
        let ran = functions_in_profile(text, "/assay-desktop");
        assert_eq!(ran.into_iter().collect::<Vec<_>>(), ["main".to_owned()]);
    }
}
