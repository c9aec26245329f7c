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
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
