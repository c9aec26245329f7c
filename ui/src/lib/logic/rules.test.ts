import { describe, expect, it } from "vitest";
import { RULES } from "../bindings";
import { DECIDED, EDITABLE, FINISHED, reviewFeedbackProblem } from "./rules";

// The same cases as crates/app/src/rules.rs (`review_feedback_needs_the_minimum_after_trimming`).
describe("rules from Rust", () => {
  it("uses Rust's numbers and lists", () => {
    expect(RULES.review_feedback_min_chars).toBe(10);
    expect([...EDITABLE].sort()).toEqual([
      "draft",
      "needs_revision",
      "new",
      "ready",
      "rubric_changed",
      "submit_failed",
    ]);
    expect(RULES.idle_timeout_s).toEqual({ min: 10, max: null });
    expect(RULES.focus_grace_s).toEqual({ min: 0, max: 3600 });
    expect(RULES.lapsable_statuses).toEqual(["new", "draft", "ready", "needs_revision"]);
    expect([...DECIDED].sort()).toEqual(["accepted", "needs_revision", "rejected"]);
    expect([...DECIDED]).toEqual(RULES.decided_statuses);
    expect([...FINISHED].sort()).toEqual(["accepted", "in_outbox", "rejected", "submitted"]);
    expect([...FINISHED]).toEqual(RULES.finished_statuses);
    expect(RULES.lease_warn_before_s).toBe(900);
  });

  it("judges review feedback as Rust does", () => {
    expect(reviewFeedbackProblem("accept", "")).toBeNull();
    for (const d of ["reject", "request_revision"] as const) {
      expect(reviewFeedbackProblem(d, "")).not.toBeNull();
      expect(reviewFeedbackProblem(d, "   ")).not.toBeNull();
      expect(reviewFeedbackProblem(d, "  too short ")).toContain("at least 10");
      expect(reviewFeedbackProblem(d, "  ten chars! ")).toBeNull();
      expect(reviewFeedbackProblem(d, "ééééééééé")).not.toBeNull();
      expect(reviewFeedbackProblem(d, "éééééééééé")).toBeNull();
      // Astral characters count once (UTF-16 would count 2 each).
      expect(reviewFeedbackProblem(d, "😀😀😀😀😀")).not.toBeNull();
    }
  });
});
