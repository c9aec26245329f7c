// The item's draft as the screen edits it: answers, annotations begun but
// not added, validation (Rust's), and autosave — every change is saved
// (debounced, at most one save in flight) and validated by the backend.
import type { Backend } from "../../backend";
import type { Answers } from "../../bindings";
import type { PendingAnnotation } from "../../bindings";
import type { OpenedItem, QueueStatus, ValidationReport } from "../../backend/types";
import { Autosaver, type AutosaveState } from "../../logic/autosave";
import { describeError } from "../../logic/errors";

type Saved = { answers: Answers; pending: PendingAnnotation[] };

export class ItemDraft {
  answers = $state<Answers>({ answers: {}, rationales: {} });
  pending = $state<PendingAnnotation[]>([]);
  validation = $state<ValidationReport>({
    ok: true,
    issues: [],
    visible_questions: [],
  } as unknown as ValidationReport);
  /** The status Rust reported last (after a save, a submit or a sync). */
  status = $state<QueueStatus>("new");
  savedAt = $state<string | null>(null);
  saveState = $state<AutosaveState>("idle");
  saveError = $state<string | null>(null);
  revision: number;
  #seq = 0;
  #autosaver: Autosaver<Saved>;
  #backend: Backend;
  #it: OpenedItem;
  #onError: (e: unknown) => void;

  /** `onSaved`: a save succeeded, with the status Rust reported. */
  constructor(
    backend: Backend,
    it: OpenedItem,
    onError: (e: unknown) => void,
    onSaved: (status: QueueStatus) => void,
  ) {
    this.#backend = backend;
    this.#it = it;
    this.#onError = onError;
    this.answers = $state.snapshot(it.draft) as Answers;
    this.pending = $state.snapshot(it.pending) as PendingAnnotation[];
    this.validation = it.validation;
    this.status = it.status;
    this.revision = it.draft_revision;
    this.savedAt = it.saved_at;
    this.saveState = it.saved_at ? "saved" : "idle";
    this.#autosaver = new Autosaver<Saved>({
      delayMs: 300,
      save: async (d) => {
        if (it.preview) return;
        const r = await backend.saveDraft(it.assignment_id, d.answers, d.pending);
        this.revision = r.revision;
        this.savedAt = r.saved_at;
        // The status Rust reports after the save, never a guess.
        this.status = r.status;
      },
      onState: (s, e) => {
        this.saveState = s;
        if (s === "error") {
          this.saveError = describeError(e);
          onError(e);
        } else if (s === "saved") {
          this.saveError = null;
          onSaved(this.status);
        }
      },
    });
  }

  #schedule() {
    if (this.#it.preview) return;
    this.#autosaver.schedule({
      answers: $state.snapshot(this.answers) as Answers,
      pending: $state.snapshot(this.pending) as PendingAnnotation[],
    });
  }

  /** New answers: saved and validated. */
  change(next: Answers) {
    this.answers = next;
    this.#schedule();
    void this.revalidate();
  }

  /** An annotation begun on `fieldId` changed (typed, drawn, cancelled): saved with the draft. */
  setPending(fieldId: string, p: PendingAnnotation | null) {
    if (this.#it.preview) return;
    this.pending = [...this.pending.filter((x) => x.field !== fieldId), ...(p ? [p] : [])];
    this.#schedule();
  }

  /** The annotation begun on `fieldId` was added: no longer pending (saved with the next change). */
  dropPending(fieldId: string) {
    this.pending = this.pending.filter((x) => x.field !== fieldId);
  }

  pendingFor(fieldId: string): PendingAnnotation | null {
    return this.pending.find((p) => p.field === fieldId) ?? null;
  }

  async revalidate() {
    const seq = ++this.#seq;
    try {
      const snap = $state.snapshot(this.answers) as Answers;
      const r = this.#it.preview
        ? await this.#backend.previewValidate(this.#it.item.item_id, snap)
        : await this.#backend.validate(this.#it.assignment_id, snap);
      if (seq === this.#seq) this.validation = r;
    } catch (e) {
      this.#onError(e);
    }
  }

  flush(): Promise<void> {
    return this.#autosaver.flush();
  }

  cancel() {
    this.#autosaver.cancel();
  }
}
