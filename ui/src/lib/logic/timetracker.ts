// Active time on an item. A span runs while the reviewer works; it closes
// (without counting the idle part) when there is no input for `idleMs`, when
// the window stays unfocused longer than `focusGraceMs`, when the page is
// hidden, or when the machine slept (a timer tick arrives far too late).
// Any input afterwards opens a new span. Closed spans go to `onSpan`.
import type { QueueStatus } from "../bindings";
import type { TimeSpan } from "../bindings";
import { EDITABLE } from "./rules";

export type TrackerOptions = {
  idleMs: number;
  focusGraceMs: number;
  onSpan: (span: TimeSpan) => void;
  onChange?: (state: TrackerState) => void;
  now?: () => number;
  tickMs?: number;
};

export type TrackerState = "running" | "paused" | "stopped";

/** A tracker's timer: ticks every `tickMs` and tells when the machine slept. */
class Ticker {
  private timer: ReturnType<typeof setInterval> | null = null;
  private last = 0;
  private readonly tickMs: number;
  private readonly onTick: () => void;

  constructor(tickMs: number, onTick: () => void) {
    this.tickMs = tickMs;
    this.onTick = onTick;
  }

  start(now: number): void {
    this.last = now;
    this.timer = setInterval(this.onTick, this.tickMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Records a tick at `now`; returns the previous tick when the machine
   *  slept since (the interval could not fire), else `null`. */
  sleptSince(now: number): number | null {
    const prev = this.last;
    this.last = now;
    return now - prev > this.tickMs * 3 + 2000 ? prev : null;
  }
}

/** When the reviewer stopped being present, if they have: the last tick
 *  before the machine slept, their last input once idle for `idleMs`, or the
 *  blur once unfocused past `focusGraceMs`; `null` while present. */
function presenceEnd(
  now: number,
  slept: number | null,
  lastActivity: number,
  blurredAt: number | null,
  opts: { idleMs: number; focusGraceMs: number },
): number | null {
  if (slept !== null) return slept;
  if (now - lastActivity >= opts.idleMs) return lastActivity;
  if (blurredAt !== null && now - blurredAt >= opts.focusGraceMs) return blurredAt;
  return null;
}

/** The span measured from `start` to `end` (epoch ms). */
function measured(start: number, end: number): TimeSpan {
  return {
    started_at: new Date(start).toISOString(),
    ended_at: new Date(end).toISOString(),
    corrected: false,
  };
}

export class TimeTracker {
  private opts: Required<Omit<TrackerOptions, "onChange">> & {
    onChange?: (s: TrackerState) => void;
  };
  private spanStart: number | null = null;
  private lastActivity = 0;
  private blurredAt: number | null = null;
  private closedMs = 0;
  private readonly ticker: Ticker;
  private _state: TrackerState = "stopped";

  constructor(opts: TrackerOptions) {
    this.opts = { now: () => Date.now(), tickMs: 1000, ...opts };
    this.ticker = new Ticker(this.opts.tickMs, () => this.tick());
  }

  get state(): TrackerState {
    return this._state;
  }

  /** Start measuring (the item was just opened: that counts as activity). */
  start(): void {
    if (this._state !== "stopped") return;
    const now = this.opts.now();
    this.blurredAt = null;
    this.ticker.start(now);
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

  /** Close the running span now (so it can be saved) and keep measuring.
   *  Unless `always`, a span under a second old is left running: closing it
   *  would only add a "0s" row to the log (opened right after the item). */
  checkpoint(always = false): void {
    if (this._state !== "running") return;
    const now = this.opts.now();
    if (!always && this.spanStart !== null && now - this.spanStart < 1000) return;
    this.close(now);
    this.open(now);
  }

  /** Stop and flush the running span. */
  stop(): void {
    if (this._state === "stopped") return;
    this.ticker.stop();
    if (this._state === "running") this.close(this.opts.now());
    this.setState("stopped");
  }

  private tick(): void {
    const now = this.opts.now();
    const slept = this.ticker.sleptSince(now);
    if (this._state !== "running") return;
    // Slept, idle or away: count only up to when presence ended.
    const end = presenceEnd(now, slept, this.lastActivity, this.blurredAt, this.opts);
    if (end !== null) this.close(Math.max(end, this.spanStart ?? end));
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
      this.opts.onSpan(measured(start, end));
    }
  }

  private setState(s: TrackerState): void {
    if (s === this._state) return;
    this._state = s;
    this.opts.onChange?.(s);
  }
}

// ---------------------------------------------------------------- idle waiting

export type WaitingOptions = {
  /** No input for this long: the reviewer is away, not waiting. */
  idleMs: number;
  /** Unfocused for longer than this: away. */
  focusGraceMs: number;
  /** A closed span of idle waiting (recorded as unpaid time). */
  onSpan: (span: TimeSpan) => void;
  /** Long waits are closed and reopened this often, so a crash loses little. */
  checkpointMs?: number;
  now?: () => number;
  tickMs?: number;
};

/**
 * Idle waiting: time the reviewer is signed in and present (window focused,
 * page visible, input within `idleMs`) but has nothing to work on (queue
 * empty, or everything submitted or expired). A span runs only while all of
 * that holds; it closes at the last sign of presence when the reviewer goes
 * idle or away, and at once when work arrives or they sign out.
 */
export class WaitingTracker {
  private opts: Required<WaitingOptions>;
  private started = false;
  private hasWork = true;
  private hiddenPage = false;
  private blurredAt: number | null = null;
  private lastActivity = 0;
  private spanStart: number | null = null;
  private readonly ticker: Ticker;

  constructor(opts: WaitingOptions) {
    this.opts = { now: () => Date.now(), tickMs: 1000, checkpointMs: 5 * 60_000, ...opts };
    this.ticker = new Ticker(this.opts.tickMs, () => this.tick());
  }

  /** Whether a waiting span is running now. */
  get waiting(): boolean {
    return this.spanStart !== null;
  }

  /** Signed in (the app is shown): presence counts from now. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.opts.now();
    this.lastActivity = now;
    this.ticker.start(now);
    this.update(now);
  }

  /** Signed out or closing: flush the running span. */
  stop(): void {
    if (!this.started) return;
    this.close(this.opts.now());
    this.started = false;
    this.ticker.stop();
  }

  /** Whether there is anything the reviewer can grade or review. */
  setHasWork(hasWork: boolean): void {
    if (this.hasWork === hasWork) return;
    this.hasWork = hasWork;
    const now = this.opts.now();
    if (hasWork) this.close(now);
    else this.update(now);
  }

  /** Reviewer input (key, pointer, wheel). */
  activity(): void {
    const now = this.opts.now();
    this.lastActivity = now;
    this.update(now);
  }

  blur(): void {
    if (this.blurredAt === null) this.blurredAt = this.opts.now();
  }

  focus(): void {
    this.blurredAt = null;
    this.activity();
  }

  /** Page hidden (minimised, screen locked): away at once. */
  hidden(): void {
    this.hiddenPage = true;
    this.close(this.opts.now());
  }

  visible(): void {
    this.hiddenPage = false;
    this.activity();
  }

  private present(now: number): boolean {
    return (
      !this.hiddenPage && this.blurredAt === null && now - this.lastActivity < this.opts.idleMs
    );
  }

  private update(now: number): void {
    if (this.started && !this.hasWork && this.present(now)) {
      if (this.spanStart === null) this.spanStart = now;
    }
  }

  private tick(): void {
    const now = this.opts.now();
    const slept = this.ticker.sleptSince(now);
    if (this.spanStart === null) return;
    // Slept, idle or away: count only up to when presence ended.
    const end = presenceEnd(now, slept, this.lastActivity, this.blurredAt, this.opts);
    if (end !== null) {
      this.close(Math.max(end, this.spanStart));
      return;
    }
    if (now - this.spanStart >= this.opts.checkpointMs) {
      this.close(now);
      this.spanStart = now;
    }
  }

  private close(end: number): void {
    if (this.spanStart === null) return;
    const start = this.spanStart;
    this.spanStart = null;
    if (end > start) this.opts.onSpan(measured(start, end));
  }
}

/** Whether the queue's status counts include anything the reviewer can work
 *  on: work in a status Rust lets them still change and submit (`EDITABLE`). */
export function hasActionableWork(counts: Partial<Record<QueueStatus, number>>): boolean {
  return [...EDITABLE].some((s) => (counts[s] ?? 0) > 0);
}
