//! The `kit` command: a thin layer over kit-core (and kit-env), turning
//! library errors into diagnostics on stderr and documented exit codes.

mod cli;
mod commands;
mod data;
mod diagnostics;
mod exit;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::diagnostics::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Template(args) => commands::template::run(&args),
        Command::Render(args) => commands::render::run(&args),
        Command::Env(args) => commands::env::run(&args),
        Command::Secrets(args) => commands::secrets::run(&args),
        Command::Exec(args) => match commands::exec::run(&args) {
            Ok(code) => return ExitCode::from(code),
            Err(failure) => Err(failure),
        },
    };
    match result.and_then(|out| write_stdout(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(&mut std::io::stderr().lock());
            ExitCode::from(failure.code as u8)
        }
    }
}

/// Writes the whole result at once, only after everything succeeded. A
/// closed pipe (`kit ... | head`) is not an error worth a message.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io("cannot write to standard output", e)),
    }
}
