// Earnings series (as Rust grouped it) → the aligned columns the chart draws.
// Day and week buckets sit on a continuous date axis: every day (or week)
// between the first and the last bucket gets a slot, empty ones too, so
// distances on the axis are true. Reversals go below the axis.
import type { EarningsPoint } from "../bindings";
import type { EarningsGrouping, EarningsSeries } from "../bindings";

export type ChartData = {
  /** Seconds since the epoch (local midnight of the bucket's first day) on a
   *  time axis, or the bucket's index when grouped by opportunity. */
  x: number[];
  time: boolean;
  /** Stacked tops, drawn back to front: pending + accepted + paid, accepted + paid, paid. */
  total: (number | null)[];
  acceptedPaid: (number | null)[];
  paid: (number | null)[];
  /** Reversed amounts as negative numbers (below the axis). */
  reversed: (number | null)[];
  /** The bucket at each slot (null for an empty day or week). */
  points: (EarningsPoint | null)[];
};

/** Most slots drawn; a longer span is cut to its last `MAX_SLOTS` buckets. */
export const MAX_SLOTS = 3660;

function localDay(iso: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return null;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

function column(p: EarningsPoint | null) {
  if (!p) return { total: null, acceptedPaid: null, paid: null, reversed: null };
  const paid = p.paid_cents;
  const acceptedPaid = paid + p.accepted_cents;
  return {
    total: acceptedPaid + p.pending_cents,
    acceptedPaid,
    paid,
    reversed: p.reversed_cents === 0 ? 0 : -Math.abs(p.reversed_cents),
  };
}

export function chartData(series: EarningsSeries): ChartData {
  const out: ChartData = {
    x: [],
    time: false,
    total: [],
    acceptedPaid: [],
    paid: [],
    reversed: [],
    points: [],
  };
  const push = (x: number, p: EarningsPoint | null) => {
    const c = column(p);
    out.x.push(x);
    out.points.push(p);
    out.total.push(c.total);
    out.acceptedPaid.push(c.acceptedPaid);
    out.paid.push(c.paid);
    out.reversed.push(c.reversed);
  };
  const dated = series.points.map((p) => ({ p, day: p.start_day ? localDay(p.start_day) : null }));
  if (
    series.grouping === "opportunity" ||
    dated.length === 0 ||
    dated.some((d) => d.day === null)
  ) {
    series.points.forEach((p, i) => {
      push(i, p);
    });
    return out;
  }
  out.time = true;
  const step = series.grouping === "week" ? 7 : 1;
  const byDay = new Map<number, EarningsPoint>();
  for (const d of dated) if (d.day) byDay.set(d.day.getTime(), d.p);
  const days = dated.map((d) => d.day as Date).sort((a, b) => a.getTime() - b.getTime());
  const first = days[0];
  const last = days[days.length - 1];
  // Count slots with calendar arithmetic (DST-safe), then keep the newest.
  const slots: Date[] = [];
  for (let i = 0; ; i++) {
    const d = new Date(first.getFullYear(), first.getMonth(), first.getDate() + i * step);
    if (d.getTime() > last.getTime()) break;
    slots.push(d);
  }
  for (const d of slots.slice(-MAX_SLOTS)) push(d.getTime() / 1000, byDay.get(d.getTime()) ?? null);
  return out;
}

/**
 * The x range the chart shows: half a slot (a day, or a week) beyond the
 * first and the last slot on a date axis; the slots' indices, with a little
 * room, by opportunity. Taken from the data, never from the range uPlot
 * offers: for a single point on a time axis uPlot widens it itself to
 * 86,400 / `ms` seconds after the point (1,000 days with timestamps in
 * seconds), which put one day's bar at the left edge of a 2½-year axis.
 */
export function xRange(d: ChartData, grouping: EarningsGrouping): [number, number] {
  const last = d.x.length - 1;
  if (!d.time || last < 0) return [-0.6, last + 0.6];
  const half = 43_200 * (grouping === "week" ? 7 : 1);
  return [d.x[0] - half, d.x[last] + half];
}
