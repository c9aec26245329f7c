// Diff model used by the mock backend: turns old/new line lists into the
// windowed `DiffRow`s the Rust render crate serves in the real app.
import type { DiffMode } from "../bindings/DiffMode";
import type { DiffFile, DiffRow, Segment, TokenClass } from "./types";

export type Op = { op: "ctx" | "add" | "del"; text: string };
export type MockDiffFile = { path: string; old_path: string | null; status: DiffFile["status"]; language: string | null; ops: Op[] };

const KEYWORDS = new Set([
  "fn", "let", "mut", "pub", "use", "impl", "struct", "enum", "match", "if", "else", "for", "while", "loop",
  "return", "mod", "crate", "self", "Self", "trait", "where", "async", "await", "move", "const", "static",
  "def", "class", "import", "from", "in", "not", "and", "or", "None", "True", "False", "function", "var",
]);

/** A tiny tokenizer good enough for token classes in the mock. */
export function tokenize(line: string): Segment[] {
  const out: Segment[] = [];
  const re = /(\/\/.*$|#.*$)|("(?:[^"\\]|\\.)*"?)|(\b\d[\d_.]*\b)|([A-Za-z_][A-Za-z0-9_]*)|(\s+)|([^\sA-Za-z0-9_])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    let token: TokenClass | null = null;
    if (m[1]) token = "comment";
    else if (m[2]) token = "string";
    else if (m[3]) token = "number";
    else if (m[4]) {
      const w = m[4];
      if (KEYWORDS.has(w)) token = "keyword";
      else if (/^[A-Z]/.test(w)) token = "type";
      else if (line.slice(re.lastIndex).startsWith("(")) token = "function";
      else token = null;
    } else if (m[6]) token = /[{}()[\];,.]/.test(m[6]) ? "punctuation" : "operator";
    out.push({ text: m[0], token, changed: false });
  }
  return out.length ? out : [{ text: line, token: null, changed: false }];
}

/** Word-level change marks between two lines (common prefix/suffix of words). */
export function wordDiff(a: string, b: string): [Segment[], Segment[]] {
  const wa = a.split(/(\s+|\b)/).filter((x) => x !== "");
  const wb = b.split(/(\s+|\b)/).filter((x) => x !== "");
  let p = 0;
  while (p < wa.length && p < wb.length && wa[p] === wb[p]) p++;
  let s = 0;
  while (s < wa.length - p && s < wb.length - p && wa[wa.length - 1 - s] === wb[wb.length - 1 - s]) s++;
  const mark = (words: string[]): Segment[] => {
    const pre = words.slice(0, p).join("");
    const mid = words.slice(p, words.length - s).join("");
    const suf = words.slice(words.length - s).join("");
    const segs: Segment[] = [];
    if (pre) segs.push(...tokenize(pre));
    if (mid) segs.push(...tokenize(mid).map((t) => ({ ...t, changed: true })));
    if (suf) segs.push(...tokenize(suf));
    return segs;
  };
  return [mark(wa), mark(wb)];
}

type Numbered = Op & { old_line: number | null; new_line: number | null };

function numbered(ops: Op[]): Numbered[] {
  let o = 1, n = 1;
  return ops.map((x) => {
    const r: Numbered = { ...x, old_line: x.op === "add" ? null : o, new_line: x.op === "del" ? null : n };
    if (x.op !== "add") o++;
    if (x.op !== "del") n++;
    return r;
  });
}

/** All rows of a file for a mode, with context further than `ctx` lines from a change collapsed unless expanded. */
export function buildRows(file: MockDiffFile, mode: DiffMode, expanded: ReadonlySet<number>, ctx = 3): DiffRow[] {
  const lines = numbered(file.ops);
  const near = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op !== "ctx") for (let k = Math.max(0, i - ctx); k <= Math.min(lines.length - 1, i + ctx); k++) near[k] = true;
  });
  const rows: DiffRow[] = [];
  let gapId = 0;
  let i = 0;
  let hunkOpen = false;
  while (i < lines.length) {
    if (!near[i]) {
      let j = i;
      while (j < lines.length && !near[j]) j++;
      const id = gapId++;
      if (expanded.has(id)) {
        for (let k = i; k < j; k++) rows.push(lineRow(lines[k]));
      } else {
        rows.push({ kind: "gap", gap_id: id, hidden: j - i });
        hunkOpen = false;
      }
      i = j;
      continue;
    }
    if (!hunkOpen) {
      const l = lines[i];
      rows.push({ kind: "hunk", header: `@@ -${l.old_line ?? 0} +${l.new_line ?? 0} @@` });
      hunkOpen = true;
    }
    if (mode === "split" && lines[i].op === "del") {
      let j = i;
      while (j < lines.length && lines[j].op === "del") j++;
      let k = j;
      while (k < lines.length && lines[k].op === "add") k++;
      const dels = lines.slice(i, j);
      const adds = lines.slice(j, k);
      for (let x = 0; x < Math.max(dels.length, adds.length); x++) {
        const d = dels[x];
        const a = adds[x];
        if (d && a) {
          const [os, ns] = wordDiff(d.text, a.text);
          rows.push({ kind: "line", op: "change", old_line: d.old_line, new_line: a.new_line, old: os, new: ns });
        } else if (d) rows.push(lineRow(d));
        else if (a) rows.push(lineRow(a));
      }
      i = k;
      continue;
    }
    if (mode === "unified" && lines[i].op === "del" && lines[i + 1]?.op === "add") {
      const [os, ns] = wordDiff(lines[i].text, lines[i + 1].text);
      const d = lines[i], a = lines[i + 1];
      rows.push({ kind: "line", op: "del", old_line: d.old_line, new_line: null, old: os, new: null });
      rows.push({ kind: "line", op: "add", old_line: null, new_line: a.new_line, old: null, new: ns });
      i += 2;
      continue;
    }
    rows.push(lineRow(lines[i]));
    i++;
  }
  return rows;
}

function lineRow(l: Numbered): DiffRow {
  const segs = tokenize(l.text);
  if (l.op === "ctx") return { kind: "line", op: "context", old_line: l.old_line, new_line: l.new_line, old: segs, new: segs };
  if (l.op === "add") return { kind: "line", op: "add", old_line: null, new_line: l.new_line, old: null, new: segs };
  return { kind: "line", op: "del", old_line: l.old_line, new_line: null, old: segs, new: null };
}

export function summarise(f: MockDiffFile): DiffFile {
  return {
    path: f.path,
    old_path: f.old_path,
    status: f.status,
    additions: f.ops.filter((o) => o.op === "add").length,
    deletions: f.ops.filter((o) => o.op === "del").length,
    language: f.language,
    unified_rows: buildRows(f, "unified", new Set()).length,
    split_rows: buildRows(f, "split", new Set()).length,
  };
}
