// The Tauri backend must call exactly the commands src-tauri registers, with
// argument keys equal to the Rust parameter names (rename_all = "snake_case").
import { describe, expect, it, vi } from "vitest";

const invoke = vi.fn(async (..._args: unknown[]) => null);
const listen = vi.fn(async (..._args: unknown[]) => () => {});
vi.mock("@tauri-apps/api/core", () => ({
  invoke: (...a: unknown[]) => invoke(...a),
  Channel: class {
    onmessage: ((m: unknown) => void) | null = null;
  },
}));
vi.mock("@tauri-apps/api/event", () => ({ listen: (...a: unknown[]) => listen(...a) }));

const { tauriBackend, timedUntilFirstRow } = await import("./tauri");

describe("tauri backend", () => {
  it("maps every method to its command and argument names", async () => {
    const b = tauriBackend();
    const answers = { answers: {}, rationales: {} };
    const q = { from: null, to: null, opportunity_id: null };
    const span = { started_at: "a", ended_at: "b", corrected: false };
    const calls: [() => Promise<unknown>, string, string[]][] = [
      [() => b.appInfo(), "app_info", []],
      [() => b.session(), "session", []],
      [() => b.signIn("https://x", "t"), "sign_in", ["platform_url", "token"]],
      [() => b.signOut(), "sign_out", []],
      [
        () =>
          b.queuePage(
            { search: "", statuses: [], opportunity_id: null, kind: null, sort: "due" },
            0,
            10,
          ),
        "queue_page",
        ["filter", "offset", "limit"],
      ],
      [() => b.openItem("a"), "open_item", ["assignment_id"]],
      [() => b.itemStatus("a"), "item_status", ["assignment_id"]],
      [() => b.saveDraft("a", answers, []), "save_draft", ["assignment_id", "answers", "pending"]],
      [() => b.validate("a", answers), "validate", ["assignment_id", "answers"]],
      [() => b.submit("a", answers), "submit", ["assignment_id", "answers"]],
      [
        () => b.reviewDecision("a", { decision: "accept", feedback: null }),
        "review_decision",
        ["assignment_id", "input"],
      ],
      [() => b.timeLog("a"), "time_log", ["assignment_id"]],
      [() => b.recordTime("a", span), "record_time", ["assignment_id", "span"]],
      [() => b.correctTimeLog("a", [span]), "correct_time_log", ["assignment_id", "spans"]],
      [() => b.checkTimeLog([span]), "check_time_log", ["spans"]],
      [() => b.recordWaiting(span), "record_waiting", ["span"]],
      [() => b.syncState(), "sync_state", []],
      [() => b.syncNow(() => {}), "sync_now", ["on_progress"]],
      [() => b.earningsOverview(q), "earnings_overview", ["query"]],
      [() => b.earningsSeries(q, "week"), "earnings_series", ["query", "bucket"]],
      [() => b.payouts(), "payouts", []],
      [() => b.discrepancies(), "discrepancies", []],
      [() => b.exportEarningsCsv(q), "export_earnings_csv", ["query"]],
      [
        () =>
          b.diffRows({
            handle: "h",
            file_index: 0,
            mode: "unified",
            start: 0,
            count: 10,
            expanded: [],
          }),
        "diff_rows",
        ["request"],
      ],
      [
        () => b.scanFrame("h", 0, { center: 0, width: 1 }),
        "scan_frame",
        ["handle", "frame", "window"],
      ],
      [() => b.scanPixel("h", 0, 1, 2), "scan_pixel", ["handle", "frame", "x", "y"]],
      [() => b.previewChooseRubric(), "preview_choose_rubric", []],
      [() => b.previewChooseSamples(), "preview_choose_samples", []],
      [() => b.previewOpen(), "preview_open", []],
      [() => b.previewItem("i"), "preview_item", ["item_id"]],
      [() => b.previewValidate("i", answers), "preview_validate", ["item_id", "answers"]],
      [() => b.settings(), "settings", []],
      [
        () =>
          b.saveSettings({
            theme: "dark",
            keymap: {},
            idle_timeout_s: 60,
            focus_grace_s: 30,
            notifications: true,
            notify_interval_s: 600,
            diff_mode: "split",
          }),
        "save_settings",
        ["settings"],
      ],
    ];
    for (const [call, name, keys] of calls) {
      invoke.mockClear();
      await call();
      expect(invoke).toHaveBeenCalledTimes(1);
      const [cmd, args] = invoke.mock.calls[0] as [string, Record<string, unknown> | undefined];
      expect(cmd).toBe(name);
      expect(Object.keys(args ?? {}).sort()).toEqual([...keys].sort());
    }
  });

  it("listens to the documented events", async () => {
    const b = tauriBackend();
    await b.onSyncState(() => {});
    await b.onSyncProgress(() => {});
    await b.onPreviewChanged(() => {});
    expect(listen.mock.calls.map((c) => c[0])).toEqual([
      "sync://state",
      "sync://progress",
      "preview://changed",
    ]);
  });
});

describe("start-up timing", () => {
  it("measures each call until the first row is marked, then none", async () => {
    performance.clearMarks();
    performance.clearMeasures();
    const inner = {
      session: vi.fn(async () => "s"),
      queuePage: vi.fn(async () => {
        throw new Error("refused");
      }),
    };
    const b = timedUntilFirstRow(inner as never, performance) as unknown as typeof inner;
    expect(await b.session()).toBe("s");
    await expect(b.queuePage()).rejects.toThrow("refused");
    const names = () => performance.getEntriesByType("measure").map((e) => e.name);
    expect(names()).toEqual(["ipc:session", "ipc:queuePage"]);
    performance.mark("assay:first-queue-row");
    expect(await b.session()).toBe("s");
    expect(names()).toEqual(["ipc:session", "ipc:queuePage"]);
    expect(inner.session).toHaveBeenCalledTimes(2);
  });
});
