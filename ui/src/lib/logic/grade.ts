// Pure helpers for answering rubric questions from the keyboard and mouse.
// No rubric rule lives here: which questions show, what is missing and which
// rationales are required come from Rust in the `ValidationReport`.
import type { Answer } from "../bindings";
import type { Answers } from "../bindings";
import type { Question } from "../bindings";

export function emptyAnswers(): Answers {
  return { answers: {}, rationales: {} };
}

/** How many 1–9 picks a question offers (0 = not pickable by digit). */
export function pickCount(q: Question): number {
  switch (q.type) {
    case "scale":
      return Math.max(0, Math.min(9, q.max - q.min + 1));
    case "single_choice":
    case "multi_choice":
      return Math.min(9, q.options.length);
    case "pass_fail":
      return Math.min(9, q.criteria.length);
    case "pairwise":
      return q.allow_tie ? 3 : 2;
    default:
      return 0;
  }
}

/** The answer after pressing digit `n` (1-based) on `q`; null = no change. */
export function pick(q: Question, n: number, current: Answer | undefined): Answer | null {
  if (n < 1 || n > pickCount(q)) return null;
  switch (q.type) {
    case "scale":
      return { type: "scale", value: q.min + n - 1 };
    case "single_choice":
      return { type: "single_choice", choice: q.options[n - 1].id };
    case "multi_choice": {
      const id = q.options[n - 1].id;
      const prev = current?.type === "multi_choice" ? current.choices : [];
      const choices = prev.includes(id) ? prev.filter((c) => c !== id) : [...prev, id];
      return { type: "multi_choice", choices };
    }
    case "pass_fail": {
      // Cycles unset → pass → fail → pass for criterion n.
      const id = q.criteria[n - 1].id;
      const prev = current?.type === "pass_fail" ? current.results : {};
      return { type: "pass_fail", results: { ...prev, [id]: prev[id] !== true } };
    }
    case "pairwise": {
      const preference = n === 1 ? "a" : n === 2 ? "b" : "tie";
      const strength = current?.type === "pairwise" ? current.strength : null;
      return { type: "pairwise", preference, strength: preference === "tie" ? null : strength };
    }
    default:
      return null;
  }
}

/**
 * The reviewed submission's answers in `Answers` form. The protocol carries
 * them as untyped JSON: either `{answers, rationales}` or a bare map of
 * question id → answer. Anything else yields no answers (never a crash).
 */
export function asAnswers(v: unknown): Answers {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return emptyAnswers();
  const o = v as Record<string, unknown>;
  if (typeof o.answers === "object" && o.answers !== null && !Array.isArray(o.answers)) {
    const r =
      typeof o.rationales === "object" && o.rationales !== null && !Array.isArray(o.rationales)
        ? o.rationales
        : {};
    return { answers: o.answers as Answers["answers"], rationales: r as Answers["rationales"] };
  }
  return { answers: o as Answers["answers"], rationales: {} };
}
