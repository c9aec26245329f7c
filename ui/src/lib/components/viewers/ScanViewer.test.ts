import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import { mockBackend } from "../../backend/mock";
import type { ScanInfo } from "../../backend/types";
import ScanViewer from "./ScanViewer.svelte";

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = "";
});

const info = (warnings: string[]): ScanInfo => ({
  format: "dicom",
  width: 4,
  height: 4,
  frames: 1,
  channels: 3,
  modality: "XC",
  units: null,
  pixel_spacing: null,
  photometric: "RGB",
  default_window: { center: 128, width: 256 },
  presets: [],
  min: 0,
  max: 255,
  warnings,
});

describe("ScanViewer", () => {
  it("shows what Rust says about how the scan was read", () => {
    const w =
      "the colour model is uncertain: Photometric Interpretation RGB but the JPEG stream has a JFIF marker saying YCbCr; decoded as YCbCr";
    app = mount(ScanViewer, {
      target: document.body,
      props: { backend: mockBackend(), handle: "scan-0", scan: info([w]) },
    });
    flushSync();
    const shown = Array.from(document.querySelectorAll('[data-testid="scan-warning"]')).map(
      (e) => e.textContent,
    );
    expect(shown).toEqual([`⚠ ${w}`]);
  });

  it("shows no warning when there is none", () => {
    app = mount(ScanViewer, {
      target: document.body,
      props: { backend: mockBackend(), handle: "scan-0", scan: info([]) },
    });
    flushSync();
    expect(document.querySelectorAll('[data-testid="scan-warning"]').length).toBe(0);
  });

  it("opens on the frame of the first region and lists every region in place", () => {
    const scan = { ...info([]), frames: 3 };
    const annotations = [
      {
        id: "s1",
        field: "scan",
        anchor: {
          kind: "scan_region" as const,
          frame: 1,
          x: 0.5,
          y: 0.5,
          width: 0.25,
          height: 0.25,
        },
        severity: "significant",
        comment: "Focal hyperdensity",
      },
      {
        id: "s2",
        field: "scan",
        anchor: { kind: "scan_region" as const, frame: 2, x: 1, y: 1, width: 2, height: 2 },
        severity: null,
        comment: "Artefact",
      },
    ];
    app = mount(ScanViewer, {
      target: document.body,
      props: { backend: mockBackend(), handle: "scan-0", scan, annotations },
    });
    flushSync();
    expect(document.querySelector(".status .frame .mono")?.textContent).toBe("2/3");
    const items = [...document.querySelectorAll('[data-testid="scan-regions"] li')];
    expect(items.map((li) => li.textContent?.replace(/\s+/g, " ").trim())).toEqual([
      "Frame 2 significant Focal hyperdensity",
      "Frame 3 Artefact",
    ]);
    expect(items[0].classList.contains("here")).toBe(true);
    (items[1].querySelector("button") as HTMLButtonElement).click();
    flushSync();
    expect(document.querySelector(".status .frame .mono")?.textContent).toBe("3/3");
  });
});
