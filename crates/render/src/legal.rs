//! Legal drafts: clause-numbered documents with a word-level redline against a
//! prior version and highlighted defined terms.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use similar::{Algorithm, ChangeTag, TextDiff};
use ts_rs::TS;

/// Largest draft accepted for a redline (bytes per version); larger drafts are
/// shown without a redline.
pub const MAX_REDLINE_BYTES: usize = 4 * 1024 * 1024;
/// Clauses at least this similar are "the same clause, edited".
const SAME_CLAUSE_RATIO: f32 = 0.5;
/// An edited clause keeping less than this share of its words was
/// rewritten: it is shown at clause level (the prior wording struck through
/// as a whole, then the new wording), not as interleaved word changes.
const REWRITE_KEPT: f32 = 0.5;
/// An edited clause broken into more separate word changes than this...
const MAX_INLINE_EDITS: usize = 3;
/// ...and keeping less than this share of its words is shown at clause
/// level too.
const SCATTERED_KEPT: f32 = 0.8;

/// How a run of a redlined clause compares with the prior version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LegalRunKind {
    /// Same wording in both versions.
    Equal,
    /// Words only in the new version (underlined in a redline).
    Inserted,
    /// Words only in the prior version (struck through in a redline).
    Deleted,
}

/// A run of words of a clause with one redline kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LegalRun {
    /// The words, including their spacing.
    pub text: String,
    /// Whether the words are unchanged, inserted or deleted.
    pub kind: LegalRunKind,
    /// The defined term this run is an occurrence of.
    pub term: Option<String>,
    /// This occurrence is the term's definition.
    pub definition: bool,
}

/// What happened to a clause between the prior and the new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClauseChange {
    /// Same anchor, same wording.
    Unchanged,
    /// Same anchor, wording edited (the runs show how).
    Modified,
    /// Only in the new version.
    Added,
    /// Only in the prior version.
    Removed,
    /// Renumbered or moved; `from` is the prior anchor. May also be edited.
    Moved {
        /// Anchor the clause had in the prior version.
        from: String,
        /// Its wording changed as well as its place.
        edited: bool,
    },
}

/// One clause (section, article, paragraph) of a legal document, compared with its prior version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Clause {
    /// Number as written (`1.2`, `(a)`, `Section 4`), if any.
    pub number: Option<String>,
    /// Unique key for comments: qualified number (`3.2(a)`) or `¶N`.
    pub anchor: String,
    /// Nesting depth (1 = top level).
    pub level: u8,
    /// Whether the clause is unchanged, modified, added, removed or moved.
    pub change: ClauseChange,
    /// The clause was rewritten rather than touched up: `runs` hold the
    /// whole prior wording (deleted) followed by the whole new wording
    /// (inserted), shown as two blocks instead of interleaved words.
    pub rewritten: bool,
    /// The clause's text as redline runs (equal, inserted, deleted).
    pub runs: Vec<LegalRun>,
}

/// A term the document defines (e.g. "Confidential Information") and where it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DefinedTerm {
    /// The term as defined, without quotes.
    pub term: String,
    /// Anchor of the clause that defines it.
    pub defined_in: Option<String>,
    /// Occurrences outside the definition.
    pub uses: u32,
}

/// A legal document as numbered clauses, redlined against the prior version when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LegalDocView {
    /// The clauses in document order (removed clauses at their prior place).
    pub clauses: Vec<Clause>,
    /// Terms the document defines, in order of definition.
    pub defined_terms: Vec<DefinedTerm>,
    /// A prior version was given and compared.
    pub redline: bool,
    /// Why no redline was computed although a prior version was given.
    pub note: Option<String>,
    /// Indices into `clauses` of every clause that changed (added, removed,
    /// edited or moved), in document order: what "next change" steps
    /// through and "changed clauses only" keeps.
    pub changes: Vec<u32>,
}

// ---------------------------------------------------------------- parsing

#[derive(Debug, Clone)]
struct RawClause {
    number: Option<String>,
    anchor: String,
    level: u8,
    body: String,
}

fn is_roman(s: &str) -> bool {
    !s.is_empty() && s.len() <= 6 && s.chars().all(|c| matches!(c, 'i' | 'v' | 'x'))
}

/// Recognise a clause marker at the start of a line; returns (marker, level
/// hint, rest). Level hint: `None` for `(a)` style (nested under the last
/// numbered clause).
fn marker(line: &str) -> Option<(String, Option<u8>, &str)> {
    let t = line.trim_start();
    // Section / Article / Clause N(.N)*
    for word in [
        "Section", "SECTION", "Article", "ARTICLE", "Clause", "CLAUSE",
    ] {
        if let Some(rest) = t.strip_prefix(word) {
            let rest_t = rest.trim_start();
            if rest.len() == rest_t.len() {
                continue;
            }
            let end = rest_t
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(rest_t.len());
            let num = rest_t[..end].trim_end_matches('.');
            if !num.is_empty()
                && num
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            {
                let after = rest_t[end..].trim_start_matches([':', '.', ' ']);
                return Some((format!("{word} {num}"), Some(1), after));
            }
        }
    }
    // 1. / 1.2 / 2.3.4 / 1.1.
    let digits_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let num = &t[..digits_end];
    if !num.is_empty()
        && num.starts_with(|c: char| c.is_ascii_digit())
        && !num.contains("..")
        && (num.contains('.') || t[digits_end..].starts_with(')'))
        && t[digits_end..].starts_with([' ', '\t', ')'])
        && num.len() <= 16
    {
        let clean = num.trim_end_matches('.');
        let level = clean.split('.').count().min(8) as u8;
        let rest = t[digits_end..].trim_start_matches(')').trim_start();
        return Some((clean.to_string(), Some(level), rest));
    }
    // (a) / (iv) / (A) / (1)
    if let Some(rest) = t.strip_prefix('(') {
        let close = rest.find(')')?;
        let inner = &rest[..close];
        let ok = (inner.len() == 1 && inner.chars().all(|c| c.is_ascii_alphabetic()))
            || is_roman(inner)
            || (inner.len() <= 3 && inner.chars().all(|c| c.is_ascii_digit()));
        if ok && !inner.is_empty() && rest[close + 1..].starts_with([' ', '\t']) {
            return Some((format!("({inner})"), None, rest[close + 1..].trim_start()));
        }
    }
    None
}

fn parse_clauses(text: &str) -> Vec<RawClause> {
    let mut out: Vec<RawClause> = Vec::new();
    let mut last_numbered: Option<(String, u8)> = None;
    let mut para = 0u32;
    let mut blank = true;
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut unique = |anchor: String| -> String {
        let n = seen.entry(anchor.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            anchor
        } else {
            format!("{anchor}~{n}")
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            blank = true;
            continue;
        }
        if let Some((number, level, rest)) = marker(line) {
            let (anchor, level) = match level {
                Some(l) => {
                    last_numbered = Some((number.clone(), l));
                    (number.clone(), l)
                }
                None => match &last_numbered {
                    Some((parent, pl)) => (format!("{parent}{number}"), pl.saturating_add(1)),
                    None => (number.clone(), 1),
                },
            };
            out.push(RawClause {
                number: Some(number),
                anchor: unique(anchor),
                level,
                body: rest.to_string(),
            });
            blank = false;
            continue;
        }
        match out.last_mut() {
            Some(c) if !blank => {
                c.body.push('\n');
                c.body.push_str(trimmed);
            }
            _ => {
                para += 1;
                out.push(RawClause {
                    number: None,
                    anchor: unique(format!("¶{para}")),
                    level: last_numbered.as_ref().map_or(1, |(_, l)| *l),
                    body: trimmed.to_string(),
                });
            }
        }
        blank = false;
    }
    out
}

// ---------------------------------------------------------------- terms

fn is_open_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '«')
}

fn is_close_quote(c: char) -> bool {
    matches!(c, '"' | '”' | '»')
}

/// Quoted capitalised terms (`"Services"`, (the “Agreement”)) in order.
fn find_definitions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if !is_open_quote(c) {
            continue;
        }
        let start = i + c.len_utf8();
        let rest = &text[start..];
        let Some(end) = rest.find(is_close_quote) else {
            break;
        };
        let term = &rest[..end];
        let ok = term.len() >= 2
            && term.len() <= 60
            && term.chars().next().is_some_and(char::is_uppercase)
            && term
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '’' | '&'))
            && term.split_whitespace().count() <= 6;
        if ok {
            out.push(term.to_string());
            // Skip past the closing quote.
            while let Some(&(j, _)) = it.peek() {
                if j > start + end {
                    break;
                }
                it.next();
            }
        }
    }
    out
}

fn word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Split text into (piece, term, `is_definition`) by occurrences of `terms`
/// (longest first, whole words). A term directly wrapped in quotes is a
/// definition.
fn split_terms<'t>(text: &str, terms: &'t [String]) -> Vec<(String, Option<&'t str>, bool)> {
    let mut out: Vec<(String, Option<&str>, bool)> = Vec::new();
    if terms.is_empty() {
        return vec![(text.to_string(), None, false)];
    }
    let mut plain_start = 0usize;
    let mut i = 0usize;
    while i < text.len() {
        let prev = text[..i].chars().next_back();
        let mut matched = None;
        if !word_char(prev) {
            for t in terms {
                if text[i..].starts_with(t.as_str())
                    && !word_char(text[i + t.len()..].chars().next())
                {
                    matched = Some(t.as_str());
                    break;
                }
            }
        }
        match matched {
            Some(t) => {
                if plain_start < i {
                    out.push((text[plain_start..i].to_string(), None, false));
                }
                let definition = prev.is_some_and(is_open_quote)
                    && text[i + t.len()..]
                        .chars()
                        .next()
                        .is_some_and(is_close_quote);
                out.push((t.to_string(), Some(t), definition));
                i += t.len();
                plain_start = i;
            }
            None => {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    if plain_start < text.len() {
        out.push((text[plain_start..].to_string(), None, false));
    }
    out
}

// ---------------------------------------------------------------- redline

fn ratio(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(Duration::from_millis(200))
        .diff_unicode_words(a, b)
        .ratio()
}

fn redline_runs(old: &str, new: &str) -> Vec<(String, LegalRunKind)> {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(Duration::from_millis(500))
        .diff_unicode_words(old, new);
    let mut runs: Vec<(String, LegalRunKind)> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            ChangeTag::Equal => LegalRunKind::Equal,
            ChangeTag::Insert => LegalRunKind::Inserted,
            ChangeTag::Delete => LegalRunKind::Deleted,
        };
        match runs.last_mut() {
            Some((text, k)) if *k == kind => text.push_str(change.value()),
            _ => runs.push((change.value().to_string(), kind)),
        }
    }
    runs
}

fn one_run(text: &str, kind: LegalRunKind) -> Vec<(String, LegalRunKind)> {
    vec![(text.to_string(), kind)]
}

/// Words (letters and digits) in `text`.
fn word_count(text: &str) -> usize {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count()
}

/// Whether an edited clause reads better at clause level: most of its words
/// changed, or its changes are scattered over many places.
fn is_rewrite(runs: &[(String, LegalRunKind)]) -> bool {
    let (mut kept, mut removed, mut added) = (0usize, 0usize, 0usize);
    // Separate edits: stretches of inserted / deleted words between kept ones.
    let mut edits = 0usize;
    let mut in_edit = false;
    for (text, kind) in runs {
        let words = word_count(text);
        match kind {
            LegalRunKind::Equal => kept += words,
            LegalRunKind::Deleted => removed += words,
            LegalRunKind::Inserted => added += words,
        }
        let changed = *kind != LegalRunKind::Equal;
        if changed && !in_edit {
            edits += 1;
        }
        // Spaces or punctuation alone between two changes do not separate them.
        in_edit = changed || (in_edit && words == 0);
    }
    let longest = kept.saturating_add(removed.max(added)).max(1);
    // Word counts of one clause (bounded by MAX_REDLINE_BYTES) fit an f32.
    let share = kept as f32 / longest as f32;
    share < REWRITE_KEPT || (edits > MAX_INLINE_EDITS && share < SCATTERED_KEPT)
}

/// Build the legal document view of `current`, redlined against `prior`.
pub fn legal_view(current: &str, prior: Option<&str>) -> LegalDocView {
    let cur = parse_clauses(current);
    let mut note = None;
    let prior = prior.filter(|p| {
        if p.len() > MAX_REDLINE_BYTES || current.len() > MAX_REDLINE_BYTES {
            note = Some(format!(
                "documents over {} MiB are shown without a redline",
                MAX_REDLINE_BYTES / (1024 * 1024)
            ));
            false
        } else {
            true
        }
    });
    let old = prior.map(parse_clauses).unwrap_or_default();

    // Match current clauses to prior ones.
    let mut matched_old: Vec<Option<usize>> = vec![None; old.len()];
    let mut cur_match: Vec<Option<usize>> = vec![None; cur.len()];
    if prior.is_some() {
        let by_anchor: HashMap<&str, usize> = old
            .iter()
            .enumerate()
            .map(|(i, c)| (c.anchor.as_str(), i))
            .collect();
        // 1. Same anchor, similar body.
        for (ci, c) in cur.iter().enumerate() {
            if let Some(&oi) = by_anchor.get(c.anchor.as_str()) {
                if ratio(&old[oi].body, &c.body) >= SAME_CLAUSE_RATIO {
                    cur_match[ci] = Some(oi);
                    matched_old[oi] = Some(ci);
                }
            }
        }
        // 2. Identical body elsewhere (renumbered / moved).
        let mut by_body: HashMap<&str, Vec<usize>> = HashMap::new();
        for (oi, o) in old.iter().enumerate() {
            if matched_old[oi].is_none() {
                by_body.entry(o.body.trim()).or_default().push(oi);
            }
        }
        for (ci, c) in cur.iter().enumerate() {
            if cur_match[ci].is_some() {
                continue;
            }
            if let Some(list) = by_body.get_mut(c.body.trim()) {
                if let Some(pos) = list.iter().position(|&oi| matched_old[oi].is_none()) {
                    let oi = list.remove(pos);
                    cur_match[ci] = Some(oi);
                    matched_old[oi] = Some(ci);
                }
            }
        }
        // 3. Most similar remaining clause (renumbered and edited), bounded.
        let unmatched_old: Vec<usize> = (0..old.len())
            .filter(|&i| matched_old[i].is_none())
            .collect();
        let unmatched_cur = cur_match.iter().filter(|m| m.is_none()).count();
        // Pairwise similarity is quadratic: bounded so huge rewrites stay fast
        // (beyond it, unmatched clauses show as added / removed).
        if unmatched_old.len().saturating_mul(unmatched_cur) <= 20_000 {
            for (ci, c) in cur.iter().enumerate() {
                if cur_match[ci].is_some() {
                    continue;
                }
                let best = unmatched_old
                    .iter()
                    .filter(|&&oi| matched_old[oi].is_none())
                    .map(|&oi| (oi, ratio(&old[oi].body, &c.body)))
                    .filter(|(_, r)| *r >= 0.6)
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((oi, _)) = best {
                    cur_match[ci] = Some(oi);
                    matched_old[oi] = Some(ci);
                }
            }
        }
    }

    // Defined terms over both versions (longest first for matching).
    let mut terms: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for c in cur.iter().chain(old.iter()) {
        for t in find_definitions(&c.body) {
            if seen.insert(t.clone()) {
                terms.push(t);
            }
        }
    }
    let mut match_order = terms.clone();
    match_order.sort_by_key(|t| std::cmp::Reverse(t.len()));

    let build = |number: &Option<String>,
                 anchor: &str,
                 level: u8,
                 change: ClauseChange,
                 rewritten: bool,
                 runs: Vec<(String, LegalRunKind)>| {
        let mut out: Vec<LegalRun> = Vec::new();
        for (text, kind) in runs {
            for (piece, term, definition) in split_terms(&text, &match_order) {
                match out.last_mut() {
                    Some(last) if last.kind == kind && last.term.is_none() && term.is_none() => {
                        last.text.push_str(&piece);
                    }
                    _ => out.push(LegalRun {
                        text: piece,
                        kind,
                        term: term.map(str::to_string),
                        definition,
                    }),
                }
            }
        }
        Clause {
            number: number.clone(),
            anchor: anchor.to_string(),
            level,
            change,
            rewritten,
            runs: out,
        }
    };

    let mut clauses: Vec<Clause> = Vec::with_capacity(cur.len() + old.len());
    // Removed prior clauses go right after the current clause matched to the
    // prior clause before them.
    let mut removed_after: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    let mut last_cur: Option<usize> = None;
    for (oi, m) in matched_old.iter().enumerate() {
        match m {
            Some(ci) => last_cur = Some(*ci),
            None => removed_after.entry(last_cur).or_default().push(oi),
        }
    }
    let push_removed = |clauses: &mut Vec<Clause>, key: Option<usize>| {
        if let Some(list) = removed_after.get(&key) {
            for &oi in list {
                let o = &old[oi];
                clauses.push(build(
                    &o.number,
                    &o.anchor,
                    o.level,
                    ClauseChange::Removed,
                    false,
                    one_run(&o.body, LegalRunKind::Deleted),
                ));
            }
        }
    };
    if prior.is_some() {
        push_removed(&mut clauses, None);
    }
    for (ci, c) in cur.iter().enumerate() {
        let (change, rewritten, runs) = match (prior.is_some(), cur_match[ci]) {
            (false, _) => (
                ClauseChange::Unchanged,
                false,
                one_run(&c.body, LegalRunKind::Equal),
            ),
            (true, None) => (
                ClauseChange::Added,
                false,
                one_run(&c.body, LegalRunKind::Inserted),
            ),
            (true, Some(oi)) => {
                let o = &old[oi];
                let edited = o.body != c.body;
                let mut rewritten = false;
                let runs = if edited {
                    let words = redline_runs(&o.body, &c.body);
                    if is_rewrite(&words) {
                        rewritten = true;
                        vec![
                            (o.body.clone(), LegalRunKind::Deleted),
                            (c.body.clone(), LegalRunKind::Inserted),
                        ]
                    } else {
                        words
                    }
                } else {
                    one_run(&c.body, LegalRunKind::Equal)
                };
                let change = if o.anchor != c.anchor {
                    ClauseChange::Moved {
                        from: o.anchor.clone(),
                        edited,
                    }
                } else if edited {
                    ClauseChange::Modified
                } else {
                    ClauseChange::Unchanged
                };
                (change, rewritten, runs)
            }
        };
        clauses.push(build(
            &c.number, &c.anchor, c.level, change, rewritten, runs,
        ));
        if prior.is_some() {
            push_removed(&mut clauses, Some(ci));
        }
    }

    // Term statistics over the current document.
    let defined_terms = terms
        .iter()
        .map(|t| {
            let mut defined_in = None;
            let mut uses = 0u32;
            for c in &clauses {
                if c.change == ClauseChange::Removed {
                    continue;
                }
                for r in &c.runs {
                    if r.kind == LegalRunKind::Deleted || r.term.as_deref() != Some(t.as_str()) {
                        continue;
                    }
                    if r.definition && defined_in.is_none() {
                        defined_in = Some(c.anchor.clone());
                    } else {
                        uses += 1;
                    }
                }
            }
            DefinedTerm {
                term: t.clone(),
                defined_in,
                uses,
            }
        })
        .collect();

    let changes = clauses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.change != ClauseChange::Unchanged)
        .filter_map(|(i, _)| u32::try_from(i).ok())
        .collect();
    LegalDocView {
        clauses,
        defined_terms,
        redline: prior.is_some(),
        note,
        changes,
    }
}

/// Where a comment anchored to clause `anchor` of the prior version lands in
/// a view built against that prior version: the same clause if it is still
/// there, the clause it moved to when renumbered, `None` when removed.
pub fn relocate_clause(anchor: &str, view: &LegalDocView) -> Option<String> {
    if let Some(c) = view
        .clauses
        .iter()
        .find(|c| matches!(&c.change, ClauseChange::Moved { from, .. } if from == anchor))
    {
        return Some(c.anchor.clone());
    }
    let same = view.clauses.iter().find(|c| c.anchor == anchor)?;
    match same.change {
        ClauseChange::Unchanged | ClauseChange::Modified => Some(same.anchor.clone()),
        // The anchor now names a different (new or moved-in) clause.
        _ => None,
    }
}

#[cfg(test)]
mod tests;
