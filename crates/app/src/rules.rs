//! Rules the UI shows and Rust enforces, decided here once. They reach the
//! UI as data: `src-tauri` generates [`rules()`] into the UI's contract
//! module as `RULES`, so the UI never keeps its own copy of a number or a
//! list that Rust checks.

use assay_protocol::ReviewDecision;
use assay_store::QueueStatus;
use serde::Serialize;
use ts_rs::TS;

use crate::types::Settings;

/// Fewest characters (Unicode scalar values, after trimming whitespace) of
/// feedback a senior reviewer writes to reject work or send it back.
pub const REVIEW_FEEDBACK_MIN_CHARS: u32 = 10;

/// Seconds without input before the time tracker pauses.
pub const IDLE_TIMEOUT_S: Bounds = Bounds { min: 10, max: None };

/// Seconds the window may be unfocused before the time tracker pauses.
pub const FOCUS_GRACE_S: Bounds = Bounds {
    min: 0,
    max: Some(3600),
};

/// Seconds between two notifications of one kind (issue 18).
pub const NOTIFY_INTERVAL_S: Bounds = Bounds {
    min: 60,
    max: Some(86_400),
};

/// Inclusive bounds of a number setting (`max: None`: no upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Bounds {
    /// Smallest value allowed.
    pub min: u32,
    /// Largest value allowed; `None` for no upper bound.
    pub max: Option<u32>,
}

impl Bounds {
    /// Whether `v` is within the bounds (both ends included).
    pub fn contains(self, v: u32) -> bool {
        v >= self.min && self.max.is_none_or(|m| v <= m)
    }

    fn describe(self, what: &str) -> String {
        match self.max {
            Some(max) => format!("{what} must be from {} to {max} s", self.min),
            None => format!("{what} must be at least {} s", self.min),
        }
    }
}

/// The rules as data for the UI (`RULES` in the generated contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Rules {
    /// Statuses in which the reviewer may still change and submit the work
    /// ([`QueueStatus::editable`]).
    pub editable_statuses: Vec<QueueStatus>,
    /// Statuses that become `lease_expired` once the assignment's lease has
    /// run out, the draft kept ([`QueueStatus::LAPSABLE`]).
    pub lapsable_statuses: Vec<QueueStatus>,
    /// Statuses a platform decision moves submitted work into (the UI opens
    /// the item again when one arrives; [`QueueStatus::DECIDED`]).
    pub decided_statuses: Vec<QueueStatus>,
    /// Statuses of work that left the reviewer's hands, opened read-only as
    /// submitted ([`QueueStatus::FINISHED`]).
    pub finished_statuses: Vec<QueueStatus>,
    /// Leases ending within this many seconds are reported as about to
    /// expire (`SyncState.expiring_leases`; [`assay_sync::LEASE_WARN_BEFORE`]).
    pub lease_warn_before_s: u32,
    /// Fewest characters of feedback (trimmed, counted as Unicode scalar
    /// values) needed to reject work or request a revision.
    pub review_feedback_min_chars: u32,
    /// Bounds of `Settings.idle_timeout_s`.
    pub idle_timeout_s: Bounds,
    /// Bounds of `Settings.focus_grace_s`.
    pub focus_grace_s: Bounds,
    /// Bounds of `Settings.notify_interval_s`.
    pub notify_interval_s: Bounds,
    /// A time span (active or waiting, recorded or corrected) must be
    /// shorter than this many seconds.
    pub time_span_max_s: u32,
}

/// The rules, as [`Workbench`](crate::Workbench) enforces them.
pub fn rules() -> Rules {
    Rules {
        editable_statuses: QueueStatus::ALL
            .into_iter()
            .filter(|s| s.editable())
            .collect(),
        lapsable_statuses: QueueStatus::LAPSABLE.to_vec(),
        decided_statuses: QueueStatus::DECIDED.to_vec(),
        finished_statuses: QueueStatus::FINISHED.to_vec(),
        lease_warn_before_s: u32::try_from(assay_sync::LEASE_WARN_BEFORE.as_secs())
            .unwrap_or(u32::MAX),
        review_feedback_min_chars: REVIEW_FEEDBACK_MIN_CHARS,
        idle_timeout_s: IDLE_TIMEOUT_S,
        focus_grace_s: FOCUS_GRACE_S,
        notify_interval_s: NOTIFY_INTERVAL_S,
        time_span_max_s: u32::try_from(assay_store::MAX_TIME_SPAN_S).unwrap_or(u32::MAX),
    }
}

/// Why a review decision cannot be sent as written, or `None` when it can:
/// rejecting or requesting a revision needs feedback of at least
/// [`REVIEW_FEEDBACK_MIN_CHARS`] characters.
pub fn review_feedback_problem(decision: ReviewDecision, feedback: Option<&str>) -> Option<String> {
    if decision == ReviewDecision::Accept {
        return None;
    }
    let n = feedback.map_or(0, |f| f.trim().chars().count());
    let min = REVIEW_FEEDBACK_MIN_CHARS as usize;
    (n < min).then(|| {
        format!(
            "Explain what must change: rejecting or requesting a revision needs feedback of at least {min} characters ({n} so far)."
        )
    })
}

/// Why these settings cannot be saved, or `None` when they can.
pub fn settings_problem(s: &Settings) -> Option<String> {
    let mut problems = Vec::new();
    if !IDLE_TIMEOUT_S.contains(s.idle_timeout_s) {
        problems.push(IDLE_TIMEOUT_S.describe("The idle timeout"));
    }
    if !FOCUS_GRACE_S.contains(s.focus_grace_s) {
        problems.push(FOCUS_GRACE_S.describe("The focus grace"));
    }
    if !NOTIFY_INTERVAL_S.contains(s.notify_interval_s) {
        problems.push(NOTIFY_INTERVAL_S.describe("The time between notifications"));
    }
    (!problems.is_empty()).then(|| format!("{}.", problems.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_span_bound_is_the_stores() {
        assert_eq!(
            i64::from(rules().time_span_max_s),
            assay_store::MAX_TIME_SPAN_S
        );
        assert_eq!(rules().time_span_max_s, 12 * 3600);
    }

    #[test]
    fn status_lists_are_the_stores_rules() {
        let r = rules();
        for s in QueueStatus::ALL {
            assert_eq!(r.editable_statuses.contains(&s), s.editable(), "{s:?}");
            assert_eq!(r.lapsable_statuses.contains(&s), s.lapses(), "{s:?}");
            assert_eq!(r.decided_statuses.contains(&s), s.decided(), "{s:?}");
            assert_eq!(r.finished_statuses.contains(&s), s.finished(), "{s:?}");
        }
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["editable_statuses"],
            serde_json::json!([
                "new",
                "draft",
                "ready",
                "needs_revision",
                "rubric_changed",
                "submit_failed"
            ])
        );
        assert_eq!(
            json["lapsable_statuses"],
            serde_json::json!(["new", "draft", "ready", "needs_revision"])
        );
        assert_eq!(
            json["decided_statuses"],
            serde_json::json!(["needs_revision", "accepted", "rejected"])
        );
        assert_eq!(
            json["finished_statuses"],
            serde_json::json!(["in_outbox", "submitted", "accepted", "rejected"])
        );
    }

    #[test]
    fn the_lease_warning_window_is_the_sync_engines() {
        let r = rules();
        assert_eq!(
            std::time::Duration::from_secs(r.lease_warn_before_s.into()),
            assay_sync::SyncConfig::default().lease_warn_before
        );
        assert_eq!(r.lease_warn_before_s, 15 * 60);
    }

    #[test]
    fn all_statuses_are_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for s in QueueStatus::ALL {
            // A new variant fails to compile here until it is listed in ALL.
            match s {
                QueueStatus::New
                | QueueStatus::Draft
                | QueueStatus::Ready
                | QueueStatus::InOutbox
                | QueueStatus::Submitted
                | QueueStatus::Accepted
                | QueueStatus::Rejected
                | QueueStatus::NeedsRevision
                | QueueStatus::Orphaned
                | QueueStatus::LeaseExpired
                | QueueStatus::RubricChanged
                | QueueStatus::SubmitFailed => assert!(seen.insert(s), "{s:?} twice"),
            }
        }
        assert_eq!(seen.len(), 12);
    }

    #[test]
    fn review_feedback_needs_the_minimum_after_trimming() {
        use ReviewDecision::*;
        assert_eq!(review_feedback_problem(Accept, None), None);
        for d in [Reject, RequestRevision] {
            assert!(review_feedback_problem(d, None).is_some());
            assert!(review_feedback_problem(d, Some("   ")).is_some());
            let short = review_feedback_problem(d, Some("  too short ")).unwrap();
            assert!(short.contains("at least 10"), "{short}");
            assert!(short.contains("9 so far"), "{short}");
            assert_eq!(review_feedback_problem(d, Some("  ten chars! ")), None);
            // Counted as characters, not bytes or UTF-16 units.
            assert!(review_feedback_problem(d, Some("ééééééééé")).is_some());
            assert_eq!(review_feedback_problem(d, Some("éééééééééé")), None);
        }
    }

    #[test]
    fn settings_bounds_name_the_problem() {
        let ok = Settings::default();
        assert_eq!(settings_problem(&ok), None);
        let low = Settings {
            idle_timeout_s: 9,
            ..ok.clone()
        };
        assert!(settings_problem(&low).unwrap().contains("at least 10"));
        let edge = Settings {
            idle_timeout_s: 10,
            focus_grace_s: 3600,
            ..ok.clone()
        };
        assert_eq!(settings_problem(&edge), None);
        let grace = Settings {
            focus_grace_s: 3601,
            ..ok
        };
        assert!(settings_problem(&grace).unwrap().contains("from 0 to 3600"));
        let often = Settings {
            notify_interval_s: 59,
            ..Settings::default()
        };
        assert!(settings_problem(&often)
            .unwrap()
            .contains("between notifications must be from 60 to 86400 s"));
        let off = Settings {
            notifications: false,
            notify_interval_s: 86_400,
            ..Settings::default()
        };
        assert_eq!(settings_problem(&off), None);
    }
}
