//! `kit exec`: run a command with a target's variables in its environment.

use std::process::Command;

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::ExecArgs;
use crate::run::resolve;

/// Runs the command. On Unix kit replaces itself with it (execvp), so the
/// command gets kit's PID, its signals (SIGTERM from a container runtime,
/// Ctrl-C) and, in a container, PID 1: nothing is left to forward or orphan.
/// Returns the exit code where the command runs as a child instead.
pub fn run(args: &ExecArgs) -> Result<u8, Failure> {
    let vars = resolve(
        &args.project,
        &args.source,
        &args.target,
        args.verbose.verbose,
    )?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = Command::new(program);
    command
        .args(rest)
        .envs(vars.iter().map(|v| (&v.name, &v.value)));
    let cannot_run = |e: std::io::Error| {
        let code = match e.kind() {
            std::io::ErrorKind::NotFound => Code::NotFound,
            _ => Code::NotExecutable,
        };
        Failure::new(code, format!("cannot run '{program}': {e}"))
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Returns only when the command could not be started.
        Err(cannot_run(command.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(cannot_run)?;
        Ok(status.code().map_or(1, |c| c.clamp(0, 255) as u8))
    }
}
