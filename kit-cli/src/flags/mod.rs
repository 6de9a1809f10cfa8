//! Every flag of `kit`, defined once, with its documentation, in groups
//! that commands compose: a command accepts exactly the groups it uses.
//!
//! | group | flags | used by |
//! |---|---|---|
//! | [`EnvironmentFlag`], [`ClusterFlag`], [`ServiceFlag`], `KubectlProgram` | `-e`, `-c`, `-s`, `--kubectl`: each defined once, composed below (a command says with `mut_arg` where one is required or single) | every command about targets |
//! | [`ProjectFlags`] | `-C` | every command with a project |
//! | [`SelectFlags`] | `-e`, `-c`, `-s`, `--all` | render, apply, diff |
//! | [`ValuesFlags`] | `-f`, `--set`, `--set-string`, `--set-json`, `--set-file` | render, apply, diff, values |
//! | [`OutputFlags`] | `--output-dir` | render |
//! | [`RedactFlags`] | `--redact`, `--redact-key-file` | render, env |
//! | [`SourceFlags`] | `--secrets-from`, `--allow-var`, `--trim`, S3 settings | render, apply, diff, env, exec, secrets, values, release |
//! | [`TargetFlags`] | `-e`, `-c`, `-s` (one each, required) | env, exec, values |
//! | [`VerboseFlag`] | `-v` | render, apply, diff, env, exec |
//! | [`DebugFlag`] | `--debug` | render, apply, diff |
//! | [`KubectlFlags`] | `--kubectl`, `--context`, `--keep-going`, `--parallel`, `--client-side`, `--prune`, `--no-force-conflicts`, `-- ARGS` | apply, diff, release |
//! | [`ParallelFlag`] | `--parallel` | apply, diff, status |
//! | [`ApplyFlags`] | `--force-conflicts`, `--create-namespace`, `--wait`, `--rollback-on-failure` | apply, release |
//! | [`TemplateFlags`] | `--data`, `--partials`, `--escape`, `--lenient` | template |
//! | [`ServiceFlags`] | `-e`, `-s` (one each, required) | release, rollback, pin, unpin, history |
//! | [`ChangeFlags`] | `--apply` and apply's flags, `-m`, `--author`..., `--no-push`..., the secret source, kubectl's | release, rollback, promote |
//! | [`MetaFlags`] | `-m`, `--author`, `--source-commit`, `--build-url`, `--build-number`, `--source-repository` | release, rollback, promote, pin, unpin |
//! | [`PushFlags`] | `--no-push`, `--force`, `--branch`, `--push-tries`, `--git-timeout` | release, rollback, promote, pin, unpin |
//! | [`ListFormatFlag`] | `-o/--output table\|json` | history, status |
//!
//! Each command's arguments are in [`commands`]: these groups composed, and
//! the few flags only that command has. `-f` means values files
//! everywhere; the output format is `-o/--output`.
//!
//! Every flag also reads a `KIT_*` environment variable where CI needs one.

pub mod commands;
mod kubectl;
mod project;
mod release;
mod source;
mod target;
mod template;

pub use commands::{
    Action, ApplyArgs, ChangeFlags, DeleteArgs, EnvArgs, EnvFormat, ExecArgs, HistoryArgs,
    KubectlArgs, PinArgs, PromoteArgs, ReleaseArgs, RenderArgs, RollbackArgs, SecretsArgs, Sse,
    ValuesArgs, ValuesFormat,
};
pub use kubectl::{ApplyFlags, KubectlFlags, ParallelFlag};
pub use project::{OutputFlags, ProjectFlags, SelectFlags, ValuesFlags};
pub use release::{ListFormat, ListFormatFlag, MetaFlags, PushFlags, ServiceFlags, StatusArgs};
pub use source::{
    DebugFlag, RedactFlags, SourceFlags, TargetFlags, VerboseFlag, redact_key, runtime,
};
pub use target::{ClusterFlag, EnvironmentFlag, InstanceFlag, ServiceFlag, one};
pub use template::{EscapeArg, TemplateFlags};

/// The warning for `-f` where it meant the output format.
pub fn warn_old_f() {
    eprintln!(
        "warning: -f for the output format is deprecated and goes in the next release; use -o/--output (-f means values files everywhere else)"
    );
}
