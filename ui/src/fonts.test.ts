// Font stacks that WebKitGTK resolves without a search per missing family.
//
// On Linux every family named ahead of the one a stack ends on is looked up
// through fontconfig (a match over the installed fonts) once for each font
// the page uses (each size, weight and style), and a family that is not
// installed costs the whole lookup for nothing. With the old seven-name
// stacks the web process spent about 0.16 s of a measured launch in
// fontconfig, 0.07 s of it in the first 1.2 s (docs/benchmarks.md, "Font
// stacks"). So each stack names at most one family ahead of a generic one
// that fontconfig resolves: `system-ui` / `ui-monospace` (what macOS's and
// Windows' webviews show) or a family those systems ship, then `sans-serif`
// / `monospace` / `serif`. On Linux the shell points `sans-serif` at the
// desktop's own font (src-tauri/src/rendering.rs, `desktop_fonts`).
import { describe, expect, it } from "vitest";

/** Generic families fontconfig resolves by itself. */
const RESOLVED = new Set(["serif", "sans-serif", "monospace", "cursive", "fantasy"]);

/** The UI's own styles, by path (the generated bindings hold none). */
const SOURCES = import.meta.glob<string>(["./**/*.css", "./**/*.svelte"], {
  query: "?raw",
  import: "default",
  eager: true,
});

/** The family list of a `font` shorthand: what follows its size (and line
 *  height), e.g. `13px / 1.45 var(--font)` → `var(--font)`; a keyword such
 *  as `inherit` stays as it is. */
function shorthandFamilies(value: string): string {
  const size = /(?:^|\s)[\d.]+(?:px|pt|em|rem|%)(?:\s*\/\s*[\d.]+\w*)?\s+/.exec(value);
  return size ? value.slice(size.index + size[0].length) : value;
}

/** Every family list in `sources` (`font-family`, the `font` shorthand and
 *  the `--font` / `--mono` variables) that names more than one family ahead
 *  of one fontconfig resolves, or none, as `path: list`. */
function slowStacks(sources: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [path, text] of Object.entries(sources)) {
    for (const m of text.matchAll(/(font-family|--font|--mono|(?<![-\w])font)\s*:\s*([^;}]+)/g)) {
      const declared = m[2].trim();
      const value = m[1] === "font" ? shorthandFamilies(declared) : declared;
      if (value.startsWith("var(") || value === "inherit") continue;
      const families = value.split(",").map((f) =>
        f
          .trim()
          .replace(/^["']|["']$/g, "")
          .toLowerCase(),
      );
      const first = families.findIndex((f) => RESOLVED.has(f));
      if (first < 0 || first > 1) out.push(`${path}: ${value}`);
    }
  }
  return out;
}

describe("font stacks", () => {
  it("name at most one family ahead of one fontconfig resolves", () => {
    // Vitest hands CSS over empty unless its config says otherwise.
    expect(SOURCES["./app.css"]).toContain("--font:");
    expect(Object.keys(SOURCES)).toContain("./lib/components/viewers/RedlineViewer.svelte");
    expect(slowStacks(SOURCES)).toEqual([]);
  });

  it("are checked: the old stacks are refused", () => {
    const old = `:root { --font: system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, Cantarell, "Noto Sans", sans-serif; }
.redline { font-family: Georgia, "Times New Roman", serif; }
.code { font-family: Menlo; }
.mono { font: bold 12px / 1.5 Menlo, Consolas, monospace; }
.ok { font-family: Georgia, serif; font: inherit; --mono: ui-monospace, monospace; }
.ok2 { font: 13px / 1.45 var(--font); font: italic 12px Georgia, serif; }`;
    expect(slowStacks({ "old.css": old })).toEqual([
      'old.css: system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, Cantarell, "Noto Sans", sans-serif',
      'old.css: Georgia, "Times New Roman", serif',
      "old.css: Menlo",
      "old.css: Menlo, Consolas, monospace",
    ]);
  });
});
