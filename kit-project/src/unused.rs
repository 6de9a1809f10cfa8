//! Values keys no template uses: usually a typo (`replica: 3` for
//! `replicas`), reported as warnings naming the key and where it was set.
//!
//! A key counts as used when some tag of some template of the project, or
//! of a partial, names it (as any part of a dotted name: `{{resources.cpu}}`
//! uses `resources` and `cpu`, and so does `{{#resources}}{{cpu}}{{/resources}}`).
//! The check is conservative: a key that some other template names is never
//! reported, so every warning is a key nothing could ever read.

use std::collections::HashSet;

use kit_core::{Engine, Value};

use crate::project::Project;

/// A values key that no template names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedValue {
    /// The key's path, dotted, with `[]` for list items: `resources.cpuu`.
    pub path: String,
    /// Where it was set: `kit.yaml (environments.production.values)`,
    /// a values file, or `--set`.
    pub origin: String,
}

impl std::fmt::Display for UnusedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "values key '{}' (from {}) is not used by any template or partial",
            self.path, self.origin
        )
    }
}

impl Project {
    /// Every name part any template of any service, or any partial, uses.
    /// Files that do not compile are skipped (rendering reports them).
    pub fn template_names(&self) -> HashSet<String> {
        let engine = Engine::new();
        let mut names = HashSet::new();
        let mut add = |text: &str| {
            if let Ok(t) = engine.compile("names", text) {
                for n in t.names() {
                    names.extend(n.split('.').map(str::to_owned));
                }
            }
        };
        for service in self.file.services.keys() {
            for (_, path) in self.templates(service).unwrap_or_default() {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    add(&text);
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(self.partials_dir()) {
            for e in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    add(&text);
                }
            }
        }
        names
    }

    /// The values keys of `extra` (origin, values) and of the project's
    /// layers that apply to `targets`, that no template or partial uses.
    pub fn unused_values(
        &self,
        targets: &[kit_env::Target],
        extra: &[(String, Value)],
    ) -> Vec<UnusedValue> {
        let names = self.template_names();
        let f = &self.file;
        let env_in = |e: &str| targets.iter().any(|t| t.environment == e);
        let cluster_in =
            |e: &str, c: &str| targets.iter().any(|t| t.environment == e && t.cluster == c);
        let service_in = |e: &str, c: &str, s: &str| {
            targets
                .iter()
                .any(|t| t.environment == e && t.cluster == c && t.service == s)
        };
        let mut layers: Vec<(String, &Value)> = Vec::new();
        let file = crate::model::PROJECT_FILE;
        if let Some(v) = &f.values {
            layers.push((format!("{file} (values)"), v));
        }
        for (ename, e) in f.environments.iter().filter(|(n, _)| env_in(n)) {
            if let Some(v) = &e.values {
                layers.push((format!("{file} (environments.{ename}.values)"), v));
            }
            for (cname, c) in e.clusters.iter().filter(|(n, _)| cluster_in(ename, n)) {
                if let Some(v) = &c.values {
                    layers.push((
                        format!("{file} (environments.{ename}.clusters.{cname}.values)"),
                        v,
                    ));
                }
                for (sname, cs) in c
                    .services
                    .iter()
                    .filter(|(n, _)| service_in(ename, cname, n))
                {
                    if let Some(v) = &cs.values {
                        layers.push((
                            format!(
                                "{file} (environments.{ename}.clusters.{cname}.services.{sname}.values)"
                            ),
                            v,
                        ));
                    }
                }
            }
        }
        for (sname, s) in f
            .services
            .iter()
            .filter(|(n, _)| targets.iter().any(|t| &t.service == *n))
        {
            if let Some(v) = &s.values {
                layers.push((format!("{file} (services.{sname}.values)"), v));
            }
        }
        layers.extend(extra.iter().map(|(o, v)| (o.clone(), v)));
        let mut out = Vec::new();
        for (origin, v) in layers {
            walk(v, &mut String::new(), &names, &origin, &mut out);
        }
        let mut seen = HashSet::new();
        out.retain(|u| seen.insert((u.path.clone(), u.origin.clone())));
        out
    }
}

fn walk(
    v: &Value,
    path: &mut String,
    names: &HashSet<String>,
    origin: &str,
    out: &mut Vec<UnusedValue>,
) {
    match v {
        Value::Map(m) => {
            for (k, v) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if names.contains(k) {
                    walk(v, path, names, origin, out);
                } else {
                    out.push(UnusedValue {
                        path: path.clone(),
                        origin: origin.to_owned(),
                    });
                }
                path.truncate(len);
            }
        }
        Value::List(items) => {
            let len = path.len();
            path.push_str("[]");
            for item in items {
                walk(item, path, names, origin, out);
            }
            path.truncate(len);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_no_tag_names_are_reported_with_their_path() {
        let names: HashSet<String> = ["resources", "cpu", "ports", "port", "name"]
            .map(String::from)
            .into();
        let v: Value = serde_json::json!({
            "resources": {"cpu": 1, "cpuu": 2},
            "replica": 3,
            "ports": [{"name": "http", "port": 80, "proto": "TCP"}],
        })
        .into();
        let mut out = Vec::new();
        walk(&v, &mut String::new(), &names, "--set", &mut out);
        let paths: Vec<_> = out.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(paths, ["resources.cpuu", "replica", "ports[].proto"]);
        assert_eq!(
            out[1].to_string(),
            "values key 'replica' (from --set) is not used by any template or partial"
        );
    }
}
