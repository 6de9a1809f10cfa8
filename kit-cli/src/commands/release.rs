//! `kit release`, `rollback`, `promote`, `pin`, `unpin` (records in the
//! config repository), and `kit history`, `kit status` (reading them).

use std::fmt::Write as _;

use kit_project::release::Record;
use kit_project::release::git::{Local, Repo};
use kit_project::release::operation::{
    self as releasing, Change, Meta, PushOptions, ReleaseError, Request,
};
use kit_project::{Project, RenderOptions};

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::{
    ApplyArgs, ChangeFlags, HistoryArgs, PinArgs, PromoteArgs, ReleaseArgs, RollbackArgs,
};
use crate::flags::{
    ApplyFlags, KubectlFlags, ListFormat, MetaFlags, ProjectFlags, PushFlags, SourceFlags,
    StatusArgs, runtime,
};
use crate::signals;

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Who, when, why: flags first, then the CI's variables, then git.
fn meta(flags: &MetaFlags, repo: &Repo) -> Meta {
    let author = flags
        .author
        .clone()
        .or_else(|| {
            ["GITHUB_ACTOR", "GITLAB_USER_LOGIN", "CI_COMMITTER_NAME"]
                .iter()
                .find_map(|v| env_var(v))
        })
        .or_else(
            || match (repo.config("user.name"), repo.config("user.email")) {
                (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
                (n, e) => n.or(e),
            },
        )
        .unwrap_or_else(|| "unknown".into());
    let source_commit = flags.source_commit.clone().or_else(|| {
        ["GITHUB_SHA", "CI_COMMIT_SHA", "CI_COMMIT_ID"]
            .iter()
            .find_map(|v| env_var(v))
    });
    let source_repository = flags.source_repository.clone().or_else(|| {
        ["GITHUB_REPOSITORY", "CI_PROJECT_PATH", "CI_REPO_NAME"]
            .iter()
            .find_map(|v| env_var(v))
    });
    let build_number = flags.build_number.or_else(|| {
        ["GITHUB_RUN_NUMBER", "CI_PIPELINE_IID", "CI_BUILD_NUMBER"]
            .iter()
            .find_map(|v| env_var(v)?.parse().ok())
    });
    let github_run = match (
        env_var("GITHUB_SERVER_URL"),
        env_var("GITHUB_REPOSITORY"),
        env_var("GITHUB_RUN_ID"),
    ) {
        (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
        _ => None,
    };
    let build_url = flags
        .build_url
        .clone()
        .or(github_run)
        .or_else(|| env_var("CI_JOB_URL"))
        .or_else(|| env_var("CI_BUILD_URL"));
    Meta {
        author,
        source_commit,
        source_repository,
        build_number,
        build_url,
        message: flags.message.clone(),
        time: kit_project::release::time::now_utc(),
    }
}

struct Job<'a> {
    project: &'a ProjectFlags,
    environment: String,
    service: String,
    change: Change,
    meta: &'a MetaFlags,
    push: &'a PushFlags,
    /// `None` for pins, which change no image and render nothing.
    source: Option<&'a SourceFlags>,
}

/// Records the job as one library operation (checked from the commit it
/// pushes) and reports it; returns what was recorded and checked.
fn record(job: Job<'_>) -> Result<releasing::Recorded, Failure> {
    let dir = job.project.project.clone();
    let repo = Repo::open(&dir)
        .map_err(ReleaseError::from)?
        .with_network_limit(std::time::Duration::from_secs(job.push.git_timeout.max(1)));
    let req = Request {
        environment: job.environment.clone(),
        service: job.service.clone(),
        change: job.change,
        meta: meta(job.meta, &repo),
        force: job.push.force,
    };
    let mut opts = PushOptions {
        push: !job.push.no_push,
        tries: job.push.push_tries,
        branch: job.push.branch.clone(),
        stop: None,
    };
    let check = job
        .source
        .map(|s| {
            Ok::<_, Failure>(releasing::CheckOptions {
                secrets: s.secrets_options()?,
                render: RenderOptions::default(),
            })
        })
        .transpose()?;
    let runtime = runtime()?;
    // A signal (a CI job cancelled) stops the operation at its next safe
    // point: before a commit, or once a started push has ended (its outcome
    // is reported, never left unknown).
    let result = signals::stoppable(|stop| {
        opts.stop = Some(std::sync::Arc::clone(stop));
        runtime.block_on(releasing::run(&dir, &repo, &req, &opts, check.as_ref()))
    });
    let recorded = match result {
        Err(ReleaseError::Stopped) => {
            eprintln!("kit: stopped before anything was pushed: nothing was recorded");
            signals::end_if_caught();
            return Err(ReleaseError::Stopped.into());
        }
        r => r.map_err(Failure::from)?,
    };
    report(&req, &recorded);
    if signals::caught().is_some() {
        eprintln!(
            "kit: revision {} is recorded (commit {}); nothing was applied",
            recorded.record.revision,
            releasing::short(&recorded.commit)
        );
        signals::end_if_caught();
    }
    Ok(recorded)
}

/// The lines a recorded change prints: what, where it went, what changes
/// per cluster, and what became of the checkout.
fn report(req: &Request, recorded: &releasing::Recorded) {
    let r = &recorded.record;
    let short = releasing::short(&recorded.commit);
    let (env, svc) = (&req.environment, &req.service);
    let p = |s: &str| kit_env::layout::printable(s).to_string();
    if recorded.already {
        eprintln!(
            "kit: {svc} in {env} is already released as revision {} ({}): nothing recorded (commit {short})",
            r.revision,
            p(&r.image)
        );
        return;
    }
    let what = match &req.change {
        Change::Pin { .. } => "pinned".to_owned(),
        Change::Unpin => "unpinned".to_owned(),
        _ => format!("recorded revision {} ({})", r.revision, p(&r.image)),
    };
    let whither = match &recorded.pushed_to {
        Some((remote, branch)) => format!(
            "pushed to {}/{} ({} {})",
            p(remote),
            p(branch),
            recorded.tries,
            if recorded.tries == 1 { "try" } else { "tries" }
        ),
        None => "committed on the local branch, not pushed".into(),
    };
    eprintln!("kit: {what} for {svc} in {env}: commit {short} {whither}");
    // Per cluster, what changes (a rollback of a canary names both).
    if let Some(prev) = &recorded.previous
        && !matches!(req.change, Change::Pin { .. } | Change::Unpin)
    {
        let mut clusters: Vec<&String> = prev.clusters.keys().chain(r.clusters.keys()).collect();
        clusters.sort();
        clusters.dedup();
        if prev.image != r.image {
            eprintln!("kit:   {} -> {}", p(&prev.image), p(&r.image));
        }
        for c in clusters {
            let (a, b) = (prev.image_for(c), r.image_for(c));
            if a != b {
                eprintln!("kit:   {}: {} -> {}", p(c), p(a), p(b));
            }
        }
    }
    if let Local::Stayed(why) = &recorded.local {
        eprintln!(
            "kit: the checkout was left as it was ({}); `git pull --ff-only` brings it up to date",
            p(why)
        );
    }
}

/// How a recorded change is applied (`--apply` and its flags).
struct After<'a> {
    kubectl: &'a KubectlFlags,
    apply: &'a ApplyFlags,
    push: &'a PushFlags,
    source: &'a SourceFlags,
}

/// `--apply` when asked for, else done.
fn then_apply(
    apply: bool,
    environment: &str,
    service: &str,
    project: &ProjectFlags,
    recorded: &releasing::Recorded,
    how: &After<'_>,
) -> Result<u8, Failure> {
    if !apply {
        return Ok(0);
    }
    apply_recorded(environment, service, &project.project, recorded, how)
}

/// `--apply` after a recorded change: applies exactly the streams the
/// operation checked. A failure here comes after the push: its own exit
/// code, and how to apply again.
fn apply_recorded(
    req_env: &str,
    service: &str,
    dir: &std::path::Path,
    recorded: &releasing::Recorded,
    how: &After<'_>,
) -> Result<u8, Failure> {
    let After {
        kubectl,
        apply,
        push,
        source,
    } = *how;
    let wait = super::kubectl::wait_of(apply)?;
    let project = recorded
        .project
        .as_ref()
        .expect("a checked operation carries its project");
    let again = format!(
        "kit apply -C {} -e {req_env} -s {service}",
        kit_env::layout::printable(&dir.display().to_string())
    );
    let recorded_at = format!(
        "revision {} is recorded (commit {})",
        recorded.record.revision,
        releasing::short(&recorded.commit)
    );
    crate::output::mask_with(&recorded.masker);
    let applied = super::kubectl::apply_streams(
        super::kubectl::Verb::Apply,
        project,
        &recorded.streams,
        kubectl,
        apply,
        wait,
        false,
    );
    match applied {
        Ok(a) if a.code == 0 => Ok(0),
        // The change was this service's: a workload of it not ready is
        // rolled back when asked (not when nothing was recorded).
        Ok(a) if apply.rollback_on_failure && !a.not_ready.is_empty() && !recorded.already => {
            eprintln!("kit: {recorded_at}, but it did not become ready");
            roll_back_failed(dir, &a.not_ready, push, source, kubectl, apply)
        }
        Ok(a) if !a.not_ready.is_empty() => {
            eprintln!(
                "kit: {recorded_at}, but it did not become ready; apply it again with: {again}"
            );
            Ok(Code::NotApplied as u8)
        }
        Ok(a) => {
            eprintln!(
                "kit: {recorded_at}, but applying it failed (kubectl exited {}); apply it again with: {again}",
                a.code
            );
            Ok(Code::NotApplied as u8)
        }
        Err(f) => Err(Failure::new(
            Code::NotApplied,
            format!("{recorded_at}, but applying it failed: {}", f.message),
        )
        .with_hint(format!("apply it again with: {again}"))),
    }
}

/// `kit apply`: render, check, apply; with --rollback-on-failure, the
/// services whose image it changed and that did not become ready are
/// rolled back.
pub fn apply(args: &ApplyArgs) -> Result<u8, Failure> {
    // A rollback is recorded in the config repository: known to be one
    // before anything is applied.
    if args.apply.rollback_on_failure {
        Repo::open(&args.common.project.project).map_err(ReleaseError::from)?;
    }
    let applied = super::kubectl::run(super::kubectl::Verb::Apply, &args.common, &args.apply)?;
    if !args.apply.rollback_on_failure || applied.not_ready.is_empty() {
        return Ok(applied.code);
    }
    let push = PushFlags {
        no_push: false,
        force: false,
        branch: None,
        push_tries: 20,
        git_timeout: 300,
    };
    roll_back_failed(
        &args.common.project.project,
        &applied.not_ready,
        &push,
        &args.common.source,
        &args.common.kubectl,
        &args.apply,
    )
}

/// `--rollback-on-failure` after services did not become ready: for each
/// the run changed, a rollback recorded (author kit, the reason in the
/// message), pushed, applied and waited for; the others named and left.
/// Exit 12 when every rollback is applied and ready.
fn roll_back_failed(
    dir: &std::path::Path,
    not_ready: &[super::kubectl::NotReady],
    push: &PushFlags,
    source: &SourceFlags,
    kubectl: &KubectlFlags,
    apply: &ApplyFlags,
) -> Result<u8, Failure> {
    let p = |s: &str| kit_env::layout::printable(s).to_string();
    let mut done: Vec<(&str, &str)> = Vec::new();
    let mut code = Code::RolledBack as u8;
    for n in not_ready {
        if !n.changed {
            eprintln!(
                "kit: {} on {}/{} is not ready, but this apply did not change its image: kit does not roll it back (a change of values or templates is undone by reverting its commit)",
                p(&n.service),
                p(&n.environment),
                p(&n.cluster)
            );
            code = Code::NotReady as u8;
            continue;
        }
        if done.contains(&(&n.environment, &n.service)) {
            continue;
        }
        done.push((&n.environment, &n.service));
        eprintln!(
            "kit: rolling back {} in {}: {}",
            p(&n.service),
            p(&n.environment),
            n.reason
        );
        let meta = MetaFlags {
            message: Some(n.reason.clone()),
            author: Some("kit".into()),
            source_commit: None,
            build_url: None,
            build_number: None,
            source_repository: None,
        };
        let project = ProjectFlags {
            project: dir.to_owned(),
        };
        let recorded = record(Job {
            project: &project,
            environment: n.environment.clone(),
            service: n.service.clone(),
            change: Change::Rollback { to: None },
            meta: &meta,
            push,
            source: Some(source),
        })?;
        let once = ApplyFlags {
            rollback_on_failure: false,
            wait: Some(apply.wait.clone().unwrap_or_else(|| "5m".into())),
            ..apply.clone()
        };
        let how = After {
            kubectl,
            apply: &once,
            push,
            source,
        };
        match apply_recorded(&n.environment, &n.service, dir, &recorded, &how)? {
            0 => eprintln!(
                "kit: restored {} in {} to {} (revision {}): applied and ready",
                p(&n.service),
                p(&n.environment),
                p(&recorded.record.image),
                recorded.record.revision
            ),
            failed => code = failed,
        }
    }
    Ok(code)
}

/// Records `change` of `service` in `environment` (one library operation),
/// then applies it when `--apply` asks.
fn record_then_apply(
    project: &ProjectFlags,
    environment: &str,
    service: &str,
    change: Change,
    flags: &ChangeFlags,
) -> Result<u8, Failure> {
    let recorded = record(Job {
        project,
        environment: environment.to_owned(),
        service: service.to_owned(),
        change,
        meta: &flags.meta,
        push: &flags.push,
        source: Some(&flags.source),
    })?;
    then_apply(
        flags.apply,
        environment,
        service,
        project,
        &recorded,
        &After {
            kubectl: &flags.kubectl,
            apply: &flags.apply_flags,
            push: &flags.push,
            source: &flags.source,
        },
    )
}

pub fn release(args: &ReleaseArgs) -> Result<u8, Failure> {
    let change = Change::Release {
        image: args.image.clone(),
        clusters: args.cluster.clusters.clone(),
    };
    record_then_apply(
        &args.project,
        args.target.environment(),
        args.target.service(),
        change,
        &args.change,
    )
}

pub fn rollback(args: &RollbackArgs) -> Result<u8, Failure> {
    let change = Change::Rollback { to: args.to };
    record_then_apply(
        &args.project,
        args.target.environment(),
        args.target.service(),
        change,
        &args.change,
    )
}

pub fn promote(args: &PromoteArgs) -> Result<u8, Failure> {
    let change = Change::Promote {
        from: args.from.clone(),
    };
    record_then_apply(
        &args.project,
        &args.to,
        args.service.required(),
        change,
        &args.change,
    )
}

pub fn pin(args: &PinArgs, pin: bool) -> Result<Vec<u8>, Failure> {
    let change = if pin {
        let reason = args.meta.message.clone().ok_or_else(|| {
            Failure::new(
                crate::exit::Code::Usage,
                "kit pin needs a reason: -m REASON",
            )
        })?;
        Change::Pin { reason }
    } else {
        Change::Unpin
    };
    record(Job {
        project: &args.project,
        environment: args.target.environment().to_owned(),
        service: args.target.service().to_owned(),
        change,
        meta: &args.meta,
        push: &args.push,
        source: None,
    })?;
    Ok(Vec::new())
}

/// One line of `history` or `status`.
struct Row {
    environment: String,
    service: String,
    cluster: Option<String>,
    image: String,
    revision: Option<u64>,
    time: Option<String>,
    author: Option<String>,
    message: Option<String>,
    action: Option<&'static str>,
    source_commit: Option<String>,
    build_url: Option<String>,
    pinned: Option<String>,
    commit: Option<String>,
    build_number: Option<u64>,
    source_repository: Option<String>,
}

fn rows_of(environment: &str, service: &str, r: &Record, commit: Option<&str>) -> Vec<Row> {
    let row = |cluster: Option<&String>, image: &str| Row {
        environment: environment.into(),
        service: service.into(),
        cluster: cluster.cloned(),
        image: image.into(),
        revision: Some(r.revision),
        time: Some(r.time.clone()),
        author: Some(r.author.clone()),
        message: r.message.clone(),
        action: Some(r.action.name()),
        source_commit: r.source_commit.clone(),
        build_url: r.build_url.clone(),
        pinned: r
            .pinned
            .as_ref()
            .map(|p| format!("{} ({})", p.reason, p.by)),
        commit: commit.map(str::to_owned),
        build_number: r.build_number,
        source_repository: r.source_repository.clone(),
    };
    std::iter::once(row(None, &r.image))
        .chain(r.clusters.iter().map(|(c, i)| row(Some(c), i)))
        .collect()
}

fn age(time: Option<&str>) -> String {
    let Some(then) = time.and_then(kit_project::release::time::parse_utc) else {
        return "-".into();
    };
    let now = kit_project::release::time::parse_utc(&kit_project::release::time::now_utc())
        .unwrap_or(then);
    let s = now.saturating_sub(then);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn render_rows(rows: &[Row], format: ListFormat, history: bool) -> String {
    if format == ListFormat::Json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let mut o = serde_json::json!({
                    "environment": r.environment, "service": r.service, "cluster": r.cluster,
                    "image": r.image, "revision": r.revision, "time": r.time, "author": r.author,
                    "message": r.message, "action": r.action, "source_commit": r.source_commit,
                    "build_url": r.build_url, "build_number": r.build_number,
                    "source_repository": r.source_repository, "pinned": r.pinned,
                });
                if history {
                    o["commit"] = serde_json::json!(r.commit);
                }
                o
            })
            .collect();
        return serde_json::to_string_pretty(&items).expect("strings always serialize") + "\n";
    }
    let printable = |s: &str| kit_env::layout::printable(s).to_string();
    let header: &[&str] = if history {
        &[
            "REVISION", "TIME", "CLUSTER", "IMAGE", "AUTHOR", "SOURCE", "ACTION", "MESSAGE",
        ]
    } else {
        &[
            "SERVICE",
            "ENVIRONMENT",
            "CLUSTER",
            "IMAGE",
            "REVISION",
            "AGE",
            "PINNED",
        ]
    };
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
    for r in rows {
        let cluster = r.cluster.clone().unwrap_or_else(|| "*".into());
        let revision = r.revision.map_or("-".into(), |n| n.to_string());
        table.push(if history {
            vec![
                revision,
                printable(r.time.as_deref().unwrap_or_default()),
                printable(&cluster),
                printable(&r.image),
                printable(r.author.as_deref().unwrap_or_default()),
                printable(r.source_commit.as_deref().unwrap_or_default()),
                r.action.unwrap_or("").into(),
                printable(r.message.as_deref().unwrap_or("")),
            ]
        } else {
            vec![
                r.service.clone(),
                r.environment.clone(),
                printable(&cluster),
                printable(&r.image),
                revision,
                age(r.time.as_deref()),
                printable(r.pinned.as_deref().unwrap_or("")),
            ]
        });
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|i| {
            table
                .iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:w$}  ", w = widths[i]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn history(args: &HistoryArgs) -> Result<Vec<u8>, Failure> {
    let project = Project::load(&args.project.project)?;
    let (env, svc) = (args.target.environment(), args.target.service());
    project.environment(env)?;
    project.service(svc)?;
    let repo = Repo::open(&project.dir).map_err(ReleaseError::from)?;
    // A shallow CI clone holds only its last commits: fetch the rest
    // rather than print a history cut at the clone's depth.
    if repo.is_shallow().map_err(ReleaseError::from)? {
        let (remote, branch) = repo.target(None).map_err(|_| {
            Failure::new(
                Code::Release,
                "this checkout is shallow and has no remote branch to fetch the rest of its history from",
            )
            .with_hint("clone with full history (git clone without --depth, actions/checkout with fetch-depth: 0)")
        })?;
        repo.complete_history(&remote, &branch)
            .map_err(ReleaseError::from)?;
    }
    let (versions, skipped) = releasing::history(&repo, "HEAD", env, svc)?;
    if skipped > 0 {
        eprintln!(
            "warning: {skipped} older version(s) of the record of {svc} in {env} could not be read and are left out"
        );
    }
    let rows: Vec<Row> = versions
        .iter()
        .flat_map(|(c, r)| rows_of(env, svc, r, Some(c)))
        .collect();
    Ok(render_rows(&rows, args.format.format(), true).into_bytes())
}

pub fn status(args: &StatusArgs) -> Result<Vec<u8>, Failure> {
    let project = Project::load(&args.project.project)?;
    if let Some(e) = &args.environment.environment {
        project.plan(&kit_project::Selection::All {
            environment: Some(e.clone()),
        })?;
    }
    let mut rows = Vec::new();
    for svc in project.file.services.keys() {
        for env in project.file.environments.keys() {
            // An environment of instances has no releases of its own: its
            // instances run its base's (`kit status -e ENV` lists them).
            if project.instances_of(env).is_some() && project.record(env, svc)?.is_none() {
                continue;
            }
            if args
                .environment
                .environment
                .as_ref()
                .is_some_and(|e| e != env)
            {
                continue;
            }
            match project.record(env, svc)? {
                Some(r) => rows.extend(rows_of(env, svc, &r, None)),
                None => rows.push(Row {
                    environment: env.clone(),
                    service: svc.clone(),
                    cluster: None,
                    image: project.file.services[svc].image.clone().unwrap_or_default(),
                    revision: None,
                    time: None,
                    author: None,
                    message: None,
                    action: None,
                    source_commit: None,
                    build_url: None,
                    pinned: None,
                    commit: None,
                    build_number: None,
                    source_repository: None,
                }),
            }
        }
    }
    Ok(render_rows(&rows, args.format.format(), false).into_bytes())
}
