import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import { RULES, type TimeSpan } from "../bindings";
import TimeLogDialog from "./TimeLogDialog.svelte";
import { localStamp } from "../logic/format";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

const spans: TimeSpan[] = [
  {
    started_at: "2026-01-01T10:00:00.000Z",
    ended_at: "2026-01-01T10:10:00.000Z",
    corrected: false,
  },
  {
    started_at: "2026-01-01T11:00:00.000Z",
    ended_at: "2026-01-01T11:05:00.000Z",
    corrected: false,
  },
];

function open(list: TimeSpan[], onsave: (s: TimeSpan[]) => void = () => {}) {
  app = mount(TimeLogDialog, {
    target: document.body,
    props: { spans: list, onsave, onclose: () => {} },
  });
  flushSync();
}

function saveButton(): HTMLButtonElement {
  return Array.from(document.querySelectorAll("button")).find(
    (b) => b.textContent === "Save log",
  ) as HTMLButtonElement;
}

function input(label: string): HTMLInputElement {
  const el = document.querySelector<HTMLInputElement>(`input[aria-label="${label}"]`);
  if (!el) throw new Error(label);
  return el;
}

function type(el: HTMLInputElement, v: string) {
  el.value = v;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
}

describe("TimeLogDialog", () => {
  it("shows the total, marks edits as corrected and saves them", () => {
    let saved: TimeSpan[] | null = null;
    open(spans, (s) => (saved = s));
    expect(document.body.textContent).toContain("Total: 15m 00s");
    const end = input("End of span 2");
    // Times are shown and typed as the reviewer's wall-clock time.
    expect(end.value).toBe(localStamp("2026-01-01T11:05:00.000Z"));
    type(end, localStamp("2026-01-01T11:02:00.000Z"));
    expect(document.body.textContent).toContain("Total: 12m 00s");
    expect(document.querySelectorAll(".badge.warn")).toHaveLength(1);
    saveButton().click();
    expect(saved).toEqual([
      { ...spans[0], corrected: false },
      {
        started_at: "2026-01-01T11:00:00.000Z",
        ended_at: "2026-01-01T11:02:00.000Z",
        corrected: true,
      },
    ]);
  });

  it("refuses spans that end before they start or cannot be read", () => {
    open(spans);
    const save = saveButton();
    const start = input("Start of span 1");
    type(start, localStamp("2026-01-01T10:20:00.000Z"));
    expect(document.body.textContent).toContain("Ends before it starts");
    expect(save.disabled).toBe(true);
    type(start, "yesterday");
    expect(document.body.textContent).toContain("YYYY-MM-DD");
    expect(save.disabled).toBe(true);
    (document.querySelector('button[aria-label="Delete span 1"]') as HTMLButtonElement).click();
    flushSync();
    expect(save.disabled).toBe(false);
  });

  it("refuses a span as long as Rust's bound (RULES.time_span_max_s), not one second shorter", () => {
    open([spans[0]]);
    const save = saveButton();
    const end = input("End of span 1");
    const start = Date.parse(spans[0].started_at);
    type(end, localStamp(new Date(start + RULES.time_span_max_s * 1000).toISOString()));
    expect(document.body.textContent).toContain("hours or more is not plausible");
    expect(save.disabled).toBe(true);
    type(end, localStamp(new Date(start + (RULES.time_span_max_s - 1) * 1000).toISOString()));
    expect(document.body.textContent).not.toContain("not plausible");
    expect(save.disabled).toBe(false);
  });
});
