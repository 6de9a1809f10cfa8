//! The command line: the commands, each composed of the flag groups in
//! [`crate::flags`] that it uses. `kit help <command>` shows them.
//!
//! Each command is defined once, in [`commands!`] below: it makes the
//! [`Command`] enum of them all, and for each command an enum of that one
//! alone, so that `kit render ...` builds the flags of `render` only
//! ([`try_parse_from`]); building every command's flags took about 0.6 ms
//! of a cold start.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// kit renders Kubernetes manifests from mustache templates and layered
/// secrets, checks them, and hands them to kubectl.
#[derive(Debug, Parser)]
#[command(name = "kit", version, after_help = crate::exit::help_text(), max_term_width = 100)]
pub struct CliOf<C: Subcommand> {
    #[command(subcommand)]
    pub command: C,
}

/// The command line with every command.
pub type Cli = CliOf<Command>;

/// Defines [`Command`] from its variants: first those of one argument
/// struct, each with its name on the command line (`Render(RenderArgs) =>
/// "render"`), then, after `;`, the others. For each of the first, an enum
/// of that command alone in [`one`], with the same attributes (so the same
/// help), and an entry of [`ONE`].
macro_rules! commands {
    (
        $( $(#[$attr:meta])* $variant:ident($args:ty) => $name:literal, )*
        ;
        $($others:tt)*
    ) => {
        #[derive(Debug, Subcommand)]
        pub enum Command {
            $( $(#[$attr])* $variant($args), )*
            $($others)*
        }

        /// Each command of one argument struct, alone.
        mod one {
            $(
                #[derive(Debug, clap::Subcommand)]
                pub enum $variant {
                    $(#[$attr])* $variant($args),
                }
            )*
        }

        /// The commands [`try_parse_from`] builds alone: the name, the
        /// command line with only it, and its parse.
        #[allow(clippy::type_complexity)]
        const ONE: &[(&str, fn() -> clap::Command, fn(&clap::ArgMatches) -> Result<Cli, clap::Error>)] = &[
            $((
                $name,
                <CliOf<one::$variant> as CommandFactory>::command,
                |m| {
                    let one::$variant::$variant(args) = CliOf::<one::$variant>::from_arg_matches(m)?.command;
                    Ok(Cli { command: Command::$variant(args) })
                },
            ),)*
        ];
    };
}

/// The command line `args` (the program's name first), as [`Cli::try_parse_from`]
/// reads it, with only the flags of the command named (when it is one of
/// [`ONE`]) built.
pub fn try_parse_from(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let named = args.get(1).and_then(|a| a.to_str());
    match ONE.iter().find(|(name, ..)| Some(*name) == named) {
        Some((_, command, parse)) => parse(&command().try_get_matches_from(args)?),
        None => Cli::try_parse_from(args),
    }
}

commands! {
    /// Render a project's manifests for a target, checked, to standard output.
    ///
    /// Reads kit.yaml in the project directory, resolves the secrets of every
    /// selected service, renders each service's templates with YAML escaping
    /// and strict names, checks every document, and prints one YAML stream
    /// in install order. On any error nothing is printed to standard output.
    #[command(after_help = crate::exit::help_text())]
    Render(crate::flags::RenderArgs) => "render",

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
    Apply(crate::flags::ApplyArgs) => "apply",

    /// Render, check, and pipe the manifests to `kubectl diff -f -`.
    ///
    /// Like `kit apply`; exits with kubectl diff's code: 0 no differences,
    /// 1 differences, above 1 an error.
    #[command(after_help = crate::exit::help_text())]
    Diff(crate::flags::KubectlArgs) => "diff",

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
    Delete(crate::flags::DeleteArgs) => "delete",

    /// Record a new image for a service in an environment, in the config
    /// repository (git), after rendering and checking every affected target.
    ///
    /// Writes releases/<env>/<service>.yaml, commits it on the upstream's
    /// tip and pushes (a fast-forward; retried from the new tip when another
    /// release landed first). Nothing is recorded when rendering fails.
    /// With --apply, then runs kit apply for the affected clusters.
    #[command(after_help = crate::exit::help_text())]
    Release(crate::flags::ReleaseArgs) => "release",

    /// Record an earlier revision of a service again (default: the one
    /// before the current). Holds until someone releases again.
    #[command(after_help = crate::exit::help_text())]
    Rollback(crate::flags::RollbackArgs) => "rollback",

    /// Record another environment's current image for a service.
    #[command(after_help = crate::exit::help_text())]
    Promote(crate::flags::PromoteArgs) => "promote",

    /// Pin a service in an environment: releases, rollbacks and promotions
    /// fail with the reason (-m) until unpinned, unless --force.
    #[command(after_help = crate::exit::help_text())]
    Pin(crate::flags::PinArgs) => "pin",

    /// Lift a pin.
    #[command(after_help = crate::exit::help_text())]
    Unpin(crate::flags::PinArgs) => "unpin",

    /// Every release of a service in an environment, newest first, from the
    /// repository's history.
    #[command(after_help = crate::exit::help_text())]
    History(crate::flags::HistoryArgs) => "history",

    /// What is released where: services x environments (and clusters with
    /// their own image), with revision, age and pins.
    #[command(after_help = crate::exit::help_text())]
    Status(crate::flags::StatusArgs) => "status",

    /// Print the variables of a target (environment, cluster, service).
    ///
    /// Reads three layers of secrets, the more specific winning:
    /// `<env>/common/NAME`, `<env>/<cluster>/common/NAME`,
    /// `<env>/<cluster>/<service>/NAME`. Values go to standard output in the
    /// chosen format; with --redact or --explain, no value is shown.
    #[command(after_help = crate::exit::help_text())]
    Env(crate::flags::EnvArgs) => "env",

    /// Run a command with a target's variables added to its environment.
    ///
    /// `kit exec --secrets-from s3://b -e production -c c1 -s web -- ./start.sh`
    /// exits with the command's exit code.
    #[command(after_help = crate::exit::help_text())]
    Exec(crate::flags::ExecArgs) => "exec",

    /// Print the values a target's templates see: the merged values, `kit`,
    /// `env`, `secrets` and the service's image, as YAML (or JSON).
    ///
    /// Secret values are shown as keyed fingerprints (`redacted:...`)
    /// unless --show-secrets. Takes the same -f and --set flags as `kit
    /// render`, so it shows exactly what a render would use.
    #[command(after_help = crate::exit::help_text())]
    Values(crate::flags::ValuesArgs) => "values",

    /// List, read, write and remove secrets by key.
    #[command(after_help = crate::exit::help_text())]
    Secrets(crate::flags::SecretsArgs) => "secrets",

    /// Render one mustache template with a JSON or YAML data file.
    ///
    /// Writes exactly the rendering to standard output (no newline added).
    /// On any error nothing is written to standard output.
    #[command(after_help = crate::exit::help_text())]
    Template(crate::flags::TemplateFlags) => "template",

    ;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn subcommand(mut cli: clap::Command, name: &str) -> clap::Command {
        cli.build();
        cli.find_subcommand(name)
            .expect("the command is there")
            .clone()
    }

    #[test]
    fn a_command_built_alone_is_the_command_built_with_all() {
        let all = Cli::command();
        let alone: Vec<&str> = ONE.iter().map(|(name, ..)| *name).collect();
        let every: Vec<&str> = all
            .get_subcommands()
            .map(|c| c.get_name())
            .filter(|n| !["completions", "man"].contains(n))
            .collect();
        assert_eq!(alone, every);
        for (name, command, _) in ONE {
            let (mut a, mut b) = (subcommand(all.clone(), name), subcommand(command(), name));
            assert_eq!(
                a.render_long_help().to_string(),
                b.render_long_help().to_string(),
                "{name}"
            );
            assert_eq!(
                a.render_help().to_string(),
                b.render_help().to_string(),
                "{name}"
            );
            assert_eq!(
                a.render_usage().to_string(),
                b.render_usage().to_string(),
                "{name}"
            );
        }
    }

    #[test]
    fn a_command_line_parses_the_same_either_way() {
        for line in [
            "kit render -C fixtures/demo -e production --set a=b -o json",
            "kit apply --all --prune -- --dry-run=server",
            "kit template t.yaml --data d.yaml",
            "kit unpin -e production -s web",
            "kit status --live --format json",
            "kit render --no-such-flag",
            "kit render -e",
            "kit render --help",
            "kit template",
            "kit env --redact extra",
        ] {
            let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
            let shown = |r: Result<Cli, clap::Error>| match r {
                Ok(cli) => format!("{cli:?}"),
                Err(e) => format!("{:?}: {}", e.kind(), e.render()),
            };
            assert_eq!(
                shown(try_parse_from(args.clone())),
                shown(Cli::try_parse_from(args)),
                "{line}"
            );
        }
    }
}
