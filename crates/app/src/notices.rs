//! issue 18: when to show a native notification, decided here as a pure
//! function; the shell only shows what [`decide`] returns. Two kinds: new
//! work assigned, and leases on work in progress about to run out. Each kind
//! is shown at most once per `Settings.notify_interval_s`; what arrives in
//! between is counted and shown together in the next one. With
//! `Settings.notifications` off nothing is shown (and nothing piles up to
//! burst out when turned back on).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasher, RandomState};

use chrono::{DateTime, Utc};

/// The kinds of notification, each rate-limited on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeKind {
    /// Assignments that arrived and wait untouched.
    NewWork,
    /// Leases that run out soon and were not renewed (the sync engine renews
    /// only those of the item open with work in it).
    LeaseExpiring,
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Which rate limit the notice counts against.
    pub kind: NoticeKind,
    /// Notification title.
    pub title: String,
    /// Notification body (counts what arrived since the last one of this kind).
    pub body: String,
}

/// What the app sees after a sync: assignments waiting untouched (`new`)
/// and those whose lease runs out soon without being renewed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// Ids of assignments waiting untouched (status `new`).
    pub new_assignments: BTreeSet<String>,
    /// Ids of assignments whose lease runs out soon and was not renewed.
    pub expiring_leases: BTreeSet<String>,
}

/// The person's choice (from `Settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeSettings {
    /// Notifications are on (`Settings.notifications`).
    pub enabled: bool,
    /// Fewest time between two notices of one kind (`Settings.notify_interval_s`).
    pub min_interval: chrono::Duration,
}

/// What [`decide`] remembers between observations (memory only: a restart
/// starts from what is there then, so it never announces old work).
#[derive(Debug, Default)]
pub struct NoticeState {
    baseline_taken: bool,
    /// Per kind, the ids seen, each as a 64-bit hash keyed per process
    /// ([`NoticeState::keys`]): 8 bytes an id rather than its string (as a
    /// `BTreeSet<String>`, the 10,000 assignments of the start-up bench
    /// stayed resident as about 640 KB of heap). Two ids with the same hash
    /// count as one, so a notice would count one assignment fewer: a chance
    /// of about n²/2⁶⁵ for n ids, under 10⁻¹⁰ at [`MAX_SEEN`].
    seen: BTreeMap<NoticeKind, HashSet<u64>>,
    /// The key of [`NoticeState::seen`]'s hashes (random per process).
    keys: RandomState,
    /// Counted but not yet shown (held back by the rate limit).
    waiting: BTreeMap<NoticeKind, u32>,
    last_shown: BTreeMap<NoticeKind, DateTime<Utc>>,
}

/// Most ids remembered per kind (older ones are forgotten; a forgotten id
/// that comes back would be announced again, which is harmless).
const MAX_SEEN: usize = 50_000;

/// The notifications to show now for `obs`, updating `state`. The first
/// observation is the baseline: work already there at start is not "new".
pub fn decide(
    state: &mut NoticeState,
    obs: &Observation,
    settings: NoticeSettings,
    now: DateTime<Utc>,
) -> Vec<Notice> {
    let mut out = Vec::new();
    for (kind, ids) in [
        (NoticeKind::NewWork, &obs.new_assignments),
        (NoticeKind::LeaseExpiring, &obs.expiring_leases),
    ] {
        let keys = &state.keys;
        let ids: HashSet<u64> = ids.iter().map(|id| keys.hash_one(id)).collect();
        let seen = state.seen.entry(kind).or_default();
        let fresh = ids.difference(seen).count();
        seen.extend(&ids);
        if seen.len() > MAX_SEEN {
            seen.clone_from(&ids);
        }
        if kind == NoticeKind::LeaseExpiring {
            // A lease that is no longer expiring (renewed, submitted) may
            // expire again later and deserves a new warning.
            seen.retain(|id| ids.contains(id));
        }
        if !state.baseline_taken || !settings.enabled {
            state.waiting.remove(&kind);
            continue;
        }
        let waiting = state.waiting.entry(kind).or_default();
        *waiting = waiting.saturating_add(u32::try_from(fresh).unwrap_or(u32::MAX));
        if *waiting == 0 {
            continue;
        }
        let allowed = state
            .last_shown
            .get(&kind)
            .is_none_or(|last| now.signed_duration_since(*last) >= settings.min_interval);
        if allowed {
            out.push(words(kind, *waiting));
            *waiting = 0;
            state.last_shown.insert(kind, now);
        }
    }
    state.baseline_taken = true;
    out
}

fn words(kind: NoticeKind, n: u32) -> Notice {
    let (title, body) = match kind {
        NoticeKind::NewWork => (
            "New work in Assay".to_string(),
            if n == 1 {
                "1 new assignment is waiting.".to_string()
            } else {
                format!("{n} new assignments are waiting.")
            },
        ),
        NoticeKind::LeaseExpiring => (
            "A lease is about to expire".to_string(),
            if n == 1 {
                "The lease on 1 assignment runs out soon: submit it or it goes back to the pool."
                    .to_string()
            } else {
                format!("The leases on {n} assignments run out soon: submit them or they go back to the pool.")
            },
        ),
    };
    Notice { kind, title, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(ToString::to_string).collect()
    }

    fn obs(new: &[&str], expiring: &[&str]) -> Observation {
        Observation {
            new_assignments: ids(new),
            expiring_leases: ids(expiring),
        }
    }

    const ON: NoticeSettings = NoticeSettings {
        enabled: true,
        min_interval: Duration::minutes(10),
    };

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn work_there_at_start_is_not_announced_new_work_is() {
        let mut s = NoticeState::default();
        assert!(decide(&mut s, &obs(&["a", "b"], &[]), ON, t(0)).is_empty());
        let shown = decide(&mut s, &obs(&["a", "b", "c"], &[]), ON, t(1));
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].kind, NoticeKind::NewWork);
        assert_eq!(shown[0].body, "1 new assignment is waiting.");
        // The same set again: nothing new.
        assert!(decide(&mut s, &obs(&["a", "b", "c"], &[]), ON, t(30)).is_empty());
    }

    #[test]
    fn rate_limited_per_kind_and_coalesced() {
        let mut s = NoticeState::default();
        decide(&mut s, &obs(&[], &[]), ON, t(0));
        assert_eq!(decide(&mut s, &obs(&["a"], &[]), ON, t(1)).len(), 1);
        // Within ten minutes: counted, not shown.
        assert!(decide(&mut s, &obs(&["a", "b"], &[]), ON, t(3)).is_empty());
        assert!(decide(&mut s, &obs(&["a", "b", "c", "d"], &[]), ON, t(8)).is_empty());
        // The other kind has its own limit.
        let lease = decide(&mut s, &obs(&["a", "b", "c", "d"], &["a"]), ON, t(9));
        assert_eq!(lease.len(), 1);
        assert_eq!(lease[0].kind, NoticeKind::LeaseExpiring);
        // Ten minutes after the last: one notice with the three held back.
        let shown = decide(&mut s, &obs(&["a", "b", "c", "d"], &["a"]), ON, t(11));
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].body, "3 new assignments are waiting.");
        assert!(decide(&mut s, &obs(&["a", "b", "c", "d"], &["a"]), ON, t(30)).is_empty());
    }

    #[test]
    fn turned_off_shows_nothing_and_does_not_burst_when_turned_on() {
        let off = NoticeSettings {
            enabled: false,
            ..ON
        };
        let mut s = NoticeState::default();
        decide(&mut s, &obs(&[], &[]), off, t(0));
        assert!(decide(&mut s, &obs(&["a", "b"], &["a"]), off, t(20)).is_empty());
        assert!(decide(&mut s, &obs(&["a", "b"], &["a"]), ON, t(40)).is_empty());
        let shown = decide(&mut s, &obs(&["a", "b", "c"], &["a"]), ON, t(41));
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].body, "1 new assignment is waiting.");
    }

    #[test]
    fn past_the_bound_the_current_ids_are_kept_and_not_announced_again() {
        let mut s = NoticeState::default();
        decide(&mut s, &obs(&[], &[]), ON, t(0));
        let mut many = Observation {
            new_assignments: (0..MAX_SEEN).map(|i| format!("a-{i:05}")).collect(),
            expiring_leases: BTreeSet::new(),
        };
        let shown = decide(&mut s, &many, ON, t(1));
        assert_eq!(
            shown[0].body,
            format!("{MAX_SEEN} new assignments are waiting.")
        );
        // One more id takes what is remembered past the bound: it is then
        // the current observation alone, so only the new id is announced.
        many.new_assignments.insert("b".to_string());
        let shown = decide(&mut s, &many, ON, t(20));
        assert_eq!(shown[0].body, "1 new assignment is waiting.");
        assert_eq!(s.seen[&NoticeKind::NewWork].len(), MAX_SEEN + 1);
        assert!(decide(&mut s, &many, ON, t(40)).is_empty());
        many.new_assignments.remove("a-00000");
        assert!(decide(&mut s, &many, ON, t(60)).is_empty());
    }

    #[test]
    fn a_lease_that_expires_again_is_warned_again() {
        let mut s = NoticeState::default();
        decide(&mut s, &obs(&[], &[]), ON, t(0));
        assert_eq!(decide(&mut s, &obs(&[], &["x"]), ON, t(1)).len(), 1);
        // Renewed: gone from the list, then expiring again hours later.
        assert!(decide(&mut s, &obs(&[], &[]), ON, t(60)).is_empty());
        let again = decide(&mut s, &obs(&[], &["x", "y"]), ON, t(300));
        assert_eq!(again.len(), 1);
        assert!(
            again[0].body.starts_with("The leases on 2 assignments"),
            "{}",
            again[0].body
        );
    }
}
