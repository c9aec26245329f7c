// A backend that replays what the real app answered. `cargo xtask bindings`
// runs crates/app/tests/recorded.rs, which signs the real `assay-app` in to
// the reference platform seeded with the demo data, syncs, and records the
// answers of the commands the UI's tests exercise into fixtures/demo.json
// (CI fails while that recording is stale). Nothing here decides anything:
// every answer, validation finding and error is Rust's.
//
// Calls are matched by command and canonical arguments (object keys sorted).
// The recording is a timeline: a replayed state-changing call moves the
// replay to its place in it, and a read answers what Rust answered last
// before the next recorded change (or, when it was never read that early,
// the first answer recorded).
// A call the recording does not hold rejects with an `internal` error that
// names it: record it in recorded.rs rather than inventing an answer here.
import type { AppError, Answers, QueueStatus, SyncState, TimeSpan } from "../bindings";
import type { Backend, Unsubscribe } from "./index";
import recording from "./fixtures/demo.json";

export type RecordedCall = {
  label: string;
  command: string;
  args: Record<string, unknown>;
  ok?: unknown;
  err?: AppError;
  changes?: boolean;
};

export type Recording = {
  recorded_at: string;
  calls: RecordedCall[];
  /** What the app answers to a change of work in each status it may no
   *  longer change (`AppError::not_editable`), by status. */
  not_editable?: Partial<Record<QueueStatus, AppError>>;
};

export const DEMO: Recording = recording as unknown as Recording;

/** JSON with object keys sorted at every level; `undefined` fields dropped. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
}

/** The recorded calls of `command` labelled `label` (for tests: the inputs Rust answered). */
export function recorded(command: string, label?: string, rec: Recording = DEMO): RecordedCall[] {
  return rec.calls.filter(
    (c) => c.command === command && (label === undefined || c.label === label),
  );
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** The error Rust answered when it refused `command` called with arguments
 *  equal to `args` on every key `args` names (other keys, such as the
 *  assignment, are not compared); null when the recording holds no such
 *  refusal. For the mock, whose synthetic assignments the recording does not
 *  know: it refuses what Rust refused, in Rust's words, and judges nothing. */
export function recordedRefusal(
  command: string,
  args: Record<string, unknown>,
  rec: Recording = DEMO,
): AppError | null {
  const want = Object.entries(args).map(([k, v]) => [k, canonical(v)] as const);
  const c = rec.calls.find(
    (c) => c.command === command && c.err && want.every(([k, v]) => canonical(c.args[k]) === v),
  );
  return c?.err ? clone(c.err) : null;
}

/** What Rust said about a span with these instants when the recording asked
 *  `check_time_log` (null: nothing wrong, or the recording never asked).
 *  For the mock: it shows Rust's words about the spans the tests type and
 *  judges nothing itself. */
export function recordedSpanProblem(span: TimeSpan, rec: Recording = DEMO): string | null {
  const at = (s: unknown) => Date.parse(String(s));
  for (const c of rec.calls) {
    if (c.command !== "check_time_log") continue;
    const problems = (c.ok as { problems?: unknown } | null)?.problems;
    if (!Array.isArray(problems)) continue;
    const asked = (c.args.spans ?? []) as TimeSpan[];
    const i = asked.findIndex(
      (s) => at(s.started_at) === at(span.started_at) && at(s.ended_at) === at(span.ended_at),
    );
    if (i >= 0) return (problems[i] as string | null) ?? null;
  }
  return null;
}

export type ReplayBackend = Backend & {
  /** Commands called, in order (test hook). */
  readonly calls: string[];
  /** Moves the replay to the recorded state change `command` labelled
   *  `label`, as if the UI had made it: later reads answer what Rust
   *  answered after it (test hook; throws when the recording has none). */
  seek(command: string, label: string): void;
};

export function replayBackend(rec: Recording = DEMO): ReplayBackend {
  const byKey = new Map<string, number[]>();
  rec.calls.forEach((c, i) => {
    const key = `${c.command} ${canonical(c.args)}`;
    const list = byKey.get(key);
    if (list) list.push(i);
    else byKey.set(key, [i]);
  });
  // Where in the timeline the replay is: after the recording's setup (the
  // sign-in and the first sync), so the app starts signed in and synced.
  let at = rec.calls.findIndex((c) => c.command === "sync_now");
  const calls: string[] = [];
  const syncListeners = new Set<(s: SyncState) => void>();

  function pick(command: string, args: Record<string, unknown>): RecordedCall {
    const key = `${command} ${canonical(args)}`;
    const found = byKey.get(key);
    if (!found) {
      throw {
        code: "internal",
        message: `No recorded answer for ${key}: record it in crates/app/tests/recorded.rs and run \`cargo xtask bindings\`.`,
      } satisfies AppError;
    }
    const changes = rec.calls[found[0]].changes === true;
    let i: number;
    if (changes) {
      // The next such call in the timeline, else the last one made.
      i = found.find((j) => j > at) ?? found[found.length - 1];
      at = Math.max(at, i);
    } else {
      // The state lasts until the next recorded change after the replay's place.
      let until = rec.calls.findIndex((c, j) => j > at && c.changes === true);
      if (until < 0) until = rec.calls.length;
      const before = found.filter((j) => j < until);
      i = before.length ? before[before.length - 1] : found[0];
    }
    return rec.calls[i];
  }

  async function answer<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    calls.push(command);
    const c = pick(command, args);
    if (c.err) throw clone(c.err);
    return clone(c.ok) as T;
  }

  async function emitSync() {
    if (syncListeners.size === 0) return;
    const s = await answer<SyncState>("sync_state").catch(() => null);
    if (s) for (const l of syncListeners) l(s);
  }

  const answers = (a: Answers) => clone(a);

  return {
    calls,
    seek(command, label) {
      const i = rec.calls.findIndex(
        (c) => c.command === command && c.label === label && c.changes === true,
      );
      if (i < 0) throw new Error(`No recorded state change ${command} "${label}"`);
      at = i;
    },
    appInfo: () => answer("app_info"),
    session: () => answer("session"),
    signIn: (platformUrl, token) => answer("sign_in", { platformUrl, token }),
    signOut: () => answer("sign_out"),
    queuePage: async (filter, offset, limit) => {
      // Recorded whole (offset 0, limit 500); a window is a slice of it.
      const page = await answer<Awaited<ReturnType<Backend["queuePage"]>>>("queue_page", {
        filter,
        offset: 0,
        limit: 500,
      });
      const start = Math.max(0, Math.min(offset, page.rows.length));
      return { ...page, offset: start, rows: page.rows.slice(start, start + limit) };
    },
    openItem: (assignmentId) => answer("open_item", { assignmentId }),
    itemStatus: (assignmentId) => answer("item_status", { assignmentId }),
    saveDraft: (assignmentId, a, pending) =>
      answer("save_draft", { assignmentId, answers: answers(a), pending: pending ?? null }),
    validate: (assignmentId, a) => answer("validate", { assignmentId, answers: answers(a) }),
    submit: async (assignmentId, a) => {
      const r = await answer<Awaited<ReturnType<Backend["submit"]>>>("submit", {
        assignmentId,
        answers: answers(a),
      });
      await emitSync();
      return r;
    },
    reviewDecision: async (assignmentId, input) => {
      const r = await answer<Awaited<ReturnType<Backend["reviewDecision"]>>>("review_decision", {
        assignmentId,
        input,
      });
      await emitSync();
      return r;
    },
    timeLog: (assignmentId) => answer("time_log", { assignmentId }),
    recordTime: (assignmentId, span) => answer("record_time", { assignmentId, span }),
    recordWaiting: (span) => answer("record_waiting", { span }),
    correctTimeLog: (assignmentId, spans) => answer("correct_time_log", { assignmentId, spans }),
    checkTimeLog: (spans) => answer("check_time_log", { spans }),
    syncState: () => answer("sync_state"),
    syncNow: async () => {
      const s = await answer<SyncState>("sync_now");
      for (const l of syncListeners) l(clone(s));
      return s;
    },
    earningsPeriod: (period) => answer("earnings_period", { period }),
    earningsOverview: (query) => answer("earnings_overview", { query }),
    earningsSeries: (query, bucket) => answer("earnings_series", { query, bucket }),
    payouts: () => answer("payouts"),
    discrepancies: () => answer("discrepancies"),
    exportEarningsCsv: (query) => answer("export_earnings_csv", { query }),
    diffRows: async (request) => {
      // Recorded whole (start 0, up to 2,000 rows); a window is a slice of it.
      const whole = await answer<Awaited<ReturnType<Backend["diffRows"]>>>("diff_rows", {
        request: { ...request, start: 0, count: 2000 },
      });
      const start = Math.max(0, Math.min(request.start, whole.rows.length));
      return { ...whole, start, rows: whole.rows.slice(start, start + request.count) };
    },
    scanFrame: (handle, frame, window) => answer("scan_frame", { handle, frame, window }),
    scanPixel: (handle, frame, x, y) => answer("scan_pixel", { handle, frame, x, y }),
    previewChooseRubric: () => answer("preview_choose_rubric"),
    previewChooseSamples: () => answer("preview_choose_samples"),
    previewOpen: () => answer("preview_open"),
    previewItem: (itemId) => answer("preview_item", { itemId }),
    previewValidate: (itemId, a) => answer("preview_validate", { itemId, answers: answers(a) }),
    previewPublishAccess: () => answer("preview_publish_access"),
    previewPublishCheck: () => answer("preview_publish_check"),
    previewPublish: () => answer("preview_publish"),
    settings: () => answer("settings"),
    saveSettings: (settings) => answer("save_settings", { settings }),
    // Links come from the operating system, not from the app's state: none arrive here.
    takeLinks: async () => {
      calls.push("take_links");
      return [];
    },
    signInWithCode: (platformUrl, code) => answer("sign_in_with_code", { platformUrl, code }),
    onSyncState: async (cb): Promise<Unsubscribe> => {
      syncListeners.add(cb);
      return () => syncListeners.delete(cb);
    },
    onSyncProgress: async (): Promise<Unsubscribe> => () => {},
    onPreviewChanged: async (): Promise<Unsubscribe> => () => {},
    onLinkPending: async (): Promise<Unsubscribe> => () => {},
    // Updates come from a release channel the demo platform does not serve:
    // both are refused as unrecorded, as any call the recording lacks.
    checkForUpdate: () => answer("check_for_update"),
    installUpdate: (confirmUnsent) => answer("install_update", { confirmUnsent }),
    // Menu actions come from the native menu, which the browser has not.
    onMenuAction: async (): Promise<Unsubscribe> => () => {},
  };
}
