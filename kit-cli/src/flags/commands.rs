//! Every command's arguments: the flag groups of this folder composed per
//! command (each flag is defined once, in its group), and the few flags
//! that only one command has.

use clap::{Args, Subcommand, ValueEnum};

use super::{
    ApplyFlags, DebugFlag, KubectlFlags, ListFormatFlag, MetaFlags, OutputFlags, ProjectFlags,
    PushFlags, RedactFlags, SelectFlags, ServiceFlags, SourceFlags, TargetFlags, ValuesFlags,
    VerboseFlag,
};

/// `kit delete`'s arguments.
#[derive(Debug, Args)]
#[command(
    mut_arg("environment", |a| a.required(true)),
    mut_arg("clusters", |a| a
        .help("Only this cluster (repeatable). Default: every cluster of the environment")
        .env(None::<&str>)),
    mut_arg("services", |a| a
        .help("Only this service's objects (repeatable; a service removed from kit.yaml may be named, to remove what it left). Namespaces and the inventory stay")
        .env(None::<&str>))
)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub environment: super::EnvironmentFlag,
    #[command(flatten)]
    pub cluster: super::ClusterFlag,
    #[command(flatten)]
    pub service: super::ServiceFlag,
    #[command(flatten)]
    pub instance: super::InstanceFlag,
    /// Every instance of the environment whose last apply (else its
    /// inventory's creation) is older than this: 90m, 72h, 3d. Each
    /// cluster's instances are found from their inventories.
    #[arg(long, value_name = "AGE", conflicts_with_all = ["instance", "services"])]
    pub older_than: Option<String>,
    /// Delete. Without it (or --dry-run) kit prints what it would delete
    /// and exits 1, deleting nothing.
    #[arg(long)]
    pub yes: bool,
    /// Only print what would be deleted (exit 0).
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    #[command(flatten)]
    pub kubectl: KubectlFlags,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
    /// A flat JSON object of name to value, sorted by name.
    Json,
    /// `NAME="value"` lines, double-quoted with `\\ \" \n \r \$` escapes.
    Dotenv,
    /// `export NAME='value'` lines for POSIX shells (exact for any value).
    Shell,
    /// A YAML mapping of name to double-quoted value.
    Yaml,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    #[command(flatten)]
    pub verbose: VerboseFlag,
    /// Output format [default: json; with --explain, a table] (`--format`
    /// is the same).
    #[arg(
        long = "output",
        short = 'o',
        alias = "format",
        value_enum,
        env = "KIT_FORMAT"
    )]
    pub(crate) output: Option<EnvFormat>,
    /// `-f`, the output format's old letter (see `kit history`'s).
    #[arg(short = 'f', value_enum, hide = true, conflicts_with = "output")]
    pub(crate) old_f: Option<EnvFormat>,
    #[command(flatten)]
    pub redact: RedactFlags,
    /// Show, for each name, the key that won and the keys it overrode,
    /// instead of values.
    #[arg(long, conflicts_with = "redact")]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    #[command(flatten)]
    pub verbose: VerboseFlag,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `kit apply` and `kit diff`: the render flags without output or redaction
/// (kubectl always gets the real manifests), and kubectl's own.
#[derive(Debug, Args)]
pub struct KubectlArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub select: SelectFlags,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub verbose: VerboseFlag,
    #[command(flatten)]
    pub debug: DebugFlag,
    #[command(flatten)]
    pub kubectl: KubectlFlags,
}

/// `kit apply`'s arguments: the shared ones and apply's own.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: KubectlArgs,
    #[command(flatten)]
    pub apply: ApplyFlags,
}

/// What `kit release`, `rollback` and `promote` share: who and why, how
/// the change is pushed, and what `--apply` applies with.
#[derive(Debug, Args)]
pub struct ChangeFlags {
    /// Then apply what was checked to the affected clusters: the streams
    /// rendered from the pushed commit, never the working tree.
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub apply_flags: ApplyFlags,
    #[command(flatten)]
    pub meta: MetaFlags,
    #[command(flatten)]
    pub push: PushFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub kubectl: KubectlFlags,
}

/// `kit release`.
#[derive(Debug, Args)]
#[command(mut_arg("clusters", |a| a
    .help("Only for this cluster of the environment (repeatable); default: the whole environment")
    .env(None::<&str>)
    .value_delimiter(None)))]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub target: ServiceFlags,
    /// The image: an OCI reference with a tag, a digest, or both.
    #[arg(long, value_name = "REF", env = "KIT_IMAGE")]
    pub image: String,
    #[command(flatten)]
    pub cluster: super::ClusterFlag,
    #[command(flatten)]
    pub change: ChangeFlags,
}

/// `kit rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub target: ServiceFlags,
    /// The revision to go back to; default: the one before the current.
    #[arg(long, value_name = "REVISION")]
    pub to: Option<u64>,
    #[command(flatten)]
    pub change: ChangeFlags,
}

/// `kit promote`.
#[derive(Debug, Args)]
#[command(mut_arg("services", |a| super::one(a).value_name("SERVICE").help("The service")))]
pub struct PromoteArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub service: super::ServiceFlag,
    /// The environment whose current image is promoted.
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment that gets it.
    #[arg(long, value_name = "ENV")]
    pub to: String,
    #[command(flatten)]
    pub change: ChangeFlags,
}

/// `kit pin`.
#[derive(Debug, Args)]
pub struct PinArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub target: ServiceFlags,
    #[command(flatten)]
    pub meta: MetaFlags,
    #[command(flatten)]
    pub push: PushFlags,
}

/// `kit history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub target: ServiceFlags,
    #[command(flatten)]
    pub format: ListFormatFlag,
}

/// `kit render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub select: SelectFlags,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub output: OutputFlags,
    #[command(flatten)]
    pub redact: RedactFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub verbose: VerboseFlag,
    #[command(flatten)]
    pub debug: DebugFlag,
}

/// `kit secrets`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(subcommand)]
    pub action: Action,
}

/// Keys are relative to the source's prefix, e.g.
/// `production/nerdearla-cluster/myservicio/MYSQL_PASSWORD`.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// List keys under a path (default: everything), one per line.
    Ls {
        /// A path such as `production/` or `production/nerdearla-cluster/`.
        #[arg(default_value = "")]
        path: String,
    },
    /// Print a secret's value exactly (no newline added).
    Get { key: String },
    /// Store a secret, reading the value from standard input (byte-exact).
    ///
    /// The key must be one that reads use: ENVIRONMENT/common/NAME,
    /// ENVIRONMENT/CLUSTER/common/NAME or ENVIRONMENT/CLUSTER/SERVICE/NAME,
    /// NAME matching [A-Za-z_][A-Za-z0-9_]*. An empty value is refused.
    Put {
        key: String,
        /// Server-side encryption (S3 only).
        #[arg(long, value_enum)]
        sse: Option<Sse>,
        /// The KMS key for `--sse aws:kms`.
        #[arg(long, requires = "sse")]
        kms_key_id: Option<String>,
    },
    /// Remove a secret.
    Rm { key: String },
}

/// `kit secrets put --sse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sse {
    #[value(name = "AES256")]
    Aes256,
    #[value(name = "aws:kms")]
    Kms,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValuesFormat {
    /// YAML, keys in the order templates see them.
    Yaml,
    /// JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct ValuesArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    /// Show secret values as they are, instead of keyed fingerprints.
    #[arg(long)]
    pub show_secrets: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "yaml")]
    pub output: ValuesFormat,
}
