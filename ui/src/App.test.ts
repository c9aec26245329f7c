// Component tests of the whole app on the mock backend, in jsdom.
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import App from "./App.svelte";
import { mockBackend, type MockBackend } from "./lib/backend/mock";

let app: ReturnType<typeof mount> | null = null;
let target: HTMLElement;

async function settle(ms = 0) {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, ms));
    flushSync();
  }
}
async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 100; i++) {
    if (cond()) return;
    await settle(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}
function start(backend: MockBackend) {
  target = document.createElement("div");
  document.body.appendChild(target);
  app = mount(App, { target, props: { backend } });
}
function press(key: string, opts: KeyboardEventInit = {}, on: EventTarget = document.body) {
  on.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...opts }));
  flushSync();
}
const $ = <T extends Element = HTMLElement>(sel: string) => target.querySelector<T>(sel);
const $$ = (sel: string) => target.querySelectorAll(sel);
const checked = (q: string, v: number) => $(`[data-question="${q}"] [role="radio"]:nth-child(${v})`)?.getAttribute("aria-checked");

afterEach(() => {
  if (app) unmount(app);
  app = null;
  target?.remove();
  document.body.innerHTML = "";
});

async function openNewCodeItem(b: MockBackend) {
  start(b);
  await until(() => $$("[data-queue-row]").length > 0, "queue rows");
  (target.querySelector('[data-queue-row="a-00000"] .card') as HTMLElement).click();
  await until(() => !!$('[data-testid="item-screen"]'), "item screen");
}

describe("App", () => {
  it("shows the sign-in screen when signed out and signs in", async () => {
    const b = mockBackend({ signedIn: false });
    start(b);
    await until(() => !!$('input[type="password"]'), "sign-in form");
    const url = $<HTMLInputElement>('input[type="url"]');
    const token = $<HTMLInputElement>('input[type="password"]');
    if (!url || !token) throw new Error("form");
    url.value = "notaurl";
    url.dispatchEvent(new Event("input"));
    token.value = "t0k";
    token.dispatchEvent(new Event("input"));
    $<HTMLFormElement>("form")?.dispatchEvent(new Event("submit", { cancelable: true }));
    await until(() => !!$('[role="alert"]'), "error");
    expect($('[role="alert"]')?.textContent).toContain("Platform URL must start with https://");
    url.value = "https://work.example.com";
    url.dispatchEvent(new Event("input"));
    $<HTMLFormElement>("form")?.dispatchEvent(new Event("submit", { cancelable: true }));
    await until(() => !!$('[data-testid="queue-count"]'), "queue");
    expect(document.body.innerHTML).not.toContain("t0k"); // the token is not kept in the DOM
  });

  it("virtualizes a 10,000 item queue", async () => {
    start(mockBackend({ queueSize: 10_000 }));
    await until(() => $('[data-testid="queue-count"]')?.textContent === "10,000 items", "count");
    await until(() => $$("[data-queue-row]").length > 0, "rows");
    expect($$("[data-queue-row]").length).toBeLessThan(60);
  });

  it("grades by keyboard; digits typed in a rationale never change answers", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    press("2");
    expect(checked("correctness", 2)).toBe("true");
    await settle();
    const submit = $<HTMLButtonElement>('[data-testid="submit"]');
    expect(submit?.disabled).toBe(true);
    expect($('[data-testid="submit-reasons"]')?.textContent).toContain("Explain this answer");
    const rat = $<HTMLTextAreaElement>("#rationale-correctness");
    if (!rat) throw new Error("rationale box");
    rat.focus();
    press("4", {}, rat);
    press("j", {}, rat);
    expect(checked("correctness", 2)).toBe("true");
    expect(checked("correctness", 4)).toBe("false");
    expect($('[data-question="correctness"]')?.classList.contains("current")).toBe(true);
    rat.blur();
    press("4");
    expect(checked("correctness", 4)).toBe("true");
    press("j");
    expect($('[data-question="tests_adequate"]')?.classList.contains("current")).toBe(true);
    press("1");
    press("k");
    expect($('[data-question="correctness"]')?.classList.contains("current")).toBe(true);
    press("5");
    const summary = $<HTMLTextAreaElement>("#answer-summary");
    if (!summary) throw new Error("summary box");
    summary.value = "Correct fix; the tests cover expiry and renewal.";
    summary.dispatchEvent(new Event("input", { bubbles: true }));
    await until(() => $<HTMLButtonElement>('[data-testid="submit"]')?.disabled === false, "valid grade");
    await until(() => $('[data-testid="autosave"]')?.textContent?.includes("Saved") ?? false, "autosave");
    expect(b.calls.filter((c) => c === "saveDraft").length).toBeLessThanOrEqual(2);
    press("Enter", { ctrlKey: true }, summary); // submit works from a text box
    await until(() => $('[data-testid="item-status"]')?.textContent === "In outbox", "submitted");
    expect(b.calls).toContain("submit");
    expect(b.calls).toContain("recordTime");
  });

  it("shows the shortcut sheet on ? and closes it on Escape", async () => {
    await openNewCodeItem(mockBackend());
    press("?", { shiftKey: true });
    expect(document.querySelector('[data-testid="shortcut-sheet"]')).not.toBeNull();
    press("Escape");
    expect(document.querySelector('[data-testid="shortcut-sheet"]')).toBeNull();
  });

  it("goes to sign-in when the backend says unauthenticated", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    await b.signOut(); // token revoked elsewhere
    (target.querySelector('[data-queue-row="a-00004"] .card, [data-queue-row] .card') as HTMLElement).click();
    await until(() => !!$('input[type="password"]'), "sign-in screen");
    expect(target.textContent).toContain("Please sign in again");
  });

  it("renders hostile item content as text", async () => {
    start(mockBackend());
    await until(() => $$("[data-queue-row]").length > 0, "rows");
    const search = $<HTMLInputElement>('input[aria-label="Search queue"]');
    if (!search) throw new Error("search");
    search.value = "Compare answers";
    search.dispatchEvent(new Event("input"));
    await until(() => !!$('[data-queue-row="a-xss"]'), "xss row");
    ($('[data-queue-row="a-xss"] .card') as HTMLElement).click();
    await until(() => !!$('[data-field="answer_a"]'), "chat viewer");
    expect(target.querySelector("img")).toBeNull();
    expect(target.querySelector('[data-testid="item-screen"] script')).toBeNull();
    expect(target.textContent).toContain("<img src=x onerror=window.__xss=1>");
  });
});

describe("App settings", () => {
  it("remaps a key and persists it through the backend", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    (target.querySelector('button[aria-label="Settings"]') as HTMLElement).click();
    flushSync();
    const change = document.querySelector('button[aria-label="Change key for Next question"]') as HTMLElement;
    change.click();
    flushSync();
    press("n");
    (Array.from(document.querySelectorAll(".dialog button")).find((x) => x.textContent === "Save") as HTMLElement).click();
    await until(() => !document.querySelector('[aria-labelledby="st-title"]'), "dialog closed");
    expect((await b.settings()).keymap).toEqual({ next_question: ["n"] });
    press("j");
    expect($('[data-question="correctness"]')?.classList.contains("current")).toBe(true);
    press("n");
    expect($('[data-question="tests_adequate"]')?.classList.contains("current")).toBe(true);
  });
});

describe("App error handling", () => {
  it("a storage failure while autosaving shows a banner and keeps the answer for retry", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    b.failNext("saveDraft", { code: "storage", message: "disk full" });
    press("3");
    await until(() => $('[data-testid="autosave"]')?.textContent?.includes("Not saved") ?? false, "save error");
    expect($('.banner[role="alert"]')?.textContent).toContain("disk full");
    expect(checked("correctness", 3)).toBe("true");
    ($('[data-testid="autosave"] button') as HTMLElement).click();
    await until(() => $('[data-testid="autosave"]')?.textContent?.includes("Saved") ?? false, "saved on retry");
    const item = await b.openItem("a-00000");
    expect(item.draft.answers.correctness).toEqual({ type: "scale", value: 3 });
  });

  it("an invalid submit shows the reason inline", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    press("5");
    press("j");
    press("1");
    const summary = $<HTMLTextAreaElement>("#answer-summary");
    if (!summary) throw new Error("summary");
    summary.value = "Long enough summary for the author to act upon.";
    summary.dispatchEvent(new Event("input", { bubbles: true }));
    await until(() => $<HTMLButtonElement>('[data-testid="submit"]')?.disabled === false, "valid");
    b.failNext("submit", { code: "rejected", message: "Rubric version 3 is retired" });
    ($('[data-testid="submit"]') as HTMLElement).click();
    await until(() => !!$('.side .err[role="alert"]'), "inline error");
    expect($('.side .err[role="alert"]')?.textContent).toContain("Rubric version 3 is retired");
    expect($('[data-testid="item-status"]')?.textContent).not.toBe("In outbox");
  });

  it("senior review: accept needs no feedback, reject does", async () => {
    const b = mockBackend();
    start(b);
    await until(() => $$("[data-queue-row]").length > 0, "rows");
    const search = $<HTMLInputElement>('input[aria-label="Search queue"]');
    if (!search) throw new Error("search");
    search.value = "#5:";
    search.dispatchEvent(new Event("input"));
    await until(() => !!$('[data-queue-row="a-00005"]'), "review row");
    ($('[data-queue-row="a-00005"] .card') as HTMLElement).click();
    await until(() => !!$('[aria-label="Submission under review"]'), "review screen");
    expect($('[aria-label="Submission under review"]')?.textContent).toContain("Checked against the guidelines");
    press("2");
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(true);
    press("1");
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(false);
    press("Enter", { metaKey: true });
    await until(() => $('[data-testid="item-status"]')?.textContent === "In outbox", "sent");
    expect(b.calls).toContain("reviewDecision");
  });

  it("records idle waiting while signed in and present with nothing to work on", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
    try {
      vi.setSystemTime(new Date("2026-11-20T12:00:00Z"));
      const empty = mockBackend({ queueSize: 0 });
      const before = (await empty.earningsSummary({ from: null, to: null, opportunity_id: null })).unpaid.waiting_seconds;
      start(empty);
      await until(() => $('[data-testid="queue-count"]')?.textContent === "0 items", "empty queue");
      await settle();
      for (let i = 0; i < 4; i++) {
        press("Shift"); // presence: any input
        vi.advanceTimersByTime(10_000);
      }
      await settle();
      unmount(app!); // sign-out / close flushes the running span
      app = null;
      await settle();
      expect(empty.calls).toContain("recordWaiting");
      const after = (await empty.earningsSummary({ from: null, to: null, opportunity_id: null })).unpaid.waiting_seconds;
      expect(after - before).toBe(40);

      // With work in the queue, the same presence is not waiting.
      const busy = mockBackend();
      start(busy);
      await until(() => $$("[data-queue-row]").length > 0, "queue rows");
      await settle();
      for (let i = 0; i < 4; i++) {
        press("Shift");
        vi.advanceTimersByTime(10_000);
      }
      unmount(app!);
      app = null;
      await settle();
      expect(busy.calls).not.toContain("recordWaiting");
    } finally {
      vi.useRealTimers();
    }
  });
});
