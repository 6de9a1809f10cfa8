//! Flags of commands that work on a project: where it is, which targets,
//! which extra values, where the output goes.

use std::path::PathBuf;

use clap::Args;
use kit_core::Value;
use kit_project::Selection;

use crate::diagnostics::Failure;

/// The project directory.
#[derive(Debug, Args)]
pub struct ProjectFlags {
    /// The project directory (holding kit.yaml).
    #[arg(
        short = 'C',
        long = "project",
        value_name = "DIR",
        default_value = ".",
        env = "KIT_PROJECT"
    )]
    pub project: PathBuf,
}

/// Which targets.
#[derive(Debug, Args)]
pub struct SelectFlags {
    /// The environment.
    #[arg(long, short = 'e', env = "KIT_ENVIRONMENT")]
    pub environment: Option<String>,
    /// The cluster (repeatable: several clusters of the environment in one
    /// run, grouped by cluster).
    #[arg(
        long = "cluster",
        short = 'c',
        value_name = "CLUSTER",
        env = "KIT_CLUSTER",
        value_delimiter = ','
    )]
    pub clusters: Vec<String>,
    /// A service (repeatable). Default: every service enabled on the cluster.
    #[arg(long = "service", short = 's', value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Every enabled service of every cluster of every environment (or of
    /// --environment, when given). Documents are grouped by cluster, each
    /// group in install order, and `# Source:` names environment and cluster.
    #[arg(long, conflicts_with_all = ["clusters", "services"])]
    pub all: bool,
}

impl SelectFlags {
    /// The selection these flags describe.
    pub fn selection(&self) -> Selection {
        if self.all {
            Selection::All {
                environment: self.environment.clone(),
            }
        } else {
            Selection::Clusters {
                environment: self.environment.clone(),
                clusters: self.clusters.clone(),
                services: self.services.clone(),
            }
        }
    }
}

/// Values layered over the project's.
#[derive(Debug, Args)]
pub struct ValuesFlags {
    /// A YAML or JSON values file, layered over the project's values
    /// (repeatable; later files win).
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// A value, `path.to.key=value`, layered last (repeatable). The value is
    /// read as a YAML 1.2 scalar; quote it to force a string.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

impl ValuesFlags {
    /// The extra values, in order: files, then settings.
    pub fn values(&self) -> Result<Vec<Value>, Failure> {
        let mut extra = Vec::new();
        for f in &self.values {
            extra.extend(kit_project::read_values(f)?);
        }
        for s in &self.set {
            extra.push(kit_project::parse_set(s)?);
        }
        Ok(extra)
    }
}

/// Files instead of standard output.
#[derive(Debug, Args)]
pub struct OutputFlags {
    /// Write each document to its own file instead of standard output:
    /// DIR/<environment>/<cluster>/<service>/[<namespace>/]<kind>[.<group>]-<name>.yaml
    /// (mode 0600; directories 0700). All or nothing: the tree is written
    /// beside DIR and moved into place only when complete. DIR must be empty
    /// or not exist yet.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}
