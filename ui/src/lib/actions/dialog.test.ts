import { afterEach, describe, expect, it, vi } from "vitest";
import { type Component, flushSync, mount, unmount } from "svelte";
import ShortcutSheet from "../components/ShortcutSheet.svelte";
import SettingsDialog from "../components/SettingsDialog.svelte";
import TimeLogDialog from "../components/TimeLogDialog.svelte";
import { DEFAULT_SETTINGS } from "../backend/defaults";
import { mockBackend } from "../backend/mock";
import { DEFAULT_KEYMAP } from "../logic/keymap";
import { focusables, modal } from "./dialog";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

const tick = () => new Promise<void>((r) => setTimeout(r, 0));
function key(el: Element, k: string, shift = false): KeyboardEvent {
  const e = new KeyboardEvent("keydown", {
    key: k,
    shiftKey: shift,
    bubbles: true,
    cancelable: true,
  });
  el.dispatchEvent(e);
  return e;
}
function opener(): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = "Open";
  document.body.appendChild(b);
  b.focus();
  return b;
}

describe("modal action", () => {
  it("focuses inside, cycles Tab and Shift+Tab, closes on Escape, returns focus", async () => {
    const open = opener();
    const root = document.createElement("div");
    root.innerHTML = `<h2 id="t">T</h2><button id="a">A</button><input id="b" /><button id="c" disabled>C</button><a id="d" href="#">D</a>`;
    document.body.appendChild(root);
    const onclose = vi.fn();
    const action = modal(root, { onclose });
    await tick();
    expect(document.activeElement?.id).toBe("a");
    expect(focusables(root).map((e) => e.id)).toEqual(["a", "b", "d"]);
    // Tab on the last wraps to the first; Shift+Tab on the first to the last.
    (document.getElementById("d") as HTMLElement).focus();
    expect(key(document.activeElement as Element, "Tab").defaultPrevented).toBe(true);
    expect(document.activeElement?.id).toBe("a");
    expect(key(document.activeElement as Element, "Tab", true).defaultPrevented).toBe(true);
    expect(document.activeElement?.id).toBe("d");
    // In the middle the browser moves focus itself.
    (document.getElementById("b") as HTMLElement).focus();
    expect(key(document.activeElement as Element, "Tab").defaultPrevented).toBe(false);
    // Focus that escapes is pulled back in.
    open.focus();
    expect(root.contains(document.activeElement)).toBe(true);
    const esc = key(document.activeElement as Element, "Escape");
    expect(esc.defaultPrevented).toBe(true);
    expect(onclose).toHaveBeenCalledTimes(1);
    action.destroy();
    root.remove();
    expect(document.activeElement).toBe(open);
  });

  it("keeps focus on the dialog when nothing inside is focusable", async () => {
    const root = document.createElement("div");
    root.innerHTML = "<p>Nothing to press</p>";
    document.body.appendChild(root);
    const action = modal(root, { onclose: () => {} });
    await tick();
    expect(document.activeElement).toBe(root);
    expect(key(root, "Tab").defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(root);
    action.destroy();
  });
});

describe("focus after a dialog closes (issue 11)", () => {
  /** The page's focus home (`data-focus-home`), as the app shell marks its main area. */
  function focusHome(): HTMLElement {
    const home = document.createElement("main");
    home.tabIndex = -1;
    home.setAttribute("data-focus-home", "");
    document.body.appendChild(home);
    return home;
  }
  /** Opens a one-button modal, then closes it. */
  async function openAndClose() {
    const root = document.createElement("div");
    root.innerHTML = "<button>x</button>";
    document.body.appendChild(root);
    const action = modal(root, { onclose: () => {} });
    await tick();
    root.remove();
    action.destroy();
  }

  it("returns to the clicked control when the click did not focus it (WebKit)", async () => {
    focusHome();
    const b = document.createElement("button");
    b.textContent = "?";
    document.body.appendChild(b);
    (document.activeElement as HTMLElement | null)?.blur();
    b.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true }));
    expect(document.activeElement).toBe(document.body); // the click did not focus it
    await openAndClose();
    expect(document.activeElement).toBe(b);
  });

  it("goes to the page's focus home, not <body>, when nothing opened it", async () => {
    const home = focusHome();
    (document.activeElement as HTMLElement | null)?.blur();
    await new Promise((r) => setTimeout(r, 2100)); // the last press is stale
    await openAndClose();
    await tick();
    expect(document.activeElement).toBe(home);
  });

  it("opens scrolled to the top whatever it focuses", async () => {
    const root = document.createElement("div");
    root.innerHTML = "<p>long</p><button data-autofocus>Close</button>";
    document.body.appendChild(root);
    const focus = vi.spyOn(HTMLElement.prototype, "focus");
    const action = modal(root, { onclose: () => {} });
    await tick();
    expect(focus).toHaveBeenCalledWith({ preventScroll: true });
    expect(root.scrollTop).toBe(0);
    focus.mockRestore();
    action.destroy();
  });
});

describe("every dialog is a labelled modal that traps focus", () => {
  function check(onclose: ReturnType<typeof vi.fn>) {
    const d = document.querySelector<HTMLElement>('[role="dialog"]');
    expect(d).not.toBeNull();
    expect(d!.getAttribute("aria-modal")).toBe("true");
    const label = document.getElementById(d!.getAttribute("aria-labelledby") ?? "");
    expect(label?.textContent?.trim().length).toBeGreaterThan(0);
    expect(d!.contains(document.activeElement)).toBe(true);
    const items = focusables(d!);
    items[items.length - 1].focus();
    key(document.activeElement as Element, "Tab");
    expect(document.activeElement).toBe(items[0]);
    key(document.activeElement as Element, "Tab", true);
    expect(document.activeElement).toBe(items[items.length - 1]);
    key(document.activeElement as Element, "Escape");
    expect(onclose).toHaveBeenCalled();
  }

  /** Opens `component` from a button with the props `withClose` gives for
   * an `onclose` spy, runs `whileOpen`, checks it, then closes it: focus
   * returns to the button. */
  async function opensAndReturnsFocus<P extends Record<string, unknown>>(
    component: Component<P>,
    withClose: (onclose: () => void) => NoInfer<P>,
    whileOpen: () => void = () => {},
  ) {
    const open = opener();
    const onclose = vi.fn();
    app = mount(component, { target: document.body, props: withClose(onclose) });
    flushSync();
    await tick();
    whileOpen();
    check(onclose);
    unmount(app);
    app = null;
    expect(document.activeElement).toBe(open);
  }

  it("ShortcutSheet", async () => {
    await opensAndReturnsFocus(
      ShortcutSheet,
      (onclose) => ({ keymap: DEFAULT_KEYMAP, onclose }),
      () => {
        // The close control at the top has focus: the sheet opens at its top.
        expect(document.activeElement?.getAttribute("aria-label")).toBe("Close keyboard shortcuts");
      },
    );
  });

  it("SettingsDialog", async () => {
    await opensAndReturnsFocus(SettingsDialog, (onclose) => ({
      settings: DEFAULT_SETTINGS,
      onsave: () => {},
      onclose,
    }));
  });

  it("TimeLogDialog", async () => {
    await opensAndReturnsFocus(TimeLogDialog, (onclose) => ({
      spans: [
        {
          started_at: "2026-01-01T10:00:00.000Z",
          ended_at: "2026-01-01T10:10:00.000Z",
          corrected: false,
        },
      ],
      onsave: () => {},
      onclose,
      backend: mockBackend(),
    }));
  });
});
