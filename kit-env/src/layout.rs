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
//! A target of an *instance* `I` of environment `E` (an environment whose
//! clusters, values and secrets are those of a base environment `B`, see
//! [`Instance`]) reads `B`'s three layers, then two of its own, the
//! instance's winning:
//!
//! | layer | keys |
//! |---|---|
//! | environment, cluster, service | as above, with `B` for `E` |
//! | instance | `P/E/instances/I/common/NAME` |
//! | instance service | `P/E/instances/I/S/NAME` |
//!
//! Rules, exactly:
//! - a layer is listed with its prefix and a trailing `/`, so
//!   `myservicio-v2/` never leaks into `myservicio`;
//! - keys ending in `/` (folder markers) are ignored;
//! - keys in deeper folders (`P/E/C/S/sub/NAME`) are ignored with a warning;
//! - the last segment is the variable name and must match
//!   `[A-Za-z_][A-Za-z0-9_]*`; any other name is an error naming the key;
//! - environment, cluster and service names are single path segments, and
//!   `common` is not a cluster or service name (it names the shared layers);
//! - a value holding a NUL byte is an error (no environment variable can
//!   hold one), and so is a value over [`crate::MAX_VALUE_BYTES`];
//! - names that change how programs start ([`changes_process_startup`]:
//!   `PATH`, `LD_PRELOAD`, `BASH_ENV`...) are errors unless allowed by name:
//!   whoever can write a secret must not get to run code in `kit exec` or
//!   `eval "$(kit env -f shell)"`.

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
    /// The instance of `environment` this target belongs to, if any.
    pub instance: Option<Instance>,
}

/// One instance of an environment of instances (a pull request's or a
/// tenant's copy of a base environment): its name and the environment whose
/// secret layers it reads under its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instance {
    /// e.g. `pr-3071`.
    pub name: String,
    /// The base environment, e.g. `staging`.
    pub base: String,
}

impl Target {
    /// A target from its three names.
    pub fn new(environment: &str, cluster: &str, service: &str) -> Self {
        Target {
            environment: environment.into(),
            cluster: cluster.into(),
            service: service.into(),
            instance: None,
        }
    }

    /// The same target in instance `name` of its environment, reading the
    /// secret layers of `base` under the instance's own.
    ///
    /// ```
    /// let t = kit_env::Target::new("preview", "eu-1", "web").in_instance("pr-7", "staging");
    /// assert_eq!(t.to_string(), "preview:pr-7/eu-1/web");
    /// assert_eq!(t.layers().len(), 5);
    /// ```
    pub fn in_instance(mut self, name: &str, base: &str) -> Self {
        self.instance = Some(Instance {
            name: name.into(),
            base: base.into(),
        });
        self
    }

    /// The environment whose three layers hold this target's secrets: the
    /// base of its instance, else its own.
    pub fn secrets_environment(&self) -> &str {
        self.instance
            .as_ref()
            .map_or(&self.environment, |i| &i.base)
    }

    /// The layers read for this target, least specific first.
    pub fn layers(&self) -> &'static [Layer] {
        if self.instance.is_some() {
            &Layer::ALL
        } else {
            &Layer::ALL[..3]
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.instance {
            Some(i) => write!(
                f,
                "{}:{}/{}/{}",
                self.environment, i.name, self.cluster, self.service
            ),
            None => write!(f, "{}/{}/{}", self.environment, self.cluster, self.service),
        }
    }
}

/// One of the layers, least specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Layer {
    /// `E/common/`.
    Environment,
    /// `E/C/common/`.
    Cluster,
    /// `E/C/S/`.
    Service,
    /// `E/instances/I/common/`: every service of an instance.
    Instance,
    /// `E/instances/I/S/`: one service of an instance.
    InstanceService,
}

/// The folder of an environment that holds its instances' layers.
pub const INSTANCES_FOLDER: &str = "instances";

impl Layer {
    /// All layers, least specific first (the last two only for instances).
    pub const ALL: [Layer; 5] = [
        Layer::Environment,
        Layer::Cluster,
        Layer::Service,
        Layer::Instance,
        Layer::InstanceService,
    ];

    /// The layer's name, for output.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Environment => "environment",
            Layer::Cluster => "cluster",
            Layer::Service => "service",
            Layer::Instance => "instance",
            Layer::InstanceService => "instance service",
        }
    }
}

/// Whether `name` can be an environment variable name.
pub fn is_valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(c) if c == b'_' || c.is_ascii_alphabetic())
        && b.all(|c| c == b'_' || c.is_ascii_alphanumeric())
}

/// Whether a variable called `name` changes how programs start or what code
/// they load: the dynamic loader (`LD_*`, `DYLD_*`), shells (`PATH`, `ENV`,
/// `BASH_ENV`, `BASH_FUNC_*`, `IFS`...), language runtimes (`PYTHONPATH`,
/// `NODE_OPTIONS`, `JAVA_TOOL_OPTIONS`, `PERL5OPT`, `RUBYOPT`...), the C
/// library (`GCONV_PATH`, `GLIBC_TUNABLES`...), TLS trust and git.
///
/// ```
/// use kit_env::layout::changes_process_startup;
/// assert!(changes_process_startup("LD_PRELOAD"));
/// assert!(changes_process_startup("PATH"));
/// assert!(!changes_process_startup("MYSQL_PASSWORD"));
/// ```
pub fn changes_process_startup(name: &str) -> bool {
    // A `match`: compared by length first, then bytes (a run checks every
    // name of every target).
    let exact = matches!(
        name,
        "PATH"
            | "HOME"
            | "SHELL"
            | "ENV"
            | "BASH_ENV"
            | "IFS"
            | "CDPATH"
            | "PS4"
            | "PROMPT_COMMAND"
            | "SHELLOPTS"
            | "BASHOPTS"
            | "GLOBIGNORE"
            | "TMPDIR"
            | "GCONV_PATH"
            | "GLIBC_TUNABLES"
            | "LOCPATH"
            | "NLSPATH"
            | "HOSTALIASES"
            | "RES_OPTIONS"
            | "LOCALDOMAIN"
            | "PYTHONPATH"
            | "PYTHONHOME"
            | "PYTHONSTARTUP"
            | "PYTHONINSPECT"
            | "PYTHONUSERBASE"
            | "PERL5LIB"
            | "PERL5OPT"
            | "PERLLIB"
            | "PERL5DB"
            | "RUBYLIB"
            | "RUBYOPT"
            | "NODE_OPTIONS"
            | "NODE_PATH"
            | "JAVA_TOOL_OPTIONS"
            | "_JAVA_OPTIONS"
            | "JDK_JAVA_OPTIONS"
            | "CLASSPATH"
            | "SSL_CERT_FILE"
            | "SSL_CERT_DIR"
            | "GIT_SSH"
            | "GIT_SSH_COMMAND"
            | "GIT_EXEC_PATH"
            | "GIT_CONFIG_GLOBAL"
            | "GIT_CONFIG_SYSTEM"
    );
    const PREFIXES: &[&str] = &["LD_", "DYLD_", "BASH_FUNC_", "MALLOC_", "GIT_CONFIG_"];
    exact || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A key or name as it may be shown in messages: control characters and
/// other invisible characters escaped (`\n`, `\u{1b}`), so that a key
/// cannot write to a terminal or forge lines in a log.
///
/// ```
/// assert_eq!(kit_env::layout::printable("a\x1b[31mb\n").to_string(), "a\\u{1b}[31mb\\n");
/// ```
pub fn printable(s: &str) -> impl fmt::Display + '_ {
    struct Printable<'a>(&'a str);
    impl fmt::Display for Printable<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for c in self.0.chars() {
                if c.is_control()
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
                {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    f.write_str(c.encode_utf8(&mut [0; 4]))?;
                }
            }
            Ok(())
        }
    }
    Printable(s)
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
    /// (A layer of an instance for a target outside one is the
    /// environment's `instances/` folder itself, which holds no keys of a
    /// layer.)
    pub fn layer_prefix(&self, target: &Target, layer: Layer) -> String {
        let e = target.secrets_environment();
        let instance = target.instance.as_ref().map_or("", |i| i.name.as_str());
        let own = [target.environment.as_str(), INSTANCES_FOLDER, instance];
        match layer {
            Layer::Environment => self.join(&[e, "common"]),
            Layer::Cluster => self.join(&[e, &target.cluster, "common"]),
            Layer::Service => self.join(&[e, &target.cluster, &target.service]),
            Layer::Instance => self.join(&[&own[..], &["common"]].concat()),
            Layer::InstanceService => self.join(&[&own[..], &[target.service.as_str()]].concat()),
        }
    }

    /// The folder of a target's cluster (its `common` layer and every
    /// service's), ending in `/`.
    pub fn cluster_prefix(&self, target: &Target) -> String {
        self.join(&[target.secrets_environment(), &target.cluster])
    }

    /// The key of variable `name` in a layer.
    pub fn key(&self, target: &Target, layer: Layer, name: &str) -> String {
        self.layer_prefix(target, layer) + name
    }

    /// Reads a key relative to the prefix (`production/common/REDIS_HOST`)
    /// as a layer and a variable name, refusing any key that no read would
    /// ever use (so `kit secrets put` cannot store what every render
    /// refuses).
    ///
    /// ```
    /// use kit_env::{Layer, Layout};
    /// assert_eq!(Layout::parse_key("production/c1/web/DB_PASS").unwrap(), (Layer::Service, "DB_PASS"));
    /// assert_eq!(Layout::parse_key("production/common/REDIS_HOST").unwrap(), (Layer::Environment, "REDIS_HOST"));
    /// assert!(Layout::parse_key("production/c1/web/db-pass").is_err());
    /// assert!(Layout::parse_key("production/REDIS_HOST").is_err());
    /// assert_eq!(Layout::parse_key("preview/instances/pr-7/common/DB_NAME").unwrap(), (Layer::Instance, "DB_NAME"));
    /// ```
    pub fn parse_key(key: &str) -> Result<(Layer, &str), Error> {
        let parts: Vec<&str> = key.split('/').collect();
        let layer = match parts.as_slice() {
            [_, "common", _] => Layer::Environment,
            [_, _, "common", _] => Layer::Cluster,
            [_, _, _, _] => Layer::Service,
            [_, INSTANCES_FOLDER, _, "common", _] => Layer::Instance,
            [_, INSTANCES_FOLDER, _, _, _] => Layer::InstanceService,
            _ => {
                return Err(Error::InvalidKey {
                    key: key.into(),
                    reason: "keys are ENVIRONMENT/common/NAME, ENVIRONMENT/CLUSTER/common/NAME, ENVIRONMENT/CLUSTER/SERVICE/NAME, or for an instance ENVIRONMENT/instances/INSTANCE/common/NAME or ENVIRONMENT/instances/INSTANCE/SERVICE/NAME",
                });
            }
        };
        let name = parts[parts.len() - 1];
        let target = match parts.as_slice() {
            [e, _, _] => Target::new(e, "c", "s"),
            [e, c, _, _] if layer == Layer::Cluster => Target::new(e, c, "s"),
            [e, c, s, _] => Target::new(e, c, s),
            [e, _, i, "common", _] if layer == Layer::Instance => {
                Target::new(e, "c", "s").in_instance(i, e)
            }
            [e, _, i, s, _] => Target::new(e, "c", s).in_instance(i, e),
            _ => unreachable!("matched above"),
        };
        Layout::validate(&target)?;
        if !is_valid_name(name) {
            return Err(Error::InvalidName {
                key: key.into(),
                name: name.into(),
            });
        }
        Ok((layer, name))
    }

    /// Checks the target's names.
    pub fn validate(target: &Target) -> Result<(), Error> {
        let instance = target
            .instance
            .iter()
            .flat_map(|i| [("instance", &i.name), ("base environment", &i.base)]);
        for (what, value) in [
            ("environment", &target.environment),
            ("cluster", &target.cluster),
            ("service", &target.service),
        ]
        .into_iter()
        .chain(instance)
        {
            let reason = if value.is_empty() {
                Some("it is empty")
            } else if value.contains('/') {
                Some("it contains '/'")
            } else if value == "." || value == ".." {
                Some("it is '.' or '..'")
            } else if value.starts_with('.') {
                Some("it starts with '.'")
            } else if value.chars().any(|c| c.is_control()) {
                Some("it contains a control character")
            } else if !what.ends_with("environment") && value == "common" {
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
    fn an_instance_reads_its_base_layers_then_its_own() {
        let t = Target::new("preview", "eu-1", "web").in_instance("pr-7", "staging");
        let l = Layout::new("kit");
        let prefixes: Vec<String> = t.layers().iter().map(|&x| l.layer_prefix(&t, x)).collect();
        assert_eq!(
            prefixes,
            [
                "kit/staging/common/",
                "kit/staging/eu-1/common/",
                "kit/staging/eu-1/web/",
                "kit/preview/instances/pr-7/common/",
                "kit/preview/instances/pr-7/web/",
            ]
        );
        assert_eq!(l.cluster_prefix(&t), "kit/staging/eu-1/");
        assert_eq!(
            Layout::parse_key("preview/instances/pr-7/web/DB_NAME").unwrap(),
            (Layer::InstanceService, "DB_NAME")
        );
        assert!(Layout::parse_key("preview/instances/../web/DB_NAME").is_err());
        assert!(Layout::parse_key("preview/elsewhere/pr-7/web/DB_NAME").is_err());
        assert!(Layout::validate(&Target::new("p", "c", "s").in_instance("common", "b")).is_err());
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
