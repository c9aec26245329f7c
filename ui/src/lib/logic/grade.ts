// Pure helpers for answering rubric questions from the keyboard and mouse.
import type { Answer } from "../bindings";
import type { Answers } from "../bindings";
import type { Question } from "../bindings";
import type { Rubric } from "../bindings";

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

/** Whether `q` is shown for `answers` under its `show_if`. */
export function isShown(q: Question, answers: Answers): boolean {
  const c = q.show_if;
  if (!c) return true;
  const a = answers.answers[c.question];
  if (!a) return false;
  switch (a.type) {
    case "scale":
      return (
        (c.min === null || a.value >= c.min) &&
        (c.max === null || a.value <= c.max) &&
        (c.any_of.length === 0 || c.any_of.includes(String(a.value)))
      );
    case "single_choice":
      return c.any_of.includes(a.choice);
    case "multi_choice":
      return a.choices.some((x) => c.any_of.includes(x));
    case "pairwise":
      return c.any_of.includes(a.preference);
    default:
      return true;
  }
}

export function visibleQuestions(rubric: Rubric, answers: Answers): Question[] {
  return rubric.questions.filter((q) => isShown(q, answers));
}

/** Whether the answer given makes a rationale mandatory, and its minimum length. */
export function rationaleNeed(
  q: Question,
  a: Answer | undefined,
): { required: boolean; min: number } {
  const r = q.rationale;
  if (!r || r.when === "optional") return { required: false, min: 0 };
  const min = r.min_length ?? 1;
  if (r.when === "always") return { required: true, min };
  if (!a) return { required: false, min };
  if (r.when === "below") return { required: a.type === "scale" && a.value < r.threshold, min };
  if (r.when === "choice") {
    const chosen =
      a.type === "single_choice"
        ? [a.choice]
        : a.type === "multi_choice"
          ? a.choices
          : a.type === "pairwise"
            ? [a.preference]
            : [];
    return { required: chosen.some((c) => r.choices.includes(c)), min };
  }
  return { required: false, min: 0 };
}

/** Whether a question is answered (not necessarily valid). */
export function isAnswered(q: Question, a: Answer | undefined): boolean {
  if (!a) return false;
  switch (a.type) {
    case "multi_choice":
      return a.choices.length > 0;
    case "pass_fail":
      return (
        q.type === "pass_fail" && q.criteria.every((c) => typeof a.results[c.id] === "boolean")
      );
    case "free_text":
      return a.text.trim().length > 0;
    case "ranking":
      return a.order.length > 0;
    case "annotations":
      // Like Rust: an explicit empty list is a deliberate "nothing to flag".
      return true;
    default:
      return true;
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
