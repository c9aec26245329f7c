import { describe, expect, it } from "vitest";
import type { Answers } from "../../bindings";
import type { Rubric } from "../../bindings";
import {
  anchorLabel,
  annotationsOn,
  deleteAnnotation,
  editAnnotation,
  questionFor,
  withAnnotation,
} from "./annotations";

const rubric = {
  id: "r",
  version: 1,
  title: "R",
  guidelines: "",
  exclusions: [],
  fields: [],
  questions: [
    { id: "verdict", prompt: "OK?", type: "single_choice", options: [], required: true },
    {
      id: "issues",
      prompt: "Issues",
      type: "annotations",
      fields: ["patch"],
      severities: ["major", "minor"],
      required: false,
    },
  ],
} as unknown as Rubric;
const empty: Answers = {
  answers: { verdict: { type: "single_choice", choice: "y" } },
  rationales: { verdict: "why" },
};

describe("annotations in the draft", () => {
  it("adds to the question that takes the field, keeping the other answers", () => {
    expect(questionFor(rubric, "patch")?.id).toBe("issues");
    expect(
      withAnnotation(rubric, empty, "task", { kind: "clause", number: "1" }, "x", null),
    ).toBeNull();
    const a = withAnnotation(
      rubric,
      empty,
      "patch",
      { kind: "diff_line", file: "f.rs", side: "new", line: 3 },
      "off by one",
      "major",
      "a1",
    );
    expect(a?.answers.verdict).toEqual(empty.answers.verdict);
    expect(a?.rationales).toEqual({ verdict: "why" });
    expect(annotationsOn(rubric, a as Answers, "patch").map((x) => [x.id, x.comment])).toEqual([
      ["a1", "off by one"],
    ]);
    const b = withAnnotation(
      rubric,
      a as Answers,
      "patch",
      { kind: "diff_line", file: "f.rs", side: "old", line: 1 },
      "second",
      null,
      "a2",
    ) as Answers;
    expect(annotationsOn(rubric, b, "patch")).toHaveLength(2);
    const edited = editAnnotation(rubric, b, "a1", "off by two", "minor");
    expect(annotationsOn(rubric, edited, "patch")[0]).toMatchObject({
      id: "a1",
      comment: "off by two",
      severity: "minor",
    });
    expect(
      annotationsOn(rubric, deleteAnnotation(rubric, edited, "a1"), "patch").map((x) => x.id),
    ).toEqual(["a2"]);
    // The input is never changed in place.
    expect(annotationsOn(rubric, b, "patch")[0].comment).toBe("off by one");
  });

  it("names anchors in words", () => {
    expect(anchorLabel({ kind: "diff_line", file: "src/lease.rs", side: "new", line: 9 })).toBe(
      "src/lease.rs:9 (new)",
    );
    expect(anchorLabel({ kind: "clause", number: "7.2" })).toBe("clause 7.2");
    expect(anchorLabel({ kind: "scan_region", frame: 0, x: 1, y: 2, width: 3, height: 4 })).toBe(
      "region on frame 1",
    );
  });
});
