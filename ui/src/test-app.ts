// Helpers shared by the whole-app tests (App.test.ts, layout.test.ts, replay.test.ts):
// the app on the mock backend settles through timers and Svelte flushes.
import { flushSync } from "svelte";

/** Lets timers of `ms` and pending Svelte updates run, a few rounds. */
export async function settle(ms = 0) {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, ms));
    flushSync();
  }
}

/** Waits until `cond` holds, checking `tries` times 10 ms apart; names `what` when it never does. */
export async function until(cond: () => boolean, what: string, tries = 100) {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await settle(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A key press on `on` (the page by default), then Svelte's pending updates. */
export function press(key: string, opts: KeyboardEventInit = {}, on: EventTarget = document.body) {
  on.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...opts }));
  flushSync();
}
