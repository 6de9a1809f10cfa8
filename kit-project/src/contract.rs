//! kit's contract with what it renders and reads: the names of the labels,
//! annotations and secrets kit itself writes or looks for. One place, below
//! everything else, so every layer (errors, context, checks, the CLI) names
//! them the same way. The inventory's ApplySet names are in
//! [`crate::inventory`].

/// The pod-template annotation holding the checksum of a service's variables.
pub const ENV_CHECKSUM_ANNOTATION: &str = "kit.dev/env-sha256";

/// The name of the secret that keys the pod checksum. It is resolved like any
/// variable (usually `<environment>/common/KIT_CHECKSUM_KEY`), never given to
/// templates, and must hold at least [`MIN_CHECKSUM_KEY_BYTES`] bytes.
pub const CHECKSUM_KEY_NAME: &str = "KIT_CHECKSUM_KEY";

/// The shortest checksum key kit accepts.
pub const MIN_CHECKSUM_KEY_BYTES: usize = 16;

/// The labels kit puts on every object it renders, naming its target: what
/// `kit apply --prune` and `kit status --live` select by.
pub const TARGET_LABELS: [&str; 3] = ["kit.dev/environment", "kit.dev/cluster", "kit.dev/service"];

/// The label kit puts on every object of an instance (`--instance`),
/// naming it; objects outside instances never carry it.
pub const INSTANCE_LABEL: &str = "kit.dev/instance";

/// The pod-template annotation holding the checksum of the ConfigMaps and
/// Secrets rendered for the same service (so a change to them rolls the
/// workload's pods).
pub const CONFIG_CHECKSUM_ANNOTATION: &str = "kit.dev/config-sha256";
