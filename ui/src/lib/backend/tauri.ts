// Tauri implementation of `Backend`: generated with the contract (see
// `tauriCommands` in `../bindings`), one command or event each.
import { tauriCommands } from "../bindings";
import { FIRST_ROW_MARK } from "../logic/marks";
import type { Backend } from "./index";

/** Most calls timed before the first row (the start path makes about ten). */
const MAX_TIMED = 40;

/**
 * Times each call made before the queue's first row is in the DOM as a
 * performance measure `ipc:<method>` (what the start-up benchmark,
 * tests/tests/startup.rs, prints for each launch): which round trips the
 * start path waits for, and how long each took. Nothing is timed after the
 * first row, so the page's timeline does not grow with use, and once the
 * row is there a call no longer looks it up.
 */
export function timedUntilFirstRow(backend: Backend, perf: Performance | undefined): Backend {
  if (!perf?.measure || !perf.getEntriesByName) return backend;
  let timed = 0;
  let over = false;
  const starting = () => {
    over ||= timed >= MAX_TIMED || perf.getEntriesByName(FIRST_ROW_MARK, "mark").length > 0;
    return !over;
  };
  const out = {} as Record<string, unknown>;
  for (const [name, f] of Object.entries(backend as unknown as Record<string, unknown>)) {
    if (typeof f !== "function") {
      out[name] = f;
      continue;
    }
    out[name] = (...args: unknown[]) => {
      if (!starting()) return f(...args);
      timed++;
      const start = perf.now();
      const measure = () => {
        try {
          perf.measure(`ipc:${name}`, { start, end: perf.now() });
        } catch {
          // A timeline that refuses a measure times nothing; the call is unaffected.
        }
      };
      const r = f(...args);
      if (r instanceof Promise) r.then(measure, measure);
      else measure();
      return r;
    };
  }
  return out as unknown as Backend;
}

export function tauriBackend(): Backend {
  return timedUntilFirstRow(tauriCommands(), globalThis.performance);
}
