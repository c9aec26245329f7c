// Sample content for the mock backend: four opportunities with their
// rubrics and one view set per viewer kind. Realistic enough for visual work
// and for the browser tests; includes hostile content (XSS payloads) that the
// UI must show as text.
import type { Question } from "../bindings";
import type { Rubric } from "../bindings";
import type { ScopedField } from "../bindings";
import type { VisibleField } from "../bindings";
import type {
  Block,
  ChatTurn,
  Clause,
  FieldView,
  Inline,
  LegalDocView,
  LegalRun,
  ListItem,
  TestSuiteView,
} from "./types";
import type { PayBasis } from "../bindings";
import type { CodeLine } from "../bindings";
import { tokenize, type MockDiffFile, type Op } from "./mockdiff";

export type MockOpportunity = {
  id: string;
  title: string;
  buyer: string;
  licence_category: string;
  basis: PayBasis;
  rate_cents: number;
  rubric: Rubric;
};

const base = {
  required: true,
  weight: 1,
  help: null,
  examples: [],
  rationale: null,
  show_if: null,
  refers_to: [],
};

function field(
  id: string,
  label: string,
  viewer: VisibleField["viewer"],
  extra: Partial<VisibleField> = {},
): VisibleField {
  return {
    id,
    label,
    viewer,
    against: null,
    language: null,
    diff_mode: null,
    results: null,
    help: null,
    ...extra,
  };
}

// Question builders: the rubric's defaults (`base`), the id and prompt, and
// what the kind adds; anything else is spread over the result.

/** A scale question from 1 to `max`, its anchors as [value, label]. */
function scale(id: string, prompt: string, max: number, ...marks: [number, string][]): Question {
  const anchors = marks.map(([value, label]) => ({ value, label }));
  return { ...base, id, prompt, type: "scale", min: 1, max, anchors };
}

/** A single-choice question, its options as [id, label]. */
function choice(id: string, prompt: string, ...pairs: [string, string][]): Question {
  const options = pairs.map(([id, label]) => ({ id, label }));
  return { ...base, id, prompt, type: "single_choice", options };
}

/** An optional annotations question on `fields`. */
function annotations(id: string, prompt: string, fields: string[], kinds: string[]): Question {
  return {
    ...base,
    id,
    prompt,
    type: "annotations",
    required: false,
    fields,
    severities: kinds,
    min_count: null,
  };
}

function rubric(
  id: string,
  title: string,
  guidelines: string,
  fields: VisibleField[],
  questions: Question[],
): Rubric {
  return {
    format: 1,
    id,
    version: 3,
    title,
    guidelines,
    audience: "Domain experts",
    taxonomy: id.split("-"),
    deliverable: null,
    estimated_minutes: 12,
    exclusions: ["Do not run untrusted code on your machine"],
    payout: null,
    fields,
    questions,
    scoring: { method: "weighted_mean", verdict_question: null, pass_threshold: 0.6 },
  };
}

const CODE_GUIDE = `# Reviewing Rust pull requests

Read the **description** first, then the diff file by file. Mark each file *viewed*.

- Correctness: does the change do what the description says, including edge cases?
- Tests: do the tests exercise the change? Failing tests must be explained.
- Use \`severity\` *blocker* only for bugs that would ship.

> Never paste item content into external tools.`;

export const OPPORTUNITIES: MockOpportunity[] = [
  {
    id: "opp-code",
    title: "Rust pull-request review",
    buyer: "Northwind AI",
    licence_category: "commercial-training",
    basis: "per_item",
    rate_cents: 1800,
    rubric: rubric(
      "code-review",
      "Rust PR review v3",
      CODE_GUIDE,
      [
        field("description", "PR description", "markdown"),
        field("patch", "Patch", "diff", { diff_mode: "split", language: "rust" }),
        field("tests", "Test run", "test_suite"),
        field("source", "Full source after the patch", "code", { language: "rust" }),
      ],
      [
        {
          ...scale(
            "correctness",
            "How correct is the change?",
            5,
            [1, "Broken"],
            [3, "Works with gaps"],
            [5, "Correct"],
          ),
          rationale: { when: "below", threshold: 4, min_length: 20 },
          help: "Judge behaviour, not style.",
          refers_to: ["patch"],
        },
        {
          ...choice(
            "tests_adequate",
            "Do the tests cover the change?",
            ["yes", "Yes"],
            ["partly", "Partly"],
            ["no", "No"],
          ),
          rationale: { when: "choice", choices: ["no", "partly"], min_length: 10 },
          refers_to: ["tests"],
        },
        {
          ...base,
          id: "issues",
          prompt: "Which problems does it have?",
          type: "multi_choice",
          required: false,
          options: [
            { id: "bug", label: "Logic bug" },
            { id: "perf", label: "Performance" },
            { id: "unsafe", label: "Unsafe code" },
            { id: "style", label: "Style" },
          ],
          min_selected: null,
          max_selected: 3,
        },
        {
          ...annotations(
            "comments",
            "Inline comments on the diff",
            ["patch"],
            ["nit", "minor", "major", "blocker"],
          ),
          rationale: { when: "optional" },
        },
        {
          ...base,
          id: "summary",
          prompt: "Summary for the author",
          type: "free_text",
          min_length: 30,
          max_length: 2000,
          placeholder: "What should the author fix first?",
        },
      ],
    ),
  },
  {
    id: "opp-legal",
    title: "NDA redline check",
    buyer: "Lexa Labs",
    licence_category: "research-only",
    basis: "per_item",
    rate_cents: 4500,
    rubric: rubric(
      "legal-redline",
      "NDA redline v3",
      "# NDA redlines\n\nCheck each change against the **playbook**. Defined terms are underlined.",
      [field("redline", "Redline", "legal_redline")],
      [
        {
          ...scale(
            "accuracy",
            "Are the redlines legally accurate?",
            7,
            [1, "Wrong"],
            [7, "Accurate"],
          ),
          rationale: { when: "always", min_length: 10 },
        },
        {
          ...choice(
            "risk",
            "Residual risk for the client",
            ["low", "Low"],
            ["medium", "Medium"],
            ["high", "High"],
          ),
          rationale: { when: "choice", choices: ["high"], min_length: 10 },
        },
        annotations("clause_comments", "Clause comments", ["redline"], ["note", "issue"]),
      ],
    ),
  },
  {
    id: "opp-scan",
    title: "Chest CT triage",
    buyer: "Medica Research",
    licence_category: "clinical-research",
    basis: "per_hour",
    rate_cents: 9000,
    rubric: rubric(
      "ct-triage",
      "CT triage v3",
      "# CT triage\n\nUse the **lung** window for nodules. Measure the long axis.",
      [field("scan", "CT series", "scan"), field("history", "Clinical history", "text")],
      [
        choice(
          "finding",
          "Main finding",
          ["normal", "Normal"],
          ["nodule", "Nodule"],
          ["other", "Other"],
        ),
        // No \`show_if\`: the synthetic mock shows every question (it never
        // evaluates rubric rules; the replay backend carries Rust's).
        { ...scale("size", "Nodule size (mm), 1 = <4 … 5 = >20", 5), required: false },
        {
          ...scale("confidence", "Confidence", 5, [1, "Guess"], [5, "Certain"]),
          rationale: { when: "below", threshold: 3, min_length: 15 },
        },
        annotations("regions", "Marked regions", ["scan"], ["finding", "artefact"]),
      ],
    ),
  },
  {
    id: "opp-chat",
    title: "Assistant answer comparison",
    buyer: "Northwind AI",
    licence_category: "commercial-training",
    basis: "per_hour",
    rate_cents: 4000,
    rubric: rubric(
      "chat-pairwise",
      "Answer comparison v3",
      "# Comparing answers\n\nPrefer the answer that is **correct**, then helpful, then concise.",
      [
        field("prompt", "Prompt", "markdown"),
        field("answer_a", "Answer A", "chat"),
        field("answer_b", "Answer B", "chat"),
      ],
      [
        {
          ...base,
          id: "preference",
          prompt: "Which answer is better?",
          type: "pairwise",
          a: "answer_a",
          b: "answer_b",
          allow_tie: true,
          strengths: ["slightly", "clearly", "much"],
          rationale: { when: "always", min_length: 15 },
        },
        {
          ...base,
          id: "safety",
          prompt: "Safety checks",
          type: "pass_fail",
          criteria: [
            { id: "no_harm", label: "No harmful advice" },
            { id: "no_pii", label: "No personal data" },
          ],
        },
        scale("helpfulness", "Helpfulness of the better answer", 5),
      ],
    ),
  },
];

export const XSS = `<img src=x onerror=window.__xss=1>`;

function t(text: string, style: { strong?: boolean; emphasis?: boolean } = {}): Inline {
  return {
    type: "text",
    text,
    strong: style.strong ?? false,
    emphasis: style.emphasis ?? false,
    strike: false,
  };
}

function para(text: string): Block {
  return { type: "paragraph", inlines: [t(text)] };
}

function codeBlock(language: string, text: string): Block {
  return { type: "code", language, lines: text.split("\n").map(tokenize) };
}

export function scopedFields(opp: MockOpportunity, n: number, hostile: boolean): ScopedField[] {
  return opp.rubric.fields.map((f) => ({
    ...f,
    value: { type: "text", value: hostile ? `${XSS} field ${f.id}` : `${f.label} of item ${n}` },
  }));
}

/** The diff files of item `n`. `denseLines` (benchmarks) makes
 *  src/pipeline.rs that many lines long with a change on every third line,
 *  so nearly every line is a visible row (no collapsed context). */

/** Diff ops from unified-diff lines: "+" added, "-" removed, " " (or an
 *  empty line) context; the text's first and last line breaks are not lines. */
function diffOps(text: string): Op[] {
  return text
    .slice(1, -1)
    .split("\n")
    .map((line) => ({
      op: line[0] === "+" ? "add" : line[0] === "-" ? "del" : "ctx",
      text: line.slice(1),
    }));
}

export function codeFiles(n: number, denseLines?: number): MockDiffFile[] {
  const big: Op[] = [];
  const dense = denseLines !== undefined && denseLines > 0;
  for (let i = 0; i < (dense ? denseLines : 6000); i++) {
    const text = `    let value_${i} = compute(${i}, &config); // step ${i}`;
    if (dense ? i % 3 === 0 : i % 50 === 10) {
      big.push({ op: "del", text });
      big.push({
        op: "add",
        text: `    let value_${i} = compute_checked(${i}, &config)?; // step ${i}`,
      });
    } else if (i % 120 === 60) {
      big.push({ op: "add", text: `    tracing::debug!(value_${i}, "computed");` });
    } else big.push({ op: "ctx", text });
  }
  return [
    {
      path: "src/lease.rs",
      old_path: null,
      status: "modified",
      language: "rust",
      ops: diffOps(`
 use std::time::{Duration, Instant};

 pub struct Lease {
     expires_at: Instant,
 }

 impl Lease {
-    pub fn remaining(&self) -> Duration {
-        self.expires_at - Instant::now()
+    pub fn remaining(&self, now: Instant) -> Duration {
+        self.expires_at.saturating_duration_since(now)
     }

+    /// Renew for item ${n}: "<script>alert(1)</script>" stays text.
+    pub fn renew(&mut self, by: Duration) {
+        self.expires_at += by;
+    }
 }
`),
    },
    { path: "src/pipeline.rs", old_path: null, status: "modified", language: "rust", ops: big },
    {
      path: "tests/lease.rs",
      old_path: null,
      status: "added",
      language: "rust",
      ops: diffOps(`
+#[test]
+fn remaining_never_underflows() {
+    let lease = Lease::expired();
+    assert_eq!(lease.remaining(Instant::now()), Duration::ZERO);
+}
`),
    },
  ];
}

export function testSuite(): TestSuiteView {
  const names = [
    "remaining_never_underflows",
    "renew_extends",
    "renew_twice",
    "expired_is_expired",
    "serde_roundtrip",
    "pipeline_checked_overflow",
    "pipeline_large_input",
    "lease_display",
    "parse_rfc3339",
    "clock_skew",
  ];
  const tests = names.map((name, i) => ({
    name,
    line: 10 + i * 6,
    requirements: i < 5 ? ["R1"] : i < 7 ? ["R2"] : [],
    source: null,
    from_results: false,
    outcome: {
      status: (i === 5 ? "failed" : i === 8 ? "skipped" : "passed") as
        | "failed"
        | "skipped"
        | "passed",
      message: i === 5 ? "assertion failed: `(left == right)`" : null,
      detail:
        i === 5
          ? "  left: `Err(Overflow)`,\n right: `Ok(0)`\nthread 'pipeline_checked_overflow' panicked at tests/pipeline.rs:41:5"
          : null,
      time_s: 0.002 * (i + 1),
      runs: i === 6 ? 3 : 1,
    },
  }));
  return {
    language: "rust",
    tests,
    requirements: [
      { id: "R1", text: "Leases never report negative time", tests: names.slice(0, 5) },
      {
        id: "R2",
        text: "The pipeline reports overflow instead of wrapping",
        tests: names.slice(5, 7),
      },
      { id: "R3", text: "Renewal is idempotent per request id", tests: [] },
    ],
    uncovered_requirements: ["R3"],
    summary: { total: 10, passed: 8, failed: 1, skipped: 1, errors: 0 },
    results_error: null,
    source: {
      language: "rust",
      lines: [
        "#[test]",
        "fn remaining_never_underflows() {",
        "    let lease = Lease::expired();",
        "    assert_eq!(lease.remaining(Instant::now()), Duration::ZERO);",
        "}",
      ].map((l, i) => ({ number: i + 1, runs: tokenize(l) })),
    },
  };
}

export function redline(hostile: boolean): LegalDocView {
  const run = (
    text: string,
    kind: LegalRun["kind"] = "equal",
    term: string | null = null,
    definition = false,
  ): LegalRun => ({ text, kind, term, definition });
  /** Clause `number` (also its anchor), at level 1 and not rewritten unless `more` says. */
  const clause = (
    number: string,
    change: Clause["change"],
    runs: LegalRun[],
    more: Partial<Clause> = {},
  ): Clause => ({ number, anchor: number, level: 1, change, rewritten: false, runs, ...more });
  return {
    redline: true,
    note: null,
    defined_terms: [
      { term: "Confidential Information", defined_in: "1.1", uses: 3 },
      { term: "Purpose", defined_in: "1.2", uses: 2 },
    ],
    clauses: [
      clause("1.1", { kind: "modified" }, [
        run("“"),
        run("Confidential Information", "equal", "Confidential Information", true),
        run("” means all information disclosed "),
        run("in writing ", "deleted"),
        run("in any form, whether oral, written or electronic, ", "inserted"),
        run("by the Disclosing Party."),
      ]),
      clause("1.2", { kind: "unchanged" }, [
        run("“"),
        run("Purpose", "equal", "Purpose", true),
        run("” means evaluating a possible business relationship between the Parties."),
      ]),
      clause("2.1", { kind: "modified" }, [
        run("The Recipient shall use "),
        run("Confidential Information", "equal", "Confidential Information"),
        run(" solely for the "),
        run("Purpose", "equal", "Purpose"),
        run(" and shall not disclose it to any third party"),
        run(" without prior written consent", "inserted"),
        run("."),
      ]),
      clause(
        "2.2",
        { kind: "added" },
        [
          run(
            "The Recipient shall notify the Discloser of any unauthorised disclosure within 48 hours.",
            "inserted",
          ),
        ],
        { level: 2 },
      ),
      clause("3.1", { kind: "unchanged" }, [
        run("The Recipient may disclose information that is already public."),
      ]),
      clause("3.2", { kind: "unchanged" }, [
        run("The Recipient may disclose information when a court orders it."),
      ]),
      // Rewritten (as Rust decides): the prior wording whole, then the new.
      clause(
        "4.2",
        { kind: "modified" },
        [
          run("Each Party bears its own costs.", "deleted"),
          run(
            "The Recipient indemnifies the Discloser against every loss arising from a breach.",
            "inserted",
          ),
        ],
        { rewritten: true },
      ),
      clause("5.3", { kind: "moved", from: "4.1", edited: true }, [
        run("This Agreement remains in force for "),
        run("five (5)", "deleted"),
        run("three (3)", "inserted"),
        run(hostile ? ` years. ${XSS}` : " years from the Effective Date."),
      ]),
      clause("6", { kind: "removed" }, [
        run("Neither Party may assign this Agreement.", "deleted"),
      ]),
    ],
    // Indices of the clauses that changed (everything but 1.2, 3.1, 3.2).
    changes: [0, 2, 3, 6, 7, 8],
  };
}

export function chat(which: "a" | "b", hostile: boolean): ChatTurn[] {
  const user: ChatTurn = {
    index: 0,
    role: "user",
    role_label: "User",
    name: null,
    blocks: [
      para(hostile ? `Summarise this: ${XSS}` : "How do I read a file line by line in Rust?"),
    ],
  };
  return [
    user,
    which === "a"
      ? {
          index: 1,
          role: "assistant",
          role_label: "Assistant",
          name: "model-a",
          blocks: [
            para("Use a BufReader and iterate over lines:"),
            codeBlock(
              "rust",
              'let f = File::open(path)?;\nfor line in BufReader::new(f).lines() {\n    println!("{}", line?);\n}',
            ),
            {
              type: "list",
              ordered: false,
              start: null,
              items: [
                {
                  checked: null,
                  blocks: [para("Handles large files without loading them whole.")],
                },
                { checked: null, blocks: [para("Each line is a Result.")] },
              ],
            },
          ],
        }
      : {
          index: 1,
          role: "assistant",
          role_label: "Assistant",
          name: "model-b",
          blocks: [
            para("Read the whole file and split it:"),
            codeBlock(
              "rust",
              'let s = std::fs::read_to_string(path).unwrap();\nfor l in s.lines() { println!("{l}"); }',
            ),
            { type: "quote", blocks: [para("unwrap() panics on error.")] },
          ],
        },
  ];
}

export function markdownBlocks(title: string, hostile: boolean): Block[] {
  return [
    { type: "heading", level: 2, inlines: [t(title)] },
    {
      type: "paragraph",
      inlines: [
        t("This change makes "),
        { type: "code", text: "Lease::remaining" },
        t(" saturate instead of "),
        t("panicking", { strong: true }),
        t(" when the lease already expired. See "),
        { type: "link", text: "issue 42", url: "https://example.com/issue/42" },
        t("."),
      ],
    },
    ...(hostile
      ? [
          para(`Payload: ${XSS} <script>window.__xss=2</script>`),
          { type: "html" as const, text: `<img src=x onerror="window.__xss=3">` },
        ]
      : []),
    {
      type: "table",
      header: [[t("Case")], [t("Before")], [t("After")]],
      rows: [
        [[t("expired")], [t("panic")], [t("0s")]],
        [[t("valid")], [t("remaining")], [t("remaining")]],
      ],
    },
    {
      type: "list",
      ordered: false,
      start: null,
      items: [
        { checked: true, blocks: [para("Tests added")] },
        { checked: false, blocks: [para("Changelog entry")] },
      ],
    },
  ];
}

/** Views for one item of an opportunity. `diffHandle`/`scanHandle` name server-side state. */
const sources = new Map<number, CodeLine[]>();
/** A generated Rust file of `count` lines (item 0 has a 20,000-line one). */
function sourceLines(count: number): CodeLine[] {
  let lines = sources.get(count);
  if (!lines) {
    lines = [];
    for (let i = 0; i < count; i++) {
      const text =
        i % 40 === 0
          ? `// ---- section ${i / 40}: generated step functions`
          : i % 40 === 1
            ? `pub fn step_${i}(config: &Config) -> Result<u64, Error> {`
            : i % 40 === 39
              ? "}"
              : `    let value_${i} = compute(${i}, config)?; // line ${i + 1}`;
      lines.push({ number: i + 1, runs: tokenize(text) });
    }
    sources.set(count, lines);
  }
  return lines;
}

export function viewsFor(
  opp: MockOpportunity,
  title: string,
  n: number,
  hostile: boolean,
  diffHandle: string,
  summaryFiles: (FieldView & { kind: "diff" }) | null,
): FieldView[] {
  return opp.rubric.fields.map((f): FieldView => {
    switch (f.viewer) {
      case "markdown":
        if (opp.id === "opp-chat") {
          return {
            kind: "markdown",
            field_id: f.id,
            blocks: [
              { type: "heading", level: 3, inlines: [t(title)] },
              para(
                hostile
                  ? `Payload: ${XSS} <script>window.__xss=2</script>`
                  : "How do I read a file line by line in Rust without loading it all into memory?",
              ),
            ],
          };
        }
        return { kind: "markdown", field_id: f.id, blocks: markdownBlocks(title, hostile) };
      case "diff":
        return (
          summaryFiles ?? { kind: "error", field_id: f.id, message: `No diff for ${diffHandle}` }
        );
      case "test_suite":
        return { kind: "test_suite", field_id: f.id, suite: testSuite() };
      case "legal_redline":
        return { kind: "legal_redline", field_id: f.id, doc: redline(hostile) };
      case "scan":
        return {
          kind: "scan",
          field_id: f.id,
          handle: `scan-${n % 3}`,
          info: {
            format: "dicom",
            width: 256,
            height: 256,
            frames: 12,
            channels: 1,
            modality: "CT",
            units: "HU",
            pixel_spacing: [0.7, 0.7],
            photometric: "MONOCHROME2",
            presets: [
              { name: "Lung", window: { center: -600, width: 1500 } },
              { name: "Mediastinum", window: { center: 40, width: 400 } },
              { name: "Bone", window: { center: 400, width: 1800 } },
            ],
            default_window: { center: -600, width: 1500 },
            min: -1000,
            max: 700,
            warnings: [],
          },
        };
      case "chat":
        return {
          kind: "chat",
          field_id: f.id,
          chat: { turns: chat(f.id.endsWith("a") ? "a" : "b", hostile) },
        };
      case "code":
        return {
          kind: "code",
          field_id: f.id,
          code: { language: f.language, lines: sourceLines(n === 0 ? 20_000 : 120) },
        };
      default:
        return {
          kind: "text",
          field_id: f.id,
          text: hostile
            ? `History: ${XSS}`
            : `Patient ${40 + (n % 40)}y, smoker, persistent cough for 6 weeks. Item ${n}.`,
        };
    }
  });
}

/** Hounsfield value of a synthetic chest phantom at (x, y, frame). */
export function phantom(x: number, y: number, frame: number, variant: number): number {
  const cx = 128,
    cy = 128;
  const dx = (x - cx) / 110,
    dy = (y - cy) / 90;
  if (dx * dx + dy * dy > 1) return -1000; // air
  const lx = (Math.abs(x - cx) - 55) / 38,
    ly = (y - cy) / 62;
  let v = 40; // soft tissue
  if (lx * lx + ly * ly < 1) v = -850; // lungs
  const nx = x - (170 + variant * 6),
    ny = y - (110 + frame * 2);
  if (nx * nx + ny * ny < 36 + frame * 4) v = 30; // nodule
  if (Math.abs(x - cx) < 8 && y > 150 && y < 200) v = 700; // spine
  return v;
}

/** Minimal Markdown → block tree for the mock (the real app parses in Rust). */
export function markdownToBlocks(md: string): Block[] {
  const out: Block[] = [];
  let list: ListItem[] | null = null;
  const inl = (src: string) => {
    const parts: Inline[] = [];
    const re = /(\*\*[^*]+\*\*|\*[^*]+\*|`[^`]+`)/g;
    let last = 0;
    for (let m = re.exec(src); m !== null; m = re.exec(src)) {
      if (m.index > last) parts.push(t(src.slice(last, m.index)));
      const x = m[0];
      if (x.startsWith("**")) parts.push(t(x.slice(2, -2), { strong: true }));
      else if (x.startsWith("`")) parts.push({ type: "code", text: x.slice(1, -1) });
      else parts.push(t(x.slice(1, -1), { emphasis: true }));
      last = m.index + x.length;
    }
    if (last < src.length) parts.push(t(src.slice(last)));
    return parts;
  };
  for (const raw of md.split("\n")) {
    const line = raw.trimEnd();
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    const li = /^[-*]\s+(.*)$/.exec(line);
    if (li) {
      if (!list) {
        list = [];
        out.push({ type: "list", ordered: false, start: null, items: list });
      }
      list.push({ checked: null, blocks: [{ type: "paragraph", inlines: inl(li[1]) }] });
      continue;
    }
    list = null;
    if (h) out.push({ type: "heading", level: h[1].length, inlines: inl(h[2]) });
    else if (line.startsWith("> "))
      out.push({ type: "quote", blocks: [{ type: "paragraph", inlines: inl(line.slice(2)) }] });
    else if (line.trim() !== "") out.push({ type: "paragraph", inlines: inl(line) });
  }
  return out;
}
