//! Flags of commands that read secrets: where they are, how to reach S3,
//! which names are allowed, which target, redaction and verbosity.

use std::time::Duration;

use clap::Args;

use super::target::{ClusterFlag, EnvironmentFlag, ServiceFlag, one};
use kit_env::{S3Options, Source, Target};

use crate::diagnostics::Failure;
use crate::exit::Code;

/// Where secrets come from and how to reach them.
#[derive(Debug, Clone, Args)]
pub struct SourceFlags {
    /// Where the secrets are: `s3://BUCKET[/PREFIX]`, or a directory with the
    /// same layout (`DIR/<environment>/common/NAME`...). For `kit render`,
    /// the default is the project's `secrets:` setting.
    #[arg(long, value_name = "SOURCE", env = "KIT_SECRETS_FROM")]
    pub secrets_from: Option<String>,

    /// AWS region (default: from the AWS configuration, else us-east-1).
    #[arg(long, env = "KIT_REGION", help_heading = "S3")]
    pub region: Option<String>,

    /// AWS profile (default: AWS_PROFILE, else `default`).
    #[arg(long, env = "KIT_PROFILE", help_heading = "S3")]
    pub profile: Option<String>,

    /// An S3-compatible endpoint (MinIO, Garage, Ceph, moto...). Also read
    /// from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. Switches to path-style
    /// addressing unless --virtual-hosted is given.
    #[arg(
        long,
        value_name = "URL",
        env = "KIT_ENDPOINT_URL",
        help_heading = "S3"
    )]
    pub endpoint_url: Option<String>,

    /// Use virtual-hosted-style addressing even with a custom endpoint.
    #[arg(long, help_heading = "S3")]
    pub virtual_hosted: bool,

    /// Seconds to wait for a connection.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3.0,
        env = "KIT_CONNECT_TIMEOUT",
        help_heading = "S3"
    )]
    pub connect_timeout: f64,

    /// Seconds one request may take, retries included.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30.0,
        env = "KIT_TIMEOUT",
        help_heading = "S3"
    )]
    pub timeout: f64,

    /// Seconds a whole listing of one layer may take, every page included.
    /// A listing whose pages the server repeats or leaves out fails at once.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 120.0,
        env = "KIT_LIST_TIMEOUT",
        help_heading = "S3"
    )]
    pub list_timeout: f64,

    /// Attempts per request (throttling, 503 SlowDown and resets are retried).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 3,
        env = "KIT_MAX_ATTEMPTS",
        help_heading = "S3"
    )]
    pub max_attempts: u32,

    /// Requests in flight at most. Within it kit adapts: it starts with 32,
    /// doubles while throughput grows and halves on a throttling answer
    /// (SlowDown, HTTP 503 or 429). For a local directory: the threads that
    /// read it, at most 4.
    #[arg(long, value_name = "N", default_value_t = kit_env::DEFAULT_CONCURRENCY, env = "KIT_CONCURRENCY", help_heading = "S3")]
    pub concurrency: usize,

    /// Allow a secret with this name although it changes how programs start
    /// (PATH, HOME, LD_*, BASH_ENV, PYTHONPATH, NODE_OPTIONS...; the list is
    /// in the README). Repeatable; without it such a secret is an error.
    #[arg(
        long = "allow-var",
        value_name = "NAME",
        env = "KIT_ALLOW_VARS",
        value_delimiter = ','
    )]
    pub allow_vars: Vec<String>,

    /// Remove trailing white space (spaces, tabs, line breaks) from secret
    /// values, as kit.yaml's `trim_secrets: true` does for every command.
    /// Without either, values are byte-exact and one that ends in a line
    /// break is reported as a warning.
    #[arg(long, env = "KIT_TRIM")]
    pub trim: bool,
}

/// `-v`.
#[derive(Debug, Args)]
pub struct VerboseFlag {
    /// Log to standard error which key and layer each variable came from,
    /// and how many requests were made. Never values.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// `--debug`.
#[derive(Debug, Default, Args)]
pub struct DebugFlag {
    /// When a rendered document fails its checks, print it after the error
    /// (with every secret value replaced by a fingerprint), the failing line
    /// marked.
    #[arg(long, env = "KIT_DEBUG")]
    pub debug: bool,
}

impl SourceFlags {
    pub fn source(&self) -> Result<Source, Failure> {
        let spec = self.secrets_from.as_deref().ok_or_else(|| {
            Failure::new(
                Code::Usage,
                "--secrets-from is required (or set KIT_SECRETS_FROM)",
            )
        })?;
        Self::parse(spec)
    }

    pub fn parse(spec: &str) -> Result<Source, Failure> {
        Source::parse(spec).map_err(|e| Failure::new(Code::Usage, e.to_string()))
    }

    /// The secrets options these flags describe, applied by
    /// [`kit_project::Project::secrets_resolver`].
    pub fn secrets_options(&self) -> Result<kit_project::SecretsOptions, Failure> {
        let source = self.secrets_from.as_deref().map(Self::parse).transpose()?;
        Ok(
            kit_project::SecretsOptions::new(source, self.s3_options()?, self.concurrency)
                .with_allowed_names(self.allow_vars.iter().cloned())
                .with_trim(self.trim),
        )
    }

    pub fn s3_options(&self) -> Result<S3Options, Failure> {
        let secs = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(Failure::new(
                    Code::Usage,
                    format!("--{what} must be a positive number of seconds"),
                ))
            }
        };
        let operation = secs("timeout", self.timeout)?;
        Ok(S3Options {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            path_style: self.virtual_hosted.then_some(false),
            connect_timeout: secs("connect-timeout", self.connect_timeout)?,
            attempt_timeout: operation,
            operation_timeout: operation,
            max_attempts: self.max_attempts,
            list_timeout: secs("list-timeout", self.list_timeout)?,
            max_pages: S3Options::default().max_pages,
            static_credentials: None,
        })
    }
}

/// `--redact` and where its key comes from (shared by `kit env` and
/// `kit render`).
#[derive(Debug, Args)]
pub struct RedactFlags {
    /// Replace every secret-derived value with a keyed fingerprint
    /// (`redacted:` and 12 hex digits of HMAC-SHA256), for review. The key
    /// comes from --redact-key-file or KIT_REDACT_KEY; without either, a
    /// random key is used and fingerprints compare only within the run.
    #[arg(long)]
    pub redact: bool,
    /// Read the --redact key from this file instead of KIT_REDACT_KEY.
    #[arg(
        long,
        value_name = "FILE",
        requires = "redact",
        env = "KIT_REDACT_KEY_FILE"
    )]
    pub redact_key_file: Option<std::path::PathBuf>,
}

impl RedactFlags {
    /// The fingerprinter, when --redact is on.
    pub fn fingerprinter(&self) -> Result<Option<kit_env::Fingerprinter>, Failure> {
        if !self.redact {
            return Ok(None);
        }
        let key_file = self.redact_key_file.as_deref();
        let f = kit_env::Fingerprinter::from_file_or_key(key_file, redact_key().as_deref())
            .map_err(|e| {
                let file = key_file
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                Failure::io(&format!("cannot read the redact key file {file}"), e)
            })?;
        if f.is_per_run() {
            eprintln!(
                "note: KIT_REDACT_KEY is not set; fingerprints use a random key and compare only within this run"
            );
        }
        Ok(Some(f))
    }
}

/// Which target to resolve.
#[derive(Debug, Args)]
#[command(
    mut_arg("environment", |a| one(a).help("The environment, e.g. `production`")),
    mut_arg("clusters", |a| one(a).value_name("CLUSTER").help("The cluster, e.g. `nerdearla-cluster`")),
    mut_arg("services", |a| one(a).value_name("SERVICE").help("The service, e.g. `myservicio`"))
)]
pub struct TargetFlags {
    #[command(flatten)]
    pub environment: EnvironmentFlag,
    #[command(flatten)]
    pub cluster: ClusterFlag,
    #[command(flatten)]
    pub service: ServiceFlag,
    #[command(flatten)]
    pub instance: super::InstanceFlag,
}

impl TargetFlags {
    /// The target as named, without the project (so without an instance:
    /// an instance's base environment is in kit.yaml).
    pub fn target(&self) -> Target {
        Target::new(
            self.environment.required(),
            self.cluster.required(),
            self.service.required(),
        )
    }

    /// The target in `project`: checked against kit.yaml (`enabled:`, the
    /// names), in its instance when `--instance` is given.
    pub fn target_in(&self, project: &kit_project::Project) -> Result<Target, Failure> {
        let t = self.target();
        let selection = match &self.instance.instance {
            Some(i) => kit_project::Selection::Instance {
                environment: t.environment.clone(),
                instance: i.clone(),
                clusters: vec![t.cluster.clone()],
                services: vec![t.service.clone()],
            },
            None => kit_project::Selection::Clusters {
                environment: Some(t.environment.clone()),
                clusters: vec![t.cluster.clone()],
                services: vec![t.service.clone()],
            },
        };
        Ok(project
            .select(&selection)?
            .into_iter()
            .next()
            .expect("one target named"))
    }
}

/// A runtime for the store's network calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Code::Internal,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// `KIT_REDACT_KEY`: the key of `--redact`'s fingerprints, from the
/// environment only (a key on the command line would show in `ps`).
pub fn redact_key() -> Option<String> {
    std::env::var("KIT_REDACT_KEY")
        .ok()
        .filter(|k| !k.is_empty())
}
