import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Autosaver, type AutosaveState } from "./autosave";

describe("Autosaver", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("debounces to one save of the latest value within 300 ms", async () => {
    const saved: number[] = [];
    const states: AutosaveState[] = [];
    const a = new Autosaver<number>({
      save: async (v) => {
        saved.push(v);
      },
      onState: (s) => states.push(s),
    });
    a.schedule(1);
    await vi.advanceTimersByTimeAsync(100);
    a.schedule(2);
    await vi.advanceTimersByTimeAsync(100);
    a.schedule(3);
    await vi.advanceTimersByTimeAsync(299);
    expect(saved).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(saved).toEqual([3]);
    expect(states.at(-1)).toBe("saved");
  });

  it("never exceeds 300 ms even if asked for more", async () => {
    const saved: number[] = [];
    const a = new Autosaver<number>({
      delayMs: 5000,
      save: async (v) => {
        saved.push(v);
      },
    });
    a.schedule(1);
    await vi.advanceTimersByTimeAsync(300);
    expect(saved).toEqual([1]);
  });

  it("keeps one save in flight and saves the newest value after it", async () => {
    let release: () => void = () => {};
    const saved: number[] = [];
    const a = new Autosaver<number>({
      save: (v) =>
        new Promise<void>((res) => {
          saved.push(v);
          release = res;
        }),
    });
    a.schedule(1);
    await vi.advanceTimersByTimeAsync(300);
    expect(saved).toEqual([1]);
    a.schedule(2);
    a.schedule(3);
    await vi.advanceTimersByTimeAsync(300);
    expect(saved).toEqual([1]); // still waiting for the first
    release();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(saved).toEqual([1, 3]);
    release();
    await a.flush();
  });

  it("keeps the value after an error and retries on flush", async () => {
    let fail = true;
    const saved: number[] = [];
    const states: AutosaveState[] = [];
    const a = new Autosaver<number>({
      save: async (v) => {
        if (fail) throw { code: "storage", message: "disk full" };
        saved.push(v);
      },
      onState: (s) => states.push(s),
    });
    a.schedule(7);
    await vi.advanceTimersByTimeAsync(300);
    expect(states.at(-1)).toBe("error");
    fail = false;
    await a.flush();
    expect(saved).toEqual([7]);
    expect(states.at(-1)).toBe("saved");
  });

  it("flush saves at once; cancel drops the pending value", async () => {
    const saved: number[] = [];
    const a = new Autosaver<number>({
      save: async (v) => {
        saved.push(v);
      },
    });
    a.schedule(1);
    await a.flush();
    expect(saved).toEqual([1]);
    a.schedule(2);
    a.cancel();
    await vi.advanceTimersByTimeAsync(1000);
    expect(saved).toEqual([1]);
  });
});
