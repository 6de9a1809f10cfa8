//! Flags of the release commands (`kit release`, `rollback`, `promote`,
//! `pin`, `unpin`, `history`, `status`).

use clap::{Args, ValueEnum};

use super::ProjectFlags;
use super::target::{ClusterFlag, EnvironmentFlag, KubectlProgram, ServiceFlag, one};

/// The service and environment a release command is about.
#[derive(Debug, Args)]
#[command(
    mut_arg("environment", one),
    mut_arg("services", |a| one(a).value_name("SERVICE").help("The service"))
)]
pub struct ServiceFlags {
    #[command(flatten)]
    pub env: EnvironmentFlag,
    #[command(flatten)]
    pub svc: ServiceFlag,
}

impl ServiceFlags {
    /// The environment.
    pub fn environment(&self) -> &str {
        self.env.required()
    }

    /// The service.
    pub fn service(&self) -> &str {
        self.svc.required()
    }
}

/// Who, why, and from which build. Unset, they come from the CI's own
/// variables (GitHub Actions, GitLab CI, Codeship), else from git's
/// configuration.
#[derive(Debug, Args)]
pub struct MetaFlags {
    /// Why (kept in the record and the commit).
    #[arg(long, short = 'm', value_name = "TEXT")]
    pub message: Option<String>,
    /// Who. Default: GITHUB_ACTOR, GITLAB_USER_LOGIN or CI_COMMITTER_NAME,
    /// else git's user.name and user.email.
    #[arg(long, env = "KIT_AUTHOR")]
    pub author: Option<String>,
    /// The source commit that was built. Default: GITHUB_SHA, CI_COMMIT_SHA
    /// or CI_COMMIT_ID.
    #[arg(long, value_name = "SHA", env = "KIT_SOURCE_COMMIT")]
    pub source_commit: Option<String>,
    /// The CI build. Default: the GitHub Actions run, CI_JOB_URL or
    /// CI_BUILD_URL.
    #[arg(long, value_name = "URL", env = "KIT_BUILD_URL")]
    pub build_url: Option<String>,
    /// The CI build's number, which grows with each build of the source
    /// repository: a release with a lower number than the recorded one
    /// (from the same repository) is refused unless --force. Default:
    /// GITHUB_RUN_NUMBER, CI_PIPELINE_IID or CI_BUILD_NUMBER.
    #[arg(long, value_name = "N", env = "KIT_BUILD_NUMBER")]
    pub build_number: Option<u64>,
    /// The source repository that was built. Default: GITHUB_REPOSITORY,
    /// CI_PROJECT_PATH or CI_REPO_NAME.
    #[arg(long, value_name = "NAME", env = "KIT_SOURCE_REPOSITORY")]
    pub source_repository: Option<String>,
}

/// Where the record goes.
#[derive(Debug, Args)]
pub struct PushFlags {
    /// Commit on the local branch only; do not push.
    #[arg(long, env = "KIT_NO_PUSH")]
    pub no_push: bool,
    /// Release even though the service is pinned (the pin stays), the build
    /// is older than the recorded one, the image is of another repository
    /// than the service's, or its tag is mutable (`latest`).
    #[arg(long)]
    pub force: bool,
    /// The remote branch to record on. Default: the current branch's
    /// upstream; on a detached HEAD (GitLab runners, a checkout of a
    /// commit), the remote branch at HEAD, else the remote's default
    /// branch.
    #[arg(long, value_name = "BRANCH", env = "KIT_BRANCH")]
    pub branch: Option<String>,
    /// Pushes to try before giving up when other releases keep landing
    /// first.
    #[arg(long, value_name = "N", default_value_t = 20, env = "KIT_PUSH_TRIES")]
    pub push_tries: u32,
    /// Seconds each git command that talks to the remote (fetch, push,
    /// ls-remote) may take before kit stops it and fails: a hung
    /// credential helper or network never holds a CI job for ever.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 300,
        env = "KIT_GIT_TIMEOUT"
    )]
    pub git_timeout: u64,
}

/// Output formats of `kit history` and `kit status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for people.
    Table,
    /// A JSON array of objects.
    Json,
}

/// `--format`.
#[derive(Debug, Args)]
pub struct ListFormatFlag {
    /// Output format (`--format` is the same).
    #[arg(long = "output", short = 'o', alias = "format", value_enum, default_value_t = ListFormat::Table, env = "KIT_FORMAT")]
    output: ListFormat,
    /// `-f`, the output format's old letter: still accepted, with a
    /// warning, for one release (`-f` means values files elsewhere).
    #[arg(short = 'f', value_enum, hide = true, conflicts_with = "output")]
    old_f: Option<ListFormat>,
}

impl ListFormatFlag {
    /// The output format asked for.
    pub fn format(&self) -> ListFormat {
        match self.old_f {
            Some(f) => {
                super::warn_old_f();
                f
            }
            None => self.output,
        }
    }
}

/// `kit status`.
#[derive(Debug, Args)]
#[command(
    mut_arg("environment", |a| a.help("Only this environment")),
    mut_arg("clusters", |a| a.help("With --live: only this cluster (repeatable)").requires("live").env(None::<&str>)),
    mut_arg("kubectl", |a| a.help("The kubectl to run (with --live; ignored otherwise, so a CI job's KIT_KUBECTL does not break `kit status`)"))
)]
pub struct StatusArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub environment: EnvironmentFlag,
    #[command(flatten)]
    pub format: ListFormatFlag,
    /// Compare with what runs: read every cluster through kubectl with its
    /// context (the project's inventory when kit.yaml has a `name:`), and
    /// report per service the released image against the images running,
    /// ready/desired replicas and a state: `ok`; `drift` (other images: a
    /// change by hand); `missing` (nothing of it runs); `unhealthy` (a
    /// workload not ready, a rollout in progress, scaled to 0, a failed
    /// Job); `left behind` (a service the cluster no longer runs, whose
    /// objects prune would delete); `unreachable: <reason>` (the cluster
    /// could not be read; the others are still shown). Exits 11 when a
    /// cluster is unreachable, else 1 on drift, missing or left behind,
    /// else 8 when unhealthy, else 0.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub cluster: ClusterFlag,
    #[command(flatten)]
    pub kubectl: KubectlProgram,
    /// With --live, clusters read at once.
    #[command(flatten)]
    pub fleet: super::ParallelFlag,
}
