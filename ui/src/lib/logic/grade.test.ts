import { describe, expect, it } from "vitest";
import type { ErrorCode, Question } from "../bindings";
import { OPPORTUNITIES } from "../backend/mockdata";
import { describeError, type ErrorReaction, REACTIONS, reactionOf, toAppError } from "./errors";
import { asAnswers, pick, pickCount } from "./grade";

const code = OPPORTUNITIES[0].rubric;
const chat = OPPORTUNITIES[3].rubric;
const q = (r: typeof code, id: string): Question => {
  const x = r.questions.find((y) => y.id === id);
  if (!x) throw new Error(id);
  return x;
};

describe("digit picks", () => {
  it("maps 1–9 onto each question type", () => {
    expect(pick(q(code, "correctness"), 4, undefined)).toEqual({ type: "scale", value: 4 });
    expect(pick(q(code, "correctness"), 6, undefined)).toBeNull();
    expect(pick(q(code, "tests_adequate"), 3, undefined)).toEqual({
      type: "single_choice",
      choice: "no",
    });
    const once = pick(q(code, "issues"), 1, undefined);
    expect(once).toEqual({ type: "multi_choice", choices: ["bug"] });
    expect(pick(q(code, "issues"), 1, once ?? undefined)).toEqual({
      type: "multi_choice",
      choices: [],
    });
    expect(pick(q(chat, "preference"), 3, undefined)).toEqual({
      type: "pairwise",
      preference: "tie",
      strength: null,
    });
    const pf = pick(q(chat, "safety"), 2, undefined);
    expect(pf).toEqual({ type: "pass_fail", results: { no_pii: true } });
    expect(pick(q(chat, "safety"), 2, pf ?? undefined)).toEqual({
      type: "pass_fail",
      results: { no_pii: false },
    });
    expect(pick(q(code, "summary"), 1, undefined)).toBeNull();
    expect(pickCount(q(code, "summary"))).toBe(0);
  });
});

describe("error codes", () => {
  it("maps each code to one UI reaction", () => {
    // Read by reaction: which codes lead to each.
    const codes: Partial<Record<ErrorReaction, ErrorCode[]>> = {};
    for (const [c, reaction] of Object.entries(REACTIONS) as [ErrorCode, ErrorReaction][]) {
      codes[reaction] = [...(codes[reaction] ?? []), c];
    }
    expect(codes).toEqual({
      sign_in: ["unauthenticated"],
      offline: ["offline"],
      inline: ["invalid", "rejected", "not_editable"],
      notice: ["not_found", "keyring", "internal"],
      banner: ["storage"],
    });
    expect(reactionOf({ code: "offline", message: "x" })).toBe("offline");
  });
  it("turns anything thrown into an AppError", () => {
    expect(toAppError(new Error("boom"))).toEqual({ code: "internal", message: "boom" });
    expect(toAppError({ code: "weird", message: "m" })).toEqual({ code: "internal", message: "m" });
    expect(toAppError("text")).toEqual({ code: "internal", message: "text" });
    expect(describeError({ code: "invalid", message: "Token is empty" })).toBe(
      "Not valid: Token is empty",
    );
  });
});

describe("reviewed answers", () => {
  it("accepts both wire shapes and never throws on junk", () => {
    const scale = { type: "scale", value: 3 };
    expect(asAnswers({ answers: { q: scale }, rationales: { q: "why" } })).toEqual({
      answers: { q: scale },
      rationales: { q: "why" },
    });
    expect(asAnswers({ q: scale })).toEqual({ answers: { q: scale }, rationales: {} });
    for (const junk of [null, 7, "x", [1], undefined])
      expect(asAnswers(junk)).toEqual({ answers: {}, rationales: {} });
  });
});
