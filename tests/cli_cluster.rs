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
    fn drift_from_another_field_manager_is_taken_back_and_named() {
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
        // --no-force-conflicts keeps kubectl's refusal.
        let r = run(&dir, &target("apply", tag, &["--no-force-conflicts"]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("conflict with \"someone\""),
            "{}",
            r.stderr
        );
        assert_eq!(myservicio_field(tag, "{.spec.replicas}"), "7");
        // By default kit takes the field back, and says which and from whom.
        let r = run(&dir, &target("apply", tag, &[]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "kit: taking back .spec.replicas of apps/v1 Deployment {tag}/myservicio from field manager \"someone\" (context {})\n",
                context()
            )),
            "{}",
            r.stderr
        );
        let replicas = myservicio_field(tag, "{.spec.replicas}");
        assert_eq!(replicas, "2");
    }
}

cluster_test! {
    fn prune_deletes_only_what_kit_applied_for_the_target_and_no_longer_renders() {
        let tag = &unique("kit-prune");
        let dir = named_project("prune", tag, tag, &[]);
        let r = run(&dir, &target("apply", tag, &["--create-namespace"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
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
        // Right after the apply the controller may not have seen the new
        // Deployments yet (kit rightly says "rollout in progress"); wait
        // for it before judging steady-state health.
        for deployment in ["deployment/myservicio", "deployment/worker"] {
            let (code, _, err) = kubectl(&[
                "wait",
                deployment,
                "--for=jsonpath={.status.updatedReplicas}=2",
                "--timeout=60s",
                "-n",
                tag,
            ]);
            assert_eq!(code, 0, "{deployment}: {err}");
        }
        let r = status(&dir);
        assert_eq!(r.code, 8, "{}{}", r.stdout, r.stderr);
        let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let states: Vec<(&str, &str)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["service"].as_str().unwrap(), r["state"].as_str().unwrap()))
            .collect();
        // Pods never start on the test-bed: every workload is unhealthy,
        // named with its ready count (exit 8), never `ok`.
        assert_eq!(
            states,
            [
                ("myservicio", "unhealthy"),
                ("envar-demo", "unhealthy"),
                ("worker", "unhealthy")
            ]
        );
        assert_eq!(rows[0]["ready"], "0/2");
        assert_eq!(rows[0]["reason"], "Deployment myservicio: 0/2 ready");
        assert_eq!(rows[1]["reason"], "Pod envar-demo: Pending, not ready");
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
        assert!(
            line.ends_with("0/2    drift: the images running are not the released one"),
            "{line}"
        );
        // A Deployment scaled to 0 is not `ok`.
        let (code, _, err) = kubectl(&["scale", "deployment/worker", "--replicas=0", "-n", tag]);
        assert_eq!(code, 0, "{err}");
        let r = kit(&dir, &["status", "--live", "-c", tag, "--format", "json"]);
        let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(rows[2]["reason"], "Deployment worker is scaled to 0", "{}", r.stdout);
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

/// The demo as project `name` (kit.yaml's `name:`) on cluster `cluster`,
/// rendering into `namespace`; `extra` more templates (path, text).
fn named_project(name: &str, cluster: &str, namespace: &str, extra: &[(&str, &str)]) -> PathBuf {
    let dir = project(cluster);
    let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml")).unwrap();
    let kit_yaml = format!("name: {name}\n{kit_yaml}").replace(
        &format!("  namespace: {cluster}\n"),
        &format!("  namespace: {namespace}\n"),
    );
    cli::write(&dir, &[("kit.yaml", &kit_yaml)]);
    cli::write(&dir, extra);
    dir
}

/// `kubectl get KINDS -A -l SELECTOR -o name`, sorted lines.
fn names(kinds: &str, selector: &str) -> Vec<String> {
    let (code, out, err) = kubectl(&["get", kinds, "-A", "-l", selector, "-o", "name"]);
    assert_eq!(code, 0, "{err}");
    let mut v: Vec<String> = out.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// Every object of namespace `ns` kit could have made, and the cluster
/// role `role`: what must stay when another project prunes or deletes.
fn footprint(ns: &str, role: &str) -> String {
    // Pods of Deployments come and go with the controllers: only the
    // demo's own Pod counts.
    let (_, a, _) = kubectl(&[
        "get",
        "deployments,services,secrets,configmaps",
        "-n",
        ns,
        "-o",
        "name",
    ]);
    let (_, b, _) = kubectl(&["get", "pod", "envar-demo", "-n", ns, "-o", "name"]);
    let (_, c, _) = kubectl(&["get", "clusterrole", role, "-o", "name"]);
    format!("{a}{b}{c}")
}

const CLUSTER_ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader-{{namespace}}\nrules: []\n";

/// Projects team-a and team-b (the demo with a ClusterRole for the
/// worker) applied to one new cluster name with the same environment and
/// service names, in namespaces `<cluster>-a` and `<cluster>-b`:
/// (cluster, namespace of A, of B, project A, project B).
fn two_projects_applied(base: &str) -> (String, String, String, PathBuf, PathBuf) {
    let cluster = unique(base);
    let (ns_a, ns_b) = (format!("{cluster}-a"), format!("{cluster}-b"));
    let role = [("templates/worker/clusterrole.yaml", CLUSTER_ROLE)];
    let a = named_project("team-a", &cluster, &ns_a, &role);
    let b = named_project("team-b", &cluster, &ns_b, &role);
    for dir in [&a, &b] {
        let r = run(dir, &target("apply", &cluster, &["--create-namespace"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    (cluster, ns_a, ns_b, a, b)
}

cluster_test! {
    fn two_projects_on_one_cluster_prune_and_delete_only_their_own() {
        // Same environment, cluster and service names; another namespace,
        // another config repository.
        let (cluster, ns_a, ns_b, a, b) = two_projects_applied("kit-shared");
        let cluster = &cluster;
        let before_b = footprint(&ns_b, &format!("reader-{ns_b}"));
        assert!(before_b.contains("deployment.apps/worker"), "{before_b}");
        assert!(before_b.contains(&format!("clusterrole.rbac.authorization.k8s.io/reader-{ns_b}")), "{before_b}");
        // The parent is an ApplySet parent kubectl understands.
        let (code, parent, err) = kubectl(&[
            "get", "configmap", &format!("kit.team-a.production.{cluster}"), "-n", "default", "-o", "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let parent: serde_json::Value = serde_json::from_str(&parent).unwrap();
        let notes = &parent["metadata"]["annotations"];
        assert_eq!(
            notes["applyset.kubernetes.io/contains-group-kinds"],
            "ClusterRole.rbac.authorization.k8s.io,Deployment.apps,Pod,Secret,Service"
        );
        assert_eq!(notes["applyset.kubernetes.io/additional-namespaces"], ns_a.as_str());
        assert!(notes["applyset.kubernetes.io/tooling"].as_str().unwrap().starts_with("kit/v"));
        let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"].as_str().unwrap().to_owned();
        let members = names("deployments,clusterroles", &format!("applyset.kubernetes.io/part-of={id}"));
        assert_eq!(
            members,
            [
                format!("clusterrole.rbac.authorization.k8s.io/reader-{ns_a}"),
                "deployment.apps/myservicio".to_owned(),
                "deployment.apps/worker".to_owned(),
            ]
        );
        // Team A drops the worker (and with it the last ClusterRole) and
        // prunes: its own go, team B's stay, to the byte.
        let kit_yaml = std::fs::read_to_string(a.join("kit.yaml")).unwrap();
        let cut = kit_yaml.find("  worker:\n").unwrap();
        cli::write(&a, &[("kit.yaml", &kit_yaml[..cut])]);
        let r = run(&a, &target("apply", cluster, &["--prune"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        for gone in [
            format!("kit: pruning apps/v1 Deployment {ns_a}/worker"),
            format!("kit: pruning rbac.authorization.k8s.io/v1 ClusterRole reader-{ns_a}"),
            format!("kit: pruning v1 Secret {ns_a}/worker-env"),
        ] {
            assert!(r.stderr.contains(&gone), "{gone}: {}", r.stderr);
        }
        assert_eq!(footprint(&ns_b, &format!("reader-{ns_b}")), before_b);
        let (code, _, _) = kubectl(&["get", "deployment", "worker", "-n", &ns_a]);
        assert_eq!(code, 1, "pruned");
        // The inventory no longer lists the kind nobody renders.
        let (_, gks, _) = kubectl(&[
            "get", "configmap", &format!("kit.team-a.production.{cluster}"), "-n", "default",
            "-o", "jsonpath={.metadata.annotations.applyset\\.kubernetes\\.io/contains-group-kinds}",
        ]);
        assert_eq!(gks, "Deployment.apps,Pod,Secret,Service");
        // Team A tears down: a plan first, then everything of its own,
        // its namespace (kit created it) and the inventory last.
        let del = |extra: &[&str]| {
            let mut args = vec!["delete", "-e", "production", "-c", cluster];
            args.extend_from_slice(extra);
            kit(&a, &args)
        };
        let r = del(&[]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stdout.contains(&format!("kit delete: apps/v1 Deployment {ns_a}/myservicio")), "{}", r.stdout);
        assert!(r.stdout.contains(&format!("kit delete: v1 Namespace {ns_a} (created by kit")), "{}", r.stdout);
        assert!(r.stdout.ends_with(&format!("kit delete: v1 ConfigMap default/kit.team-a.production.{cluster} (the inventory) (context {})\n", context())), "{}", r.stdout);
        assert!(r.stderr.contains("nothing was deleted"), "{}", r.stderr);
        let (code, _, _) = kubectl(&["get", "deployment", "myservicio", "-n", &ns_a]);
        assert_eq!(code, 0, "the plan deletes nothing");
        let r = del(&["--yes"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let (code, _, _) = kubectl(&["get", "namespace", &ns_a]);
        assert_eq!(code, 1, "kit's namespace is gone");
        let (code, _, _) = kubectl(&["get", "configmap", &format!("kit.team-a.production.{cluster}"), "-n", "default"]);
        assert_eq!(code, 1, "the inventory is gone");
        assert_eq!(footprint(&ns_b, &format!("reader-{ns_b}")), before_b);
        // Team B's state is what its repository says.
        let r = run(&b, &target("diff", cluster, &["--prune"]));
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
}

cluster_test! {
    fn live_status_of_a_named_project_reads_its_set_and_nothing_of_another() {
        // Two projects with the same environment, cluster and service
        // names; a ConfigMap made by hand with team A's kit labels but
        // outside its set.
        let (cluster, ns_a, _, a, b) = two_projects_applied("kit-liveset");
        let cluster = &cluster;
        let ghost = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ghost\n  namespace: {ns_a}\n  labels:\n    kit.dev/project: team-a\n    kit.dev/environment: production\n    kit.dev/cluster: {cluster}\n    kit.dev/service: ghost\n"
        );
        kubectl_apply(&a, "ghost.yaml", &ghost, &[]);
        // kubectl through a wrapper that writes down each run.
        let log = a.join("kubectl.log");
        let wrapper = a.join("kubectl-logged");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec kubectl \"$@\"\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let status = |dir: &Path| {
            let _ = std::fs::remove_file(&log);
            let r = kit(dir, &["status", "--live", "--format", "json", "--kubectl", wrapper.to_str().unwrap()]);
            let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let rows: Vec<(String, String, String)> = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["service"].as_str().unwrap().to_owned(), r["state"].as_str().unwrap().to_owned(), r["live"].to_string()))
                .collect();
            let runs: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_owned).collect();
            (r.code, rows, runs)
        };
        let row = |s: &str, state: &str, live: &str| (s.to_owned(), state.to_owned(), live.to_owned());
        let (code, rows, runs) = status(&a);
        // Pods never start on the test-bed: unhealthy (exit 8), and no
        // row for the hand-made ghost.
        assert_eq!(code, 8, "{rows:?}");
        assert_eq!(
            rows,
            [
                row("myservicio", "unhealthy", r#"["registry.example.com/shop/myservicio:1.4.0"]"#),
                row("envar-demo", "unhealthy", r#"["gcr.io/google-samples/node-hello:1.0"]"#),
                row("worker", "unhealthy", r#"["registry.example.com/shop/worker:2.0.1"]"#),
            ]
        );
        // One `get` finds the parent and the workloads, services and config
        // maps; one more lists the kinds beyond them that the parent names
        // (ClusterRoles, Secrets), by the set's id.
        let (_, id, _) = kubectl(&[
            "get", "configmap", &format!("kit.team-a.production.{cluster}"), "-n", "default",
            "-o", "jsonpath={.metadata.labels.applyset\\.kubernetes\\.io/id}",
        ]);
        assert_eq!(runs.len(), 2, "{runs:?}");
        let ctx = context();
        assert_eq!(
            runs,
            [
                format!("get deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch,pods,services,configmaps --all-namespaces -l kit.dev/project=team-a,kit.dev/environment=production,kit.dev/cluster={cluster},!kit.dev/instance -o json --context {ctx}"),
                format!("get clusterrole.rbac.authorization.k8s.io,secret --all-namespaces -l applyset.kubernetes.io/part-of={id} -o json --context {ctx}"),
            ]
        );
        // The worker leaves team A's kit.yaml (not pruned) and its
        // Deployment is deleted by hand: what is left of it in A's set is
        // its ClusterRole and Secret, found by the second `get`. Team B's
        // worker, same labels but another project, counts for nothing.
        let kit_yaml = std::fs::read_to_string(a.join("kit.yaml")).unwrap();
        let cut = kit_yaml.find("  worker:\n").unwrap();
        cli::write(&a, &[("kit.yaml", &kit_yaml[..cut])]);
        let (code, _, err) = kubectl(&["delete", "deployment", "worker", "-n", &ns_a]);
        assert_eq!(code, 0, "{err}");
        let (code, rows, _) = status(&a);
        assert_eq!(code, 1, "{rows:?}");
        assert_eq!(rows[2], row("worker", "left behind", "[]"));
        assert_eq!(rows.len(), 3, "{rows:?}");
        // Team B sees its own three, its worker running B's image.
        let (code, rows, _) = status(&b);
        assert_eq!(code, 8, "{rows:?}");
        assert_eq!(rows[2], row("worker", "unhealthy", r#"["registry.example.com/shop/worker:2.0.1"]"#));
        // Without the parent's labels (edited by hand) kit finds the parent
        // by name and the members by id, and says the same.
        let (code, _, err) = kubectl(&[
            "label", "configmap", &format!("kit.team-b.production.{cluster}"), "-n", "default", "kit.dev/project-",
        ]);
        assert_eq!(code, 0, "{err}");
        let (code, again, runs) = status(&b);
        assert_eq!((code, &again), (8, &rows));
        assert_eq!(runs.len(), 4, "label read, then parent by name and members by id, then the other kinds: {runs:?}");
    }
}

cluster_test! {
    fn removed_and_disabled_services_are_pruned_but_never_a_namespace() {
        let tag = &unique("kit-gone");
        let extra_ns = format!("{tag}-extra");
        let ns_tpl = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {extra_ns}\n");
        // Applied first without a name (today's labels only), then with
        // one: the first named apply adopts what it renders.
        let dir = project(tag);
        let r = run(&dir, &target("apply", tag, &["--create-namespace"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let kit_yaml = format!("name: gone\n{}", std::fs::read_to_string(dir.join("kit.yaml")).unwrap());
        cli::write(&dir, &[("kit.yaml", &kit_yaml), ("templates/myservicio/ns.yaml", &ns_tpl)]);
        let r = run(&dir, &target("apply", tag, &[]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let (_, adopted, _) = kubectl(&["get", "deployments", "-n", tag, "-l", "kit.dev/project=gone", "-o", "name"]);
        let adopted: Vec<&str> = adopted.lines().collect();
        assert_eq!(adopted, ["deployment.apps/myservicio", "deployment.apps/worker"]);
        // envar-demo leaves kit.yaml; worker is disabled on the cluster;
        // the Namespace template goes.
        let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml")).unwrap();
        let kit_yaml = kit_yaml
            .replace("  envar-demo:\n    image: gcr.io/google-samples/node-hello:1.0\n", "")
            .replace(
                &format!("        context: {}\n", context()),
                &format!("        context: {}\n        services:\n          worker: {{enabled: false}}\n", context()),
            );
        cli::write(&dir, &[("kit.yaml", &kit_yaml)]);
        std::fs::remove_file(dir.join("templates/myservicio/ns.yaml")).unwrap();
        let r = run(&dir, &target("apply", tag, &["--prune"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        for gone in [
            format!("kit: pruning v1 Pod {tag}/envar-demo"),
            format!("kit: pruning apps/v1 Deployment {tag}/worker"),
            format!("kit: pruning v1 Secret {tag}/worker-env"),
        ] {
            assert!(r.stderr.contains(&gone), "{gone}: {}", r.stderr);
        }
        assert!(
            r.stderr.contains(&format!("kit: v1 Namespace {extra_ns} is no longer rendered; prune never deletes a namespace")),
            "{}",
            r.stderr
        );
        let (code, _, _) = kubectl(&["get", "namespace", &extra_ns]);
        assert_eq!(code, 0, "never pruned");
        let (_, left, _) = kubectl(&["get", "deployments,pods,secrets", "-n", tag, "-l", "kit.dev/project=gone", "-o", "name"]);
        assert_eq!(left, "deployment.apps/myservicio\nsecret/myservicio-env\n");
        // Nothing is left to prune: diff says so.
        let r = run(&dir, &target("diff", tag, &["--prune"]));
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        // The whole delete removes the namespace kit created for this
        // inventory (rendered, then no longer), not the one made before the
        // project had a name (nothing says kit made it for this project).
        let r = kit(&dir, &["delete", "-e", "production", "-c", tag, "--dry-run"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let c = context();
        assert_eq!(
            r.stdout,
            format!(
                "kit delete: apps/v1 Deployment {tag}/myservicio (context {c})\nkit delete: v1 Secret {tag}/myservicio-env (context {c})\nkit delete: v1 Service {tag}/myservicio (context {c})\nkit delete: v1 Namespace {extra_ns} (created by kit; everything in it goes too) (context {c})\nkit delete: v1 ConfigMap default/kit.gone.production.{tag} (the inventory) (context {c})\n"
            )
        );
        let r = kit(&dir, &["delete", "-e", "production", "-c", tag, "--yes"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let (code, _, _) = kubectl(&["get", "namespace", &extra_ns]);
        assert_eq!(code, 1, "deleted: {}", r.stderr);
        let (code, left, _) = kubectl(&["get", "deployments,services,secrets", "-n", tag, "-l", "kit.dev/project=gone", "-o", "name"]);
        assert_eq!((code, left.as_str()), (0, ""));
    }
}

cluster_test! {
    fn diff_on_a_cluster_without_the_namespaces_shows_everything_as_new() {
        let tag = &unique("kit-empty");
        let dir = project(tag);
        let r = run(&dir, &target("diff", tag, &[]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stdout.contains(&format!("+++ /tmp/MERGED/apps.v1.Deployment.{tag}.myservicio\n")), "{}", r.stdout);
        assert!(r.stdout.contains("+kind: Deployment\n"), "{}", r.stdout);
        assert!(r.stdout.contains("+# (kit does not show a Secret's content)\n"), "{}", r.stdout);
        for v in secret_values() {
            assert!(!r.stdout.contains(&v), "a secret value in the diff");
        }
        assert!(
            r.stderr.contains(&format!("kit: namespace {tag} does not exist yet on context {}: its objects are shown as new", context())),
            "{}",
            r.stderr
        );
    }
}

/// Makes `dir` a git checkout whose remote is `url` (nothing committed:
/// kit only reads the remote's address to tell projects apart).
fn with_remote(dir: &Path, url: &str) {
    for args in [
        vec!["init", "--quiet"],
        vec!["remote", "add", "origin", url],
    ] {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(&args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }
}

cluster_test! {
    fn a_second_project_with_the_same_name_is_refused_and_changes_nothing() {
        let cluster = &unique("kit-same");
        let (ns_a, ns_b) = (format!("{cluster}-a"), format!("{cluster}-b"));
        let a = named_project("same", cluster, &ns_a, &[]);
        let b = named_project("same", cluster, &ns_b, &[]);
        with_remote(&a, "https://git.example.com/team-a/config.git");
        with_remote(&b, "git@git.example.com:team-b/config.git");
        let r = run(&a, &target("apply", cluster, &["--create-namespace"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = run(&b, &target("apply", cluster, &["--create-namespace", "--prune"]));
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (10, ""),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!(
                "error: the inventory ConfigMap default/kit.same.production.{cluster} on context {} belongs to the project of git.example.com/team-a/config (this one is git.example.com/team-b/config); kit changes nothing there\n",
                context()
            )),
            "{}",
            r.stderr
        );
        let (code, _, _) = kubectl(&["get", "namespace", &ns_b]);
        assert_eq!(code, 1, "nothing of B was applied, not even its namespace");
        let (code, _, _) = kubectl(&["get", "deployment", "worker", "-n", &ns_a]);
        assert_eq!(code, 0, "A's objects are untouched");
    }
}

cluster_test! {
    fn live_status_shows_an_unreachable_cluster_as_a_row_and_the_others() {
        let tag = &unique("kit-reach");
        let dir = project(tag);
        // A second cluster whose context points nowhere (a port nothing
        // listens on), in a kubeconfig of its own.
        let ctx = context();
        let dead = cli::temp_dir("dead").join("kubeconfig");
        std::fs::write(
            &dead,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster: {server: \"https://127.0.0.1:9\"}\nusers:\n- name: dead\n  user: {token: none}\ncontexts:\n- name: dead\n  context: {cluster: dead, user: dead}\n",
        )
        .unwrap();
        let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml")).unwrap().replace(
            &format!("        context: {ctx}\n"),
            &format!("        context: {ctx}\n      gone:\n        context: dead\n"),
        );
        cli::write(&dir, &[("kit.yaml", &kit_yaml)]);
        let r = run(&dir, &target("apply", tag, &["--create-namespace"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let merged = format!("{}:{}", kubeconfig(), dead.display());
        let r = cli::kit(&dir, &["status", "--live", "--format", "json"], &[("KUBECONFIG", &merged)], None);
        assert_eq!(r.code, 11, "{}{}", r.stdout, r.stderr);
        let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let states: Vec<(&str, &str)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["cluster"].as_str().unwrap(), r["state"].as_str().unwrap()))
            .collect();
        assert_eq!(
            states,
            [
                (tag.as_str(), "unhealthy"),
                (tag.as_str(), "unhealthy"),
                (tag.as_str(), "unhealthy"),
                ("gone", "unreachable"),
                ("gone", "unreachable"),
                ("gone", "unreachable"),
            ]
        );
        assert!(rows[3]["reason"].as_str().unwrap().contains("127.0.0.1:9"), "{}", rows[3]);
        // -c reads one cluster only.
        let r = cli::kit(&dir, &["status", "--live", "-c", tag], &[("KUBECONFIG", &merged)], None);
        assert_eq!(r.code, 8, "{}{}", r.stdout, r.stderr);
        assert!(!r.stdout.contains("gone"), "{}", r.stdout);
    }
}

/// A kubeconfig beside the test-bed's with contexts `names`, each on the
/// test-bed's server and user (clusters of a fleet, one server), and
/// `dead`, on a port nothing listens on: KUBECONFIG for both.
fn fleet_kubeconfig(names: &[&str]) -> String {
    let (_, cluster, _) = kubectl(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.contexts[0].context.cluster}",
    ]);
    let (_, user, _) = kubectl(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.contexts[0].context.user}",
    ]);
    let mut text = String::from(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster: {server: \"https://127.0.0.1:9\"}\nusers:\n- name: dead\n  user: {token: none}\ncontexts:\n- name: dead\n  context: {cluster: dead, user: dead}\n",
    );
    for n in names {
        text.push_str(&format!(
            "- name: {n}\n  context: {{cluster: {cluster}, user: {user}}}\n"
        ));
    }
    let path = cli::temp_dir("fleet").join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    format!("{}:{}", kubeconfig(), path.display())
}

cluster_test! {
    fn a_fleet_is_applied_in_parallel_and_a_failing_cluster_fails_alone() {
        // Three clusters (contexts on the test-bed, each its own
        // namespace) and one whose API server cannot be reached.
        let tag = &unique("kit-fleet");
        let dir = project(tag);
        let ctx = context();
        let names: Vec<String> = ["a", "b", "c"].iter().map(|c| format!("{tag}-{c}")).collect();
        let mut clusters = String::new();
        for n in &names {
            clusters.push_str(&format!("      {n}:\n        context: {n}\n        values: {{namespace: {n}}}\n"));
        }
        clusters.push_str("      gone:\n        context: dead\n");
        let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml")).unwrap().replace(
            &format!("      {tag}:\n        context: {ctx}\n"),
            &clusters,
        );
        cli::write(&dir, &[("kit.yaml", &kit_yaml)]);
        for n in &names {
            cli::copy_dir(
                &dir.join(format!("secrets/production/{tag}")),
                &dir.join(format!("secrets/production/{n}")),
            );
        }
        let config = fleet_kubeconfig(&names.iter().map(String::as_str).collect::<Vec<_>>());
        let env = [("KUBECONFIG", config.as_str())];
        let r = cli::kit(&dir, &["apply", "--all", "--create-namespace", "--keep-going"], &env, None);
        assert_eq!(r.code, 4, "{}", r.stderr);
        assert!(
            r.stderr.ends_with(&format!(
                "kit: apply summary: succeeded: production/{0}, production/{1}, production/{2}; failed: production/gone (exit 4); skipped: none\n",
                names[0], names[1], names[2]
            )),
            "{}",
            r.stderr
        );
        for n in &names {
            let (code, _, err) = kubectl(&["get", "deployment", "myservicio", "-n", n]);
            assert_eq!(code, 0, "{n}: {err}");
            // Each cluster's kubectl output, tagged with it.
            assert!(
                r.stdout.contains(&format!("[production/{n}] deployment.apps/myservicio serverside-applied\n")),
                "{}",
                r.stdout
            );
        }
        // The unreachable cluster's failure is said in its own lines.
        assert!(
            r.stderr.contains("kit: apply production/gone (context dead)\n[production/gone] error: cannot list the namespaces of context dead\n"),
            "{}",
            r.stderr
        );
        // Without --keep-going, one at a time: the clusters after the
        // failure are not started.
        let kit_yaml = kit_yaml.replace("      gone:\n        context: dead\n", "");
        let kit_yaml = kit_yaml.replace(
            &format!("      {}:\n", names[0]),
            &format!("      gone:\n        context: dead\n      {}:\n", names[0]),
        );
        cli::write(&dir, &[("kit.yaml", &kit_yaml)]);
        let r = cli::kit(&dir, &["apply", "--all", "--parallel", "1"], &env, None);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.ends_with(&format!(
                "kit: apply summary: succeeded: none; failed: production/gone (exit 1); skipped: production/{0}, production/{1}, production/{2}\n",
                names[0], names[1], names[2]
            )),
            "{}",
            r.stderr
        );
    }
}

cluster_test! {
    fn a_release_that_never_becomes_ready_is_rolled_back_on_the_cluster() {
        // Pods never start on the test-bed: every rollout times out. The
        // release of 2.0 is rolled back to 1.0 (recorded by kit, pushed,
        // applied); its own wait times out too, and kit says so (exit 9).
        let tag = &unique("kit-rollback");
        let remote = crate::cli_release::Remote::new(&project(tag));
        let ci = remote.clone("ci");
        let image = "registry.example.com/shop/myservicio";
        let release = |version: &str, extra: &[&str]| {
            let image = format!("{image}:{version}");
            let mut args = vec![
                "release", "-C", "deploy", "-e", "production", "-s", "myservicio",
                "--image", &image, "--author", "ci-bot", "--apply", "--create-namespace",
            ];
            args.extend_from_slice(extra);
            kit(&ci, &args)
        };
        let r = release("1.0.0", &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = release("2.0.0", &["--wait=3s", "--rollback-on-failure"]);
        assert_eq!(r.code, 9, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "kit: rolling back myservicio in production: apps/v1 Deployment {tag}/myservicio did not become ready within 3s on context {}: 0/2 replicas ready",
                context()
            )),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("kit: recorded revision 3 (registry.example.com/shop/myservicio:1.0.0) for myservicio in production: commit "),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.trim_end().ends_with("but it did not become ready; apply it again with: kit apply -C deploy -e production -s myservicio"),
            "{}",
            r.stderr
        );
        // The cluster runs the restored image; the pushed history says why.
        let (_, live, _) = kubectl(&[
            "get", "deployment", "myservicio", "-n", tag,
            "-o", "jsonpath={.spec.template.spec.containers[0].image}",
        ]);
        assert_eq!(live, format!("{image}:1.0.0"));
        let log = crate::cli_release::git(&remote.bare, &["log", "-1", "--format=%s", "main"]);
        assert_eq!(log.trim(), "kit: roll back myservicio in production (revision 3)");
        let r = kit(&ci, &["history", "-C", "deploy", "-e", "production", "-s", "myservicio", "--format", "json"]);
        let h: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!((h[0]["action"].as_str(), h[0]["author"].as_str()), (Some("rollback"), Some("kit")), "{h}");
    }
}

/// `fixtures/instances` as a project of its own on the test-bed: project
/// name and namespace `tag`, its one cluster at the test-bed's context.
fn instances_project(tag: &str) -> PathBuf {
    let dir = cli::temp_dir("cluster-instances");
    cli::copy_dir(&root().join("fixtures/instances"), &dir);
    let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml"))
        .unwrap()
        .replace("name: shop ", &format!("name: {tag} "))
        .replace("namespace: shop ", &format!("namespace: {tag} "))
        .replace("context: staging", &format!("context: {}", context()));
    assert!(kit_yaml.contains(&format!("name: {tag} ")), "{kit_yaml}");
    assert!(
        kit_yaml.contains(&format!("namespace: {tag} ")),
        "{kit_yaml}"
    );
    std::fs::write(dir.join("kit.yaml"), kit_yaml).unwrap();
    dir
}

/// Every object of the project `tag` on the server (whatever its
/// environment or instance), as `kind namespace/name uid resourceVersion`
/// lines, sorted: what must not change when another instance is pruned,
/// updated or deleted.
fn objects_of(tag: &str) -> Vec<String> {
    // A Deployment's resourceVersion also moves when its controller
    // writes its status: its generation moves only with what was applied.
    let mut lines: Vec<String> = Vec::new();
    for (kinds, version) in [
        ("deployments", "generation"),
        ("services,secrets,configmaps", "resourceVersion"),
    ] {
        let (code, out, err) = kubectl(&[
            "get",
            kinds,
            "--all-namespaces",
            "-l",
            &format!("kit.dev/project={tag}"),
            "-o",
            &format!(
                "jsonpath={{range .items[*]}}{{.kind}} {{.metadata.namespace}}/{{.metadata.name}} {{.metadata.uid}} {{.metadata.{version}}}{{\"\\n\"}}{{end}}"
            ),
        ]);
        assert_eq!(code, 0, "{err}");
        lines.extend(out.lines().map(str::to_owned));
    }
    // Namespaces carry no project label: add the project's by name.
    let (code, out, err) = kubectl(&[
        "get",
        "namespaces",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.metadata.uid}{\"\\n\"}{end}",
    ]);
    assert_eq!(code, 0, "{err}");
    lines.extend(
        out.lines()
            .filter(|l| l.starts_with(tag))
            .map(|l| format!("Namespace {l}")),
    );
    lines.sort();
    lines
}

fn with_prefix(lines: &[String], prefix: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(prefix))
        .cloned()
        .collect()
}

cluster_test! {
    fn instances_and_their_base_side_by_side_each_prune_and_delete_touch_only_their_own() {
        let tag = &unique("inst");
        let dir = instances_project(tag);
        let base = kit(&dir, &["apply", "-e", "staging", "-c", "staging-cluster", "--create-namespace"]);
        assert_eq!(base.code, 0, "{}", base.stderr);
        for pr in ["pr-1", "pr-2"] {
            let r = kit(&dir, &["apply", "-e", "preview", "--instance", pr]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert!(
                r.stderr.starts_with(&format!(
                    "kit: apply preview:{pr}/staging-cluster (context {ctx})\nkit: created namespace {tag}-{pr} (context {ctx})\n",
                    ctx = context()
                )),
                "{}",
                r.stderr
            );
        }
        let (code, image, err) = kubectl(&[
            "get", "deployment", "web", "-n", &format!("{tag}-pr-2"), "-o", "jsonpath={.spec.template.spec.containers[0].image}",
        ]);
        assert_eq!((code, image.as_str()), (0, "registry.example.com/shop/web:1.4.0"), "{err}");
        let before = objects_of(tag);
        // Three sets of five objects (two Deployments, a Service, two
        // Secrets), three inventories, three namespaces.
        assert_eq!(with_prefix(&before, "Deployment ").len(), 6, "{before:#?}");
        assert_eq!(with_prefix(&before, "Namespace ").len(), 3, "{before:#?}");
        assert_eq!(with_prefix(&before, "ConfigMap default/kit.").len(), 3, "{before:#?}");

        // pr-1 updated with its own image: only pr-1's web changes.
        let r = kit(&dir, &["apply", "-e", "preview", "--instance", "pr-1", "--image", "web=registry.example.com/shop/web:pr-1-9f1c2e4"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let after = objects_of(tag);
        let pr1 = format!("/{tag}-pr-1/");
        let changed: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
        assert!(changed.iter().all(|l| l.contains(&format!(" {tag}-pr-1/")) || l.contains(&format!("kit.{tag}.preview.pr-1."))), "{changed:#?} {pr1}");
        let (_, image, _) = kubectl(&[
            "get", "deployment", "web", "-n", &format!("{tag}-pr-1"), "-o", "jsonpath={.spec.template.spec.containers[0].image}",
        ]);
        assert_eq!(image, "registry.example.com/shop/web:pr-1-9f1c2e4");

        // pr-1 pruned after worker left kit.yaml: pr-1's worker goes; the
        // base's and pr-2's stay exactly as they were.
        let kit_yaml = std::fs::read_to_string(dir.join("kit.yaml")).unwrap();
        let (kept, _) = kit_yaml.split_once("  worker:\n").unwrap();
        std::fs::write(dir.join("kit.yaml"), kept).unwrap();
        let before = objects_of(tag);
        let r = kit(&dir, &["apply", "-e", "preview", "--instance", "pr-1", "--prune"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stderr.contains(&format!("kit: pruning apps/v1 Deployment {tag}-pr-1/worker")), "{}", r.stderr);
        assert!(r.stderr.contains(&format!("kit: pruning v1 Secret {tag}-pr-1/worker-env")), "{}", r.stderr);
        let after = objects_of(tag);
        let gone: Vec<String> = before.iter().filter(|l| !after.contains(l)).cloned().collect();
        assert!(gone.iter().all(|l| l.contains(&format!(" {tag}-pr-1/")) || l.contains(&format!("kit.{tag}.preview.pr-1."))), "{gone:#?}");
        // (pr-1's web changed too: this run gave no --image, so it runs
        // the released image again.)
        assert!(with_prefix(&after, &format!("Deployment {tag}-pr-1/worker ")).is_empty(), "{after:#?}");
        assert_eq!(with_prefix(&after, &format!("Deployment {tag}-pr-1/web ")).len(), 1, "{after:#?}");
        for other in [format!(" {tag}/"), format!(" {tag}-pr-2/")] {
            assert_eq!(with_prefix(&before, &other), with_prefix(&after, &other), "{other}");
        }

        // pr-2 deleted: its objects, its namespace and its inventory; the
        // base and pr-1 exactly as they were.
        let plan = kit(&dir, &["delete", "-e", "preview", "--instance", "pr-2", "--dry-run"]);
        let ctx = context();
        let n = format!("{tag}-pr-2");
        assert_eq!(
            (plan.code, plan.stdout.clone()),
            (
                0,
                format!(
                    "kit delete: apps/v1 Deployment {n}/web (context {ctx})\n\
                     kit delete: apps/v1 Deployment {n}/worker (context {ctx})\n\
                     kit delete: v1 Secret {n}/web-env (context {ctx})\n\
                     kit delete: v1 Secret {n}/worker-env (context {ctx})\n\
                     kit delete: v1 Service {n}/web (context {ctx})\n\
                     kit delete: v1 Namespace {n} (created by kit; everything in it goes too) (context {ctx})\n\
                     kit delete: v1 ConfigMap default/kit.{tag}.preview.pr-2.staging-cluster (the inventory) (context {ctx})\n"
                )
            ),
            "{}",
            plan.stderr
        );
        let before = objects_of(tag);
        let r = kit(&dir, &["delete", "-e", "preview", "--instance", "pr-2", "--yes"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        cli::wait_until("namespace of pr-2 gone", 60, || {
            kubectl(&["get", "namespace", &n]).0 != 0
        });
        let after = objects_of(tag);
        assert!(with_prefix(&after, &format!(" {n}/")).is_empty(), "{after:#?}");
        assert!(with_prefix(&after, &format!("kit.{tag}.preview.pr-2.")).is_empty(), "{after:#?}");
        for other in [format!(" {tag}/"), format!(" {tag}-pr-1/"), format!("kit.{tag}.staging."), format!("kit.{tag}.preview.pr-1.")] {
            assert_eq!(with_prefix(&before, &other), with_prefix(&after, &other), "{other}");
        }
        assert!(after.iter().any(|l| l.starts_with(&format!("Namespace {tag} "))), "{after:#?}");
    }
}

cluster_test! {
    fn stale_instances_are_listed_and_removed_by_age_and_fresh_ones_stay() {
        let tag = &unique("stale");
        let dir = instances_project(tag);
        for pr in ["pr-old", "pr-new"] {
            let r = kit(&dir, &["apply", "-e", "preview", "--instance", pr]);
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
        // pr-old was last applied a week ago (as its inventory says).
        let (code, _, err) = kubectl(&[
            "annotate", "configmap", "-n", "default", &format!("kit.{tag}.preview.pr-old.staging-cluster"),
            "kit.dev/applied-at=2026-11-30T00:00:00Z", "--overwrite",
        ]);
        assert_eq!(code, 0, "{err}");
        let s = kit(&dir, &["status", "-e", "preview", "-o", "json"]);
        assert_eq!(s.code, 0, "{}", s.stderr);
        let rows: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
        let listed: Vec<(String, String, Vec<String>)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["instance"].as_str().unwrap().to_owned(),
                    r["applied_at"].as_str().unwrap_or("").get(..10).unwrap_or("").to_owned(),
                    r["services"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| format!("{}={}", s["service"].as_str().unwrap(), s["images"][0].as_str().unwrap()))
                        .collect(),
                )
            })
            .collect();
        let services = vec![
            "web=registry.example.com/shop/web:1.4.0".to_owned(),
            "worker=registry.example.com/shop/worker:2.0.1".to_owned(),
        ];
        assert_eq!(listed[0].0, "pr-new");
        assert_eq!(listed[0].2, services);
        assert_eq!(listed[1], ("pr-old".into(), "2026-11-30".into(), services.clone()));
        assert_eq!(listed.len(), 2, "{}", s.stdout);
        let table = kit(&dir, &["status", "-e", "preview"]);
        assert_eq!(table.code, 0, "{}", table.stderr);
        let first: Vec<&str> = table.stdout.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(first, ["INSTANCE", "pr-new", "pr-old"], "{}", table.stdout);

        let r = kit(&dir, &["delete", "-e", "preview", "--older-than", "72h", "--yes"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stderr.contains(&format!("kit: deleting v1 ConfigMap default/kit.{tag}.preview.pr-old.staging-cluster")), "{}", r.stderr);
        assert!(!r.stderr.contains("pr-new"), "{}", r.stderr);
        let (code, _, _) = kubectl(&["get", "deployment", "web", "-n", &format!("{tag}-pr-new")]);
        assert_eq!(code, 0);
        let (code, _, _) = kubectl(&["get", "configmap", "-n", "default", &format!("kit.{tag}.preview.pr-old.staging-cluster")]);
        assert_ne!(code, 0);
        // Nothing left older than that: said, and nothing deleted.
        let r = kit(&dir, &["delete", "-e", "preview", "--older-than", "72h", "--yes"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, ""));
        assert!(r.stderr.contains("kit: preview/staging-cluster: no instance older than 72h"), "{}", r.stderr);
    }
}
