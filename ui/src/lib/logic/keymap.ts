// Keyboard-first grading: action → key chords, remappable and persisted via
// backend settings. Chords are written like "j", "?", "[", "Mod+Enter",
// "Shift+G", "Alt+ArrowDown"; "Mod" is Ctrl on Linux/Windows and Cmd on macOS
// (either is accepted everywhere).
import type { Keymap } from "../backend/types";

export type Action =
  | "pick_1"
  | "pick_2"
  | "pick_3"
  | "pick_4"
  | "pick_5"
  | "pick_6"
  | "pick_7"
  | "pick_8"
  | "pick_9"
  | "next_question"
  | "prev_question"
  | "next_change"
  | "prev_change"
  | "next_item"
  | "prev_item"
  | "submit"
  | "shortcuts"
  | "guidelines"
  | "time_log"
  | "rationale"
  | "escape"
  | "sync";

export const ACTION_LABELS: Record<Action, string> = {
  pick_1: "Pick answer 1",
  pick_2: "Pick answer 2",
  pick_3: "Pick answer 3",
  pick_4: "Pick answer 4",
  pick_5: "Pick answer 5",
  pick_6: "Pick answer 6",
  pick_7: "Pick answer 7",
  pick_8: "Pick answer 8",
  pick_9: "Pick answer 9",
  next_question: "Next question",
  prev_question: "Previous question",
  next_change: "Next change in the redline",
  prev_change: "Previous change in the redline",
  next_item: "Next item",
  prev_item: "Previous item",
  submit: "Submit grade",
  shortcuts: "Show keyboard shortcuts",
  guidelines: "Show / hide guidelines",
  time_log: "Show time log",
  rationale: "Write rationale for the current question",
  escape: "Close dialog / leave text box",
  sync: "Sync now",
};

export const DEFAULT_KEYMAP: Record<Action, string[]> = {
  pick_1: ["1"],
  pick_2: ["2"],
  pick_3: ["3"],
  pick_4: ["4"],
  pick_5: ["5"],
  pick_6: ["6"],
  pick_7: ["7"],
  pick_8: ["8"],
  pick_9: ["9"],
  next_question: ["j", "ArrowDown"],
  prev_question: ["k", "ArrowUp"],
  next_change: ["n"],
  prev_change: ["Shift+N"],
  next_item: ["]"],
  prev_item: ["["],
  submit: ["Mod+Enter"],
  shortcuts: ["?"],
  guidelines: ["g"],
  time_log: ["t"],
  rationale: ["r"],
  escape: ["Escape"],
  sync: ["Shift+S"],
};

/** Actions that still fire while the focus is in a text box. */
const WHILE_TYPING: ReadonlySet<Action> = new Set<Action>(["submit", "escape"]);

export const ACTIONS = Object.keys(DEFAULT_KEYMAP) as Action[];

export function isAction(s: string): s is Action {
  return Object.hasOwn(DEFAULT_KEYMAP, s);
}

type KeyLike = Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "shiftKey">;

/** Normalised chord of a key event, comparable with `normaliseChord`. */
export function chordOf(e: KeyLike): string {
  const parts: string[] = [];
  if (e.ctrlKey || e.metaKey) parts.push("Mod");
  if (e.altKey) parts.push("Alt");
  let key = e.key;
  if (key.length === 1) {
    // A printable character already encodes Shift ("?" vs "/", "G" vs "g").
    if (/[a-z]/i.test(key) && e.shiftKey) parts.push("Shift");
    key = key.toLowerCase();
  } else if (e.shiftKey) {
    parts.push("Shift");
  }
  parts.push(key);
  return parts.join("+");
}

/** Normalise a chord written by a person ("ctrl+enter", "Shift+g", "Cmd+Enter"). */
export function normaliseChord(chord: string): string {
  const raw = chord.trim();
  if (raw === "+") return "+";
  const bits = raw.split("+").filter((b) => b.length > 0);
  if (raw.endsWith("++")) bits.push("+");
  let mod = false,
    alt = false,
    shift = false;
  let key = "";
  for (const b of bits) {
    const l = b.toLowerCase();
    if (["mod", "ctrl", "control", "cmd", "meta", "command"].includes(l)) mod = true;
    else if (["alt", "option"].includes(l)) alt = true;
    else if (l === "shift") shift = true;
    else key = b;
  }
  const named: Record<string, string> = {
    enter: "Enter",
    return: "Enter",
    escape: "Escape",
    esc: "Escape",
    space: " ",
    arrowdown: "ArrowDown",
    arrowup: "ArrowUp",
    arrowleft: "ArrowLeft",
    arrowright: "ArrowRight",
    down: "ArrowDown",
    up: "ArrowUp",
    left: "ArrowLeft",
    right: "ArrowRight",
    tab: "Tab",
  };
  if (key.length > 1) key = named[key.toLowerCase()] ?? key;
  return chordOf({
    key: key.length === 1 && shift && /[a-z]/i.test(key) ? key.toUpperCase() : key,
    ctrlKey: mod,
    metaKey: false,
    altKey: alt,
    shiftKey: shift,
  });
}

/** Human label for a chord, e.g. "Ctrl+Enter" / "⌘+Enter". */
export function chordLabel(chord: string, mac = false): string {
  const c = normaliseChord(chord);
  return c
    .replace(/^Mod\+/, mac ? "⌘+" : "Ctrl+")
    .replace(/(^|\+) $/, "$1Space")
    .replace(/Shift\+([a-z])$/, (_m, k: string) => `Shift+${k.toUpperCase()}`);
}

/** Defaults overlaid with the saved keymap (unknown actions are dropped). */
export function mergeKeymap(saved: Keymap | null | undefined): Record<Action, string[]> {
  const out = { ...DEFAULT_KEYMAP };
  if (saved) {
    for (const [action, keys] of Object.entries(saved)) {
      if (isAction(action) && Array.isArray(keys))
        out[action] = keys.filter((k) => typeof k === "string" && k.trim() !== "");
    }
  }
  return out;
}

/** Chords bound to more than one action. */
export function conflicts(map: Record<Action, string[]>): { chord: string; actions: Action[] }[] {
  const by = new Map<string, Action[]>();
  for (const a of ACTIONS) {
    for (const k of map[a] ?? []) {
      const c = normaliseChord(k);
      by.set(c, [...(by.get(c) ?? []), a]);
    }
  }
  return [...by.entries()]
    .filter(([, a]) => a.length > 1)
    .map(([chord, actions]) => ({ chord, actions }));
}

/** Whether the event comes from a place the reviewer types into. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).tagName !== "string") return false;
  const el = target as HTMLElement;
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag === "input") {
    const type = ((el as HTMLInputElement).type || "text").toLowerCase();
    return !["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"].includes(
      type,
    );
  }
  if (el.isContentEditable) return true;
  const ce = el.getAttribute?.("contenteditable");
  return ce === "" || ce === "true" || ce === "plaintext-only";
}

/** The action a key event triggers, or null. Honours the typing rule. */
export function resolveAction(
  map: Record<Action, string[]>,
  e: KeyLike & { target: EventTarget | null },
): Action | null {
  if (e.key === "Shift" || e.key === "Control" || e.key === "Meta" || e.key === "Alt") return null;
  const chord = chordOf(e);
  const typing = isTypingTarget(e.target);
  for (const a of ACTIONS) {
    if ((map[a] ?? []).some((k) => normaliseChord(k) === chord)) {
      if (typing && !WHILE_TYPING.has(a)) return null;
      return a;
    }
  }
  return null;
}

/** 1-based digit of a pick action, or null. */
export function pickIndex(a: Action): number | null {
  const m = /^pick_(\d)$/.exec(a);
  return m ? Number(m[1]) : null;
}
