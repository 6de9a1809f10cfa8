//! End-to-end tests of `kit render`: the demo project as a newcomer runs
//! it, and purpose-built bad projects, each with its own exact error.

use crate::util as cli;

use std::path::{Path, PathBuf};

use cli::{MINIMAL, Run, project, root, write};
use kit_core::Value;

fn kit_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    cli::kit(dir, args, env, None)
}

const DEMO_PROD: [&str; 7] = [
    "render",
    "-C",
    "fixtures/demo",
    "--environment",
    "production",
    "--cluster",
    "nerdearla-cluster",
];

/// `kit render` for myservicio on nerdearla-cluster, in a copied project.
const MYSERVICIO: [&str; 7] = [
    "render",
    "-e",
    "production",
    "-c",
    "nerdearla-cluster",
    "-s",
    "myservicio",
];

/// Parses a rendered stream into documents.
fn documents(stream: &str) -> Vec<Value> {
    stream
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_saphyr::from_str::<Value>(d).expect("each document parses"))
        .collect()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, p| match v {
        Value::Map(m) => m.get(*p).unwrap_or_else(|| panic!("no {p}")),
        Value::List(l) => &l[p.parse::<usize>().unwrap()],
        _ => panic!("not a collection at {p}"),
    })
}

#[test]
fn demo_renders_exactly_and_identically_twice() {
    let a = kit_in(&root(), &DEMO_PROD, &[]);
    assert_eq!((a.code, a.stderr.as_str()), (0, ""));
    let expected = std::fs::read_to_string(
        root().join("fixtures/demo/expected/production-nerdearla-cluster.yaml"),
    )
    .unwrap();
    assert_eq!(a.stdout, expected);
    let b = kit_in(&root(), &DEMO_PROD, &[]);
    assert_eq!(a.stdout, b.stdout, "two runs differ");
}

#[test]
fn demo_documents_are_manifests_and_the_password_arrives_exactly() {
    let r = kit_in(&root(), &DEMO_PROD, &[]);
    let docs = documents(&r.stdout);
    let kinds: Vec<&Value> = docs.iter().map(|d| get(d, &["kind"])).collect();
    assert_eq!(
        kinds,
        [
            "Secret",
            "Secret",
            "Secret",
            "Service",
            "Pod",
            "Deployment",
            "Deployment"
        ]
        .map(|k| Value::String(k.into()))
        .iter()
        .collect::<Vec<_>>()
    );
    for d in &docs {
        assert!(matches!(get(d, &["apiVersion"]), Value::String(_)));
        assert!(matches!(get(d, &["metadata", "name"]), Value::String(_)));
    }
    let deploy = docs
        .iter()
        .find(|d| {
            get(d, &["metadata", "name"]) == &Value::String("myservicio".into())
                && get(d, &["kind"]) == &Value::String("Deployment".into())
        })
        .unwrap();
    // The password is in myservicio's Secret (base64, exact), and the
    // Deployment takes the Secret's variables, never the value itself.
    let secret = docs
        .iter()
        .find(|d| get(d, &["metadata", "name"]) == &Value::String("myservicio-env".into()))
        .unwrap();
    let Value::String(b64) = get(secret, &["data", "MYSQL_PASSWORD"]) else {
        panic!("data.MYSQL_PASSWORD is a string")
    };
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(decoded, b"!myp4ssw0rd!");
    assert!(!r.stdout.contains("!myp4ssw0rd!"));
    assert_eq!(
        get(
            deploy,
            &[
                "spec",
                "template",
                "spec",
                "containers",
                "0",
                "envFrom",
                "0",
                "secretRef",
                "name"
            ]
        ),
        &Value::String("myservicio-env".into())
    );
    assert!(matches!(
        get(deploy, &["spec", "template", "metadata", "annotations", "kit.dev/env-sha256"]),
        Value::String(s) if s.len() == 64
    ));
}

#[test]
fn changing_a_secret_changes_the_checksum() {
    let dir = copy_demo();
    let before = kit_in(&dir, &MYSERVICIO, &[]);
    std::fs::write(
        dir.join("secrets/production/nerdearla-cluster/myservicio/MYSQL_PASSWORD"),
        "n3w",
    )
    .unwrap();
    let after = kit_in(&dir, &MYSERVICIO, &[]);
    let sum = |s: &str| {
        s.lines()
            .find(|l| l.contains("kit.dev/env-sha256"))
            .unwrap()
            .to_owned()
    };
    assert_ne!(sum(&before.stdout), sum(&after.stdout));
}

#[test]
fn redact_hides_every_secret_of_the_demo() {
    for cluster in ["nerdearla-cluster", "other-cluster"] {
        let args = [
            "render",
            "-C",
            "fixtures/demo",
            "-e",
            "production",
            "-c",
            cluster,
            "--redact",
        ];
        let r = kit_in(&root(), &args, &[("KIT_REDACT_KEY", "review")]);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""));
        let secrets_dir = root().join("fixtures/demo/secrets/production");
        for value in all_files(&secrets_dir) {
            assert!(
                !r.stdout.contains(&value),
                "a secret value leaked into --redact output"
            );
        }
        assert!(r.stdout.contains("redacted:"));
        documents(&r.stdout); // still valid YAML
    }
    let f = kit_env::Fingerprinter::with_key(b"review");
    let r = kit_in(
        &root(),
        &[
            "render",
            "-C",
            "fixtures/demo",
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
            "-s",
            "myservicio",
            "--redact",
        ],
        &[("KIT_REDACT_KEY", "review")],
    );
    assert!(r.stdout.contains(&format!(
        "MYSQL_PASSWORD: {}\n",
        f.fingerprint("!myp4ssw0rd!")
    )));
    let r = kit_in(
        &root(),
        &[
            "render",
            "-C",
            "fixtures/demo",
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
            "--redact",
        ],
        &[],
    );
    assert_eq!(
        r.stderr,
        "note: KIT_REDACT_KEY is not set; fingerprints use a random key and compare only within this run\n"
    );
}

fn all_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(std::fs::read_to_string(p).unwrap());
        }
    }
    out
}

#[test]
fn values_and_set_layer_on_top() {
    let dir = copy_demo();
    std::fs::write(
        dir.join("more.yaml"),
        "replicas: 4\nresources:\n  cpu: 250m\n",
    )
    .unwrap();
    let r = kit_in(
        &dir,
        &[
            &MYSERVICIO[..],
            &["--values", "more.yaml", "--set", "replicas=5"],
        ]
        .concat(),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("  replicas: 5\n"));
    assert!(
        r.stdout
            .contains("              cpu: 250m\n              memory: 128Mi\n")
    );
}

#[test]
fn disabled_services_are_skipped_and_refused_by_name() {
    let r = kit_in(
        &root(),
        &[
            "render",
            "-C",
            "fixtures/demo",
            "-e",
            "production",
            "-c",
            "other-cluster",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("# Source: worker/"));
    let r = kit_in(
        &root(),
        &[
            "render",
            "-C",
            "fixtures/demo",
            "-e",
            "production",
            "-c",
            "other-cluster",
            "-s",
            "worker",
        ],
        &[],
    );
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(
        r.stderr,
        "error: service 'worker' is disabled on cluster 'other-cluster'\n"
    );
}

#[test]
fn unknown_names_are_errors_that_list_the_choices() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["-e", "prod", "-c", "x"],
            "error: unknown environment 'prod' (known: production, staging, preview)\n",
        ),
        (
            &["-e", "production", "-c", "nerdearla"],
            "error: unknown cluster 'nerdearla' in environment 'production' (known: nerdearla-cluster, other-cluster)\n",
        ),
        (
            &["-e", "production", "-c", "nerdearla-cluster", "-s", "api"],
            "error: unknown service 'api' (known: myservicio, envar-demo, worker)\n",
        ),
    ];
    for (args, err) in cases {
        let mut a = vec!["render", "-C", "fixtures/demo"];
        a.extend(args);
        let r = kit_in(&root(), &a, &[]);
        assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (4, "", err));
    }
    // A missing selector is a usage error (exit 2), as documented.
    for (args, err) in [
        (
            &["-e", "production"][..],
            "error: a cluster is required (choose from: nerdearla-cluster, other-cluster)\n  = hint: give --cluster (KIT_CLUSTER), or --all\n",
        ),
        (
            &[][..],
            "error: an environment is required (choose from: production, staging, preview)\n  = hint: give --environment (KIT_ENVIRONMENT), or --all\n",
        ),
    ] {
        let mut a = vec!["render", "-C", "fixtures/demo"];
        a.extend(args);
        let r = kit_in(&root(), &a, &[]);
        assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (2, "", err));
    }
}

// ---- purpose-built bad projects --------------------------------------------

fn temp_project() -> PathBuf {
    cli::temp_dir("render")
}

fn copy_demo() -> PathBuf {
    let dir = temp_project();
    cli::copy_dir(&root().join("fixtures/demo"), &dir);
    dir
}

fn render_bad(dir: &Path) -> Run {
    kit_in(dir, &["render", "-e", "prod", "-c", "c1"], &[])
}

const OK_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  password: {{secrets.PASSWORD}}\n";

#[test]
fn a_minimal_project_renders() {
    let dir = project(MINIMAL, OK_TEMPLATE, "yes");
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        r.stdout,
        "---\n# Source: web/main.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    kit.dev/environment: \"prod\"\n    kit.dev/cluster: \"c1\"\n    kit.dev/service: \"web\"\n  name: web\ndata:\n  password: \"yes\"\n"
    );
}

#[test]
fn bad_project_files() {
    let dir = project(
        "environments: {}\nservices: {}\nextra: 1\n",
        OK_TEMPLATE,
        "x",
    );
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr.starts_with(
            "error: ./kit.yaml: line 3 column 1: unknown field `extra`, expected one of name, inventory_namespace, templates,"
        ),
        "{}",
        r.stderr
    );

    let dir = temp_project();
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr.starts_with("error: cannot read ./kit.yaml: "),
        "{}",
        r.stderr
    );

    let dir = project(
        "environments:\n  prod:\n    clusters:\n      c1:\n        services:\n          api: {}\nservices:\n  web: {}\n",
        OK_TEMPLATE,
        "x",
    );
    let r = render_bad(&dir);
    assert_eq!(
        r.stderr,
        "error: ./kit.yaml: cluster 'c1' configures unknown service 'api'\n"
    );
}

#[test]
fn template_errors_name_the_template_position() {
    let dir = project(
        MINIMAL,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{nmae}}\n",
        "x",
    );
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""));
    assert!(
        r.stderr
            .starts_with("error: web/main.yaml:4:9: 'nmae' is not defined\n"),
        "{}",
        r.stderr
    );
    let dir = project(
        MINIMAL,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{kit.servce}}\n",
        "x",
    );
    let r = render_bad(&dir);
    assert!(
        r.stderr.starts_with(
            "error: web/main.yaml:4:9: 'kit.servce' is not defined; did you mean 'kit.service'?\n"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn raw_secrets_that_would_not_read_back_are_refused() {
    let tpl = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  password: \"{{{secrets.PASSWORD}}}\"\n";
    let dir = project(MINIMAL, tpl, "pa\"ss");
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""));
    assert_eq!(
        r.stderr,
        "error: web/main.yaml:6:14: the secret in 'secrets.PASSWORD' is written raw inside a double-quoted scalar, where it would not read back exactly\n  |\n6 |   password: \"{{{secrets.PASSWORD}}}\"\n  |              ^\n  = hint: use {{name}} instead of {{{name}}}, so that kit escapes the value for its position\n"
    );
    // The same template is fine for a value that reads back.
    let dir = project(MINIMAL, tpl, "!myp4ssw0rd!");
    assert_eq!(render_bad(&dir).code, 0);
}

#[test]
fn documents_must_be_manifests() {
    let dir = project(
        MINIMAL,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
        "x",
    );
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (6, ""));
    assert_eq!(
        r.stderr,
        "error: web/main.yaml:1:1: metadata.name is missing or not a string (rendered document 1, line 1)\n  |\n1 | apiVersion: v1\n  | ^\n  = hint: --debug prints the rendered document (secret values as fingerprints)\n"
    );
    let dir = project(
        MINIMAL,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        "x",
    );
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (6, ""));
    assert_eq!(
        r.stderr,
        "error: web/main.yaml renders v1/ConfigMap 'a', which web/main.yaml renders too\n"
    );
    let dir = project(
        MINIMAL,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
        "x",
    );
    let r = render_bad(&dir);
    assert_eq!(
        r.stderr,
        "error: web/main.yaml:5:3: duplicate key 'name' (rendered document 1, line 5)\n  |\n5 |   name: b\n  |   ^\n  = hint: --debug prints the rendered document (secret values as fingerprints)\n"
    );
}

#[test]
fn env_conflicts_are_errors_unless_the_project_decides() {
    let kit = "environments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web:\n    env:\n      PASSWORD: plain\n";
    let tpl = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n{{#env}}\n  {{name}}: {{value}}\n{{/env}}\n";
    let dir = project(kit, tpl, "secret");
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(
        r.stderr,
        "error: variable 'PASSWORD' of service 'web' is defined both in env: and as a secret (prod/c1/web)\n"
    );
    let dir = project(&format!("env_conflict: secrets\n{kit}"), tpl, "secret");
    let r = render_bad(&dir);
    assert!(
        r.stdout.ends_with("data:\n  PASSWORD: secret\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn reserved_value_keys_and_missing_secrets_directory() {
    let dir = project(
        "values:\n  env: x\nenvironments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web: {}\n",
        OK_TEMPLATE,
        "x",
    );
    let r = render_bad(&dir);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "error: values key 'env' is reserved by kit (it names the variables in templates)\n"
        )
    );
    let dir = project(&format!("secrets: nowhere\n{MINIMAL}"), OK_TEMPLATE, "x");
    // One rule in one place (the store), one exit code for every command.
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert_eq!(
        r.stderr,
        "error: ./nowhere: the secrets directory does not exist\n"
    );
}

#[test]
fn redact_key_from_a_file() {
    let dir = cli::temp_dir("key");
    std::fs::write(dir.join("key"), "review\n").unwrap();
    let key = dir.join("key").display().to_string();
    let args = [
        "render",
        "-C",
        "fixtures/demo",
        "-e",
        "production",
        "-c",
        "nerdearla-cluster",
        "-s",
        "myservicio",
        "--redact",
        "--redact-key-file",
        &key,
    ];
    let r = kit_in(&root(), &args, &[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let f = kit_env::Fingerprinter::with_key(b"review");
    assert!(r.stdout.contains(&format!(
        "MYSQL_PASSWORD: {}\n",
        f.fingerprint("!myp4ssw0rd!")
    )));
}

// ---- promises kept under attack ----------------------------------------------

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    spec:\n      containers:\n      - name: web\n        env:\n{{#env}}\n        - name: {{name}}\n          value: {{value}}\n{{/env}}\n";

/// The pod checksum of a one-service render.
fn checksum(stream: &str) -> String {
    let line = stream
        .lines()
        .find(|l| l.trim_start().starts_with("kit.dev/env-sha256:"))
        .expect("a checksum annotation");
    line.split('"').nth(1).unwrap().to_owned()
}

#[test]
fn the_pod_checksum_is_keyed_and_reveals_nothing_about_short_secrets() {
    use sha2::Digest;
    let dir = project(MINIMAL, DEPLOYMENT, "4821");
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let annotated = checksum(&r.stdout);
    // The attack of the finding: hash every 4-digit guess the way an unkeyed
    // checksum would. No guess matches.
    let unkeyed = |pin: &str| {
        let mut input = Vec::new();
        input.extend_from_slice(b"PASSWORD\0");
        input.extend_from_slice(&(pin.len() as u64).to_be_bytes());
        input.extend_from_slice(pin.as_bytes());
        sha2::Sha256::digest(&input)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert!((0..10_000).all(|n| unkeyed(&format!("{n:04}")) != annotated));
    // Stable across runs (rollouts stay deterministic), changed by the key
    // and by the value.
    assert_eq!(checksum(&render_bad(&dir).stdout), annotated);
    write(
        &dir,
        &[(
            "secrets/prod/common/KIT_CHECKSUM_KEY",
            "another-key-0123456789",
        )],
    );
    let other_key = checksum(&render_bad(&dir).stdout);
    assert_ne!(other_key, annotated);
    write(&dir, &[("secrets/prod/c1/web/PASSWORD", "4822")]);
    assert_ne!(checksum(&render_bad(&dir).stdout), other_key);
    // The key is never a variable of the service.
    assert!(!render_bad(&dir).stdout.contains("KIT_CHECKSUM_KEY"));
}

#[test]
fn secrets_without_a_checksum_key_are_refused() {
    let dir = project(MINIMAL, DEPLOYMENT, "4821");
    std::fs::remove_file(dir.join("secrets/prod/common/KIT_CHECKSUM_KEY")).unwrap();
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert_eq!(
        r.stderr,
        "error: target prod/c1/web has secrets but no KIT_CHECKSUM_KEY secret to key its pod checksum\n  = hint: kit keys the kit.dev/env-sha256 pod annotation so it reveals nothing about the secrets; create a random key once per environment: head -c 32 /dev/urandom | base64 | kit secrets --secrets-from SOURCE put ENVIRONMENT/common/KIT_CHECKSUM_KEY\n"
    );
    write(&dir, &[("secrets/prod/common/KIT_CHECKSUM_KEY", "short")]);
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert!(
        r.stderr.starts_with(
            "error: the KIT_CHECKSUM_KEY secret of target prod/c1/web is shorter than 16 bytes\n"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_template_that_sets_kits_annotation_is_refused() {
    let tpl = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      annotations:\n        kit.dev/env-sha256: pinned\n    spec: {containers: [{name: web}]}\n";
    let r = render_bad(&project(MINIMAL, tpl, "x"));
    assert_eq!((r.code, r.stdout.as_str()), (6, ""));
    assert_eq!(
        r.stderr,
        "error: web/main.yaml:1:1: spec.template.metadata.annotations already sets 'kit.dev/env-sha256', which kit sets (a second copy would be a duplicate key, and rollouts depend on it); remove it from the template (rendered document 1, line 1)\n  |\n1 | apiVersion: apps/v1\n  | ^\n  = hint: --debug prints the rendered document (secret values as fingerprints)\n"
    );
}

#[test]
fn errors_never_show_a_secret_value() {
    let secret = "hunter2-very-secret";
    for (what, tpl, code, message) in [
        (
            "two secrets used as keys",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  {{secrets.PASSWORD}}: a\n  {{secrets.PASSWORD}}: b\n",
            6,
            "error: web/main.yaml:7:3: duplicate key '<redacted>' (rendered document 1, line 7)\n  |\n7 |   {{secrets.PASSWORD}}: b\n",
        ),
        (
            "a secret as an object name, twice",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{secrets.PASSWORD}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{secrets.PASSWORD}}\n",
            6,
            "error: web/main.yaml renders v1/ConfigMap '<redacted>', which web/main.yaml renders too\n",
        ),
        (
            "a dynamic partial named by a secret",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n{{>* secrets.PASSWORD}}\n",
            3,
            "error: web/main.yaml:5:1: partial '<the secret value of 'secrets.PASSWORD'>' not found\n",
        ),
    ] {
        let r = render_bad(&project(MINIMAL, tpl, secret));
        assert_eq!((r.code, r.stdout.as_str()), (code, ""), "{what}");
        assert!(r.stderr.starts_with(message), "{what}: {}", r.stderr);
        assert!(!r.stderr.contains("hunter2"), "{what}: {}", r.stderr);
    }
    // A secret in a name that cannot be a file name (--output-dir).
    let tpl = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"{{secrets.PASSWORD}}/x\"\n";
    let dir = project(MINIMAL, tpl, secret);
    let out = dir.join("out").display().to_string();
    let r = kit_in(
        &dir,
        &["render", "-e", "prod", "-c", "c1", "--output-dir", &out],
        &[],
    );
    assert_eq!(r.code, 6);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: web/main.yaml: name '<redacted>' cannot be part of a file name\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn unsafe_names_in_kit_yaml_are_refused_before_anything_renders() {
    for (kit_yaml, what, name) in [
        (
            "environments:\n  \"prod\\nkind: Secret\":\n    clusters:\n      c1: {}\nservices:\n  web: {}\n",
            "environment",
            "\"prod\\nkind: Secret\"",
        ),
        (
            "environments:\n  prod:\n    clusters:\n      \"c1\\n---\": {}\nservices:\n  web: {}\n",
            "cluster",
            "\"c1\\n---\"",
        ),
        (
            "environments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  \"web # x\": {}\n",
            "service",
            "\"web # x\"",
        ),
        (
            "environments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web:\n    templates: [../../etc/passwd]\n",
            "template",
            "\"../../etc/passwd\"",
        ),
        (
            "environments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web:\n    templates: [/etc/passwd]\n",
            "template",
            "\"/etc/passwd\"",
        ),
    ] {
        let dir = project(kit_yaml, OK_TEMPLATE, "x");
        let r = kit_in(&dir, &["render", "--all"], &[]);
        assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{kit_yaml}");
        assert!(
            r.stderr.starts_with(&format!(
                "error: ./kit.yaml: {what} {name} is not allowed: "
            )),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn blank_contexts_are_input_errors() {
    for ctx in ["\"\"", "\"  \"", "\" prod\""] {
        let kit_yaml = format!(
            "environments:\n  prod:\n    clusters:\n      c1:\n        context: {ctx}\nservices:\n  web: {{}}\n"
        );
        let dir = project(&kit_yaml, OK_TEMPLATE, "x");
        let r = render_bad(&dir);
        assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{ctx}");
        assert!(
            r.stderr.starts_with("error: ./kit.yaml: context "),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("an empty one would make kubectl use whatever context is current")
        );
    }
}

#[cfg(unix)]
#[test]
fn template_files_stay_inside_the_project_and_lose_their_bom() {
    // A template that is a link out of the project.
    let dir = project(MINIMAL, OK_TEMPLATE, "x");
    let outside = cli::temp_dir("outside").join("t.yaml");
    std::fs::write(&outside, OK_TEMPLATE).unwrap();
    std::fs::remove_file(dir.join("templates/web/main.yaml")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("templates/web/main.yaml")).unwrap();
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(
        r.stderr,
        "error: ./templates/web/main.yaml: it is a link to a file outside the templates directory\n"
    );
    // A template file whose name would inject lines into `# Source:`.
    let dir = project(MINIMAL, OK_TEMPLATE, "x");
    write(&dir, &[("templates/web/x\nkind: Secret.yaml", OK_TEMPLATE)]);
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr.starts_with(
            "error: ./templates/web: template \"x\\nkind: Secret.yaml\" is not allowed"
        ),
        "{}",
        r.stderr
    );
    // A byte order mark is dropped, not copied into the document.
    let dir = project(MINIMAL, &format!("\u{FEFF}{OK_TEMPLATE}"), "x");
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(!r.stdout.contains('\u{FEFF}'));
    assert!(
        r.stdout
            .starts_with("---\n# Source: web/main.yaml\napiVersion: v1\n")
    );
}

#[cfg(unix)]
#[test]
fn fifos_and_deep_set_paths_fail_instead_of_hanging_or_crashing() {
    fn mkfifo(p: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let dir = project(MINIMAL, OK_TEMPLATE, "x");
    mkfifo(&dir.join("values.yaml"));
    let r = kit_in(
        &dir,
        &["render", "-e", "prod", "-c", "c1", "-f", "values.yaml"],
        &[],
    );
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(r.stderr, "error: values.yaml: it is not a regular file\n");
    mkfifo(&dir.join("secrets/prod/c1/web/PIPE"));
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert!(
        r.stderr
            .contains("PIPE: it is not a regular file (a FIFO, socket or device is never read)"),
        "{}",
        r.stderr
    );
    let dir = project(MINIMAL, OK_TEMPLATE, "x");
    let deep = format!("{}=1", vec!["a"; 20_000].join("."));
    let r = kit_in(
        &dir,
        &["render", "-e", "prod", "-c", "c1", "--set", &deep],
        &[],
    );
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(
        r.stderr
            .contains(": the path has more than 64 parts\n  = hint: the syntax is Helm's"),
        "{}",
        &r.stderr[r.stderr.len() - 300..]
    );
}

/// Every file under `dir`, relative to `base`.
fn file_names(base: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(file_names(base, &p));
        } else {
            out.push(p.strip_prefix(base).unwrap().display().to_string());
        }
    }
    out
}

#[test]
fn output_dir_is_all_or_nothing() {
    // Same kind and name in two namespaces, and in two API groups: no
    // collision. Kinds that differ only in case: refused before any write.
    let ok = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: b\n---\napiVersion: example.com/v1\nkind: ConfigMap\nmetadata:\n  name: web\n";
    let dir = project(MINIMAL, ok, "x");
    let out = dir.join("out");
    let args = ["render", "-e", "prod", "-c", "c1", "--output-dir", "out"];
    let r = kit_in(&dir, &args, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
    let mut names: Vec<String> = file_names(&out, &out);
    names.sort();
    assert_eq!(
        names,
        [
            "prod/c1/web/a/configmap-web.yaml",
            "prod/c1/web/b/configmap-web.yaml",
            "prod/c1/web/configmap.example.com-web.yaml"
        ]
    );
    for bad in [
        // A collision after a good document.
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: configmap\nmetadata:\n  name: web\n",
        // A name that cannot be a file name, after a good document.
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ../escape\n",
    ] {
        let dir = project(MINIMAL, bad, "x");
        let r = kit_in(&dir, &args, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (6, ""), "{bad}");
        assert_no_output_left(&dir);
    }
}

/// A project of `clusters` x `services` targets, each rendering one
/// ConfigMap (with the secret `s3cret`).
fn many_configmaps(clusters: usize, services: usize) -> PathBuf {
    let cs: String = (0..clusters)
        .map(|c| format!("      c{c:02}: {{}}\n"))
        .collect();
    let ss: String = (0..services)
        .map(|s| format!("  s{s:02}: {{}}\n"))
        .collect();
    let kit_yaml = format!("environments:\n  prod:\n    clusters:\n{cs}services:\n{ss}");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{kit.service}}\n  namespace: ns-{{kit.cluster}}\ndata:\n  where: {{kit.environment}}/{{kit.cluster}}/{{kit.service}}\n  password: {{secrets.PASSWORD}}\n";
    let dir = temp_project();
    let templates: Vec<(String, &str)> = (0..services)
        .map(|s| (format!("templates/s{s:02}/cm.yaml"), cm))
        .collect();
    let templates: Vec<(&str, &str)> = templates.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    write(&dir, &templates);
    write(
        &dir,
        &[
            ("kit.yaml", &kit_yaml),
            ("secrets/prod/common/PASSWORD", "s3cret"),
            ("secrets/prod/common/KIT_CHECKSUM_KEY", cli::CHECKSUM_KEY),
        ],
    );
    dir
}

#[cfg(unix)]
#[test]
fn a_signal_while_output_dir_writes_leaves_nothing() {
    // SIGINT once the hidden staging folder exists: the writers stop, what
    // they wrote is removed, kit ends by SIGINT. When the signal comes too
    // late (the tree complete), the run is tried again.
    use std::os::unix::process::ExitStatusExt;
    let dir = many_configmaps(40, 50);
    let out = dir.join("out");
    for attempt in 1.. {
        let _ = std::fs::remove_dir_all(&out);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_kit"))
            .args(["render", "--all", "--output-dir", "out"])
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let staging = dir.join(format!(".out.kit-tmp-{}", child.id()));
        cli::wait_until("kit starts writing", 120, || {
            staging.exists() || out.exists()
        });
        let kill = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let run = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(run.stderr).unwrap();
        assert_eq!(run.status.signal(), Some(2), "kit ends by SIGINT: {stderr}");
        assert_eq!(run.stdout, b"");
        if stderr == "kit: wrote 2000 files under out\nkit: stopped by SIGINT\n" {
            // Too late: the tree is complete. Try again, a few times.
            assert_eq!(file_names(&out, &out).len(), 2000);
            assert!(attempt < 5, "the signal came too late {attempt} times");
            continue;
        }
        assert_eq!(
            stderr,
            "kit: nothing written under out\nkit: stopped by SIGINT\n"
        );
        assert_no_output_left(&dir);
        break;
    }
}

#[test]
fn a_large_output_dir_holds_exactly_the_documents_of_the_stream() {
    // 24 clusters x 25 services: 600 files, enough for the writer to sync
    // early while it writes. Every file is one document of the stream, each
    // document is one file (the stream's source comments also name the
    // environment and cluster, which the files' folders name).
    let dir = many_configmaps(24, 25);
    let stream = kit_in(&dir, &["render", "--all"], &[]);
    assert_eq!(stream.code, 0, "{}", stream.stderr);
    let r = kit_in(&dir, &["render", "--all", "--output-dir", "out"], &[]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "", "kit: wrote 600 files under out\n")
    );
    let out = dir.join("out");
    let mut files: Vec<String> = file_names(&out, &out)
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(out.join(n)).unwrap();
            let mut parts = n.split('/');
            let (env, cluster) = (parts.next().unwrap(), parts.next().unwrap());
            let origin = text.strip_prefix("# Source: ").expect("a source comment");
            format!("# Source: {env}/{cluster}/{origin}")
        })
        .collect();
    let mut docs: Vec<&str> = stream
        .stdout
        .split("---\n")
        .filter(|d| !d.is_empty())
        .collect();
    files.sort();
    docs.sort();
    assert_eq!(files.len(), 600);
    assert!(
        files == docs,
        "the files differ from the stream's documents"
    );
    assert!(
        files[599].contains("where: prod/c23/s24\n") && files[599].contains("password: s3cret\n"),
        "{}",
        files[599]
    );
}

#[test]
fn a_render_error_after_files_were_written_leaves_nothing_and_reads_as_without_output_dir() {
    // The files of earlier targets are written while later ones render:
    // the last target's error removes them all, and kit says exactly what
    // the stream run says.
    let dir = many_configmaps(8, 50);
    write(
        &dir,
        &[(
            "templates/s49/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{kit.service}}\ndata:\n  x: {{secrets.NOT_THERE}}\n",
        )],
    );
    let stream = kit_in(&dir, &["render", "--all"], &[]);
    assert_ne!(stream.code, 0);
    let r = kit_in(&dir, &["render", "--all", "--output-dir", "out"], &[]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (stream.code, "", stream.stderr.as_str())
    );
    assert!(r.stderr.contains("NOT_THERE"), "{}", r.stderr);
    assert_no_output_left(&dir);
}

/// Nothing named like the output directory (`out`, or its hidden staging
/// sibling) is left in `dir`.
fn assert_no_output_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("out"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn output_dir_refuses_the_same_object_twice_on_a_cluster_like_the_stream() {
    // Two services of one cluster render the same ConfigMap: separate files,
    // but one object on the cluster. Both ways of rendering refuse it with
    // the same message, and nothing is written.
    let dir = copy_demo();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\n";
    for service in ["myservicio", "envar-demo"] {
        write(&dir, &[(&format!("templates/{service}/cm.yaml"), cm)]);
    }
    let message = "error: envar-demo/cm.yaml renders v1/ConfigMap 'shared' in namespace 'default', which myservicio/cm.yaml renders too\n";
    let target = ["render", "-e", "production", "-c", "nerdearla-cluster"];
    let stream = kit_in(&dir, &target, &[]);
    assert_eq!(
        (stream.code, stream.stdout.as_str(), stream.stderr.as_str()),
        (6, "", message)
    );
    let files = kit_in(&dir, &[&target[..], &["--output-dir", "out"]].concat(), &[]);
    assert_eq!(
        (files.code, files.stdout.as_str(), files.stderr.as_str()),
        (6, "", message)
    );
    assert_no_output_left(&dir);
}

#[test]
fn values_from_kit_yaml_cannot_change_the_demo_manifests_shape() {
    let dir = copy_demo();
    let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml")).unwrap();
    let image_line = kit_yaml
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("image: gcr.io/google-samples/node-hello")
        })
        .expect("the envar-demo image in kit.yaml")
        .to_owned();
    let indent = &image_line[..image_line.len() - image_line.trim_start().len()];
    let hostile = format!("{indent}image: \"evil\\n  hostNetwork: true\"");
    std::fs::write(
        dir.join("kit.yaml"),
        kit_yaml.replace(&image_line, &hostile),
    )
    .unwrap();
    let r = kit_in(
        &dir,
        &[
            "render",
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
            "-s",
            "envar-demo",
        ],
        &[],
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let docs = documents(&r.stdout);
    let pod = docs
        .iter()
        .find(|d| get(d, &["kind"]) == &Value::String("Pod".into()))
        .unwrap();
    assert_eq!(
        get(pod, &["spec", "containers", "0", "image"]),
        &Value::String("evil\n  hostNetwork: true".into())
    );
    assert!(matches!(get(pod, &["spec"]), Value::Map(m) if !m.contains_key("hostNetwork")));
}

#[test]
fn hundreds_of_local_secrets_read_on_threads_render_the_same_and_fail_the_same() {
    // 600 targets with a secret each: the directory is read on threads.
    let dir = many_configmaps(12, 50);
    let tokens: Vec<(String, String)> = (0..12)
        .flat_map(|c| {
            (0..50).map(move |s| {
                (
                    format!("secrets/prod/c{c:02}/s{s:02}/TOKEN"),
                    format!("t-{c}-{s}"),
                )
            })
        })
        .collect();
    let files: Vec<(&str, &str)> = tokens
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    write(&dir, &files);
    let r = kit_in(&dir, &["render", "--all"], &[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(r.stdout.matches("\nkind: ConfigMap\n").count(), 600);
    // The same run on one thread (a bound of one request at a time).
    let one = kit_in(&dir, &["render", "--all", "--concurrency", "1"], &[]);
    assert_eq!((one.code, one.stdout), (0, r.stdout));
    // Two unreadable values, one early and one late in key order: the
    // first is named, every time, and nothing is written.
    write(
        &dir,
        &[
            ("secrets/prod/c00/s01/TOKEN", "a\0b"),
            ("secrets/prod/c11/s48/TOKEN", "c\0d"),
        ],
    );
    for _ in 0..3 {
        let r = kit_in(&dir, &["render", "--all"], &[]);
        assert_eq!((r.code, r.stdout.as_str()), (5, ""));
        assert_eq!(
            r.stderr,
            "error: the secret at 'prod/c00/s01/TOKEN' contains a NUL byte, which no environment variable can hold\n  = hint: rewrite the secret without NUL bytes\n"
        );
    }
}
