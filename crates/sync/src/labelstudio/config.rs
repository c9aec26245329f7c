//! A Label Studio labeling config (`label_config` XML) read with a real XML
//! parser and turned into an Assay rubric.
//!
//! Label Studio's own `parsed_label_config` lists control tags only and
//! drops `required`, `maxRating`, `min`/`max`, the choice mode and every
//! object tag no control targets, so the XML itself is the source.
//!
//! - Visible fields: object tags whose `value` is `$var` (`Text`, `HyperText`,
//!   `Paragraphs`, `Table`, `Header`, `Image`), in document order; the field
//!   id is the task-data variable. An `Image` is downloaded from the Label
//!   Studio server by the sync engine and shown in the scan viewer; `Audio`,
//!   `Video` and other media are listed as unsupported (no viewer). A task-data key no object tag references is hidden:
//!   the sync engine drops it before anything is stored.
//! - Questions: `Choices` (single or `choice="multiple"`, options from its
//!   `Choice` children, `required`), `Rating` (`maxRating`, default 5),
//!   `TextArea`, `Number` (`min`/`max`), `Pairwise`. Everything else that
//!   asks for an answer (regions, labels, `Ranker`, `Taxonomy`, per-region
//!   controls, dynamic choices) is listed as unsupported on every item of the
//!   project and never asked: Assay cannot upload an answer to it.
//! - Diff convention: a `Text` whose variable is named `diff`, `patch` or
//!   ends in `_diff` / `_patch` (e.g. `value="$code_diff"`) is shown in the
//!   diff viewer; Label Studio itself shows it as plain text.

use std::collections::{BTreeSet, HashMap};

use assay_rubric::{ChoiceOption, Question, QuestionKind, Rubric, ViewerKind, VisibleField};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Object tags whose `$var` value Assay shows as a field. An `Image` is
/// downloaded by the sync engine (see [`super::media`]) and shown in the
/// scan viewer (PNG, JPEG, DICOM).
const SHOWN_OBJECTS: &[&str] = &[
    "Text",
    "HyperText",
    "Paragraphs",
    "Table",
    "Header",
    "Image",
];
/// Object tags Assay has no viewer for, each with what the reviewer is told.
const UNSHOWN_OBJECTS: &[(&str, &str)] = &[
    ("Audio", "Assay has no audio player; listen in Label Studio"),
    (
        "AudioPlus",
        "Assay has no audio player; listen in Label Studio",
    ),
    ("Video", "Assay has no video player; watch in Label Studio"),
    ("TimeSeries", "Assay cannot show time series"),
    ("Pdf", "Assay cannot show a PDF from Label Studio"),
    ("List", "Assay cannot show a Label Studio list"),
    ("Markdown", "Assay cannot show this kind of data"),
];
/// Layout and helper tags that neither show data nor ask anything.
const LAYOUT: &[&str] = &[
    "View", "Header", "Style", "Choice", "Label", "Filter", "Collapse", "Panel", "Shortcut",
    "Relation", "Channel", "Item",
];

/// Longest config accepted (Label Studio configs are a few kB).
pub const MAX_CONFIG_BYTES: usize = 512 << 10;
/// Most tags one config may have.
const MAX_TAGS: usize = 10_000;
/// Largest span of a `Number` shown as a scale of buttons.
const MAX_SCALE_SPAN: i64 = 100;

/// One object tag that shows a task-data variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectTag {
    /// The tag name, e.g. `Text`, `Image`, `HyperText`.
    pub tag: String,
    /// Its `name` attribute (what controls point at with `toName`).
    pub name: String,
    /// The task-data variable it shows (`value="$var"` without the `$`).
    pub var: String,
}

/// What an answer to a supported control looks like.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlKind {
    /// Options are `(result value, label)`: the `alias` when given, else the `value`.
    Choices {
        /// Whether several options may be picked (`choice="multiple"`).
        multiple: bool,
        /// The options as `(result value, label)`.
        options: Vec<(String, String)>,
    },
    /// A star rating from 1 to `max`.
    Rating {
        /// Most stars.
        max: u32,
    },
    /// Free text.
    TextArea,
    /// Shown as a scale when both bounds are small integers.
    NumberScale {
        /// Lowest value.
        min: i32,
        /// Highest value.
        max: i32,
    },
    /// Entered as text; checked to be a number within the bounds before upload.
    NumberText {
        /// Lowest value, if bounded.
        min: Option<f64>,
        /// Highest value, if bounded.
        max: Option<f64>,
    },
    /// A preference between two objects.
    Pairwise {
        /// Name of the left object.
        left: String,
        /// Name of the right object.
        right: String,
    },
}

/// A control tag Assay asks as a question (its `name` is the question id).
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// The control's `name` (the question id).
    pub name: String,
    /// The `toName` attribute as written (sent back in results).
    pub to_name: String,
    /// What kind of answer it takes.
    pub kind: ControlKind,
    /// Whether an answer is needed (never for a conditional control).
    pub required: bool,
    /// The question text (the control's header or name).
    pub prompt: String,
    /// Variables of the objects it points at.
    pub refers_to: Vec<String>,
    /// Whether Label Studio shows it only conditionally (`visibleWhen`).
    pub conditional: bool,
}

/// A parsed labeling config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelConfig {
    /// The object tags, in document order.
    pub objects: Vec<ObjectTag>,
    /// The controls Assay asks, in document order.
    pub controls: Vec<Control>,
    /// One line per tag Assay cannot show or ask, e.g. `RectangleLabels "box"`.
    pub unsupported: Vec<String>,
}

/// Why a config was refused (position in bytes from the start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the labeling config is not usable: {0}")]
pub struct ConfigError(pub String);

/// Controls in document order: (tag, attributes, options, prompt).
type Pending = Vec<(
    String,
    HashMap<String, String>,
    Vec<(String, String)>,
    String,
)>;

struct Open {
    tag: String,
    attrs: HashMap<String, String>,
    choices: Vec<(String, String)>,
}

fn attrs_of(e: &BytesStart<'_>) -> Result<HashMap<String, String>, ConfigError> {
    let mut out = HashMap::new();
    for a in e.attributes() {
        let a = a.map_err(|err| ConfigError(format!("bad attribute: {err}")))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| ConfigError(format!("bad attribute value: {err}")))?
            .into_owned();
        out.insert(key, value);
    }
    Ok(out)
}

fn tag_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The variable of `value="$var"` (only a plain `$name`, not a template).
fn var_of(value: Option<&String>) -> Option<String> {
    let v = value?.strip_prefix('$')?;
    (!v.is_empty()
        && v.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-'))
    .then(|| v.to_string())
}

/// Whether a `Text` variable is shown in the diff viewer (the naming convention).
pub fn is_diff_var(var: &str) -> bool {
    let v = var.to_ascii_lowercase();
    v == "diff" || v == "patch" || v.ends_with("_diff") || v.ends_with("_patch")
}

fn describe(tag: &str, attrs: &HashMap<String, String>) -> String {
    match attrs.get("name") {
        Some(n) => format!("{tag} \"{}\"", clip(n)),
        None => tag.to_string(),
    }
}

/// Shorten a name from the config for a message.
fn clip(s: &str) -> String {
    crate::text::clip(s, 64)
}

impl LabelConfig {
    /// Parse `xml`. Malformed XML or a config without a root `View` is an
    /// error; tags Assay cannot handle are listed, not refused.
    pub fn parse(xml: &str) -> Result<Self, ConfigError> {
        if xml.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError(format!(
                "it is larger than {} kB",
                MAX_CONFIG_BYTES >> 10
            )));
        }
        let mut reader = Reader::from_str(xml);
        reader.config_mut().trim_text(true);
        let mut cfg = LabelConfig::default();
        let mut stack: Vec<Open> = Vec::new();
        // (tag, attrs) of controls in document order, resolved once all objects are known.
        let mut pending: Pending = Vec::new();
        let mut header: Option<String> = None;
        let mut tags = 0usize;
        let mut saw_root = false;
        loop {
            let ev = reader.read_event().map_err(|e| {
                ConfigError(format!(
                    "XML error at byte {}: {e}",
                    reader.error_position()
                ))
            })?;
            let (e, empty) = match ev {
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(_) => {
                    if let Some(open) = stack.pop() {
                        if let Some(parent) = stack.last_mut() {
                            if open.tag == "Choice" {
                                if let Some(v) = open.attrs.get("value") {
                                    let id = open.attrs.get("alias").unwrap_or(v).clone();
                                    parent.choices.push((id, v.clone()));
                                }
                            }
                        }
                        if open.tag != "Choice" {
                            cfg.close(open, &mut pending, &mut header);
                        }
                    }
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            tags += 1;
            if tags > MAX_TAGS {
                return Err(ConfigError(format!("it has more than {MAX_TAGS} tags")));
            }
            let tag = tag_name(&e);
            if stack.is_empty() {
                if saw_root {
                    return Err(ConfigError("it has more than one root tag".into()));
                }
                if tag != "View" {
                    return Err(ConfigError(format!(
                        "its root tag is <{}>, not <View>",
                        clip(&tag)
                    )));
                }
                saw_root = true;
            }
            let attrs = attrs_of(&e)?;
            let open = Open {
                tag,
                attrs,
                choices: Vec::new(),
            };
            if empty {
                if open.tag == "Choice" {
                    if let (Some(parent), Some(v)) = (stack.last_mut(), open.attrs.get("value")) {
                        let id = open.attrs.get("alias").unwrap_or(v).clone();
                        parent.choices.push((id, v.clone()));
                    }
                } else {
                    cfg.close(open, &mut pending, &mut header);
                }
            } else {
                stack.push(open);
            }
        }
        if !saw_root {
            return Err(ConfigError("it has no <View> root tag".into()));
        }
        if !stack.is_empty() {
            return Err(ConfigError("it ends inside an open tag".into()));
        }
        for (tag, attrs, choices, prompt) in pending {
            cfg.add_control(&tag, &attrs, choices, prompt);
        }
        Ok(cfg)
    }

    /// A tag is complete (its children seen): classify it. Controls are kept
    /// for later because `toName` may name an object further down.
    fn close(&mut self, open: Open, pending: &mut Pending, header: &mut Option<String>) {
        let Open {
            tag,
            attrs,
            choices,
        } = open;
        let var = var_of(attrs.get("value"));
        if tag == "Header" && var.is_none() {
            *header = attrs.get("value").cloned();
            return;
        }
        if SHOWN_OBJECTS.contains(&tag.as_str()) {
            match (var, attrs.get("name")) {
                (Some(var), Some(name)) => self.objects.push(ObjectTag {
                    tag,
                    name: name.clone(),
                    var,
                }),
                (Some(var), None) if tag == "Header" => self.objects.push(ObjectTag {
                    tag,
                    name: var.clone(),
                    var,
                }),
                _ => {}
            }
            return;
        }
        if let Some((_, why)) = UNSHOWN_OBJECTS.iter().find(|(t, _)| *t == tag) {
            self.unsupported
                .push(format!("{} ({why})", describe(&tag, &attrs)));
            return;
        }
        if LAYOUT.contains(&tag.as_str()) {
            return;
        }
        let prompt = header
            .take()
            .or_else(|| attrs.get("name").cloned())
            .unwrap_or_else(|| tag.clone());
        pending.push((tag, attrs, choices, prompt));
    }

    fn add_control(
        &mut self,
        tag: &str,
        attrs: &HashMap<String, String>,
        options: Vec<(String, String)>,
        prompt: String,
    ) {
        let unsupported = |cfg: &mut Self, why: &str| {
            cfg.unsupported
                .push(format!("{} ({why})", describe(tag, attrs)));
        };
        let Some(name) = attrs.get("name").cloned() else {
            return unsupported(self, "it has no name");
        };
        let to_name = attrs.get("toName").cloned().unwrap_or_default();
        let mut refers_to = Vec::new();
        for t in to_name.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            match self.objects.iter().find(|o| o.name == t) {
                Some(o) => refers_to.push(o.var.clone()),
                None => {
                    return unsupported(
                        self,
                        "it points at data Assay cannot show (toName names no shown object)",
                    )
                }
            }
        }
        if refers_to.is_empty() {
            return unsupported(self, "it has no toName");
        }
        if truthy(attrs.get("perRegion")) || truthy(attrs.get("perItem")) {
            return unsupported(self, "it is answered per region or item");
        }
        if self.controls.iter().any(|c| c.name == name) {
            return unsupported(self, "another control has the same name");
        }
        let kind = match tag {
            "Choices" => {
                if attrs.contains_key("value") {
                    return unsupported(self, "its options come from the task data");
                }
                let mut seen = BTreeSet::new();
                if options.is_empty() || !options.iter().all(|(id, _)| seen.insert(id.clone())) {
                    return unsupported(self, "it has no options or repeats one");
                }
                let multiple = attrs.get("choice").is_some_and(|c| c == "multiple");
                ControlKind::Choices { multiple, options }
            }
            "Rating" => {
                let max = match attrs.get("maxRating") {
                    None => 5,
                    Some(m) => match m.trim().parse::<u32>() {
                        Ok(m) if (1..=100).contains(&m) => m,
                        _ => {
                            return unsupported(self, "its maxRating is not a number from 1 to 100")
                        }
                    },
                };
                ControlKind::Rating { max }
            }
            "TextArea" => ControlKind::TextArea,
            "Number" => {
                let bound = |k: &str| -> Result<Option<f64>, ()> {
                    match attrs.get(k) {
                        None => Ok(None),
                        Some(v) => v
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite())
                            .map(Some)
                            .ok_or(()),
                    }
                };
                let (Ok(min), Ok(max)) = (bound("min"), bound("max")) else {
                    return unsupported(self, "its min or max is not a number");
                };
                let step_is_one = attrs.get("step").is_none_or(|s| s.trim() == "1");
                let as_int = |f: f64| (f.fract() == 0.0 && f.abs() < 1e9).then_some(f as i64);
                match (min.and_then(as_int), max.and_then(as_int)) {
                    (Some(lo), Some(hi))
                        if step_is_one && lo <= hi && hi - lo <= MAX_SCALE_SPAN =>
                    {
                        match (i32::try_from(lo), i32::try_from(hi)) {
                            (Ok(min), Ok(max)) => ControlKind::NumberScale { min, max },
                            _ => ControlKind::NumberText { min, max },
                        }
                    }
                    _ => {
                        if let (Some(lo), Some(hi)) = (min, max) {
                            if lo > hi {
                                return unsupported(self, "its min is above its max");
                            }
                        }
                        ControlKind::NumberText { min, max }
                    }
                }
            }
            "Pairwise" => {
                let [left, right] = refers_to.as_slice() else {
                    return unsupported(self, "it does not compare exactly two objects");
                };
                ControlKind::Pairwise {
                    left: left.clone(),
                    right: right.clone(),
                }
            }
            // Label Studio ranks the entries of one `List` value (its own
            // result format of buckets); Assay's ranking orders whole fields,
            // so an answer could not be uploaded as Label Studio reads it.
            "Ranker" => {
                return unsupported(
                    self,
                    "Assay cannot upload a Label Studio ranking; rank in Label Studio",
                )
            }
            _ => return unsupported(self, "Assay cannot ask or upload this kind of answer"),
        };
        let conditional = attrs.contains_key("visibleWhen") || attrs.contains_key("whenTagName");
        self.controls.push(Control {
            name,
            to_name,
            kind,
            // A question Label Studio shows only conditionally is never forced.
            required: truthy(attrs.get("required")) && !conditional,
            prompt,
            refers_to,
            conditional,
        });
    }

    /// The rubric Assay grades a project's tasks with.
    pub fn to_rubric(&self, id: &str, version: u32, title: &str, instructions: &str) -> Rubric {
        let mut seen = BTreeSet::new();
        let fields = self
            .objects
            .iter()
            .filter(|o| seen.insert(o.var.clone()))
            .map(|o| VisibleField {
                id: o.var.clone(),
                label: if o.tag == "Header" {
                    o.var.clone()
                } else {
                    o.name.clone()
                },
                viewer: match o.tag.as_str() {
                    "Text" if is_diff_var(&o.var) => ViewerKind::Diff,
                    "HyperText" => ViewerKind::Markdown,
                    "Image" => ViewerKind::Scan,
                    _ => ViewerKind::Text,
                },
                against: None,
                language: None,
                diff_mode: None,
                results: None,
                help: None,
            })
            .collect();
        let questions = self
            .controls
            .iter()
            .map(|c| {
                let (kind, help) = match &c.kind {
                    ControlKind::Choices { multiple, options } => {
                        let options = options
                            .iter()
                            .map(|(id, label)| ChoiceOption {
                                id: id.clone(),
                                label: label.clone(),
                            })
                            .collect();
                        if *multiple {
                            (
                                QuestionKind::MultiChoice {
                                    options,
                                    min_selected: c.required.then_some(1),
                                    max_selected: None,
                                },
                                None,
                            )
                        } else {
                            (QuestionKind::SingleChoice { options }, None)
                        }
                    }
                    ControlKind::Rating { max } => (
                        QuestionKind::Scale {
                            min: 1,
                            max: i32::try_from(*max).unwrap_or(i32::MAX),
                            anchors: Vec::new(),
                        },
                        None,
                    ),
                    ControlKind::NumberScale { min, max } => (
                        QuestionKind::Scale {
                            min: *min,
                            max: *max,
                            anchors: Vec::new(),
                        },
                        None,
                    ),
                    ControlKind::TextArea => (
                        QuestionKind::FreeText {
                            min_length: None,
                            max_length: None,
                            placeholder: None,
                        },
                        None,
                    ),
                    ControlKind::NumberText { min, max } => (
                        QuestionKind::FreeText {
                            min_length: None,
                            max_length: Some(40),
                            placeholder: Some("a number".into()),
                        },
                        Some(match (min, max) {
                            (Some(lo), Some(hi)) => format!("A number from {lo} to {hi}."),
                            (Some(lo), None) => format!("A number of at least {lo}."),
                            (None, Some(hi)) => format!("A number of at most {hi}."),
                            (None, None) => "A number.".to_string(),
                        }),
                    ),
                    ControlKind::Pairwise { left, right } => (
                        QuestionKind::Pairwise {
                            a: left.clone(),
                            b: right.clone(),
                            allow_tie: false,
                            strengths: Vec::new(),
                        },
                        None,
                    ),
                };
                let help = match (help, c.conditional) {
                    (h, false) => h,
                    (h, true) => Some(format!(
                        "{}Label Studio shows this question only under a condition; answer it when it applies.",
                        h.map(|h| format!("{h} ")).unwrap_or_default()
                    )),
                };
                Question {
                    id: c.name.clone(),
                    prompt: c.prompt.clone(),
                    kind,
                    required: c.required,
                    weight: 1.0,
                    help,
                    examples: Vec::new(),
                    rationale: None,
                    show_if: None,
                    refers_to: c.refers_to.clone(),
                }
            })
            .collect();
        let mut guidelines = String::new();
        if !self.unsupported.is_empty() {
            guidelines.push_str(
                "**Not asked in Assay.** This Label Studio project also uses tags Assay cannot \
                 show or upload; answer them in Label Studio if they matter:\n\n",
            );
            for u in &self.unsupported {
                guidelines.push_str(&format!("- {u}\n"));
            }
            guidelines.push('\n');
        }
        guidelines.push_str(instructions);
        Rubric {
            format: assay_rubric::RUBRIC_FORMAT_VERSION,
            id: id.to_string(),
            version,
            title: title.to_string(),
            guidelines,
            audience: None,
            taxonomy: vec!["label-studio".into()],
            deliverable: None,
            estimated_minutes: None,
            exclusions: Vec::new(),
            payout: None,
            fields,
            questions,
            scoring: None,
        }
    }

    /// The control named `name`, if any.
    pub fn control(&self, name: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.name == name)
    }

    /// The object tag of a variable (first in document order).
    pub fn object_of(&self, var: &str) -> Option<&ObjectTag> {
        self.objects.iter().find(|o| o.var == var)
    }
}

/// A rubric version derived from the config text: it changes exactly when
/// the config does (`1..=i32::MAX`).
pub fn config_version(xml: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(xml.as_bytes());
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) & 0x7fff_ffff;
    n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const REVIEW: &str = r#"<View>
  <Header value="Review the model's answer"/>
  <Text name="prompt" value="$prompt"/>
  <Text name="answer" value="$answer"/>
  <Text name="change" value="$code_diff"/>
  <Header value="Is the answer correct?"/>
  <Choices name="verdict" toName="answer" choice="single" required="true">
    <Choice value="Correct"/>
    <Choice value="Partly correct" alias="partial"/>
    <Choice value="Wrong"/>
  </Choices>
  <Choices name="issues" toName="answer" choice="multiple">
    <Choice value="Hallucination"/><Choice value="Unsafe"/>
  </Choices>
  <Rating name="quality" toName="answer" maxRating="10" required="true"/>
  <TextArea name="notes" toName="answer" rows="3"/>
  <Number name="confidence" toName="answer" min="1" max="5"/>
  <Number name="minutes" toName="answer" min="0" max="10000"/>
  <Labels name="spans" toName="answer"><Label value="Claim"/></Labels>
  <Image name="shot" value="$image"/>
  <Choices name="blurry" toName="shot"><Choice value="Sharp"/><Choice value="Blurry"/></Choices>
  <Audio name="call" value="$audio"/>
  <List name="results" value="$items"/>
  <Ranker name="rank" toName="results"/>
  <Choices name="lonely" toName="nowhere"><Choice value="x"/></Choices>
</View>"#;

    #[test]
    fn fields_questions_and_unsupported_tags_come_from_the_xml() {
        let c = LabelConfig::parse(REVIEW).unwrap();
        let vars: Vec<_> = c.objects.iter().map(|o| o.var.as_str()).collect();
        assert_eq!(vars, ["prompt", "answer", "code_diff", "image"]);
        let verdict = c.control("verdict").unwrap();
        assert!(verdict.required);
        assert_eq!(verdict.prompt, "Is the answer correct?");
        assert_eq!(
            verdict.kind,
            ControlKind::Choices {
                multiple: false,
                options: vec![
                    ("Correct".into(), "Correct".into()),
                    ("partial".into(), "Partly correct".into()),
                    ("Wrong".into(), "Wrong".into()),
                ]
            }
        );
        assert!(matches!(
            c.control("issues").unwrap().kind,
            ControlKind::Choices { multiple: true, .. }
        ));
        assert!(!c.control("issues").unwrap().required);
        assert_eq!(
            c.control("quality").unwrap().kind,
            ControlKind::Rating { max: 10 }
        );
        assert_eq!(
            c.control("confidence").unwrap().kind,
            ControlKind::NumberScale { min: 1, max: 5 }
        );
        assert!(matches!(
            c.control("minutes").unwrap().kind,
            ControlKind::NumberText { .. }
        ));
        assert_eq!(c.unsupported.len(), 5, "{:?}", c.unsupported);
        let refused = |is: &dyn Fn(&str) -> bool| c.unsupported.iter().any(|u| is(u));
        assert!(refused(&|u| u.starts_with("Labels \"spans\"")));
        assert!(refused(&|u| {
            u == "Audio \"call\" (Assay has no audio player; listen in Label Studio)"
        }));
        assert!(refused(&|u| u.starts_with("List \"results\"")));
        // The Ranker's List is not shown, so it is refused for that reason first.
        assert!(refused(
            &|u| u.starts_with("Ranker \"rank\"") && u.contains("cannot show")
        ));
        // A question about the image is asked.
        assert_eq!(c.control("blurry").unwrap().refers_to, ["image"]);
        assert!(refused(&|u| u.starts_with("Choices \"lonely\"")));
        assert!(c.control("spans").is_none() && c.control("lonely").is_none());

        let r = c.to_rubric("ls-project-1", 7, "Review", "Be kind.");
        let errors: Vec<_> = assay_rubric::structural_findings(&r, None)
            .into_iter()
            .filter(|f| f.severity == assay_rubric::LintSeverity::Error)
            .collect();
        assert!(errors.is_empty(), "lint errors: {errors:?}");
        assert_eq!(r.fields[2].viewer, ViewerKind::Diff);
        assert_eq!(r.fields[0].viewer, ViewerKind::Text);
        assert_eq!(r.fields[3].viewer, ViewerKind::Scan);
        assert_eq!(r.questions.len(), 7);
        assert!(r.guidelines.contains("Labels \"spans\""));
        assert!(r.guidelines.ends_with("Be kind."));
        let q = r.questions.iter().find(|q| q.id == "quality").unwrap();
        assert_eq!(
            q.kind,
            QuestionKind::Scale {
                min: 1,
                max: 10,
                anchors: vec![]
            }
        );
    }

    #[test]
    fn bad_configs_are_refused_with_the_reason() {
        for (xml, why) in [
            ("<View><Text name='a' value='$a'>", "ends inside"),
            ("<View><Text name='a' value='$a'/></Vie>", "XML error"),
            ("<Foo/>", "not <View>"),
            ("", "no <View>"),
            ("<View/><View/>", "more than one root"),
        ] {
            let e = LabelConfig::parse(xml).unwrap_err();
            assert!(e.to_string().contains(why), "{xml}: {e}");
        }
        let big = format!("<View>{}</View>", " ".repeat(MAX_CONFIG_BYTES));
        assert!(LabelConfig::parse(&big).is_err());
    }

    #[test]
    fn pairwise_conditional_and_diff_names() {
        let c = LabelConfig::parse(
            r#"<View><Text name="a" value="$left"/><Text name="b" value="$right"/>
            <Pairwise name="pick" toName="a,b"/>
            <Choices name="why" toName="a" required="true" visibleWhen="choice-selected"><Choice value="x"/></Choices>
            <Rating name="bad" toName="a" maxRating="zero"/></View>"#,
        )
        .unwrap();
        assert_eq!(
            c.control("pick").unwrap().kind,
            ControlKind::Pairwise {
                left: "left".into(),
                right: "right".into()
            }
        );
        assert!(
            !c.control("why").unwrap().required,
            "conditional questions are never forced"
        );
        assert!(c.unsupported[0].contains("maxRating"));
        // A Ranker over shown objects is still refused, saying why.
        let r = LabelConfig::parse(
            r#"<View><Text name="a" value="$a"/><Ranker name="order" toName="a"/></View>"#,
        )
        .unwrap();
        assert!(r.controls.is_empty());
        assert_eq!(
            r.unsupported,
            ["Ranker \"order\" (Assay cannot upload a Label Studio ranking; rank in Label Studio)"]
        );
        assert!(is_diff_var("diff") && is_diff_var("code_diff") && is_diff_var("Fix_Patch"));
        assert!(!is_diff_var("different") && !is_diff_var("text"));
        assert_ne!(config_version("<View/>"), config_version("<View> </View>"));
        assert!(config_version("x") >= 1);
    }
}
