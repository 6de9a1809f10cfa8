//! The [`Engine`]: settings, partials, and compiled [`Template`]s.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crate::ast::{Node, Source};
use crate::data::Data;
use crate::error::{Error, Location};
use crate::loader::Loader;
use crate::parse;
use crate::render::Renderer;
use crate::value::Value;

/// How `{{name}}` escapes values. `{{{name}}}` and `{{& name}}` never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Escape {
    /// For YAML documents (kit's default): each tag is escaped for its YAML
    /// position, so a value reads back exactly or rendering fails. See
    /// [`crate::yaml`].
    #[default]
    Yaml,
    /// HTML entities for `& < > " '`, as the mustache spec says.
    Html,
    /// No escaping at all.
    None,
}

/// What interpolating a name that resolves to nothing does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UndefinedBehavior {
    /// An error naming the template position and the name, with a "did you
    /// mean" suggestion (kit's default). A missing partial is an error too.
    /// Sections over a missing name are still just falsey.
    #[default]
    Strict,
    /// The empty string, as the mustache spec says; missing partials render
    /// as nothing.
    Lenient,
}

/// Compiled partials by (escaping, name); `None` records a missing partial.
type PartialCache = HashMap<(Escape, String), Option<Arc<Template>>>;

/// The default limit on nested sections, partials, parents and lambdas
/// while rendering.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// Compiles templates and holds what they share: escaping and undefined-name
/// behaviour, and partials (registered in memory or read through a
/// [`Loader`], compiled once and cached).
///
/// ```
/// use kit_core::{Engine, Value};
/// let mut engine = Engine::new();
/// engine.add_partial("labels", "app: {{name}}\n");
/// let t = engine.compile("deploy.yaml", "metadata:\n  name: {{name}}\n  labels:\n    {{>labels}}\n")?;
/// let data: Value = serde_json::json!({"name": "yes"}).into();
/// assert_eq!(
///     t.render(&engine, &data)?,
///     "metadata:\n  name: \"yes\"\n  labels:\n    app: \"yes\"\n"
/// );
/// # Ok::<(), kit_core::Error>(())
/// ```
pub struct Engine {
    escape: Escape,
    undefined: UndefinedBehavior,
    max_depth: usize,
    sources: HashMap<String, String>,
    loader: Option<Box<dyn Loader>>,
    cache: RwLock<PartialCache>,
    sensitive: HashSet<Arc<str>>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("escape", &self.escape)
            .field("undefined", &self.undefined)
            .field("max_depth", &self.max_depth)
            .field("partials", &self.sources.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with YAML escaping and strict undefined names.
    pub fn new() -> Self {
        Engine {
            escape: Escape::Yaml,
            undefined: UndefinedBehavior::Strict,
            max_depth: DEFAULT_MAX_DEPTH,
            sources: HashMap::new(),
            loader: None,
            cache: RwLock::new(HashMap::new()),
            sensitive: HashSet::new(),
        }
    }

    /// Sets the escaping used by [`Engine::compile`].
    pub fn with_escape(mut self, escape: Escape) -> Self {
        self.escape = escape;
        self
    }

    /// Sets what a missing name does.
    pub fn with_undefined(mut self, undefined: UndefinedBehavior) -> Self {
        self.undefined = undefined;
        self
    }

    /// Sets the nesting limit for sections, partials, parents and lambdas.
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Reads partials not registered with [`Engine::add_partial`] through
    /// `loader`.
    pub fn with_loader(mut self, loader: impl Loader + 'static) -> Self {
        self.loader = Some(Box::new(loader));
        self
    }

    /// Marks values as sensitive (secrets). In YAML templates, a sensitive
    /// string written by a raw tag (`{{{name}}}`, `{{& name}}`) must come out
    /// exactly as escaping would have written it, so that it reads back as
    /// itself; otherwise rendering fails at that tag.
    ///
    /// ```
    /// use kit_core::Engine;
    /// let engine = Engine::new().with_sensitive_values(["p\"w".to_string()]);
    /// let t = engine.compile("t", "password: \"{{{pw}}}\"\n")?;
    /// let err = t.render_json(&engine, &serde_json::json!({"pw": "p\"w"})).unwrap_err();
    /// assert!(err.to_string().contains("written raw inside a double-quoted scalar"));
    /// # Ok::<(), kit_core::Error>(())
    /// ```
    pub fn with_sensitive_values<S: Into<Arc<str>>>(
        mut self,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.sensitive.extend(values.into_iter().map(Into::into));
        self
    }

    pub(crate) fn is_sensitive(&self, value: &str) -> bool {
        !self.sensitive.is_empty() && self.sensitive.contains(value)
    }

    /// Registers a partial (or parent) template by name. It is compiled when
    /// first used.
    pub fn add_partial(&mut self, name: impl Into<String>, source: impl Into<String>) {
        let name = name.into();
        self.cache
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, n), _| *n != name);
        self.sources.insert(name, source.into());
    }

    /// The escaping [`Engine::compile`] uses.
    pub fn escape(&self) -> Escape {
        self.escape
    }

    pub(crate) fn undefined(&self) -> UndefinedBehavior {
        self.undefined
    }

    pub(crate) fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Compiles a template with the engine's escaping.
    pub fn compile(&self, name: &str, source: &str) -> Result<Template, Error> {
        Template::compile(name, source, self.escape)
    }

    /// Compiles a template with the given escaping (its partials follow it).
    pub fn compile_with(
        &self,
        name: &str,
        source: &str,
        escape: Escape,
    ) -> Result<Template, Error> {
        Template::compile(name, source, escape)
    }

    /// A compiled partial, or `None` when no partial has that name.
    pub(crate) fn partial(
        &self,
        name: &str,
        escape: Escape,
    ) -> Result<Option<Arc<Template>>, Error> {
        let key = (escape, name.to_owned());
        if let Some(hit) = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(hit.clone());
        }
        let source = match self.sources.get(name) {
            Some(s) => Some(s.clone()),
            None => match &self.loader {
                Some(l) => l.load(name)?,
                None => None,
            },
        };
        let compiled = match source {
            Some(s) => Some(Arc::new(Template::compile(name, &s, escape)?)),
            None => None,
        };
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, compiled.clone());
        Ok(compiled)
    }
}

/// Where each piece of a rendered output came from (see
/// [`Template::render_traced`]).
pub struct Trace {
    marks: Vec<crate::render::Mark>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("marks", &self.marks.len())
            .finish()
    }
}

impl Trace {
    /// The template line and column that wrote byte `offset` of `output`
    /// (the output this trace came with). A position inside an
    /// interpolated value points at its tag.
    pub fn locate(&self, output: &str, offset: usize) -> Option<Location> {
        let i = self.marks.partition_point(|m| m.out <= offset);
        let m = self.marks.get(i.checked_sub(1)?)?;
        let written = output.get(m.out..offset.min(output.len()))?;
        let text = &m.src.text;
        let lines = written.matches('\n').count();
        let at = if lines == 0 {
            // Same line: as many characters further (a value's characters
            // all map to its tag).
            let is_text = text[m.pos..].starts_with(written);
            if is_text {
                m.pos + written.len()
            } else {
                m.pos
            }
        } else {
            // A later line of the same text piece: that many template lines
            // down, at the same column less the partial's indentation.
            let mut line_start = m.pos;
            for _ in 0..lines {
                line_start += text[line_start..].find('\n')? + 1;
            }
            let col = written[written.rfind('\n')? + 1..]
                .len()
                .saturating_sub(m.indent);
            let line_len = text[line_start..]
                .find('\n')
                .unwrap_or(text.len() - line_start);
            let mut at = line_start + col.min(line_len);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        Some(Location::from_offset(&m.src.name, text, at))
    }
}

/// A compiled template. Compile once, render many times, from any number
/// of threads at once.
///
/// A template learns from its renders, without changing what they
/// produce: the output size (to allocate once) and, per name, where in
/// its map the name was found (tried first next time, then checked; data
/// of the same shape is the common case, any other shape renders the same,
/// a little slower).
pub struct Template {
    pub(crate) src: Arc<Source>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) escape: Escape,
    size_hint: AtomicUsize,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.src.name)
            .field("escape", &self.escape)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Compiles `source` on its own (partials come from the engine it is
    /// rendered with).
    pub fn compile(name: &str, source: &str, escape: Escape) -> Result<Template, Error> {
        Template::compile_inner(name, source, escape, None)
    }

    /// Compiles starting with the given delimiters (for section lambdas).
    pub(crate) fn compile_inner(
        name: &str,
        source: &str,
        escape: Escape,
        delims: Option<(&str, &str)>,
    ) -> Result<Template, Error> {
        let src = Arc::new(Source {
            name: name.into(),
            text: source.into(),
        });
        let nodes = parse::parse(&src, escape, delims)?;
        Ok(Template {
            size_hint: AtomicUsize::new(source.len() + source.len() / 4),
            src,
            nodes,
            escape,
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.src.name
    }

    /// The template's source text.
    pub fn source(&self) -> &str {
        &self.src.text
    }

    /// Every name the template looks up, dotted as written (`.` for the
    /// implicit iterator), in order, with repeats: for tools that check
    /// which data keys a template uses. Partials are templates of their own.
    ///
    /// ```
    /// let t = kit_core::Engine::new().compile("t", "{{#env}}{{name}}{{/env}} {{image.tag}}")?;
    /// assert_eq!(t.names(), ["env", "name", "image.tag"]);
    /// # Ok::<(), kit_core::Error>(())
    /// ```
    pub fn names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        crate::ast::collect_names(&self.nodes, &mut out);
        out
    }

    /// The escaping it was compiled with.
    pub fn escape(&self) -> Escape {
        self.escape
    }

    /// Renders with `data` as the context.
    pub fn render(&self, engine: &Engine, data: &Value) -> Result<String, Error> {
        self.render_data(engine, Data::Kit(data))
    }

    /// Renders JSON data directly, without converting it first.
    ///
    /// ```
    /// let engine = kit_core::Engine::new();
    /// let t = engine.compile("t", "replicas: {{replicas}}\n")?;
    /// let out = t.render_json(&engine, &serde_json::json!({"replicas": 3}))?;
    /// assert_eq!(out, "replicas: 3\n");
    /// # Ok::<(), kit_core::Error>(())
    /// ```
    pub fn render_json(&self, engine: &Engine, data: &serde_json::Value) -> Result<String, Error> {
        self.render_data(engine, Data::Json(data))
    }

    fn render_data(&self, engine: &Engine, data: Data<'_>) -> Result<String, Error> {
        let mut out = String::with_capacity(self.size_hint.load(Ordering::Relaxed));
        self.render_data_to(engine, data, &mut out)?;
        Ok(out)
    }

    /// Renders like [`Template::render`], and also returns a [`Trace`] that
    /// maps any position of the output back to the template (or partial)
    /// line and column that wrote it: for messages about rendered output
    /// (kit's manifest checks). Slower than `render`; use it to explain a
    /// failure, not on every render.
    ///
    /// ```
    /// let engine = kit_core::Engine::new();
    /// let t = engine.compile("t.yaml", "a: 1\nb: {{b}}\nc: 3\n")?;
    /// let data: kit_core::Value = serde_json::json!({"b": "x"}).into();
    /// let (out, trace) = t.render_traced(&engine, &data)?;
    /// let loc = trace.locate(&out, out.find("c:").unwrap()).unwrap();
    /// assert_eq!((&*loc.template, loc.line, loc.column), ("t.yaml", 3, 1));
    /// let loc = trace.locate(&out, out.find('x').unwrap()).unwrap();
    /// assert_eq!((loc.line, loc.column), (2, 4)); // the {{b}} tag
    /// # Ok::<(), kit_core::Error>(())
    /// ```
    pub fn render_traced(&self, engine: &Engine, data: &Value) -> Result<(String, Trace), Error> {
        let mut out = String::with_capacity(self.size_hint.load(Ordering::Relaxed));
        let mut marks = Vec::new();
        Renderer::new(engine, &mut out)
            .traced(&mut marks)
            .render_template(self, Data::Kit(data))?;
        Ok((out, Trace { marks }))
    }

    /// Renders any serializable value (a struct, a map...).
    pub fn render_serialize<T: serde::Serialize + ?Sized>(
        &self,
        engine: &Engine,
        data: &T,
    ) -> Result<String, Error> {
        let json = serde_json::to_value(data).map_err(|e| Error::Data(e.to_string()))?;
        self.render_json(engine, &json)
    }

    /// Renders, appending to `out`. On error `out` is left as it was.
    pub fn render_to(&self, engine: &Engine, data: &Value, out: &mut String) -> Result<(), Error> {
        self.render_data_to(engine, Data::Kit(data), out)
    }

    fn render_data_to(
        &self,
        engine: &Engine,
        data: Data<'_>,
        out: &mut String,
    ) -> Result<(), Error> {
        let before = out.len();
        let result = Renderer::new(engine, out).render_template(self, data);
        match result {
            Ok(()) => {
                let written = out.len() - before;
                if written > self.size_hint.load(Ordering::Relaxed) {
                    self.size_hint.store(written, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(e) => {
                out.truncate(before);
                Err(e)
            }
        }
    }
}
