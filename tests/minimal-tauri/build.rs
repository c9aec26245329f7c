//! Build script: Tauri's build step (no commands, no permissions).

fn main() {
    tauri_build::build();
}
