//! A literal prefilter for regex searches (added in Assay's patched copy, see
//! PATCHED.md).
//!
//! Many patterns of real grammars can only match where one of a few words
//! occurs: `\b(namespace|module)\s+`, `(?<=…)\b(var|let)\b`, an alternation
//! of a few hundred DOM names. The regex engine tries such a pattern at
//! every position of the line before it says "no match", and the parser asks
//! once per line for every pattern of the context. [`Prefilter::of`] reads a
//! pattern (Oniguruma's own syntax, the onig crate's default, as grammars
//! write it) and finds a set
//! of literal strings one of which every match must contain, within the
//! text the match consumes or looks ahead at (never in a look-behind);
//! [`Prefilter::may_match`] says a search from some position can be skipped
//! because none of them occurs in the rest of the line.
//!
//! The reading is conservative: anything it does not fully understand (case
//! folding, conditionals, control escapes, a class it cannot delimit) gives
//! no prefilter, and the search runs as before. Optional parts (`?`, `*`,
//! `{0,n}`), negative look-arounds and look-behinds contribute nothing.

use aho_corasick::AhoCorasick;
use memchr::memmem;

/// Most strings a prefilter holds (an alternation of more gives none).
const MAX_LITERALS: usize = 2048;

/// A set of literals one of which occurs in every match.
#[derive(Debug)]
pub(crate) enum Prefilter {
    One(memmem::Finder<'static>),
    Many(AhoCorasick),
}

impl Prefilter {
    /// The prefilter of `pattern`, if it has one.
    pub(crate) fn of(pattern: &str) -> Option<Prefilter> {
        let set = required_literals(pattern)?;
        if set.len() == 1 {
            let one = set.into_iter().next()?;
            return Some(Prefilter::One(memmem::Finder::new(&one).into_owned()));
        }
        AhoCorasick::new(&set).ok().map(Prefilter::Many)
    }

    /// Whether a match could start in `rest` (the text from the search's
    /// start to the end of the text).
    pub(crate) fn may_match(&self, rest: &[u8]) -> bool {
        match self {
            Prefilter::One(f) => f.find(rest).is_some(),
            Prefilter::Many(ac) => ac.is_match(rest),
        }
    }
}

/// The literal set of `pattern` (`None`: no prefilter).
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let mut p = Reader {
        s: pattern.as_bytes(),
        i: 0,
        depth: 0,
    };
    let req = p.alternation(false)?;
    if p.i != p.s.len() {
        return None; // an unbalanced `)`
    }
    let mut set = req?;
    set.sort();
    set.dedup();
    if set.is_empty() || set.iter().any(|l| l.is_empty()) {
        return None;
    }
    Some(set)
}

/// What a piece of the pattern requires: `Some(set)` (one of `set` occurs in
/// every match of the piece) or `None` (nothing known).
type Req = Option<Vec<Vec<u8>>>;

/// The better of two requirements: longer shortest literal, then fewer.
fn better(a: Req, b: Req) -> Req {
    match (a, b) {
        (None, b) => b,
        (a, None) => a,
        (Some(a), Some(b)) => {
            let key = |s: &Vec<Vec<u8>>| {
                let shortest = s.iter().map(Vec::len).min().unwrap_or(0);
                (shortest.min(4), std::cmp::Reverse(s.len()))
            };
            if key(&b) > key(&a) {
                Some(b)
            } else {
                Some(a)
            }
        }
    }
}

/// One atom's repetition: how many times at least it must occur.
enum Repeat {
    Once,
    /// `?`, `*`, `{0,…}`: possibly not at all.
    Optional,
    /// `+`, `{n,…}` with n ≥ 1: at least once, maybe more.
    AtLeastOnce,
}

/// What an atom is, for the sequence around it.
enum Atom {
    /// One literal byte sequence (a character, possibly multi-byte).
    Literal(Vec<u8>),
    /// Consumes or asserts something that is not a known literal.
    Other,
    /// A group: what it requires.
    Group(Req),
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    /// Groups open around the current position.
    depth: usize,
}

/// Groups nested deeper than this give no prefilter (the reader recurses).
const MAX_DEPTH: usize = 64;

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips white space and `#` comments (extended mode only).
    fn skip_extended(&mut self, extended: bool) {
        if !extended {
            return;
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'#' {
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == b'\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    /// `seq ('|' seq)*` up to the closing `)` (not consumed) or the end.
    /// The outer `Option` is `None` when the pattern is not understood.
    fn alternation(&mut self, extended: bool) -> Option<Req> {
        let mut union: Option<Vec<Vec<u8>>> = Some(Vec::new());
        let mut extended = extended;
        loop {
            let (req, ext_after) = self.sequence(extended)?;
            extended = ext_after;
            union = match (union, req) {
                (Some(mut u), Some(r)) => {
                    u.extend(r);
                    (u.len() <= MAX_LITERALS).then_some(u)
                }
                _ => None,
            };
            match self.peek() {
                Some(b'|') => self.i += 1,
                _ => return Some(union),
            }
        }
    }

    /// A sequence of atoms up to `|`, `)` or the end; returns its best
    /// requirement and the extended flag at its end.
    fn sequence(&mut self, mut extended: bool) -> Option<(Req, bool)> {
        let mut best: Req = None;
        let mut run: Vec<u8> = Vec::new();
        let flush = |run: &mut Vec<u8>, best: &mut Req| {
            if !run.is_empty() {
                let lit = std::mem::take(run);
                *best = better(best.take(), Some(vec![lit]));
            }
        };
        loop {
            self.skip_extended(extended);
            let Some(c) = self.peek() else { break };
            let atom = match c {
                b'|' | b')' => break,
                b'(' => {
                    self.i += 1;
                    match self.group(&mut extended)? {
                        Some(g) => g,
                        None => continue, // an option setting such as `(?x)`
                    }
                }
                b'[' => {
                    self.class()?;
                    Atom::Other
                }
                b'\\' => self.escape()?,
                b'.' | b'^' | b'$' => {
                    self.i += 1;
                    Atom::Other
                }
                b'*' | b'+' | b'?' => return None, // nothing to repeat
                b'{' if self.interval().is_some() => return None,
                _ => {
                    let len = utf8_len(c);
                    let end = self.i.checked_add(len)?;
                    let lit = self.s.get(self.i..end)?.to_vec();
                    self.i = end;
                    Atom::Literal(lit)
                }
            };
            self.skip_extended(extended);
            let repeat = self.repeat(extended);
            match (atom, repeat) {
                (Atom::Literal(l), Repeat::Once) => run.extend_from_slice(&l),
                (Atom::Literal(l), Repeat::AtLeastOnce) => {
                    run.extend_from_slice(&l);
                    flush(&mut run, &mut best);
                }
                (Atom::Group(req), Repeat::Once | Repeat::AtLeastOnce) => {
                    flush(&mut run, &mut best);
                    best = better(best, req);
                }
                _ => flush(&mut run, &mut best),
            }
        }
        flush(&mut run, &mut best);
        Some((best, extended))
    }

    /// After `(`: the group's atom, or `None` inside `Some` for an option
    /// setting that applies to the rest of the enclosing group.
    fn group(&mut self, extended: &mut bool) -> Option<Option<Atom>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let atom = self.group_inner(extended);
        self.depth -= 1;
        atom
    }

    fn group_inner(&mut self, extended: &mut bool) -> Option<Option<Atom>> {
        let rest = self.s.get(self.i..)?;
        // (kind, bytes of its opener after `(`)
        let (keeps, skip) = if rest.starts_with(b"?:") || rest.starts_with(b"?>") {
            (true, 2)
        } else if rest.starts_with(b"?=") {
            (true, 2) // a look-ahead: what it needs lies after the start
        } else if rest.starts_with(b"?!") || rest.starts_with(b"?~") {
            (false, 2)
        } else if rest.starts_with(b"?<=") || rest.starts_with(b"?<!") {
            (false, 3)
        } else if rest.starts_with(b"?#") {
            let close = rest.iter().position(|&b| b == b')')?;
            self.i = self.i.checked_add(close)?.checked_add(1)?;
            return Some(None);
        } else if rest.starts_with(b"?<") || rest.starts_with(b"?P<") {
            // `(?<name>…)`, `(?P<name>…)`: a named capture
            let close = rest.iter().position(|&b| b == b'>')?;
            (true, close.checked_add(1)?)
        } else if rest.starts_with(b"?'") {
            // `(?'name'…)`
            let close = rest.get(2..)?.iter().position(|&b| b == b'\'')?;
            (true, close.checked_add(3)?)
        } else if rest.starts_with(b"?") {
            // options: `(?imx-imx)` or `(?imx-imx:…)`
            let mut j = 1;
            let mut on = true;
            let mut ext = *extended;
            loop {
                match rest.get(j)? {
                    b'-' => on = false,
                    b'x' => ext = on,
                    b'm' | b's' => {}
                    b')' => {
                        // An option for the rest of the enclosing group;
                        // Oniguruma reads `a(?x)b|c` as `a(?x:b|c)`, so
                        // only one at the pattern's start is followed.
                        if self.i != 1 {
                            return None;
                        }
                        self.i += j + 1;
                        *extended = ext;
                        return Some(None);
                    }
                    b':' => break,
                    _ => return None, // `i`, conditionals, anything else
                }
                j += 1;
            }
            self.i += j + 1;
            let req = self.alternation(ext)?;
            if self.peek()? != b')' {
                return None;
            }
            self.i += 1;
            return Some(Some(Atom::Group(req)));
        } else {
            (true, 0)
        };
        self.i = self.i.checked_add(skip)?;
        let req = self.alternation(*extended)?;
        if self.peek()? != b')' {
            return None;
        }
        self.i += 1;
        Some(Some(Atom::Group(if keeps { req } else { None })))
    }

    /// Skips a bracket class `[…]` (nested classes included).
    fn class(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'[' => {
                    depth += 1;
                    if self.peek() == Some(b'^') {
                        self.i += 1;
                    }
                    if self.peek() == Some(b']') {
                        return None; // a leading `]`: leave it to the engine
                    }
                }
                b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(());
                    }
                }
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    if matches!(e, b'p' | b'P' | b'x' | b'u' | b'o') && self.peek() == Some(b'{')
                    {
                        self.skip_braces()?;
                    }
                }
                _ => {}
            }
        }
    }

    fn skip_braces(&mut self) -> Option<()> {
        let close = self.s.get(self.i..)?.iter().position(|&b| b == b'}')?;
        self.i = self.i.checked_add(close)?.checked_add(1)?;
        Some(())
    }

    /// After a `\`: the escaped atom.
    fn escape(&mut self) -> Option<Atom> {
        self.i += 1;
        let e = self.peek()?;
        self.i += 1;
        Some(match e {
            // punctuation stands for itself
            _ if e.is_ascii_punctuation() || e == b' ' => Atom::Literal(vec![e]),
            b'p' | b'P' => {
                if self.peek() == Some(b'{') {
                    self.skip_braces()?;
                } else {
                    return None;
                }
                Atom::Other
            }
            b'x' | b'o' | b'u' => {
                if self.peek() == Some(b'{') {
                    self.skip_braces()?;
                } else {
                    let max = if e == b'u' { 4 } else { 2 };
                    let mut n = 0;
                    while n < max && self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                        self.i += 1;
                        n += 1;
                    }
                }
                Atom::Other
            }
            b'k' | b'g' => {
                let open = self.peek()?;
                let close = match open {
                    b'<' => b'>',
                    b'\'' => b'\'',
                    _ => return None,
                };
                self.i += 1;
                let end = self.s.get(self.i..)?.iter().position(|&b| b == close)?;
                self.i = self.i.checked_add(end)?.checked_add(1)?;
                Atom::Other
            }
            b'0'..=b'9' => {
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.i += 1;
                }
                Atom::Other
            }
            b'w' | b'W' | b'd' | b'D' | b's' | b'S' | b'h' | b'H' | b'b' | b'B' | b'A'
            | b'z' | b'Z' | b'G' | b'K' | b'R' | b'X' | b'N' | b'O' | b'n' | b't' | b'r'
            | b'f' | b'v' | b'a' | b'e' | b'y' | b'Y' => Atom::Other,
            _ => return None, // `\c`, `\C-`, `\M-` and anything unknown
        })
    }

    /// A quantifier after an atom, if any (with its lazy `?` or possessive
    /// `+`).
    fn repeat(&mut self, extended: bool) -> Repeat {
        let r = match self.peek() {
            Some(b'?' | b'*') => {
                self.i += 1;
                Repeat::Optional
            }
            Some(b'+') => {
                self.i += 1;
                Repeat::AtLeastOnce
            }
            Some(b'{') => match self.interval() {
                Some((min, len)) => {
                    self.i += len;
                    self.skip_extended(extended);
                    if self.peek() == Some(b'?') {
                        // In Oniguruma's syntax `x{n}?` is `(?:x{n})?`, not
                        // a lazy `x{n}` (a fixed interval is greedy only);
                        // after any interval a `?` counts as optional.
                        self.i += 1;
                        return Repeat::Optional;
                    }
                    if min == 0 {
                        Repeat::Optional
                    } else {
                        Repeat::AtLeastOnce
                    }
                }
                None => return Repeat::Once, // a literal `{`
            },
            _ => return Repeat::Once,
        };
        self.skip_extended(extended);
        if matches!(self.peek(), Some(b'?' | b'+')) {
            self.i += 1;
        }
        // A repeated quantifier (`a?*`) is rare; whatever follows is read
        // as the next atom, and a second quantifier there gives up.
        r
    }

    /// At a `{`: an interval `{n}`, `{n,}`, `{,m}`, `{n,m}` as (n, its length
    /// in bytes), or `None` if the `{` is a literal.
    fn interval(&self) -> Option<(u32, usize)> {
        let rest = self.s.get(self.i..)?;
        let close = rest.iter().position(|&b| b == b'}')?;
        let body = rest.get(1..close)?;
        let (min, max) = match body.iter().position(|&b| b == b',') {
            Some(comma) => (&body[..comma], &body[comma + 1..]),
            None => (body, &body[..0]),
        };
        let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
        if !digits(min) || !digits(max) || (min.is_empty() && max.is_empty()) {
            return None;
        }
        let n = if min.is_empty() {
            0
        } else {
            std::str::from_utf8(min).ok()?.parse().ok()?
        };
        Some((n, close + 1))
    }
}

/// Bytes of the UTF-8 character starting with `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}
