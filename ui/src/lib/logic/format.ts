import type { AssignmentKind } from "../bindings";
import type { QueueStatus } from "../bindings";

// Formatting helpers (locale-stable so tests are deterministic).
/** A whole number with thousands separators: `10000` → "10,000".
 *  Written out rather than `toLocaleString`, which loads ICU's number
 *  formatting into the web process (its code and data) for this alone,
 *  on the way to the queue's first row. */
export function grouped(n: number): string {
  const sign = n < 0 ? "-" : "";
  return (
    sign +
    Math.abs(Math.trunc(n))
      .toString()
      .replace(/\B(?=(\d{3})+(?!\d))/g, ",")
  );
}

export function money(cents: number, currency: string): string {
  const sign = cents < 0 ? "−" : "";
  const abs = Math.abs(Math.round(cents));
  const whole = grouped(Math.floor(abs / 100));
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

/** A span in words, for sentences: "15 minutes", "1 hour", "1 hour 30 minutes". */
export function spanInWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const parts = [
    [Math.floor(s / 3600), "hour"],
    [Math.floor((s % 3600) / 60), "minute"],
    [s % 60, "second"],
  ] as const;
  const words = parts
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}${n === 1 ? "" : "s"}`);
  return words.length > 0 ? words.join(" ") : "0 seconds";
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
  // The reviewer's wall-clock time, to the minute.
  return localStamp(iso).slice(0, 16);
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

/** "Due in 3h 10m" / "Overdue 5m"; "Lease 2d 4h" / "Lease expired 5m ago". */
export function deadline(kind: "due" | "lease", iso: string, now: number): string {
  const c = countdown(iso, now);
  if (c === "—") return kind === "due" ? "No due date" : "No lease";
  const over = c.startsWith("overdue ");
  const t = over ? c.slice(8) : c;
  if (kind === "due") return over ? `Overdue ${t}` : `Due in ${t}`;
  return over ? `Lease expired ${t} ago` : `Lease ${t} left`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** An instant as the reviewer's wall-clock time: `2026-11-24 09:30:05`. */
export function localStamp(iso: string): string {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Reads a wall-clock `YYYY-MM-DD HH:MM[:SS]` in the reviewer's time zone
 *  (or an explicit ISO instant ending in `Z`/offset). NaN when unreadable. */
export function parseLocalStamp(s: string): number {
  const t = s.trim();
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(t)) return Date.parse(t.replace(" ", "T"));
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (!m) return NaN;
  const [y, mo, d, h, mi, sec] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const date = new Date(y, mo - 1, d, h, mi, sec);
  // Reject impossible dates (Feb 30 rolls over) and times skipped by DST.
  if (
    date.getFullYear() !== y ||
    date.getMonth() !== mo - 1 ||
    date.getDate() !== d ||
    date.getHours() !== h ||
    date.getMinutes() !== mi
  )
    return NaN;
  return date.getTime();
}

/** The reviewer's time zone name, e.g. `Europe/Berlin`. */
export function timeZoneName(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
}

/**
 * A message's first clause, for one line of a crowded bar: up to the first
 * " (" or "; " (the technical detail after it is shown on request).
 * `rest` is empty when the whole message fits in the headline.
 */
export function headline(message: string): { head: string; rest: boolean } {
  const cut = [" (", "; "].map((s) => message.indexOf(s)).filter((i) => i >= 12);
  if (cut.length === 0) return { head: message, rest: false };
  return { head: message.slice(0, Math.min(...cut)), rest: true };
}

/** Parts joined with " · ", empty ones left out. */
export function dotted(parts: (string | null | false | undefined)[]): string {
  return parts.filter((p): p is string => typeof p === "string" && p !== "").join(" · ");
}
