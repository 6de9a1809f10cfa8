//! Secrets in S3 (or any S3-protocol server: MinIO, Garage, Ceph, moto).
//!
//! Configured the way the AWS CLI is: the default credential chain
//! (environment, profiles, SSO, web identity, IMDS), region from the
//! configuration or [`S3Options::region`], and an endpoint override from
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` or [`S3Options::endpoint_url`],
//! which switches to path-style addressing unless told otherwise.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{
    ConfigBag, Intercept, RequestChecksumCalculation, ResponseChecksumValidation,
    RuntimeComponents, StalledStreamProtectionConfig,
};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::{BoxFuture, Counters, Encryption, S3Options, SecretStore, Stats};
use crate::MAX_VALUE_BYTES;
use crate::error::Error;

/// Counts the throttling answers of every attempt (the SDK's retries
/// included, which never reach kit as errors): HTTP 503 (S3's `SlowDown`)
/// and 429.
#[derive(Debug)]
struct CountThrottling(Arc<AtomicU64>);

impl Intercept for CountThrottling {
    fn name(&self) -> &'static str {
        "kit::CountThrottling"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if matches!(context.response().status().as_u16(), 429 | 503) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// A store in an S3 bucket.
#[derive(Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    name: String,
    operation_timeout: Duration,
    list_timeout: Duration,
    max_pages: u32,
    counters: Counters,
}

fn env_endpoint() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

impl S3Store {
    /// Prepares a client for `bucket`. `name` is how errors name the store
    /// (usually the `s3://...` source). No request is made yet.
    pub async fn connect(bucket: &str, name: &str, opts: &S3Options) -> S3Store {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(opts.connect_timeout)
                    .operation_attempt_timeout(opts.attempt_timeout)
                    .operation_timeout(opts.operation_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts.max(1)));
        if let Some((id, secret)) = &opts.static_credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id.clone(),
                secret.clone(),
                None,
                None,
                "kit-static",
            ));
        }
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &opts.region {
            loader = loader.region(Region::new(r.clone()));
        }
        let endpoint = opts.endpoint_url.clone().or_else(env_endpoint);
        if let Some(e) = &opts.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let sdk = loader.load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&sdk);
        if sdk.region().is_none() {
            conf = conf.region(Region::new("us-east-1"));
        }
        conf = conf.force_path_style(opts.path_style.unwrap_or(endpoint.is_some()));
        // kit bounds every request with its own timeouts (reading the body
        // included), so the SDK's stalled-stream monitor is a second timer
        // per body for nothing. Checksums only where the operation requires
        // them: TLS already protects the bytes in transit, and the default
        // (a CRC on every PUT, sent as a trailer) is refused by several
        // S3-protocol servers. Together 9% less CPU per request (fleet_secrets
        // bench at RTT 0: 180 -> 163 us).
        conf = conf
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
        let counters = Counters::default();
        conf = conf.interceptor(CountThrottling(counters.throttle_counter()));
        S3Store {
            client: Client::from_conf(conf.build()),
            bucket: bucket.into(),
            name: name.into(),
            operation_timeout: opts.operation_timeout,
            list_timeout: opts.list_timeout,
            max_pages: opts.max_pages.max(1),
            counters,
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn error<E>(&self, e: SdkError<E, HttpResponse>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let store = self.name.clone();
        match &e {
            SdkError::ServiceError(se) => {
                let code = se.err().code().unwrap_or("");
                let status = se.raw().status().as_u16();
                let detail = match (code, se.err().message()) {
                    ("", _) if se.raw().status().is_success() => format!(
                        "the server's answer could not be read (HTTP {status}): it is not a valid S3 response"
                    ),
                    ("", _) => format!("HTTP {status} with no S3 error code in the response"),
                    (code, Some(m)) if !m.is_empty() => format!("{code}: {m} (HTTP {status})"),
                    (code, _) => format!("{code} (HTTP {status})"),
                };
                match code {
                    "NoSuchBucket" => Error::NoSuchBucket {
                        store,
                        bucket: self.bucket.clone(),
                    },
                    "AccessDenied" | "AllAccessDisabled" => Error::AccessDenied { store, detail },
                    "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "InvalidToken" => Error::Credentials { store, detail },
                    _ => Error::Store { store, detail },
                }
            }
            SdkError::TimeoutError(_) => Error::Timeout {
                store,
                after: self.operation_timeout,
            },
            SdkError::DispatchFailure(df) if df.is_timeout() => Error::Timeout {
                store,
                after: self.operation_timeout,
            },
            SdkError::DispatchFailure(df) if df.is_io() => Error::Unreachable {
                store,
                detail: chain(&e),
            },
            SdkError::DispatchFailure(_) if chain(&e).contains("credentials") => {
                Error::Credentials {
                    store,
                    detail: chain(&e),
                }
            }
            // Connections closed or reset mid-request.
            SdkError::DispatchFailure(df) if !df.is_user() => Error::Unreachable {
                store,
                detail: chain(&e),
            },
            SdkError::ResponseError(re) => Error::Store {
                store,
                detail: format!(
                    "the server's answer could not be read (HTTP {}): {}",
                    re.raw().status().as_u16(),
                    chain(&e)
                ),
            },
            _ => Error::Store {
                store,
                detail: chain(&e),
            },
        }
    }
}

/// The error and its causes on one line (SDK errors never hold object bodies).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl SecretStore for S3Store {
    fn describe(&self) -> &str {
        &self.name
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            // Pages are followed by kit, not by the SDK's paginator, so that a
            // server that lies about them fails the run instead of hanging it
            // or ending the listing early (which would deploy a less specific
            // layer's value).
            let failed = |reason: String| Error::Listing {
                store: self.name.clone(),
                prefix: prefix.into(),
                reason,
            };
            let deadline = Instant::now() + self.list_timeout;
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            let mut seen = HashSet::new();
            for _ in 0..self.max_pages {
                let request = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.take())
                    .send();
                let left = deadline.saturating_duration_since(Instant::now());
                let page = tokio::time::timeout(left, request)
                    .await
                    .map_err(|_| {
                        failed(format!(
                            "it took longer than {:?}, all pages included",
                            self.list_timeout
                        ))
                    })?
                    .map_err(|e| self.error(e))?;
                self.counters.list();
                for key in page.contents().iter().filter_map(|o| o.key()) {
                    if !key.starts_with(prefix) {
                        return Err(failed(
                            "the server answered with a key outside the prefix".into(),
                        ));
                    }
                    keys.push(key.to_owned());
                }
                if !page.is_truncated().unwrap_or(false) {
                    return Ok(keys);
                }
                match page.next_continuation_token() {
                    None | Some("") => {
                        return Err(failed(
                            "the server said the listing goes on but gave no continuation token"
                                .into(),
                        ));
                    }
                    Some(t) if !seen.insert(t.to_owned()) => {
                        return Err(failed(
                            "the server repeated a continuation token, so the listing would never end"
                                .into(),
                        ));
                    }
                    Some(t) => token = Some(t.to_owned()),
                }
            }
            Err(failed(format!(
                "it has more than {} pages (the limit)",
                self.max_pages
            )))
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        Box::pin(async move {
            self.counters.get();
            let timeout = Error::Timeout {
                store: self.name.clone(),
                after: self.operation_timeout,
            };
            // One bound for the whole request, reading the body included: a
            // server trickling bytes cannot hold the run.
            let fetch = async {
                let out = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| match &e {
                        SdkError::ServiceError(se) if se.err().code() == Some("NoSuchKey") => {
                            Error::NotFound {
                                store: self.name.clone(),
                                key: key.into(),
                            }
                        }
                        _ => self.error(e),
                    })?;
                if out
                    .content_length()
                    .is_some_and(|n| n as u64 > MAX_VALUE_BYTES as u64)
                {
                    return Err(Error::TooLarge { key: key.into() });
                }
                let body = out.body.collect().await.map_err(|e| Error::Unreachable {
                    store: self.name.clone(),
                    detail: format!("reading '{key}': {}", chain(&e)),
                })?;
                let bytes = body.into_bytes();
                if bytes.len() > MAX_VALUE_BYTES {
                    return Err(Error::TooLarge { key: key.into() });
                }
                Ok(bytes.to_vec())
            };
            tokio::time::timeout(self.operation_timeout, fetch)
                .await
                .map_err(|_| timeout)?
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        encryption: &'a Encryption,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut req = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(ByteStream::from(value.to_vec()));
            req = match encryption {
                Encryption::Default => req,
                Encryption::Aes256 => req.server_side_encryption(ServerSideEncryption::Aes256),
                Encryption::Kms(id) => req
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .set_ssekms_key_id(id.clone()),
            };
            req.send().await.map_err(|e| self.error(e))?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| self.error(e))?;
            Ok(())
        })
    }

    fn stats(&self) -> Stats {
        self.counters.stats()
    }
}
