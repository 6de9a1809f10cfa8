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
    /// The kube context, for a run on one cluster whose kit.yaml entry has
    /// no `context:` (or to override it). Without either, kit refuses to
    /// run: kubectl's current context is never used silently.
    #[arg(long, value_name = "CONTEXT", env = "KIT_CONTEXT")]
    pub context: Option<String>,
    /// With several clusters: go on after a cluster fails (the summary
    /// says which succeeded, failed, or were skipped).
    #[arg(long)]
    pub keep_going: bool,
    /// More arguments for `kubectl apply` or `kubectl diff`, after `--`
    /// (e.g. `--server-side`, `--field-manager NAME`; see `kubectl apply
    /// --help` and `kubectl diff --help` for what each accepts). kit passes
    /// `--context` itself.
    #[arg(last = true, value_name = "KUBECTL ARGS")]
    pub kubectl_args: Vec<OsString>,
}
