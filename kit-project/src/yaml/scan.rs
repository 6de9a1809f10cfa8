//! The fast reader of the tree (`tree.rs`): one pass over the lines of a
//! document in the block YAML that manifests are written in, building the
//! same tree as the event parser without its per-character state machine.
//!
//! What it reads: block mappings and sequences indented with spaces (a
//! sequence may sit at its key's indentation; `- key: value` starts a
//! mapping in an item), one-line plain, single- and double-quoted scalars
//! (all of YAML's escapes), literal block scalars (`|`, `|-`, `|+`), the
//! empty flow collections `{}` and `[]`, comments and blank lines.
//!
//! Everything else makes [`scan`] return `None` and the caller use the event
//! parser: anchors, aliases, tags, directives, document markers, flow
//! collections with content, folded (`>`) scalars and explicit indentation
//! indicators, plain or quoted scalars over several lines, complex keys,
//! tabs, carriage returns, characters YAML forbids or reads as line breaks,
//! duplicate keys, and every malformed document. Giving up is always
//! correct; accepting is only allowed where the tree is exactly the event
//! parser's.

use std::borrow::Cow;

use crate::yaml::tree::{Entry, Keys, Kind, Node};

/// The longest implicit key YAML allows.
const MAX_KEY: usize = 1024;

/// The tree of `doc`, or `None` when the event parser must read it.
pub(crate) fn scan(doc: &str) -> Option<Node<'_>> {
    let all_ascii = plain_text(doc)?;
    let mut lines = Vec::with_capacity(doc.len() / 24 + 1);
    let body = doc.strip_suffix('\n').unwrap_or(doc);
    let mut from = 0;
    for end in memchr::memchr_iter(b'\n', body.as_bytes()).chain([body.len()]) {
        let text = &body[from..end];
        from = end + 1;
        if text.starts_with("---") || text.starts_with("...") {
            return None; // a document marker or something that looks like one
        }
        let indent = text.bytes().take_while(|&b| b == b' ').count();
        let rest = &text[indent..];
        lines.push(Line {
            text,
            indent,
            blank: rest.is_empty() || rest.starts_with('#'),
            ascii: all_ascii || rest.is_ascii(),
        });
    }
    let mut s = Scanner { lines, i: 0 };
    s.skip_blank();
    let first = s.peek()?;
    if first.dash() {
        return None;
    }
    let root = s.block(first.indent)?;
    if !matches!(root.kind, Kind::Map { .. }) {
        return None;
    }
    s.skip_blank();
    (s.i == s.lines.len()).then_some(root)
}

/// Whether `doc` holds only characters the scanner handles: no tab, no
/// carriage return, no control character, nothing YAML forbids or could read
/// as a line break or byte order mark. `Some(true)` when it is all ASCII.
fn plain_text(doc: &str) -> Option<bool> {
    // A block of bytes at a time, without stopping inside one, so that the
    // compiler can check many bytes per instruction.
    let mut high = 0u8;
    for block in doc.as_bytes().chunks(64) {
        let mut bad = false;
        for &b in block {
            bad |= (b < 0x20 && b != b'\n') | (b == 0x7f);
            high |= b;
        }
        if bad {
            return None;
        }
    }
    if high < 0x80 {
        return Some(true);
    }
    let forbidden = doc.chars().any(|c| {
        matches!(
            c,
            '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
    });
    (!forbidden).then_some(false)
}

#[derive(Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    indent: usize,
    /// Only spaces, or a comment.
    blank: bool,
    ascii: bool,
}

impl Line<'_> {
    /// The 1-based column (in characters, as the parser counts) of byte
    /// `at`.
    fn column(&self, at: usize) -> usize {
        if self.ascii {
            at + 1
        } else {
            self.text[..at].chars().count() + 1
        }
    }

    /// Whether the line is a sequence entry (`-` then a space or its end).
    fn dash(&self) -> bool {
        is_indicator(&self.text[self.indent..], b'-')
    }
}

/// Whether `s` starts with the indicator `c` followed by a space or nothing.
fn is_indicator(s: &str, c: u8) -> bool {
    let b = s.as_bytes();
    b.first() == Some(&c) && matches!(b.get(1), None | Some(b' '))
}

/// Whether what follows a scalar on its line is nothing, spaces, or spaces
/// and a comment.
fn only_comment(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < rest.len())
}

/// How the text at a position reads as a key.
enum KeyRead<'a> {
    /// A key, its text, and the byte index just after its `:`.
    Key(Cow<'a, str>, usize),
    /// Not a key (a scalar).
    NotKey,
    /// Something the scanner does not read.
    GiveUp,
}

struct Scanner<'a> {
    lines: Vec<Line<'a>>,
    /// The next line to read.
    i: usize,
}

impl<'a> Scanner<'a> {
    fn skip_blank(&mut self) {
        while self.lines.get(self.i).is_some_and(|l| l.blank) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.i).copied()
    }

    /// The null a key or entry without a value has, where the event parser
    /// puts it (at byte `col` of line `li`: the `:` of a key; the end of an
    /// entry's line).
    fn null(&self, li: usize, col: usize) -> Node<'a> {
        Node {
            kind: Kind::Scalar {
                text: Cow::Borrowed("~"),
                plain: true,
            },
            line: li + 1,
            column: self.lines[li].column(col),
        }
    }

    /// A block node whose first line (the next one) is at `indent`.
    fn block(&mut self, indent: usize) -> Option<Node<'a>> {
        let line = self.peek()?;
        if line.dash() {
            self.seq(indent, false)
        } else {
            self.map(indent, self.i, indent)
        }
    }

    /// A block mapping at `indent` whose first key is on line `li` at byte
    /// `col` (a `- key: value` item puts it after the dash).
    fn map(&mut self, indent: usize, mut li: usize, mut col: usize) -> Option<Node<'a>> {
        // Most manifest mappings have a handful of keys.
        let mut entries = Vec::with_capacity(6);
        let mut keys = Keys::default();
        let (line, column) = (li + 1, self.lines[li].column(col));
        loop {
            let text = self.lines[li].text;
            let KeyRead::Key(key, after) = read_key(text, col) else {
                return None;
            };
            if !keys.insert(&entries, &key) {
                return None; // the event parser reports it
            }
            self.i = li + 1;
            let value = self.value(li, after, indent, after - 1)?;
            entries.push(Entry {
                key,
                alias: false,
                line: li + 1,
                column: self.lines[li].column(col),
                value,
            });
            self.skip_blank();
            let Some(next) = self.peek() else { break };
            if next.indent < indent {
                break;
            }
            if next.indent > indent || next.dash() {
                return None;
            }
            (li, col) = (self.i, indent);
        }
        Some(Node {
            kind: Kind::Map {
                entries,
                flow: false,
            },
            line,
            column,
        })
    }

    /// A block sequence at `indent` (its first entry is the next line).
    /// `indentless` when it is a value at its key's indentation: the
    /// parser then places it at its first entry's content, not its `-`.
    fn seq(&mut self, indent: usize, indentless: bool) -> Option<Node<'a>> {
        let mut items = Vec::new();
        let mut at = (self.i + 1, indent + 1);
        loop {
            let li = self.i;
            let text = self.lines[li].text;
            let start = indent + 1;
            let col = start + text[start..].len() - text[start..].trim_start_matches(' ').len();
            let rest = &text[col..];
            let empty = rest.is_empty() || rest.starts_with('#');
            if indentless && items.is_empty() {
                if empty {
                    return None;
                }
                at.1 = self.lines[li].column(col);
            }
            let item = if empty {
                // The entry's node is on the lines below, or it is null.
                self.i = li + 1;
                self.skip_blank();
                match self.peek() {
                    Some(next) if next.indent > indent => self.block(next.indent)?,
                    _ => self.null(li, text.len()),
                }
            } else if is_indicator(rest, b'-') {
                return None; // `- - x`
            } else {
                match read_key(text, col) {
                    KeyRead::Key(..) => self.map(col, li, col)?,
                    KeyRead::NotKey => {
                        self.i = li + 1;
                        self.inline(li, col, indent)?
                    }
                    KeyRead::GiveUp => return None,
                }
            };
            items.push(item);
            self.skip_blank();
            match self.peek() {
                Some(next) if next.indent == indent && next.dash() => {}
                Some(next) if next.indent > indent => return None,
                _ => break,
            }
        }
        Some(Node {
            kind: Kind::Seq(items),
            line: at.0,
            column: at.1,
        })
    }

    /// The value of a key on line `li` whose `:` is at byte `colon`, read
    /// from byte `after` on: on the same line, or the block below (more
    /// indented than the mapping at `indent`, or a sequence at `indent`), or
    /// null.
    fn value(&mut self, li: usize, after: usize, indent: usize, colon: usize) -> Option<Node<'a>> {
        let text = self.lines[li].text;
        let col = after + text[after..].len() - text[after..].trim_start_matches(' ').len();
        let rest = &text[col..];
        if !(rest.is_empty() || rest.starts_with('#')) {
            return self.inline(li, col, indent);
        }
        self.skip_blank();
        match self.peek() {
            Some(next) if next.indent > indent => self.block(next.indent),
            Some(next) if next.indent == indent && next.dash() => self.seq(indent, true),
            _ => Some(self.null(li, colon)),
        }
    }

    /// A scalar (or `{}`, `[]`) starting at byte `col` of line `li`, inside
    /// a collection at `indent`; the lines below must not continue it.
    fn inline(&mut self, li: usize, col: usize, indent: usize) -> Option<Node<'a>> {
        let text = self.lines[li].text;
        let rest = &text[col..];
        let column = self.lines[li].column(col);
        let at = |kind| Node {
            kind,
            line: li + 1,
            column,
        };
        let node = match rest.as_bytes()[0] {
            b'|' => return self.literal(li, col, indent),
            b'"' | b'\'' => {
                let (text, len) = quoted(rest)?;
                if !only_comment(&rest[len..]) {
                    return None;
                }
                at(Kind::Scalar { text, plain: false })
            }
            b'[' if !rest.starts_with("[]") => {
                let (items, len) = self.flow_seq(li, col)?;
                if !only_comment(&rest[len..]) {
                    return None;
                }
                at(Kind::Seq(items))
            }
            b'{' | b'[' => {
                let flow_map = rest.starts_with("{}");
                if !(flow_map || rest.starts_with("[]")) || !only_comment(&rest[2..]) {
                    return None;
                }
                at(if flow_map {
                    Kind::Map {
                        entries: Vec::new(),
                        flow: true,
                    }
                } else {
                    Kind::Seq(Vec::new())
                })
            }
            _ => at(Kind::Scalar {
                text: Cow::Borrowed(plain_value(rest)?),
                plain: true,
            }),
        };
        self.skip_blank();
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(node),
        }
    }

    /// A one-line flow sequence of scalars starting at byte `col` of line
    /// `li` (`["--queue", jobs]`): its items and its length in bytes.
    fn flow_seq(&self, li: usize, col: usize) -> Option<(Vec<Node<'a>>, usize)> {
        let line = self.lines[li];
        let text = line.text;
        let b = text.as_bytes();
        let mut items = Vec::new();
        let mut i = col + 1;
        loop {
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
            if b.get(i) == Some(&b']') && items.is_empty() {
                return Some((items, i + 1 - col));
            }
            let rest = &text[i..];
            let (value, len, plain) = match *b.get(i)? {
                b'"' | b'\'' => {
                    let (v, len) = quoted(rest)?;
                    (v, len, false)
                }
                c => {
                    let len = rest.find([',', ']']).unwrap_or(rest.len());
                    let v = rest[..len].trim_end_matches(' ');
                    let second = v.as_bytes().get(1);
                    if v.is_empty()
                        || v.contains([':', '#', '[', '{', '}'])
                        || (starts_special(c, v) && c != b'-')
                        || (c == b'-' && second.is_none_or(|s| *s == b' '))
                    {
                        return None;
                    }
                    (Cow::Borrowed(v), len, true)
                }
            };
            items.push(Node {
                kind: Kind::Scalar { text: value, plain },
                line: li + 1,
                column: line.column(i),
            });
            i += len;
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
            match b.get(i)? {
                b',' if b.get(i + 1) == Some(&b' ') => i += 1,
                b']' => return Some((items, i + 1 - col)),
                _ => return None,
            }
        }
    }

    /// A literal block scalar whose header (`|`, `|-`, `|+`) is at byte
    /// `col` of line `li`, inside a collection at `indent`.
    fn literal(&mut self, li: usize, col: usize, indent: usize) -> Option<Node<'a>> {
        let header = &self.lines[li].text[col + 1..];
        let (keep, strip, rest) = match header.as_bytes().first() {
            Some(b'+') => (true, false, &header[1..]),
            Some(b'-') => (false, true, &header[1..]),
            _ => (false, false, header),
        };
        if !only_comment(rest) {
            return None; // an indentation indicator, or more
        }
        let first = *self.lines.get(li + 1)?;
        let ind = first.indent;
        if first.text.len() == ind || ind <= indent {
            return None; // starts blank, or is empty
        }
        let mut text = String::new();
        let mut empty = 0;
        let mut j = li + 1;
        while let Some(l) = self.lines.get(j) {
            if l.indent == l.text.len() {
                if l.text.len() > ind {
                    return None; // spaces beyond the indentation: content
                }
                empty += 1;
            } else if l.indent < ind {
                break;
            } else {
                for _ in 0..empty {
                    text.push('\n');
                }
                empty = 0;
                text.push_str(&l.text[ind..]);
                text.push('\n');
            }
            j += 1;
        }
        if strip {
            text.pop();
        } else if keep {
            for _ in 0..empty {
                text.push('\n');
            }
        }
        self.i = j;
        self.skip_blank();
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(Node {
                kind: Kind::Scalar {
                    text: Cow::Owned(text),
                    plain: false,
                },
                line: li + 2,
                column: ind + 1,
            }),
        }
    }
}

/// Reads the text at byte `col` of `text` as a key.
fn read_key(text: &str, col: usize) -> KeyRead<'_> {
    let rest = &text[col..];
    let (key, len) = match rest.as_bytes()[0] {
        b'"' | b'\'' => match quoted(rest) {
            Some(q) => q,
            None => return KeyRead::GiveUp,
        },
        c if starts_special(c, rest) => return KeyRead::GiveUp,
        _ => {
            // A plain key ends at the first `: ` (or `:` ending the line);
            // a ` #` before it starts a comment instead.
            let b = rest.as_bytes();
            let Some(end) =
                (0..b.len()).find(|&i| b[i] == b':' && matches!(b.get(i + 1), None | Some(b' ')))
            else {
                return KeyRead::NotKey;
            };
            let key = rest[..end].trim_end_matches(' ');
            if find_pair(key.as_bytes(), b' ', b'#').is_some() {
                return KeyRead::NotKey;
            }
            (Cow::Borrowed(key), end)
        }
    };
    let after = &rest[len..];
    let gap = after.len() - after.trim_start_matches(' ').len();
    if !is_indicator(&after[gap..], b':') {
        return if matches!(rest.as_bytes()[0], b'"' | b'\'') {
            KeyRead::NotKey
        } else {
            KeyRead::GiveUp
        };
    }
    if len > MAX_KEY {
        return KeyRead::GiveUp;
    }
    KeyRead::Key(key, col + len + gap + 1)
}

/// Whether a scalar starting with `c` (then `rest`) is one the scanner
/// leaves to the parser: indicators, and `-`, `?`, `:` that start a
/// structure.
fn starts_special(c: u8, rest: &str) -> bool {
    match c {
        b'-' => is_indicator(rest, b'-'),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'%' | b'@' | b'`' => true,
        _ => false,
    }
}

/// A one-line plain scalar (`rest` starts it): up to a comment, without
/// trailing spaces; `None` when it holds `: ` (a mapping the parser refuses)
/// or starts with an indicator.
fn plain_value(rest: &str) -> Option<&str> {
    if starts_special(rest.as_bytes()[0], rest) {
        return None;
    }
    let b = rest.as_bytes();
    let end = find_pair(b, b' ', b'#').unwrap_or(b.len());
    let v = rest[..end].trim_end_matches(' ');
    let vb = v.as_bytes();
    if vb.last() == Some(&b':') || find_pair(vb, b':', b' ').is_some() {
        return None;
    }
    Some(v)
}

/// The index of the first `first` directly followed by `second` in `b`
/// (` #` starts a comment, `: ` a mapping): a byte loop, cheaper than a
/// substring search on text this short.
fn find_pair(b: &[u8], first: u8, second: u8) -> Option<usize> {
    (1..b.len())
        .find(|&i| b[i] == second && b[i - 1] == first)
        .map(|i| i - 1)
}

/// A quoted scalar at the start of `s` (its quote first), ending on the same
/// line: its text and its length in bytes, quotes included.
fn quoted(s: &str) -> Option<(Cow<'_, str>, usize)> {
    let b = s.as_bytes();
    let q = b[0];
    let mut out: Option<String> = None;
    let mut from = 1;
    let mut i = 1;
    loop {
        let c = *b.get(i)?;
        if c == q {
            if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                out.get_or_insert_with(String::new).push_str(&s[from..=i]);
                i += 2;
                from = i;
                continue;
            }
            let text = match out {
                None => Cow::Borrowed(&s[1..i]),
                Some(mut o) => {
                    o.push_str(&s[from..i]);
                    Cow::Owned(o)
                }
            };
            return Some((text, i + 1));
        }
        if c == b'\\' && q == b'"' {
            let o = out.get_or_insert_with(String::new);
            o.push_str(&s[from..i]);
            let (ch, len) = escape(&s[i + 1..])?;
            o.push(ch);
            i += 1 + len;
            from = i;
            continue;
        }
        i += 1;
    }
}

/// A double-quoted escape (after its backslash): the character and how many
/// bytes it took.
fn escape(s: &str) -> Option<(char, usize)> {
    let hex = |n: usize| {
        let digits = s.get(1..=n)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        char::from_u32(u32::from_str_radix(digits, 16).ok()?).map(|c| (c, n + 1))
    };
    let c = match *s.as_bytes().first()? {
        b'0' => '\0',
        b'a' => '\u{7}',
        b'b' => '\u{8}',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\u{b}',
        b'f' => '\u{c}',
        b'r' => '\r',
        b'e' => '\u{1b}',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex(2),
        b'u' => return hex(4),
        b'U' => return hex(8),
        _ => return None,
    };
    Some((c, 1))
}

#[cfg(test)]
mod tests {
    //! The scanner against the event parser: wherever the scanner accepts
    //! a document, its tree must equal the parser's, positions included.

    use super::*;
    use crate::mask::Masker;
    use crate::xorshift::Rng;
    use crate::yaml::events::parse_events;

    /// Fails when the scanner accepts `doc` and reads it differently from
    /// the parser (or the parser refuses it). Returns whether it accepted.
    fn agrees(doc: &str) -> bool {
        let Some(fast) = scan(doc) else {
            return false;
        };
        match parse_events(doc, &Masker::default()) {
            Ok(slow) => assert_eq!(fast, slow, "the scanner reads differently:\n{doc}"),
            Err(e) => panic!("the scanner accepts what the parser refuses ({e:?}):\n{doc}"),
        }
        true
    }

    /// How many generated or mutated documents each test compares:
    /// `KIT_SCAN_RUNS` for a longer search (with `KIT_SCAN_SEED` to start
    /// elsewhere), else `default`.
    fn runs(default: usize) -> (usize, u64) {
        let var = |n: &str| std::env::var(n).ok().and_then(|v| v.parse().ok());
        (
            var("KIT_SCAN_RUNS").map_or(default, |v: u64| v as usize),
            var("KIT_SCAN_SEED").unwrap_or(0),
        )
    }

    /// Every YAML-looking file of the repository's fixtures and tests, as
    /// documents.
    fn corpus() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut docs = Vec::new();
        let mut dirs = vec![root.join("fixtures"), root.join("tests")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "mustache")
                {
                    let text = std::fs::read_to_string(&p).unwrap();
                    docs.extend(
                        crate::check::split_documents(&text)
                            .into_iter()
                            .map(|(_, d)| d),
                    );
                }
            }
        }
        docs.push(crate::schema::tests::DEPLOYMENT.to_owned());
        docs
    }

    #[test]
    fn reads_what_manifests_are_made_of_as_the_parser_does() {
        let cases = [
            "a: b\n",
            "apiVersion: v1\nkind: \"Svc\"   # c\nmetadata:\n  name: web\n  labels: {}\n  empty:\n  e2:\nspec:\n  ports:\n  - port: 80\n    x: 'a''b'\n  list:\n    - a\n    -\n    - c\n  lit: |\n    line1\n     line2\n\n  last: x\n",
            "a:\n  - b: 1\n    c: [] # x\n  -   d: 2\n  - \"q\": 'r'\ne: \"\\u00e9\\n\\t\\\"\\x41\\U0001F600\"\n",
            "k: |-\n  one\n\n  two\n\n\nz: |+\n  keep\n\n",
            "  indented: root\n  second: 2\n",
            "é: clé\nnext: \"é\" # comment\nk: v é\nargs: [\"--queue\", jobs, 'x''y', -1, a b]\nc: [ ] # e\n",
            "a: b # c: d\n\"x y\": z\n'p': q\nn: -1\nh: http://x:80/y\nc: a#b\n",
            "s:\n- a\n- b:\n  - c\nt: u\n",
            "m:\n\n  # comment\n  k: v   \n",
            "e: -\n",
        ];
        let mut accepted = 0;
        for doc in cases {
            let ok = agrees(doc);
            if !ok {
                eprintln!("given up: {doc:?}");
            }
            accepted += usize::from(ok);
        }
        assert_eq!(accepted, cases.len() - 1, "all but the last are read fast");
    }

    #[test]
    fn gives_up_on_what_it_does_not_read() {
        for doc in [
            "a: &x b\nc: *x\n",
            "a: !!str 3\n",
            "a: {b: c}\n",
            "a: [b: c]\n",
            "a: [[b]]\n",
            "a: [b, ]\n",
            "a: >\n  folded\n",
            "a: |2\n   x\n",
            "a: b\n  continued\n",
            "a: \"open\n  quote\"\n",
            "? complex\n: key\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: b\nb: c\na: d\n",
            "- a\n",
            "a: b: c\n",
            "a: b\n- c\n",
            "a:\n  b: 1\n c: 2\n",
            "--- a\n",
            "a: \u{85}\n",
            "a: |\n\n  blank first\n",
        ] {
            assert!(scan(doc).is_none(), "{doc:?}");
        }
    }

    #[test]
    fn reads_every_fixture_as_the_parser_does() {
        let docs = corpus();
        let mut accepted = 0;
        for d in &docs {
            accepted += usize::from(agrees(d));
        }
        // The demo's expected manifests are all on the fast path.
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/demo/expected/production-nerdearla-cluster.yaml");
        let text = std::fs::read_to_string(demo).unwrap();
        for (_, d) in crate::check::split_documents(&text) {
            assert!(scan(&d).is_some(), "not on the fast path:\n{d}");
        }
        assert!(accepted * 2 > docs.len(), "{accepted} of {}", docs.len());
    }

    /// The render fuzz target's corpus and seeds (`TEMPLATE \0 PARTIAL \0
    /// JSON`): each template as written, and rendered in YAML mode with its
    /// data as `kit render` would, read by both.
    #[test]
    fn reads_the_fuzz_corpus_as_the_parser_does() {
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let (mut seen, mut accepted) = (0, 0);
        for dir in ["corpus/render", "seeds/render"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) else {
                continue;
            };
            for e in entries {
                let Ok(text) = std::fs::read_to_string(e.unwrap().path()) else {
                    continue; // not UTF-8: the target skips it too
                };
                let mut parts = text.splitn(3, '\0');
                let template = parts.next().unwrap_or_default();
                let partial = parts.next().unwrap_or_default();
                let data = serde_json::from_str(parts.next().unwrap_or_default())
                    .unwrap_or_else(|_| serde_json::json!({"name": "web", "a": "x: y"}));
                let mut engine =
                    kit_core::Engine::new().with_undefined(kit_core::UndefinedBehavior::Lenient);
                engine.add_partial("p", partial);
                let mut texts = vec![template.to_owned()];
                if let Ok(t) = engine.compile("fuzz", template)
                    && let Ok(out) = t.render(&engine, &kit_core::Value::from(&data))
                {
                    texts.push(out);
                }
                for t in texts {
                    for (_, d) in crate::check::split_documents(&t) {
                        seen += 1;
                        accepted += usize::from(agrees(&d));
                    }
                }
            }
        }
        eprintln!("accepted {accepted} of {seen}");
        // The seeds are in the repository (the corpus only where fuzzing
        // ran), and their Deployment takes the fast path.
        assert!(seen > 100 && accepted > 0, "{accepted} of {seen}");
    }

    /// Documents generated from random trees in random (not always valid)
    /// styles.
    fn generate(r: &mut Rng, out: &mut String, depth: usize, indent: usize) {
        const KEYS: &[&str] = &[
            "a",
            "name",
            "app.kubernetes.io/name",
            "x y",
            "é",
            "y",
            "on",
            "x#y",
            "a:b",
            "-k",
            "\"q\"",
            "'s'",
            "\"a\\\"b\"",
            "'it''s'",
            "k ",
            "1",
            "~",
        ];
        const SCALARS: &[&str] = &[
            "v",
            "",
            "~",
            "null",
            "3",
            "-1",
            "a b",
            "a #b",
            "a#b",
            "http://x:1",
            "é",
            "\"\"",
            "\"a\\nb\"",
            "\"\\u00e9\"",
            "'a''b'",
            "''",
            "'#'",
            "{}",
            "[]",
            "v # c",
            "[a]",
            "[\"a\", 'b', c d]",
            "[ ]",
            "\\",
            "\"\\\\\"",
            "\"\\\"\"",
        ];
        const ODD: &[&str] = &[
            "\"\\x\"", "{ }", "- x", "x:", "a: b", "|", "|-", "\"a\" b", "'a'#c", "@x", "%x", "!x",
            "*x", "&x v", "[a, ]", "[a: b]", "[-]", "[a,b]", "{a: b}",
        ];
        let scalar = |r: &mut Rng| {
            if r.below(8) == 0 {
                r.pick(ODD)
            } else {
                r.pick(SCALARS)
            }
        };
        let pad = " ".repeat(indent);
        let entries = 1 + r.below(4);
        let seq = r.below(3) == 0;
        for _ in 0..entries {
            if r.below(6) == 0 {
                out.push_str(r.pick(&["\n", "# c\n", "   \n", "  # c\n"]));
            }
            out.push_str(&pad);
            if seq {
                out.push_str(r.pick(&["- ", "-  ", "-"]));
            } else {
                out.push_str(r.pick(KEYS));
                out.push_str(r.pick(&[":", ": ", ":  ", " :"]));
            }
            match r.below(6) {
                0 | 1 if depth < 4 => {
                    if seq && r.below(2) == 0 {
                        // a compact mapping in the entry
                        out.push_str(r.pick(KEYS));
                        out.push_str(": ");
                        out.push_str(scalar(r));
                        out.push('\n');
                        let inner = indent + 2;
                        out.push_str(&" ".repeat(inner));
                        out.push_str("other: ");
                        out.push_str(scalar(r));
                        out.push('\n');
                    } else {
                        out.push_str(r.pick(&["", " # c"]));
                        out.push('\n');
                        let step = [0, 1, 2, 2, 4][r.below(5)];
                        generate(r, out, depth + 1, indent + step);
                    }
                }
                2 => {
                    out.push_str(r.pick(&[" |", " |-", " |+", " | # c"]));
                    out.push('\n');
                    let step = 1 + r.below(3);
                    for _ in 0..1 + r.below(3) {
                        match r.below(5) {
                            0 => out.push('\n'),
                            1 => out.push_str(&" ".repeat(indent + step + 1)),
                            _ => {}
                        }
                        out.push_str(&" ".repeat(indent + step + r.below(2)));
                        out.push_str(r.pick(&["text", "# not a comment", "a: b", "- x", "é"]));
                        out.push('\n');
                    }
                }
                _ => {
                    out.push_str(r.pick(&["", " "]));
                    out.push_str(scalar(r));
                    out.push_str(r.pick(&["", " ", " # c", "", " ", " # c", "#c"]));
                    out.push('\n');
                }
            }
        }
    }

    #[test]
    fn reads_generated_documents_as_the_parser_does() {
        let (runs, seed) = runs(4000);
        let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let mut accepted = 0;
        for _ in 0..runs {
            let mut doc = String::new();
            generate(&mut r, &mut doc, 0, 0);
            accepted += usize::from(agrees(&doc));
        }
        // Enough of them take the fast path for the comparison to mean
        // something.
        eprintln!("accepted {accepted} of {runs}");
        assert!(accepted * 10 > runs, "{accepted} of {runs}");
    }

    #[test]
    fn reads_mutated_fixtures_as_the_parser_does() {
        const EDITS: &[&str] = &[
            " ", "  ", "\n", ":", ": ", "-", "- ", "#", " #", "'", "\"", "|", "|-", "|+", ">", "{",
            "}", "[", "]", "{}", "[]", "&a ", "*a", "!t ", "\\", "\\u", "é", "\t", "---", "?", ",",
            "x", "\n  ", "\n- ", "\r", "...", "%", "''",
        ];
        let docs = corpus();
        let (runs, seed) = runs(6000);
        let mut r = Rng(0x2545_f491_4f6c_dd1d ^ seed);
        let mut accepted = 0;
        for _ in 0..runs {
            let mut doc = docs[r.below(docs.len())].clone();
            for _ in 0..1 + r.below(3) {
                let mut at = r.below(doc.len() + 1);
                while !doc.is_char_boundary(at) {
                    at -= 1;
                }
                if r.below(4) == 0 {
                    let mut end = (at + 1 + r.below(5)).min(doc.len());
                    while !doc.is_char_boundary(end) {
                        end += 1;
                    }
                    doc.replace_range(at..end, "");
                } else {
                    doc.insert_str(at, r.pick(EDITS));
                }
            }
            accepted += usize::from(agrees(&doc));
        }
        eprintln!("accepted {accepted} of {runs}");
        assert!(accepted * 10 > runs, "{accepted} of {runs}");
    }
}
