//! What can go wrong with a project, before rendering starts. Messages
//! name files and names, never flags (those belong to the CLI) and never
//! secret values.

use std::path::PathBuf;

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
    /// A value in a YAML file would not mean what is written.
    #[error("{}:{line}:{column}: {message}", .path.display())]
    InvalidAt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
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
        /// `an environment` or `a cluster`.
        what: &'static str,
        /// The names that exist.
        known: String,
    },
    /// An environment of instances selected without an instance.
    #[error(
        "environment '{environment}' is an environment of instances (of '{base}'): a run names one instance"
    )]
    InstanceNeeded {
        /// The environment.
        environment: String,
        /// Its base environment.
        base: String,
    },
    /// An instance of an environment that has none.
    #[error("environment '{environment}' has no instances (kit.yaml gives it no `instances:`)")]
    NoInstances {
        /// The environment.
        environment: String,
        /// The environments that have instances.
        known: String,
    },
    /// An instance name that cannot name Kubernetes objects.
    #[error("instance name '{name}' is not a DNS label ({reason})")]
    BadInstance {
        /// The name given (printable: control characters escaped).
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// An instance's namespace would not be a valid namespace name.
    #[error(
        "the namespace of instance '{instance}' would be '{namespace}', {length} characters: a namespace has at most 63"
    )]
    InstanceNamespace {
        /// The instance.
        instance: String,
        /// The namespace `<namespace value>-<instance>`.
        namespace: String,
        /// Its length.
        length: usize,
        /// The longest instance name that fits.
        room: usize,
    },
    /// An image given for a service that has no target in the run.
    #[error(
        "an image is given for service '{service}', which this run does not render (it renders: {rendered})"
    )]
    ImageNotRendered {
        /// The service.
        service: String,
        /// The services the run renders.
        rendered: String,
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

/// What can go wrong rendering a plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The project is inconsistent.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// A template failed to compile or render.
    #[error("{0}")]
    Template(#[from] kit_core::Error),
    /// A rendered document failed its checks.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// A target has secrets but no checksum key: an unkeyed checksum would
    /// let anyone who can read Deployments test guesses of the secrets.
    #[error(
        "target {target} has secrets but no {} secret to key its pod checksum",
        crate::contract::CHECKSUM_KEY_NAME
    )]
    NoChecksumKey {
        /// `environment/cluster/service`.
        target: String,
    },
    /// The checksum key is too short.
    #[error(
        "the {} secret of target {target} is shorter than {} bytes",
        crate::contract::CHECKSUM_KEY_NAME,
        crate::contract::MIN_CHECKSUM_KEY_BYTES
    )]
    WeakChecksumKey {
        /// `environment/cluster/service`.
        target: String,
    },
    /// The project's inventory cannot be named from kit.yaml's names.
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryNameError),
    /// A name cannot be a label value (kit labels every object with its
    /// environment, cluster and service).
    #[error(
        "{what} '{name}' cannot be the value of kit's label {label}: label values have at most 63 characters and start and end with a letter or digit"
    )]
    BadLabel {
        /// `environment`, `cluster` or `service`.
        what: &'static str,
        /// The name.
        name: String,
        /// The label.
        label: &'static str,
    },
    /// An object of an instance outside the instance's namespaces, where
    /// it would be shared with the base environment or other instances.
    #[error("{origin} renders {kind} '{name}'{ns} for instance '{instance}', outside the instance's namespaces", ns = .namespace.as_ref().map(|n| format!(" in namespace '{n}'")).unwrap_or_default())]
    OutsideInstance {
        /// Where it came from.
        origin: String,
        /// `apiVersion/kind`.
        kind: String,
        /// The name (masked).
        name: String,
        /// The namespace, when set (masked).
        namespace: Option<String>,
        /// The instance.
        instance: String,
    },
    /// Two documents describe the same object.
    #[error("{second} renders {kind} '{name}'{ns}, which {first} renders too", ns = .namespace.as_ref().map(|n| format!(" in namespace '{n}'")).unwrap_or_default())]
    Duplicate {
        /// Where the first one came from.
        first: String,
        /// Where the second one came from.
        second: String,
        /// `apiVersion/kind`.
        kind: String,
        /// The name.
        name: String,
        /// The namespace, when set.
        namespace: Option<String>,
    },
}

/// What can go wrong writing documents to a directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The directory exists and is not empty.
    #[error("{} is not empty", .0.display())]
    NotEmpty(PathBuf),
    /// A document whose kind, group, namespace or name cannot be part of a
    /// file name (shown masked).
    #[error("{origin}: {what} '{value}' cannot be part of a file name")]
    BadFileName {
        /// `service/template`.
        origin: String,
        /// `kind`, `API group`, `namespace` or `name`.
        what: &'static str,
        /// The offending text, escaped and masked.
        value: String,
    },
    /// Two documents would be written to the same file.
    #[error(
        "{second} and {first} would both be written to {path} (file names are compared without case)"
    )]
    Collision {
        /// The first document.
        first: String,
        /// The second document.
        second: String,
        /// The path, relative to the directory (masked).
        path: String,
    },
    /// A check of the rendered documents failed (the same object twice on
    /// one cluster): nothing was written.
    #[error(transparent)]
    Check(Box<RenderError>),
    /// Rendering failed ([`crate::render_to_dir`]): everything written was
    /// removed.
    #[error(transparent)]
    Render(Box<RenderError>),
    /// Stopped (see [`crate::Rendered::write_dir_until`]): everything
    /// written was removed.
    #[error("interrupted: nothing was written")]
    Interrupted,
    /// Writing failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Where a document came from, for messages: `service/template`.
pub type Origin = String;

/// A problem with a rendered document. Never contains values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: rendered document {doc}, line {line}: {message}")]
#[non_exhaustive]
pub struct CheckError {
    /// `service/template`.
    pub origin: Origin,
    /// 1-based document number within the template's output.
    pub doc: usize,
    /// 1-based line within the template's output.
    pub line: usize,
    /// 1-based line within the document.
    pub document_line: usize,
    /// 1-based column within that line, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// The template (or partial) line and column that wrote that line of
    /// output, when the renderer could trace it back.
    pub template: Option<Box<kit_core::Location>>,
    /// The failing document as rendered, with every secret value replaced
    /// by a fingerprint (for `--debug`), when the renderer was asked for it.
    pub rendered: Option<String>,
}

impl CheckError {
    /// A problem at line `document_line` of document `doc` (which starts at
    /// line `first_line`) of `origin`'s output; lines 1-based.
    pub fn new(
        origin: &str,
        doc: usize,
        first_line: usize,
        document_line: usize,
        message: String,
    ) -> Self {
        CheckError {
            origin: origin.into(),
            doc,
            line: first_line + document_line.saturating_sub(1),
            document_line: document_line.max(1),
            column: None,
            message,
            template: None,
            rendered: None,
        }
    }
}
