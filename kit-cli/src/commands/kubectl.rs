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

use std::collections::{BTreeMap, BTreeSet};

use std::time::{Duration, Instant};

use kit_project::{ClusterStream, ObjectRef, Project, RenderOptions};

use kit_project::inventory::Inventory;

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::KubectlArgs;
use crate::flags::{ApplyFlags, KubectlFlags};
use crate::kube::inventory::{self as applyset, no_name_for, project_source};
use crate::kube::{self, Kube, find_program};
use crate::run::{Job, render_streams};
use crate::signals;

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

/// Runs `kit apply` / `kit diff`; returns what was applied.
pub fn run(verb: Verb, args: &KubectlArgs, apply: &ApplyFlags) -> Result<Applied, Failure> {
    let wait = wait_of(apply)?;
    // Everything is rendered and checked before any kubectl starts.
    let (project, groups) = render_streams(Job {
        project: &args.project,
        select: &args.select,
        values: &args.values,
        source: &args.source,
        verbose: args.verbose.verbose,
        options: RenderOptions::default().with_debug(args.debug.debug),
    })?;
    apply_streams(verb, &project, &groups, &args.kubectl, apply, wait, true)
}

/// A service a workload of which did not become ready after an apply.
#[derive(Debug, Clone)]
pub struct NotReady {
    pub environment: String,
    pub cluster: String,
    pub service: String,
    /// Which workload, and why.
    pub reason: String,
    /// Whether the run changed the service's images (what a rollback
    /// restores).
    pub changed: bool,
}

/// What [`apply_streams`] did: kit's exit code, and with --wait the
/// services not ready.
pub struct Applied {
    pub code: u8,
    pub not_ready: Vec<NotReady>,
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
    by_images: bool,
) -> Result<Applied, Failure> {
    let program = find_program(&kubectl.program.kubectl)?;
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
    // Every inventory is named before any kubectl starts.
    let inventories: Vec<Option<Inventory>> = groups
        .iter()
        .map(|g| project.inventory(&g.environment, g.instance.as_deref(), &g.cluster))
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::from(kit_project::RenderError::from(e)))?;
    if kubectl.prune && inventories.iter().any(Option::is_none) {
        return Err(no_name_for("--prune"));
    }
    let source = if inventories.iter().any(Option::is_some) {
        project_source(project)
    } else {
        None
    };
    let jobs: Vec<_> = groups.iter().zip(&contexts).zip(&inventories).collect();
    let parallel = if multi { kubectl.fleet.parallel } else { 1 };
    let outcomes = crate::fleet::run(
        &jobs,
        parallel,
        |r: &Result<(i32, Vec<NotReady>), Failure>| {
            !kubectl.keep_going && r.as_ref().map_or(true, |(code, _)| verb.failed(*code))
        },
        |((g, ctx), inv)| {
            let name = g.name();
            let header = format!("kit: {} {name} (context {ctx})\n", verb.name());
            crate::output::for_cluster(
                multi.then_some(name.as_str()),
                parallel > 1,
                &header,
                || {
                    let cluster = Cluster {
                        project,
                        kube: Kube {
                            program: &program,
                            context: ctx,
                        },
                        context: ctx,
                        stream: g,
                        inventory: inv.as_ref(),
                        source: source.as_deref(),
                        partial: is_partial(project, g),
                    };
                    let r = match verb {
                        Verb::Apply => cluster.apply(kubectl, apply, wait, by_images),
                        Verb::Diff => cluster.diff(kubectl).map(|code| (code, Vec::new())),
                    };
                    // In a fleet run a cluster's failure is its own: said with
                    // its output, counted in the summary.
                    match r {
                        Err(f) if multi => {
                            crate::output::report(&f);
                            Ok((f.code as i32, Vec::new()))
                        }
                        r => r,
                    }
                },
            )
        },
    );
    let mut results: Vec<(String, Option<i32>)> = Vec::new();
    let mut first_failure: Option<i32> = None;
    let mut any_diff = false;
    let mut not_ready = Vec::new();
    for (((g, _), _), outcome) in jobs.iter().zip(outcomes) {
        let name = g.name();
        let code = match outcome.transpose()? {
            Some((code, services)) => {
                not_ready.extend(services);
                Some(code)
            }
            None => None,
        };
        if let Some(code) = code {
            any_diff |= verb == Verb::Diff && code == 1;
            if verb.failed(code) {
                first_failure.get_or_insert(code);
            }
        }
        results.push((name, code));
    }
    if multi {
        summarize(verb, &results);
    }
    let code = first_failure.unwrap_or(if any_diff { 1 } else { 0 });
    Ok(Applied {
        code: code.clamp(0, 255) as u8,
        not_ready,
    })
}

/// Whether the stream holds only some of the services the cluster runs (a
/// run with -s): the inventory then keeps the others' kinds and namespaces,
/// and prune looks only at the rendered services' objects.
fn is_partial(project: &Project, g: &ClusterStream) -> bool {
    let whole = match &g.instance {
        Some(i) => kit_project::Selection::Instance {
            environment: g.environment.clone(),
            instance: i.clone(),
            clusters: vec![g.cluster.clone()],
            services: Vec::new(),
        },
        None => kit_project::Selection::cluster(&g.environment, &g.cluster),
    };
    match project.select(&whole) {
        Ok(all) => all.iter().any(|t| !g.services.contains(&t.service)),
        Err(_) => true,
    }
}

/// Parses `--wait`'s duration (5 minutes with --rollback-on-failure
/// alone).
pub fn wait_of(apply: &ApplyFlags) -> Result<Option<Duration>, Failure> {
    match apply.wait.as_deref() {
        Some(w) => parse_duration("--wait", w).map(Some),
        None if apply.rollback_on_failure => Ok(Some(Duration::from_secs(300))),
        None => Ok(None),
    }
}

/// What kit does around apply and diff, for one cluster.
struct Cluster<'a> {
    project: &'a Project,
    kube: Kube<'a>,
    context: &'a str,
    stream: &'a ClusterStream,
    inventory: Option<&'a Inventory>,
    source: Option<&'a str>,
    partial: bool,
}

/// `kind.group` as kubectl takes resource types (`deployment.apps`).
fn resource(api_version: &str, kind: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => format!("{}.{group}", kind.to_ascii_lowercase()),
        None => kind.to_ascii_lowercase(),
    }
}

/// The documents of a stream, each from its `---` line: one per object.
fn documents(text: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = Vec::new();
    if text.starts_with("---\n") {
        starts.push(0);
    }
    starts.extend(text.match_indices("\n---\n# Source: ").map(|(i, _)| i + 1));
    starts
        .iter()
        .enumerate()
        .map(|(k, &a)| &text[a..starts.get(k + 1).copied().unwrap_or(text.len())])
        .collect()
}

/// The stream with the inventory's parent placed after the Namespaces (so
/// that its namespace may be one the stream creates) and before everything
/// else (so that it lists the kinds and namespaces before any object of
/// them exists, as the specification asks).
fn with_parent(stream: &ClusterStream, parent: &str) -> String {
    let docs = documents(&stream.text);
    let mut out = String::with_capacity(stream.text.len() + parent.len() + 64);
    if docs.len() != stream.objects.len() {
        out.push_str("---\n# Source: (kit inventory)\n");
        out.push_str(parent);
        out.push_str(&stream.text);
        return out;
    }
    let split = stream
        .objects
        .iter()
        .take_while(|o| o.kind == "Namespace")
        .count();
    for d in &docs[..split] {
        out.push_str(d);
    }
    out.push_str("---\n# Source: (kit inventory)\n");
    out.push_str(parent);
    for d in &docs[split..] {
        out.push_str(d);
    }
    out
}

/// One field another manager owned, as kubectl's conflict message says.
#[derive(Debug, PartialEq, Eq)]
struct Conflict {
    manager: String,
    field: String,
}

/// The conflicts of each failed object, in order, from kubectl's message
/// (`Apply failed with 1 conflict: conflict with "kubectl-set" using
/// apps/v1: .spec.replicas`; several fields as `- FIELD` lines). `None`
/// when any error is not a conflict.
fn parse_conflicts(stderr: &str) -> Option<Vec<Vec<Conflict>>> {
    let mut out: Vec<Vec<Conflict>> = Vec::new();
    let mut manager: Option<String> = None;
    let mut in_block = false;
    for line in stderr.lines() {
        let line = line.trim_end();
        if let Some(i) = line.find("Apply failed with ") {
            out.push(Vec::new());
            in_block = true;
            manager = None;
            let rest = line[i..].split_once(": ").map_or("", |(_, r)| r);
            parse_conflict_head(rest, &mut manager, out.last_mut()?);
            continue;
        }
        if !in_block {
            // Warnings pass; any other error is not a conflict.
            if line.starts_with("error") || line.starts_with("Error") {
                return None;
            }
            continue;
        }
        if line.starts_with("Please review the fields above") {
            in_block = false;
            continue;
        }
        if let Some(field) = line.strip_prefix("- ") {
            if let (Some(m), Some(last)) = (&manager, out.last_mut()) {
                last.push(Conflict {
                    manager: m.clone(),
                    field: field.to_owned(),
                });
            }
        } else if line.contains(" with \"") {
            parse_conflict_head(line, &mut manager, out.last_mut()?);
        }
    }
    (!out.is_empty() && out.iter().all(|c| !c.is_empty())).then_some(out)
}

/// `conflict(s) with "M"[ using V]:[ FIELD]`.
fn parse_conflict_head(s: &str, manager: &mut Option<String>, into: &mut Vec<Conflict>) {
    let Some(after) = s.split_once(" with \"").map(|(_, r)| r) else {
        return;
    };
    let Some((m, rest)) = after.split_once('"') else {
        return;
    };
    *manager = Some(m.to_owned());
    // `rest` is ` using apps/v1: FIELD`, ` using apps/v1:`, or `: FIELD`.
    if let Some((_, field)) = rest.split_once(": ") {
        let field = field.trim();
        if !field.is_empty() {
            into.push(Conflict {
                manager: m.to_owned(),
                field: field.to_owned(),
            });
        }
    }
}

/// The objects of `objects` (in order) that kubectl's stdout does not name
/// as applied (`deployment.apps/web serverside-applied`).
fn not_applied<'o>(objects: &'o [ObjectRef], stdout: &str) -> Vec<&'o ObjectRef> {
    let mut applied: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    objects
        .iter()
        .filter(|o| {
            let key = format!("{}/{}", resource(&o.api_version, &o.kind), o.name);
            match applied.iter().position(|a| *a == key) {
                Some(i) => {
                    applied.remove(i);
                    false
                }
                None => true,
            }
        })
        .collect()
}

impl Cluster<'_> {
    /// The namespaces the stream's objects (and the inventory) go into,
    /// that it does not create.
    fn namespaces(&self) -> BTreeSet<&str> {
        let created = self.rendered_namespaces();
        self.stream
            .objects
            .iter()
            .filter_map(|o| o.namespace.as_deref())
            .chain(self.inventory.map(|i| i.namespace.as_str()))
            .filter(|n| !created.contains(n))
            .collect()
    }

    /// The Namespaces the stream renders.
    fn rendered_namespaces(&self) -> BTreeSet<&str> {
        self.stream
            .objects
            .iter()
            .filter(|o| o.kind == "Namespace")
            .map(|o| o.name.as_str())
            .collect()
    }

    /// `kit apply` on this cluster; returns the exit code.
    fn apply(
        &self,
        kubectl: &KubectlFlags,
        apply: &ApplyFlags,
        wait: Option<Duration>,
        by_images: bool,
    ) -> Result<(i32, Vec<NotReady>), Failure> {
        let kube = self.kube;
        // What ran before, to tell which services this apply changes.
        let before: Option<BTreeMap<String, BTreeSet<String>>> =
            (apply.rollback_on_failure && by_images).then(|| {
                kube::workloads::read(
                    kube,
                    self.inventory,
                    &self.stream.environment,
                    &self.stream.cluster,
                )
                .map(|live| {
                    live.workloads
                        .iter()
                        .map(|(svc, ws)| {
                            (
                                svc.clone(),
                                ws.iter().flat_map(kube::workloads::images).collect(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
            });
        // An instance lives in namespaces of its own: kit creates them.
        let create_namespace = apply.create_namespace || self.stream.instance.is_some();
        let applied_at = kit_project::release::time::now_utc();
        let list_namespaces = create_namespace
            || (self.inventory.is_some() && !self.rendered_namespaces().is_empty());
        // The parent and the namespaces are read at once (one round trip
        // and one kubectl start-up less before the apply).
        let (parent, existing) = std::thread::scope(|scope| {
            let listing = list_namespaces.then(|| scope.spawn(|| kube.namespaces()));
            let parent = match self.inventory {
                Some(inv) => applyset::read_parent(kube, inv, self.source),
                None => Ok(None),
            };
            let existing = listing.and_then(|l| l.join().expect("listing namespaces never panics"));
            (parent, existing)
        });
        let parent = parent?;
        if create_namespace {
            let existing = existing.as_ref().ok_or_else(|| {
                Failure::new(
                    Code::Input,
                    format!("cannot list the namespaces of context {}", self.context),
                )
                .with_hint("check the context and your access (kubectl get namespaces)")
            })?;
            for ns in self.namespaces() {
                if !existing.contains(ns) {
                    kube.create_namespace(ns, self.inventory)?;
                }
            }
        }
        // Rendered Namespaces that do not exist yet: kit creates them, and
        // marks them so afterwards.
        let new_namespaces: Vec<&str> = match &existing {
            Some(e) => self
                .rendered_namespaces()
                .into_iter()
                .filter(|n| !e.contains(*n))
                .collect(),
            None => Vec::new(),
        };
        let rendered = applyset::scope_of(&self.stream.objects);
        let mut listed = rendered.clone();
        if let Some(p) = &parent {
            listed.0.extend(p.group_kinds.iter().cloned());
            listed.1.extend(p.namespaces.iter().cloned());
        }
        let text = match self.inventory {
            Some(inv) => std::borrow::Cow::Owned(with_parent(
                self.stream,
                &inv.parent_manifest(&listed.0, &listed.1, self.source, Some(&applied_at)),
            )),
            None => std::borrow::Cow::Borrowed(self.stream.text.as_str()),
        };
        let mut code = self.kubectl_apply(kubectl, apply, text.as_bytes())?;
        if code != 0 {
            if !create_namespace {
                self.explain_missing_namespaces();
            }
            return Ok((code, Vec::new()));
        }
        if let Some(inv) = self.inventory {
            kube.mark_created(&new_namespaces, inv)?;
        }
        if kubectl.prune
            && let Some(inv) = self.inventory
        {
            let stale = self.stale(inv, &listed.0)?;
            let deleted = applyset::delete(kube, &stale, "pruning")?;
            if deleted != 0 {
                return Ok((deleted, Vec::new()));
            }
            // A whole cluster's run: the inventory now lists exactly what
            // is rendered.
            if !self.partial && listed != rendered {
                let parent =
                    inv.parent_manifest(&rendered.0, &rendered.1, self.source, Some(&applied_at));
                let said = kube.capture_as_given(
                    &self.ssa_args("apply", kubectl, true),
                    Some(parent.as_bytes()),
                )?;
                if said.code != 0 {
                    crate::output::err(&said.stderr);
                    return Ok((said.code, Vec::new()));
                }
            }
        }
        let mut not_ready = Vec::new();
        if let Some(timeout) = wait {
            for (i, f) in self.wait_ready(timeout, apply.rollback_on_failure)? {
                crate::output::report(&f);
                code = Code::NotReady as i32;
                let service = self.stream.service_of(i).to_owned();
                // Changed: what ran before is not the image released now
                // (a service new to the cluster included).
                let changed = match &before {
                    Some(before) => {
                        let released = self.project.released_image(
                            &self.stream.environment,
                            &service,
                            &self.stream.cluster,
                        )?;
                        match (released, before.get(&service)) {
                            (Some(img), Some(b)) => !b.contains(&img),
                            (_, b) => b.is_none(),
                        }
                    }
                    None => true,
                };
                not_ready.push(NotReady {
                    environment: self.stream.environment.clone(),
                    cluster: self.stream.cluster.clone(),
                    service,
                    reason: f.message,
                    changed,
                });
            }
        }
        if code == 0
            && let Some(instance) = &self.stream.instance
        {
            // Where the instance runs, for the CI job's log.
            let mut namespaces: BTreeSet<&str> = self.rendered_namespaces();
            namespaces.extend(
                self.stream
                    .objects
                    .iter()
                    .filter_map(|o| o.namespace.as_deref()),
            );
            let namespaces: Vec<String> = namespaces.iter().map(crate::output::shown).collect();
            crate::output::say!(
                "kit: instance {instance} of {} is up on {} (context {}), namespaces: {}",
                self.stream.environment,
                self.stream.cluster,
                self.context,
                namespaces.join(", ")
            );
        }
        Ok((code, not_ready))
    }

    /// Server-side apply (or diff) arguments for this cluster.
    fn ssa_args<'s>(
        &'s self,
        verb: &'static str,
        kubectl: &KubectlFlags,
        force: bool,
    ) -> Vec<&'s str> {
        let mut args = vec![verb, "-f", "-", "--context", self.context];
        if !kubectl.client_side {
            args.extend(["--server-side", "--field-manager=kit"]);
            if force {
                args.push("--force-conflicts");
            }
        }
        args
    }

    /// Runs `kubectl apply` of `text`. Fields another manager changed are
    /// taken back (each named, with the manager) unless
    /// --no-force-conflicts.
    fn kubectl_apply(
        &self,
        kubectl: &KubectlFlags,
        apply: &ApplyFlags,
        text: &[u8],
    ) -> Result<i32, Failure> {
        let extra: Vec<String> = kubectl
            .kubectl_args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let run = |force: bool| {
            let mut args: Vec<&str> = self.ssa_args("apply", kubectl, force);
            args.extend(extra.iter().map(String::as_str));
            self.kube.capture_as_given(&args, Some(text))
        };
        let said = run(apply.force_conflicts)?;
        let take_back = !kubectl.client_side && !kubectl.no_force_conflicts;
        if said.code != 0
            && take_back
            && !apply.force_conflicts
            && let Some(conflicts) = parse_conflicts(&said.stderr)
        {
            let failed = not_applied(&self.stream.objects, &said.stdout);
            let named = failed.len() == conflicts.len();
            for (i, fields) in conflicts.iter().enumerate() {
                let what = if named {
                    failed[i].to_string()
                } else {
                    "an object".to_owned()
                };
                for c in fields {
                    crate::output::say!(
                        "kit: taking back {} of {} from field manager {:?} (context {})",
                        crate::output::shown(&c.field),
                        crate::output::shown(&what),
                        c.manager,
                        self.context
                    );
                }
            }
            return self.echo(run(true)?);
        }
        self.echo(said)
    }

    /// Prints what kubectl said; returns its exit code (ending kit by a
    /// signal caught meanwhile, as kubectl was told).
    fn echo(&self, said: kube::Said) -> Result<i32, Failure> {
        crate::output::err(&said.stderr);
        crate::output::out(said.stdout.as_bytes())?;
        signals::end_if_caught();
        Ok(said.code)
    }

    /// The inventory's live objects that prune deletes: not rendered, not
    /// a Namespace, of the run's services when it has only some.
    fn stale(&self, inv: &Inventory, kinds: &BTreeSet<String>) -> Result<Vec<ObjectRef>, Failure> {
        let rendered: BTreeSet<_> = self.stream.objects.iter().map(applyset::identity).collect();
        let mut stale = Vec::new();
        for m in applyset::members(self.kube, inv, kinds)? {
            if rendered.contains(&applyset::identity(&m.object)) {
                continue;
            }
            if self.partial
                && !m
                    .service
                    .as_ref()
                    .is_some_and(|s| self.stream.services.contains(s))
            {
                continue;
            }
            if m.object.kind == "Namespace" {
                crate::output::say!(
                    "kit: {} is no longer rendered; prune never deletes a namespace (kit delete removes those kit created) (context {})",
                    crate::output::shown(&m.object),
                    self.context
                );
                continue;
            }
            stale.push(m.object);
        }
        Ok(stale)
    }

    /// `kit diff` on this cluster: objects in namespaces that do not exist
    /// yet are shown as new by kit (kubectl diff cannot reach them); the
    /// rest goes to `kubectl diff`. Returns 0, 1 (differences) or above.
    fn diff(&self, kubectl: &KubectlFlags) -> Result<i32, Failure> {
        if kubectl.prune && self.inventory.is_none() {
            return Err(no_name_for("--prune"));
        }
        let extra: Vec<String> = kubectl
            .kubectl_args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut args = self.ssa_args("diff", kubectl, !kubectl.no_force_conflicts);
        args.extend(extra.iter().map(String::as_str));
        let said = self
            .kube
            .capture_as_given(&args, Some(self.stream.text.as_bytes()))?;
        // kubectl diff cannot reach objects of namespaces that do not exist
        // yet: kit shows those as new and diffs the rest.
        let missing: BTreeSet<&str> =
            if Verb::Diff.failed(said.code) && said.stderr.contains("namespaces \"") {
                match self.kube.namespaces() {
                    Some(e) => self
                        .stream
                        .objects
                        .iter()
                        .filter_map(|o| o.namespace.as_deref())
                        .filter(|n| !e.contains(*n))
                        .collect(),
                    None => BTreeSet::new(),
                }
            } else {
                BTreeSet::new()
            };
        let docs = documents(&self.stream.text);
        let mut new_objects = String::new();
        let mut code;
        if missing.is_empty() || docs.len() != self.stream.objects.len() {
            code = self.echo(said)?;
        } else {
            let mut to_kubectl = String::with_capacity(self.stream.text.len());
            for (d, o) in docs.iter().zip(&self.stream.objects) {
                let out_of_reach = o.namespace.as_deref().is_some_and(|n| missing.contains(n))
                    || (o.kind == "Namespace" && missing.contains(o.name.as_str()));
                if out_of_reach {
                    new_objects.push_str(&new_object_diff(o, d));
                } else {
                    to_kubectl.push_str(d);
                }
            }
            code = 0;
            if !to_kubectl.trim().is_empty() {
                code = self.echo(
                    self.kube
                        .capture_as_given(&args, Some(to_kubectl.as_bytes()))?,
                )?;
            }
        }
        if Verb::Diff.failed(code) {
            return Ok(code);
        }
        if !new_objects.is_empty() {
            crate::output::out(new_objects.as_bytes())?;
            let ns: Vec<&str> = missing.into_iter().collect();
            crate::output::say!(
                "kit: namespace {} does not exist yet on context {}: its objects are shown as new",
                ns.join(", "),
                self.context
            );
            code = 1;
        }
        if let (true, Some(inv)) = (kubectl.prune, self.inventory) {
            let mut kinds = applyset::scope_of(&self.stream.objects).0;
            if let Some(p) = applyset::read_parent(self.kube, inv, self.source)? {
                kinds.extend(p.group_kinds);
            }
            let stale = self.stale(inv, &kinds)?;
            let mut out = String::new();
            for o in &stale {
                out.push_str(&format!(
                    "kit prune: would delete {} (context {})\n",
                    crate::output::shown(o),
                    self.context
                ));
            }
            crate::output::out(out.as_bytes())?;
            if !stale.is_empty() {
                code = 1;
            }
        }
        Ok(code)
    }

    /// After a failed apply: says which namespaces are missing, if any.
    fn explain_missing_namespaces(&self) {
        let Some(existing) = self.kube.namespaces() else {
            return;
        };
        let missing: Vec<&str> = self
            .namespaces()
            .into_iter()
            .filter(|n| !existing.contains(*n))
            .collect();
        if !missing.is_empty() {
            let f = Failure::new(
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
            .with_hint("create it, or run kit apply --create-namespace");
            crate::output::report(&f);
        }
    }

    /// Runs kubectl with `args`, capturing its output: (exit code, stdout,
    /// stderr).
    fn capture(&self, args: &[&str]) -> Result<(i32, String, String), Failure> {
        let said = self.kube.capture(args, None)?;
        Ok((said.code, said.stdout, said.stderr))
    }

    /// `--wait`: every workload of the stream ready within `timeout` (for
    /// the whole cluster). Returns those that are not, each with a failure
    /// naming it and why: the first only, unless
    /// `all` (then each later one gets what is left of the timeout, at
    /// least a second).
    fn wait_ready(&self, timeout: Duration, all: bool) -> Result<Vec<(usize, Failure)>, Failure> {
        let started = Instant::now();
        let mut failed = Vec::new();
        for (i, o) in self.stream.objects.iter().enumerate() {
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
                let why = self.why_not_ready(o);
                let f = Failure::new(
                    Code::NotReady,
                    format!(
                        "{} did not become ready within {} on context {}: {why}",
                        crate::output::shown(o),
                        humantime(timeout),
                        self.context,
                    ),
                )
                .with_hint("kubectl describe it for events; --wait=TIMEOUT waits longer");
                failed.push((i, f));
                if !all {
                    break;
                }
            }
        }
        Ok(failed)
    }

    /// Why a workload is not ready, from its status: ready replicas and the
    /// conditions that are not true.
    fn why_not_ready(&self, o: &ObjectRef) -> String {
        let res = format!("{}/{}", resource(&o.api_version, &o.kind), o.name);
        let mut args = vec!["get", res.as_str(), "-o", "json"];
        if let Some(ns) = &o.namespace {
            args.extend(["--namespace", ns]);
        }
        let unread = || "its status could not be read".to_owned();
        let Ok((0, out, _)) = self.capture(&args) else {
            return unread();
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&out) else {
            return unread();
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

/// A new object as a unified diff against nothing, as kubectl diff shows
/// one; a Secret's content is never shown.
fn new_object_diff(o: &ObjectRef, doc: &str) -> String {
    let path = format!(
        "{}.{}.{}.{}",
        o.api_version.replace('/', "."),
        o.kind,
        o.namespace.as_deref().unwrap_or(""),
        o.name
    );
    let body: Vec<&str> = if o.kind == "Secret" {
        vec![]
    } else {
        doc.lines()
            .filter(|l| *l != "---" && !l.starts_with("# Source: "))
            .collect()
    };
    let mut out = format!(
        "diff -u -N /tmp/LIVE/{path} /tmp/MERGED/{path}\n--- /tmp/LIVE/{path}\n+++ /tmp/MERGED/{path}\n"
    );
    if o.kind == "Secret" {
        let mut lines = vec![
            format!("apiVersion: {}", o.api_version),
            "kind: Secret".to_owned(),
            "metadata:".to_owned(),
            format!("  name: {}", o.name),
        ];
        if let Some(ns) = &o.namespace {
            lines.push(format!("  namespace: {ns}"));
        }
        lines.push("# (kit does not show a Secret's content)".to_owned());
        out.push_str(&format!("@@ -0,0 +1,{} @@\n", lines.len()));
        for l in lines {
            out.push('+');
            out.push_str(&l);
            out.push('\n');
        }
        return out;
    }
    out.push_str(&format!("@@ -0,0 +1,{} @@\n", body.len()));
    for l in body {
        out.push('+');
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `90s`, `2m`, `1h`, `300` (seconds).
/// A duration flag's value: seconds (bare or `s`), minutes, hours or days.
pub fn parse_duration(flag: &str, s: &str) -> Result<Duration, Failure> {
    let bad = || {
        Failure::new(Code::Usage, format!("{flag} {s:?} is not a duration"))
            .with_hint("write seconds, minutes, hours or days: 90s, 5m, 1h, 3d")
    };
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
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
    crate::output::say!(
        "kit: {} summary: succeeded: {}; failed: {}; skipped: {}",
        verb.name(),
        list(&ok),
        list(&failed),
        list(&|c: Option<i32>| c.is_none())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: ns.map(str::to_owned),
            name: name.into(),
        }
    }

    #[test]
    fn durations_and_resource_names() {
        assert_eq!(
            parse_duration("--wait", "90").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration("--wait", "90s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration("--wait", "2m").unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            parse_duration("--wait", "1h").unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            parse_duration("--older-than", "3d").unwrap(),
            Duration::from_secs(259_200)
        );
        for bad in ["0", "", "5w", "m", "-1s", "1.5m", "99999999999999999999d"] {
            let f = parse_duration("--wait", bad).unwrap_err();
            assert_eq!(f.message, format!("--wait {bad:?} is not a duration"));
        }
        assert_eq!(
            (
                humantime(Duration::from_secs(120)),
                humantime(Duration::from_secs(90))
            ),
            ("2m".into(), "90s".into())
        );
        assert_eq!(resource("apps/v1", "Deployment"), "deployment.apps");
        assert_eq!(resource("v1", "ConfigMap"), "configmap");
        assert_eq!(
            resource("rbac.authorization.k8s.io/v1", "ClusterRole"),
            "clusterrole.rbac.authorization.k8s.io"
        );
    }

    #[test]
    fn drift_is_read_from_kubectls_conflict_message() {
        // One field on one line; several as `- FIELD` lines; two objects.
        let stderr = "Warning: something\nerror: Apply failed with 1 conflict: conflict with \"kubectl-set\" using apps/v1: .spec.template.spec.containers[name=\"web\"].image\nPlease review the fields above--they currently have other managers.\nerror: Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using v1:\n- .data.a\n- .data.b\nPlease review the fields above--they currently have other managers.\n";
        let c = parse_conflicts(stderr).expect("conflicts");
        let got: Vec<Vec<(&str, &str)>> = c
            .iter()
            .map(|fs| {
                fs.iter()
                    .map(|f| (f.manager.as_str(), f.field.as_str()))
                    .collect()
            })
            .collect();
        assert_eq!(
            got,
            [
                vec![(
                    "kubectl-set",
                    ".spec.template.spec.containers[name=\"web\"].image"
                )],
                vec![("kubectl-edit", ".data.a"), ("kubectl-edit", ".data.b")],
            ]
        );
        // Any other error is not drift: nothing is forced.
        let mixed = format!("{stderr}error: namespaces \"shop\" not found\n");
        assert!(parse_conflicts(&mixed).is_none());
        assert!(parse_conflicts("error: the server is unreachable\n").is_none());
        assert!(parse_conflicts("").is_none());
    }

    #[test]
    fn objects_kubectl_did_not_apply_are_the_failed_ones() {
        let objects = [
            object("v1", "ConfigMap", Some("shop"), "c"),
            object("apps/v1", "Deployment", Some("shop"), "web"),
            object("v1", "ConfigMap", Some("other"), "c"),
        ];
        // The same name twice (two namespaces): one applied, one not.
        let failed = not_applied(&objects, "configmap/c serverside-applied\n");
        assert_eq!(failed, [&objects[1], &objects[2]]);
    }

    #[test]
    fn a_new_objects_diff_never_shows_a_secrets_content() {
        let secret = object("v1", "Secret", Some("shop"), "web-env");
        let doc = "---\n# Source: web/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: web-env\n  namespace: shop\ndata:\n  PASSWORD: aHVudGVyMg==\n";
        let d = new_object_diff(&secret, doc);
        assert!(!d.contains("aHVudGVyMg=="), "{d}");
        assert!(
            d.contains("+# (kit does not show a Secret's content)\n"),
            "{d}"
        );
        let cm = object("v1", "ConfigMap", Some("shop"), "c");
        let doc =
            "---\n# Source: web/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
        assert_eq!(
            new_object_diff(&cm, doc),
            "diff -u -N /tmp/LIVE/v1.ConfigMap.shop.c /tmp/MERGED/v1.ConfigMap.shop.c\n--- /tmp/LIVE/v1.ConfigMap.shop.c\n+++ /tmp/MERGED/v1.ConfigMap.shop.c\n@@ -0,0 +1,4 @@\n+apiVersion: v1\n+kind: ConfigMap\n+metadata:\n+  name: c\n"
        );
    }
}
