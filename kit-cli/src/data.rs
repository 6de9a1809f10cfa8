//! Reading data files: JSON or YAML, chosen by extension.

use std::path::Path;

use kit_core::Value;

use crate::diagnostics::Failure;
use crate::exit::Code;

/// Reads `path` as JSON (`.json`) or YAML (`.yaml`, `.yml`), both the way
/// kit reads every file people write ([`kit_project::yaml::input`]): YAML 1.2,
/// numbers as written or refused, duplicate keys refused (in JSON too),
/// errors with line and column.
pub fn read_data(path: &Path) -> Result<Value, Failure> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json" | "yaml" | "yml") => Ok(kit_project::read_yaml(path)?),
        _ => Err(Failure::new(
            Code::Input,
            format!("{}: cannot tell the data format", path.display()),
        )
        .with_hint("name the file with a .json, .yaml or .yml extension")),
    }
}
