//! The config repository, through the `git` program the CI already has
//! configured (credentials, SSH, tokens: kit stores none).
//!
//! kit never edits the working tree while it races other releases: each
//! attempt builds a commit on the remote's current tip with plumbing
//! (`hash-object`, a temporary index, `commit-tree`) and pushes it as a
//! fast-forward. A rejected push means another release landed first; the
//! next attempt starts again from the new tip. History stays linear, and no
//! update is ever lost or merged.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What went wrong with git.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// The `git` program is not installed.
    #[error("the git program was not found")]
    NotFound,
    /// The project is not inside a git checkout.
    #[error("{} is not inside a git checkout", .0.display())]
    NotACheckout(PathBuf),
    /// The current branch has no upstream to push to.
    #[error("the current branch has no upstream branch to push to")]
    NoUpstream,
    /// Tracked files under `releases/` have changes that are not committed.
    #[error("tracked files under releases/ have uncommitted changes: {}", .0.join(", "))]
    Dirty(Vec<String>),
    /// The push was still rejected after the last try.
    #[error(
        "the push to '{remote}' was still rejected after {tries} tries (other releases kept landing first)"
    )]
    Rejected {
        /// The remote.
        remote: String,
        /// How many tries.
        tries: u32,
    },
    /// A git command failed.
    #[error("git {command} failed: {stderr}")]
    Failed {
        /// The command, without arguments that could be long.
        command: String,
        /// What git said (its last lines).
        stderr: String,
    },
}

/// A checkout holding a kit project.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The project directory.
    dir: PathBuf,
    /// The project's path inside the repository (`""` or ending in `/`).
    prefix: String,
}

/// The outcome of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// The remote took it.
    Pushed,
    /// Not a fast-forward any more: someone else pushed first.
    Rejected,
}

fn last_lines(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

impl Repo {
    /// The checkout around `project_dir`.
    pub fn open(project_dir: &Path) -> Result<Repo, GitError> {
        let probe = Repo {
            dir: project_dir.to_owned(),
            prefix: String::new(),
        };
        let out = probe
            .raw(&["rev-parse", "--show-prefix"], None, &[])
            .map_err(|e| match e {
                GitError::Failed { .. } => GitError::NotACheckout(project_dir.to_owned()),
                e => e,
            })?;
        Ok(Repo {
            dir: project_dir.to_owned(),
            prefix: out.trim_end_matches('\n').to_owned(),
        })
    }

    /// `rel` (relative to the project) as a path inside the repository.
    pub fn repo_path(&self, rel: &Path) -> String {
        format!("{}{}", self.prefix, rel.display())
    }

    /// `rel` as a pathspec, whatever folder git runs in.
    fn pathspec(&self, rel: &Path) -> String {
        format!(":(top){}", self.repo_path(rel))
    }

    fn raw(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<String, GitError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.dir)
            .args(args)
            .envs(env.iter().copied())
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GitError::NotFound,
            _ => GitError::Failed {
                command: args[0].into(),
                stderr: e.to_string(),
            },
        })?;
        if let Some(input) = stdin {
            let mut w = child.stdin.take().expect("piped");
            let _ = w.write_all(input);
        }
        let out = child.wait_with_output().map_err(|e| GitError::Failed {
            command: args[0].into(),
            stderr: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(GitError::Failed {
                command: args[0].into(),
                stderr: last_lines(&out.stderr),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn git(&self, args: &[&str]) -> Result<String, GitError> {
        self.raw(args, None, &[])
    }

    /// The upstream of the current branch: (remote, branch).
    pub fn upstream(&self) -> Result<(String, String), GitError> {
        let up = self
            .git(&["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"])
            .map_err(|_| GitError::NoUpstream)?;
        let up = up.trim();
        let remote = self
            .git(&[
                "config",
                "--get",
                &format!("branch.{}.remote", self.branch()?),
            ])
            .map_err(|_| GitError::NoUpstream)?
            .trim()
            .to_owned();
        let branch = up
            .strip_prefix(&format!("{remote}/"))
            .ok_or(GitError::NoUpstream)?
            .to_owned();
        Ok((remote, branch))
    }

    fn branch(&self) -> Result<String, GitError> {
        Ok(self
            .git(&["rev-parse", "--abbrev-ref", "HEAD"])?
            .trim()
            .to_owned())
    }

    /// Tracked files under the project's `releases/` with uncommitted
    /// changes.
    pub fn dirty(&self, rel: &Path) -> Result<Vec<String>, GitError> {
        let out = self.git(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            &self.pathspec(rel),
        ])?;
        Ok(out
            .lines()
            .map(|l| l.get(3..).unwrap_or(l).to_owned())
            .collect())
    }

    /// The commit of `HEAD`.
    pub fn head(&self) -> Result<String, GitError> {
        Ok(self.git(&["rev-parse", "HEAD"])?.trim().to_owned())
    }

    /// Fetches `branch` from `remote`; returns its tip.
    pub fn fetch(&self, remote: &str, branch: &str) -> Result<String, GitError> {
        self.git(&["fetch", "--quiet", "--no-tags", remote, branch])?;
        Ok(self.git(&["rev-parse", "FETCH_HEAD"])?.trim().to_owned())
    }

    /// The text of `rel` (relative to the project) at `commit`, if it exists
    /// there.
    pub fn show(&self, commit: &str, rel: &Path) -> Result<Option<String>, GitError> {
        let spec = format!("{commit}:{}", self.repo_path(rel));
        match self.git(&["cat-file", "-e", &spec]) {
            Ok(_) => Ok(Some(self.git(&["cat-file", "blob", &spec])?)),
            Err(_) => Ok(None),
        }
    }

    /// A commit on `parent` that sets `rel` to `content`, made without
    /// touching the working tree or the index.
    pub fn commit_file(
        &self,
        parent: &str,
        rel: &Path,
        content: &str,
        message: &str,
        identity: &[(&str, &str)],
    ) -> Result<String, GitError> {
        let blob = self.raw(
            &["hash-object", "-w", "--stdin"],
            Some(content.as_bytes()),
            &[],
        )?;
        let index = std::env::temp_dir().join(format!(
            "kit-index-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let index_s = index.display().to_string();
        let env = [("GIT_INDEX_FILE", index_s.as_str())];
        let result = (|| {
            self.raw(&["read-tree", parent], None, &env)?;
            let info = format!("100644,{},{}", blob.trim(), self.repo_path(rel));
            self.raw(&["update-index", "--add", "--cacheinfo", &info], None, &env)?;
            let tree = self.raw(&["write-tree"], None, &env)?;
            let mut env2: Vec<(&str, &str)> = identity.to_vec();
            env2.extend(env);
            self.raw(
                &["commit-tree", tree.trim(), "-p", parent, "-F", "-"],
                Some(message.as_bytes()),
                &env2,
            )
        })();
        let _ = std::fs::remove_file(&index);
        Ok(result?.trim().to_owned())
    }

    /// Pushes `commit` to `remote`'s `branch` as a fast-forward (never
    /// forced).
    pub fn push(&self, remote: &str, commit: &str, branch: &str) -> Result<Push, GitError> {
        let refspec = format!("{commit}:refs/heads/{branch}");
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(["push", "--porcelain", remote, &refspec])
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| GitError::Failed {
                command: "push".into(),
                stderr: e.to_string(),
            })?;
        if out.status.success() {
            return Ok(Push::Pushed);
        }
        // --porcelain reports each ref on stdout: "!<TAB>from:to<TAB>[rejected] (fetch first)".
        let all = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let raced = [
            "[rejected]",
            "non-fast-forward",
            "fetch first",
            "cannot lock ref",
            "failed to update ref",
            "incorrect old value",
        ];
        if raced.iter().any(|w| all.contains(w)) {
            return Ok(Push::Rejected);
        }
        Err(GitError::Failed {
            command: "push".into(),
            stderr: last_lines(&out.stderr),
        })
    }

    /// Moves the current branch (and the working tree) forward to `commit`
    /// when that is a fast-forward; `false` when it is not.
    pub fn fast_forward(&self, commit: &str) -> Result<bool, GitError> {
        Ok(self.git(&["merge", "--ff-only", "--quiet", commit]).is_ok())
    }

    /// Every version of `rel` in the history of `rev`, newest first:
    /// (commit, text). One `git log` and one `git cat-file --batch`, however
    /// long the history.
    pub fn versions(&self, rev: &str, rel: &Path) -> Result<Vec<(String, String)>, GitError> {
        let path = self.repo_path(rel);
        let commits = self.git(&["log", "--format=%H", rev, "--", &self.pathspec(rel)])?;
        let commits: Vec<&str> = commits.lines().collect();
        if commits.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = String::new();
        for c in &commits {
            input.push_str(&format!("{c}:{path}\n"));
        }
        let out = self.raw(&["cat-file", "--batch"], Some(input.as_bytes()), &[])?;
        // Each object: "<sha> blob <size>\n<content>\n", or "<spec> missing\n".
        let garbled = || GitError::Failed {
            command: "cat-file".into(),
            stderr: "unexpected answer (is a record not UTF-8 text?)".into(),
        };
        let mut rest = out.as_str();
        let mut versions = Vec::with_capacity(commits.len());
        for c in commits {
            let (header, after) = rest.split_once('\n').ok_or_else(garbled)?;
            if header.ends_with(" missing") {
                rest = after;
                continue; // the commit deleted the file
            }
            let size: usize = header
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(garbled)?;
            let content = after.get(..size).ok_or_else(garbled)?;
            versions.push((c.to_owned(), content.to_owned()));
            rest = after.get(size + 1..).unwrap_or("");
        }
        Ok(versions)
    }

    /// `git config` value, if set.
    pub fn config(&self, key: &str) -> Option<String> {
        self.git(&["config", "--get", key])
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }
}
