//! From template text to a node tree, in three passes:
//!
//! 1. [`lex`]: split the text into literal pieces (one per line) and tags,
//!    following delimiter changes;
//! 2. [`mark_standalone`]: find lines that hold only white space and
//!    non-output tags (sections, comments, partials, parents, blocks,
//!    delimiter changes) and drop their white space and line ending, as the
//!    spec requires;
//! 3. [`scan_yaml`] (YAML templates): judge the YAML position of every
//!    interpolation, and find the plain scalars made of several pieces
//!    ([`Composite`]s), which [`group_scalars`] marks with a pair of tokens;
//! 4. [`Builder`]: build the tree (each composite one [`Node::Scalar`]) and
//!    re-indent inheritance blocks.

use std::sync::Arc;

use crate::Escape;
use crate::ast::{Block, Key, Name, Node, Parent, PartialRef, Scalar, Section, Source, VarEscape};
use crate::error::{Error, Location, SyntaxErrorKind};
use crate::yaml::YamlPosition;
use crate::yaml::position::{Composite, Loc, Scanner};

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
    Var {
        escaped: bool,
    },
    Open {
        inverted: bool,
    },
    Close,
    Comment,
    Partial,
    Parent,
    Block,
    Delims,
    /// Not written in templates: where the composite scalar with this index
    /// starts ([`group_scalars`]).
    ScalarOpen(u32),
    /// Where the composite scalar that is open ends.
    ScalarClose,
}

/// What the YAML scan said of a tag.
#[derive(Debug, Clone, Copy)]
enum Judged {
    /// Nothing to say (not a YAML template, or a tag without a position).
    None,
    /// An interpolation's position.
    At(YamlPosition),
    /// No position kit can escape for: why.
    Refused(&'static str),
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
    /// The YAML scan's word on this tag.
    judged: Judged,
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
            judged: Judged::None,
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
            judged: Judged::None,
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

/// The first character output after token `i` (`\0` for a tag that
/// outputs something), for the YAML scanner.
fn next_char(toks: &[Tok<'_>], i: usize) -> Option<char> {
    for t in &toks[i + 1..] {
        match t.kind {
            None if !t.text.is_empty() => return t.text.chars().next(),
            Some(k) if k.outputs() => return Some('\0'),
            _ => {}
        }
    }
    None
}

/// The template text after token `i` up to the end of its line (a tag
/// that outputs something as `\0`).
fn rest_of_line(toks: &[Tok<'_>], i: usize) -> String {
    let mut s = String::new();
    for t in &toks[i + 1..] {
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

/// Reads a YAML template's tokens as a YAML reader would: the position of
/// every interpolation and whether partials and parents may stand where
/// they are (into each token's `judged`), and the composite scalars.
fn scan_yaml(toks: &mut [Tok<'_>]) -> Vec<Composite> {
    let mut sc = Scanner::default();
    for i in 0..toks.len() {
        sc.at_token(i);
        let judged = match toks[i].kind {
            None => {
                if !toks[i].text.is_empty() {
                    let next = next_char(toks, i);
                    sc.text(toks[i].text, next);
                }
                continue;
            }
            Some(TagKind::Var { escaped }) => match sc.value(&rest_of_line(toks, i), !escaped) {
                Ok(pos) => Judged::At(pos),
                Err(e) => {
                    if !escaped {
                        sc.raw_value();
                    }
                    Judged::Refused(e.0)
                }
            },
            Some(TagKind::Partial | TagKind::Parent) => match sc.insertion() {
                Ok(()) => Judged::None,
                Err(e) => Judged::Refused(e.0),
            },
            Some(_) => continue,
        };
        toks[i].judged = judged;
    }
    sc.finish()
}

/// Whether a token outputs nothing and opens no scope a scalar could not
/// wrap: a composite's bounds may be moved over it.
fn movable_over(t: &Tok<'_>, backwards: bool) -> bool {
    match t.kind {
        None => t.text.is_empty(),
        Some(TagKind::Comment | TagKind::Delims) => true,
        Some(TagKind::Open { .. } | TagKind::Block) => backwards,
        Some(TagKind::Close) => !backwards,
        Some(_) => false,
    }
}

/// Marks each composite scalar with a [`TagKind::ScalarOpen`] and a
/// [`TagKind::ScalarClose`] token, splitting literal text where a scalar
/// starts or ends inside it. The pair must nest with the sections around
/// it: a scalar that starts inside a section is widened to include the
/// section's opening tag when nothing but tags that output nothing lie
/// between (and likewise at its end). Else the error carries the scalar's
/// start (a local offset) and the names it is made of.
fn group_scalars<'a>(
    toks: Vec<Tok<'a>>,
    scalars: &[Composite],
) -> Result<Vec<Tok<'a>>, (usize, Vec<&'a str>)> {
    if scalars.is_empty() {
        return Ok(toks);
    }
    // The number of frames open before each token (and after the last).
    let mut depth = Vec::with_capacity(toks.len() + 1);
    let mut d = 0usize;
    for t in &toks {
        depth.push(d);
        match t.kind {
            Some(TagKind::Open { .. } | TagKind::Parent | TagKind::Block) => d += 1,
            Some(TagKind::Close) => d = d.saturating_sub(1),
            _ => {}
        }
    }
    depth.push(d);
    // A `Loc` as the gap between tokens it is at, when it is at one: text
    // at offset 0 or at its end, a tag before (0) or after (1).
    let gap = |l: Loc| -> Option<usize> {
        let t = &toks[l.tok];
        match t.kind {
            None if l.off == 0 => Some(l.tok),
            None if l.off == t.text.len() => Some(l.tok + 1),
            None => None,
            Some(_) => Some(l.tok + l.off),
        }
    };
    let depth_at = |l: Loc| gap(l).map_or(depth[l.tok], |g| depth[g]);
    // The cuts: (token, byte offset or 0/1 for tags, 0 for a close before
    // 1 for an open at the same place, scalar index).
    let mut cuts: Vec<(usize, usize, u8, u32)> = Vec::with_capacity(scalars.len() * 2);
    for (index, c) in scalars.iter().enumerate() {
        let min = (c.start.tok + 1..=c.end.tok)
            .map(|t| depth[t])
            .chain([depth_at(c.start), depth_at(c.end)])
            .min()
            .unwrap_or(0);
        let (mut start, mut end) = (c.start, c.end);
        while depth_at(start) > min
            && let Some(g) = gap(start)
            && g > 0
            && movable_over(&toks[g - 1], true)
        {
            start = Loc { tok: g - 1, off: 0 };
        }
        while depth_at(end) > min
            && let Some(g) = gap(end)
            && g < toks.len()
            && movable_over(&toks[g], false)
        {
            let off = if toks[g].kind.is_none() { 0 } else { 1 };
            end = Loc { tok: g, off };
        }
        if depth_at(start) != min || depth_at(end) != min {
            let names = toks[c.start.tok..=c.end.tok]
                .iter()
                .filter(|t| matches!(t.kind, Some(TagKind::Var { .. })))
                .map(|t| t.orig)
                .collect();
            return Err((toks[c.start.tok].start, names));
        }
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        // Tags are cut before (0) or after (1); text at its byte offset.
        cuts.push((start.tok, start.off, 1, index));
        cuts.push((end.tok, end.off, 0, index));
    }
    cuts.sort_unstable();
    let mut out = Vec::with_capacity(toks.len() + cuts.len() * 2);
    let mut cuts = cuts.into_iter().peekable();
    for (i, t) in toks.into_iter().enumerate() {
        let marker = |kind: TagKind, start: usize, t: &Tok<'a>| Tok {
            kind: Some(kind),
            orig: "",
            text: "",
            start,
            end: start,
            delims: t.delims,
            standalone: false,
            indent: "",
            line: t.line,
            judged: Judged::None,
        };
        let kind_of = |open: u8, index: u32| {
            if open == 1 {
                TagKind::ScalarOpen(index)
            } else {
                TagKind::ScalarClose
            }
        };
        match t.kind {
            None => {
                let mut from = 0;
                while let Some(&(_, off, open, index)) = cuts.peek().filter(|c| c.0 == i) {
                    cuts.next();
                    if off > from {
                        out.push(Tok {
                            orig: &t.text[from..off],
                            text: &t.text[from..off],
                            start: t.start + from,
                            end: t.start + off,
                            ..t
                        });
                        from = off;
                    }
                    out.push(marker(kind_of(open, index), t.start + off, &t));
                }
                if from == 0 {
                    out.push(t);
                } else if from < t.text.len() {
                    out.push(Tok {
                        orig: &t.text[from..],
                        text: &t.text[from..],
                        start: t.start + from,
                        ..t
                    });
                }
            }
            Some(_) => {
                while let Some(&(_, _, open, index)) = cuts.peek().filter(|c| c.0 == i && c.1 == 0)
                {
                    cuts.next();
                    out.push(marker(kind_of(open, index), t.start, &t));
                }
                let end = t.end;
                let line = t.line;
                let delims = t.delims;
                out.push(t);
                while let Some(&(_, _, open, index)) = cuts.peek().filter(|c| c.0 == i) {
                    cuts.next();
                    out.push(Tok {
                        kind: Some(kind_of(open, index)),
                        orig: "",
                        text: "",
                        start: end,
                        end,
                        delims,
                        standalone: false,
                        indent: "",
                        line,
                        judged: Judged::None,
                    });
                }
            }
        }
    }
    Ok(out)
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
    Section {
        inverted: bool,
    },
    Parent,
    Block,
    /// A composite scalar, by its index in [`Builder::scalars`].
    Scalar(u32),
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
    /// The composite scalars, by the index their open token carries.
    scalars: Vec<Composite>,
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
        scalars: Vec::new(),
    };
    let mut toks = lex(text, 0, &mut table).map_err(|(k, off)| b.syntax(k, off))?;
    mark_standalone(&mut toks);
    if escape == Escape::Yaml {
        b.scalars = scan_yaml(&mut toks);
        toks = group_scalars(toks, &b.scalars).map_err(|(start, names)| {
            b.scalar_error(
                start,
                &names,
                "a section opens inside it and closes after it (or the other way round), so the text it is made of depends on the data in a way kit cannot judge",
                "keep each section's {{#name}} and {{/name}} both inside the scalar or both outside it, or quote the whole scalar in the template",
            )
        })?;
    }
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

    fn scalar_error(
        &self,
        local: usize,
        names: &[&str],
        reason: &str,
        hint: &'static str,
    ) -> Error {
        Error::UnrepresentableScalar {
            names: crate::error::list_names(names),
            reason: reason.into(),
            hint,
            location: self.location(local),
        }
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

    fn build(self) -> Result<Vec<Node>, Error> {
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
                        | TagKind::ScalarOpen(_)
                        | TagKind::ScalarClose
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
                    let escape = match (escaped, self.escape, t.judged) {
                        (false, Escape::Yaml, Judged::At(pos)) => VarEscape::Raw(Some(pos)),
                        (false, _, _) | (true, Escape::None, _) => VarEscape::Raw(None),
                        (true, Escape::Html, _) => VarEscape::Html,
                        (true, Escape::Yaml, Judged::At(pos)) => {
                            // A fragment is written as it is: the scalar
                            // around it judges the whole.
                            if matches!(pos, YamlPosition::Fragment(_))
                                && !stack.iter().any(|f| matches!(f.kind, FrameKind::Scalar(_)))
                            {
                                return Err(self
                                    .yaml_error(i, "inside a plain scalar kit could not follow"));
                            }
                            VarEscape::Yaml(pos)
                        }
                        (true, Escape::Yaml, Judged::Refused(why)) => {
                            return Err(self.yaml_error(i, why));
                        }
                        (true, Escape::Yaml, Judged::None) => {
                            return Err(self.yaml_error(i, "where the YAML scan did not reach"));
                        }
                    };
                    Node::Var {
                        name,
                        escape,
                        pos: self.map.map(start),
                    }
                }
                Some(TagKind::Partial) => {
                    if let Judged::Refused(why) = t.judged {
                        return Err(self.yaml_error(i, why));
                    }
                    Node::Partial {
                        name: self.partial_ref(i)?,
                        indent: t.standalone.then(|| t.indent.into()),
                        pos: self.map.map(start),
                    }
                }
                Some(k @ (TagKind::Open { .. } | TagKind::Parent | TagKind::Block)) => {
                    if let Judged::Refused(why) = t.judged {
                        return Err(self.yaml_error(i, why));
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
                Some(TagKind::ScalarOpen(index)) => {
                    stack.push(Frame {
                        kind: FrameKind::Scalar(index),
                        tok: i,
                        nodes: Vec::new(),
                    });
                    continue;
                }
                Some(TagKind::ScalarClose) => {
                    let frame = stack.pop().expect("root frame");
                    let FrameKind::Scalar(index) = frame.kind else {
                        return Err(
                            self.yaml_error(i, "where a plain scalar kit could not follow ends")
                        );
                    };
                    let c = self.scalars[index as usize];
                    Node::Scalar(Box::new(Scalar {
                        body: frame.nodes,
                        flow: c.flow,
                        key: c.key,
                        raw: c.raw,
                        pos: self.map.map(self.toks[frame.tok].start),
                    }))
                }
                Some(TagKind::Close) => {
                    let frame = stack.pop().expect("root frame");
                    if matches!(frame.kind, FrameKind::Root | FrameKind::Scalar(_)) {
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
            FrameKind::Root | FrameKind::Scalar(_) => unreachable!("checked by the caller"),
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
