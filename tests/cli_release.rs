//! `kit release`, `rollback`, `promote`, `pin`, `unpin`, `history` and
//! `status` with the real `git` program against bare repositories on disk,
//! from fresh clones, as CI jobs run them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Run, copy_dir as copy, kit, root, temp_dir};

const IMAGE: &str = "registry.example.com/shop/myservicio";

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A bare config repository holding `project` under `deploy/` (as in a real
/// config repository, the project is a folder of it).
pub(crate) struct Remote {
    base: PathBuf,
    pub(crate) bare: PathBuf,
}

impl Remote {
    pub(crate) fn new(project: &Path) -> Remote {
        let base = temp_dir("release");
        let bare = base.join("config.git");
        git(
            &base,
            &[
                "init",
                "--quiet",
                "--bare",
                "-b",
                "main",
                bare.to_str().unwrap(),
            ],
        );
        let seed = base.join("seed");
        git(
            &base,
            &[
                "clone",
                "--quiet",
                bare.to_str().unwrap(),
                seed.to_str().unwrap(),
            ],
        );
        git(&seed, &["checkout", "--quiet", "-b", "main"]);
        copy(project, &seed.join("deploy"));
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "the config repository"]);
        git(&seed, &["push", "--quiet", "-u", "origin", "main"]);
        Remote { base, bare }
    }

    /// A fresh clone, as a CI job has.
    pub(crate) fn clone(&self, name: &str) -> PathBuf {
        let dir = self.base.join(name);
        git(
            &self.base,
            &[
                "clone",
                "--quiet",
                self.bare.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        dir
    }

    fn log(&self) -> Vec<String> {
        git(&self.bare, &["log", "--format=%s", "main"])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn kit_in(dir: &Path, args: &[&str]) -> Run {
    let mut a = vec![];
    a.extend_from_slice(args);
    a.extend(["-C", "deploy", "--author", "ci-bot"]);
    kit(dir, &a, &[], None)
}

/// `kit history --format json` in `dir`.
fn history_json(dir: &Path, env: &str, service: &str) -> serde_json::Value {
    let r = kit(
        dir,
        &[
            "history", "-C", "deploy", "-e", env, "-s", service, "--format", "json",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

/// The project in `deploy/`, myservicio on production's nerdearla-cluster.
const MYSERVICIO_ON_NERDEARLA: [&str; 8] = [
    "-C",
    "deploy",
    "-e",
    "production",
    "-c",
    "nerdearla-cluster",
    "-s",
    "myservicio",
];

/// `kit render` of myservicio on production's nerdearla-cluster in `dir`.
fn render_myservicio(dir: &Path) -> Run {
    let mut args = vec!["render"];
    args.extend(MYSERVICIO_ON_NERDEARLA);
    kit(dir, &args, &[], None)
}

/// `kit release --apply` of myservicio in production with the recording
/// kubectl writing into `rec`; `env` for the recorder, `extra` flags.
fn release_applying(
    dir: &Path,
    image: &str,
    rec: &Path,
    env: &[(&str, &str)],
    extra: &[&str],
) -> Run {
    let recorder = root().join("tests/support/kubectl-recorder.sh");
    let mut args = vec![
        "release",
        "-C",
        "deploy",
        "-e",
        "production",
        "-s",
        "myservicio",
        "--image",
        image,
        "--author",
        "ci-bot",
        "--apply",
        "--kubectl",
        recorder.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut vars = vec![("KIT_REC_DIR", rec.to_str().unwrap())];
    vars.extend_from_slice(env);
    kit(dir, &args, &vars, None)
}

/// The demo's config repository with myservicio released in production
/// as each of `versions` in turn (tags of IMAGE): the remote and a clone.
fn released_in_production(versions: &[&str]) -> (Remote, PathBuf) {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    for v in versions {
        let r = release(
            &ci,
            "production",
            "myservicio",
            &format!("{IMAGE}:{v}"),
            &[],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    (remote, ci)
}

fn demo_remote() -> Remote {
    Remote::new(Path::new(crate::util::unnamed_demo()))
}

fn release(dir: &Path, env: &str, service: &str, image: &str, extra: &[&str]) -> Run {
    let mut a = vec!["release", "-e", env, "-s", service, "--image", image];
    a.extend_from_slice(extra);
    kit_in(dir, &a)
}

#[test]
fn release_records_renders_and_shows_history_and_status() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.5.0"),
        &[
            "-m",
            "ship it",
            "--source-commit",
            "abc123",
            "--build-url",
            "https://ci.example.com/b/1",
        ],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
    assert!(r.stderr.starts_with("kit: recorded revision 1 (registry.example.com/shop/myservicio:1.5.0) for myservicio in production: commit "), "{}", r.stderr);
    // The record, exactly; pushed; the local checkout moved along.
    let record =
        std::fs::read_to_string(ci.join("deploy/releases/production/myservicio.yaml")).unwrap();
    let time = record
        .lines()
        .find(|l| l.starts_with("time: "))
        .unwrap()
        .to_owned();
    assert_eq!(
        record,
        format!(
            "# Written by kit (kit release, rollback, promote, pin). Do not edit by hand.\n# Format: docs/releases.md\nrevision: 1\nimage: registry.example.com/shop/myservicio:1.5.0\n{time}\nauthor: ci-bot\nsource_commit: abc123\nbuild_url: https://ci.example.com/b/1\nmessage: ship it\naction: release\n"
        )
    );
    assert_eq!(
        remote.log()[0],
        "kit: release myservicio in production (revision 1)"
    );
    assert_eq!(git(&ci, &["status", "--porcelain"]), "");

    // Another job, another clone: the render uses the record, and says so.
    let other = remote.clone("other");
    let r = render_myservicio(&other);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("image: registry.example.com/shop/myservicio:1.5.0\n")
    );
    assert!(r.stdout.contains("# Source: myservicio/deployment.yaml (image from releases/production/myservicio.yaml revision 1)\n"));
    // Staging has no record: kit.yaml's image.
    let r = kit(
        &other,
        &[
            "render",
            "-C",
            "deploy",
            "-e",
            "staging",
            "-c",
            "staging-cluster",
            "-s",
            "myservicio",
        ],
        &[],
        None,
    );
    assert!(
        r.stdout
            .contains("image: registry.example.com/shop/myservicio:1.4.0\n"),
        "{}",
        r.stdout
    );

    // A cluster override.
    let r = release(
        &other,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.6.0-canary"),
        &["-c", "other-cluster"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Production, the given clusters, in one run.
    let render = |clusters: &[&str]| {
        let mut args = vec!["render", "-C", "deploy", "-e", "production"];
        for c in clusters {
            args.extend(["-c", c]);
        }
        args.extend(["-s", "myservicio"]);
        let r = kit(&other, &args, &[], None);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    assert!(
        render(&["other-cluster"])
            .contains("image: registry.example.com/shop/myservicio:1.6.0-canary\n")
    );
    assert!(
        render(&["nerdearla-cluster"])
            .contains("image: registry.example.com/shop/myservicio:1.5.0\n")
    );
    // Both clusters in one run, where the record is read once and shared:
    // each cluster still gets its own image.
    let both = render(&["nerdearla-cluster", "other-cluster"]);
    let (first, second) = both
        .split_once("# Source: production/other-cluster/")
        .expect("a group for other-cluster");
    assert!(first.contains("image: registry.example.com/shop/myservicio:1.5.0\n"));
    assert!(!first.contains("1.6.0-canary"));
    assert!(second.contains("image: registry.example.com/shop/myservicio:1.6.0-canary\n"));

    // History, newest first, as JSON (after the other job's release).
    git(&ci, &["pull", "--quiet", "--ff-only"]);
    let h = history_json(&ci, "production", "myservicio");
    let entries = h.as_array().unwrap();
    let summary: Vec<(u64, Option<&str>, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["revision"].as_u64().unwrap(),
                e["cluster"].as_str(),
                e["image"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (2, None, "registry.example.com/shop/myservicio:1.5.0"),
            (
                2,
                Some("other-cluster"),
                "registry.example.com/shop/myservicio:1.6.0-canary"
            ),
            (1, None, "registry.example.com/shop/myservicio:1.5.0"),
        ]
    );
    for e in entries {
        for key in [
            "environment",
            "service",
            "cluster",
            "image",
            "revision",
            "time",
            "author",
            "message",
        ] {
            assert!(e.get(key).is_some(), "{key} in {e}");
        }
        assert_eq!(e["author"], "ci-bot");
    }

    // Status: services x environments.
    let r = kit(
        &ci,
        &["status", "-C", "deploy", "--format", "json"],
        &[],
        None,
    );
    let s: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rows: Vec<(&str, &str, Option<&str>, Option<u64>)> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["service"].as_str().unwrap(),
                e["environment"].as_str().unwrap(),
                e["cluster"].as_str(),
                e["revision"].as_u64(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 7);
    assert!(rows.contains(&("myservicio", "production", None, Some(2))));
    assert!(rows.contains(&("myservicio", "production", Some("other-cluster"), Some(2))));
    assert!(rows.contains(&("myservicio", "staging", None, None)));
    // A CI job's KIT_KUBECTL (set for kit apply) does not break it.
    let r = kit(
        &ci,
        &["status", "-C", "deploy"],
        &[("KIT_KUBECTL", "/usr/bin/false")],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("SERVICE     ENVIRONMENT  CLUSTER        IMAGE"),
        "{}",
        r.stdout
    );
}

#[test]
fn rollback_promote_and_pins() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    for v in ["1.5.0", "1.6.0", "1.7.0"] {
        assert_eq!(
            release(
                &ci,
                "production",
                "myservicio",
                &format!("{IMAGE}:{v}"),
                &[]
            )
            .code,
            0
        );
    }
    let current =
        || std::fs::read_to_string(ci.join("deploy/releases/production/myservicio.yaml")).unwrap();
    // Default: the revision before the current one.
    let r = kit_in(&ci, &["rollback", "-e", "production", "-s", "myservicio"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(current().contains("revision: 4\nimage: registry.example.com/shop/myservicio:1.6.0\n"));
    assert!(current().contains("message: rollback to revision 2\naction: rollback\n"));
    let r = kit_in(
        &ci,
        &[
            "rollback",
            "-e",
            "production",
            "-s",
            "myservicio",
            "--to",
            "1",
            "-m",
            "bad migration",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(current().contains("revision: 5\nimage: registry.example.com/shop/myservicio:1.5.0\n"));
    assert!(current().contains("message: \"rollback to revision 1: bad migration\"\n"));
    let r = kit_in(
        &ci,
        &[
            "rollback",
            "-e",
            "production",
            "-s",
            "myservicio",
            "--to",
            "99",
        ],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "error: myservicio in production has no revision 99 to roll back to\n"
        )
    );

    // Promote production's current image to staging.
    let r = kit_in(
        &ci,
        &[
            "promote",
            "-s",
            "myservicio",
            "--from",
            "production",
            "--to",
            "staging",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let staging =
        std::fs::read_to_string(ci.join("deploy/releases/staging/myservicio.yaml")).unwrap();
    assert!(staging.contains("revision: 1\nimage: registry.example.com/shop/myservicio:1.5.0\n"));
    assert!(staging.contains("message: promote from production revision 5\naction: promote\n"));

    // A pin holds against releases, rollbacks and promotions until lifted.
    let r = kit_in(
        &ci,
        &[
            "pin",
            "-e",
            "production",
            "-s",
            "myservicio",
            "-m",
            "incident 12",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for args in [
        vec![
            "release",
            "-e",
            "production",
            "-s",
            "myservicio",
            "--image",
            "registry.example.com/shop/myservicio:2.0.0",
        ],
        vec!["rollback", "-e", "production", "-s", "myservicio"],
    ] {
        let r = kit_in(&ci, &args);
        assert_eq!(r.code, 7, "{args:?}");
        assert!(
            r.stderr
                .starts_with("error: myservicio is pinned in production by ci-bot since "),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(": incident 12\n  = hint: kit unpin"),
            "{}",
            r.stderr
        );
    }
    let r = kit_in(
        &ci,
        &[
            "promote",
            "-s",
            "myservicio",
            "--from",
            "staging",
            "--to",
            "production",
        ],
    );
    assert_eq!(r.code, 7);
    let before = remote.log().len();
    assert_eq!(
        kit_in(&ci, &["unpin", "-e", "production", "-s", "myservicio"]).code,
        0
    );
    assert_eq!(
        release(
            &ci,
            "production",
            "myservicio",
            &format!("{IMAGE}:2.0.0"),
            &[]
        )
        .code,
        0
    );
    assert_eq!(remote.log().len(), before + 2);
    // History lists releases, not pins.
    let h = history_json(&ci, "production", "myservicio");
    let revisions: Vec<u64> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, [6, 5, 4, 3, 2, 1]);
    // The table for people: one line per revision, under a header.
    let r = kit(
        &ci,
        &[
            "history",
            "-C",
            "deploy",
            "-e",
            "production",
            "-s",
            "myservicio",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(
        lines[0].starts_with("REVISION  TIME                  CLUSTER  IMAGE"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("6         ")
            && lines[1].contains("registry.example.com/shop/myservicio:2.0.0"),
        "{}",
        lines[1]
    );
}

#[test]
fn bad_inputs_fail_clearly_and_leave_nothing_behind() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    for (image, why) in [
        ("registry.example.com/shop/myservicio:1.5.0 ", "white space"),
        (
            "registry.example.com/shop/myservicio:1.5.0\nkind: Secret",
            "white space",
        ),
        ("registry.example.com/Shop/myservicio:1.5.0", "lowercase"),
        ("registry.example.com/shop/myservicio@sha256:xyz", "digest"),
        ("registry.example.com/shop/myservicio", "needs a tag"),
    ] {
        let r = release(&ci, "production", "myservicio", image, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{image:?}");
        assert!(
            r.stderr.starts_with("error: invalid image reference ") && r.stderr.contains(why),
            "{}",
            r.stderr
        );
    }
    let r = release(&ci, "prod", "myservicio", &format!("{IMAGE}:1"), &[]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "error: unknown environment 'prod' (known: production, staging)\n"
        )
    );
    let r = release(&ci, "production", "api", &format!("{IMAGE}:1"), &[]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "error: unknown service 'api' (known: myservicio, envar-demo, worker)\n"
        )
    );

    // A teammate pushed a template that no longer renders; a release from
    // an older clone checks the tip it would push, and records nothing.
    let mate = remote.clone("mate");
    std::fs::write(
        mate.join("deploy/templates/myservicio/service.yaml"),
        "apiVersion: v1\nkind: Service\n",
    )
    .unwrap();
    git(&mate, &["commit", "--quiet", "-am", "break the template"]);
    git(&mate, &["push", "--quiet"]);
    let before = remote.log();
    let head = git(&ci, &["rev-parse", "HEAD"]);
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.5.0"),
        &[],
    );
    assert_eq!((r.code, r.stdout.as_str()), (6, ""), "{}", r.stderr);
    let tip = git(&mate, &["rev-parse", "HEAD"]);
    assert!(
        r.stderr.starts_with(&format!(
            "error: myservicio/service.yaml:1:1: metadata.name is missing or not a string (rendered document 1, line 1) (in commit {}, which kit would have pushed: nothing was recorded)\n",
            &tip[..12]
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("kit-tree-"), "{}", r.stderr);
    assert_eq!(git(&ci, &["rev-parse", "HEAD"]), head);
    assert_eq!(remote.log(), before);
    git(&mate, &["revert", "--no-edit", "HEAD"]);
    git(&mate, &["push", "--quiet"]);

    // Uncommitted changes in the checkout are not what is released: the
    // record is made on the remote's tip, and the checkout is left alone.
    let ci = remote.clone("ci2");
    assert_eq!(
        release(
            &ci,
            "production",
            "myservicio",
            &format!("{IMAGE}:1.5.0"),
            &[]
        )
        .code,
        0
    );
    std::fs::write(
        ci.join("deploy/releases/production/myservicio.yaml"),
        "hand edit\n",
    )
    .unwrap();
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.6.0"),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("\nkit: the checkout was left as it was (git merge --ff-only failed: "),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(ci.join("deploy/releases/production/myservicio.yaml")).unwrap(),
        "hand edit\n"
    );
    assert!(
        git(
            &remote.bare,
            &["show", "main:deploy/releases/production/myservicio.yaml"]
        )
        .contains("image: registry.example.com/shop/myservicio:1.6.0\n")
    );

    // No git program at all.
    let r = kit(
        &ci,
        &[
            "release",
            "-C",
            "deploy",
            "-e",
            "production",
            "-s",
            "myservicio",
            "--image",
            "registry.example.com/shop/myservicio:1.7.0",
        ],
        &[("PATH", "/nonexistent")],
        None,
    );
    assert_eq!(r.code, 7);
    assert!(
        r.stderr
            .starts_with("error: the git program was not found\n  = hint: install git"),
        "{}",
        r.stderr
    );

    // Not a git checkout; no upstream.
    let plain = temp_dir("plain");
    copy(
        Path::new(crate::util::unnamed_demo()),
        &plain.join("deploy"),
    );
    let r = release(
        &plain,
        "production",
        "myservicio",
        &format!("{IMAGE}:1"),
        &[],
    );
    assert_eq!(r.code, 7);
    assert!(
        r.stderr
            .starts_with("error: deploy is not inside a git checkout\n"),
        "{}",
        r.stderr
    );
    let ci = remote.clone("ci3");
    git(&ci, &["checkout", "--quiet", "-b", "local-only"]);
    let r = release(&ci, "production", "myservicio", &format!("{IMAGE}:1"), &[]);
    assert_eq!(r.code, 7);
    assert!(
        r.stderr
            .starts_with("error: the current branch has no upstream branch to push to\n"),
        "{}",
        r.stderr
    );
    // --no-push commits locally only.
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.9.0"),
        &["--no-push"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        git(&ci, &["log", "-1", "--format=%s"]),
        "kit: release myservicio in production (revision 3)\n"
    );
}

/// A project with `n` services, for racing releases.
fn many_services(n: usize) -> PathBuf {
    let dir = temp_dir("many");
    let mut kit_yaml = String::from(
        "environments:\n  prod:\n    clusters:\n      c1:\n        context: c1\nservices:\n",
    );
    for i in 0..n {
        kit_yaml.push_str(&format!(
            "  svc-{i:02}:\n    image: registry.example.com/svc-{i:02}:0.1.0\n"
        ));
        let tpl = dir.join(format!("templates/svc-{i:02}/deployment.yaml"));
        std::fs::create_dir_all(tpl.parent().unwrap()).unwrap();
        std::fs::write(
            tpl,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{kit.service}}\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    spec:\n      containers:\n      - name: app\n        image: {{kit.image}}\n",
        )
        .unwrap();
    }
    std::fs::write(dir.join("kit.yaml"), kit_yaml).unwrap();
    std::fs::create_dir_all(dir.join("secrets/prod/common")).unwrap();
    std::fs::write(
        dir.join("secrets/prod/common/KIT_CHECKSUM_KEY"),
        "race-checksum-key-0123456789",
    )
    .unwrap();
    dir
}

fn spawn_release(dir: &Path, service: &str, image: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_kit"))
        .current_dir(dir)
        .args([
            "release", "-C", "deploy", "-e", "prod", "-s", service, "--image", image, "--author",
            "race",
        ])
        .args(extra)
        .env_remove("KIT_PUSH_TRIES")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sixteen_parallel_releases_all_land_on_a_linear_history() {
    let remote = Remote::new(&many_services(16));
    let clones: Vec<PathBuf> = (0..16).map(|i| remote.clone(&format!("job-{i}"))).collect();
    let children: Vec<_> = clones
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            spawn_release(
                dir,
                &format!("svc-{i:02}"),
                &format!("registry.example.com/svc-{i:02}:1.0.{i}"),
                &[],
            )
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "svc-{i:02}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        git(&remote.bare, &["rev-list", "--merges", "main"]),
        "",
        "no merge commits"
    );
    assert_eq!(remote.log().len(), 17);
    let check = remote.clone("check");
    for i in 0..16 {
        let rec =
            std::fs::read_to_string(check.join(format!("deploy/releases/prod/svc-{i:02}.yaml")))
                .unwrap();
        assert!(
            rec.contains(&format!(
                "revision: 1\nimage: registry.example.com/svc-{i:02}:1.0.{i}\n"
            )),
            "{rec}"
        );
    }
}

#[test]
fn parallel_releases_of_one_service_never_lose_one_silently() {
    let remote = Remote::new(&many_services(1));
    let clones: Vec<PathBuf> = (0..8).map(|i| remote.clone(&format!("job-{i}"))).collect();
    let children: Vec<_> = clones
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            spawn_release(
                dir,
                "svc-00",
                &format!("registry.example.com/svc-00:2.0.{i}"),
                &[],
            )
        })
        .collect();
    let mut landed = Vec::new();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            landed.push(i);
        } else {
            assert_eq!(out.status.code(), Some(7), "{stderr}");
            assert!(stderr.contains("was still rejected after"), "{stderr}");
        }
    }
    assert!(!landed.is_empty());
    assert_eq!(git(&remote.bare, &["rev-list", "--merges", "main"]), "");
    let check = remote.clone("check");
    let h = history_json(&check, "prod", "svc-00");
    let images: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["image"].as_str().unwrap())
        .collect();
    for i in &landed {
        assert!(
            images.contains(&format!("registry.example.com/svc-00:2.0.{i}").as_str()),
            "release {i} lost: {images:?}"
        );
    }
    // Revisions are consecutive: every landed release got its own.
    let revisions: Vec<u64> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(
        revisions,
        (1..=landed.len() as u64).rev().collect::<Vec<_>>()
    );
}

#[test]
fn release_with_apply_sends_the_new_image_to_every_affected_cluster() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let rec = temp_dir("rec");
    let recorder = root().join("tests/support/kubectl-recorder.sh");
    let r = kit(
        &ci,
        &[
            "release",
            "-C",
            "deploy",
            "-e",
            "production",
            "-s",
            "myservicio",
            "--image",
            "registry.example.com/shop/myservicio:1.5.0",
            "--author",
            "ci-bot",
            "--apply",
            "--kubectl",
            recorder.to_str().unwrap(),
            "--",
            "--v=0",
        ],
        &[("KIT_REC_DIR", rec.to_str().unwrap())],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // myservicio runs on both production clusters: one kubectl run each
    // (at once, in either order), with the cluster's context, carrying only
    // myservicio, with the image.
    let mut contexts = Vec::new();
    for n in [1, 2] {
        let args = std::fs::read_to_string(rec.join(format!("{n}.args"))).unwrap();
        let context = args.lines().nth(4).unwrap().to_owned();
        assert_eq!(
            args,
            format!(
                "apply\n-f\n-\n--context\n{context}\n--server-side\n--field-manager=kit\n--v=0\n"
            )
        );
        contexts.push(context);
        let stdin = std::fs::read_to_string(rec.join(format!("{n}.stdin"))).unwrap();
        assert!(
            stdin.contains("image: registry.example.com/shop/myservicio:1.5.0\n"),
            "{stdin}"
        );
        assert!(!stdin.contains("envar-demo"), "only the released service");
    }
    contexts.sort();
    assert_eq!(contexts, ["nerdearla", "other"]);
    assert!(!rec.join("3.args").exists());
}

/// `kit release --apply` from a clone with an unpushed local commit and an
/// uncommitted kit.yaml change (issue 26): what is recorded, pushed and
/// applied is the remote tip plus the record, never the working tree; the
/// checkout stays and kit says so.
#[test]
fn release_applies_the_pushed_commit_not_the_working_tree() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    // A local commit the remote does not have, and an uncommitted change.
    release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:2.0.0"),
        &["--no-push"],
    );
    let kit_yaml = ci.join("deploy/kit.yaml");
    let text = std::fs::read_to_string(&kit_yaml).unwrap();
    std::fs::write(
        &kit_yaml,
        text.replacen("replicas: 1\n", "replicas: 9\n", 1),
    )
    .unwrap();
    let rec = temp_dir("rec");
    let r = release_applying(&ci, &format!("{IMAGE}:3.0.0"), &rec, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pushed = git(&remote.bare, &["rev-parse", "main"]);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "kit: recorded revision 1 ({IMAGE}:3.0.0) for myservicio in production: commit {} pushed to origin/main (1 try)",
            &pushed[..12]
        )
    );
    assert_eq!(
        lines[1],
        "kit: the checkout was left as it was (the checkout has commits the remote does not have); `git pull --ff-only` brings it up to date"
    );
    for n in [1, 2] {
        let stdin = std::fs::read_to_string(rec.join(format!("{n}.stdin"))).unwrap();
        assert!(
            stdin.contains(&format!("image: {IMAGE}:3.0.0\n")),
            "{stdin}"
        );
        assert!(!stdin.contains("2.0.0"), "{stdin}");
        assert!(!stdin.contains("replicas: 9"), "{stdin}");
    }
    // What was applied is exactly `kit render` of the pushed commit.
    let fresh = remote.clone("fresh");
    let rendered = render_myservicio(&fresh);
    assert_eq!(rendered.code, 0, "{}", rendered.stderr);
    // (The `# Source:` comments of a one-target render name the template
    // only; a run over the environment's targets names the target too.)
    // (The clusters are applied in parallel: find nerdearla's run.)
    let n = (1..=2)
        .find(|n| {
            std::fs::read_to_string(rec.join(format!("{n}.args")))
                .unwrap()
                .contains("\nnerdearla\n")
        })
        .expect("a run on context nerdearla");
    let applied = std::fs::read_to_string(rec.join(format!("{n}.stdin"))).unwrap();
    let no_source = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("# Source: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(no_source(&applied), no_source(&rendered.stdout));
}

/// A retried CI job adds nothing; builds that finish out of order cannot
/// move the environment back; images of another repository or with a
/// mutable tag are refused (issue 26).
#[test]
fn retries_and_out_of_order_builds_change_nothing() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let build = |n: &str, image: &str| {
        release(
            &ci,
            "production",
            "myservicio",
            image,
            &[
                "--source-repository",
                "shop/myservicio",
                "--build-number",
                n,
                "--source-commit",
                n,
            ],
        )
    };
    assert_eq!(build("8", &format!("{IMAGE}:1.8.0")).code, 0);
    let log = remote.log();
    let r = build("8", &format!("{IMAGE}:1.8.0"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "kit: myservicio in production is already released as revision 1 ({IMAGE}:1.8.0): nothing recorded"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(remote.log(), log);
    let r = build("7", &format!("{IMAGE}:1.7.0"));
    assert_eq!(r.code, 7);
    assert!(
        r.stderr.starts_with(
            "error: build 7 of shop/myservicio is older than build 8 recorded as revision 1 of myservicio in production\n"
        ),
        "{}",
        r.stderr
    );
    let r = build("9", "registry.exmaple.com/shop/myservicio:1.9.0");
    assert_eq!(r.code, 7);
    assert!(
        r.stderr.starts_with(
            "error: the image's repository registry.exmaple.com/shop/myservicio is not myservicio's (registry.example.com/shop/myservicio, from the current record)\n"
        ),
        "{}",
        r.stderr
    );
    let r = build("9", &format!("{IMAGE}:latest"));
    assert_eq!(r.code, 7);
    assert!(
        r.stderr.starts_with("error: the tag \"latest\" is mutable"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.log(), log);
    // --force records the older build anyway.
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.7.0"),
        &[
            "--source-repository",
            "shop/myservicio",
            "--build-number",
            "7",
            "--force",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Rollbacks walk back (a canary is not brought back by the second
/// rollback) and say per cluster what changes; shallow and detached CI
/// checkouts see the whole history and release onto the remote branch
/// (issue 26).
#[test]
fn rollbacks_walk_back_from_shallow_and_detached_checkouts() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    assert_eq!(
        release(
            &ci,
            "production",
            "myservicio",
            &format!("{IMAGE}:10.0"),
            &[]
        )
        .code,
        0
    );
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:11.0-canary"),
        &["-c", "other-cluster"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A shallow, detached clone, as GitLab runners make.
    let shallow = remote.base.join("shallow");
    git(
        &remote.base,
        &[
            "clone",
            "--quiet",
            "--depth",
            "1",
            &format!("file://{}", remote.bare.display()),
            shallow.to_str().unwrap(),
        ],
    );
    git(&shallow, &["checkout", "--quiet", "--detach"]);
    let h = history_json(&shallow, "production", "myservicio");
    assert_eq!(
        h.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["cluster"].is_null())
            .count(),
        2
    );
    let r = kit_in(
        &shallow,
        &["rollback", "-e", "production", "-s", "myservicio"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("pushed to origin/main"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "\nkit:   other-cluster: {IMAGE}:11.0-canary -> {IMAGE}:10.0\n"
        )),
        "{}",
        r.stderr
    );
    // The second rollback goes further back (there is nothing before
    // revision 1), never to the canary again.
    let r = kit_in(
        &shallow,
        &["rollback", "-e", "production", "-s", "myservicio"],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "error: myservicio in production has no revision 0 to roll back to\n"
        )
    );
    let tip = git(
        &remote.bare,
        &["show", "main:deploy/releases/production/myservicio.yaml"],
    );
    assert!(tip.contains("revision: 3\n"), "{tip}");
    assert!(tip.contains("restores: 1\n"), "{tip}");
    assert!(!tip.contains("canary"), "{tip}");
}

/// A release record that is a symbolic link (a pull request can add one)
/// is refused without following it or printing its target's text, and a
/// tag named like the branch never stands in for it (issue 26).
#[test]
fn hostile_records_and_refs_are_refused() {
    let remote = demo_remote();
    let mate = remote.clone("mate");
    let secret = remote.base.join("credentials");
    std::fs::write(&secret, "aws_secret_access_key = TOPSECRETVALUE\n").unwrap();
    let record = mate.join("deploy/releases/production/myservicio.yaml");
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&secret, &record).unwrap();
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "--quiet", "-m", "a link"]);
    git(&mate, &["push", "--quiet"]);
    for args in [
        vec![
            "render",
            "-C",
            "deploy",
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
        ],
        vec!["status", "-C", "deploy"],
    ] {
        let r = kit(&mate, &args, &[], None);
        assert_eq!(r.code, 4, "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("TOPSECRET") && !r.stdout.contains("TOPSECRET"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("a release record must be a regular file"),
            "{}",
            r.stderr
        );
    }
    let r = release(
        &mate,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.0"),
        &[],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(!r.stderr.contains("TOPSECRET"), "{}", r.stderr);
    assert!(
        r.stderr.contains("not a regular file in the commit"),
        "{}",
        r.stderr
    );
    git(
        &mate,
        &[
            "rm",
            "--quiet",
            "deploy/releases/production/myservicio.yaml",
        ],
    );
    git(&mate, &["commit", "--quiet", "-m", "no link"]);
    git(&mate, &["push", "--quiet"]);

    // A tag named `main` on an unmerged commit.
    git(&mate, &["checkout", "--quiet", "-b", "unmerged"]);
    std::fs::write(mate.join("deploy/UNMERGED"), "x").unwrap();
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "--quiet", "-m", "unmerged"]);
    git(&mate, &["tag", "main"]);
    git(&mate, &["push", "--quiet", "origin", "refs/tags/main"]);
    let ci = remote.clone("ci");
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.1"),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = git(
        &remote.bare,
        &["ls-tree", "-r", "--name-only", "refs/heads/main"],
    );
    assert!(!files.contains("UNMERGED"), "{files}");
    assert!(!ci.join("deploy/UNMERGED").exists());
}

/// `--apply` that fails after the push (issue 26): exit 9, the recorded
/// revision and the command that applies it again; the retried CI job
/// records nothing more and applies the recorded state.
#[test]
fn a_failed_apply_after_the_push_says_the_release_is_recorded() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let rec = temp_dir("rec");
    let run = |exit: &str| {
        release_applying(
            &ci,
            &format!("{IMAGE}:4.0.0"),
            &rec,
            &[("KIT_REC_EXIT", exit)],
            &["--source-commit", "abc"],
        )
    };
    let r = run("1");
    assert_eq!(r.code, 9, "{}", r.stderr);
    let pushed = git(&remote.bare, &["rev-parse", "main"]);
    assert!(
        r.stderr.ends_with(&format!(
            "kit: revision 1 is recorded (commit {}), but applying it failed (kubectl exited 1); apply it again with: kit apply -C deploy -e production -s myservicio\n",
            &pushed[..12]
        )),
        "{}",
        r.stderr
    );
    let log = remote.log();
    let r = run("0");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "kit: myservicio in production is already released as revision 1 ({IMAGE}:4.0.0): nothing recorded"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(remote.log(), log);
    let last = (1..)
        .take_while(|n| rec.join(format!("{n}.args")).exists())
        .count();
    let stdin = std::fs::read_to_string(rec.join(format!("{last}.stdin"))).unwrap();
    assert!(
        stdin.contains(&format!("image: {IMAGE}:4.0.0\n")),
        "{stdin}"
    );
}

/// --rollback-on-failure (issue 27): the release's rollout on one cluster
/// never becomes ready, so kit records a rollback of the service by kit
/// with the reason, pushes it, applies it to the service's clusters and
/// waits: exit 12, naming what failed and what it restored.
#[test]
fn a_release_that_does_not_become_ready_is_rolled_back() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let rec = temp_dir("rec");
    let r = release_applying(&ci, &format!("{IMAGE}:1.0.0"), &rec, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rec = temp_dir("rec");
    let r = release_applying(
        &ci,
        &format!("{IMAGE}:2.0.0"),
        &rec,
        &[("KIT_REC_FAIL_ONCE", "rollout")],
        &["--wait=30s", "--rollback-on-failure"],
    );
    assert_eq!(r.code, 12, "{}", r.stderr);
    let h = history_json(&ci, "production", "myservicio");
    let last = &h.as_array().unwrap()[0];
    assert_eq!(last["revision"], 3, "{h}");
    assert_eq!(last["action"], "rollback");
    assert_eq!(last["author"], "kit");
    assert_eq!(last["image"], format!("{IMAGE}:1.0.0"));
    let message = last["message"].as_str().unwrap();
    assert!(
        message.starts_with("rollback to revision 1: apps/v1 Deployment shop/myservicio did not become ready within 30s on context "),
        "{message}"
    );
    assert!(
        r.stderr.contains("kit: revision 2 is recorded (commit "),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("kit: rolling back myservicio in production: apps/v1 Deployment shop/myservicio did not become ready within 30s"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.ends_with(&format!(
            "kit: restored myservicio in production to {IMAGE}:1.0.0 (revision 3): applied and ready\n"
        )),
        "{}",
        r.stderr
    );
    // The rollback was applied to both clusters, with the old image, and
    // waited for: applies and rollouts, 8 runs in all.
    let runs: Vec<(String, String)> = (1..=8)
        .map(|n| {
            let args = std::fs::read_to_string(rec.join(format!("{n}.args"))).unwrap();
            let stdin = std::fs::read_to_string(rec.join(format!("{n}.stdin"))).unwrap();
            (args.lines().next().unwrap().to_owned(), stdin)
        })
        .collect();
    assert!(!rec.join("9.args").exists());
    let applied: Vec<&str> = runs
        .iter()
        .filter(|(verb, _)| verb == "apply")
        .map(|(_, stdin)| stdin.as_str())
        .collect();
    assert_eq!(applied.len(), 4);
    let old = format!("image: {IMAGE}:1.0.0\n");
    assert_eq!(applied.iter().filter(|s| s.contains(&old)).count(), 2);
    // Nothing recorded twice: one release, one rollback, pushed.
    assert_eq!(h.as_array().unwrap().len(), 3);
    assert_eq!(
        git(&remote.bare, &["rev-parse", "main"]),
        git(&ci, &["rev-parse", "HEAD"])
    );
}

/// `kit apply --rollback-on-failure` (issue 27) rolls back only a service
/// whose image the apply changed: what ran before is read from the
/// cluster (here the stand-in's `kubectl get` answer).
#[test]
fn kit_apply_rolls_back_only_what_it_changed() {
    let (_remote, ci) = released_in_production(&["1.0.0", "2.0.0"]);
    let recorder = root().join("tests/support/kubectl-recorder.sh");
    let running = |version: &str| {
        let list = serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": [{
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "myservicio", "namespace": "shop", "labels": {"kit.dev/service": "myservicio"}},
                "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "myservicio", "image": format!("{IMAGE}:{version}")}]}}},
                "status": {}
            }]
        });
        let path = temp_dir("live").join("get.json");
        std::fs::write(&path, list.to_string()).unwrap();
        path
    };
    let apply = |rec: &Path, get: &Path| {
        let mut args = vec!["apply"];
        args.extend(MYSERVICIO_ON_NERDEARLA);
        args.extend([
            "--wait=5s",
            "--rollback-on-failure",
            "--kubectl",
            recorder.to_str().unwrap(),
        ]);
        kit(
            &ci,
            &args,
            &[
                ("KIT_REC_DIR", rec.to_str().unwrap()),
                ("KIT_REC_GET_OUT", get.to_str().unwrap()),
                ("KIT_REC_FAIL_ONCE", "rollout"),
            ],
            None,
        )
    };
    // The cluster ran 2.0.0 already: this apply changed nothing of it, so
    // its failure is said and nothing is rolled back.
    let rec = temp_dir("rec");
    let r = apply(&rec, &running("2.0.0"));
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(
        r.stderr.ends_with("kit: myservicio on production/nerdearla-cluster is not ready, but this apply did not change its image: kit does not roll it back (a change of values or templates is undone by reverting its commit)\n"),
        "{}",
        r.stderr
    );
    assert_eq!(
        history_json(&ci, "production", "myservicio")
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // It ran 1.0.0: the apply brought 2.0.0, which is rolled back.
    let rec = temp_dir("rec");
    let r = apply(&rec, &running("1.0.0"));
    assert_eq!(r.code, 12, "{}", r.stderr);
    let h = history_json(&ci, "production", "myservicio");
    assert_eq!(h[0]["action"], "rollback", "{h}");
    assert_eq!(h[0]["image"], format!("{IMAGE}:1.0.0"));
    assert!(
        r.stderr.ends_with(&format!(
            "kit: restored myservicio in production to {IMAGE}:1.0.0 (revision 3): applied and ready\n"
        )),
        "{}",
        r.stderr
    );
}

/// A rollback that loses a push race acts on the state it read or fails
/// (issue 26): a release lands between its read and its push (a pre-push
/// hook pushes it), and the rollback records nothing rather than rolling
/// back the release that beat it.
#[test]
fn a_rollback_that_loses_a_race_records_nothing() {
    let (remote, ci) = released_in_production(&["1.0", "2.0"]);
    // A teammate's release, committed and ready to push.
    let mate = remote.clone("mate");
    let r = release(
        &mate,
        "production",
        "myservicio",
        &format!("{IMAGE}:3.0"),
        &["--no-push"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hook = ci.join(".git/hooks/pre-push");
    let once = remote.base.join("raced");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\n[ -e '{once}' ] && exit 0\ntouch '{once}'\ngit -C '{mate}' push --quiet origin main >/dev/null 2>&1\nexit 0\n",
            once = once.display(),
            mate = mate.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let r = kit_in(&ci, &["rollback", "-e", "production", "-s", "myservicio"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            7,
            "error: myservicio in production changed while kit was recording (now revision 3); nothing was recorded: run the command again to act on the new state\n"
        )
    );
    assert!(once.exists(), "the race happened");
    let tip = git(
        &remote.bare,
        &["show", "main:deploy/releases/production/myservicio.yaml"],
    );
    assert!(
        tip.contains(&format!("revision: 3\nimage: {IMAGE}:3.0\n")),
        "{tip}"
    );
}

/// A hook that refuses the push is an error with the hook's words, told
/// apart from a race by the ref's status, not by those words: no retries
/// (issue 26).
#[test]
fn a_hook_refusal_is_not_taken_for_a_race() {
    let remote = demo_remote();
    let hook = remote.bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'refused: non-fast-forward pushes need review'\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let ci = remote.clone("ci");
    let log = remote.log();
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:1.0"),
        &[],
    );
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: git push failed: ")
            && r.stderr
                .contains("refused: non-fast-forward pushes need review"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("tries"), "{}", r.stderr);
    assert_eq!(remote.log(), log);
}

/// Builds of one service finishing out of order, released by parallel CI
/// jobs (issue 26): whatever order they land in, the newest build ends
/// recorded; an older one is refused (exit 7, both numbers) or lands before
/// the newer, never after it; no revision repeats.
#[test]
fn parallel_out_of_order_builds_end_on_the_newest() {
    let remote = Remote::new(&many_services(1));
    let order = [3u64, 6, 1, 5, 2, 4];
    let clones: Vec<PathBuf> = order
        .iter()
        .map(|n| remote.clone(&format!("build-{n}")))
        .collect();
    let children: Vec<_> = order
        .iter()
        .zip(&clones)
        .map(|(n, dir)| {
            let n = n.to_string();
            spawn_release(
                dir,
                "svc-00",
                &format!("registry.example.com/svc-00:3.0.{n}"),
                &["--build-number", &n, "--source-repository", "shop/svc-00"],
            )
        })
        .collect();
    let mut refused = Vec::new();
    for (n, c) in order.iter().zip(children) {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            assert_eq!(out.status.code(), Some(7), "build {n}: {stderr}");
            assert!(
                stderr.starts_with(&format!(
                    "error: build {n} of shop/svc-00 is older than build "
                )),
                "build {n}: {stderr}"
            );
            refused.push(*n);
        }
    }
    assert!(!refused.contains(&6), "the newest build always lands");
    let check = remote.clone("check");
    let h = history_json(&check, "prod", "svc-00");
    let rows = h.as_array().unwrap();
    assert_eq!(rows.len(), order.len() - refused.len());
    assert_eq!(rows[0]["image"], "registry.example.com/svc-00:3.0.6");
    // Newest first: revisions count down by one, builds only go down.
    let revisions: Vec<u64> = rows
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, (1..=rows.len() as u64).rev().collect::<Vec<_>>());
    let builds: Vec<u64> = rows
        .iter()
        .map(|r| r["build_number"].as_u64().unwrap())
        .collect();
    assert!(builds.windows(2).all(|w| w[0] > w[1]), "{builds:?}");
}

/// Writes an executable script.
fn script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// A `PATH` whose `git` runs `action` (a shell command; `{real}` is the
/// real git) for the git subcommand `command` and is the real git
/// otherwise: a fault injected into real git.
fn git_wrapper(base: &Path, command: &str, action: &str) -> String {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let real = real.trim();
    let bin = base.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    script(
        &bin.join("git"),
        &format!(
            "#!/bin/sh\ncase \" $* \" in *\" {command} \"*) {};; esac\nexec '{real}' \"$@\"\n",
            action.replace("{real}", real)
        ),
    );
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

/// A remote that never answers (a hung credential helper or network) holds
/// the job only for `--git-timeout`: git is stopped, kit fails with exit 7
/// and says so, nothing is recorded (issue 26).
#[test]
fn a_remote_that_hangs_is_given_up_on() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let path = git_wrapper(&remote.base, "fetch", "exec sleep 60");
    let log = remote.log();
    let r = kit(
        &ci,
        &[
            "release",
            "-C",
            "deploy",
            "-e",
            "production",
            "-s",
            "myservicio",
            "--image",
            &format!("{IMAGE}:5.0"),
            "--author",
            "ci-bot",
            "--git-timeout",
            "1",
        ],
        &[("PATH", &path)],
        None,
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            7,
            "error: git fetch did not end within 1 s and was stopped\n  = hint: check the remote's address and credentials (git must not wait for a prompt); --git-timeout SECONDS sets the bound\n"
        )
    );
    assert_eq!(remote.log(), log);
}

/// A push whose acknowledgement is lost (git exits 128 after the remote
/// took the commit, as when the connection drops at the end) is a push:
/// kit asks the remote, says "pushed", and a retry records nothing twice
/// (issue 26).
#[test]
fn a_push_whose_answer_is_lost_is_judged_by_the_remote() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let path = git_wrapper(
        &remote.base,
        "push",
        "'{real}' \"$@\"; echo 'fatal: the remote end hung up unexpectedly' >&2; exit 128",
    );
    let before = remote.log().len();
    let run = || {
        kit(
            &ci,
            &[
                "release",
                "-C",
                "deploy",
                "-e",
                "production",
                "-s",
                "myservicio",
                "--image",
                &format!("{IMAGE}:5.0"),
                "--author",
                "ci-bot",
                "--source-commit",
                "abc",
            ],
            &[("PATH", &path)],
            None,
        )
    };
    let r = run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tip = git(&remote.bare, &["rev-parse", "main"]);
    assert!(
        r.stderr.starts_with(&format!(
            "kit: recorded revision 1 ({IMAGE}:5.0) for myservicio in production: commit {} pushed to origin/main (1 try)\n",
            &tip[..12]
        )),
        "{}",
        r.stderr
    );
    let r = run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("already released as revision 1"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.log().len(), before + 1);
}

/// A checkout that cannot be fast-forwarded after the push (a stale
/// `index.lock` left by a killed git) is said in one line, and `--apply`
/// still applies exactly what was pushed (issue 26).
#[test]
fn a_checkout_that_cannot_follow_is_said_and_the_pushed_record_applied() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    std::fs::write(ci.join(".git/index.lock"), "").unwrap();
    let rec = temp_dir("rec");
    let r = release_applying(&ci, &format!("{IMAGE}:6.0"), &rec, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("kit: the checkout was left as it was (git merge --ff-only failed: ")
            && r.stderr.contains("index.lock"),
        "{}",
        r.stderr
    );
    let pushed = git(
        &remote.bare,
        &["show", "main:deploy/releases/production/myservicio.yaml"],
    );
    assert!(
        pushed.contains(&format!("image: {IMAGE}:6.0\n")),
        "{pushed}"
    );
    let stdin = std::fs::read_to_string(rec.join("1.stdin")).unwrap();
    assert!(stdin.contains(&format!("image: {IMAGE}:6.0\n")), "{stdin}");
    // The checkout is where it was.
    assert_eq!(
        git(&ci, &["rev-parse", "HEAD"]),
        git(&remote.bare, &["rev-parse", "main~1"])
    );
}

/// A repository that signs its commits (`commit.gpgSign`) gets kit's
/// release commits signed too: `git commit-tree` alone would ignore the
/// setting (issue 26).
#[test]
fn releases_are_signed_when_the_repository_signs_commits() {
    let remote = demo_remote();
    let ci = remote.clone("ci");
    let gpg = remote.base.join("fake-gpg");
    let calls = remote.base.join("gpg-calls");
    // What git needs of gpg: the status line on --status-fd and an armored
    // signature on stdout.
    script(
        &gpg,
        &format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncat >/dev/null\nprintf '\\n[GNUPG:] SIG_CREATED D 1 8 00 1 F\\n' >&2\nprintf -- '-----BEGIN PGP SIGNATURE-----\\n\\nc2lnbmVk\\n-----END PGP SIGNATURE-----\\n'\n",
            calls.display()
        ),
    );
    git(&ci, &["config", "commit.gpgsign", "true"]);
    git(&ci, &["config", "user.signingkey", "KIT-TEST-KEY"]);
    git(&ci, &["config", "gpg.program", gpg.to_str().unwrap()]);
    let r = release(
        &ci,
        "production",
        "myservicio",
        &format!("{IMAGE}:7.0"),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let commit = git(&remote.bare, &["cat-file", "commit", "main"]);
    assert!(
        commit.contains("\ngpgsig -----BEGIN PGP SIGNATURE-----\n"),
        "{commit}"
    );
    let calls = std::fs::read_to_string(&calls).unwrap();
    assert!(calls.contains("KIT-TEST-KEY"), "{calls}");
}

/// SIGTERM while the push runs (a CI job cancelled): kit waits for the
/// push, says what it recorded, and ends by the signal; the retried job
/// records nothing twice (issue 26).
#[test]
fn sigterm_during_the_push_reports_what_was_recorded() {
    use std::os::unix::process::ExitStatusExt;
    let remote = demo_remote();
    let started = remote.base.join("push-started");
    script(
        &remote.bare.join("hooks/pre-receive"),
        &format!(
            "#!/bin/sh\ncat >/dev/null\ntouch '{}'\nsleep 1\nexit 0\n",
            started.display()
        ),
    );
    let ci = remote.clone("ci");
    let rec = temp_dir("rec");
    let recorder = root().join("tests/support/kubectl-recorder.sh");
    let image = format!("{IMAGE}:8.0");
    let child = Command::new(env!("CARGO_BIN_EXE_kit"))
        .current_dir(&ci)
        .args([
            "release",
            "-C",
            "deploy",
            "-e",
            "production",
            "-s",
            "myservicio",
            "--image",
            &image,
            "--author",
            "ci-bot",
            "--source-commit",
            "abc",
            "--apply",
            "--kubectl",
        ])
        .arg(&recorder)
        .env("KIT_REC_DIR", &rec)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::util::wait_until("the push to start", 30, || started.exists());
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(15),
        "kit ends by SIGTERM: {stderr}"
    );
    let tip = git(&remote.bare, &["rev-parse", "main"]);
    assert!(
        stderr.starts_with(&format!(
            "kit: recorded revision 1 ({image}) for myservicio in production: commit {} pushed to origin/main (1 try)\n",
            &tip[..12]
        )),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!(
            "kit: revision 1 is recorded (commit {}); nothing was applied\nkit: stopped by SIGTERM\n",
            &tip[..12]
        )),
        "{stderr}"
    );
    assert!(!rec.join("1.args").exists(), "kubectl never started");
    let r = release_applying(&ci, &image, &rec, &[], &["--source-commit", "abc"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("already released as revision 1"),
        "{}",
        r.stderr
    );
    assert!(rec.join("1.stdin").exists());
}
