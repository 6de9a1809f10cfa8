//! kit's exit codes. They are part of kit's interface: CI scripts branch on
//! them, so they never change meaning.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal error (a bug in kit: please report it) |
//! | 2 | usage error: unknown flag, missing or invalid argument |
//! | 3 | template error: syntax, undefined name, a value that cannot be written safely, missing partial |
//! | 4 | input error: a data, values or project file is missing, unreadable or invalid |
//! | 5 | secrets error: the store is unreachable, denies access, lacks the bucket, answers a listing that cannot be trusted, or holds an invalid secret; no `KIT_CHECKSUM_KEY` for a target with secrets |
//! | 6 | check error: a rendered document is not a valid manifest (no apiVersion, kind or metadata.name, duplicate keys or objects) |
//!
//! | 126 | the program to run (kubectl for apply and diff, the command of `kit exec`) is not executable |
//! | 127 | the program to run was not found |
//!
//! `kit exec` exits with its command's code, `kit apply` and `kit diff` with
//! kubectl's (128 + N when killed by signal N).

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
    /// The program to run (kubectl, `kit exec`'s command) cannot be run.
    NotExecutable = 126,
    /// The program to run was not found.
    NotFound = 127,
}
