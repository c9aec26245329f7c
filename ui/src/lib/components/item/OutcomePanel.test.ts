// The outcome of finished work: what it earned or lost, in words.
import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import type { OpenedItem } from "../../backend/types";
import type { PayLine } from "../../bindings";
import OutcomePanel from "./OutcomePanel.svelte";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

function show(outcome: "accepted" | "rejected", pay: PayLine[]) {
  const item = {
    assignment_id: "a-1",
    kind: "grade",
    preview: false,
    revision: false,
    rubric: { questions: [] },
    submission: {
      submission_id: "sub-2",
      submitted_at: "2026-12-01T20:03:00Z",
      outcome,
      feedback: null,
      decided_at: "2026-12-01T20:04:00Z",
      answers: { answers: {}, rationales: {} },
      summary: [],
      active_seconds: 60,
      pay,
    },
  } as unknown as OpenedItem;
  app = mount(OutcomePanel, {
    target: document.body,
    props: { it: item, answers: { answers: {}, rationales: {} }, readonly: true },
  });
  flushSync();
}
const texts = (sel: string) =>
  [...document.querySelectorAll(sel)].map((e) => e.textContent?.trim() ?? "");

describe("OutcomePanel pay", () => {
  it("an accepted resubmission shows what it earned, not the sent-back version's pay as lost", () => {
    // Newest first, as the app sends them: the resubmission's entry, then the
    // first version's, reversed when it was sent back for revision.
    show("accepted", [
      { submission_id: "sub-2", amount_cents: 1800, currency: "USD", status: "accepted" },
      { submission_id: "sub-1", amount_cents: 1800, currency: "USD", status: "reversed" },
    ]);
    expect(texts('[data-testid="outcome-pay"]')).toEqual(["Earned $18.00"]);
    expect(document.body.textContent).not.toContain("Lost");
    expect(texts('[data-testid="outcome-pay-earlier"]')[0]).toContain(
      "Earlier version sent back for revision",
    );
  });

  it("a rejection's own pay is shown as lost", () => {
    show("rejected", [
      { submission_id: "sub-2", amount_cents: 1800, currency: "USD", status: "reversed" },
    ]);
    expect(texts('[data-testid="outcome-pay"]')).toEqual(["Lost $18.00"]);
    expect(document.querySelector('[data-testid="outcome-pay-earlier"]')).toBeNull();
  });
});
