//! The project file, `kit.yaml`: templates, environments, clusters,
//! services and layered values. The reference is `docs/project.md`; the
//! demo in `fixtures/demo/kit.yaml` shows every key.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::value::{Map, Value};

/// The name of the project file in a project directory.
pub const PROJECT_FILE: &str = "kit.yaml";

/// How a service's secrets reach its templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretsAs {
    /// Inline: in `env` and `secrets` (default).
    #[default]
    Env,
    /// In a Kubernetes `Secret` named `kit.secret_name`, rendered by kit;
    /// templates reference it (`envFrom`, `secretKeyRef`).
    Secret,
}

/// What to do when a variable is defined both in `env:` and as a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvConflict {
    /// An error naming the variable (default).
    #[default]
    Error,
    /// The secret wins.
    Secrets,
    /// The `env:` value wins.
    Values,
}

/// `kit.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Directory of service template folders. Default `templates`.
    #[serde(default = "default_templates")]
    pub templates: String,
    /// Directory of partials and parents. Default `partials`.
    #[serde(default = "default_partials")]
    pub partials: String,
    /// Secret source: `s3://bucket/prefix` or a directory. Default `secrets`.
    #[serde(default = "default_secrets")]
    pub secrets: String,
    /// Base values.
    #[serde(default)]
    pub values: Option<Value>,
    /// Base variables (not secret).
    #[serde(default)]
    pub env: IndexMap<String, Value>,
    /// A name in both `env:` and the secrets.
    #[serde(default)]
    pub env_conflict: EnvConflict,
    /// Default for services.
    #[serde(default)]
    pub secrets_as: SecretsAs,
    /// Environments, by name.
    pub environments: IndexMap<String, Environment>,
    /// Services, by name.
    pub services: IndexMap<String, Service>,
}

fn default_templates() -> String {
    "templates".into()
}
fn default_partials() -> String {
    "partials".into()
}
fn default_secrets() -> String {
    "secrets".into()
}

/// An environment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Values for this environment.
    #[serde(default)]
    pub values: Option<Value>,
    /// Variables for this environment.
    #[serde(default)]
    pub env: IndexMap<String, Value>,
    /// Its clusters, by name.
    pub clusters: IndexMap<String, Cluster>,
}

/// A cluster.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The kube context `kit apply` uses for this cluster.
    #[serde(default)]
    pub context: Option<String>,
    /// Values for this cluster.
    #[serde(default)]
    pub values: Option<Value>,
    /// Variables for this cluster.
    #[serde(default)]
    pub env: IndexMap<String, Value>,
    /// Per-service settings on this cluster.
    #[serde(default)]
    pub services: IndexMap<String, ClusterService>,
}

/// A service's settings on one cluster.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterService {
    /// Whether the service runs here (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Values for the service on this cluster.
    #[serde(default)]
    pub values: Option<Value>,
    /// Variables for the service on this cluster.
    #[serde(default)]
    pub env: IndexMap<String, Value>,
}

fn yes() -> bool {
    true
}

/// A service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Its image (`<service>.image` in templates).
    #[serde(default)]
    pub image: Option<String>,
    /// Its templates, relative to `templates/<service>/`. Default: every
    /// `.yaml`, `.yml` and `.mustache` file there, in name order.
    #[serde(default)]
    pub templates: Option<Vec<String>>,
    /// Values for this service.
    #[serde(default)]
    pub values: Option<Value>,
    /// Variables for this service.
    #[serde(default)]
    pub env: IndexMap<String, Value>,
    /// Overrides the project's `secrets_as`.
    #[serde(default)]
    pub secrets_as: Option<SecretsAs>,
}

/// What is wrong with a project.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A YAML file is invalid (unknown key, wrong type, duplicate key...).
    #[error("{}: {message}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What and where (line and column).
        message: String,
    },
    /// No such environment.
    #[error("unknown environment '{name}' (known: {known})")]
    UnknownEnvironment {
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// No such cluster.
    #[error("unknown cluster '{name}' in environment '{environment}' (known: {known})")]
    UnknownCluster {
        /// The environment.
        environment: String,
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// No such service.
    #[error("unknown service '{name}' (known: {known})")]
    UnknownService {
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A cluster configures a service the project does not define.
    #[error("{}: cluster '{cluster}' configures unknown service '{name}'", .path.display())]
    UnknownClusterService {
        /// kit.yaml.
        path: PathBuf,
        /// The cluster.
        cluster: String,
        /// The service.
        name: String,
    },
    /// The service is disabled on that cluster.
    #[error("service '{service}' is disabled on cluster '{cluster}'")]
    Disabled {
        /// The service.
        service: String,
        /// The cluster.
        cluster: String,
    },
    /// A name (environment, cluster, service, template file) with characters
    /// kit does not allow, or a blank kube context.
    #[error("{}: {what} {name:?} is not allowed: {reason}", .path.display())]
    BadName {
        /// kit.yaml, or the template folder.
        path: PathBuf,
        /// `environment`, `cluster`, `service`, `template`, `context`.
        what: &'static str,
        /// The name, quoted and escaped.
        name: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// A file kit refuses to read: outside its folder once links are
    /// followed, not a regular file, or too large.
    #[error("{}: {reason}", .path.display())]
    UnsafePath {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A required selector is missing.
    #[error("{what} is required (choose from: {known})")]
    Missing {
        /// `--environment` or `--cluster`.
        what: &'static str,
        /// The names that exist.
        known: String,
    },
    /// A service has no templates.
    #[error("service '{service}' has no templates in {}", .dir.display())]
    NoTemplates {
        /// The service.
        service: String,
        /// Where kit looked.
        dir: PathBuf,
    },
    /// An `env:` entry that is not text, a number or a boolean, or whose
    /// name is not a variable name.
    #[error("{}: invalid env entry '{name}': {reason}", .path.display())]
    InvalidEnv {
        /// kit.yaml.
        path: PathBuf,
        /// The variable.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A values key that kit reserves for its own context entries.
    #[error("values key '{key}' is reserved by kit (it names {what} in templates)")]
    Reserved {
        /// The key.
        key: String,
        /// What kit puts there.
        what: &'static str,
    },
    /// Values that are not a map.
    #[error("{}: {what} must be a map", .path.display())]
    NotAMap {
        /// The file.
        path: PathBuf,
        /// Which values.
        what: String,
    },
    /// A variable both in `env:` and in the secrets, with `env_conflict: error`.
    #[error(
        "variable '{name}' of service '{service}' is defined both in env: and as a secret ({key})"
    )]
    EnvConflict {
        /// The variable.
        name: String,
        /// The service.
        service: String,
        /// The secret's key.
        key: String,
    },
}

/// A loaded project.
#[derive(Debug)]
pub struct Project {
    /// The project directory.
    pub dir: PathBuf,
    /// The parsed `kit.yaml`.
    pub file: ProjectFile,
}

/// One environment × cluster × service to render.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectTarget {
    /// Environment name.
    pub environment: String,
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
}

fn known<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// The largest `kit.yaml` or values file kit reads: 64 MiB.
pub const MAX_YAML_BYTES: u64 = 64 << 20;

/// Whether `name` may name an environment, cluster, service or template
/// file: letters, digits, `.`, `_` and `-`, starting with a letter or digit,
/// at most 253 characters. Such names are safe in file paths, S3 keys,
/// `# Source:` comments and messages.
///
/// ```
/// use kit_core::manifest::is_safe_name;
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

/// Reads a YAML file with serde-saphyr (duplicate keys, alias bombs and
/// unknown keys are errors with line and column). Only regular files of at
/// most [`MAX_YAML_BYTES`] are read (a FIFO would block forever).
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ProjectError> {
    let io = |source| ProjectError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(ProjectError::UnsafePath {
            path: path.to_owned(),
            reason: "it is not a regular file".into(),
        });
    }
    if meta.len() > MAX_YAML_BYTES {
        return Err(ProjectError::UnsafePath {
            path: path.to_owned(),
            reason: "it is larger than 64 MiB".into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    serde_saphyr::from_str(&text).map_err(|e| {
        let message = e.to_string();
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        ProjectError::Invalid {
            path: path.to_owned(),
            message: message.replace("<input>", &path.display().to_string()),
        }
    })
}

impl Project {
    /// Loads `DIR/kit.yaml` and checks it.
    pub fn load(dir: &Path) -> Result<Project, ProjectError> {
        let path = dir.join(PROJECT_FILE);
        let file: ProjectFile = read_yaml(&path)?;
        let project = Project {
            dir: dir.to_owned(),
            file,
        };
        project.validate()?;
        Ok(project)
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
        let map_check = |v: &Option<Value>, what: String| match v {
            None | Some(Value::Map(_)) | Some(Value::Null) => Ok(()),
            Some(_) => Err(ProjectError::NotAMap {
                path: self.path(),
                what,
            }),
        };
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
            let mut b = name.bytes();
            let valid = matches!(b.next(), Some(c) if c == b'_' || c.is_ascii_alphabetic())
                && b.all(|c| c == b'_' || c.is_ascii_alphanumeric());
            if !valid {
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

    /// The secret source, with a relative directory resolved against the
    /// project directory.
    pub fn secrets_source(&self) -> String {
        let s = &self.file.secrets;
        if s.starts_with("s3://") || Path::new(s).is_absolute() {
            s.clone()
        } else {
            self.dir.join(s).display().to_string()
        }
    }

    /// The directory of service template folders.
    pub fn templates_dir(&self) -> PathBuf {
        self.dir.join(&self.file.templates)
    }

    /// The partials directory.
    pub fn partials_dir(&self) -> PathBuf {
        self.dir.join(&self.file.partials)
    }

    /// Picks the targets: `environment` and `cluster` are required (the
    /// error lists the choices); `services` empty means every service
    /// enabled on the cluster, in `kit.yaml` order.
    pub fn targets(
        &self,
        environment: Option<&str>,
        cluster: Option<&str>,
        services: &[String],
    ) -> Result<Vec<ProjectTarget>, ProjectError> {
        let f = &self.file;
        let ename = environment.ok_or_else(|| ProjectError::Missing {
            what: "--environment",
            known: known(f.environments.keys()),
        })?;
        let env = f
            .environments
            .get(ename)
            .ok_or_else(|| ProjectError::UnknownEnvironment {
                name: ename.into(),
                known: known(f.environments.keys()),
            })?;
        let cname = cluster.ok_or_else(|| ProjectError::Missing {
            what: "--cluster",
            known: known(env.clusters.keys()),
        })?;
        let cl = env
            .clusters
            .get(cname)
            .ok_or_else(|| ProjectError::UnknownCluster {
                environment: ename.into(),
                name: cname.into(),
                known: known(env.clusters.keys()),
            })?;
        let enabled = |s: &str| cl.services.get(s).is_none_or(|cs| cs.enabled);
        let mut out = Vec::new();
        if services.is_empty() {
            for s in f.services.keys().filter(|s| enabled(s)) {
                out.push(ProjectTarget {
                    environment: ename.into(),
                    cluster: cname.into(),
                    service: s.clone(),
                });
            }
        } else {
            for s in services {
                if !f.services.contains_key(s) {
                    return Err(ProjectError::UnknownService {
                        name: s.clone(),
                        known: known(f.services.keys()),
                    });
                }
                if !enabled(s) {
                    return Err(ProjectError::Disabled {
                        service: s.clone(),
                        cluster: cname.into(),
                    });
                }
                let t = ProjectTarget {
                    environment: ename.into(),
                    cluster: cname.into(),
                    service: s.clone(),
                };
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// Every enabled target of the project, in `kit.yaml` order.
    pub fn all_targets(&self) -> Vec<ProjectTarget> {
        let mut out = Vec::new();
        for (ename, env) in &self.file.environments {
            for (cname, cl) in &env.clusters {
                for s in self.file.services.keys() {
                    if cl.services.get(s).is_none_or(|cs| cs.enabled) {
                        out.push(ProjectTarget {
                            environment: ename.clone(),
                            cluster: cname.clone(),
                            service: s.clone(),
                        });
                    }
                }
            }
        }
        out
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
    pub fn layered_values(&self, t: &ProjectTarget) -> Value {
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
                super::merge(&mut v, layer.clone());
            }
        }
        v
    }

    /// The service's `env:` variables, layered like values, as text.
    pub fn layered_env(&self, t: &ProjectTarget) -> IndexMap<String, String> {
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
