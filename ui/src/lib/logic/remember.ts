// View state the reviewer chose — panels collapsed, the rubric panel's
// width, the guidelines dock, "changed clauses only" — kept in the web
// view's own storage (per profile) so it is as they left it next time.
// Never work: answers and annotations live in the draft, in Rust.
const PREFIX = "assay.view.";

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled: nothing is remembered, nothing breaks
  }
}

/** The remembered value of `key`, or `fallback` when none (or not valid). */
export function recall<T>(key: string, fallback: T, valid: (v: unknown) => v is T): T {
  const raw = storage()?.getItem(PREFIX + key);
  if (raw == null) return fallback;
  try {
    const v: unknown = JSON.parse(raw);
    return valid(v) ? v : fallback;
  } catch {
    return fallback;
  }
}

export function remember(key: string, value: unknown): void {
  try {
    storage()?.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Quota or privacy mode: the view just starts from its defaults.
  }
}

export const isBool = (v: unknown): v is boolean => typeof v === "boolean";
export const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Width limits of the rubric panel for a window `windowWidth` wide. */
export function sideBounds(windowWidth: number): { min: number; max: number } {
  const min = 300;
  return { min, max: Math.max(min, Math.min(760, Math.round(windowWidth * 0.5))) };
}

export function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(v)));
}
