//! One module per `kit` subcommand.

pub mod env;
pub mod exec;
pub mod kubectl;
pub mod render;
pub mod secrets;
pub mod template;
