// Component tests of the whole app on the mock backend, in jsdom.
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync } from "svelte";
import { mockBackend, type MockBackend } from "./lib/backend/mock";
import { recorded } from "./lib/backend/replay";
import type { EarningsOverview } from "./lib/bindings";
import { $, $$, press, settle, start, stop, target, until } from "./test-app";

/** Once the queue shows, searches it for `query` and opens row `assignment`. */
async function openBySearch(query: string, assignment: string) {
  await until(() => $$("[data-queue-row]").length > 0, "rows");
  const search = $<HTMLInputElement>('input[aria-label="Search queue"]');
  if (!search) throw new Error("search");
  search.value = query;
  search.dispatchEvent(new Event("input"));
  await until(() => !!$(`[data-queue-row="${assignment}"]`), `row ${assignment}`);
  ($(`[data-queue-row="${assignment}"] .card`) as HTMLElement).click();
}
/** Types `v` into the input `sel` as the user does (an input event). */
const fill = (sel: string, v: string) => {
  const el = $<HTMLInputElement>(sel);
  if (!el) throw new Error(sel);
  el.value = v;
  el.dispatchEvent(new Event("input"));
};
const submit = () =>
  $<HTMLFormElement>("form")?.dispatchEvent(new Event("submit", { cancelable: true }));
const checked = (q: string, v: number) =>
  $(`[data-question="${q}"] [role="radio"]:nth-child(${v})`)?.getAttribute("aria-checked");

/** Starts the app signed out and waits for the sign-in form. */
async function startSignedOut(): Promise<MockBackend> {
  const b = mockBackend({ signedIn: false });
  start(b);
  await until(() => !!$('input[type="password"]'), "sign-in form");
  return b;
}
/** Fills the sign-in form (not submitted). */
const fillSignIn = (url: string, token: string) => {
  fill('input[type="url"]', url);
  fill('input[type="password"]', token);
};

afterEach(() => {
  stop();
  document.body.innerHTML = "";
});

async function openNewCodeItem(b: MockBackend) {
  start(b);
  await until(() => $$("[data-queue-row]").length > 0, "queue rows");
  (target.querySelector('[data-queue-row="a-00000"] .card') as HTMLElement).click();
  await until(() => !!$('[data-testid="item-screen"]'), "item screen");
}

/** Answers the open code item's questions validly; submit is then offered
 *  (the synthetic mock never judges answers). */
async function gradeOpenItem() {
  press("5");
  press("j");
  press("1");
  const summary = $<HTMLTextAreaElement>("#answer-summary");
  if (!summary) throw new Error("summary");
  summary.value = "Long enough summary for the author to act upon.";
  summary.dispatchEvent(new Event("input", { bubbles: true }));
  await until(() => $<HTMLButtonElement>('[data-testid="submit"]')?.disabled === false, "submit");
}

/** Opens a new code item and grades it (see `gradeOpenItem`). */
async function gradeNewCodeItem(b: MockBackend) {
  await openNewCodeItem(b);
  await gradeOpenItem();
}

describe("App", () => {
  it("shows the sign-in screen when signed out and signs in", async () => {
    await startSignedOut();
    fillSignIn("notaurl", "t0k");
    submit();
    await until(() => !!$('[role="alert"]'), "error");
    expect($('[role="alert"]')?.textContent).toContain("Platform URL must start with https://");
    fill('input[type="url"]', "https://work.example.com");
    submit();
    await until(() => !!$('[data-testid="queue-count"]'), "queue");
    expect(document.body.innerHTML).not.toContain("t0k"); // the token is not kept in the DOM
  });

  it("virtualizes a 10,000 item queue", async () => {
    start(mockBackend({ queueSize: 10_000 }));
    await until(() => $('[data-testid="queue-count"]')?.textContent === "10,000 items", "count");
    await until(() => $$("[data-queue-row]").length > 0, "rows");
    expect($$("[data-queue-row]").length).toBeLessThan(60);
  });

  // Grading by keyboard, with Rust's findings and its verdict that the grade
  // is complete, runs on the real app's recorded answers: replay.test.ts.

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
    (
      target.querySelector(
        '[data-queue-row="a-00004"] .card, [data-queue-row] .card',
      ) as HTMLElement
    ).click();
    await until(() => !!$('input[type="password"]'), "sign-in screen");
    expect(target.textContent).toContain("Please sign in again");
  });

  it("renders hostile item content as text", async () => {
    start(mockBackend());
    await openBySearch("Compare answers", "a-xss");
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
    const change = document.querySelector(
      'button[aria-label="Change key for Next question"]',
    ) as HTMLElement;
    change.click();
    flushSync();
    press("h"); // ("n" is next change in a redline)
    (
      Array.from(document.querySelectorAll(".dialog button")).find(
        (x) => x.textContent === "Save",
      ) as HTMLElement
    ).click();
    await until(() => !document.querySelector('[aria-labelledby="st-title"]'), "dialog closed");
    expect((await b.settings()).keymap).toEqual({ next_question: ["h"] });
    press("j");
    expect($('[data-question="correctness"]')?.classList.contains("current")).toBe(true);
    press("h");
    expect($('[data-question="tests_adequate"]')?.classList.contains("current")).toBe(true);
  });
});

describe("App error handling", () => {
  it("a storage failure while autosaving shows a banner and keeps the answer for retry", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    b.failNext("saveDraft", { code: "storage", message: "disk full" });
    press("3");
    await until(
      () => $('[data-testid="autosave"]')?.textContent?.includes("Not saved") ?? false,
      "save error",
    );
    expect($('.banner[role="alert"]')?.textContent).toContain("disk full");
    expect(checked("correctness", 3)).toBe("true");
    ($('[data-testid="autosave"] button') as HTMLElement).click();
    await until(
      () => $('[data-testid="autosave"]')?.textContent?.includes("Saved") ?? false,
      "saved on retry",
    );
    const item = await b.openItem("a-00000");
    expect(item.draft.answers.correctness).toEqual({ type: "scale", value: 3 });
  });

  it("an invalid submit shows the reason inline", async () => {
    const b = mockBackend();
    await gradeNewCodeItem(b);
    b.failNext("submit", { code: "rejected", message: "Rubric version 3 is retired" });
    ($('[data-testid="submit"]') as HTMLElement).click();
    await until(() => !!$('.side .err[role="alert"]'), "inline error");
    expect($('.side .err[role="alert"]')?.textContent).toContain("Rubric version 3 is retired");
    expect($('[data-testid="item-status"]')?.textContent).not.toBe("In outbox");
  });

  it("submitted work turns read-only on the command's answer: no second submit is offered", async () => {
    const b = mockBackend();
    // No sync event reports the new status: the submit's own answer must do.
    const subscribe = b.onSyncState;
    let quiet = false;
    b.onSyncState = (cb) => subscribe((s) => (quiet ? undefined : cb(s)));
    await openNewCodeItem(b);
    quiet = true;
    await gradeOpenItem();
    ($('[data-testid="submit"]') as HTMLElement).click();
    await until(() => $('[data-testid="item-status"]')?.textContent === "In outbox", "sent");
    expect($('[data-testid="submit"]')).toBeNull();
  });

  it("senior review: accept needs no feedback, reject does", async () => {
    const b = mockBackend();
    start(b);
    await openBySearch("#5:", "a-00005");
    await until(() => !!$('[aria-label="Submission under review"]'), "review screen");
    expect($('[aria-label="Submission under review"]')?.textContent).toContain(
      "Checked against the guidelines",
    );
    press("2");
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(true);
    press("1");
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(false);
    press("Enter", { metaKey: true });
    await until(() => $('[data-testid="item-status"]')?.textContent === "In outbox", "sent");
    expect(b.calls).toContain("reviewDecision");
    // Sent work is no longer editable: no submit offered again.
    expect($('[data-testid="submit"]')).toBeNull();
  });

  it("a sync that finishes the upload before the decision's answer arrives wins (no stale 'In outbox')", async () => {
    const b = mockBackend({ syncMs: 20 });
    const decide = b.reviewDecision;
    const subscribe = b.onSyncState;
    let quiet = false; // no sync event after the upload's own, as in the real app
    b.onSyncState = (cb) => subscribe((s) => (quiet ? undefined : cb(s)));
    // Fast loopback: the background upload ends, and its sync event reaches
    // the UI, before the command's own (older) answer does.
    b.reviewDecision = async (id, d) => {
      const answer = await decide(id, d);
      await b.syncNow(() => {});
      await new Promise((res) => setTimeout(res, 50));
      expect($('[data-testid="item-status"]')?.textContent).toBe("Submitted");
      quiet = true;
      return answer;
    };
    start(b);
    await openBySearch("#5:", "a-00005");
    await until(() => !!$('[aria-label="Submission under review"]'), "review screen");
    press("1");
    press("Enter", { ctrlKey: true });
    await until(() => b.calls.includes("reviewDecision"), "decided");
    await new Promise((res) => setTimeout(res, 300));
    await settle();
    expect($('[data-testid="item-status"]')?.textContent).toBe("Submitted");
  });

  it("records idle waiting while signed in and present with nothing to work on", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
    try {
      vi.setSystemTime(new Date("2026-11-20T12:00:00Z"));
      const empty = mockBackend({ queueSize: 0 });
      // What the UI hands over (how Rust counts it is recorded.rs's).
      const waited: number[] = [];
      const recordWaiting = empty.recordWaiting;
      empty.recordWaiting = (span) => {
        waited.push((Date.parse(span.ended_at) - Date.parse(span.started_at)) / 1000);
        return recordWaiting(span);
      };
      start(empty);
      await until(() => $('[data-testid="queue-count"]')?.textContent === "0 items", "empty queue");
      await settle();
      for (let i = 0; i < 4; i++) {
        press("Shift"); // presence: any input
        vi.advanceTimersByTime(10_000);
      }
      await settle();
      stop(); // sign-out / close flushes the running span
      await settle();
      expect(empty.calls).toContain("recordWaiting");
      expect(waited.reduce((t, s) => t + s, 0)).toBe(40);

      // With work in the queue, the same presence is not waiting.
      const busy = mockBackend();
      start(busy);
      await until(() => $$("[data-queue-row]").length > 0, "queue rows");
      await settle();
      for (let i = 0; i < 4; i++) {
        press("Shift");
        vi.advanceTimersByTime(10_000);
      }
      stop();
      await settle();
      expect(busy.calls).not.toContain("recordWaiting");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("state that follows the backend (issue 11, item 5)", () => {
  it("queue rows stop saying 'not downloaded' when the first background sync finishes", async () => {
    const b = mockBackend({ undownloaded: true });
    start(b);
    await until(() => $$("[data-queue-row]").length > 0, "queue rows");
    expect($('[data-queue-row][data-downloaded="true"]')).toBeNull();
    await b.backgroundSync();
    await until(
      () => $('[data-queue-row][data-downloaded="false"]') === null,
      "rows downloaded without a manual sync",
    );
    expect($$('[data-queue-row][data-downloaded="true"]').length).toBeGreaterThan(0);
  });

  it("a background sync that fails offline leaves no progress bar and keeps the Sync button", async () => {
    const b = mockBackend();
    start(b);
    await until(() => !!$('[data-testid="sync-button"]'), "sync button");
    b.backgroundFail();
    await settle();
    expect($('[data-testid="online-badge"]')?.textContent).toContain("Offline");
    expect($('[role="progressbar"]')).toBeNull();
    expect($('[data-testid="sync-phase"]')).toBeNull();
    const button = $<HTMLButtonElement>('[data-testid="sync-button"]');
    expect(button?.disabled).toBe(false);
    expect(button?.textContent).toContain("Retry");
  });

  it("earnings totals refresh when a sync changes the ledger while the screen is open", async () => {
    const b = mockBackend();
    start(b);
    await until(() => !!$('[data-testid="sync-button"]'), "header");
    [...$$("nav button")]
      .find((x) => x.textContent?.trim() === "Earnings")
      ?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    await until(() => !!$('[data-total="pending"]'), "earnings totals");
    const cents = () =>
      Number(($('[data-total="pending"]')?.textContent ?? "").replace(/[^0-9]/g, ""));
    const ok = (label: string) => recorded("earnings_overview", label)[0]?.ok as EarningsOverview;
    expect(cents()).toBe(ok("earnings").pending_cents);
    // The ledger Rust read after its first upload: more pending pay.
    const after = ok("earnings after the upload").pending_cents;
    expect(after).toBeGreaterThan(cents());
    await b.backgroundSync({ ledger: true });
    await until(
      () => cents() === after,
      "pending total grew to what Rust answered after the upload",
    );
  });

  it("first sign-in says what is wrong: a refused token, an unreachable URL", async () => {
    await startSignedOut();
    fillSignIn("https://work.example.com", "bad");
    submit();
    await until(() => !!$('[role="alert"]'), "error");
    const refused = $('[role="alert"]')?.textContent ?? "";
    expect(refused).toContain("did not accept this token");
    expect(refused).not.toContain("Please sign in again");
    fillSignIn("https://unreachable.example.com", "t0k");
    submit();
    await until(
      () => ($('[role="alert"]')?.textContent ?? "").includes("Could not reach"),
      "unreachable error",
    );
    expect($('[role="alert"]')?.textContent).not.toMatch(/work is kept|Offline —/);
  });

  it("sign out says it revokes the token on the platform and asks first", async () => {
    const b = mockBackend();
    start(b);
    await until(() => !!$('[data-testid="sign-out"]'), "sign-out button");
    $('[data-testid="sign-out"]')?.click();
    await settle();
    const dialog = $('[data-testid="sign-out-dialog"]');
    expect(dialog?.textContent).toContain("revokes your access token on the platform");
    // Cancel keeps the session.
    [...(dialog?.querySelectorAll("button") ?? [])]
      .find((x) => x.textContent === "Cancel")
      ?.click();
    await settle();
    expect($('[data-testid="sign-out-dialog"]')).toBeNull();
    expect(b.calls).not.toContain("signOut");
    $('[data-testid="sign-out"]')?.click();
    await settle();
    $('[data-testid="sign-out-confirm"]')?.click();
    await until(() => !!$('input[type="password"]'), "sign-in form after signing out");
    expect(b.calls).toContain("signOut");
  });
});

describe("the sync strip always says where the reviewer stands (issue 11)", () => {
  it("while the first read of the sync state is under way the strip says so, with a Sync button", async () => {
    const b = mockBackend();
    const read = b.syncState;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    // A loaded machine: the queue answers before the sync state does.
    b.syncState = async () => {
      await held;
      return read();
    };
    start(b);
    await until(() => $$("[data-queue-row]").length > 0, "queue rows");
    expect($('[data-testid="sync-state"]')?.textContent).toContain("Checking sync");
    expect($<HTMLButtonElement>('[data-testid="sync-button"]')?.disabled).toBe(false);
    release();
    await until(() => !!$('[data-testid="online-badge"]'), "online badge");
    expect($('[data-testid="sync-checking"]')).toBeNull();
  });

  it("a failed first read is shown in the strip and retried until the state is known", async () => {
    const b = mockBackend();
    b.failNext("syncState", { code: "storage", message: "database is locked" });
    start(b);
    await until(() => $$("[data-queue-row]").length > 0, "queue rows");
    await until(
      () => ($('[data-testid="sync-error"]')?.textContent ?? "").includes("database is locked"),
      "the read's failure in the strip",
    );
    await until(() => !!$('[data-testid="online-badge"]'), "online badge after the retry", 300);
    expect($('[data-testid="sync-error"]')).toBeNull();
    expect($('[data-testid="pending"]')?.textContent).toContain("pending");
  });

  it("after signing in with the form, a failed read is not silently blank either", async () => {
    const b = await startSignedOut();
    fillSignIn("https://work.example.com", "t0k");
    b.failNext("syncState", { code: "internal", message: "the webview lost the answer" });
    submit();
    await until(() => !!$('[data-testid="queue-count"]'), "queue");
    await until(() => !!$('[data-testid="online-badge"]'), "online badge after the retry", 300);
  });
});

describe("keyboard in the queue (issue 11, item 8)", () => {
  it("arrow keys move between queue rows without changing the open item's question", async () => {
    const b = mockBackend();
    start(b);
    await until(() => $$("[data-queue-row]").length > 2, "queue rows");
    const cards = () => [...$$("[data-queue-row] .card")] as HTMLElement[];
    cards()[0].focus();
    const first = cards()[0].closest("[data-queue-row]")?.getAttribute("data-queue-row");
    press("ArrowDown", {}, cards()[0]);
    await settle();
    const focused = (document.activeElement as HTMLElement | null)
      ?.closest("[data-queue-row]")
      ?.getAttribute("data-queue-row");
    expect(focused).toBeTruthy();
    expect(focused).not.toBe(first);
    press("ArrowUp", {}, document.activeElement as HTMLElement);
    await settle();
    expect(
      (document.activeElement as HTMLElement | null)
        ?.closest("[data-queue-row]")
        ?.getAttribute("data-queue-row"),
    ).toBe(first);
  });
});

// Validation timing (issue 11, item 8) shows Rust's findings: replay.test.ts.

// ---- issue 18: assay:// links (Rust checks them; the UI acts on the outcome) ----
describe("App links", () => {
  it("opens a linked assignment, shows a refused link's reason, and signs in by code", async () => {
    const b = mockBackend();
    start(b);
    await until(() => $$("[data-queue-row]").length > 0, "queue rows");
    b.receiveLinks([{ outcome: "open", link: { kind: "assignment", id: "a-00001" } }]);
    await until(() => !!$('[data-testid="item-screen"]'), "the linked item");
    expect(b.calls).toContain("takeLinks");
    b.receiveLinks([
      {
        outcome: "refused",
        message:
          "This link was refused: the link climbs out of its path (`..`). Nothing was changed.",
      },
    ]);
    await until(() => !!$(".banner"), "banner");
    expect($(".banner")?.textContent).toContain("climbs out of its path");
  });

  it("signed out: a link's assignment waits for sign-in; a sign-in link signs in", async () => {
    const b = mockBackend({ signedIn: false });
    b.receiveLinks([{ outcome: "open", link: { kind: "assignment", id: "a-00001" } }]);
    const signInLink = (code: string) =>
      b.receiveLinks([
        { outcome: "open", link: { kind: "sign_in", platform: "https://work.example.org", code } },
      ]);
    start(b);
    await until(
      () => (target.textContent ?? "").includes("Sign in to open the linked assignment."),
      "notice",
    );
    signInLink("used-code-0000000");
    await until(
      () => (target.textContent ?? "").includes("already used or expired"),
      "refused code",
    );
    signInLink("fresh-code-0000000");
    await until(() => !!$('[data-testid="item-screen"]'), "signed in, linked item open");
    expect(b.calls).toContain("signInWithCode");
  });
});

describe("native menu, updates and notification settings (issue 18)", () => {
  it("menu entries open settings and shortcuts and sync", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    b.menuAction("shortcuts");
    await until(() => !!document.querySelector(".dialog"), "shortcut sheet");
    press("Escape");
    await until(() => !document.querySelector(".dialog"), "sheet closed");
    b.menuAction("settings");
    await until(() => !!document.querySelector('[aria-labelledby="st-title"]'), "settings");
    const before = b.calls.filter((c) => c === "syncNow").length;
    (
      Array.from(document.querySelectorAll(".dialog button")).find(
        (x) => x.textContent === "Cancel",
      ) as HTMLElement | undefined
    )?.click();
    b.menuAction("sync_now");
    await until(() => b.calls.filter((c) => c === "syncNow").length > before, "sync from the menu");
  });

  it("turns notifications off and saves the interval through the backend", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    (target.querySelector('button[aria-label="Settings"]') as HTMLElement).click();
    flushSync();
    const box = document.querySelector('[data-testid="notifications-setting"]') as HTMLInputElement;
    expect(box.checked).toBe(true);
    box.click();
    flushSync();
    (
      Array.from(document.querySelectorAll(".dialog button")).find(
        (x) => x.textContent === "Save",
      ) as HTMLElement
    ).click();
    await until(() => !document.querySelector('[aria-labelledby="st-title"]'), "dialog closed");
    const saved = await b.settings();
    expect(saved.notifications).toBe(false);
    expect(saved.notify_interval_s).toBe(600);
  });

  it("a newer version is shown at start and installed only on confirmation", async () => {
    const b = mockBackend();
    b.offerUpdate({
      current_version: "0.1.0",
      version: "0.2.0",
      notes: "Faster diffs.",
      pub_date: null,
      target: "linux-x86_64-deb",
      size: 15_000_000,
    });
    await openNewCodeItem(b);
    await until(() => !!$('[data-testid="update-available"]'), "update button");
    expect(b.calls).not.toContain("installUpdate");
    ($('[data-testid="update-available"]') as HTMLElement).click();
    await until(() => !!document.querySelector('[data-testid="update-version"]'), "offer");
    expect(document.querySelector('[data-testid="update-notes"]')?.textContent).toBe(
      "Faster diffs.",
    );
    (document.querySelector('[data-testid="update-install"]') as HTMLElement).click();
    await until(() => !!document.querySelector('[data-testid="update-restarting"]'), "installed");
    expect(document.querySelector('[data-testid="update-restarting"]')?.textContent).toContain(
      "0.2.0",
    );
  });

  it("a refused update shows Rust's reason; up to date says so", async () => {
    const b = mockBackend();
    await openNewCodeItem(b);
    b.menuAction("check_for_updates");
    await until(
      () => !!document.querySelector('[data-testid="update-dialog"] [role="status"]'),
      "checked",
    );
    await until(
      () =>
        !!document
          .querySelector('[data-testid="update-dialog"]')
          ?.textContent?.includes("is the latest version"),
      "up to date",
    );
    (
      Array.from(document.querySelectorAll(".dialog button")).find(
        (x) => x.textContent === "Close",
      ) as HTMLElement
    ).click();
    await until(() => !document.querySelector('[data-testid="update-dialog"]'), "closed");
    b.failNext("checkForUpdate", {
      code: "rejected",
      message: "The update server answered with a web page (HTML), not an update manifest.",
    });
    b.menuAction("check_for_updates");
    await until(() => !!document.querySelector('[data-testid="update-error"]'), "refusal");
    const shown = document.querySelector('[data-testid="update-error"]')?.textContent ?? "";
    expect(shown).toContain("web page (HTML)");
    // Assay refused it, not the platform: Rust's sentence, no platform prefix.
    expect(shown).not.toContain("The platform refused this");
  });
});
