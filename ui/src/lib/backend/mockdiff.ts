// Diff model used by the mock backend: turns old/new line lists into the
// windowed `DiffRow`s (crates/render shapes) the real app serves.
import type { DiffMode } from "../bindings";
import type { DiffRow } from "../bindings";
import type { FileStatus } from "../bindings";
import type { FileTree } from "../bindings";
import type { FileTreeNode } from "../bindings";
import type { LineKind } from "../bindings";
import type { StyledRun } from "../bindings";
import type { TokenClass } from "../bindings";
import type { FileSummary } from "./types";

export type Op = { op: "ctx" | "add" | "del"; text: string };
export type MockDiffFile = {
  path: string;
  old_path: string | null;
  status: FileStatus;
  language: string | null;
  ops: Op[];
};

const KEYWORDS = new Set([
  "fn",
  "let",
  "mut",
  "pub",
  "use",
  "impl",
  "struct",
  "enum",
  "match",
  "if",
  "else",
  "for",
  "while",
  "loop",
  "return",
  "mod",
  "crate",
  "self",
  "Self",
  "trait",
  "where",
  "async",
  "await",
  "move",
  "const",
  "static",
  "def",
  "class",
  "import",
  "from",
  "in",
  "not",
  "and",
  "or",
  "None",
  "True",
  "False",
  "function",
  "var",
]);

/** A tiny tokenizer good enough for token classes in the mock. */
export function tokenize(line: string): StyledRun[] {
  const out: StyledRun[] = [];
  const re =
    /(\/\/.*$|#.*$)|("(?:[^"\\]|\\.)*"?)|(\b\d[\d_.]*\b)|([A-Za-z_][A-Za-z0-9_]*)|(\s+)|([^\sA-Za-z0-9_])/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    let cls: TokenClass = "plain";
    if (m[1]) cls = "comment";
    else if (m[2]) cls = "string";
    else if (m[3]) cls = "number";
    else if (m[4]) {
      const w = m[4];
      if (KEYWORDS.has(w)) cls = "keyword";
      else if (/^[A-Z]/.test(w)) cls = "type";
      else if (line.slice(re.lastIndex).startsWith("(")) cls = "function";
    } else if (m[6]) cls = /[{}()[\];,.]/.test(m[6]) ? "punctuation" : "operator";
    out.push({ text: m[0], class: cls, changed: false });
  }
  return out.length ? out : [{ text: line, class: "plain", changed: false }];
}

/** Word-level change marks between two lines (common prefix/suffix of words). */
export function wordDiff(a: string, b: string): [StyledRun[], StyledRun[]] {
  const wa = a.split(/(\s+|\b)/).filter((x) => x !== "");
  const wb = b.split(/(\s+|\b)/).filter((x) => x !== "");
  let p = 0;
  while (p < wa.length && p < wb.length && wa[p] === wb[p]) p++;
  let s = 0;
  while (s < wa.length - p && s < wb.length - p && wa[wa.length - 1 - s] === wb[wb.length - 1 - s])
    s++;
  const mark = (words: string[]): StyledRun[] => {
    const pre = words.slice(0, p).join("");
    const mid = words.slice(p, words.length - s).join("");
    const suf = words.slice(words.length - s).join("");
    const runs: StyledRun[] = [];
    if (pre) runs.push(...tokenize(pre));
    if (mid) runs.push(...tokenize(mid).map((t) => ({ ...t, changed: true })));
    if (suf) runs.push(...tokenize(suf));
    return runs;
  };
  return [mark(wa), mark(wb)];
}

type Numbered = Op & { old_line: number | null; new_line: number | null };

function numbered(ops: Op[]): Numbered[] {
  let o = 1,
    n = 1;
  return ops.map((x) => {
    const r: Numbered = {
      ...x,
      old_line: x.op === "add" ? null : o,
      new_line: x.op === "del" ? null : n,
    };
    if (x.op !== "add") o++;
    if (x.op !== "del") n++;
    return r;
  });
}

const KIND: Record<Op["op"], LineKind> = { ctx: "context", add: "added", del: "removed" };

/** All rows of a file for a mode, with context further than `ctx` lines from a change collapsed unless expanded. */
export function buildRows(
  file: MockDiffFile,
  mode: DiffMode,
  expanded: ReadonlySet<number>,
  ctx = 3,
): DiffRow[] {
  const lines = numbered(file.ops);
  const near = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op !== "ctx")
      for (let k = Math.max(0, i - ctx); k <= Math.min(lines.length - 1, i + ctx); k++)
        near[k] = true;
  });
  const rows: DiffRow[] = [];
  const line = (l: Numbered, runs = tokenize(l.text)): DiffRow =>
    mode === "split"
      ? {
          type: "split",
          old:
            l.old_line === null
              ? null
              : { kind: KIND[l.op], line: l.old_line, runs, no_newline: false },
          new:
            l.new_line === null
              ? null
              : { kind: KIND[l.op], line: l.new_line, runs, no_newline: false },
        }
      : {
          type: "line",
          kind: KIND[l.op],
          old_line: l.old_line,
          new_line: l.new_line,
          runs,
          no_newline: false,
        };
  let gap = 0,
    hunk = 0,
    i = 0;
  let open = false;
  while (i < lines.length) {
    if (!near[i]) {
      let j = i;
      while (j < lines.length && !near[j]) j++;
      const id = gap++;
      if (expanded.has(id)) for (let k = i; k < j; k++) rows.push(line(lines[k]));
      else {
        rows.push({
          type: "expander",
          gap: id,
          hidden: j - i,
          old_start: lines[i].old_line ?? 0,
          new_start: lines[i].new_line ?? 0,
        });
        open = false;
      }
      i = j;
      continue;
    }
    if (!open) {
      const l = lines[i];
      rows.push({
        type: "hunk_header",
        hunk: hunk++,
        text: `@@ -${l.old_line ?? 0} +${l.new_line ?? 0} @@`,
      });
      open = true;
    }
    if (lines[i].op === "del") {
      let j = i;
      while (j < lines.length && lines[j].op === "del") j++;
      let k = j;
      while (k < lines.length && lines[k].op === "add") k++;
      const dels = lines.slice(i, j),
        adds = lines.slice(j, k);
      if (mode === "split") {
        for (let x = 0; x < Math.max(dels.length, adds.length); x++) {
          const d = dels[x],
            a = adds[x];
          const [os, ns] =
            d && a
              ? wordDiff(d.text, a.text)
              : [d ? tokenize(d.text) : [], a ? tokenize(a.text) : []];
          rows.push({
            type: "split",
            old:
              d && d.old_line !== null
                ? { kind: "removed", line: d.old_line, runs: os, no_newline: false }
                : null,
            new:
              a && a.new_line !== null
                ? { kind: "added", line: a.new_line, runs: ns, no_newline: false }
                : null,
          });
        }
      } else {
        const pairs = Math.min(dels.length, adds.length);
        dels.forEach((d, x) => {
          rows.push(line(d, x < pairs ? wordDiff(d.text, adds[x].text)[0] : tokenize(d.text)));
        });
        adds.forEach((a, x) => {
          rows.push(line(a, x < pairs ? wordDiff(dels[x].text, a.text)[1] : tokenize(a.text)));
        });
      }
      i = k;
      continue;
    }
    rows.push(line(lines[i]));
    i++;
  }
  return rows;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16).padStart(8, "0");
}

export function summarise(f: MockDiffFile, index: number): FileSummary {
  const unified = buildRows(f, "unified", new Set());
  return {
    index,
    path: f.path,
    old_path: f.old_path,
    language: f.language,
    status: f.status,
    binary: false,
    stats: {
      added: f.ops.filter((o) => o.op === "add").length,
      removed: f.ops.filter((o) => o.op === "del").length,
    },
    viewed_key: `${f.path}@${hash(f.ops.map((o) => o.op + o.text).join("\n"))}`,
    gaps: unified.filter((r) => r.type === "expander").length,
    unified_rows: unified.length,
    split_rows: buildRows(f, "split", new Set()).length,
  };
}

/** Directory tree of the files (one level of directories is enough for the mock). */
export function fileTree(files: FileSummary[]): FileTree {
  const dirs = new Map<string, FileTreeNode>();
  const roots: FileTreeNode[] = [];
  files.forEach((f, i) => {
    const slash = f.path.lastIndexOf("/");
    const node: FileTreeNode = {
      name: f.path.slice(slash + 1),
      path: f.path,
      file_index: i,
      status: f.status,
      stats: { ...f.stats },
      viewed_key: f.viewed_key,
      viewed: false,
      children: [],
    };
    if (slash < 0) {
      roots.push(node);
      return;
    }
    const dir = f.path.slice(0, slash);
    let d = dirs.get(dir);
    if (!d) {
      d = {
        name: dir,
        path: dir,
        file_index: null,
        status: null,
        stats: { added: 0, removed: 0 },
        viewed_key: null,
        viewed: false,
        children: [],
      };
      dirs.set(dir, d);
      roots.push(d);
    }
    d.children.push(node);
    d.stats = { added: d.stats.added + f.stats.added, removed: d.stats.removed + f.stats.removed };
  });
  return { roots, total_files: files.length, viewed_files: 0 };
}
