//! Whether the release app is linked in the order of `link-order.txt`
//! (`cargo xtask link-order` writes it; `xtask/src/link_order.rs` says
//! why): the functions a reviewer's launch runs then sit together, so
//! fewer of the binary's pages are mapped into the app (the start-up
//! bench's app process about 9 MiB smaller, `docs/benchmarks.md`).
//!
//! `build.rs` decides with [`decide`]; the crate's unit tests include this
//! file too. Only release builds for x86-64 Linux, whose default linker,
//! rust-lld, takes the list: a name it does not find (the list written for
//! other crate versions) keeps its default place, without a warning. A
//! build that names its own linker (cargo's `linker` setting, seen as
//! `RUSTC_LINKER`, or link flags in `RUSTFLAGS`) links in the default
//! order with a warning, as GNU ld has no `--symbol-ordering-file`.
//! `ASSAY_LINK_ORDER=0` turns it off.

use std::path::Path;

/// How the release app is linked.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkOrder {
    /// In the default order: not a release build for x86-64 Linux, no
    /// list, or `ASSAY_LINK_ORDER=0`.
    Default,
    /// In the default order, and the build says why.
    Warn(&'static str),
    /// With these linker arguments (each passed as `-Wl,<arg>`).
    Args(Vec<String>),
}

/// The decision for the build whose environment `var` reads (unset reads
/// empty), with the list at `list` (`exists`: whether it is a file).
pub fn decide(var: &dyn Fn(&str) -> String, list: &Path, exists: bool) -> LinkOrder {
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || var("ASSAY_LINK_ORDER") == "0"
        || !exists
    {
        return LinkOrder::Default;
    }
    let own_linker = !var("RUSTC_LINKER").is_empty()
        || var("CARGO_ENCODED_RUSTFLAGS")
            .split('\x1f')
            .any(|flag| flag.contains("link"));
    if own_linker {
        return LinkOrder::Warn(
            "this build sets its own linker or link flags: linked in the default order, \
             without src-tauri/link-order.txt (ASSAY_LINK_ORDER=0 silences this)",
        );
    }
    LinkOrder::Args(vec![
        format!("--symbol-ordering-file={}", list.display()),
        "--no-warn-symbol-ordering".to_owned(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide_with(vars: &[(&str, &str)], exists: bool) -> LinkOrder {
        let release = [
            ("PROFILE", "release"),
            ("TARGET", "x86_64-unknown-linux-gnu"),
        ];
        let var = |key: &str| {
            vars.iter()
                .chain(
                    release
                        .iter()
                        .filter(|(k, _)| !vars.iter().any(|(v, _)| v == k)),
                )
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
                .unwrap_or_default()
        };
        decide(&var, Path::new("/src/link-order.txt"), exists)
    }

    #[test]
    fn a_release_build_for_linux_links_in_the_lists_order() {
        assert_eq!(
            decide_with(&[], true),
            LinkOrder::Args(vec![
                "--symbol-ordering-file=/src/link-order.txt".to_owned(),
                "--no-warn-symbol-ordering".to_owned(),
            ])
        );
        // Flags that do not touch linking change nothing.
        assert!(matches!(
            decide_with(&[("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-cpu=native")], true),
            LinkOrder::Args(_)
        ));
    }

    #[test]
    fn other_builds_link_in_the_default_order() {
        assert_eq!(
            decide_with(&[("PROFILE", "debug")], true),
            LinkOrder::Default
        );
        for target in [
            "aarch64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "x86_64-pc-windows-msvc",
        ] {
            assert_eq!(decide_with(&[("TARGET", target)], true), LinkOrder::Default);
        }
        assert_eq!(
            decide_with(&[("ASSAY_LINK_ORDER", "0")], true),
            LinkOrder::Default
        );
        assert_eq!(decide_with(&[], false), LinkOrder::Default);
    }

    #[test]
    fn a_build_with_its_own_linker_says_it_links_in_the_default_order() {
        for vars in [
            [("RUSTC_LINKER", "/usr/bin/ld.bfd")],
            [(
                "CARGO_ENCODED_RUSTFLAGS",
                "-Copt-level=3\x1f-Clink-arg=-fuse-ld=bfd",
            )],
            [("CARGO_ENCODED_RUSTFLAGS", "-Clinker=clang")],
        ] {
            assert!(
                matches!(decide_with(&vars, true), LinkOrder::Warn(_)),
                "{vars:?}"
            );
        }
        // Turned off, it says nothing.
        assert_eq!(
            decide_with(
                &[
                    ("RUSTC_LINKER", "/usr/bin/ld.bfd"),
                    ("ASSAY_LINK_ORDER", "0")
                ],
                true
            ),
            LinkOrder::Default
        );
    }
}
