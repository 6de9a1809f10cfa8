//! `kit render`: a project's manifests for a target, checked, on stdout.

use std::path::{Path, PathBuf};

use clap::Args;
use kit_core::Value;
use kit_core::manifest::{
    CHECKSUM_KEY_NAME, Document, Masker, Project, ProjectError, ProjectRenderer, ProjectTarget,
    RenderError, RenderOptions, parse_set, read_yaml, write_stream,
};
use kit_env::{Resolver, Target};

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
    /// The cluster (repeatable: several clusters of the environment in one
    /// run, grouped by cluster).
    #[arg(
        long = "cluster",
        short = 'c',
        value_name = "CLUSTER",
        env = "KIT_CLUSTER",
        value_delimiter = ','
    )]
    pub clusters: Vec<String>,
    /// A service (repeatable). Default: every service enabled on the cluster.
    #[arg(long = "service", short = 's', value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Every enabled service of every cluster of every environment (or of
    /// --environment, when given). Documents are grouped by cluster, each
    /// group in install order, and `# Source:` names environment and cluster.
    #[arg(long, conflicts_with_all = ["clusters", "services"])]
    pub all: bool,
    /// Write each document to its own file instead of standard output:
    /// DIR/<environment>/<cluster>/<service>/[<namespace>/]<kind>[.<group>]-<name>.yaml
    /// (mode 0600; directories 0700). All or nothing: the tree is written
    /// beside DIR and moved into place only when complete. DIR must be empty
    /// or not exist yet.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// A YAML or JSON values file, layered over the project's values
    /// (repeatable; later files win).
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// A value, `path.to.key=value`, layered last (repeatable). The value is
    /// read as a YAML 1.2 scalar; quote it to force a string.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub redact: super::source::RedactArgs,
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
        e @ (RenderError::NoChecksumKey { .. } | RenderError::WeakChecksumKey { .. }) => {
            let env = e.to_string();
            Failure::new(Code::Secrets, env).with_hint(format!(
                "kit keys the {} pod annotation so it reveals nothing about the secrets; create a random key once per environment: head -c 32 /dev/urandom | base64 | kit secrets --secrets-from SOURCE put ENVIRONMENT/common/{CHECKSUM_KEY_NAME}",
                kit_core::manifest::ENV_CHECKSUM_ANNOTATION
            ))
        }
        e => Failure::new(Code::Internal, e.to_string()),
    }
}

/// One target's secrets: its variables, and the key of its pod checksum.
pub struct TargetSecrets {
    pub variables: Vec<(String, String)>,
    pub checksum_key: Option<String>,
}

/// The selected targets, rendered and checked: the project, the targets,
/// each target's documents, and the masker of the run.
type Rendered = (Project, Vec<ProjectTarget>, Vec<Vec<Document>>, Masker);

/// Renders the selected targets, grouped by cluster: for each cluster, its
/// first target and the stream `kit render` prints for it.
pub fn render_groups(
    args: &RenderArgs,
) -> Result<(Project, Vec<(ProjectTarget, String)>), Failure> {
    let (project, targets, per_target, masker) = render_documents(args)?;
    let groups = write_groups(&targets, per_target, &masker)?;
    Ok((project, groups))
}

/// Renders the selected targets of a project.
fn render_documents(args: &RenderArgs) -> Result<Rendered, Failure> {
    let project = Project::load(&args.project).map_err(project_failure)?;
    let targets = if args.all {
        all_targets(&project, args.environment.as_deref())?
    } else if args.clusters.len() > 1 {
        let mut all = Vec::new();
        for c in &args.clusters {
            let ts = project
                .targets(args.environment.as_deref(), Some(c), &args.services)
                .map_err(project_failure)?;
            all.extend(
                ts.into_iter()
                    .filter(|t| !all.contains(t))
                    .collect::<Vec<_>>(),
            );
        }
        all
    } else {
        project
            .targets(
                args.environment.as_deref(),
                args.clusters.first().map(String::as_str),
                &args.services,
            )
            .map_err(project_failure)?
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
    let redact = args.redact.fingerprinter()?;
    let secret_values = secrets.iter().flat_map(|s| {
        s.variables
            .iter()
            .map(|(_, v)| v.clone())
            .chain(s.checksum_key.clone())
    });
    let options = RenderOptions {
        extra_values: extra,
        redact: redact.map(|f| {
            Box::new(move |v: &str| f.fingerprint(v)) as Box<dyn Fn(&str) -> String + Send + Sync>
        }),
    };
    let renderer =
        ProjectRenderer::new(&project, secret_values, options).map_err(render_failure)?;
    let per_target = render_parallel(&renderer, &targets, &secrets)?;
    let masker = renderer.masker().clone();
    drop(renderer);
    Ok((project, targets, per_target, masker))
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
    per_target: Vec<Vec<Document>>,
    masker: &Masker,
) -> Result<Vec<(ProjectTarget, String)>, Failure> {
    let cluster = |t: &ProjectTarget| (t.environment.clone(), t.cluster.clone());
    let multi = targets.iter().any(|t| cluster(t) != cluster(&targets[0]));
    let mut out = Vec::new();
    let mut group = Vec::new();
    let mut current: Option<&ProjectTarget> = None;
    for (t, docs) in targets.iter().zip(per_target) {
        if let Some(c) = current
            && cluster(c) != cluster(t)
        {
            out.push((
                c.clone(),
                write_stream(std::mem::take(&mut group), masker).map_err(render_failure)?,
            ));
            current = None;
        }
        current.get_or_insert(t);
        for mut d in docs {
            if multi {
                d.origin = format!("{}/{}/{}", t.environment, t.cluster, d.origin);
            }
            group.push(d);
        }
    }
    if let Some(c) = current {
        out.push((
            c.clone(),
            write_stream(group, masker).map_err(render_failure)?,
        ));
    }
    Ok(out)
}

/// Renders targets on up to as many threads as there are cores.
fn render_parallel(
    renderer: &ProjectRenderer<'_>,
    targets: &[ProjectTarget],
    secrets: &[TargetSecrets],
) -> Result<Vec<Vec<Document>>, Failure> {
    let progress = crate::progress::Progress::new("rendering", targets.len());
    let render_one = |t: &ProjectTarget, s: &TargetSecrets| {
        let r = renderer.render(t, &s.variables, s.checksum_key.as_deref());
        progress.tick();
        r
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(targets.len())
        .max(1);
    if threads == 1 {
        return targets
            .iter()
            .zip(secrets)
            .map(|(t, s)| render_one(t, s).map_err(render_failure))
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
                        .map(|(t, s)| render_one(t, s))
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
) -> Result<Vec<TargetSecrets>, Failure> {
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
        let resolver = Resolver::with_options(store, layout, source.concurrency, false)
            .with_allowed_names(source.allow_vars.iter().cloned())
            .with_progress(crate::progress::Progress::phases());
        let all = resolver.resolve_many(&env_targets).await?;
        let mut out = Vec::with_capacity(all.len());
        for r in all {
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            let mut variables = Vec::with_capacity(r.variables.len());
            let mut checksum_key = None;
            for v in r.variables {
                if v.name == CHECKSUM_KEY_NAME {
                    checksum_key = Some(v.value.expose().to_owned());
                } else {
                    variables.push((v.name, v.value.expose().to_owned()));
                }
            }
            out.push(TargetSecrets {
                variables,
                checksum_key,
            });
        }
        Ok(out)
    })
}

pub fn run(args: &RenderArgs) -> Result<Vec<u8>, Failure> {
    let (_, targets, per_target, masker) = render_documents(args)?;
    if let Some(dir) = &args.output_dir {
        let n = crate::output_dir::write_tree(dir, &targets, &per_target, &masker)?;
        eprintln!("kit: wrote {n} files under {}", dir.display());
        return Ok(Vec::new());
    }
    let groups = write_groups(&targets, per_target, &masker)?;
    Ok(groups
        .into_iter()
        .map(|(_, s)| s)
        .collect::<String>()
        .into_bytes())
}
