// In-memory mock backend implementing the whole `Backend` interface with
// realistic sample data. Used by Vitest, the Playwright suite (mock.html) and
// `npm run dev` for visual work. Behaviour mirrors the real services: drafts
// with revisions, a durable-looking outbox drained by sync, windowed diff
// rows and windowed scan frames.
//
// It never computes earnings: periods, totals, hourly rates, series,
// payouts, discrepancies and the CSV export are what the real app answered
// on the demo data (replayed from the recording, see replay.ts), so the earnings
// screen shows the demo's ledger, whose opportunities and assignments are
// the demo's, not this synthetic set's.
//
// It never judges answers: rubric validation is Rust's (crates/rubric), and
// the tests of what Rust finds (missing answers, required rationales, which
// questions show, when a grade may be submitted, the status after a save) run
// on the replay backend (replay.ts), which answers what the real app
// answered. Here every question of a synthetic rubric is shown (they carry
// no `show_if`), nothing is reported missing and every grade may be sent.
//
// Nor does it judge time spans (active time, idle waiting, a corrected log):
// a span the real app refused in the recording (one that ends before it
// starts, one as long as RULES.time_span_max_s) is refused with Rust's
// answer, whatever the assignment; any other span is kept. What the time
// log editor is told about a span is what Rust said about it in the
// recording (check_time_log), else nothing; the total it is told is
// `coveredSeconds` below, the mock's stand-in for Rust's count. How much idle waiting Rust
// counts is its answer too: a span the real app recorded is answered as it
// answered (the earnings screen then shows its ledger after it); any other
// is answered with the waiting Rust counted on that ledger as it stands.
//
// Nor does it decide which leases are about to end (the sync engine does,
// crates/sync): it reports the ones a test names (`expiringLeases`).
// A senior review sent as a grade, review feedback the real app found too
// short, and changes to work no longer editable are refused with the real
// app's answers from the recording.
import type {
  DiffRow,
  LinkOutcome,
  MenuAction,
  UpdateCheck,
  UpdateInstall,
  UpdateOffer,
} from "../bindings";
import type { Backend, Unsubscribe } from "./index";
import { DEFAULT_SETTINGS, IDLE_SYNC } from "./defaults";
import type { AppError, ValidationReport } from "../bindings";
import type { PublishPlan, RubricFinding, TokenRole } from "../bindings";
import type { Answers } from "../bindings";
import type { AssignmentKind } from "../bindings";
import type { CommentPlacement } from "../bindings";
import type { TimeSpan } from "../bindings";
import type { AnswerSummary } from "../bindings";
import type { OutcomeStatus } from "../bindings";
import type { PendingAnnotation } from "../bindings";
import type { ItemLayout } from "../bindings";
import type {
  FieldView,
  OpenedItem,
  PreviewSelection,
  PreviewState,
  QueueFilter,
  QueueGroup,
  QueuePage,
  QueueEntry,
  QueueStatus,
  Settings,
  SessionInfo,
  SyncProgress,
  SyncState,
  TimeLog,
} from "./types";
import {
  OPPORTUNITIES,
  XSS,
  codeFiles,
  markdownToBlocks,
  phantom,
  scopedFields,
  viewsFor,
  type MockOpportunity,
} from "./mockdata";
import { buildRows, fileTree, summarise, type MockDiffFile } from "./mockdiff";
import {
  DEMO,
  canonical,
  recorded,
  recordedRefusal,
  recordedSpanProblem,
  replayBackend,
} from "./replay";
import { emptyAnswers } from "../logic/grade";
import { EDITABLE, FINISHED, reviewFeedbackProblem } from "../logic/rules";
import { RULES } from "../bindings";

export type MockOptions = {
  /** Number of assignments in the queue (default 60). */
  queueSize?: number;
  signedIn?: boolean;
  online?: boolean;
  /** Artificial latency per call in ms (default 0). */
  latencyMs?: number;
  /** Duration of `syncNow` in ms (default 600). */
  syncMs?: number;
  /** Fixed "now" for deterministic data (default: real clock). */
  now?: number;
  /** Lines of the big diff file, every one visible (scroll benchmark). */
  diffLines?: number;
  /** Items start not downloaded (as before the first sync after sign-in). */
  undownloaded?: boolean;
  /** Assignments the sync quarantined, by id, with the reason (their items stay not downloaded). */
  heldBack?: Record<string, string>;
  /** Assignments whose leases the sync reports as about to end (which ones is
   *  the sync engine's rule, not the mock's; default none). */
  expiringLeases?: string[];
};

type Assign = QueueEntry & {
  feedback: string | null;
  n: number;
  hostile: boolean;
  draft: Answers;
  revision: number;
  saved_at: string | null;
  spans: TimeSpan[];
  submitted_answers: Answers | null;
  reviewed: OpenedItem["reviewed"];
  pending: PendingAnnotation[];
};

const PAY: Partial<Record<QueueStatus, "pending" | "accepted" | "reversed">> = {
  submitted: "pending",
  accepted: "accepted",
  rejected: "reversed",
};
const OUTCOME: Partial<Record<QueueStatus, OutcomeStatus>> = {
  submitted: "pending",
  accepted: "accepted",
  rejected: "rejected",
  needs_revision: "needs_revision",
};

export type MockBackend = Backend & {
  /** Test hooks. */
  /** Links arrive as Rust would hand them over (already checked). */
  receiveLinks(outcomes: LinkOutcome[]): void;
  setOnline(online: boolean): void;
  touchPreview(): void;
  /** The preview's rubric file stops parsing (a TOML error). */
  breakPreview(): void;
  /** issue 14: the role the platform reports for the signed-in token (default expert). */
  setPublishRole(role: TokenRole): void;
  /** Give a code item's draft one live and one outdated diff comment (as after a re-sync). */
  seedDiffComments(assignmentId: string): void;
  /** A background sync that downloads every item (raises data_version) and,
   *  with `ledger`, brings the ledger the real app had after its first upload
   *  in the recording (the earnings answers recorded "after the upload"). */
  backgroundSync(change?: { ledger?: boolean }): Promise<void>;
  /** A background sync that starts ("Fetching assignments") and fails offline. */
  backgroundFail(message?: string): void;
  /** A sync in progress that stays at `progress` (until the next sync). */
  holdProgress(progress: SyncProgress): void;
  /** issue 18: a native menu entry was chosen. */
  menuAction(action: MenuAction): void;
  /** issue 18: what the platform's update manifest offers next (null: nothing newer). */
  offerUpdate(offer: UpdateOffer | null): void;
  /** Make the next call of `method` reject with `error`. */
  failNext(method: keyof Backend, error: AppError): void;
  readonly calls: string[];
};

/** Whole seconds `spans` cover, overlaps once, the total rounded down: the
 *  mock's stand-in for Rust's `covered_seconds`, which the real app answers
 *  with (the UI shows the number it is given and counts nothing itself). */
function coveredSeconds(spans: TimeSpan[]): number {
  const iv = spans
    .map((s) => [Date.parse(s.started_at), Date.parse(s.ended_at)] as const)
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [curA, curB] = [-Infinity, -Infinity];
  for (const [a, b] of iv) {
    if (a > curB) {
      if (curB > curA) total += curB - curA;
      [curA, curB] = [a, b];
    } else if (b > curB) curB = b;
  }
  if (curB > curA) total += curB - curA;
  return Math.floor(total / 1000);
}

function err(code: AppError["code"], message: string): AppError {
  return { code, message };
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// JSON copy: works on Svelte state proxies too (structuredClone does not).
const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** The session of the mock's one expert, signed in to `platform_url`. */
const signedInAs = (platform_url: string, demo: boolean): SessionInfo => ({
  signed_in: true,
  platform_url,
  expert: {
    id: "exp-1",
    display_name: "Dr. Ada Reviewer",
    email: "ada@example.com",
    senior_reviewer: true,
  },
  demo,
});

export function mockBackend(options: MockOptions = {}): MockBackend {
  const size = options.queueSize ?? 60;
  const latency = options.latencyMs ?? 0;
  const syncMs = options.syncMs ?? 600;
  const now = () => options.now ?? Date.now();
  const t0 = options.now ?? Date.now();
  const calls: string[] = [];
  const failures = new Map<string, AppError>();

  let session: SessionInfo =
    options.signedIn === false
      ? { signed_in: false, platform_url: null, expert: null, demo: true }
      : signedInAs("https://demo.assay.local", true);
  let online = options.online ?? true;
  let sync: SyncState = {
    ...clone(IDLE_SYNC),
    signed_in: options.signedIn !== false,
    online,
    last_sync_at: new Date(t0 - 4 * 60_000).toISOString(),
  };
  let settings: Settings = clone(DEFAULT_SETTINGS);
  const syncListeners = new Set<(s: SyncState) => void>();
  const progressListeners = new Set<(p: SyncProgress) => void>();
  const previewListeners = new Set<(s: PreviewState) => void>();
  // issue 14: what the mock platform says of the token, and what it published.
  let publishRole: TokenRole = "expert";
  let publishedVersion: number | null = null;
  const previewFindings = (): RubricFinding[] =>
    (preview?.findings ?? []).map((f) => ({
      severity: f.severity,
      code: f.code,
      message: f.message,
      line: f.location?.line ?? null,
      column: f.location?.column ?? null,
    }));
  const mayPublish = () => publishRole !== "expert";
  const forbidden = () =>
    err(
      "rejected",
      "The platform refused to publish (403 forbidden): publishing needs an author or operator token. Sign in with an author or operator token to publish rubrics.",
    );
  const publishPlan = (): PublishPlan => {
    if (!preview) throw err("invalid", "Choose a rubric file first.");
    const all = previewFindings();
    const errors = all.filter((f) => f.severity === "error");
    const version = previewRubric.version;
    const done = publishedVersion !== null && publishedVersion >= version;
    return {
      rubric_path: preview.rubric_path,
      rubric_id: previewRubric.id,
      version,
      latest_published: publishedVersion,
      errors,
      warnings: all.filter((f) => f.severity !== "error"),
      can_confirm: errors.length === 0 && !done,
      summary: errors.length
        ? `${errors.length} lint error(s) must be fixed before this rubric can be published.`
        : done
          ? `${previewRubric.id} version ${version} is already published with exactly this content.`
          : `Publishes ${previewRubric.id} as version ${version}.`,
    };
  };
  let preview: PreviewState | null = null;
  // What the "dialogs" picked: the mock's pickers always choose the demo files.
  let chosen: PreviewSelection = { rubric_path: null, items_dir: null };

  // ---- assignments
  const r = rng(7);
  const statuses: QueueStatus[] = [
    "new",
    "new",
    "new",
    "draft",
    "ready",
    "submitted",
    "accepted",
    "accepted",
    "rejected",
    "needs_revision",
    "orphaned",
    "lease_expired",
    "rubric_changed",
    "submit_failed",
  ];
  const oppById = new Map(OPPORTUNITIES.map((o) => [o.id, o]));
  const topics: Record<string, string[]> = {
    "opp-code": [
      "lease renewal",
      "retry backoff",
      "config parsing",
      "unsafe block",
      "error mapping",
    ],
    "opp-legal": ["NDA term", "indemnity cap", "governing law", "non-solicit"],
    "opp-scan": ["nodule follow-up", "CT chest", "screening", "incidental finding"],
    "opp-chat": ["file reading", "sorting answers", "SQL joins", "date parsing"],
  };
  const list: Assign[] = [];
  for (let n = 0; n < size; n++) {
    const opp = OPPORTUNITIES[n % OPPORTUNITIES.length];
    const hostile = n === 3; // a chat item with hostile content
    const status: QueueStatus = n < 4 ? "new" : statuses[Math.floor(r() * statuses.length)];
    // n = 9: an unpaid screening (qualification) task, answered like a grade.
    const kind: AssignmentKind =
      n === 5 || (n > 20 && r() < 0.04) ? "senior_review" : n === 9 ? "screening" : "grade";
    const due = t0 + (Math.floor(r() * 96) - 6) * 3600_000;
    list.push({
      n,
      hostile,
      assignment_id: hostile ? "a-xss" : `a-${String(n).padStart(5, "0")}`,
      item_id: `item-${n}`,
      title: hostile
        ? `${XSS} Compare answers`
        : `${opp.title.split(" ")[0]} #${n}: ${topics[opp.id][Math.floor(n / 4) % topics[opp.id].length]}`,
      opportunity_id: opp.id,
      opportunity_title: opp.title,
      kind,
      status: kind === "grade" ? status : "new",
      due_at: new Date(due).toISOString(),
      // Like the demo seed: work meant to be done starts with a live lease.
      lease_expires_at: new Date(
        Math.max(Math.min(due, t0 + (1 + Math.floor(r() * 48)) * 3600_000), t0 + 30 * 60_000),
      ).toISOString(),
      pay_basis: kind === "screening" ? null : opp.basis,
      pay_cents: kind === "screening" ? null : opp.rate_cents,
      currency: kind === "screening" ? null : "USD",
      downloaded: !options.undownloaded,
      held_back: null,
      feedback:
        status === "rejected"
          ? "Rationale does not address the failing test."
          : status === "needs_revision"
            ? "Please re-check clause 5.3 against the playbook."
            : status === "submit_failed"
              ? "The platform refused the upload: rubric version 2 is retired."
              : null,
      draft: emptyAnswers(),
      revision: 0,
      saved_at: null,
      spans:
        kind === "screening"
          ? [
              {
                started_at: new Date(t0 - 5 * 3600_000).toISOString(),
                ended_at: new Date(t0 - 5 * 3600_000 + 25 * 60_000).toISOString(),
                corrected: false,
              },
            ]
          : ["submitted", "accepted", "rejected", "needs_revision"].includes(status)
            ? [
                {
                  started_at: new Date(t0 - 86400_000 * (1 + (n % 20))).toISOString(),
                  ended_at: new Date(
                    t0 - 86400_000 * (1 + (n % 20)) + (400 + (n % 13) * 60) * 1000,
                  ).toISOString(),
                  corrected: false,
                },
              ]
            : [],
      // Finished or sent-back work keeps what was submitted (like the app's outbox).
      submitted_answers:
        kind === "grade" && (FINISHED.has(status) || status === "needs_revision")
          ? sampleAnswers(opp)
          : null,
      pending: [],
      reviewed:
        kind === "senior_review"
          ? {
              submission_id: `sub-${n}`,
              answers: withComment(sampleAnswers(opp), opp.id),
              active_seconds: 612,
              submitted_at: new Date(t0 - 3 * 3600_000).toISOString(),
            }
          : null,
    });
  }
  const byId = new Map(list.map((a) => [a.assignment_id, a]));
  // Quarantined by the sync: the row says why (worded as the Rust side words it).
  for (const [id, reason] of Object.entries(options.heldBack ?? {})) {
    const a = byId.get(id);
    if (!a) continue;
    a.held_back = `Held back: ${reason}. Retried with the next syncs.`;
    a.downloaded = false;
    const at = new Date(t0).toISOString();
    sync.quarantined.push({
      kind: "item",
      key: id,
      label: a.title,
      reason,
      attempts: 1,
      next_attempt_at: at,
      first_failed_at: at,
    });
  }

  // ---- diff state per item (shared by kind: files are the same shape)
  const diffs = new Map<string, MockDiffFile[]>();
  const builtRows = new Map<string, DiffRow[]>();
  function diffFor(a: Assign): FieldView & { kind: "diff" } {
    const handle = `diff-${a.item_id}`;
    if (!diffs.has(handle)) diffs.set(handle, codeFiles(a.n, options.diffLines));
    const files = diffs.get(handle) ?? [];
    const summaries = files.map(summarise);
    return {
      kind: "diff",
      field_id: "patch",
      diff: {
        handle,
        files: summaries,
        tree: fileTree(summaries),
        default_mode: settings.diff_mode,
      },
    };
  }

  /** Throws what Rust answered when the recording shows it refusing
   *  `command` with these arguments (the assignment aside). */
  function refusedByRust(command: string, args: Record<string, unknown>) {
    const refused = recordedRefusal(command, args);
    if (refused) throw refused;
  }
  /** What the real app answers to a change of work in `status` (recorded.rs). */
  function notEditable(status: QueueStatus): AppError {
    const refused = DEMO.not_editable?.[status];
    return refused ? clone(refused) : err("internal", `No recorded refusal for work ${status}`);
  }
  /** The status the real app answered when a draft of new work was first
   *  saved unfinished (recorded.rs, `save_draft` "empty"). */
  function begunStatus(): QueueStatus {
    const saved = recorded("save_draft", "empty")[0]?.ok as { status?: QueueStatus } | undefined;
    if (!saved?.status)
      throw err("internal", 'No recorded save_draft "empty" (crates/app/tests/recorded.rs)');
    return saved.status;
  }
  /** The error the real app answered to the recorded call `command`
   *  labelled `label` (an `internal` error naming it when not recorded). */
  function rustsRefusal(command: string, label: string): AppError {
    return (
      recorded(command, label).find((c) => c.err)?.err ??
      err("internal", `No recorded refusal of ${command} "${label}" (crates/app/tests/recorded.rs)`)
    );
  }
  // Earnings: the real app's answers on the demo data.
  const earnings = replayBackend();

  async function call<T>(name: string, f: () => T | Promise<T>): Promise<T> {
    calls.push(name);
    const planned = failures.get(name);
    if (planned) {
      failures.delete(name);
      throw planned;
    }
    if (latency > 0) await new Promise((res) => setTimeout(res, latency));
    lapseLeases();
    if (
      name !== "appInfo" &&
      name !== "session" &&
      name !== "signIn" &&
      name !== "settings" &&
      name !== "saveSettings" &&
      name !== "takeLinks" &&
      name !== "signInWithCode" &&
      !name.startsWith("preview") &&
      !session.signed_in
    ) {
      throw err("unauthenticated", "Not signed in");
    }
    return await f();
  }

  // Like the real client: a lease that ran out shows as expired before the
  // platform says so (the draft is kept). Which statuses lapse is Rust's
  // rule (RULES.lapsable_statuses, from the store).
  const LAPSABLE: ReadonlySet<QueueStatus> = new Set<QueueStatus>(RULES.lapsable_statuses);
  function lapseLeases() {
    const t = now();
    let changed = false;
    for (const a of list) {
      if (LAPSABLE.has(a.status) && Date.parse(a.lease_expires_at) <= t) {
        a.status = "lease_expired";
        changed = true;
      }
    }
    if (changed) bump();
  }

  function emitSync() {
    sync = {
      ...sync,
      online,
      signed_in: session.signed_in,
      pending_uploads: list.filter((a) => a.status === "in_outbox").length,
      orphaned_drafts: list.filter((a) => a.status === "orphaned" && a.revision > 0).length,
      expiring_leases: [...(options.expiringLeases ?? [])],
    };
    for (const l of syncListeners) l(clone(sync));
  }

  // ---- queue
  let cacheKey = "";
  let cache: Assign[] = [];
  function filtered(f: QueueFilter): Assign[] {
    const key = JSON.stringify(f) + "|" + list.map((a) => a.status).join("").length + "|" + version;
    if (key === cacheKey) return cache;
    const s = f.search.trim().toLowerCase();
    const out = list.filter(
      (a) =>
        (f.statuses.length === 0 || f.statuses.includes(a.status)) &&
        (f.opportunity_id === null || a.opportunity_id === f.opportunity_id) &&
        (f.kind === null || a.kind === f.kind) &&
        (s === "" ||
          a.title.toLowerCase().includes(s) ||
          a.item_id.includes(s) ||
          a.opportunity_title.toLowerCase().includes(s)),
    );
    const order = new Map(OPPORTUNITIES.map((o, i) => [o.id, i]));
    const cmp = (a: Assign, b: Assign): number => {
      const g = (order.get(a.opportunity_id) ?? 0) - (order.get(b.opportunity_id) ?? 0);
      if (g !== 0) return g;
      switch (f.sort) {
        case "lease":
          return a.lease_expires_at.localeCompare(b.lease_expires_at);
        case "pay":
          return (b.pay_cents ?? 0) - (a.pay_cents ?? 0);
        case "title":
          return a.title.localeCompare(b.title);
        default:
          return a.due_at.localeCompare(b.due_at) || a.n - b.n;
      }
    };
    out.sort(cmp);
    cacheKey = key;
    cache = out;
    return out;
  }
  let version = 0;
  const bump = () => {
    version++;
  };

  function rowOf(a: Assign): QueueEntry {
    return {
      assignment_id: a.assignment_id,
      item_id: a.item_id,
      title: a.title,
      opportunity_id: a.opportunity_id,
      opportunity_title: a.opportunity_title,
      kind: a.kind,
      status: a.status,
      due_at: a.due_at,
      lease_expires_at: a.lease_expires_at,
      pay_basis: a.pay_basis,
      pay_cents: a.pay_cents,
      currency: a.currency,
      downloaded: a.downloaded,
      held_back: a.held_back,
    };
  }

  function opened(
    a: Assign,
    isPreview = false,
    rubricOverride?: MockOpportunity["rubric"],
  ): OpenedItem {
    const opp = oppById.get(a.opportunity_id);
    if (!opp) throw err("not_found", `Opportunity ${a.opportunity_id} is gone`);
    const rubric = rubricOverride ?? opp.rubric;
    const editable = EDITABLE.has(a.status);
    // Open work needs its content; held-back content is not here (as in Rust).
    if (editable && a.held_back && !isPreview) throw err("not_found", a.held_back);
    const draft =
      a.status === "needs_revision" && a.revision === 0 && a.submitted_answers
        ? a.submitted_answers
        : FINISHED.has(a.status) && a.submitted_answers
          ? a.submitted_answers
          : a.draft;
    const outcome = OUTCOME[a.status] ?? null;
    const fieldsOf = scopedFields(opp, a.n, a.hostile);
    // Sample pay of finished work: the opportunity's rate, as the platform
    // reports it (the mock computes no pay).
    const payStatus = PAY[a.status];
    const pay =
      payStatus && a.kind === "grade"
        ? [
            {
              submission_id: `sub-${a.n}`,
              amount_cents: opp.rate_cents,
              currency: "USD",
              status: payStatus,
            },
          ]
        : [];
    return clone({
      assignment_id: a.assignment_id,
      kind: a.kind,
      status: a.status,
      feedback: a.feedback,
      issue:
        a.status === "orphaned" || a.status === "lease_expired"
          ? {
              kind: "lease_expired",
              message: "Your lease on this item expired; it may have been reassigned.",
            }
          : a.status === "rubric_changed"
            ? {
                kind: "rubric_changed",
                message: "The rubric moved to a new version; check your answers against it.",
              }
            : a.status === "rejected" || a.status === "submit_failed"
              ? { kind: "rejected", message: a.feedback ?? "Rejected" }
              : null,
      opportunity: {
        id: opp.id,
        title: opp.title,
        buyer: opp.buyer,
        licence_category: opp.licence_category,
      },
      item: {
        item_id: a.item_id,
        opportunity_id: opp.id,
        title: a.title,
        rubric_id: rubric.id,
        rubric_version: rubric.version,
        fields: scopedFields(opp, a.n, a.hostile),
        missing_fields: [],
      },
      rubric,
      guidelines: markdownToBlocks(rubric.guidelines),
      views: viewsFor(
        opp,
        a.title,
        a.n,
        a.hostile,
        `diff-${a.item_id}`,
        opp.id === "opp-code" ? diffFor(a) : null,
      ),
      layout: layoutOf(rubric),
      draft,
      draft_revision: a.revision,
      saved_at: a.saved_at,
      validation: notJudged(rubric),
      reviewed: a.reviewed,
      time: timeLog(a),
      preview: isPreview,
      // Like the app: deadlines only while the work is still the reviewer's.
      due_at: isPreview || !editable ? null : a.due_at,
      lease_expires_at: isPreview || !editable ? null : a.lease_expires_at,
      comments: placements(a, draft),
      editable,
      revision: a.status === "needs_revision",
      submission:
        a.submitted_answers || outcome
          ? {
              submission_id: a.status === "in_outbox" ? null : `sub-${a.n}`,
              submitted_at: a.spans[0]?.ended_at ?? null,
              outcome,
              feedback: a.feedback,
              decided_at:
                outcome && outcome !== "pending" ? new Date(t0 - 3600_000).toISOString() : null,
              answers: a.submitted_answers,
              summary: a.submitted_answers ? summarize(rubric, a.submitted_answers, fieldsOf) : [],
              active_seconds: coveredSeconds(a.spans),
              pay,
            }
          : null,
      pending: editable ? a.pending : [],
      reviewed_answers: a.reviewed
        ? summarize(rubric, a.reviewed.answers as Answers, fieldsOf)
        : [],
      reviewed_comments: [],
      notice: null,
    });
  }

  /** Like the app (views::item_layout): diffs, redlines, scans and the two
   *  sides of a pairwise question on the canvas, the rest as context. */
  function layoutOf(rubric: MockOpportunity["rubric"]): ItemLayout {
    const pairs = rubric.questions.flatMap((q) => (q.type === "pairwise" ? [[q.a, q.b]] : []));
    const canvas: string[][] = [];
    const context: string[] = [];
    for (const f of rubric.fields) {
      const pair = pairs.find((p) => p.includes(f.id));
      if (pair) {
        if (!canvas.some((s) => s.includes(pair[0]))) canvas.push(pair);
      } else if (["diff", "legal_redline", "scan"].includes(f.viewer)) canvas.push([f.id]);
      else context.push(f.id);
    }
    return canvas.length ? { canvas, context } : { canvas: context.map((id) => [id]), context: [] };
  }

  /** Like the app: a diff comment whose file or line is not in the item's diff is outdated. */
  function placements(a: Assign, draft: Answers): CommentPlacement[] {
    const files = diffs.get(`diff-${a.item_id}`) ?? [];
    const out: CommentPlacement[] = [];
    for (const [qid, ans] of Object.entries(draft.answers)) {
      if (ans?.type !== "annotations") continue;
      for (const c of ans.items) {
        if (c.anchor.kind !== "diff_line") continue;
        const { file, side, line } = c.anchor;
        const f = files.find((x) => x.path === file);
        const lines = f
          ? f.ops.filter((o) => o.op === "ctx" || o.op === (side === "old" ? "del" : "add")).length
          : 0;
        const ok = line >= 1 && line <= lines;
        out.push({
          question_id: qid,
          annotation_id: c.id,
          field_id: c.field,
          file,
          side,
          line: ok ? line : null,
          previous_line: line,
          status: ok ? "exact" : "outdated",
        });
      }
    }
    return out;
  }

  function timeLog(a: Assign): TimeLog {
    return {
      assignment_id: a.assignment_id,
      sessions: a.spans.map((sp, i) => ({
        id: i + 1,
        assignment_id: a.assignment_id,
        started_at: sp.started_at,
        ended_at: sp.ended_at,
        corrected: sp.corrected,
      })),
      spans: clone(a.spans),
      active_seconds: coveredSeconds(a.spans),
    };
  }

  function get(id: string): Assign {
    const a = byId.get(id);
    if (!a) throw err("not_found", `Assignment ${id} not found`);
    return a;
  }

  /** What the synthetic mock reports for any answers: see the head of this file. */
  function notJudged(rubric: MockOpportunity["rubric"]): ValidationReport {
    return {
      ok: true,
      issues: [],
      visible_questions: rubric.questions.map((q) => q.id),
      rationale_required: {},
    };
  }

  function checkAnswers(v: unknown): Answers {
    const x = v as Answers;
    if (
      !x ||
      typeof x !== "object" ||
      typeof x.answers !== "object" ||
      typeof x.rationales !== "object"
    )
      throw err("invalid", "Malformed answers");
    return x;
  }

  const previewItems = list.filter((a) => a.opportunity_id === "opp-code").slice(0, 3);
  let previewRubric = clone(OPPORTUNITIES[0].rubric);

  // issue 18: links waiting for the UI, and who listens for them.
  const links: LinkOutcome[] = [];
  const linkListeners = new Set<(payload: null) => void>();
  // issue 18: native menu and updates.
  const menuListeners = new Set<(payload: MenuAction) => void>();
  let updateOffer: UpdateOffer | null = null;
  const backend: MockBackend = {
    calls,
    menuAction(action) {
      for (const l of menuListeners) l(action);
    },
    offerUpdate(offer) {
      updateOffer = clone(offer);
    },
    receiveLinks(outcomes) {
      links.push(...clone(outcomes));
      for (const l of linkListeners) l(null);
    },
    failNext(method, error) {
      failures.set(method, error);
    },
    async backgroundSync(change) {
      const start: SyncProgress = {
        phase: "assignments",
        items_done: 0,
        items_total: 0,
        bytes_done: 0,
        bytes_total: 0,
      };
      sync = { ...sync, syncing: true };
      for (const l of progressListeners) l(start);
      emitSync();
      await new Promise((res) => setTimeout(res, 20));
      for (const a of list) if (!a.held_back) a.downloaded = true;
      if (change?.ledger) earnings.seek("submit", "valid");
      bump();
      online = true;
      for (const l of progressListeners) l({ ...start, phase: "done" });
      sync = {
        ...sync,
        syncing: false,
        online: true,
        last_error: null,
        last_sync_at: new Date(now()).toISOString(),
        data_version: sync.data_version + 1,
      };
      emitSync();
    },
    holdProgress(progress) {
      sync = { ...sync, syncing: true };
      for (const l of progressListeners) l(clone(progress));
      emitSync();
    },
    backgroundFail(message = "connection refused") {
      // Like the real loop: progress up to the failing phase, never "done".
      sync = { ...sync, syncing: true };
      for (const l of progressListeners)
        l({ phase: "assignments", items_done: 0, items_total: 0, bytes_done: 0, bytes_total: 0 });
      emitSync();
      online = false;
      sync = {
        ...sync,
        syncing: false,
        online: false,
        last_error: err("offline", `The platform can't be reached (${message}).`),
      };
      emitSync();
    },
    setOnline(v: boolean) {
      // Like the real service: the last error stays until a sync succeeds.
      online = v;
      emitSync();
    },
    seedDiffComments(id) {
      const a = get(id);
      diffFor(a);
      a.draft = {
        answers: {
          ...a.draft.answers,
          comments: {
            type: "annotations",
            items: [
              {
                id: "seed-live",
                field: "patch",
                anchor: {
                  kind: "diff_line",
                  file: "src/lease.rs",
                  side: "new",
                  line: 9,
                  line_hash: "5f1e0c2a9b7d",
                },
                severity: "major",
                comment:
                  "saturating_duration_since hides a clock that went backwards; log it at least.",
              },
              {
                id: "seed-old",
                field: "patch",
                anchor: {
                  kind: "diff_line",
                  file: "src/lease.rs",
                  side: "new",
                  line: 4242,
                  line_hash: "0a1b2c3d4e5f",
                },
                severity: "minor",
                comment:
                  "This helper was renamed upstream; the comment is kept from the earlier version of the diff.",
              },
            ],
          },
        },
        rationales: { ...a.draft.rationales },
      };
      a.revision++;
      if (a.status === "new") a.status = "draft";
      bump();
    },
    setPublishRole(role) {
      publishRole = role;
    },
    breakPreview() {
      // Like the app: the file no longer parses; the last good render stays.
      if (!preview) return;
      preview = {
        ...preview,
        generation: preview.generation + 1,
        showing_last_good: true,
        findings: [
          {
            severity: "error",
            code: "syntax",
            message: "TOML parse error at line 3, column 9: expected `=`",
            location: { line: 3, column: 9 },
          },
          ...preview.findings,
        ],
      };
      for (const l of previewListeners) l(clone(preview));
    },
    touchPreview() {
      if (!preview) return;
      previewRubric = {
        ...previewRubric,
        version: previewRubric.version + 1,
        title: `${OPPORTUNITIES[0].rubric.title} (edited ${preview.generation + 1})`,
      };
      preview = {
        ...preview,
        generation: preview.generation + 1,
        rubric_title: previewRubric.title,
        showing_last_good: false,
        findings: preview.findings.filter((f) => f.code !== "syntax"),
      };
      for (const l of previewListeners) l(clone(preview));
    },

    appInfo: () =>
      call("appInfo", () => ({
        version: "0.1.0-mock",
        identifier: "dev.assay.mock",
        data_dir: "/tmp/assay-mock",
      })),
    session: () => call("session", () => clone(session)),
    signIn: (url, token) =>
      call("signIn", () => {
        if (!/^https?:\/\/[^\s/]+/.test(url))
          throw err(
            "invalid",
            "Platform URL must start with https:// (or http:// for a local platform)",
          );
        if (token.trim() === "") throw err("invalid", "Token is empty");
        if (/unreachable/.test(url))
          throw err(
            "offline",
            `Could not reach ${url} (connection refused). Check the address and your connection; nothing was saved.`,
          );
        if (token === "bad")
          throw err(
            "unauthenticated",
            `The platform at ${url} did not accept this token: it is wrong, expired or was revoked. Copy a current token from your platform account.`,
          );
        session = signedInAs(url, false);
        return clone(session);
      }),
    signOut: () =>
      call("signOut", () => {
        session = {
          signed_in: false,
          platform_url: session.platform_url,
          expert: null,
          demo: false,
        };
        return clone(session);
      }),

    queuePage: (filter, offset, limit) =>
      call("queuePage", () => {
        const all = filtered(filter);
        const groups: QueueGroup[] = [];
        all.forEach((a, i) => {
          const last = groups[groups.length - 1];
          if (last && last.opportunity_id === a.opportunity_id) last.count++;
          else {
            const o = oppById.get(a.opportunity_id);
            groups.push({
              opportunity_id: a.opportunity_id,
              opportunity_title: a.opportunity_title,
              buyer: o?.buyer ?? "",
              licence_category: o?.licence_category ?? "",
              first_index: i,
              count: 1,
            });
          }
        });
        const counts: Partial<Record<QueueStatus, number>> = {};
        for (const a of list) counts[a.status] = (counts[a.status] ?? 0) + 1;
        const start = Math.max(0, Math.min(offset, all.length));
        const page: QueuePage = {
          total: all.length,
          offset: start,
          rows: all.slice(start, start + Math.max(0, Math.min(limit, 500))).map(rowOf),
          groups,
          status_counts: counts,
        };
        return page;
      }),

    openItem: (id) => call("openItem", () => opened(get(id))),
    itemStatus: (id) => call("itemStatus", () => get(id).status),
    saveDraft: (id, answers, pending) =>
      call("saveDraft", () => {
        const a = get(id);
        checkAnswers(answers);
        if (!EDITABLE.has(a.status)) throw notEditable(a.status);
        a.draft = clone(answers);
        if (pending) a.pending = clone(pending);
        a.revision++;
        a.saved_at = new Date(now()).toISOString();
        // Work begun: the status Rust gave new work saved unfinished. Whether
        // a draft is complete ("ready") only Rust can say; this mock never does.
        if (a.status === "new") a.status = begunStatus();
        bump();
        const o = oppById.get(a.opportunity_id);
        return {
          revision: a.revision,
          saved_at: a.saved_at,
          status: a.status,
          validation: o
            ? notJudged(o.rubric)
            : { ok: false, issues: [], visible_questions: [], rationale_required: {} },
        };
      }),
    validate: (id, answers) =>
      call("validate", () => {
        const a = get(id);
        const opp = oppById.get(a.opportunity_id);
        if (!opp) throw err("not_found", "Opportunity gone");
        checkAnswers(answers);
        return notJudged(opp.rubric);
      }),
    submit: (id, answers) =>
      call("submit", () => {
        const a = get(id);
        const opp = oppById.get(a.opportunity_id);
        if (!opp) throw err("not_found", "Opportunity gone");
        if (a.kind === "senior_review")
          throw rustsRefusal("submit", "a senior review submitted as a grade");
        if (!EDITABLE.has(a.status)) throw notEditable(a.status);
        if (a.pending.length)
          throw err(
            "invalid",
            `An annotation on ${a.pending[0].field} was begun but not added: add it or cancel it before submitting.`,
          );
        checkAnswers(answers);
        a.submitted_answers = clone(answers);
        a.draft = clone(answers);
        a.status = "in_outbox";
        bump();
        emitSync();
        return { outbox_id: `ob-${a.assignment_id}`, status: a.status };
      }),
    reviewDecision: (id, input) =>
      call("reviewDecision", () => {
        const a = get(id);
        if (a.kind !== "senior_review") throw err("invalid", "Not a senior review assignment");
        // Feedback too short for the decision (the UI offers no such
        // decision): in Rust's words where the real app was asked the same,
        // else as the UI reads RULES.review_feedback_min_chars.
        refusedByRust("review_decision", { input });
        const short = reviewFeedbackProblem(input.decision, input.feedback ?? "");
        if (short) throw err("invalid", short);
        a.status = "in_outbox";
        bump();
        emitSync();
        return { outbox_id: `ob-${a.assignment_id}`, status: a.status };
      }),

    timeLog: (id) => call("timeLog", () => timeLog(get(id))),
    // Spans are Rust's to judge: one the real app refused in the recording
    // is refused with its answer; any other is kept as given.
    recordTime: (id, span) =>
      call("recordTime", () => {
        const a = get(id);
        refusedByRust("record_time", { span });
        a.spans.push(clone(span));
        return timeLog(a);
      }),
    recordWaiting: (span) =>
      call("recordWaiting", async () => {
        refusedByRust("record_waiting", { span });
        const asked = canonical(span);
        if (recorded("record_waiting").some((c) => c.ok && canonical(c.args.span) === asked))
          return earnings.recordWaiting(span);
        const ledger = await earnings.earningsOverview({
          from: null,
          to: null,
          opportunity_id: null,
        });
        return { waiting_seconds: ledger.unpaid.waiting_seconds };
      }),
    correctTimeLog: (id, spans) =>
      call("correctTimeLog", () => {
        const a = get(id);
        refusedByRust("correct_time_log", { spans });
        a.spans = clone(spans);
        return timeLog(a);
      }),
    checkTimeLog: (spans) =>
      call("checkTimeLog", () => ({
        problems: spans.map((s) => recordedSpanProblem(s)),
        active_seconds: coveredSeconds(spans),
      })),

    syncState: () =>
      call("syncState", () => {
        emitSync();
        return clone(sync);
      }),
    syncNow: (onProgress) =>
      call("syncNow", async () => {
        if (!online) {
          sync = {
            ...sync,
            online: false,
            last_error: err("offline", "Cannot reach demo.assay.local"),
          };
          emitSync();
          throw sync.last_error;
        }
        sync = { ...sync, syncing: true, last_attempt_at: new Date(now()).toISOString() };
        emitSync();
        const outbox = list.filter((a) => a.status === "in_outbox");
        const steps = 10;
        for (let i = 0; i <= steps; i++) {
          const p: SyncProgress = {
            phase: i < 4 ? "upload" : i < 8 ? "assignments" : i < steps ? "ledger" : "done",
            items_done: i,
            items_total: steps,
            bytes_done: i * 4096,
            bytes_total: steps * 4096,
          };
          onProgress(p);
          for (const l of progressListeners) l(p);
          if (i === 4) for (const a of outbox) a.status = "submitted";
          await new Promise((res) => setTimeout(res, syncMs / steps));
        }
        bump();
        sync = {
          ...sync,
          syncing: false,
          last_sync_at: new Date(now()).toISOString(),
          last_error: null,
          data_version: sync.data_version + 1,
        };
        emitSync();
        return clone(sync);
      }),
    onSyncState: async (cb): Promise<Unsubscribe> => {
      syncListeners.add(cb);
      return () => syncListeners.delete(cb);
    },
    onSyncProgress: async (cb): Promise<Unsubscribe> => {
      progressListeners.add(cb);
      return () => progressListeners.delete(cb);
    },

    earningsPeriod: (p) => call("earningsPeriod", () => earnings.earningsPeriod(p)),
    earningsOverview: (q) => call("earningsOverview", () => earnings.earningsOverview(q)),
    earningsSeries: (q, bucket) => call("earningsSeries", () => earnings.earningsSeries(q, bucket)),
    payouts: () => call("payouts", () => earnings.payouts()),
    discrepancies: () => call("discrepancies", () => earnings.discrepancies()),
    exportEarningsCsv: (q) => call("exportEarningsCsv", () => earnings.exportEarningsCsv(q)),

    diffRows: (req) =>
      call("diffRows", () => {
        const files = diffs.get(req.handle);
        if (!files) throw err("not_found", `Unknown diff ${req.handle}`);
        const f = files[req.file_index];
        if (!f) throw err("invalid", `No file ${req.file_index}`);
        // Built once per file/mode/expansion, as the app caches its row model.
        const key = `${req.handle}|${req.file_index}|${req.mode}|${[...req.expanded].sort((a, b) => a - b).join(",")}`;
        let rows = builtRows.get(key);
        if (!rows) {
          rows = buildRows(f, req.mode, new Set(req.expanded));
          if (builtRows.size > 32) builtRows.clear();
          builtRows.set(key, rows);
        }
        const start = Math.max(0, Math.min(req.start, rows.length));
        return {
          file_index: req.file_index,
          start,
          total: rows.length,
          rows: rows.slice(start, start + Math.min(Math.max(0, req.count), 1000)),
        };
      }),
    scanFrame: (handle, frame, win) =>
      call("scanFrame", () => {
        const variant = Number(handle.split("-")[1] ?? 0);
        if (frame < 0 || frame >= 12) throw err("invalid", `Frame ${frame} out of range`);
        return {
          frame,
          width: 256,
          height: 256,
          data_url: renderFrame(frame, variant, win.center, win.width),
        };
      }),
    scanPixel: (handle, frame, x, y) =>
      call("scanPixel", () => {
        const variant = Number(handle.split("-")[1] ?? 0);
        if (x < 0 || y < 0 || x >= 256 || y >= 256) throw err("invalid", "Outside the image");
        return { x, y, frame, value: phantom(x, y, frame, variant), unit: "HU" };
      }),

    previewChooseRubric: () =>
      call("previewChooseRubric", () => {
        chosen = { ...chosen, rubric_path: "rubrics/code-review.toml" };
        return clone(chosen);
      }),
    previewChooseSamples: () =>
      call("previewChooseSamples", () => {
        chosen = { ...chosen, items_dir: "samples/code-review" };
        return clone(chosen);
      }),
    previewOpen: () =>
      call("previewOpen", () => {
        const path = chosen.rubric_path;
        const dir = chosen.items_dir;
        if (!path || !dir)
          throw err("invalid", "Choose a rubric file and a folder of sample items first.");
        preview = {
          rubric_path: path,
          items_dir: dir,
          rubric_title: previewRubric.title,
          findings: [
            {
              severity: "warning",
              code: "no-examples",
              message: "Question “summary” has no examples",
              location: null,
            },
          ],
          items: previewItems.map((a) => ({
            item_id: a.item_id,
            title: a.title,
            file: `${dir.replace(/\/$/, "")}/${a.item_id}.json`,
            hidden_fields: ["reference_solution"],
          })),
          generation: (preview?.generation ?? 0) + 1,
          showing_last_good: false,
        };
        return clone(preview);
      }),
    previewItem: (itemId) =>
      call("previewItem", () => {
        const a = previewItems.find((x) => x.item_id === itemId);
        if (!a) throw err("not_found", `No sample item ${itemId}`);
        return { ...opened(a, true, previewRubric), assignment_id: `preview:${itemId}` };
      }),
    previewValidate: (_itemId, answers) =>
      call("previewValidate", () => {
        checkAnswers(answers);
        return notJudged(previewRubric);
      }),
    previewPublishAccess: () =>
      call("previewPublishAccess", () =>
        !session.signed_in
          ? {
              can_publish: false,
              role: null,
              reason: "Sign in with an author token to publish this rubric.",
            }
          : {
              can_publish: mayPublish(),
              role: publishRole,
              reason: mayPublish()
                ? null
                : "This token may not publish rubrics: sign in with an author token.",
            },
      ),
    previewPublishCheck: () =>
      call("previewPublishCheck", () => {
        if (!mayPublish()) throw forbidden();
        return publishPlan();
      }),
    previewPublish: () =>
      call("previewPublish", () => {
        if (!mayPublish()) throw forbidden();
        const plan = publishPlan();
        if (plan.errors.length)
          return {
            published: false,
            rubric_id: null,
            version: null,
            created: false,
            summary: `The platform refused the rubric: the rubric has ${plan.errors.length} lint error(s); nothing was published`,
            errors: plan.errors,
            warnings: plan.warnings,
          };
        const created = plan.can_confirm;
        publishedVersion = plan.version;
        return {
          published: true,
          rubric_id: plan.rubric_id,
          version: plan.version,
          created,
          summary: created
            ? `Published ${plan.rubric_id} version ${plan.version}.`
            : `${plan.rubric_id} version ${plan.version} was already published with this content; nothing changed.`,
          errors: [],
          warnings: plan.warnings,
        };
      }),
    onPreviewChanged: async (cb) => {
      previewListeners.add(cb);
      return () => previewListeners.delete(cb);
    },

    settings: () => call("settings", () => clone(settings)),
    saveSettings: (s) =>
      call("saveSettings", () => {
        const within = (v: number, b: { min: number; max: number | null }) =>
          v >= b.min && (b.max === null || v <= b.max);
        if (
          !within(s.idle_timeout_s, RULES.idle_timeout_s) ||
          !within(s.focus_grace_s, RULES.focus_grace_s) ||
          !within(s.notify_interval_s, RULES.notify_interval_s)
        )
          throw err("invalid", "A setting is outside the bounds Rust allows (RULES)");
        settings = clone(s);
        return clone(settings);
      }),
    // ---- issue 18 ----
    takeLinks: () => call("takeLinks", () => links.splice(0)),
    onMenuAction: async (cb) => {
      menuListeners.add(cb);
      return () => menuListeners.delete(cb);
    },
    checkForUpdate: () =>
      call(
        "checkForUpdate",
        (): UpdateCheck =>
          updateOffer
            ? { kind: "available", offer: clone(updateOffer) }
            : { kind: "up_to_date", current: "0.1.0", offered: "0.1.0" },
      ),
    installUpdate: (confirmUnsent) =>
      call("installUpdate", (): UpdateInstall => {
        if (!updateOffer) throw err("invalid", "Check for updates first.");
        const pending = list.filter((a) => a.status === "in_outbox").length;
        if (pending > 0 && !confirmUnsent)
          return {
            kind: "needs_confirmation",
            message: `${pending} grades are still waiting to upload: the platform has not taken them yet. They are kept and will upload after the update; confirm to update now, or sync first.`,
          };
        return {
          kind: "installed",
          version: updateOffer.version,
          artefact: `/data/updates/Assay_${updateOffer.version}.deb`,
        };
      }),
    onLinkPending: async (cb) => {
      linkListeners.add(cb);
      return () => linkListeners.delete(cb);
    },
    signInWithCode: (url, code) =>
      call("signInWithCode", () => {
        if (code === "used-code-0000000")
          throw err(
            "unauthenticated",
            `${url} does not accept this sign-in link: its code is unknown, already used or expired. Ask the platform for a new link, or sign in with a token.`,
          );
        session = signedInAs(url, false);
        return clone(session);
      }),
    // ---- end issue 18 ----
  };
  return backend;
}

function sampleAnswers(opp: MockOpportunity): Answers {
  const out: Answers = { answers: {}, rationales: {} };
  for (const q of opp.rubric.questions) {
    if (q.type === "scale") out.answers[q.id] = { type: "scale", value: q.min + 1 };
    if (q.type === "single_choice")
      out.answers[q.id] = { type: "single_choice", choice: q.options[q.options.length - 1].id };
    if (q.type === "pairwise")
      out.answers[q.id] = { type: "pairwise", preference: "b", strength: "clearly" };
    if (q.type === "pass_fail")
      out.answers[q.id] = {
        type: "pass_fail",
        results: Object.fromEntries(q.criteria.map((c) => [c.id, true])),
      };
    if (q.type === "free_text")
      out.answers[q.id] = { type: "free_text", text: "Looks fine overall, minor nits in naming." };
    out.rationales[q.id] = "Checked against the guidelines; see the failing overflow test.";
  }
  return out;
}

// 1×1 grey PNG for environments without a canvas (jsdom).
const GREY_PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgYAAAAAMAASsJTYQAAAAASUVORK5CYII=";

function renderFrame(frame: number, variant: number, center: number, width: number): string {
  if (typeof document === "undefined") return GREY_PNG;
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = 256;
  let ctx: CanvasRenderingContext2D | null = null;
  try {
    ctx = canvas.getContext("2d");
  } catch {
    ctx = null;
  }
  if (!ctx) return GREY_PNG;
  const img = ctx.createImageData(256, 256);
  const lo = center - width / 2;
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 256; x++) {
      const v = phantom(x, y, frame, variant);
      const g = Math.max(0, Math.min(255, Math.round(((v - lo) / Math.max(1, width)) * 255)));
      const i = (y * 256 + x) * 4;
      img.data[i] = img.data[i + 1] = img.data[i + 2] = g;
      img.data[i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas.toDataURL("image/png");
}

/** The answers in the rubric's words (labels, not ids), like the app's `submission::summarize`. */
function summarize(
  rubric: MockOpportunity["rubric"],
  answers: Answers,
  fields: { id: string; label: string }[],
): AnswerSummary[] {
  const field = (id: string) => fields.find((f) => f.id === id)?.label ?? id;
  const out: AnswerSummary[] = [];
  for (const q of rubric.questions) {
    const a = answers.answers[q.id];
    const rationale = answers.rationales[q.id]?.trim() ? (answers.rationales[q.id] ?? null) : null;
    if (!a && !rationale) continue;
    let text = "";
    if (a?.type === "scale" && q.type === "scale")
      text =
        `${a.value} / ${q.max}` +
        (q.anchors.find((x) => x.value === a.value)
          ? ` — ${q.anchors.find((x) => x.value === a.value)?.label}`
          : "");
    else if (a?.type === "single_choice" && q.type === "single_choice")
      text = q.options.find((o) => o.id === a.choice)?.label ?? a.choice;
    else if (a?.type === "multi_choice" && q.type === "multi_choice")
      text = a.choices.map((c) => q.options.find((o) => o.id === c)?.label ?? c).join(", ");
    else if (a?.type === "pass_fail" && q.type === "pass_fail")
      text = q.criteria
        .filter((c) => c.id in a.results)
        .map((c) => `${c.label}: ${a.results[c.id] ? "pass" : "fail"}`)
        .join(", ");
    else if (a?.type === "ranking") text = a.order.map(field).join(" > ");
    else if (a?.type === "pairwise" && q.type === "pairwise")
      text =
        (a.preference === "tie" ? "Tie" : `${field(a.preference === "a" ? q.a : q.b)} is better`) +
        (a.strength && a.preference !== "tie" ? ` (${a.strength})` : "");
    else if (a?.type === "free_text") text = a.text;
    else if (a?.type === "annotations")
      text = a.items.length === 1 ? "1 comment" : `${a.items.length} comments`;
    out.push({
      question_id: q.id,
      prompt: q.prompt,
      answer: text,
      rationale,
      comments: a?.type === "annotations" ? a.items : [],
    });
  }
  return out;
}

/** The expert's diff comment in a reviewed code submission (on src/lease.rs, new line 9). */
function withComment(a: Answers, opp: string): Answers {
  if (opp !== "opp-code") return a;
  a.answers.comments = {
    type: "annotations",
    items: [
      {
        id: "rc1",
        field: "patch",
        anchor: { kind: "diff_line", file: "src/lease.rs", side: "new", line: 9 },
        severity: "major",
        comment: "Expert: this lease never renews on clock skew.",
      },
    ],
  };
  return a;
}
