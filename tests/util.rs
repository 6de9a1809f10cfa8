//! Helpers of the end-to-end tests: the testkit's harness bound to this
//! build's `kit` binary.

use std::path::Path;

pub use kit_testkit::cli::{Run, copy_dir, root, temp_dir};
pub use kit_testkit::s3_server;

/// Runs this build's `kit` in `cwd` (see [`kit_testkit::cli::kit`]).
pub fn kit(cwd: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    kit_testkit::cli::kit(Path::new(env!("CARGO_BIN_EXE_kit")), cwd, args, env, stdin)
}
