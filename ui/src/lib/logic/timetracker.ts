// Active time on an item. A span runs while the reviewer works; it closes
// (without counting the idle part) when there is no input for `idleMs`, when
// the window stays unfocused longer than `focusGraceMs`, when the page is
// hidden, or when the machine slept (a timer tick arrives far too late).
// Any input afterwards opens a new span. Closed spans go to `onSpan`.
import type { TimeSpan } from "../bindings/TimeSpan";

export type TrackerOptions = {
  idleMs: number;
  focusGraceMs: number;
  onSpan: (span: TimeSpan) => void;
  onChange?: (state: TrackerState) => void;
  now?: () => number;
  tickMs?: number;
};

export type TrackerState = "running" | "paused" | "stopped";

export class TimeTracker {
  private opts: Required<Omit<TrackerOptions, "onChange">> & { onChange?: (s: TrackerState) => void };
  private spanStart: number | null = null;
  private lastActivity = 0;
  private lastTick = 0;
  private blurredAt: number | null = null;
  private closedMs = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private _state: TrackerState = "stopped";

  constructor(opts: TrackerOptions) {
    this.opts = { now: () => Date.now(), tickMs: 1000, ...opts };
  }

  get state(): TrackerState {
    return this._state;
  }

  /** Start measuring (the item was just opened: that counts as activity). */
  start(): void {
    if (this._state !== "stopped") return;
    const now = this.opts.now();
    this.lastTick = now;
    this.blurredAt = null;
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
    this.open(now);
  }

  /** Reviewer input (key, pointer, scroll). */
  activity(): void {
    if (this._state === "stopped") return;
    const now = this.opts.now();
    this.lastActivity = now;
    if (this._state === "paused" && this.blurredAt === null) this.open(now);
  }

  blur(): void {
    if (this._state === "stopped" || this.blurredAt !== null) return;
    this.blurredAt = this.opts.now();
  }

  focus(): void {
    if (this._state === "stopped") return;
    this.blurredAt = null;
    this.activity();
  }

  /** The page became hidden (minimised, screen locked): pause at once. */
  hidden(): void {
    if (this._state !== "running") return;
    this.close(this.opts.now());
    this.blurredAt = this.opts.now();
  }

  /** Milliseconds of active time so far, including the running span. */
  activeMs(): number {
    const running = this.spanStart === null ? 0 : Math.max(0, this.opts.now() - this.spanStart);
    return this.closedMs + running;
  }

  /** Close the running span now (so it can be saved) and keep measuring. */
  checkpoint(): void {
    if (this._state !== "running") return;
    const now = this.opts.now();
    this.close(now);
    this.open(now);
  }

  /** Stop and flush the running span. */
  stop(): void {
    if (this._state === "stopped") return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this._state === "running") this.close(this.opts.now());
    this.setState("stopped");
  }

  private tick(): void {
    const now = this.opts.now();
    const gap = now - this.lastTick;
    const prevTick = this.lastTick;
    this.lastTick = now;
    if (this._state !== "running") return;
    // Slept: the interval could not fire. Count only up to the last tick.
    if (gap > this.opts.tickMs * 3 + 2000) {
      this.close(Math.max(prevTick, this.spanStart ?? prevTick));
      return;
    }
    if (now - this.lastActivity >= this.opts.idleMs) {
      this.close(Math.max(this.lastActivity, this.spanStart ?? this.lastActivity));
      return;
    }
    if (this.blurredAt !== null && now - this.blurredAt >= this.opts.focusGraceMs) {
      this.close(Math.max(this.blurredAt, this.spanStart ?? this.blurredAt));
    }
  }

  private open(now: number): void {
    this.spanStart = now;
    this.lastActivity = now;
    this.setState("running");
  }

  private close(end: number): void {
    if (this.spanStart === null) return;
    const start = this.spanStart;
    this.spanStart = null;
    this.setState("paused");
    if (end > start) {
      this.closedMs += end - start;
      this.opts.onSpan({
        started_at: new Date(start).toISOString(),
        ended_at: new Date(end).toISOString(),
        corrected: false,
      });
    }
  }

  private setState(s: TrackerState): void {
    if (s === this._state) return;
    this._state = s;
    this.opts.onChange?.(s);
  }
}

/** Seconds covered by spans (overlaps counted once). */
export function spanSeconds(spans: TimeSpan[]): number {
  const iv = spans
    .map((s) => [Date.parse(s.started_at), Date.parse(s.ended_at)] as const)
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curA = -Infinity, curB = -Infinity;
  for (const [a, b] of iv) {
    if (a > curB) {
      if (curB > curA) total += curB - curA;
      curA = a;
      curB = b;
    } else if (b > curB) curB = b;
  }
  if (curB > curA) total += curB - curA;
  return Math.round(total / 1000);
}
