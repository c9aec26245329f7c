//! Safe markdown and chat transcripts.
//!
//! Markdown becomes a tree of [`Block`]s and [`Inline`]s the UI draws with
//! ordinary elements and text nodes: raw HTML comes out as literal text,
//! links are shown as text with their URL (never followed automatically),
//! images are never loaded (their alt text and URL are shown instead), code
//! blocks are highlighted into token-class runs.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::error::RenderError;
use crate::highlight::{highlight_code, StyledRun};

/// Deeper block nesting (quotes, lists) is flattened into the level above.
const MAX_DEPTH: usize = 24;
/// Largest markdown text accepted.
pub const MAX_MARKDOWN_BYTES: usize = 8 * 1024 * 1024;

/// Inline content of a Markdown block, as data (never HTML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Inline {
    /// Plain text with its emphasis.
    Text {
        /// The text, shown literally.
        text: String,
        /// Inside `**strong**`.
        strong: bool,
        /// Inside `*emphasis*`.
        emphasis: bool,
        /// Inside `~~strikethrough~~`.
        strike: bool,
    },
    /// Inline code span.
    Code {
        /// The code, shown literally.
        text: String,
    },
    /// A link, shown as text with its destination; never navigated to.
    Link {
        /// The link's text.
        text: String,
        /// The destination as written (shown, never opened).
        url: String,
    },
    /// An image, never loaded: the UI shows the alt text and the URL.
    Image {
        /// The image's alt text.
        alt: String,
        /// The image's source as written (shown, never fetched).
        url: String,
    },
    /// A hard or soft line break.
    Break,
}

/// One item of a Markdown list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ListItem {
    /// Task list marker (`- [x]`), if any.
    pub checked: Option<bool>,
    /// The item's content blocks.
    pub blocks: Vec<Block>,
}

/// A Markdown block, as data the UI renders with its own elements (never HTML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// ATX or setext heading.
    Heading {
        /// 1 to 6.
        level: u8,
        /// The heading's text.
        inlines: Vec<Inline>,
    },
    /// Paragraph of inline content.
    Paragraph {
        /// The paragraph's text.
        inlines: Vec<Inline>,
    },
    /// Fenced or indented code block, syntax-highlighted.
    Code {
        /// Language from the fence's info string, if any.
        language: Option<String>,
        /// Highlighted runs, one list per line.
        lines: Vec<Vec<StyledRun>>,
    },
    /// Block quote.
    Quote {
        /// The quoted blocks.
        blocks: Vec<Block>,
    },
    /// Ordered or bullet list.
    List {
        /// Numbered (`1.`) rather than bulleted.
        ordered: bool,
        /// First number of an ordered list; `None` for bullet lists.
        start: Option<u32>,
        /// The list's items.
        items: Vec<ListItem>,
    },
    /// GFM table.
    Table {
        /// Header cells, each a list of inlines.
        header: Vec<Vec<Inline>>,
        /// Body rows of cells, each cell a list of inlines.
        rows: Vec<Vec<Vec<Inline>>>,
    },
    /// Thematic break (`---`).
    Rule,
    /// Raw HTML from the source, shown literally as text.
    Html {
        /// The HTML source.
        text: String,
    },
}

enum Frame {
    Root(Vec<Block>),
    Quote(Vec<Block>),
    Footnote(Vec<Block>),
    List {
        ordered: bool,
        start: Option<u32>,
        items: Vec<ListItem>,
    },
    Item {
        checked: Option<bool>,
        blocks: Vec<Block>,
        pending: Vec<Inline>,
    },
    Para(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    Code(Option<String>, String),
    Html(String),
    Table {
        header: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
        in_head: bool,
    },
    Row(Vec<Vec<Inline>>),
    Cell(Vec<Inline>),
    /// Nesting beyond [`MAX_DEPTH`] or a tag we render through its content.
    Transparent,
}

#[derive(Default)]
struct Style {
    strong: u32,
    emphasis: u32,
    strike: u32,
}

struct Builder {
    stack: Vec<Frame>,
    style: Style,
    link: Option<(String, String)>,
    image: Option<(String, String)>,
    depth: usize,
}

fn flush_pending(blocks: &mut Vec<Block>, pending: &mut Vec<Inline>) {
    if !pending.is_empty() {
        blocks.push(Block::Paragraph {
            inlines: std::mem::take(pending),
        });
    }
}

impl Builder {
    fn new() -> Self {
        Builder {
            stack: vec![Frame::Root(Vec::new())],
            style: Style::default(),
            link: None,
            image: None,
            depth: 0,
        }
    }

    fn push_block(&mut self, block: Block) {
        for frame in self.stack.iter_mut().rev() {
            match frame {
                Frame::Root(b) | Frame::Quote(b) | Frame::Footnote(b) => {
                    b.push(block);
                    return;
                }
                Frame::Item {
                    blocks, pending, ..
                } => {
                    flush_pending(blocks, pending);
                    blocks.push(block);
                    return;
                }
                _ => {}
            }
        }
    }

    fn push_inline(&mut self, inline: Inline) {
        if let Some((_, text)) = self.image.as_mut().or(self.link.as_mut()) {
            match &inline {
                Inline::Text { text: t, .. } | Inline::Code { text: t } => text.push_str(t),
                Inline::Break => text.push(' '),
                Inline::Link { text: t, .. } => text.push_str(t),
                Inline::Image { alt, .. } => text.push_str(alt),
            }
            return;
        }
        for frame in self.stack.iter_mut().rev() {
            match frame {
                Frame::Para(v) | Frame::Heading(_, v) | Frame::Cell(v) => {
                    push_merged(v, inline);
                    return;
                }
                Frame::Item { pending, .. } => {
                    push_merged(pending, inline);
                    return;
                }
                Frame::Code(_, text) | Frame::Html(text) => {
                    if let Inline::Text { text: t, .. } = &inline {
                        text.push_str(t);
                    }
                    return;
                }
                Frame::Root(_) | Frame::Quote(_) | Frame::Footnote(_) => break,
                _ => {}
            }
        }
        self.push_block(Block::Paragraph {
            inlines: vec![inline],
        });
    }

    fn text(&self, text: String) -> Inline {
        Inline::Text {
            text,
            strong: self.style.strong > 0,
            emphasis: self.style.emphasis > 0,
            strike: self.style.strike > 0,
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let nested = matches!(tag, Tag::BlockQuote(_) | Tag::List(_) | Tag::Item);
        if nested {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                self.stack.push(Frame::Transparent);
                return;
            }
        }
        let frame = match tag {
            Tag::Paragraph => Frame::Para(Vec::new()),
            Tag::Heading { level, .. } => Frame::Heading(level as u8, Vec::new()),
            Tag::BlockQuote(_) => Frame::Quote(Vec::new()),
            Tag::CodeBlock(kind) => Frame::Code(
                match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .map(str::to_string)
                        .filter(|s| !s.is_empty()),
                    CodeBlockKind::Indented => None,
                },
                String::new(),
            ),
            Tag::HtmlBlock => Frame::Html(String::new()),
            Tag::List(start) => Frame::List {
                ordered: start.is_some(),
                start: start.map(|s| s.min(u64::from(u32::MAX)) as u32),
                items: Vec::new(),
            },
            Tag::Item => Frame::Item {
                checked: None,
                blocks: Vec::new(),
                pending: Vec::new(),
            },
            Tag::FootnoteDefinition(label) => {
                self.push_block(Block::Paragraph {
                    inlines: vec![self.text(format!("[^{label}]:"))],
                });
                Frame::Footnote(Vec::new())
            }
            Tag::Table(_) => Frame::Table {
                header: Vec::new(),
                rows: Vec::new(),
                in_head: false,
            },
            Tag::TableHead => {
                if let Some(Frame::Table { in_head, .. }) = self.stack.last_mut() {
                    *in_head = true;
                }
                Frame::Row(Vec::new())
            }
            Tag::TableRow => Frame::Row(Vec::new()),
            Tag::TableCell => Frame::Cell(Vec::new()),
            Tag::Emphasis => {
                self.style.emphasis += 1;
                Frame::Transparent
            }
            Tag::Strong => {
                self.style.strong += 1;
                Frame::Transparent
            }
            Tag::Strikethrough => {
                self.style.strike += 1;
                Frame::Transparent
            }
            Tag::Link { dest_url, .. } => {
                if self.link.is_none() && self.image.is_none() {
                    self.link = Some((dest_url.to_string(), String::new()));
                }
                Frame::Transparent
            }
            Tag::Image { dest_url, .. } => {
                if self.image.is_none() {
                    self.image = Some((dest_url.to_string(), String::new()));
                }
                Frame::Transparent
            }
            Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => Frame::Para(Vec::new()),
        };
        self.stack.push(frame);
    }

    fn end(&mut self, tag: TagEnd) {
        if matches!(tag, TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item) {
            self.depth = self.depth.saturating_sub(1);
        }
        match tag {
            TagEnd::Emphasis => self.style.emphasis = self.style.emphasis.saturating_sub(1),
            TagEnd::Strong => self.style.strong = self.style.strong.saturating_sub(1),
            TagEnd::Strikethrough => self.style.strike = self.style.strike.saturating_sub(1),
            TagEnd::Link if self.image.is_none() => {
                if let Some((url, text)) = self.link.take() {
                    self.push_inline(Inline::Link { text, url });
                }
            }
            TagEnd::Image => {
                if let Some((url, alt)) = self.image.take() {
                    self.push_inline(Inline::Image { alt, url });
                }
            }
            _ => {}
        }
        // The root frame is never popped: it is only closed in `finish`.
        if self.stack.len() <= 1 {
            return;
        }
        let Some(frame) = self.stack.pop() else {
            return;
        };
        match frame {
            Frame::Root(_) | Frame::Transparent => {}
            Frame::Quote(blocks) => self.push_block(Block::Quote { blocks }),
            Frame::Footnote(blocks) => {
                for b in blocks {
                    self.push_block(b);
                }
            }
            Frame::List {
                ordered,
                start,
                items,
            } => self.push_block(Block::List {
                ordered,
                start,
                items,
            }),
            Frame::Item {
                checked,
                mut blocks,
                mut pending,
            } => {
                flush_pending(&mut blocks, &mut pending);
                let item = ListItem { checked, blocks };
                match self.stack.last_mut() {
                    Some(Frame::List { items, .. }) => items.push(item),
                    _ => {
                        for b in item.blocks {
                            self.push_block(b);
                        }
                    }
                }
            }
            Frame::Para(inlines) => {
                if !inlines.is_empty() {
                    self.push_block(Block::Paragraph { inlines });
                }
            }
            Frame::Heading(level, inlines) => self.push_block(Block::Heading { level, inlines }),
            Frame::Code(language, text) => {
                let view = highlight_code(&text, language.as_deref());
                self.push_block(Block::Code {
                    language: view.language.or(language),
                    lines: view.lines.into_iter().map(|l| l.runs).collect(),
                });
            }
            Frame::Html(text) => self.push_block(Block::Html { text }),
            Frame::Table { header, rows, .. } => self.push_block(Block::Table { header, rows }),
            Frame::Row(cells) => {
                if let Some(Frame::Table {
                    header,
                    rows,
                    in_head,
                }) = self.stack.last_mut()
                {
                    if *in_head {
                        *header = cells;
                        *in_head = false;
                    } else {
                        rows.push(cells);
                    }
                }
            }
            Frame::Cell(inlines) => {
                if let Some(Frame::Row(cells)) = self.stack.last_mut() {
                    cells.push(inlines);
                }
            }
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                let inline = self.text(t.to_string());
                self.push_inline(inline);
            }
            Event::Code(t) => self.push_inline(Inline::Code {
                text: t.to_string(),
            }),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.push_inline(Inline::Code {
                text: t.to_string(),
            }),
            // Raw HTML is never interpreted: it stays literal text.
            Event::Html(t) => match self.stack.last_mut() {
                Some(Frame::Html(text)) => text.push_str(&t),
                _ => self.push_block(Block::Html {
                    text: t.to_string(),
                }),
            },
            Event::InlineHtml(t) => {
                let inline = self.text(t.to_string());
                self.push_inline(inline);
            }
            Event::FootnoteReference(label) => {
                let inline = self.text(format!("[^{label}]"));
                self.push_inline(inline);
            }
            Event::SoftBreak => {
                let inline = self.text(" ".to_string());
                self.push_inline(inline);
            }
            Event::HardBreak => self.push_inline(Inline::Break),
            Event::Rule => self.push_block(Block::Rule),
            Event::TaskListMarker(done) => {
                for frame in self.stack.iter_mut().rev() {
                    if let Frame::Item { checked, .. } = frame {
                        *checked = Some(done);
                        break;
                    }
                }
            }
        }
    }

    fn finish(mut self) -> Vec<Block> {
        while self.stack.len() > 1 {
            // Unbalanced input cannot come from pulldown-cmark, but be safe.
            self.end(TagEnd::Paragraph);
        }
        match self.stack.pop() {
            Some(Frame::Root(blocks)) => blocks,
            _ => Vec::new(),
        }
    }
}

fn push_merged(v: &mut Vec<Inline>, inline: Inline) {
    if let (
        Some(Inline::Text {
            text,
            strong,
            emphasis,
            strike,
        }),
        Inline::Text {
            text: t,
            strong: s2,
            emphasis: e2,
            strike: k2,
        },
    ) = (v.last_mut(), &inline)
    {
        if strong == s2 && emphasis == e2 && strike == k2 {
            text.push_str(t);
            return;
        }
    }
    v.push(inline);
}

/// Parse markdown into safe blocks. Oversized input is shown as one plain
/// paragraph per line rather than parsed.
pub fn markdown_view(md: &str) -> Vec<Block> {
    if md.len() > MAX_MARKDOWN_BYTES {
        tracing::warn!(
            bytes = md.len(),
            "markdown too large; showing as plain text"
        );
        return md
            .lines()
            .map(|l| Block::Paragraph {
                inlines: vec![Inline::Text {
                    text: l.to_string(),
                    strong: false,
                    emphasis: false,
                    strike: false,
                }],
            })
            .collect();
    }
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    opts.insert(Options::ENABLE_FOOTNOTES);
    let mut b = Builder::new();
    for event in Parser::new_ext(md, opts) {
        b.event(event);
    }
    b.finish()
}

// ---------------------------------------------------------------- chat

/// Who speaks in a chat transcript turn, from the transcript's role name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// System prompt or instructions.
    System,
    /// The human side of the conversation.
    User,
    /// The model's answer.
    Assistant,
    /// Output of a tool or function call.
    Tool,
    /// A role Assay does not know; `ChatTurn::role_label` holds it as written.
    Other,
}

/// One turn of a chat transcript, its content parsed as Markdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ChatTurn {
    /// 0-based position of the turn in the transcript.
    pub index: u32,
    /// The role, mapped to the closed set the UI styles.
    pub role: ChatRole,
    /// The role as written in the transcript.
    pub role_label: String,
    /// Speaker name, when the transcript gives one (e.g. a tool's name).
    pub name: Option<String>,
    /// The turn's content as Markdown blocks.
    pub blocks: Vec<Block>,
}

/// A chat transcript (model answers, multi-turn conversations) as turns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ChatView {
    /// The turns in transcript order.
    pub turns: Vec<ChatTurn>,
}

/// Parse a chat transcript given as JSON text: `[{"role","content"}]` or
/// `{"messages": [...]}`. `content` is markdown, or a list of parts of which
/// the `text` ones are shown.
pub fn chat_view(json: &str) -> Result<ChatView, RenderError> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| RenderError::MalformedChat(format!("not valid JSON: {e}")))?;
    chat_view_value(&value)
}

/// Like [`chat_view`] for an already parsed JSON field value.
pub fn chat_view_value(value: &Value) -> Result<ChatView, RenderError> {
    let list = match value {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("messages") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(RenderError::MalformedChat(
                    "expected a list of messages or an object with `messages`".into(),
                ))
            }
        },
        _ => {
            return Err(RenderError::MalformedChat(
                "expected a list of {role, content} messages".into(),
            ))
        }
    };
    let mut turns = Vec::with_capacity(list.len());
    for (i, msg) in list.iter().enumerate() {
        let Value::Object(obj) = msg else {
            return Err(RenderError::MalformedChat(format!(
                "message {} is not an object",
                i + 1
            )));
        };
        let role_label = match obj.get("role") {
            Some(Value::String(r)) => r.clone(),
            _ => {
                return Err(RenderError::MalformedChat(format!(
                    "message {} has no string `role`",
                    i + 1
                )))
            }
        };
        let content = match obj.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => match o.get("text") {
                        Some(Value::String(t)) => t.clone(),
                        _ => format!(
                            "[{} part not shown]",
                            o.get("type").and_then(Value::as_str).unwrap_or("non-text")
                        ),
                    },
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n\n"),
            Some(_) => {
                return Err(RenderError::MalformedChat(format!(
                    "message {} has a `content` that is neither text nor a list of parts",
                    i + 1
                )))
            }
        };
        let role = match role_label.to_ascii_lowercase().as_str() {
            "system" | "developer" => ChatRole::System,
            "user" | "human" => ChatRole::User,
            "assistant" | "model" | "ai" | "bot" => ChatRole::Assistant,
            "tool" | "function" => ChatRole::Tool,
            _ => ChatRole::Other,
        };
        turns.push(ChatTurn {
            index: i as u32,
            role,
            role_label,
            name: obj.get("name").and_then(Value::as_str).map(str::to_string),
            blocks: markdown_view(&content),
        });
    }
    Ok(ChatView { turns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::highlight::TokenClass;

    fn all_text(blocks: &[Block]) -> String {
        fn inl(out: &mut String, i: &[Inline]) {
            for x in i {
                match x {
                    Inline::Text { text, .. } | Inline::Code { text } => out.push_str(text),
                    Inline::Link { text, url } => {
                        out.push_str(text);
                        out.push_str(url);
                    }
                    Inline::Image { alt, url } => {
                        out.push_str(alt);
                        out.push_str(url);
                    }
                    Inline::Break => out.push('\n'),
                }
            }
        }
        let mut out = String::new();
        for b in blocks {
            match b {
                Block::Heading { inlines, .. } | Block::Paragraph { inlines } => {
                    inl(&mut out, inlines);
                }
                Block::Code { lines, .. } => {
                    for l in lines {
                        for r in l {
                            out.push_str(&r.text);
                        }
                    }
                }
                Block::Quote { blocks } => out.push_str(&all_text(blocks)),
                Block::List { items, .. } => {
                    for it in items {
                        out.push_str(&all_text(&it.blocks));
                    }
                }
                Block::Table { header, rows } => {
                    for c in header {
                        inl(&mut out, c);
                    }
                    for r in rows {
                        for c in r {
                            inl(&mut out, c);
                        }
                    }
                }
                Block::Rule => {}
                Block::Html { text } => out.push_str(text),
            }
        }
        out
    }

    #[test]
    fn structure() {
        let md = "# Title\n\nSome **bold** and *em* and `code`.\n\n- [x] done\n- todo\n\n1. one\n2. two\n\n> quote\n\n```rust\nfn main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n---\n";
        let b = markdown_view(md);
        assert_eq!(
            b[0],
            Block::Heading {
                level: 1,
                inlines: vec![Inline::Text {
                    text: "Title".into(),
                    strong: false,
                    emphasis: false,
                    strike: false
                }]
            }
        );
        let Block::Paragraph { inlines } = &b[1] else {
            panic!("{:?}", b[1])
        };
        assert!(inlines.contains(&Inline::Text {
            text: "bold".into(),
            strong: true,
            emphasis: false,
            strike: false
        }));
        assert!(inlines.contains(&Inline::Code {
            text: "code".into()
        }));
        let Block::List {
            ordered: false,
            items,
            ..
        } = &b[2]
        else {
            panic!("{:?}", b[2])
        };
        assert_eq!(items[0].checked, Some(true));
        assert_eq!(items[1].checked, None);
        assert!(
            matches!(&b[3], Block::List { ordered: true, start: Some(1), items } if items.len() == 2)
        );
        assert!(matches!(&b[4], Block::Quote { .. }));
        let Block::Code { language, lines } = &b[5] else {
            panic!("{:?}", b[5])
        };
        assert_eq!(language.as_deref(), Some("rust"));
        assert!(lines[0]
            .iter()
            .any(|r| r.text == "fn" && r.class == TokenClass::Keyword));
        assert!(
            matches!(&b[6], Block::Table { header, rows } if header.len() == 2 && rows.len() == 1)
        );
        assert_eq!(b[7], Block::Rule);
    }

    #[test]
    fn links_and_images_are_text_only() {
        let b = markdown_view("see [docs](https://x.example/d) ![logo](https://x.example/l.png)");
        let Block::Paragraph { inlines } = &b[0] else {
            panic!()
        };
        assert!(inlines.contains(&Inline::Link {
            text: "docs".into(),
            url: "https://x.example/d".into()
        }));
        assert!(inlines.contains(&Inline::Image {
            alt: "logo".into(),
            url: "https://x.example/l.png".into()
        }));
    }

    #[test]
    fn raw_html_is_literal_text() {
        let b = markdown_view("<div onclick=\"x()\">hi</div>\n\ntext <b>bold</b>");
        assert!(matches!(&b[0], Block::Html { text } if text.contains("<div onclick")));
        assert!(all_text(&b).contains("<b>bold</b>"));
    }

    #[test]
    fn xss_payloads_stay_text() {
        for p in crate::xss::xss_corpus() {
            let blocks = markdown_view(p);
            let text = all_text(&blocks);
            // Everything that looks like markup survives as literal text.
            if p.contains("<script") {
                assert!(text.contains("script"), "{p} -> {text}");
            }
            let json = serde_json::to_string(&blocks).unwrap();
            assert!(!json.contains("\"html\":"), "no html field ever: {json}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let md = ">".repeat(5000) + " deep";
        let b = markdown_view(&md);
        fn depth(b: &[Block]) -> usize {
            b.iter()
                .map(|x| match x {
                    Block::Quote { blocks } => 1 + depth(blocks),
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        }
        assert!(depth(&b) <= MAX_DEPTH);
        assert!(all_text(&b).contains("deep"));
    }

    #[test]
    fn chat_transcripts() {
        let v = chat_view(r#"[{"role":"system","content":"be nice"},{"role":"user","content":"**hi**"},{"role":"assistant","content":[{"type":"text","text":"hello"},{"type":"image_url"}]}]"#).unwrap();
        assert_eq!(v.turns.len(), 3);
        assert_eq!(v.turns[1].role, ChatRole::User);
        assert_eq!(v.turns[2].role, ChatRole::Assistant);
        assert!(all_text(&v.turns[2].blocks).contains("hello"));
        assert!(all_text(&v.turns[2].blocks).contains("[image_url part not shown]"));
        let wrapped = chat_view(r#"{"messages":[{"role":"Human","content":"x"}]}"#).unwrap();
        assert_eq!(wrapped.turns[0].role, ChatRole::User);
        assert_eq!(wrapped.turns[0].role_label, "Human");
        for bad in [
            "",
            "{",
            "42",
            "[1]",
            r#"[{"content":"x"}]"#,
            r#"[{"role":"user","content":5}]"#,
        ] {
            let err = chat_view(bad).unwrap_err();
            assert!(matches!(err, RenderError::MalformedChat(_)), "{bad}");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn markdown_never_panics(s in "\\PC*") {
                let _ = markdown_view(&s);
            }
            #[test]
            fn markdownish_never_panics(s in "([#>*_`\\[\\]()!|\\-\n 0-9a-z<]){0,200}") {
                let _ = markdown_view(&s);
            }
            #[test]
            fn chat_never_panics(s in "\\PC*") {
                let _ = chat_view(&s);
            }
        }
    }
}
