//! One module per `kit` subcommand.

pub mod template;
