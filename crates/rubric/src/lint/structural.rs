//! Structural checks: what makes a rubric invalid (and [`crate::parse_rubric`]
//! refuse it), each an error.

use super::*;

pub(super) fn structural(r: &Rubric, l: &mut Linter<'_>) {
    if r.format != RUBRIC_FORMAT_VERSION {
        l.error(
            "unsupported-format",
            Target::Root("format"),
            format!(
                "rubric format {} is not supported (this tool reads format {RUBRIC_FORMAT_VERSION})",
                r.format
            ),
        );
    }
    if r.id.trim().is_empty() {
        l.error("empty-id", Target::Root("id"), "the rubric id is empty");
    }
    if let Some(p) = &r.payout {
        if p.amount_cents < 0 {
            l.error(
                "payout-amount",
                Target::Root("payout"),
                format!("payout amount_cents is negative ({})", p.amount_cents),
            );
        }
        let c = p.currency.as_bytes();
        if c.len() != 3 || !c.iter().all(u8::is_ascii_uppercase) {
            l.error(
                "payout-currency",
                Target::Root("payout"),
                format!(
                    "payout currency {:?} is not an ISO 4217 code like \"USD\"",
                    p.currency
                ),
            );
        }
    }

    // ---- fields
    let visible: BTreeSet<&str> = r.fields.iter().map(|f| f.id.as_str()).collect();
    declared_once(
        "field",
        r.fields.iter().map(|f| f.id.as_str()),
        Target::Field,
        l,
    );
    for f in &r.fields {
        if f.id.trim().is_empty() {
            l.error(
                "empty-id",
                Target::Root("fields"),
                "a visible field has an empty id",
            );
        }
        for (key, reference) in [("against", &f.against), ("results", &f.results)] {
            let Some(name) = reference else { continue };
            if name == &f.id {
                l.error(
                    "self-reference",
                    Target::FieldKey(&f.id, key),
                    format!("field `{}` sets `{key}` to itself", f.id),
                );
            } else if !visible.contains(name.as_str()) {
                l.error(
                    "leaking-reference",
                    Target::FieldKey(&f.id, key),
                    format!(
                        "field `{}` sets `{key}` to `{name}`, which is not a visible field: \
                         the viewer would need a hidden field (declare `{name}` in `fields`)",
                        f.id
                    ),
                );
            }
        }
    }

    // ---- questions
    let index = question_index(r);
    declared_once(
        "question",
        r.questions.iter().map(|q| q.id.as_str()),
        Target::Question,
        l,
    );
    for q in &r.questions {
        structural_question(q, &visible, &index, l);
    }
    for cycle in condition_cycles(r) {
        let first = cycle.first().map_or("", String::as_str);
        l.error(
            "condition-cycle",
            Target::QuestionKey(first, "show_if"),
            format!(
                "questions show each other in a cycle ({} -> {first}); none of them can ever be shown",
                cycle.join(" -> ")
            ),
        );
    }

    // ---- scoring
    if let Some(s) = &r.scoring {
        match &s.verdict_question {
            Some(v) if !index.contains_key(v.as_str()) => l.error(
                "unknown-verdict-question",
                Target::Root("verdict_question"),
                format!("scoring.verdict_question `{v}` is not a question of this rubric"),
            ),
            None if s.method == ScoringMethod::VerdictOnly => l.error(
                "verdict-missing",
                Target::Root("scoring"),
                "scoring method `verdict_only` needs a `verdict_question`",
            ),
            _ => {}
        }
        if let Some(t) = s.pass_threshold {
            if !t.is_finite() || !(0.0..=1.0).contains(&t) {
                l.error(
                    "pass-threshold",
                    Target::Root("pass_threshold"),
                    format!("scoring.pass_threshold must be between 0 and 1 (is {t})"),
                );
            }
        }
    }
}

/// The structural checks of one question, in the order they report.
fn structural_question(
    q: &Question,
    visible: &BTreeSet<&str>,
    index: &HashMap<&str, &Question>,
    l: &mut Linter<'_>,
) {
    let id = q.id.as_str();
    question_id_and_weight(q, l);
    needs_fields(visible, id, "refers_to", &q.refers_to, l);
    match &q.kind {
        QuestionKind::Scale { min, max, anchors } => scale_range(id, *min, *max, anchors, l),
        QuestionKind::SingleChoice { options } => {
            options_check(id, "options", options, l);
        }
        QuestionKind::MultiChoice {
            options,
            min_selected,
            max_selected,
        } => selection_bounds(id, options, *min_selected, *max_selected, l),
        QuestionKind::PassFail { criteria } => {
            options_check(id, "criteria", criteria, l);
        }
        QuestionKind::Ranking { fields } => ranking_fields(id, fields, visible, l),
        QuestionKind::Pairwise { a, b, .. } => pairwise_fields(id, a, b, visible, l),
        QuestionKind::FreeText {
            min_length,
            max_length,
            ..
        } => ordered_bounds(
            id,
            "length-bounds",
            ("min_length", *min_length),
            ("max_length", *max_length),
            l,
        ),
        QuestionKind::Annotations { fields, .. } => annotation_fields(id, fields, visible, l),
    }
    rationale_rule(q, l);
    show_if_target(q, index, l);
}

/// A question has an id and a weight of at least 0.
fn question_id_and_weight(q: &Question, l: &mut Linter<'_>) {
    let id = q.id.as_str();
    if id.trim().is_empty() {
        l.error(
            "empty-id",
            Target::Root("questions"),
            "a question has an empty id",
        );
    }
    if !q.weight.is_finite() || q.weight < 0.0 {
        l.error(
            "bad-weight",
            Target::QuestionKey(id, "weight"),
            format!(
                "question `{id}`: weight must be a number >= 0 (is {})",
                q.weight
            ),
        );
    }
}

/// A field a question names (under `key`) must be a visible field.
fn needs_field(visible: &BTreeSet<&str>, id: &str, key: &str, field: &str, l: &mut Linter<'_>) {
    if !visible.contains(field) {
        l.error(
            "missing-field",
            Target::QuestionKey(id, key),
            format!(
                "question `{id}` refers to field `{field}` in `{key}`, which is not a visible field"
            ),
        );
    }
}

/// [`needs_field`] for each field of the list under `key`.
fn needs_fields(
    visible: &BTreeSet<&str>,
    id: &str,
    key: &str,
    fields: &[String],
    l: &mut Linter<'_>,
) {
    for f in fields {
        needs_field(visible, id, key, f, l);
    }
}

/// A scale runs from a smaller to a larger value; its anchors lie on it.
fn scale_range(id: &str, min: i32, max: i32, anchors: &[ScaleAnchor], l: &mut Linter<'_>) {
    if min >= max {
        l.error(
            "scale-range",
            Target::QuestionKey(id, "min"),
            format!("question `{id}`: scale min ({min}) must be less than max ({max})"),
        );
    }
    for a in anchors {
        if a.value < min || a.value > max {
            l.error(
                "anchor-out-of-range",
                Target::QuestionKey(id, "anchors"),
                format!(
                    "question `{id}`: anchor {} ({:?}) is outside the scale {min}..{max}",
                    a.value, a.label
                ),
            );
        }
    }
}

/// A multiple choice's selection bounds can be met.
fn selection_bounds(
    id: &str,
    options: &[crate::model::ChoiceOption],
    min_selected: Option<u32>,
    max_selected: Option<u32>,
    l: &mut Linter<'_>,
) {
    options_check(id, "options", options, l);
    let n = options.len();
    ordered_bounds(
        id,
        "selection-bounds",
        ("min_selected", min_selected),
        ("max_selected", max_selected),
        l,
    );
    if let Some(lo) = min_selected {
        if lo as usize > n {
            l.error(
                "selection-bounds",
                Target::QuestionKey(id, "min_selected"),
                format!("question `{id}`: min_selected ({lo}) is more than the {n} options"),
            );
        }
    }
    if max_selected == Some(0) {
        l.error(
            "selection-bounds",
            Target::QuestionKey(id, "max_selected"),
            format!("question `{id}`: max_selected is 0, nothing could be picked"),
        );
    }
}

/// A ranking orders at least two distinct visible fields.
fn ranking_fields(id: &str, fields: &[String], visible: &BTreeSet<&str>, l: &mut Linter<'_>) {
    if fields.len() < 2 {
        l.error(
            "ranking-fields",
            Target::QuestionKey(id, "fields"),
            format!("question `{id}`: a ranking needs at least two fields"),
        );
    }
    for d in dups(fields.iter().map(String::as_str)) {
        l.error(
            "ranking-fields",
            Target::QuestionKey(id, "fields"),
            format!("question `{id}`: field `{d}` is listed twice in the ranking"),
        );
    }
    needs_fields(visible, id, "fields", fields, l);
}

/// A pairwise question compares two different visible fields.
fn pairwise_fields(id: &str, a: &str, b: &str, visible: &BTreeSet<&str>, l: &mut Linter<'_>) {
    if a == b {
        l.error(
            "pairwise-same-field",
            Target::QuestionKey(id, "b"),
            format!("question `{id}`: compares field `{a}` with itself"),
        );
    }
    needs_field(visible, id, "a", a, l);
    needs_field(visible, id, "b", b, l);
}

/// A question's lower bound (`min_selected`, `min_length`) is not above its
/// upper one: else error `code` on the lower bound's key.
fn ordered_bounds(
    id: &str,
    code: &str,
    (lo_key, lo): (&str, Option<u32>),
    (hi_key, hi): (&str, Option<u32>),
    l: &mut Linter<'_>,
) {
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if lo > hi {
            l.error(
                code,
                Target::QuestionKey(id, lo_key),
                format!("question `{id}`: {lo_key} ({lo}) is more than {hi_key} ({hi})"),
            );
        }
    }
}

/// Annotations name at least one visible field to annotate.
fn annotation_fields(id: &str, fields: &[String], visible: &BTreeSet<&str>, l: &mut Linter<'_>) {
    if fields.is_empty() {
        l.error(
            "annotation-fields",
            Target::QuestionKey(id, "fields"),
            format!("question `{id}`: annotations need at least one field to annotate"),
        );
    }
    needs_fields(visible, id, "fields", fields, l);
}

/// A rationale rule fits its question: `below` on a scale, `choice` with
/// choices the question can have.
fn rationale_rule(q: &Question, l: &mut Linter<'_>) {
    let id = q.id.as_str();
    match &q.rationale {
        Some(RationaleRule::Below { .. }) if !matches!(q.kind, QuestionKind::Scale { .. }) => {
            l.error(
                "rationale-kind",
                Target::QuestionKey(id, "rationale"),
                format!("question `{id}`: a `below` rationale rule needs a scale question"),
            );
        }
        Some(RationaleRule::Choice { choices, .. }) => {
            if choices.is_empty() {
                l.error(
                    "unknown-choice",
                    Target::QuestionKey(id, "rationale"),
                    format!("question `{id}`: a `choice` rationale rule lists no choices"),
                );
            }
            if let Some(possible) = possible_tokens(&q.kind) {
                for c in choices.iter().filter(|c| !possible.contains(*c)) {
                    l.error(
                        "unknown-choice",
                        Target::QuestionKey(id, "rationale"),
                        format!(
                            "question `{id}`: rationale choice `{c}` is not a possible answer{}",
                            expected(&possible)
                        ),
                    );
                }
            }
        }
        _ => {}
    }
}

/// `show_if` names a known question and values it can have.
fn show_if_target(q: &Question, index: &HashMap<&str, &Question>, l: &mut Linter<'_>) {
    let id = q.id.as_str();
    if let Some(cond) = &q.show_if {
        let target = cond.question.as_str();
        match index.get(target) {
            None => l.error(
                "unknown-condition-target",
                Target::QuestionKey(id, "show_if"),
                format!("question `{id}`: show_if refers to unknown question `{target}`"),
            ),
            Some(t) => {
                if let Some(possible) = possible_tokens(&t.kind) {
                    for c in cond.any_of.iter().filter(|c| !possible.contains(*c)) {
                        l.error(
                            "unknown-choice",
                            Target::QuestionKey(id, "show_if"),
                            format!(
                                "question `{id}`: show_if value `{c}` can never be an answer to `{target}`{}",
                                expected(&possible)
                            ),
                        );
                    }
                }
                if (cond.min.is_some() || cond.max.is_some())
                    && !matches!(t.kind, QuestionKind::Scale { .. })
                {
                    l.error(
                        "condition-kind",
                        Target::QuestionKey(id, "show_if"),
                        format!(
                            "question `{id}`: show_if uses min/max but `{target}` is not a scale question"
                        ),
                    );
                }
            }
        }
    }
}

fn expected(possible: &BTreeSet<String>) -> String {
    if possible.is_empty() {
        " (that question has no choices)".to_owned()
    } else if possible.len() <= 12 {
        format!(
            " (expected one of: {})",
            possible.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    } else {
        String::new()
    }
}

fn options_check(id: &str, key: &str, options: &[crate::model::ChoiceOption], l: &mut Linter<'_>) {
    if options.is_empty() {
        l.error(
            "empty-options",
            Target::QuestionKey(id, key),
            format!("question `{id}`: `{key}` is empty"),
        );
    }
    for d in dups(options.iter().map(|o| o.id.as_str())) {
        l.error(
            "duplicate-option",
            Target::QuestionKey(id, key),
            format!("question `{id}`: `{d}` appears more than once in `{key}`"),
        );
    }
    for o in options {
        if o.id.trim().is_empty() {
            l.error(
                "empty-id",
                Target::QuestionKey(id, key),
                format!("question `{id}`: an entry of `{key}` has an empty id"),
            );
        }
    }
}

/// Each `show_if` cycle once, as the list of question ids on it.
pub(super) fn condition_cycles(r: &Rubric) -> Vec<Vec<String>> {
    let index = question_index(r);
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on stack / visiting, 2 = done
    let mut cycles = Vec::new();
    for q in &r.questions {
        if state.contains_key(q.id.as_str()) {
            continue;
        }
        let mut path: Vec<&str> = Vec::new();
        let mut cur = Some(q.id.as_str());
        while let Some(id) = cur {
            match state.get(id) {
                Some(1) => {
                    if let Some(pos) = path.iter().position(|p| *p == id) {
                        cycles.push(path[pos..].iter().map(|s| (*s).to_owned()).collect());
                    }
                    break;
                }
                Some(_) => break,
                None => {}
            }
            state.insert(id, 1);
            path.push(id);
            cur = index
                .get(id)
                .and_then(|q| q.show_if.as_ref())
                .map(|c| c.question.as_str())
                .filter(|t| index.contains_key(t));
        }
        for p in path {
            state.insert(p, 2);
        }
    }
    cycles
}

/// Whether a condition can ever hold for some answer to its target.
pub(super) fn condition_satisfiable(cond: &Condition, target: &Question) -> Result<(), String> {
    if let (Some(lo), Some(hi)) = (cond.min, cond.max) {
        if lo > hi {
            return Err(format!("show_if min ({lo}) is greater than max ({hi})"));
        }
    }
    match &target.kind {
        QuestionKind::Scale { min, max, .. } => {
            let lo = cond.min.map_or(*min, |m| m.max(*min));
            let hi = cond.max.map_or(*max, |m| m.min(*max));
            if lo > hi {
                return Err(format!(
                    "no score of `{}` ({min}..{max}) lies in the show_if range",
                    target.id
                ));
            }
            if !cond.any_of.is_empty()
                && !cond
                    .any_of
                    .iter()
                    .filter_map(|v| v.parse::<i32>().ok())
                    .any(|v| v >= lo && v <= hi)
            {
                return Err(format!(
                    "none of the show_if values of `{}` lies in its range {lo}..{hi}",
                    target.id
                ));
            }
        }
        QuestionKind::FreeText { .. } if !cond.any_of.is_empty() => {
            return Err(format!(
                "`{}` is free text; show_if any_of can never match it (leave any_of empty to mean \"answered\")",
                target.id
            ));
        }
        QuestionKind::Annotations { severities, .. }
            if !cond.any_of.is_empty() && severities.is_empty() =>
        {
            return Err(format!(
                "`{}` has no severities; show_if any_of can never match it",
                target.id
            ));
        }
        _ => {}
    }
    Ok(())
}
