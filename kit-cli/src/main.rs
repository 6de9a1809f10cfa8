//! The `kit` command: flags ([`flags`]), progress and exit codes over the
//! libraries (kit-project's pipeline, kit-env's stores, kit-core's engine).
//! Library errors become diagnostics on stderr and documented exit codes in
//! one place ([`diagnostics`]).

// Doc comments on flags and commands are `--help` text: `<cluster>` and
// `[A-Za-z_]` are meant for readers of the help, not HTML or links.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

/// mimalloc rather than the C library's allocator: see kit-cli/Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod commands;
mod data;
mod diagnostics;
mod exit;
mod flags;
mod fleet;
mod kube;
mod output;
mod progress;
mod run;
mod signals;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::diagnostics::Failure;

fn main() -> ExitCode {
    let cli = cli::try_parse_from(std::env::args_os().collect()).unwrap_or_else(|e| e.exit());
    // The libraries read no environment: what they are configured by is
    // read here.
    if let Some(n) = std::env::var(kit_project::yaml::input::MAX_NODES_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        kit_project::yaml::input::set_max_nodes(n);
    }
    let result = match cli.command {
        Command::Template(args) => commands::template::run(&args),
        Command::Render(args) => commands::render::run(&args),
        Command::Apply(args) => return exit_code(commands::release::apply(&args)),
        Command::Delete(args) => return exit_code(commands::delete::delete(&args)),
        Command::Diff(args) => {
            return exit_code(
                commands::kubectl::run(commands::kubectl::Verb::Diff, &args, &Default::default())
                    .map(|a| a.code),
            );
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "kit", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Man { command } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            cmd.build();
            let page = match &command {
                None => Ok(cmd),
                Some(name) => cmd
                    .get_subcommands()
                    .find(|c| c.get_name() == name)
                    .cloned()
                    .map(|c| {
                        // One page per run: a tiny, deliberate leak.
                        let page: &'static str = Box::leak(format!("kit-{name}").into_boxed_str());
                        c.name(page)
                    })
                    .ok_or_else(|| {
                        Failure::new(exit::Code::Usage, format!("kit has no command '{name}'"))
                            .with_hint("kit help lists the commands")
                    }),
            };
            let mut out = Vec::new();
            return match page
                .and_then(|p| {
                    clap_mangen::Man::new(p)
                        .render(&mut out)
                        .map_err(|e| Failure::io("cannot render the man page", e))
                })
                .and_then(|()| output::out(&out))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(f) => exit_code(Err(f)),
            };
        }
        Command::Env(args) => commands::env::run(&args),
        Command::Values(args) => commands::values::run(&args),
        Command::Secrets(args) => commands::secrets::run(&args),
        Command::Exec(args) => return exit_code(commands::exec::run(&args)),
        Command::Release(args) => return exit_code(commands::release::release(&args)),
        Command::Rollback(args) => return exit_code(commands::release::rollback(&args)),
        Command::Promote(args) => return exit_code(commands::release::promote(&args)),
        Command::Pin(args) => commands::release::pin(&args, true),
        Command::Unpin(args) => commands::release::pin(&args, false),
        Command::History(args) => commands::release::history(&args),
        Command::Status(args) if commands::instances::lists_instances(&args).unwrap_or(false) => {
            return exit_code(
                commands::instances::status(&args)
                    .and_then(|(out, code)| output::out(&out).map(|()| code)),
            );
        }
        Command::Status(args) if args.live => {
            return exit_code(
                commands::live::status(&args)
                    .and_then(|(out, code)| output::out(&out).map(|()| code)),
            );
        }
        Command::Status(args) => commands::release::status(&args),
    };
    match result.and_then(|out| output::out(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(&mut std::io::stderr().lock());
            ExitCode::from(failure.code as u8)
        }
    }
}

/// The exit code of a command that runs another program.
fn exit_code(result: Result<u8, Failure>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            failure.report(&mut std::io::stderr().lock());
            ExitCode::from(failure.code as u8)
        }
    }
}
