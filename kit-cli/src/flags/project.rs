//! Flags of commands that work on a project: where it is, which targets,
//! which extra values, where the output goes.

use std::path::PathBuf;

use clap::Args;

use super::target::{ClusterFlag, EnvironmentFlag, InstanceFlag, ServiceFlag};
use kit_core::Value;
use kit_project::Selection;
use kit_project::SetKind;

use crate::diagnostics::Failure;

/// The project directory.
#[derive(Debug, Args)]
pub struct ProjectFlags {
    /// The project directory (holding kit.yaml).
    #[arg(
        short = 'C',
        long = "project",
        value_name = "DIR",
        default_value = ".",
        env = "KIT_PROJECT"
    )]
    pub project: PathBuf,
}

/// Which targets.
#[derive(Debug, Args)]
#[command(
    mut_arg("clusters", |a| a.help("The cluster (repeatable: several clusters of the environment in one run, grouped by cluster)")),
    mut_arg("services", |a| a.help("A service (repeatable). Default: every service enabled on the cluster").env(None::<&str>))
)]
pub struct SelectFlags {
    #[command(flatten)]
    pub environment: EnvironmentFlag,
    #[command(flatten)]
    pub cluster: ClusterFlag,
    #[command(flatten)]
    pub service: ServiceFlag,
    /// Every enabled service of every cluster of every environment (or of
    /// --environment, when given). Documents are grouped by cluster, each
    /// group in install order, and `# Source:` names environment and cluster.
    #[arg(long, conflicts_with_all = ["clusters", "services", "instance"])]
    pub all: bool,
    #[command(flatten)]
    pub instance: InstanceFlag,
    /// For an instance: render SERVICE with image REF instead of its
    /// released image (repeatable, or comma-separated in KIT_IMAGE). The
    /// environment's release records are not changed; services without
    /// --image run the released images.
    #[arg(
        long = "image",
        value_name = "SERVICE=REF",
        env = "KIT_IMAGE",
        value_delimiter = ',',
        requires = "instance"
    )]
    pub images: Vec<String>,
}

impl SelectFlags {
    /// The selection these flags describe.
    pub fn selection(&self) -> Selection {
        if let (Some(instance), Some(environment)) =
            (&self.instance.instance, &self.environment.environment)
        {
            return Selection::Instance {
                environment: environment.clone(),
                instance: instance.clone(),
                clusters: self.cluster.clusters.clone(),
                services: self.service.services.clone(),
            };
        }
        if self.all {
            Selection::All {
                environment: self.environment.environment.clone(),
            }
        } else {
            Selection::Clusters {
                environment: self.environment.environment.clone(),
                clusters: self.cluster.clusters.clone(),
                services: self.service.services.clone(),
            }
        }
    }
}

impl SelectFlags {
    /// `--image`, by service: each `SERVICE=REF` with a valid reference,
    /// each service once.
    pub fn images(&self) -> Result<std::collections::BTreeMap<String, String>, Failure> {
        let mut out = std::collections::BTreeMap::new();
        for arg in &self.images {
            let usage = |why: String| {
                Failure::new(
                    crate::exit::Code::Usage,
                    format!(
                        "invalid --image '{}': {why}",
                        kit_env::layout::printable(arg)
                    ),
                )
                .with_hint("--image SERVICE=REF, e.g. --image web=registry.example.com/shop/web:pr-3071-9f1c2e4")
            };
            let Some((service, image)) = arg.split_once('=') else {
                return Err(usage("no '=' between the service and the image".into()));
            };
            kit_project::release::validate_image(image)
                .map_err(|e| usage(format!("'{image}': {}", e.reason)))?;
            if out.insert(service.to_owned(), image.to_owned()).is_some() {
                return Err(usage(format!("service '{service}' is given twice")));
            }
        }
        Ok(out)
    }
}

/// Values layered over the project's, with Helm's flags and order: files,
/// then `--set-json`, `--set`, `--set-string`, `--set-file`.
#[derive(Debug, Default, Args)]
pub struct ValuesFlags {
    /// A YAML or JSON values file, layered over the project's values
    /// (repeatable; later files win). `-` reads standard input.
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Values as Helm's --set: `a.b=1,list[0]=x,hosts={a,b}` (repeatable).
    /// `true`/`false`, `null` and integers without a leading zero are typed;
    /// anything else (`1.10`, `010`, `yes`) is the text written. A backslash
    /// escapes `.`, `,`, `=`
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Like --set, but every value is text.
    #[arg(long = "set-string", value_name = "PATH=VALUE")]
    pub set_string: Vec<String>,
    /// `path=JSON`: one value given as JSON (a map, a list, a number...).
    #[arg(long = "set-json", value_name = "PATH=JSON")]
    pub set_json: Vec<String>,
    /// `path=FILE`: the file's text becomes the value (a certificate, a
    /// script).
    #[arg(long = "set-file", value_name = "PATH=FILE")]
    pub set_file: Vec<String>,
}

impl ValuesFlags {
    /// The extra values, in Helm's order, each with where it came from (for
    /// the unused-keys warnings).
    pub fn values(&self) -> Result<Vec<(String, Value)>, Failure> {
        let mut extra = Vec::new();
        for f in &self.values {
            let v = if f.as_os_str() == "-" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
                    .map_err(|e| Failure::io("cannot read values from standard input", e))?;
                let path = std::path::Path::new("<stdin>");
                let v = kit_project::parse_yaml(&text, path)?;
                kit_project::values_map(&v, path, "values")?
            } else {
                kit_project::read_values(f)?
            };
            extra.extend(v.map(|v| (f.display().to_string(), v)));
        }
        let mut set = Value::Map(Default::default());
        let groups = [
            (&self.set_json, SetKind::Json),
            (&self.set, SetKind::Typed),
            (&self.set_string, SetKind::String),
            (&self.set_file, SetKind::File),
        ];
        for (args, kind) in groups {
            for a in args {
                kit_project::set_into(&mut set, a, kind)?;
            }
        }
        if matches!(&set, Value::Map(m) if !m.is_empty()) {
            extra.push(("--set".into(), set));
        }
        Ok(extra)
    }
}

/// Files instead of standard output.
#[derive(Debug, Args)]
pub struct OutputFlags {
    /// Write each document to its own file instead of standard output:
    /// DIR/<environment>/<cluster>/<service>/[<namespace>/]<kind>[.<group>]-<name>.yaml
    /// (mode 0600; directories 0700). All or nothing: the tree is written
    /// beside DIR and moved into place only when complete. DIR must be empty
    /// or not exist yet.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}
