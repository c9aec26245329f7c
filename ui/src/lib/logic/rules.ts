// Rust's rules as the UI applies them for display (what to disable, what to
// list as missing). The numbers and lists come from Rust (`RULES`, generated
// from crates/app/src/rules.rs); Rust enforces the same rules again when the
// command arrives, so this only decides what the UI shows first.
import { RULES, type QueueStatus, type ReviewDecision } from "../bindings";

/** Statuses in which the reviewer may still change and submit the work. */
export const EDITABLE: ReadonlySet<QueueStatus> = new Set<QueueStatus>(RULES.editable_statuses);

/** Statuses a platform decision moves submitted work into. */
export const DECIDED: ReadonlySet<QueueStatus> = new Set<QueueStatus>(RULES.decided_statuses);

/** Statuses of work that left the reviewer's hands (opened read-only, as submitted). */
export const FINISHED: ReadonlySet<QueueStatus> = new Set<QueueStatus>(RULES.finished_statuses);

/**
 * Why a review decision cannot be sent as written, or null. Counts like
 * Rust (`str::trim`, then Unicode scalar values), not UTF-16 units.
 */
export function reviewFeedbackProblem(
  decision: ReviewDecision | null,
  feedback: string,
): string | null {
  if (!decision || decision === "accept") return null;
  const n = [...feedback.trim()].length;
  const min = RULES.review_feedback_min_chars;
  return n < min ? `Write feedback (at least ${min} characters) for the expert` : null;
}

/** Bounds of the number settings, for the settings form. */
export const SETTING_BOUNDS = {
  idle_timeout_s: RULES.idle_timeout_s,
  focus_grace_s: RULES.focus_grace_s,
  notify_interval_s: RULES.notify_interval_s,
} as const;
