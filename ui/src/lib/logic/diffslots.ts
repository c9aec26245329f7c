// Where a diff row stands in the file: the (side, line) slots it shows, which
// place comments and the draft. The diff viewer keeps them for every row it
// has fetched (rows themselves are let go away from the view), packed.

import type { DiffRow, DiffSide } from "../backend/types";

export type Slot = { side: DiffSide; line: number };

/** The (side, line) slots a row shows, old first. */
export function slotsOf(row: DiffRow | undefined): Slot[] {
  if (!row) return [];
  const out: Slot[] = [];
  if (row.type === "line") {
    if (row.old_line !== null) out.push({ side: "old", line: row.old_line });
    if (row.new_line !== null) out.push({ side: "new", line: row.new_line });
  } else if (row.type === "split") {
    if (row.old) out.push({ side: "old", line: row.old.line });
    if (row.new) out.push({ side: "new", line: row.new.line });
  }
  return out;
}

/**
 * A chunk of rows' slots as two numbers a row (its old line, its new line;
 * -1 where it has none). An array of slot objects a row held about 2 MB of
 * the page's live heap once a 10,751-line diff was scrolled end to end.
 */
export function packSlots(rows: DiffRow[]): Int32Array {
  const out = new Int32Array(rows.length * 2).fill(-1);
  rows.forEach((row, k) => {
    for (const s of slotsOf(row)) out[2 * k + (s.side === "old" ? 0 : 1)] = s.line;
  });
  return out;
}

/** How many rows a packed chunk holds. */
export function packedRows(packed: Int32Array): number {
  return packed.length / 2;
}

/** Row `k`'s line on `side` in a packed chunk, or -1. */
export function packedLine(packed: Int32Array, k: number, side: DiffSide): number {
  return packed[2 * k + (side === "old" ? 0 : 1)] ?? -1;
}

/** Row `k`'s slots in a packed chunk, as `slotsOf` gives them. */
export function slotsAt(packed: Int32Array, k: number): Slot[] {
  const out: Slot[] = [];
  for (const side of ["old", "new"] as const) {
    const line = packedLine(packed, k, side);
    if (line >= 0) out.push({ side, line });
  }
  return out;
}
