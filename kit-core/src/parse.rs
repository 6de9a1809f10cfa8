//! From template text to a node tree, in three passes:
//!
//! 1. [`lex`]: split the text into literal pieces (one per line) and tags,
//!    following delimiter changes;
//! 2. [`mark_standalone`]: find lines that hold only white space and
//!    non-output tags (sections, comments, partials, parents, blocks,
//!    delimiter changes) and drop their white space and line ending, as the
//!    spec requires;
//! 3. [`Builder`]: build the tree, judge the YAML position of every escaped
//!    interpolation, and re-indent inheritance blocks.

use std::sync::Arc;

use crate::Escape;
use crate::ast::{Block, Key, Name, Node, Parent, PartialRef, Section, Source, VarEscape};
use crate::error::{Error, Location, SyntaxErrorKind};
use crate::yaml::position::Scanner;

/// How deep sections, parents and blocks may nest in one template.
pub(crate) const MAX_NESTING: usize = 100;

/// Maps byte offsets in the text being parsed (which may be a dedented block
/// body) back to offsets in the template source.
#[derive(Debug)]
struct OffsetMap(Vec<(usize, usize)>);

impl OffsetMap {
    fn identity() -> Self {
        OffsetMap(vec![(0, 0)])
    }
    fn map(&self, p: usize) -> usize {
        let i = self.0.partition_point(|&(local, _)| local <= p);
        let (local, orig) = self.0[i.saturating_sub(1)];
        orig + (p - local)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Delims {
    open: String,
    close: String,
}

impl Default for Delims {
    fn default() -> Self {
        Delims {
            open: "{{".into(),
            close: "}}".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Var { escaped: bool },
    Open { inverted: bool },
    Close,
    Comment,
    Partial,
    Parent,
    Block,
    Delims,
}

impl TagKind {
    fn outputs(self) -> bool {
        matches!(
            self,
            TagKind::Var { .. } | TagKind::Partial | TagKind::Parent
        )
    }
}

#[derive(Debug)]
struct Tok<'a> {
    /// `None` for literal text.
    kind: Option<TagKind>,
    /// For text: the piece as written. For tags: the trimmed content.
    orig: &'a str,
    /// For text: what is emitted (emptied on standalone lines).
    text: &'a str,
    start: usize,
    end: usize,
    /// Index of the delimiters in force after this token.
    delims: usize,
    standalone: bool,
    /// The leading white space of a standalone line.
    indent: &'a str,
    /// Local offsets of the start of the token's line and of the end of
    /// that line (after its line break).
    line: (usize, usize),
}

type SyntaxResult<T> = Result<T, (SyntaxErrorKind, usize)>;

fn push_text<'a>(toks: &mut Vec<Tok<'a>>, text: &'a str, base: usize, delims: usize) {
    let mut off = base;
    for piece in text.split_inclusive('\n') {
        toks.push(Tok {
            kind: None,
            orig: piece,
            text: piece,
            start: off,
            end: off + piece.len(),
            delims,
            standalone: false,
            indent: "",
            line: (0, 0),
        });
        off += piece.len();
    }
}

fn lex<'a>(text: &'a str, first: usize, table: &mut Vec<Delims>) -> SyntaxResult<Vec<Tok<'a>>> {
    let mut toks = Vec::with_capacity(text.len() / 16 + 4);
    let mut pos = 0;
    let mut cur = first;
    while pos < text.len() {
        let d = &table[cur];
        let Some(i) = text[pos..].find(&d.open) else {
            push_text(&mut toks, &text[pos..], pos, cur);
            break;
        };
        push_text(&mut toks, &text[pos..pos + i], pos, cur);
        let start = pos + i;
        let inner = start + d.open.len();
        let rest = &text[inner..];
        let find = |closing: &str, from: usize| {
            text[from..]
                .find(closing)
                .map(|j| (from + j, from + j + closing.len()))
                .ok_or((SyntaxErrorKind::UnclosedTag, start))
        };
        let (kind, content, end) = match rest.as_bytes().first() {
            Some(b'{') => {
                let (c_end, end) = find(&format!("}}{}", d.close), inner + 1)?;
                (
                    TagKind::Var { escaped: false },
                    &text[inner + 1..c_end],
                    end,
                )
            }
            Some(b'=') => {
                let (c_end, end) = find(&format!("={}", d.close), inner + 1)?;
                let spec = &text[inner + 1..c_end];
                let mut parts = spec.split_whitespace();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(o), Some(c), None) if !o.contains('=') && !c.contains('=') => {
                        table.push(Delims {
                            open: o.into(),
                            close: c.into(),
                        });
                        cur = table.len() - 1;
                    }
                    _ => return Err((SyntaxErrorKind::BadDelimiters, start)),
                }
                (TagKind::Delims, spec, end)
            }
            Some(&b) if b"!#^/><$&".contains(&b) => {
                let (c_end, end) = find(&d.close, inner + 1)?;
                let kind = match b {
                    b'!' => TagKind::Comment,
                    b'#' => TagKind::Open { inverted: false },
                    b'^' => TagKind::Open { inverted: true },
                    b'/' => TagKind::Close,
                    b'>' => TagKind::Partial,
                    b'<' => TagKind::Parent,
                    b'$' => TagKind::Block,
                    _ => TagKind::Var { escaped: false },
                };
                (kind, &text[inner + 1..c_end], end)
            }
            _ => {
                let (c_end, end) = find(&d.close, inner)?;
                (TagKind::Var { escaped: true }, &text[inner..c_end], end)
            }
        };
        let content = content.trim();
        if !matches!(kind, TagKind::Comment | TagKind::Delims) {
            let name = content.strip_prefix('*').map_or(content, str::trim_start);
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err((SyntaxErrorKind::BadName(content.into()), start));
            }
        }
        toks.push(Tok {
            kind: Some(kind),
            orig: content,
            text: "",
            start,
            end,
            delims: cur,
            standalone: false,
            indent: "",
            line: (0, 0),
        });
        pos = end;
    }
    Ok(toks)
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| b == b' ' || b == b'\t')
}

/// The line break at the end of a text piece ("\n" or "\r\n"), if any.
fn line_break(piece: &str) -> &str {
    if piece.ends_with("\r\n") {
        &piece[piece.len() - 2..]
    } else if piece.ends_with('\n') {
        &piece[piece.len() - 1..]
    } else {
        ""
    }
}

fn mark_standalone(toks: &mut [Tok<'_>]) {
    let mut i = 0;
    while i < toks.len() {
        let mut j = i;
        while j + 1 < toks.len() && !(toks[j].kind.is_none() && toks[j].orig.ends_with('\n')) {
            j += 1;
        }
        let line = (toks[i].start, toks[j].end);
        for t in &mut toks[i..=j] {
            t.line = line;
        }
        let mut tags = 0;
        let eligible = toks[i..=j].iter().all(|t| match t.kind {
            None => {
                let br = line_break(t.orig);
                is_blank(&t.orig[..t.orig.len() - br.len()])
            }
            Some(k) => {
                tags += 1;
                !k.outputs() || k == TagKind::Partial || k == TagKind::Parent
            }
        });
        if eligible && tags > 0 {
            let indent = match toks[i].kind {
                None => toks[i].orig,
                Some(_) => "",
            };
            // `{{$block}}{{/block}}` alone on a line keeps its line break.
            let keep_break = toks[i..=j].windows(2).any(|w| {
                w[0].kind == Some(TagKind::Block)
                    && w[1].kind == Some(TagKind::Close)
                    && w[0].orig == w[1].orig
            });
            for t in &mut toks[i..=j] {
                match t.kind {
                    None if keep_break => t.text = line_break(t.orig),
                    None => t.text = "",
                    Some(_) => {
                        t.standalone = true;
                        t.indent = indent;
                    }
                }
            }
        }
        i = j + 1;
    }
}

fn parse_name(s: &str) -> Option<Name> {
    if s == "." {
        return Some(Name {
            dotted: ".".into(),
            parts: Box::new([]),
        });
    }
    let parts: Vec<Key> = s.split('.').map(Key::new).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(Name {
        dotted: s.into(),
        parts: parts.into_boxed_slice(),
    })
}

enum FrameKind {
    Root,
    Section { inverted: bool },
    Parent,
    Block,
}

struct Frame {
    kind: FrameKind,
    tok: usize,
    nodes: Vec<Node>,
}

struct Builder<'a, 'p> {
    src: &'p Arc<Source>,
    text: &'a str,
    map: OffsetMap,
    escape: Escape,
    toks: Vec<Tok<'a>>,
    table: Vec<Delims>,
    scanner: Scanner,
}

/// Compiles a whole template, starting with `{{ }}` or the given delimiters.
pub(crate) fn parse(
    src: &Arc<Source>,
    escape: Escape,
    delims: Option<(&str, &str)>,
) -> Result<Vec<Node>, Error> {
    let text = src.text.clone();
    let delims = delims.map_or_else(Delims::default, |(open, close)| Delims {
        open: open.into(),
        close: close.into(),
    });
    parse_part(src, &text, OffsetMap::identity(), delims, escape)
}

fn parse_part(
    src: &Arc<Source>,
    text: &str,
    map: OffsetMap,
    delims: Delims,
    escape: Escape,
) -> Result<Vec<Node>, Error> {
    let mut table = vec![delims];
    let mut b = Builder {
        src,
        text,
        map,
        escape,
        toks: Vec::new(),
        table: Vec::new(),
        scanner: Scanner::default(),
    };
    let mut toks = lex(text, 0, &mut table).map_err(|(k, off)| b.syntax(k, off))?;
    mark_standalone(&mut toks);
    b.toks = toks;
    b.table = table;
    b.build()
}

impl Builder<'_, '_> {
    fn location(&self, local: usize) -> Box<Location> {
        Box::new(Location::from_offset(
            &self.src.name,
            &self.src.text,
            self.map.map(local),
        ))
    }

    fn syntax(&self, kind: SyntaxErrorKind, local: usize) -> Error {
        Error::Syntax {
            kind,
            location: self.location(local),
        }
    }

    fn name(&self, i: usize) -> Result<Name, Error> {
        let t = &self.toks[i];
        parse_name(t.orig)
            .ok_or_else(|| self.syntax(SyntaxErrorKind::BadName(t.orig.into()), t.start))
    }

    fn partial_ref(&self, i: usize) -> Result<PartialRef, Error> {
        let t = &self.toks[i];
        match t.orig.strip_prefix('*') {
            Some(dynamic) => parse_name(dynamic.trim_start())
                .map(PartialRef::Dynamic)
                .ok_or_else(|| self.syntax(SyntaxErrorKind::BadName(t.orig.into()), t.start)),
            None => Ok(PartialRef::Static(t.orig.into())),
        }
    }

    /// The first character output after token `i` (`\0` for a tag that
    /// outputs something), for the YAML scanner.
    fn next_char(&self, i: usize) -> Option<char> {
        for t in &self.toks[i + 1..] {
            match t.kind {
                None if !t.text.is_empty() => return t.text.chars().next(),
                Some(k) if k.outputs() => return Some('\0'),
                _ => {}
            }
        }
        None
    }

    /// The template text after token `i` up to the end of its line.
    fn rest_of_line(&self, i: usize) -> String {
        let mut s = String::new();
        for t in &self.toks[i + 1..] {
            match t.kind {
                None => {
                    if let Some(nl) = t.text.find('\n') {
                        s.push_str(&t.text[..=nl]);
                        return s;
                    }
                    s.push_str(t.text);
                }
                Some(k) if k.outputs() => {
                    s.push('\0');
                    return s;
                }
                _ => {}
            }
        }
        s.push('\n');
        s
    }

    fn yaml_error(&self, i: usize, why: &'static str) -> Error {
        let t = &self.toks[i];
        Error::Unrepresentable {
            name: t.orig.into(),
            position: why,
            reason: "kit cannot tell how to escape there".into(),
            hint: "move the tag to a plain, quoted or block scalar position",
            location: self.location(t.start),
        }
    }

    fn build(mut self) -> Result<Vec<Node>, Error> {
        let yaml = self.escape == Escape::Yaml;
        let mut stack = vec![Frame {
            kind: FrameKind::Root,
            tok: 0,
            nodes: Vec::new(),
        }];
        // Literal text is gathered here and becomes one node when a tag that
        // matters comes (merging node by node would be quadratic).
        let mut pending_text = String::new();
        let mut pending_marks: Vec<(u32, u32)> = Vec::new();
        let flush = |pending: &mut String, marks: &mut Vec<(u32, u32)>, stack: &mut Vec<Frame>| {
            if !pending.is_empty() {
                let text = std::mem::take(pending).into_boxed_str();
                let marks = std::mem::take(marks).into_boxed_slice();
                stack
                    .last_mut()
                    .expect("root frame")
                    .nodes
                    .push(Node::Text(text, marks));
            }
        };
        for i in 0..self.toks.len() {
            let t = &self.toks[i];
            let (start, kind) = (t.start, t.kind);
            if matches!(
                kind,
                Some(
                    TagKind::Var { .. }
                        | TagKind::Partial
                        | TagKind::Open { .. }
                        | TagKind::Parent
                        | TagKind::Block
                        | TagKind::Close
                )
            ) {
                flush(&mut pending_text, &mut pending_marks, &mut stack);
            }
            let node = match kind {
                None => {
                    if t.text.is_empty() {
                        continue;
                    }
                    let text = t.text;
                    if yaml {
                        let next = self.next_char(i);
                        self.scanner.text(text, next);
                    }
                    pending_marks.push((
                        u32::try_from(pending_text.len()).unwrap_or(u32::MAX),
                        u32::try_from(self.map.map(start)).unwrap_or(u32::MAX),
                    ));
                    pending_text.push_str(text);
                    continue;
                }
                Some(TagKind::Comment | TagKind::Delims) => continue,
                Some(TagKind::Var { escaped }) => {
                    let name = self.name(i)?;
                    let escape = match (escaped, self.escape) {
                        (false, Escape::Yaml) => {
                            let after = self.rest_of_line(i);
                            match self.scanner.value(&after) {
                                Ok(pos) => VarEscape::Raw(Some(pos)),
                                Err(_) => {
                                    self.scanner.raw_value();
                                    VarEscape::Raw(None)
                                }
                            }
                        }
                        (false, _) | (true, Escape::None) => VarEscape::Raw(None),
                        (true, Escape::Html) => VarEscape::Html,
                        (true, Escape::Yaml) => {
                            let after = self.rest_of_line(i);
                            match self.scanner.value(&after) {
                                Ok(pos) => VarEscape::Yaml(pos),
                                Err(e) => return Err(self.yaml_error(i, e.0)),
                            }
                        }
                    };
                    Node::Var {
                        name,
                        escape,
                        pos: self.map.map(start),
                    }
                }
                Some(TagKind::Partial) => {
                    if yaml && let Err(e) = self.scanner.insertion() {
                        return Err(self.yaml_error(i, e.0));
                    }
                    Node::Partial {
                        name: self.partial_ref(i)?,
                        indent: t.standalone.then(|| t.indent.into()),
                        pos: self.map.map(start),
                    }
                }
                Some(k @ (TagKind::Open { .. } | TagKind::Parent | TagKind::Block)) => {
                    if k == TagKind::Parent
                        && yaml
                        && let Err(e) = self.scanner.insertion()
                    {
                        return Err(self.yaml_error(i, e.0));
                    }
                    if stack.len() > MAX_NESTING {
                        return Err(self.syntax(SyntaxErrorKind::TooDeep(MAX_NESTING), start));
                    }
                    let kind = match k {
                        TagKind::Open { inverted } => FrameKind::Section { inverted },
                        TagKind::Parent => FrameKind::Parent,
                        _ => FrameKind::Block,
                    };
                    stack.push(Frame {
                        kind,
                        tok: i,
                        nodes: Vec::new(),
                    });
                    continue;
                }
                Some(TagKind::Close) => {
                    let frame = stack.pop().expect("root frame");
                    if matches!(frame.kind, FrameKind::Root) {
                        return Err(
                            self.syntax(SyntaxErrorKind::UnopenedClose(t.orig.into()), start)
                        );
                    }
                    let open = &self.toks[frame.tok];
                    let bare = |s: &str| s.strip_prefix('*').unwrap_or(s).trim_start().to_owned();
                    if bare(open.orig) != bare(t.orig) {
                        return Err(self.syntax(
                            SyntaxErrorKind::MismatchedClose {
                                found: t.orig.into(),
                                expected: open.orig.into(),
                            },
                            start,
                        ));
                    }
                    self.close(frame, i)?
                }
            };
            stack.last_mut().expect("root frame").nodes.push(node);
        }
        flush(&mut pending_text, &mut pending_marks, &mut stack);
        let frame = stack.pop().expect("root frame");
        if !matches!(frame.kind, FrameKind::Root) {
            let open = &self.toks[frame.tok];
            return Err(self.syntax(
                SyntaxErrorKind::UnclosedSection(open.orig.into()),
                open.start,
            ));
        }
        Ok(frame.nodes)
    }

    fn close(&self, frame: Frame, close_i: usize) -> Result<Node, Error> {
        let open = &self.toks[frame.tok];
        let close = &self.toks[close_i];
        Ok(match frame.kind {
            FrameKind::Root => unreachable!("checked by the caller"),
            FrameKind::Section { inverted } => {
                let d = &self.table[open.delims];
                Node::Section(Box::new(Section {
                    name: self.name(frame.tok)?,
                    inverted,
                    body: frame.nodes,
                    raw: (self.map.map(open.end), self.map.map(close.start)),
                    delims: (*d != Delims::default())
                        .then(|| (d.open.as_str().into(), d.close.as_str().into())),
                    pos: self.map.map(open.start),
                }))
            }
            FrameKind::Parent => Node::Parent(Box::new(Parent {
                name: self.partial_ref(frame.tok)?,
                indent: open.standalone.then(|| open.indent.into()),
                args: frame
                    .nodes
                    .into_iter()
                    .filter_map(|n| match n {
                        Node::Block(b) => Some(*b),
                        _ => None,
                    })
                    .collect(),
                pos: self.map.map(open.start),
            })),
            FrameKind::Block => {
                let ends_line = self
                    .toks
                    .get(frame.tok + 1)
                    .is_some_and(|t| t.kind.is_none() && t.orig.ends_with('\n'));
                let (body, indent) = if open.standalone && ends_line {
                    let start = open.line.1;
                    let end = if close.standalone {
                        close.line.0
                    } else {
                        close.start
                    };
                    let (common, dedented, segments) = dedent(&self.text[start..end]);
                    let indent = if common.is_empty() {
                        open.indent
                    } else {
                        common
                    };
                    let body = if common.is_empty() {
                        frame.nodes
                    } else {
                        let map = OffsetMap(
                            segments
                                .into_iter()
                                .map(|(new, old)| (new, self.map.map(start + old)))
                                .collect(),
                        );
                        let delims = self.table[open.delims].clone();
                        parse_part(self.src, &dedented, map, delims, self.escape)?
                    };
                    (body, Some(indent.into()))
                } else {
                    (frame.nodes, open.standalone.then(|| open.indent.into()))
                };
                Node::Block(Box::new(Block {
                    name: open.orig.into(),
                    body,
                    indent,
                    src: self.src.clone(),
                    pos: self.map.map(open.start),
                }))
            }
        })
    }
}

/// Removes the common leading white space of the non-blank lines of `body`.
/// Returns that white space, the dedented text, and for each line the pair
/// (offset in the dedented text, offset in `body`).
fn dedent(body: &str) -> (&str, String, Vec<(usize, usize)>) {
    let mut common: Option<&str> = None;
    for line in body.split_inclusive('\n') {
        let content = &line[..line.len() - line_break(line).len()];
        if is_blank(content) {
            continue;
        }
        let ws = &content[..content.len() - content.trim_start_matches([' ', '\t']).len()];
        common = Some(match common {
            None => ws,
            Some(c) => {
                let n = c
                    .bytes()
                    .zip(ws.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &c[..n]
            }
        });
    }
    let common = common.unwrap_or("");
    let mut out = String::with_capacity(body.len());
    let mut segments = Vec::new();
    let mut old = 0;
    for line in body.split_inclusive('\n') {
        let br = line_break(line);
        let skip = if is_blank(&line[..line.len() - br.len()]) {
            line.len() - br.len()
        } else {
            common.len()
        };
        segments.push((out.len(), old + skip));
        out.push_str(&line[skip..]);
        old += line.len();
    }
    if segments.is_empty() {
        segments.push((0, 0));
    }
    (common, out, segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Arc<Source> {
        Arc::new(Source {
            name: "t".into(),
            text: text.into(),
        })
    }

    fn syntax_error(text: &str) -> (SyntaxErrorKind, usize, usize) {
        match parse(&src(text), Escape::Html, None) {
            Err(Error::Syntax { kind, location }) => (kind, location.line, location.column),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_carry_positions() {
        assert_eq!(
            syntax_error("a\n  {{x"),
            (SyntaxErrorKind::UnclosedTag, 2, 3)
        );
        assert_eq!(
            syntax_error("{{#a}}\n{{#b}}\n{{/a}}"),
            (
                SyntaxErrorKind::MismatchedClose {
                    found: "a".into(),
                    expected: "b".into()
                },
                3,
                1
            )
        );
        assert_eq!(
            syntax_error("x\n{{#items}}\n"),
            (SyntaxErrorKind::UnclosedSection("items".into()), 2, 1)
        );
        assert_eq!(
            syntax_error("{{/x}}"),
            (SyntaxErrorKind::UnopenedClose("x".into()), 1, 1)
        );
        assert_eq!(
            syntax_error("{{=<%=}}"),
            (SyntaxErrorKind::BadDelimiters, 1, 1)
        );
        assert_eq!(
            syntax_error("{{a b}}"),
            (SyntaxErrorKind::BadName("a b".into()), 1, 1)
        );
        assert_eq!(
            syntax_error("{{a..b}}"),
            (SyntaxErrorKind::BadName("a..b".into()), 1, 1)
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "{{#a}}".repeat(10_000) + &"{{/a}}".repeat(10_000);
        assert_eq!(syntax_error(&text).0, SyntaxErrorKind::TooDeep(MAX_NESTING));
    }

    #[test]
    fn dedent_keeps_offsets() {
        let (common, text, segs) = dedent("    one\n\n    two\n");
        assert_eq!(common, "    ");
        assert_eq!(text, "one\n\ntwo\n");
        assert_eq!(segs, [(0, 4), (4, 8), (5, 13)]);
    }

    #[test]
    fn offset_map_maps_dedented_positions() {
        let m = OffsetMap(vec![(0, 14), (4, 22)]);
        assert_eq!(m.map(0), 14);
        assert_eq!(m.map(2), 16);
        assert_eq!(m.map(5), 23);
    }
}
