//! The output stream: documents in install order, duplicates refused, one
//! stream per cluster.

use std::collections::HashMap;

use kit_env::Target;

use crate::check::{Document, kind_rank};
use crate::error::RenderError;
use crate::mask::Masker;

/// Orders documents (Helm's install order by kind, then as rendered),
/// refuses duplicates (same apiVersion, kind, namespace and name; names
/// shown through `mask`), and writes the stream: `---`,
/// `# Source: service/template`, the document.
pub fn write_stream(docs: Vec<Document>, mask: &Masker) -> Result<String, RenderError> {
    let docs = docs.into_iter().map(|d| (d, 0)).collect();
    ordered_stream(docs, mask).map(|(text, _, _)| text)
}

/// [`write_stream`] of documents each with a number (the service's), and
/// the objects in stream order with their numbers.
fn ordered_stream(
    mut docs: Vec<(Document, usize)>,
    mask: &Masker,
) -> Result<(String, Vec<ObjectRef>, Vec<usize>), RenderError> {
    refuse_duplicates(docs.iter().map(|(d, _)| (d.origin.as_str(), d)), mask)?;
    // A stable sort keeps the rendering order within a kind.
    docs.sort_by(|(a, _), (b, _)| {
        kind_rank(&a.kind)
            .cmp(&kind_rank(&b.kind))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let mut out = String::with_capacity(
        docs.iter()
            .map(|(d, _)| d.text.len() + d.origin.len() + 16)
            .sum(),
    );
    for (d, _) in &docs {
        out.push_str("---\n# Source: ");
        out.push_str(&d.origin);
        out.push('\n');
        out.push_str(&d.text);
    }
    let numbers = docs.iter().map(|(_, n)| *n).collect();
    let objects = docs
        .into_iter()
        .map(|(d, _)| ObjectRef {
            api_version: d.api_version,
            kind: d.kind,
            namespace: d.namespace,
            name: d.name,
        })
        .collect();
    Ok((out, objects, numbers))
}

/// Refuses the second of two documents of one cluster that describe the
/// same object (apiVersion, kind, namespace, name), naming where both came
/// from (`origin`, as messages show it).
fn refuse_duplicates<'d>(
    docs: impl IntoIterator<Item = (&'d str, &'d Document)>,
    mask: &Masker,
) -> Result<(), RenderError> {
    let docs = docs.into_iter();
    let mut seen: HashMap<(&str, &str, Option<&str>, &str), &str, crate::fast::Fast> =
        HashMap::with_capacity_and_hasher(docs.size_hint().0, Default::default());
    for (origin, d) in docs {
        let key = (
            d.api_version.as_str(),
            d.kind.as_str(),
            d.namespace.as_deref(),
            d.name.as_str(),
        );
        if let Some(first) = seen.insert(key, origin) {
            return Err(RenderError::Duplicate {
                first: first.to_owned(),
                second: origin.to_owned(),
                kind: mask
                    .show(&format!("{}/{}", d.api_version, d.kind))
                    .into_owned(),
                name: mask.show(&d.name).into_owned(),
                namespace: d.namespace.as_deref().map(|n| mask.show(n).into_owned()),
            });
        }
    }
    Ok(())
}

/// The check [`cluster_streams`] makes, without writing the streams (for
/// `--output-dir`): no object twice on one cluster, with the same message.
pub(crate) fn refuse_duplicate_objects(
    rendered: &[(Target, Vec<Document>)],
    mask: &Masker,
) -> Result<(), RenderError> {
    fn cluster(t: &Target) -> (&str, &str) {
        (&t.environment, &t.cluster)
    }
    let multi = rendered
        .first()
        .is_some_and(|(first, _)| rendered.iter().any(|(t, _)| cluster(t) != cluster(first)));
    for group in rendered.chunk_by(|(a, _), (b, _)| cluster(a) == cluster(b)) {
        let shown: Vec<(String, &Document)> = group
            .iter()
            .flat_map(|(t, docs)| {
                docs.iter().map(move |d| {
                    let origin = if multi {
                        format!("{}/{}/{}", t.environment, t.cluster, d.origin)
                    } else {
                        d.origin.clone()
                    };
                    (origin, d)
                })
            })
            .collect();
        refuse_duplicates(shown.iter().map(|(o, d)| (o.as_str(), *d)), mask)?;
    }
    Ok(())
}

/// The stream for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStream {
    /// The environment.
    pub environment: String,
    /// The instance of the environment, for a run on one.
    pub instance: Option<String>,
    /// The cluster.
    pub cluster: String,
    /// The YAML stream, exactly what `kit render` prints for the cluster.
    pub text: String,
    /// The services rendered for the cluster, in plan order.
    pub services: Vec<String>,
    /// Every object of the stream, in stream order.
    pub objects: Vec<ObjectRef>,
    /// For each of `objects`, the index in `services` of the service that
    /// rendered it.
    pub object_services: Vec<usize>,
}

impl ClusterStream {
    /// `environment/cluster`, or `environment:instance/cluster` for an
    /// instance (as targets are written).
    pub fn name(&self) -> String {
        match &self.instance {
            Some(i) => format!("{}:{i}/{}", self.environment, self.cluster),
            None => format!("{}/{}", self.environment, self.cluster),
        }
    }

    /// The service that rendered `objects[i]`.
    pub fn service_of(&self, i: usize) -> &str {
        &self.services[self.object_services[i]]
    }
}

/// Which object a document is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {} {ns}/{}", self.api_version, self.kind, self.name),
            None => write!(f, "{} {} {}", self.api_version, self.kind, self.name),
        }
    }
}

/// Writes one ordered stream per cluster (targets come grouped by cluster):
/// the same object may exist on two clusters, never twice on one. With
/// several clusters, `# Source:` names environment and cluster too.
pub fn cluster_streams(
    rendered: Vec<(Target, Vec<Document>)>,
    mask: &Masker,
) -> Result<Vec<ClusterStream>, RenderError> {
    let cluster = |t: &Target| {
        (
            t.environment.clone(),
            t.instance.as_ref().map(|i| i.name.clone()),
            t.cluster.clone(),
        )
    };
    let multi = rendered
        .first()
        .is_some_and(|(first, _)| rendered.iter().any(|(t, _)| cluster(t) != cluster(first)));
    let mut out: Vec<ClusterStream> = Vec::new();
    let mut group: Vec<(Document, usize)> = Vec::new();
    let mut current: Option<(String, Option<String>, String)> = None;
    let mut services: Vec<String> = Vec::new();
    let mut flush = |current: &Option<(String, Option<String>, String)>,
                     group: &mut Vec<(Document, usize)>,
                     services: &mut Vec<String>| {
        if let Some((environment, instance, cluster)) = current {
            let (text, objects, object_services) = ordered_stream(std::mem::take(group), mask)?;
            out.push(ClusterStream {
                environment: environment.clone(),
                instance: instance.clone(),
                cluster: cluster.clone(),
                text,
                services: std::mem::take(services),
                objects,
                object_services,
            });
        }
        Ok::<_, RenderError>(())
    };
    for (t, docs) in rendered {
        if current.as_ref() != Some(&cluster(&t)) {
            flush(&current, &mut group, &mut services)?;
            current = Some(cluster(&t));
        }
        services.push(t.service.clone());
        let number = services.len() - 1;
        for mut d in docs {
            if multi {
                d.origin = format!("{}/{}/{}", t.environment, t.cluster, d.origin);
            }
            group.push((d, number));
        }
    }
    flush(&current, &mut group, &mut services)?;
    Ok(out)
}
