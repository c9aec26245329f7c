//! Property tests: malformed input never panics, and reports are consistent.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use assay_protocol::Item;
use assay_rubric::{
    effective_answers, lint, load_rubric_file, load_sample_items, parse_rubric,
    parse_rubric_unchecked, scope, score, structural_findings, validate, Annotation,
    AnnotationAnchor, Answer, Answers, Condition, DiffSide, Format, IssueSeverity, Preference,
    QuestionKind, RationaleRule, Rubric, SourceMap,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use crate::{example, fixture};

fn rubrics() -> Vec<Rubric> {
    static CACHE: OnceLock<Vec<Rubric>> = OnceLock::new();
    CACHE.get_or_init(load_rubrics).clone()
}

fn load_rubrics() -> Vec<Rubric> {
    [
        fixture("good.toml"),
        example("pairwise_chat.yaml"),
        example("legal_redline.json"),
    ]
    .iter()
    .map(|p| load_rubric_file(p).unwrap())
    .collect()
}

fn items() -> Vec<Item> {
    static CACHE: OnceLock<Vec<Item>> = OnceLock::new();
    CACHE.get_or_init(load_items).clone()
}

fn load_items() -> Vec<Item> {
    load_sample_items(fixture("items"))
        .unwrap()
        .items
        .into_iter()
        .map(|(_, i)| i)
        .collect()
}

const TOKENS: &[&str] = &[
    "correctness",
    "problems",
    "checks",
    "comments",
    "verdict",
    "preference",
    "a_helpful",
    "b_helpful",
    "harmful",
    "harm_details",
    "clause_comments",
    "risk",
    "compliant",
    "logic",
    "edge",
    "tests",
    "security",
    "builds",
    "tests_pass",
    "no_regressions",
    "merge",
    "revise",
    "reject",
    "a",
    "b",
    "tie",
    "fail",
    "pass",
    "answer_a",
    "answer_b",
    "slightly",
    "clearly",
    "much",
    "nit",
    "minor",
    "major",
    "blocker",
    "patch",
    "revised",
    "low",
    "medium",
    "high",
    "liability_cap",
    "governing_law",
    "task",
    "conversation",
    "original",
    "ghost",
    "",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
        1 => ".{0,6}",
    ]
}

fn anchor() -> impl Strategy<Value = AnnotationAnchor> {
    prop_oneof![
        (
            token(),
            any::<bool>(),
            any::<u32>(),
            proptest::option::of("[0-9a-f]{12}")
        )
            .prop_map(|(file, old, line, line_hash)| AnnotationAnchor::DiffLine {
                file,
                side: if old { DiffSide::Old } else { DiffSide::New },
                line,
                line_hash,
            }),
        token().prop_map(|number| AnnotationAnchor::Clause { number }),
        (
            any::<u32>(),
            any::<f64>(),
            any::<f64>(),
            any::<f64>(),
            any::<f64>()
        )
            .prop_map(
                |(frame, x, y, width, height)| AnnotationAnchor::ScanRegion {
                    frame,
                    x,
                    y,
                    width,
                    height,
                }
            ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(start, end)| AnnotationAnchor::TextSpan { start, end }),
    ]
}

fn annotation() -> impl Strategy<Value = Annotation> {
    (
        token(),
        token(),
        anchor(),
        proptest::option::of(token()),
        ".{0,20}",
    )
        .prop_map(|(id, field, anchor, severity, comment)| Annotation {
            id,
            field,
            anchor,
            severity,
            comment,
        })
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        any::<i32>().prop_map(|value| Answer::Scale { value }),
        (-2i32..10).prop_map(|value| Answer::Scale { value }),
        token().prop_map(|choice| Answer::SingleChoice { choice }),
        vec(token(), 0..6).prop_map(|choices| Answer::MultiChoice { choices }),
        btree_map(token(), any::<bool>(), 0..5).prop_map(|results| Answer::PassFail { results }),
        vec(token(), 0..5).prop_map(|order| Answer::Ranking { order }),
        (0u8..3, proptest::option::of(token())).prop_map(|(p, strength)| Answer::Pairwise {
            preference: [Preference::A, Preference::B, Preference::Tie][p as usize],
            strength,
        }),
        ".{0,80}".prop_map(|text| Answer::FreeText { text }),
        vec(annotation(), 0..4).prop_map(|items| Answer::Annotations { items }),
    ]
}

fn answers() -> impl Strategy<Value = Answers> {
    (
        btree_map(token(), answer(), 0..12),
        btree_map(token(), ".{0,70}", 0..6),
    )
        .prop_map(|(answers, rationales)| Answers {
            answers,
            rationales,
        })
}

/// Everything that must hold for any rubric and any answers.
fn check_everything(r: &Rubric, a: &Answers, items: &[Item]) {
    let report = validate(a, r);
    let has_error = report
        .issues
        .iter()
        .any(|i| i.severity == IssueSeverity::Error);
    assert_eq!(report.ok, !has_error);
    let ids: BTreeSet<&str> = r.questions.iter().map(|q| q.id.as_str()).collect();
    assert!(report
        .visible_questions
        .iter()
        .all(|q| ids.contains(q.as_str())));
    assert!(report.issues.iter().all(|i| !i.message.is_empty()));
    if let Some(s) = score(a, r) {
        if let Some(v) = s.score {
            assert!((0.0..=1.0).contains(&v), "score {v}");
        }
    }
    let eff = effective_answers(r, a);
    assert!(eff.answers.len() <= a.answers.len());
    // Answers to shown questions are exactly what is kept.
    assert!(eff
        .answers
        .keys()
        .all(|k| report.visible_questions.contains(k)));
    for item in items {
        let s = scope(item, r);
        let declared: BTreeSet<&str> = r.fields.iter().map(|f| f.id.as_str()).collect();
        assert!(s.fields.iter().all(|f| declared.contains(f.id.as_str())));
        for f in &s.fields {
            for reference in [&f.against, &f.results].into_iter().flatten() {
                assert!(declared.contains(reference.as_str()));
            }
        }
    }
    let _ = lint(r, None, items);
}

const FORMATS: [Format; 3] = [Format::Toml, Format::Json, Format::Yaml];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_any_parser(text in ".{0,300}") {
        for f in FORMATS {
            let _ = parse_rubric(&text, f);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_parser(bytes in vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        for f in FORMATS {
            let _ = parse_rubric(&text, f);
        }
    }

    #[test]
    fn locating_in_arbitrary_text_never_panics(text in ".{0,200}", key in "[a-z\"' =:]{0,6}", id in ".{0,4}") {
        for f in FORMATS {
            let map = SourceMap::new(None, text.clone(), f);
            for loc in [
                map.locate_id("questions", &id),
                map.locate_key_in("questions", &id, &key),
                map.locate_key(&key),
            ]
            .into_iter()
            .flatten()
            {
                prop_assert!(loc.line >= 1 && loc.column >= 1);
            }
            let _ = map.location_of_offset(text.len() / 2);
        }
    }

    #[test]
    fn mutated_fixture_text_never_panics(
        which in 0usize..3,
        edits in vec((any::<proptest::sample::Index>(), 0u8..3, any::<char>()), 1..10),
    ) {
        let (name, format) = [("good.toml", Format::Toml), ("good.json", Format::Json), ("good.yaml", Format::Yaml)][which];
        let mut chars: Vec<char> = std::fs::read_to_string(fixture(name)).unwrap().chars().collect();
        for (at, op, c) in edits {
            if chars.is_empty() { break; }
            let i = at.index(chars.len());
            match op {
                0 => chars.insert(i, c),
                1 => { chars.remove(i); }
                _ => chars[i] = c,
            }
        }
        let text: String = chars.into_iter().collect();
        let _ = parse_rubric(&text, format);
        if let Ok(r) = parse_rubric_unchecked(&text, format, Some(name)) {
            let src = SourceMap::new(Some(name.into()), text.clone(), format);
            let findings = lint(&r, Some(&src), &items());
            for f in &findings {
                if let Some(loc) = &f.location {
                    prop_assert!(loc.line >= 1);
                }
            }
            check_everything(&r, &Answers::default(), &items());
        }
    }

    #[test]
    fn arbitrary_answers_never_panic(a in answers()) {
        let items = items();
        for r in rubrics() {
            check_everything(&r, &a, &items);
        }
    }

    #[test]
    fn arbitrary_rubric_parameters_never_panic(
        muts in vec(mutation(), 1..8),
        a in answers(),
    ) {
        let items = items();
        let mut r = rubrics().swap_remove(0);
        for m in muts {
            apply(&mut r, m);
        }
        let _ = structural_findings(&r, None);
        check_everything(&r, &a, &items);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    ScaleRange(usize, i32, i32),
    Weight(usize, f64),
    ShowIf(usize, String, Option<i32>, Option<i32>, Vec<String>),
    Below(usize, i32, Option<u32>),
    Selection(usize, Option<u32>, Option<u32>),
    Threshold(f64),
    Verdict(String),
    Against(usize, String),
    DropField(usize),
    DupQuestion(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<i32>(), any::<i32>())
            .prop_map(|(i, a, b)| Mutation::ScaleRange(i, a, b)),
        (any::<usize>(), any::<f64>()).prop_map(|(i, w)| Mutation::Weight(i, w)),
        (
            any::<usize>(),
            token(),
            proptest::option::of(any::<i32>()),
            proptest::option::of(-3i32..8),
            vec(token(), 0..3)
        )
            .prop_map(|(i, t, lo, hi, any_of)| Mutation::ShowIf(i, t, lo, hi, any_of)),
        (
            any::<usize>(),
            any::<i32>(),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(i, t, m)| Mutation::Below(i, t, m)),
        (
            any::<usize>(),
            proptest::option::of(0u32..6),
            proptest::option::of(0u32..6)
        )
            .prop_map(|(i, a, b)| Mutation::Selection(i, a, b)),
        any::<f64>().prop_map(Mutation::Threshold),
        token().prop_map(Mutation::Verdict),
        (any::<usize>(), token()).prop_map(|(i, t)| Mutation::Against(i, t)),
        any::<usize>().prop_map(Mutation::DropField),
        any::<usize>().prop_map(Mutation::DupQuestion),
    ]
}

fn apply(r: &mut Rubric, m: Mutation) {
    let nq = r.questions.len();
    let nf = r.fields.len();
    match m {
        Mutation::ScaleRange(i, a, b) if nq > 0 => {
            r.questions[i % nq].kind = QuestionKind::Scale {
                min: a,
                max: b,
                anchors: vec![],
            };
        }
        Mutation::Weight(i, w) if nq > 0 => r.questions[i % nq].weight = w,
        Mutation::ShowIf(i, question, min, max, any_of) if nq > 0 => {
            r.questions[i % nq].show_if = Some(Condition {
                question,
                any_of,
                min,
                max,
            });
        }
        Mutation::Below(i, threshold, min_length) if nq > 0 => {
            r.questions[i % nq].rationale = Some(RationaleRule::Below {
                threshold,
                min_length,
            });
        }
        Mutation::Selection(i, lo, hi) if nq > 0 => {
            if let QuestionKind::MultiChoice {
                min_selected,
                max_selected,
                ..
            } = &mut r.questions[i % nq].kind
            {
                *min_selected = lo;
                *max_selected = hi;
            }
        }
        Mutation::Threshold(t) => {
            if let Some(s) = &mut r.scoring {
                s.pass_threshold = Some(t);
            }
        }
        Mutation::Verdict(v) => {
            if let Some(s) = &mut r.scoring {
                s.verdict_question = Some(v);
            }
        }
        Mutation::Against(i, t) if nf > 0 => r.fields[i % nf].against = Some(t),
        Mutation::DropField(i) if nf > 0 => {
            r.fields.remove(i % nf);
        }
        Mutation::DupQuestion(i) if nq > 0 => {
            let q = r.questions[i % nq].clone();
            r.questions.push(q);
        }
        _ => {}
    }
}
