// The whole app on the replay backend: what the item screen shows about
// answers, review decisions and refusals is what the real app answered on
// the demo data (crates/app/tests/recorded.rs), not a TypeScript copy.
import { afterEach, describe, expect, it } from "vitest";
import type { OpenedItem, QueuePage, ReviewInput } from "./lib/bindings";
import { recorded, replayBackend } from "./lib/backend/replay";
import { $, $$, press, settle, start, stop, until } from "./test-app";

afterEach(() => {
  stop();
  document.body.innerHTML = "";
});

/** What the real app answered when the recorder first opened `id`. */
function openedAtFirst(id: string): OpenedItem {
  const c = recorded("open_item", "opened").find((x) => x.args.assignmentId === id);
  if (!c?.ok) throw new Error(`no recorded opening of ${id}`);
  return c.ok as OpenedItem;
}

async function openRow(id: string) {
  await until(() => $$("[data-queue-row]").length > 0, "queue rows");
  await until(() => !!$(`[data-queue-row="${id}"] .card`), `row ${id}`);
  ($(`[data-queue-row="${id}"] .card`) as HTMLElement).click();
  await until(() => !!$('[data-testid="item-screen"]'), "item screen");
  await settle();
}

describe("App on the real app's recorded answers", () => {
  it("a submit attempt on an unanswered demo item lists Rust's findings, in Rust's words", async () => {
    // The first unanswered grade in the demo queue (near the top: jsdom shows few rows).
    const page = recorded("queue_page", "the whole queue")[0].ok as QueuePage;
    const row = page.rows.find((r) => r.kind === "grade" && r.status === "new" && r.downloaded);
    if (!row) throw new Error("no new grade in the demo queue");
    const id = row.assignment_id;
    const item = openedAtFirst(id);
    const errors = item.validation.issues.filter((i) => i.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    const b = replayBackend();
    start(b);
    await openRow(id);
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(true);
    // Nothing is red on opening; a submit attempt shows every finding.
    expect($$(".q .issues").length).toBe(0);
    press("Enter", { ctrlKey: true });
    await settle();
    const shown = [...$$(".q .issues")].map((e) => e.textContent ?? "").join("\n");
    for (const issue of errors) expect(shown).toContain(issue.message);
    // Nothing was sent: an invalid grade never reaches submit.
    expect(b.calls).not.toContain("submit");
  });

  it("senior review: a reject waits for feedback, then shows the status Rust recorded once it is uploaded", async () => {
    const short = recorded("review_decision", "revision with short feedback")[0];
    const id = short.args.assignmentId as string;
    const b = replayBackend();
    start(b);
    await openRow(id);
    await until(() => !!$('[aria-label="Submission under review"]'), "review screen");
    press("2"); // reject: needs feedback first
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(true);
    const feedback = recorded("review_decision", "reject with feedback")[0].args
      .input as ReviewInput;
    const box = $<HTMLTextAreaElement>("#review-feedback");
    if (!box) throw new Error("feedback box");
    box.value = feedback.feedback ?? "";
    box.dispatchEvent(new Event("input", { bubbles: true }));
    await settle();
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(false);
    ($('[data-testid="submit"]') as HTMLElement).click();
    // The decision's own answer is "in outbox"; the sync it triggers reports the
    // upload, which is newer, so the screen ends on Rust's "submitted".
    await until(() => $('[data-testid="item-status"]')?.textContent === "Submitted", "sent");
    expect(b.calls).toContain("review_decision");
  });
});
