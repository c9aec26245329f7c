import { describe, expect, it } from "vitest";
import { grouped, localStamp, money, parseLocalStamp, spanInWords } from "./format";

describe("local time stamps", () => {
  it("show an instant as wall-clock time and read it back to the same instant", () => {
    for (const iso of [
      "2026-01-01T10:00:00.000Z",
      "2026-07-15T23:59:59.000Z",
      "2026-03-29T01:30:00.000Z",
    ]) {
      const s = localStamp(iso);
      expect(s).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(parseLocalStamp(s)).toBe(Date.parse(iso));
      const d = new Date(iso);
      expect(s.slice(11, 13)).toBe(String(d.getHours()).padStart(2, "0"));
    }
  });

  it("reads local minutes, explicit instants, and refuses what is not a time", () => {
    expect(parseLocalStamp("2026-01-01 10:00")).toBe(new Date(2026, 0, 1, 10, 0, 0).getTime());
    expect(parseLocalStamp(" 2026-01-01T10:00:05 ")).toBe(new Date(2026, 0, 1, 10, 0, 5).getTime());
    expect(parseLocalStamp("2026-01-01T10:00:00Z")).toBe(Date.UTC(2026, 0, 1, 10, 0, 0));
    expect(parseLocalStamp("2026-01-01 10:00:00+02:00")).toBe(Date.UTC(2026, 0, 1, 8, 0, 0));
    for (const bad of [
      "yesterday",
      "2026-02-30 10:00:00",
      "2026-01-01 25:00:00",
      "2026-1-1 10:00",
      "",
    ]) {
      expect(parseLocalStamp(bad), bad).toBeNaN();
    }
  });
});

describe("headline and dotted", () => {
  it("cuts a message at its first clause", async () => {
    const { headline, dotted } = await import("./format");
    expect(headline("The platform can't be reached (error sending request)")).toEqual({
      head: "The platform can't be reached",
      rest: true,
    });
    expect(
      headline("the platform did not finish answering GET /outcomes within 60s; Assay will retry."),
    ).toEqual({
      head: "the platform did not finish answering GET /outcomes within 60s",
      rest: true,
    });
    expect(headline("Offline (x)")).toEqual({ head: "Offline (x)", rest: false });
    expect(headline("Cannot reach demo.assay.local")).toEqual({
      head: "Cannot reach demo.assay.local",
      rest: false,
    });
    expect(dotted(["a", null, "", false, "b"])).toBe("a · b");
  });
});

describe("spans in words", () => {
  it("names whole units, singular or plural", () => {
    expect(spanInWords(900)).toBe("15 minutes");
    expect(spanInWords(3600)).toBe("1 hour");
    expect(spanInWords(5400)).toBe("1 hour 30 minutes");
    expect(spanInWords(61)).toBe("1 minute 1 second");
    expect(spanInWords(0)).toBe("0 seconds");
  });
});

describe("whole numbers", () => {
  it('group thousands as toLocaleString("en-US") does, without ICU', () => {
    for (const n of [0, 7, 999, 1000, 10_000, 123_456, 1_000_000, 9_007_199_254_740_991, -1234]) {
      expect(grouped(n)).toBe(n.toLocaleString("en-US"));
    }
    expect(money(123_456_78, "USD")).toBe("$123,456.78");
    expect(money(-100_000, "EUR")).toBe("−€1,000.00");
  });
});
