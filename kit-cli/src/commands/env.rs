//! `kit env`: print a target's variables.

use std::fmt::Write as _;

use clap::{Args, ValueEnum};
use kit_env::{Resolution, Resolver};

use crate::diagnostics::Failure;
use crate::flags::{RedactFlags, SourceFlags, TargetFlags, VerboseFlag, runtime};

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
    /// Remove trailing white space (spaces, tabs, line breaks) from values.
    /// Values are otherwise byte-exact.
    #[arg(long, env = "KIT_TRIM")]
    pub trim: bool,
}

/// Resolves one target (shared with `kit exec`).
pub fn resolve(
    source: &SourceFlags,
    target: &TargetFlags,
    verbose: bool,
    trim: bool,
) -> Result<Resolution, Failure> {
    let src = source.source()?;
    let s3 = source.s3_options()?;
    let target = target.target();
    let started = std::time::Instant::now();
    let res = runtime()?.block_on(async {
        let (store, layout) = src.open(&s3).await?;
        let resolver = Resolver::with_options(store, layout, source.concurrency, trim)
            .with_allowed_names(source.allow_vars.iter().cloned());
        let mut res = resolver.resolve(&target).await?;
        // The pod checksum's key is kit's, not a variable of the service.
        res.variables
            .retain(|v| v.name != kit_project::CHECKSUM_KEY_NAME);
        if verbose {
            let stats = resolver.store().stats();
            for v in &res.variables {
                eprintln!(
                    "kit: {} <- {} ({} layer)",
                    v.name,
                    kit_env::layout::printable(&v.key),
                    v.layer.name()
                );
            }
            eprintln!(
                "kit: {} variables for {target} from {} in {:.0?}: {} list and {} get requests",
                res.variables.len(),
                resolver.store().describe(),
                started.elapsed(),
                stats.lists,
                stats.gets
            );
        }
        Ok::<_, Failure>(res)
    })?;
    Ok(res)
}

pub fn run(args: &EnvArgs) -> Result<Vec<u8>, Failure> {
    let res = resolve(&args.source, &args.target, args.verbose.verbose, args.trim)?;
    for w in &res.warnings {
        eprintln!("warning: {w}");
    }
    if args.explain {
        return Ok(explain(&res, args.format).into_bytes());
    }
    let fingerprints = args.redact.fingerprinter()?;
    let pairs: Vec<(&str, String)> = res
        .variables
        .iter()
        .map(|v| {
            let shown = match &fingerprints {
                Some(f) => f.fingerprint(v.value.expose()),
                None => v.value.expose().to_owned(),
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

fn explain(res: &Resolution, format: Option<Format>) -> String {
    if format == Some(Format::Json) {
        let items: Vec<serde_json::Value> = res
            .variables
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.name, "layer": v.layer.name(), "key": v.key, "overrides": v.overridden
                })
            })
            .collect();
        return serde_json::to_string_pretty(&items).expect("strings always serialize") + "\n";
    }
    let width = res
        .variables
        .iter()
        .map(|v| v.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for v in &res.variables {
        let _ = writeln!(out, "{:width$}  {} ({})", v.name, v.key, v.layer.name());
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
