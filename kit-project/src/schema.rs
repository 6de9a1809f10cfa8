//! Offline validation of rendered manifests against the Kubernetes API
//! schema of a chosen minor version (bundled: 1.34 to 1.37, default
//! [`DEFAULT_VERSION`]; see `kit-project/schema/README.md` for where the
//! data come from).
//!
//! Strict, as the API server reads YAML (through JSON, with YAML 1.1
//! scalars): unknown fields are errors, and so are scalars of the wrong
//! type (`replicas: five`, `replicas: "3"`, `enabled: yes` where a string is
//! expected), lists where maps go and the reverse, and missing required
//! fields. Kinds of built-in API groups that the
//! version does not serve are errors; other kinds (custom resources) pass
//! unchecked. Messages name the field path, never a value.

use std::collections::{HashMap, HashSet};

// The schema's maps hash with foldhash, not SipHash: their keys come from
// the bundled schema, and documents only look keys up (nothing a document
// holds is inserted), so there is no flooding to resist; lookups are a
// good part of validating.
use crate::fast::Fast;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::mask::Masker;
use crate::yaml::tree::{Kind, Node};

/// The minor version validated against unless `kit.yaml` chooses another.
pub const DEFAULT_VERSION: &str = "1.37";

/// The bundled minor versions and their compact schemas.
const BUNDLED: &[(&str, &str)] = &[
    ("1.34", include_str!("../schema/kubernetes-1.34.json")),
    ("1.35", include_str!("../schema/kubernetes-1.35.json")),
    ("1.36", include_str!("../schema/kubernetes-1.36.json")),
    ("1.37", include_str!("../schema/kubernetes-1.37.json")),
];

/// The minor versions kit can validate against.
pub fn versions() -> impl Iterator<Item = &'static str> {
    BUNDLED.iter().map(|(v, _)| *v)
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Def {
    Ref(String),
    Inline(Box<Inline>),
}

#[derive(Debug, Deserialize)]
struct Inline {
    t: String,
    #[serde(default)]
    p: Option<IndexMap<String, Def, Fast>>,
    #[serde(default)]
    r: Vec<String>,
    #[serde(default)]
    i: Option<Def>,
    #[serde(default)]
    v: Option<Def>,
    #[serde(default)]
    e: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
struct SchemaFile {
    version: String,
    kinds: HashMap<String, String, Fast>,
    /// Definitions stay unparsed until a document needs them: a
    /// one-target render parses a few dozen of the ~860.
    defs: HashMap<String, Lazy, Fast>,
}

/// A definition's JSON, parsed on first use.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct Lazy {
    raw: Box<serde_json::value::RawValue>,
    #[serde(skip)]
    node: OnceLock<Option<Def>>,
}

impl Lazy {
    fn get(&self) -> Option<&Def> {
        self.node
            .get_or_init(|| serde_json::from_str(self.raw.get()).ok())
            .as_ref()
    }
}

/// The API schema of one Kubernetes minor version.
#[derive(Debug)]
pub struct Schema {
    file: SchemaFile,
    /// API groups with built-in kinds (`""` for the core group).
    groups: HashSet<String, Fast>,
}

/// One problem found in a document. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// 1-based line within the document.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, with the field path.
    pub message: String,
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

impl Schema {
    /// The bundled schema of `version` (`1.37`), parsed once per process.
    ///
    /// ```
    /// let s = kit_project::schema::Schema::bundled("1.37").unwrap();
    /// assert_eq!(s.version(), "1.37");
    /// assert!(kit_project::schema::Schema::bundled("1.12").is_none());
    /// ```
    pub fn bundled(version: &str) -> Option<&'static Schema> {
        static CACHE: [OnceLock<Schema>; BUNDLED.len()] =
            [const { OnceLock::new() }; BUNDLED.len()];
        let i = BUNDLED.iter().position(|(v, _)| *v == version)?;
        Some(CACHE[i].get_or_init(|| {
            let file: SchemaFile =
                serde_json::from_str(BUNDLED[i].1).expect("bundled schemas are valid JSON");
            let groups = file
                .kinds
                .keys()
                .filter_map(|k| k.split_once(' ').map(|(api, _)| group_of(api).to_owned()))
                .collect();
            Schema { file, groups }
        }))
    }

    /// The minor version, e.g. `1.37`.
    pub fn version(&self) -> &str {
        &self.file.version
    }

    fn resolve<'s>(&'s self, mut n: &'s Def) -> Option<&'s Inline> {
        // References chain at most a few levels; bound it anyway.
        for _ in 0..16 {
            match n {
                Def::Inline(i) => return Some(i),
                Def::Ref(r) => {
                    n = self
                        .file
                        .defs
                        .get(r.strip_prefix('@').unwrap_or(r))?
                        .get()?
                }
            }
        }
        None
    }

    /// Validates one rendered document (a YAML mapping). Returns the first
    /// problem found. Documents whose kind is not built in pass.
    pub fn validate(&self, doc: &str, mask: &Masker) -> Result<(), SchemaError> {
        match crate::yaml::parse(doc, mask) {
            Ok(tree) => self.validate_tree(&tree, mask),
            Err(_) => Ok(()), // not YAML: the document checks report it
        }
    }

    /// [`Schema::validate`] of a document already read.
    pub(crate) fn validate_tree(&self, tree: &Node<'_>, mask: &Masker) -> Result<(), SchemaError> {
        let text = |k: &str| tree.get(k).and_then(Node::text);
        let (Some(api), Some(kind)) = (text("apiVersion"), text("kind")) else {
            return Ok(());
        };
        let Some(def) = self.file.kinds.get(&format!("{api} {kind}")) else {
            // Custom resources live in dotted groups; undotted ones (and the
            // groups of built-in kinds) are Kubernetes' own.
            let group = group_of(api);
            if self.groups.contains(group) || !group.contains('.') {
                let served: Vec<&str> = self
                    .file
                    .kinds
                    .keys()
                    .filter(|k| k.ends_with(&format!(" {kind}")) && !k.ends_with("List"))
                    .map(String::as_str)
                    .collect();
                let hint = if served.is_empty() {
                    String::new()
                } else {
                    let mut served = served;
                    served.sort_unstable();
                    format!(" (it serves {})", served.join(", "))
                };
                return Err(SchemaError {
                    line: tree.line,
                    column: tree.column,
                    message: format!(
                        "Kubernetes {} does not serve kind {} in apiVersion {}{hint}",
                        self.version(),
                        mask.show(kind),
                        mask.show(api)
                    ),
                });
            }
            return Ok(());
        };
        let root = Def::Ref(def.clone());
        let mut path = Vec::new();
        self.check(tree, &root, &mut path, mask)
    }

    fn check<'t>(
        &self,
        y: &'t Node<'t>,
        n: &Def,
        path: &mut Vec<Seg<'t>>,
        mask: &Masker,
    ) -> Result<(), SchemaError> {
        let Some(s) = self.resolve(n) else {
            return Ok(());
        };
        let fail = |path: &[Seg<'_>], message: String| SchemaError {
            line: y.line,
            column: y.column,
            message: if path.is_empty() {
                message
            } else {
                format!("{}: {message}", dotted(path, mask))
            },
        };
        let resolved = match &y.kind {
            Kind::Scalar { text, plain: true } => resolve_plain(text),
            _ => Scalar::Str,
        };
        let got = describe(&y.kind, resolved);
        match (&y.kind, s.t.as_str()) {
            (Kind::Alias, _) | (_, "any") => Ok(()),
            (Kind::Scalar { .. }, _) if resolved == Scalar::Null => Ok(()),
            (Kind::Map { entries, .. }, "object") => {
                for e in entries {
                    let sub = s.p.as_ref().and_then(|p| p.get(&*e.key)).or(s.v.as_ref());
                    let Some(sub) = sub else {
                        let known: Vec<&str> =
                            s.p.as_ref()
                                .map(|p| p.keys().map(String::as_str).collect())
                                .unwrap_or_default();
                        let hint = closest(&e.key, &known)
                            .map(|k| format!(" (did you mean '{k}'?)"))
                            .unwrap_or_default();
                        path.push(Seg::Key(&e.key));
                        let at = dotted(path, mask);
                        return Err(SchemaError {
                            line: e.line,
                            column: e.column,
                            message: format!("{at}: unknown field{hint}"),
                        });
                    };
                    path.push(Seg::Key(&e.key));
                    self.check(&e.value, sub, path, mask)?;
                    path.pop();
                }
                for r in &s.r {
                    if !entries.iter().any(|e| e.key == r.as_str()) {
                        return Err(fail(path, format!("required field '{r}' is missing")));
                    }
                }
                Ok(())
            }
            (Kind::Seq(items), "array") => {
                let Some(item) = &s.i else { return Ok(()) };
                for (i, it) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    self.check(it, item, path, mask)?;
                    path.pop();
                }
                Ok(())
            }
            (Kind::Scalar { text, .. }, t) => {
                let ok = match t {
                    "string" => resolved == Scalar::Str,
                    "integer" => resolved == Scalar::Int,
                    "number" => matches!(resolved, Scalar::Int | Scalar::Float),
                    "boolean" => resolved == Scalar::Bool,
                    "int-or-string" => matches!(resolved, Scalar::Int | Scalar::Str),
                    "quantity" => matches!(resolved, Scalar::Int | Scalar::Float | Scalar::Str),
                    _ => false,
                };
                if !ok {
                    return Err(fail(path, format!("expected {}, got {got}", expected(t))));
                }
                if let Some(e) = &s.e
                    && resolved == Scalar::Str
                    && !e.iter().any(|v| v.as_str() == Some(text))
                {
                    let allowed: Vec<&str> = e.iter().filter_map(|v| v.as_str()).collect();
                    return Err(fail(
                        path,
                        format!("not one of the allowed values ({})", allowed.join(", ")),
                    ));
                }
                Ok(())
            }
            (_, t) => Err(fail(path, format!("expected {}, got {got}", expected(t)))),
        }
    }
}

/// One step of a field path.
#[derive(Debug, Clone, Copy)]
enum Seg<'t> {
    Key(&'t str),
    Index(usize),
}

/// `spec.containers[0].image`, keys masked (a key may be a secret).
fn dotted(path: &[Seg<'_>], mask: &Masker) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&mask.show(k));
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn expected(t: &str) -> &'static str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (true or false)",
        "int-or-string" => "an integer or a string",
        "quantity" => "a quantity (a string like 100m or 1Gi, or a number)",
        _ => "something else",
    }
}

/// The known name closest to `key` (at most 2 edits away), for hints.
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let dist = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    };
    known
        .iter()
        .map(|k| (dist(&key.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// A scalar as the API server reads it (YAML 1.1, as sigs.k8s.io/yaml does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

fn resolve_plain(s: &str) -> Scalar {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "true" | "True"
        | "TRUE" | "false" | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => {
            return Scalar::Bool;
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Scalar::Float,
        _ => {}
    }
    // Numbers start with a digit or a dot, after a sign and underscores
    // (ignored): most strings end here.
    if !s
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'+' | b'-' | b'_'))
    {
        return Scalar::Str;
    }
    let t: std::borrow::Cow<'_, str> = if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    };
    let u = t.strip_prefix(['-', '+']).unwrap_or(&t);
    let all = |d: &str, f: fn(&u8) -> bool| !d.is_empty() && d.as_bytes().iter().all(f);
    if all(u, u8::is_ascii_digit)
        || u.strip_prefix("0x")
            .is_some_and(|d| all(d, u8::is_ascii_hexdigit))
        || u.strip_prefix("0o")
            .is_some_and(|d| all(d, |c| (b'0'..=b'7').contains(c)))
        || u.strip_prefix("0b")
            .is_some_and(|d| all(d, |c| *c == b'0' || *c == b'1'))
    {
        return Scalar::Int;
    }
    match crate::yaml::input::decimal(u) {
        Some(d) if d.dot || d.exp.is_some() => return Scalar::Float,
        _ => {}
    }
    Scalar::Str
}

/// How a node reads, for messages (`expected an integer, got a string`).
fn describe(kind: &Kind<'_>, resolved: Scalar) -> &'static str {
    match kind {
        Kind::Map { .. } => "a mapping",
        Kind::Seq(_) => "a list",
        Kind::Alias => "an alias",
        Kind::Scalar { .. } => match resolved {
            Scalar::Null => "null",
            Scalar::Bool => "a boolean",
            Scalar::Int => "an integer",
            Scalar::Float => "a float",
            Scalar::Str => "a string",
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// [`resolve_plain`] as first written: no shortcut.
    fn resolve_plain_reference(s: &str) -> Scalar {
        match s {
            "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
            "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "true"
            | "True" | "TRUE" | "false" | "False" | "FALSE" | "on" | "On" | "ON" | "off"
            | "Off" | "OFF" => return Scalar::Bool,
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf"
            | "-.INF" | ".nan" | ".NaN" | ".NAN" => return Scalar::Float,
            _ => {}
        }
        let t = s.replace('_', "");
        let u = t.strip_prefix(['-', '+']).unwrap_or(&t);
        let all = |d: &str, f: fn(&u8) -> bool| !d.is_empty() && d.as_bytes().iter().all(f);
        if all(u, u8::is_ascii_digit)
            || u.strip_prefix("0x")
                .is_some_and(|d| all(d, u8::is_ascii_hexdigit))
            || u.strip_prefix("0o")
                .is_some_and(|d| all(d, |c| (b'0'..=b'7').contains(c)))
            || u.strip_prefix("0b")
                .is_some_and(|d| all(d, |c| *c == b'0' || *c == b'1'))
        {
            return Scalar::Int;
        }
        match crate::yaml::input::decimal(u) {
            Some(d) if d.dot || d.exp.is_some() => Scalar::Float,
            _ => Scalar::Str,
        }
    }

    #[test]
    fn plain_scalars_resolve_as_without_the_shortcut() {
        let alphabet = b"0179_+-.eExXoObBaAfFnNyYtT~ :";
        let mut r = crate::xorshift::Rng(0x0DD5_CA1A_5EED_0001);
        for _ in 0..100_000 {
            let seed = r.next();
            let len = (seed % 7) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((seed >> (8 + 6 * i)) % alphabet.len() as u64) as usize] as char)
                .collect();
            assert_eq!(resolve_plain(&s), resolve_plain_reference(&s), "{s:?}");
        }
        for s in [
            "yes", "No", "~", ".inf", "-.INF", "0x1F", "1_000", "_1", "+.5", "1e3", "1.", "x1",
        ] {
            assert_eq!(resolve_plain(s), resolve_plain_reference(s), "{s:?}");
        }
    }

    fn check(doc: &str) -> Result<(), String> {
        Schema::bundled(DEFAULT_VERSION)
            .unwrap()
            .validate(doc, &Masker::default())
            .map_err(|e| format!("{}:{}: {}", e.line, e.column, e.message))
    }

    pub(crate) const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx\n          imagePullPolicy: Always\n          ports:\n            - containerPort: 80\n          resources:\n            requests:\n              cpu: 100m\n              memory: 1\n";

    #[test]
    fn a_valid_deployment_passes() {
        check(DEPLOYMENT).unwrap();
        check("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n")
            .unwrap();
    }

    #[test]
    fn types_unknown_fields_enums_and_required_fields_fail() {
        let bad = |from: &str, to: &str| {
            check(&DEPLOYMENT.replace(from, to))
                .err()
                .unwrap_or_else(|| panic!("passed: {to}"))
        };
        assert_eq!(
            bad("replicas: 2", "replicas: five"),
            "8:13: spec.replicas: expected an integer, got a string"
        );
        assert_eq!(
            bad("replicas: 2", "replicas: \"2\""),
            "8:13: spec.replicas: expected an integer, got a string"
        );
        assert_eq!(
            bad("imagePullPolicy", "imagePullPolcy"),
            "20:11: spec.template.spec.containers[0].imagePullPolcy: unknown field (did you mean 'imagePullPolicy'?)"
        );
        assert_eq!(
            bad("containerPort: 80", "containerPort: http"),
            "22:30: spec.template.spec.containers[0].ports[0].containerPort: expected an integer, got a string"
        );
        assert_eq!(
            bad("cpu: 100m", "cpu: [1]"),
            "25:20: spec.template.spec.containers[0].resources.requests.cpu: expected a quantity (a string like 100m or 1Gi, or a number), got a list"
        );
        assert_eq!(
            bad("    app: web\nspec", "    app: yes\nspec"),
            "6:10: metadata.labels.app: expected a string, got a boolean"
        );
        assert_eq!(
            bad("        - name: web\n", "        - nme: web\n"),
            "18:11: spec.template.spec.containers[0].nme: unknown field (did you mean 'name'?)"
        );
        assert_eq!(
            bad(
                "      containers:\n        - name: web\n          image: nginx\n",
                "      containers:\n        - image: nginx\n"
            ),
            "18:11: spec.template.spec.containers[0]: required field 'name' is missing"
        );
        assert_eq!(
            bad("  selector:\n", "  selector: []\n  x:\n"),
            "9:13: spec.selector: expected a mapping, got a list"
        );
        assert_eq!(
            check("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n")
                .unwrap_err(),
            "1:1: Kubernetes 1.37 does not serve kind Deployment in apiVersion extensions/v1beta1 (it serves apps/v1 Deployment)"
        );
        assert_eq!(
            check("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n")
                .unwrap_err(),
            "1:1: Kubernetes 1.37 does not serve kind Deployment in apiVersion apps/v1beta1 (it serves apps/v1 Deployment)"
        );
    }

    #[test]
    fn custom_resources_pass() {
        check("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  anything: [1, 2]\n").unwrap();
    }

    #[test]
    fn plain_scalars_resolve_as_the_api_server_reads_them() {
        for (s, want) in [
            ("", Scalar::Null),
            ("null", Scalar::Null),
            ("yes", Scalar::Bool),
            ("Off", Scalar::Bool),
            ("y", Scalar::Bool),
            ("10", Scalar::Int),
            ("-010", Scalar::Int),
            ("0x1F", Scalar::Int),
            ("1_000", Scalar::Int),
            ("1.5", Scalar::Float),
            (".5", Scalar::Float),
            ("1e3", Scalar::Float),
            (".inf", Scalar::Float),
            ("1.2.3", Scalar::Str),
            ("100m", Scalar::Str),
            ("e3", Scalar::Str),
        ] {
            assert_eq!(resolve_plain(s), want, "{s}");
        }
    }

    #[test]
    fn every_bundled_version_loads() {
        for v in versions() {
            let s = Schema::bundled(v).unwrap();
            assert!(s.file.kinds.contains_key("apps/v1 Deployment"), "{v}");
            // Definitions are parsed lazily: every one of them parses.
            for (name, d) in &s.file.defs {
                assert!(d.get().is_some(), "{v}: {name}");
            }
            for def in s.file.kinds.values() {
                assert!(s.file.defs.contains_key(def), "{v}: {def}");
            }
        }
    }
}
