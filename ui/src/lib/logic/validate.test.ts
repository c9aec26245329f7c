import { describe, expect, it } from "vitest";
import type { Answers } from "../bindings";
import type { Question } from "../bindings";
import { OPPORTUNITIES } from "../backend/mockdata";
import { describeError, REACTIONS, reactionOf, toAppError } from "./errors";
import { asAnswers, isShown, pick, pickCount, rationaleNeed } from "./grade";
import { validateAnswers } from "./validate";

const code = OPPORTUNITIES[0].rubric;
const scan = OPPORTUNITIES[2].rubric;
const chat = OPPORTUNITIES[3].rubric;
const q = (r: typeof code, id: string): Question => {
  const x = r.questions.find((y) => y.id === id);
  if (!x) throw new Error(id);
  return x;
};
const A = (answers: Answers["answers"], rationales: Answers["rationales"] = {}): Answers => ({
  answers,
  rationales,
});

describe("validation display rules", () => {
  it("lists every missing required answer", () => {
    const r = validateAnswers(code, A({}));
    expect(r.ok).toBe(false);
    expect(r.issues.map((i) => [i.question_id, i.code])).toEqual([
      ["correctness", "required"],
      ["tests_adequate", "required"],
      ["summary", "required"],
    ]);
  });

  it("asks for a rationale below the threshold and counts characters", () => {
    const base = {
      tests_adequate: { type: "single_choice", choice: "yes" },
      summary: { type: "free_text", text: "x".repeat(40) },
    } as const;
    const low = validateAnswers(
      code,
      A({ ...base, correctness: { type: "scale", value: 2 } }, { correctness: "too short" }),
    );
    expect(low.issues).toEqual([
      {
        question_id: "correctness",
        severity: "error",
        code: "rationale_required",
        message: "Rationale needs at least 20 characters (9 so far)",
      },
    ]);
    const ok = validateAnswers(
      code,
      A(
        { ...base, correctness: { type: "scale", value: 2 } },
        { correctness: "Fails on expired leases, see test" },
      ),
    );
    expect(ok.ok).toBe(true);
    expect(validateAnswers(code, A({ ...base, correctness: { type: "scale", value: 5 } })).ok).toBe(
      true,
    );
  });

  it("checks ranges, lengths, selections and answer types", () => {
    const r = validateAnswers(
      code,
      A(
        {
          correctness: { type: "scale", value: 9 },
          tests_adequate: { type: "multi_choice", choices: ["yes"] },
          issues: { type: "multi_choice", choices: ["bug", "perf", "unsafe", "style"] },
          summary: { type: "free_text", text: "short" },
        },
        { correctness: "x".repeat(30) },
      ),
    );
    expect(r.issues.map((i) => i.code)).toEqual([
      "out_of_range",
      "wrong_type",
      "too_many_choices",
      "too_short",
    ]);
  });

  it("hides conditional questions until their condition holds", () => {
    expect(validateAnswers(scan, A({})).visible_questions).toEqual([
      "finding",
      "confidence",
      "regions",
    ]);
    const nod = A({ finding: { type: "single_choice", choice: "nodule" } });
    expect(validateAnswers(scan, nod).visible_questions).toEqual([
      "finding",
      "size",
      "confidence",
      "regions",
    ]);
    expect(isShown(q(scan, "size"), nod)).toBe(true);
  });

  it("pass/fail needs every criterion", () => {
    const r = validateAnswers(
      chat,
      A({ safety: { type: "pass_fail", results: { no_harm: true } } }),
    );
    expect(r.issues.find((i) => i.question_id === "safety")?.code).toBe("required");
  });
});

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

  it("says when a rationale is needed", () => {
    expect(
      rationaleNeed(q(code, "tests_adequate"), { type: "single_choice", choice: "no" }),
    ).toEqual({ required: true, min: 10 });
    expect(
      rationaleNeed(q(code, "tests_adequate"), { type: "single_choice", choice: "yes" }).required,
    ).toBe(false);
    expect(rationaleNeed(q(chat, "preference"), undefined).required).toBe(true);
  });
});

describe("error codes", () => {
  it("maps each code to one UI reaction", () => {
    expect(REACTIONS).toEqual({
      unauthenticated: "sign_in",
      offline: "offline",
      not_found: "notice",
      invalid: "inline",
      rejected: "inline",
      not_editable: "inline",
      storage: "banner",
      keyring: "notice",
      internal: "notice",
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
