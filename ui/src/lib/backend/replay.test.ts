// The replay backend answers with what the real app answered on the demo
// data (fixtures/demo.json, recorded by crates/app/tests/recorded.rs): the
// findings, errors and states below are Rust's, not the UI's.
import { describe, expect, it } from "vitest";
import type { Answers, OpenedItem, ReviewInput, Settings, TimeSpan } from "../bindings";
import { ALL_QUEUE } from "./test-filters";
import { RULES } from "../bindings";
import { canonical, DEMO, recorded, replayBackend } from "./replay";

const all = ALL_QUEUE;

/** The arguments a recorded call was made with. */
function argsOf(command: string, label: string) {
  const [c] = recorded(command, label);
  if (!c) throw new Error(`no recorded ${command} labelled ${label}`);
  return c.args as {
    assignmentId: string;
    answers: Answers;
    input: ReviewInput;
    settings: Settings;
  };
}

describe("replay backend (the real app's recorded answers)", () => {
  it("keys calls by canonical arguments: object key order does not matter", () => {
    expect(canonical({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      canonical({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
    expect(canonical({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it("starts signed in to the demo platform with the demo queue, windowed", async () => {
    const b = replayBackend();
    const s = await b.session();
    expect(s.signed_in).toBe(true);
    expect(s.expert?.email).toBe("demo@assay.dev");
    const page = await b.queuePage(all, 0, 500);
    expect(page.total).toBeGreaterThanOrEqual(8);
    const window = await b.queuePage(all, 2, 3);
    expect(window.offset).toBe(2);
    expect(window.rows).toEqual(page.rows.slice(2, 5));
    expect(window.total).toBe(page.total);
  });

  it("opens an item of every kind the demo has, each with its viewer", async () => {
    const b = replayBackend();
    const page = await b.queuePage(all, 0, 500);
    const kinds = new Set<string>();
    for (const row of page.rows.filter((r) => r.downloaded)) {
      let item: OpenedItem;
      try {
        item = await b.openItem(row.assignment_id);
      } catch {
        continue; // recorded as an error (e.g. work no longer the reviewer's)
      }
      for (const v of item.views) kinds.add(v.kind);
    }
    for (const k of ["diff", "scan", "series", "legal_redline"]) expect(kinds).toContain(k);
  });

  it("an incomplete draft is kept with Rust's findings; submit is refused with Rust's reason", async () => {
    const b = replayBackend();
    const { assignmentId, answers } = argsOf("save_draft", "empty");
    const saved = await b.saveDraft(assignmentId, answers);
    expect(saved.validation.ok).toBe(false);
    expect(saved.validation.issues.length).toBeGreaterThan(0);
    expect(saved.validation.issues.every((i) => i.message.length > 0)).toBe(true);
    expect(saved).toEqual(recorded("save_draft", "empty")[0].ok);
    const err = recorded("submit", "empty")[0].err;
    expect(err?.code).toBe("invalid");
    await expect(b.submit(assignmentId, answers)).rejects.toEqual(err);
  });

  it("a valid grade is saved ready, submitted to the outbox, then read-only", async () => {
    const b = replayBackend();
    const { assignmentId, answers } = argsOf("save_draft", "valid");
    // Keys in another order are the same call.
    const reordered: Answers = {
      rationales: answers.rationales,
      answers: Object.fromEntries(Object.entries(answers.answers).reverse()),
    };
    const saved = await b.saveDraft(assignmentId, reordered);
    expect(saved.validation.ok).toBe(true);
    expect(saved.status).toBe("ready");
    const opened = await b.openItem(assignmentId);
    expect(opened.status).toBe("ready");
    expect(opened.editable).toBe(true);
    expect((await b.submit(assignmentId, answers)).status).toBe("in_outbox");
    await expect(b.submit(assignmentId, answers)).rejects.toMatchObject({ code: "not_editable" });
    await expect(b.saveDraft(assignmentId, answers)).rejects.toMatchObject({
      code: "not_editable",
    });
    const after = await b.openItem(assignmentId);
    expect(after.editable).toBe(false);
    expect(after.status).toBe("submitted"); // the recorder waited for the upload
  });

  it("review feedback below Rust's minimum is refused in Rust's words", async () => {
    const b = replayBackend();
    const { assignmentId, input } = argsOf("review_decision", "revision with short feedback");
    expect([...(input.feedback ?? "")].length).toBe(RULES.review_feedback_min_chars - 1);
    const err = await b.reviewDecision(assignmentId, input).catch((e) => e);
    expect(err.code).toBe("invalid");
    expect(err.message).toContain(`at least ${RULES.review_feedback_min_chars}`);
    const ok = argsOf("review_decision", "reject with feedback");
    expect((await b.reviewDecision(ok.assignmentId, ok.input)).status).toBe("in_outbox");
  });

  it("settings outside Rust's bounds are refused; within them saved", async () => {
    const b = replayBackend();
    const below = argsOf("save_settings", "idle timeout below the minimum").settings;
    expect(below.idle_timeout_s).toBe(RULES.idle_timeout_s.min - 1);
    await expect(b.saveSettings(below)).rejects.toMatchObject({ code: "invalid" });
    const at = argsOf("save_settings", "idle timeout at the minimum").settings;
    expect(await b.saveSettings(at)).toEqual(at);
  });

  it("earnings follow the recorded state changes: idle waiting, then an upload", async () => {
    const b = replayBackend();
    const q = { from: null, to: null, opportunity_id: null };
    const ok = (label: string) => recorded("earnings_overview", label)[0].ok;
    expect(await b.earningsOverview(q)).toEqual(ok("earnings"));
    const [waited] = recorded("record_waiting");
    await b.recordWaiting((waited.args as { span: TimeSpan }).span);
    expect(await b.earningsOverview(q)).toEqual(ok("earnings after idle waiting"));
    // A test hook moves the replay to a later change, as if the UI made it.
    b.seek("submit", "valid");
    expect(await b.earningsOverview(q)).toEqual(ok("earnings after the upload"));
    expect(() => b.seek("submit", "no such label")).toThrow(/No recorded state change/);
  });

  it("a call the recording does not hold is refused by name, never made up", async () => {
    const b = replayBackend();
    const err = await b
      .saveDraft("no-such-assignment", { answers: {}, rationales: {} })
      .catch((e) => e);
    expect(err.code).toBe("internal");
    expect(err.message).toContain("save_draft");
    expect(err.message).toContain("recorded.rs");
  });

  it("the recording was made under the rules the UI is generated with", () => {
    expect((DEMO as unknown as { rules: unknown }).rules).toEqual(RULES);
  });
});
