//! Walking the node tree against a context stack.

use std::borrow::Cow;
use std::sync::Arc;

use crate::Escape;
use crate::ast::{self, Block, Name, Node, Parent, PartialRef, Section, Source, VarEscape};
use crate::data::{Data, Items, Scalar};
use crate::engine::{Engine, Template, UndefinedBehavior};
use crate::error::{Error, Location};
use crate::suggest::suggest;
use crate::yaml::YamlPosition;
use crate::{html, yaml};

/// Block arguments in force, innermost last; lookups prefer the outermost
/// (the top-level template's arguments win, as the spec says).
struct Chain<'a> {
    args: &'a [Block],
    outer: Option<&'a Chain<'a>>,
}

impl<'a> Chain<'a> {
    fn find(&self, name: &str) -> Option<&'a Block> {
        if let Some(b) = self.outer.and_then(|o| o.find(name)) {
            return Some(b);
        }
        self.args.iter().find(|b| &*b.name == name)
    }
}

/// Where the renderer is: template source (for errors), escaping (for
/// partials and lambdas), indentation, and block arguments.
#[derive(Clone, Copy)]
struct Frame<'a> {
    src: &'a Arc<Source>,
    escape: Escape,
    indent: &'a str,
    chain: Option<&'a Chain<'a>>,
}

/// Where a piece of output came from: output offset, template, template
/// offset.
pub(crate) struct Mark {
    pub out: usize,
    pub src: Arc<Source>,
    pub pos: usize,
    pub indent: usize,
}

pub(crate) struct Renderer<'e> {
    engine: &'e Engine,
    out: &'e mut String,
    /// When tracing: a mark where each text piece and value starts.
    trace: Option<&'e mut Vec<Mark>>,
    depth: usize,
    /// The last template text written ended a line: indentation is due
    /// before the next output.
    pending_indent: bool,
}

thread_local! {
    /// The context stack of this thread's last render, empty, for the next
    /// one: a render then starts without an allocation.
    static SPARE_STACK: std::cell::Cell<Vec<Data<'static>>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty stack with `v`'s allocation (at least 16 entries), for data of
/// any lifetime: collecting a vector's own items in place keeps its
/// buffer, and there are none to convert.
fn recycled<'a, 'b>(mut v: Vec<Data<'a>>) -> Vec<Data<'b>> {
    v.clear();
    let mut v: Vec<Data<'b>> = v.into_iter().map(|_| unreachable!("cleared")).collect();
    v.reserve(16);
    v
}

fn resolve<'v>(stack: &[Data<'v>], name: &Name) -> Option<Data<'v>> {
    let Some((first, rest)) = name.parts.split_first() else {
        return stack.last().copied();
    };
    let mut v = stack
        .iter()
        .rev()
        .find_map(|v| v.get_hinted(&first.text, &first.hint))?;
    for p in rest {
        v = v.get_hinted(&p.text, &p.hint)?;
    }
    Some(v)
}

/// A float's text: shortest round-trip form, always readable as a float by
/// YAML 1.1 and 1.2 (`1.0e+100`, not `1e100`).
fn float_text(x: f64, yaml: bool) -> String {
    if !x.is_finite() {
        return match (yaml, x.is_nan(), x > 0.0) {
            (true, true, _) => ".nan".into(),
            (true, false, true) => ".inf".into(),
            (true, false, false) => "-.inf".into(),
            (false, true, _) => "NaN".into(),
            (false, false, true) => "inf".into(),
            (false, false, false) => "-inf".into(),
        };
    }
    let s = serde_json::Number::from_f64(x).map_or_else(|| x.to_string(), |n| n.to_string());
    if !yaml {
        return s;
    }
    match s.find(['e', 'E']) {
        Some(e) => {
            let (mant, exp) = (&s[..e], &s[e + 1..]);
            let mant = if mant.contains('.') {
                Cow::Borrowed(mant)
            } else {
                Cow::Owned(format!("{mant}.0"))
            };
            let sign = if exp.starts_with(['-', '+']) { "" } else { "+" };
            format!("{mant}e{sign}{exp}")
        }
        None if s.contains('.') => s,
        None => s + ".0",
    }
}

impl<'e> Renderer<'e> {
    pub fn new(engine: &'e Engine, out: &'e mut String) -> Self {
        Renderer {
            engine,
            out,
            trace: None,
            depth: 0,
            pending_indent: false,
        }
    }

    /// Records a [`Mark`] for every text piece and value written.
    pub fn traced(mut self, marks: &'e mut Vec<Mark>) -> Self {
        self.trace = Some(marks);
        self
    }

    fn mark(&mut self, f: Frame<'_>, pos: usize) {
        if let Some(t) = self.trace.as_deref_mut() {
            t.push(Mark {
                out: self.out.len(),
                src: f.src.clone(),
                pos,
                indent: f.indent.len(),
            });
        }
    }

    /// Literal text with a mark per piece (tracing only).
    fn traced_text(&mut self, text: &str, marks: &[(u32, u32)], f: Frame<'_>) {
        for (i, &(start, pos)) in marks.iter().enumerate() {
            let end = marks.get(i + 1).map_or(text.len(), |m| m.0 as usize);
            let piece = &text[start as usize..end];
            if piece.is_empty() {
                continue;
            }
            self.indent_if_due(f.indent);
            self.mark(f, pos as usize);
            self.text(piece, f.indent);
        }
    }

    pub fn render_template(&mut self, tpl: &Template, data: Data<'_>) -> Result<(), Error> {
        let mut stack = recycled(SPARE_STACK.take());
        // The top-level names are looked up all through the template: their
        // entries (as many as a scanned map holds) are fetched together now
        // rather than one wait each.
        data.warm(crate::data::SCANNED);
        stack.push(data);
        let frame = Frame {
            src: &tpl.src,
            escape: tpl.escape,
            indent: "",
            chain: None,
        };
        let result = self.nodes(&tpl.nodes, frame, &mut stack);
        SPARE_STACK.set(recycled(stack));
        result
    }

    fn location(&self, f: Frame<'_>, pos: usize) -> Box<Location> {
        Box::new(Location::from_offset(&f.src.name, &f.src.text, pos))
    }

    fn enter(&mut self, f: Frame<'_>, pos: usize) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.engine.max_depth() {
            return Err(Error::TooDeep {
                limit: self.engine.max_depth(),
                location: self.location(f, pos),
            });
        }
        Ok(())
    }

    /// Writes the indentation when it is due. Only an indented frame keeps
    /// `pending_indent` up to date: a frame without indentation has none
    /// to write, and every indented frame begins by setting it
    /// ([`Renderer::nested_indent`]; a frame inherits its parent's
    /// indentation, and with it the tracking, or adds its own).
    fn indent_if_due(&mut self, indent: &str) {
        if !indent.is_empty() && self.pending_indent {
            self.out.push_str(indent);
            self.pending_indent = false;
        }
    }

    #[inline]
    fn text(&mut self, text: &str, indent: &str) {
        if indent.is_empty() {
            self.out.push_str(text);
        } else {
            self.indented_text(text, indent);
        }
    }

    /// Text inside an indented partial or block: the indentation before
    /// each line.
    #[inline(never)]
    fn indented_text(&mut self, text: &str, indent: &str) {
        for line in text.split_inclusive('\n') {
            self.indent_if_due(indent);
            self.out.push_str(line);
            self.pending_indent = line.ends_with('\n');
        }
    }

    fn nodes<'v>(
        &mut self,
        nodes: &[Node],
        f: Frame<'_>,
        stack: &mut Vec<Data<'v>>,
    ) -> Result<(), Error> {
        self.nodes_for_each(nodes, f, stack, None)
    }

    /// Renders `nodes` once, or with `items` once per item (the item on
    /// top of the stack): a list's items are one call here rather than a
    /// call of [`Renderer::nodes`] each (whose set-up cost as much as a
    /// value). An error ends the render, so it returns without taking the
    /// item off the stack.
    fn nodes_for_each<'v>(
        &mut self,
        nodes: &[Node],
        f: Frame<'_>,
        stack: &mut Vec<Data<'v>>,
        mut items: Option<Items<'v>>,
    ) -> Result<(), Error> {
        let depth = stack.len();
        loop {
            if let Some(items) = items.as_mut() {
                stack.truncate(depth);
                match items.next() {
                    Some(item) => stack.push(item),
                    None => return Ok(()),
                }
            }
            for node in nodes {
                match node {
                    Node::Text(t, marks) => {
                        if self.trace.is_some() {
                            self.traced_text(t, marks, f);
                        } else {
                            self.text(t, f.indent);
                        }
                    }
                    Node::Var { name, escape, pos } => {
                        if self.trace.is_some() {
                            self.indent_if_due(f.indent);
                            self.mark(f, *pos);
                        }
                        self.var(name, *escape, *pos, f, stack)?
                    }
                    // Three arms, so that the dispatch is two predictable
                    // branches rather than an indirect jump (templates are
                    // mostly text and values, alternating).
                    other => self.structure(other, f, stack)?,
                }
            }
            if items.is_none() {
                return Ok(());
            }
        }
    }

    /// A section, partial, parent or block.
    #[inline(never)]
    fn structure(
        &mut self,
        node: &Node,
        f: Frame<'_>,
        stack: &mut Vec<Data<'_>>,
    ) -> Result<(), Error> {
        match node {
            Node::Section(s) => self.section(s, f, stack),
            Node::Partial { name, indent, pos } => {
                self.partial(name, indent.as_deref(), *pos, f, stack)
            }
            Node::Parent(p) => self.parent(p, f, stack),
            Node::Block(b) => self.block(b, f, stack),
            Node::Scalar(s) => self.scalar(s, f, stack),
            Node::Text(..) | Node::Var { .. } => unreachable!("handled by Renderer::nodes"),
        }
    }

    #[inline(never)]
    fn partial(
        &mut self,
        name: &PartialRef,
        indent: Option<&str>,
        pos: usize,
        f: Frame<'_>,
        stack: &mut Vec<Data<'_>>,
    ) -> Result<(), Error> {
        let Some(tpl) = self.find_partial(name, pos, f, stack)? else {
            return Ok(());
        };
        self.enter(f, pos)?;
        let indent = self.nested_indent(f.indent, indent);
        let inner = Frame {
            src: &tpl.src,
            escape: tpl.escape,
            indent: &indent,
            chain: f.chain,
        };
        self.nodes(&tpl.nodes, inner, stack)?;
        self.depth -= 1;
        Ok(())
    }

    #[inline(never)]
    fn parent(&mut self, p: &Parent, f: Frame<'_>, stack: &mut Vec<Data<'_>>) -> Result<(), Error> {
        let Some(tpl) = self.find_partial(&p.name, p.pos, f, stack)? else {
            return Ok(());
        };
        self.enter(f, p.pos)?;
        let indent = self.nested_indent(f.indent, p.indent.as_deref());
        let chain = Chain {
            args: &p.args,
            outer: f.chain,
        };
        let inner = Frame {
            src: &tpl.src,
            escape: tpl.escape,
            indent: &indent,
            chain: Some(&chain),
        };
        self.nodes(&tpl.nodes, inner, stack)?;
        self.depth -= 1;
        Ok(())
    }

    #[inline(never)]
    fn block(&mut self, b: &Block, f: Frame<'_>, stack: &mut Vec<Data<'_>>) -> Result<(), Error> {
        let chosen = f.chain.and_then(|c| c.find(&b.name)).unwrap_or(b);
        self.enter(f, b.pos)?;
        let indent = self.nested_indent(f.indent, b.indent.as_deref());
        let inner = Frame {
            src: &chosen.src,
            indent: &indent,
            ..f
        };
        self.nodes(&chosen.body, inner, stack)?;
        self.depth -= 1;
        Ok(())
    }

    /// A plain scalar made of several pieces: rendered, then judged as a
    /// whole. Kept as it is when it reads back as its own text, else
    /// written double-quoted (its literal text included), else refused.
    #[inline(never)]
    fn scalar(
        &mut self,
        s: &ast::Scalar,
        f: Frame<'_>,
        stack: &mut Vec<Data<'_>>,
    ) -> Result<(), Error> {
        self.indent_if_due(f.indent);
        let start = self.out.len();
        self.nodes(&s.body, f, stack)?;
        match yaml::scalar::judge_assembled(&self.out[start..], s.flow, s.key, s.raw) {
            Ok(false) => {}
            Ok(true) => {
                let text = self.out.split_off(start);
                self.out.reserve(text.len() + 2);
                self.out.push('"');
                yaml::write_double_quoted(self.out, &text);
                self.out.push('"');
                // What was traced inside the scalar moved by the opening
                // quote (and by any escapes before it: within the line).
                if let Some(marks) = self.trace.as_deref_mut() {
                    let end = self.out.len();
                    for m in marks.iter_mut().rev() {
                        if m.out <= start {
                            break;
                        }
                        m.out = (m.out + 1).min(end);
                    }
                }
            }
            Err(refusal) => {
                let mut names = Vec::new();
                ast::collect_names(&s.body, &mut names);
                return Err(Error::UnrepresentableScalar {
                    names: crate::error::list_names(&names),
                    reason: refusal.reason,
                    hint: refusal.hint,
                    location: self.location(f, s.pos),
                });
            }
        }
        Ok(())
    }

    /// The indentation inside a standalone partial, parent or block.
    fn nested_indent<'a>(&mut self, outer: &'a str, own: Option<&str>) -> Cow<'a, str> {
        match own {
            None => Cow::Borrowed(outer),
            Some(own) => {
                self.pending_indent = true;
                if own.is_empty() {
                    Cow::Borrowed(outer)
                } else {
                    Cow::Owned(format!("{outer}{own}"))
                }
            }
        }
    }

    fn find_partial(
        &mut self,
        name: &PartialRef,
        pos: usize,
        f: Frame<'_>,
        stack: &[Data<'_>],
    ) -> Result<Option<Arc<Template>>, Error> {
        let strict = self.engine.undefined() == UndefinedBehavior::Strict;
        // A dynamic name comes from the data: when it is a secret, messages
        // name the tag that produced it, never the value.
        let (name, shown): (&str, Option<String>) = match name {
            PartialRef::Static(s) => (s, None),
            PartialRef::Dynamic(n) => match resolve(stack, n).map(Data::scalar) {
                Some(Scalar::Str(s)) => {
                    let shown = self
                        .engine
                        .is_sensitive(s)
                        .then(|| format!("<the secret value of '{}'>", n.dotted));
                    (s, shown)
                }
                Some(_) | None if !strict => return Ok(None),
                Some(_) | None => return Err(self.undefined(n, pos, f, stack)),
            },
        };
        let found = self
            .engine
            .partial(name, f.escape)
            .map_err(|e| match (e, &shown) {
                (Error::PartialName { reason, .. }, Some(shown)) => Error::PartialName {
                    name: shown.clone(),
                    reason,
                },
                (e, _) => e,
            })?;
        match found {
            Some(t) => Ok(Some(t)),
            None if strict => Err(Error::PartialNotFound {
                name: shown.unwrap_or_else(|| name.into()),
                location: self.location(f, pos),
            }),
            None => Ok(None),
        }
    }

    fn undefined(&self, name: &Name, pos: usize, f: Frame<'_>, stack: &[Data<'_>]) -> Error {
        Error::Undefined {
            name: name.dotted.to_string(),
            suggestion: suggest(stack, name),
            location: self.location(f, pos),
        }
    }

    fn var(
        &mut self,
        name: &Name,
        escape: VarEscape,
        pos: usize,
        f: Frame<'_>,
        stack: &mut Vec<Data<'_>>,
    ) -> Result<(), Error> {
        let Some(value) = resolve(stack, name) else {
            return match self.engine.undefined() {
                UndefinedBehavior::Strict => Err(self.undefined(name, pos, f, stack)),
                UndefinedBehavior::Lenient => Ok(()),
            };
        };
        // The common case first: a string as a whole plain scalar value
        // (`key: {{v}}`, `- {{v}}`), which cannot be refused.
        if let VarEscape::Yaml(YamlPosition::Plain { key: false, flow }) = escape
            && let Some(s) = value.as_str()
        {
            self.indent_if_due(f.indent);
            yaml::write_string_scalar(self.out, s, flow);
            return Ok(());
        }
        // A string that is a piece of a larger plain scalar: written as it
        // is, the scalar judges the whole ([`Renderer::scalar`]).
        if let VarEscape::Yaml(YamlPosition::Fragment(_)) = escape
            && let Some(s) = value.as_str()
        {
            self.indent_if_due(f.indent);
            self.out.push_str(s);
            return Ok(());
        }
        // Next, a line of a block scalar (`|`, `>`) that needs no change.
        if let VarEscape::Yaml(YamlPosition::Block { first_line, .. }) = escape
            && let Some(s) = value.as_str()
            && yaml::scalar::block_line_as_is(s, first_line)
        {
            self.indent_if_due(f.indent);
            self.out.push_str(s);
            return Ok(());
        }
        let yaml_pos = match escape {
            VarEscape::Yaml(p) => Some(p),
            _ => None,
        };
        let owned: String;
        // Integers are written from a buffer here rather than a new string.
        let mut digits = itoa::Buffer::new();
        let (text, is_string, is_null): (&str, bool, bool) = match value.scalar() {
            Scalar::Str(s) => (s, true, false),
            Scalar::Int(i) => (digits.format(i), false, false),
            Scalar::UInt(u) => (digits.format(u), false, false),
            Scalar::Float(x) => {
                owned = float_text(x, yaml_pos.is_some());
                (&owned, false, false)
            }
            Scalar::Bool(b) => (if b { "true" } else { "false" }, false, false),
            Scalar::Null => (if yaml_pos.is_some() { "null" } else { "" }, false, true),
            Scalar::Composite(kind) => {
                return Err(Error::NotInterpolable {
                    name: name.dotted.to_string(),
                    kind,
                    location: self.location(f, pos),
                });
            }
            Scalar::Lambda(l) => {
                owned = self.lambda_value(l, name, pos, f, stack)?;
                (&owned, true, false)
            }
        };
        if let (VarEscape::Raw(Some(p)), true) = (escape, is_string)
            && self.engine.is_sensitive(text)
        {
            let mut escaped = String::with_capacity(text.len() + 2);
            let same = yaml::scalar::write_str(&mut escaped, text, &p, f.indent).is_ok()
                && escaped == text;
            if !same {
                return Err(Error::UnsafeRaw {
                    name: name.dotted.to_string(),
                    position: p.describe(),
                    location: self.location(f, pos),
                });
            }
        }
        if text.is_empty() && yaml_pos.is_none() {
            return Ok(());
        }
        self.indent_if_due(f.indent);
        match escape {
            VarEscape::Raw(_) => self.out.push_str(text),
            VarEscape::Html => html::write_escaped(self.out, text),
            VarEscape::Yaml(p) => {
                let r = if is_string && matches!(p, YamlPosition::Fragment(_)) {
                    // A lambda's text as a piece of a larger scalar.
                    self.out.push_str(text);
                    Ok(())
                } else if is_string {
                    yaml::scalar::write_str(self.out, text, &p, f.indent)
                } else {
                    yaml::scalar::write_non_string(self.out, text, is_null, &p)
                };
                r.map_err(|refusal| Error::Unrepresentable {
                    name: name.dotted.to_string(),
                    position: p.describe(),
                    reason: refusal.reason,
                    hint: refusal.hint,
                    location: self.location(f, pos),
                })?;
            }
        }
        Ok(())
    }

    /// The text of a lambda interpolated with `{{name}}`: its result
    /// rendered as a template.
    #[inline(never)]
    fn lambda_value(
        &mut self,
        l: &crate::value::Lambda,
        name: &Name,
        pos: usize,
        f: Frame<'_>,
        stack: &mut Vec<Data<'_>>,
    ) -> Result<String, Error> {
        let source = l.call("");
        let tpl = Template::compile(
            &format!("<lambda {} in {}>", name.dotted, f.src.name),
            &source,
            Escape::None,
        )?;
        let mut rendered = String::new();
        let mut sub = Renderer {
            engine: self.engine,
            out: &mut rendered,
            trace: None,
            depth: self.depth + 1,
            pending_indent: false,
        };
        self.enter(f, pos)?;
        let inner = Frame {
            src: &tpl.src,
            escape: Escape::None,
            indent: "",
            chain: f.chain,
        };
        sub.nodes(&tpl.nodes, inner, stack)?;
        self.depth -= 1;
        Ok(rendered)
    }

    fn section<'v>(
        &mut self,
        s: &Section,
        f: Frame<'_>,
        stack: &mut Vec<Data<'v>>,
    ) -> Result<(), Error> {
        let value = resolve(stack, &s.name);
        if s.inverted {
            if !value.is_some_and(|v| v.is_truthy()) {
                self.enter(f, s.pos)?;
                self.nodes(&s.body, f, stack)?;
                self.depth -= 1;
            }
            return Ok(());
        }
        let Some(value) = value.filter(|v| v.is_truthy()) else {
            return Ok(());
        };
        self.enter(f, s.pos)?;
        if let Some(items) = value.items() {
            self.nodes_for_each(&s.body, f, stack, Some(items))?;
        } else if let Some(l) = value.lambda() {
            let raw = &f.src.text[s.raw.0..s.raw.1];
            let source = l.call(raw);
            let name = format!("<lambda {} in {}>", s.name.dotted, f.src.name);
            let delims = s.delims.as_ref().map(|(o, c)| (&**o, &**c));
            let tpl = Template::compile_inner(&name, &source, f.escape, delims)?;
            let inner = Frame { src: &tpl.src, ..f };
            self.nodes(&tpl.nodes, inner, stack)?;
        } else {
            stack.push(value);
            let r = self.nodes(&s.body, f, stack);
            stack.pop();
            r?;
        }
        self.depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::float_text;
    use crate::{Engine, Escape, Value};

    /// Integers are written from a buffer (not a new string): every
    /// position, both data forms, the extremes of both integer types.
    #[test]
    fn integers_render_as_their_decimal_text() {
        let cases: [(Value, serde_json::Value, &str); 6] = [
            (Value::Int(0), 0.into(), "0"),
            (Value::Int(-1), (-1).into(), "-1"),
            (Value::Int(3), 3.into(), "3"),
            (
                Value::Int(i64::MIN),
                i64::MIN.into(),
                "-9223372036854775808",
            ),
            (Value::Int(i64::MAX), i64::MAX.into(), "9223372036854775807"),
            (
                Value::UInt(u64::MAX),
                u64::MAX.into(),
                "18446744073709551615",
            ),
        ];
        let yaml = Engine::new();
        let html = Engine::new().with_escape(Escape::Html);
        let templates = [
            (&yaml, "a: {{n}}\n", "a: N\n"),
            (&yaml, "a: |\n  n={{n}}\n", "a: |\n  n=N\n"),
            (&yaml, "a: x-{{n}}\n", "a: x-N\n"),
            (&yaml, "a: \"{{n}}\"\n", "a: \"N\"\n"),
            (&html, "<b>{{n}}</b>", "<b>N</b>"),
        ];
        for (engine, src, expected) in templates {
            let t = engine.compile("t.yaml", src).unwrap();
            for (kit, json, text) in &cases {
                let want = expected.replace('N', text);
                let mut data = crate::Map::new();
                data.insert("n".into(), kit.clone());
                assert_eq!(t.render(engine, &Value::Map(data)).unwrap(), want, "{src}");
                let json = serde_json::json!({ "n": json });
                assert_eq!(t.render_json(engine, &json).unwrap(), want, "{src}");
            }
        }
    }

    #[test]
    fn floats_stay_floats_in_yaml() {
        assert_eq!(float_text(1.5, true), "1.5");
        assert_eq!(float_text(3.0, true), "3.0");
        assert_eq!(float_text(1e100, true), "1.0e+100");
        assert_eq!(float_text(1.5e-7, true), "1.5e-7");
        assert_eq!(float_text(f64::NAN, true), ".nan");
        assert_eq!(float_text(1.21, false), "1.21");
    }
}
