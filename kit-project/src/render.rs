//! Rendering targets: one engine and one compiled template per file for the
//! whole run, shared by every target (and thread).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use kit_core::{Engine, Template, Value};
use kit_env::{Fingerprinter, Resolution};

use crate::annotate::label_and_annotate;
use crate::check::{CheckError, Document, check_documents, check_output};
use crate::context::{
    CONFIG_CHECKSUM_ANNOTATION, ENV_CHECKSUM_ANNOTATION, build, record_of, target_labels,
};
use crate::error::{ProjectError, RenderError};
use crate::mask::Masker;
pub use crate::options::RenderOptions;
use crate::project::Project;
use crate::release::Record;

/// The value at `key` in a run's cache, made by `make` on first use (two
/// threads may both make it; either result is the same).
fn read_through<Q, K, V, E>(
    cache: &RwLock<HashMap<K, V>>,
    key: &Q,
    make: impl FnOnce() -> Result<V, E>,
) -> Result<V, E>
where
    Q: ?Sized + std::hash::Hash + Eq + ToOwned<Owned = K>,
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    V: Clone,
{
    if let Some(v) = cache.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return Ok(v.clone());
    }
    let v = make()?;
    cache
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_owned(), v.clone());
    Ok(v)
}

/// A service in an environment: (environment, service).
type ServiceKey = (String, String);

/// A service's template files: (name in its folder, path).
type Listing = Arc<Vec<(String, PathBuf)>>;

/// A project with its engine and compiled templates, shared by all the
/// targets of a run (compile once, render many; safe to use from threads).
pub struct Renderer<'p> {
    project: &'p Project,
    engine: Engine,
    templates: RwLock<HashMap<PathBuf, Arc<Template>>>,
    /// Each service's template files, listed once per run.
    listings: RwLock<HashMap<String, Listing>>,
    /// Release records by (environment, service), read once per run.
    records: RwLock<HashMap<ServiceKey, Option<Arc<Record>>>>,
    templates_root: Option<PathBuf>,
    options: RenderOptions,
    masker: Masker,
}

impl std::fmt::Debug for Renderer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("project", &self.project.dir)
            .finish_non_exhaustive()
    }
}

impl<'p> Renderer<'p> {
    /// Prepares rendering `project` for a run whose secrets are
    /// `resolutions`: every secret value of the run is sensitive (refused
    /// through raw tags where it would not read back exactly, masked in
    /// messages).
    pub fn new(
        project: &'p Project,
        resolutions: &[Resolution],
        options: RenderOptions,
    ) -> Result<Renderer<'p>, RenderError> {
        // Each distinct value once (targets share most of their layers),
        // in a set sized for all of them up front (growing it rehashes
        // every value again, a dozen times for 15,000).
        let total = resolutions.iter().map(|r| r.variables.len()).sum();
        let mut distinct: std::collections::HashSet<&str, crate::fast::Fast> =
            std::collections::HashSet::with_capacity_and_hasher(total, Default::default());
        distinct.extend(
            resolutions
                .iter()
                .flat_map(|r| r.variables.iter().map(|v| v.value.expose())),
        );
        // Shared by the engine and the masker.
        let secret_values: Vec<Arc<str>> = distinct.into_iter().map(Arc::from).collect();
        let partials = project.partials_dir();
        let mut engine = Engine::new().with_sensitive_values(secret_values.iter().cloned());
        if partials.is_dir() {
            engine = engine.with_loader(kit_core::DirLoader::new(&partials)?);
        }
        Ok(Renderer {
            project,
            engine,
            templates: RwLock::new(HashMap::new()),
            listings: RwLock::new(HashMap::new()),
            records: RwLock::new(HashMap::new()),
            templates_root: project.templates_dir().canonicalize().ok(),
            options,
            masker: Masker::new(secret_values),
        })
    }

    /// The masker for messages of this run (every secret value).
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// The template files of `service`, listed once per run.
    fn listing(&self, service: &str) -> Result<Listing, RenderError> {
        read_through(&self.listings, service, || {
            Ok(Arc::new(self.project.templates(service)?))
        })
    }

    /// The release record of `service` in `environment` ([`record_of`]),
    /// read once per run: every cluster of a service shares it.
    fn record(&self, environment: &str, service: &str) -> Result<Option<Arc<Record>>, RenderError> {
        let key = (environment.to_owned(), service.to_owned());
        read_through(&self.records, &key, || {
            Ok(record_of(self.project, environment, service, &self.options)?.map(Arc::new))
        })
    }

    /// The compiled template at `path`, read and compiled once per run.
    fn template(&self, origin: &str, path: &Path) -> Result<Arc<Template>, RenderError> {
        read_through(&self.templates, path, || self.compile(origin, path))
    }

    fn compile(&self, origin: &str, path: &Path) -> Result<Arc<Template>, RenderError> {
        let refused = |reason: String| ProjectError::UnsafePath {
            path: path.to_owned(),
            reason,
        };
        let root = self
            .templates_root
            .as_deref()
            .ok_or_else(|| refused("the templates directory does not exist".into()))?;
        let source = kit_core::read_template_inside(root, path)
            .map_err(|r| match r {
                kit_core::ReadRefusal::Outside => {
                    refused("it is a link to a file outside the templates directory".into())
                }
                r => refused(r.reason()),
            })?
            .ok_or_else(|| ProjectError::Io {
                path: path.to_owned(),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
        Ok(Arc::new(self.engine.compile(origin, &source)?))
    }

    /// Adds to a check error the template line that wrote the failing
    /// output (by rendering again, traced), and with `debug`, the failing
    /// document rendered with fingerprints instead of secret values.
    fn explain(
        &self,
        mut e: CheckError,
        tpl: &Template,
        data: &Value,
        res: &Resolution,
    ) -> CheckError {
        if let Ok((out, trace)) = tpl.render_traced(&self.engine, data) {
            let line_start = std::iter::once(0)
                .chain(out.match_indices('\n').map(|(i, _)| i + 1))
                .nth(e.line.saturating_sub(1));
            if let Some(start) = line_start {
                let line = &out[start..];
                let col = e.column.unwrap_or_else(|| {
                    // No column: the first non-blank character of the line.
                    line.len() - line.trim_start_matches([' ', '-']).len() + 1
                });
                let at = line
                    .char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(start, |(i, _)| start + i);
                e.template = trace.locate(&out, at).map(Box::new);
            }
        }
        if self.options.debug {
            let redacted = RenderOptions {
                redact: Some(Fingerprinter::random()),
                ..self.options.clone()
            };
            let record = self.record(&res.target.environment, &res.target.service);
            if let Ok(record) = record
                && let Ok(ctx) = build(self.project, res, &redacted, record.as_deref())
                && let Ok(out) = tpl.render(&self.engine, &ctx.data)
            {
                e.rendered = crate::check::split_documents(&out)
                    .into_iter()
                    .nth(e.doc.saturating_sub(1))
                    .map(|(_, d)| d);
            }
        }
        e
    }

    /// Renders and checks the templates of `res.target` with its secrets.
    pub fn render(&self, res: &Resolution) -> Result<Vec<Document>, RenderError> {
        let t = &res.target;
        let record = self.record(&t.environment, &t.service)?;
        let ctx = build(self.project, res, &self.options, record.as_deref())?;
        let instance = t.instance.as_ref().map(|i| i.name.as_str());
        let inventory = self
            .project
            .inventory(&t.environment, instance, &t.cluster)?;
        let mut labels: Vec<(&str, &str)> = target_labels(t)?;
        if let Some(inv) = &inventory {
            labels.extend(inv.member_labels());
        }
        let mut docs = Vec::new();
        if let Some(text) = &ctx.secret_document {
            for mut d in check_output(&format!("{}/(kit secret)", t.service), text, &self.masker)? {
                label_and_annotate(&mut d, &labels, &[], &self.masker)?;
                docs.push(d);
            }
        }
        let mut rendered = Vec::new();
        for (name, path) in self.listing(&t.service)?.iter() {
            let origin = format!("{}/{name}", t.service);
            let tpl = self.template(&origin, path)?;
            let out = tpl.render(&self.engine, &ctx.data)?;
            let checked = check_documents(&origin, &out, self.project.schema(), &self.masker)
                .map_err(|e| self.explain(e, &tpl, &ctx.data, res))?;
            rendered.push((tpl, checked));
        }
        // The ConfigMaps and Secrets of the service (not kit's own Secret:
        // the variables' checksum covers it) roll its pods when they change.
        let config: Vec<&Document> = rendered
            .iter()
            .flat_map(|(_, d)| d)
            .filter(|d| matches!(d.kind.as_str(), "ConfigMap" | "Secret"))
            .collect();
        let config_checksum = if config.is_empty() {
            None
        } else {
            Some(ctx.config_checksum(&config)?)
        };
        let mut entries = vec![(ENV_CHECKSUM_ANNOTATION, ctx.checksum.as_str())];
        if let Some(c) = &config_checksum {
            entries.push((CONFIG_CHECKSUM_ANNOTATION, c.as_str()));
        }
        for (tpl, checked) in rendered {
            for mut d in checked {
                label_and_annotate(&mut d, &labels, &entries, &self.masker)
                    .map_err(|e| self.explain(e, &tpl, &ctx.data, res))?;
                // `# Source:` says which release record the image came from.
                if let Some(note) = &ctx.image_source {
                    d.origin = format!("{} ({note})", d.origin);
                }
                docs.push(d);
            }
        }
        if let Some(i) = &t.instance {
            self.refuse_outside(&i.name, &docs)?;
        }
        Ok(docs)
    }

    /// Refuses an object of instance `instance` that is neither in a
    /// namespace ending in `-<instance>` nor, when it has no namespace (a
    /// Namespace, a cluster-scoped object), named so.
    fn refuse_outside(&self, instance: &str, docs: &[Document]) -> Result<(), RenderError> {
        let suffix = format!("-{instance}");
        for d in docs {
            let inside = match &d.namespace {
                Some(ns) => ns.ends_with(&suffix),
                None => d.name.ends_with(&suffix),
            };
            if !inside {
                let m = &self.masker;
                return Err(RenderError::OutsideInstance {
                    origin: d.origin.clone(),
                    kind: format!("{}/{}", d.api_version, d.kind),
                    name: m.show(&d.name).into_owned(),
                    namespace: d.namespace.as_deref().map(|n| m.show(n).into_owned()),
                    instance: instance.into(),
                });
            }
        }
        Ok(())
    }
}
