//! The smallest Tauri app: one window showing a static page, nothing else.
//! `tests/tests/startup.rs` measures it beside Assay (same Tauri, same
//! `WebKitGTK`, same machine and run) as the anchor of start-up and memory.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("the minimal Tauri app could not start: {e}");
        std::process::exit(1);
    }
}
