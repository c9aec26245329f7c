// Debounced draft autosave: at most one save in flight, the latest value
// always wins, and `flush()` saves at once (before submit or leaving the item).
export type AutosaveState = "idle" | "pending" | "saving" | "saved" | "error";

export type AutosaverOptions<T> = {
  delayMs?: number;
  save: (value: T) => Promise<unknown>;
  onState?: (state: AutosaveState, error?: unknown) => void;
};

export class Autosaver<T> {
  private delay: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pending: { value: T } | null = null;
  private inflight: Promise<void> | null = null;
  private _state: AutosaveState = "idle";

  constructor(private opts: AutosaverOptions<T>) {
    this.delay = Math.min(opts.delayMs ?? 300, 300);
  }

  get state(): AutosaveState {
    return this._state;
  }

  /** A new value to save; resets the debounce window. */
  schedule(value: T): void {
    this.pending = { value };
    this.set("pending");
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, this.delay);
  }

  /** Save whatever is pending now and wait for all saves to finish. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.run();
  }

  /** Drop a pending value (e.g. after the item was submitted). */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  private async run(): Promise<void> {
    while (this.inflight) await this.inflight;
    if (!this.pending) return;
    const { value } = this.pending;
    this.pending = null;
    this.set("saving");
    this.inflight = (async () => {
      try {
        await this.opts.save(value);
        this.set(this.pending ? "pending" : "saved");
      } catch (e) {
        // Keep the value so the next change or flush retries it.
        if (!this.pending) this.pending = { value };
        this.set("error", e);
      }
    })();
    try {
      await this.inflight;
    } finally {
      this.inflight = null;
    }
    if (this.pending && this.timer === null && this._state !== "error") await this.run();
  }

  private set(s: AutosaveState, err?: unknown): void {
    this._state = s;
    this.opts.onState?.(s, err);
  }
}
