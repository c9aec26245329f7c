//! Build script: Tauri's build step, with one permission per command of the table.

// Each command gets its own permission (`allow-<command>`, `deny-<command>`)
// from the app manifest; `capabilities/default.json` lists what the main
// window may call. With an app manifest Tauri checks every app command
// against the capabilities, so an unlisted command is refused. The names
// come from the one table of commands (`src/command_table.rs`).

/// Reads only the names out of the table (the crate's own `contract!`
/// defines the commands from it).
macro_rules! contract {
    (
        commands {
            $(
                $(#[doc = $doc:literal])*
                $kind:ident fn $name:ident ( $($args:tt)* ) -> $ret:ty = |$($ctx:ident),+| $body:block
            )*
        }
        events { $($events:tt)* }
    ) => {
        const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}
include!("src/command_table.rs");

#[path = "link_order.rs"]
mod link_order;

fn main() {
    // `cfg(freedesktop)`: the systems whose desktop notifications Assay sends
    // itself over D-Bus (org.freedesktop.Notifications), named once here.
    println!("cargo::rustc-check-cfg=cfg(freedesktop)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "dragonfly" | "freebsd" | "openbsd" | "netbsd"
    ) {
        println!("cargo::rustc-cfg=freedesktop");
    }
    link_order();
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}

/// The release app linked in the order of `link-order.txt`, or not
/// (`link_order.rs` says when and why).
fn link_order() {
    println!("cargo::rerun-if-changed=link-order.txt");
    println!("cargo::rerun-if-env-changed=ASSAY_LINK_ORDER");
    let var = |key: &str| std::env::var(key).unwrap_or_default();
    let list = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("link-order.txt");
    match link_order::decide(&var, &list, list.is_file()) {
        link_order::LinkOrder::Default => {}
        link_order::LinkOrder::Warn(why) => println!("cargo::warning={why}"),
        link_order::LinkOrder::Args(args) => {
            for arg in args {
                println!("cargo::rustc-link-arg-bin=assay-desktop=-Wl,{arg}");
            }
        }
    }
}
