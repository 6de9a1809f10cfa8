//! kit's exit codes. They are part of kit's interface: CI scripts branch on
//! them, so they never change meaning. [`TABLE`] is the one definition:
//! `--help` and `kit man` print [`help_text`], and a test checks that the
//! README's table is the Markdown form of the same table.

/// Why kit failed, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// A bug in kit.
    Internal = 1,
    /// Bad arguments.
    Usage = 2,
    /// A template could not be compiled or rendered.
    Template = 3,
    /// An input file is missing or invalid.
    Input = 4,
    /// The secret store failed.
    Secrets = 5,
    /// A rendered manifest failed its checks.
    Check = 6,
    /// A release could not be recorded.
    Release = 7,
    /// `kit apply --wait`: a workload did not become ready in time.
    NotReady = 8,
    /// A release, rollback or promotion is recorded and pushed, but its
    /// `--apply` failed.
    NotApplied = 9,
    /// The inventory on a cluster is another project's or tool's.
    Inventory = 10,
    /// `kit status --live`: a cluster could not be read.
    Unreachable = 11,
    /// `--rollback-on-failure`: a workload did not become ready, and the
    /// rollback of its service is applied and ready.
    RolledBack = 12,
    /// The program to run (kubectl, `kit exec`'s command) cannot be run.
    NotExecutable = 126,
    /// The program to run was not found.
    NotFound = 127,
}

/// Every exit code and what it means, the one definition.
pub const TABLE: &[(&str, &str)] = &[
    ("0", "success"),
    ("1", "internal error (a bug in kit: please report it)"),
    (
        "2",
        "usage error: unknown flag, missing or invalid argument (a missing --environment or --cluster included)",
    ),
    (
        "3",
        "template error: syntax, undefined name, a value that cannot be written safely, missing or disallowed partial",
    ),
    (
        "4",
        "input error: a data, values or project file is missing, unreadable or invalid; unknown environment, cluster or service; an unsafe name or blank context in kit.yaml; a template that is a link out of the project or not a regular file",
    ),
    (
        "5",
        "secrets error: the store is unreachable, denies access, lacks the bucket or the directory, answers a listing that cannot be trusted, or holds an invalid secret (bad name, not UTF-8, NUL byte, over 1 MiB, a variable that changes how programs start, a link out of a secrets directory); no KIT_CHECKSUM_KEY for a target with secrets",
    ),
    (
        "6",
        "check error: a rendered document is not a manifest (no apiVersion, kind or metadata.name; duplicate keys; sets kit's checksum annotation) or duplicates another object; --output-dir paths that cannot be written or collide",
    ),
    (
        "7",
        "release error: not a git checkout, git missing or failing, no remote branch to record on, the push still rejected after the last try, the service pinned, a build older than the recorded one, an image of another repository or with a mutable tag (`latest`), a rollback or promotion whose records changed while it ran",
    ),
    (
        "8",
        "kit apply --wait: a workload did not become ready within the timeout (kit names it and says why)",
    ),
    (
        "9",
        "kit release, rollback or promote --apply: the change is recorded and pushed, but applying it failed (kubectl failed, or --wait timed out); kit names the revision and the command that applies it again",
    ),
    (
        "10",
        "inventory error: the inventory ConfigMap on a cluster (kit.<name>.<environment>.<cluster>) belongs to another project (another config repository chose the same `name:`) or another tool, or its id does not match its name; kit changed nothing there",
    ),
    (
        "11",
        "kit status --live: a cluster could not be read (its row says `unreachable` and why; the other clusters are still shown). --live otherwise exits 1 on drift (other images, objects missing or left behind) and 8 when a workload is not ready",
    ),
    (
        "12",
        "--rollback-on-failure: a workload did not become ready, so kit recorded a rollback of its service (pushed like any release), applied it and it became ready; kit names what failed and what it restored (a rollback that fails itself exits 8 or 9)",
    ),
    (
        "126, 127",
        "the program to run (kubectl for apply and diff, the command of kit exec) is not executable, not found",
    ),
];

/// What the exit codes of commands that run another program mean.
pub const PASSTHROUGH: &str = "kit exec, apply and diff otherwise exit with their command's exit code (128 + N when it is killed by signal N); kit diff exits 1 when there are differences (or, with --prune, objects to delete). SIGINT, SIGTERM or SIGHUP sent to kit while kubectl runs (forwarded to it, but for SIGINT, which the terminal sends it) or while --output-dir writes (what was written is removed): kit finishes that step, then ends by the signal (shells show 128 + N: 130, 143, 129).";

/// The table for `--help` and the man page.
pub fn help_text() -> String {
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in TABLE {
        out.push_str(&format!("  {code:<9} {meaning}\n"));
    }
    out.push_str(PASSTHROUGH);
    out
}

/// The table as the README shows it (Markdown).
#[cfg(test)]
fn markdown_table() -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for (code, meaning) in TABLE {
        out.push_str(&format!("| {code} | {meaning} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_table() {
        let listed: Vec<&str> = TABLE.iter().map(|(c, _)| *c).collect();
        for code in [
            Code::Internal,
            Code::Usage,
            Code::Template,
            Code::Input,
            Code::Secrets,
            Code::Check,
            Code::Release,
            Code::NotReady,
        ] {
            assert!(listed.contains(&(code as u8).to_string().as_str()));
        }
        assert!(listed.contains(&"126, 127"));
        assert_eq!(
            (Code::NotExecutable as u8, Code::NotFound as u8),
            (126, 127)
        );
    }

    #[test]
    fn the_readme_shows_exactly_this_table() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's exit code table differs from kit-cli/src/exit.rs; paste:\n{}",
            markdown_table()
        );
        assert!(readme.contains(PASSTHROUGH));
    }
}
