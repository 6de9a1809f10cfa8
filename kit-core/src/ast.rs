//! The compiled form of a template: a tree of nodes with byte offsets into
//! the template source (for error locations).

use std::borrow::Borrow;
use std::ops::Deref;
use std::sync::Arc;

use crate::data::Hint;
use crate::yaml::YamlPosition;

/// A template's name and text, shared by everything compiled from it.
#[derive(Debug)]
pub(crate) struct Source {
    pub name: Arc<str>,
    pub text: Arc<str>,
}

/// A name as written in a tag: `.` or `a.b.c`.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub dotted: Box<str>,
    /// Empty for the implicit iterator `.`.
    pub parts: Box<[Key]>,
}

/// One part of a dotted name, with where it was found last time.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub text: Box<str>,
    pub hint: Hint,
}

impl Key {
    pub fn new(text: &str) -> Key {
        Key {
            text: text.into(),
            hint: Hint::default(),
        }
    }
}

impl Deref for Key {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.text
    }
}

/// How an interpolation is escaped, decided when the template is compiled.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VarEscape {
    /// `{{{name}}}`, `{{& name}}`, or `Escape::None`. In YAML templates the
    /// position is kept, to check sensitive values (see
    /// [`crate::Engine::with_sensitive_values`]).
    Raw(Option<YamlPosition>),
    Html,
    Yaml(YamlPosition),
}

/// A partial or parent name: fixed, or (`{{>*name}}`) looked up in the data.
#[derive(Debug)]
pub(crate) enum PartialRef {
    Static(Box<str>),
    Dynamic(Name),
}

#[derive(Debug)]
pub(crate) enum Node {
    /// Literal text, with where its pieces start: (byte offset in `text`,
    /// byte offset in the template source), for tracing output back to the
    /// template.
    Text(Box<str>, Box<[(u32, u32)]>),
    Var {
        name: Name,
        escape: VarEscape,
        pos: usize,
    },
    Section(Box<Section>),
    Partial {
        name: PartialRef,
        /// `Some` when standalone: the indentation prepended to its lines.
        indent: Option<Box<str>>,
        pos: usize,
    },
    Parent(Box<Parent>),
    Block(Box<Block>),
    /// A plain YAML scalar made of several pieces, one at least an escaped
    /// value: rendered, then judged as a whole (kept plain, quoted or
    /// refused).
    Scalar(Box<Scalar>),
}

#[derive(Debug)]
pub(crate) struct Scalar {
    /// Its pieces: text, values, and the sections, partials and blocks
    /// inside it.
    pub body: Vec<Node>,
    /// Inside a flow collection.
    pub flow: bool,
    /// A mapping key.
    pub key: bool,
    /// One of its pieces is a raw value, which kit does not quote.
    pub raw: bool,
    /// Where it starts in the template source.
    pub pos: usize,
}

#[derive(Debug)]
pub(crate) struct Section {
    pub name: Name,
    pub inverted: bool,
    pub body: Vec<Node>,
    /// Byte range of the unprocessed section text (for lambdas).
    pub raw: (usize, usize),
    /// The delimiters in force inside the section, when not `{{ }}`.
    pub delims: Option<(Box<str>, Box<str>)>,
    pub pos: usize,
}

#[derive(Debug)]
pub(crate) struct Parent {
    pub name: PartialRef,
    pub indent: Option<Box<str>>,
    /// The blocks passed as arguments.
    pub args: Vec<Block>,
    pub pos: usize,
}

#[derive(Debug)]
pub(crate) struct Block {
    pub name: Box<str>,
    pub body: Vec<Node>,
    /// `Some` when the block's opening tag is standalone: the indentation
    /// its content (default or override) gets where it is expanded.
    pub indent: Option<Box<str>>,
    /// The template the body comes from (for errors and lambdas).
    pub src: Arc<Source>,
    pub pos: usize,
}

/// Collects every name a node tree looks up (interpolations, sections,
/// dynamic partial names), dotted as written.
pub(crate) fn collect_names<'a>(nodes: &'a [Node], out: &mut Vec<&'a str>) {
    for n in nodes {
        match n {
            Node::Text(..) => {}
            Node::Var { name, .. } => out.push(&name.dotted),
            Node::Section(s) => {
                out.push(&s.name.dotted);
                collect_names(&s.body, out);
            }
            Node::Partial { name, .. } => {
                if let PartialRef::Dynamic(n) = name {
                    out.push(&n.dotted);
                }
            }
            Node::Parent(p) => {
                if let PartialRef::Dynamic(n) = &p.name {
                    out.push(&n.dotted);
                }
                for b in &p.args {
                    collect_names(&b.body, out);
                }
            }
            Node::Block(b) => collect_names(&b.body, out),
            Node::Scalar(s) => collect_names(&s.body, out),
        }
    }
}
