//! A loaded project: `kit.yaml` read and checked, and what a target gets
//! from it (values, `env:` variables, templates, context).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use kit_core::{Map, Value};
use kit_env::Target;

use crate::error::ProjectError;
use crate::model::{PROJECT_FILE, ProjectFile, SecretsAs};
use crate::yaml::input::{read_yaml, values_map};

/// A loaded project.
#[derive(Debug)]
pub struct Project {
    /// The project directory.
    pub dir: PathBuf,
    /// The parsed `kit.yaml`.
    pub file: ProjectFile,
    /// Where a relative `secrets:` directory is, when not in `dir` (a
    /// project read from a commit's files reads its local secrets where
    /// the checkout has them: they are the store, not part of a release).
    pub(crate) secrets_base: Option<PathBuf>,
}

pub(crate) fn known<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// Whether `name` may name an environment, cluster, service or template
/// file: letters, digits, `.`, `_` and `-`, starting with a letter or digit,
/// at most 253 characters. Such names are safe in file paths, S3 keys,
/// `# Source:` comments and messages.
///
/// ```
/// use kit_project::is_safe_name;
/// assert!(is_safe_name("nerdearla-cluster"));
/// assert!(is_safe_name("deployment.yaml"));
/// assert!(!is_safe_name("evil\nkind: Secret"));
/// assert!(!is_safe_name("../x"));
/// ```
pub fn is_safe_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 253
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

const SAFE_NAME: &str = "names use letters, digits, '.', '_' and '-', start with a letter or digit, and have at most 253 characters";

impl Project {
    /// Loads `DIR/kit.yaml` and checks it.
    pub fn load(dir: &Path) -> Result<Project, ProjectError> {
        let path = dir.join(PROJECT_FILE);
        let file: ProjectFile = read_yaml(&path)?;
        let mut project = Project {
            dir: dir.to_owned(),
            file,
            secrets_base: None,
        };
        project.validate()?;
        project.expand_instances()?;
        Ok(project)
    }

    /// Gives each environment of instances its base's clusters, and its
    /// base's values and variables under its own.
    fn expand_instances(&mut self) -> Result<(), ProjectError> {
        let path = self.path();
        let f = &mut self.file;
        let invalid = |message: String| ProjectError::Invalid {
            path: path.clone(),
            message,
        };
        let mut expanded = Vec::new();
        for (name, env) in &f.environments {
            let Some(instances) = &env.instances else {
                continue;
            };
            let from = &instances.from;
            let Some(base) = f.environments.get(from).filter(|_| from != name) else {
                return Err(invalid(format!(
                    "environments.{name}.instances.from: '{from}' is not another environment of kit.yaml (choose from {})",
                    known(f.environments.keys().filter(|e| *e != name))
                )));
            };
            if base.instances.is_some() {
                return Err(invalid(format!(
                    "environments.{name}.instances.from: '{from}' is itself an environment of instances; instances are made from an environment with clusters"
                )));
            }
            if !env.clusters.is_empty() {
                return Err(invalid(format!(
                    "environments.{name} has instances of '{from}' and clusters of its own; its clusters are '{from}''s: remove `clusters:`"
                )));
            }
            if f.name.is_none() {
                return Err(invalid(format!(
                    "environments.{name}.instances needs the project's `name:` (each instance has its own inventory on every cluster, which is how instances are kept apart)"
                )));
            }
            let mut values = base.values.clone().unwrap_or(Value::Map(Map::new()));
            if let Some(own) = &env.values {
                crate::values::merge(&mut values, own.clone());
            }
            let mut vars = base.env.clone();
            vars.extend(env.env.iter().map(|(k, v)| (k.clone(), v.clone())));
            expanded.push((name.clone(), base.clusters.clone(), values, vars));
        }
        for (name, clusters, values, vars) in expanded {
            let env = &mut f.environments[&name];
            env.clusters = clusters;
            env.values = Some(values);
            env.env = vars;
        }
        Ok(())
    }

    /// The base environment of `environment` when it is an environment of
    /// instances.
    pub fn instances_of(&self, environment: &str) -> Option<&str> {
        self.file
            .environments
            .get(environment)?
            .instances
            .as_ref()
            .map(|i| i.from.as_str())
    }

    /// Loads the project in `dir`, a commit's files written out (see
    /// [`crate::release::git::Repo::materialize`]), whose relative `secrets:`
    /// directory is read from `checkout` (the project's directory in the
    /// checkout) instead.
    pub fn load_tree(dir: &Path, checkout: &Path) -> Result<Project, ProjectError> {
        let mut project = Project::load(dir)?;
        project.secrets_base = Some(checkout.to_owned());
        Ok(project)
    }

    /// The project directory's local secrets folder (`secrets:` when it is
    /// a relative directory), relative to the project.
    pub fn local_secrets_dir(file: &ProjectFile) -> Option<PathBuf> {
        match kit_env::Source::parse(&file.secrets) {
            Ok(kit_env::Source::Dir(d)) if d.is_relative() => Some(d),
            _ => None,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(PROJECT_FILE)
    }

    fn check_name(&self, what: &'static str, name: &str) -> Result<(), ProjectError> {
        if is_safe_name(name) {
            return Ok(());
        }
        Err(ProjectError::BadName {
            path: self.path(),
            what,
            name: name.into(),
            reason: SAFE_NAME,
        })
    }

    fn validate(&self) -> Result<(), ProjectError> {
        let f = &self.file;
        let map_check = |v: &Option<Value>, what: String| match v {
            Some(v) => values_map(v, &self.path(), &what).map(drop),
            None => Ok(()),
        };
        for name in f.environments.keys() {
            self.check_name("environment", name)?;
        }
        for (name, s) in &f.services {
            self.check_name("service", name)?;
            for entry in s.templates.iter().flatten() {
                let ok = entry.split('/').all(is_safe_name);
                if !ok {
                    return Err(ProjectError::BadName {
                        path: self.path(),
                        what: "template",
                        name: entry.clone(),
                        reason: "template entries are paths inside templates/<service>/ whose parts are names (letters, digits, '.', '_', '-'; no '..', no absolute paths)",
                    });
                }
            }
        }
        for e in f.environments.values() {
            for (cname, c) in &e.clusters {
                self.check_name("cluster", cname)?;
                if let Some(ctx) = &c.context
                    && (ctx.trim().is_empty()
                        || ctx.trim() != ctx
                        || ctx.chars().any(char::is_control))
                {
                    return Err(ProjectError::BadName {
                        path: self.path(),
                        what: "context",
                        name: ctx.clone(),
                        reason: "a context is a kube context name: not empty, no leading or trailing white space, no control characters (an empty one would make kubectl use whatever context is current)",
                    });
                }
            }
        }
        if let Some(v) = &f.kubernetes.version
            && crate::schema::Schema::bundled(v).is_none()
        {
            return Err(ProjectError::Invalid {
                path: self.path(),
                message: format!(
                    "kubernetes.version {v:?} is not one kit bundles (choose from {})",
                    crate::schema::versions().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        map_check(&f.values, "values".into())?;
        self.check_env(&f.env)?;
        for (sname, s) in &f.services {
            map_check(&s.values, format!("services.{sname}.values"))?;
            self.check_env(&s.env)?;
        }
        for (ename, e) in &f.environments {
            map_check(&e.values, format!("environments.{ename}.values"))?;
            self.check_env(&e.env)?;
            for (cname, c) in &e.clusters {
                map_check(
                    &c.values,
                    format!("environments.{ename}.clusters.{cname}.values"),
                )?;
                self.check_env(&c.env)?;
                for (sname, cs) in &c.services {
                    if !f.services.contains_key(sname) {
                        return Err(ProjectError::UnknownClusterService {
                            path: self.path(),
                            cluster: cname.clone(),
                            name: sname.clone(),
                        });
                    }
                    map_check(
                        &cs.values,
                        format!("environments.{ename}.clusters.{cname}.services.{sname}.values"),
                    )?;
                    self.check_env(&cs.env)?;
                }
            }
        }
        Ok(())
    }

    fn check_env(&self, env: &IndexMap<String, Value>) -> Result<(), ProjectError> {
        for (name, v) in env {
            let bad = |reason| ProjectError::InvalidEnv {
                path: self.path(),
                name: name.clone(),
                reason,
            };
            if !kit_env::layout::is_valid_name(name) {
                return Err(bad("names match [A-Za-z_][A-Za-z0-9_]*"));
            }
            if !matches!(
                v,
                Value::String(_) | Value::Int(_) | Value::UInt(_) | Value::Bool(_)
            ) {
                return Err(bad("values are text, integers or booleans"));
            }
        }
        Ok(())
    }

    /// The secret source of `kit.yaml`'s `secrets:` (one syntax, that of
    /// [`kit_env::Source::parse`]), a relative directory resolved against
    /// the project directory.
    pub fn secrets_source(&self) -> Result<kit_env::Source, kit_env::Error> {
        match kit_env::Source::parse(&self.file.secrets)? {
            kit_env::Source::Dir(d) if d.is_relative() => Ok(kit_env::Source::Dir(
                self.secrets_base.as_ref().unwrap_or(&self.dir).join(d),
            )),
            s => Ok(s),
        }
    }

    /// The schema rendered manifests are validated against, unless
    /// `kit.yaml` turns validation off.
    pub fn schema(&self) -> Option<&'static crate::schema::Schema> {
        let k = &self.file.kubernetes;
        if !k.validate {
            return None;
        }
        crate::schema::Schema::bundled(
            k.version
                .as_deref()
                .unwrap_or(crate::schema::DEFAULT_VERSION),
        )
    }

    /// The directory of service template folders.
    pub fn templates_dir(&self) -> PathBuf {
        self.dir.join(&self.file.templates)
    }

    /// The partials directory.
    pub fn partials_dir(&self) -> PathBuf {
        self.dir.join(&self.file.partials)
    }

    /// The project's inventory on `cluster` of `environment` (of its
    /// `instance`, when given): `None` when kit.yaml has no `name:`.
    pub fn inventory(
        &self,
        environment: &str,
        instance: Option<&str>,
        cluster: &str,
    ) -> Result<Option<crate::inventory::Inventory>, crate::inventory::InventoryNameError> {
        let Some(name) = &self.file.name else {
            return Ok(None);
        };
        let ns = self
            .file
            .inventory_namespace
            .as_deref()
            .unwrap_or(crate::inventory::DEFAULT_NAMESPACE);
        let inv = crate::inventory::Inventory::new(name, ns, environment, cluster)?;
        match instance {
            Some(i) => inv.of_instance(i).map(Some),
            None => Ok(Some(inv)),
        }
    }

    /// The kube context configured for a cluster.
    pub fn context(&self, environment: &str, cluster: &str) -> Option<&str> {
        self.file
            .environments
            .get(environment)?
            .clusters
            .get(cluster)?
            .context
            .as_deref()
    }

    /// A service's templates: (name relative to its folder, path).
    pub fn templates(&self, service: &str) -> Result<Vec<(String, PathBuf)>, ProjectError> {
        let dir = self.templates_dir().join(service);
        let svc = &self.file.services[service];
        let names: Vec<String> = match &svc.templates {
            Some(list) => list.clone(),
            None => {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(ProjectError::NoTemplates {
                            service: service.into(),
                            dir,
                        });
                    }
                    Err(source) => return Err(ProjectError::Io { path: dir, source }),
                };
                let mut names = Vec::new();
                for e in entries {
                    let e = e.map_err(|source| ProjectError::Io {
                        path: dir.clone(),
                        source,
                    })?;
                    let name = e.file_name().to_string_lossy().into_owned();
                    let is_template = [".yaml", ".yml", ".mustache"]
                        .iter()
                        .any(|x| name.ends_with(x));
                    if !is_template || name.starts_with('.') {
                        continue;
                    }
                    if !is_safe_name(&name) {
                        return Err(ProjectError::BadName {
                            path: dir.clone(),
                            what: "template",
                            name,
                            reason: SAFE_NAME,
                        });
                    }
                    names.push(name);
                }
                names.sort();
                names
            }
        };
        if names.is_empty() {
            return Err(ProjectError::NoTemplates {
                service: service.into(),
                dir,
            });
        }
        Ok(names
            .into_iter()
            .map(|n| {
                let p = dir.join(&n);
                (n, p)
            })
            .collect())
    }

    /// The service's values, layered: base, environment, cluster, service,
    /// the cluster's entry for the service. (`--values` and `--set` come on
    /// top, added by the caller.)
    pub fn layered_values(&self, t: &Target) -> Value {
        let f = &self.file;
        let env = &f.environments[&t.environment];
        let cl = &env.clusters[&t.cluster];
        let svc = &f.services[&t.service];
        let cs = cl.services.get(&t.service);
        let mut v = Value::Map(Map::new());
        for layer in [
            &f.values,
            &env.values,
            &cl.values,
            &svc.values,
            &cs.and_then(|c| c.values.clone()),
        ]
        .into_iter()
        .flatten()
        {
            if let Value::Map(_) = layer {
                crate::values::merge(&mut v, layer.clone());
            }
        }
        v
    }

    /// The service's `env:` variables, layered like values, as text.
    pub fn layered_env(&self, t: &Target) -> IndexMap<String, String> {
        let f = &self.file;
        let env = &f.environments[&t.environment];
        let cl = &env.clusters[&t.cluster];
        let svc = &f.services[&t.service];
        let mut out = IndexMap::new();
        let mut layers = vec![&f.env, &env.env, &cl.env, &svc.env];
        if let Some(cs) = cl.services.get(&t.service) {
            layers.push(&cs.env);
        }
        for layer in layers {
            for (k, v) in layer {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    Value::UInt(u) => u.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue, // refused by validate()
                };
                out.insert(k.clone(), text);
            }
        }
        out
    }

    /// How the service's secrets reach its templates.
    pub fn secrets_as(&self, service: &str) -> SecretsAs {
        self.file.services[service]
            .secrets_as
            .unwrap_or(self.file.secrets_as)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The demo project of `fixtures/demo`.
    pub(crate) fn demo() -> Project {
        Project::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo")).unwrap()
    }

    #[test]
    fn values_layer_from_project_to_the_clusters_service_entry() {
        let p = demo();
        let t = Target::new("production", "nerdearla-cluster", "myservicio");
        let v = p.layered_values(&t);
        let Value::Map(m) = &v else { panic!() };
        // Each layer of the demo sets something; later layers win.
        assert!(m.contains_key("namespace"), "{v:?}");
        let other = p.layered_values(&Target::new("production", "other-cluster", "myservicio"));
        assert_ne!(v, other, "cluster layers differ");
    }

    #[test]
    fn env_entries_layer_like_values_and_are_text() {
        let p = demo();
        let t = Target::new("production", "nerdearla-cluster", "myservicio");
        let env = p.layered_env(&t);
        assert!(env.values().all(|v| !v.is_empty()));
        let staging = p.layered_env(&Target::new("staging", "staging-cluster", "myservicio"));
        assert_ne!(env, staging);
    }

    /// A project from `kit_yaml` in a new directory.
    fn load_yaml(kit_yaml: &str) -> Result<Project, ProjectError> {
        let dir = std::env::temp_dir().join(format!(
            "kit-project-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(PROJECT_FILE), kit_yaml).unwrap();
        let p = Project::load(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        p
    }

    const BASE: &str = "environments:\n  staging:\n    values: {a: 1, m: {x: 1}}\n    env: {A: s, B: s}\n    clusters:\n      eu-1: {context: eu}\n";

    #[test]
    fn an_environment_of_instances_gets_its_bases_clusters_values_and_variables() {
        let p = load_yaml(&format!(
            "name: shop\n{BASE}  preview:\n    values: {{m: {{y: 2}}}}\n    env: {{B: p}}\n    instances: {{from: staging}}\nservices:\n  web: {{}}\n"
        ))
        .unwrap();
        assert_eq!(p.instances_of("preview"), Some("staging"));
        assert_eq!(p.instances_of("staging"), None);
        let preview = &p.file.environments["preview"];
        assert_eq!(preview.clusters.keys().collect::<Vec<_>>(), ["eu-1"]);
        assert_eq!(p.context("preview", "eu-1"), Some("eu"));
        let t = Target::new("preview", "eu-1", "web");
        let want: Value = serde_json::json!({"a": 1, "m": {"x": 1, "y": 2}}).into();
        assert_eq!(p.layered_values(&t), want);
        let env = p.layered_env(&t);
        assert_eq!((env["A"].as_str(), env["B"].as_str()), ("s", "p"));
    }

    #[test]
    fn instances_of_what_cannot_have_them_are_refused_naming_the_key() {
        let services = "services:\n  web: {}\n";
        let cases = [
            (
                format!(
                    "name: shop\n{BASE}  preview:\n    instances: {{from: nowhere}}\n{services}"
                ),
                "environments.preview.instances.from: 'nowhere' is not another environment of kit.yaml (choose from staging)",
            ),
            (
                format!(
                    "name: shop\n{BASE}  preview:\n    instances: {{from: preview}}\n{services}"
                ),
                "environments.preview.instances.from: 'preview' is not another environment of kit.yaml (choose from staging)",
            ),
            (
                format!(
                    "name: shop\n{BASE}  a:\n    instances: {{from: staging}}\n  b:\n    instances: {{from: a}}\n{services}"
                ),
                "environments.b.instances.from: 'a' is itself an environment of instances; instances are made from an environment with clusters",
            ),
            (
                format!(
                    "name: shop\n{BASE}  preview:\n    instances: {{from: staging}}\n    clusters:\n      us-1: {{}}\n{services}"
                ),
                "environments.preview has instances of 'staging' and clusters of its own; its clusters are 'staging''s: remove `clusters:`",
            ),
            (
                format!("{BASE}  preview:\n    instances: {{from: staging}}\n{services}"),
                "environments.preview.instances needs the project's `name:` (each instance has its own inventory on every cluster, which is how instances are kept apart)",
            ),
        ];
        for (yaml, message) in cases {
            match load_yaml(&yaml) {
                Err(ProjectError::Invalid { message: m, .. }) => assert_eq!(m, message, "{yaml}"),
                other => panic!("{yaml}: {other:?}"),
            }
        }
    }

    #[test]
    fn values_maps_are_maps_or_empty() {
        let path = Path::new("v.yaml");
        let map: Value = serde_json::json!({"a": 1}).into();
        assert!(values_map(&map, path, "values").unwrap().is_some());
        assert!(values_map(&Value::Null, path, "values").unwrap().is_none());
        let e = values_map(&Value::Int(1), path, "values").unwrap_err();
        assert_eq!(e.to_string(), "v.yaml: values must be a map");
    }
}
