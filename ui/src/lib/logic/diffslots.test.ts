import { describe, expect, it } from "vitest";
import type { DiffRow } from "../backend/types";
import { packSlots, packedLine, packedRows, slotsAt, slotsOf } from "./diffslots";

const cell = (line: number) => ({ kind: "context" as const, line, runs: [], no_newline: false });
const line = (old_line: number | null, new_line: number | null): DiffRow => ({
  type: "line",
  kind: old_line === null ? "added" : new_line === null ? "removed" : "context",
  old_line,
  new_line,
  runs: [],
  no_newline: false,
});

// Every kind of row: a hunk header, context, removed, added, split rows with
// both sides or one, an expander; line numbers that differ on the two sides.
const rows: DiffRow[] = [
  { type: "hunk_header", hunk: 0, text: "@@ -1,3 +1,4 @@" },
  line(1, 1),
  line(2, null),
  line(null, 2),
  line(3, 7),
  { type: "split", old: cell(40), new: cell(41) },
  { type: "split", old: cell(42), new: null },
  { type: "split", old: null, new: cell(43) },
  { type: "expander", gap: 0, hidden: 12, old_start: 44, new_start: 45 },
];

describe("diff slots", () => {
  it("packs every row's slots so they read back as the row gives them", () => {
    const packed = packSlots(rows);
    expect(packedRows(packed)).toBe(rows.length);
    rows.forEach((row, k) => {
      expect(slotsAt(packed, k)).toEqual(slotsOf(row));
    });
  });

  it("keeps each line on its own side", () => {
    const packed = packSlots(rows);
    expect(packedLine(packed, 4, "old")).toBe(3);
    expect(packedLine(packed, 4, "new")).toBe(7);
    expect(packedLine(packed, 2, "new")).toBe(-1);
    expect(packedLine(packed, 3, "old")).toBe(-1);
    expect(packedLine(packed, 7, "new")).toBe(43);
    expect(packedLine(packed, 0, "old")).toBe(-1);
    expect(slotsAt(packed, 8)).toEqual([]);
  });

  it("holds two numbers a row", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => line(i + 1, i + 2));
    const packed = packSlots(many);
    expect(packed.byteLength).toBe(10_000 * 2 * 4);
    expect(slotsAt(packed, 9_999)).toEqual([
      { side: "old", line: 10_000 },
      { side: "new", line: 10_001 },
    ]);
  });
});
