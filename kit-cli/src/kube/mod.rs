//! Running kubectl, in one place for apply, diff, prune, wait, delete and
//! live status: finding the program ([`find_program`]), running it on one
//! context with its output captured and the signals forwarded
//! ([`Kube`]), the project's inventory on a cluster ([`inventory`]) and
//! what a cluster runs ([`workloads`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kit_project::inventory::{CREATED_BY_LABEL, Inventory};

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::signals;

pub mod inventory;
pub mod workloads;

/// Finds kubectl: a path with a `/` as given, else on PATH.
pub fn find_program(name: &str) -> Result<PathBuf, Failure> {
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

/// kubectl on one context.
#[derive(Clone, Copy)]
pub struct Kube<'a> {
    pub program: &'a Path,
    pub context: &'a str,
}

/// What kubectl said: exit code, stdout, stderr.
pub struct Said {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Said {
    /// Why kubectl failed, for a message: what it said on stderr, else its
    /// exit code (a kubectl that fails in silence is still named).
    pub fn why(&self) -> String {
        match self.stderr.trim() {
            "" => format!("kubectl exited with code {} and said nothing", self.code),
            said => said.to_owned(),
        }
    }
}

impl Kube<'_> {
    /// Runs kubectl with `args` and the context, `stdin` on its input,
    /// capturing its output (signals are forwarded to it meanwhile).
    pub fn capture(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Said, Failure> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--context", self.context]);
        let said = self.capture_as_given(&all, stdin)?;
        signals::end_if_caught();
        Ok(said)
    }

    /// [`Kube::capture`] with `args` exactly as given (the caller places
    /// `--context`), and without ending kit by a signal caught meanwhile:
    /// the caller prints what kubectl said first, then calls
    /// [`signals::end_if_caught`].
    pub fn capture_as_given(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Said, Failure> {
        if let Some(sig) = signals::stopping_here() {
            return Err(Failure::new(
                Code::Internal,
                format!(
                    "stopped by {} before the next kubectl on context {}",
                    signals::name(sig),
                    self.context
                ),
            ));
        }
        let running = signals::Child::starting();
        let mut child = Command::new(self.program)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Failure::new(
                    Code::NotExecutable,
                    format!("cannot start {}: {e}", self.program.display()),
                )
            })?;
        running.started(child.id());
        let writer = stdin.map(|input| {
            let mut w = child.stdin.take().expect("stdin is piped");
            let input = input.to_vec();
            // kubectl may stop reading early (an error): its exit code says
            // what happened, not the broken pipe.
            std::thread::spawn(move || {
                let _ = w.write_all(&input);
            })
        });
        let out = child
            .wait_with_output()
            .map_err(|e| Failure::new(Code::Internal, format!("waiting for kubectl: {e}")))?;
        if let Some(w) = writer {
            let _ = w.join();
        }
        drop(running);
        let code = out.status.code().unwrap_or_else(|| {
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                out.status.signal().map_or(1, |s| 128 + s)
            }
            #[cfg(not(unix))]
            1
        });
        Ok(Said {
            code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The cluster's namespaces, when kubectl can list them.
    pub fn namespaces(&self) -> Option<BTreeSet<String>> {
        let said = self
            .capture(&["get", "namespaces", "-o", "name"], None)
            .ok()?;
        (said.code == 0).then(|| {
            said.stdout
                .lines()
                .filter_map(|l| l.trim().strip_prefix("namespace/"))
                .map(str::to_owned)
                .collect()
        })
    }

    /// Creates namespace `ns`, marked as created by kit for `inv` (so that
    /// `kit delete` may remove it, and nothing else ever does).
    pub fn create_namespace(&self, ns: &str, inv: Option<&Inventory>) -> Result<(), Failure> {
        let said = match inv {
            Some(inv) => {
                let doc = format!(
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    {CREATED_BY_LABEL}: {}\n",
                    serde_json::to_string(&inv.id).expect("strings serialize")
                );
                self.capture(&["create", "-f", "-"], Some(doc.as_bytes()))?
            }
            None => self.capture(&["create", "namespace", ns], None)?,
        };
        if said.code != 0 {
            return Err(Failure::new(
                Code::Input,
                format!(
                    "cannot create namespace '{}' on context {}: {}",
                    crate::output::shown(&ns),
                    self.context,
                    said.why()
                ),
            ));
        }
        crate::output::say!(
            "kit: created namespace {} (context {})",
            crate::output::shown(&ns),
            self.context
        );
        Ok(())
    }

    /// The objects of `kinds` (`deployment.apps,configmap`) labelled
    /// `selector`, in every namespace, as kubectl's JSON list: the one
    /// query prune, delete and live status list the inventory by.
    pub fn list(&self, kinds: &str, selector: &str) -> Result<Said, Failure> {
        self.capture(
            &[
                "get",
                kinds,
                "--all-namespaces",
                "-l",
                selector,
                "-o",
                "json",
            ],
            None,
        )
    }

    /// Marks namespaces kit has just created by applying them (they did not
    /// exist before) as created for `inv`.
    pub fn mark_created(&self, namespaces: &[&str], inv: &Inventory) -> Result<(), Failure> {
        for ns in namespaces {
            let label = format!("{CREATED_BY_LABEL}={}", inv.id);
            let said = self.capture(&["label", "namespace", ns, &label, "--overwrite"], None)?;
            if said.code != 0 {
                crate::output::say!(
                    "kit: warning: could not mark namespace {} as created by kit (context {}): {}",
                    crate::output::shown(ns),
                    self.context,
                    said.why()
                );
            }
        }
        Ok(())
    }
}
