//! Manifests: the project file, layered values, rendering a target's
//! templates, and checking the documents that come out.

mod check;
mod project;
mod render;
mod values;

pub use check::{CheckError, Document, INSTALL_ORDER, check_output, kind_rank, pod_template_path};
pub use project::{
    Cluster, ClusterService, EnvConflict, Environment, PROJECT_FILE, Project, ProjectError,
    ProjectFile, ProjectTarget, SecretsAs, Service, read_yaml,
};
pub use render::{
    ENV_CHECKSUM_ANNOTATION, ProjectRenderer, Redactor, RenderError, RenderOptions, Variable,
    write_stream,
};
pub use values::{SetError, merge, parse_set};
