// Helpers shared by the whole-app tests (App.test.ts, layout.test.ts, replay.test.ts):
// the app mounted on a backend, settling through timers and Svelte flushes.
import { type Component, flushSync, mount, unmount } from "svelte";
import App from "./App.svelte";
import type { Backend } from "./lib/backend";

/** The element the component mounted last lives in (a fresh one per mount). */
export let target: HTMLElement;
let app: ReturnType<typeof mount> | null = null;

/** Mounts `component` with `props` in a fresh element on the page. */
export function mountIn<Props extends Record<string, unknown>>(
  component: Component<Props>,
  props: Props,
) {
  target = document.createElement("div");
  document.body.appendChild(target);
  app = mount(component, { target, props });
}

/** Mounts the whole app on `backend`. */
export function start(backend: Backend) {
  mountIn(App, { backend });
}

/** Whether a component is mounted (and not stopped since). */
export const mounted = () => app !== null;

/** Unmounts the component (what it does on close runs) and removes its element. */
export function stop() {
  if (app) unmount(app);
  app = null;
  target?.remove();
}

/** The first element under the mounted component matching `sel`. */
export const $ = <T extends Element = HTMLElement>(sel: string) => target.querySelector<T>(sel);
/** Every element under the mounted component matching `sel`. */
export const $$ = (sel: string) => [...target.querySelectorAll<HTMLElement>(sel)];

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
