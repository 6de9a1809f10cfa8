//! Writing a value at a known YAML position.

use std::fmt::Write as _;

use super::position::{FragmentPos, YamlPosition};
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::word_scan::control_and;
use crate::word_scan::{
    Special, any_marked_up_to_16, below, del_or_non_ascii, eq_bytes, find_special, load_short,
};

/// Why a value was refused. Never contains the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub reason: String,
    pub hint: &'static str,
}

fn refuse(reason: impl Into<String>, hint: &'static str) -> Refusal {
    Refusal {
        reason: reason.into(),
        hint,
    }
}

/// YAML's printable set (YAML 1.1 and 1.2, `c-printable`).
fn is_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Line breaks under YAML 1.1 (which also counts NEL, LS and PS).
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_flow_indicator(c: char) -> bool {
    matches!(c, ',' | '[' | ']' | '{' | '}')
}

/// Describes a character without revealing the rest of the value.
fn describe(c: char) -> String {
    match c {
        '\n' => "a line break".into(),
        '\r' => "a carriage return".into(),
        '\u{85}' => "a NEL line break (U+0085)".into(),
        '\u{2028}' => "a line separator (U+2028)".into(),
        '\u{2029}' => "a paragraph separator (U+2029)".into(),
        '\u{FEFF}' => "a byte order mark (U+FEFF)".into(),
        c => format!("the non-printable character U+{:04X}", c as u32),
    }
}

/// Whether `s`, written as a YAML plain scalar, reads back as the string `s`
/// under YAML 1.1 and 1.2 (core schema) rules, in block (`flow == false`) or
/// flow context. Errs on the side of `false`: quoting never changes a value.
///
/// ```
/// use kit_core::yaml::is_plain_string;
/// assert!(is_plain_string("nginx:1.27", false));
/// assert!(!is_plain_string("yes", false));      // a YAML 1.1 boolean
/// assert!(!is_plain_string("010", false));      // an octal number
/// assert!(!is_plain_string("!secret", false));  // a tag
/// assert!(!is_plain_string("a: b", false));     // a mapping
/// ```
#[inline]
pub fn is_plain_string(s: &str, flow: bool) -> bool {
    // Most values are short and need no second look at any byte: decided
    // here in a few steps, the rest out of line.
    let b = s.as_bytes();
    let n = b.len();
    if (1..=32).contains(&n) {
        let marked = if flow {
            any_marked_up_to_32::<InFlow>(b)
        } else {
            any_marked_up_to_32::<InBlock>(b)
        };
        if !marked & (b[n - 1] != b' ') {
            match FIRST_BYTE[b[0] as usize] {
                _ if PLAIN_START[b[0] as usize] => return true,
                // A digit, `y`, `n`... : plain-safe, it only remains to see
                // whether it reads as a number, boolean or null.
                First::Ordinary => return !may_resolve_to_non_string(s),
                _ => {}
            }
        }
    }
    plain_by_the_rules(s, flow)
}

/// Whether `S` marks any of the 1 to 32 bytes of `b`: up to four words,
/// the last ones overlapping.
#[inline(always)]
fn any_marked_up_to_32<S: Special>(b: &[u8]) -> bool {
    let n = b.len();
    if n <= 16 {
        any_marked_up_to_16::<S>(b)
    } else {
        any_marked_up_to_16::<S>(&b[..16]) | any_marked_up_to_16::<S>(&b[n - 16..])
    }
}

/// [`is_plain_string`] for the strings its shortcut does not decide.
#[inline(never)]
fn plain_by_the_rules(s: &str, flow: bool) -> bool {
    plain_safe(s, flow) && !may_resolve_to_non_string(s)
}

/// First bytes that start neither an indicator nor anything that could
/// read as a non-string (`-`, digits, `y`, `~`...).
static PLAIN_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = matches!(FIRST_BYTE[i], First::Ordinary) && !MAY_START_NON_STRING[i];
        i += 1;
    }
    t
};

fn plain_safe(s: &str, flow: bool) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if matches!(last, b' ' | b'\t') {
        return false;
    }
    // One table lookup for the first byte (most values start with a letter
    // or digit); a branch, not a jump table, for the common case.
    if !matches!(FIRST_BYTE[first as usize], First::Ordinary) && !first_bytes_plain(b, flow) {
        return false;
    }
    // Most values are short: up to 16 bytes in at most two overlapping
    // words, without a loop.
    if b.len() <= 16 {
        let clean = if flow {
            !any_marked_up_to_16::<InFlow>(b)
        } else {
            !any_marked_up_to_16::<InBlock>(b)
        };
        if clean {
            return true;
        }
    }
    let mut i = 0;
    loop {
        // Two calls, so that each classifier is inlined into its own loop.
        i = if flow {
            find_special::<InFlow>(b, i)
        } else {
            find_special::<InBlock>(b, i)
        };
        if i == b.len() {
            return true;
        }
        match plain_step(s, i, flow) {
            Some(next) => i = next,
            None => return false,
        }
    }
}

/// What the first byte of a would-be plain scalar means.
#[derive(Clone, Copy)]
enum First {
    Ordinary,
    /// Starts something else (`#`, `&`, `[`, a quote...), or white space.
    Indicator,
    /// `-`, `?`, `:`: an indicator when followed by white space (or, in flow
    /// context, a flow indicator); `-` may also start `---`.
    IndicatorBeforeSpace,
    /// `.`: may start `...`.
    Dot,
}

static FIRST_BYTE: [First; 256] = {
    let mut t = [First::Ordinary; 256];
    let indicators = b" \t,[]{}#&*!|>'\"%@`";
    let mut i = 0;
    while i < indicators.len() {
        t[indicators[i] as usize] = First::Indicator;
        i += 1;
    }
    t[b'-' as usize] = First::IndicatorBeforeSpace;
    t[b'?' as usize] = First::IndicatorBeforeSpace;
    t[b':' as usize] = First::IndicatorBeforeSpace;
    t[b'.' as usize] = First::Dot;
    t
};

/// Whether the start of `b`, whose first byte is not [`First::Ordinary`],
/// can start a plain scalar.
#[inline(never)]
fn first_bytes_plain(b: &[u8], flow: bool) -> bool {
    match FIRST_BYTE[b[0] as usize] {
        First::Ordinary => true,
        First::Indicator => false,
        First::IndicatorBeforeSpace => {
            let before_space = match b.get(1) {
                None | Some(b' ' | b'\t') => true,
                Some(&c) => flow && is_flow_indicator(c as char),
            };
            !before_space && !b.starts_with(b"---")
        }
        First::Dot => !b.starts_with(b"..."),
    }
}

/// Controls, DEL, non-ASCII, and the bytes `A` and `B`: the classifier of
/// [`InBlock`] and [`InDoubleQuotes`].
struct ControlsAnd<const A: u8, const B: u8>;

impl<const A: u8, const B: u8> Special for ControlsAnd<A, B> {
    #[inline(always)]
    fn marks(v: u64) -> u64 {
        below(v, 0x20) | del_or_non_ascii(v) | eq_bytes(v, A) | eq_bytes(v, B)
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    const SIXTEEN: bool = true;

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline(always)]
    fn mask_of_16(lo: u64, hi: u64) -> u32 {
        control_and(lo, hi, [A, B])
    }
}

/// Bytes a plain scalar in block context must look at twice: controls,
/// DEL, non-ASCII, `:` and `#`.
type InBlock = ControlsAnd<b':', b'#'>;

/// As [`InBlock`], plus the flow indicators and `?`.
struct InFlow;

const FLOW_BYTES: [u8; 8] = [b':', b'#', b',', b'[', b']', b'{', b'}', b'?'];

impl Special for InFlow {
    #[inline(always)]
    fn marks(v: u64) -> u64 {
        FLOW_BYTES[2..]
            .iter()
            .fold(InBlock::marks(v), |m, &c| m | eq_bytes(v, c))
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    const SIXTEEN: bool = true;

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline(always)]
    fn mask_of_16(lo: u64, hi: u64) -> u32 {
        control_and(lo, hi, FLOW_BYTES)
    }
}

/// Bytes a double-quoted scalar writes otherwise: controls, DEL,
/// non-ASCII, `"` and `\`.
type InDoubleQuotes = ControlsAnd<b'"', b'\\'>;

/// Bytes a block scalar or a fragment of a plain scalar must look at
/// twice: controls (tab and line break too), DEL and non-ASCII (DEL is
/// named twice: there is no other byte).
type Controls = ControlsAnd<0x7F, 0x7F>;

/// Whether `S` marks none of the bytes of `b`.
#[inline(always)]
fn none_marked<S: Special>(b: &[u8]) -> bool {
    find_special::<S>(b, 0) == b.len()
}

/// Checks the character at byte `i`; the index of the next one, or `None`
/// when the string cannot be a plain scalar.
#[inline]
fn plain_step(s: &str, i: usize, flow: bool) -> Option<usize> {
    let b = s.as_bytes();
    let c = b[i];
    if PLAIN_BYTE[c as usize] {
        return Some(i + 1);
    }
    match c {
        0x80.. => {
            let ch = s[i..].chars().next().unwrap_or('\u{FFFD}');
            if !is_printable(ch) || is_break(ch) || ch == '\u{FEFF}' {
                return None;
            }
            Some(i + ch.len_utf8())
        }
        // Inside `[...]` and `{...}`, libyaml-based readers (PyYAML's C
        // loader, gopkg.in/yaml.v2, the decoder kubectl uses) take `?` as a
        // key indicator and reject `:` followed by anything: quote both.
        b':' | b'?' if flow => None,
        b':' => match b.get(i + 1) {
            None | Some(b' ' | b'\t') => None,
            _ => Some(i + 1),
        },
        b'?' => Some(i + 1),
        b'#' if i > 0 && b[i - 1] == b' ' => None,
        b'#' => Some(i + 1),
        b',' | b'[' | b']' | b'{' | b'}' if flow => None,
        b',' | b'[' | b']' | b'{' | b'}' => Some(i + 1),
        // Controls (tab included: readers disagree on tabs in plain scalars).
        _ => None,
    }
}

/// Bytes that never need a second look inside a plain scalar.
static PLAIN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x20;
    while i < 0x7F {
        t[i] = !matches!(
            i as u8,
            b':' | b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'?'
        );
        i += 1;
    }
    t
};

/// The first bytes of the plain scalars [`may_resolve_to_non_string`]
/// matches: digits, `.`, `+`, `-` (numbers, dates, `.inf`), `~`, `<`, `=`,
/// and the first letters of null, booleans and their YAML 1.1 forms.
static MAY_START_NON_STRING: [bool; 256] = byte_set(b"0123456789.+-~<=nNtTfFyYoO");

/// Bytes of numbers in any base: hex digits, `xXoObB_.:eE+-`.
static NUMBER_BYTE: [bool; 256] = byte_set(b"0123456789abcdefABCDEFxXoObB_.:+-");

/// A lookup table: `true` for the bytes in `bytes`.
const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// Whether some YAML 1.1 or 1.2 resolver could read the plain scalar `s` as
/// something other than a string: null, boolean, integer, float, timestamp,
/// merge key or value key. A superset of the real rules.
fn may_resolve_to_non_string(s: &str) -> bool {
    // Every such scalar starts with one of few bytes; most strings do not.
    match s.as_bytes().first() {
        None => return true,
        Some(&c) if !MAY_START_NON_STRING[c as usize] => return false,
        Some(_) => {}
    }
    // Null, booleans (YAML 1.1's too), `<<`, `=`, infinity and NaN, in any
    // case, by length: compared as words, letters folded to lower case.
    const WORDS: [&[u64]; 5] = [
        &[word(b"~"), word(b"y"), word(b"n"), word(b"=")],
        &[word(b"no"), word(b"on"), word(b"<<")],
        &[word(b"yes"), word(b"off")],
        &[word(b"null"), word(b"true"), word(b".inf"), word(b".nan")],
        &[word(b"false"), word(b"+.inf"), word(b"-.inf")],
    ];
    if let Some(words) = WORDS.get(s.len() - 1)
        && words.contains(&folded_word(s.as_bytes()))
    {
        return true;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let b = body.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_digit() || *c == b'.' => {}
        _ => return false,
    }
    // Numbers in any base, with `_`, exponents and sexagesimal `:` parts.
    if body.bytes().all(|c| NUMBER_BYTE[c as usize]) {
        return true;
    }
    // Dates and timestamps: `2024-01-01`, `2001-12-14t21:59:43.10-05:00`...
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// The 1 to 7 bytes of `w` as a word (little-endian, the rest zero).
const fn word(w: &[u8]) -> u64 {
    let mut v = 0;
    let mut i = 0;
    while i < w.len() {
        v |= (w[i] as u64) << (8 * i);
        i += 1;
    }
    v
}

/// [`word`] of the 1 to 7 bytes of `b` with ASCII letters in lower case
/// (only theirs: `@` and `[` stay as they are).
#[inline]
fn folded_word(b: &[u8]) -> u64 {
    let w = load_short(b);
    // The high bit of each byte from `A` to `Z`, moved to 0x20.
    let upper = below(w, b'Z' + 1) & !below(w, b'A');
    w | upper >> 2
}

/// Writes `s` as the inside of a YAML double-quoted scalar (without the
/// quotes), so that it reads back as exactly `s`.
///
/// ```
/// let mut out = String::new();
/// kit_core::yaml::write_double_quoted(&mut out, "say \"hi\"\n\u{85}");
/// assert_eq!(out, r#"say \"hi\"\n\N"#);
/// ```
pub fn write_double_quoted(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    // Most values need no escape: decided in one or two checks of sixteen
    // bytes.
    if bytes.len() <= 32 && !any_marked_up_to_32::<InDoubleQuotes>(bytes) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    let mut i = 0;
    // Printable ASCII other than `"` and `\` is written as it is: jump from
    // one other byte to the next.
    loop {
        i = find_special::<InDoubleQuotes>(bytes, i);
        if i == bytes.len() {
            break;
        }
        let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
        let len = c.len_utf8();
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\0' => Some("\\0"),
            '\u{7}' => Some("\\a"),
            '\u{8}' => Some("\\b"),
            '\t' => Some("\\t"),
            '\n' => Some("\\n"),
            '\u{B}' => Some("\\v"),
            '\u{C}' => Some("\\f"),
            '\r' => Some("\\r"),
            '\u{1B}' => Some("\\e"),
            '\u{85}' => Some("\\N"),
            '\u{2028}' => Some("\\L"),
            '\u{2029}' => Some("\\P"),
            _ => None,
        };
        if esc.is_none() && is_printable(c) && c != '\u{FEFF}' {
            i += len;
            continue;
        }
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let n = c as u32;
                let _ = if n <= 0xFF {
                    write!(out, "\\x{n:02X}")
                } else if n <= 0xFFFF {
                    write!(out, "\\u{n:04X}")
                } else {
                    write!(out, "\\U{n:08X}")
                };
            }
        }
        i += len;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// Writes `s` as a whole YAML scalar that reads back as the string `s`:
/// plain when that is safe ([`is_plain_string`]), else double-quoted.
///
/// ```
/// let mut out = String::new();
/// kit_core::yaml::write_string_scalar(&mut out, "on", false);
/// assert_eq!(out, "\"on\"");
/// ```
#[inline]
pub fn write_string_scalar(out: &mut String, s: &str, flow: bool) {
    if is_plain_string(s, flow) {
        out.push_str(s);
    } else {
        out.push('"');
        write_double_quoted(out, s);
        out.push('"');
    }
}

/// The longest mapping key, in characters, that YAML readers take without
/// an explicit `?` (libyaml and PyYAML refuse longer implicit keys).
const MAX_IMPLICIT_KEY: usize = 1024;

/// Judges a plain scalar assembled from several pieces (literal text,
/// values, sections): `Ok(false)` when written as it is it reads back as
/// exactly its text, `Ok(true)` when it must be written double-quoted to do
/// so, `Err` when neither can hold it: a key that reads `<<` or is too
/// long, or (`raw`) a scalar with a raw piece, which kit does not quote.
pub(crate) fn judge_assembled(s: &str, flow: bool, key: bool, raw: bool) -> Result<bool, Refusal> {
    if key && s == "<<" {
        return Err(refuse(
            "together its pieces read '<<', which some YAML readers (gopkg.in/yaml.v2) take as a merge key however it is quoted",
            "change the key's literal text, or make it a value rather than a mapping key",
        ));
    }
    let plain = is_plain_string(s, flow);
    if !plain && raw {
        return Err(refuse(
            "one of its pieces is a raw value ({{{name}}}), which kit writes as it is, and together the pieces would not read back as the text they make",
            "use {{name}} for every value of this scalar, so that kit can quote it, or quote the whole scalar in the template",
        ));
    }
    if key {
        let written = if plain {
            s.chars().count()
        } else {
            let mut q = String::with_capacity(s.len() + 2);
            write_double_quoted(&mut q, s);
            q.chars().count() + 2
        };
        if written > MAX_IMPLICIT_KEY {
            return Err(refuse(
                format!(
                    "it would be a mapping key of {written} characters, and YAML readers (libyaml, PyYAML) refuse keys over {MAX_IMPLICIT_KEY}"
                ),
                "use a shorter key, or make the value a value rather than a mapping key",
            ));
        }
    }
    Ok(!plain)
}

/// Writes a string value at `pos`. `extra_indent` is the indentation the
/// template itself is rendered with (an indented partial or block), added to
/// block scalar continuation lines.
pub(crate) fn write_str(
    out: &mut String,
    s: &str,
    pos: &YamlPosition,
    extra_indent: &str,
) -> Result<(), Refusal> {
    match pos {
        // gopkg.in/yaml.v2 takes a key `<<` as a merge key however it is
        // quoted or tagged: no spelling reads back as the string there.
        YamlPosition::Plain { key: true, .. } if s == "<<" => {
            return Err(refuse(
                "it is '<<', which some YAML readers (gopkg.in/yaml.v2) take as a merge key however it is quoted",
                "use another key, or make the value a value rather than a mapping key",
            ));
        }
        YamlPosition::Plain { flow, .. } => write_string_scalar(out, s, *flow),
        YamlPosition::DoubleQuoted => write_double_quoted(out, s),
        YamlPosition::SingleQuoted => {
            if let Some(c) = s
                .chars()
                .find(|&c| !is_printable(c) || is_break(c) || c == '\u{FEFF}')
            {
                return Err(refuse(
                    format!(
                        "it contains {}, which a single-quoted scalar cannot carry",
                        describe(c)
                    ),
                    "use a double-quoted scalar in the template: \"{{name}}\"",
                ));
            }
            let mut start = 0;
            for (i, _) in s.match_indices('\'') {
                out.push_str(&s[start..=i]);
                out.push('\'');
                start = i + 1;
            }
            out.push_str(&s[start..]);
        }
        YamlPosition::Comment => {
            if let Some(c) = s
                .chars()
                .find(|&c| !is_printable(c) || is_break(c) || c == '\u{FEFF}')
            {
                return Err(refuse(
                    format!("it contains {}, which would end the comment", describe(c)),
                    "move the tag out of the comment, or drop it",
                ));
            }
            out.push_str(s);
        }
        YamlPosition::Block {
            indent,
            folded,
            first_line,
        } => {
            if block_line_as_is(s, *first_line) {
                out.push_str(s);
            } else {
                write_block(out, s, extra_indent, *indent as usize, *folded, *first_line)?;
            }
        }
        YamlPosition::Fragment(f) => {
            if !fragment_by_its_ends(s, f) {
                check_fragment(s, f)?;
            }
            out.push_str(s);
        }
    }
    Ok(())
}

/// Whether `s` goes into a block scalar as it is: one line of printable
/// ASCII (most values), with nothing to check but the first line's
/// indentation.
#[inline]
pub(crate) fn block_line_as_is(s: &str, first_line: bool) -> bool {
    none_marked::<Controls>(s.as_bytes()) && !(first_line && s.starts_with(' '))
}

fn write_block(
    out: &mut String,
    s: &str,
    extra_indent: &str,
    indent: usize,
    folded: bool,
    first_line: bool,
) -> Result<(), Refusal> {
    if let Some(c) = s
        .chars()
        .find(|&c| (!is_printable(c) || is_break(c) || c == '\u{FEFF}') && c != '\n')
    {
        return Err(refuse(
            format!(
                "it contains {}, which a block scalar cannot carry",
                describe(c)
            ),
            "use a double-quoted scalar in the template: \"{{name}}\"",
        ));
    }
    if folded && s.contains('\n') {
        return Err(refuse(
            "it has line breaks, which a folded block scalar (>) would turn into spaces",
            "use a literal block scalar (|) in the template",
        ));
    }
    if first_line && s.starts_with([' ', '\t']) {
        return Err(refuse(
            "it starts with white space on the block's first line, which would change the block's indentation",
            "add an indentation indicator to the block header, like |2",
        ));
    }
    let mut lines = s.split('\n');
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for line in lines {
        out.push('\n');
        out.push_str(extra_indent);
        out.extend(std::iter::repeat_n(' ', indent));
        out.push_str(line);
    }
    Ok(())
}

/// Whether `s` is safe as the fragment `f` of a plain scalar by its first
/// and last bytes alone: true when it is printable ASCII without `:` and
/// `#` (nor, in flow context, the flow indicators and `?`), and starts and
/// ends in a way the fragment's place allows. Else [`check_fragment`]
/// decides.
#[inline]
fn fragment_by_its_ends(s: &str, f: &FragmentPos) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return true;
    };
    let clean = if f.flow {
        none_marked::<InFlow>(b)
    } else {
        none_marked::<InBlock>(b)
    };
    // At the start, every indicator and white space is left to the rules
    // (`-` and `?` are fine unless a space or the end follows).
    let start_ok = !f.at_start || PLAIN_START[first as usize];
    clean && start_ok && !(f.at_end && last == b' ')
}

fn check_fragment(s: &str, f: &FragmentPos) -> Result<(), Refusal> {
    const HINT: &str = "quote the whole scalar in the template, e.g. \"prefix-{{name}}\"";
    let bad = |what: &str| {
        Err(refuse(
            format!("it contains {what}, which would change the surrounding plain scalar"),
            HINT,
        ))
    };
    if let Some(c) = s
        .chars()
        .find(|&c| !is_printable(c) || is_break(c) || c == '\u{FEFF}')
    {
        return bad(&describe(c));
    }
    if s.contains('\t') {
        // Allowed by the spec, refused by common readers (PyYAML).
        return bad("a tab");
    }
    let mut prev_ws = f.after_space;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            ':' | '?' if f.flow => {
                return bad("':' or '?', which readers take as indicators inside [...] or {...}");
            }
            ':' => {
                let next_ws = match it.peek() {
                    Some(&n) => n == ' ' || n == '\t' || (f.flow && is_flow_indicator(n)),
                    None => f.at_end || f.before_space,
                };
                if next_ws {
                    return bad("': '");
                }
            }
            '#' if prev_ws => return bad("' #'"),
            c if f.flow && is_flow_indicator(c) => return bad("a flow indicator (,[]{})"),
            _ => {}
        }
        prev_ws = c == ' ' || c == '\t';
    }
    if f.at_start {
        let mut chars = s.chars();
        let first = chars.next();
        match first {
            Some(' ' | '\t') => return bad("leading white space"),
            Some(
                ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
                | '@' | '`',
            ) => return bad("a YAML indicator at the start"),
            Some('-' | '?' | ':') if matches!(chars.next(), None | Some(' ' | '\t')) => {
                return bad("a YAML indicator at the start");
            }
            _ => {}
        }
    }
    if f.at_end && s.ends_with([' ', '\t']) {
        return bad("trailing white space");
    }
    Ok(())
}

/// Writes a number, boolean or null at `pos` (`text` is its YAML form).
pub(crate) fn write_non_string(
    out: &mut String,
    text: &str,
    is_null: bool,
    pos: &YamlPosition,
) -> Result<(), Refusal> {
    if is_null && !matches!(pos, YamlPosition::Plain { .. }) {
        return Err(refuse(
            "it is null, which has no text form inside a larger scalar",
            "give it a value, or make the line optional with a section {{#name}}...{{/name}}",
        ));
    }
    out.push_str(text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xorshift::{mostly_a, xorshift};

    fn plain(s: &str) -> String {
        let mut out = String::new();
        write_str(
            &mut out,
            s,
            &YamlPosition::Plain {
                flow: false,
                key: false,
            },
            "",
        )
        .unwrap();
        out
    }

    #[test]
    fn plain_strings_stay_plain() {
        for s in [
            "nginx",
            "nginx:1.27",
            "mysql.invisionapp.local",
            "https://example.com/a#b",
            "a-b_c",
            "deadbeef",
            "1password",
            "-flag",
            ".git",
            "ünïcode",
        ] {
            assert_eq!(plain(s), s, "{s}");
        }
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "",
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "~",
            "null",
            "NULL",
            "true",
            "False",
            "010",
            "0x1F",
            "0o17",
            "0b101",
            "1_000",
            "1e3",
            "1.5",
            ".5",
            "-1",
            "+1",
            ".inf",
            "-.Inf",
            ".NaN",
            "2024-01-01",
            "2001-12-14t21:59:43.10-05:00",
            "12:30:45",
            "<<",
            "=",
            "!myp4ssw0rd!",
            "&anchor",
            "*alias",
            "a: b",
            "a #b",
            "- x",
            "-",
            "?",
            ":",
            "[x]",
            "{x}",
            "'q'",
            "\"q\"",
            "|",
            ">",
            "%x",
            "@x",
            "`x",
            " lead",
            "trail ",
            "a\nb",
            "a\u{85}b",
            "a\u{2028}b",
            "\u{FEFF}bom",
            "tab\there",
            "---",
            "...",
            "#x",
        ] {
            let out = plain(s);
            assert!(out.starts_with('"') && out.ends_with('"'), "{s:?} -> {out}");
        }
    }

    /// The plain-scalar rules, one character at a time, as the reference
    /// for the eight-bytes-at-a-time fast path.
    fn plain_safe_reference(s: &str, flow: bool) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let Some(&first) = chars.first() else {
            return false;
        };
        let last = *chars.last().unwrap();
        if matches!(first, ' ' | '\t') || matches!(last, ' ' | '\t') {
            return false;
        }
        if ",[]{}#&*!|>'\"%@`".contains(first) {
            return false;
        }
        if "-?:".contains(first) {
            match chars.get(1) {
                None | Some(' ' | '\t') => return false,
                Some(&c) if flow && ",[]{}".contains(c) => return false,
                _ => {}
            }
        }
        if s.starts_with("---") || s.starts_with("...") {
            return false;
        }
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || is_break(c) || c == '\u{FEFF}' || c == '\t' {
                return false;
            }
            if flow && ",[]{}:?".contains(c) {
                return false;
            }
            if c == ':' {
                match chars.get(i + 1) {
                    None | Some(' ' | '\t') => return false,
                    Some(&n) if flow && ",[]{}".contains(n) => return false,
                    _ => {}
                }
            }
            if c == '#' && i > 0 && chars[i - 1] == ' ' {
                return false;
            }
        }
        true
    }

    #[test]
    fn the_sixteen_byte_checks_mark_what_the_word_checks_mark() {
        // Every byte value at every one of the sixteen places (the others
        // `a`), then random pairs of words of bytes near the edges, for the
        // three classifiers.
        fn agree(lo: u64, hi: u64) {
            fn one<S: Special>(lo: u64, hi: u64, name: &str) {
                let words = crate::word_scan::word_mask::<S>(lo, hi);
                assert_eq!(S::mask_of_16(lo, hi), words, "{name} {lo:#018x} {hi:#018x}");
                assert_eq!(
                    S::any_of_16(lo, hi),
                    words != 0,
                    "{name} {lo:#018x} {hi:#018x}"
                );
            }
            one::<InBlock>(lo, hi, "block");
            one::<InFlow>(lo, hi, "flow");
            one::<InDoubleQuotes>(lo, hi, "double-quoted");
        }
        let a = u64::from_le_bytes([b'a'; 8]);
        for byte in 0..=255u64 {
            for place in 0..8 {
                let w = a & !(0xFF << (8 * place)) | byte << (8 * place);
                agree(w, a);
                agree(a, w);
            }
        }
        let edges = *b"\x00\x1f !\"#$9:;,[]{}?\\~\x7f\x80\xffa";
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..20_000 {
            let mut word = || {
                (0..8).fold(0u64, |w, _| {
                    w << 8 | u64::from(edges[(next() % edges.len() as u64) as usize])
                })
            };
            let (lo, hi) = (word(), word());
            agree(lo, hi);
        }
    }

    #[test]
    fn the_plain_shortcut_agrees_with_the_rules() {
        let alphabet = "ab19 :#,[]{}-.?\t\u{7f}\u{85}é\u{2028}\u{feff}\u{1}zy~!";
        let mut cases = mostly_a(0x2545_F491_4F6C_DD1D, alphabet, 50_000);
        // Every one- and two-byte ASCII string.
        for a in 0..128u8 {
            cases.push((a as char).to_string());
            for b in 0..128u8 {
                cases.push([a as char, b as char].iter().collect());
            }
        }
        for s in cases {
            for flow in [false, true] {
                assert_eq!(
                    is_plain_string(&s, flow),
                    plain_by_the_rules(&s, flow),
                    "{s:?} flow={flow}"
                );
            }
        }
    }

    #[test]
    fn fast_plain_scan_agrees_with_the_reference() {
        let alphabet = "ab19 :#,[]{}-.?\t\u{7f}\u{85}é\u{2028}\u{feff}\u{1}z";
        for s in mostly_a(0x9E37_79B9_7F4A_7C15, alphabet, 50_000) {
            for flow in [false, true] {
                assert_eq!(
                    plain_safe(&s, flow),
                    plain_safe_reference(&s, flow),
                    "{s:?} flow={flow}"
                );
            }
        }
    }

    /// Double-quoted escaping one character at a time, as the reference for
    /// the word-at-a-time scan.
    fn double_quoted_reference(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\0' => out.push_str("\\0"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{B}' => out.push_str("\\v"),
                '\u{C}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                '\u{1B}' => out.push_str("\\e"),
                '\u{85}' => out.push_str("\\N"),
                '\u{2028}' => out.push_str("\\L"),
                '\u{2029}' => out.push_str("\\P"),
                c if is_printable(c) && c != '\u{FEFF}' => out.push(c),
                c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02X}", c as u32)),
                c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
                c => out.push_str(&format!("\\U{:08X}", c as u32)),
            }
        }
        out
    }

    #[test]
    fn fast_double_quoted_agrees_with_the_reference() {
        let alphabet = "ab\"\\\n\t\u{0}\u{1b}\u{7f}\u{85}\u{a0}é\u{2028}\u{feff}\u{fffe}\u{1F600}z";
        for s in mostly_a(0x2545_F491_4F6C_DD1D, alphabet, 50_000) {
            let mut out = String::new();
            write_double_quoted(&mut out, &s);
            assert_eq!(out, double_quoted_reference(&s), "{s:?}");
        }
    }

    /// The non-string resolution rules without the first-byte and table
    /// shortcuts, as the reference for them.
    fn may_resolve_reference(s: &str) -> bool {
        let lower = s.to_ascii_lowercase();
        let words = [
            "", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", "<<", "=",
            ".inf", "+.inf", "-.inf", ".nan",
        ];
        if words.contains(&lower.as_str()) {
            return true;
        }
        let body = s.strip_prefix(['+', '-']).unwrap_or(s);
        let b = body.as_bytes();
        match b.first() {
            Some(c) if c.is_ascii_digit() || *c == b'.' => {}
            _ => return false,
        }
        if body
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || b"xXoObB_.:eE+-".contains(&c))
        {
            return true;
        }
        b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
    }

    #[test]
    fn non_string_shortcuts_agree_with_the_reference() {
        let alphabet: Vec<char> = "0123456789.+-_:eExXoObBnNuUlLtTrRfFaAsSyYiIzZ~<=é "
            .chars()
            .collect();
        let mut next = xorshift(0x1234_5678_9ABC_DEF1);
        let mut seen_true = 0;
        for _ in 0..200_000 {
            let len = (next() % 8) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[next() as usize % alphabet.len()])
                .collect();
            let want = may_resolve_reference(&s);
            seen_true += usize::from(want);
            assert_eq!(may_resolve_to_non_string(&s), want, "{s:?}");
        }
        for word in [
            "NULL",
            "True",
            "oFF",
            "Yes",
            "+.INF",
            ".NaN",
            "2024-01-01",
            "0x1F",
            "1_000",
        ] {
            assert!(may_resolve_to_non_string(word), "{word}");
        }
        // Bytes that become a word's byte when 0x20 is added (after a first
        // byte that words start with), next to the letters, and non-ASCII:
        // folding them would take them for words.
        for word in [
            "+\u{E}inf",
            "-\u{E}inf",
            "<\u{1C}",
            "+.\u{9}nf",
            "n\u{F}",
            "nU\u{C}l",
            "f@lse",
            "n[",
            "o{f",
            "Ye\u{13}",
            "ño",
            "nÏ",
        ] {
            assert!(!may_resolve_to_non_string(word), "{word:?}");
            assert!(!may_resolve_reference(word), "{word:?}");
        }
        assert!(
            seen_true > 1_000,
            "the generator reaches the rules: {seen_true}"
        );
    }

    #[test]
    fn block_and_fragment_shortcuts_agree_with_the_rules() {
        let alphabet = " \t\n\r:#-?,[]{}!&*|>'\"%@`0y.é\u{85}\u{7f}\u{feff}\u{2028}";
        let fragments: Vec<FragmentPos> = (0..32u8)
            .map(|bits| FragmentPos {
                flow: bits & 1 != 0,
                at_start: bits & 2 != 0,
                at_end: bits & 4 != 0,
                after_space: bits & 8 != 0,
                before_space: bits & 16 != 0,
            })
            .collect();
        let (mut fragment_shortcuts, mut block_shortcuts) = (0, 0);
        for s in mostly_a(0x5EED_F0A1_B10C_2026, alphabet, 20_000) {
            for f in &fragments {
                let mut out = String::new();
                let got = write_str(&mut out, &s, &YamlPosition::Fragment(*f), "").map(|()| out);
                let want = check_fragment(&s, f).map(|()| s.clone());
                assert_eq!(got, want, "{s:?} {f:?}");
                fragment_shortcuts += usize::from(fragment_by_its_ends(&s, f));
            }
            for (folded, first_line) in [(false, false), (false, true), (true, false), (true, true)]
            {
                let pos = YamlPosition::Block {
                    indent: 4,
                    folded,
                    first_line,
                };
                let (mut fast, mut rules) = (String::new(), String::new());
                let got = write_str(&mut fast, &s, &pos, "  ").map(|()| fast);
                let want = write_block(&mut rules, &s, "  ", 4, folded, first_line).map(|()| rules);
                assert_eq!(got, want, "{s:?} folded={folded} first_line={first_line}");
                block_shortcuts += usize::from(none_marked::<Controls>(s.as_bytes()));
            }
        }
        // The shortcuts are taken often, and so are the rules.
        assert!(
            (50_000..600_000).contains(&fragment_shortcuts),
            "{fragment_shortcuts}"
        );
        assert!(
            (4_000..70_000).contains(&block_shortcuts),
            "{block_shortcuts}"
        );
    }

    #[test]
    fn flow_context_quotes_flow_indicators() {
        assert!(is_plain_string("a,b", false));
        assert!(!is_plain_string("a,b", true));
        assert!(!is_plain_string("a]", true));
        // libyaml and yaml.v2 read `["--password", ?x]` as a map and refuse
        // `p@ss?word` and `a:b` in flow context.
        for s in [
            "?x",
            "p@ss?word",
            "a:b",
            "x:",
            "abcdefgh?ijklmnop",
            "abcdefgh:ijkl",
        ] {
            assert!(!is_plain_string(s, true), "{s}");
        }
        for s in ["?x", "p@ss?word", "a:b"] {
            assert!(is_plain_string(s, false), "{s}");
        }
    }

    #[test]
    fn double_quoted_escapes() {
        let mut out = String::new();
        write_double_quoted(
            &mut out,
            "\"\\\0\t\n\r\u{1}\u{7F}\u{85}\u{9F}\u{2028}\u{2029}\u{FEFF}\u{FFFE}é",
        );
        assert_eq!(out, r#"\"\\\0\t\n\r\x01\x7F\N\x9F\L\P\uFEFF\uFFFEé"#);
    }

    #[test]
    fn single_quoted_doubles_quotes_and_refuses_breaks() {
        let mut out = String::new();
        write_str(&mut out, "it's", &YamlPosition::SingleQuoted, "").unwrap();
        assert_eq!(out, "it''s");
        let err = write_str(&mut out, "a\nb", &YamlPosition::SingleQuoted, "").unwrap_err();
        assert!(err.reason.contains("a line break"), "{}", err.reason);
    }

    #[test]
    fn block_indents_continuation_lines() {
        let mut out = String::new();
        let pos = YamlPosition::Block {
            indent: 4,
            folded: false,
            first_line: true,
        };
        write_str(&mut out, "a\n\nb\n", &pos, "").unwrap();
        assert_eq!(out, "a\n    \n    b\n    ");
        assert!(write_str(&mut out, " a", &pos, "").is_err());
        let folded = YamlPosition::Block {
            indent: 2,
            folded: true,
            first_line: false,
        };
        assert!(write_str(&mut out, "a\nb", &folded, "").is_err());
    }

    #[test]
    fn fragments_refuse_what_would_break_out() {
        let f = FragmentPos {
            flow: false,
            at_start: false,
            at_end: true,
            after_space: false,
            before_space: false,
        };
        let mut out = String::new();
        assert!(write_str(&mut out, "v1.2", &YamlPosition::Fragment(f), "").is_ok());
        for bad in ["a: b", "x #c", "a\nb", "t ", "a\tb"] {
            assert!(
                write_str(&mut out, bad, &YamlPosition::Fragment(f), "").is_err(),
                "{bad:?}"
            );
        }
    }
}
