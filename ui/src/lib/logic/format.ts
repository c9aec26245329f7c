import type { AssignmentKind } from "../bindings/AssignmentKind";
import type { QueueStatus } from "../bindings/QueueStatus";

// Formatting helpers (locale-stable so tests are deterministic).
export function money(cents: number, currency: string): string {
  const sign = cents < 0 ? "−" : "";
  const abs = Math.abs(Math.round(cents));
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = (abs % 100).toString().padStart(2, "0");
  const sym: Record<string, string> = { USD: "$", EUR: "€", GBP: "£" };
  const s = sym[currency];
  return s ? `${sign}${s}${whole}.${frac}` : `${sign}${whole}.${frac} ${currency}`;
}

/** "1h 02m", "4m 05s", "12s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

/** Countdown to an instant: "in 3h 10m", "2d 4h", "overdue 5m". */
export function countdown(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "—";
  const d = Math.round((t - now) / 1000);
  const abs = Math.abs(d);
  const days = Math.floor(abs / 86400);
  const text = days >= 1 ? `${days}d ${Math.floor((abs % 86400) / 3600)}h` : duration(abs);
  return d < 0 ? `overdue ${text}` : text;
}

/** Urgency for colouring a countdown. */
export function urgency(iso: string, now: number): "overdue" | "soon" | "ok" {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "ok";
  if (t < now) return "overdue";
  return t - now < 2 * 3600 * 1000 ? "soon" : "ok";
}

export function shortDate(iso: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toISOString().slice(0, 16).replace("T", " ");
}

export const STATUS_LABELS = {
  new: "New",
  draft: "Draft",
  ready: "Ready to submit",
  in_outbox: "In outbox",
  submitted: "Submitted",
  accepted: "Accepted",
  rejected: "Rejected",
  needs_revision: "Needs revision",
  orphaned: "Orphaned",
  lease_expired: "Lease expired",
  rubric_changed: "Rubric changed",
  submit_failed: "Upload failed",
} as const satisfies Record<QueueStatus, string>;

/** What each kind of assignment is called in the queue and on the item. */
export const KIND_LABELS = {
  grade: "Grading",
  senior_review: "Senior review",
  screening: "Screening · unpaid",
} as const satisfies Record<AssignmentKind, string>;

/** Status label for a row: a screening's outcome is a qualification result. */
export function statusLabel(status: QueueStatus, kind: AssignmentKind): string {
  if (kind === "screening") {
    if (status === "accepted") return "Passed";
    if (status === "rejected") return "Not passed";
  }
  return STATUS_LABELS[status];
}

/** Statuses in which the reviewer may still change and submit the grade. */
export const EDITABLE: ReadonlySet<QueueStatus> = new Set<QueueStatus>(["new", "draft", "ready", "needs_revision", "rubric_changed", "submit_failed"]);

/** "Due in 3h 10m" / "Overdue 5m"; "Lease 2d 4h" / "Lease expired 5m ago". */
export function deadline(kind: "due" | "lease", iso: string, now: number): string {
  const c = countdown(iso, now);
  if (c === "—") return kind === "due" ? "No due date" : "No lease";
  const over = c.startsWith("overdue ");
  const t = over ? c.slice(8) : c;
  if (kind === "due") return over ? `Overdue ${t}` : `Due in ${t}`;
  return over ? `Lease expired ${t} ago` : `Lease ${t} left`;
}
