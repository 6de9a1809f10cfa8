//! Flags of `kit apply` and `kit diff`.

use std::ffi::OsString;

use clap::Args;

/// How kubectl is run.
#[derive(Debug, Clone, Args)]
pub struct KubectlFlags {
    /// The kubectl to run.
    #[arg(
        long,
        value_name = "PATH",
        env = "KIT_KUBECTL",
        default_value = "kubectl"
    )]
    pub kubectl: String,
    /// With several clusters: go on after a cluster fails (the summary
    /// says which succeeded, failed, or were skipped).
    #[arg(long)]
    pub keep_going: bool,
    /// Arguments for kubectl, after `--` (`--server-side`, `--prune -l ...`,
    /// `--dry-run=server`, `--wait`, `--namespace`...).
    #[arg(last = true, value_name = "KUBECTL ARGS")]
    pub kubectl_args: Vec<OsString>,
}
