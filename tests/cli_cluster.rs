//! kit against a real Kubernetes API server: `../shared/kube-testbed/`
//! (kube-apiserver, etcd and kube-controller-manager v1.20 on 127.0.0.1; no
//! scheduler, no kubelet, so pods never start). `.ci/run` starts it and sets
//! KIT_TEST_KUBECONFIG; without it these tests show as ignored, never as
//! passed. Locally:
//!
//! ```sh
//! bash ../shared/kube-testbed/build.sh
//! eval "$(../shared/kube-testbed/up.sh)"
//! KIT_TEST_KUBECONFIG=$KUBECONFIG cargo test -p kit-cli --test cli cli_cluster::
//! ../shared/kube-testbed/up.sh down "$KT_DIR"
//! ```
//!
//! Each test uses its own cluster name (so kit's target labels differ) and
//! namespace, so the tests run in parallel on one server.

use crate::util as cli;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli::{Run, root};

/// A test that needs the test-bed: without it, shown as ignored with the
/// reason (never as passed).
macro_rules! cluster_test {
    (fn $name:ident() $body:block) => {
        #[test]
        #[cfg_attr(
            not(kit_cluster),
            ignore = "KIT_TEST_KUBECONFIG is unset: no kube-testbed running; the cluster suite was NOT run"
        )]
        fn $name() $body
    };
}

fn kubeconfig() -> String {
    std::env::var("KIT_TEST_KUBECONFIG").expect("KIT_TEST_KUBECONFIG was set at build time")
}

/// kubectl against the test-bed; (exit code, stdout, stderr).
fn kubectl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("kubectl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn context() -> String {
    kubectl(&["config", "current-context"]).1.trim().to_owned()
}

/// The demo, as a project whose only cluster is `tag` on the test-bed,
/// rendering into namespace `tag`.
fn project(tag: &str) -> PathBuf {
    let dir = cli::temp_dir("cluster");
    let demo = root().join("fixtures/demo");
    for d in ["templates", "partials"] {
        cli::copy_dir(&demo.join(d), &dir.join(d));
    }
    cli::copy_dir(
        &demo.join("secrets/production/common"),
        &dir.join("secrets/production/common"),
    );
    cli::copy_dir(
        &demo.join("secrets/production/nerdearla-cluster"),
        &dir.join(format!("secrets/production/{tag}")),
    );
    let kit_yaml = format!(
        "secrets_as: secret\nvalues:\n  namespace: {tag}\n  replicas: 2\n  region: test\n  resources: {{cpu: 100m, memory: 128Mi}}\nenv:\n  APP_ENV: test\nenvironments:\n  production:\n    clusters:\n      {tag}:\n        context: {ctx}\nservices:\n  myservicio:\n    image: registry.example.com/shop/myservicio:1.4.0\n    values: {{port: 8080}}\n  envar-demo:\n    image: gcr.io/google-samples/node-hello:1.0\n  worker:\n    image: registry.example.com/shop/worker:2.0.1\n    env: {{QUEUE_CONCURRENCY: \"4\"}}\n",
        ctx = context()
    );
    cli::write(&dir, &[("kit.yaml", &kit_yaml)]);
    dir
}

/// `base` and this process's id: names that a re-run on the same server
/// has not used yet.
fn unique(base: &str) -> String {
    format!("{base}-{}", std::process::id())
}

fn kit(dir: &Path, args: &[&str]) -> Run {
    cli::kit(dir, args, &[("KUBECONFIG", &kubeconfig())], None)
}

fn target(verb: &'static str, tag: &str, extra: &[&'static str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        verb.into(),
        "-e".into(),
        "production".into(),
        "-c".into(),
        tag.into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run(dir: &Path, args: &[String]) -> Run {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    kit(dir, &a)
}

/// Every secret value of the demo's production secrets (long enough to
/// search for).
/// A new project for a new namespace named after `base`, applied once by
/// kit: (the namespace, the project).
fn applied(base: &str) -> (String, PathBuf) {
    let (tag, dir, r) = first_apply(base, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (tag, dir)
}

/// A new project for a new namespace named after `base`, and kit's first
/// `apply --create-namespace` of it with `extra` flags: (the namespace, the
/// project, the run).
fn first_apply(base: &str, extra: &[&'static str]) -> (String, PathBuf, Run) {
    let tag = unique(base);
    let dir = project(&tag);
    let flags: Vec<&'static str> = ["--create-namespace"]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let r = run(&dir, &target("apply", &tag, &flags));
    (tag, dir, r)
}

/// Applies `yaml` with kubectl (`flags` before `-f`), as someone other than
/// kit would; the file is kept in the project folder as `name`.
fn kubectl_apply(dir: &Path, name: &str, yaml: &str, flags: &[&str]) {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    let path = path.to_str().unwrap();
    let args: Vec<&str> = ["apply"]
        .into_iter()
        .chain(flags.iter().copied())
        .chain(["-f", path])
        .collect();
    let (code, _, err) = kubectl(&args);
    assert_eq!(code, 0, "{err}");
}

/// A field of the myservicio Deployment in namespace `tag`, by kubectl
/// jsonpath (`{.spec.replicas}`).
fn myservicio_field(tag: &str, jsonpath: &str) -> String {
    let output = format!("jsonpath={jsonpath}");
    let (code, value, err) =
        kubectl(&["get", "deployment", "myservicio", "-n", tag, "-o", &output]);
    assert_eq!(code, 0, "{err}");
    value
}

fn secret_values() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("fixtures/demo/secrets/production")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.ends_with("KIT_CHECKSUM_KEY") {
                let v = std::fs::read_to_string(&p).unwrap();
                if v.len() >= 6 {
                    out.push(v);
                }
            }
        }
    }
    assert!(out.len() >= 5, "{out:?}");
    out
}

cluster_test! {
    fn the_demo_applies_server_side_and_secrets_stay_in_secrets() {
        let tag = &unique("kit-apply");
        let dir = project(tag);
        // No namespace yet: a clear error, naming it.
        let r = run(&dir, &target("apply", tag, &[]));
        assert_ne!(r.code, 0);
        assert!(
            r.stderr.contains(&format!(
                "error: namespace '{tag}' does not exist on context {}\n  = hint: create it, or run kit apply --create-namespace\n",
                context()
            )),
            "{}",
            r.stderr
        );
        let r = run(&dir, &target("apply", tag, &["--create-namespace"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!(
                "kit: apply production/{tag} (context {})\nkit: created namespace {tag} (context {})\n",
                context(),
                context()
            )),
            "{}",
            r.stderr
        );
        // Server-side apply: field manager kit, no last-applied annotation, no
        // secret value anywhere but in the Secrets' data (base64).
        let (_, yaml, _) = kubectl(&[
            "get",
            "all,secrets,configmaps,serviceaccounts",
            "-n",
            tag,
            "-o",
            "yaml",
        ]);
        assert!(yaml.contains("kind: Deployment"), "{yaml}");
        assert!(!yaml.contains("last-applied-configuration"), "{yaml}");
        for v in secret_values() {
            assert!(!yaml.contains(&v), "a secret value is in plain text");
        }
        let managers = myservicio_field(tag, "{.metadata.managedFields[*].manager}");
        assert!(managers.split(' ').any(|m| m == "kit"), "{managers}");
        // diff: 0 right after, 1 after a values change.
        let r = run(&dir, &target("diff", tag, &[]));
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let r = run(&dir, &target("diff", tag, &["--set", "replicas=5"]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stdout.contains("replicas: 5"), "{}", r.stdout);
    }
}

cluster_test! {
    fn another_field_managers_fields_are_a_conflict_until_forced() {
        let (tag, dir) = applied("kit-conflict");
        let tag = &tag;
        let patch = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: myservicio\n  namespace: {tag}\nspec:\n  replicas: 7\n"
        );
        kubectl_apply(
            &dir,
            "patch.yaml",
            &patch,
            &[
                "--server-side",
                "--field-manager=someone",
                "--force-conflicts",
                "--validate=false",
            ],
        );
        let r = run(&dir, &target("apply", tag, &[]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("conflict with \"someone\""),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains(".spec.replicas"), "{}", r.stderr);
        let r = run(&dir, &target("apply", tag, &["--force-conflicts"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let replicas = myservicio_field(tag, "{.spec.replicas}");
        assert_eq!(replicas, "2");
    }
}

cluster_test! {
    fn prune_deletes_only_what_kit_applied_for_the_target_and_no_longer_renders() {
        let (tag, dir) = applied("kit-prune");
        let tag = &tag;
        // Foreign objects beside kit's: no labels; another service's labels;
        // another cluster's labels.
        let foreign = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hand-made\n  namespace: {tag}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: other-service\n  namespace: {tag}\n  labels: {{kit.dev/environment: production, kit.dev/cluster: {tag}, kit.dev/service: billing}}\nspec:\n  ports: [{{port: 80, protocol: TCP}}]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: other-cluster\n  namespace: {tag}\n  labels: {{kit.dev/environment: production, kit.dev/cluster: elsewhere, kit.dev/service: myservicio}}\nspec:\n  ports: [{{port: 80, protocol: TCP}}]\n"
        );
        kubectl_apply(&dir, "foreign.yaml", &foreign, &[]);
        // The Service's template is dropped from the project.
        std::fs::remove_file(dir.join("templates/myservicio/service.yaml")).unwrap();
        let r = run(&dir, &target("diff", tag, &["--prune"]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stdout.ends_with(&format!(
                "kit prune: would delete v1 Service {tag}/myservicio (context {})\n",
                context()
            )),
            "{}",
            r.stdout
        );
        let (code, _, _) = kubectl(&["get", "service", "myservicio", "-n", tag]);
        assert_eq!(code, 0, "diff deletes nothing");
        let r = run(&dir, &target("apply", tag, &["--prune"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("kit: pruning v1 Service {tag}/myservicio")),
            "{}",
            r.stderr
        );
        let (code, _, _) = kubectl(&["get", "service", "myservicio", "-n", tag]);
        assert_eq!(code, 1, "pruned");
        for (kind, name) in [
            ("configmap", "hand-made"),
            ("service", "other-service"),
            ("service", "other-cluster"),
        ] {
            let (code, _, err) = kubectl(&["get", kind, name, "-n", tag]);
            assert_eq!(code, 0, "{kind}/{name} must stay: {err}");
        }
        let (_, names, _) = kubectl(&["get", "deployments", "-n", tag, "-o", "name"]);
        assert_eq!(
            names,
            "deployment.apps/myservicio\ndeployment.apps/worker\n"
        );
        // Nothing left to prune.
        let r = run(&dir, &target("diff", tag, &["--prune"]));
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
}

cluster_test! {
    fn live_status_is_clean_after_apply_and_shows_a_hand_made_change() {
        let tag = &unique("kit-live");
        let dir = project(tag);
        let status = |dir: &Path| kit(dir, &["status", "--live", "--format", "json"]);
        let r = status(&dir);
        assert_eq!(r.code, 1, "never applied: {}", r.stderr);
        let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(rows[0]["state"], "missing");
        let r = run(&dir, &target("apply", tag, &["--create-namespace"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = status(&dir);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let states: Vec<(&str, &str)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["service"].as_str().unwrap(), r["state"].as_str().unwrap()))
            .collect();
        assert_eq!(
            states,
            [("myservicio", "ok"), ("envar-demo", "ok"), ("worker", "ok")]
        );
        let (code, _, err) = kubectl(&[
            "set",
            "image",
            "deployment/myservicio",
            "myservicio=nginx:by-hand",
            "-n",
            tag,
        ]);
        assert_eq!(code, 0, "{err}");
        let r = kit(&dir, &["status", "--live"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        let line = r.stdout.lines().find(|l| l.contains("myservicio")).unwrap();
        assert!(
            line.contains("registry.example.com/shop/myservicio:1.4.0"),
            "{line}"
        );
        assert!(line.contains("nginx:by-hand"), "{line}");
        assert!(line.ends_with("drift"), "{line}");
    }
}

cluster_test! {
    fn wait_times_out_naming_the_workload_and_why() {
        let (tag, _dir, r) = first_apply("kit-wait", &["-s", "myservicio", "--wait=3s"]);
        assert_eq!(
            (r.code, r.stdout.contains("serverside-applied")),
            (8, true),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!(
                "error: apps/v1 Deployment {tag}/myservicio did not become ready within 3s on context {}: 0/2 replicas ready",
                context()
            )),
            "{}",
            r.stderr
        );
    }
}

cluster_test! {
    fn a_render_error_leaves_the_cluster_untouched() {
        let (tag, _dir, r) = first_apply("kit-untouched", &["--set-string", "replicas=five"]);
        assert_eq!((r.code, r.stdout.as_str()), (6, ""), "{}", r.stderr);
        let (code, _, _) = kubectl(&["get", "namespace", &tag]);
        assert_eq!(code, 1, "not even the namespace was created");
    }
}
