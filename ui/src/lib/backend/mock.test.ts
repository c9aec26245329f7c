// The mock must behave like the real services, since the UI tests lean on it.
import { describe, expect, it, vi } from "vitest";
import { mockBackend } from "./mock";
import { DEMO, recorded } from "./replay";
import { ALL_QUEUE } from "./test-filters";
import type { TimeSpan } from "../bindings";

const all = ALL_QUEUE;

describe("mock backend", () => {
  it("pages, groups, filters and searches 10,000 assignments", async () => {
    const b = mockBackend({ queueSize: 10_000 });
    const p = await b.queuePage(all, 0, 100);
    expect(p.total).toBe(10_000);
    expect(p.rows).toHaveLength(100);
    expect(p.groups.map((g) => g.count).reduce((a, c) => a + c, 0)).toBe(10_000);
    expect(p.groups.map((g) => g.first_index)).toEqual([0, 2500, 5000, 7500]);
    const end = await b.queuePage(all, 9_950, 100);
    expect(end.rows).toHaveLength(50);
    const big = await b.queuePage(all, 0, 100_000);
    expect(big.rows.length).toBeLessThanOrEqual(500);
    const news = await b.queuePage({ ...all, statuses: ["new"] }, 0, 50);
    expect(news.rows.every((r) => r.status === "new")).toBe(true);
    expect(news.total).toBe(p.status_counts.new);
    const one = await b.queuePage({ ...all, search: "#9999:" }, 0, 10);
    expect(one.total).toBe(1);
    const reviews = await b.queuePage({ ...all, kind: "senior_review" }, 0, 10);
    expect(reviews.rows.every((r) => r.kind === "senior_review")).toBe(true);
  });

  // Rust's findings, the "ready" status and refusals of incomplete grades are
  // tested on the real app's recorded answers (replay.test.ts): this mock
  // never judges answers.
  it("keeps drafts with revisions, never judges them, and refuses edits after submit", async () => {
    const b = mockBackend({ syncMs: 10 });
    const item = await b.openItem("a-00000");
    expect(item.status).toBe("new");
    expect(item.editable).toBe(true);
    const empty = { answers: {}, rationales: {} };
    const r1 = await b.saveDraft("a-00000", empty);
    expect(r1.revision).toBe(1);
    expect(r1.status).toBe("draft");
    expect(r1.validation.issues).toEqual([]);
    const good = {
      answers: {
        correctness: { type: "scale", value: 5 },
        tests_adequate: { type: "single_choice", choice: "yes" },
        summary: { type: "free_text", text: "All good: the saturating subtraction is right." },
      },
      rationales: {},
    } as const;
    const r2 = await b.saveDraft("a-00000", good);
    expect(r2.revision).toBe(2);
    expect(r2.status).toBe("draft");
    expect((await b.openItem("a-00000")).draft).toEqual(good);
    await expect(b.saveDraft("a-00000", "junk" as never)).rejects.toMatchObject({
      code: "invalid",
    });
    const sub = await b.submit("a-00000", good);
    expect(sub.status).toBe("in_outbox");
    await expect(b.saveDraft("a-00000", good)).rejects.toMatchObject({ code: "not_editable" });
    expect((await b.openItem("a-00000")).editable).toBe(false);
    expect((await b.syncState()).pending_uploads).toBe(1);
    await expect(b.submit("a-00000", good)).rejects.toMatchObject({ code: "not_editable" });
    const phases: string[] = [];
    const s = await b.syncNow((p) => phases.push(p.phase));
    expect(s.pending_uploads).toBe(0);
    expect(phases.length).toBeGreaterThan(3);
    expect((await b.openItem("a-00000")).status).toBe("submitted");
  });

  it("reports offline sync as an offline error and recovers", async () => {
    const b = mockBackend({ online: false, syncMs: 0 });
    await expect(b.syncNow(() => {})).rejects.toMatchObject({ code: "offline" });
    expect((await b.syncState()).last_error?.code).toBe("offline");
    b.setOnline(true);
    expect((await b.syncNow(() => {})).last_error).toBeNull();
  });

  it("serves bounded diff windows and expands gaps", async () => {
    const b = mockBackend();
    const item = await b.openItem("a-00000");
    const v = item.views.find((x) => x.kind === "diff");
    if (v?.kind !== "diff") throw new Error("no diff view");
    const big = v.diff.files.findIndex((f) => f.path === "src/pipeline.rs");
    const w = await b.diffRows({
      handle: v.diff.handle,
      file_index: big,
      mode: "unified",
      start: 0,
      count: 50,
      expanded: [],
    });
    expect(w.rows).toHaveLength(50);
    expect(w.total).toBe(v.diff.files[big].unified_rows);
    const huge = await b.diffRows({
      handle: v.diff.handle,
      file_index: big,
      mode: "unified",
      start: 0,
      count: 1_000_000,
      expanded: [],
    });
    expect(huge.rows.length).toBeLessThanOrEqual(1000);
    const gap = w.rows.find((r) => r.type === "expander");
    if (gap?.type !== "expander") throw new Error("no gap");
    const x = await b.diffRows({
      handle: v.diff.handle,
      file_index: big,
      mode: "unified",
      start: 0,
      count: 50,
      expanded: [gap.gap],
    });
    expect(x.total).toBe(w.total + gap.hidden - 1);
    const split = await b.diffRows({
      handle: v.diff.handle,
      file_index: 0,
      mode: "split",
      start: 0,
      count: 100,
      expanded: [],
    });
    expect(
      split.rows.some(
        (r) =>
          r.type === "split" &&
          r.old?.kind === "removed" &&
          r.new?.kind === "added" &&
          r.old.runs.some((s) => s.changed),
      ),
    ).toBe(true);
    const uni = await b.diffRows({
      handle: v.diff.handle,
      file_index: 0,
      mode: "unified",
      start: 0,
      count: 100,
      expanded: [],
    });
    expect(uni.rows.every((r) => r.type !== "split")).toBe(true);
    expect(
      uni.rows.some(
        (r) => r.type === "line" && r.kind === "added" && r.runs.some((s) => s.changed),
      ),
    ).toBe(true);
    expect(v.diff.tree.total_files).toBe(v.diff.files.length);
    await expect(
      b.diffRows({
        handle: "nope",
        file_index: 0,
        mode: "split",
        start: 0,
        count: 1,
        expanded: [],
      }),
    ).rejects.toMatchObject({ code: "not_found" });
  });

  it("signs in only with a URL and token, and needs a session for work", async () => {
    const b = mockBackend({ signedIn: false });
    await expect(b.queuePage(all, 0, 1)).rejects.toMatchObject({ code: "unauthenticated" });
    await expect(b.signIn("ftp://x", "t")).rejects.toMatchObject({ code: "invalid" });
    await expect(b.signIn("https://p.example", "")).rejects.toMatchObject({ code: "invalid" });
    await expect(b.signIn("https://p.example", "bad")).rejects.toMatchObject({
      code: "unauthenticated",
    });
    expect((await b.signIn("https://p.example", "tok")).signed_in).toBe(true);
    expect((await b.queuePage(all, 0, 1)).total).toBe(60);
    await b.signOut();
    expect((await b.session()).signed_in).toBe(false);
  });

  it("opens a preview only of what was chosen in the dialogs", async () => {
    const b = mockBackend();
    await expect(b.previewOpen()).rejects.toMatchObject({ code: "invalid" });
    expect((await b.previewChooseRubric()).items_dir).toBeNull();
    await expect(b.previewOpen()).rejects.toMatchObject({ code: "invalid" });
    const chosen = await b.previewChooseSamples();
    expect(chosen.rubric_path).toBeTruthy();
    const s = await b.previewOpen();
    expect(s.rubric_path).toBe(chosen.rubric_path);
    expect(s.items.length).toBeGreaterThan(0);
  });

  it("answers earnings with the real app's recorded answers, computing none", async () => {
    const b = mockBackend();
    const q = { from: null, to: null, opportunity_id: null };
    const ok = (command: string, label: string) => recorded(command, label)[0]?.ok;
    expect(await b.earningsOverview(q)).toEqual(ok("earnings_overview", "earnings"));
    expect(await b.earningsSeries(q, "day")).toEqual(ok("earnings_series", "earnings by day"));
    expect(await b.payouts()).toEqual(ok("payouts", "payouts"));
    expect(await b.discrepancies()).toEqual(ok("discrepancies", "discrepancies"));
    expect(await b.exportEarningsCsv(q)).toEqual(ok("export_earnings_csv", "earnings exported"));
    // Weeks and periods too: the recording's clock is fixed, so are they.
    expect(await b.earningsSeries(q, "week")).toEqual(ok("earnings_series", "earnings by week"));
    const week = await b.earningsPeriod("this_week");
    expect(week).toEqual(ok("earnings_period", "earnings of this week"));
    const thisWeek = { ...q, from: week.from, to: week.to };
    expect(await b.earningsOverview(thisWeek)).toEqual(
      ok("earnings_overview", "earnings of this week"),
    );
    expect(await b.earningsPeriod("all")).toEqual({ from: null, to: null });
    // A question the real app was never asked is refused, not answered here.
    await expect(
      b.earningsSeries({ ...q, from: "2001-01-01", to: "2001-01-31" }, "week"),
    ).rejects.toMatchObject({ code: "internal" });
    // Still a mock call: planned failures and sign-in apply.
    b.failNext("payouts", { code: "offline", message: "Offline" });
    await expect(b.payouts()).rejects.toMatchObject({ code: "offline" });
    // A sync that brings a ledger change: what Rust answered after its upload.
    await b.backgroundSync({ ledger: true });
    expect(await b.earningsOverview(q)).toEqual(
      ok("earnings_overview", "earnings after the upload"),
    );
    await expect(mockBackend({ signedIn: false }).earningsOverview(q)).rejects.toMatchObject({
      code: "unauthenticated",
    });
  });

  it("records and corrects time logs, refusing the spans Rust refused, in its words", async () => {
    const b = mockBackend();
    const span = {
      started_at: "2026-01-01T10:00:00.000Z",
      ended_at: "2026-01-01T10:05:00.000Z",
      corrected: false,
    };
    expect((await b.recordTime("a-00000", span)).active_seconds).toBe(300);
    // What the real app answered (recorded.rs), whichever assignment it is.
    for (const label of ["a span that ends before it starts", "a span as long as the bound"]) {
      const [time] = recorded("record_time", `active time: ${label}`);
      const [log] = recorded("correct_time_log", `corrected time: ${label}`);
      const [waiting] = recorded("record_waiting", `waiting: ${label}`);
      for (const c of [time, log, waiting]) expect(c?.err?.code).toBe("invalid");
      const { span: refused } = time.args as { span: TimeSpan };
      await expect(b.recordTime("a-00000", refused)).rejects.toEqual(time.err);
      const { spans } = log.args as { spans: TimeSpan[] };
      await expect(b.correctTimeLog("a-00000", spans)).rejects.toEqual(log.err);
      await expect(b.recordWaiting(refused)).rejects.toEqual(waiting.err);
    }
    // The time log editor is told what Rust said about a span in the
    // recording (the refusals' words), and nothing about any other span.
    for (const label of ["a span that ends before it starts", "a span as long as the bound"]) {
      const [time] = recorded("record_time", `active time: ${label}`);
      const { span: refused } = time.args as { span: TimeSpan };
      expect((await b.checkTimeLog([span, refused])).problems).toEqual([null, time.err?.message]);
    }
    expect((await b.timeLog("a-00000")).active_seconds).toBe(300);
    expect(
      (
        await b.correctTimeLog("a-00000", [
          { ...span, ended_at: "2026-01-01T10:01:00.000Z", corrected: true },
        ])
      ).active_seconds,
    ).toBe(60);
  });

  it("refuses what it cannot judge in the real app's words", async () => {
    const b = mockBackend();
    // A review decision whose feedback Rust found too short, on any review.
    for (const label of ["reject without feedback", "revision with short feedback"]) {
      const [refused] = recorded("review_decision", label);
      expect(refused?.err?.code).toBe("invalid");
      const { input } = refused.args as { input: { decision: "reject"; feedback: string | null } };
      await expect(b.reviewDecision("a-00005", input)).rejects.toEqual(refused.err);
    }
    // Feedback the real app was never shown: still refused below RULES' minimum.
    await expect(
      b.reviewDecision("a-00005", { decision: "reject", feedback: "too short" }),
    ).rejects.toMatchObject({ code: "invalid" });
    // A senior review sent as a grade.
    const [asGrade] = recorded("submit", "a senior review submitted as a grade");
    expect(asGrade?.err?.code).toBe("invalid");
    await expect(b.submit("a-00005", { answers: {}, rationales: {} })).rejects.toEqual(asGrade.err);
    expect((await b.reviewDecision("a-00005", { decision: "accept", feedback: null })).status).toBe(
      "in_outbox",
    );
    // Work no longer editable: what the app answers for its status.
    const sent = DEMO.not_editable?.in_outbox;
    expect(sent?.code).toBe("not_editable");
    await b.submit("a-00000", { answers: {}, rationales: {} });
    await expect(b.submit("a-00000", { answers: {}, rationales: {} })).rejects.toEqual(sent);
    await expect(b.saveDraft("a-00000", { answers: {}, rationales: {} })).rejects.toEqual(sent);
  });

  it("answers idle waiting as Rust counted it, and reports the leases the sync names", async () => {
    const b = mockBackend({ expiringLeases: ["a-00001"] });
    const all = { from: null, to: null, opportunity_id: null };
    const ok = (command: string, label: string) => recorded(command, label)[0]?.ok;
    const ledger = ok("earnings_overview", "earnings") as { unpaid: { waiting_seconds: number } };
    // A span the real app never saw: the ledger's waiting as Rust counted it.
    const other = {
      started_at: "2026-01-01T10:00:00.000Z",
      ended_at: "2026-01-01T10:05:00.000Z",
      corrected: false,
    };
    expect(await b.recordWaiting(other)).toEqual({
      waiting_seconds: ledger.unpaid.waiting_seconds,
    });
    // The half hour the real app recorded: its answer, and its ledger after it.
    const [waited] = recorded("record_waiting", "half an hour of idle waiting");
    expect(await b.recordWaiting((waited.args as { span: TimeSpan }).span)).toEqual(waited.ok);
    expect(await b.earningsOverview(all)).toEqual(
      ok("earnings_overview", "earnings after idle waiting"),
    );
    expect((await b.syncState()).expiring_leases).toEqual(["a-00001"]);
    expect((await mockBackend().syncState()).expiring_leases).toEqual([]);
  });

  it("shows a lapsed lease as expired, like the real client, and keeps the draft", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(new Date("2026-11-20T12:00:00Z"));
      const b = mockBackend();
      const p = await b.queuePage(all, 0, 500);
      const open = p.rows.filter((r) => r.status === "new" || r.status === "draft");
      expect(open.length).toBeGreaterThan(0);
      expect(open.every((r) => Date.parse(r.lease_expires_at) > Date.now())).toBe(true);
      const id = open[0].assignment_id;
      const draft = { answers: {}, rationales: {} };
      await b.saveDraft(id, draft);
      vi.setSystemTime(new Date(Date.parse(open[0].lease_expires_at) + 1000));
      expect(await b.itemStatus(id)).toBe("lease_expired");
      const again = await b.queuePage(all, 0, 500);
      expect(again.rows.find((r) => r.assignment_id === id)?.status).toBe("lease_expired");
      expect((await b.openItem(id)).draft).toEqual(draft);
    } finally {
      vi.useRealTimers();
    }
  });
});
