//! The `kit.yaml` model. The reference is `docs/project.md`; the demo in
//! `fixtures/demo/kit.yaml` shows every key.
//!
//! Every type is `#[non_exhaustive]`: fields are read directly, and new keys
//! are not breaking changes. Projects are made by [`crate::Project::load`].

use indexmap::IndexMap;
use kit_core::Value;
use serde::Deserialize;

/// The name of the project file in a project directory.
pub const PROJECT_FILE: &str = "kit.yaml";

/// How a service's secrets reach its templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct ProjectFile {
    /// The project's identity on clusters: every object kit applies for it
    /// carries it, with the id of its inventory (see
    /// [`crate::inventory`]). Required by `kit apply --prune` and `kit
    /// delete`. A DNS label (`shop`, `payments-api`); unique per cluster.
    #[serde(default)]
    pub name: Option<String>,
    /// The namespace of the inventory's ConfigMap on each cluster. Default
    /// `default`.
    #[serde(default)]
    pub inventory_namespace: Option<String>,
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
    /// Remove trailing white space (spaces, tabs, line breaks) from every
    /// secret value, for every command (`kit render`, `apply`, `env`,
    /// `exec`...). Default `false`: values are byte-exact, and a value that
    /// ends in a line break is reported as a warning.
    #[serde(default)]
    pub trim_secrets: bool,
    /// Let `kit release` record images whose tag moves with each build
    /// (`latest`, `stable`, `main`...). Default `false`: refused, since a
    /// rollback to such a record would not bring back the old build.
    #[serde(default)]
    pub allow_mutable_tags: bool,
    /// Validation of rendered manifests against the Kubernetes API schema.
    #[serde(default)]
    pub kubernetes: KubernetesSettings,
    /// Environments, by name.
    pub environments: IndexMap<String, Environment>,
    /// Services, by name.
    pub services: IndexMap<String, Service>,
}

/// `kubernetes:` in `kit.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KubernetesSettings {
    /// The minor version whose API schema manifests are validated against
    /// (one of [`crate::schema::versions`]; default
    /// [`crate::schema::DEFAULT_VERSION`]).
    #[serde(default)]
    pub version: Option<String>,
    /// Validate (default `true`).
    #[serde(default = "yes")]
    pub validate: bool,
}

impl Default for KubernetesSettings {
    fn default() -> Self {
        KubernetesSettings {
            version: None,
            validate: true,
        }
    }
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
#[non_exhaustive]
pub struct Environment {
    /// Values for this environment.
    #[serde(default)]
    pub values: Option<Value>,
    /// Variables for this environment.
    #[serde(default)]
    pub env: IndexMap<String, Value>,
    /// Its clusters, by name. An environment of instances has none of its
    /// own: once loaded, it holds its base's.
    #[serde(default)]
    pub clusters: IndexMap<String, Cluster>,
    /// Makes this an environment of instances (`kit ... --instance NAME`):
    /// copies of the base environment, each in its own namespaces and
    /// inventory. See `docs/instances.md`.
    #[serde(default)]
    pub instances: Option<Instances>,
}

/// `instances:` of an environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Instances {
    /// The base environment: its clusters, values, variables, secret layers
    /// and released images are every instance's, under the instance's own.
    pub from: String,
}

/// A cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
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
#[non_exhaustive]
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
