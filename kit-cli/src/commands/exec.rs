//! `kit exec`: run a command with a target's variables in its environment.

use std::process::Command;

use clap::Args;

use super::env::resolve;
use super::source::{SourceArgs, TargetArgs};
use crate::diagnostics::Failure;
use crate::exit::Code;

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Remove trailing white space from values.
    #[arg(long, env = "KIT_TRIM")]
    pub trim: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs the command; returns its exit code (128 + N if killed by signal N).
pub fn run(args: &ExecArgs) -> Result<u8, Failure> {
    let res = resolve(&args.source, &args.target, args.trim)?;
    for w in &res.warnings {
        eprintln!("warning: {w}");
    }
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let status = Command::new(program)
        .args(rest)
        .envs(res.variables.iter().map(|v| (&v.name, v.value.expose())))
        .status()
        .map_err(|e| Failure::new(Code::Usage, format!("cannot run '{program}': {e}")))?;
    if let Some(code) = status.code() {
        return Ok(code.clamp(0, 255) as u8);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Ok((128 + sig).clamp(0, 255) as u8);
        }
    }
    Ok(1)
}
