//! The config repository, through the `git` program the CI already has
//! configured (credentials, SSH, tokens: kit stores none).
//!
//! kit never edits the working tree while it races other releases: each
//! attempt builds a commit on the remote's current tip with plumbing
//! (`hash-object`, a temporary index, `commit-tree`) and pushes it as a
//! fast-forward. A rejected push means another release landed first; the
//! next attempt starts again from the new tip. History stays linear, and no
//! update is ever lost or merged.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    /// The remote has no such branch.
    #[error("the remote '{remote}' has no branch '{branch}'")]
    NoRemoteBranch {
        /// The remote.
        remote: String,
        /// The branch.
        branch: String,
    },
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
    /// A git command that talks to a remote did not end in time: it was
    /// stopped (a hung credential helper, SSH prompt or network).
    #[error("git {command} did not end within {} s and was stopped", .limit.as_secs())]
    TimedOut {
        /// The command.
        command: String,
        /// The bound it ran into.
        limit: Duration,
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
    /// How long a command that talks to a remote may take.
    network_limit: Duration,
}

/// How long `fetch`, `push` and `ls-remote` may take by default.
pub const DEFAULT_NETWORK_LIMIT: Duration = Duration::from_secs(300);

/// The git commands that talk to a remote, and may hang on it.
const NETWORK_COMMANDS: &[&str] = &["fetch", "push", "ls-remote"];

/// Runs `cmd` (stdout and stderr piped) to its end, feeding it `stdin`;
/// with a `limit`, stops it (SIGKILL) once that has passed.
fn run_bounded(
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    limit: Option<Duration>,
) -> std::io::Result<Option<Output>> {
    let mut child = cmd.spawn()?;
    if let Some(input) = stdin {
        let mut w = child.stdin.take().expect("piped");
        let _ = w.write_all(input);
    }
    let Some(limit) = limit else {
        return child.wait_with_output().map(Some);
    };
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    };
    Ok(Some(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }))
}

/// What happened to the checkout after a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// It was fast-forwarded to the pushed commit.
    Moved,
    /// It stayed where it was, and why.
    Stayed(String),
}

/// A commit's files written out for reading (see [`Repo::materialize`]);
/// the directory is removed when this is dropped.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    /// The project's directory inside it.
    pub project: PathBuf,
}

impl Tree {
    fn create() -> Result<Tree, GitError> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "kit-tree-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&root).map_err(|e| GitError::Failed {
            command: "checkout".into(),
            stderr: format!("cannot create {}: {e}", root.display()),
        })?;
        Ok(Tree {
            project: root.clone(),
            root,
        })
    }

    /// The private directory that holds the files.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Whether a `git push --porcelain` line says `refname` lost a race:
/// `!<TAB>src:dst<TAB>[rejected] (fetch first)` or a remote that could not
/// lock the ref because another push moved it.
fn is_race(line: &str, refname: &str) -> bool {
    let mut cols = line.split('\t');
    let (Some("!"), Some(spec), Some(status)) = (cols.next(), cols.next(), cols.next()) else {
        return false;
    };
    if !spec.ends_with(&format!(":{refname}")) {
        return false;
    }
    status.starts_with("[rejected]")
        || (status.starts_with("[remote rejected]")
            && [
                "cannot lock ref",
                "failed to update ref",
                "incorrect old value",
            ]
            .iter()
            .any(|w| status.contains(w)))
}

/// The outcome of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// The remote took it.
    Pushed,
    /// Not a fast-forward any more: someone else pushed first.
    Rejected,
}

/// Variables that would point git at another repository, index or work
/// tree than the checkout kit was given: a CI job (or a hook) may leave
/// them set, and kit must read and write exactly the project's repository.
const REDIRECTING_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

/// `git`, never prompting, with the redirecting variables removed.
fn git_command() -> Command {
    let mut cmd = Command::new("git");
    for v in REDIRECTING_VARIABLES {
        cmd.env_remove(v);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// What git said, short: its last three lines, after its first `fatal:` or
/// `error:` line when that came earlier (the cause, such as a stale `index.lock`).
fn last_lines(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines.len().saturating_sub(3);
    let mut shown: Vec<&str> = lines[..tail]
        .iter()
        .find(|l| l.starts_with("fatal: ") || l.starts_with("error: "))
        .into_iter()
        .copied()
        .collect();
    shown.extend(&lines[tail..]);
    shown.join(" / ")
}

impl Repo {
    /// The checkout around `project_dir`.
    pub fn open(project_dir: &Path) -> Result<Repo, GitError> {
        let probe = Repo {
            dir: project_dir.to_owned(),
            prefix: String::new(),
            network_limit: DEFAULT_NETWORK_LIMIT,
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
            network_limit: DEFAULT_NETWORK_LIMIT,
        })
    }

    /// Bounds each command that talks to a remote (`fetch`, `push`,
    /// `ls-remote`) to `limit`; past it the command is stopped and fails
    /// with [`GitError::TimedOut`]. Default: [`DEFAULT_NETWORK_LIMIT`].
    pub fn with_network_limit(mut self, limit: Duration) -> Repo {
        self.network_limit = limit;
        self
    }

    /// Runs git with `args` to its end (bounded when it talks to a remote).
    fn output(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<Output, GitError> {
        let mut cmd = git_command();
        cmd.arg("-C")
            .arg(&self.dir)
            .args(args)
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let limit = NETWORK_COMMANDS
            .contains(&args[0])
            .then_some(self.network_limit);
        match run_bounded(&mut cmd, stdin, limit) {
            Ok(Some(out)) => Ok(out),
            Ok(None) => Err(GitError::TimedOut {
                command: args[0].into(),
                limit: self.network_limit,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(GitError::NotFound),
            Err(e) => Err(GitError::Failed {
                command: args[0].into(),
                stderr: e.to_string(),
            }),
        }
    }

    /// `rel` (relative to the project) as a path inside the repository.
    pub fn repo_path(&self, rel: &Path) -> String {
        format!("{}{}", self.prefix, rel.display())
    }

    /// `rel` as a pathspec, whatever folder git runs in.
    fn pathspec(&self, rel: &Path) -> String {
        format!(":(top){}", self.repo_path(rel))
    }

    fn raw_out(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<Vec<u8>, GitError> {
        let out = self.output(args, stdin, env)?;
        if !out.status.success() {
            return Err(GitError::Failed {
                command: args[0].into(),
                stderr: last_lines(&out.stderr),
            });
        }
        Ok(out.stdout)
    }

    fn raw(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<String, GitError> {
        let out = self.raw_out(args, stdin, env)?;
        Ok(String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn raw_bytes(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        self.raw_out(args, None, &[])
    }

    fn git(&self, args: &[&str]) -> Result<String, GitError> {
        self.raw(args, None, &[])
    }

    /// The upstream of the current branch: (remote, branch), read from
    /// `branch.<name>.remote` and `.merge` (full ref names: a tag named
    /// like the branch never stands in for it).
    pub fn upstream(&self) -> Result<(String, String), GitError> {
        let name = self.branch()?;
        let get = |key: &str| {
            self.git(&["config", "--get", &format!("branch.{name}.{key}")])
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let remote = get("remote")
            .filter(|r| r != ".")
            .ok_or(GitError::NoUpstream)?;
        let branch = get("merge")
            .and_then(|m| m.strip_prefix("refs/heads/").map(str::to_owned))
            .ok_or(GitError::NoUpstream)?;
        Ok((remote, branch))
    }

    /// The current branch's name, or `HEAD` when detached.
    fn branch(&self) -> Result<String, GitError> {
        match self.git(&["symbolic-ref", "--quiet", "HEAD"]) {
            Ok(r) => Ok(r
                .trim()
                .strip_prefix("refs/heads/")
                .unwrap_or("HEAD")
                .to_owned()),
            Err(GitError::Failed { .. }) => Ok("HEAD".into()),
            Err(e) => Err(e),
        }
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

    /// Fetches `branch` from `remote` by its full name (`refs/heads/...`,
    /// so a tag of the same name never stands in for it); returns its tip.
    pub fn fetch(&self, remote: &str, branch: &str) -> Result<String, GitError> {
        let refspec = format!("refs/heads/{branch}");
        self.git(&["fetch", "--quiet", "--no-tags", remote, &refspec])
            .map_err(|e| match e {
                GitError::Failed { stderr, .. } if stderr.contains("couldn't find remote ref") => {
                    GitError::NoRemoteBranch {
                        remote: remote.into(),
                        branch: branch.into(),
                    }
                }
                e => e,
            })?;
        Ok(self
            .git(&["rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"])?
            .trim()
            .to_owned())
    }

    /// Whether the checkout is shallow (`git clone --depth N`, the default
    /// of most CI checkouts).
    pub fn is_shallow(&self) -> Result<bool, GitError> {
        Ok(self.git(&["rev-parse", "--is-shallow-repository"])?.trim() == "true")
    }

    /// Makes a shallow checkout whole by fetching the rest of `branch`'s
    /// history from `remote`, so that reading history never stops at the
    /// clone's depth. Does nothing in a full clone.
    pub fn complete_history(&self, remote: &str, branch: &str) -> Result<(), GitError> {
        if !self.is_shallow()? {
            return Ok(());
        }
        let refspec = format!("refs/heads/{branch}");
        self.git(&[
            "fetch",
            "--quiet",
            "--no-tags",
            "--unshallow",
            remote,
            &refspec,
        ])?;
        Ok(())
    }

    /// The commit `remote` has for `branch` now, if the branch exists.
    pub fn remote_tip(&self, remote: &str, branch: &str) -> Result<Option<String>, GitError> {
        let refname = format!("refs/heads/{branch}");
        let out = self.git(&["ls-remote", remote, &refname])?;
        Ok(out
            .lines()
            .find_map(|l| l.strip_suffix(&refname)?.split_whitespace().next())
            .map(str::to_owned))
    }

    /// The single remote of the checkout, or `origin` among several.
    /// The address of the checkout's remote (the single one, or `origin`),
    /// when it has one.
    pub fn remote_url(&self) -> Option<String> {
        let remote = self.default_remote().ok()?;
        self.config(&format!("remote.{remote}.url"))
    }

    fn default_remote(&self) -> Result<String, GitError> {
        let remotes = self.git(&["remote"])?;
        let remotes: Vec<&str> = remotes.lines().collect();
        match remotes.as_slice() {
            [one] => Ok((*one).to_owned()),
            many if many.contains(&"origin") => Ok("origin".into()),
            _ => Err(GitError::NoUpstream),
        }
    }

    /// Where a release goes: `branch` on the default remote when given;
    /// else the current branch's upstream; on a detached HEAD (how GitLab
    /// runners and `actions/checkout` of a commit leave a clone), the
    /// remote branch the checkout was made from (the one remote-tracking
    /// branch at `HEAD`), else the remote's default branch.
    pub fn target(&self, branch: Option<&str>) -> Result<(String, String), GitError> {
        if let Some(b) = branch {
            return Ok((self.default_remote()?, b.to_owned()));
        }
        if self.branch()? != "HEAD" {
            return self.upstream();
        }
        let remote = self.default_remote()?;
        let prefix = format!("refs/remotes/{remote}/");
        let at_head = self.git(&[
            "for-each-ref",
            "--points-at",
            "HEAD",
            "--format=%(refname)",
            &prefix,
        ])?;
        let names: Vec<&str> = at_head
            .lines()
            .filter_map(|r| r.strip_prefix(&prefix))
            .filter(|b| *b != "HEAD")
            .collect();
        if let [one] = names.as_slice() {
            return Ok((remote, (*one).to_owned()));
        }
        let symref = self.git(&["ls-remote", "--symref", &remote, "HEAD"])?;
        let default = symref
            .lines()
            .find_map(|l| l.strip_prefix("ref: refs/heads/")?.split('\t').next())
            .ok_or(GitError::NoUpstream)?;
        Ok((remote, default.to_owned()))
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

    /// The text of `rel` (relative to the project) at `commit`: `None`
    /// when the commit has no such file; `Some(Err(why))` when it is not a
    /// regular file (a link, a folder, a submodule), larger than `max`
    /// bytes, or not UTF-8. Read as a blob: nothing is followed.
    pub fn show_file(
        &self,
        commit: &str,
        rel: &Path,
        max: usize,
    ) -> Result<Option<Result<String, &'static str>>, GitError> {
        let path = self.repo_path(rel);
        let entry = self.git(&["ls-tree", "-z", "--full-tree", commit, "--", &path])?;
        let Some((meta, name)) = entry.split('\0').next().and_then(|e| e.split_once('\t')) else {
            return Ok(None);
        };
        if name != path {
            return Ok(None);
        }
        let mut fields = meta.split(' ');
        let (mode, kind) = (fields.next(), fields.next());
        if kind != Some("blob") || !matches!(mode, Some("100644" | "100755")) {
            return Ok(Some(Err(
                "it is not a regular file in the commit (a link?)",
            )));
        }
        let spec = format!("{commit}:{path}");
        let size: usize = self
            .git(&["cat-file", "-s", &spec])?
            .trim()
            .parse()
            .unwrap_or(usize::MAX);
        if size > max {
            return Ok(Some(Err("it is too large")));
        }
        let out = self.raw_bytes(&["cat-file", "blob", &spec])?;
        Ok(Some(
            String::from_utf8(out).map_err(|_| "it is not UTF-8 text"),
        ))
    }

    /// Moves the current branch to `commit` (made on its tip) when that is
    /// a fast-forward; for `--no-push`.
    pub fn follow_local(&self, commit: &str) -> Result<Local, GitError> {
        match self.git(&["merge", "--ff-only", "--quiet", commit]) {
            Ok(_) => Ok(Local::Moved),
            Err(GitError::Failed { stderr, .. }) => Ok(Local::Stayed(format!(
                "git merge --ff-only failed: {stderr}"
            ))),
            Err(e) => Err(e),
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
            // `git commit-tree` ignores commit.gpgSign (only porcelain
            // `git commit` reads it): a repository that signs its commits
            // gets kit's signed too, with user.signingKey when set.
            let mut args = vec!["commit-tree", tree.trim(), "-p", parent, "-F", "-"];
            if self.signs_commits() {
                args.push("-S");
            }
            self.raw(&args, Some(message.as_bytes()), &env2)
        })();
        let _ = std::fs::remove_file(&index);
        Ok(result?.trim().to_owned())
    }

    /// Whether git's configuration asks for signed commits
    /// (`commit.gpgSign`).
    fn signs_commits(&self) -> bool {
        self.git(&["config", "--type=bool", "--get", "commit.gpgsign"])
            .is_ok_and(|v| v.trim() == "true")
    }

    /// Pushes `commit` to `remote`'s `branch` as a fast-forward (never
    /// forced). A race (the branch moved on) is told by the ref's status in
    /// `--porcelain` output only, never by words a hook printed. When the
    /// push fails otherwise, the remote is asked before calling it failed:
    /// a push whose answer was lost may have landed.
    pub fn push(&self, remote: &str, commit: &str, branch: &str) -> Result<Push, GitError> {
        let refname = format!("refs/heads/{branch}");
        let refspec = format!("{commit}:{refname}");
        let out = match self.output(&["push", "--porcelain", remote, &refspec], None, &[]) {
            Ok(out) => out,
            // Stopped (or unable to start) after git may have pushed: the
            // remote says whether it did.
            Err(e) => {
                return match self.remote_tip(remote, branch) {
                    Ok(Some(tip)) if tip == commit => Ok(Push::Pushed),
                    _ => Err(e),
                };
            }
        };
        if out.status.success() {
            return Ok(Push::Pushed);
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.lines().any(|l| is_race(l, &refname)) {
            return Ok(Push::Rejected);
        }
        if self.remote_tip(remote, branch).ok().flatten().as_deref() == Some(commit) {
            return Ok(Push::Pushed);
        }
        Err(GitError::Failed {
            command: "push".into(),
            stderr: last_lines(&out.stderr),
        })
    }

    /// Moves the checkout forward to `commit`, just pushed to `remote`'s
    /// `branch`, when that is a fast-forward of a clean checkout of that
    /// branch (or of a detached HEAD); otherwise says why it stays.
    pub fn follow(&self, commit: &str, remote: &str, branch: &str) -> Result<Local, GitError> {
        let current = self.branch()?;
        if current != "HEAD" {
            match self.upstream() {
                Ok((r, b)) if r == remote && b == branch => {}
                _ => {
                    return Ok(Local::Stayed(format!(
                        "the checkout is on branch '{current}', not on {remote}/{branch}"
                    )));
                }
            }
        }
        let head = self.head()?;
        if self
            .git(&["merge-base", "--is-ancestor", &head, commit])
            .is_err()
        {
            return Ok(Local::Stayed(
                "the checkout has commits the remote does not have".into(),
            ));
        }
        match self.git(&["merge", "--ff-only", "--quiet", commit]) {
            Ok(_) if self.head()? == commit => Ok(Local::Moved),
            Ok(_) => Ok(Local::Stayed("git merge --ff-only did not move it".into())),
            Err(GitError::Failed { stderr, .. }) => Ok(Local::Stayed(format!(
                "git merge --ff-only failed: {stderr}"
            ))),
            Err(e) => Err(e),
        }
    }

    /// Writes the files of `commit` under the project's path (minus
    /// `exclude`, paths relative to the project) into a new private
    /// directory, without touching the checkout, its index or its branch.
    /// Returns the directory (removed when dropped) and the project's
    /// directory inside it.
    pub fn materialize(&self, commit: &str, exclude: &[PathBuf]) -> Result<Tree, GitError> {
        let git_dir = self.git(&["rev-parse", "--absolute-git-dir"])?;
        let mut tree = Tree::create()?;
        let index = tree.root.join(".kit-index");
        let files = tree.root.join("files");
        std::fs::create_dir(&files).map_err(|e| GitError::Failed {
            command: "checkout".into(),
            stderr: e.to_string(),
        })?;
        let mut args: Vec<String> = vec![
            format!("--git-dir={}", git_dir.trim_end_matches('\n')),
            format!("--work-tree={}", files.display()),
            "-c".into(),
            "core.hooksPath=/dev/null".into(),
            "checkout".into(),
            "--quiet".into(),
            commit.into(),
            "--".into(),
        ];
        args.push(if self.prefix.is_empty() {
            ":(top)".into()
        } else {
            format!(":(top){}", self.prefix)
        });
        for x in exclude {
            args.push(format!(":(top,exclude){}", self.repo_path(x)));
        }
        let out = git_command()
            .current_dir(&files)
            .env("GIT_INDEX_FILE", &index)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| GitError::Failed {
                command: "checkout".into(),
                stderr: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(GitError::Failed {
                command: "checkout".into(),
                stderr: last_lines(&out.stderr),
            });
        }
        let _ = std::fs::remove_file(&index);
        tree.project = files.join(self.prefix.trim_end_matches('/'));
        Ok(tree)
    }

    /// Every version of `rel` in the history of `rev`, newest first:
    /// (commit, text). One `git log` and one `git cat-file --batch`, however
    /// long the history. The log names each version's blob (`--raw`), so
    /// cat-file reads blobs by id instead of walking each commit's trees to
    /// the file (a third of the time at 10,000 commits); a commit the log
    /// shows no change for (a merge) is read by `commit:path`.
    pub fn versions(&self, rev: &str, rel: &Path) -> Result<Vec<(String, String)>, GitError> {
        let path = self.repo_path(rel);
        let log = self.git(&[
            "log",
            "--format=%H",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            rev,
            "--",
            &self.pathspec(rel),
        ])?;
        // (commit, the blob it leaves at `rel`: None for "read it by path",
        // Some("") for "deleted here").
        let mut commits: Vec<(&str, Option<&str>)> = Vec::new();
        for line in log.lines() {
            if let Some(raw) = line.strip_prefix(':') {
                // ":<old mode> <new mode> <old blob> <new blob> <status>\t<path>"
                let blob = raw.split([' ', '\t']).nth(3).unwrap_or("");
                if let Some(last) = commits.last_mut().filter(|c| c.1.is_none()) {
                    last.1 = Some(if blob.bytes().all(|b| b == b'0') {
                        ""
                    } else {
                        blob
                    });
                }
            } else if !line.is_empty() {
                commits.push((line, None));
            }
        }
        commits.retain(|c| c.1 != Some(""));
        if commits.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = String::new();
        for (c, blob) in &commits {
            match blob {
                Some(blob) => input.push_str(blob),
                None => input.push_str(&format!("{c}:{path}")),
            }
            input.push('\n');
        }
        let out = self.raw(&["cat-file", "--batch"], Some(input.as_bytes()), &[])?;
        // Each object: "<sha> blob <size>\n<content>\n", or "<spec> missing\n".
        let garbled = || GitError::Failed {
            command: "cat-file".into(),
            stderr: "unexpected answer (is a record not UTF-8 text?)".into(),
        };
        let mut rest = out.as_str();
        let mut versions = Vec::with_capacity(commits.len());
        for (c, _) in commits {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A record's versions through merges (one resolved to a text neither
    /// side had), a deletion and a re-creation are the texts `git log`
    /// and `commit:path` give, newest first (real git).
    #[test]
    fn versions_through_merges_and_deletions_are_what_each_commit_holds() {
        let dir = std::env::temp_dir().join(format!("kit-versions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sh = |cmd: &str| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(&dir)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@e")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@e")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let f = "releases/production/web.yaml";
        sh(&format!(
            "git init -q -b main && mkdir -p releases/production && echo v1 > {f} && echo x > other && git add -A && git commit -q -m 1 \
             && git checkout -q -b side && echo v3 > {f} && git commit -qam 3 \
             && git checkout -q main && echo v2 > {f} && git commit -qam 2 \
             && echo y > other && git commit -qam unrelated \
             && (git merge -q side -m merge || true) && echo v4 > {f} && git commit -qam merged \
             && git rm -q {f} && git commit -qm deleted \
             && mkdir -p releases/production && echo v5 > {f} && git add -A && git commit -qm again"
        ));
        let repo = Repo::open(&dir).unwrap();
        let got = repo.versions("HEAD", Path::new(f)).unwrap();
        // What each commit the log names holds, read one by one.
        let mut want = Vec::new();
        for c in sh(&format!("git log --format=%H HEAD -- {f}")).lines() {
            let text = sh(&format!(
                "git cat-file blob {c}:{f} 2>/dev/null || echo deleted"
            ));
            if text != "deleted\n" {
                want.push((c.to_owned(), text));
            }
        }
        let mut texts: Vec<&str> = got.iter().map(|(_, t)| t.trim()).collect();
        // v2 and v3 were committed in the same second: either order.
        texts[2..4].sort_unstable();
        assert_eq!(texts, ["v5", "v4", "v2", "v3", "v1"]);
        assert_eq!(got, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
