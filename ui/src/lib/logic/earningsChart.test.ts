import { describe, expect, it } from "vitest";
import type { EarningsPoint } from "../bindings";
import { chartData, xRange } from "./earningsChart";

const pt = (day: string | null, o: Partial<EarningsPoint> = {}): EarningsPoint => ({
  key: day ?? "opp",
  label: day ?? "Opportunity",
  start_day: day,
  pending_cents: 0,
  accepted_cents: 0,
  paid_cents: 0,
  reversed_cents: 0,
  ...o,
});

describe("earnings chart data", () => {
  it("keeps empty days on a continuous date axis", () => {
    const d = chartData({
      grouping: "day",
      currency: "USD",
      points: [pt("2026-11-02", { paid_cents: 500 }), pt("2026-11-05", { accepted_cents: 300 })],
    });
    expect(d.time).toBe(true);
    expect(d.x.length).toBe(4); // the 2nd, 3rd (empty), 4th (empty) and 5th
    const day = (i: number) => new Date(d.x[i] * 1000).getDate();
    expect([0, 1, 2, 3].map(day)).toEqual([2, 3, 4, 5]);
    expect(d.points.map((p) => p?.key ?? null)).toEqual(["2026-11-02", null, null, "2026-11-05"]);
    expect(d.total).toEqual([500, null, null, 300]);
  });

  it("draws reversals below the axis, also on days with nothing else", () => {
    // The platform keeps a reversed entry's positive amount.
    const d = chartData({
      grouping: "day",
      currency: "USD",
      points: [
        pt("2026-11-02", { reversed_cents: 1200 }),
        pt("2026-11-03", {
          paid_cents: 100,
          accepted_cents: 50,
          pending_cents: 25,
          reversed_cents: 10,
        }),
      ],
    });
    expect(d.reversed).toEqual([-1200, -10]);
    expect(d.total).toEqual([0, 175]);
    expect(d.acceptedPaid).toEqual([0, 150]);
    expect(d.paid).toEqual([0, 100]);
  });

  it("steps weeks by seven days and opportunities by index", () => {
    const w = chartData({
      grouping: "week",
      currency: "USD",
      points: [pt("2026-11-02", { paid_cents: 1 }), pt("2026-11-23", { paid_cents: 2 })],
    });
    expect(w.x.length).toBe(4);
    expect(w.points.filter((p) => p !== null).length).toBe(2);
    const o = chartData({
      grouping: "opportunity",
      currency: "USD",
      points: [pt(null, { key: "a" }), pt(null, { key: "b" })],
    });
    expect(o.time).toBe(false);
    expect(o.x).toEqual([0, 1]);
  });

  it("shows half a slot around the data, from the data: one, two and no points", () => {
    const series = (grouping: "day" | "week", days: string[]) => ({
      grouping,
      currency: "USD",
      points: days.map((d) => pt(d, { reversed_cents: 3600 })),
    });
    const at = (day: string) => new Date(`${day}T00:00:00`).getTime() / 1000;
    // One day: half a day either side of its midnight (uPlot itself would
    // make a time axis 1,000 days long from a single point).
    const one = chartData(series("day", ["2026-05-29"]));
    expect(xRange(one, "day")).toEqual([at("2026-05-29") - 43_200, at("2026-05-29") + 43_200]);
    const two = chartData(series("day", ["2026-05-29", "2026-05-31"]));
    expect(xRange(two, "day")).toEqual([at("2026-05-29") - 43_200, at("2026-05-31") + 43_200]);
    const week = chartData(series("week", ["2026-05-25"]));
    expect(xRange(week, "week")).toEqual([at("2026-05-25") - 302_400, at("2026-05-25") + 302_400]);
    // No points: no time axis; by opportunity, the slots' indices.
    expect(xRange(chartData(series("day", [])), "day")).toEqual([-0.6, -0.4]);
    const opp = chartData({ grouping: "opportunity", currency: "USD", points: [pt(null)] });
    expect(xRange(opp, "opportunity")).toEqual([-0.6, 0.6]);
  });
});
