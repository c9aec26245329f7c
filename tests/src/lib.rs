//! Helpers for end-to-end tests: a minimal W3C WebDriver client for tauri-driver.
