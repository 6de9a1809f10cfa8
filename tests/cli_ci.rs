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
    cmd.env("KIT_PROJECT", "fixtures/demo")
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
    ] {
        let text = std::fs::read_to_string(root().join("docs/ci").join(f)).unwrap();
        let parsed: Result<kit_core::Value, _> = serde_saphyr::from_str(&text);
        assert!(parsed.is_ok(), "{f}: {parsed:?}");
        if f != "codeship-services.yml" {
            assert!(
                text.contains("docs/ci/kit-ci.sh"),
                "{f} does not call the script"
            );
        }
    }
}
