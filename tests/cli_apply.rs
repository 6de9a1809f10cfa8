//! End-to-end tests of `kit apply`, `kit diff` and fleet runs, with a
//! recording stand-in for kubectl (tests/support/kubectl-recorder.sh).

use crate::util as cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cli::{Run, root};

fn recorder() -> String {
    root()
        .join("tests/support/kubectl-recorder.sh")
        .display()
        .to_string()
}

fn temp_dir() -> PathBuf {
    cli::temp_dir("apply")
}

fn kit(args: &[&str], env: &[(&str, &str)]) -> Run {
    cli::kit(&root(), args, env, None)
}

/// A recording directory and kit's arguments for a demo run.
fn demo(verb: &str, rec: &Path, extra: &[&str]) -> (Vec<String>, Vec<(String, String)>) {
    let mut args: Vec<String> = [verb, "-C", cli::unnamed_demo(), "--kubectl", &recorder()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    (
        args,
        vec![("KIT_REC_DIR".into(), rec.display().to_string())],
    )
}

fn run_demo(verb: &str, rec: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let (args, base) = demo(verb, rec, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut all: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend(env.iter().copied());
    kit(&args, &all)
}

fn recorded(rec: &Path, n: usize) -> Option<(Vec<String>, String)> {
    let args = std::fs::read_to_string(rec.join(format!("{n}.args"))).ok()?;
    let stdin = std::fs::read_to_string(rec.join(format!("{n}.stdin"))).unwrap();
    Some((args.lines().map(str::to_owned).collect(), stdin))
}

const TARGET: [&str; 4] = ["-e", "production", "-c", "nerdearla-cluster"];

#[test]
fn apply_pipes_exactly_what_render_prints_with_args_passed_through() {
    let rec = temp_dir();
    let mut extra = TARGET.to_vec();
    extra.extend([
        "--",
        "--prune",
        "-l",
        "app.kubernetes.io/managed-by=kit",
        "--wait",
    ]);
    let r = run_demo("apply", &rec, &extra, &[]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            0,
            "",
            "kit: apply production/nerdearla-cluster (context nerdearla)\n"
        )
    );
    let (args, stdin) = recorded(&rec, 1).expect("kubectl ran");
    assert_eq!(
        args,
        [
            "apply",
            "-f",
            "-",
            "--context",
            "nerdearla",
            "--server-side",
            "--field-manager=kit",
            "--prune",
            "-l",
            "app.kubernetes.io/managed-by=kit",
            "--wait"
        ]
    );
    let mut render = vec!["render", "-C", cli::unnamed_demo()];
    render.extend(TARGET);
    assert_eq!(stdin, kit(&render, &[]).stdout);
    assert!(recorded(&rec, 2).is_none(), "kubectl ran once");
}

#[test]
fn contexts_are_explicit_and_printed_never_kubectls_current_one() {
    // --context overrides kit.yaml's for a one-cluster run, and is printed.
    let rec = temp_dir();
    let mut extra = TARGET.to_vec();
    extra.extend(["--context", "elsewhere"]);
    let r = run_demo("diff", &rec, &extra, &[]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            0,
            "kit: diff production/nerdearla-cluster (context elsewhere)\n"
        )
    );
    assert_eq!(
        recorded(&rec, 1).unwrap().0,
        [
            "diff",
            "-f",
            "-",
            "--context",
            "elsewhere",
            "--server-side",
            "--field-manager=kit",
            "--force-conflicts"
        ]
    );
    // A context after `--` would be ambiguous: refused before kubectl.
    let rec = temp_dir();
    let mut extra = TARGET.to_vec();
    extra.extend(["--", "--context=elsewhere"]);
    let r = run_demo("diff", &rec, &extra, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(
        r.stderr.starts_with(
            "error: --context after `--` is not passed on: kit sets the context of each cluster\n"
        ),
        "{}",
        r.stderr
    );
    assert!(recorded(&rec, 1).is_none());
    // A cluster without `context:` needs --context.
    let dir = cli::project(
        cli::MINIMAL,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
        "x",
    );
    let rec = temp_dir();
    let recorder_path = recorder();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "apply",
            "--kubectl",
            &recorder_path,
            "-e",
            "prod",
            "-c",
            "c1",
        ];
        args.extend(extra);
        cli::kit(&dir, &args, &[("KIT_REC_DIR", rec.to_str().unwrap())], None)
    };
    let r = run(&[]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            2,
            "",
            "error: cluster 'prod/c1' has no context in kit.yaml, and no --context was given\n  = hint: set `context:` for the cluster in kit.yaml (or give --context CONTEXT for a one-cluster run); kit never uses kubectl's current context silently\n"
        )
    );
    assert!(recorded(&rec, 1).is_none());
    let r = run(&["--context", "kind-c1"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, "kit: apply prod/c1 (context kind-c1)\n")
    );
    assert_eq!(
        recorded(&rec, 1).unwrap().0,
        [
            "apply",
            "-f",
            "-",
            "--context",
            "kind-c1",
            "--server-side",
            "--field-manager=kit"
        ]
    );
}

#[test]
fn exit_codes_pass_through() {
    for (verb, code) in [
        ("apply", "0"),
        ("apply", "1"),
        ("apply", "2"),
        ("apply", "7"),
        ("diff", "0"),
        ("diff", "1"),
        ("diff", "2"),
    ] {
        let rec = temp_dir();
        let r = run_demo(verb, &rec, &TARGET, &[("KIT_REC_EXIT", code)]);
        assert_eq!(r.code.to_string(), code, "{verb} {code}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn kubectl_never_starts_when_rendering_fails() {
    let rec = temp_dir();
    let r = run_demo("apply", &rec, &["-e", "prod", "-c", "x"], &[]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "error: unknown environment 'prod' (known: production, staging)\n"
        )
    );
    assert!(recorded(&rec, 1).is_none(), "kubectl must not run");
    let mut extra = TARGET.to_vec();
    extra.extend(["--set", "kit=1"]);
    let r = run_demo("apply", &rec, &extra, &[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(recorded(&rec, 1).is_none(), "kubectl must not run");
    let mut extra = TARGET.to_vec();
    extra.push("--redact");
    let r = run_demo("apply", &rec, &extra, &[]);
    assert_eq!(r.code, 2);
    assert!(recorded(&rec, 1).is_none());
}

#[test]
fn missing_kubectl_is_a_clear_error() {
    let r = kit(
        &[
            "apply",
            "-C",
            cli::unnamed_demo(),
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
            "--kubectl",
            "/nonexistent/kubectl",
        ],
        &[],
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            127,
            "",
            "error: kubectl not found: '/nonexistent/kubectl'\n  = hint: install kubectl, or point --kubectl / KIT_KUBECTL at it\n"
        )
    );
    let r = kit(
        &[
            "diff",
            "-C",
            cli::unnamed_demo(),
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
        ],
        &[("KIT_KUBECTL", "no-such-kubectl-here")],
    );
    assert_eq!(r.code, 127);
    assert!(
        r.stderr
            .starts_with("error: kubectl not found: 'no-such-kubectl-here'")
    );
}

/// Starts `kit apply` on the demo target with the stand-in waiting in its
/// runs whose first argument is `waiting_verb`, and sends SIGTERM to kit
/// (only) once the stand-in's run `n` waits. Returns how kit ended and
/// its stderr.
#[cfg(unix)]
fn sigterm_while_kubectl_runs(
    rec: &Path,
    extra: &[&str],
    waiting_verb: &str,
    n: usize,
) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let (args, _) = demo("apply", rec, &[&TARGET[..], extra].concat());
    let mut child = Command::new(env!("CARGO_BIN_EXE_kit"))
        .args(&args)
        .current_dir(root())
        .env("KIT_REC_DIR", rec)
        .env("KIT_REC_WAIT", waiting_verb)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waiting = rec.join(format!("{n}.waiting"));
    cli::wait_until(&format!("the stand-in's run {n} waits"), 60, || {
        waiting.exists()
    });
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

#[cfg(unix)]
#[test]
fn sigterm_reaches_kubectl_and_kit_ends_by_it_after_kubectl() {
    use std::os::unix::process::ExitStatusExt;
    let rec = temp_dir();
    let (status, stderr) = sigterm_while_kubectl_runs(&rec, &[], "apply", 1);
    assert_eq!(status.signal(), Some(15), "kit ends by SIGTERM: {stderr}");
    assert_eq!(
        std::fs::read_to_string(rec.join("1.signal")).unwrap(),
        "TERM\n"
    );
    assert_eq!(
        stderr,
        "kit: apply production/nerdearla-cluster (context nerdearla)\nstand-in: waiting\nkit: stopped by SIGTERM\n"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_during_wait_stops_the_wait_and_kit() {
    // Waiting for the first workload (run 2, after the apply): kubectl's
    // wait gets the signal, kit ends by it and waits for nothing more. (kit
    // once stopped catching signals after its first kubectl, and waited out
    // every workload's timeout.)
    use std::os::unix::process::ExitStatusExt;
    let rec = temp_dir();
    let (status, stderr) = sigterm_while_kubectl_runs(&rec, &["--wait=90s"], "wait", 2);
    assert_eq!(status.signal(), Some(15), "kit ends by SIGTERM: {stderr}");
    assert_eq!(
        std::fs::read_to_string(rec.join("2.signal")).unwrap(),
        "TERM\n"
    );
    assert!(recorded(&rec, 3).is_none(), "kit went on waiting");
    assert_eq!(
        stderr,
        "kit: apply production/nerdearla-cluster (context nerdearla)\nkit: stopped by SIGTERM\n"
    );
}

#[test]
fn fleet_apply_runs_each_cluster_with_its_context() {
    let rec = temp_dir();
    let r = run_demo("apply", &rec, &["--all", "--parallel", "1"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "kit: apply production/nerdearla-cluster (context nerdearla)\n\
         kit: apply production/other-cluster (context other)\n\
         kit: apply staging/staging-cluster (context staging)\n\
         kit: apply summary: succeeded: production/nerdearla-cluster, production/other-cluster, staging/staging-cluster; failed: none; skipped: none\n"
    );
    let contexts: Vec<String> = (1..=3)
        .map(|n| recorded(&rec, n).unwrap().0[4].clone())
        .collect();
    assert_eq!(contexts, ["nerdearla", "other", "staging"]);
    let all: String = (1..=3).map(|n| recorded(&rec, n).unwrap().1).collect();
    assert_eq!(
        all,
        kit(&["render", "-C", cli::unnamed_demo(), "--all"], &[]).stdout
    );
}

#[test]
fn fleet_apply_stops_at_the_first_failure_unless_keep_going() {
    let rec = temp_dir();
    let env = [
        ("KIT_REC_FAIL_CONTEXT", "other"),
        ("KIT_REC_FAIL_CODE", "3"),
    ];
    let r = run_demo("apply", &rec, &["--all", "--parallel=1"], &env);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.ends_with("kit: apply summary: succeeded: production/nerdearla-cluster; failed: production/other-cluster (exit 3); skipped: staging/staging-cluster\n"),
        "{}",
        r.stderr
    );
    assert!(recorded(&rec, 3).is_none(), "staging was skipped");
    let rec = temp_dir();
    let r = run_demo(
        "apply",
        &rec,
        &["--all", "--keep-going", "--parallel=1"],
        &env,
    );
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.ends_with("kit: apply summary: succeeded: production/nerdearla-cluster, staging/staging-cluster; failed: production/other-cluster (exit 3); skipped: none\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn fleet_apply_in_parallel_keeps_each_clusters_output_together_and_tagged() {
    let rec = temp_dir();
    let r = run_demo(
        "apply",
        &rec,
        &["--all", "--parallel", "3"],
        &[("KIT_REC_SAY", "1")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // All three ran at once, each with its own context and stream.
    let mut contexts: Vec<String> = (1..=3)
        .map(|n| recorded(&rec, n).unwrap().0[4].clone())
        .collect();
    contexts.sort();
    assert_eq!(contexts, ["nerdearla", "other", "staging"]);
    // Each cluster's lines come as one block, in the order they were said,
    // each tagged; the blocks in the order the clusters finished.
    let block = |cluster: &str, context: &str| {
        format!(
            "kit: apply {cluster} (context {context})\n\
             [{cluster}] stand-in: begins on {context}\n\
             [{cluster}] stand-in: ends on {context}\n"
        )
    };
    let mut rest = r.stderr.as_str();
    let mut seen = Vec::new();
    while let Some(line) = rest
        .lines()
        .next()
        .filter(|l| l.starts_with("kit: apply ") && !l.contains("summary"))
    {
        let (cluster, context) = [
            ("production/nerdearla-cluster", "nerdearla"),
            ("production/other-cluster", "other"),
            ("staging/staging-cluster", "staging"),
        ]
        .into_iter()
        .find(|(c, _)| line.starts_with(&format!("kit: apply {c} ")))
        .unwrap_or_else(|| panic!("unexpected line {line:?} in {}", r.stderr));
        let want = block(cluster, context);
        assert!(
            rest.starts_with(&want),
            "{cluster}'s block is not together:\n{}",
            r.stderr
        );
        rest = &rest[want.len()..];
        seen.push(cluster);
    }
    seen.sort();
    assert_eq!(seen.len(), 3, "{}", r.stderr);
    assert_eq!(
        rest,
        "kit: apply summary: succeeded: production/nerdearla-cluster, production/other-cluster, staging/staging-cluster; failed: none; skipped: none\n"
    );
    let mut out: Vec<&str> = r.stdout.lines().collect();
    out.sort();
    assert_eq!(
        out,
        [
            "[production/nerdearla-cluster] stand-in: apply on nerdearla",
            "[production/other-cluster] stand-in: apply on other",
            "[staging/staging-cluster] stand-in: apply on staging",
        ]
    );
}

#[test]
fn fleet_apply_in_parallel_starts_no_cluster_after_a_failure() {
    // Two at once: nerdearla fails at once while other is still running;
    // other finishes, staging is never started.
    let rec = temp_dir();
    let env = [
        ("KIT_REC_FAIL_CONTEXT", "nerdearla"),
        ("KIT_REC_FAIL_CODE", "3"),
        ("KIT_REC_SLOW_CONTEXT", "other"),
    ];
    let r = run_demo("apply", &rec, &["--all", "--parallel", "2"], &env);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.ends_with("kit: apply summary: succeeded: production/other-cluster; failed: production/nerdearla-cluster (exit 3); skipped: staging/staging-cluster\n"),
        "{}",
        r.stderr
    );
    assert!(recorded(&rec, 3).is_none(), "staging was started");
    // --keep-going: every cluster, the failure still the exit code.
    let rec = temp_dir();
    let r = run_demo(
        "apply",
        &rec,
        &["--all", "--parallel", "2", "--keep-going"],
        &env,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.ends_with("kit: apply summary: succeeded: production/other-cluster, staging/staging-cluster; failed: production/nerdearla-cluster (exit 3); skipped: none\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn fleet_diff_treats_differences_as_success() {
    let rec = temp_dir();
    let r = run_demo("diff", &rec, &["--all"], &[("KIT_REC_EXIT", "1")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.ends_with("failed: none; skipped: none\n"),
        "{}",
        r.stderr
    );
}

/// Every file under `dir`: (path relative to `base`, contents).
fn tree_under(base: &Path, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(tree_under(base, &p));
        } else {
            out.push((
                p.strip_prefix(base).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree_under(dir, dir)
}

#[test]
fn render_output_dir_writes_a_complete_identical_tree() {
    let (a, b) = (temp_dir().join("out"), temp_dir().join("out"));
    for d in [&a, &b] {
        let r = kit(
            &[
                "render",
                "-C",
                cli::unnamed_demo(),
                "--all",
                "--output-dir",
                &d.display().to_string(),
            ],
            &[],
        );
        assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
        assert_eq!(
            r.stderr,
            format!("kit: wrote 19 files under {}\n", d.display())
        );
    }
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta, tb, "two runs differ");
    let names: Vec<&str> = ta.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(
            &"production/nerdearla-cluster/myservicio/shop/deployment.apps-myservicio.yaml"
        ),
        "{names:?}"
    );
    assert!(
        names.contains(&"staging/staging-cluster/worker/shop/secret-worker-env.yaml"),
        "{names:?}"
    );
    assert_eq!(names.len(), 19);
    let r = kit(
        &[
            "render",
            "-C",
            cli::unnamed_demo(),
            "--all",
            "--output-dir",
            &a.display().to_string(),
        ],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with(&format!("error: --output-dir {} is not empty", a.display()))
    );
}

#[test]
fn completions_and_man_page() {
    let r = kit(&["completions", "bash"], &[]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("complete -F _kit"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    let r = kit(&["man"], &[]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &r.stdout[..80.min(r.stdout.len())]
    );
    assert!(r.stdout.contains("kit"));
}

#[test]
fn repeated_cluster_selectors_run_each_cluster() {
    let rec = temp_dir();
    let r = run_demo(
        "apply",
        &rec,
        &[
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
            "-c",
            "other-cluster",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // (Applied at once: in either order.)
    let mut contexts: Vec<String> = (1..=2)
        .map(|n| recorded(&rec, n).unwrap().0[4].clone())
        .collect();
    contexts.sort();
    assert_eq!(contexts, ["nerdearla", "other"]);
    assert!(recorded(&rec, 3).is_none());
}

#[test]
fn wait_checks_every_workload_of_the_cluster_after_applying() {
    let rec = temp_dir();
    let mut extra = TARGET.to_vec();
    extra.push("--wait=90s");
    let r = run_demo("apply", &rec, &extra, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
    assert_eq!(recorded(&rec, 1).unwrap().0[0], "apply");
    let waits: Vec<String> = (2..=4)
        .map(|n| recorded(&rec, n).expect("a wait per workload").0.join(" "))
        .collect();
    assert_eq!(
        waits,
        [
            "wait --for=condition=Ready pod/envar-demo --namespace shop --timeout=90s --context nerdearla",
            "rollout status deployment.apps/myservicio --namespace shop --timeout=90s --context nerdearla",
            "rollout status deployment.apps/worker --namespace shop --timeout=90s --context nerdearla",
        ]
    );
    assert!(recorded(&rec, 5).is_none());
    // A bad duration is a usage error before anything runs.
    let rec = temp_dir();
    let mut extra = TARGET.to_vec();
    extra.push("--wait=soon");
    let r = run_demo("apply", &rec, &extra, &[]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: --wait \"soon\" is not a duration\n  = hint: write seconds, minutes, hours or days: 90s, 5m, 1h, 3d\n"
        )
    );
    assert!(recorded(&rec, 1).is_none());
}

#[test]
fn create_namespace_and_prune_ask_the_cluster_first() {
    // The stand-in answers queries from a file: namespace `shop` is missing.
    let rec = temp_dir();
    let answers = rec.join("answers");
    std::fs::write(&answers, "namespace/default\nnamespace/kube-system\n").unwrap();
    let mut extra = TARGET.to_vec();
    extra.push("--create-namespace");
    let r = run_demo(
        "apply",
        &rec,
        &extra,
        &[("KIT_REC_GET_OUT", answers.to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "kit: apply production/nerdearla-cluster (context nerdearla)\nkit: created namespace shop (context nerdearla)\n"
    );
    assert_eq!(
        recorded(&rec, 1).unwrap().0,
        ["create", "namespace", "shop", "--context", "nerdearla"]
    );
    assert_eq!(recorded(&rec, 2).unwrap().0[0], "apply");
    assert_eq!(
        std::fs::read_to_string(rec.join("get.log")).unwrap(),
        "get namespaces -o name --context nerdearla\n"
    );
    // --prune needs the project's identity (kit.yaml's `name:`): refused
    // before any kubectl runs, for diff and apply alike. (Pruning itself is
    // tested against the real API server: tests/cli_cluster.rs.)
    for verb in ["diff", "apply"] {
        let rec = temp_dir();
        let mut extra = TARGET.to_vec();
        extra.push("--prune");
        let r = run_demo(verb, &rec, &extra, &[]);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (
                2,
                "",
                "error: --prune needs the project's identity: kit.yaml has no `name:`\n  = hint: add `name: <project>` (a DNS label, unique per cluster) to kit.yaml and apply once: kit then keeps an inventory of what it applied on each cluster, and prunes and deletes only from it\n"
            ),
            "{verb}"
        );
        assert!(recorded(&rec, 1).is_none(), "{verb}: kubectl never ran");
        assert!(!rec.join("get.log").exists(), "{verb}: not even a query");
    }
}

#[test]
fn messages_about_applied_objects_never_name_a_secret() {
    // A secret whose value is the service's name: the Deployment kit
    // waits for is named after a secret, and kit's messages say
    // `<redacted>` (kubectl's own output is kubectl's).
    let dir = temp_dir();
    cli::copy_dir(Path::new(cli::unnamed_demo()), &dir);
    cli::write(&dir, &[("secrets/production/common/DB_NAME", "myservicio")]);
    let rec = temp_dir();
    let r = cli::kit(
        &dir,
        &[
            "apply",
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
            "-s",
            "myservicio",
            "--wait=5s",
            "--kubectl",
            &recorder(),
        ],
        &[
            ("KIT_REC_DIR", rec.to_str().unwrap()),
            ("KIT_REC_FAIL_ONCE", "rollout"),
        ],
        None,
    );
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("error: <redacted> did not become ready within 5s on context nerdearla: "),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("myservicio"), "{}", r.stderr);
}
