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
//! - SIGTERM and SIGHUP are forwarded to kubectl, kit waits for it and then
//!   ends by the signal (see [`crate::signals`]); Ctrl-C reaches kubectl
//!   through the terminal's process group.
//! - On any render or check error, kubectl is never started.
//! - kit's own exit codes here: 127 kubectl not found, 126 not executable.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use kit_project::{ClusterStream, ObjectRef, Project, RenderOptions};

use super::render::{Job, render_streams};
use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::{
    ApplyFlags, DebugFlag, KubectlFlags, ProjectFlags, SelectFlags, SourceFlags, ValuesFlags,
    VerboseFlag,
};
use crate::signals;

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
    let running = signals::Child::starting();
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
    running.started(child.id());
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // kubectl may exit before reading everything (an early error): a broken
    // pipe here is not kit's error, kubectl's exit code says what happened.
    let written = stdin.write_all(input);
    drop(stdin);
    let status = child
        .wait()
        .map_err(|e| Failure::new(Code::Internal, format!("waiting for kubectl: {e}")))?;
    drop(running);
    signals::end_if_caught();
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

/// The kubectl arguments for one cluster.
fn kubectl_args(
    verb: Verb,
    context: &str,
    flags: &KubectlFlags,
    apply: &ApplyFlags,
    extra: &[OsString],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![verb.name().into(), "-f".into(), "-".into()];
    args.push("--context".into());
    args.push(context.into());
    if !flags.client_side {
        args.push("--server-side".into());
        args.push("--field-manager=kit".into());
        if verb == Verb::Apply && apply.force_conflicts {
            args.push("--force-conflicts".into());
        }
    }
    args.extend(extra.iter().cloned());
    args
}

/// Runs `kit apply` / `kit diff`; returns the exit code.
pub fn run(verb: Verb, args: &KubectlArgs, apply: &ApplyFlags) -> Result<u8, Failure> {
    let wait = apply.wait.as_deref().map(parse_duration).transpose()?;
    // Everything is rendered and checked before any kubectl starts.
    let (project, groups) = render_streams(Job {
        project: &args.project,
        select: &args.select,
        values: &args.values,
        source: &args.source,
        verbose: args.verbose.verbose,
        options: RenderOptions::default().with_debug(args.debug.debug),
    })?;
    apply_streams(verb, &project, &groups, &args.kubectl, apply, wait)
}

/// Sends rendered and checked streams to kubectl, one run per cluster (the
/// second half of `kit apply`, also what `kit release --apply` applies).
pub fn apply_streams(
    verb: Verb,
    project: &Project,
    groups: &[ClusterStream],
    kubectl: &KubectlFlags,
    apply: &ApplyFlags,
    wait: Option<Duration>,
) -> Result<u8, Failure> {
    let program = find_program(&kubectl.kubectl)?;
    let multi = groups.len() > 1;
    if kubectl
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
    if multi && kubectl.context.is_some() {
        return Err(Failure::new(
            Code::Usage,
            "--context works for a run on one cluster; this run has several",
        )
        .with_hint("set `context:` for each cluster in kit.yaml"));
    }
    let contexts: Vec<String> = groups
        .iter()
        .map(|g| {
            kubectl.context.clone().or_else(|| context_of(project, g)).ok_or_else(|| {
                Failure::new(
                    Code::Usage,
                    format!(
                        "cluster '{}/{}' has no context in kit.yaml, and no --context was given",
                        g.environment, g.cluster
                    ),
                )
                .with_hint("set `context:` for the cluster in kit.yaml (or give --context CONTEXT for a one-cluster run); kit never uses kubectl's current context silently")
            })
        })
        .collect::<Result<_, _>>()?;
    let mut results: Vec<(String, Option<i32>)> = Vec::new();
    let mut first_failure: Option<i32> = None;
    let mut any_diff = false;
    for (g, ctx) in groups.iter().zip(&contexts) {
        let name = format!("{}/{}", g.environment, g.cluster);
        if first_failure.is_some() && !kubectl.keep_going {
            results.push((name, None));
            continue;
        }
        eprintln!("kit: {} {name} (context {ctx})", verb.name());
        let cluster = Cluster {
            program: &program,
            context: ctx,
            stream: g,
        };
        if verb == Verb::Apply && apply.create_namespace {
            cluster.create_namespaces()?;
        }
        let code = run_kubectl(
            &program,
            &kubectl_args(verb, ctx, kubectl, apply, &kubectl.kubectl_args),
            g.text.as_bytes(),
        )?;
        let mut code = code;
        if verb.failed(code) {
            if verb == Verb::Apply && !apply.create_namespace {
                cluster.explain_missing_namespaces();
            }
        } else {
            if code == 1 {
                any_diff = true;
            }
            if kubectl.prune {
                let stale = cluster.stale_objects()?;
                match verb {
                    Verb::Diff => {
                        let mut out = String::new();
                        for o in &stale {
                            out.push_str(&format!("kit prune: would delete {o} (context {ctx})\n"));
                        }
                        crate::write_stdout(out.as_bytes())?;
                        any_diff |= !stale.is_empty();
                    }
                    Verb::Apply => {
                        let deleted = cluster.delete(&stale)?;
                        if deleted != 0 {
                            code = deleted;
                        }
                    }
                }
            }
            if let (Verb::Apply, Some(timeout), 0) = (verb, wait, code)
                && let Err(f) = cluster.wait_ready(timeout)
            {
                f.report(&mut std::io::stderr().lock());
                code = Code::NotReady as i32;
            }
        }
        if verb.failed(code) {
            first_failure.get_or_insert(code);
        }
        results.push((name, Some(code)));
    }
    if multi {
        summarize(verb, &results);
    }
    let code = first_failure.unwrap_or(if any_diff { 1 } else { 0 });
    Ok(code.clamp(0, 255) as u8)
}

/// Parses `--wait`'s duration.
pub fn wait_of(apply: &ApplyFlags) -> Result<Option<Duration>, Failure> {
    apply.wait.as_deref().map(parse_duration).transpose()
}

/// The kubectl calls kit makes around apply and diff, for one cluster.
struct Cluster<'a> {
    program: &'a Path,
    context: &'a str,
    stream: &'a ClusterStream,
}

/// Kinds `--prune` looks for besides those the run renders (an object of
/// a kind neither lists is left alone).
const PRUNE_KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Pod"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
];

/// `kind.group` as kubectl takes resource types (`deployment.apps`).
fn resource(api_version: &str, kind: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => format!("{}.{group}", kind.to_ascii_lowercase()),
        None => kind.to_ascii_lowercase(),
    }
}

/// Group, kind, namespace and name: an object whatever version names it.
fn identity(o: &ObjectRef) -> (String, String, Option<String>, String) {
    (
        resource(&o.api_version, &o.kind),
        o.kind.clone(),
        o.namespace.clone(),
        o.name.clone(),
    )
}

impl Cluster<'_> {
    /// Runs kubectl with `args` and the cluster's context, capturing its
    /// output: (exit code, stdout, stderr).
    fn capture(&self, args: &[&str]) -> Result<(i32, String, String), Failure> {
        let cannot_start = |e: std::io::Error| {
            Failure::new(
                Code::NotExecutable,
                format!("cannot start {}: {e}", self.program.display()),
            )
        };
        let running = signals::Child::starting();
        let child = Command::new(self.program)
            .args(args)
            .args(["--context", self.context])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(cannot_start)?;
        running.started(child.id());
        let out = child
            .wait_with_output()
            .map_err(|e| Failure::new(Code::Internal, format!("waiting for kubectl: {e}")))?;
        drop(running);
        signals::end_if_caught();
        Ok((
            out.status.code().unwrap_or(1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// The namespaces the stream's objects go into, that it does not create.
    fn namespaces(&self) -> BTreeSet<&str> {
        let created: BTreeSet<&str> = self
            .stream
            .objects
            .iter()
            .filter(|o| o.kind == "Namespace")
            .map(|o| o.name.as_str())
            .collect();
        self.stream
            .objects
            .iter()
            .filter_map(|o| o.namespace.as_deref())
            .filter(|n| !created.contains(n))
            .collect()
    }

    /// The cluster's namespaces, when kubectl can list them.
    fn existing_namespaces(&self) -> Option<BTreeSet<String>> {
        let (code, out, _) = self.capture(&["get", "namespaces", "-o", "name"]).ok()?;
        (code == 0).then(|| {
            out.lines()
                .filter_map(|l| l.trim().strip_prefix("namespace/"))
                .map(str::to_owned)
                .collect()
        })
    }

    /// `--create-namespace`: creates the missing namespaces first.
    fn create_namespaces(&self) -> Result<(), Failure> {
        let wanted = self.namespaces();
        if wanted.is_empty() {
            return Ok(());
        }
        let existing = self.existing_namespaces().ok_or_else(|| {
            Failure::new(
                Code::Input,
                format!("cannot list the namespaces of context {}", self.context),
            )
            .with_hint("check the context and your access (kubectl get namespaces)")
        })?;
        for ns in wanted.into_iter().filter(|n| !existing.contains(*n)) {
            let (code, _, err) = self.capture(&["create", "namespace", ns])?;
            if code != 0 {
                return Err(Failure::new(
                    Code::Input,
                    format!(
                        "cannot create namespace '{ns}' on context {}: {}",
                        self.context,
                        err.trim()
                    ),
                ));
            }
            eprintln!("kit: created namespace {ns} (context {})", self.context);
        }
        Ok(())
    }

    /// After a failed apply: says which namespaces are missing, if any.
    fn explain_missing_namespaces(&self) {
        let Some(existing) = self.existing_namespaces() else {
            return;
        };
        let missing: Vec<&str> = self
            .namespaces()
            .into_iter()
            .filter(|n| !existing.contains(*n))
            .collect();
        if !missing.is_empty() {
            Failure::new(
                Code::Input,
                format!(
                    "namespace {} does not exist on context {}",
                    missing
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.context
                ),
            )
            .with_hint("create it, or run kit apply --create-namespace")
            .report(&mut std::io::stderr().lock());
        }
    }

    /// The live objects of the run's targets (by kit's labels) that the run
    /// no longer renders.
    fn stale_objects(&self) -> Result<Vec<ObjectRef>, Failure> {
        let s = self.stream;
        let mut kinds: BTreeSet<String> = PRUNE_KINDS.iter().map(|(v, k)| resource(v, k)).collect();
        kinds.extend(s.objects.iter().map(|o| resource(&o.api_version, &o.kind)));
        let [env, cluster, service] = kit_project::TARGET_LABELS;
        let selector = format!(
            "{env}={},{cluster}={},{service} in ({})",
            s.environment,
            s.cluster,
            s.services.join(",")
        );
        let kinds = kinds.into_iter().collect::<Vec<_>>().join(",");
        let (code, out, err) = self.capture(&[
            "get",
            &kinds,
            "--all-namespaces",
            "-l",
            &selector,
            "-o",
            "json",
        ])?;
        if code != 0 {
            return Err(Failure::new(
                Code::Input,
                format!(
                    "cannot list kit's objects on context {} for --prune: {}",
                    self.context,
                    err.trim()
                ),
            ));
        }
        let list: serde_json::Value = serde_json::from_str(&out).map_err(|e| {
            Failure::new(
                Code::Input,
                format!("kubectl get -o json gave no JSON: {e}"),
            )
        })?;
        let rendered: BTreeSet<_> = s.objects.iter().map(identity).collect();
        let mut stale = Vec::new();
        for item in list["items"].as_array().into_iter().flatten() {
            let field = |p: &str| item.pointer(p).and_then(|v| v.as_str()).map(str::to_owned);
            let (Some(api_version), Some(kind), Some(name)) = (
                field("/apiVersion"),
                field("/kind"),
                field("/metadata/name"),
            ) else {
                continue;
            };
            let o = ObjectRef {
                api_version,
                kind,
                namespace: field("/metadata/namespace"),
                name,
            };
            if !rendered.contains(&identity(&o)) {
                stale.push(o);
            }
        }
        stale.sort();
        Ok(stale)
    }

    /// Deletes `stale`; returns 0, or the first failing kubectl's code.
    fn delete(&self, stale: &[ObjectRef]) -> Result<i32, Failure> {
        for o in stale {
            eprintln!("kit: pruning {o} (context {})", self.context);
            let res = format!("{}/{}", resource(&o.api_version, &o.kind), o.name);
            let mut args = vec![
                "delete".to_owned(),
                res,
                "--context".into(),
                self.context.into(),
            ];
            if let Some(ns) = &o.namespace {
                args.extend(["--namespace".into(), ns.clone()]);
            }
            let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
            let code = run_kubectl(self.program, &args, b"")?;
            if code != 0 {
                return Ok(code);
            }
        }
        Ok(0)
    }

    /// `--wait`: every workload of the stream ready within `timeout` (for
    /// the whole cluster), or a failure naming the first that is not, and why.
    fn wait_ready(&self, timeout: Duration) -> Result<(), Failure> {
        let started = Instant::now();
        for o in &self.stream.objects {
            let check: Vec<String> = match o.kind.as_str() {
                "Deployment" | "StatefulSet" | "DaemonSet" => {
                    vec!["rollout".into(), "status".into()]
                }
                "Pod" => vec!["wait".into(), "--for=condition=Ready".into()],
                "Job" => vec!["wait".into(), "--for=condition=Complete".into()],
                _ => continue,
            };
            let left = timeout
                .saturating_sub(started.elapsed())
                .max(Duration::from_secs(1));
            let mut args = check;
            args.push(format!("{}/{}", resource(&o.api_version, &o.kind), o.name));
            if let Some(ns) = &o.namespace {
                args.extend(["--namespace".into(), ns.clone()]);
            }
            // Whole seconds, rounded up: the first wait gets all of TIMEOUT.
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            args.push(format!("--timeout={secs}s"));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, _, _) = self.capture(&args)?;
            if code != 0 {
                return Err(Failure::new(
                    Code::NotReady,
                    format!(
                        "{o} did not become ready within {} on context {}: {}",
                        humantime(timeout),
                        self.context,
                        self.why_not_ready(o)
                    ),
                )
                .with_hint("kubectl describe it for events; --wait=TIMEOUT waits longer"));
            }
        }
        Ok(())
    }

    /// Why a workload is not ready, from its status: ready replicas and the
    /// conditions that are not true.
    fn why_not_ready(&self, o: &ObjectRef) -> String {
        let res = format!("{}/{}", resource(&o.api_version, &o.kind), o.name);
        let mut args = vec!["get", res.as_str(), "-o", "json"];
        if let Some(ns) = &o.namespace {
            args.extend(["--namespace", ns]);
        }
        let Ok((0, out, _)) = self.capture(&args) else {
            return "its status could not be read".into();
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&out) else {
            return "its status could not be read".into();
        };
        let mut parts = Vec::new();
        let status = &v["status"];
        if let Some(want) = v["spec"]["replicas"].as_u64() {
            let ready = status["readyReplicas"].as_u64().unwrap_or(0);
            parts.push(format!("{ready}/{want} replicas ready"));
        }
        if let Some(phase) = status["phase"].as_str() {
            parts.push(format!("phase {phase}"));
        }
        for c in status["conditions"].as_array().into_iter().flatten() {
            if c["status"].as_str() == Some("True") {
                continue;
            }
            let mut t = format!(
                "{}={}",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?")
            );
            if let Some(r) = c["reason"].as_str() {
                t.push_str(&format!(" ({r}"));
                if let Some(m) = c["message"].as_str() {
                    t.push_str(&format!(": {m}"));
                }
                t.push(')');
            }
            parts.push(t);
        }
        if parts.is_empty() {
            "no status yet (nothing has acted on it: is the cluster running a scheduler and nodes?)"
                .into()
        } else {
            parts.join("; ")
        }
    }
}

/// `90s`, `2m`, `1h`, `300` (seconds).
fn parse_duration(s: &str) -> Result<Duration, Failure> {
    let bad = || {
        Failure::new(Code::Usage, format!("--wait {s:?} is not a duration"))
            .with_hint("write seconds, minutes or hours: 90s, 5m, 1h")
    };
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(60) && s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
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
