//! Manifests: the project file, layered values, rendering a target's
//! templates, and checking the documents that come out.

mod check;
mod mask;
mod project;
mod render;
mod values;

pub use check::{CheckError, Document, INSTALL_ORDER, check_output, kind_rank, pod_template_path};
pub use mask::{MIN_CONTAINED, Masker};
pub use project::{
    Cluster, ClusterService, EnvConflict, Environment, MAX_YAML_BYTES, PROJECT_FILE, Project,
    ProjectError, ProjectFile, ProjectTarget, SecretsAs, Service, is_safe_name, read_yaml,
};
pub use render::{
    CHECKSUM_KEY_NAME, ENV_CHECKSUM_ANNOTATION, MIN_CHECKSUM_KEY_BYTES, ProjectRenderer, Redactor,
    RenderError, RenderOptions, Variable, write_stream,
};
pub use values::{SetError, merge, parse_set};
