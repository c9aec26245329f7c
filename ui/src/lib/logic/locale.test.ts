import { afterEach, describe, expect, it } from "vitest";
import { ensureUsableLanguage, usableLanguage } from "./locale";

const real = Object.getOwnPropertyDescriptors(navigator);
afterEach(() => {
  delete (navigator as unknown as Record<string, unknown>).language;
  delete (navigator as unknown as Record<string, unknown>).languages;
  Object.defineProperties(navigator, real);
});

function pretend(language: string, languages: string[]) {
  Object.defineProperty(navigator, "language", { configurable: true, get: () => language });
  Object.defineProperty(navigator, "languages", { configurable: true, get: () => languages });
}

describe("the browser's language (WebKitGTK under LANG=C says 'C')", () => {
  it("'C' is replaced by a tag Intl accepts, so uPlot can load and format numbers", async () => {
    pretend("C", ["C"]);
    expect(() => new Intl.NumberFormat(navigator.language)).toThrow();
    expect(ensureUsableLanguage()).toBe("en-US");
    expect(() => new Intl.NumberFormat(navigator.language)).not.toThrow();
    expect(navigator.languages).toEqual(["en-US"]);
    // The chart library formats with navigator.language as it loads (jsdom
    // has no matchMedia, which it also asks for).
    window.matchMedia ??= (() => ({
      matches: false,
      addListener() {},
      removeListener() {},
      addEventListener() {},
      removeEventListener() {},
    })) as unknown as typeof window.matchMedia;
    const { default: uPlot } = await import("uplot");
    expect(typeof uPlot).toBe("function");
  });

  it("a usable language is kept; a later usable one is preferred to the fallback", () => {
    pretend("de-DE", ["de-DE", "en"]);
    expect(ensureUsableLanguage()).toBe("de-DE");
    expect(navigator.language).toBe("de-DE");
    expect(usableLanguage({ language: "C", languages: ["C", "fr-FR"] })).toBe("fr-FR");
    expect(usableLanguage({ language: "C.UTF-8", languages: [] })).toBe("en-US");
  });
});
