//! `kit render`: a project's manifests for a target, checked, on stdout.

use std::path::{Path, PathBuf};

use clap::Args;
use kit_core::Value;
use kit_core::manifest::{
    Project, ProjectError, ProjectRenderer, ProjectTarget, RenderError, RenderOptions, parse_set,
    read_yaml, write_stream,
};
use kit_env::{Fingerprinter, Resolver, Target};

use super::source::{SourceArgs, runtime};
use crate::diagnostics::Failure;
use crate::exit::Code;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The project directory (holding kit.yaml).
    #[arg(
        short = 'C',
        long = "project",
        value_name = "DIR",
        default_value = ".",
        env = "KIT_PROJECT"
    )]
    pub project: PathBuf,
    /// The environment.
    #[arg(long, short = 'e', env = "KIT_ENVIRONMENT")]
    pub environment: Option<String>,
    /// The cluster.
    #[arg(long, short = 'c', env = "KIT_CLUSTER")]
    pub cluster: Option<String>,
    /// A service (repeatable). Default: every service enabled on the cluster.
    #[arg(long = "service", short = 's', value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Every enabled service of every cluster of every environment (or of
    /// --environment, when given). Documents are grouped by cluster, each
    /// group in install order, and `# Source:` names environment and cluster.
    #[arg(long, conflicts_with_all = ["cluster", "services"])]
    pub all: bool,
    /// A YAML or JSON values file, layered over the project's values
    /// (repeatable; later files win).
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// A value, `path.to.key=value`, layered last (repeatable). The value is
    /// read as a YAML 1.2 scalar; quote it to force a string.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Replace every secret-derived value with a keyed fingerprint, for
    /// review. The key comes from KIT_REDACT_KEY; without it a random key is
    /// used and fingerprints compare only within the run.
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub source: SourceArgs,
}

fn project_failure(e: ProjectError) -> Failure {
    Failure::new(Code::Input, e.to_string())
}

fn render_failure(e: RenderError) -> Failure {
    match e {
        RenderError::Project(p) => project_failure(p),
        RenderError::Template(t) => Failure::from(t),
        e @ RenderError::Check(_) => Failure::new(Code::Check, e.to_string()),
        e @ RenderError::Duplicate { .. } => Failure::new(Code::Check, e.to_string()),
        e => Failure::new(Code::Internal, e.to_string()),
    }
}

/// Everything a render produces: the stream and the project it came from.
pub struct Output {
    pub stream: String,
}

/// Renders the selected targets of a project (shared with apply and diff).
pub fn render(args: &RenderArgs, targets: Option<Vec<ProjectTarget>>) -> Result<Output, Failure> {
    let project = Project::load(&args.project).map_err(project_failure)?;
    let targets = match targets {
        Some(t) => t,
        None if args.all => all_targets(&project, args.environment.as_deref())?,
        None => project
            .targets(
                args.environment.as_deref(),
                args.cluster.as_deref(),
                &args.services,
            )
            .map_err(project_failure)?,
    };
    let mut extra = Vec::new();
    for f in &args.values {
        let v: Value = read_yaml(f).map_err(project_failure)?;
        match v {
            Value::Map(_) => extra.push(v),
            Value::Null => {}
            _ => {
                return Err(Failure::new(
                    Code::Input,
                    format!("{}: values must be a map", f.display()),
                ));
            }
        }
    }
    for s in &args.set {
        extra.push(parse_set(s).map_err(|e| Failure::new(Code::Usage, e.to_string()))?);
    }
    let spec = match &args.source.secrets_from {
        Some(s) => s.clone(),
        None => project.secrets_source(),
    };
    let secrets = resolve(&args.source, &spec, &targets)?;
    let redact = args.redact.then(|| {
        let f = Fingerprinter::from_env();
        if f.is_per_run() {
            eprintln!(
                "note: KIT_REDACT_KEY is not set; fingerprints use a random key and compare only within this run"
            );
        }
        f
    });
    let secret_values = secrets.iter().flatten().map(|(_, v)| v.clone());
    let options = RenderOptions {
        extra_values: extra,
        redact: redact.map(|f| {
            Box::new(move |v: &str| f.fingerprint(v)) as Box<dyn Fn(&str) -> String + Send + Sync>
        }),
    };
    let renderer =
        ProjectRenderer::new(&project, secret_values, options).map_err(render_failure)?;
    let per_target = render_parallel(&renderer, &targets, &secrets)?;
    let stream = write_groups(&targets, per_target)?;
    Ok(Output { stream })
}

/// `--all`: every enabled target, optionally of one environment.
fn all_targets(
    project: &Project,
    environment: Option<&str>,
) -> Result<Vec<ProjectTarget>, Failure> {
    let all = project.all_targets();
    let Some(e) = environment else {
        return Ok(all);
    };
    if !project.file.environments.contains_key(e) {
        return Err(project_failure(ProjectError::UnknownEnvironment {
            name: e.into(),
            known: project
                .file
                .environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        }));
    }
    Ok(all.into_iter().filter(|t| t.environment == e).collect())
}

/// Writes one ordered group per cluster: the same object may exist on two
/// clusters, never twice on one. With several clusters, `# Source:` names
/// environment and cluster too.
fn write_groups(
    targets: &[ProjectTarget],
    per_target: Vec<Vec<kit_core::manifest::Document>>,
) -> Result<String, Failure> {
    let cluster = |t: &ProjectTarget| (t.environment.clone(), t.cluster.clone());
    let multi = targets.iter().any(|t| cluster(t) != cluster(&targets[0]));
    let mut stream = String::new();
    let mut group = Vec::new();
    let mut current = None;
    for (t, docs) in targets.iter().zip(per_target) {
        if current.as_ref().is_some_and(|c| *c != cluster(t)) {
            stream.push_str(&write_stream(std::mem::take(&mut group)).map_err(render_failure)?);
        }
        current = Some(cluster(t));
        for mut d in docs {
            if multi {
                d.origin = format!("{}/{}/{}", t.environment, t.cluster, d.origin);
            }
            group.push(d);
        }
    }
    stream.push_str(&write_stream(group).map_err(render_failure)?);
    Ok(stream)
}

/// Renders targets on up to as many threads as there are cores.
fn render_parallel(
    renderer: &ProjectRenderer<'_>,
    targets: &[ProjectTarget],
    secrets: &[Vec<(String, String)>],
) -> Result<Vec<Vec<kit_core::manifest::Document>>, Failure> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(targets.len())
        .max(1);
    if threads == 1 {
        return targets
            .iter()
            .zip(secrets)
            .map(|(t, s)| renderer.render(t, s).map_err(render_failure))
            .collect();
    }
    let chunk = targets.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .chunks(chunk)
            .zip(secrets.chunks(chunk))
            .map(|(ts, ss)| {
                scope.spawn(move || {
                    ts.iter()
                        .zip(ss)
                        .map(|(t, s)| renderer.render(t, s))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(targets.len());
        for h in handles {
            out.extend(
                h.join()
                    .expect("render thread panicked")
                    .map_err(render_failure)?,
            );
        }
        Ok(out)
    })
}

/// Resolves every target's secrets in one run (each layer listed once, each
/// object fetched once).
fn resolve(
    source: &SourceArgs,
    spec: &str,
    targets: &[ProjectTarget],
) -> Result<Vec<Vec<(String, String)>>, Failure> {
    let src = SourceArgs::parse(spec)?;
    if let kit_env::Source::Dir(dir) = &src
        && !Path::new(dir).is_dir()
    {
        return Err(Failure::new(
            Code::Input,
            format!("the secrets directory {} does not exist", dir.display()),
        ));
    }
    let s3 = source.s3_options()?;
    let env_targets: Vec<Target> = targets
        .iter()
        .map(|t| Target::new(&t.environment, &t.cluster, &t.service))
        .collect();
    runtime()?.block_on(async {
        let (store, layout) = src.open(&s3).await;
        let resolver = Resolver::with_options(store, layout, source.concurrency, false);
        let all = resolver.resolve_many(&env_targets).await?;
        let mut out = Vec::with_capacity(all.len());
        for r in all {
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            out.push(
                r.variables
                    .into_iter()
                    .map(|v| (v.name, v.value.expose().to_owned()))
                    .collect(),
            );
        }
        Ok(out)
    })
}

pub fn run(args: &RenderArgs) -> Result<Vec<u8>, Failure> {
    Ok(render(args, None)?.stream.into_bytes())
}
