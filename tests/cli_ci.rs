//! The CI recipes in docs/ci: their shared script, run against the demo with
//! the real kit binary and a recording kubectl, and the recipes' YAML.

use crate::util as cli;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli::root;

fn temp_dir() -> PathBuf {
    cli::temp_dir("ci")
}

struct Run {
    code: i32,
    stdout: String,
    rec: PathBuf,
    artifact: PathBuf,
}

/// Runs docs/ci/kit-ci.sh with only the given CI variables set.
fn script(env: &[(&str, &str)]) -> Run {
    let rec = temp_dir();
    let artifact = rec.join("review.yaml");
    let kit_dir = Path::new(env!("CARGO_BIN_EXE_kit"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        kit_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("docs/ci/kit-ci.sh")
        .current_dir(root())
        .env_clear()
        .env("PATH", path);
    cmd.env("KIT_PROJECT", cli::unnamed_demo())
        .env(
            "KIT_KUBECTL",
            root().join("tests/support/kubectl-recorder.sh"),
        )
        .env("KIT_REC_DIR", &rec)
        .env("KIT_REVIEW_ARTIFACT", &artifact)
        .env("KIT_REDACT_KEY", "ci");
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        rec,
        artifact,
    }
}

/// Runs docs/ci/kit-preview.sh on fixtures/instances with only the given
/// variables set; the recording kubectl answers every query with nothing
/// (no inventory, no namespace yet): (exit code, stderr, recordings).
fn preview_script(env: &[(&str, &str)]) -> (i32, String, PathBuf) {
    let rec = temp_dir();
    let nothing = rec.join("get-out");
    std::fs::write(&nothing, "").unwrap();
    let kit_dir = Path::new(env!("CARGO_BIN_EXE_kit"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        kit_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("docs/ci/kit-preview.sh")
        .current_dir(root())
        .env_clear()
        .env("PATH", path)
        .env("KIT_PROJECT", "fixtures/instances")
        .env(
            "KIT_KUBECTL",
            root().join("tests/support/kubectl-recorder.sh"),
        )
        .env("KIT_REC_DIR", &rec)
        .env("KIT_REC_GET_OUT", &nothing)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
        rec,
    )
}

#[test]
fn a_pull_request_brings_up_its_instance_with_its_image_and_says_where_it_runs() {
    let (code, stderr, rec) = preview_script(&[
        ("KIT_PR_NUMBER", "3071"),
        ("GITHUB_EVENT_ACTION", "synchronize"),
        (
            "KIT_IMAGE",
            "web=registry.example.com/shop/web:pr-3071-9f1c2e4",
        ),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        "kit: apply preview:pr-3071/staging-cluster (context staging)\n\
         kit: created namespace default (context staging)\n\
         kit: created namespace shop-pr-3071 (context staging)\n\
         kit: instance pr-3071 of preview is up on staging-cluster (context staging), namespaces: shop-pr-3071\n"
    );
    // kubectl: the namespaces created (the stand-in knows none, not even
    // the inventory's `default`), then the stream with the instance's
    // parent first.
    let all = runs(&rec);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[1][..3], ["create", "-f", "-"]);
    let created = std::fs::read_to_string(rec.join("2.stdin")).unwrap();
    assert!(created.starts_with("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop-pr-3071\n  labels:\n    kit.dev/created-by: \"applyset-"), "{created}");
    assert_eq!(all[2][..3], ["apply", "-f", "-"]);
    let applied = std::fs::read_to_string(rec.join("3.stdin")).unwrap();
    assert!(applied.starts_with("---\n# Source: (kit inventory)\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"kit.shop.preview.pr-3071.staging-cluster\"\n"), "{applied}");
    assert!(
        applied.contains("    kit.dev/instance: \"pr-3071\"\n  annotations:\n"),
        "{applied}"
    );
    assert!(
        applied.contains("    kit.dev/applied-at: \"20"),
        "{applied}"
    );
    assert!(applied.contains("          image: registry.example.com/shop/web:pr-3071-9f1c2e4\n"));
    assert!(applied.contains("          image: registry.example.com/shop/worker:2.0.1\n"));
    assert!(!applied.contains("namespace: shop\n"));
}

#[test]
fn a_closed_pull_request_deletes_its_instance_and_a_schedule_prunes() {
    // No inventory on the cluster (the stand-in answers nothing): said,
    // nothing deleted.
    let (code, stderr, rec) =
        preview_script(&[("KIT_PR_NUMBER", "3071"), ("GITHUB_EVENT_ACTION", "closed")]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            0,
            "kit: preview:pr-3071/staging-cluster: no inventory of shop (context staging): nothing to delete\n"
        )
    );
    assert!(runs(&rec).is_empty());
    let get = std::fs::read_to_string(rec.join("get.log")).unwrap();
    assert!(
        get.starts_with(
            "get configmap kit.shop.preview.pr-3071.staging-cluster --namespace default"
        ),
        "{get}"
    );
    // GitLab's merge request, stopped.
    let (code, stderr, _) = preview_script(&[
        ("CI_MERGE_REQUEST_IID", "12"),
        ("KIT_PREVIEW_ACTION", "down"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("preview:mr-12/staging-cluster"), "{stderr}");
    // A schedule: instances listed by label, older than the age deleted.
    let (_, _, rec) = preview_script(&[("KIT_PREVIEW_ACTION", "prune")]);
    let get = std::fs::read_to_string(rec.join("get.log")).unwrap();
    assert!(get.contains("get configmaps --namespace default -l kit.dev/project=shop,kit.dev/environment=preview,kit.dev/instance -o json"), "{get}");
    // No instance name: a clear error, kit never started.
    let (code, stderr, rec) = preview_script(&[]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "kit-preview: no instance name: set KIT_INSTANCE, KIT_PR_NUMBER or CI_MERGE_REQUEST_IID\n"
        )
    );
    assert!(!rec.join("get.log").exists());
}

fn runs(rec: &Path) -> Vec<Vec<String>> {
    (1..)
        .map_while(|n| std::fs::read_to_string(rec.join(format!("{n}.args"))).ok())
        .map(|a| a.lines().map(str::to_owned).collect())
        .collect()
}

#[test]
fn pull_requests_diff_every_cluster_and_leave_a_redacted_artifact() {
    for env in [
        vec![("GITHUB_EVENT_NAME", "pull_request")],
        vec![("CI_PIPELINE_SOURCE", "merge_request_event")],
        vec![
            ("CI_PULL_REQUEST", "https://example.invalid/pr/1"),
            ("CI_BRANCH", "feature"),
        ],
        vec![("KIT_CI_MODE", "review")],
    ] {
        // kubectl diff exits 1: there are differences. Not a failure.
        let mut env = env.clone();
        env.push(("KIT_REC_EXIT", "1"));
        let r = script(&env);
        assert_eq!(r.code, 0, "{env:?}");
        // (Clusters are diffed in parallel: in any order.)
        let mut verbs: Vec<(String, String)> = runs(&r.rec)
            .iter()
            .map(|a| (a[0].clone(), a[4].clone()))
            .collect();
        verbs.sort();
        assert_eq!(
            verbs,
            [
                ("diff", "nerdearla"),
                ("diff", "other"),
                ("diff", "staging")
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        let review = std::fs::read_to_string(&r.artifact).unwrap();
        assert!(review.contains("redacted:") && !review.contains("!myp4ssw0rd!"));
    }
}

#[test]
fn a_diff_error_fails_the_step() {
    let r = script(&[("KIT_CI_MODE", "review"), ("KIT_REC_EXIT", "2")]);
    assert_eq!(r.code, 2);
}

#[test]
fn main_applies_every_cluster_server_side() {
    for env in [
        vec![("GITHUB_EVENT_NAME", "push"), ("GITHUB_REF_NAME", "main")],
        vec![("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_BRANCH", "main")],
        vec![("CI_BRANCH", "main")],
    ] {
        let r = script(&env);
        assert_eq!(r.code, 0, "{env:?}");
        let all = runs(&r.rec);
        assert_eq!(all.len(), 3);
        for a in &all {
            assert_eq!(a[..3], ["apply", "-f", "-"]);
            assert_eq!(a[5..], ["--server-side", "--field-manager=kit"]);
        }
        assert!(!r.artifact.exists());
    }
    let r = script(&[
        ("CI_BRANCH", "main"),
        ("KIT_REC_FAIL_CONTEXT", "other"),
        ("KIT_REC_FAIL_CODE", "1"),
    ]);
    assert_eq!(r.code, 1, "a failed apply fails the build");
}

#[test]
fn other_branches_do_nothing() {
    let r = script(&[
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF_NAME", "feature"),
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            "kit-ci: not a pull request and not main: nothing to do\n"
        )
    );
    assert!(runs(&r.rec).is_empty());
}

#[test]
fn kits_own_release_workflow_is_valid_yaml_and_uses_the_packaging_scripts() {
    let text = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let parsed: Result<kit_core::Value, _> = serde_saphyr::from_str(&text);
    assert!(parsed.is_ok(), "{parsed:?}");
    for script in [
        "packaging/build-release.sh",
        "packaging/build-image.sh",
        "packaging/test-image.sh",
    ] {
        assert!(text.contains(script), "the workflow does not run {script}");
        assert!(root().join(script).is_file());
    }
    // The recipes install the checked archive rather than compiling kit.
    for f in ["github-actions.yml", "gitlab-ci.yml"] {
        let text = std::fs::read_to_string(root().join("docs/ci").join(f)).unwrap();
        assert!(
            text.contains("sha256sum -c"),
            "{f} does not verify the archive"
        );
    }
}

#[test]
fn release_recipes_are_valid_yaml_and_record_a_release() {
    for f in [
        "release-github-actions.yml",
        "release-gitlab-ci.yml",
        "release-codeship-steps.yml",
    ] {
        let text = std::fs::read_to_string(root().join("docs/ci").join(f)).unwrap();
        let parsed: Result<kit_core::Value, _> = serde_saphyr::from_str(&text);
        assert!(parsed.is_ok(), "{f}: {parsed:?}");
        assert!(
            text.contains("kit release -C config/deploy -e staging -s "),
            "{f} does not record a release"
        );
    }
}

#[test]
fn recipes_are_valid_yaml_and_call_the_script() {
    for f in [
        "github-actions.yml",
        "gitlab-ci.yml",
        "codeship-steps.yml",
        "codeship-services.yml",
        "preview-github-actions.yml",
        "preview-gitlab-ci.yml",
    ] {
        let text = std::fs::read_to_string(root().join("docs/ci").join(f)).unwrap();
        let parsed: Result<kit_core::Value, _> = serde_saphyr::from_str(&text);
        assert!(parsed.is_ok(), "{f}: {parsed:?}");
        if f.starts_with("preview-") {
            assert!(
                text.contains("docs/ci/kit-preview.sh"),
                "{f} does not call the preview script"
            );
            continue;
        }
        if f != "codeship-services.yml" {
            assert!(
                text.contains("docs/ci/kit-ci.sh"),
                "{f} does not call the script"
            );
        }
    }
}
