// Starting values the UI and the mock backend share.
import type { Settings, SyncState } from "../bindings";

/** The settings the app shows until the backend has answered (and the mock's first settings). */
export const DEFAULT_SETTINGS: Readonly<Settings> = {
  theme: "system",
  keymap: {},
  idle_timeout_s: 120,
  focus_grace_s: 30,
  notifications: true,
  notify_interval_s: 600,
  diff_mode: "unified",
};

/** A sync state with nothing going on: signed in, online, nothing pending, failed or held back, never synced. */
export const IDLE_SYNC: Readonly<SyncState> = {
  signed_in: true,
  online: true,
  syncing: false,
  pending_uploads: 0,
  failed_uploads: 0,
  orphaned_drafts: 0,
  attachments_missing: 0,
  last_attempt_at: null,
  last_sync_at: null,
  last_error: null,
  expiring_leases: [],
  quarantined: [],
  data_version: 0,
};
