//! Errors: one typed enum, each variant carrying where it happened.
//!
//! `Display` gives a one-line message with `template:line:column`;
//! [`Error::snippet`] gives the offending template line with a caret, for
//! tools that want to show it (kit's CLI does). No error ever contains a
//! data value: data is often secret.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A position in a template, 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The template's name (for files: its path as given).
    pub template: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// The full text of that template line (template text, never data).
    pub source_line: String,
}

impl Location {
    /// The source line with a caret under the column, in rustc's style:
    ///
    /// ```text
    ///   |
    /// 2 | replicas: {{replicas}}
    ///   |           ^
    /// ```
    pub fn snippet(&self) -> String {
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        let caret_pad: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "{pad} |\n{num} | {}\n{pad} | {caret_pad}^",
            self.source_line
        )
    }

    /// Computes line, column and the source line of byte `offset` in `source`.
    pub fn from_offset(template: &Arc<str>, source: &str, offset: usize) -> Location {
        let offset = offset.min(source.len());
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = source[line_start..offset].chars().count() + 1;
        let line_end = source[offset..]
            .find('\n')
            .map_or(source.len(), |i| offset + i);
        let source_line = source[line_start..line_end]
            .trim_end_matches('\r')
            .to_owned();
        Location {
            template: template.clone(),
            line,
            column,
            source_line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.template, self.line, self.column)
    }
}

/// What is wrong with a template's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// `{{` without a matching `}}`.
    UnclosedTag,
    /// `{{#name}}` (or `^`, `$`, `<`) never closed.
    UnclosedSection(String),
    /// `{{/name}}` that closes something else.
    MismatchedClose {
        /// What the template closed.
        found: String,
        /// What was open.
        expected: String,
    },
    /// `{{/name}}` with nothing open.
    UnopenedClose(String),
    /// `{{=...=}}` that is not two delimiters.
    BadDelimiters,
    /// A tag with no name, or a name with spaces.
    BadName(String),
    /// Sections nested deeper than the engine allows.
    TooDeep(usize),
}

impl fmt::Display for SyntaxErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnclosedTag => f.write_str("unclosed tag: no closing delimiter found"),
            Self::UnclosedSection(n) => write!(f, "unclosed section '{n}'"),
            Self::MismatchedClose { found, expected } => {
                write!(f, "'{{{{/{found}}}}}' closes '{expected}', which is still open")
            }
            Self::UnopenedClose(n) => write!(f, "'{{{{/{n}}}}}' closes a section that was never opened"),
            Self::BadDelimiters => f.write_str(
                "bad delimiter change: expected two delimiters separated by space, like {{=<% %>=}}",
            ),
            Self::BadName(n) => write!(f, "bad tag name '{n}'"),
            Self::TooDeep(max) => write!(f, "sections nested deeper than {max} levels"),
        }
    }
}

/// Everything that can go wrong compiling or rendering a template.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The template text is not valid mustache.
    #[error("{location}: {kind}")]
    Syntax {
        /// What is wrong.
        kind: SyntaxErrorKind,
        /// Where.
        location: Box<Location>,
    },
    /// Strict mode: an interpolated name resolved to nothing.
    #[error("{location}: '{name}' is not defined{}", suggestion_text(.suggestion))]
    Undefined {
        /// The dotted name as written.
        name: String,
        /// A close name that does exist.
        suggestion: Option<String>,
        /// Where.
        location: Box<Location>,
    },
    /// A value cannot be written at this YAML position without changing the
    /// document. The value itself is never included.
    #[error("{location}: the value of '{name}' cannot be written {position}: {reason}")]
    Unrepresentable {
        /// The name whose value was refused.
        name: String,
        /// The YAML position, as words ("inside a single-quoted scalar").
        position: &'static str,
        /// Why, without the value.
        reason: String,
        /// What to change.
        hint: &'static str,
        /// Where.
        location: Box<Location>,
    },
    /// A plain YAML scalar made of several pieces (literal text, values,
    /// sections) cannot be written so that it reads back as the text they
    /// make together. No value is included.
    #[error("{location}: the plain scalar made of {names} cannot be written safely: {reason}")]
    UnrepresentableScalar {
        /// The names of the values it is made of, quoted and listed
        /// (`'host' and 'port'`).
        names: String,
        /// Why, without any value.
        reason: String,
        /// What to change.
        hint: &'static str,
        /// Where the scalar starts.
        location: Box<Location>,
    },
    /// A sensitive value (a secret) was written raw (`{{{name}}}`) where it
    /// would not read back exactly.
    #[error(
        "{location}: the secret in '{name}' is written raw {position}, where it would not read back exactly"
    )]
    UnsafeRaw {
        /// The name.
        name: String,
        /// The YAML position, as words.
        position: &'static str,
        /// Where.
        location: Box<Location>,
    },
    /// A list or map was interpolated.
    #[error(
        "{location}: '{name}' is a {kind}, which cannot be interpolated; iterate it with a section {{{{#{name}}}}}...{{{{/{name}}}}}"
    )]
    NotInterpolable {
        /// The name.
        name: String,
        /// `list` or `map`.
        kind: &'static str,
        /// Where.
        location: Box<Location>,
    },
    /// A partial or parent that does not exist (strict mode).
    #[error("{location}: partial '{name}' not found")]
    PartialNotFound {
        /// The partial name.
        name: String,
        /// Where it was used.
        location: Box<Location>,
    },
    /// A partial name that would leave the partials directory.
    #[error("partial name '{name}' is not allowed: {reason}")]
    PartialName {
        /// The partial name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Partials, parents, sections or lambdas nested past the limit.
    #[error("{location}: nesting deeper than {limit} levels (recursive partial?)")]
    TooDeep {
        /// The limit in force.
        limit: usize,
        /// Where the limit was hit.
        location: Box<Location>,
    },
    /// The data could not be converted to template values.
    #[error("cannot use the data: {0}")]
    Data(String),
    /// Reading a template or partial failed.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Names quoted and listed for a message: `'a'`, `'a' and 'b'`,
/// `'a', 'b' and 'c'` (each name once, in order; `literal text` for none).
pub(crate) fn list_names(names: &[&str]) -> String {
    let mut seen: Vec<&str> = Vec::with_capacity(names.len());
    for n in names {
        if !seen.contains(n) {
            seen.push(n);
        }
    }
    match seen.as_slice() {
        [] => "literal text".into(),
        [one] => format!("'{one}'"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|n| format!("'{n}'")).collect();
            format!("{} and '{last}'", init.join(", "))
        }
    }
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean '{s}'?"),
        None => String::new(),
    }
}

impl Error {
    /// The template position, when the error has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Syntax { location, .. }
            | Error::Undefined { location, .. }
            | Error::Unrepresentable { location, .. }
            | Error::UnrepresentableScalar { location, .. }
            | Error::UnsafeRaw { location, .. }
            | Error::NotInterpolable { location, .. }
            | Error::PartialNotFound { location, .. }
            | Error::TooDeep { location, .. } => Some(location),
            Error::PartialName { .. } | Error::Io { .. } | Error::Data(_) => None,
        }
    }

    /// A hint for fixing the error, when there is a useful one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Unrepresentable { hint, .. } | Error::UnrepresentableScalar { hint, .. } => {
                Some(hint)
            }
            Error::Undefined { .. } => Some(
                "give the name a value in the data, wrap the tag in a section {{#name}}...{{/name}} to make it optional, or render with lenient undefined names",
            ),
            Error::UnsafeRaw { .. } => Some(
                "use {{name}} instead of {{{name}}}, so that kit escapes the value for its position",
            ),
            Error::PartialNotFound { .. } => {
                Some("add NAME.mustache to the partials directory or register the partial")
            }
            _ => None,
        }
    }

    /// The template line of the error with a caret under the column, like
    ///
    /// ```text
    ///   |
    /// 3 |   image: {{imagee}}
    ///   |          ^
    /// ```
    pub fn snippet(&self) -> Option<String> {
        self.location().map(Location::snippet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let name: Arc<str> = Arc::from("t.yaml");
        let src = "a: 1\nbé: {{x}}\n";
        let off = src.find("{{").unwrap();
        let loc = Location::from_offset(&name, src, off);
        assert_eq!((loc.line, loc.column), (2, 5));
        assert_eq!(loc.source_line, "bé: {{x}}");
        assert_eq!(loc.to_string(), "t.yaml:2:5");
    }

    #[test]
    fn snippet_points_at_column() {
        let name: Arc<str> = Arc::from("t");
        let err = Error::Undefined {
            name: "x".into(),
            suggestion: None,
            location: Box::new(Location::from_offset(&name, "key: {{x}}", 5)),
        };
        assert_eq!(err.snippet().unwrap(), "  |\n1 | key: {{x}}\n  |      ^");
    }
}
