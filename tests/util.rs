//! Helpers of the end-to-end tests: the testkit's harness bound to this
//! build's `kit` binary.

use std::path::{Path, PathBuf};

pub use kit_testkit::cli::{Run, copy_dir, root, temp_dir};
pub use kit_testkit::s3_server;

/// Runs this build's `kit` in `cwd` (see [`kit_testkit::cli::kit`]).
pub fn kit(cwd: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    kit_testkit::cli::kit(Path::new(env!("CARGO_BIN_EXE_kit")), cwd, args, env, stdin)
}

/// Writes `files` (relative path, text) under `dir`, creating folders.
pub fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// Polls `done` every millisecond until it holds; fails the test, naming
/// `what`, after `secs` seconds.
pub fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        assert!(
            std::time::Instant::now() < until,
            "{what}: not within {secs} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The smallest project: environment `prod`, cluster `c1`, service `web`.
pub const MINIMAL: &str =
    "environments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web: {}\n";

/// The checksum key of purpose-built projects.
pub const CHECKSUM_KEY: &str = "test-checksum-key-0123456789";

/// A one-service project: kit.yaml, a template, and the secret `PASSWORD`.
pub fn project(kit_yaml: &str, template: &str, secret: &str) -> PathBuf {
    let dir = temp_dir("render");
    write(
        &dir,
        &[
            ("kit.yaml", kit_yaml),
            ("templates/web/main.yaml", template),
            ("secrets/prod/c1/web/PASSWORD", secret),
            ("secrets/prod/common/KIT_CHECKSUM_KEY", CHECKSUM_KEY),
        ],
    );
    dir
}

/// `fixtures/demo` without its `name:` line and its environment of
/// instances (`preview`, which needs the name), copied once per test run:
/// the demo as kit runs a project without a name (no inventory on the
/// clusters, so kubectl receives exactly `kit render`'s stream, and
/// `--prune` is kubectl's label selection). The tests of kubectl's pipe
/// with the recording stand-in use it; the demo itself, named, is what
/// users run.
pub fn unnamed_demo() -> &'static str {
    static DIR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("unnamed-demo");
        copy_dir(&root().join("fixtures/demo"), &dir);
        let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml")).unwrap();
        let mut in_preview = false;
        let unnamed: String = kit_yaml
            .split_inclusive('\n')
            .filter(|l| {
                if l.starts_with("  preview:") {
                    in_preview = true;
                } else if !l.starts_with("    ") {
                    in_preview = false;
                }
                !in_preview && !l.starts_with("name: ")
            })
            .collect();
        assert!(
            kit_yaml.contains("\nname: ") && kit_yaml.contains("\n  preview:"),
            "fixtures/demo/kit.yaml has a name: and an environment preview"
        );
        std::fs::write(dir.join("kit.yaml"), unnamed).unwrap();
        dir.display().to_string()
    })
}
