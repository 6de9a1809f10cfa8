//! kit-env against a real S3 protocol: an in-process s3s-fs server on
//! 127.0.0.1, spoken to by aws-sdk-s3 over HTTP with SigV4 (the server
//! checks signatures). No fake of the SDK anywhere.

use kit_testkit::s3_server;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kit_env::{
    Encryption, Error, Layer, Layout, MemoryStore, Resolver, S3Options, S3Store, SecretStore,
    Target,
};

use s3_server::{Fault, KEY_ID, SECRET, Server, start_server, start_server_denying};

fn options(endpoint: String) -> S3Options {
    S3Options {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint),
        static_credentials: Some((KEY_ID.into(), SECRET.into())),
        connect_timeout: Duration::from_secs(1),
        attempt_timeout: Duration::from_secs(2),
        operation_timeout: Duration::from_secs(5),
        ..S3Options::default()
    }
}

async fn store(server: &Server, bucket: &str) -> S3Store {
    S3Store::connect(
        bucket,
        &format!("s3://{bucket}"),
        &options(format!("http://{}", server.addr)),
    )
    .await
}

async fn put_all(store: &S3Store, objects: &[(&str, &str)]) {
    for (k, v) in objects {
        store
            .put(k, v.as_bytes(), &Encryption::Default)
            .await
            .unwrap();
    }
}

/// Resolves target x (production/nerdearla-cluster/x) and returns the error
/// it must fail with.
async fn resolve_error(store: S3Store, prefix: &str) -> Error {
    Resolver::new(Arc::new(store), Layout::new(prefix))
        .resolve(&t("x"))
        .await
        .unwrap_err()
}

fn t(service: &str) -> Target {
    Target::new("production", "nerdearla-cluster", service)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precedence_isolation_and_provenance() {
    let server = start_server(&["mysecrets"]).await;
    let s = store(&server, "mysecrets").await;
    put_all(
        &s,
        &[
            ("kit/production/common/REDIS_HOST", "redis.production"),
            ("kit/production/common/LOG_LEVEL", "info"),
            (
                "kit/production/nerdearla-cluster/common/S3_BUCKET",
                "bucket-nerdearla",
            ),
            ("kit/production/nerdearla-cluster/common/LOG_LEVEL", "warn"),
            (
                "kit/production/nerdearla-cluster/myservicio/MYSQL_PASSWORD",
                "!myp4ssw0rd!",
            ),
            (
                "kit/production/nerdearla-cluster/myservicio/LOG_LEVEL",
                "debug",
            ),
            // Look-alikes and neighbours that must not leak in.
            (
                "kit/production/nerdearla-cluster/myservicio-v2/MYSQL_PASSWORD",
                "v2",
            ),
            (
                "kit/production/nerdearla-cluster/other/MYSQL_PASSWORD",
                "other",
            ),
            (
                "kit/production/other-cluster/common/S3_BUCKET",
                "bucket-other",
            ),
            ("kit/staging/common/REDIS_HOST", "redis.staging"),
            ("kit/production-eu/common/REDIS_HOST", "redis.eu"),
            ("other-prefix/production/common/REDIS_HOST", "nope"),
        ],
    )
    .await;
    let resolver = Resolver::new(Arc::new(s), Layout::new("kit"));
    let r = resolver.resolve(&t("myservicio")).await.unwrap();
    let got: Vec<(&str, &str, Layer, &str)> = r
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.expose(), v.layer, v.key.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "LOG_LEVEL",
                "debug",
                Layer::Service,
                "kit/production/nerdearla-cluster/myservicio/LOG_LEVEL"
            ),
            (
                "MYSQL_PASSWORD",
                "!myp4ssw0rd!",
                Layer::Service,
                "kit/production/nerdearla-cluster/myservicio/MYSQL_PASSWORD"
            ),
            (
                "REDIS_HOST",
                "redis.production",
                Layer::Environment,
                "kit/production/common/REDIS_HOST"
            ),
            (
                "S3_BUCKET",
                "bucket-nerdearla",
                Layer::Cluster,
                "kit/production/nerdearla-cluster/common/S3_BUCKET"
            ),
        ]
    );
    assert_eq!(
        r.variables[0].overridden,
        [
            "kit/production/common/LOG_LEVEL",
            "kit/production/nerdearla-cluster/common/LOG_LEVEL"
        ]
    );
    assert!(r.warnings.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_of_several_targets_is_listed_once_and_each_winner_fetched_once() {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "kit-test").await;
    let objects = [
        ("production/common/A", "env"),
        ("production/common/B", "env"),
        ("production/nerdearla-cluster/common/B", "cluster"),
        ("production/nerdearla-cluster/svc1/C", "1"),
        ("production/nerdearla-cluster/svc1/deeper/D", "not read"),
        ("production/nerdearla-cluster/svc2/C", "2"),
        ("production/nerdearla-cluster/svc9/C", "not targeted"),
        ("production/other-cluster/common/B", "other"),
        ("production/other-cluster/svc3/C", "3"),
        ("production/other-cluster/svc4/C", "not targeted"),
    ];
    put_all(&s, &objects).await;
    let targets = [
        t("svc1"),
        t("svc2"),
        Target::new("production", "other-cluster", "svc3"),
    ];
    let resolver = Resolver::new(Arc::new(s), Layout::new(""));
    let rs = resolver.resolve_many(&targets).await.unwrap();
    // Lists: production/common, the whole of nerdearla-cluster (two
    // targets), other-cluster's common and svc3 (one target) = 4, where
    // layer by layer would be 6. Gets: A, B x2 (two clusters), C x3 = 6.
    let stats = resolver.store().stats();
    assert_eq!((stats.lists, stats.gets, stats.throttled), (4, 6, 0));
    // The same answer, warnings included, as a store read layer by layer.
    let memory = MemoryStore::new();
    for (k, v) in objects {
        memory.insert(k, v);
    }
    let by_layer = Resolver::new(Arc::new(memory), Layout::new(""))
        .resolve_many(&targets)
        .await
        .unwrap();
    let shown = |rs: &[kit_env::Resolution]| {
        rs.iter()
            .map(|r| {
                let vars: Vec<_> = r
                    .variables
                    .iter()
                    .map(|v| {
                        (
                            v.name.clone(),
                            v.value.expose().to_owned(),
                            v.key.clone(),
                            v.overridden.clone(),
                        )
                    })
                    .collect();
                (vars, r.warnings.clone())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shown(&rs), shown(&by_layer));
    assert_eq!(
        rs[0].warnings,
        [
            "ignored 'production/nerdearla-cluster/svc1/deeper/D': secrets in sub-folders of a layer are not read"
        ]
    );
    assert_eq!(rs[2].variables[1].value.expose(), "other");
    // A second run over the same targets costs nothing more.
    resolver.resolve_many(&targets).await.unwrap();
    assert_eq!(resolver.store().stats(), stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_thousand_keys_are_paginated() {
    let server = start_server(&["kit-test"]).await;
    let s = Arc::new(store(&server, "kit-test").await);
    // Seed 16 at a time.
    let permits = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1100 {
        let (s, permits) = (s.clone(), permits.clone());
        tasks.spawn(async move {
            let _p = permits.acquire().await.unwrap();
            let key = format!("production/nerdearla-cluster/big/VAR_{i:04}");
            s.put(&key, format!("value-{i}").as_bytes(), &Encryption::Default)
                .await
                .unwrap();
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let resolver = Resolver::new(s.clone(), Layout::new(""));
    let r = resolver.resolve(&t("big")).await.unwrap();
    assert_eq!(r.variables.len(), 1100);
    assert_eq!(r.variables[1099].name, "VAR_1099");
    assert_eq!(r.variables[1099].value.expose(), "value-1099");
    // Two pages for the big layer, one each for the two empty ones.
    assert_eq!(s.stats().lists, 4);
    assert_eq!(s.stats().gets, 1100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_markers_subfolders_and_values_byte_exact() {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "kit-test").await;
    let hostile = "it's \"quoted\"\nline two\n\tü 🎉 \\ $HOME `x`\n";
    put_all(
        &s,
        &[
            ("production/nerdearla-cluster/web/", ""),
            ("production/nerdearla-cluster/web/HOSTILE", hostile),
            ("production/nerdearla-cluster/web/nested/DEEP", "x"),
            ("production/nerdearla-cluster/web/EMPTY", ""),
        ],
    )
    .await;
    let resolver = Resolver::new(Arc::new(s), Layout::new(""));
    let r = resolver.resolve(&t("web")).await.unwrap();
    let got: Vec<(&str, &str)> = r
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.expose()))
        .collect();
    assert_eq!(got, [("EMPTY", ""), ("HOSTILE", hostile)]);
    assert_eq!(
        r.warnings,
        [
            "ignored 'production/nerdearla-cluster/web/nested/DEEP': secrets in sub-folders of a layer are not read",
            "secret 'HOSTILE' (production/nerdearla-cluster/web/HOSTILE) ends in a line break, kept byte-exact (kit --trim, or trim_secrets: true in kit.yaml, removes trailing white space)"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_and_non_utf8_values_are_errors_naming_the_key() {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "kit-test").await;
    s.put(
        "production/nerdearla-cluster/bin/BLOB",
        &[0xff, 0xfe, b's', b'3'],
        &Encryption::Default,
    )
    .await
    .unwrap();
    s.put(
        "production/nerdearla-cluster/dash/MY-VAR",
        b"x",
        &Encryption::Default,
    )
    .await
    .unwrap();
    let resolver = Resolver::new(Arc::new(s), Layout::new(""));
    let e = resolver.resolve(&t("bin")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the secret at 'production/nerdearla-cluster/bin/BLOB' is not UTF-8 text"
    );
    let e = resolver.resolve(&t("dash")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the secret at 'production/nerdearla-cluster/dash/MY-VAR' has the name 'MY-VAR', which is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_by_signature_check() {
    let server = start_server(&["kit-test"]).await;
    let mut opts = options(format!("http://{}", server.addr));
    opts.static_credentials = Some((KEY_ID.into(), "wrong-secret".into()));
    let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
    let e = resolve_error(s, "").await;
    assert!(matches!(e, Error::Credentials { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("s3://kit-test: bad or missing credentials (SignatureDoesNotMatch"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_is_named() {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "nope").await;
    let e = resolve_error(s, "").await;
    assert_eq!(e.to_string(), "s3://nope: bucket 'nope' does not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_down_fails_fast() {
    // A port that was free a moment ago: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut opts = options(format!("http://{addr}"));
    opts.max_attempts = 2;
    let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
    let e = resolve_error(s, "").await;
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let mut opts = options(format!("http://{addr}"));
    opts.attempt_timeout = Duration::from_millis(300);
    opts.operation_timeout = Duration::from_millis(900);
    opts.max_attempts = 2;
    let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
    let e = resolve_error(s, "").await;
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowdown_is_retried() {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "kit-test").await;
    put_all(&s, &[("production/nerdearla-cluster/web/A", "a")]).await;
    let before = server.requests.load(Ordering::SeqCst);
    server.faults.store(2, Ordering::SeqCst);
    let resolver = Resolver::new(Arc::new(s), Layout::new(""));
    let r = resolver.resolve(&t("web")).await.unwrap();
    assert_eq!(r.variables[0].value.expose(), "a");
    // 3 lists + 1 get, plus the 2 refused attempts.
    assert_eq!(server.requests.load(Ordering::SeqCst) - before, 6);
    assert_eq!(server.faults.load(Ordering::SeqCst), 0);
    // Both answers were seen, retries included, for the resolver to slow
    // down by.
    assert_eq!(resolver.store().stats().throttled, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_stay_within_the_bound_given() {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "kit-test").await;
    let objects: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("production/nerdearla-cluster/web/V{i:02}"),
                format!("{i}"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = objects
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    put_all(&s, &refs).await;
    let resolver = Resolver::new(Arc::new(s), Layout::new("")).with_concurrency(3);
    let r = resolver.resolve(&t("web")).await.unwrap();
    assert_eq!(r.variables.len(), 40);
    assert!(
        (1..=3).contains(&resolver.peak_in_flight()),
        "{}",
        resolver.peak_in_flight()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_is_named() {
    let server = start_server_denying(&["kit-test"], Some("locked/")).await;
    let s = store(&server, "kit-test").await;
    let e = resolve_error(s, "locked").await;
    assert!(matches!(e, Error::AccessDenied { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("s3://kit-test: access denied (AccessDenied"),
        "{e}"
    );
}

// --- A server that lies or stalls: every listing either completes or fails,
// every wait is bounded, and the messages say what happened.

/// A server holding one service-layer secret and one environment-layer one,
/// misbehaving as `fault` says once the objects are in place.
async fn faulty(fault: Fault) -> (Server, S3Store) {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "kit-test").await;
    put_all(
        &s,
        &[
            ("production/common/PASS", "environment-value"),
            ("production/nerdearla-cluster/x/PASS", "service-value"),
        ],
    )
    .await;
    server.inject(fault);
    (server, s)
}

const SERVICE_LAYER: &str = "production/nerdearla-cluster/x/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycling_continuation_tokens_fail_the_listing() {
    let (server, s) = faulty(Fault::CyclingTokens).await;
    let e = s.list(SERVICE_LAYER).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "s3://kit-test: listing 'production/nerdearla-cluster/x/' failed: the server repeated a continuation token, so the listing would never end"
    );
    // Pages A, B, then A again: three requests and no more.
    assert_eq!(s.stats().lists, 3);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_token_fails_the_listing() {
    let (_server, s) = faulty(Fault::RepeatedToken).await;
    let e = s.list(SERVICE_LAYER).await.unwrap_err();
    assert!(matches!(e, Error::Listing { .. }), "{e:?}");
    assert!(
        e.to_string()
            .ends_with("the server repeated a continuation token, so the listing would never end"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_without_token_never_falls_back_to_a_less_specific_layer() {
    let (_server, s) = faulty(Fault::TruncatedWithoutToken).await;
    // Before the fix the listing ended quietly and the environment layer's
    // value was deployed; now the whole resolution fails.
    let e = Resolver::new(Arc::new(s), Layout::new(""))
        .resolve(&t("x"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Listing { .. }), "{e:?}");
    assert!(
        e.to_string().ends_with(
            "failed: the server said the listing goes on but gave no continuation token"
        ),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_pages_stop_at_the_page_limit() {
    let (server, _) = faulty(Fault::EndlessPages).await;
    let mut opts = options(format!("http://{}", server.addr));
    opts.max_pages = 25;
    let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
    let e = s.list(SERVICE_LAYER).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "s3://kit-test: listing 'production/nerdearla-cluster/x/' failed: it has more than 25 pages (the limit)"
    );
    assert_eq!(s.stats().lists, 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_pages_stop_at_the_listing_deadline() {
    let (server, _) = faulty(Fault::EndlessPages).await;
    let mut opts = options(format!("http://{}", server.addr));
    opts.list_timeout = Duration::from_millis(300);
    let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
    let e = s.list(SERVICE_LAYER).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "s3://kit-test: listing 'production/nerdearla-cluster/x/' failed: it took longer than 300ms, all pages included"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_outside_the_prefix_fail_the_listing() {
    let (_server, s) = faulty(Fault::KeyOutsidePrefix).await;
    let e = s.list(SERVICE_LAYER).await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with("failed: the server answered with a key outside the prefix"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_bounded_by_the_request_timeout() {
    let (server, _) = faulty(Fault::TrickleBody(200)).await;
    let mut opts = options(format!("http://{}", server.addr));
    opts.operation_timeout = Duration::from_millis(500);
    let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
    // "service-value" is 13 bytes: 2.6 s at one byte per 200 ms.
    let e = s
        .get("production/nerdearla-cluster/x/PASS")
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "s3://kit-test: no answer within 500ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_are_retried_then_named() {
    let (server, _) = faulty(Fault::Reset).await;
    let mut opts = options(format!("http://{}", server.addr));
    opts.max_attempts = 2;
    let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
    let before = server.requests.load(Ordering::SeqCst);
    let e = s.list(SERVICE_LAYER).await.unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("s3://kit-test: cannot reach the endpoint ("),
        "{e}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst) - before, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_without_a_code_still_say_what_happened() {
    for (status, body, want) in [
        (
            500,
            "",
            "s3://kit-test: HTTP 500 with no S3 error code in the response",
        ),
        (
            503,
            "<html>upstream down</html>",
            "s3://kit-test: HTTP 503 with no S3 error code in the response",
        ),
        (
            500,
            "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>",
            "s3://kit-test: InternalError: We encountered an internal error. (HTTP 500)",
        ),
    ] {
        let (server, _) = faulty(Fault::Status(status, body)).await;
        let mut opts = options(format!("http://{}", server.addr));
        opts.max_attempts = 1;
        let s = S3Store::connect("kit-test", "s3://kit-test", &opts).await;
        let e = s.list(SERVICE_LAYER).await.unwrap_err();
        assert_eq!(e.to_string(), want, "{status} {body:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_xml_is_named_as_an_unreadable_answer() {
    let (_server, s) = faulty(Fault::GarbageXml).await;
    let e = s.list(SERVICE_LAYER).await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("s3://kit-test: the server's answer could not be read (HTTP 200): "),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_over_one_mebibyte_are_refused() {
    let server = start_server(&["kit-test"]).await;
    let s = store(&server, "kit-test").await;
    let big = vec![b'a'; kit_env::MAX_VALUE_BYTES + 1];
    s.put(
        "production/nerdearla-cluster/x/BIG",
        &big,
        &Encryption::Default,
    )
    .await
    .unwrap();
    let e = resolve_error(s, "").await;
    assert_eq!(
        e.to_string(),
        "the secret at 'production/nerdearla-cluster/x/BIG' is larger than 1 MiB (the most a Kubernetes Secret holds)"
    );
}
