//! `kit template`: render one template with one data file.

use std::path::Path;

use kit_core::{DirLoader, Engine, Escape, UndefinedBehavior};

use crate::data::read_data;
use crate::diagnostics::Failure;
use crate::exit::Code;
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
    let out = template.render(&engine, &data)?;
    if escape == Escape::Yaml {
        check_yaml(&template, &engine, &data, &out)?;
    }
    Ok(out.into_bytes())
}

/// In YAML mode, what `kit template` prints must parse, every document of
/// it: a template whose sections or raw tags leave invalid YAML is an
/// error at the template line that wrote the place the reader stopped.
/// The reader's message is shown without its excerpt of the output, which
/// may hold data values.
fn check_yaml(
    template: &kit_core::Template,
    engine: &Engine,
    data: &kit_core::Value,
    out: &str,
) -> Result<(), Failure> {
    let Err(e) = serde_saphyr::from_multiple::<serde::de::IgnoredAny>(out) else {
        return Ok(());
    };
    let at = e.location();
    let reason = reader_message(&e);
    let mut failure = Failure::new(
        Code::Template,
        match at {
            Some(l) => format!(
                "{}: the rendered output is not valid YAML at output line {}, column {}: {reason}",
                template.name(),
                l.line(),
                l.column()
            ),
            None => format!(
                "{}: the rendered output is not valid YAML: {reason}",
                template.name()
            ),
        },
    )
    .with_hint("a section or a raw tag ({{{name}}}) can leave text YAML cannot read; render with --escape none to see the output unchecked");
    if let Some(l) = at
        && let Ok((traced, trace)) = template.render_traced(engine, data)
        && let Some(offset) = offset_of(&traced, l.line(), l.column())
        && let Some(loc) = trace.locate(&traced, offset)
    {
        failure.message.push_str(&format!(" (written by {loc})"));
        failure.snippet = Some(loc.snippet());
    }
    Err(failure)
}

/// The reader's message alone: its first line, without the location and
/// the excerpt of the input that some messages carry.
fn reader_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let mut first = text.lines().next().unwrap_or("").trim();
    first = first.strip_prefix("error: ").unwrap_or(first);
    // `line 3 column 2: ` (kit gives the place itself).
    if let Some(rest) = first.strip_prefix("line ")
        && let Some((_, message)) = rest.split_once(": ")
    {
        first = message;
    }
    first.trim_end_matches(['.', ':']).to_owned()
}

/// The byte offset of a 1-based line and column (in characters) of `text`.
fn offset_of(text: &str, line: u64, column: u64) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(usize::try_from(line - 2).ok()?)
            .map(|(i, _)| i + 1)?
    };
    let rest = &text[start..];
    let col = usize::try_from(column.saturating_sub(1)).ok()?;
    Some(start + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i))
}
