import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import type { Backend } from "../backend";
import type {
  CsvExport,
  Discrepancy,
  EarningsOverview,
  EarningsRange,
  EarningsSeries,
  TimeSpan,
} from "../bindings";
import { mockBackend } from "../backend/mock";
import { recorded, replayBackend } from "../backend/replay";
import { duration, money } from "../logic/format";
import Earnings from "./Earnings.svelte";

// Every amount, rate and duration below is what the real app answered on
// the demo data (recorded by crates/app/tests/recorded.rs); the mock only
// replays it. These tests check how the screen shows Rust's answers.
const ALL = { from: null, to: null, opportunity_id: null };
/** What Rust answered to `command` in the recorded call labelled `label`. */
function answered<T>(command: string, label: string): T {
  const [c] = recorded(command, label);
  if (!c?.ok) throw new Error(`no recorded answer of ${command} labelled ${label}`);
  return c.ok as T;
}

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
};

/** Mounts the earnings screen on `b` (any error it reports fails the test) and lets it load. */
async function show(b: Backend, payNote?: string) {
  app = mount(Earnings, {
    target: document.body,
    props: {
      backend: b,
      payNote,
      onError: (e: unknown) => {
        throw e;
      },
      onOpenAssignment: () => {},
    },
  });
  await settle();
}

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);

/** Picks `value` in the screen's Period list, as a reviewer would. */
async function pickPeriod(value: string) {
  const select = $<HTMLSelectElement>('select[aria-label="Period"]');
  if (!select) throw new Error("no Period list");
  select.value = value;
  select.dispatchEvent(new Event("change", { bubbles: true }));
  await settle();
}

describe("Earnings", () => {
  it("shows the days Rust resolved for a period, not days from the browser's clock", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      // The browser's clock stands on another day, week and month than the
      // app's (whose clock, in the recording, reads its recorded "now").
      vi.setSystemTime(new Date("2026-11-20T23:30:00Z"));
      const b = replayBackend();
      await show(b);
      for (const [period, label] of [
        ["this_week", "this week"],
        ["this_month", "this month"],
        ["last_30_days", "the last 30 days"],
      ]) {
        const [resolved] = recorded("earnings_period", `earnings of ${label}`);
        expect(resolved?.args).toEqual({ period });
        const days = resolved.ok as EarningsRange;
        expect(days.from).not.toBeNull();
        await pickPeriod(period);
        expect($<HTMLInputElement>('input[aria-label="From"]')?.value).toBe(days.from);
        expect($('input[aria-label="From"]')?.classList.contains("unset")).toBe(false);
        expect($<HTMLInputElement>('input[aria-label="To"]')?.value).toBe(days.to);
        // Totals and chart are Rust's for those days.
        const s = answered<EarningsOverview>("earnings_overview", `earnings of ${label}`);
        expect($('[data-total="accepted"]')?.textContent).toBe(money(s.accepted_cents, s.currency));
        expect($('[data-total="paid"]')?.textContent).toBe(money(s.paid_cents, s.currency));
      }
      expect(b.calls.filter((c) => c === "earnings_period")).toHaveLength(3);
      // Grouped by week: Rust's weeks of the last 30 days, replayed.
      const weeks = recorded("earnings_series", "earnings of the last 30 days").find(
        (c) => c.args.bucket === "week",
      )?.ok as EarningsSeries;
      expect(weeks.points.length).toBeGreaterThan(1);
      (
        [
          ...document.querySelectorAll<HTMLButtonElement>(
            '[aria-label="Group earnings by"] button',
          ),
        ].find((x) => x.textContent === "week") as HTMLButtonElement
      ).click();
      await settle();
      expect(document.querySelectorAll('[data-testid="earnings-table"] tbody tr').length).toBe(
        weeks.points.length,
      );
      // All time: no bounds.
      await pickPeriod("all");
      expect($<HTMLInputElement>('input[aria-label="From"]')?.value).toBe("");
      expect($<HTMLInputElement>('input[aria-label="To"]')?.value).toBe("");
      // Shown blank, not as WebKit's greyed "today" (which read as a one-day range).
      expect($('input[aria-label="From"]')?.classList.contains("unset")).toBe(true);
      expect($('input[aria-label="To"]')?.classList.contains("unset")).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("says plainly when the platform reports no pay (the note comes from Rust)", async () => {
    const b = mockBackend({ now: Date.parse("2026-11-20T12:00:00Z") });
    const note =
      "Label Studio does not report pay: rates, earnings and payouts stay empty for its work.";
    // Such a platform reports no payouts at all.
    await show({ ...b, payouts: async () => [] }, note);
    expect(document.querySelector('[data-testid="no-pay"]')?.textContent).toBe(note);
    // An empty payouts table must not read as "none yet" when the platform never reports any.
    expect(document.querySelector('[data-testid="no-payouts"]')?.textContent).toBe(
      "Not reported by this platform.",
    );
    if (app) unmount(app);
    await show(b);
    expect(document.querySelector('[data-testid="no-pay"]')).toBeNull();
  });
  it("lists every kind of unpaid time under its own label, as Rust counted it", async () => {
    const b = replayBackend();
    const before = answered<EarningsOverview>("earnings_overview", "earnings");
    // Half an hour of idle waiting, recorded by the real app.
    const [waited] = recorded("record_waiting", "half an hour of idle waiting");
    await b.recordWaiting((waited.args as { span: TimeSpan }).span);
    const s = await b.earningsOverview(ALL);
    expect(s).toEqual(answered("earnings_overview", "earnings after idle waiting"));
    expect(s.unpaid.waiting_seconds).toBe(before.unpaid.waiting_seconds + 30 * 60);
    await show(b);
    const list = document.querySelector('[data-testid="unpaid-time"]');
    expect(list).not.toBeNull();
    const rows = Array.from(list!.querySelectorAll("[data-unpaid]")).map((el) => [
      el.getAttribute("data-unpaid"),
      el.querySelector("dt")?.textContent,
      el.querySelector("dd")?.textContent,
    ]);
    expect(rows).toEqual([
      ["rejected", "Rejected work", duration(s.unpaid.rejected_seconds)],
      ["screening", "Screening (qualification)", duration(s.unpaid.screening_seconds)],
      ["waiting", "Idle waiting for work", "30m 00s"],
      ["unsubmitted", "Unsubmitted drafts", duration(s.unpaid.unsubmitted_seconds)],
      ["reviews", "Senior reviews", duration(s.unpaid.review_seconds)],
    ]);
    // The all-time rate (which counts all of it) is Rust's, shown as answered:
    // the waiting lowered it.
    expect(s.hourly_all_time_cents).not.toBeNull();
    expect(s.hourly_all_time_cents).toBeLessThan(before.hourly_all_time_cents ?? 0);
    expect(document.querySelector('[data-testid="hourly-all-time"]')?.textContent).toBe(
      `${money(s.hourly_all_time_cents ?? 0, s.currency)}/h including unpaid time`,
    );
    expect(document.querySelector('[data-total="pending"]')?.textContent).toBe(
      money(s.pending_cents, s.currency),
    );
  });

  it("screening rows carry no pay and earn no ledger entry in the mock", async () => {
    const b = mockBackend({ now: Date.parse("2026-11-20T12:00:00Z") });
    const p = await b.queuePage(
      { search: "", statuses: [], opportunity_id: null, kind: "screening", sort: "due" },
      0,
      50,
    );
    expect(p.total).toBeGreaterThan(0);
    expect(
      p.rows.every((r) => r.kind === "screening" && r.pay_cents === null && r.status === "new"),
    ).toBe(true);
    // A span Rust refused is refused with Rust's answer (the mock judges none).
    const [inverted] = recorded("record_waiting", "waiting: a span that ends before it starts");
    expect(inverted?.err?.code).toBe("invalid");
    await expect(b.recordWaiting((inverted.args as { span: TimeSpan }).span)).rejects.toEqual(
      inverted.err,
    );
  });

  it("exports through the save dialog and says where the file went", async () => {
    const b = mockBackend({ now: Date.parse("2026-11-20T12:00:00Z") });
    await show(b);
    (document.querySelector('[data-testid="export-csv"]') as HTMLButtonElement).click();
    await settle();
    const done = answered<CsvExport>("export_earnings_csv", "earnings exported");
    expect(done.rows).toBeGreaterThan(1);
    expect(document.querySelector('[data-testid="csv-note"]')?.textContent).toBe(
      `Saved ${done.rows} ledger rows to ${done.path}`,
    );
    expect(done.path).toMatch(/\/assay-earnings-\d{4}-\d{2}-\d{2}\.csv$/);
  });

  it("shows payout methods in words and every chart amount in a table", async () => {
    const b = mockBackend({ now: Date.parse("2026-11-20T12:00:00Z") });
    app = mount(Earnings, {
      target: document.body,
      props: { backend: b, onError: () => {}, onOpenAssignment: () => {} },
    });
    await settle();
    const methods = [...document.querySelectorAll('[data-testid="payout-method"]')].map(
      (e) => e.textContent,
    );
    expect(methods.length).toBeGreaterThan(0);
    expect(methods.every((m) => m === "Bank transfer")).toBe(true);
    expect(document.body.textContent).not.toContain("bank_transfer");
    const series = await b.earningsSeries(ALL, "day");
    expect(series).toEqual(answered<EarningsSeries>("earnings_series", "earnings by day"));
    const rows = document.querySelectorAll('[data-testid="earnings-table"] tbody tr');
    expect(rows.length).toBe(series.points.length);
    // Reversals are listed as amounts taken back.
    const reversed = series.points.find((p) => p.reversed_cents !== 0);
    expect(reversed).toBeDefined();
    expect(document.querySelector('[data-testid="earnings-table"]')?.textContent).toContain("−$");
    // Rust's discrepancies are flagged, each with its amounts and reason.
    const found = answered<Discrepancy[]>("discrepancies", "discrepancies");
    expect(found.length).toBeGreaterThan(0);
    const flagged = [...document.querySelectorAll('[data-testid="discrepancies"] tr.flag')];
    expect(flagged.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent))).toEqual(
      found.map((d) => [
        d.title,
        money(d.expected_cents, d.currency),
        d.ledger_cents === null ? "missing" : money(d.ledger_cents, d.currency),
        `⚑ ${d.reason}`,
      ]),
    );
    // Empty days take their place on the chart's date axis.
    const chart = document.querySelector('[data-testid="earnings-chart"]');
    expect(chart?.getAttribute("data-time-axis")).toBe("true");
    expect(Number(chart?.getAttribute("data-slots"))).toBeGreaterThan(series.points.length);
  });
});
