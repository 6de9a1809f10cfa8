//! The command line: the commands, each composed of the flag groups in
//! [`crate::flags`] that it uses. `kit help <command>` shows them.

use clap::{Parser, Subcommand};

/// kit renders Kubernetes manifests from mustache templates and layered
/// secrets, checks them, and hands them to kubectl.
#[derive(Debug, Parser)]
#[command(name = "kit", version, after_help = crate::exit::help_text(), max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a project's manifests for a target, checked, to standard output.
    ///
    /// Reads kit.yaml in the project directory, resolves the secrets of every
    /// selected service, renders each service's templates with YAML escaping
    /// and strict names, checks every document, and prints one YAML stream
    /// in install order. On any error nothing is printed to standard output.
    #[command(after_help = crate::exit::help_text())]
    Render(crate::flags::RenderArgs),

    /// Render, check, and pipe the manifests to `kubectl apply -f -`.
    ///
    /// Nothing starts until everything rendered and passed its checks. The
    /// bytes kubectl reads are exactly what `kit render` prints. Each
    /// cluster is applied with its `context:` from kit.yaml (or --context
    /// for a one-cluster run; without either kit refuses), and kit prints
    /// the context it is about to use. Arguments after `--` go to kubectl.
    /// With --all, one kubectl run per cluster, stopping at the first
    /// failure unless --keep-going. Exits with kubectl's exit code.
    #[command(after_help = crate::exit::help_text())]
    Apply(crate::flags::ApplyArgs),

    /// Render, check, and pipe the manifests to `kubectl diff -f -`.
    ///
    /// Like `kit apply`; exits with kubectl diff's code: 0 no differences,
    /// 1 differences, above 1 an error.
    #[command(after_help = crate::exit::help_text())]
    Diff(crate::flags::KubectlArgs),

    /// Delete what kit applied for this project on an environment's
    /// clusters (Helm's uninstall): from each cluster's inventory, the
    /// objects, then the namespaces kit created, then the inventory.
    ///
    /// Needs `name:` in kit.yaml. Without --yes it prints what it would
    /// delete and exits 1; --dry-run prints it and exits 0. With -s, only
    /// those services' objects (namespaces and the inventory stay). Objects
    /// kit did not apply for this project, environment and cluster are
    /// never touched, nor namespaces it did not create.
    #[command(after_help = crate::exit::help_text())]
    Delete(crate::flags::DeleteArgs),

    /// Record a new image for a service in an environment, in the config
    /// repository (git), after rendering and checking every affected target.
    ///
    /// Writes releases/<env>/<service>.yaml, commits it on the upstream's
    /// tip and pushes (a fast-forward; retried from the new tip when another
    /// release landed first). Nothing is recorded when rendering fails.
    /// With --apply, then runs kit apply for the affected clusters.
    #[command(after_help = crate::exit::help_text())]
    Release(crate::flags::ReleaseArgs),

    /// Record an earlier revision of a service again (default: the one
    /// before the current). Holds until someone releases again.
    #[command(after_help = crate::exit::help_text())]
    Rollback(crate::flags::RollbackArgs),

    /// Record another environment's current image for a service.
    #[command(after_help = crate::exit::help_text())]
    Promote(crate::flags::PromoteArgs),

    /// Pin a service in an environment: releases, rollbacks and promotions
    /// fail with the reason (-m) until unpinned, unless --force.
    #[command(after_help = crate::exit::help_text())]
    Pin(crate::flags::PinArgs),

    /// Lift a pin.
    #[command(after_help = crate::exit::help_text())]
    Unpin(crate::flags::PinArgs),

    /// Every release of a service in an environment, newest first, from the
    /// repository's history.
    #[command(after_help = crate::exit::help_text())]
    History(crate::flags::HistoryArgs),

    /// What is released where: services x environments (and clusters with
    /// their own image), with revision, age and pins.
    #[command(after_help = crate::exit::help_text())]
    Status(crate::flags::StatusArgs),

    /// Print the variables of a target (environment, cluster, service).
    ///
    /// Reads three layers of secrets, the more specific winning:
    /// `<env>/common/NAME`, `<env>/<cluster>/common/NAME`,
    /// `<env>/<cluster>/<service>/NAME`. Values go to standard output in the
    /// chosen format; with --redact or --explain, no value is shown.
    #[command(after_help = crate::exit::help_text())]
    Env(crate::flags::EnvArgs),

    /// Run a command with a target's variables added to its environment.
    ///
    /// `kit exec --secrets-from s3://b -e production -c c1 -s web -- ./start.sh`
    /// exits with the command's exit code.
    #[command(after_help = crate::exit::help_text())]
    Exec(crate::flags::ExecArgs),

    /// Print the values a target's templates see: the merged values, `kit`,
    /// `env`, `secrets` and the service's image, as YAML (or JSON).
    ///
    /// Secret values are shown as keyed fingerprints (`redacted:...`)
    /// unless --show-secrets. Takes the same -f and --set flags as `kit
    /// render`, so it shows exactly what a render would use.
    #[command(after_help = crate::exit::help_text())]
    Values(crate::flags::ValuesArgs),

    /// List, read, write and remove secrets by key.
    #[command(after_help = crate::exit::help_text())]
    Secrets(crate::flags::SecretsArgs),

    /// Render one mustache template with a JSON or YAML data file.
    ///
    /// Writes exactly the rendering to standard output (no newline added).
    /// On any error nothing is written to standard output.
    #[command(after_help = crate::exit::help_text())]
    Template(crate::flags::TemplateFlags),

    /// Print shell completions: `kit completions bash > /etc/bash_completion.d/kit`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },

    /// Print a man page (roff): `kit man > kit.1` for kit(1), `kit man
    /// render > kit-render.1` for kit-render(1), the pages kit(1) refers to.
    Man {
        /// The subcommand whose page to print (default: kit's own).
        command: Option<String>,
    },
}
