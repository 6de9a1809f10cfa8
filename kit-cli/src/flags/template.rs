//! Flags of `kit template`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How `{{name}}` escapes values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EscapeArg {
    /// Escape for the tag's YAML position: values always read back exactly,
    /// or rendering fails.
    Yaml,
    /// HTML entities, as the mustache spec says.
    Html,
    /// No escaping.
    None,
}

/// `kit template`'s input and choices.
#[derive(Debug, Args)]
pub struct TemplateFlags {
    /// The template file.
    pub template: PathBuf,

    /// The data file: `.json`, `.yaml` or `.yml`.
    #[arg(long, short, value_name = "FILE", env = "KIT_DATA")]
    pub data: PathBuf,

    /// Directory of partials and parents (`{{> name}}` reads
    /// `DIR/name.mustache`). Default: the template's directory.
    #[arg(long, value_name = "DIR", env = "KIT_PARTIALS")]
    pub partials: Option<PathBuf>,

    /// How `{{name}}` escapes values.
    #[arg(long, value_enum, default_value_t = EscapeArg::Yaml, env = "KIT_ESCAPE")]
    pub escape: EscapeArg,

    /// Render names that resolve to nothing (and missing partials) as empty,
    /// as the mustache spec says, instead of failing.
    #[arg(long, env = "KIT_LENIENT")]
    pub lenient: bool,
}
