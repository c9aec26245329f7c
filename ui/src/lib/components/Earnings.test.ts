import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import { mockBackend } from "../backend/mock";
import Earnings from "./Earnings.svelte";

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
async function show(b: ReturnType<typeof mockBackend>, payNote?: string) {
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

describe("Earnings", () => {
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
  it("lists every kind of unpaid time under its own label", async () => {
    const b = mockBackend({ now: Date.parse("2026-11-20T12:00:00Z") });
    // 30 minutes of idle waiting on top of the mock's seeded 22.
    await b.recordWaiting({
      started_at: "2026-11-20T09:00:00.000Z",
      ended_at: "2026-11-20T09:30:00.000Z",
      corrected: false,
    });
    const s = await b.earningsOverview({ from: null, to: null, opportunity_id: null });
    expect(s.unpaid.waiting_seconds).toBe(52 * 60);
    expect(s.unpaid.screening_seconds).toBe(25 * 60);
    await show(b);
    const list = document.querySelector('[data-testid="unpaid-time"]');
    expect(list).not.toBeNull();
    const rows = Array.from(list!.querySelectorAll("[data-unpaid]")).map((el) => [
      el.getAttribute("data-unpaid"),
      el.querySelector("dt")?.textContent,
      el.querySelector("dd")?.textContent,
    ]);
    expect(rows).toEqual([
      ["rejected", "Rejected work", expect.any(String)],
      ["screening", "Screening (qualification)", "25m 00s"],
      ["waiting", "Idle waiting for work", "52m 00s"],
      ["unsubmitted", "Unsubmitted drafts", expect.any(String)],
      ["reviews", "Senior reviews", "30m 00s"],
    ]);
    // The all-time rate includes all of it: earned × 3600 / (paid + unpaid).
    const unpaid =
      s.unpaid.rejected_seconds +
      s.unpaid.unsubmitted_seconds +
      s.unpaid.review_seconds +
      s.unpaid.screening_seconds +
      s.unpaid.waiting_seconds;
    const earned = s.pending_cents + s.accepted_cents + s.paid_cents;
    expect(s.hourly_all_time_cents).toBe(Math.round((earned * 3600) / (s.paid_seconds + unpaid)));
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
    await expect(
      b.recordWaiting({
        started_at: "2026-11-20T10:00:00.000Z",
        ended_at: "2026-11-20T09:00:00.000Z",
        corrected: false,
      }),
    ).rejects.toMatchObject({ code: "invalid" });
  });

  it("exports through the save dialog and says where the file went", async () => {
    const b = mockBackend({ now: Date.parse("2026-11-20T12:00:00Z") });
    await show(b);
    (document.querySelector('[data-testid="export-csv"]') as HTMLButtonElement).click();
    await settle();
    const note = document.querySelector('[data-testid="csv-note"]')?.textContent ?? "";
    expect(note).toMatch(
      /^Saved \d+ ledger rows? to \/home\/ada\/Documents\/assay-earnings-2026-11-20\.csv$/,
    );
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
    const series = await b.earningsSeries({ from: null, to: null, opportunity_id: null }, "day");
    const rows = document.querySelectorAll('[data-testid="earnings-table"] tbody tr');
    expect(rows.length).toBe(series.points.length);
    // Reversals are listed as amounts taken back.
    const reversed = series.points.find((p) => p.reversed_cents !== 0);
    expect(reversed).toBeDefined();
    expect(document.querySelector('[data-testid="earnings-table"]')?.textContent).toContain("−$");
    // Empty days take their place on the chart's date axis.
    const chart = document.querySelector('[data-testid="earnings-chart"]');
    expect(chart?.getAttribute("data-time-axis")).toBe("true");
    expect(Number(chart?.getAttribute("data-slots"))).toBeGreaterThan(series.points.length);
  });
});
