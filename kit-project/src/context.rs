//! The template context of one target, its pod checksum, and the Secret
//! kit renders for `secrets_as: secret`.
//!
//! | name | what |
//! |---|---|
//! | every values key | the merged values (base < environment < cluster < service < cluster's service entry < extra values, in order) |
//! | `kit.environment`, `kit.cluster`, `kit.service` | the target |
//! | `kit.instance` | in a run on an instance (`--instance`): its name; absent otherwise |
//! | `namespace` | in an instance: the values' `namespace` with `-<instance>` appended (see [`instance_namespace`]) |
//! | `kit.checksum` | HMAC-SHA256 over the service's variables, keyed by the secret `KIT_CHECKSUM_KEY` (also the `kit.dev/env-sha256` pod annotation) |
//! | `kit.secret_name` | with `secrets_as: secret`: the name of the Secret kit renders (`<service>-env`) |
//! | `env` | the variables, `{name, value}`, sorted by name: `env:` entries, plus secrets unless `secrets_as: secret` |
//! | `secrets` | the secrets by name (absent with `secrets_as: secret`) |
//! | `<service>.image`, `kit.image` | the service's image for the target: its release record's image for the cluster, else the record's image, else `kit.yaml`'s `image` |
//! | `<service>.env` | the same `env` list |

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kit_core::yaml::write_string_scalar;
use kit_core::{Map, Value};
use kit_env::{Fingerprinter, Resolution, SecretValue};
use sha2::{Digest, Sha256};

pub use crate::contract::{
    CHECKSUM_KEY_NAME, CONFIG_CHECKSUM_ANNOTATION, ENV_CHECKSUM_ANNOTATION, INSTANCE_LABEL,
    MIN_CHECKSUM_KEY_BYTES, TARGET_LABELS,
};
use crate::error::{ProjectError, RenderError};
use crate::model::{EnvConflict, SecretsAs};
use crate::project::Project;

/// Value keys kit fills itself, with what they hold (the service's own name
/// is reserved too).
const RESERVED: [(&str, &str); 3] = [
    ("kit", "kit's target information"),
    ("env", "the variables"),
    ("secrets", "the secrets"),
];

/// What a target's templates render with.
#[derive(Debug)]
pub(crate) struct TargetContext {
    /// The template context.
    pub data: Value,
    /// The checksum as written into manifests (fingerprinted under redaction).
    pub checksum: String,
    /// kit's Secret document, with `secrets_as: secret` and secrets present.
    pub secret_document: Option<String>,
    /// Where the image came from, when a release record gave it.
    pub image_source: Option<String>,
    /// What the configuration checksum needs: the target, its key, whether
    /// it has secrets, and the redaction in force.
    target: kit_env::Target,
    key: Option<SecretValue>,
    has_secrets: bool,
    redact: Option<Fingerprinter>,
}

/// `TARGET_LABELS` with their values for `t`, and [`INSTANCE_LABEL`] for
/// a target of an instance.
pub fn target_labels(t: &kit_env::Target) -> Result<Vec<(&'static str, &str)>, RenderError> {
    let mut pairs = vec![
        (TARGET_LABELS[0], t.environment.as_str(), "environment"),
        (TARGET_LABELS[1], t.cluster.as_str(), "cluster"),
        (TARGET_LABELS[2], t.service.as_str(), "service"),
    ];
    if let Some(i) = &t.instance {
        pairs.push((INSTANCE_LABEL, i.name.as_str(), "instance"));
    }
    for &(label, v, what) in &pairs {
        let b = v.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric();
        if !ok {
            return Err(RenderError::BadLabel {
                what,
                name: v.to_owned(),
                label,
            });
        }
    }
    Ok(pairs.into_iter().map(|(l, v, _)| (l, v)).collect())
}

/// The namespace of `instance` for a base namespace: `<base>-<instance>`,
/// refused when longer than a namespace may be (63 characters).
///
/// ```
/// assert_eq!(kit_project::instance_namespace("shop", "pr-7").unwrap(), "shop-pr-7");
/// assert!(kit_project::instance_namespace(&"n".repeat(60), "pr-7").is_err());
/// ```
pub fn instance_namespace(base: &str, instance: &str) -> Result<String, ProjectError> {
    let namespace = format!("{base}-{instance}");
    if namespace.len() > 63 {
        return Err(ProjectError::InstanceNamespace {
            instance: instance.into(),
            length: namespace.len(),
            room: 63usize.saturating_sub(base.len() + 1),
            namespace,
        });
    }
    Ok(namespace)
}

impl TargetContext {
    /// The checksum of `docs` (the target's ConfigMaps and Secrets, each
    /// `kind/namespace/name` and its text, in that order), keyed like the
    /// variables' checksum; a fingerprint of it under redaction.
    pub fn config_checksum(&self, docs: &[&crate::check::Document]) -> Result<String, RenderError> {
        let mut parts: Vec<(String, &str)> = docs
            .iter()
            .map(|d| {
                let ns = d.namespace.as_deref().unwrap_or("");
                (
                    format!("{}/{}/{ns}/{}", d.api_version, d.kind, d.name),
                    d.text.as_str(),
                )
            })
            .collect();
        parts.sort();
        let mut input = Vec::new();
        for (id, text) in &parts {
            input.extend_from_slice(id.as_bytes());
            input.push(0);
            input.extend_from_slice(&(text.len() as u64).to_be_bytes());
            input.extend_from_slice(text.as_bytes());
        }
        let sum = keyed_hash(&self.target, &input, self.key.as_ref(), self.has_secrets)?;
        Ok(match &self.redact {
            Some(f) => f.fingerprint(&sum),
            None => sum,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

fn entry(name: &str, value: &str) -> Value {
    let mut m = Map::with_capacity(2);
    m.insert("name".into(), Value::String(name.into()));
    m.insert("value".into(), Value::String(value.into()));
    Value::Map(m)
}

/// A service's variables for one target, exactly as its manifests get
/// them: the `env:` entries and the secrets, conflicts settled by
/// `env_conflict`; the checksum key apart (never a variable).
#[derive(Debug)]
pub struct Variables<'r> {
    /// `env:` entries (layered), as text.
    pub plain: indexmap::IndexMap<String, String>,
    /// Secrets, by name, in resolution order.
    pub secrets: Vec<(&'r str, &'r str)>,
    /// The `KIT_CHECKSUM_KEY` secret, when present.
    pub checksum_key: Option<&'r SecretValue>,
}

impl Variables<'_> {
    /// Every variable, sorted by name: (name, value, is a secret).
    pub fn all(&self) -> Vec<(&str, &str, bool)> {
        let mut all: Vec<(&str, &str, bool)> = self
            .plain
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str(), false))
            .chain(self.secrets.iter().map(|(k, v)| (*k, *v, true)))
            .collect();
        all.sort();
        all
    }
}

impl Project {
    /// The variables `res.target`'s service gets (what `kit env` prints and
    /// `kit exec` passes on): `env:` entries plus secrets, conflicts settled.
    pub fn variables<'r>(&self, res: &'r Resolution) -> Result<Variables<'r>, ProjectError> {
        let t = &res.target;
        let mut plain = self.layered_env(t);
        let mut checksum_key: Option<&SecretValue> = None;
        let mut secrets: Vec<(&str, &str)> = Vec::with_capacity(res.variables.len());
        for v in &res.variables {
            if v.name == CHECKSUM_KEY_NAME {
                checksum_key = Some(&v.value);
                continue;
            }
            if plain.contains_key(&v.name) {
                match self.file.env_conflict {
                    EnvConflict::Secrets => {
                        plain.shift_remove(&v.name);
                    }
                    EnvConflict::Values => continue,
                    _ => {
                        return Err(ProjectError::EnvConflict {
                            name: v.name.clone(),
                            service: t.service.clone(),
                            key: t.to_string(),
                        });
                    }
                }
            }
            secrets.push((&v.name, v.value.expose()));
        }
        Ok(Variables {
            plain,
            secrets,
            checksum_key,
        })
    }
}

/// The data `res.target`'s templates render with (the merged values,
/// `kit`, `env`, `secrets`, the service's image): what `kit values` prints.
/// With `options.redact`, every secret value is a fingerprint.
pub fn template_context(
    project: &Project,
    res: &Resolution,
    options: &crate::options::RenderOptions,
) -> Result<Value, RenderError> {
    let t = &res.target;
    let record = record_of(project, &t.environment, &t.service, options)?;
    build(project, res, options, record.as_ref()).map(|c| c.data)
}

/// The release record of `service` in `environment`: the one given in
/// `options`, else the project's file, if any.
pub(crate) fn record_of(
    project: &Project,
    environment: &str,
    service: &str,
    options: &crate::options::RenderOptions,
) -> Result<Option<crate::release::Record>, RenderError> {
    let key = (environment.to_owned(), service.to_owned());
    Ok(match options.records.get(&key) {
        Some(r) => Some(r.clone()),
        None => match (
            project.record(environment, service)?,
            project.instances_of(environment),
        ) {
            (None, Some(base)) => record_of(project, base, service, options)?,
            (own, _) => own,
        },
    })
}

/// Builds the context of `res.target`: its layered values with `extra` on
/// top, its variables (`env:` entries and secrets, conflicts settled), the
/// keyed checksum, and kit's Secret when the service asks for one.
/// `record` is the release record of the target's service in its
/// environment, if any.
pub(crate) fn build(
    project: &Project,
    res: &Resolution,
    options: &crate::options::RenderOptions,
    record: Option<&crate::release::Record>,
) -> Result<TargetContext, RenderError> {
    let extra = &options.extra_values;
    let redact = options.redact.as_ref();
    let t = &res.target;
    let mut values = project.layered_values(t);
    for v in extra {
        crate::values::merge(&mut values, v.clone());
    }
    let Value::Map(mut ctx) = values else {
        unreachable!("layered values start as a map")
    };
    if let Some(i) = &t.instance
        && let Some(Value::String(ns)) = ctx.get_mut("namespace")
    {
        *ns = instance_namespace(ns, &i.name)?;
    }
    let service_key = [(t.service.as_str(), "the service's image and variables")];
    for (key, what) in RESERVED.iter().chain(&service_key) {
        if ctx.contains_key(*key) {
            return Err(ProjectError::Reserved {
                key: (*key).into(),
                what,
            }
            .into());
        }
    }

    let Variables {
        plain,
        secrets,
        checksum_key,
    } = project.variables(res)?;
    let checksum = checksum(t, &plain, &secrets, checksum_key)?;
    let shown = |v: &str| match redact {
        Some(f) => f.fingerprint(v),
        None => v.to_owned(),
    };
    let shown_checksum = shown(&checksum);
    let secrets_as = project.secrets_as(&t.service);
    let secret_name = format!("{}-env", t.service);

    let mut env_list: Vec<(String, String)> =
        plain.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut secret_map = Map::new();
    if secrets_as == SecretsAs::Env {
        for (k, v) in &secrets {
            let v = shown(v);
            env_list.push(((*k).to_owned(), v.clone()));
            secret_map.insert((*k).to_owned(), Value::String(v));
        }
    }
    env_list.sort();
    let env_value = Value::List(env_list.iter().map(|(k, v)| entry(k, v)).collect());

    let mut kit = Map::new();
    kit.insert("environment".into(), Value::String(t.environment.clone()));
    kit.insert("cluster".into(), Value::String(t.cluster.clone()));
    kit.insert("service".into(), Value::String(t.service.clone()));
    if let Some(i) = &t.instance {
        kit.insert("instance".into(), Value::String(i.name.clone()));
    }
    kit.insert("checksum".into(), Value::String(shown_checksum.clone()));
    if secrets_as == SecretsAs::Secret {
        kit.insert("secret_name".into(), Value::String(secret_name.clone()));
    }
    let (image, image_source) = match options.images.get(&t.service) {
        Some(image) => (Some(image.clone()), Some("image from --image".to_owned())),
        None => image_of(project, t, record),
    };
    let mut svc = Map::new();
    if let Some(image) = &image {
        svc.insert("image".into(), Value::String(image.clone()));
        kit.insert("image".into(), Value::String(image.clone()));
    }
    svc.insert("env".into(), env_value.clone());
    let namespace = match ctx.get("namespace") {
        Some(Value::String(ns)) => Some(ns.clone()),
        _ => None,
    };
    ctx.insert("kit".into(), Value::Map(kit));
    ctx.insert("env".into(), env_value);
    if secrets_as == SecretsAs::Env {
        ctx.insert("secrets".into(), Value::Map(secret_map));
    }
    ctx.insert(t.service.clone(), Value::Map(svc));

    let secret_document = (secrets_as == SecretsAs::Secret && !secrets.is_empty()).then(|| {
        secret_document(
            &secret_name,
            namespace.as_deref(),
            &shown_checksum,
            &secrets,
            redact,
        )
    });
    Ok(TargetContext {
        data: Value::Map(ctx),
        checksum: shown_checksum,
        secret_document,
        image_source,
        target: t.clone(),
        key: checksum_key.cloned(),
        has_secrets: !secrets.is_empty(),
        redact: redact.cloned(),
    })
}

/// The image of a target, and where it came from when a release record
/// gave it: the record for the cluster, else the record's image, else
/// `kit.yaml`'s.
fn image_of(
    project: &Project,
    t: &kit_env::Target,
    record: Option<&crate::release::Record>,
) -> (Option<String>, Option<String>) {
    match record {
        Some(r) => {
            // An instance without records of its own reads its base's.
            let own = crate::release::record_path(&t.environment, &t.service);
            let path = match project.instances_of(&t.environment) {
                Some(base) if !project.dir.join(&own).exists() => {
                    crate::release::record_path(base, &t.service)
                }
                _ => own,
            };
            let scope = if r.clusters.contains_key(&t.cluster) {
                format!(" clusters.{}", t.cluster)
            } else {
                String::new()
            };
            (
                Some(r.image_for(&t.cluster).to_owned()),
                Some(format!(
                    "image from {} revision {}{scope}",
                    path.display(),
                    r.revision
                )),
            )
        }
        None => (project.file.services[&t.service].image.clone(), None),
    }
}

/// The checksum over every variable, sorted by name (name, NUL, length,
/// value). Keyed, so the annotation (readable by anyone who can read
/// Deployments) reveals nothing about the values; stable for a key, so
/// rollouts happen exactly when a variable changes.
fn checksum(
    t: &kit_env::Target,
    plain: &indexmap::IndexMap<String, String>,
    secrets: &[(&str, &str)],
    key: Option<&SecretValue>,
) -> Result<String, RenderError> {
    let mut all: Vec<(&str, &str)> = plain
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(secrets.iter().copied())
        .collect();
    all.sort();
    let mut input = Vec::new();
    for (k, v) in &all {
        input.extend_from_slice(k.as_bytes());
        input.push(0);
        input.extend_from_slice(&(v.len() as u64).to_be_bytes());
        input.extend_from_slice(v.as_bytes());
    }
    keyed_hash(t, &input, key, !secrets.is_empty())
}

/// HMAC-SHA256 of `input` keyed by the checksum key; SHA-256 when the
/// target has no secrets and no key (nothing to hide).
fn keyed_hash(
    t: &kit_env::Target,
    input: &[u8],
    key: Option<&SecretValue>,
    has_secrets: bool,
) -> Result<String, RenderError> {
    let target = t.to_string();
    match key.map(SecretValue::expose) {
        Some(k) if k.len() < MIN_CHECKSUM_KEY_BYTES => Err(RenderError::WeakChecksumKey { target }),
        Some(k) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(k.as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(input);
            Ok(hex(&mac.finalize().into_bytes()))
        }
        None if has_secrets => Err(RenderError::NoChecksumKey { target }),
        // No secret among the inputs: nothing to hide.
        None => Ok(hex(&Sha256::digest(input))),
    }
}

/// kit's Secret for `secrets_as: secret`: `data` (base64), or under
/// redaction `stringData` with fingerprints (still a valid Secret).
fn secret_document(
    name: &str,
    namespace: Option<&str>,
    checksum: &str,
    vars: &[(&str, &str)],
    redact: Option<&Fingerprinter>,
) -> String {
    let mut s = String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ");
    write_string_scalar(&mut s, name, false);
    if let Some(ns) = namespace {
        s.push_str("\n  namespace: ");
        write_string_scalar(&mut s, ns, false);
    }
    s.push_str("\n  labels:\n    app.kubernetes.io/managed-by: kit\n  annotations:\n    ");
    s.push_str(ENV_CHECKSUM_ANNOTATION);
    s.push_str(": ");
    write_string_scalar(&mut s, checksum, false);
    s.push_str("\ntype: Opaque\n");
    match redact {
        Some(f) => {
            s.push_str("stringData:\n");
            for (k, v) in vars {
                s.push_str("  ");
                write_string_scalar(&mut s, k, false);
                s.push_str(": ");
                write_string_scalar(&mut s, &f.fingerprint(v), false);
                s.push('\n');
            }
        }
        None => {
            s.push_str("data:\n");
            for (k, v) in vars {
                s.push_str("  ");
                write_string_scalar(&mut s, k, false);
                s.push_str(": ");
                s.push_str(&base64::engine::general_purpose::STANDARD.encode(v.as_bytes()));
                s.push('\n');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::tests::demo;
    use kit_env::{Layer, Target, Variable};

    fn var(name: &str, value: &str, key: &str) -> Variable {
        Variable {
            name: name.into(),
            value: SecretValue::new(value.into()),
            layer: Layer::Service,
            key: key.into(),
            overridden: Vec::new(),
        }
    }

    fn resolution(t: Target, vars: Vec<Variable>) -> Resolution {
        Resolution {
            target: t,
            variables: vars,
            warnings: Vec::new(),
        }
    }

    fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
        path.iter().fold(v, |v, p| match v {
            Value::Map(m) => &m[*p],
            _ => panic!("not a map at {p}"),
        })
    }

    #[test]
    fn the_context_holds_values_target_variables_and_image() {
        let mut p = demo();
        // The demo puts secrets into Secrets; here they are variables.
        p.file.secrets_as = SecretsAs::Env;
        let t = Target::new("production", "nerdearla-cluster", "myservicio");
        let res = resolution(
            t,
            vec![
                var(
                    "KIT_CHECKSUM_KEY",
                    "a-key-of-sixteen-bytes",
                    "production/common/KIT_CHECKSUM_KEY",
                ),
                var(
                    "MYSQL_PASSWORD",
                    "!pw!",
                    "production/nerdearla-cluster/myservicio/MYSQL_PASSWORD",
                ),
            ],
        );
        let c = build(&p, &res, &Default::default(), None).unwrap();
        assert_eq!(
            get(&c.data, &["kit", "service"]),
            &Value::String("myservicio".into())
        );
        assert_eq!(
            get(&c.data, &["secrets", "MYSQL_PASSWORD"]),
            &Value::String("!pw!".into())
        );
        assert!(
            matches!(get(&c.data, &["secrets"]), Value::Map(m) if !m.contains_key("KIT_CHECKSUM_KEY"))
        );
        assert_eq!(
            get(&c.data, &["myservicio", "image"]),
            &Value::String("registry.example.com/shop/myservicio:1.4.0".into())
        );
        let Value::List(env) = get(&c.data, &["env"]) else {
            panic!()
        };
        let names: Vec<&str> = env
            .iter()
            .map(|e| match get(e, &["name"]) {
                Value::String(s) => s.as_str(),
                _ => panic!("names are strings"),
            })
            .collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted: {names:?}");
        assert!(names.contains(&"MYSQL_PASSWORD") && !names.contains(&"KIT_CHECKSUM_KEY"));
        assert_eq!(c.checksum.len(), 64);
    }

    #[test]
    fn extra_values_layer_last_and_reserved_keys_are_refused() {
        let p = demo();
        let t = Target::new("production", "nerdearla-cluster", "envar-demo");
        let res = resolution(t, vec![]);
        let extra: Value = serde_json::json!({"replicas": 9}).into();
        let c = build(
            &p,
            &res,
            &crate::options::RenderOptions::default().with_values(extra),
            None,
        )
        .unwrap();
        assert_eq!(get(&c.data, &["replicas"]), &Value::Int(9));
        let bad: Value = serde_json::json!({"envar-demo": 1}).into();
        let e = build(
            &p,
            &res,
            &crate::options::RenderOptions::default().with_values(bad),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "values key 'envar-demo' is reserved by kit (it names the service's image and variables in templates)"
        );
    }

    #[test]
    fn the_checksum_needs_a_key_only_when_there_are_secrets() {
        let t = Target::new("p", "c", "s");
        let plain: indexmap::IndexMap<String, String> = [("A".to_string(), "1".to_string())].into();
        assert_eq!(checksum(&t, &plain, &[], None).unwrap().len(), 64);
        assert!(matches!(
            checksum(&t, &plain, &[("P", "1234")], None),
            Err(RenderError::NoChecksumKey { .. })
        ));
        let short = SecretValue::new("short".into());
        assert!(matches!(
            checksum(&t, &plain, &[("P", "1234")], Some(&short)),
            Err(RenderError::WeakChecksumKey { .. })
        ));
        let k1 = SecretValue::new("key-one-0123456789".into());
        let k2 = SecretValue::new("key-two-0123456789".into());
        let a = checksum(&t, &plain, &[("P", "1234")], Some(&k1)).unwrap();
        assert_eq!(
            a,
            checksum(&t, &plain, &[("P", "1234")], Some(&k1)).unwrap()
        );
        assert_ne!(
            a,
            checksum(&t, &plain, &[("P", "1234")], Some(&k2)).unwrap()
        );
        assert_ne!(
            a,
            checksum(&t, &plain, &[("P", "1235")], Some(&k1)).unwrap()
        );
    }
}
