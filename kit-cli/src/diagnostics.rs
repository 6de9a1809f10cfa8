//! Turning errors into messages: `error: file:line:column: message`, the
//! template line with a caret, and a hint. Never a data value.
//!
//! The one place where library errors become exit codes ([`Code`]), and
//! where hints may name flags (libraries never do).

use std::io::Write;

use crate::exit::Code;

/// A failed command: what to say and which exit code to use.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
    pub snippet: Option<String>,
    pub hint: Option<String>,
    /// More text after the hint (`--debug`'s rendered document).
    pub detail: Option<String>,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            snippet: None,
            hint: None,
            detail: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn io(what: &str, e: std::io::Error) -> Self {
        Failure::new(Code::Input, format!("{what}: {e}"))
    }

    /// Writes the diagnostic.
    pub fn report(&self, w: &mut impl Write) {
        let _ = writeln!(w, "error: {}", self.message);
        if let Some(s) = &self.snippet {
            let _ = writeln!(w, "{s}");
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(w, "  = hint: {h}");
        }
        if let Some(d) = &self.detail {
            let _ = write!(w, "{d}");
        }
    }
}

impl From<kit_core::Error> for Failure {
    fn from(e: kit_core::Error) -> Self {
        let code = match e {
            kit_core::Error::Io { .. } => Code::Input,
            _ => Code::Template,
        };
        Failure {
            code,
            message: e.to_string(),
            snippet: e.snippet(),
            hint: e.hint().map(str::to_owned),
            detail: None,
        }
    }
}

impl From<kit_project::ProjectError> for Failure {
    fn from(e: kit_project::ProjectError) -> Self {
        use kit_project::ProjectError as E;
        match &e {
            E::Missing { what, .. } => {
                let flag = if what.contains("environment") {
                    "--environment (KIT_ENVIRONMENT)"
                } else {
                    "--cluster (KIT_CLUSTER)"
                };
                Failure::new(Code::Usage, e.to_string()).with_hint(format!("give {flag}, or --all"))
            }
            E::InvalidAt { hint, .. } => Failure::new(Code::Input, e.to_string()).with_hint(hint),
            E::InstanceNeeded { .. } => Failure::new(Code::Usage, e.to_string())
                .with_hint("give --instance NAME (KIT_INSTANCE), e.g. --instance pr-3071; `kit status -e ENVIRONMENT` lists the live ones"),
            E::NoInstances { known, .. } => {
                let which = if known.is_empty() {
                    "none of this project's environments has instances".to_owned()
                } else {
                    format!("environments with instances: {known}")
                };
                Failure::new(Code::Usage, e.to_string()).with_hint(format!(
                    "{which}; an environment gets them with `instances: {{from: BASE}}` in kit.yaml (docs/instances.md)"
                ))
            }
            E::BadInstance { .. } => Failure::new(Code::Usage, e.to_string()).with_hint(
                "an instance name is a DNS label: lowercase letters, digits and '-', starting with a letter, e.g. pr-3071 (from a branch: lowercase it and replace other characters with '-')",
            ),
            E::ImageNotRendered { .. } => Failure::new(Code::Usage, e.to_string())
                .with_hint("--image names a service of the run (check -s and the service's name in kit.yaml)"),
            E::InstanceNamespace { room, .. } => Failure::new(Code::Input, e.to_string())
                .with_hint(format!(
                    "with this namespace, an instance name has at most {room} characters: use a shorter one (e.g. pr-<number>)"
                )),
            _ => Failure::new(Code::Input, e.to_string()),
        }
    }
}

impl From<kit_project::SetError> for Failure {
    fn from(e: kit_project::SetError) -> Self {
        Failure::new(
            Code::Usage,
            format!("invalid setting '{}': {}", e.arg, e.reason),
        )
        .with_hint(
            "the syntax is Helm's: --set a.b=1,list[0]=x,hosts={a,b}; --set-string for text, --set-json for JSON, --set-file a=FILE for a file's text",
        )
    }
}

impl From<kit_project::RenderError> for Failure {
    fn from(e: kit_project::RenderError) -> Self {
        use kit_project::RenderError as E;
        match e {
            E::Project(p) => p.into(),
            E::Template(t) => t.into(),
            E::Check(c) => check_failure(c),
            e @ E::Duplicate { .. } => Failure::new(Code::Check, e.to_string()),
            e @ E::OutsideInstance { .. } => Failure::new(Code::Check, e.to_string())
                .with_hint("an instance's objects go in namespaces ending in -<instance> (kit appends it to the `namespace` value; write `namespace: {{namespace}}`), and objects without a namespace need a name ending in -<instance> (`name: x-{{kit.instance}}`): otherwise instances would share them"),
            e @ E::Inventory(_) => Failure::new(Code::Input, e.to_string())
                .with_hint("with `name:` in kit.yaml, kit names each cluster's inventory kit.<name>.<environment>.<cluster>: rename the part in kit.yaml"),
            e @ E::BadLabel { .. } => Failure::new(Code::Input, e.to_string())
                .with_hint("rename it in kit.yaml: kit labels every object with its environment, cluster and service"),
            e @ (E::NoChecksumKey { .. } | E::WeakChecksumKey { .. }) => {
                Failure::new(Code::Secrets, e.to_string()).with_hint(format!(
                    "kit keys the {} pod annotation so it reveals nothing about the secrets; create a random key once per environment: head -c 32 /dev/urandom | base64 | kit secrets --secrets-from SOURCE put ENVIRONMENT/common/{}",
                    kit_project::ENV_CHECKSUM_ANNOTATION,
                    kit_project::CHECKSUM_KEY_NAME
                ))
            }
            e => Failure::new(Code::Internal, e.to_string()),
        }
    }
}

/// A check error, located in the template that wrote the failing line
/// when the renderer traced it, with the rendered document under --debug.
fn check_failure(c: kit_project::CheckError) -> Failure {
    let at = match c.column {
        Some(col) => format!("line {}, column {col}", c.line),
        None => format!("line {}", c.line),
    };
    let mut f = match &c.template {
        Some(t) => {
            let of = if *t.template == *c.origin {
                String::new()
            } else {
                format!(" of {}", c.origin)
            };
            let mut f = Failure::new(
                Code::Check,
                format!("{t}: {} (rendered document {}{of}, {at})", c.message, c.doc),
            );
            f.snippet = Some(t.snippet());
            f
        }
        None => Failure::new(
            Code::Check,
            format!(
                "{}: rendered document {}, {at}: {}",
                c.origin, c.doc, c.message
            ),
        ),
    };
    match &c.rendered {
        Some(doc) => {
            let mut d =
                String::from("  = the rendered document (secret values as fingerprints):\n");
            for (i, l) in doc.lines().enumerate() {
                let mark = if i + 1 == c.document_line { ">" } else { " " };
                d.push_str(&format!("  {mark}{:4} | {l}\n", i + 1));
            }
            f.detail = Some(d);
        }
        None => {
            f = f.with_hint("--debug prints the rendered document (secret values as fingerprints)");
        }
    }
    f
}

impl From<kit_project::OutputError> for Failure {
    fn from(e: kit_project::OutputError) -> Self {
        use kit_project::OutputError as E;
        if let E::Check(render) | E::Render(render) = e {
            // Exactly what the same run without --output-dir reports.
            return Failure::from(*render);
        }
        match &e {
            E::NotEmpty(dir) => Failure::new(
                Code::Usage,
                format!("--output-dir {} is not empty", dir.display()),
            )
            .with_hint("choose an empty directory, or remove it first"),
            E::BadFileName { .. } => Failure::new(Code::Check, e.to_string())
                .with_hint("kit writes Kubernetes names: letters, digits, '-', '.', '_' and ':'"),
            E::Collision { .. } => Failure::new(Code::Check, e.to_string()),
            _ => Failure::new(Code::Input, e.to_string()),
        }
    }
}

impl From<kit_env::Error> for Failure {
    fn from(e: kit_env::Error) -> Self {
        use kit_env::Error as E;
        let hint = match &e {
            E::NoSuchBucket { .. } => Some("check the bucket name and the region"),
            E::Credentials { .. } => {
                Some("check AWS_PROFILE / AWS_ACCESS_KEY_ID, or run `aws sso login`")
            }
            E::AccessDenied { .. } => {
                Some("the credentials need s3:ListBucket and s3:GetObject on the prefix")
            }
            E::Unreachable { .. } | E::Timeout { .. } => Some(
                "check --endpoint-url / AWS_ENDPOINT_URL and the network; --timeout sets the wait",
            ),
            E::Listing { .. } => Some(
                "the listing could not be trusted to be complete, so nothing was rendered; check the S3 endpoint or proxy in between",
            ),
            E::InvalidName { .. } => {
                Some("rename the object; variable names match [A-Za-z_][A-Za-z0-9_]*")
            }
            E::StartupVariable { .. } => Some(
                "rename the secret, or allow the name explicitly with --allow-var NAME (KIT_ALLOW_VARS)",
            ),
            E::HasNul { .. } => Some("rewrite the secret without NUL bytes"),
            E::UnsafePath { .. } => {
                Some("secrets directories hold regular files; links must stay inside the directory")
            }
            _ => None,
        };
        let code = match &e {
            E::InvalidTarget { .. } | E::InvalidSource(_) | E::InvalidKey { .. } => Code::Usage,
            _ => Code::Secrets,
        };
        let f = Failure::new(code, e.to_string());
        match hint {
            Some(h) => f.with_hint(h),
            None => f,
        }
    }
}

impl From<kit_project::release::operation::ReleaseError> for Failure {
    fn from(e: kit_project::release::operation::ReleaseError) -> Self {
        use kit_project::release::git::GitError as G;
        use kit_project::release::operation::ReleaseError as E;
        match e {
            E::Project(p) => p.into(),
            e @ E::Image(_) => Failure::new(Code::Usage, e.to_string()),
            e @ (E::NotReleased { .. } | E::NoSuchRevision { .. } | E::Pointless(_)) => {
                Failure::new(Code::Input, e.to_string())
            }
            e @ E::Pinned { .. } => Failure::new(Code::Release, e.to_string())
                .with_hint("kit unpin -e ENV -s SERVICE lifts the pin; --force releases anyway"),
            e @ E::Backwards { .. } => Failure::new(Code::Release, e.to_string()).with_hint(
                "builds finished out of order: the newer one is recorded already; --force records this one anyway",
            ),
            e @ E::OtherRepository { .. } => Failure::new(Code::Release, e.to_string())
                .with_hint("check the image for a typo; --force records it anyway (moving the service to another repository)"),
            e @ E::MutableTag { .. } => Failure::new(Code::Release, e.to_string()).with_hint(
                "release a version tag or a digest (@sha256:...); kit.yaml's `allow_mutable_tags: true` allows such tags",
            ),
            e @ (E::Moved { .. } | E::RevisionOverflow(_) | E::Stopped) => {
                Failure::new(Code::Release, e.to_string())
            }
            E::Check {
                commit,
                tree,
                checkout,
                error,
            } => {
                let mut f = match *error {
                    kit_project::release::operation::CheckFailure::Project(p) => Failure::from(p),
                    kit_project::release::operation::CheckFailure::Secrets(s) => Failure::from(s),
                    kit_project::release::operation::CheckFailure::Render(r) => Failure::from(r),
                    _ => Failure::new(Code::Internal, "an unknown check failure"),
                };
                // Files are named as they are in the checkout, not in the
                // private copy of the commit kit read them from.
                let (from, to) = (tree.display().to_string(), checkout.display().to_string());
                f.message = format!(
                    "{} (in commit {}, which kit would have pushed: nothing was recorded)",
                    f.message.replace(&from, &to),
                    kit_project::release::operation::short(&commit)
                );
                f.snippet = f.snippet.map(|s| s.replace(&from, &to));
                f.detail = f.detail.map(|s| s.replace(&from, &to));
                f
            }
            E::Git(g) => {
                let hint = match &g {
                    G::NotFound => {
                        Some("install git; kit uses the git program and its configuration")
                    }
                    G::NotACheckout(_) => {
                        Some("run kit in a clone of the config repository (-C DIR)")
                    }
                    G::NoUpstream => Some(
                        "name the remote branch with --branch BRANCH (KIT_BRANCH), or use --no-push",
                    ),
                    G::Dirty(_) => {
                        Some("commit or reset those files first: kit writes releases/ itself")
                    }
                    G::Rejected { .. } => {
                        Some("try again; --push-tries sets how often kit retries")
                    }
                    G::NoRemoteBranch { .. } => {
                        Some("push the branch first, or name another with --branch")
                    }
                    G::TimedOut { command, .. } if command == "push" => Some(
                        "the remote may still take the commit: run the same command again (a release that landed is not recorded twice); --git-timeout SECONDS sets the bound",
                    ),
                    G::TimedOut { .. } => Some(
                        "check the remote's address and credentials (git must not wait for a prompt); --git-timeout SECONDS sets the bound",
                    ),
                    _ => None,
                };
                let f = Failure::new(Code::Release, g.to_string());
                match hint {
                    Some(h) => f.with_hint(h),
                    None => f,
                }
            }
            e => Failure::new(Code::Internal, e.to_string()),
        }
    }
}
