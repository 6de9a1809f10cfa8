//! End-to-end tests of instances of an environment (`--instance`), on the
//! `fixtures/instances` project, without a cluster: what is rendered, what
//! kubectl would receive (the recording stand-in), and every refusal (exit
//! code, exact message, nothing on stdout, kubectl never started). The
//! same against a real API server is in `cli_cluster`.

use crate::util as cli;

use std::path::{Path, PathBuf};

use cli::{Run, root};

fn fixture() -> PathBuf {
    root().join("fixtures/instances")
}

/// The recording stand-in for kubectl: it must never run in these tests
/// (what kubectl receives for an instance is checked against a real API
/// server in `cli_cluster`).
fn recorder() -> String {
    root()
        .join("tests/support/kubectl-recorder.sh")
        .display()
        .to_string()
}

fn kit_in(dir: &Path, args: &[&str], rec: &Path) -> Run {
    let rec = rec.display().to_string();
    cli::kit(dir, args, &[("KIT_REC_DIR", rec.as_str())], None)
}

fn kit(args: &[&str]) -> Run {
    kit_in(&fixture(), args, &cli::temp_dir("instances"))
}

#[test]
fn an_instance_renders_its_base_in_its_own_namespace_with_its_own_secrets_and_inventory() {
    let r = kit(&["render", "-e", "preview", "--instance", "pr-1"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let expected = std::fs::read_to_string(fixture().join("expected/preview-pr-1.yaml")).unwrap();
    assert_eq!(r.stdout, expected);
    // What the snapshot holds, spelled out: staging's values under
    // preview's (replicas 1), the namespace shop-pr-1, the instance's own
    // secret layers over staging's (DB_NAME and web's TOKEN), staging's
    // DB_HOST, and the instance's inventory id (sha256 of
    // kit.shop.preview.pr-1.staging-cluster.default.ConfigMap.).
    for line in [
        "  namespace: shop-pr-1\n",
        "    kit.dev/instance: \"pr-1\"\n",
        "    applyset.kubernetes.io/part-of: \"applyset-4yte8gribwqB8QzSxgevnZsClEh2A4i9-DqOAxrgrow-v1\"\n",
        "  DB_NAME: c2hvcF9wcl8x\n",                 // shop_pr_1
        "  TOKEN: cHItMS13ZWItdG9rZW4=\n",           // pr-1-web-token
        "  DB_HOST: ZGIuc3RhZ2luZy5pbnRlcm5hbA==\n", // db.staging.internal
        "  replicas: 1\n",
        "              value: preview\n",
    ] {
        assert!(r.stdout.contains(line), "{line}");
    }
    assert!(!r.stdout.contains("namespace: shop\n"));
    // The base environment renders as before: no instance label, its own
    // namespace and secrets.
    let base = kit(&["render", "-e", "staging", "-c", "staging-cluster"]);
    assert_eq!(base.code, 0, "{}", base.stderr);
    assert!(base.stdout.contains("  namespace: shop\n"));
    assert!(!base.stdout.contains("kit.dev/instance"));
    assert!(base.stdout.contains("  TOKEN: c3RhZ2luZy13ZWItdG9rZW4=\n")); // staging-web-token
}

#[test]
fn an_image_for_an_instance_replaces_the_released_one_for_that_service_only() {
    let r = kit(&[
        "render",
        "-e",
        "preview",
        "--instance",
        "pr-1",
        "--image",
        "web=registry.example.com/shop/web:pr-1-9f1c2e4",
    ]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let images: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("image:") || l.starts_with("# Source:"))
        .collect();
    assert_eq!(
        images,
        [
            "# Source: web/(kit secret)",
            "# Source: worker/(kit secret)",
            "# Source: web/service.yaml (image from --image)",
            "# Source: web/deployment.yaml (image from --image)",
            "          image: registry.example.com/shop/web:pr-1-9f1c2e4",
            "# Source: worker/deployment.yaml",
            "          image: registry.example.com/shop/worker:2.0.1",
        ]
    );
}

#[test]
fn an_instance_without_records_of_its_own_runs_its_bases_released_images() {
    let dir = cli::temp_dir("instances-records");
    cli::copy_dir(&fixture(), &dir);
    cli::write(
        &dir,
        &[(
            "releases/staging/worker.yaml",
            "revision: 3\nimage: registry.example.com/shop/worker:2.1.0\ntime: \"2026-12-07T10:00:00Z\"\nauthor: ci\naction: release\n",
        )],
    );
    let rec = cli::temp_dir("instances");
    let r = kit_in(
        &dir,
        &[
            "render",
            "-e",
            "preview",
            "--instance",
            "pr-1",
            "-s",
            "worker",
        ],
        &rec,
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(
        r.stdout.contains("# Source: worker/deployment.yaml (image from releases/staging/worker.yaml revision 3)\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("          image: registry.example.com/shop/worker:2.1.0\n")
    );
    // `kit status` lists the base's releases, not the instances'
    // environment (its instances are listed by `kit status -e preview`).
    let s = kit_in(&dir, &["status"], &rec);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let rows: Vec<Vec<&str>> = s
        .stdout
        .lines()
        .map(|l| l.split_whitespace().take(5).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["SERVICE", "ENVIRONMENT", "CLUSTER", "IMAGE", "REVISION"],
            vec![
                "web",
                "staging",
                "*",
                "registry.example.com/shop/web:1.4.0",
                "-"
            ],
            vec![
                "worker",
                "staging",
                "*",
                "registry.example.com/shop/worker:2.1.0",
                "3"
            ],
        ]
    );
    assert!(!s.stdout.contains("preview"), "{}", s.stdout);
}

/// Every refusal: exit code and exact message, nothing on stdout, kubectl
/// never started.
#[test]
fn bad_instances_and_images_are_refused_before_kubectl_starts() {
    let long = "pr-1-with-a-name-long-enough-to-overflow-the-namespace-limit-x";
    let cases: [(&[&str], i32, String); 7] = [
        (
            &["-e", "preview"],
            2,
            "error: environment 'preview' is an environment of instances (of 'staging'): a run names one instance\n  = hint: give --instance NAME (KIT_INSTANCE), e.g. --instance pr-3071; `kit status -e ENVIRONMENT` lists the live ones\n".into(),
        ),
        (
            &["-e", "staging", "--instance", "pr-1"],
            2,
            "error: environment 'staging' has no instances (kit.yaml gives it no `instances:`)\n  = hint: environments with instances: preview; an environment gets them with `instances: {from: BASE}` in kit.yaml (docs/instances.md)\n".into(),
        ),
        (
            &["-e", "preview", "--instance", "PR_1"],
            2,
            "error: instance name 'PR_1' is not a DNS label (only lowercase letters, digits and '-')\n  = hint: an instance name is a DNS label: lowercase letters, digits and '-', starting with a letter, e.g. pr-3071 (from a branch: lowercase it and replace other characters with '-')\n".into(),
        ),
        (
            &["-e", "preview", "--instance", "3071"],
            2,
            "error: instance name '3071' is not a DNS label (it must start with a lowercase letter)\n  = hint: an instance name is a DNS label: lowercase letters, digits and '-', starting with a letter, e.g. pr-3071 (from a branch: lowercase it and replace other characters with '-')\n".into(),
        ),
        (
            &["-e", "preview", "--instance", long],
            4,
            format!("error: the namespace of instance '{long}' would be 'shop-{long}', {} characters: a namespace has at most 63\n  = hint: with this namespace, an instance name has at most 58 characters: use a shorter one (e.g. pr-<number>)\n", long.len() + 5),
        ),
        (
            &["-e", "preview", "--instance", "pr-1", "-s", "worker", "--image", "web=registry.example.com/shop/web:pr-1"],
            2,
            "error: an image is given for service 'web', which this run does not render (it renders: worker)\n  = hint: --image names a service of the run (check -s and the service's name in kit.yaml)\n".into(),
        ),
        (
            &["-e", "preview", "--instance", "pr-1", "--image", "web=latest"],
            2,
            "error: invalid --image 'web=latest': 'latest': it needs a tag (:1.4.0) or a digest (@sha256:...)\n  = hint: --image SERVICE=REF, e.g. --image web=registry.example.com/shop/web:pr-3071-9f1c2e4\n".into(),
        ),
    ];
    for (args, code, stderr) in cases {
        for verb in ["render", "apply", "diff"] {
            let rec = cli::temp_dir("instances-refused");
            let recorder = recorder();
            let mut all = vec![verb];
            all.extend(args);
            if verb != "render" {
                all.extend(["--kubectl", recorder.as_str()]);
            }
            let r = kit_in(&fixture(), &all, &rec);
            assert_eq!(
                (r.code, r.stdout.as_str(), r.stderr.as_str()),
                (code, "", stderr.as_str()),
                "{all:?}"
            );
            assert!(!rec.join("1.args").exists(), "kubectl ran for {all:?}");
        }
    }
    // --image without --instance: clap's usage error.
    let r = kit(&["render", "-e", "staging", "--image", "web=x/y:1"]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(r.stderr.contains("--instance <NAME>"), "{}", r.stderr);
}

#[test]
fn an_object_outside_the_instances_namespaces_is_refused() {
    let dir = cli::temp_dir("instances-outside");
    cli::copy_dir(&fixture(), &dir);
    cli::write(
        &dir,
        &[(
            "templates/worker/role.yaml",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: worker-reader\nrules: []\n",
        )],
    );
    let rec = cli::temp_dir("instances");
    let r = kit_in(
        &dir,
        &["render", "-e", "preview", "--instance", "pr-1"],
        &rec,
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            6,
            "",
            "error: worker/role.yaml renders rbac.authorization.k8s.io/v1/ClusterRole 'worker-reader' for instance 'pr-1', outside the instance's namespaces\n  = hint: an instance's objects go in namespaces ending in -<instance> (kit appends it to the `namespace` value; write `namespace: {{namespace}}`), and objects without a namespace need a name ending in -<instance> (`name: x-{{kit.instance}}`): otherwise instances would share them\n"
        )
    );
    // Named after the instance, it is the instance's own.
    cli::write(
        &dir,
        &[(
            "templates/worker/role.yaml",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: worker-reader-{{kit.instance}}\nrules: []\n",
        )],
    );
    let r = kit_in(
        &dir,
        &["render", "-e", "preview", "--instance", "pr-1"],
        &rec,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("  name: worker-reader-pr-1\n"));
}

#[test]
fn delete_and_status_refuse_what_is_not_an_instance_before_kubectl_starts() {
    let recorder = recorder();
    let cases: [(&[&str], &str); 4] = [
        (
            &["delete", "-e", "preview"],
            "error: environment 'preview' is an environment of instances (of 'staging'): a run names one instance\n",
        ),
        (
            &["delete", "-e", "staging", "--older-than", "72h"],
            "error: environment 'staging' has no instances (kit.yaml gives it no `instances:`)\n",
        ),
        (
            &["delete", "-e", "preview", "--instance=-x"],
            "error: instance name '-x' is not a DNS label (it must start with a lowercase letter)\n",
        ),
        (
            &["delete", "-e", "preview", "--older-than", "soon"],
            "error: --older-than \"soon\" is not a duration\n",
        ),
    ];
    for (args, first_line) in cases {
        let rec = cli::temp_dir("instances-delete");
        let mut all = args.to_vec();
        all.extend(["--kubectl", recorder.as_str()]);
        let r = kit_in(&fixture(), &all, &rec);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (2, ""),
            "{all:?}: {}",
            r.stderr
        );
        assert_eq!(
            r.stderr.lines().next(),
            first_line.lines().next(),
            "{all:?}"
        );
        assert!(!rec.join("1.args").exists(), "kubectl ran for {all:?}");
    }
}

#[test]
fn an_instances_variables_come_from_its_bases_layers_under_its_own() {
    let r = kit(&[
        "env",
        "-e",
        "preview",
        "--instance",
        "pr-1",
        "-c",
        "staging-cluster",
        "-s",
        "web",
        "--explain",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            0,
            "APP_ENV  kit.yaml env: (env:)\n\
             DB_HOST  staging/common/DB_HOST (environment)\n\
             DB_NAME  preview/instances/pr-1/common/DB_NAME (instance)\n           overrides staging/common/DB_NAME\n\
             TOKEN    preview/instances/pr-1/web/TOKEN (instance service)\n           overrides staging/staging-cluster/web/TOKEN\n",
            ""
        )
    );
    // Another instance without layers of its own: staging's values.
    let r = kit(&[
        "env",
        "-e",
        "preview",
        "--instance",
        "pr-2",
        "-c",
        "staging-cluster",
        "-s",
        "web",
        "-o",
        "json",
    ]);
    assert_eq!(
        (r.code, r.stderr.as_str(), r.stdout.as_str()),
        (
            0,
            "",
            "{\n  \"APP_ENV\": \"preview\",\n  \"DB_HOST\": \"db.staging.internal\",\n  \"DB_NAME\": \"shop_staging\",\n  \"TOKEN\": \"staging-web-token\"\n}\n"
        )
    );
}

#[test]
fn every_target_of_the_project_leaves_environments_of_instances_out() {
    let all = kit(&["render", "--all"]);
    let staging = kit(&["render", "-e", "staging", "-c", "staging-cluster"]);
    assert_eq!((all.code, all.stderr.as_str()), (0, ""));
    assert_eq!(all.stdout, staging.stdout);
    let r = kit(&["render", "--all", "-e", "preview"]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(
        r.stderr.starts_with(
            "error: environment 'preview' is an environment of instances (of 'staging')"
        ),
        "{}",
        r.stderr
    );
}
