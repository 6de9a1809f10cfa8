//! End-to-end tests of `kit render`: the demo project as a newcomer runs
//! it, and purpose-built bad projects, each with its own exact error.

#[path = "support/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};

use cli::{Run, root};
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
        ["Secret", "Service", "Pod", "Deployment", "Deployment"]
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
    let Value::List(env) = get(
        deploy,
        &["spec", "template", "spec", "containers", "0", "env"],
    ) else {
        panic!("env is a list")
    };
    let password = env
        .iter()
        .find(|e| get(e, &["name"]) == &Value::String("MYSQL_PASSWORD".into()))
        .unwrap();
    assert_eq!(
        get(password, &["value"]),
        &Value::String("!myp4ssw0rd!".into())
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
    assert!(
        r.stdout
            .contains(&format!("value: {}\n", f.fingerprint("!myp4ssw0rd!")))
    );
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
    let cases: [(&[&str], &str); 4] = [
        (
            &["-e", "prod", "-c", "x"],
            "error: unknown environment 'prod' (known: production, staging)\n",
        ),
        (
            &["-e", "production", "-c", "nerdearla"],
            "error: unknown cluster 'nerdearla' in environment 'production' (known: nerdearla-cluster, other-cluster)\n",
        ),
        (
            &["-e", "production", "-c", "nerdearla-cluster", "-s", "api"],
            "error: unknown service 'api' (known: myservicio, envar-demo, worker)\n",
        ),
        (
            &["-e", "production"],
            "error: --cluster is required (choose from: nerdearla-cluster, other-cluster)\n",
        ),
    ];
    for (args, err) in cases {
        let mut a = vec!["render", "-C", "fixtures/demo"];
        a.extend(args);
        let r = kit_in(&root(), &a, &[]);
        assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (4, "", err));
    }
}

// ---- purpose-built bad projects --------------------------------------------

fn temp_project() -> PathBuf {
    cli::temp_dir("render")
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn copy_demo() -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.path().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = temp_project();
    copy(&root().join("fixtures/demo"), &dir);
    dir
}

const MINIMAL: &str = "environments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web: {}\n";

/// A one-service project: kit.yaml, a template, and a secret.
fn project(kit_yaml: &str, template: &str, secret: &str) -> PathBuf {
    let dir = temp_project();
    write(
        &dir,
        &[
            ("kit.yaml", kit_yaml),
            ("templates/web/main.yaml", template),
            ("secrets/prod/c1/web/PASSWORD", secret),
        ],
    );
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
        "---\n# Source: web/main.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  password: \"yes\"\n"
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
            "error: ./kit.yaml: line 3 column 1: unknown field `extra`, expected one of templates,"
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
        "error: web/main.yaml: rendered document 1, line 1: metadata.name is missing or not a string\n"
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
        "error: web/main.yaml: rendered document 1, line 5: duplicate key 'name'\n"
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
    let r = render_bad(&dir);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(
        r.stderr,
        "error: the secrets directory ./nowhere does not exist\n"
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
    assert!(
        r.stdout
            .contains(&format!("value: {}\n", f.fingerprint("!myp4ssw0rd!")))
    );
}
