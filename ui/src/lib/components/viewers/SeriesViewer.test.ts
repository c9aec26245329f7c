import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import { mockBackend } from "../../backend/mock";
import type { Annotation } from "../../bindings";
import type { ScanInfo } from "../../backend/types";
import type { SeriesView } from "../../bindings";
import type { StackView } from "../../bindings";
import SeriesViewer from "./SeriesViewer.svelte";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

const info = (frames: number): ScanInfo => ({
  format: "dicom",
  width: 256,
  height: 256,
  frames,
  channels: 1,
  modality: "CT",
  units: "HU",
  pixel_spacing: [0.7, 0.7],
  photometric: "MONOCHROME2",
  default_window: { center: 40, width: 400 },
  presets: [{ name: "Lung", window: { center: -600, width: 1500 } }],
  min: -1000,
  max: 1000,
  warnings: [],
});

const stack = (
  label: string,
  first: number,
  slices: number,
  positions: boolean,
  warnings: string[] = [],
): StackView => ({
  label,
  first,
  slices,
  orientation: "axial",
  positions_mm: positions ? Array.from({ length: slices }, (_, i) => -10 + 2.5 * i) : [],
  spacing_mm: positions ? 2.5 : null,
  names: Array.from({ length: slices }, (_, i) => `s${first + i}.dcm`),
  info: info(slices),
  warnings,
});

const series = (stacks: StackView[], warnings: string[] = []): SeriesView => ({
  stacks,
  total_slices: stacks.reduce((n, s) => n + s.slices, 0),
  warnings,
});

const region = (id: string, frame: number): Annotation => ({
  id,
  field: "scan",
  severity: "significant",
  comment: `note ${id}`,
  anchor: { kind: "scan_region", frame, x: 10, y: 10, width: 20, height: 20 },
});

/** Mounts the viewer on `s` (scan handle `scan-0`) with `annotations`. */
const show = (s: SeriesView, annotations?: Annotation[]) => {
  app = mount(SeriesViewer, {
    target: document.body,
    props: { backend: mockBackend(), handle: "scan-0", series: s, annotations },
  });
  flushSync();
};

const text = (sel: string) => document.querySelector(sel)?.textContent ?? "";

describe("SeriesViewer", () => {
  it("shows the stack, its slice position in mm and Rust's warnings", () => {
    show(
      series(
        [stack("CT axial 256×256 · 12 slices", 0, 12, true, ["1 gap(s) in the stack"])],
        ["notes.txt is left out: not a DICOM file"],
      ),
    );
    expect(text("[data-testid=series-viewer] .head")).toContain("CT axial 256×256 · 12 slices");
    expect(text("[data-testid=series-viewer] .head")).toContain("2.50 mm apart");
    expect(text("[data-testid=frame-label]")).toBe("1/12 · -10.0 mm");
    expect(text("[data-testid=series-slice]")).toBe("s0.dcm");
    const warnings = [...document.querySelectorAll("[data-testid=series-warning]")].map(
      (e) => e.textContent,
    );
    expect(warnings).toEqual([
      "⚠ notes.txt is left out: not a DICOM file",
      "⚠ 1 gap(s) in the stack",
    ]);
    expect(document.querySelector("select[aria-label=Stack]")).toBeNull();
  });

  it("scrolls slices with the wheel and keys, zooms with Ctrl+wheel", () => {
    show(series([stack("CT", 0, 12, true)]));
    const canvas = document.querySelector("canvas")!;
    for (let i = 0; i < 3; i++)
      canvas.dispatchEvent(
        new WheelEvent("wheel", { deltaY: 100, bubbles: true, cancelable: true }),
      );
    flushSync();
    expect(text("[data-testid=frame-label]")).toBe("4/12 · -2.5 mm");
    canvas.dispatchEvent(
      new KeyboardEvent("keydown", { key: "PageDown", bubbles: true, cancelable: true }),
    );
    flushSync();
    expect(text("[data-testid=frame-label]")).toBe("5/12 · 0.0 mm"); // a tenth of 12 rounds to 1
    canvas.dispatchEvent(
      new KeyboardEvent("keydown", { key: "End", bubbles: true, cancelable: true }),
    );
    flushSync();
    expect(text("[data-testid=frame-label]")).toBe("12/12 · 17.5 mm");
    canvas.dispatchEvent(
      new WheelEvent("wheel", { deltaY: 100, ctrlKey: true, bubbles: true, cancelable: true }),
    );
    flushSync();
    expect(text("[data-testid=frame-label]")).toBe("12/12 · 17.5 mm");
    expect(document.body.textContent).toContain("Zoom 87%");
  });

  it("keeps regions on their series-wide slice and jumps to them per stack", () => {
    const stacks = [
      stack("MR axial · 30 slices", 0, 30, true),
      stack("MR sagittal · 12 slices", 30, 12, false),
    ];
    show(series(stacks), [region("a", 4), region("b", 33)]);
    expect(text("[data-testid=series-regions]")).toContain("Slice 5");
    expect(text("[data-testid=series-regions]")).not.toContain("Slice 4");
    const pick = document.querySelector("select[aria-label=Stack]") as HTMLSelectElement;
    pick.value = "1";
    pick.dispatchEvent(new Event("change", { bubbles: true }));
    flushSync();
    // Slice 33 of the series is slice 4 of the second stack.
    expect(text("[data-testid=series-regions]")).toContain("Slice 4");
    expect(text("[data-testid=frame-label]")).toBe("1/12");
    (document.querySelector("[data-testid=series-regions] button") as HTMLButtonElement).click();
    flushSync();
    expect(text("[data-testid=frame-label]")).toBe("4/12");
  });
});
