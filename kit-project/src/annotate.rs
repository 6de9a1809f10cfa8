//! Kit's insertions into checked documents: its labels on every object's
//! metadata and its checksum annotations on every workload's pod template,
//! written into the rendered text in place (the rest of it reaches the
//! output byte for byte). Reads what [`crate::check`] learned of each
//! document; never re-checks.

use crate::check::{Document, Walk, path, pod_template_path};
use crate::error::CheckError;
use crate::mask::Masker;
use crate::yaml;

/// Adds kit's labels (`labels`, name and value) to the metadata of `doc`,
/// and kit's annotations (`annotations`) to its pod template when it is a
/// workload. A document that already sets one of the labels to the same
/// value keeps it; any other value of kit's labels or annotations is
/// refused (a second copy would be a duplicate key).
pub fn label_and_annotate(
    doc: &mut Document,
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
    mask: &Masker,
) -> Result<(), CheckError> {
    let err =
        |(l, m): (usize, String)| CheckError::new(&doc.origin, doc.index, doc.first_line, l, m);
    let w = match doc.walk.take() {
        Some(w) => *w,
        None => Walk::of(&yaml::parse(&doc.text, mask).map_err(err)?),
    };
    let mut inserts = Vec::new();
    let meta = path(&["metadata"]);
    let labels: Vec<(&str, &str)> = labels
        .iter()
        .copied()
        .filter(|(k, v)| {
            let own = [meta.clone(), vec!["labels".into(), (*k).to_owned()]].concat();
            w.scalars.get(&own).is_none_or(|set| set != v)
        })
        .collect();
    if !labels.is_empty() {
        inserts.push(
            insertion(
                &doc.text,
                &w,
                &["metadata", "labels"],
                1,
                &labels,
                "pruning",
            )
            .map_err(err)?,
        );
    }
    if let Some(tp) = pod_template_path(&doc.kind)
        && !annotations.is_empty()
    {
        let full: Vec<&str> = tp
            .iter()
            .copied()
            .chain(["metadata", "annotations"])
            .collect();
        inserts
            .push(insertion(&doc.text, &w, &full, tp.len(), annotations, "rollouts").map_err(err)?);
    }
    // Bottom-up, so earlier offsets stay valid.
    inserts.sort_by_key(|i| std::cmp::Reverse(i.0));
    for (at, text) in inserts {
        doc.text.insert_str(at, &text);
    }
    Ok(())
}

/// Where and what to insert so that the mapping at `target` holds
/// `entries` (`key: "value"` lines): into the mapping when it exists, else
/// creating the missing levels below the deepest existing one (at least
/// `min_depth` levels of `target` must exist). `why` says what kit needs
/// the entries for, in messages.
fn insertion(
    text: &str,
    w: &Walk,
    target: &[&str],
    min_depth: usize,
    entries: &[(&str, &str)],
    why: &str,
) -> Result<(usize, String), (usize, String)> {
    let target = path(target);
    let dotted = |p: &[String]| p.join(".");
    for (key, _) in entries {
        let own = [target.clone(), vec![(*key).to_owned()]].concat();
        if w.null_or_scalar.contains(&own) || w.maps.contains_key(&own) {
            return Err((
                1,
                format!(
                    "{} already sets '{key}', which kit sets (a second copy would be a duplicate key, and {why} depend on it); remove it from the template",
                    dotted(&target)
                ),
            ));
        }
    }
    for k in (min_depth..=target.len()).rev() {
        let prefix = &target[..k];
        if w.null_or_scalar.iter().any(|p| p == prefix) {
            return Err((1, format!("{} is not a mapping", dotted(prefix))));
        }
        let Some(m) = w.maps.get(prefix) else {
            continue;
        };
        let what = dotted(prefix);
        if m.flow {
            return Err((
                1,
                format!(
                    "{what} is a flow mapping; write it in block style so kit can add its entries"
                ),
            ));
        }
        let (line, col) = m.first_key.ok_or_else(|| (1, format!("{what} is empty")))?;
        let Some(ls) = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .nth(line.saturating_sub(1))
        else {
            return Err((line, format!("cannot find the line of {what}")));
        };
        if !text[ls..].chars().take(col).all(|c| c == ' ') {
            return Err((
                line,
                format!("the first key of {what} does not start its line"),
            ));
        }
        let pad = " ".repeat(col);
        let mut ins = String::new();
        let missing = &target[k..];
        for (depth, level) in missing.iter().enumerate() {
            ins.push_str(&pad);
            ins.push_str(&"  ".repeat(depth));
            ins.push_str(level);
            ins.push_str(":\n");
        }
        for (key, value) in entries {
            ins.push_str(&pad);
            ins.push_str(&"  ".repeat(missing.len()));
            ins.push_str(&format!("{key}: \"{value}\"\n"));
        }
        return Ok((ls, ins));
    }
    Err((
        1,
        format!("a workload without {}", dotted(&target[..min_depth])),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_output;

    /// `text` checked, then `entry` annotated on every workload's pod
    /// template (as kit's checksum annotation is).
    fn annotated(
        origin: &str,
        text: &str,
        entry: (&str, &str),
        mask: &Masker,
    ) -> Result<Vec<Document>, CheckError> {
        let mut docs = check_output(origin, text, mask)?;
        for d in &mut docs {
            label_and_annotate(d, &[], &[entry], mask)?;
        }
        Ok(docs)
    }

    #[test]
    fn annotation_goes_into_the_pod_template() {
        let base =
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n";
        let cases = [
            (
                "    metadata:\n      annotations:\n        a: b\n    spec: {}\n",
                "    metadata:\n      annotations:\n        kit.dev/k: \"v\"\n        a: b\n    spec: {}\n",
            ),
            (
                "    metadata:\n      labels:\n        a: b\n",
                "    metadata:\n      annotations:\n        kit.dev/k: \"v\"\n      labels:\n        a: b\n",
            ),
            (
                "    spec:\n      containers: []\n",
                "    metadata:\n      annotations:\n        kit.dev/k: \"v\"\n    spec:\n      containers: []\n",
            ),
        ];
        for (tail, want) in cases {
            let docs = annotated(
                "s/t",
                &format!("{base}{tail}"),
                ("kit.dev/k", "v"),
                &Masker::default(),
            )
            .unwrap();
            assert_eq!(docs[0].text, format!("{base}{want}"));
        }
        let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n";
        assert_eq!(
            annotated("s/t", svc, ("k", "v"), &Masker::default()).unwrap()[0].text,
            svc
        );
        let flow = format!("{base}    metadata: {{annotations: {{}}}}\n");
        assert!(annotated("s/t", &flow, ("k", "v"), &Masker::default()).is_err());
    }

    #[test]
    fn a_template_setting_kits_annotation_is_refused() {
        let doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      annotations:\n        kit.dev/k: \"mine\"\n    spec: {}\n";
        let e = annotated("s/t", doc, ("kit.dev/k", "v"), &Masker::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s/t: rendered document 1, line 1: spec.template.metadata.annotations already sets 'kit.dev/k', which kit sets (a second copy would be a duplicate key, and rollouts depend on it); remove it from the template"
        );
    }

    #[test]
    fn cronjob_annotation_path() {
        let cj = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {}\n";
        let docs = annotated("s/t", cj, ("k", "v"), &Masker::default()).unwrap();
        assert!(docs[0].text.contains("      template:\n        metadata:\n          annotations:\n            k: \"v\"\n        spec: {}\n"), "{}", docs[0].text);
    }

    #[test]
    fn labels_go_into_metadata_and_equal_ones_are_kept() {
        let m = Masker::default();
        let mut d = check_output(
            "s/t",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
            &m,
        )
        .unwrap()
        .remove(0);
        label_and_annotate(&mut d, &[("a/x", "1"), ("a/y", "2")], &[("k", "v")], &m).unwrap();
        assert_eq!(
            d.text,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    a/x: \"1\"\n    a/y: \"2\"\n  name: c\n"
        );
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels:\n    a/x: \"1\"\nspec:\n  template:\n    spec: {}\n";
        let mut d = check_output("s/t", text, &m).unwrap().remove(0);
        label_and_annotate(&mut d, &[("a/x", "1"), ("a/y", "2")], &[("k", "v")], &m).unwrap();
        assert_eq!(
            d.text,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels:\n    a/y: \"2\"\n    a/x: \"1\"\nspec:\n  template:\n    metadata:\n      annotations:\n        k: \"v\"\n    spec: {}\n"
        );
        let mut d = check_output("s/t", &text.replace("\"1\"", "other"), &m)
            .unwrap()
            .remove(0);
        let e = label_and_annotate(&mut d, &[("a/x", "1")], &[], &m).unwrap_err();
        assert!(
            e.message
                .starts_with("metadata.labels already sets 'a/x', which kit sets"),
            "{}",
            e.message
        );
    }
}
