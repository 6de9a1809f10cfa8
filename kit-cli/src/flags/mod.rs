//! Every flag of `kit`, defined once, with its documentation, in groups
//! that commands compose: a command accepts exactly the groups it uses.
//!
//! | group | flags | used by |
//! |---|---|---|
//! | [`ProjectFlags`] | `-C` | render, apply, diff, env, exec, values |
//! | [`SelectFlags`] | `-e`, `-c`, `-s`, `--all` | render, apply, diff |
//! | [`ValuesFlags`] | `-f`, `--set`, `--set-string`, `--set-json`, `--set-file` | render, apply, diff, values |
//! | [`OutputFlags`] | `--output-dir` | render |
//! | [`RedactFlags`] | `--redact`, `--redact-key-file` | render, env |
//! | [`SourceFlags`] | `--secrets-from`, `--allow-var`, `--trim`, S3 settings | render, apply, diff, env, exec, secrets |
//! | [`TargetFlags`] | `-e`, `-c`, `-s` (all required) | env, exec |
//! | [`VerboseFlag`] | `-v` | render, apply, diff, env, exec |
//! | [`DebugFlag`] | `--debug` | render, apply, diff |
//! | [`KubectlFlags`] | `--kubectl`, `--context`, `--keep-going`, `--client-side`, `--prune`, `-- ARGS` | apply, diff |
//! | [`ApplyFlags`] | `--force-conflicts`, `--create-namespace`, `--wait` | apply |
//! | [`TemplateFlags`] | `--data`, `--partials`, `--escape`, `--lenient` | template |
//! | [`ServiceFlags`] | `-e`, `-s` (required) | release, rollback, pin, unpin, history |
//! | [`MetaFlags`] | `-m`, `--author`, `--source-commit`, `--build-url` | release, rollback, promote, pin, unpin |
//! | [`PushFlags`] | `--no-push`, `--force`, `--push-tries` | release, rollback, promote, pin, unpin |
//! | [`ListFormatFlag`] | `-o/--output table\|json` | history, status |
//!
//! Every flag also reads a `KIT_*` environment variable where CI needs one.

mod commands;
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
pub use target::{ClusterFlag, EnvironmentFlag, ServiceFlag, one};
pub use template::{EscapeArg, TemplateFlags};

/// The warning for `-f` where it meant the output format.
pub fn warn_old_f() {
    eprintln!(
        "warning: -f for the output format is deprecated and goes in the next release; use -o/--output (-f means values files everywhere else)"
    );
}
