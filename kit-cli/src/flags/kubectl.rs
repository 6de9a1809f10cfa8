//! Flags of `kit apply` and `kit diff`.

use std::ffi::OsString;

use clap::Args;
use clap::builder::TypedValueParser as _;

/// How kubectl is run.
#[derive(Debug, Clone, Args)]
pub struct KubectlFlags {
    #[command(flatten)]
    pub program: super::target::KubectlProgram,
    /// The kube context, for a run on one cluster whose kit.yaml entry has
    /// no `context:` (or to override it). Without either, kit refuses to
    /// run: kubectl's current context is never used silently.
    #[arg(long, value_name = "CONTEXT", env = "KIT_CONTEXT")]
    pub context: Option<String>,
    /// With several clusters: go on after a cluster fails (the summary
    /// says which succeeded, failed, or were skipped).
    #[arg(long, env = "KIT_KEEP_GOING")]
    pub keep_going: bool,
    #[command(flatten)]
    pub fleet: ParallelFlag,
    /// Use kubectl's client-side apply (and diff) instead of server-side
    /// apply with field manager `kit`. Client-side apply copies every
    /// object, Secrets included, into the last-applied-configuration
    /// annotation.
    #[arg(long, env = "KIT_CLIENT_SIDE")]
    pub client_side: bool,
    /// Delete (apply) or show (diff) the objects of this project's
    /// inventory on each cluster that it no longer renders: services
    /// removed from kit.yaml or disabled on the cluster, templates removed,
    /// the last object of a kind. Needs `name:` in kit.yaml. Only objects
    /// kit applied for this project, environment and cluster (labelled
    /// with the inventory's applyset.kubernetes.io/part-of id) are ever
    /// deleted; Namespaces never are (`kit delete` removes those kit
    /// created). With -s, only those services' objects.
    #[arg(long, env = "KIT_PRUNE")]
    pub prune: bool,
    /// Refuse to take over fields another field manager changed (a
    /// `kubectl edit`, `set image`, `scale`): the apply fails on them, as
    /// kubectl's server-side apply does. By default kit takes them back
    /// (the cluster converges on the config repository) and names each
    /// field and the manager it took it from.
    #[arg(long, conflicts_with = "client_side", env = "KIT_NO_FORCE_CONFLICTS")]
    pub no_force_conflicts: bool,
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
    /// Take over fields another field manager owns at once, without
    /// naming them (kit takes them back by default, naming each field).
    #[arg(long, conflicts_with_all = ["client_side", "no_force_conflicts"])]
    pub force_conflicts: bool,
    /// Create the namespaces the objects go into when they do not exist
    /// yet (like Helm's --create-namespace). They are marked as created by
    /// kit (label kit.dev/created-by): never pruned, removed only by `kit
    /// delete` of the whole environment and cluster.
    #[arg(long)]
    pub create_namespace: bool,
    /// After applying, wait for every applied workload (Deployments,
    /// StatefulSets, DaemonSets, Pods, Jobs) to become ready, at most
    /// TIMEOUT per cluster (default 5m; `90s`, `2m`); a workload that is
    /// not ready by then is named with the reason, exit 8.
    #[arg(long, value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "5m", env = "KIT_WAIT")]
    pub wait: Option<String>,
    /// When a workload does not become ready (implies --wait, 5m unless
    /// given): record a rollback of its service in the config repository
    /// (action `rollback`, author kit, the reason in the message), push it,
    /// apply it and wait for it (like Helm's --rollback-on-failure). Only
    /// services this run changed are rolled back: with `kit release`, the
    /// service released; with `kit apply`, services whose image the apply
    /// changed (a failure with the image that ran before is reported, not
    /// rolled back). Exit 12 when the rollback is applied and ready.
    #[arg(long, env = "KIT_ROLLBACK_ON_FAILURE")]
    pub rollback_on_failure: bool,
}

/// How many clusters at once (`kit apply`, `kit diff`, `kit status --live`).
#[derive(Debug, Clone, Args)]
pub struct ParallelFlag {
    /// With several clusters: work on up to N at once (1: one after
    /// another). kubectl's output for each cluster is kept together, every
    /// line prefixed with `[environment/cluster]`; without --keep-going no
    /// cluster is started after one fails, and those already started
    /// finish.
    #[arg(long, value_name = "N", env = "KIT_PARALLEL", default_value_t = crate::fleet::DEFAULT_PARALLEL, value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub parallel: usize,
}
