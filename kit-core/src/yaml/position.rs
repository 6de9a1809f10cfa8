//! Judging a tag's YAML position from the template text around it.
//!
//! The scanner reads the template's literal text in source order, the way a
//! YAML reader would, treating every tag as an opaque piece of scalar text.
//! For each `{{name}}` it answers: is it a whole plain scalar (mapping key or
//! value, sequence or flow item), part of a larger plain scalar, inside a
//! double- or single-quoted scalar, inside a comment, or inside a block
//! scalar (and at which indentation).
//!
//! It also follows each plain scalar from its first piece to its last: a
//! scalar made of several pieces (literal text, values, sections on its
//! line) of which at least one is an escaped value is a [`Composite`],
//! judged as a whole when it is rendered (written plain only when the
//! assembled text reads back as itself, else quoted).
//!
//! Limits, documented: a plain scalar is taken to end at the end of its line
//! (multi-line plain scalars are not followed), and section tags are treated
//! as transparent, so the text a section wraps is judged as if it rendered
//! once. The rendered document is parsed and checked by kit afterwards.

/// The YAML position of an escaped interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlPosition {
    /// The tag is a whole plain scalar: `key: {{v}}`, `- {{v}}`, `{{k}}: v`,
    /// `[{{a}}, {{b}}]`. Strings that would read back differently are
    /// written double-quoted.
    Plain {
        /// Inside a flow collection (`[...]` or `{...}`).
        flow: bool,
        /// A mapping key (`{{k}}: v`).
        key: bool,
    },
    /// The tag is part of a larger plain scalar: `image: repo/{{name}}:{{tag}}`.
    /// The value cannot be quoted there, so unsafe values are refused.
    Fragment(FragmentPos),
    /// Inside `"..."`.
    DoubleQuoted,
    /// Inside `'...'`.
    SingleQuoted,
    /// After `#`.
    Comment,
    /// Inside a `|` or `>` block scalar.
    Block {
        /// The block's content indentation, in spaces.
        indent: u32,
        /// `>` rather than `|`.
        folded: bool,
        /// The tag starts the block's first line, whose indentation the
        /// reader uses to detect the block's indentation.
        first_line: bool,
    },
}

/// Where a fragment sits in its plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentPos {
    /// Inside a flow collection.
    pub flow: bool,
    /// The tag starts the scalar.
    pub at_start: bool,
    /// The tag ends the scalar.
    pub at_end: bool,
    /// The template has white space right before the tag.
    pub after_space: bool,
    /// The template has white space right after the tag.
    pub before_space: bool,
}

impl YamlPosition {
    /// The position in words, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            YamlPosition::Plain { .. } => "as a plain scalar",
            YamlPosition::Fragment(_) => "inside a larger plain (unquoted) scalar",
            YamlPosition::DoubleQuoted => "inside a double-quoted scalar",
            YamlPosition::SingleQuoted => "inside a single-quoted scalar",
            YamlPosition::Comment => "inside a comment",
            YamlPosition::Block { folded: true, .. } => "inside a folded block scalar (>)",
            YamlPosition::Block { folded: false, .. } => "inside a literal block scalar (|)",
        }
    }
}

/// Why a tag's position is not one kit can escape for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PositionError(pub &'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Double {
        escaped: bool,
    },
    Single {
        maybe_close: bool,
    },
    Comment,
    /// After `&`, `*` or `!`: an anchor, alias or tag name.
    Property,
    /// The rest of a block scalar header line (`|2-  # comment`).
    BlockHeader,
}

/// A place in the template's token stream: the token and, for literal
/// text, the byte offset in its text; for a tag, 0 (before it) or 1 (after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    pub tok: usize,
    pub off: usize,
}

/// A plain scalar made of several pieces, at least one of them an escaped
/// value (a [`YamlPosition::Fragment`]): from the start of its first piece
/// to the end of its last (white space around it excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Composite {
    pub start: Loc,
    pub end: Loc,
    /// Inside a flow collection.
    pub flow: bool,
    /// A mapping key (ended by `:`).
    pub key: bool,
    /// One of its pieces is a raw value (`{{{name}}}`), which kit does not
    /// quote.
    pub raw: bool,
}

/// The plain scalar being read.
#[derive(Debug, Clone, Copy)]
struct Track {
    start: Loc,
    /// The end of its last piece so far.
    last: Loc,
    fragment: bool,
    raw: bool,
}

#[derive(Debug, Clone, Copy)]
struct BlockScalar {
    parent_indent: usize,
    content_indent: Option<usize>,
    folded: bool,
}

/// The scanner. Feed it literal text and tags in source order.
#[derive(Debug)]
pub(crate) struct Scanner {
    mode: Mode,
    col: usize,
    only_spaces: bool,
    line_indent: usize,
    plain: bool,
    prev_ws: bool,
    flow: usize,
    block: Option<BlockScalar>,
    in_block_content: bool,
    pending_block: Option<(bool, Option<usize>)>,
    /// The token being fed (for [`Loc`]s).
    tok: usize,
    track: Option<Track>,
    composites: Vec<Composite>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            mode: Mode::Normal,
            col: 0,
            only_spaces: true,
            line_indent: 0,
            plain: false,
            prev_ws: true,
            flow: 0,
            block: None,
            in_block_content: false,
            pending_block: None,
            tok: 0,
            track: None,
            composites: Vec::new(),
        }
    }
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_flow_indicator(c: char) -> bool {
    matches!(c, ',' | '[' | ']' | '{' | '}')
}

impl Scanner {
    /// Says which token the next calls feed (for the [`Loc`]s of
    /// composites).
    pub fn at_token(&mut self, tok: usize) {
        self.tok = tok;
    }

    /// Feeds literal text. `after` is the character that follows it (`\0`
    /// for a tag that outputs something, `None` at the end of the template).
    pub fn text(&mut self, text: &str, after: Option<char>) {
        let mut it = text.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            let next = it.peek().map(|&(_, n)| n).or(after);
            self.char(c, next, i);
        }
    }

    /// The end of the template: the composites found, in source order.
    pub fn finish(mut self) -> Vec<Composite> {
        self.end_scalar(false);
        self.composites
    }

    /// The plain scalar being read ends (`key`: by a `:` indicator).
    fn end_scalar(&mut self, key: bool) {
        self.plain = false;
        if let Some(t) = self.track.take()
            && t.fragment
        {
            self.composites.push(Composite {
                start: t.start,
                end: t.last,
                flow: self.flow > 0,
                key,
                raw: t.raw,
            });
        }
    }

    /// A piece of a plain scalar ends at `last`.
    fn piece(&mut self, last: Loc) {
        if let Some(t) = &mut self.track {
            t.last = last;
        }
    }

    fn newline(&mut self) {
        match self.mode {
            Mode::Comment | Mode::Property | Mode::BlockHeader => self.mode = Mode::Normal,
            Mode::Single { maybe_close: true } => self.mode = Mode::Normal,
            _ => {}
        }
        if let Some((folded, explicit)) = self.pending_block.take() {
            let parent_indent = self.line_indent;
            self.block = Some(BlockScalar {
                parent_indent,
                content_indent: explicit.map(|e| parent_indent + e),
                folded,
            });
        }
        self.end_scalar(false);
        self.col = 0;
        self.only_spaces = true;
        self.prev_ws = true;
        self.in_block_content = false;
    }

    /// Handles the first non-space thing on a line: decides whether an open
    /// block scalar goes on.
    fn line_content_starts(&mut self) {
        self.only_spaces = false;
        self.line_indent = self.col;
        if let Some(b) = &mut self.block {
            match b.content_indent {
                None if self.col > b.parent_indent => {
                    b.content_indent = Some(self.col);
                    self.in_block_content = true;
                }
                Some(ci) if self.col >= ci => self.in_block_content = true,
                _ => self.block = None,
            }
        }
    }

    /// One character of literal text, at byte `at` of the current token.
    fn char(&mut self, c: char, next: Option<char>, at: usize) {
        if c == '\n' {
            self.newline();
            return;
        }
        match self.mode {
            Mode::Double { escaped } => {
                self.mode = match (escaped, c) {
                    (true, _) => Mode::Double { escaped: false },
                    (false, '\\') => Mode::Double { escaped: true },
                    (false, '"') => {
                        self.plain = true; // a complete scalar: what follows is not a start
                        Mode::Normal
                    }
                    _ => Mode::Double { escaped: false },
                };
                self.col += 1;
                return;
            }
            Mode::Single { maybe_close } => {
                self.col += 1;
                if maybe_close {
                    if c == '\'' {
                        self.mode = Mode::Single { maybe_close: false };
                        return;
                    }
                    self.mode = Mode::Normal;
                    self.plain = true;
                    // fall through: `c` is the first character after the scalar
                } else {
                    if c == '\'' {
                        self.mode = Mode::Single { maybe_close: true };
                    }
                    return;
                }
            }
            Mode::Comment => return,
            Mode::BlockHeader => {
                if c == '#' && self.prev_ws {
                    self.mode = Mode::Comment;
                } else if let (Some(d), Some((_, explicit))) =
                    (c.to_digit(10), self.pending_block.as_mut())
                {
                    *explicit = Some(d as usize);
                }
                self.prev_ws = is_ws(c);
                return;
            }
            Mode::Property => {
                if is_ws(c) {
                    self.mode = Mode::Normal;
                    self.prev_ws = true;
                }
                return;
            }
            Mode::Normal => {}
        }
        if self.only_spaces {
            if c == ' ' {
                self.col += 1;
                return;
            }
            self.line_content_starts();
        }
        self.col += 1;
        if self.in_block_content {
            return;
        }
        let next_ws = next.is_none_or(|n| is_ws(n) || n == '\n' || n == '\r');
        if is_ws(c) || c == '\r' {
            self.prev_ws = true;
            return;
        }
        let was_ws = self.prev_ws;
        self.prev_ws = false;
        if c == '#' && was_ws {
            self.mode = Mode::Comment;
            self.end_scalar(false);
            return;
        }
        if c == ':' && (next_ws || (self.flow > 0 && next.is_some_and(is_flow_indicator))) {
            self.end_scalar(true);
            self.prev_ws = true;
            return;
        }
        let here = Loc {
            tok: self.tok,
            off: at + c.len_utf8(),
        };
        if self.plain {
            if self.flow > 0 && is_flow_indicator(c) {
                self.end_scalar(false);
                self.flow_indicator(c);
            } else {
                self.piece(here);
            }
            return;
        }
        // At the start of a node.
        match c {
            '-' | '?' if next_ws => self.prev_ws = true,
            '"' => self.mode = Mode::Double { escaped: false },
            '\'' => self.mode = Mode::Single { maybe_close: false },
            ',' | '[' | ']' | '{' | '}' => self.flow_indicator(c),
            '|' | '>' if self.flow == 0 => {
                self.pending_block = Some((c == '>', None));
                self.mode = Mode::BlockHeader;
            }
            '&' | '*' | '!' => self.mode = Mode::Property,
            '%' if self.col == 1 => self.mode = Mode::Comment,
            _ => {
                self.plain = true;
                self.track = Some(Track {
                    start: Loc {
                        tok: self.tok,
                        off: at,
                    },
                    last: here,
                    fragment: false,
                    raw: false,
                });
            }
        }
    }

    fn flow_indicator(&mut self, c: char) {
        match c {
            '[' | '{' => self.flow += 1,
            ']' | '}' => self.flow = self.flow.saturating_sub(1),
            _ => {}
        }
        self.prev_ws = true;
    }

    /// Judges the position of an escaped interpolation at the current point.
    /// `after` is the template text that follows the tag up to the end of its
    /// line (tags in it replaced by `\0`, ending with `\n` at the end of the
    /// template). `raw`: the tag is `{{{name}}}` (or `{{& name}}`).
    pub fn value(&mut self, after: &str, raw: bool) -> Result<YamlPosition, PositionError> {
        match self.mode {
            Mode::Double { .. } => return Ok(YamlPosition::DoubleQuoted),
            Mode::Single { maybe_close: false } => return Ok(YamlPosition::SingleQuoted),
            Mode::Single { maybe_close: true } => {
                return Err(PositionError("directly after a quoted scalar"));
            }
            Mode::Comment => return Ok(YamlPosition::Comment),
            Mode::BlockHeader => return Err(PositionError("inside a block scalar header")),
            Mode::Property => {
                return Err(PositionError(
                    "inside an anchor, alias or tag name (&, *, !)",
                ));
            }
            Mode::Normal => {}
        }
        if self.only_spaces {
            let detecting = self.block.is_some_and(|b| b.content_indent.is_none());
            self.line_content_starts();
            if let (true, Some(b)) = (self.in_block_content, self.block) {
                self.col += 1;
                return Ok(YamlPosition::Block {
                    indent: b.content_indent.unwrap_or(0) as u32,
                    folded: b.folded,
                    first_line: detecting,
                });
            }
        } else if let (true, Some(b)) = (self.in_block_content, self.block) {
            self.col += 1;
            return Ok(YamlPosition::Block {
                indent: b.content_indent.unwrap_or(0) as u32,
                folded: b.folded,
                first_line: false,
            });
        }
        let flow = self.flow > 0;
        let at_start = !self.plain;
        if !at_start && self.track.is_none() {
            // `"quoted"{{name}}`: not a plain scalar at all.
            return Err(PositionError("directly after a quoted scalar"));
        }
        let rest = after.trim_start_matches([' ', '\t']);
        let spaced = rest.len() != after.len();
        let key = !spaced
            && after.starts_with(':')
            && after[1..].chars().next().is_none_or(|n| {
                is_ws(n) || n == '\n' || n == '\r' || (flow && is_flow_indicator(n))
            });
        let at_end = rest.is_empty()
            || rest.starts_with('\n')
            || rest.starts_with("\r\n")
            || (spaced && rest.starts_with('#'))
            || key
            || (!spaced && flow && after.starts_with([',', ']', '}']));
        let pos = if at_start && at_end {
            YamlPosition::Plain { flow, key }
        } else {
            YamlPosition::Fragment(FragmentPos {
                flow,
                at_start,
                at_end,
                after_space: self.prev_ws,
                before_space: spaced,
            })
        };
        let before = Loc {
            tok: self.tok,
            off: 0,
        };
        let after_tag = Loc {
            tok: self.tok,
            off: 1,
        };
        let t = self.track.get_or_insert(Track {
            start: before,
            last: after_tag,
            fragment: false,
            raw: false,
        });
        if at_start {
            *t = Track {
                start: before,
                last: after_tag,
                fragment: false,
                raw: false,
            };
        }
        t.last = after_tag;
        if matches!(pos, YamlPosition::Fragment(_)) {
            if raw {
                t.raw = true;
            } else {
                t.fragment = true;
            }
        }
        self.plain = true;
        self.prev_ws = false;
        self.col += 1;
        Ok(pos)
    }

    /// A raw (unescaped) interpolation: its text becomes part of a scalar.
    pub fn raw_value(&mut self) {
        if matches!(self.mode, Mode::Normal) {
            if self.only_spaces {
                self.line_content_starts();
            }
            if !self.in_block_content {
                self.plain = true;
                self.prev_ws = false;
            }
        }
        self.col += 1;
    }

    /// A partial or parent inserted here: only allowed where whole YAML
    /// lines or nodes can go.
    pub fn insertion(&mut self) -> Result<(), PositionError> {
        match self.mode {
            Mode::Normal if !self.in_block_content => {
                if self.plain {
                    // Its text is part of the plain scalar around it.
                    self.piece(Loc {
                        tok: self.tok,
                        off: 1,
                    });
                }
                Ok(())
            }
            Mode::Normal => Err(PositionError("inside a block scalar")),
            Mode::Double { .. } | Mode::Single { .. } => {
                Err(PositionError("inside a quoted scalar"))
            }
            Mode::Comment => Err(PositionError("inside a comment")),
            _ => Err(PositionError("inside a YAML property or block header")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positions of every `@` in a template; `@` stands for `{{x}}`.
    fn positions(template: &str) -> Vec<YamlPosition> {
        let mut sc = Scanner::default();
        let parts: Vec<&str> = template.split('@').collect();
        let mut out = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let has_tag_after = i + 1 < parts.len();
            sc.text(part, has_tag_after.then_some('\0'));
            if has_tag_after {
                let next = parts[i + 1];
                let mut after = match next.find('\n') {
                    Some(j) => next[..=j].to_string(),
                    None => next.to_string(),
                };
                if !after.ends_with('\n') {
                    after.push(if i + 2 < parts.len() { '\0' } else { '\n' });
                }
                out.push(sc.value(&after, false).unwrap());
            }
        }
        out
    }

    const PLAIN: YamlPosition = YamlPosition::Plain {
        flow: false,
        key: false,
    };
    const KEY: YamlPosition = YamlPosition::Plain {
        flow: false,
        key: true,
    };

    #[test]
    fn plain_positions() {
        assert_eq!(positions("key: @\n"), [PLAIN]);
        assert_eq!(positions("key: @  # note\n"), [PLAIN]);
        assert_eq!(positions("- @\n"), [PLAIN]);
        assert_eq!(positions("@: value\n"), [KEY]);
        assert_eq!(positions("a:\n  - name: @\n    value: @"), [PLAIN, PLAIN]);
        assert_eq!(
            positions("args: [@, @]\n"),
            [
                YamlPosition::Plain {
                    flow: true,
                    key: false
                },
                YamlPosition::Plain {
                    flow: true,
                    key: false
                }
            ]
        );
        assert_eq!(
            positions("m: {@: x}\n"),
            [YamlPosition::Plain {
                flow: true,
                key: true
            }]
        );
    }

    #[test]
    fn quoted_and_comment_positions() {
        assert_eq!(positions("k: \"a @ b\"\n"), [YamlPosition::DoubleQuoted]);
        assert_eq!(positions("k: \"\\\"@\"\n"), [YamlPosition::DoubleQuoted]);
        assert_eq!(positions("k: 'it''s @'\n"), [YamlPosition::SingleQuoted]);
        assert_eq!(positions("k: v # @\n"), [YamlPosition::Comment]);
        assert_eq!(positions("# @\nk: @\n"), [YamlPosition::Comment, PLAIN]);
        assert_eq!(positions("k: \"#\" \n j: @"), [PLAIN]);
    }

    #[test]
    fn fragments() {
        let p = positions("image: repo/@:@\n");
        assert!(matches!(p[0], YamlPosition::Fragment(f) if !f.at_start && !f.at_end));
        assert!(matches!(p[1], YamlPosition::Fragment(f) if !f.at_start && f.at_end));
        let p = positions("k: @-suffix\n");
        assert!(matches!(p[0], YamlPosition::Fragment(f) if f.at_start && !f.at_end));
    }

    #[test]
    fn block_scalars() {
        assert_eq!(
            positions("data:\n  script: |\n    @\n    echo @\n  other: @\n"),
            [
                YamlPosition::Block {
                    indent: 4,
                    folded: false,
                    first_line: true
                },
                YamlPosition::Block {
                    indent: 4,
                    folded: false,
                    first_line: false
                },
                PLAIN,
            ]
        );
        assert_eq!(
            positions("k: >-  # c\n  text @\n"),
            [YamlPosition::Block {
                indent: 2,
                folded: true,
                first_line: false
            }]
        );
        assert_eq!(
            positions("k: |2\n    @\n"),
            [YamlPosition::Block {
                indent: 2,
                folded: false,
                first_line: false
            }]
        );
    }

    #[test]
    fn properties_are_refused() {
        let mut sc = Scanner::default();
        sc.text("k: &", Some('\0'));
        assert!(sc.value("\n", false).is_err());
    }
}
