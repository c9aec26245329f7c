// Annotations (diff-line comments, clause comments, scan regions) in the
// draft's answers: which question takes a field's annotations, adding,
// editing and deleting them by id, and how an anchor is named. Pure: the
// item screen owns the state and saves it with the draft.
import type { Annotation } from "../../bindings";
import type { AnnotationAnchor } from "../../bindings";
import type { Answers } from "../../bindings";
import type { Rubric } from "../../bindings";

/** The annotations question that takes comments on `fieldId`, if any. */
export function questionFor(rubric: Rubric, fieldId: string) {
  const q = rubric.questions.find((x) => x.type === "annotations" && x.fields.includes(fieldId));
  return q && q.type === "annotations" ? q : null;
}

export function newAnnotationId(): string {
  return `ann-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** `answers` with a new annotation on `fieldId`; null when no question takes it. */
export function withAnnotation(
  rubric: Rubric,
  answers: Answers,
  fieldId: string,
  anchor: AnnotationAnchor,
  comment: string,
  severity: string | null,
  id = newAnnotationId(),
): Answers | null {
  const q = questionFor(rubric, fieldId);
  if (!q) return null;
  const prev = answers.answers[q.id];
  const items = prev?.type === "annotations" ? prev.items : [];
  return {
    answers: {
      ...answers.answers,
      [q.id]: {
        type: "annotations",
        items: [...items, { id, field: fieldId, anchor, severity, comment }],
      },
    },
    rationales: { ...answers.rationales },
  };
}

/** `answers` with `f` applied to the items of every annotations answer. */
export function mapAnnotations(
  rubric: Rubric,
  answers: Answers,
  f: (items: Annotation[]) => Annotation[],
): Answers {
  const next: Answers["answers"] = { ...answers.answers };
  for (const q of rubric.questions) {
    const a = next[q.id];
    if (q.type === "annotations" && a?.type === "annotations")
      next[q.id] = { type: "annotations", items: f(a.items) };
  }
  return { answers: next, rationales: { ...answers.rationales } };
}

export const editAnnotation = (
  rubric: Rubric,
  answers: Answers,
  id: string,
  comment: string,
  severity: string | null,
) =>
  mapAnnotations(rubric, answers, (items) =>
    items.map((x) => (x.id === id ? { ...x, comment, severity } : x)),
  );

export const deleteAnnotation = (rubric: Rubric, answers: Answers, id: string) =>
  mapAnnotations(rubric, answers, (items) => items.filter((x) => x.id !== id));

/** Every annotation of `answers` made on `fieldId`. */
export function annotationsOn(rubric: Rubric, answers: Answers, fieldId: string): Annotation[] {
  const out: Annotation[] = [];
  for (const q of rubric.questions) {
    const a = answers.answers[q.id];
    if (q.type === "annotations" && a?.type === "annotations")
      out.push(...a.items.filter((x) => x.field === fieldId));
  }
  return out;
}

/** Where an annotation sits: "src/lease.rs:9 (new)", "clause 7.2". */
export function anchorLabel(a: AnnotationAnchor): string {
  switch (a.kind) {
    case "diff_line":
      return `${a.file}:${a.line} (${a.side})`;
    case "clause":
      return `clause ${a.number}`;
    case "scan_region":
      return `region on frame ${a.frame + 1}`;
    default:
      return `characters ${a.start}–${a.end}`;
  }
}
