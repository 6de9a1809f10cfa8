//! `kit env`: print a target's variables.

use std::fmt::Write as _;

use clap::{Args, ValueEnum};
use kit_env::Resolver;
use kit_project::{Project, Selection};

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::{ProjectFlags, RedactFlags, SourceFlags, TargetFlags, VerboseFlag, runtime};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A flat JSON object of name to value, sorted by name.
    Json,
    /// `NAME="value"` lines, double-quoted with `\\ \" \n \r \$` escapes.
    Dotenv,
    /// `export NAME='value'` lines for POSIX shells (exact for any value).
    Shell,
    /// A YAML mapping of name to double-quoted value.
    Yaml,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    #[command(flatten)]
    pub verbose: VerboseFlag,
    /// Output format [default: json; with --explain, a table].
    #[arg(long, short = 'f', value_enum, env = "KIT_FORMAT")]
    pub format: Option<Format>,
    #[command(flatten)]
    pub redact: RedactFlags,
    /// Show, for each name, the key that won and the keys it overrode,
    /// instead of values.
    #[arg(long, conflicts_with = "redact")]
    pub explain: bool,
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
    let t = target.target();
    if let Some(p) = &loaded {
        p.select(&Selection::Clusters {
            environment: Some(t.environment.clone()),
            clusters: vec![t.cluster.clone()],
            services: vec![t.service.clone()],
        })?;
    }
    let src = source
        .secrets_from
        .as_deref()
        .map(SourceFlags::parse)
        .transpose()?;
    let s3 = source.s3_options()?;
    let started = std::time::Instant::now();
    let trim = source.trim || loaded.as_ref().is_some_and(|p| p.file.trim_secrets);
    runtime()?.block_on(async {
        let resolver = match &loaded {
            Some(p) => p.resolver(src.as_ref(), &s3, source.concurrency).await?,
            None => {
                let (store, layout) = src.as_ref().expect("checked above").open(&s3).await?;
                Resolver::with_options(store, layout, source.concurrency, false)
            }
        };
        let resolver = resolver
            .with_trim(trim)
            .with_allowed_names(source.allow_vars.iter().cloned());
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

pub fn run(args: &EnvArgs) -> Result<Vec<u8>, Failure> {
    let vars = resolve(
        &args.project,
        &args.source,
        &args.target,
        args.verbose.verbose,
    )?;
    if args.explain {
        return Ok(explain(&vars, args.format).into_bytes());
    }
    let fingerprints = args.redact.fingerprinter()?;
    let pairs: Vec<(&str, String)> = vars
        .iter()
        .map(|v| {
            let shown = match &fingerprints {
                Some(f) if v.secret => f.fingerprint(&v.value),
                _ => v.value.clone(),
            };
            (v.name.as_str(), shown)
        })
        .collect();
    Ok(format(&pairs, args.format.unwrap_or(Format::Json)).into_bytes())
}

fn format(pairs: &[(&str, String)], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                .collect();
            out = serde_json::to_string_pretty(&map).expect("strings always serialize");
            out.push('\n');
        }
        Format::Dotenv => {
            for (k, v) in pairs {
                out.push_str(k);
                out.push_str("=\"");
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '$' => out.push_str("\\$"),
                        c => out.push(c),
                    }
                }
                out.push_str("\"\n");
            }
        }
        Format::Shell => {
            for (k, v) in pairs {
                let _ = writeln!(out, "export {k}='{}'", v.replace('\'', "'\\''"));
            }
        }
        Format::Yaml => {
            if pairs.is_empty() {
                out.push_str("{}\n");
            }
            for (k, v) in pairs {
                out.push_str(k);
                out.push_str(": \"");
                kit_core::yaml::write_double_quoted(&mut out, v);
                out.push_str("\"\n");
            }
        }
    }
    out
}

fn explain(vars: &[Var], format: Option<Format>) -> String {
    if format == Some(Format::Json) {
        let items: Vec<serde_json::Value> = vars
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.name, "layer": v.layer, "key": v.key, "overrides": v.overridden
                })
            })
            .collect();
        return serde_json::to_string_pretty(&items).expect("strings always serialize") + "\n";
    }
    let width = vars.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for v in vars {
        let _ = writeln!(out, "{:width$}  {} ({})", v.name, v.key, v.layer);
        for o in v.overridden.iter().rev() {
            let _ = writeln!(out, "{:width$}    overrides {o}", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<(&'static str, String)> {
        vec![("A", "it's \"x\" $HOME\nz\\".into()), ("B", String::new())]
    }

    #[test]
    fn formats_are_exact() {
        assert_eq!(
            format(&pairs(), Format::Shell),
            "export A='it'\\''s \"x\" $HOME\nz\\'\nexport B=''\n"
        );
        assert_eq!(
            format(&pairs(), Format::Dotenv),
            "A=\"it's \\\"x\\\" \\$HOME\\nz\\\\\"\nB=\"\"\n"
        );
        assert_eq!(
            format(&pairs(), Format::Yaml),
            "A: \"it's \\\"x\\\" $HOME\\nz\\\\\"\nB: \"\"\n"
        );
        assert_eq!(
            format(&pairs(), Format::Json),
            "{\n  \"A\": \"it's \\\"x\\\" $HOME\\nz\\\\\",\n  \"B\": \"\"\n}\n"
        );
    }
}
