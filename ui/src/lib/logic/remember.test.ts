import { afterEach, describe, expect, it } from "vitest";
import { clamp, isBool, isNum, recall, remember, sideBounds } from "./remember";

afterEach(() => localStorage.clear());

describe("remembered view state", () => {
  it("returns what was remembered, else the fallback", () => {
    expect(recall("panel.x", true, isBool)).toBe(true);
    remember("panel.x", false);
    expect(recall("panel.x", true, isBool)).toBe(false);
  });

  it("ignores values of the wrong shape or unreadable JSON", () => {
    remember("w", "wide");
    expect(recall("w", 380, isNum)).toBe(380);
    localStorage.setItem("assay.view.w", "{not json");
    expect(recall("w", 380, isNum)).toBe(380);
  });

  it("bounds the rubric panel to at most half the window", () => {
    expect(sideBounds(1440)).toEqual({ min: 300, max: 720 });
    expect(sideBounds(2400)).toEqual({ min: 300, max: 760 });
    expect(sideBounds(500)).toEqual({ min: 300, max: 300 });
    expect(clamp(900, 300, 720)).toBe(720);
    expect(clamp(120, 300, 720)).toBe(300);
  });
});
