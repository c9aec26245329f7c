//! `cargo xtask bench`: the inputs of the diff-highlighting benchmark (real
//! releases fetched from crates.io, npm and `PyPI`, pinned by version and
//! SHA-256), delta installed pinned, and the runs of every benchmark.
//!
//! Everything fetched or built is cached under `target/bench/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use assay_pgtest::process::output;

/// delta is pinned: bat 0.26's syntaxes, the same set Assay highlights with
/// (two-face 0.5.2+bat-0.26.1), so both tools use the same grammar per language.
pub const DELTA_VERSION: &str = "0.20.1";

/// A released package on a registry.
pub struct Pkg {
    pub name: &'static str,
    pub version: &'static str,
    pub url: &'static str,
    pub sha256: &'static str,
}

impl Pkg {
    fn dir_name(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }

    fn file_name(&self) -> &'static str {
        self.url.rsplit('/').next().unwrap_or(self.url)
    }
}

pub enum Change {
    /// Everything (or `subdir`) that changed between two releases.
    Releases {
        old: Pkg,
        new: Pkg,
        subdir: Option<&'static str>,
    },
    /// One file of a release, shown as added whole.
    NewFile { pkg: Pkg, path: &'static str },
}

pub struct Input {
    pub name: &'static str,
    pub what: &'static str,
    pub change: Change,
}

const fn krate(
    name: &'static str,
    version: &'static str,
    url: &'static str,
    sha256: &'static str,
) -> Pkg {
    Pkg {
        name,
        version,
        url,
        sha256,
    }
}

/// The real inputs of the diff benchmark.
pub const INPUTS: &[Input] = &[
    Input {
        name: "tokio",
        what: "Rust (+TOML, Markdown): crate tokio 1.35.0 -> 1.38.0 (crates.io)",
        change: Change::Releases {
            old: krate(
                "tokio",
                "1.35.0",
                "https://static.crates.io/crates/tokio/tokio-1.35.0.crate",
                "841d45b238a16291a4e1584e61820b8ae57d696cc5015c459c229ccc6990cc1c",
            ),
            new: krate(
                "tokio",
                "1.38.0",
                "https://static.crates.io/crates/tokio/tokio-1.38.0.crate",
                "ba4f4a02a7a80d6f274636f0aa95c7e383b912d41fe721a31f29e29698585a4a",
            ),
            subdir: None,
        },
    },
    Input {
        name: "serde",
        what: "Rust (+TOML, Markdown): crate serde 1.0.100 -> 1.0.210 (crates.io)",
        change: Change::Releases {
            old: krate(
                "serde",
                "1.0.100",
                "https://static.crates.io/crates/serde/serde-1.0.100.crate",
                "f4473e8506b213730ff2061073b48fa51dcc66349219e2e7c5608f0296a1d95a",
            ),
            new: krate(
                "serde",
                "1.0.210",
                "https://static.crates.io/crates/serde/serde-1.0.210.crate",
                "c8e3592472072e6e22e0a54d5904d9febf8508f65fb8552499a1abc7d1078c3a",
            ),
            subdir: None,
        },
    },
    Input {
        name: "syn",
        what: "Rust (+TOML, Markdown): crate syn 2.0.75 -> 2.0.87 (crates.io)",
        change: Change::Releases {
            old: krate(
                "syn",
                "2.0.75",
                "https://static.crates.io/crates/syn/syn-2.0.75.crate",
                "f6af063034fc1935ede7be0122941bafa9bacb949334d090b77ca98b5817c7d9",
            ),
            new: krate(
                "syn",
                "2.0.87",
                "https://static.crates.io/crates/syn/syn-2.0.87.crate",
                "25aa4ce346d03a6dcd68dd8b4010bcb74e54e62c90c573f394c46eae99aba32d",
            ),
            subdir: None,
        },
    },
    Input {
        name: "rxjs",
        what: "TypeScript: npm package rxjs 7.5.0 -> 7.8.1, its src/ folder (npm)",
        change: Change::Releases {
            old: krate(
                "rxjs",
                "7.5.0",
                "https://registry.npmjs.org/rxjs/-/rxjs-7.5.0.tgz",
                "324df4b69fdd7c26385f009cc91aee31926aa0bcf55f87dbcb103a12e972f988",
            ),
            new: krate(
                "rxjs",
                "7.8.1",
                "https://registry.npmjs.org/rxjs/-/rxjs-7.8.1.tgz",
                "c532167725ab7d085123209156c93cef22f2479cb9c8527060f1cd903aa9d149",
            ),
            subdir: Some("src"),
        },
    },
    Input {
        name: "rich",
        what: "Python (+TOML, Markdown): sdist rich 13.0.0 -> 13.7.1 (PyPI)",
        change: Change::Releases {
            old: krate(
                "rich",
                "13.0.0",
                "https://files.pythonhosted.org/packages/b4/b9/f735d18e35aea71b6516d2970d268fccf3978f4848156ed20cc858c287bd/rich-13.0.0.tar.gz",
                "3aa9eba7219b8c575c6494446a59f702552efe1aa261e7eeb95548fa586e1950",
            ),
            new: krate(
                "rich",
                "13.7.1",
                "https://files.pythonhosted.org/packages/b3/01/c954e134dc440ab5f96952fe52b4fdc64225530320a910473c1fe270d9aa/rich-13.7.1.tar.gz",
                "9be308cb1fe2f1f57d67ce99e95af38a1e2bc71ad9813b0e247cf7ffbcc3a432",
            ),
            subdir: None,
        },
    },
    Input {
        name: "generated",
        what: "one generated Rust file added whole: regex-syntax 0.8.5 \
               src/unicode_tables/property_bool.rs (ucd-generate, crates.io)",
        change: Change::NewFile {
            pkg: krate(
                "regex-syntax",
                "0.8.5",
                "https://static.crates.io/crates/regex-syntax/regex-syntax-0.8.5.crate",
                "2b15c43186be67a4fd63bee50d0303afffcef381492ebe2c5d87f324e1b8815c",
            ),
            path: "src/unicode_tables/property_bool.rs",
        },
    },
];

/// `target/bench`, created.
pub fn bench_dir(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The pinned delta: `/usr/bin/delta` when it is that version, else
/// `cargo install git-delta --locked` into `target/bench/tools` (once).
pub fn ensure_delta(dir: &Path) -> Result<PathBuf> {
    let want = format!("delta {DELTA_VERSION}");
    let is_pinned = |p: &Path| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == want)
    };
    for p in [dir.join("tools/bin/delta"), PathBuf::from("/usr/bin/delta")] {
        if is_pinned(&p) {
            return Ok(p);
        }
    }
    // Debian bookworm has no git-delta (trixie has 0.18.2, not the pinned
    // bat 0.26 one), so build it; its own lock file, its own target dir.
    eprintln!("installing delta {DELTA_VERSION} into {}", dir.display());
    let build = dir.join("tools-build");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "install",
            "git-delta",
            "--version",
            DELTA_VERSION,
            "--locked",
        ])
        .arg("--root")
        .arg(dir.join("tools"))
        .env("CARGO_TARGET_DIR", &build)
        .status()?;
    if !status.success() {
        bail!("cargo install git-delta {DELTA_VERSION} failed with {status}");
    }
    let _ = std::fs::remove_dir_all(&build);
    let p = dir.join("tools/bin/delta");
    if !is_pinned(&p) {
        bail!("{} is not {want}", p.display());
    }
    Ok(p)
}

/// Downloads (once), checks the SHA-256 and unpacks (once) a release.
fn unpack(dir: &Path, pkg: &Pkg) -> Result<PathBuf> {
    let dl = dir.join("downloads");
    let src = dir.join("src");
    std::fs::create_dir_all(&dl)?;
    std::fs::create_dir_all(&src)?;
    let file = dl.join(pkg.file_name());
    let tree = src.join(pkg.dir_name());
    if tree.join(".unpacked").exists() {
        return Ok(tree);
    }
    if !file.exists() {
        let part = file.with_extension("part");
        output(
            Command::new("curl")
                .args(["-sSfL", "--retry", "3", "-o"])
                .arg(&part)
                .arg(pkg.url),
        )
        .with_context(|| format!("downloading {}", pkg.url))?;
        std::fs::rename(&part, &file)?;
    }
    let sum = output(Command::new("sha256sum").arg(&file))?;
    if sum.split_whitespace().next() != Some(pkg.sha256) {
        let _ = std::fs::remove_file(&file);
        bail!(
            "{} has SHA-256 {}, expected {}",
            file.display(),
            sum.trim(),
            pkg.sha256
        );
    }
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(&tree)?;
    output(
        Command::new("tar")
            .args(["xzf"])
            .arg(&file)
            .arg("-C")
            .arg(&tree)
            .arg("--strip-components=1"),
    )?;
    std::fs::write(tree.join(".unpacked"), "")?;
    Ok(tree)
}

/// `git diff --no-index` (exit 1 means "differs").
fn git_diff(cwd: &Path, old: &str, new: &str) -> Result<String> {
    let out = Command::new("git")
        .current_dir(cwd)
        .args([
            "-c",
            "core.quotepath=off",
            "diff",
            "--no-index",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--",
            old,
            new,
        ])
        .output()?;
    match out.status.code() {
        Some(0 | 1) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => bail!(
            "git diff --no-index {old} {new} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Header paths `a/<old>/x` and `b/<new>/x` become `a/x` and `b/x`, as in a
/// repository's diff.
fn strip_roots(diff: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(diff.len());
    let (a, b) = (format!("a/{old}/"), format!("b/{new}/"));
    for line in diff.split_inclusive('\n') {
        if line.starts_with("diff --git ") || line.starts_with("--- ") || line.starts_with("+++ ") {
            out.push_str(&line.replacen(&a, "a/", 1).replacen(&b, "b/", 1));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Builds (once) the unified diff of every input; returns (name, path).
pub fn prepare_inputs(dir: &Path) -> Result<Vec<(&'static str, PathBuf)>> {
    INPUTS
        .iter()
        .map(|input| Ok((input.name, prepare(dir, input)?)))
        .collect()
}

/// Builds (once) the unified diff of the input called `name`; returns its path.
pub fn prepare_input(dir: &Path, name: &str) -> Result<PathBuf> {
    let input = INPUTS
        .iter()
        .find(|i| i.name == name)
        .with_context(|| format!("no bench input called {name}"))?;
    prepare(dir, input)
}

/// `input`'s unified diff under `dir/diffs`, written on first use.
fn prepare(dir: &Path, input: &Input) -> Result<PathBuf> {
    let diffs = dir.join("diffs");
    std::fs::create_dir_all(&diffs)?;
    let src = dir.join("src");
    let path = diffs.join(format!("{}.diff", input.name));
    if !path.exists() {
        let text = match &input.change {
            Change::Releases { old, new, subdir } => {
                unpack(dir, old)?;
                unpack(dir, new)?;
                let (o, n) = match subdir {
                    Some(s) => (
                        format!("{}/{s}", old.dir_name()),
                        format!("{}/{s}", new.dir_name()),
                    ),
                    None => (old.dir_name(), new.dir_name()),
                };
                strip_roots(&git_diff(&src, &o, &n)?, &o, &n)
            }
            Change::NewFile { pkg, path } => {
                unpack(dir, pkg)?;
                let n = pkg.dir_name();
                let text = git_diff(&src, "/dev/null", &format!("{n}/{path}"))?;
                strip_roots(&text, &n, &n)
            }
        };
        if text.is_empty() {
            bail!("input {} has an empty diff", input.name);
        }
        std::fs::write(&path, text)?;
    }
    Ok(path)
}
