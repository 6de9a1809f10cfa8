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
    /// Use kubectl's client-side apply (and diff) instead of server-side
    /// apply with field manager `kit`. Client-side apply copies every
    /// object, Secrets included, into the last-applied-configuration
    /// annotation.
    #[arg(long, env = "KIT_CLIENT_SIDE")]
    pub client_side: bool,
    /// Delete (apply) or show (diff) the objects kit applied earlier for the
    /// run's targets (by kit's kit.dev/environment, kit.dev/cluster and
    /// kit.dev/service labels) that it no longer renders. Objects without
    /// those labels, or of other targets, are never touched.
    #[arg(long)]
    pub prune: bool,
    /// More arguments for `kubectl apply` or `kubectl diff`, after `--`
    /// (e.g. `--server-side`, `--field-manager NAME`; see `kubectl apply
    /// --help` and `kubectl diff --help` for what each accepts). kit passes
    /// `--context` itself.
    #[arg(last = true, value_name = "KUBECTL ARGS")]
    pub kubectl_args: Vec<OsString>,
}

/// Flags of `kit apply` only.
#[derive(Debug, Clone, Default, Args)]
pub struct ApplyFlags {
    /// Take over fields another field manager owns (server-side apply
    /// conflicts), instead of failing on them.
    #[arg(long, conflicts_with = "client_side")]
    pub force_conflicts: bool,
    /// Create the namespaces the objects go into when they do not exist
    /// yet (like Helm's --create-namespace). kit does not manage them
    /// afterwards: they carry no kit labels and are never pruned.
    #[arg(long)]
    pub create_namespace: bool,
    /// After applying, wait for every applied workload (Deployments,
    /// StatefulSets, DaemonSets, Pods, Jobs) to become ready, at most
    /// TIMEOUT per cluster (default 5m; `90s`, `2m`); a workload that is
    /// not ready by then is named with the reason, exit 8.
    #[arg(long, value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "5m", env = "KIT_WAIT")]
    pub wait: Option<String>,
}
