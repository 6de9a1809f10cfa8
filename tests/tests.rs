//! kit's end-to-end tests: the real `kit` binary, one test binary, one
//! module per command family, shared helpers in [`util`] (over the
//! `kit-testkit` crate in `tests/support`).

mod cases;
mod cli_apply;
mod cli_ci;
mod cli_cluster;
mod cli_env;
mod cli_inputs;
mod cli_instances;
mod cli_release;
mod cli_render;
mod cli_template;
mod util;
