//! A whole run, as a library: selection → plan → secrets → render (in
//! parallel) → one stream per cluster, or files.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use kit_env::{Resolution, Resolver, S3Options, Source, Target};

use crate::check::Document;
use crate::error::{OutputError, ProjectError, RenderError};
use crate::mask::Masker;
use crate::project::Project;
use crate::render::{RenderOptions, Renderer};
use crate::select::Selection;
use crate::stream::{ClusterStream, cluster_streams};

/// How a run reads its secrets: the flags of `kit render`, `apply`,
/// `release`... in one value, applied by [`Project::secrets_resolver`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SecretsOptions {
    /// The store, instead of `kit.yaml`'s `secrets:`.
    pub source: Option<Source>,
    /// S3 settings (endpoint, region, profile...).
    pub s3: S3Options,
    /// Requests in flight at most (0: the resolver's default).
    pub concurrency: usize,
    /// Variable names allowed although they change how programs start.
    pub allowed_names: Vec<String>,
    /// Trim trailing white space of every value (also when `kit.yaml`
    /// says `trim_secrets: true`).
    pub trim: bool,
}

impl SecretsOptions {
    /// The options for `source`, `s3` and `concurrency`.
    pub fn new(source: Option<Source>, s3: S3Options, concurrency: usize) -> Self {
        SecretsOptions {
            source,
            s3,
            concurrency,
            ..Default::default()
        }
    }

    /// Allows these variable names.
    pub fn with_allowed_names(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.allowed_names.extend(names);
        self
    }

    /// Trims values.
    pub fn with_trim(mut self, trim: bool) -> Self {
        self.trim = trim;
        self
    }
}

/// The targets of a run, grouped by cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One record per target.
    pub targets: Vec<Target>,
}

impl Project {
    /// The plan for `selection` (see [`Project::select`]).
    pub fn plan(&self, selection: &Selection) -> Result<Plan, ProjectError> {
        Ok(Plan {
            targets: self.select(selection)?,
        })
    }

    /// A resolver over the project's secret store (`kit.yaml`'s `secrets:`),
    /// or over `source` when given, trimming values when `kit.yaml` says
    /// `trim_secrets: true` (turn it on for one run with
    /// [`Resolver::with_trim`]).
    pub async fn resolver(
        &self,
        source: Option<&Source>,
        s3: &S3Options,
        concurrency: usize,
    ) -> Result<Resolver, kit_env::Error> {
        let own;
        let source = match source {
            Some(s) => s,
            None => {
                own = self.secrets_source()?;
                &own
            }
        };
        let (store, layout) = source.open(s3).await?;
        Ok(Resolver::new(store, layout)
            .with_concurrency(concurrency)
            .with_trim(self.file.trim_secrets))
    }
}

impl Project {
    /// The resolver `options` describe, over the project's store unless
    /// they name another.
    pub async fn secrets_resolver(
        &self,
        options: &SecretsOptions,
    ) -> Result<Resolver, kit_env::Error> {
        Ok(self
            .resolver(options.source.as_ref(), &options.s3, options.concurrency)
            .await?
            .with_allowed_names(options.allowed_names.iter().cloned())
            .with_trim(self.file.trim_secrets || options.trim))
    }
}

impl Plan {
    /// Resolves every target's secrets: each layer listed once, each object
    /// fetched once, concurrently within the resolver's bound. One
    /// [`Resolution`] per target, in plan order.
    pub async fn resolve(&self, resolver: &Resolver) -> Result<Vec<Resolution>, kit_env::Error> {
        resolver.resolve_many(&self.targets).await
    }
}

/// Every target rendered and checked, grouped by cluster.
#[derive(Debug)]
pub struct Rendered {
    /// Each target with its documents, in plan order.
    pub targets: Vec<(Target, Vec<Document>)>,
    masker: Masker,
}

impl Rendered {
    /// The masker of this run (every secret value): for messages that
    /// name what was rendered.
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// One stream per cluster, each in install order: exactly what
    /// `kit render` prints, and what `kit apply` sends to each cluster.
    pub fn streams(self) -> Result<Vec<ClusterStream>, RenderError> {
        cluster_streams(self.targets, &self.masker)
    }

    /// Writes one file per document under `dir`, all or nothing (see
    /// [`crate::output_dir`]); returns the number of files. The same object
    /// twice on one cluster is refused, as [`Rendered::streams`] refuses it.
    pub fn write_dir(&self, dir: &Path) -> Result<usize, OutputError> {
        self.write_dir_until(dir, &AtomicBool::new(false))
    }

    /// [`Rendered::write_dir`], stopping when `stop` becomes true before
    /// the tree is complete (a signal handler sets it): then everything
    /// written is removed, `dir` is left as it was, and the error is
    /// [`OutputError::Interrupted`]. Once the tree has its name, it is
    /// complete and `stop` no longer matters.
    ///
    /// ```no_run
    /// # fn run(rendered: kit_project::Rendered) {
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// let stop = AtomicBool::new(false);
    /// // A signal handler calls `stop.store(true, Ordering::Relaxed)`.
    /// match rendered.write_dir_until("out".as_ref(), &stop) {
    ///     Ok(n) => println!("{n} files"),
    ///     Err(kit_project::OutputError::Interrupted) => println!("nothing written"),
    ///     Err(e) => println!("{e}"),
    /// }
    /// # }
    /// ```
    pub fn write_dir_until(&self, dir: &Path, stop: &AtomicBool) -> Result<usize, OutputError> {
        crate::stream::refuse_duplicate_objects(&self.targets, &self.masker)
            .map_err(|e| OutputError::Check(Box::new(e)))?;
        crate::output_dir::write_tree(dir, &self.targets, &self.masker, stop)
    }
}

/// Renders every target of a run on up to as many threads as there are
/// cores, calling `on_target` after each target (for progress). Nothing is
/// returned unless every target rendered and passed its checks.
pub fn render(
    project: &Project,
    resolutions: &[Resolution],
    options: RenderOptions,
    on_target: &(dyn Fn() + Sync),
) -> Result<Rendered, RenderError> {
    let renderer = Renderer::new(project, resolutions, options)?;
    let targets = render_each(&renderer, resolutions, &|t, docs| {
        on_target();
        (t, docs)
    })?;
    Ok(Rendered {
        targets,
        masker: renderer.masker().clone(),
    })
}

/// [`render`] and [`Rendered::write_dir_until`] in one go, with the files
/// written while later targets render (the run takes about the longer of
/// the two instead of their sum). The same checks and errors, in the same
/// order, and the same tree, all or nothing: the tree is made in a hidden
/// sibling of `dir` and renamed to `dir` once complete and synced. Returns
/// the rendered run and the number of files.
///
/// ```no_run
/// # fn run(project: &kit_project::Project, secrets: &[kit_env::Resolution]) {
/// use std::sync::atomic::AtomicBool;
/// let stop = AtomicBool::new(false);
/// match kit_project::render_to_dir(project, secrets, Default::default(), "out".as_ref(), &stop, &|| {}) {
///     Ok((_, n)) => println!("{n} files"),
///     Err(e) => println!("{e}"),
/// }
/// # }
/// ```
pub fn render_to_dir(
    project: &Project,
    resolutions: &[Resolution],
    options: RenderOptions,
    dir: &Path,
    stop: &AtomicBool,
    on_target: &(dyn Fn() + Sync),
) -> Result<(Rendered, usize), OutputError> {
    let failed = |e: RenderError| OutputError::Render(Box::new(e));
    let check = |e: RenderError| OutputError::Check(Box::new(e));
    if !crate::output_dir::is_free(dir)? {
        // Rendered first, so that a render error is reported before the
        // directory (as without overlap).
        let rendered = render(project, resolutions, options, on_target).map_err(failed)?;
        let n = rendered.write_dir_until(dir, stop)?;
        return Ok((rendered, n));
    }
    let renderer = Renderer::new(project, resolutions, options).map_err(failed)?;
    let masker = renderer.masker().clone();
    let (targets, n) = crate::output_dir::write_tree_while(
        dir,
        &masker,
        stop,
        |hand| {
            render_each(&renderer, resolutions, &|t, docs| {
                on_target();
                let shared = std::sync::Arc::new((t, docs));
                hand(shared.clone());
                shared
            })
            .map_err(failed)
        },
        |targets| crate::stream::refuse_duplicate_objects(targets, &masker).map_err(check),
    )?;
    Ok((Rendered { targets, masker }, n))
}

/// Renders every target on up to as many threads as there are cores,
/// handing each target's documents to `each` as soon as they are ready;
/// the results in plan order, or the first error in plan order.
fn render_each<T: Send>(
    renderer: &Renderer,
    resolutions: &[Resolution],
    each: &(dyn Fn(Target, Vec<Document>) -> T + Sync),
) -> Result<Vec<T>, RenderError> {
    let render_one = |r: &Resolution| renderer.render(r).map(|d| each(r.target.clone(), d));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(resolutions.len())
        .max(1);
    if threads == 1 {
        return resolutions.iter().map(render_one).collect();
    }
    let chunk = resolutions.len().div_ceil(threads);
    let render_all = |rs: &[Resolution]| rs.iter().map(render_one).collect::<Result<Vec<_>, _>>();
    std::thread::scope(|scope| {
        // The first chunk on this thread, the others on new ones.
        let mut chunks = resolutions.chunks(chunk);
        let first = chunks.next().unwrap_or_default();
        let handles: Vec<_> = chunks.map(|rs| scope.spawn(|| render_all(rs))).collect();
        let mut out = Vec::with_capacity(resolutions.len());
        out.extend(render_all(first)?);
        for h in handles {
            out.extend(h.join().expect("render thread panicked")?);
        }
        Ok(out)
    })
}
