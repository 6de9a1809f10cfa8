//! Shared inputs for kit's benches: the fixtures under `fixtures/bench/`.

use std::path::PathBuf;

/// Reads a file from `fixtures/bench/`.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/bench")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
