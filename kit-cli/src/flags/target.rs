//! `-e`, `-c`, `-s` and `--kubectl`: each defined once, here. A command
//! composes them and says, where it differs, whether one is required or
//! takes a single value, and its help (`mut_arg` on the command's flags).

use clap::Args;

/// `-e/--environment` (`KIT_ENVIRONMENT`).
#[derive(Debug, Clone, Args)]
pub struct EnvironmentFlag {
    /// The environment.
    #[arg(long, short = 'e', env = "KIT_ENVIRONMENT")]
    pub environment: Option<String>,
}

impl EnvironmentFlag {
    /// The environment, where clap requires it.
    pub fn required(&self) -> &str {
        self.environment
            .as_deref()
            .expect("clap requires --environment here")
    }
}

/// `-c/--cluster` (`KIT_CLUSTER`), repeatable (or comma-separated) unless a
/// command takes one.
#[derive(Debug, Clone, Args)]
pub struct ClusterFlag {
    /// The cluster (repeatable).
    #[arg(
        long = "cluster",
        short = 'c',
        value_name = "CLUSTER",
        env = "KIT_CLUSTER",
        value_delimiter = ','
    )]
    pub clusters: Vec<String>,
}

impl ClusterFlag {
    /// The one cluster, where clap requires exactly one.
    pub fn required(&self) -> &str {
        self.clusters
            .first()
            .map(String::as_str)
            .expect("clap requires --cluster here")
    }
}

/// `-s/--service` (`KIT_SERVICE`), repeatable unless a command takes one.
#[derive(Debug, Clone, Args)]
pub struct ServiceFlag {
    /// The service (repeatable).
    #[arg(
        long = "service",
        short = 's',
        value_name = "SERVICE",
        env = "KIT_SERVICE"
    )]
    pub services: Vec<String>,
}

impl ServiceFlag {
    /// The one service, where clap requires exactly one.
    pub fn required(&self) -> &str {
        self.services
            .first()
            .map(String::as_str)
            .expect("clap requires --service here")
    }
}

/// `--instance` (`KIT_INSTANCE`).
#[derive(Debug, Clone, Args)]
pub struct InstanceFlag {
    /// One instance of an environment of instances (`instances:` in
    /// kit.yaml), e.g. `pr-3071`: a DNS label starting with a letter. Its
    /// objects go into the namespaces `<namespace>-<instance>` and carry
    /// the label kit.dev/instance; each cluster keeps it in an inventory of
    /// its own. See docs/instances.md.
    #[arg(long, value_name = "NAME", env = "KIT_INSTANCE")]
    pub instance: Option<String>,
}

/// `--kubectl` (`KIT_KUBECTL`).
#[derive(Debug, Clone, Args)]
pub struct KubectlProgram {
    /// The kubectl to run.
    #[arg(
        long,
        value_name = "PATH",
        env = "KIT_KUBECTL",
        default_value = "kubectl"
    )]
    pub kubectl: String,
}

/// For `mut_arg`: exactly one value, required (`-e`, `-c`, `-s` of a
/// command about one target).
pub fn one(a: clap::Arg) -> clap::Arg {
    a.required(true)
        .num_args(1)
        .action(clap::ArgAction::Set)
        .value_delimiter(None)
}
