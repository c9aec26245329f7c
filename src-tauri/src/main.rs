//! The Assay desktop app: starts the Tauri shell (`assay_desktop::run`).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> anyhow::Result<()> {
    assay_store::heap::tune_allocator();
    assay_desktop::run()
}
