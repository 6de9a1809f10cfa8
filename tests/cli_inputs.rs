//! Every input means what it says or fails loudly (issue 11): YAML 1.2
//! keys, numbers kept or refused, Helm's `--set` forms, unused values keys.

use crate::util as cli;

use cli::{MINIMAL, Run, project, write};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n";

fn render(dir: &std::path::Path, extra: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut args = vec!["render", "-e", "prod", "-c", "c1"];
    args.extend(extra);
    cli::kit(dir, &args, &[], stdin)
}

/// The document's `data:` lines, after kit's header.
fn data(r: &Run) -> String {
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .split("\ndata:\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn yaml_1_1_words_are_strings_in_keys_and_values() {
    let tpl = format!(
        "{CM}  n: \"{{{{#flags.n}}}}set{{{{/flags.n}}}}\"\n  y: \"{{{{pos.y}}}}\"\n  on: {{{{words.on}}}}\n  yes: {{{{words.yes}}}}\n  answer: {{{{answer}}}}\n"
    );
    let dir = project(MINIMAL, &tpl, "x");
    write(
        &dir,
        &[(
            "v.yaml",
            "flags: {n: true}\npos: {y: 3}\nwords: {on: a, yes: b}\nanswer: yes\n",
        )],
    );
    let r = render(&dir, &["-f", "v.yaml"], None);
    assert_eq!(
        data(&r),
        "  n: \"set\"\n  y: \"3\"\n  on: a\n  yes: b\n  answer: \"yes\"\n"
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn numbers_keep_their_value_or_the_file_is_refused() {
    let tpl = format!("{CM}  port: \"{{{{port}}}}\"\n");
    let dir = project(MINIMAL, &tpl, "x");
    write(
        &dir,
        &[
            ("octal.yaml", "# a port\nport: 08080\n"),
            ("big.json", "{\"port\": 123456789012345678901234567890}"),
            ("quoted.yaml", "port: \"08080\"\n"),
            ("dup.json", "{\"port\": 1, \"port\": 2}"),
        ],
    );
    let r = render(&dir, &["-f", "octal.yaml"], None);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(
        r.stderr,
        "error: octal.yaml:2:7: 08080 has a leading zero: YAML 1.1 readers take it as octal, YAML 1.2 readers as decimal, so kit refuses to guess\n  = hint: write 8080 for the decimal number, or quote it, \"08080\", for text\n"
    );
    let r = render(&dir, &["-f", "big.json"], None);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(
        r.stderr,
        "error: big.json:1:10: 123456789012345678901234567890 does not fit in a 64-bit integer and would lose digits\n  = hint: quote it, \"123456789012345678901234567890\", to keep it as text\n"
    );
    assert_eq!(
        data(&render(&dir, &["-f", "quoted.yaml"], None)),
        "  port: \"08080\"\n"
    );
    let r = render(&dir, &["-f", "dup.json"], None);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr.contains("duplicate mapping key: port"),
        "{}",
        r.stderr
    );
    // kit.yaml too, and `kit template` data.
    let dir = project(
        "values:\n  mode: 0777\nenvironments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web: {}\n",
        &tpl,
        "x",
    );
    let r = render(&dir, &[], None);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr
            .starts_with("error: ./kit.yaml:2:9: 0777 has a leading zero")
            && r.stderr
                .contains("write 777 for the decimal number, 0o777 for octal"),
        "{}",
        r.stderr
    );
    write(
        &dir,
        &[("t.txt", "{{a}}"), ("d.json", "{\"a\": 1, \"a\": 2}")],
    );
    let r = cli::kit(&dir, &["template", "t.txt", "-d", "d.json"], &[], None);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr.contains("duplicate mapping key: a"),
        "{}",
        r.stderr
    );
}

#[test]
fn set_follows_helm() {
    let tpl = format!(
        "{CM}  replicas: \"{{{{replicas}}}}\"\n  port: \"{{{{port}}}}\"\n  tag: {{{{tag}}}}\n  first: {{{{#args}}}}{{{{.}}}} {{{{/args}}}}\n  os: {{{{sel.os}}}}\n  note: {{{{note}}}}\n  cert: {{{{cert}}}}\n  json: {{{{j.a}}}}-{{{{j.b}}}}\n"
    );
    let dir = project(MINIMAL, &tpl, "x");
    write(&dir, &[("ca.pem", "-----BEGIN-----\nabc\n")]);
    let r = render(
        &dir,
        &[
            "--set",
            "replicas=2,port=1,tag=1.10",
            "--set",
            "args[1]=-v,args[0]=run,sel.os=linux",
            "--set-string",
            r"note=a\,b",
            "--set-file",
            "cert=ca.pem",
            "--set-json",
            r#"j={"a": 1, "b": [2]}"#,
        ],
        None,
    );
    // A list cannot be interpolated; j.b is refused.
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("'j.b' is a list"), "{}", r.stderr);
    let r = render(
        &dir,
        &[
            "--set",
            "replicas=2,port=1,tag=1.10",
            "--set",
            "args[1]=-v,args[0]=run,sel.os=linux",
            "--set-string",
            r"note=a\,b",
            "--set-file",
            "cert=ca.pem",
            "--set-json",
            r#"j={"a": 1, "b": "x,y"}"#,
        ],
        None,
    );
    assert_eq!(
        data(&r),
        "  replicas: \"2\"\n  port: \"1\"\n  tag: \"1.10\"\n  first: run -v \n  os: linux\n  note: a,b\n  cert: \"-----BEGIN-----\\nabc\\n\"\n  json: 1-x,y\n"
    );
    // -f - reads standard input.
    let r = render(
        &dir,
        &["-f", "-", "--set", "args={a}"],
        Some(b"replicas: 5\nport: 6\ntag: t\nargs: [x]\nsel: {os: w}\nnote: n\ncert: c\nj: {a: 1, b: 2}\n"),
    );
    assert_eq!(
        data(&r),
        "  replicas: \"5\"\n  port: \"6\"\n  tag: t\n  first: a \n  os: w\n  note: \"n\"\n  cert: c\n  json: \"1-2\"\n"
    );
    let r = render(&dir, &["--set", "a,b=1"], None);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(
        r.stderr.starts_with("error: invalid setting 'a,b=1': 'a' has no value (write a=VALUE; a comma separates settings, \\, is a comma)\n  = hint: the syntax is Helm's"),
        "{}",
        r.stderr
    );
    let r = render(&dir, &["--set-file", "cert=nope.pem"], None);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(
        r.stderr
            .starts_with("error: invalid setting 'cert=nope.pem': cannot read nope.pem: "),
        "{}",
        r.stderr
    );
}

#[test]
fn unused_values_keys_are_warnings_naming_key_and_origin() {
    let tpl = format!("{CM}  cpu: \"{{{{resources.cpu}}}}\"\n");
    let dir = project(
        "values:\n  resources: {cpu: 1}\nenvironments:\n  prod:\n    values: {replica: 2}\n    clusters:\n      c1: {}\n  other:\n    values: {elsewhere: 1}\n    clusters:\n      c9: {}\nservices:\n  web: {}\n",
        &tpl,
        "x",
    );
    write(&dir, &[("v.yaml", "resources:\n  cpuu: 2\n")]);
    let r = render(&dir, &["-f", "v.yaml", "--set", "replicas=3"], None);
    assert_eq!(data(&r), "  cpu: \"1\"\n");
    assert_eq!(
        r.stderr,
        "warning: values key 'replica' (from kit.yaml (environments.prod.values)) is not used by any template or partial\n\
         warning: values key 'resources.cpuu' (from v.yaml) is not used by any template or partial\n\
         warning: values key 'replicas' (from --set) is not used by any template or partial\n"
    );
}

const WORKER: [&str; 6] = [
    "-e",
    "production",
    "-c",
    "nerdearla-cluster",
    "-s",
    "worker",
];

fn in_demo(args: &[&str], extra: &[&str]) -> Run {
    let mut all = vec![args[0], "-C", "fixtures/demo"];
    all.extend(&args[1..]);
    all.extend(extra);
    cli::kit(&cli::root(), &all, &[], None)
}

#[test]
fn env_and_exec_give_exactly_the_rendered_services_variables() {
    let mut args = vec!["env", "-o", "dotenv"];
    args.extend(WORKER);
    let r = in_demo(&args, &[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    // env: entries of kit.yaml (APP_ENV layered, QUEUE_CONCURRENCY) and the
    // secrets; never the checksum key.
    assert_eq!(
        r.stdout,
        "APP_ENV=\"production\"\nLOG_LEVEL=\"info\"\nQUEUE_CONCURRENCY=\"4\"\nQUEUE_URL=\"amqp://worker:w0rk3r-pass@mq.invisionapp.local:5672\"\nREDIS_HOST=\"redis.production.invisionapp.local\"\nS3_BUCKET=\"nerdearla-assets\"\n"
    );
    // The same names the rendered Secret and Deployment carry.
    let mut render = vec!["render"];
    render.extend(WORKER);
    let rendered = in_demo(&render, &[]).stdout;
    for line in r.stdout.lines() {
        let name = line.split('=').next().unwrap();
        assert!(
            rendered.contains(&format!("  {name}: "))
                || rendered.contains(&format!("name: {name}\n")),
            "{name}"
        );
    }
    let mut exec = vec!["exec"];
    exec.extend(WORKER);
    exec.extend([
        "--",
        "sh",
        "-c",
        "echo \"$APP_ENV $QUEUE_CONCURRENCY ${KIT_CHECKSUM_KEY-none}\"; exit 7",
    ]);
    let r = in_demo(&exec, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (7, "production 4 none\n"));
    let mut exec = vec!["exec"];
    exec.extend(WORKER);
    exec.extend(["--", "no-such-command-kit"]);
    let r = in_demo(&exec, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (127, ""));
    assert!(
        r.stderr
            .starts_with("error: cannot run 'no-such-command-kit': "),
        "{}",
        r.stderr
    );
}

#[test]
fn env_and_exec_refuse_names_the_project_does_not_have() {
    let r = in_demo(
        &[
            "env",
            "-e",
            "production",
            "-c",
            "other-cluster",
            "-s",
            "worker",
        ],
        &[],
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            4,
            "",
            "error: service 'worker' is disabled on cluster 'other-cluster'\n"
        )
    );
    let r = in_demo(
        &[
            "exec",
            "-e",
            "production",
            "-c",
            "nerdearla-cluster",
            "-s",
            "workr",
            "--",
            "true",
        ],
        &[],
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            4,
            "",
            "error: unknown service 'workr' (known: myservicio, envar-demo, worker)\n"
        )
    );
    let r = in_demo(
        &[
            "env",
            "-e",
            "prod",
            "-c",
            "nerdearla-cluster",
            "-s",
            "worker",
        ],
        &[],
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "error: unknown environment 'prod' (known: production, staging, preview)\n"
        )
    );
    // No project and no --secrets-from: a usage error.
    let dir = cli::temp_dir("noproject");
    let r = cli::kit(&dir, &["env", "-e", "a", "-c", "b", "-s", "c"], &[], None);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            2,
            "",
            "error: no kit.yaml in . and no --secrets-from\n  = hint: run in the project (-C DIR, KIT_PROJECT), or name a secret source with --secrets-from SOURCE\n"
        )
    );
    // A conflict between env: and a secret fails as rendering does.
    let dir = project(
        "env:\n  PASSWORD: plain\nenvironments:\n  prod:\n    clusters:\n      c1: {}\nservices:\n  web: {}\n",
        &format!("{CM}  a: b\n"),
        "s3cr3t-value",
    );
    let r = cli::kit(
        &dir,
        &["env", "-e", "prod", "-c", "c1", "-s", "web"],
        &[],
        None,
    );
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert!(
        r.stderr.starts_with(
            "error: variable 'PASSWORD' of service 'web' is defined both in env: and as a secret"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cr3t"), "{}", r.stderr);
}

#[test]
fn trailing_line_breaks_one_policy_for_every_command() {
    let tpl = format!("{CM}  password: {{{{secrets.PASSWORD}}}}\n");
    let dir = project(MINIMAL, &tpl, "pa55word\n");
    let warning = "warning: secret 'PASSWORD' (prod/c1/web/PASSWORD) ends in a line break, kept byte-exact (kit --trim, or trim_secrets: true in kit.yaml, removes trailing white space)\n";
    let r = render(&dir, &[], None);
    assert_eq!(data(&r), "  password: \"pa55word\\n\"\n");
    assert_eq!(r.stderr, warning);
    let env = ["env", "-e", "prod", "-c", "c1", "-s", "web", "-o", "shell"];
    let r = cli::kit(&dir, &env, &[], None);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "export PASSWORD='pa55word\n'\n", warning)
    );
    // --trim (or KIT_TRIM) for one run.
    let r = render(&dir, &["--trim"], None);
    assert_eq!(
        (data(&r), r.stderr.as_str()),
        ("  password: pa55word\n".into(), "")
    );
    let r = cli::kit(&dir, &env, &[("KIT_TRIM", "true")], None);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "export PASSWORD='pa55word'\n", "")
    );
    // trim_secrets: true in kit.yaml, for every command.
    write(
        &dir,
        &[("kit.yaml", &format!("trim_secrets: true\n{MINIMAL}"))],
    );
    let r = render(&dir, &[], None);
    assert_eq!(
        (data(&r), r.stderr.as_str()),
        ("  password: pa55word\n".into(), "")
    );
    let r = cli::kit(
        &dir,
        &[
            "exec",
            "-e",
            "prod",
            "-c",
            "c1",
            "-s",
            "web",
            "--",
            "sh",
            "-c",
            "printf '[%s]' \"$PASSWORD\"",
        ],
        &[],
        None,
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "[pa55word]", "")
    );
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {{replicas}}\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx\n{{> probe}}\n          env:\n            - name: PASSWORD\n              value: {{secrets.PASSWORD}}\n";

#[test]
fn manifests_are_validated_against_the_kubernetes_schema_at_the_template_line() {
    let dir = project(MINIMAL, DEPLOY, "hunter2-secret");
    write(
        &dir,
        &[(
            "partials/probe.mustache",
            "          readinessProbe:\n            httpGet: {path: /, port: 80}\n            periodSecond: 5\n",
        )],
    );
    // A wrong type from a value, located at the tag that wrote it.
    let r = render(&dir, &["--set-string", "replicas=five"], None);
    assert_eq!((r.code, r.stdout.as_str()), (6, ""));
    assert_eq!(
        r.stderr,
        "error: web/main.yaml:6:13: spec.replicas: expected an integer, got a string (rendered document 1, line 6, column 13)\n  |\n6 |   replicas: {{replicas}}\n  |             ^\n  = hint: --debug prints the rendered document (secret values as fingerprints)\n"
    );
    // An unknown field written by a partial, located in the partial.
    let r = render(&dir, &["--set", "replicas=2", "--debug"], None);
    assert_eq!((r.code, r.stdout.as_str()), (6, ""));
    assert!(
        r.stderr.starts_with(
            "error: probe:3:13: spec.template.spec.containers[0].readinessProbe.periodSecond: unknown field (did you mean 'periodSeconds'?) (rendered document 1 of web/main.yaml, line 17, column 13)\n  |\n3 |             periodSecond: 5\n  |             ^\n  = the rendered document (secret values as fingerprints):\n      1 | apiVersion: apps/v1\n"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("  >  17 |             periodSecond: 5\n"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("              value: redacted:"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    // Fixed, it renders.
    write(
        &dir,
        &[(
            "partials/probe.mustache",
            "          readinessProbe:\n            httpGet: {path: /, port: 80}\n            periodSeconds: 5\n",
        )],
    );
    let r = render(&dir, &["--set", "replicas=2"], None);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    // A kind the chosen version does not serve; custom resources pass.
    let dir = project(
        MINIMAL,
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: p\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {anything: [1]}\n",
        "x",
    );
    let r = render(&dir, &[], None);
    assert_eq!((r.code, r.stdout.as_str()), (6, ""));
    assert!(r.stderr.starts_with("error: web/main.yaml:1:1: Kubernetes 1.37 does not serve kind PodSecurityPolicy in apiVersion policy/v1beta1 (rendered document 1, line 1, column 1)\n"), "{}", r.stderr);
    // kit.yaml chooses the version, or turns validation off.
    write(
        &dir,
        &[(
            "kit.yaml",
            &format!("kubernetes: {{version: \"1.20\"}}\n{MINIMAL}"),
        )],
    );
    let r = render(&dir, &[], None);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""));
    assert_eq!(
        r.stderr,
        "error: ./kit.yaml: kubernetes.version \"1.20\" is not one kit bundles (choose from 1.34, 1.35, 1.36, 1.37)\n"
    );
    write(
        &dir,
        &[(
            "kit.yaml",
            &format!("kubernetes: {{validate: false}}\n{MINIMAL}"),
        )],
    );
    let r = render(&dir, &[], None);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
}

#[test]
fn config_maps_and_secrets_roll_the_services_pods() {
    let tpl = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  level: {{level}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx\n          envFrom: [{configMapRef: {name: web-config}}]\n";
    let dir = project(MINIMAL, tpl, "pw-1234");
    let annotations = |level: &str| {
        let r = render(&dir, &["--set", &format!("level={level}")], None);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let find = |key: &str| {
            let at = r
                .stdout
                .find(&format!("{key}: \""))
                .unwrap_or_else(|| panic!("{key}: {}", r.stdout))
                + key.len()
                + 3;
            r.stdout[at..at + 64].to_owned()
        };
        (find("kit.dev/env-sha256"), find("kit.dev/config-sha256"))
    };
    let (env_a, config_a) = annotations("info");
    let (env_b, config_b) = annotations("debug");
    assert_eq!(env_a, env_b, "the variables did not change");
    assert_ne!(config_a, config_b, "the ConfigMap changed: the pods roll");
    assert_eq!(annotations("info").1, config_a, "stable for the same input");
    assert!(config_a.bytes().all(|b| b.is_ascii_hexdigit()));
    // The annotation sits in the pod template, beside the env checksum.
    let r = render(&dir, &["--set", "level=info"], None);
    assert!(
        r.stdout.contains(
            "  template:\n    metadata:\n      annotations:\n        kit.dev/env-sha256: \""
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\"\n        kit.dev/config-sha256: \""),
        "{}",
        r.stdout
    );
    // A template that sets it itself is refused.
    let own = tpl.replace(
        "      labels: {app: web}\n",
        "      labels: {app: web}\n      annotations:\n        kit.dev/config-sha256: mine\n",
    );
    let dir = project(MINIMAL, &own, "pw-1234");
    let r = render(&dir, &["--set", "level=info"], None);
    assert_eq!((r.code, r.stdout.as_str()), (6, ""));
    assert!(
        r.stderr
            .contains("already sets 'kit.dev/config-sha256', which kit sets"),
        "{}",
        r.stderr
    );
}

#[test]
fn values_prints_what_a_targets_templates_see_secrets_fingerprinted() {
    let tpl = format!("{CM}  a: \"{{{{a}}}}\"\n");
    let dir = project(
        "values:\n  a: 1\n  nested: {list: [x, {k: v}], empty: {}}\nenvironments:\n  prod:\n    values: {a: 2}\n    clusters:\n      c1: {}\nservices:\n  web: {image: nginx}\n",
        &tpl,
        "hunter2-pass",
    );
    let args = [
        "values", "-e", "prod", "-c", "c1", "-s", "web", "--set", "a=3",
    ];
    let r = cli::kit(&dir, &args, &[("KIT_REDACT_KEY", "k")], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fp = |v: &str| kit_env::Fingerprinter::with_key(b"k").fingerprint(v);
    let checksum_line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("  checksum: "))
        .unwrap()
        .to_owned();
    assert_eq!(
        r.stdout,
        format!(
            "a: 3\nnested:\n  list:\n    - x\n    - k: v\n  empty: {{}}\nkit:\n  environment: prod\n  cluster: c1\n  service: web\n{checksum_line}\n  image: nginx\nenv:\n  - name: PASSWORD\n    value: {p}\nsecrets:\n  PASSWORD: {p}\nweb:\n  image: nginx\n  env:\n    - name: PASSWORD\n      value: {p}\n",
            p = fp("hunter2-pass")
        )
    );
    assert!(!r.stdout.contains("hunter2"));
    // The key, nested, and unused keys warned about.
    assert_eq!(
        r.stderr,
        "warning: values key 'nested' (from kit.yaml (values)) is not used by any template or partial\n"
    );
    let mut shown = args.to_vec();
    shown.extend(["--show-secrets", "-o", "json"]);
    let r = cli::kit(&dir, &shown, &[], None);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["secrets"]["PASSWORD"], "hunter2-pass");
    assert_eq!(v["a"], 3);
    let r = cli::kit(
        &dir,
        &["values", "-e", "prod", "-c", "c1", "-s", "api"],
        &[],
        None,
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (4, "", "error: unknown service 'api' (known: web)\n")
    );
}

#[test]
fn man_pages_exist_for_every_command_kit_1_names() {
    let root = cli::root();
    let main = cli::kit(&root, &["man"], &[], None);
    assert_eq!(main.code, 0);
    let named: Vec<String> = main
        .stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("kit\\-")?
                .strip_suffix("(1)")
                .map(str::to_owned)
        })
        .collect();
    assert!(named.len() > 10, "{named:?}");
    for cmd in &named {
        let r = cli::kit(&root, &["man", cmd], &[], None);
        assert_eq!(r.code, 0, "{cmd}: {}", r.stderr);
        assert!(r.stdout.contains(&format!(".TH kit-{cmd} 1")), "{cmd}");
    }
    let r = cli::kit(&root, &["man", "nope"], &[], None);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
}
