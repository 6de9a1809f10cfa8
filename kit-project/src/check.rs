//! Checking rendered manifests: split the stream into documents, read each
//! one once (`yaml/`: a fast scanner for block YAML, the full parser
//! for the rest), and check that it is a mapping with `apiVersion`, `kind`
//! and `metadata.name`, with no duplicate keys. The walk also finds where a
//! workload's pod template annotations go, so kit can add its checksum
//! annotation without re-writing the
//! document: the rendered text reaches the output byte for byte.

use std::collections::HashMap;

use crate::mask::Masker;
use crate::yaml::{
    self,
    tree::{Kind, Node},
};

pub use crate::error::{CheckError, Origin};

/// A checked document.
#[derive(Debug, Clone)]
pub struct Document {
    /// `service/template`.
    pub origin: Origin,
    /// The YAML text, ending with a line break.
    pub text: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// 1-based number within its template's output, and its first line
    /// there (for messages about it).
    pub(crate) index: usize,
    pub(crate) first_line: usize,
    /// The walk of `text`, kept for kit's insertions (no second parse).
    pub(crate) walk: Option<Box<Walk>>,
}

/// Kinds in the order Helm installs them; others come after, by kind name.
pub const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The install rank of a kind.
pub fn kind_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// The path of a workload's pod template, by kind.
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => {
            Some(&["spec", "template"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// The documents of a rendered template (as checks count them): each
/// one's first line (1-based) and text.
pub fn split_documents(text: &str) -> Vec<(usize, String)> {
    split(text)
}

/// Bytes of spare capacity in each document's text, for kit's labels and
/// annotations (a few lines).
const INSERTION_ROOM: usize = 256;

/// Splits a rendered template into documents at `---` lines, dropping
/// documents that hold only blank lines and comments. Returns each
/// document's first line number (1-based) and text.
fn split(text: &str) -> Vec<(usize, String)> {
    // Each document is the text between two marker lines: found from one
    // line break to the next (only a line starting with `-` or `.` can be
    // one), copied once.
    let mut pieces: Vec<(usize, &str)> = Vec::new();
    let (mut start, mut start_line) = (0, 1);
    let (mut at, mut line) = (0, 1);
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1);
    for end in ends.chain((!text.ends_with('\n')).then_some(text.len())) {
        if matches!(text.as_bytes().get(at), Some(b'-' | b'.')) {
            let bare = text[at..end].trim_end_matches(['\n', '\r']);
            let is_marker = bare.starts_with("---")
                && (bare.starts_with("--- #") || bare[3..].trim().is_empty())
                || bare == "...";
            if is_marker {
                pieces.push((start_line, &text[start..at]));
                start = end;
                start_line = line + 1;
            }
        }
        (at, line) = (end, line + 1);
    }
    pieces.push((start_line, &text[start..]));
    pieces
        .into_iter()
        .filter(|(_, d)| {
            d.lines().any(|l| {
                let t = l.trim_start();
                !t.is_empty() && !t.starts_with('#')
            })
        })
        .map(|(n, d)| {
            // Room for the labels and annotations kit inserts, so that the
            // insertion moves the text in place instead of copying it to a
            // new buffer.
            let mut owned = String::with_capacity(d.len() + 1 + INSERTION_ROOM);
            owned.push_str(d);
            if !owned.ends_with('\n') {
                owned.push('\n');
            }
            (n, owned)
        })
        .collect()
}

#[derive(Debug, Default, Clone)]
pub(crate) struct MapInfo {
    pub(crate) flow: bool,
    /// (line, column), 1-based line, 0-based column, of the first key.
    pub(crate) first_key: Option<(usize, usize)>,
}

/// The paths the checks and kit's insertions read (`*`: any key); the walk
/// records only these (and their prefixes), so a large document costs no
/// per-node allocation.
const RECORDED: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["metadata", "name"],
    &["metadata", "namespace"],
    &["metadata", "labels", "*"],
    &["spec", "template", "metadata", "annotations", "*"],
    &[
        "spec",
        "jobTemplate",
        "spec",
        "template",
        "metadata",
        "annotations",
        "*",
    ],
];

/// Whether `path` (and then `last`, when given) is one of [`RECORDED`] or
/// a prefix of one.
fn recorded(path: &[String], last: Option<&str>) -> bool {
    let len = path.len() + usize::from(last.is_some());
    RECORDED.iter().any(|p| {
        len <= p.len()
            && path
                .iter()
                .map(String::as_str)
                .chain(last)
                .zip(p.iter())
                .all(|(a, b)| *b == "*" || a == *b)
    })
}

/// What the event walk learned about one document.
#[derive(Debug, Default, Clone)]
pub(crate) struct Walk {
    pub(crate) scalars: HashMap<Vec<String>, String, crate::fast::Fast>,
    pub(crate) maps: HashMap<Vec<String>, MapInfo, crate::fast::Fast>,
    pub(crate) null_or_scalar: Vec<Vec<String>>,
}

impl Walk {
    /// What the checks and insertions need of `doc`: the mappings, scalars
    /// and nulls at [`RECORDED`] paths.
    pub(crate) fn of(doc: &Node<'_>) -> Walk {
        let mut w = Walk::default();
        w.record(doc, &mut Vec::new());
        w
    }

    fn record(&mut self, map: &Node<'_>, path: &mut Vec<String>) {
        let Kind::Map { entries, flow } = &map.kind else {
            return;
        };
        self.maps.insert(
            path.clone(),
            MapInfo {
                flow: *flow,
                first_key: entries.first().map(|e| (e.line, e.column - 1)),
            },
        );
        for e in entries {
            if e.alias || !recorded(path, Some(&e.key)) {
                continue;
            }
            path.push(e.key.to_string());
            match &e.value.kind {
                Kind::Map { .. } => self.record(&e.value, path),
                Kind::Scalar { text, .. } => {
                    self.null_or_scalar.push(path.clone());
                    if !e.value.is_null() {
                        self.scalars.insert(path.clone(), text.to_string());
                    }
                }
                _ => {}
            }
            path.pop();
        }
    }
}

/// A path of keys, owned.
pub(crate) fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

/// Checks one template's rendered output and splits it into documents
/// (read only: kit's labels and annotations are added afterwards, by
/// [`crate::annotate::label_and_annotate`]). Keys and names taken from the
/// documents are shown through `mask`.
pub fn check_output(
    origin: &str,
    rendered: &str,
    mask: &Masker,
) -> Result<Vec<Document>, CheckError> {
    check_documents(origin, rendered, None, mask)
}

/// [`check_output`], and each document validated against `schema` (see
/// [`crate::schema`]) when given.
pub fn check_documents(
    origin: &str,
    rendered: &str,
    schema: Option<&crate::schema::Schema>,
    mask: &Masker,
) -> Result<Vec<Document>, CheckError> {
    let mut out = Vec::new();
    for (n, (first_line, text)) in split(rendered).into_iter().enumerate() {
        let err = |line: usize, message: String| {
            CheckError::new(origin, n + 1, first_line, line, message)
        };
        let tree = yaml::parse(&text, mask).map_err(|(l, m)| err(l, m))?;
        let w = Walk::of(&tree);
        if let Some(schema) = schema {
            schema.validate_tree(&tree, mask).map_err(|e| CheckError {
                column: Some(e.column),
                ..err(e.line, e.message)
            })?;
        }
        drop(tree);
        let field = |parts: &[&str], what: &str| {
            w.scalars
                .get(&path(parts))
                .filter(|s| !s.is_empty())
                .cloned()
                .ok_or_else(|| err(1, format!("{what} is missing or not a string")))
        };
        let api_version = field(&["apiVersion"], "apiVersion")?;
        let kind = field(&["kind"], "kind")?;
        let name = field(&["metadata", "name"], "metadata.name")?;
        let namespace = w.scalars.get(&path(&["metadata", "namespace"])).cloned();
        out.push(Document {
            origin: origin.into(),
            text,
            api_version,
            kind,
            name,
            namespace,
            index: n + 1,
            first_line,
            walk: Some(Box::new(w)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_required_fields_and_duplicates() {
        let ok = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n";
        let docs = check_output("s/t", ok, &Masker::default()).unwrap();
        assert_eq!(
            (docs[0].kind.as_str(), docs[0].name.as_str()),
            ("Service", "web")
        );
        assert_eq!(docs[0].namespace.as_deref(), Some("shop"));
        assert_eq!(docs[0].text, ok);
        let e = check_output(
            "s/t",
            "apiVersion: v1\nkind: Service\nmetadata: {}\n",
            &Masker::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s/t: rendered document 1, line 1: metadata.name is missing or not a string"
        );
        let e = check_output(
            "s/t",
            "---\n# c\n---\napiVersion: v1\nkind: A\nkind: B\n",
            &Masker::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s/t: rendered document 1, line 6: duplicate key 'kind'"
        );
        let e = check_output("s/t", "- a\n", &Masker::default()).unwrap_err();
        assert_eq!(e.message, "the document is not a mapping");
        let e = check_output("s/t", "a: [\n", &Masker::default()).unwrap_err();
        assert_eq!(e.doc, 1);
    }

    #[test]
    fn duplicate_keys_are_found_in_mappings_of_any_size() {
        let head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n";
        for n in [1, 15, 16, 17, 40] {
            for dup in [0, n / 2, n - 1] {
                let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
                let block: String = keys.iter().map(|k| format!("  {k}: v\n")).collect();
                let flow = format!("  {{{}}}\n", keys.join(": v, ") + ": v");
                // Block mappings are read by the scanner, flow ones by the
                // event parser.
                for (body, line) in [(block, 6 + n), (flow, 6)] {
                    let doc = format!("{head}{body}");
                    check_output("s/t", &doc, &Masker::default()).unwrap();
                    let doc = if body.starts_with("  {") {
                        format!("{head}  {{{}, k{dup}: w}}\n", keys.join(": v, ") + ": v")
                    } else {
                        format!("{head}{body}  k{dup}: w\n")
                    };
                    let e = check_output("s/t", &doc, &Masker::default()).unwrap_err();
                    assert_eq!(e.message, format!("duplicate key 'k{dup}'"), "{doc}");
                    assert_eq!(e.line, line, "{doc}");
                }
            }
        }
    }

    /// The splitter as first written: a copy line by line.
    fn split_reference(text: &str) -> Vec<(usize, String)> {
        let mut docs = Vec::new();
        let mut cur = String::new();
        let mut start_line = 1;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let bare = line.trim_end_matches(['\n', '\r']);
            if bare == "---"
                || bare.starts_with("--- #")
                || (bare.starts_with("---") && bare[3..].trim().is_empty())
                || bare == "..."
            {
                docs.push((start_line, std::mem::take(&mut cur)));
                start_line = i + 2;
                continue;
            }
            cur.push_str(line);
        }
        docs.push((start_line, cur));
        docs.retain(|(_, d)| {
            d.lines()
                .any(|l| !l.trim_start().is_empty() && !l.trim_start().starts_with('#'))
        });
        for (_, d) in &mut docs {
            if !d.ends_with('\n') {
                d.push('\n');
            }
        }
        docs
    }

    #[test]
    fn splitting_agrees_with_a_line_by_line_copy() {
        let pieces = [
            "---",
            "--- ",
            "--- # c",
            "---x",
            "----",
            "...",
            ".. .",
            "a: b",
            "  c: d",
            "# c",
            "",
            " ",
            "\r",
            "--- \t",
            "k: \u{e9}",
        ];
        let mut r = crate::xorshift::Rng(0x5EED_0FD0_C5E5);
        let mut next = move || r.next();
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..next() % 8 {
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                if next() % 5 != 0 {
                    text.push('\n');
                }
            }
            assert_eq!(split(&text), split_reference(&text), "{text:?}");
        }
    }

    #[test]
    fn splits_documents_and_drops_empty_ones() {
        let text = "# only a comment\n---\napiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\n\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n";
        let docs = check_output("s/t", text, &Masker::default()).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[1].text,
            "apiVersion: v1\nkind: B\nmetadata:\n  name: b\n"
        );
    }

    #[test]
    fn duplicate_keys_that_are_secrets_are_masked() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  hunter2: a\n  hunter2: b\n";
        let e = check_output("s/t", doc, &Masker::new(["hunter2".to_string()])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s/t: rendered document 1, line 7: duplicate key '<redacted>'"
        );
        // A mapping with many keys is checked in linear time (a set per map).
        let mut big =
            String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n");
        for i in 0..50_000 {
            big.push_str(&format!("  k{i}: v\n"));
        }
        assert_eq!(
            check_output("s/t", &big, &Masker::default()).unwrap().len(),
            1
        );
    }
}
