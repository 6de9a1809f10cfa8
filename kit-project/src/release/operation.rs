//! Recording releases, rollbacks, promotions and pins in the config
//! repository, and reading them back (history, status).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kit_env::Target;

use crate::error::{ProjectError, RenderError};
use crate::pipeline::SecretsOptions;
use crate::project::Project;
use crate::release::git::{GitError, Local, Push, Repo};
use crate::release::{
    Action, ImageError, Pin, Record, image_repository, image_tag, record_path, validate_image,
};
use crate::render::RenderOptions;
use crate::stream::ClusterStream;

/// What to change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A new image, for the whole environment or (with `clusters`) for
    /// those clusters only.
    Release {
        /// The image.
        image: String,
        /// Only these clusters (empty: the environment).
        clusters: Vec<String>,
    },
    /// An earlier revision's images again (default: the revision before the
    /// current one).
    Rollback {
        /// The revision to go back to.
        to: Option<u64>,
    },
    /// Another environment's current image.
    Promote {
        /// The environment to take it from.
        from: String,
    },
    /// Refuse releases until unpinned.
    Pin {
        /// Why.
        reason: String,
    },
    /// Lift a pin.
    Unpin,
}

/// Who, when, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Who (a name, an e-mail address, a CI user).
    pub author: String,
    /// The source commit that was built.
    pub source_commit: Option<String>,
    /// The source repository that was built.
    pub source_repository: Option<String>,
    /// The CI build number (GitHub's run number, GitLab's pipeline id...).
    pub build_number: Option<u64>,
    /// The CI build.
    pub build_url: Option<String>,
    /// Why.
    pub message: Option<String>,
    /// When (UTC, RFC 3339).
    pub time: String,
}

/// Why the commit a release would push does not render.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckFailure {
    /// The project at that commit (kit.yaml, templates...).
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// Its secrets.
    #[error(transparent)]
    Secrets(#[from] kit_env::Error),
    /// Rendering or checking its manifests.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// What can go wrong recording a release.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The repository.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The project (unknown environment or service, a bad record file).
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The image reference.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The service is pinned.
    #[error("{service} is pinned in {environment} by {by} since {time}: {reason}")]
    Pinned {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
        /// Who pinned it.
        by: String,
        /// When.
        time: String,
        /// Why.
        reason: String,
    },
    /// Nothing has been released there yet.
    #[error("{service} has no release in {environment} yet")]
    NotReleased {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
    },
    /// No such revision in the history.
    #[error("{service} in {environment} has no revision {revision} to roll back to")]
    NoSuchRevision {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
        /// The revision asked for.
        revision: u64,
    },
    /// A pin on a service that is not pinned, or an unpin of one that is not.
    #[error("{0}")]
    Pointless(String),
    /// An older build than the one recorded, from the same source.
    #[error(
        "build {build} of {repository} is older than build {current} recorded as revision {revision} of {service} in {environment}"
    )]
    Backwards {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
        /// The source repository.
        repository: String,
        /// The build being released.
        build: u64,
        /// The build recorded.
        current: u64,
        /// Its revision.
        revision: u64,
    },
    /// The image is of another repository than the service's.
    #[error("the image's repository {given} is not {service}'s ({expected}, from {origin})")]
    OtherRepository {
        /// The service.
        service: String,
        /// The repository given.
        given: String,
        /// The service's repository.
        expected: String,
        /// Where that comes from (`kit.yaml` or the current record).
        origin: &'static str,
    },
    /// A tag that names no fixed build.
    #[error("the tag {tag:?} is mutable: it names whatever was pushed last, not one build")]
    MutableTag {
        /// The tag.
        tag: String,
    },
    /// What this operation read changed before it could land.
    #[error(
        "{what} changed while kit was recording (now revision {now}); nothing was recorded: run the command again to act on the new state"
    )]
    Moved {
        /// What changed (`myservicio in production`).
        what: String,
        /// Its revision now.
        now: u64,
    },
    /// The commit kit would push does not render or fails its checks.
    #[error("{error}")]
    Check {
        /// The commit (not pushed).
        commit: String,
        /// Where its files were read from.
        tree: PathBuf,
        /// The project's directory in the checkout (errors name files
        /// there).
        checkout: PathBuf,
        /// What failed.
        error: Box<CheckFailure>,
    },
    /// The revision number would overflow.
    #[error("the revision number of {0} cannot grow any further")]
    RevisionOverflow(String),
    /// [`PushOptions::stop`] was set before anything was pushed.
    #[error("stopped before anything was pushed: nothing was recorded")]
    Stopped,
}

/// One request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The environment.
    pub environment: String,
    /// The service.
    pub service: String,
    /// What to change.
    pub change: Change,
    /// Who, when, why.
    pub meta: Meta,
    /// Release even if pinned, backwards, of another repository or with a
    /// mutable tag.
    pub force: bool,
}

/// A recorded change.
#[derive(Debug)]
pub struct Recorded {
    /// The new record (for a no-op, the current one).
    pub record: Record,
    /// The record it replaced.
    pub previous: Option<Record>,
    /// Its commit.
    pub commit: String,
    /// Pushes tried (1 when nobody raced; 0 when nothing was pushed
    /// because it was already recorded).
    pub tries: u32,
    /// Where it went: (remote, branch); `None` with `--no-push`.
    pub pushed_to: Option<(String, String)>,
    /// Already recorded as the current revision: nothing was committed.
    pub already: bool,
    /// What became of the checkout.
    pub local: Local,
    /// What was checked: each affected cluster's stream, rendered from the
    /// pushed commit's files (empty when the operation renders nothing).
    pub streams: Vec<ClusterStream>,
    /// The secret values of that render, for messages about its objects.
    pub masker: crate::Masker,
    /// kit.yaml at the pushed commit (contexts for the apply).
    pub project: Option<Project>,
}

/// Every readable version of a service's record in the history of `rev`,
/// newest first, with its commit, and how many versions could not be read
/// (from a newer kit, a merge-conflict, a bad edit): those are left out of
/// history and rollback, never fatal.
pub fn versions(
    repo: &Repo,
    rev: &str,
    environment: &str,
    service: &str,
) -> Result<(Vec<(String, Record)>, usize), ReleaseError> {
    let rel = record_path(environment, service);
    let mut skipped = 0;
    let mut out = Vec::new();
    for (c, text) in repo.versions(rev, &rel)? {
        match Record::parse(&text, &rel) {
            Ok(r) => out.push((c, r)),
            Err(_) => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// The releases of a service (pins left out), newest first, and how many
/// versions could not be read.
pub fn history(
    repo: &Repo,
    rev: &str,
    environment: &str,
    service: &str,
) -> Result<(Vec<(String, Record)>, usize), ReleaseError> {
    let (v, skipped) = versions(repo, rev, environment, service)?;
    Ok((
        v.into_iter()
            .filter(|(_, r)| r.action != Action::Pin)
            .collect(),
        skipped,
    ))
}

/// The record of `service` in `environment` at `commit`: read as a blob,
/// refused when the tree holds a link there.
pub fn record_at(
    repo: &Repo,
    commit: &str,
    environment: &str,
    service: &str,
) -> Result<Option<Record>, ReleaseError> {
    let rel = record_path(environment, service);
    match repo.show_file(commit, &rel, crate::release::MAX_RECORD_BYTES)? {
        None => Ok(None),
        Some(Err(why)) => Err(ProjectError::UnsafePath {
            path: rel,
            reason: why.into(),
        }
        .into()),
        Some(Ok(text)) => Ok(Some(Record::parse(&text, &rel)?)),
    }
}

/// What `req` makes of the state at `tip`: the new record, or `None` when
/// it is already recorded (same images, same source commit).
fn next_record(
    project: &Project,
    repo: &Repo,
    tip: &str,
    req: &Request,
    current: Option<&Record>,
) -> Result<Option<Record>, ReleaseError> {
    let (env, svc) = (&req.environment, &req.service);
    let e = project.environment(env)?;
    let service = project.service(svc)?;
    let what = format!("{svc} in {env}");
    let pinned = current.and_then(|r| r.pinned.clone());
    let changes_image = !matches!(req.change, Change::Pin { .. } | Change::Unpin);
    if let (Some(p), true, false) = (&pinned, changes_image, req.force) {
        return Err(ReleaseError::Pinned {
            environment: env.clone(),
            service: svc.clone(),
            by: p.by.clone(),
            time: p.time.clone(),
            reason: p.reason.clone(),
        });
    }
    let not_released = || ReleaseError::NotReleased {
        environment: env.clone(),
        service: svc.clone(),
    };
    // Revisions never repeat: one more than any the history holds (a
    // deleted record starts again above its last revision).
    let past = if changes_image {
        history(repo, tip, env, svc)?.0
    } else {
        Vec::new()
    };
    let highest = past
        .iter()
        .map(|(_, r)| r.revision)
        .chain(current.map(|r| r.revision))
        .max()
        .unwrap_or(0);
    let next_revision = highest
        .checked_add(1)
        .ok_or_else(|| ReleaseError::RevisionOverflow(what.clone()))?;
    let base = |action: Action, image: String, clusters, message: Option<String>| Record {
        revision: next_revision,
        image,
        clusters,
        time: req.meta.time.clone(),
        author: req.meta.author.clone(),
        source_commit: req.meta.source_commit.clone(),
        source_repository: req.meta.source_repository.clone(),
        build_number: req.meta.build_number,
        build_url: req.meta.build_url.clone(),
        restores: None,
        message,
        action,
        pinned: pinned.clone(),
    };
    let with_why = |why: String| {
        Some(match &req.meta.message {
            Some(m) => format!("{why}: {m}"),
            None => why,
        })
    };
    let record = match &req.change {
        Change::Release { image, clusters } => {
            validate_image(image)?;
            for c in clusters {
                if !e.clusters.contains_key(c) {
                    return Err(ProjectError::UnknownCluster {
                        environment: env.clone(),
                        name: c.clone(),
                        known: e.clusters.keys().cloned().collect::<Vec<_>>().join(", "),
                    }
                    .into());
                }
            }
            if let Some(cur) = current {
                let same_images = if clusters.is_empty() {
                    cur.image == *image && cur.clusters.is_empty()
                } else {
                    clusters.iter().all(|c| cur.image_for(c) == image)
                };
                if same_images && cur.source_commit == req.meta.source_commit {
                    return Ok(None);
                }
            }
            if !req.force {
                sane_image(project, svc, service, image, current)?;
                if let (Some(cur), Some(build), Some(repo_name)) = (
                    current,
                    req.meta.build_number,
                    req.meta.source_repository.as_ref(),
                ) && let (Some(recorded), Some(cur_repo)) =
                    (cur.build_number, cur.source_repository.as_ref())
                    && cur_repo == repo_name
                    && build < recorded
                {
                    return Err(ReleaseError::Backwards {
                        environment: env.clone(),
                        service: svc.clone(),
                        repository: repo_name.clone(),
                        build,
                        current: recorded,
                        revision: cur.revision,
                    });
                }
            }
            if clusters.is_empty() {
                base(
                    Action::Release,
                    image.clone(),
                    Default::default(),
                    req.meta.message.clone(),
                )
            } else {
                let (env_image, mut per_cluster) = match current {
                    Some(r) => (r.image.clone(), r.clusters.clone()),
                    None => (
                        service.image.clone().ok_or_else(not_released)?,
                        Default::default(),
                    ),
                };
                for c in clusters {
                    per_cluster.insert(c.clone(), image.clone());
                }
                per_cluster.retain(|_, i| *i != env_image);
                base(
                    Action::Release,
                    env_image,
                    per_cluster,
                    req.meta.message.clone(),
                )
            }
        }
        Change::Rollback { to } => {
            let current = current.ok_or_else(not_released)?;
            // Walk back: from the revision the current record came from,
            // so consecutive rollbacks go further back instead of
            // flipping between two states.
            let from = current.restores.unwrap_or(current.revision);
            let wanted = to.unwrap_or(from.saturating_sub(1));
            let (_, old) = past
                .iter()
                .find(|(_, r)| r.revision == wanted && wanted != current.revision)
                .ok_or(ReleaseError::NoSuchRevision {
                    environment: env.clone(),
                    service: svc.clone(),
                    revision: wanted,
                })?;
            let mut r = base(
                Action::Rollback,
                old.image.clone(),
                old.clusters.clone(),
                with_why(format!("rollback to revision {wanted}")),
            );
            r.restores = Some(old.restores.unwrap_or(wanted));
            // The build restored is the old one: keep its provenance.
            r.source_commit = old.source_commit.clone();
            r.source_repository = old.source_repository.clone();
            r.build_number = old.build_number;
            r
        }
        Change::Promote { from } => {
            project.environment(from)?;
            let source =
                record_at(repo, tip, from, svc)?.ok_or_else(|| ReleaseError::NotReleased {
                    environment: from.clone(),
                    service: svc.clone(),
                })?;
            let mut r = base(
                Action::Promote,
                source.image.clone(),
                Default::default(),
                with_why(format!("promote from {from} revision {}", source.revision)),
            );
            r.source_commit = source.source_commit.clone();
            r.source_repository = source.source_repository.clone();
            r.build_number = source.build_number;
            r
        }
        Change::Pin { reason } => {
            let mut r = match current {
                Some(c) => c.clone(),
                // Before the first release, a pin holds kit.yaml's image.
                None => {
                    let image = service.image.clone().ok_or_else(|| {
                        ReleaseError::Pointless(format!(
                            "{svc} has no release in {env} and no image in kit.yaml: nothing to pin"
                        ))
                    })?;
                    base(Action::Pin, image, Default::default(), None)
                }
            };
            if let Some(p) = &r.pinned {
                return Err(ReleaseError::Pointless(format!(
                    "{svc} is already pinned in {env} by {}: {}",
                    p.by, p.reason
                )));
            }
            r.pinned = Some(Pin {
                reason: reason.clone(),
                by: req.meta.author.clone(),
                time: req.meta.time.clone(),
            });
            r.action = Action::Pin;
            r
        }
        Change::Unpin => {
            let mut r = current.cloned().ok_or_else(not_released)?;
            if r.pinned.take().is_none() {
                return Err(ReleaseError::Pointless(format!(
                    "{svc} is not pinned in {env}"
                )));
            }
            r.action = Action::Pin;
            r
        }
    };
    Ok(Some(record))
}

/// Refuses an image of another repository than the service's, and tags
/// that name no fixed build, unless kit.yaml allows them.
fn sane_image(
    project: &Project,
    svc: &str,
    service: &crate::model::Service,
    image: &str,
    current: Option<&Record>,
) -> Result<(), ReleaseError> {
    let given = image_repository(image);
    let expected = match (current, &service.image) {
        (Some(r), _) => Some((image_repository(&r.image), "the current record")),
        (None, Some(i)) => Some((image_repository(i), "kit.yaml")),
        (None, None) => None,
    };
    if let Some((expected, origin)) = expected
        && expected != given
    {
        return Err(ReleaseError::OtherRepository {
            service: svc.into(),
            given: given.into(),
            expected: expected.into(),
            origin,
        });
    }
    if !project.file.allow_mutable_tags
        && let Some(tag) = image_tag(image)
        && !image.contains('@')
        && MUTABLE_TAGS.contains(&tag.to_ascii_lowercase().as_str())
    {
        return Err(ReleaseError::MutableTag { tag: tag.into() });
    }
    Ok(())
}

/// Tags that, by convention, move to each new build.
const MUTABLE_TAGS: &[&str] = &["latest", "stable", "main", "master", "edge", "nightly"];

/// The commit message: a subject for people, trailers for tools.
fn message(req: &Request, r: &Record) -> String {
    let verb = match &req.change {
        Change::Pin { .. } => "pin",
        Change::Unpin => "unpin",
        Change::Rollback { .. } => "roll back",
        Change::Promote { .. } => "promote",
        Change::Release { .. } => "release",
    };
    let revision = match &req.change {
        Change::Pin { .. } | Change::Unpin => String::new(),
        _ => format!(" (revision {})", r.revision),
    };
    let mut m = format!(
        "kit: {verb} {} in {}{revision}\n\n",
        req.service, req.environment
    );
    if let Some(text) = &r.message {
        m.push_str(text);
        m.push_str("\n\n");
    }
    m.push_str(&format!(
        "Kit-Environment: {}\nKit-Service: {}\nKit-Action: {}\nKit-Revision: {}\nKit-Image: {}\n",
        req.environment,
        req.service,
        r.action.name(),
        r.revision,
        r.image
    ));
    for (c, image) in &r.clusters {
        m.push_str(&format!("Kit-Cluster-Image: {c}={image}\n"));
    }
    m
}

/// Options of the commit-and-push loop.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Push to the remote (else commit on the local branch only).
    pub push: bool,
    /// Tries before giving up.
    pub tries: u32,
    /// The remote branch to release onto (default: the upstream of the
    /// current branch, or on a detached HEAD the branch it was checked out
    /// from, else the remote's default).
    pub branch: Option<String>,
    /// Set (by a signal handler, say) to stop: read before each commit and
    /// during the pause between tries. A push that has started is waited
    /// for and its outcome returned, never abandoned half known.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            push: true,
            tries: 20,
            branch: None,
            stop: None,
        }
    }
}

impl PushOptions {
    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// Pauses `d`, waking early when stopped.
    fn pause(&self, d: Duration) -> Result<(), ReleaseError> {
        let end = std::time::Instant::now() + d;
        loop {
            if self.stopped() {
                return Err(ReleaseError::Stopped);
            }
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(Duration::from_millis(20)));
        }
    }
}

/// How a release checks what it records: the secrets it resolves and the
/// render options, exactly those its apply uses.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Secrets.
    pub secrets: SecretsOptions,
    /// Rendering.
    pub render: RenderOptions,
}

/// A release, rollback, promotion or pin as one operation: on the remote
/// branch's tip, the new record is written into that commit's files, every
/// affected target is rendered and checked from those files (never from
/// the working tree), and only then is the commit made and pushed as a
/// fast-forward. A rejected push (another release landed first) starts
/// again on the new tip, check included; a rollback or promotion whose
/// records changed in between fails instead (it would act on a state it did
/// not read). Retried CI jobs add nothing: what is already recorded is a
/// no-op. On success, the checkout is fast-forwarded when it can be.
///
/// `check`: `None` renders nothing (pins, which change no image).
pub async fn run(
    project_dir: &Path,
    repo: &Repo,
    req: &Request,
    opts: &PushOptions,
    check: Option<&CheckOptions>,
) -> Result<Recorded, ReleaseError> {
    let target = if opts.push {
        Some(repo.target(opts.branch.as_deref())?)
    } else {
        None
    };
    if let Some((remote, branch)) = &target {
        // Revisions and rollbacks need the whole history, whatever depth
        // the CI cloned (the loop below fetches the tip itself).
        repo.complete_history(remote, branch)?;
    }
    let identity: Vec<(&str, &str)> = if repo.config("user.email").is_some() {
        Vec::new()
    } else {
        vec![
            ("GIT_AUTHOR_NAME", "kit"),
            ("GIT_AUTHOR_EMAIL", "kit@localhost"),
            ("GIT_COMMITTER_NAME", "kit"),
            ("GIT_COMMITTER_EMAIL", "kit@localhost"),
        ]
    };
    let rel = record_path(&req.environment, &req.service);
    // What a rollback or promotion read first: it must still hold.
    let mut first_read: Option<(Option<u64>, Option<u64>)> = None;
    let mut secrets_cache: Option<(Vec<Target>, Vec<kit_env::Resolution>)> = None;
    for attempt in 1..=opts.tries.max(1) {
        let tip = match &target {
            Some((remote, branch)) => repo.fetch(remote, branch)?,
            None => repo.head()?,
        };
        let tip_file = load_file_at(repo, &tip)?;
        let mut exclude = Vec::new();
        if let Some(d) = Project::local_secrets_dir(&tip_file) {
            exclude.push(d);
        }
        let tree = repo.materialize(&tip, &exclude)?;
        let fail = |error: CheckFailure, commit: &str| ReleaseError::Check {
            commit: commit.to_owned(),
            tree: tree.project.clone(),
            checkout: project_dir.to_owned(),
            error: Box::new(error),
        };
        let project =
            Project::load_tree(&tree.project, project_dir).map_err(|e| fail(e.into(), &tip))?;
        let current = record_at(repo, &tip, &req.environment, &req.service)?;
        let source_rev = match &req.change {
            Change::Promote { from } => {
                record_at(repo, &tip, from, &req.service)?.map(|r| r.revision)
            }
            _ => None,
        };
        let read = (current.as_ref().map(|r| r.revision), source_rev);
        match (&first_read, &req.change) {
            (None, _) => first_read = Some(read),
            (Some(first), Change::Rollback { .. } | Change::Promote { .. }) if *first != read => {
                let (what, now) = if first.0 != read.0 {
                    (
                        format!("{} in {}", req.service, req.environment),
                        read.0.unwrap_or(0),
                    )
                } else {
                    let Change::Promote { from } = &req.change else {
                        unreachable!("only promotions read a second record")
                    };
                    (format!("{} in {from}", req.service), read.1.unwrap_or(0))
                };
                return Err(ReleaseError::Moved { what, now });
            }
            _ => {}
        }
        let next = next_record(&project, repo, &tip, req, current.as_ref())?;
        let already = next.is_none();
        let record = match next {
            Some(r) => {
                let path = tree.project.join(&rel);
                let io = |e: std::io::Error| {
                    fail(
                        ProjectError::Io {
                            path: path.clone(),
                            source: e,
                        }
                        .into(),
                        &tip,
                    )
                };
                std::fs::create_dir_all(path.parent().expect("a record has a folder"))
                    .map_err(io)?;
                // A link in the commit's tree is replaced, never followed.
                let _ = std::fs::remove_file(&path);
                std::fs::write(&path, r.to_yaml()).map_err(io)?;
                r
            }
            None => current.clone().expect("only a recorded state is a no-op"),
        };
        let (streams, masker) = match check {
            Some(c) => {
                let clusters = match &req.change {
                    Change::Release { clusters, .. } => clusters.as_slice(),
                    _ => &[],
                };
                render_affected(&project, req, clusters, c, &mut secrets_cache)
                    .await
                    .map_err(|e| fail(e, &tip))?
            }
            None => (Vec::new(), crate::Masker::default()),
        };
        let project = Project {
            dir: project_dir.to_owned(),
            ..project
        };
        if already {
            return Ok(Recorded {
                record,
                previous: current,
                commit: tip,
                tries: 0,
                pushed_to: target,
                already: true,
                local: Local::Stayed(String::new()),
                streams,
                masker: masker.clone(),
                project: Some(project),
            });
        }
        if opts.stopped() {
            return Err(ReleaseError::Stopped);
        }
        let commit = repo.commit_file(
            &tip,
            &rel,
            &record.to_yaml(),
            &message(req, &record),
            &identity,
        )?;
        let landed = match &target {
            Some((remote, branch)) => repo.push(remote, &commit, branch)? == Push::Pushed,
            None => true,
        };
        if landed {
            let local = match &target {
                Some((remote, branch)) => repo.follow(&commit, remote, branch)?,
                None => repo.follow_local(&commit)?,
            };
            return Ok(Recorded {
                record,
                previous: current,
                commit,
                tries: attempt,
                pushed_to: target,
                already: false,
                local,
                streams,
                masker: masker.clone(),
                project: Some(project),
            });
        }
        drop(tree);
        opts.pause(backoff(attempt))?;
    }
    Err(GitError::Rejected {
        remote: target.map(|(r, _)| r).unwrap_or_default(),
        tries: opts.tries,
    }
    .into())
}

/// kit.yaml as `commit` has it.
fn load_file_at(repo: &Repo, commit: &str) -> Result<crate::model::ProjectFile, ReleaseError> {
    let rel = Path::new(crate::model::PROJECT_FILE);
    let text = match repo.show_file(commit, rel, crate::yaml::input::MAX_YAML_BYTES as usize)? {
        Some(Ok(t)) => t,
        Some(Err(why)) => {
            return Err(ProjectError::UnsafePath {
                path: rel.to_owned(),
                reason: why.into(),
            }
            .into());
        }
        None => {
            return Err(ProjectError::Invalid {
                path: rel.to_owned(),
                message: format!("the commit {} has no {}", short(commit), rel.display()),
            }
            .into());
        }
    };
    Ok(crate::yaml::input::parse_yaml(&text, rel)?)
}

/// The first 12 digits of a commit.
pub fn short(commit: &str) -> &str {
    &commit[..12.min(commit.len())]
}

/// Renders and checks every target of the request's service in its
/// environment (on `clusters`, else wherever it is enabled).
async fn render_affected(
    project: &Project,
    req: &Request,
    clusters: &[String],
    check: &CheckOptions,
    cache: &mut Option<(Vec<Target>, Vec<kit_env::Resolution>)>,
) -> Result<(Vec<ClusterStream>, crate::Masker), CheckFailure> {
    let all = project.plan(&crate::Selection::All {
        environment: Some(req.environment.clone()),
    })?;
    let targets: Vec<Target> = all
        .targets
        .into_iter()
        .filter(|t| {
            t.service == req.service && (clusters.is_empty() || clusters.contains(&t.cluster))
        })
        .collect();
    let secrets = match cache {
        Some((t, s)) if *t == targets => s.clone(),
        _ => {
            let resolver = project.secrets_resolver(&check.secrets).await?;
            let plan = crate::Plan {
                targets: targets.clone(),
            };
            let s = plan.resolve(&resolver).await?;
            *cache = Some((targets, s.clone()));
            s
        }
    };
    let rendered = crate::render(project, &secrets, check.render.clone(), &|| {})?;
    let masker = rendered.masker().clone();
    Ok((rendered.streams()?, masker))
}

/// 50 ms doubling to 800 ms, with up to the same again at random.
fn backoff(attempt: u32) -> Duration {
    let base = 50u64 << attempt.min(4);
    let noise = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64)
        ^ (std::process::id() as u64).wrapping_mul(0x9E37_79B9);
    Duration::from_millis(base + noise % (base + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stop set before the commit records nothing; the same run without
    /// it commits (real git, a copy of the demo, `--no-push`).
    #[test]
    fn a_stop_before_the_commit_records_nothing() {
        let dir = std::env::temp_dir().join(format!("kit-stop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo");
        let sh = |cmd: &str| {
            let ok = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "{cmd}");
        };
        std::fs::create_dir_all(&dir).unwrap();
        sh(&format!(
            "cp -R '{}/.' . && git init -q -b main && git add -A && git -c user.name=t -c user.email=t@e commit -q -m seed",
            demo.display()
        ));
        let repo = Repo::open(&dir).unwrap();
        let head = repo.head().unwrap();
        let req = Request {
            environment: "production".into(),
            service: "myservicio".into(),
            change: Change::Release {
                image: "registry.example.com/shop/myservicio:9.0".into(),
                clusters: Vec::new(),
            },
            meta: Meta {
                author: "t".into(),
                time: crate::release::time::now_utc(),
                ..Meta::default()
            },
            force: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(true));
        let opts = PushOptions {
            push: false,
            stop: Some(Arc::clone(&stop)),
            ..PushOptions::default()
        };
        let r = rt.block_on(run(&dir, &repo, &req, &opts, None));
        assert!(matches!(r, Err(ReleaseError::Stopped)), "{r:?}");
        assert_eq!(repo.head().unwrap(), head);
        stop.store(false, Ordering::SeqCst);
        let r = rt.block_on(run(&dir, &repo, &req, &opts, None)).unwrap();
        assert_eq!(r.record.revision, 1);
        assert_ne!(repo.head().unwrap(), head);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
