//! `kit env`: print a target's variables.

use std::fmt::Write as _;

use crate::diagnostics::Failure;
use crate::flags::{EnvArgs, EnvFormat as Format};
use crate::run::{Var, resolve};

impl EnvArgs {
    /// The output format asked for, if any.
    fn format(&self) -> Option<Format> {
        match self.old_f {
            Some(f) => {
                crate::flags::warn_old_f();
                Some(f)
            }
            None => self.output,
        }
    }
}

pub fn run(args: &EnvArgs) -> Result<Vec<u8>, Failure> {
    let vars = resolve(
        &args.project,
        &args.source,
        &args.target,
        args.verbose.verbose,
    )?;
    if args.explain {
        return Ok(explain(&vars, args.format()).into_bytes());
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
    Ok(format(&pairs, args.format().unwrap_or(Format::Json)).into_bytes())
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
