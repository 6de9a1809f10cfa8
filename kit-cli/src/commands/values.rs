//! `kit values`: the data a target's templates see.

use kit_core::Value;
use kit_project::{Project, RenderOptions};

use crate::diagnostics::Failure;
use crate::flags::runtime;
use crate::flags::{ValuesArgs, ValuesFormat as Format};

pub fn run(args: &ValuesArgs) -> Result<Vec<u8>, Failure> {
    let project = Project::load(&args.project.project)?;
    let t = args.target.target_in(&project)?;
    let extra = args.values.values()?;
    let mut options = RenderOptions::default();
    options.extra_values = extra.iter().map(|(_, v)| v.clone()).collect();
    if !args.show_secrets {
        let f =
            kit_env::Fingerprinter::from_file_or_key(None, crate::flags::redact_key().as_deref())
                .map_err(|e| Failure::io("cannot read KIT_REDACT_KEY", e))?;
        options = options.with_redaction(f);
    }
    let secrets_options = args.source.secrets_options()?;
    let res = runtime()?.block_on(async {
        let resolver = project.secrets_resolver(&secrets_options).await?;
        Ok::<_, Failure>(resolver.resolve(&t).await?)
    })?;
    for w in &res.warnings {
        eprintln!("warning: {w}");
    }
    for u in project.unused_values(std::slice::from_ref(&t), &extra) {
        eprintln!("warning: {u}");
    }
    let data = kit_project::template_context(&project, &res, &options)?;
    let mut out = String::new();
    match args.output {
        Format::Yaml => write_yaml(&mut out, &data, 0),
        Format::Json => {
            out = serde_json::to_string_pretty(&to_json(&data)).expect("values serialize");
            out.push('\n');
        }
    }
    Ok(out.into_bytes())
}

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null | Value::Lambda(_) => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::UInt(u) => (*u).into(),
        Value::Float(x) => {
            serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into)
        }
        Value::String(s) => s.clone().into(),
        Value::List(l) => l.iter().map(to_json).collect(),
        Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect(),
    }
}

/// Block-style YAML; strings written as kit writes them into manifests
/// (plain when that reads back as the same string, else double-quoted).
fn write_yaml(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Map(m) if m.is_empty() => out.push_str("{}\n"),
        Value::List(l) if l.is_empty() => out.push_str("[]\n"),
        Value::Map(m) => {
            for (k, v) in m {
                out.push_str(&pad);
                kit_core::yaml::write_string_scalar(out, k, false);
                out.push(':');
                nested(out, v, indent);
            }
        }
        Value::List(l) => {
            for v in l {
                if let Value::Map(m) = v
                    && !m.is_empty()
                {
                    // `- first: key` then the other keys under it.
                    let mut item = String::new();
                    write_yaml(&mut item, v, indent + 2);
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&item[indent + 2..]);
                    continue;
                }
                out.push_str(&pad);
                out.push('-');
                nested(out, v, indent);
            }
        }
        scalar => {
            scalar_text(out, scalar);
            out.push('\n');
        }
    }
}

fn nested(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            write_yaml(out, v, indent + 2);
        }
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            write_yaml(out, v, indent + 2);
        }
        v => {
            out.push(' ');
            write_yaml(out, v, indent);
        }
    }
}

fn scalar_text(out: &mut String, v: &Value) {
    match v {
        Value::Null | Value::Lambda(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::UInt(u) => out.push_str(&u.to_string()),
        Value::Float(x) => out.push_str(
            &serde_json::Number::from_f64(*x).map_or_else(|| ".nan".to_owned(), |n| n.to_string()),
        ),
        Value::String(s) => kit_core::yaml::write_string_scalar(out, s, false),
        Value::List(_) | Value::Map(_) => unreachable!("written as blocks"),
    }
}
