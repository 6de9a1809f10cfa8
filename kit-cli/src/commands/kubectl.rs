//! `kit apply` and `kit diff`: render and check everything in memory, then
//! stream the bytes `kit render` would print into `kubectl apply -f -` (or
//! `diff -f -`), one kubectl run per cluster.
//!
//! - kubectl is `--kubectl PATH`, else `KIT_KUBECTL`, else `kubectl` on PATH.
//! - Everything after `--` goes to kubectl unchanged. When kit.yaml names a
//!   context for the cluster and the arguments do not say `--context`, kit
//!   adds `--context <context>`. With several clusters (`--all`), every
//!   cluster must have a context.
//! - kubectl's stdout and stderr are kubectl's own (inherited, as they come);
//!   kit exits with kubectl's exit code (for `diff`, kubectl's convention:
//!   0 no differences, 1 differences, above 1 an error).
//! - SIGTERM and SIGHUP are forwarded to kubectl and kit waits for it;
//!   Ctrl-C reaches kubectl through the terminal's process group.
//! - On any render or check error, kubectl is never started.
//! - kit's own exit codes here: 127 kubectl not found, 126 not executable.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;
use kit_project::{ClusterStream, Project, RenderOptions};

use super::render::{Job, render_streams};
use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::{
    DebugFlag, KubectlFlags, ProjectFlags, SelectFlags, SourceFlags, ValuesFlags, VerboseFlag,
};

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

/// Which kubectl verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Apply,
    Diff,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Apply => "apply",
            Verb::Diff => "diff",
        }
    }
    /// Whether a kubectl exit code means this cluster failed.
    fn failed(self, code: i32) -> bool {
        match self {
            Verb::Apply => code != 0,
            Verb::Diff => code > 1,
        }
    }
}

/// Finds kubectl: a path with a `/` as given, else on PATH.
fn find_program(name: &str) -> Result<PathBuf, Failure> {
    let not_found = || {
        Failure::new(Code::NotFound, format!("kubectl not found: '{name}'"))
            .with_hint("install kubectl, or point --kubectl / KIT_KUBECTL at it")
    };
    let path = if name.contains('/') {
        PathBuf::from(name)
    } else {
        let paths = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .ok_or_else(not_found)?
    };
    let meta = std::fs::metadata(&path).map_err(|_| not_found())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(Failure::new(
                Code::NotExecutable,
                format!("kubectl is not executable: {}", path.display()),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(path)
}

/// Runs one kubectl with `input` on its stdin; returns its exit code.
fn run_kubectl(program: &Path, args: &[OsString], input: &[u8]) -> Result<i32, Failure> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Failure::new(
                Code::NotExecutable,
                format!("cannot start {}: {e}", program.display()),
            )
        })?;
    let forwarder = forward_signals(child.id());
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // kubectl may exit before reading everything (an early error): a broken
    // pipe here is not kit's error, kubectl's exit code says what happened.
    let written = stdin.write_all(input);
    drop(stdin);
    let status = child
        .wait()
        .map_err(|e| Failure::new(Code::Internal, format!("waiting for kubectl: {e}")))?;
    drop(forwarder);
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Failure::new(
            Code::Internal,
            format!("writing to kubectl: {e}"),
        ));
    }
    if let Some(code) = status.code() {
        return Ok(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Ok(128 + sig);
        }
    }
    Ok(1)
}

/// Forwards SIGTERM and SIGHUP to the child while alive; SIGINT is caught
/// (so kit waits for kubectl) but not forwarded: the terminal already sends
/// it to kubectl.
#[cfg(unix)]
fn forward_signals(pid: u32) -> Option<SignalForwarder> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).ok()?;
    let handle = signals.handle();
    let thread = std::thread::spawn(move || {
        for sig in signals.forever() {
            if sig != SIGINT {
                // SAFETY: kill(2) with a pid we spawned and still wait for.
                unsafe {
                    libc::kill(pid as libc::pid_t, sig);
                }
            }
        }
    });
    Some(SignalForwarder {
        handle,
        thread: Some(thread),
    })
}

#[cfg(not(unix))]
fn forward_signals(_pid: u32) -> Option<()> {
    None
}

#[cfg(unix)]
struct SignalForwarder {
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(unix)]
impl Drop for SignalForwarder {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The kubectl arguments for one cluster.
fn kubectl_args(verb: Verb, context: Option<&str>, extra: &[OsString]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![verb.name().into(), "-f".into(), "-".into()];
    if let Some(ctx) = context {
        args.push("--context".into());
        args.push(ctx.into());
    }
    args.extend(extra.iter().cloned());
    args
}

/// Runs `kit apply` / `kit diff`; returns the exit code.
pub fn run(verb: Verb, args: &KubectlArgs) -> Result<u8, Failure> {
    // Everything is rendered and checked before any kubectl starts.
    let (project, groups) = render_streams(Job {
        project: &args.project,
        select: &args.select,
        values: &args.values,
        source: &args.source,
        verbose: args.verbose.verbose,
        options: RenderOptions::default().with_debug(args.debug.debug),
    })?;
    let program = find_program(&args.kubectl.kubectl)?;
    let multi = groups.len() > 1;
    if args
        .kubectl
        .kubectl_args
        .iter()
        .any(|a| a == "--context" || a.to_string_lossy().starts_with("--context="))
    {
        return Err(Failure::new(
            Code::Usage,
            "--context after `--` is not passed on: kit sets the context of each cluster",
        )
        .with_hint("give --context CONTEXT (KIT_CONTEXT) before `--`, or set `context:` for the cluster in kit.yaml"));
    }
    if multi && args.kubectl.context.is_some() {
        return Err(Failure::new(
            Code::Usage,
            "--context works for a run on one cluster; this run has several",
        )
        .with_hint("set `context:` for each cluster in kit.yaml"));
    }
    let contexts: Vec<Option<String>> = groups
        .iter()
        .map(|g| {
            args.kubectl
                .context
                .clone()
                .or_else(|| context_of(&project, g))
        })
        .collect();
    if let Some((g, _)) = groups.iter().zip(&contexts).find(|(_, c)| c.is_none()) {
        return Err(Failure::new(
            Code::Usage,
            format!(
                "cluster '{}/{}' has no context in kit.yaml, and no --context was given",
                g.environment, g.cluster
            ),
        )
        .with_hint("set `context:` for the cluster in kit.yaml (or give --context CONTEXT for a one-cluster run); kit never uses kubectl's current context silently"));
    }
    let mut results: Vec<(String, Option<i32>)> = Vec::new();
    let mut first_failure: Option<i32> = None;
    let mut any_diff = false;
    for (g, ctx) in groups.iter().zip(&contexts) {
        let name = format!("{}/{}", g.environment, g.cluster);
        if first_failure.is_some() && !args.kubectl.keep_going {
            results.push((name, None));
            continue;
        }
        eprintln!(
            "kit: {} {name} (context {})",
            verb.name(),
            ctx.as_deref().unwrap_or("-")
        );
        let code = run_kubectl(
            &program,
            &kubectl_args(verb, ctx.as_deref(), &args.kubectl.kubectl_args),
            g.text.as_bytes(),
        )?;
        if verb.failed(code) {
            first_failure.get_or_insert(code);
        } else if code == 1 {
            any_diff = true;
        }
        results.push((name, Some(code)));
    }
    if multi {
        summarize(verb, &results);
    }
    let code = first_failure.unwrap_or(if any_diff { 1 } else { 0 });
    Ok(code.clamp(0, 255) as u8)
}

fn context_of(project: &Project, g: &ClusterStream) -> Option<String> {
    project
        .context(&g.environment, &g.cluster)
        .map(str::to_owned)
}

fn summarize(verb: Verb, results: &[(String, Option<i32>)]) {
    let list = |f: &dyn Fn(Option<i32>) -> bool| {
        let v: Vec<String> = results
            .iter()
            .filter(|(_, c)| f(*c))
            .map(|(n, c)| match c {
                Some(code) if verb.failed(*code) => format!("{n} (exit {code})"),
                _ => n.clone(),
            })
            .collect();
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    let ok = |c: Option<i32>| c.is_some_and(|c| !verb.failed(c));
    let failed = |c: Option<i32>| c.is_some_and(|c| verb.failed(c));
    eprintln!(
        "kit: {} summary: succeeded: {}; failed: {}; skipped: {}",
        verb.name(),
        list(&ok),
        list(&failed),
        list(&|c: Option<i32>| c.is_none())
    );
}
