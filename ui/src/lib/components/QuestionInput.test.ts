import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import type { Answer } from "../bindings";
import type { Question } from "../bindings";
import { OPPORTUNITIES } from "../backend/mockdata";
import QuestionInput from "./QuestionInput.svelte";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

describe("annotations question (issue 11: 'confirm there are none')", () => {
  const base = OPPORTUNITIES[0].rubric.questions.find((q) => q.type === "annotations") as Question;
  const q = { ...base, required: true } as Question;

  // That the empty list answers a required question is Rust's rule, tested
  // there (crates/rubric validate.rs: an_empty_annotation_list_answers_a_required_question).
  it("offers a control that confirms there is nothing to flag: the empty list", () => {
    let answer: Answer | undefined;
    const mountWith = (a: Answer | undefined) => {
      if (app) unmount(app);
      document.body.innerHTML = "";
      app = mount(QuestionInput, {
        target: document.body,
        props: {
          q,
          answer: a,
          fieldLabel: (id: string) => id,
          onchange: (x: Answer | undefined) => (answer = x),
        },
      });
      flushSync();
    };
    mountWith(undefined);
    const box = document.querySelector<HTMLButtonElement>('[data-testid="confirm-none"]');
    expect(box?.getAttribute("aria-checked")).toBe("false");
    box?.click();
    expect(answer).toEqual({ type: "annotations", items: [] });
    // Shown as confirmed; pressing again takes the confirmation back.
    mountWith(answer);
    const again = document.querySelector<HTMLButtonElement>('[data-testid="confirm-none"]');
    expect(again?.getAttribute("aria-checked")).toBe("true");
    again?.click();
    expect(answer).toBeUndefined();
  });
});
