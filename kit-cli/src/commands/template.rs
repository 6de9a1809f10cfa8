//! `kit template`: render one template with one data file.

use std::path::Path;

use kit_core::{DirLoader, Engine, Escape, UndefinedBehavior};

use crate::data::read_data;
use crate::diagnostics::Failure;
use crate::flags::{EscapeArg, TemplateFlags};

pub fn run(args: &TemplateFlags) -> Result<Vec<u8>, Failure> {
    let mut source = std::fs::read_to_string(&args.template).map_err(|e| {
        Failure::io(
            &format!("cannot read template {}", args.template.display()),
            e,
        )
    })?;
    // A byte order mark would land inside the output's first document.
    if source.starts_with('\u{FEFF}') {
        source.drain(..'\u{FEFF}'.len_utf8());
    }
    let data = read_data(&args.data)?;
    let escape = match args.escape {
        EscapeArg::Yaml => Escape::Yaml,
        EscapeArg::Html => Escape::Html,
        EscapeArg::None => Escape::None,
    };
    let undefined = if args.lenient {
        UndefinedBehavior::Lenient
    } else {
        UndefinedBehavior::Strict
    };
    let partials_dir = match &args.partials {
        Some(dir) => dir.clone(),
        None => match args.template.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => Path::new(".").to_owned(),
        },
    };
    let engine = Engine::new()
        .with_escape(escape)
        .with_undefined(undefined)
        .with_loader(DirLoader::new(&partials_dir)?);
    let name = args.template.display().to_string();
    let template = engine.compile(&name, &source)?;
    Ok(template.render(&engine, &data)?.into_bytes())
}
