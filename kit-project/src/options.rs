//! [`RenderOptions`]: what a render run is asked for beyond the project
//! (extra values, redaction, release records to check, debug output).

use kit_core::Value;
use kit_env::Fingerprinter;

/// Options for a render run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RenderOptions {
    /// Values layered on top of the project's (values files, then single
    /// settings), in order.
    pub extra_values: Vec<Value>,
    /// For review output: every secret-derived value becomes its
    /// fingerprint.
    pub redact: Option<Fingerprinter>,
    /// Release records to use instead of the project's files, by
    /// (environment, service): what `kit release` checks before recording.
    pub records: std::collections::BTreeMap<(String, String), crate::release::Record>,
    /// Images by service, used instead of release records and kit.yaml's
    /// `image:` (`kit ... --instance I --image SERVICE=REF`).
    pub images: std::collections::BTreeMap<String, String>,
    /// On a check failure, attach the failing document, rendered with every
    /// secret value as a fingerprint ([`crate::CheckError::rendered`]).
    pub debug: bool,
}

impl RenderOptions {
    /// Adds values on top of the project's.
    pub fn with_values(mut self, values: Value) -> Self {
        self.extra_values.push(values);
        self
    }

    /// Renders `service` in `environment` as if `record` were its release
    /// record.
    pub fn with_record(
        mut self,
        environment: &str,
        service: &str,
        record: crate::release::Record,
    ) -> Self {
        self.records
            .insert((environment.into(), service.into()), record);
        self
    }

    /// Renders `service` with `image`, whatever its records say.
    pub fn with_image(mut self, service: &str, image: &str) -> Self {
        self.images.insert(service.into(), image.into());
        self
    }

    /// Attaches the failing document to check errors (see
    /// [`RenderOptions::debug`]).
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// Redacts every secret-derived value with `f`.
    pub fn with_redaction(mut self, f: Fingerprinter) -> Self {
        self.redact = Some(f);
        self
    }
}
