//! issue 18: what the tray / menu-bar icon says about sync, decided here so
//! the shell only displays it.

use crate::SyncState;

/// The tray's status line and tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayStatus {
    /// Short, next to the icon where the desktop shows one (e.g. "2").
    pub title: String,
    /// One line for the tooltip and the menu's status entry.
    pub line: String,
}

/// The tray's words for a sync state: signed out, syncing, offline or
/// online, with the uploads waiting and any refused for good.
pub fn tray_status(state: &SyncState) -> TrayStatus {
    let pending = state.pending_uploads;
    let uploads = |n: u32| {
        if n == 1 {
            "1 grade waiting to upload".to_string()
        } else {
            format!("{n} grades waiting to upload")
        }
    };
    let mut line = if !state.signed_in {
        "Assay: signed out".to_string()
    } else if state.syncing {
        format!("Assay: syncing · {}", uploads(pending))
    } else if !state.online {
        format!("Assay: offline · {}", uploads(pending))
    } else if pending == 0 {
        "Assay: online · everything uploaded".to_string()
    } else {
        format!("Assay: online · {}", uploads(pending))
    };
    if state.failed_uploads > 0 {
        line.push_str(&format!(" · {} refused", state.failed_uploads));
    }
    let title = if pending > 0 {
        pending.to_string()
    } else {
        String::new()
    };
    TrayStatus { title, line }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(signed_in: bool, online: bool, syncing: bool, pending: u32) -> SyncState {
        SyncState {
            signed_in,
            online,
            syncing,
            pending_uploads: pending,
            failed_uploads: 0,
            orphaned_drafts: 0,
            attachments_missing: 0,
            last_attempt_at: None,
            last_sync_at: None,
            last_error: None,
            expiring_leases: vec![],
            quarantined: vec![],
            data_version: 0,
        }
    }

    #[test]
    fn says_sync_state_and_pending_count() {
        assert_eq!(
            tray_status(&state(false, false, false, 0)).line,
            "Assay: signed out"
        );
        assert_eq!(
            tray_status(&state(true, true, false, 0)),
            TrayStatus {
                title: String::new(),
                line: "Assay: online · everything uploaded".into()
            }
        );
        assert_eq!(
            tray_status(&state(true, false, false, 3)),
            TrayStatus {
                title: "3".into(),
                line: "Assay: offline · 3 grades waiting to upload".into()
            }
        );
        assert_eq!(
            tray_status(&state(true, true, true, 1)).line,
            "Assay: syncing · 1 grade waiting to upload"
        );
        let mut refused = state(true, true, false, 0);
        refused.failed_uploads = 2;
        assert!(tray_status(&refused).line.ends_with("· 2 refused"));
    }
}
