// Each command gets its own permission (`allow-<command>`, `deny-<command>`)
// from the app manifest; `capabilities/default.json` lists what the main
// window may call. With an app manifest Tauri checks every app command
// against the capabilities, so an unlisted command is refused.
include!("src/command_names.rs");

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
