//! Coding-task validation items in Python, TypeScript, Go and Rust: a task
//! statement, the author's reference solution, a test suite, a JUnit run of
//! the candidate and the candidate patch as a unified diff against the
//! starting code. Each task has a correct candidate and a subtly wrong one.

use similar::TextDiff;

use super::DemoItem;

struct Task {
    slug: &'static str,
    language: &'static str,
    path: &'static str,
    test_path: &'static str,
    title: &'static str,
    statement: &'static str,
    original: &'static str,
    reference: &'static str,
    tests: &'static str,
    test_names: &'static [&'static str],
    /// (label, text replacements applied to the reference, failing tests)
    candidates: &'static [Candidate],
}

struct Candidate {
    label: &'static str,
    edits: &'static [(&'static str, &'static str)],
    failing: &'static [&'static str],
}

/// A unified diff of one file, `git diff` style.
pub(crate) fn unified(path: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(old, new);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    format!("diff --git a/{path} b/{path}\n{body}")
}

/// `text` with each `(from, to)` of `edits` made once, in order, and the
/// `from`s that were not in the text by then (none, in a well-made item).
pub(crate) fn apply_edits<'e>(text: &str, edits: &[(&'e str, &str)]) -> (String, Vec<&'e str>) {
    let mut out = text.to_owned();
    let mut missed = Vec::new();
    for &(from, to) in edits {
        if out.contains(from) {
            out = out.replacen(from, to, 1);
        } else {
            missed.push(from);
        }
    }
    (out, missed)
}

fn junit(suite: &str, names: &[&str], failing: &[&str]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\">\n",
        names.len(),
        failing.len(),
        0.041 * names.len() as f64
    );
    for (i, n) in names.iter().enumerate() {
        let t = 0.004 + 0.013 * i as f64;
        if failing.contains(n) {
            xml.push_str(&format!(
                "    <testcase classname=\"{suite}\" name=\"{n}\" time=\"{t:.3}\">\n      <failure message=\"assertion failed\" type=\"AssertionError\">expected value did not match; see {n}</failure>\n    </testcase>\n"
            ));
        } else {
            xml.push_str(&format!(
                "    <testcase classname=\"{suite}\" name=\"{n}\" time=\"{t:.3}\"/>\n"
            ));
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

const TASKS: &[Task] = &[
    Task {
        slug: "py-slugify",
        language: "python",
        path: "textkit/slug.py",
        test_path: "tests/test_slug.py",
        title: "Python: implement slugify() for article URLs",
        statement: "# Implement `slugify(title, max_length=60)`\n\nArticle URLs are built from titles. Implement `textkit.slug.slugify`:\n\n- Lower-case the title and transliterate accented Latin letters to ASCII (`Crème Brûlée` → `creme-brulee`).\n- Replace every run of characters that are not `a-z` or `0-9` with a single hyphen.\n- No leading or trailing hyphens.\n- If the slug is longer than `max_length`, cut it at the last hyphen that keeps it within the limit (never in the middle of a word); if a single word is longer than the limit, cut the word.\n- An empty or all-punctuation title gives `\"untitled\"`.\n",
        original: "\"\"\"URL slugs for article titles.\"\"\"\n\n\ndef slugify(title: str, max_length: int = 60) -> str:\n    \"\"\"Return a URL slug for `title`.\"\"\"\n    raise NotImplementedError\n",
        reference: "\"\"\"URL slugs for article titles.\"\"\"\n\nimport re\nimport unicodedata\n\n_NON_ALNUM = re.compile(r\"[^a-z0-9]+\")\n\n\ndef slugify(title: str, max_length: int = 60) -> str:\n    \"\"\"Return a URL slug for `title`.\"\"\"\n    ascii_title = (\n        unicodedata.normalize(\"NFKD\", title).encode(\"ascii\", \"ignore\").decode(\"ascii\")\n    )\n    slug = _NON_ALNUM.sub(\"-\", ascii_title.lower()).strip(\"-\")\n    if not slug:\n        return \"untitled\"\n    if len(slug) <= max_length:\n        return slug\n    cut = slug.rfind(\"-\", 0, max_length + 1)\n    if cut <= 0:\n        return slug[:max_length]\n    return slug[:cut]\n",
        tests: "import pytest\n\nfrom textkit.slug import slugify\n\n\ndef test_basic():\n    assert slugify(\"Hello, World!\") == \"hello-world\"\n\n\ndef test_accents():\n    assert slugify(\"Crème Brûlée à la maison\") == \"creme-brulee-a-la-maison\"\n\n\ndef test_collapses_runs():\n    assert slugify(\"a  --  b\") == \"a-b\"\n\n\ndef test_empty_is_untitled():\n    assert slugify(\"?!\") == \"untitled\"\n\n\ndef test_cuts_at_word_boundary():\n    assert slugify(\"one two three\", max_length=9) == \"one-two\"\n\n\ndef test_long_word_is_cut():\n    assert slugify(\"supercalifragilistic\", max_length=5) == \"super\"\n",
        test_names: &["test_basic", "test_accents", "test_collapses_runs", "test_empty_is_untitled", "test_cuts_at_word_boundary", "test_long_word_is_cut"],
        candidates: &[
            Candidate { label: "normalises then slices", edits: &[], failing: &[] },
            Candidate {
                label: "drops accented letters",
                edits: &[("    ascii_title = (\n        unicodedata.normalize(\"NFKD\", title).encode(\"ascii\", \"ignore\").decode(\"ascii\")\n    )\n", "    ascii_title = title.encode(\"ascii\", \"ignore\").decode(\"ascii\")\n"), ("import re\nimport unicodedata\n", "import re\n")],
                failing: &["test_accents"],
            },
        ],
    },
    Task {
        slug: "py-intervals",
        language: "python",
        path: "scheduling/intervals.py",
        test_path: "tests/test_intervals.py",
        title: "Python: merge overlapping booking intervals",
        statement: "# Merge overlapping intervals\n\n`merge(intervals)` receives a list of `(start, end)` tuples (integers, `start <= end`) in **any order** and returns the merged, sorted list. Intervals that touch (`(1, 3)` and `(3, 5)`) are merged. The input list must not be modified.\n",
        original: "from typing import List, Tuple\n\nInterval = Tuple[int, int]\n\n\ndef merge(intervals: List[Interval]) -> List[Interval]:\n    # TODO: implement\n    return intervals\n",
        reference: "from typing import List, Tuple\n\nInterval = Tuple[int, int]\n\n\ndef merge(intervals: List[Interval]) -> List[Interval]:\n    merged: List[Interval] = []\n    for start, end in sorted(intervals):\n        if merged and start <= merged[-1][1]:\n            merged[-1] = (merged[-1][0], max(merged[-1][1], end))\n        else:\n            merged.append((start, end))\n    return merged\n",
        tests: "from scheduling.intervals import merge\n\n\ndef test_empty():\n    assert merge([]) == []\n\n\ndef test_unsorted_input():\n    assert merge([(8, 10), (1, 3), (2, 6)]) == [(1, 6), (8, 10)]\n\n\ndef test_touching():\n    assert merge([(1, 3), (3, 5)]) == [(1, 5)]\n\n\ndef test_contained():\n    assert merge([(1, 10), (2, 3)]) == [(1, 10)]\n\n\ndef test_input_not_modified():\n    data = [(5, 6), (1, 2)]\n    merge(data)\n    assert data == [(5, 6), (1, 2)]\n",
        test_names: &["test_empty", "test_unsorted_input", "test_touching", "test_contained", "test_input_not_modified"],
        candidates: &[
            Candidate { label: "sorted copy", edits: &[], failing: &[] },
            Candidate {
                label: "assumes sorted input",
                edits: &[("for start, end in sorted(intervals):", "for start, end in intervals:")],
                failing: &["test_unsorted_input"],
            },
        ],
    },
    Task {
        slug: "ts-debounce",
        language: "typescript",
        path: "src/timing/debounce.ts",
        test_path: "src/timing/debounce.test.ts",
        title: "TypeScript: debounce with cancel and flush",
        statement: "# `debounce(fn, waitMs)`\n\nReturn a function that delays calling `fn` until `waitMs` have passed since the **last** call, calling it with the last arguments. The returned function has:\n\n- `cancel()`: drop the pending call.\n- `flush()`: run the pending call now (if any) and return its result.\n\nOnly one call to `fn` may happen per burst of calls.\n",
        original: "export interface Debounced<A extends unknown[], R> {\n  (...args: A): void;\n  cancel(): void;\n  flush(): R | undefined;\n}\n\nexport function debounce<A extends unknown[], R>(\n  fn: (...args: A) => R,\n  waitMs: number,\n): Debounced<A, R> {\n  throw new Error(\"not implemented\");\n}\n",
        reference: "export interface Debounced<A extends unknown[], R> {\n  (...args: A): void;\n  cancel(): void;\n  flush(): R | undefined;\n}\n\nexport function debounce<A extends unknown[], R>(\n  fn: (...args: A) => R,\n  waitMs: number,\n): Debounced<A, R> {\n  let timer: ReturnType<typeof setTimeout> | undefined;\n  let pending: A | undefined;\n\n  const run = (): R | undefined => {\n    if (pending === undefined) return undefined;\n    const args = pending;\n    pending = undefined;\n    timer = undefined;\n    return fn(...args);\n  };\n\n  const debounced = ((...args: A) => {\n    pending = args;\n    if (timer !== undefined) clearTimeout(timer);\n    timer = setTimeout(run, waitMs);\n  }) as Debounced<A, R>;\n\n  debounced.cancel = () => {\n    if (timer !== undefined) clearTimeout(timer);\n    timer = undefined;\n    pending = undefined;\n  };\n  debounced.flush = () => {\n    if (timer !== undefined) clearTimeout(timer);\n    return run();\n  };\n  return debounced;\n}\n",
        tests: "import { describe, expect, it, vi } from \"vitest\";\nimport { debounce } from \"./debounce\";\n\ndescribe(\"debounce\", () => {\n  it(\"calls once per burst with the last args\", () => {\n    vi.useFakeTimers();\n    const fn = vi.fn();\n    const d = debounce(fn, 100);\n    d(1); d(2); d(3);\n    vi.advanceTimersByTime(100);\n    expect(fn).toHaveBeenCalledTimes(1);\n    expect(fn).toHaveBeenCalledWith(3);\n  });\n\n  it(\"cancel drops the pending call\", () => {\n    vi.useFakeTimers();\n    const fn = vi.fn();\n    const d = debounce(fn, 50);\n    d(); d.cancel();\n    vi.advanceTimersByTime(100);\n    expect(fn).not.toHaveBeenCalled();\n  });\n\n  it(\"flush runs now and returns the result\", () => {\n    vi.useFakeTimers();\n    const d = debounce((x: number) => x * 2, 50);\n    d(21);\n    expect(d.flush()).toBe(42);\n    vi.advanceTimersByTime(100);\n  });\n});\n",
        test_names: &["calls once per burst with the last args", "cancel drops the pending call", "flush runs now and returns the result"],
        candidates: &[
            Candidate { label: "clears timer on every call", edits: &[], failing: &[] },
            Candidate {
                label: "forgets to clear the previous timer",
                edits: &[("    pending = args;\n    if (timer !== undefined) clearTimeout(timer);\n", "    pending = args;\n")],
                failing: &["calls once per burst with the last args"],
            },
        ],
    },
    Task {
        slug: "ts-query",
        language: "typescript",
        path: "src/url/query.ts",
        test_path: "src/url/query.test.ts",
        title: "TypeScript: parse a query string into a multimap",
        statement: "# `parseQuery(qs)`\n\nParse a URL query string (with or without the leading `?`) into `Record<string, string[]>`:\n\n- Keys and values are percent-decoded; `+` means a space.\n- Repeated keys collect all values in order.\n- A key without `=` has the value `\"\"`.\n- Empty segments (`a=1&&b=2`) are ignored.\n- A malformed escape (`%zz`) keeps the raw text instead of throwing.\n",
        original: "export function parseQuery(qs: string): Record<string, string[]> {\n  return {};\n}\n",
        reference: "function decode(part: string): string {\n  const spaced = part.replace(/\\+/g, \" \");\n  try {\n    return decodeURIComponent(spaced);\n  } catch {\n    return spaced;\n  }\n}\n\nexport function parseQuery(qs: string): Record<string, string[]> {\n  const out: Record<string, string[]> = {};\n  const body = qs.startsWith(\"?\") ? qs.slice(1) : qs;\n  for (const segment of body.split(\"&\")) {\n    if (segment === \"\") continue;\n    const eq = segment.indexOf(\"=\");\n    const key = decode(eq === -1 ? segment : segment.slice(0, eq));\n    const value = eq === -1 ? \"\" : decode(segment.slice(eq + 1));\n    (out[key] ??= []).push(value);\n  }\n  return out;\n}\n",
        tests: "import { expect, it } from \"vitest\";\nimport { parseQuery } from \"./query\";\n\nit(\"decodes plus as space\", () => {\n  expect(parseQuery(\"?q=hello+world\")).toEqual({ q: [\"hello world\"] });\n});\n\nit(\"collects repeated keys\", () => {\n  expect(parseQuery(\"tag=a&tag=b\")).toEqual({ tag: [\"a\", \"b\"] });\n});\n\nit(\"keeps malformed escapes\", () => {\n  expect(parseQuery(\"x=%zz\")).toEqual({ x: [\"%zz\"] });\n});\n\nit(\"ignores empty segments\", () => {\n  expect(parseQuery(\"a=1&&b\")).toEqual({ a: [\"1\"], b: [\"\"] });\n});\n",
        test_names: &["decodes plus as space", "collects repeated keys", "keeps malformed escapes", "ignores empty segments"],
        candidates: &[
            Candidate { label: "complete", edits: &[], failing: &[] },
            Candidate {
                label: "no plus decoding, throws on bad escapes",
                edits: &[("  const spaced = part.replace(/\\+/g, \" \");\n  try {\n    return decodeURIComponent(spaced);\n  } catch {\n    return spaced;\n  }\n", "  return decodeURIComponent(part);\n")],
                failing: &["decodes plus as space", "keeps malformed escapes"],
            },
        ],
    },
    Task {
        slug: "go-lru",
        language: "go",
        path: "internal/cache/lru.go",
        test_path: "internal/cache/lru_test.go",
        title: "Go: a fixed-capacity LRU cache",
        statement: "# LRU cache\n\nImplement `cache.LRU` with `New(capacity int) *LRU`, `Get(key string) (string, bool)` and `Put(key, value string)`.\n\n- `Get` marks the entry as most recently used.\n- `Put` on an existing key updates the value and marks it used.\n- When full, `Put` evicts the least recently used entry.\n- Capacity < 1 panics with a clear message.\n- Not safe for concurrent use (document it).\n",
        original: "package cache\n\n// LRU is a fixed-capacity least-recently-used cache.\ntype LRU struct{}\n\nfunc New(capacity int) *LRU { return &LRU{} }\n\nfunc (c *LRU) Get(key string) (string, bool) { return \"\", false }\n\nfunc (c *LRU) Put(key, value string) {}\n",
        reference: "package cache\n\nimport \"container/list\"\n\n// LRU is a fixed-capacity least-recently-used cache.\n// It is not safe for concurrent use.\ntype LRU struct {\n\tcapacity int\n\torder    *list.List\n\titems    map[string]*list.Element\n}\n\ntype entry struct {\n\tkey, value string\n}\n\nfunc New(capacity int) *LRU {\n\tif capacity < 1 {\n\t\tpanic(\"cache: capacity must be at least 1\")\n\t}\n\treturn &LRU{capacity: capacity, order: list.New(), items: make(map[string]*list.Element)}\n}\n\nfunc (c *LRU) Get(key string) (string, bool) {\n\tel, ok := c.items[key]\n\tif !ok {\n\t\treturn \"\", false\n\t}\n\tc.order.MoveToFront(el)\n\treturn el.Value.(*entry).value, true\n}\n\nfunc (c *LRU) Put(key, value string) {\n\tif el, ok := c.items[key]; ok {\n\t\tel.Value.(*entry).value = value\n\t\tc.order.MoveToFront(el)\n\t\treturn\n\t}\n\tif c.order.Len() == c.capacity {\n\t\toldest := c.order.Back()\n\t\tc.order.Remove(oldest)\n\t\tdelete(c.items, oldest.Value.(*entry).key)\n\t}\n\tc.items[key] = c.order.PushFront(&entry{key, value})\n}\n",
        tests: "package cache\n\nimport \"testing\"\n\nfunc TestEvictsLeastRecentlyUsed(t *testing.T) {\n\tc := New(2)\n\tc.Put(\"a\", \"1\")\n\tc.Put(\"b\", \"2\")\n\tc.Get(\"a\")\n\tc.Put(\"c\", \"3\")\n\tif _, ok := c.Get(\"b\"); ok {\n\t\tt.Fatal(\"b should have been evicted\")\n\t}\n\tif v, _ := c.Get(\"a\"); v != \"1\" {\n\t\tt.Fatalf(\"a = %q\", v)\n\t}\n}\n\nfunc TestUpdateKeepsSize(t *testing.T) {\n\tc := New(1)\n\tc.Put(\"a\", \"1\")\n\tc.Put(\"a\", \"2\")\n\tif v, _ := c.Get(\"a\"); v != \"2\" {\n\t\tt.Fatalf(\"a = %q\", v)\n\t}\n}\n\nfunc TestZeroCapacityPanics(t *testing.T) {\n\tdefer func() {\n\t\tif recover() == nil {\n\t\t\tt.Fatal(\"expected panic\")\n\t\t}\n\t}()\n\tNew(0)\n}\n",
        test_names: &["TestEvictsLeastRecentlyUsed", "TestUpdateKeepsSize", "TestZeroCapacityPanics"],
        candidates: &[
            Candidate { label: "container/list", edits: &[], failing: &[] },
            Candidate {
                label: "Get does not refresh recency",
                edits: &[("\t\treturn \"\", false\n\t}\n\tc.order.MoveToFront(el)\n", "\t\treturn \"\", false\n\t}\n")],
                failing: &["TestEvictsLeastRecentlyUsed"],
            },
        ],
    },
    Task {
        slug: "go-retry",
        language: "go",
        path: "internal/retry/retry.go",
        test_path: "internal/retry/retry_test.go",
        title: "Go: retry with exponential backoff that honours the context",
        statement: "# `retry.Do(ctx, attempts, base, fn)`\n\nCall `fn` up to `attempts` times. Between attempts sleep `base * 2^(n-1)` (n = attempt number, starting at 1), capped at 30 s. Stop early and return `ctx.Err()` as soon as the context is cancelled, **including while sleeping**. Return `nil` on the first success, otherwise the last error wrapped as `retry: giving up after N attempts: <err>`.\n",
        original: "package retry\n\nimport (\n\t\"context\"\n\t\"time\"\n)\n\nfunc Do(ctx context.Context, attempts int, base time.Duration, fn func() error) error {\n\treturn fn()\n}\n",
        reference: "package retry\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"time\"\n)\n\nconst maxDelay = 30 * time.Second\n\nfunc Do(ctx context.Context, attempts int, base time.Duration, fn func() error) error {\n\tvar err error\n\tdelay := base\n\tfor n := 1; n <= attempts; n++ {\n\t\tif err = fn(); err == nil {\n\t\t\treturn nil\n\t\t}\n\t\tif n == attempts {\n\t\t\tbreak\n\t\t}\n\t\ttimer := time.NewTimer(delay)\n\t\tselect {\n\t\tcase <-ctx.Done():\n\t\t\ttimer.Stop()\n\t\t\treturn ctx.Err()\n\t\tcase <-timer.C:\n\t\t}\n\t\tdelay *= 2\n\t\tif delay > maxDelay {\n\t\t\tdelay = maxDelay\n\t\t}\n\t}\n\treturn fmt.Errorf(\"retry: giving up after %d attempts: %w\", attempts, err)\n}\n",
        tests: "package retry\n\nimport (\n\t\"context\"\n\t\"errors\"\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestSucceedsAfterFailures(t *testing.T) {\n\tcalls := 0\n\terr := Do(context.Background(), 3, time.Millisecond, func() error {\n\t\tcalls++\n\t\tif calls < 3 {\n\t\t\treturn errors.New(\"flaky\")\n\t\t}\n\t\treturn nil\n\t})\n\tif err != nil || calls != 3 {\n\t\tt.Fatalf(\"err=%v calls=%d\", err, calls)\n\t}\n}\n\nfunc TestCancelDuringSleep(t *testing.T) {\n\tctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)\n\tdefer cancel()\n\tstart := time.Now()\n\terr := Do(ctx, 5, time.Second, func() error { return errors.New(\"down\") })\n\tif !errors.Is(err, context.DeadlineExceeded) {\n\t\tt.Fatalf(\"err = %v\", err)\n\t}\n\tif time.Since(start) > 500*time.Millisecond {\n\t\tt.Fatal(\"did not stop while sleeping\")\n\t}\n}\n\nfunc TestWrapsLastError(t *testing.T) {\n\tboom := errors.New(\"boom\")\n\terr := Do(context.Background(), 2, time.Millisecond, func() error { return boom })\n\tif !errors.Is(err, boom) {\n\t\tt.Fatalf(\"err = %v\", err)\n\t}\n}\n",
        test_names: &["TestSucceedsAfterFailures", "TestCancelDuringSleep", "TestWrapsLastError"],
        candidates: &[
            Candidate { label: "timer + select", edits: &[], failing: &[] },
            Candidate {
                label: "sleeps without watching the context",
                edits: &[("\t\ttimer := time.NewTimer(delay)\n\t\tselect {\n\t\tcase <-ctx.Done():\n\t\t\ttimer.Stop()\n\t\t\treturn ctx.Err()\n\t\tcase <-timer.C:\n\t\t}\n", "\t\ttime.Sleep(delay)\n\t\tif ctx.Err() != nil {\n\t\t\treturn ctx.Err()\n\t\t}\n")],
                failing: &["TestCancelDuringSleep"],
            },
        ],
    },
    Task {
        slug: "rs-duration",
        language: "rust",
        path: "src/duration.rs",
        test_path: "tests/duration.rs",
        title: "Rust: parse human durations like `1h30m`",
        statement: "# `parse_duration(s: &str) -> Result<Duration, ParseError>`\n\nAccept one or more `<integer><unit>` groups with units `d`, `h`, `m`, `s`, `ms`, e.g. `1h30m`, `90s`, `2d`, `1m500ms`. Whitespace between groups is allowed. Errors (never panics):\n\n- empty input → `ParseError::Empty`\n- unknown unit or missing number → `ParseError::Invalid(String)`\n- overflow → `ParseError::Overflow`\n",
        original: "use std::time::Duration;\n\n#[derive(Debug, PartialEq, Eq)]\npub enum ParseError {\n    Empty,\n    Invalid(String),\n    Overflow,\n}\n\npub fn parse_duration(s: &str) -> Result<Duration, ParseError> {\n    todo!()\n}\n",
        reference: "use std::time::Duration;\n\n#[derive(Debug, PartialEq, Eq)]\npub enum ParseError {\n    Empty,\n    Invalid(String),\n    Overflow,\n}\n\npub fn parse_duration(s: &str) -> Result<Duration, ParseError> {\n    let s = s.trim();\n    if s.is_empty() {\n        return Err(ParseError::Empty);\n    }\n    let mut total_ms: u64 = 0;\n    let mut rest = s;\n    while !rest.is_empty() {\n        rest = rest.trim_start();\n        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();\n        if digits == 0 {\n            return Err(ParseError::Invalid(rest.to_string()));\n        }\n        let n: u64 = rest[..digits].parse().map_err(|_| ParseError::Overflow)?;\n        rest = &rest[digits..];\n        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();\n        let factor = match &rest[..unit_len] {\n            \"d\" => 86_400_000,\n            \"h\" => 3_600_000,\n            \"m\" => 60_000,\n            \"s\" => 1_000,\n            \"ms\" => 1,\n            other => return Err(ParseError::Invalid(other.to_string())),\n        };\n        rest = &rest[unit_len..];\n        let part = n.checked_mul(factor).ok_or(ParseError::Overflow)?;\n        total_ms = total_ms.checked_add(part).ok_or(ParseError::Overflow)?;\n    }\n    Ok(Duration::from_millis(total_ms))\n}\n",
        tests: "use std::time::Duration;\n\nuse durations::{parse_duration, ParseError};\n\n#[test]\nfn combined_units() {\n    assert_eq!(parse_duration(\"1h30m\"), Ok(Duration::from_secs(5400)));\n    assert_eq!(parse_duration(\"1m 500ms\"), Ok(Duration::from_millis(60_500)));\n}\n\n#[test]\nfn empty_is_an_error() {\n    assert_eq!(parse_duration(\"  \"), Err(ParseError::Empty));\n}\n\n#[test]\nfn unknown_unit() {\n    assert!(matches!(parse_duration(\"3w\"), Err(ParseError::Invalid(_))));\n}\n\n#[test]\nfn overflow_does_not_panic() {\n    assert_eq!(parse_duration(\"99999999999999999999d\"), Err(ParseError::Overflow));\n    assert_eq!(parse_duration(\"9999999999999999d\"), Err(ParseError::Overflow));\n}\n",
        test_names: &["combined_units", "empty_is_an_error", "unknown_unit", "overflow_does_not_panic"],
        candidates: &[
            Candidate { label: "checked arithmetic", edits: &[], failing: &[] },
            Candidate {
                label: "unchecked multiply",
                edits: &[("        let part = n.checked_mul(factor).ok_or(ParseError::Overflow)?;\n        total_ms = total_ms.checked_add(part).ok_or(ParseError::Overflow)?;\n", "        total_ms += n * factor;\n")],
                failing: &["overflow_does_not_panic"],
            },
        ],
    },
    Task {
        slug: "rs-topk",
        language: "rust",
        path: "src/topk.rs",
        test_path: "tests/topk.rs",
        title: "Rust: the k most frequent words, ties alphabetical",
        statement: "# `top_k(words: &[&str], k: usize) -> Vec<(String, usize)>`\n\nReturn the `k` most frequent words with their counts, most frequent first. Words with the same count are ordered **alphabetically**. Matching is case-insensitive; output words are lower-case. `k` larger than the number of distinct words returns them all.\n",
        original: "pub fn top_k(words: &[&str], k: usize) -> Vec<(String, usize)> {\n    Vec::new()\n}\n",
        reference: "use std::collections::HashMap;\n\npub fn top_k(words: &[&str], k: usize) -> Vec<(String, usize)> {\n    let mut counts: HashMap<String, usize> = HashMap::new();\n    for w in words {\n        *counts.entry(w.to_lowercase()).or_default() += 1;\n    }\n    let mut all: Vec<(String, usize)> = counts.into_iter().collect();\n    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));\n    all.truncate(k);\n    all\n}\n",
        tests: "use topk::top_k;\n\n#[test]\nfn most_frequent_first() {\n    let words = [\"b\", \"a\", \"b\", \"c\", \"b\", \"a\"];\n    assert_eq!(top_k(&words, 2), vec![(\"b\".into(), 3), (\"a\".into(), 2)]);\n}\n\n#[test]\nfn ties_are_alphabetical() {\n    let words = [\"pear\", \"apple\", \"fig\"];\n    assert_eq!(top_k(&words, 3), vec![(\"apple\".into(), 1), (\"fig\".into(), 1), (\"pear\".into(), 1)]);\n}\n\n#[test]\nfn case_insensitive() {\n    assert_eq!(top_k(&[\"Rust\", \"rust\"], 1), vec![(\"rust\".into(), 2)]);\n}\n",
        test_names: &["most_frequent_first", "ties_are_alphabetical", "case_insensitive"],
        candidates: &[
            Candidate { label: "sort then truncate", edits: &[], failing: &[] },
            Candidate {
                label: "unstable tie order",
                edits: &[("    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));\n", "    all.sort_by(|a, b| b.1.cmp(&a.1));\n")],
                failing: &["ties_are_alphabetical"],
            },
        ],
    },
];

pub(crate) fn items() -> Vec<DemoItem> {
    let mut out = Vec::new();
    for task in TASKS {
        for (ci, c) in task.candidates.iter().enumerate() {
            let (candidate, _) = apply_edits(task.reference, c.edits);
            let patch = unified(task.path, task.original, &candidate);
            let statement = format!(
                "{}\n**Language:** {}  \n**File:** `{}`  \n**Tests:** `{}`\n",
                task.statement, task.language, task.path, task.test_path
            );
            out.push(
                DemoItem::new(
                    format!("itm-code-{}-{}", task.slug, ci + 1),
                    format!("{} ({})", task.title, c.label),
                )
                .text("task_statement", statement)
                .text("reference_solution", task.reference)
                .text("test_suite", task.tests)
                .text(
                    "test_run",
                    junit(task.test_path, task.test_names, c.failing),
                )
                .text("candidate_patch", patch)
                .text("language", task.language),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buggy_candidate_differs_from_the_reference() {
        for t in TASKS {
            for c in t.candidates {
                let (s, missed) = apply_edits(t.reference, c.edits);
                assert!(missed.is_empty(), "{}: {missed:?} not found", t.slug);
                assert_eq!(c.edits.is_empty(), s == t.reference, "{}", t.slug);
                assert_eq!(c.edits.is_empty(), c.failing.is_empty(), "{}", t.slug);
            }
        }
        let items = items();
        assert_eq!(items.len(), 16);
    }

    #[test]
    fn patches_are_unified_diffs() {
        let d = unified("a.txt", "one\ntwo\n", "one\nthree\n");
        assert!(d.starts_with("diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@"));
        assert!(d.contains("-two\n+three\n"));
    }
}
