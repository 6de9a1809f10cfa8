//! One module per `kit` subcommand: each parses nothing itself (its flags
//! come from [`crate::flags`]) and calls the libraries.

pub mod delete;
pub mod env;
pub mod exec;
pub mod instances;
pub mod kubectl;
pub mod live;
pub mod release;
pub mod render;
pub mod secrets;
pub mod template;
pub mod values;
