// Reference validator used by the mock backend and the rubric preview in
// tests. The real app validates in Rust (crates/rubric); the UI only shows
// the `ValidationReport` the backend returns.
import type { Answers } from "../bindings";
import type { Rubric } from "../bindings";
import type { ValidationIssue } from "../bindings";
import type { ValidationReport } from "../bindings";
import { isAnswered, isShown, rationaleNeed } from "./grade";

export function validateAnswers(rubric: Rubric, answers: Answers): ValidationReport {
  const issues: ValidationIssue[] = [];
  const error = (question_id: string, code: string, message: string) =>
    issues.push({ question_id, severity: "error", code, message });
  const visible: string[] = [];
  for (const q of rubric.questions) {
    if (!isShown(q, answers)) continue;
    visible.push(q.id);
    const a = answers.answers[q.id];
    if (a && a.type !== q.type) {
      error(q.id, "wrong_type", `Answer type ${a.type} does not fit this question`);
      continue;
    }
    if (!isAnswered(q, a)) {
      if (q.required) error(q.id, "required", `“${q.prompt}” needs an answer`);
      continue;
    }
    if (q.type === "scale" && a?.type === "scale" && (a.value < q.min || a.value > q.max)) {
      error(q.id, "out_of_range", `Pick a value from ${q.min} to ${q.max}`);
    }
    if (q.type === "multi_choice" && a?.type === "multi_choice") {
      if (q.min_selected !== null && a.choices.length < q.min_selected)
        error(q.id, "too_few_choices", `Select at least ${q.min_selected}`);
      if (q.max_selected !== null && a.choices.length > q.max_selected)
        error(q.id, "too_many_choices", `Select at most ${q.max_selected}`);
    }
    if (q.type === "free_text" && a?.type === "free_text") {
      const n = a.text.trim().length;
      if (q.min_length !== null && n < q.min_length)
        error(q.id, "too_short", `Write at least ${q.min_length} characters (${n} so far)`);
      if (q.max_length !== null && n > q.max_length)
        error(q.id, "too_long", `Keep it under ${q.max_length} characters (${n})`);
    }
    if (
      q.type === "annotations" &&
      a?.type === "annotations" &&
      q.min_count !== null &&
      a.items.length < q.min_count
    ) {
      error(q.id, "too_few_annotations", `Add at least ${q.min_count} comments`);
    }
    const need = rationaleNeed(q, a);
    const text = (answers.rationales[q.id] ?? "").trim();
    if (need.required && text.length < need.min) {
      error(
        q.id,
        "rationale_required",
        text.length === 0
          ? "Explain this answer in the rationale box"
          : `Rationale needs at least ${need.min} characters (${text.length} so far)`,
      );
    }
  }
  return { ok: !issues.some((i) => i.severity === "error"), issues, visible_questions: visible };
}
