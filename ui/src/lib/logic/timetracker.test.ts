import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RULES, type TimeSpan } from "../bindings";
import { hasActionableWork, TimeTracker, WaitingTracker } from "./timetracker";

/** Fake timers from 2026-01-01T10:00 UTC; returns the list a tracker's spans go to. */
function fakeClock(): TimeSpan[] {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-01-01T10:00:00Z"));
  return [];
}

const secs = (s: TimeSpan) => (Date.parse(s.ended_at) - Date.parse(s.started_at)) / 1000;

describe("TimeTracker", () => {
  let spans: TimeSpan[];
  let t: TimeTracker;
  beforeEach(() => {
    spans = fakeClock();
    t = new TimeTracker({ idleMs: 60_000, focusGraceMs: 10_000, onSpan: (s) => spans.push(s) });
  });
  afterEach(() => {
    t.stop();
    vi.useRealTimers();
  });

  it("counts active time and flushes on stop", () => {
    t.start();
    vi.advanceTimersByTime(30_000);
    t.activity();
    vi.advanceTimersByTime(20_000);
    expect(Math.round(t.activeMs() / 1000)).toBe(50);
    t.stop();
    expect(spans).toHaveLength(1);
    expect(secs(spans[0])).toBe(50);
    expect(spans[0].corrected).toBe(false);
  });

  it("pauses on idle without counting the idle part, resumes on input", () => {
    t.start();
    vi.advanceTimersByTime(10_000);
    t.activity(); // last input at +10 s
    vi.advanceTimersByTime(120_000); // idle well past 60 s
    expect(t.state).toBe("paused");
    expect(spans).toHaveLength(1);
    expect(secs(spans[0])).toBe(10);
    t.activity();
    expect(t.state).toBe("running");
    vi.advanceTimersByTime(5_000);
    t.stop();
    expect(spans.map(secs)).toEqual([10, 5]);
  });

  it("keeps counting through a short focus loss but pauses on a long one", () => {
    t.start();
    vi.advanceTimersByTime(5_000);
    t.blur();
    vi.advanceTimersByTime(4_000);
    t.focus(); // back within the 10 s grace: counted
    expect(t.state).toBe("running");
    vi.advanceTimersByTime(1_000);
    t.blur(); // at +10 s
    vi.advanceTimersByTime(30_000);
    expect(t.state).toBe("paused");
    expect(spans.map(secs)).toEqual([10]);
    t.activity(); // input while still blurred does not resume
    expect(t.state).toBe("paused");
    t.focus();
    expect(t.state).toBe("running");
  });

  it("pauses at once when the page is hidden", () => {
    t.start();
    vi.advanceTimersByTime(7_000);
    t.hidden();
    expect(t.state).toBe("paused");
    expect(spans.map(secs)).toEqual([7]);
  });

  it("detects sleep: a late tick ends the span at the last tick", () => {
    t.start();
    vi.advanceTimersByTime(3_000);
    t.activity();
    // Simulate the machine sleeping for an hour: the clock jumps, no ticks ran.
    vi.setSystemTime(Date.now() + 3600_000);
    t.activity(); // the first input after wake
    vi.advanceTimersByTime(1_000);
    expect(spans).toHaveLength(1);
    expect(secs(spans[0])).toBeLessThanOrEqual(4);
  });

  it("checkpoint closes the running span and keeps measuring", () => {
    t.start();
    vi.advanceTimersByTime(8_000);
    t.checkpoint();
    expect(spans.map(secs)).toEqual([8]);
    expect(t.state).toBe("running");
    vi.advanceTimersByTime(2_000);
    expect(Math.round(t.activeMs() / 1000)).toBe(10);
  });

  it("a checkpoint within a second of the span's start leaves it running", () => {
    t.start();
    vi.advanceTimersByTime(400);
    t.checkpoint();
    expect(spans).toEqual([]);
    vi.advanceTimersByTime(1_600);
    t.checkpoint();
    expect(spans.map(secs)).toEqual([2]);
    // Saving a corrected log closes even a young span.
    vi.advanceTimersByTime(300);
    t.checkpoint(true);
    expect(spans).toHaveLength(2);
  });
});

describe("WaitingTracker (idle waiting)", () => {
  let spans: TimeSpan[];
  let w: WaitingTracker;
  beforeEach(() => {
    spans = fakeClock();
    w = new WaitingTracker({
      idleMs: 60_000,
      focusGraceMs: 10_000,
      checkpointMs: 600_000,
      onSpan: (s) => spans.push(s),
    });
  });
  /** Signed in with nothing to do: waiting from now. */
  const startWaiting = () => {
    w.start();
    w.setHasWork(false);
  };
  afterEach(() => {
    w.stop();
    vi.useRealTimers();
  });

  it("runs only while signed in, present and without work", () => {
    w.start(); // work is assumed until the queue says otherwise
    vi.advanceTimersByTime(5_000);
    expect(w.waiting).toBe(false);
    w.setHasWork(false);
    expect(w.waiting).toBe(true);
    vi.advanceTimersByTime(30_000);
    w.activity();
    vi.advanceTimersByTime(20_000);
    // Work arrives: the span closes at once.
    w.setHasWork(true);
    expect(w.waiting).toBe(false);
    expect(spans).toHaveLength(1);
    expect(secs(spans[0])).toBe(50);
    expect(spans[0].started_at).toBe("2026-01-01T10:00:05.000Z");
    vi.advanceTimersByTime(60_000);
    expect(spans).toHaveLength(1);
  });

  it("stops counting when the reviewer goes idle, without the idle part", () => {
    startWaiting();
    vi.advanceTimersByTime(20_000);
    w.activity(); // last input at +20 s
    vi.advanceTimersByTime(5 * 60_000);
    expect(w.waiting).toBe(false);
    expect(spans.map(secs)).toEqual([20]);
    // Back at the desk, still nothing to do: waiting again.
    w.activity();
    expect(w.waiting).toBe(true);
    vi.advanceTimersByTime(15_000);
    w.stop();
    expect(spans.map(secs)).toEqual([20, 15]);
  });

  it("an idle reviewer is not waiting when the queue empties", () => {
    w.start();
    vi.advanceTimersByTime(120_000); // no input for two minutes
    w.setHasWork(false);
    expect(w.waiting).toBe(false);
    w.activity();
    expect(w.waiting).toBe(true);
  });

  it("pauses when the window loses focus past the grace, or the page is hidden", () => {
    startWaiting();
    vi.advanceTimersByTime(10_000);
    w.blur(); // at +10 s
    vi.advanceTimersByTime(5_000);
    expect(w.waiting).toBe(true); // within the grace
    vi.advanceTimersByTime(10_000);
    expect(w.waiting).toBe(false);
    expect(spans.map(secs)).toEqual([10]);
    w.activity(); // input while unfocused does not reopen
    expect(w.waiting).toBe(false);
    w.focus();
    expect(w.waiting).toBe(true);
    vi.advanceTimersByTime(3_000);
    w.hidden();
    expect(spans.map(secs)).toEqual([10, 3]);
    w.activity();
    expect(w.waiting).toBe(false);
    w.visible();
    expect(w.waiting).toBe(true);
  });

  it("checkpoints long waits so a crash loses little, and stops on sign-out", () => {
    startWaiting();
    for (let i = 0; i < 41; i++) {
      vi.advanceTimersByTime(30_000);
      w.activity();
    }
    expect(spans.map(secs)).toEqual([600, 600]);
    w.stop();
    expect(spans.map(secs)).toEqual([600, 600, 30]);
    w.activity();
    vi.advanceTimersByTime(60_000);
    expect(spans).toHaveLength(3);
  });

  it("counts only up to the last tick after the machine slept", () => {
    startWaiting();
    vi.advanceTimersByTime(4_000);
    vi.setSystemTime(Date.now() + 3_600_000); // one hour asleep, no timers fired
    vi.advanceTimersByTime(1_000);
    expect(w.waiting).toBe(false);
    expect(spans.map(secs)).toEqual([4]);
  });
});

describe("hasActionableWork", () => {
  it("is true only for statuses the reviewer can still work on", () => {
    expect(hasActionableWork({})).toBe(false);
    expect(
      hasActionableWork({ submitted: 3, accepted: 2, lease_expired: 1, in_outbox: 1, orphaned: 4 }),
    ).toBe(false);
    expect(hasActionableWork({ submitted: 3, new: 1 })).toBe(true);
    expect(hasActionableWork({ needs_revision: 1 })).toBe(true);
    expect(hasActionableWork({ draft: 0, ready: 0 })).toBe(false);
  });

  it("counts each status Rust lets the reviewer still change, and no other", () => {
    for (const s of RULES.editable_statuses) expect(hasActionableWork({ [s]: 1 })).toBe(true);
    const others = ["in_outbox", "submitted", "accepted", "rejected", "orphaned", "lease_expired"];
    for (const s of others) expect(hasActionableWork({ [s]: 1 })).toBe(false);
  });
});
