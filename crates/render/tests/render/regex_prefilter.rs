//! The literal prefilter that `vendor/syntect` puts in front of Oniguruma
//! (see vendor/syntect/PATCHED.md): what it reads out of a pattern, and that
//! it never skips a search that would have matched, for every pattern of
//! every grammar Assay highlights with, on source files nobody here wrote
//! (vendored oniguruma and syntect) and our own, from several start positions.
//! `ASSAY_PREFILTER_CORPUS` (a folder, e.g. `target/bench/src` after `cargo
//! xtask bench --only diff`) adds more files. And on random patterns built
//! from the constructs it reads, against Oniguruma itself
//! (`ASSAY_PREFILTER_CASES`, default 4,000).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syntect::parsing::syntax_definition::Pattern;
use syntect::parsing::SyntaxDefinition;
use syntect::parsing::{regex_required_literals, Regex, Region, SyntaxSet};

/// What the prefilter reads out of each pattern: its literals joined with
/// `|`, or `-` for none.
const READINGS: &[(&str, &str)] = &[
    // word alternations and literal runs
    (
        r"(?<![_$\p{L}\p{N}])\b(namespace|module)\s+(?=[_$\p{L}])",
        "module|namespace",
    ),
    (r"\bfn\b", "fn"),
    (r"\\.", "\\"),
    // optional parts, negative look-arounds and look-behinds give nothing
    (r"(abc)?", "-"),
    (r"x*", "-"),
    (r"a{0,3}", "-"),
    (r"(?!abc)\w+", "-"),
    (r"(?<=return)\s*/", "/"),
    (r"(?<=return)\s*", "-"),
    (r"abc|\w", "-"),
    (r"[abc]", "-"),
    (r"abc?", "ab"),
    (r"ab+c", "ab"),
    // case folding and what it does not fully understand: no prefilter
    (r"(?i)select", "-"),
    (r"(?i:select)", "-"),
    (r"(?(1)a|b)", "-"),
    (r"\cAbc", "-"),
    (r"[]abc]", "-"),
    (r"a(?x)b|c", "-"),
    // extended mode ignores white space and comments
    (
        "(?x) \\b (?: # words\n (document|event) | (window) )",
        "document|event|window",
    ),
    ("(?x) a b c", "abc"),
    ("(?x) a\\ b", "a b"),
    ("a b", "a b"),
    // a look-ahead counts; braces that are not an interval are literal
    (r"(?=abc)", "abc"),
    (r"\{[^}]*\}", "{"),
    (r"a{2}b", "a"),
    (r"\p{Lu}foo", "foo"),
    (r"(?<name>foo)bar", "foo"),
    // `x{n}?` is an optional `x{n}` in Oniguruma's syntax, not a lazy one
    (r"(?:ab){2}?c", "c"),
    (r"(?:ab){1,2}?", "-"),
];

#[test]
fn what_the_prefilter_reads_out_of_a_pattern() {
    for (pattern, want) in READINGS {
        let got = regex_required_literals(pattern).map_or_else(
            || "-".to_string(),
            |v| {
                v.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect::<Vec<_>>()
                    .join("|")
            },
        );
        assert_eq!(&got, want, "{pattern:?}");
    }
}

#[test]
fn deep_nesting_gives_no_prefilter_and_no_overflow() {
    let nested = |n: usize| format!("{}abc{}", "(".repeat(n), ")".repeat(n));
    assert!(regex_required_literals(&nested(60)).is_some());
    assert_eq!(regex_required_literals(&nested(65)), None);
    assert_eq!(regex_required_literals(&nested(100_000)), None);
}

/// Files under `dir` (recursively) with one of `exts`, sorted.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if p.is_dir() {
            if !matches!(name, "node_modules" | "target" | ".git" | "dist") {
                files(&p, exts, out);
            }
        } else if let Some(ext) = p.extension().and_then(|e| e.to_str()) {
            if exts.contains(&ext) {
                out.push(p);
            }
        }
    }
}

/// The grammars as loaded (before linking), by name.
fn grammars() -> Vec<SyntaxDefinition> {
    let set: SyntaxSet = two_face::syntax::extra_newlines();
    set.into_builder().syntaxes().to_vec()
}

/// Every pattern string of grammar `name` that compiles on its own (end
/// patterns with back-references to their start pattern are built per
/// match).
fn patterns_of(name: &str) -> Vec<String> {
    let defs = grammars();
    let def = defs
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no grammar named {name}"));
    patterns(def)
}

fn patterns(def: &SyntaxDefinition) -> Vec<String> {
    let mut out: Vec<String> = def
        .contexts
        .values()
        .flat_map(|c| c.patterns.iter())
        .filter_map(|p| match p {
            Pattern::Match(m) if !m.has_captures => Some(m.regex.regex_str().to_string()),
            _ => None,
        })
        .filter(|r| Regex::try_compile(r).is_none())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Searches every pattern of grammar `name` in `lines` from the start and
/// from two later positions, with and without the prefilter, and asserts
/// they agree; returns how many of the patterns have a prefilter.
fn check(name: &str, lines: &[String]) -> usize {
    let patterns = patterns_of(name);
    assert!(patterns.len() > 20, "{name}: {} patterns", patterns.len());
    check_patterns(name, &patterns, lines)
}

fn check_patterns(name: &str, patterns: &[String], lines: &[String]) -> usize {
    let with_literals = patterns
        .iter()
        .filter(|p| regex_required_literals(p).is_some())
        .count();
    let mut skipped = 0;
    let mut region = Region::new();
    for p in patterns {
        let re = Regex::new(p.clone());
        for line in lines {
            let len = line.len();
            let mut starts = vec![0, len / 3, len * 2 / 3];
            starts.dedup();
            for begin in starts {
                if !line.is_char_boundary(begin) {
                    continue;
                }
                let filtered = re.search(line, begin, len, Some(&mut region));
                let full = re.search_unfiltered(line, begin, len, Some(&mut region));
                assert_eq!(
                    filtered, full,
                    "{name}: pattern {p:?} on {line:?} from {begin}"
                );
                skipped += usize::from(!filtered);
            }
        }
    }
    eprintln!(
        "{name}: {} patterns ({with_literals} with literals), {} lines, {skipped} searches without a match in both",
        patterns.len(),
        lines.len()
    );
    with_literals
}

/// Lines of the files with `exts` under the repository's `dirs` and the
/// extra corpus, at most `max`, spread over the files.
fn lines(dirs: &[&str], exts: &[&str], max: usize) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = Vec::new();
    for d in dirs {
        files(&root.join(d), exts, &mut paths);
    }
    if let Some(extra) = std::env::var_os("ASSAY_PREFILTER_CORPUS") {
        files(Path::new(&extra), exts, &mut paths);
    }
    let mut per_file: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, p) in paths.iter().enumerate() {
        if let Ok(text) = std::fs::read_to_string(p) {
            per_file.insert(i, text.lines().map(|l| format!("{l}\n")).collect());
        }
    }
    // Round-robin over the files so that every file contributes.
    let mut out = Vec::new();
    let mut k = 0;
    while out.len() < max {
        let before = out.len();
        for ls in per_file.values() {
            if let Some(l) = ls.get(k) {
                if !l.trim().is_empty() {
                    out.push(l.clone());
                }
            }
        }
        if out.len() == before && per_file.values().all(|ls| ls.len() <= k) {
            break;
        }
        k += 1;
    }
    out.truncate(max);
    assert!(
        out.len() >= max.min(100),
        "{exts:?}: only {} lines",
        out.len()
    );
    out
}

/// How many lines per grammar (each line is searched by every pattern three
/// times, twice over).
fn budget() -> usize {
    std::env::var("ASSAY_PREFILTER_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
}

#[test]
fn the_prefilter_never_skips_a_match_typescript() {
    let l = lines(&["ui/src", "ui/tests"], &["ts", "js", "mjs"], budget());
    assert!(check("TypeScript", &l) > 50);
}

#[test]
fn the_prefilter_never_skips_a_match_rust() {
    let l = lines(
        &["vendor/syntect/src", "crates/render/src"],
        &["rs"],
        budget(),
    );
    assert!(check("Rust", &l) > 20);
}

#[test]
fn the_prefilter_never_skips_a_match_c() {
    let l = lines(&["vendor/onig_sys"], &["c", "h"], budget());
    assert!(check("C", &l) > 10);
}

#[test]
fn the_prefilter_never_skips_a_match_python() {
    let l = lines(&["xtask", "vendor", "tests", "crates"], &["py"], budget());
    check("Python", &l);
}

/// Every grammar of the set, each on the same mix of lines from every
/// corpus (a pattern's prefilter must hold on any text, not only on its
/// own language).
#[test]
fn the_prefilter_never_skips_a_match_any_grammar() {
    let exts = [
        "rs", "ts", "js", "svelte", "c", "h", "py", "md", "toml", "json", "yml", "yaml", "sh",
        "html", "css", "sql",
    ];
    let per = budget() / 6;
    let l = lines(
        &["vendor", "ui/src", "crates", "xtask", ".ci", "docs"],
        &exts,
        per,
    );
    let mut with_literals = 0;
    let defs = grammars();
    for def in &defs {
        with_literals += check_patterns(&def.name, &patterns(def), &l);
    }
    assert!(
        defs.len() > 50 && with_literals > 1000,
        "{} grammars, {with_literals}",
        defs.len()
    );
}

/// A random pattern over a small alphabet, built from the constructs the
/// prefilter reads (literals, escapes, classes, groups of every kind,
/// alternations, quantifiers with their lazy and possessive forms).
fn pattern() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let atom = prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "x", " ", "ab", "ba", "cab"]).prop_map(String::from),
        1 => prop::sample::select(vec![
            r"\.", r"\ ", r"\\", ".", r"\w", r"\s", r"\b", r"\B", "^", "$", "[ab]", "[^a]",
            r"[\]a]", "[[:alpha:]]", r"\x61", r"\p{L}", r"\h", r"\n", "{", "}", "]",
        ])
        .prop_map(String::from),
    ];
    let leaf = atom.prop_recursive(4, 24, 4, |inner| {
        let seq = prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat());
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| v.concat()),
            (
                prop::sample::select(vec![
                    "(", "(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>", "(?<g>", "(?m:", "(?x:",
                    "(?i:", "(?~",
                ]),
                prop::collection::vec(seq, 1..3),
            )
                .prop_map(|(open, alts)| format!("{open}{})", alts.join("|"))),
            (
                inner,
                prop::sample::select(vec![
                    "?", "*", "+", "??", "*?", "+?", "?+", "*+", "++", "{2}", "{0,2}", "{1,}",
                    "{,2}", "{1,2}?",
                ]),
                proptest::bool::ANY,
            )
                .prop_map(|(a, q, bare)| {
                    if bare {
                        format!("{a}{q}") // on the last atom only
                    } else {
                        format!("(?:{a}){q}")
                    }
                }),
        ]
    });
    (
        prop::sample::select(vec!["", "", "(?x)", "(?x) ", "(?i)", "(?m)"]),
        prop::collection::vec(leaf, 1..4),
    )
        .prop_map(|(flags, alts)| {
            // Named groups must be unique: number them.
            let mut n = 0;
            let body = alts.join("|");
            let mut out = String::from(flags);
            let mut rest = body.as_str();
            while let Some(i) = rest.find("(?<g>") {
                out.push_str(&rest[..i]);
                out.push_str(&format!("(?<g{n}>"));
                n += 1;
                rest = &rest[i + 5..];
            }
            out.push_str(rest);
            out
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        // `ASSAY_PREFILTER_CASES` for a longer run.
        cases: std::env::var("ASSAY_PREFILTER_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4000),
        // About one random pattern in ten does not compile (a named group
        // repeated, a look-behind of unbounded length) and is skipped.
        max_global_rejects: u32::MAX,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// On random patterns and texts, from every start position, the
    /// filtered search agrees with Oniguruma's own.
    #[test]
    fn the_prefilter_agrees_with_oniguruma_on_random_patterns(
        p in pattern(),
        texts in proptest::collection::vec("[abcx .\\]{}\n]{0,16}", 1..6),
    ) {
        proptest::prop_assume!(Regex::try_compile(&p).is_none());
        let re = Regex::new(p.clone());
        let mut region = Region::new();
        for t in &texts {
            for begin in 0..=t.len() {
                let filtered = re.search(t, begin, t.len(), Some(&mut region));
                let full = re.search_unfiltered(t, begin, t.len(), Some(&mut region));
                proptest::prop_assert_eq!(filtered, full, "pattern {:?} on {:?} from {}", p, t, begin);
            }
        }
    }
}
