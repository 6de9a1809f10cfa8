//! Shared inputs for kit's benches: the fixtures under `fixtures/bench/`,
//! and the Deployment's data as typed structs (for ramhorns, which renders
//! from them).

use std::path::PathBuf;

use ramhorns::Content;
use serde::Deserialize;

/// Reads a file from `fixtures/bench/`.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/bench")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `fixtures/bench/deployment.json`, typed.
#[derive(Content, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub name: String,
    pub namespace: String,
    pub instance: String,
    pub version: String,
    pub component: String,
    #[ramhorns(rename = "partOf")]
    pub part_of: String,
    pub environment: String,
    pub cluster: String,
    pub owner: String,
    pub replicas: u32,
    pub checksum: String,
    #[ramhorns(rename = "serviceAccount")]
    pub service_account: String,
    pub containers: Vec<Container>,
    #[ramhorns(rename = "hasNodeSelector")]
    pub has_node_selector: bool,
    pub pool: String,
}

/// One of the Deployment's containers.
#[derive(Content, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    pub args: Vec<Arg>,
    pub port: u16,
    pub env: Vec<EnvVar>,
    #[ramhorns(rename = "cpuRequest")]
    pub cpu_request: String,
    #[ramhorns(rename = "memoryRequest")]
    pub memory_request: String,
    #[ramhorns(rename = "cpuLimit")]
    pub cpu_limit: String,
    #[ramhorns(rename = "memoryLimit")]
    pub memory_limit: String,
    #[ramhorns(rename = "readinessPath")]
    pub readiness_path: String,
    #[ramhorns(rename = "livenessPath")]
    pub liveness_path: String,
}

/// One command-line argument.
#[derive(Content, Deserialize)]
pub struct Arg {
    pub arg: String,
}

/// One environment variable.
#[derive(Content, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}
