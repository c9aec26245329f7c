// Time on task for the open item: the tracker (paused when idle, hidden or
// unfocused), the spans it closes (recorded by the backend), the ticking
// clock the header shows and corrections made in the time log.
import type { Backend } from "../../backend";
import type { TimeSpan } from "../../bindings";
import type { OpenedItem, Settings } from "../../backend/types";
import { TimeTracker } from "../../logic/timetracker";

export class ItemTiming {
  spans = $state<TimeSpan[]>([]);
  /** Active seconds the backend had when the log was (re)loaded. */
  baseSeconds = $state(0);
  now = $state(Date.now());
  trackerState = $state<string>("stopped");
  #tracker: TimeTracker;
  #offsetMs = 0;
  #recording: Promise<unknown>[] = [];
  #ticker: ReturnType<typeof setInterval>;
  #off: (() => void)[] = [];
  #backend: Backend;
  #it: OpenedItem;

  constructor(backend: Backend, it: OpenedItem, settings: Settings, onError: (e: unknown) => void) {
    this.#backend = backend;
    this.#it = it;
    this.spans = it.time.spans;
    this.baseSeconds = it.time.active_seconds;
    this.#tracker = new TimeTracker({
      idleMs: settings.idle_timeout_s * 1000,
      focusGraceMs: settings.focus_grace_s * 1000,
      onSpan: (span) => {
        this.spans = [...this.spans, span];
        if (it.preview) return;
        this.#recording.push(
          backend.recordTime(it.assignment_id, span).then((log) => {
            this.spans = log.spans;
          }, onError),
        );
      },
      onChange: (s) => (this.trackerState = s),
    });
    this.#ticker = setInterval(() => (this.now = Date.now()), 1000);
    const t = this.#tracker;
    const on = <K extends string>(
      target: Window | Document,
      type: K,
      f: EventListener,
      opts?: AddEventListenerOptions | boolean,
    ) => {
      target.addEventListener(type, f, opts);
      this.#off.push(() => target.removeEventListener(type, f, opts));
    };
    const act = () => t.activity();
    on(window, "keydown", act, true);
    on(window, "pointerdown", act, true);
    on(window, "wheel", act, { capture: true, passive: true });
    on(window, "blur", () => t.blur());
    on(window, "focus", () => t.focus());
    on(document, "visibilitychange", () =>
      document.visibilityState === "hidden" ? t.hidden() : t.focus(),
    );
  }

  /** Seconds active on this item: the stored log plus what was measured since. */
  get activeSeconds(): number {
    void this.now;
    void this.trackerState;
    return this.#it.preview
      ? 0
      : this.baseSeconds + Math.max(0, this.#tracker.activeMs() - this.#offsetMs) / 1000;
  }

  start() {
    this.#tracker.start();
  }
  stop() {
    this.#tracker.stop();
  }
  /** Close the running span so the log shows everything up to now. */
  checkpoint() {
    this.#tracker.checkpoint();
  }

  /** Stop measuring and wait until every closed span is recorded. */
  async settle(): Promise<void> {
    this.#tracker.stop();
    await Promise.allSettled(this.#recording);
  }

  /**
   * Replaces the log with `edited` (the spans the time log showed, corrected)
   * plus the spans closed since it opened (`shownCount` of them were shown).
   */
  async correct(edited: TimeSpan[], shownCount: number): Promise<void> {
    const before = this.spans.length;
    // Everything up to now is in the saved log, so nothing before it counts twice.
    this.#tracker.checkpoint(true);
    const fresh = this.spans.slice(Math.min(shownCount, before));
    await Promise.allSettled(this.#recording);
    const log = await this.#backend.correctTimeLog(this.#it.assignment_id, [
      ...edited,
      ...$state.snapshot(fresh),
    ]);
    this.spans = log.spans;
    this.baseSeconds = log.active_seconds;
    this.#offsetMs = this.#tracker.activeMs();
  }

  destroy() {
    clearInterval(this.#ticker);
    for (const off of this.#off) off();
    this.#off = [];
    this.#tracker.stop();
  }
}
