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
pub fn write_stream(mut docs: Vec<Document>, mask: &Masker) -> Result<String, RenderError> {
    let mut seen: HashMap<(&str, &str, Option<&str>, &str), &str> = HashMap::new();
    for d in &docs {
        let key = (
            d.api_version.as_str(),
            d.kind.as_str(),
            d.namespace.as_deref(),
            d.name.as_str(),
        );
        if let Some(first) = seen.insert(key, &d.origin) {
            return Err(RenderError::Duplicate {
                first: first.to_owned(),
                second: d.origin.clone(),
                kind: mask
                    .show(&format!("{}/{}", d.api_version, d.kind))
                    .into_owned(),
                name: mask.show(&d.name).into_owned(),
                namespace: d.namespace.as_deref().map(|n| mask.show(n).into_owned()),
            });
        }
    }
    drop(seen);
    // A stable sort keeps the rendering order within a kind.
    docs.sort_by(|a, b| {
        kind_rank(&a.kind)
            .cmp(&kind_rank(&b.kind))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let mut out = String::with_capacity(
        docs.iter()
            .map(|d| d.text.len() + d.origin.len() + 16)
            .sum(),
    );
    for d in &docs {
        out.push_str("---\n# Source: ");
        out.push_str(&d.origin);
        out.push('\n');
        out.push_str(&d.text);
    }
    Ok(out)
}

/// The stream for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStream {
    /// The environment.
    pub environment: String,
    /// The cluster.
    pub cluster: String,
    /// The YAML stream, exactly what `kit render` prints for the cluster.
    pub text: String,
}

/// Writes one ordered stream per cluster (targets come grouped by cluster):
/// the same object may exist on two clusters, never twice on one. With
/// several clusters, `# Source:` names environment and cluster too.
pub fn cluster_streams(
    rendered: Vec<(Target, Vec<Document>)>,
    mask: &Masker,
) -> Result<Vec<ClusterStream>, RenderError> {
    let cluster = |t: &Target| (t.environment.clone(), t.cluster.clone());
    let multi = rendered
        .first()
        .is_some_and(|(first, _)| rendered.iter().any(|(t, _)| cluster(t) != cluster(first)));
    let mut out: Vec<ClusterStream> = Vec::new();
    let mut group: Vec<Document> = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut flush = |current: &Option<(String, String)>, group: &mut Vec<Document>| {
        if let Some((environment, cluster)) = current {
            out.push(ClusterStream {
                environment: environment.clone(),
                cluster: cluster.clone(),
                text: write_stream(std::mem::take(group), mask)?,
            });
        }
        Ok::<_, RenderError>(())
    };
    for (t, docs) in rendered {
        if current.as_ref() != Some(&cluster(&t)) {
            flush(&current, &mut group)?;
            current = Some(cluster(&t));
        }
        for mut d in docs {
            if multi {
                d.origin = format!("{}/{}/{}", t.environment, t.cluster, d.origin);
            }
            group.push(d);
        }
    }
    flush(&current, &mut group)?;
    Ok(out)
}
