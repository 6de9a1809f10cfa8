//! The work commands share, over the libraries: a render run (load the
//! project, resolve the selected targets' secrets with progress, render
//! and check, warnings once, `-v` logs) for `kit render`, `apply` and
//! `diff`; and one target's variables for `kit env` and `kit exec`.

use kit_env::{Resolution, Resolver};
use kit_project::{ClusterStream, Project, RenderOptions, Rendered};

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::{ProjectFlags, SelectFlags, SourceFlags, TargetFlags, ValuesFlags, runtime};

/// What the render flags of `kit render`, `kit apply` and `kit diff` share.
pub struct Job<'a> {
    pub project: &'a ProjectFlags,
    pub select: &'a SelectFlags,
    pub values: &'a ValuesFlags,
    pub source: &'a SourceFlags,
    pub verbose: bool,
    pub options: RenderOptions,
}

/// Loads the project, resolves the selected targets' secrets, and renders
/// and checks every document.
pub fn render(job: Job<'_>) -> Result<(Project, Rendered), Failure> {
    render_with(job, |project, secrets, options, tick| {
        Ok(kit_project::render(project, secrets, options, tick)?)
    })
}

/// [`render`] with the files of `--output-dir` written while the later
/// targets render ([`kit_project::render_to_dir`]). The outer error is
/// what failed before the files (the project, the secrets, the render);
/// the inner result is the writing: the number of files, or why none was
/// left. A signal while the secrets are read ends kit at once, as
/// everywhere; once the files are being written it stops the writers,
/// which remove what they wrote (`Err(Interrupted)`), and the caller ends
/// by the signal.
pub fn render_to_dir(
    job: Job<'_>,
    dir: &std::path::Path,
) -> Result<Result<usize, kit_project::OutputError>, Failure> {
    let (_, written) = render_with(job, |project, secrets, options, tick| {
        let written = crate::signals::stoppable(|stop| {
            kit_project::render_to_dir(project, secrets, options, dir, stop, tick)
        });
        match written {
            Ok((rendered, n)) => {
                crate::output::mask_with(rendered.masker());
                Ok(Ok(n))
            }
            Err(kit_project::OutputError::Render(e)) => Err((*e).into()),
            Err(e) => Ok(Err(e)),
        }
    })?;
    Ok(written)
}

/// Loads the project, resolves the secrets of the selection (progress,
/// `-v`, warnings) and renders with `render`; then warns of unused values.
fn render_with<T>(
    job: Job<'_>,
    render: impl FnOnce(
        &Project,
        &[Resolution],
        RenderOptions,
        &(dyn Fn() + Sync),
    ) -> Result<T, Failure>,
) -> Result<(Project, T), Failure> {
    let project = Project::load(&job.project.project)?;
    let plan = project.plan(&job.select.selection())?;
    let mut options = job.options;
    options.images = job.select.images()?;
    for service in options.images.keys() {
        if !plan.targets.iter().any(|t| &t.service == service) {
            let mut rendered: Vec<&str> = plan.targets.iter().map(|t| t.service.as_str()).collect();
            rendered.dedup();
            return Err(kit_project::ProjectError::ImageNotRendered {
                service: service.clone(),
                rendered: rendered.join(", "),
            }
            .into());
        }
    }
    let extra = job.values.values()?;
    options.extra_values = extra.iter().map(|(_, v)| v.clone()).collect();
    let secrets_options = job.source.secrets_options()?;
    let started = std::time::Instant::now();
    let secrets: Vec<Resolution> = runtime()?.block_on(async {
        let resolver = project
            .secrets_resolver(&secrets_options)
            .await?
            .with_progress(crate::progress::Progress::phases());
        let secrets = plan.resolve(&resolver).await?;
        if job.verbose {
            log_resolution(&secrets, &resolver, started);
        }
        Ok::<_, Failure>(secrets)
    })?;
    warn_once(&secrets);
    let progress = crate::progress::Progress::new("rendering", secrets.len());
    let rendered = render(&project, &secrets, options, &|| progress.tick())?;
    for u in project.unused_values(&plan.targets, &extra) {
        eprintln!("warning: {u}");
    }
    Ok((project, rendered))
}

/// Prints the resolutions' warnings, each once (a common secret is in every
/// target of its environment).
pub fn warn_once(secrets: &[Resolution]) {
    let mut seen = std::collections::HashSet::new();
    for w in secrets.iter().flat_map(|r| &r.warnings) {
        if seen.insert(w) {
            eprintln!("warning: {w}");
        }
    }
}

/// `-v`: where each variable of each target came from, and the requests
/// made. Never values.
fn log_resolution(
    secrets: &[Resolution],
    resolver: &kit_env::Resolver,
    started: std::time::Instant,
) {
    for r in secrets {
        for v in &r.variables {
            eprintln!(
                "kit: {}: {} <- {} ({} layer)",
                r.target,
                v.name,
                kit_env::layout::printable(&v.key),
                v.layer.name()
            );
        }
    }
    let stats = resolver.store().stats();
    eprintln!(
        "kit: {} targets from {} in {:.0?}: {} list and {} get requests, at most {} in flight{}",
        secrets.len(),
        resolver.store().describe(),
        started.elapsed(),
        stats.lists,
        stats.gets,
        resolver.peak_in_flight(),
        match stats.throttled {
            0 => String::new(),
            n => format!(", {n} throttling answers (SlowDown, 503, 429)"),
        }
    );
}

/// Renders the selected targets: one stream per cluster.
pub fn render_streams(job: Job<'_>) -> Result<(Project, Vec<ClusterStream>), Failure> {
    let (project, rendered) = render(job)?;
    crate::output::mask_with(rendered.masker());
    Ok((project, rendered.streams()?))
}

/// One variable of a target, as its service gets it. No `Debug`: it holds
/// the value.
pub struct Var {
    pub name: String,
    pub value: String,
    /// A secret (else an `env:` entry of kit.yaml).
    pub secret: bool,
    /// The key that won, or `kit.yaml env:`.
    pub key: String,
    /// `environment`, `cluster`, `service`, or `env:`.
    pub layer: &'static str,
    /// The keys it overrode.
    pub overridden: Vec<String>,
}

/// The variables of one target (shared with `kit exec`). With a kit.yaml
/// in the project directory: exactly what the rendered service gets (the
/// target checked against kit.yaml, `enabled:` honoured, `env:` entries,
/// `env_conflict`, `trim_secrets`, the project's secret source unless
/// --secrets-from). Without one: the three layers of --secrets-from.
pub fn resolve(
    project: &ProjectFlags,
    source: &SourceFlags,
    target: &TargetFlags,
    verbose: bool,
) -> Result<Vec<Var>, Failure> {
    let dir = &project.project;
    let loaded = if dir.join(kit_project::PROJECT_FILE).is_file() {
        Some(Project::load(dir)?)
    } else if source.secrets_from.is_none() {
        return Err(Failure::new(
            Code::Usage,
            format!(
                "no {} in {} and no --secrets-from",
                kit_project::PROJECT_FILE,
                dir.display()
            ),
        )
        .with_hint("run in the project (-C DIR, KIT_PROJECT), or name a secret source with --secrets-from SOURCE"));
    } else {
        None
    };
    let t = match &loaded {
        Some(p) => target.target_in(p)?,
        None if target.instance.instance.is_some() => {
            return Err(Failure::new(
                Code::Usage,
                "--instance needs the project's kit.yaml (it names the instance's base environment)",
            )
            .with_hint("run in the project (-C DIR, KIT_PROJECT)"));
        }
        None => target.target(),
    };
    let options = source.secrets_options()?;
    let started = std::time::Instant::now();
    runtime()?.block_on(async {
        let resolver = match &loaded {
            Some(p) => p.secrets_resolver(&options).await?,
            None => {
                let src = options.source.as_ref().expect("checked above");
                let (store, layout) = src.open(&options.s3).await?;
                Resolver::new(store, layout)
                    .with_concurrency(options.concurrency)
                    .with_trim(options.trim)
                    .with_allowed_names(options.allowed_names.iter().cloned())
            }
        };
        let res = resolver.resolve(&t).await?;
        for w in &res.warnings {
            eprintln!("warning: {w}");
        }
        let vars = match &loaded {
            Some(p) => {
                let vars = p.variables(&res)?;
                vars.all()
                    .into_iter()
                    .map(|(name, value, secret)| {
                        let from = res.variables.iter().find(|v| secret && v.name == name);
                        Var {
                            name: name.to_owned(),
                            value: value.to_owned(),
                            secret,
                            key: from.map_or_else(
                                || format!("{} env:", kit_project::PROJECT_FILE),
                                |v| kit_env::layout::printable(&v.key).to_string(),
                            ),
                            layer: from.map_or("env:", |v| v.layer.name()),
                            overridden: from.map(|v| v.overridden.clone()).unwrap_or_default(),
                        }
                    })
                    .collect::<Vec<_>>()
            }
            None => {
                if res.variables.is_empty() {
                    eprintln!(
                        "warning: no secrets at all for {t} (without {} kit cannot tell whether the names are right; run in the project with -C DIR)",
                        kit_project::PROJECT_FILE
                    );
                }
                res.variables
                    .iter()
                    .filter(|v| v.name != kit_project::CHECKSUM_KEY_NAME)
                    .map(|v| Var {
                        name: v.name.clone(),
                        value: v.value.expose().to_owned(),
                        secret: true,
                        key: kit_env::layout::printable(&v.key).to_string(),
                        layer: v.layer.name(),
                        overridden: v.overridden.clone(),
                    })
                    .collect()
            }
        };
        if verbose {
            let stats = resolver.store().stats();
            for v in &vars {
                eprintln!("kit: {} <- {} ({} layer)", v.name, v.key, v.layer);
            }
            eprintln!(
                "kit: {} variables for {t} from {} in {:.0?}: {} list and {} get requests",
                vars.len(),
                resolver.store().describe(),
                started.elapsed(),
                stats.lists,
                stats.gets
            );
        }
        Ok::<_, Failure>(vars)
    })
}
