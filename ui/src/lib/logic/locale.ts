// The browser's language as the Intl APIs (and libraries such as uPlot, which
// format numbers with `navigator.language` when they load) can use it. On
// Linux, WebKitGTK reports the POSIX locale of LANG=C / C.UTF-8 as "C",
// which is no language tag: `new Intl.NumberFormat("C")` throws, and the
// earnings chart failed to load with "invalid language tag: C".

/** `tag` when Intl accepts it, else null. */
function valid(tag: string | undefined | null): string | null {
  if (!tag) return null;
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? null;
  } catch {
    return null;
  }
}

/** A language tag Intl accepts: the first usable of `languages`, then `language`; else "en-US" (what ICU calls the POSIX locale). */
export function usableLanguage(nav: Pick<Navigator, "language" | "languages">): string {
  for (const t of [...(nav.languages ?? []), nav.language]) {
    const ok = valid(t);
    if (ok) return ok;
  }
  return "en-US";
}

/**
 * Makes `nav.language` (and `languages`) a tag Intl accepts when they are
 * not; leaves a usable one alone. Returns the language now reported.
 */
export function ensureUsableLanguage(nav: Navigator = navigator): string {
  if (valid(nav.language)) return nav.language;
  const lang = usableLanguage(nav);
  const langs = [lang, ...(nav.languages ?? []).filter((t) => valid(t) && t !== lang)];
  Object.defineProperty(nav, "language", { configurable: true, get: () => lang });
  Object.defineProperty(nav, "languages", { configurable: true, get: () => Object.freeze(langs) });
  return lang;
}
