//! Recording releases, rollbacks, promotions and pins in the config
//! repository, and reading them back (history, status).

use std::path::Path;
use std::time::Duration;

use crate::error::ProjectError;
use crate::git::{GitError, Push, Repo};
use crate::project::Project;
use crate::release::{Action, ImageError, Pin, Record, record_path, validate_image};

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
    /// The CI build.
    pub build_url: Option<String>,
    /// Why.
    pub message: Option<String>,
    /// When (UTC, RFC 3339).
    pub time: String,
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
    /// Release even if pinned.
    pub force: bool,
}

/// A recorded change.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The new record.
    pub record: Record,
    /// Its commit.
    pub commit: String,
    /// Pushes tried (1 when nobody raced).
    pub tries: u32,
}

/// Every version of a service's record in the history of `rev`, newest
/// first, with its commit.
pub fn versions(
    repo: &Repo,
    rev: &str,
    environment: &str,
    service: &str,
) -> Result<Vec<(String, Record)>, ReleaseError> {
    let rel = record_path(environment, service);
    repo.versions(rev, &rel)?
        .into_iter()
        .map(|(c, text)| Ok((c, Record::parse(&text, &rel)?)))
        .collect()
}

/// The releases of a service (pins left out), newest first.
pub fn history(
    repo: &Repo,
    rev: &str,
    environment: &str,
    service: &str,
) -> Result<Vec<(String, Record)>, ReleaseError> {
    Ok(versions(repo, rev, environment, service)?
        .into_iter()
        .filter(|(_, r)| r.action != Action::Pin)
        .collect())
}

/// The record `req` makes from the state at `commit` (`None`: the project
/// directory as it is).
pub fn next_record(
    project: &Project,
    repo: &Repo,
    commit: Option<&str>,
    req: &Request,
) -> Result<Record, ReleaseError> {
    let (env, svc) = (&req.environment, &req.service);
    let e = project.environment(env)?;
    project.service(svc)?;
    let rel = record_path(env, svc);
    let current = match commit {
        Some(c) => repo
            .show(c, &rel)?
            .map(|t| Record::parse(&t, &rel))
            .transpose()?,
        None => project.record(env, svc)?,
    };
    let pinned = current.as_ref().and_then(|r| r.pinned.clone());
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
    let next_revision = current.as_ref().map_or(1, |r| r.revision + 1);
    let base = |action: Action, image: String, clusters, message: Option<String>| Record {
        revision: next_revision,
        image,
        clusters,
        time: req.meta.time.clone(),
        author: req.meta.author.clone(),
        source_commit: req.meta.source_commit.clone(),
        build_url: req.meta.build_url.clone(),
        message,
        action,
        pinned: pinned.clone(),
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
            if clusters.is_empty() {
                base(
                    Action::Release,
                    image.clone(),
                    Default::default(),
                    req.meta.message.clone(),
                )
            } else {
                let (env_image, mut per_cluster) = match &current {
                    Some(r) => (r.image.clone(), r.clusters.clone()),
                    None => (
                        project.file.services[svc]
                            .image
                            .clone()
                            .ok_or_else(not_released)?,
                        Default::default(),
                    ),
                };
                for c in clusters {
                    per_cluster.insert(c.clone(), image.clone());
                }
                base(
                    Action::Release,
                    env_image,
                    per_cluster,
                    req.meta.message.clone(),
                )
            }
        }
        Change::Rollback { to } => {
            let current = current.as_ref().ok_or_else(not_released)?;
            let past = history(repo, commit.unwrap_or("HEAD"), env, svc)?;
            let wanted = to.unwrap_or(current.revision.saturating_sub(1));
            let (_, old) = past
                .iter()
                .find(|(_, r)| r.revision == wanted && wanted != current.revision)
                .ok_or(ReleaseError::NoSuchRevision {
                    environment: env.clone(),
                    service: svc.clone(),
                    revision: wanted,
                })?;
            let why = format!("rollback to revision {wanted}");
            let message = Some(match &req.meta.message {
                Some(m) => format!("{why}: {m}"),
                None => why,
            });
            base(
                Action::Rollback,
                old.image.clone(),
                old.clusters.clone(),
                message,
            )
        }
        Change::Promote { from } => {
            project.environment(from)?;
            let source = match commit {
                Some(c) => {
                    let rel_from = record_path(from, svc);
                    repo.show(c, &rel_from)?
                        .map(|t| Record::parse(&t, &rel_from))
                        .transpose()?
                }
                None => project.record(from, svc)?,
            }
            .ok_or_else(|| ReleaseError::NotReleased {
                environment: from.clone(),
                service: svc.clone(),
            })?;
            let why = format!("promote from {from} revision {}", source.revision);
            let message = Some(match &req.meta.message {
                Some(m) => format!("{why}: {m}"),
                None => why,
            });
            base(
                Action::Promote,
                source.image.clone(),
                Default::default(),
                message,
            )
        }
        Change::Pin { reason } => {
            let mut r = current.clone().ok_or_else(not_released)?;
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
            let mut r = current.clone().ok_or_else(not_released)?;
            if r.pinned.take().is_none() {
                return Err(ReleaseError::Pointless(format!(
                    "{svc} is not pinned in {env}"
                )));
            }
            r.action = Action::Pin;
            r
        }
    };
    Ok(record)
}

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
    /// Push to the upstream (else commit on the local branch only).
    pub push: bool,
    /// Tries before giving up.
    pub tries: u32,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            push: true,
            tries: 20,
        }
    }
}

/// Records `req` in the repository: on the upstream's tip, pushed as a
/// fast-forward, retried from the new tip with jittered back-off when
/// another push landed first. `check` sees every record before it is
/// committed (kit renders with it); an error there records nothing. On
/// success the local branch moves forward to the new commit when it can.
pub fn record(
    project: &Project,
    repo: &Repo,
    req: &Request,
    opts: &PushOptions,
    check: &mut dyn FnMut(&Record) -> Result<(), ReleaseError>,
) -> Result<Recorded, ReleaseError> {
    let dirty = repo.dirty(Path::new(crate::release::RELEASES_DIR))?;
    if !dirty.is_empty() {
        return Err(GitError::Dirty(dirty).into());
    }
    let upstream = if opts.push {
        Some(repo.upstream()?)
    } else {
        None
    };
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
    let mut checked: Option<Record> = None;
    for attempt in 1..=opts.tries.max(1) {
        let tip = match &upstream {
            Some((remote, branch)) => repo.fetch(remote, branch)?,
            None => repo.head()?,
        };
        let record = next_record(project, repo, Some(&tip), req)?;
        let same_images = checked
            .as_ref()
            .is_some_and(|c| c.image == record.image && c.clusters == record.clusters);
        if !same_images {
            check(&record)?;
            checked = Some(record.clone());
        }
        let commit = repo.commit_file(
            &tip,
            &rel,
            &record.to_yaml(),
            &message(req, &record),
            &identity,
        )?;
        let landed = match &upstream {
            Some((remote, branch)) => repo.push(remote, &commit, branch)? == Push::Pushed,
            None => true,
        };
        if landed {
            repo.fast_forward(&commit)?;
            return Ok(Recorded {
                record,
                commit,
                tries: attempt,
            });
        }
        std::thread::sleep(backoff(attempt));
    }
    Err(GitError::Rejected {
        remote: upstream.map(|(r, _)| r).unwrap_or_default(),
        tries: opts.tries,
    }
    .into())
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

/// Now, in UTC, as RFC 3339 (`2026-11-25T23:20:00Z`).
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// A Unix time as RFC 3339 UTC.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses what [`format_utc`] writes back into a Unix time.
pub fn parse_utc(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_round_trip() {
        for secs in [0, 951_782_400, 1_764_112_800, 4_102_444_799] {
            assert_eq!(parse_utc(&format_utc(secs)), Some(secs), "{secs}");
        }
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_utc("2026-11-25 23:20:00"), None);
    }
}
