// Included by build.rs as well (`include!`), so this file holds only the list.

/// Every command the shell registers; `build.rs` gives each its own
/// permission (`allow-<name>`) and `capabilities/default.json` lists the
/// ones the main window may call.
#[allow(dead_code)]
pub const COMMANDS: &[&str] = &[
    "app_info",
    "session",
    "sign_in",
    "sign_out",
    "queue_page",
    "open_item",
    "item_status",
    "save_draft",
    "validate",
    "submit",
    "review_decision",
    "time_log",
    "record_time",
    "record_waiting",
    "correct_time_log",
    "sync_status",
    "sync_now",
    "earnings_summary",
    "earnings_series",
    "payouts",
    "discrepancies",
    "export_earnings_csv",
    "diff_rows",
    "scan_frame",
    "scan_pixel",
    "preview_choose_rubric",
    "preview_choose_samples",
    "preview_open",
    "preview_item",
    "preview_validate",
    "settings",
    "save_settings",
    // issue 18
    "take_links",
    "sign_in_with_code",
];
