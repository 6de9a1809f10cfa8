//! The secret hierarchy: which keys hold the variables of a target.
//!
//! For a target (environment `E`, cluster `C`, service `S`) under an optional
//! prefix `P`, three layers are read, the more specific winning:
//!
//! | layer | keys |
//! |---|---|
//! | environment | `P/E/common/NAME` |
//! | cluster | `P/E/C/common/NAME` |
//! | service | `P/E/C/S/NAME` |
//!
//! Rules, exactly:
//! - a layer is listed with its prefix and a trailing `/`, so
//!   `myservicio-v2/` never leaks into `myservicio`;
//! - keys ending in `/` (folder markers) are ignored;
//! - keys in deeper folders (`P/E/C/S/sub/NAME`) are ignored with a warning;
//! - the last segment is the variable name and must match
//!   `[A-Za-z_][A-Za-z0-9_]*`; any other name is an error naming the key;
//! - environment, cluster and service names are single path segments, and
//!   `common` is not a cluster or service name (it names the shared layers).

use std::fmt;

use crate::error::Error;

/// What to resolve secrets for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// e.g. `production`.
    pub environment: String,
    /// e.g. `nerdearla-cluster`.
    pub cluster: String,
    /// e.g. `myservicio`.
    pub service: String,
}

impl Target {
    /// A target from its three names.
    pub fn new(environment: &str, cluster: &str, service: &str) -> Self {
        Target {
            environment: environment.into(),
            cluster: cluster.into(),
            service: service.into(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.environment, self.cluster, self.service)
    }
}

/// One of the three layers, least specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// `E/common/`.
    Environment,
    /// `E/C/common/`.
    Cluster,
    /// `E/C/S/`.
    Service,
}

impl Layer {
    /// All layers, least specific first.
    pub const ALL: [Layer; 3] = [Layer::Environment, Layer::Cluster, Layer::Service];

    /// The layer's name, for output.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Environment => "environment",
            Layer::Cluster => "cluster",
            Layer::Service => "service",
        }
    }
}

/// Whether `name` can be an environment variable name.
pub fn is_valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(c) if c == b'_' || c.is_ascii_alphabetic())
        && b.all(|c| c == b'_' || c.is_ascii_alphanumeric())
}

/// The key layout under an optional prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    prefix: String,
}

impl Layout {
    /// A layout under `prefix` (leading and trailing `/` are ignored; empty
    /// means the store's root).
    pub fn new(prefix: &str) -> Self {
        Layout {
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }

    /// The prefix, without slashes at either end.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn join(&self, parts: &[&str]) -> String {
        let mut s = String::new();
        if !self.prefix.is_empty() {
            s.push_str(&self.prefix);
            s.push('/');
        }
        for p in parts {
            s.push_str(p);
            s.push('/');
        }
        s
    }

    /// The listing prefix of a layer, ending in `/`.
    pub fn layer_prefix(&self, target: &Target, layer: Layer) -> String {
        match layer {
            Layer::Environment => self.join(&[&target.environment, "common"]),
            Layer::Cluster => self.join(&[&target.environment, &target.cluster, "common"]),
            Layer::Service => self.join(&[&target.environment, &target.cluster, &target.service]),
        }
    }

    /// The key of variable `name` in a layer.
    pub fn key(&self, target: &Target, layer: Layer, name: &str) -> String {
        self.layer_prefix(target, layer) + name
    }

    /// Checks the target's names.
    pub fn validate(target: &Target) -> Result<(), Error> {
        for (what, value) in [
            ("environment", &target.environment),
            ("cluster", &target.cluster),
            ("service", &target.service),
        ] {
            let reason = if value.is_empty() {
                Some("it is empty")
            } else if value.contains('/') {
                Some("it contains '/'")
            } else if value == "." || value == ".." {
                Some("it is '.' or '..'")
            } else if what != "environment" && value == "common" {
                Some("'common' names the shared layers")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(Error::InvalidTarget {
                    what,
                    value: value.clone(),
                    reason,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_prefixes() {
        let t = Target::new("production", "nerdearla-cluster", "myservicio");
        let l = Layout::new("/secrets/kit/");
        assert_eq!(
            l.layer_prefix(&t, Layer::Environment),
            "secrets/kit/production/common/"
        );
        assert_eq!(
            l.layer_prefix(&t, Layer::Cluster),
            "secrets/kit/production/nerdearla-cluster/common/"
        );
        assert_eq!(
            Layout::new("").key(&t, Layer::Service, "MYSQL_PASSWORD"),
            "production/nerdearla-cluster/myservicio/MYSQL_PASSWORD"
        );
    }

    #[test]
    fn names() {
        for ok in ["A", "_x", "MYSQL_PASSWORD", "a1"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A.B", "é", "A B"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn targets_are_validated() {
        assert!(Layout::validate(&Target::new("p", "common", "s")).is_err());
        assert!(Layout::validate(&Target::new("p", "c", "a/b")).is_err());
        assert!(Layout::validate(&Target::new("", "c", "s")).is_err());
        assert!(Layout::validate(&Target::new("p", "c", "s")).is_ok());
    }
}
