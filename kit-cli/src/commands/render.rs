//! `kit render`: a project's manifests for a target, checked, on stdout (or
//! as files). The work is kit-project's pipeline; this is flags, progress,
//! `-v` and exit codes.

use clap::Args;
use kit_env::Resolution;
use kit_project::{ClusterStream, OutputError, Project, RenderOptions, Rendered};

use crate::diagnostics::Failure;
use crate::flags::{
    DebugFlag, OutputFlags, ProjectFlags, RedactFlags, SelectFlags, SourceFlags, ValuesFlags,
    VerboseFlag, runtime,
};
use crate::signals;

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub select: SelectFlags,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub output: OutputFlags,
    #[command(flatten)]
    pub redact: RedactFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub verbose: VerboseFlag,
    #[command(flatten)]
    pub debug: DebugFlag,
}

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
    let project = Project::load(&job.project.project)?;
    let plan = project.plan(&job.select.selection())?;
    let mut options = job.options;
    let extra = job.values.values()?;
    options.extra_values = extra.iter().map(|(_, v)| v.clone()).collect();
    let source = job
        .source
        .secrets_from
        .as_deref()
        .map(crate::flags::SourceFlags::parse)
        .transpose()?;
    let s3 = job.source.s3_options()?;
    let started = std::time::Instant::now();
    let secrets: Vec<Resolution> = runtime()?.block_on(async {
        let resolver = project
            .resolver(source.as_ref(), &s3, job.source.concurrency)
            .await?
            .with_allowed_names(job.source.allow_vars.iter().cloned())
            .with_trim(project.file.trim_secrets || job.source.trim)
            .with_progress(crate::progress::Progress::phases());
        let secrets = plan.resolve(&resolver).await?;
        if job.verbose {
            log_resolution(&secrets, &resolver, started);
        }
        Ok::<_, Failure>(secrets)
    })?;
    warn_once(&secrets);
    let progress = crate::progress::Progress::new("rendering", secrets.len());
    let rendered = kit_project::render(&project, &secrets, options, &|| progress.tick())?;
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
        "kit: {} targets from {} in {:.0?}: {} list and {} get requests",
        secrets.len(),
        resolver.store().describe(),
        started.elapsed(),
        stats.lists,
        stats.gets
    );
}

/// Renders the selected targets: one stream per cluster.
pub fn render_streams(job: Job<'_>) -> Result<(Project, Vec<ClusterStream>), Failure> {
    let (project, rendered) = render(job)?;
    crate::output::mask_with(rendered.masker());
    Ok((project, rendered.streams()?))
}

pub fn run(args: &RenderArgs) -> Result<Vec<u8>, Failure> {
    let mut options = RenderOptions::default().with_debug(args.debug.debug);
    if let Some(f) = args.redact.fingerprinter()? {
        options = options.with_redaction(f);
    }
    let job = Job {
        project: &args.project,
        select: &args.select,
        values: &args.values,
        source: &args.source,
        verbose: args.verbose.verbose,
        options,
    };
    let (_, rendered) = render(job)?;
    if let Some(dir) = &args.output.output_dir {
        // A signal stops the writer, which removes what it wrote; kit then
        // ends by the signal.
        let written = signals::stoppable(|stop| rendered.write_dir_until(dir, stop));
        match &written {
            Ok(n) => eprintln!("kit: wrote {n} files under {}", dir.display()),
            Err(OutputError::Interrupted) => {
                eprintln!("kit: nothing written under {}", dir.display())
            }
            Err(_) => {}
        }
        signals::end_if_caught();
        written?;
        return Ok(Vec::new());
    }
    // Every check has passed: the streams go out one after another (not
    // gathered into one more copy of the output).
    let streams = rendered.streams()?;
    crate::write_stdout_all(streams.iter().map(|s| s.text.as_bytes()))?;
    Ok(Vec::new())
}
