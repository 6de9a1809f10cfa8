//! Reading data files: JSON or YAML, chosen by extension.

use std::path::Path;

use kit_core::Value;

use crate::diagnostics::Failure;
use crate::exit::Code;

/// Reads `path` as JSON (`.json`) or YAML (`.yaml`, `.yml`). YAML is read
/// with serde-saphyr: duplicate keys and alias bombs are errors, and errors
/// carry line and column.
pub fn read_data(path: &Path) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::io(&format!("cannot read data file {}", path.display()), e))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let invalid = |e: String| {
        Failure::new(
            Code::Input,
            format!("{}: invalid data: {e}", path.display()),
        )
    };
    match ext.as_deref() {
        Some("json") => serde_json::from_str(&text).map_err(|e| invalid(e.to_string())),
        Some("yaml" | "yml") => serde_saphyr::from_str(&text).map_err(|e| invalid(e.to_string())),
        _ => Err(Failure::new(
            Code::Input,
            format!("{}: cannot tell the data format", path.display()),
        )
        .with_hint("name the file with a .json, .yaml or .yml extension")),
    }
}
