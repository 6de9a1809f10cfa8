//! # kit-project
//!
//! A kit project: `kit.yaml` ([`model`]), target selection ([`Selection`]),
//! layered values and variables, the template context ([`context`]), the
//! checks every rendered document passes ([`check`]), install order, one
//! stream per cluster ([`stream`]) and file output ([`output_dir`]).
//!
//! The pipeline, one data model from end to end: a [`Selection`] becomes a
//! [`Plan`] (one [`kit_env::Target`] per target), the plan's secrets are
//! resolved ([`kit_env::Resolution`]s, values kept as
//! [`kit_env::SecretValue`] with their provenance), [`render`] renders every
//! target in parallel, and [`Rendered`] gives the streams or writes files.
//!
//! ```
//! use kit_project::{Project, RenderOptions, Selection};
//! # let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo");
//! let project = Project::load(demo.as_ref())?;
//! let plan = project.plan(&Selection::cluster("production", "nerdearla-cluster"))?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let secrets = runtime.block_on(async {
//!     let resolver = project.resolver(None, &Default::default(), 32).await?;
//!     plan.resolve(&resolver).await
//! })?;
//! let rendered = kit_project::render(&project, &secrets, RenderOptions::default(), &|| {})?;
//! let streams = rendered.streams()?;
//! assert_eq!(streams.len(), 1);
//! // The demo's secrets go into one Secret per service (base64 of "!myp4ssw0rd!").
//! assert!(streams[0].text.contains("MYSQL_PASSWORD: IW15cDRzc3cwcmQh\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! kit-project depends on kit-core (the engine) and kit-env (the secrets);
//! the `kit` CLI is flags, progress and exit codes over this crate.

#![warn(missing_docs)]

pub mod annotate;
pub mod check;
pub mod context;
mod contract;
mod error;
mod fast;
pub mod inventory;
mod mask;
pub mod model;
mod options;
pub mod output_dir;
mod pipeline;
mod project;
pub mod release;
mod render;
pub mod schema;
mod select;
pub mod stream;
mod unused;
mod values;

#[cfg(test)]
mod xorshift;
pub mod yaml;

pub use check::{CheckError, Document, INSTALL_ORDER, kind_rank};
pub use context::{
    CHECKSUM_KEY_NAME, CONFIG_CHECKSUM_ANNOTATION, ENV_CHECKSUM_ANNOTATION, INSTANCE_LABEL,
    MIN_CHECKSUM_KEY_BYTES, TARGET_LABELS, Variables, instance_namespace, target_labels,
    template_context,
};
pub use error::{OutputError, ProjectError, RenderError};
pub use mask::{MIN_CONTAINED, Masker};
pub use model::{
    Cluster, ClusterService, EnvConflict, Environment, Instances, PROJECT_FILE, ProjectFile,
    SecretsAs, Service,
};
pub use pipeline::{Plan, Rendered, SecretsOptions, render, render_to_dir};
pub use project::{Project, is_safe_name};
pub use render::{RenderOptions, Renderer};
pub use select::{Selection, check_instance_name};
pub use stream::{ClusterStream, ObjectRef, write_stream};
pub use unused::UnusedValue;
pub use values::{MAX_SET_DEPTH, MAX_SET_INDEX, SetError, SetKind, merge, parse_set, set_into};
pub use yaml::input::{MAX_YAML_BYTES, parse_yaml, read_values, read_yaml, values_map};
