//! Rendering one target (environment × cluster × service) into checked
//! documents, and writing the final stream.
//!
//! The template context, for a target:
//!
//! | name | what |
//! |---|---|
//! | every values key | the merged values (base < environment < cluster < service < cluster's service entry < `--values` < `--set`) |
//! | `kit.environment`, `kit.cluster`, `kit.service` | the target |
//! | `kit.checksum` | HMAC-SHA256 over the service's variables, keyed by the secret `KIT_CHECKSUM_KEY` (also the `kit.dev/env-sha256` pod annotation) |
//! | `kit.secret_name` | with `secrets_as: secret`: the name of the Secret kit renders (`<service>-env`) |
//! | `env` | the variables, `{name, value}`, sorted by name: `env:` entries, plus secrets unless `secrets_as: secret` |
//! | `secrets` | the secrets by name (absent with `secrets_as: secret`) |
//! | `<service>.image`, `<service>.env` | the service's image and the same `env` list |

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::check::{CheckError, Document, check_output, kind_rank};
use super::mask::Masker;
use super::project::{EnvConflict, Project, ProjectError, ProjectTarget, SecretsAs};
use crate::engine::{Engine, Template};
use crate::value::{Map, Value};
use crate::yaml::write_string_scalar;

/// The pod-template annotation holding the checksum of a service's variables.
pub const ENV_CHECKSUM_ANNOTATION: &str = "kit.dev/env-sha256";

/// A secret variable of a target (name, value).
pub type Variable = (String, String);

/// The name of the secret that keys the pod checksum. It is resolved like any
/// variable (usually `<environment>/common/KIT_CHECKSUM_KEY`), never given to
/// templates, and must hold at least [`MIN_CHECKSUM_KEY_BYTES`] bytes.
pub const CHECKSUM_KEY_NAME: &str = "KIT_CHECKSUM_KEY";

/// The shortest checksum key kit accepts.
pub const MIN_CHECKSUM_KEY_BYTES: usize = 16;

/// What can go wrong rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The project is inconsistent.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// A template failed to compile or render.
    #[error("{0}")]
    Template(#[from] crate::Error),
    /// A rendered document failed its checks.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// A target has secrets but no checksum key: an unkeyed checksum would
    /// let anyone who can read Deployments test guesses of the secrets.
    #[error(
        "target {target} has secrets but no {CHECKSUM_KEY_NAME} secret to key its pod checksum"
    )]
    NoChecksumKey {
        /// `environment/cluster/service`.
        target: String,
    },
    /// The checksum key is too short.
    #[error(
        "the {CHECKSUM_KEY_NAME} secret of target {target} is shorter than {MIN_CHECKSUM_KEY_BYTES} bytes"
    )]
    WeakChecksumKey {
        /// `environment/cluster/service`.
        target: String,
    },
    /// Two documents describe the same object.
    #[error("{second} renders {kind} '{name}'{ns}, which {first} renders too", ns = .namespace.as_ref().map(|n| format!(" in namespace '{n}'")).unwrap_or_default())]
    Duplicate {
        /// Where the first one came from.
        first: String,
        /// Where the second one came from.
        second: String,
        /// `apiVersion/kind`.
        kind: String,
        /// The name.
        name: String,
        /// The namespace, when set.
        namespace: Option<String>,
    },
}

/// Options for a render run.
#[derive(Default)]
pub struct RenderOptions {
    /// Values layered on top of the project's (`--values` files, then
    /// `--set`), in order.
    pub extra_values: Vec<Value>,
    /// For review output: turns a secret value into a fingerprint.
    pub redact: Option<Redactor>,
}

/// Turns a secret value into its review fingerprint.
pub type Redactor = Box<dyn Fn(&str) -> String + Send + Sync>;

impl std::fmt::Debug for RenderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("extra_values", &self.extra_values.len())
            .field("redact", &self.redact.is_some())
            .finish()
    }
}

/// A project with its engine and compiled templates, shared by all the
/// targets of a run (compile once, render many; safe to use from threads).
pub struct ProjectRenderer<'p> {
    project: &'p Project,
    engine: Engine,
    templates: RwLock<HashMap<PathBuf, Arc<Template>>>,
    templates_root: Option<PathBuf>,
    options: RenderOptions,
    masker: Masker,
}

impl std::fmt::Debug for ProjectRenderer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectRenderer")
            .field("project", &self.project.dir)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn entry(name: &str, value: &str) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(name.into()));
    m.insert("value".into(), Value::String(value.into()));
    Value::Map(m)
}

impl<'p> ProjectRenderer<'p> {
    /// Prepares rendering for a project: `secret_values` are every secret value
    /// of the run (kit refuses to write them through raw tags where they would
    /// not read back exactly).
    pub fn new(
        project: &'p Project,
        secret_values: impl IntoIterator<Item = String>,
        options: RenderOptions,
    ) -> Result<ProjectRenderer<'p>, RenderError> {
        let secret_values: Vec<String> = secret_values.into_iter().collect();
        let partials = project.partials_dir();
        let mut engine = Engine::new().with_sensitive_values(secret_values.iter().cloned());
        if partials.is_dir() {
            engine = engine.with_loader(crate::DirLoader::new(&partials)?);
        }
        Ok(ProjectRenderer {
            project,
            engine,
            templates: RwLock::new(HashMap::new()),
            templates_root: project.templates_dir().canonicalize().ok(),
            options,
            masker: Masker::new(secret_values),
        })
    }

    /// The masker for messages of this run (every secret value).
    pub fn masker(&self) -> &Masker {
        &self.masker
    }
}

impl ProjectRenderer<'_> {
    fn template(&self, origin: &str, path: &Path) -> Result<Arc<Template>, RenderError> {
        if let Some(t) = self
            .templates
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(t.clone());
        }
        let refused = |reason: String| ProjectError::UnsafePath {
            path: path.to_owned(),
            reason,
        };
        let root = self
            .templates_root
            .as_deref()
            .ok_or_else(|| refused("the templates directory does not exist".into()))?;
        let source = crate::read_template_inside(root, path)
            .map_err(|r| match r {
                crate::ReadRefusal::Outside => {
                    refused("it is a link to a file outside the templates directory".into())
                }
                r => refused(r.reason()),
            })?
            .ok_or_else(|| ProjectError::Io {
                path: path.to_owned(),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
        let t = Arc::new(self.engine.compile(origin, &source)?);
        self.templates
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_owned(), t.clone());
        Ok(t)
    }

    /// Renders and checks one target's templates. `secrets` are the target's
    /// secret variables; `checksum_key` is its [`CHECKSUM_KEY_NAME`] secret,
    /// required when there are secrets.
    pub fn render(
        &self,
        t: &ProjectTarget,
        secrets: &[Variable],
        checksum_key: Option<&str>,
    ) -> Result<Vec<Document>, RenderError> {
        let project = self.project;
        let mut values = project.layered_values(t);
        for v in &self.options.extra_values {
            super::merge(&mut values, v.clone());
        }
        let Value::Map(mut ctx) = values else {
            unreachable!("layered values start as a map")
        };
        for (key, what) in [
            ("kit", "kit's target information"),
            ("env", "the variables"),
            ("secrets", "the secrets"),
            (t.service.as_str(), "the service's image and variables"),
        ] {
            if ctx.contains_key(key) {
                return Err(ProjectError::Reserved {
                    key: key.into(),
                    what,
                }
                .into());
            }
        }

        // Variables: env: entries and secrets, conflicts settled.
        let mut plain = project.layered_env(t);
        let mut secret_vars: Vec<&Variable> = Vec::with_capacity(secrets.len());
        for s in secrets {
            if plain.contains_key(&s.0) {
                match project.file.env_conflict {
                    EnvConflict::Error => {
                        return Err(ProjectError::EnvConflict {
                            name: s.0.clone(),
                            service: t.service.clone(),
                            key: format!("{}/{}/{}", t.environment, t.cluster, t.service),
                        }
                        .into());
                    }
                    EnvConflict::Secrets => {
                        plain.shift_remove(&s.0);
                    }
                    EnvConflict::Values => continue,
                }
            }
            secret_vars.push(s);
        }
        let mut all: Vec<(&str, &str)> = plain
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(secret_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .collect();
        all.sort();
        let mut digest_input = Vec::new();
        for (k, v) in &all {
            digest_input.extend_from_slice(k.as_bytes());
            digest_input.push(0);
            digest_input.extend_from_slice(&(v.len() as u64).to_be_bytes());
            digest_input.extend_from_slice(v.as_bytes());
        }
        // Keyed, so the annotation (readable by anyone who can read
        // Deployments) reveals nothing about the values; stable for a key, so
        // rollouts happen exactly when a variable changes.
        let target_name = format!("{}/{}/{}", t.environment, t.cluster, t.service);
        let checksum = match checksum_key {
            Some(k) if k.len() < MIN_CHECKSUM_KEY_BYTES => {
                return Err(RenderError::WeakChecksumKey {
                    target: target_name,
                });
            }
            Some(k) => {
                let mut mac = Hmac::<Sha256>::new_from_slice(k.as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(&digest_input);
                hex(&mac.finalize().into_bytes())
            }
            None if !secret_vars.is_empty() => {
                return Err(RenderError::NoChecksumKey {
                    target: target_name,
                });
            }
            // No secret among the inputs: nothing to hide.
            None => hex(&Sha256::digest(&digest_input)),
        };
        let redact = |v: &str| match &self.options.redact {
            Some(f) => f(v),
            None => v.to_owned(),
        };
        let shown_checksum = redact(&checksum);
        let secrets_as = project.secrets_as(&t.service);
        let secret_name = format!("{}-env", t.service);

        let mut env_list: Vec<(String, String)> =
            plain.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut secret_map = Map::new();
        if secrets_as == SecretsAs::Env {
            for (k, v) in &secret_vars {
                let shown = redact(v);
                env_list.push((k.clone(), shown.clone()));
                secret_map.insert(k.clone(), Value::String(shown));
            }
        }
        env_list.sort();
        let env_value = Value::List(env_list.iter().map(|(k, v)| entry(k, v)).collect());

        let mut kit = Map::new();
        kit.insert("environment".into(), Value::String(t.environment.clone()));
        kit.insert("cluster".into(), Value::String(t.cluster.clone()));
        kit.insert("service".into(), Value::String(t.service.clone()));
        kit.insert("checksum".into(), Value::String(shown_checksum.clone()));
        if secrets_as == SecretsAs::Secret {
            kit.insert("secret_name".into(), Value::String(secret_name.clone()));
        }
        let mut svc = Map::new();
        if let Some(image) = &project.file.services[&t.service].image {
            svc.insert("image".into(), Value::String(image.clone()));
        }
        svc.insert("env".into(), env_value.clone());
        let namespace = match ctx.get("namespace") {
            Some(Value::String(ns)) => Some(ns.clone()),
            _ => None,
        };
        ctx.insert("kit".into(), Value::Map(kit));
        ctx.insert("env".into(), env_value);
        if secrets_as == SecretsAs::Env {
            ctx.insert("secrets".into(), Value::Map(secret_map));
        }
        ctx.insert(t.service.clone(), Value::Map(svc));
        let ctx = Value::Map(ctx);

        let mut docs = Vec::new();
        if secrets_as == SecretsAs::Secret && !secret_vars.is_empty() {
            let text = self.secret_document(
                &secret_name,
                namespace.as_deref(),
                &shown_checksum,
                &secret_vars,
            );
            docs.extend(check_output(
                &format!("{}/(kit secret)", t.service),
                &text,
                None,
                &self.masker,
            )?);
        }
        for (name, path) in project.templates(&t.service)? {
            let origin = format!("{}/{name}", t.service);
            let tpl = self.template(&origin, &path)?;
            let out = tpl.render(&self.engine, &ctx)?;
            docs.extend(check_output(
                &origin,
                &out,
                Some((ENV_CHECKSUM_ANNOTATION, &shown_checksum)),
                &self.masker,
            )?);
        }
        Ok(docs)
    }

    fn secret_document(
        &self,
        name: &str,
        namespace: Option<&str>,
        checksum: &str,
        vars: &[&Variable],
    ) -> String {
        let mut s = String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ");
        write_string_scalar(&mut s, name, false);
        if let Some(ns) = namespace {
            s.push_str("\n  namespace: ");
            write_string_scalar(&mut s, ns, false);
        }
        s.push_str("\n  labels:\n    app.kubernetes.io/managed-by: kit\n  annotations:\n    ");
        s.push_str(ENV_CHECKSUM_ANNOTATION);
        s.push_str(": ");
        write_string_scalar(&mut s, checksum, false);
        s.push_str("\ntype: Opaque\n");
        match &self.options.redact {
            // Review output: readable fingerprints, still a valid Secret.
            Some(f) => {
                s.push_str("stringData:\n");
                for (k, v) in vars {
                    s.push_str("  ");
                    write_string_scalar(&mut s, k, false);
                    s.push_str(": ");
                    write_string_scalar(&mut s, &f(v), false);
                    s.push('\n');
                }
            }
            None => {
                s.push_str("data:\n");
                for (k, v) in vars {
                    s.push_str("  ");
                    write_string_scalar(&mut s, k, false);
                    s.push_str(": ");
                    s.push_str(&base64::engine::general_purpose::STANDARD.encode(v.as_bytes()));
                    s.push('\n');
                }
            }
        }
        s
    }
}

/// Orders documents (Helm's install order by kind, then as rendered),
/// refuses duplicates (same apiVersion, kind, namespace and name; names
/// shown through `mask`), and writes the stream: `---`,
/// `# Source: service/template`, the document.
pub fn write_stream(mut docs: Vec<Document>, mask: &Masker) -> Result<String, RenderError> {
    let mut seen: HashMap<(String, String, Option<String>, String), String> = HashMap::new();
    for d in &docs {
        let key = (
            d.api_version.clone(),
            d.kind.clone(),
            d.namespace.clone(),
            d.name.clone(),
        );
        if let Some(first) = seen.insert(key, d.origin.clone()) {
            return Err(RenderError::Duplicate {
                first,
                second: d.origin.clone(),
                kind: mask
                    .show(&format!("{}/{}", d.api_version, d.kind))
                    .into_owned(),
                name: mask.show(&d.name).into_owned(),
                namespace: d.namespace.as_deref().map(|n| mask.show(n).into_owned()),
            });
        }
    }
    // A stable sort keeps the rendering order within a kind.
    docs.sort_by(|a, b| {
        kind_rank(&a.kind)
            .cmp(&kind_rank(&b.kind))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let mut out = String::with_capacity(
        docs.iter()
            .map(|d| d.text.len() + d.origin.len() + 16)
            .sum(),
    );
    for d in &docs {
        out.push_str("---\n# Source: ");
        out.push_str(&d.origin);
        out.push('\n');
        out.push_str(&d.text);
    }
    Ok(out)
}
