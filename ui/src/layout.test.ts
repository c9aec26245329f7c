// The item screen's layout and the polish the tour found (issue 11, items
// 7 and 8): whole app on the mock backend, in jsdom. Several tests mount the
// app twice (to prove what is remembered): they get a longer timeout.
import { afterEach, describe, expect, it } from "vitest";
import { flushSync } from "svelte";
import Preview from "./lib/components/Preview.svelte";
import { mockBackend, type MockBackend } from "./lib/backend/mock";
import {
  $,
  $$,
  mounted,
  mountIn,
  press,
  settle,
  start,
  stop,
  until as waitUntil,
} from "./test-app";

/** Whole-app mounts here run twice per test: waits are 50% longer. */
function until(cond: () => boolean, what: string) {
  return waitUntil(cond, what, 150);
}

afterEach(() => {
  stop();
  document.body.innerHTML = "";
  localStorage.clear();
});

/** Opens the queue row `id` (searching for its title first when given). */
async function open(b: MockBackend, id: string, search?: string) {
  if (!mounted()) start(b);
  await until(() => $$("[data-queue-row]").length > 0, "queue rows");
  if (search) {
    const s = $<HTMLInputElement>('input[aria-label="Search queue"]');
    if (!s) throw new Error("search box");
    s.value = search;
    s.dispatchEvent(new Event("input", { bubbles: true }));
  }
  await until(() => !!$(`[data-queue-row="${id}"] .card`), `row ${id}`);
  $(`[data-queue-row="${id}"] .card`)?.click();
  await until(() => $('[data-testid="item-screen"]')?.dataset.assignment === id, `item ${id}`);
}

/** Starts the app on `b` and narrows the queue with the status chip `label`. */
async function startOnChip(b: MockBackend, label: string) {
  start(b);
  await until(() => $$("[data-queue-row]").length > 0, "queue rows");
  $$(".chips button")
    .find((x) => x.textContent?.startsWith(label))
    ?.click();
}

describe("the item screen's layout", () => {
  it("puts the diff first on the canvas; context panels fold and stay folded", async () => {
    const b = mockBackend();
    await open(b, "a-00000");
    const viewers = $$('[aria-label="Item content"] [data-viewer]');
    expect(viewers[0].dataset.field).toBe("patch");
    expect($('[data-testid="canvas"] [data-field="patch"]')).not.toBeNull();
    const fold = () => $('[data-testid="context"] [data-field="description"] button.fold');
    expect(fold()?.getAttribute("aria-expanded")).toBe("true");
    fold()?.click();
    flushSync();
    expect($('[data-field="description"]')?.dataset.collapsed).toBe("true");
    expect($('[data-field="description"] .md')).toBeNull();
    // Another session of the app: still folded.
    stop();
    await open(b, "a-00000");
    expect($('[data-field="description"]')?.dataset.collapsed).toBe("true");
    expect($('[data-field="tests"]')?.dataset.collapsed).toBe("false");
  }, 120_000);

  it("opens diffs as the reviewer prefers, whatever the rubric suggests", async () => {
    const b = mockBackend();
    await open(b, "a-00000");
    await until(() => !!$('[aria-label="Diff layout"]'), "diff");
    const pressed = () =>
      $('[aria-label="Diff layout"] button[aria-pressed="true"]')?.textContent?.trim();
    // The mock rubric suggests side by side; the reviewer's setting is unified.
    expect(pressed()).toBe("Unified");
    expect($('[data-testid="diff-mode-hint"]')?.textContent).toContain("side by side");
    stop();
    await b.saveSettings({ ...(await b.settings()), diff_mode: "split" });
    await open(b, "a-00000");
    await until(() => !!$('[aria-label="Diff layout"]'), "diff");
    expect(pressed()).toBe("Side by side");
  }, 120_000);

  it("docks the guidelines beside the item (not over it) and remembers it", async () => {
    const b = mockBackend();
    await open(b, "a-00000");
    press("g");
    const dock = $('[data-testid="guidelines"]');
    expect(dock).not.toBeNull();
    expect(dock?.getAttribute("role")).not.toBe("dialog");
    expect(dock?.getAttribute("aria-modal")).toBeNull();
    expect(dock?.querySelector("h1, h2, h3, [role=heading]")).not.toBeNull();
    expect(dock?.textContent).not.toContain("**");
    // The item and the rubric stay usable beside it.
    expect($('[aria-label="Item content"]')).not.toBeNull();
    expect($('[data-question="correctness"]')).not.toBeNull();
    stop();
    await open(b, "a-00000");
    expect($('[data-testid="guidelines"]')).not.toBeNull();
    press("g");
    expect($('[data-testid="guidelines"]')).toBeNull();
  }, 120_000);

  it("shows pairwise answers side by side, the prompt as context", async () => {
    const b = mockBackend();
    await open(b, "a-00007", "Assistant #7:");
    const pair = $('[data-testid="pair"]');
    expect(
      [...(pair?.querySelectorAll<HTMLElement>("[data-field]") ?? [])].map((e) => e.dataset.field),
    ).toEqual(["answer_a", "answer_b"]);
    expect($('[data-testid="context"] [data-field="prompt"]')).not.toBeNull();
  }, 120_000);

  it("resizes the rubric panel from the keyboard and remembers the width", async () => {
    const b = mockBackend();
    await open(b, "a-00000");
    const handle = () => $('[data-testid="side-resizer"]');
    const before = Number(handle()?.getAttribute("aria-valuenow"));
    handle()?.dispatchEvent(
      new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true, cancelable: true }),
    );
    flushSync();
    expect(Number(handle()?.getAttribute("aria-valuenow"))).toBe(before + 20);
    stop();
    await open(b, "a-00000");
    expect(Number(handle()?.getAttribute("aria-valuenow"))).toBe(before + 20);
  }, 120_000);
});

describe("the legal redline at clause level", () => {
  it("steps through the changed clauses with n / Shift+N and hides the unchanged ones", async () => {
    const b = mockBackend();
    await open(b, "a-00001", "NDA #1:");
    const position = () => $('[data-testid="change-position"]')?.textContent;
    expect(position()).toBe("6 changed clauses");
    const current = () => $(".clause.current")?.dataset.clause;
    press("n");
    expect(current()).toBe("1.1");
    expect(position()).toBe("Change 1 of 6");
    press("n");
    press("n");
    expect(current()).toBe("2.2");
    press("N", { shiftKey: true });
    expect(current()).toBe("2.1");
    // A rewritten clause: the old wording, then the new, not interleaved.
    const c42 = $('[data-clause="4.2"]');
    expect(c42?.querySelector('[data-testid="rewritten-was"] del')?.textContent).toContain(
      "bears its own costs",
    );
    expect(c42?.querySelector('[data-testid="rewritten-now"] ins')?.textContent).toContain(
      "indemnifies",
    );
    // Changed clauses only (remembered).
    $<HTMLInputElement>('[data-testid="changed-only"]')?.click();
    flushSync();
    expect($$("[data-clause]").map((e) => e.dataset.clause)).toEqual([
      "1.1",
      "2.1",
      "2.2",
      "4.2",
      "5.3",
      "6",
    ]);
    expect(
      $$('[data-testid="unchanged-gap"]').map((e) => e.textContent?.trim().split(" hidden")[0]),
    ).toEqual(["⋯ 1 unchanged clause", "⋯ 2 unchanged clauses"]);
    stop();
    await open(b, "a-00001", "NDA #1:");
    expect($$("[data-clause]")).toHaveLength(6);
  }, 120_000);
});

describe("polish the tour found", () => {
  it("finished work shows no deadlines and never says 'not downloaded'", async () => {
    const b = mockBackend({ undownloaded: true });
    start(b);
    await until(() => $$("[data-queue-row]").length > 0, "queue rows");
    const chip = (label: string) =>
      $$(".chips button").find((x) => x.textContent?.startsWith(label));
    const rowsAre = (status: string) =>
      until(
        () =>
          $$("[data-queue-row]").length > 0 &&
          $$("[data-queue-row]").every((r) => r.dataset.status === status),
        `${status} rows`,
      );
    chip("New")?.click();
    await rowsAre("new");
    // Work still to do needs its content: said on the row.
    expect(
      $$("[data-queue-row]").every((r) => r.querySelector('[data-testid="not-downloaded"]')),
    ).toBe(true);
    chip("New")?.click();
    chip("Accepted")?.click();
    await rowsAre("accepted");
    // Finished work opens with what the store has: nothing to download.
    expect($$('[data-queue-row] [data-testid="not-downloaded"]')).toHaveLength(0);
    $$("[data-queue-row] .card")[0].click();
    await until(() => !!$('[data-testid="outcome"]'), "outcome");
    expect($('[data-testid="due"]')).toBeNull();
    expect($('[data-testid="lease"]')).toBeNull();
    expect($(".due.overdue")).toBeNull();
    // "Submitted … · 7m 40s active · decided …", separators spaced.
    expect($('[data-testid="outcome-times"]')?.textContent).toMatch(
      /^Submitted \S+ \S+ · \d.* active · decided /,
    );
  }, 120_000);

  it("finished work shows each rationale whole, as sent, without the rule for writing it", async () => {
    const b = mockBackend();
    await startOnChip(b, "Accepted");
    await until(
      () =>
        $$("[data-queue-row]").length > 0 &&
        $$("[data-queue-row]").every((r) => r.dataset.status === "accepted"),
      "accepted rows",
    );
    let sent: HTMLElement[] = [];
    for (const row of $$("[data-queue-row]")) {
      const id = row.dataset.queueRow;
      row.querySelector<HTMLElement>(".card")?.click();
      await until(
        () =>
          $('[data-testid="item-screen"]')?.dataset.assignment === id &&
          !!$('[data-testid="outcome"]'),
        `item ${id}`,
      );
      await settle();
      sent = $$('[aria-label="Rubric questions"] .rationale.sent');
      if (sent.length) break;
    }
    expect(sent.length).toBeGreaterThan(0);
    for (const p of sent) {
      const q = p.closest<HTMLElement>("[data-question]")?.dataset.question ?? "";
      const opened = await b.openItem($('[data-testid="item-screen"]')?.dataset.assignment ?? "");
      expect(p.textContent).toBe(opened.draft.rationales[q]);
      // The sent text, not a greyed box that cuts it off; no "required · min N".
      expect(p.closest(".rat")?.textContent).not.toContain("required");
    }
    expect($$('[aria-label="Rubric questions"] .rat textarea')).toHaveLength(0);
  }, 120_000);

  it("a revision names the submission it revises with a space", async () => {
    await startOnChip(mockBackend(), "Needs revision");
    await until(
      () => !!$('[data-queue-row][data-status="needs_revision"][data-kind="grade"] .card'),
      "revision row",
    );
    $('[data-queue-row][data-status="needs_revision"][data-kind="grade"] .card')?.click();
    await until(() => !!$('[data-testid="revision-panel"]'), "revision panel");
    expect($('[data-testid="revision-panel"]')?.textContent).toMatch(
      /^Revision of your submission from \d{4}-\d\d-\d\d \d\d:\d\d: your answers/,
    );
  }, 120_000);

  it("settings name keys as the platform does (Ctrl, not Mod) and offer the diff layout", async () => {
    const b = mockBackend();
    start(b);
    await until(() => !!$('button[aria-label="Settings"]'), "settings button");
    $('button[aria-label="Settings"]')?.click();
    await until(() => !!$('[aria-labelledby="st-title"]'), "settings");
    const text = $('[aria-labelledby="st-title"]')?.textContent ?? "";
    expect(text).toContain("Ctrl+Enter");
    expect(text).not.toContain("Mod+");
    expect($<HTMLSelectElement>('[data-testid="diff-mode-setting"]')?.value).toBe("unified");
  }, 120_000);

  it("a preview finding reads: where, what, then the rule", async () => {
    const b = mockBackend();
    mountIn(Preview, {
      backend: b,
      settings: await b.settings(),
      onError: (e: unknown) => {
        throw e;
      },
    });
    await b.previewChooseRubric();
    await b.previewChooseSamples();
    await settle();
    $<HTMLFormElement>("form")?.dispatchEvent(new Event("submit", { cancelable: true }));
    await until(() => $$('[data-testid="lint-finding"]').length > 0, "findings");
    b.breakPreview();
    await until(() => $$('[data-testid="lint-finding"]').length > 1, "syntax finding");
    const first = $$('[data-testid="lint-finding"]')[0].textContent?.replace(/\s+/g, " ").trim();
    expect(first).toBe(
      "Error line 3, column 9: TOML parse error at line 3, column 9: expected `=` [syntax]",
    );
  }, 120_000);
});
