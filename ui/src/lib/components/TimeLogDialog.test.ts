import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import type { TimeLogCheck, TimeSpan } from "../bindings";
import type { Backend } from "../backend";
import { mockBackend } from "../backend/mock";
import { recorded } from "../backend/replay";
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

/** What Rust said about the span from `start` to `end` in the recording. */
function rustSays(start: string, end: string): string | null {
  const [call] = recorded("check_time_log", "the time log editor's spans");
  const asked = call.args.spans as TimeSpan[];
  const i = asked.findIndex(
    (s) =>
      Date.parse(s.started_at) === Date.parse(start) && Date.parse(s.ended_at) === Date.parse(end),
  );
  if (i < 0) throw new Error(`not recorded: ${start} to ${end}`);
  return (call.ok as TimeLogCheck).problems[i];
}

// Rust's answers arrive asynchronously: let them land.
async function settle() {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
}

async function open(
  list: TimeSpan[],
  onsave: (s: TimeSpan[]) => void = () => {},
  backend: Pick<Backend, "checkTimeLog"> = mockBackend(),
) {
  app = mount(TimeLogDialog, {
    target: document.body,
    props: { spans: list, onsave, onclose: () => {}, backend },
  });
  flushSync();
  await settle();
}

/** Opens the dialog on the first span with a backend whose answers the test
 *  gives: `asked` holds each question, `pending[i]` answers the i-th. */
async function openHeld() {
  const asked: TimeSpan[][] = [];
  const pending: ((a: TimeLogCheck) => void)[] = [];
  const backend: Pick<Backend, "checkTimeLog"> = {
    checkTimeLog: (s) => {
      asked.push(s);
      return new Promise((res) => pending.push(res));
    },
  };
  await open([spans[0]], () => {}, backend);
  return { asked, pending };
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

async function type(el: HTMLInputElement, v: string) {
  el.value = v;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
  await settle();
}

/**
 * Types the local form of the span's `which` end into span 1's box, making
 * the span run from `span[0]` to `span[1]`: Rust's recorded answer about it
 * is `words`, the row shows them word for word, and the log cannot be saved.
 * Returns the box.
 */
async function typeRefused(which: "Start" | "End", span: [string, string], words: string) {
  const box = input(`${which} of span 1`);
  await type(box, localStamp(which === "Start" ? span[0] : span[1]));
  const said = rustSays(...span);
  expect(said).toBe(words);
  expect(document.querySelector("tbody tr .bad")?.textContent).toBe(said);
  expect(saveButton().disabled).toBe(true);
  return box;
}

describe("TimeLogDialog", () => {
  it("shows the total, marks edits as corrected and saves them", async () => {
    let saved: TimeSpan[] | null = null;
    await open(spans, (s) => (saved = s));
    expect(document.body.textContent).toContain("Total: 15m 00s");
    const end = input("End of span 2");
    // Times are shown and typed as the reviewer's wall-clock time.
    expect(end.value).toBe(localStamp("2026-01-01T11:05:00.000Z"));
    await type(end, localStamp("2026-01-01T11:02:00.000Z"));
    expect(document.body.textContent).toContain("Total: 12m 00s");
    expect(document.querySelectorAll(".badge.warn")).toHaveLength(1);
    expect(saveButton().disabled).toBe(false);
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

  it("an edit taken back keeps Rust's answer about the log as it was", async () => {
    const { asked, pending } = await openHeld();
    pending[0]({ problems: [null], active_seconds: 600 });
    await settle();
    const end = input("End of span 1");
    const logged = end.value;
    await type(end, localStamp("2026-01-01T10:05:00.000Z"));
    await type(end, logged);
    // Nothing new to ask: the first answer stands, and the one about the
    // edit, arriving late, is not shown.
    expect(asked).toHaveLength(2);
    pending[1]({ problems: ["stale words"], active_seconds: 300 });
    await settle();
    expect(document.body.textContent).not.toContain("stale words");
    expect(document.body.textContent).toContain("Total: 10m 00s");
    expect(saveButton().disabled).toBe(false);
  });

  it("shows Rust's total and saves an untouched log with its instants as logged", async () => {
    // Spans the tracker closed at fractions of a second; the boxes show
    // whole seconds.
    const logged: TimeSpan[] = [
      {
        started_at: "2026-01-01T10:00:00.600Z",
        ended_at: "2026-01-01T10:00:02.300Z",
        corrected: false,
      },
      {
        started_at: "2026-01-01T10:00:05.200Z",
        ended_at: "2026-01-01T10:00:06.100Z",
        corrected: false,
      },
    ];
    const asked: TimeSpan[][] = [];
    const backend: Pick<Backend, "checkTimeLog"> = {
      checkTimeLog: async (s) => {
        asked.push(s);
        return { problems: s.map(() => null), active_seconds: 2 };
      },
    };
    let saved: TimeSpan[] | null = null;
    await open(logged, (s) => (saved = s), backend);
    // Rust is asked about the spans as logged, and its count is the total
    // (the boxes' whole seconds would read 2 s and 1 s).
    expect(asked).toEqual([logged]);
    expect(document.body.textContent).toContain("Total: 2s");
    // Each row's length in tenths, cut: 1.7 s and 0.9 s, not 2 s and 1 s.
    const lengths = Array.from(document.querySelectorAll("tbody tr td.mono"), (td) =>
      td.textContent?.trim(),
    );
    expect(lengths).toEqual(["1.7s", "0.9s"]);
    expect(document.querySelectorAll(".badge.warn")).toHaveLength(0);
    saveButton().click();
    expect(saved).toEqual(logged);
  });

  it("shows Rust's words for a span that ends before it starts; the form of the text is read here", async () => {
    await open(spans);
    const save = saveButton();
    const start = await typeRefused(
      "Start",
      ["2026-01-01T10:20:00Z", "2026-01-01T10:10:00Z"],
      "a time span cannot end before it starts",
    );
    await type(start, "yesterday");
    expect(document.body.textContent).toContain("YYYY-MM-DD");
    expect(save.disabled).toBe(true);
    (document.querySelector('button[aria-label="Delete span 1"]') as HTMLButtonElement).click();
    await settle();
    expect(save.disabled).toBe(false);
  });

  it("shows Rust's words for a span as long as its bound, none for one a second shorter", async () => {
    await open([spans[0]]);
    const save = saveButton();
    const end = await typeRefused(
      "End",
      ["2026-01-01T10:00:00Z", "2026-01-01T22:00:00Z"],
      "a time span of 12 hours or more is not plausible",
    );
    await type(end, localStamp("2026-01-01T21:59:59.000Z"));
    expect(rustSays("2026-01-01T10:00:00Z", "2026-01-01T21:59:59Z")).toBeNull();
    expect(document.body.textContent).not.toContain("not plausible");
    expect(save.disabled).toBe(false);
    // A span that ends when it starts is Rust's to allow, and it does.
    await type(end, localStamp("2026-01-01T10:00:00.000Z"));
    expect(rustSays("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z")).toBeNull();
    expect(document.querySelector("tbody tr .bad")).toBeNull();
    expect(save.disabled).toBe(false);
  });

  it("asks Rust about the spans as edited and ignores an answer overtaken by a later edit", async () => {
    const { asked, pending } = await openHeld();
    expect(asked).toHaveLength(1);
    pending[0]({ problems: [null], active_seconds: 600 });
    await settle();
    expect(saveButton().disabled).toBe(false);
    const end = input("End of span 1");
    // Saving waits for Rust's answer about the edit.
    await type(end, localStamp("2026-01-01T10:05:00.000Z"));
    expect(saveButton().disabled).toBe(true);
    await type(end, localStamp("2026-01-01T10:06:00.000Z"));
    expect(asked).toHaveLength(3);
    // The answer about 10:05 comes last: it is not shown for 10:06.
    pending[2]({ problems: [null], active_seconds: 360 });
    pending[1]({ problems: ["stale words"], active_seconds: 300 });
    await settle();
    expect(document.body.textContent).not.toContain("stale words");
    expect(document.body.textContent).toContain("Total: 6m 00s");
    expect(saveButton().disabled).toBe(false);
  });
});
