//! Answers ⇄ Label Studio annotation results.
//!
//! Label Studio accepts almost any result (wrong types, ratings out of range,
//! unknown names, missing required choices all get 201) and a stored bad
//! result later makes the project's config uneditable, so every answer is
//! checked against the config here, before anything is sent.

use assay_rubric::{validate, Answer, Answers, Preference, Rubric};
use serde_json::{json, Value};

use super::config::{ControlKind, LabelConfig};

/// Why answers cannot be uploaded (shown on the item; the draft is kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

/// The `result` list of an annotation for `answers`, after checking them
/// against the rubric made from `config` and against the config itself.
pub fn to_results(
    config: &LabelConfig,
    rubric: &Rubric,
    answers: &Answers,
) -> Result<Vec<Value>, AnswerError> {
    let report = validate(answers, rubric);
    if let Some(first) = report.errors().next() {
        return Err(AnswerError(format!(
            "the answers do not fit the project's labeling config: {}: {}",
            first.question_id, first.message
        )));
    }
    if answers.rationales.values().any(|r| !r.trim().is_empty()) {
        return Err(AnswerError(
            "Label Studio has no place for rationales; move the text into a text question".into(),
        ));
    }
    let mut out = Vec::new();
    for (name, answer) in &answers.answers {
        let Some(control) = config.control(name) else {
            return Err(AnswerError(format!(
                "question {name} is not in the project's labeling config"
            )));
        };
        let bad = |why: &str| AnswerError(format!("question {name}: {why}"));
        let (kind, value) = match (&control.kind, answer) {
            (
                ControlKind::Choices {
                    multiple: false,
                    options,
                },
                Answer::SingleChoice { choice },
            ) => {
                if !options.iter().any(|(id, _)| id == choice) {
                    return Err(bad("the choice is not one of the config's options"));
                }
                ("choices", json!({ "choices": [choice] }))
            }
            (
                ControlKind::Choices {
                    multiple: true,
                    options,
                },
                Answer::MultiChoice { choices },
            ) => {
                if choices.is_empty() {
                    continue;
                }
                if !choices
                    .iter()
                    .all(|c| options.iter().any(|(id, _)| id == c))
                {
                    return Err(bad("a choice is not one of the config's options"));
                }
                ("choices", json!({ "choices": choices }))
            }
            (ControlKind::Rating { max }, Answer::Scale { value }) => {
                let ok = u32::try_from(*value).is_ok_and(|v| (1..=*max).contains(&v));
                if !ok {
                    return Err(bad(&format!("the rating must be from 1 to {max}")));
                }
                ("rating", json!({ "rating": value }))
            }
            (ControlKind::NumberScale { min, max }, Answer::Scale { value }) => {
                if !(*min..=*max).contains(value) {
                    return Err(bad(&format!("the number must be from {min} to {max}")));
                }
                ("number", json!({ "number": value }))
            }
            (ControlKind::NumberText { min, max }, Answer::FreeText { text }) => {
                let t = text.trim();
                if t.is_empty() {
                    continue;
                }
                let n = t
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| bad("the answer is not a number"))?;
                if min.is_some_and(|lo| n < lo) || max.is_some_and(|hi| n > hi) {
                    return Err(bad("the number is outside the config's min and max"));
                }
                let v = if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    json!(n as i64)
                } else {
                    json!(n)
                };
                ("number", json!({ "number": v }))
            }
            (ControlKind::TextArea, Answer::FreeText { text }) => {
                if text.trim().is_empty() {
                    continue;
                }
                ("textarea", json!({ "text": [text] }))
            }
            (ControlKind::Pairwise { .. }, Answer::Pairwise { preference, .. }) => {
                let selected = match preference {
                    Preference::A => "left",
                    Preference::B => "right",
                    Preference::Tie => return Err(bad("Label Studio's pairwise has no tie")),
                };
                ("pairwise", json!({ "selected": selected }))
            }
            _ => return Err(bad("the answer has the wrong type for this control")),
        };
        let to_name = if kind == "pairwise" {
            control.name.clone()
        } else {
            control.to_name.clone()
        };
        out.push(json!({
            "from_name": control.name,
            "to_name": to_name,
            "type": kind,
            "value": value,
        }));
    }
    Ok(out)
}

/// Answers read back from an annotation's `result` list: the results Assay
/// can represent, by control name (others are skipped).
pub fn from_results(config: &LabelConfig, results: &[Value]) -> Answers {
    let mut answers = Answers::default();
    for r in results {
        let (Some(name), Some(value)) =
            (r.get("from_name").and_then(Value::as_str), r.get("value"))
        else {
            continue;
        };
        let Some(control) = config.control(name) else {
            continue;
        };
        let answer = match &control.kind {
            ControlKind::Choices { multiple, .. } => {
                let picked: Vec<String> = value
                    .get("choices")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                if *multiple {
                    Some(Answer::MultiChoice { choices: picked })
                } else {
                    picked
                        .into_iter()
                        .next()
                        .map(|choice| Answer::SingleChoice { choice })
                }
            }
            ControlKind::Rating { .. } => value
                .get("rating")
                .and_then(Value::as_i64)
                .and_then(|v| i32::try_from(v).ok())
                .map(|value| Answer::Scale { value }),
            ControlKind::NumberScale { .. } => value
                .get("number")
                .and_then(Value::as_i64)
                .and_then(|v| i32::try_from(v).ok())
                .map(|value| Answer::Scale { value }),
            ControlKind::NumberText { .. } => value.get("number").and_then(|n| {
                n.is_number().then(|| Answer::FreeText {
                    text: n.to_string(),
                })
            }),
            ControlKind::TextArea => {
                let lines: Vec<&str> = value
                    .get("text")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                (!lines.is_empty()).then(|| Answer::FreeText {
                    text: lines.join("\n"),
                })
            }
            ControlKind::Pairwise { .. } => match value.get("selected").and_then(Value::as_str) {
                Some("left") => Some(Answer::Pairwise {
                    preference: Preference::A,
                    strength: None,
                }),
                Some("right") => Some(Answer::Pairwise {
                    preference: Preference::B,
                    strength: None,
                }),
                _ => None,
            },
        };
        if let Some(a) = answer {
            answers.answers.insert(name.to_string(), a);
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::super::config::LabelConfig;
    use super::*;

    const CFG: &str = r#"<View>
  <Text name="answer" value="$answer"/><Text name="other" value="$other"/>
  <Choices name="verdict" toName="answer" required="true">
    <Choice value="Correct"/><Choice value="Partly" alias="partial"/><Choice value="Wrong"/>
  </Choices>
  <Choices name="issues" toName="answer" choice="multiple"><Choice value="A"/><Choice value="B"/></Choices>
  <Rating name="quality" toName="answer" maxRating="10"/>
  <TextArea name="notes" toName="answer"/>
  <Number name="confidence" toName="answer" min="1" max="5"/>
  <Number name="cost" toName="answer" min="0"/>
  <Pairwise name="pick" toName="answer,other"/>
</View>"#;

    fn setup() -> (LabelConfig, Rubric) {
        let c = LabelConfig::parse(CFG).unwrap();
        let r = c.to_rubric("ls-project-1", 1, "T", "");
        (c, r)
    }

    fn answers(v: Value) -> Answers {
        serde_json::from_value(json!({ "answers": v })).unwrap()
    }

    #[test]
    fn every_kind_maps_to_label_studio_results_and_back() {
        let (c, r) = setup();
        let a = answers(json!({
            "verdict": {"type": "single_choice", "choice": "partial"},
            "issues": {"type": "multi_choice", "choices": ["A", "B"]},
            "quality": {"type": "scale", "value": 7},
            "notes": {"type": "free_text", "text": "line one\nline two"},
            "confidence": {"type": "scale", "value": 4},
            "cost": {"type": "free_text", "text": " 12.5 "},
            "pick": {"type": "pairwise", "preference": "b"}
        }));
        let res = to_results(&c, &r, &a).unwrap();
        let by = |n: &str| res.iter().find(|x| x["from_name"] == n).unwrap().clone();
        assert_eq!(by("verdict")["value"], json!({"choices": ["partial"]}));
        assert_eq!(by("verdict")["to_name"], "answer");
        assert_eq!(by("verdict")["type"], "choices");
        assert_eq!(by("issues")["value"], json!({"choices": ["A", "B"]}));
        assert_eq!(by("quality")["value"], json!({"rating": 7}));
        assert_eq!(by("quality")["type"], "rating");
        assert_eq!(
            by("notes")["value"],
            json!({"text": ["line one\nline two"]})
        );
        assert_eq!(by("confidence")["value"], json!({"number": 4}));
        assert_eq!(by("cost")["value"], json!({"number": 12.5}));
        assert_eq!(by("pick")["value"], json!({"selected": "right"}));
        let back = from_results(&c, &res);
        assert_eq!(back.answers["verdict"], a.answers["verdict"]);
        assert_eq!(back.answers["quality"], a.answers["quality"]);
        assert_eq!(back.answers["notes"], a.answers["notes"]);
        assert_eq!(back.answers["pick"], a.answers["pick"]);
        assert_eq!(back.answers["issues"], a.answers["issues"]);
    }

    #[test]
    fn answers_the_config_refuses_never_reach_the_server() {
        let (c, r) = setup();
        for (bad, why) in [
            (json!({}), "verdict"),
            (
                json!({"verdict": {"type": "single_choice", "choice": "Maybe"}}),
                "verdict",
            ),
            (
                json!({"verdict": {"type": "single_choice", "choice": "Correct"},
                       "quality": {"type": "scale", "value": 11}}),
                "quality",
            ),
            (
                json!({"verdict": {"type": "single_choice", "choice": "Correct"},
                       "cost": {"type": "free_text", "text": "lots"}}),
                "not a number",
            ),
            (
                json!({"verdict": {"type": "single_choice", "choice": "Correct"},
                       "cost": {"type": "free_text", "text": "-3"}}),
                "outside",
            ),
            (
                json!({"verdict": {"type": "single_choice", "choice": "Correct"},
                       "ghost": {"type": "free_text", "text": "x"}}),
                "ghost",
            ),
            (json!({"verdict": {"type": "scale", "value": 1}}), "verdict"),
        ] {
            let e = to_results(&c, &r, &answers(bad.clone())).unwrap_err();
            assert!(e.0.contains(why), "{bad}: {e}");
        }
    }
}
