import { describe, expect, it } from "vitest";
import {
  chordLabel,
  chordOf,
  conflicts,
  DEFAULT_KEYMAP,
  isTypingTarget,
  mergeKeymap,
  normaliseChord,
  pickIndex,
  resolveAction,
} from "./keymap";

function key(
  k: string,
  mods: Partial<KeyboardEventInit> = {},
  target: EventTarget | null = document.body,
) {
  const e = new KeyboardEvent("keydown", { key: k, ...mods });
  return {
    key: e.key,
    ctrlKey: e.ctrlKey,
    metaKey: e.metaKey,
    altKey: e.altKey,
    shiftKey: e.shiftKey,
    target,
  };
}

describe("keymap", () => {
  it("normalises chords written by people", () => {
    expect(normaliseChord("ctrl+enter")).toBe("Mod+Enter");
    expect(normaliseChord("Cmd+Enter")).toBe("Mod+Enter");
    expect(normaliseChord("Shift+g")).toBe("Shift+g");
    expect(normaliseChord("?")).toBe("?");
    expect(normaliseChord("esc")).toBe("Escape");
    expect(chordOf(key("G", { shiftKey: true }))).toBe("Shift+g");
    expect(chordOf(key("?", { shiftKey: true }))).toBe("?");
    expect(chordLabel("Mod+Enter")).toBe("Ctrl+Enter");
    expect(chordLabel("Mod+Enter", true)).toBe("⌘+Enter");
    expect(chordLabel("Shift+s")).toBe("Shift+S");
  });

  it("maps default keys to actions, Ctrl and Cmd both submit", () => {
    const map = mergeKeymap(null);
    expect(resolveAction(map, key("3"))).toBe("pick_3");
    expect(resolveAction(map, key("j"))).toBe("next_question");
    expect(resolveAction(map, key("k"))).toBe("prev_question");
    expect(resolveAction(map, key("]"))).toBe("next_item");
    expect(resolveAction(map, key("["))).toBe("prev_item");
    expect(resolveAction(map, key("?", { shiftKey: true }))).toBe("shortcuts");
    expect(resolveAction(map, key("Enter", { ctrlKey: true }))).toBe("submit");
    expect(resolveAction(map, key("Enter", { metaKey: true }))).toBe("submit");
    expect(resolveAction(map, key("Enter"))).toBeNull();
    expect(resolveAction(map, key("x"))).toBeNull();
    expect(pickIndex("pick_7")).toBe(7);
    expect(pickIndex("submit")).toBeNull();
  });

  it("never fires grading keys while typing, except submit and escape", () => {
    const map = mergeKeymap(null);
    const ta = document.createElement("textarea");
    const input = document.createElement("input");
    const checkbox = document.createElement("input");
    checkbox.type = "checkbox";
    const editable = document.createElement("div");
    editable.setAttribute("contenteditable", "true");
    for (const t of [ta, input, editable]) {
      expect(isTypingTarget(t)).toBe(true);
      expect(resolveAction(map, key("5", {}, t))).toBeNull();
      expect(resolveAction(map, key("j", {}, t))).toBeNull();
      expect(resolveAction(map, key("?", { shiftKey: true }, t))).toBeNull();
      expect(resolveAction(map, key("Enter", { ctrlKey: true }, t))).toBe("submit");
      expect(resolveAction(map, key("Escape", {}, t))).toBe("escape");
    }
    expect(isTypingTarget(checkbox)).toBe(false);
    expect(resolveAction(map, key("5", {}, checkbox))).toBe("pick_5");
  });

  it("is remappable and reports conflicts", () => {
    const map = mergeKeymap({ next_question: ["n"], bogus: ["x"], submit: ["Mod+s"] });
    expect(resolveAction(map, key("n"))).toBe("next_question");
    expect(resolveAction(map, key("j"))).toBeNull();
    expect(resolveAction(map, key("s", { ctrlKey: true }))).toBe("submit");
    expect(Object.keys(map)).not.toContain("bogus");
    expect(conflicts(mergeKeymap(null))).toEqual([]);
    const clash = conflicts({ ...DEFAULT_KEYMAP, guidelines: ["j"] });
    expect(clash).toEqual([{ chord: "j", actions: ["next_question", "guidelines"] }]);
  });
});
