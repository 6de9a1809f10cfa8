//! End-to-end tests of `kit env`, `kit exec` and `kit secrets`: the real
//! binary against a directory store and against a real S3 protocol.
//!
//! S3 runs against an in-process s3s-fs server (SigV4 checked), or, when
//! KIT_TEST_S3_ENDPOINT is set, against that server instead (CI points it at
//! moto_server, a second implementation).

use crate::util::s3_server;

use crate::util as cli;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cli::{Run, root};
use kit_env::{Encryption, S3Options, S3Store, SecretStore};

fn kit(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    cli::kit(&root(), args, env, stdin)
}

const DEMO: &str = "fixtures/demo/secrets";
const TARGET: [&str; 6] = [
    "-e",
    "production",
    "-c",
    "nerdearla-cluster",
    "-s",
    "myservicio",
];

fn demo(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["env".into(), "--secrets-from".into(), DEMO.into()];
    v.extend(TARGET.iter().map(|s| s.to_string()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_demo(extra: &[&str], env: &[(&str, &str)]) -> Run {
    let args = demo(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    kit(&args, env, None)
}

#[test]
fn env_json_from_the_demo_directory() {
    let r = run_demo(&[], &[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        r.stdout,
        r#"{
  "LOG_LEVEL": "debug",
  "MYSQL_HOST": "mysql.invisionapp.local",
  "MYSQL_PASSWORD": "!myp4ssw0rd!",
  "MYSQL_USER": "myuser",
  "REDIS_HOST": "redis.production.invisionapp.local",
  "S3_BUCKET": "nerdearla-assets",
  "SQS_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/myservicio"
}
"#
    );
}

#[test]
fn env_formats_quote_exactly() {
    let args = [
        "env",
        "--secrets-from",
        DEMO,
        "-e",
        "staging",
        "-c",
        "staging-cluster",
        "-s",
        "myservicio",
    ];
    let with = |f: &str| {
        let mut a = args.to_vec();
        a.extend(["--format", f]);
        kit(&a, &[], None).stdout
    };
    // -o, --output and --format are one flag; -f, its old letter, still
    // works for one release, with a warning.
    let mut a = args.to_vec();
    a.extend(["-o", "shell"]);
    let o = kit(&a, &[], None);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, with("shell").as_str()),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr, "");
    let mut a = args.to_vec();
    a.extend(["-f", "shell"]);
    let f = kit(&a, &[], None);
    assert_eq!((f.code, f.stdout.as_str()), (0, o.stdout.as_str()));
    assert_eq!(
        f.stderr,
        "warning: -f for the output format is deprecated and goes in the next release; use -o/--output (-f means values files everywhere else)\n"
    );
    let shell = with("shell");
    assert!(
        shell.contains("export MYSQL_PASSWORD='st4ging'\\''pass\"word'\n"),
        "{shell}"
    );
    let dotenv = with("dotenv");
    assert!(
        dotenv.contains("MYSQL_PASSWORD=\"st4ging'pass\\\"word\"\n"),
        "{dotenv}"
    );
    let yaml = with("yaml");
    assert!(
        yaml.contains("MYSQL_PASSWORD: \"st4ging'pass\\\"word\"\n"),
        "{yaml}"
    );
    // The shell output, evaluated by a real shell, gives back the exact value.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{shell}\nprintf %s \"$MYSQL_PASSWORD\""))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "st4ging'pass\"word");
}

#[test]
fn redact_shows_keyed_fingerprints_and_no_values() {
    let r = run_demo(&["--redact"], &[("KIT_REDACT_KEY", "team-key")]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let f = kit_env::Fingerprinter::with_key(b"team-key");
    assert!(r.stdout.contains(&format!(
        "\"MYSQL_PASSWORD\": \"{}\"",
        f.fingerprint("!myp4ssw0rd!")
    )));
    for secret in [
        "!myp4ssw0rd!",
        "myuser",
        "mysql.invisionapp.local",
        "nerdearla-assets",
    ] {
        assert!(!r.stdout.contains(secret), "{secret} leaked");
    }
    let r = run_demo(&["--redact"], &[]);
    assert_eq!(
        r.stderr,
        "note: KIT_REDACT_KEY is not set; fingerprints use a random key and compare only within this run\n"
    );
}

#[test]
fn explain_names_winners_and_overridden_keys() {
    let r = run_demo(&["--explain"], &[]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "\
LOG_LEVEL       production/nerdearla-cluster/myservicio/LOG_LEVEL (service)
                  overrides production/common/LOG_LEVEL
MYSQL_HOST      production/nerdearla-cluster/myservicio/MYSQL_HOST (service)
MYSQL_PASSWORD  production/nerdearla-cluster/myservicio/MYSQL_PASSWORD (service)
MYSQL_USER      production/nerdearla-cluster/myservicio/MYSQL_USER (service)
REDIS_HOST      production/common/REDIS_HOST (environment)
S3_BUCKET       production/nerdearla-cluster/common/S3_BUCKET (cluster)
SQS_URL         production/nerdearla-cluster/myservicio/SQS_URL (service)
"
    );
}

#[test]
fn exec_passes_variables_and_exit_code() {
    let mut args = vec!["exec", "--secrets-from", DEMO];
    args.extend(TARGET);
    args.extend([
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$MYSQL_PASSWORD\" \"$S3_BUCKET\"; exit 7",
    ]);
    let r = kit(&args, &[], None);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (7, "!myp4ssw0rd!|nerdearla-assets")
    );
}

#[test]
fn bad_targets_and_sources_are_usage_errors() {
    let r = kit(
        &[
            "env",
            "--secrets-from",
            DEMO,
            "-e",
            "production",
            "-c",
            "common",
            "-s",
            "x",
        ],
        &[],
        None,
    );
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert_eq!(
        r.stderr,
        "error: invalid cluster name 'common': 'common' names the shared layers\n"
    );
    let r = kit(
        &[
            "env",
            "--secrets-from",
            "s3://",
            "-e",
            "p",
            "-c",
            "c",
            "-s",
            "s",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: invalid secret source 's3://': expected s3://BUCKET[/PREFIX] or a directory\n"
    );
}

#[test]
fn secrets_put_get_ls_rm_in_a_directory() {
    let dir = s3_server::temp_dir();
    let src = dir.0.join("store");
    let src = src.to_str().unwrap();
    std::fs::create_dir_all(src).unwrap();
    let value = b"line1\nline2 \"q\" 'x'\n";
    let r = kit(
        &[
            "secrets",
            "--secrets-from",
            src,
            "put",
            "production/common/A",
        ],
        &[],
        Some(value),
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let r = kit(
        &[
            "secrets",
            "--secrets-from",
            src,
            "get",
            "production/common/A",
        ],
        &[],
        None,
    );
    assert_eq!(r.stdout.as_bytes(), value);
    let r = kit(&["secrets", "--secrets-from", src, "ls"], &[], None);
    assert_eq!(r.stdout, "production/common/A\n");
    let r = kit(
        &[
            "secrets",
            "--secrets-from",
            src,
            "rm",
            "production/common/A",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 0);
    let r = kit(
        &[
            "secrets",
            "--secrets-from",
            src,
            "get",
            "production/common/A",
        ],
        &[],
        None,
    );
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
}

// ---- S3 ------------------------------------------------------------------

/// An S3 endpoint for one test, with a fresh bucket: in-process unless
/// KIT_TEST_S3_ENDPOINT names an external server.
struct S3 {
    endpoint: String,
    bucket: String,
    rt: tokio::runtime::Runtime,
    _server: Option<s3_server::Server>,
}

fn s3() -> S3 {
    static N: AtomicUsize = AtomicUsize::new(0);
    let bucket = format!(
        "kit-e2e-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match std::env::var("KIT_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            create_bucket(&endpoint, &bucket);
            S3 {
                endpoint,
                bucket,
                rt,
                _server: None,
            }
        }
        _ => {
            let server = rt.block_on(s3_server::start_server(&[&bucket]));
            S3 {
                endpoint: format!("http://{}", server.addr),
                bucket,
                rt,
                _server: Some(server),
            }
        }
    }
}

/// CreateBucket as a plain HTTP PUT (external test servers such as moto do
/// not check signatures).
fn create_bucket(endpoint: &str, bucket: &str) {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut sock = std::net::TcpStream::connect(host).expect("connect to KIT_TEST_S3_ENDPOINT");
    write!(
        sock,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    sock.read_to_string(&mut resp).unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "CreateBucket failed: {resp}"
    );
}

impl S3 {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", s3_server::KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", s3_server::SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }

    fn kit(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        kit(args, &env, stdin)
    }

    fn source(&self) -> String {
        format!("s3://{}/kit", self.bucket)
    }

    /// Seeds objects directly through the S3 protocol, 16 at a time.
    fn seed(&self, objects: Vec<(String, Vec<u8>)>) {
        let opts = S3Options {
            region: Some("us-east-1".into()),
            endpoint_url: Some(self.endpoint.clone()),
            static_credentials: Some((s3_server::KEY_ID.into(), s3_server::SECRET.into())),
            ..S3Options::default()
        };
        self.rt.block_on(async {
            let store = Arc::new(S3Store::connect(&self.bucket, "seed", &opts).await);
            let permits = Arc::new(tokio::sync::Semaphore::new(16));
            let mut tasks = tokio::task::JoinSet::new();
            for (k, v) in objects {
                let (store, permits) = (store.clone(), permits.clone());
                tasks.spawn(async move {
                    let _p = permits.acquire().await.unwrap();
                    store.put(&k, &v, &Encryption::Default).await.unwrap();
                });
            }
            while let Some(r) = tasks.join_next().await {
                r.unwrap();
            }
        });
    }
}

#[test]
fn s3_env_is_exact_with_overrides_lookalikes_markers_and_hostile_values() {
    let s3 = s3();
    let hostile = "it's \"q\"\nsecond line\n\tüñí 🎉 \\ $HOME";
    s3.seed(
        [
            ("kit/production/common/REDIS_HOST", "redis"),
            ("kit/production/common/LOG_LEVEL", "info"),
            ("kit/production/nerdearla-cluster/common/LOG_LEVEL", "warn"),
            ("kit/production/nerdearla-cluster/myservicio/", ""),
            (
                "kit/production/nerdearla-cluster/myservicio/MYSQL_PASSWORD",
                "!myp4ssw0rd!",
            ),
            (
                "kit/production/nerdearla-cluster/myservicio-v2/MYSQL_PASSWORD",
                "v2",
            ),
            (
                "kit/production/other-cluster/myservicio/MYSQL_PASSWORD",
                "other",
            ),
            ("kit/staging/common/REDIS_HOST", "staging"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
        .collect(),
    );
    // Written through the CLI, byte-exact from stdin.
    let key = "production/nerdearla-cluster/myservicio/HOSTILE";
    let r = s3.kit(
        &["secrets", "--secrets-from", &s3.source(), "put", key],
        Some(hostile.as_bytes()),
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let mut args = vec!["env", "--secrets-from"];
    let src = s3.source();
    args.push(&src);
    args.extend(TARGET);
    let r = s3.kit(&args, None);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let got: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        got,
        serde_json::json!({
            "HOSTILE": hostile,
            "LOG_LEVEL": "warn",
            "MYSQL_PASSWORD": "!myp4ssw0rd!",
            "REDIS_HOST": "redis"
        })
    );
}

#[test]
fn s3_env_reads_more_than_a_thousand_keys() {
    let s3 = s3();
    s3.seed(
        (0..1100)
            .map(|i| {
                (
                    format!("kit/production/common/VAR_{i:04}"),
                    format!("v{i}").into_bytes(),
                )
            })
            .collect(),
    );
    let src = s3.source();
    let mut args = vec!["env", "--secrets-from", &src];
    args.extend(TARGET);
    let r = s3.kit(&args, None);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let got: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(got.len(), 1100);
    assert_eq!(got["VAR_1099"], "v1099");
}

#[test]
fn s3_missing_bucket_is_named_with_nothing_on_stdout() {
    let s3 = s3();
    let src = format!("s3://{}-missing/kit", s3.bucket);
    let mut args = vec!["env", "--secrets-from", &src];
    args.extend(TARGET);
    let r = s3.kit(&args, None);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert_eq!(
        r.stderr,
        format!(
            "error: {src}: bucket '{}-missing' does not exist\n  = hint: check the bucket name and the region\n",
            s3.bucket
        )
    );
}

#[test]
fn s3_unreachable_endpoint_fails_with_a_clear_line() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", "k"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
        ("AWS_REGION", "us-east-1"),
    ];
    let endpoint = format!("http://{addr}");
    let mut args = vec![
        "env",
        "--secrets-from",
        "s3://some-bucket",
        "--endpoint-url",
        &endpoint,
        "--max-attempts",
        "1",
    ];
    args.extend(TARGET);
    let r = kit(&args, &env, None);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert!(
        r.stderr
            .starts_with("error: s3://some-bucket: cannot reach the endpoint ("),
        "{}",
        r.stderr
    );
}

#[test]
fn s3_access_denied_is_named_with_a_hint() {
    // Always in-process: the server refuses everything under `locked/`, as a
    // bucket policy would (moto does not enforce policies).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(s3_server::start_server_denying(
        &["kit-denied"],
        Some("locked/"),
    ));
    let endpoint = format!("http://{}", server.addr);
    let env = [
        ("AWS_ACCESS_KEY_ID", s3_server::KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", s3_server::SECRET),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ];
    let mut args = vec!["env", "--secrets-from", "s3://kit-denied/locked"];
    args.extend(TARGET);
    let r = kit(&args, &env, None);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert!(
        r.stderr
            .starts_with("error: s3://kit-denied/locked: access denied (AccessDenied"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.ends_with(
            "  = hint: the credentials need s3:ListBucket and s3:GetObject on the prefix\n"
        ),
        "{}",
        r.stderr
    );
}

// ---- hostile inputs ------------------------------------------------------

/// A directory store holding `files` (key, value), for one test.
fn store_with(files: &[(&str, &str)]) -> s3_server::TempDir {
    let dir = s3_server::temp_dir();
    for (k, v) in files {
        let p = dir.0.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v).unwrap();
    }
    dir
}

const P_C_S: [&str; 6] = ["-e", "p", "-c", "c", "-s", "s"];

fn env_of(dir: &s3_server::TempDir, extra: &[&str]) -> Run {
    let src = dir.0.to_str().unwrap().to_owned();
    let mut args = vec!["env", "--secrets-from", &src];
    args.extend(P_C_S);
    args.extend(extra);
    kit(&args, &[], None)
}

#[test]
fn exec_becomes_the_command_so_signals_and_pid_1_are_its_own() {
    // The command runs with kit's own PID: kit replaced itself, so a
    // SIGTERM sent to that PID (or a container's PID 1) reaches the command.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kit"));
    cmd.current_dir(root())
        .args(["exec", "--secrets-from", DEMO])
        .args(TARGET)
        .args(["--", "sh", "-c", "echo $$"])
        .stdout(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{pid}\n"));
}

#[test]
fn exec_of_a_missing_command_exits_127() {
    let mut args = vec!["exec", "--secrets-from", DEMO];
    args.extend(TARGET);
    args.extend(["--", "kit-no-such-command"]);
    let r = kit(&args, &[], None);
    assert_eq!((r.code, r.stdout.as_str()), (127, ""));
    assert!(
        r.stderr
            .starts_with("error: cannot run 'kit-no-such-command': No such file or directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn variables_that_change_process_startup_are_refused_unless_allowed() {
    for name in ["PATH", "LD_PRELOAD", "BASH_ENV", "HOME", "NODE_OPTIONS"] {
        let key = format!("p/common/{name}");
        let dir = store_with(&[(&key, "/tmp/evil"), ("p/c/s/OK", "fine")]);
        let r = env_of(&dir, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (5, ""), "{name}");
        assert_eq!(
            r.stderr,
            format!(
                "error: the secret at 'p/common/{name}' is named '{name}', which changes how programs start (the loader, shells, language runtimes); kit refuses it unless it is allowed by name\n  = hint: rename the secret, or allow the name explicitly with --allow-var NAME (KIT_ALLOW_VARS)\n"
            )
        );
        let r = env_of(&dir, &["--allow-var", name]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert!(r.stdout.contains(&format!("\"{name}\": \"/tmp/evil\"")));
    }
}

#[test]
fn nul_bytes_in_values_are_refused_naming_the_key() {
    let dir = store_with(&[("p/c/s/A", "a\0b")]);
    let r = env_of(&dir, &["-o", "shell"]);
    assert_eq!((r.code, r.stdout.as_str()), (5, ""));
    assert_eq!(
        r.stderr,
        "error: the secret at 'p/c/s/A' contains a NUL byte, which no environment variable can hold\n  = hint: rewrite the secret without NUL bytes\n"
    );
}

#[test]
fn control_characters_in_key_names_are_escaped_on_stderr() {
    let dir = store_with(&[("p/c/s/sub/\u{1b}[31mRED\u{7}", "x"), ("p/c/s/A", "a")]);
    let r = env_of(&dir, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "warning: ignored 'p/c/s/sub/\\u{1b}[31mRED\\u{7}': secrets in sub-folders of a layer are not read\n"
    );
    let dir = store_with(&[("p/c/s/B\u{1b}]0;title\u{7}", "x")]);
    let r = env_of(&dir, &[]);
    assert_eq!(r.code, 5);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    assert!(
        r.stderr.contains("'B\\u{1b}]0;title\\u{7}'"),
        "{:?}",
        r.stderr
    );
}

#[test]
fn secrets_put_refuses_what_reads_refuse_and_writes_privately() {
    let dir = s3_server::temp_dir();
    let src = dir.0.to_str().unwrap();
    let put = |key: &str, value: &[u8]| {
        kit(
            &["secrets", "--secrets-from", src, "put", key],
            &[],
            Some(value),
        )
    };
    for (key, message) in [
        (
            "p/c/s/db-pass",
            "error: the secret at 'p/c/s/db-pass' has the name 'db-pass', which is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)\n  = hint: rename the object; variable names match [A-Za-z_][A-Za-z0-9_]*\n",
        ),
        (
            "p/REDIS_HOST",
            "error: invalid key 'p/REDIS_HOST': keys are ENVIRONMENT/common/NAME, ENVIRONMENT/CLUSTER/common/NAME, ENVIRONMENT/CLUSTER/SERVICE/NAME, or for an instance ENVIRONMENT/instances/INSTANCE/common/NAME or ENVIRONMENT/instances/INSTANCE/SERVICE/NAME\n",
        ),
        (
            "p/c/s/sub/X",
            "error: invalid key 'p/c/s/sub/X': keys are ENVIRONMENT/common/NAME, ENVIRONMENT/CLUSTER/common/NAME, ENVIRONMENT/CLUSTER/SERVICE/NAME, or for an instance ENVIRONMENT/instances/INSTANCE/common/NAME or ENVIRONMENT/instances/INSTANCE/SERVICE/NAME\n",
        ),
        (
            "p/common/common/X",
            "error: invalid cluster name 'common': 'common' names the shared layers\n",
        ),
    ] {
        let r = put(key, b"v");
        assert_eq!((r.code, r.stderr.as_str()), (2, message), "{key}");
    }
    let r = put("p/c/s/EMPTY", b"");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("error: refusing to store an empty value at 'p/c/s/EMPTY'\n"),
        "{}",
        r.stderr
    );
    assert!(!dir.0.join("p").exists(), "nothing written");
    let r = put("p/c/s/GOOD", b"v");
    assert_eq!(r.code, 0, "{}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(dir.0.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(
            (mode("p/c/s/GOOD"), mode("p/c/s"), mode("p")),
            (0o600, 0o700, 0o700)
        );
    }
}

#[test]
fn a_lying_s3_listing_fails_the_run_with_nothing_on_stdout() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(s3_server::start_server(&["lying"]));
    let opts = S3Options {
        region: Some("us-east-1".into()),
        endpoint_url: Some(format!("http://{}", server.addr)),
        static_credentials: Some((s3_server::KEY_ID.into(), s3_server::SECRET.into())),
        ..S3Options::default()
    };
    rt.block_on(async {
        let store = S3Store::connect("lying", "seed", &opts).await;
        for (k, v) in [("p/common/PASS", "environment"), ("p/c/s/PASS", "service")] {
            store
                .put(k, v.as_bytes(), &Encryption::Default)
                .await
                .unwrap();
        }
    });
    let env = [
        ("AWS_ACCESS_KEY_ID", s3_server::KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", s3_server::SECRET.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://{}", server.addr)),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut args = vec!["env", "--secrets-from", "s3://lying"];
    args.extend(P_C_S);
    for (fault, reason) in [
        (
            s3_server::Fault::CyclingTokens,
            "the server repeated a continuation token, so the listing would never end",
        ),
        (
            s3_server::Fault::TruncatedWithoutToken,
            "the server said the listing goes on but gave no continuation token",
        ),
    ] {
        server.inject(fault);
        let r = kit(&args, &env, None);
        assert_eq!((r.code, r.stdout.as_str()), (5, ""));
        assert!(
            r.stderr.starts_with("error: s3://lying: listing 'p/") && r.stderr.contains(reason),
            "{}",
            r.stderr
        );
    }
}
