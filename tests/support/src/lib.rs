//! Test support shared by kit's test suites (a dev-dependency only):
//!
//! - [`s3_server`]: a real S3-protocol server (s3s-fs) on 127.0.0.1 that
//!   checks SigV4, counts requests, and can inject faults;
//! - [`cli`]: runs the real `kit` binary with a clean environment and
//!   captures what it did.

pub mod cli;
pub mod s3_server;
