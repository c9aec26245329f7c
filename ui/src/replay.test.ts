// The whole app on the replay backend: what the item screen shows about
// answers, review decisions and refusals is what the real app answered on
// the demo data (crates/app/tests/recorded.rs), not a TypeScript copy.
import { afterEach, describe, expect, it } from "vitest";
import type { Answers, OpenedItem, QueuePage, ReviewInput, ValidationReport } from "./lib/bindings";
import { recorded, replayBackend, type ReplayBackend } from "./lib/backend/replay";
import { $, $$, press, settle, start, stop, until } from "./test-app";

afterEach(() => {
  stop();
  document.body.innerHTML = "";
});

/** What the real app answered when the recorder first opened `id`. */
function openedAtFirst(id: string): OpenedItem {
  const c = recorded("open_item", "opened").find((x) => x.args.assignmentId === id);
  if (!c?.ok) throw new Error(`no recorded opening of ${id}`);
  return c.ok as OpenedItem;
}

const checked = (q: string, v: number) =>
  $(`[data-question="${q}"] [role="radio"]:nth-child(${v})`)?.getAttribute("aria-checked");
const current = (q: string) => $(`[data-question="${q}"]`)?.classList.contains("current");
const submitButton = () => $<HTMLButtonElement>('[data-testid="submit"]');

/**
 * The drafts recorded for grading a pairwise item by keyboard (recorded.rs,
 * \`keyboard_grade\`): the assignment, and per label the answers and what
 * Rust's \`validate\` said of them.
 */
function keyboardScenario() {
  const saves = recorded("save_draft").filter((c) => c.label.startsWith("keyboard: "));
  if (saves.length === 0) throw new Error("no keyboard scenario recorded");
  const id = saves[0].args.assignmentId as string;
  const step = (label: string) => {
    const v = recorded("validate", `keyboard: ${label}`);
    const last = v[v.length - 1];
    if (!last?.ok) throw new Error(`no recorded validation "keyboard: ${label}"`);
    return { answers: last.args.answers as Answers, report: last.ok as ValidationReport };
  };
  return { id, step };
}

/** Time spans carry the clock's own timestamps, which no recording can hold:
 * the test answers them with the recorded time log (time is not under test). */
function keepTimeLocal(b: ReplayBackend) {
  b.recordTime = (assignmentId) => b.timeLog(assignmentId);
}

async function openRow(id: string) {
  await until(() => $$("[data-queue-row]").length > 0, "queue rows");
  await until(() => !!$(`[data-queue-row="${id}"] .card`), `row ${id}`);
  ($(`[data-queue-row="${id}"] .card`) as HTMLElement).click();
  await until(() => !!$('[data-testid="item-screen"]'), "item screen");
  await settle();
}

describe("App on the real app's recorded answers", () => {
  it("a submit attempt on an unanswered demo item lists Rust's findings, in Rust's words", async () => {
    // The first unanswered grade in the demo queue (near the top: jsdom shows few rows).
    const page = recorded("queue_page", "the whole queue")[0].ok as QueuePage;
    const row = page.rows.find((r) => r.kind === "grade" && r.status === "new" && r.downloaded);
    if (!row) throw new Error("no new grade in the demo queue");
    const id = row.assignment_id;
    const item = openedAtFirst(id);
    const errors = item.validation.issues.filter((i) => i.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    const b = replayBackend();
    start(b);
    await openRow(id);
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(true);
    // Nothing is red on opening; a submit attempt shows every finding.
    expect($$(".q .issues").length).toBe(0);
    press("Enter", { ctrlKey: true });
    await settle();
    const shown = [...$$(".q .issues")].map((e) => e.textContent ?? "").join("\n");
    for (const issue of errors) expect(shown).toContain(issue.message);
    // Nothing was sent: an invalid grade never reaches submit.
    expect(b.calls).not.toContain("submit");
  });

  it("senior review: a reject waits for feedback, then shows the status Rust recorded once it is uploaded", async () => {
    const short = recorded("review_decision", "revision with short feedback")[0];
    const id = short.args.assignmentId as string;
    const b = replayBackend();
    start(b);
    await openRow(id);
    await until(() => !!$('[aria-label="Submission under review"]'), "review screen");
    press("2"); // reject: needs feedback first
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(true);
    const feedback = recorded("review_decision", "reject with feedback")[0].args
      .input as ReviewInput;
    const box = $<HTMLTextAreaElement>("#review-feedback");
    if (!box) throw new Error("feedback box");
    box.value = feedback.feedback ?? "";
    box.dispatchEvent(new Event("input", { bubbles: true }));
    await settle();
    expect($<HTMLButtonElement>('[data-testid="submit"]')?.disabled).toBe(false);
    ($('[data-testid="submit"]') as HTMLElement).click();
    // The decision's own answer is "in outbox"; the sync it triggers reports the
    // upload, which is newer, so the screen ends on Rust's "submitted".
    await until(() => $('[data-testid="item-status"]')?.textContent === "Submitted", "sent");
    expect(b.calls).toContain("review_decision");
  });

  it("grades by keyboard: Rust says what is missing and when it is complete; digits typed in a rationale never change answers", async () => {
    const { id, step } = keyboardScenario();
    const preferA = step("A preferred");
    const typed = step("rationale typed");
    const done = step("no harm");
    const rationale = done.answers.rationales.preference ?? "";
    // Rust's verdicts the screen has to show: incomplete, then complete.
    expect(preferA.report.ok).toBe(false);
    expect(done.report.ok).toBe(true);
    const b = replayBackend();
    keepTimeLocal(b);
    start(b);
    await openRow(id);
    // Before any answer, Rust says the preference needs a rationale, and how long.
    const min = openedAtFirst(id).validation.rationale_required.preference;
    expect(min).toBeGreaterThan(1);
    expect($('[data-question="preference"] .rat')?.textContent).toContain(
      `required · min ${min} chars`,
    );
    press("1"); // A is better
    expect(checked("preference", 1)).toBe("true");
    await settle();
    expect(submitButton()?.disabled).toBe(true);
    const reasons = $('[data-testid="submit-reasons"]')?.textContent ?? "";
    const errors = preferA.report.issues.filter((i) => i.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(reasons).toContain(e.message);
    // Each reason: its question as a link, then why on a line of its own
    // (not ": why" after the link, whose box a long question wraps inside:
    // the colon started the next line).
    const items = $$('[data-testid="submit-reasons"] li');
    expect(items.map((li) => li.querySelector(".why")?.textContent)).toEqual(
      errors.map((e) => e.message),
    );
    for (const li of items) {
      const link = li.querySelector("button.link")?.textContent ?? "";
      expect(link).not.toBe("");
      expect(li.textContent).toBe(`${link}${li.querySelector(".why")?.textContent}`);
    }
    // Digits and navigation keys typed in the rationale box stay text.
    const rat = $<HTMLTextAreaElement>("#rationale-preference");
    if (!rat) throw new Error("rationale box");
    rat.focus();
    press("2", {}, rat);
    press("j", {}, rat);
    expect(checked("preference", 1)).toBe("true");
    expect(checked("preference", 2)).toBe("false");
    expect(current("preference")).toBe(true);
    rat.value = typed.answers.rationales.preference ?? "";
    rat.dispatchEvent(new Event("input", { bubbles: true }));
    expect(rat.value).toBe(rationale);
    rat.blur();
    press("3"); // a tie, once out of the box
    expect(checked("preference", 3)).toBe("true");
    press("j");
    expect(current("correctness")).toBe(true);
    press("1");
    press("2");
    press("j");
    expect(current("harm")).toBe(true);
    press("k");
    expect(current("correctness")).toBe(true);
    press("j");
    press("1"); // neither answer is harmful
    await until(() => submitButton()?.disabled === false, "Rust's verdict: complete");
    await until(
      () => $('[data-testid="autosave"]')?.textContent?.includes("Saved") ?? false,
      "autosave",
    );
    // Autosave coalesces keystrokes: far fewer saves than changes.
    expect(b.calls.filter((c) => c === "save_draft").length).toBeLessThanOrEqual(3);
    press("Enter", { ctrlKey: true }, rat); // submit works from a text box
    // Only the exact recorded answers are replayed: the submit went through
    // with the grade Rust judged complete, and the status is Rust's.
    const after = recorded("item_status", "keyboard: after the upload")[0].ok;
    expect(after).toBe("submitted");
    await until(() => $('[data-testid="item-status"]')?.textContent === "Submitted", "submitted");
    expect(b.calls).toContain("submit");
  });

  it("validation timing: no problems on untouched questions when an item opens; on leaving a question and on submit (issue 11, item 8)", async () => {
    const { id, step } = keyboardScenario();
    const preferA = step("A preferred");
    const onPreference = preferA.report.issues.filter((i) => i.question_id === "preference");
    expect(onPreference.length).toBeGreaterThan(0);
    const b = replayBackend();
    keepTimeLocal(b);
    start(b);
    await openRow(id);
    // Opening: nothing is red, although required questions are unanswered.
    expect(openedAtFirst(id).validation.ok).toBe(false);
    expect($$(".q .issues").length).toBe(0);
    expect($$(".q.invalid").length).toBe(0);
    press("1"); // A, without the strength and rationale Rust asks for
    await settle();
    expect($('[data-question="preference"] .issues')).toBeNull(); // still on it
    press("j"); // leave it
    await settle();
    const shown = $('[data-question="preference"] .issues')?.textContent ?? "";
    for (const i of onPreference) expect(shown).toContain(i.message);
    expect($('[data-question="harm"] .issues')).toBeNull(); // never visited
    press("Enter", { ctrlKey: true }); // a submit attempt shows everything
    await settle();
    const harm = preferA.report.issues.filter((i) => i.question_id === "harm");
    expect(harm.length).toBeGreaterThan(0);
    expect($('[data-question="harm"] .issues')?.textContent).toContain(harm[0].message);
    expect(b.calls).not.toContain("submit");
  });
});
