//! An S3 server for tests: s3s-fs (files in a temporary directory) behind
//! hyper on 127.0.0.1, checking SigV4 signatures. A fault switch makes it
//! answer 503 SlowDown; a counter sees every request; [`Fault`] makes it
//! misbehave the ways real servers and proxies do (lying listings, trickled
//! bodies, resets, error bodies without codes, garbage XML), by rewriting
//! the real server's answers on their way out.
//!
//! Shared by kit-env's tests and the CLI's end-to-end tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;

use hyper_util::rt::{TokioExecutor, TokioIo};

pub const KEY_ID: &str = "kit-test-key";
pub const SECRET: &str = "kit-test-secret";

/// A running S3 server. `faults` makes it answer that many requests with
/// 503 SlowDown before serving normally; `requests` counts every request.
pub struct Server {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicUsize>,
    pub faults: Arc<AtomicUsize>,
    pub fault: Arc<Mutex<Fault>>,
    pub root: TempDir,
}

impl Server {
    /// From now on, misbehave this way.
    pub fn inject(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

/// Ways the server misbehaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Fault {
    /// Serve normally.
    #[default]
    None,
    /// Listings say "truncated" with tokens A, B, A, B...
    CyclingTokens,
    /// Listings say "truncated" and give no token.
    TruncatedWithoutToken,
    /// Listings say "truncated" and repeat the token they were asked with.
    RepeatedToken,
    /// Listings say "truncated" with a new token every time, forever.
    EndlessPages,
    /// Listings return a key outside the requested prefix.
    KeyOutsidePrefix,
    /// Object bodies arrive one byte per this many milliseconds.
    TrickleBody(u64),
    /// Every connection is closed before any answer.
    Reset,
    /// Every answer is this status with this body.
    Status(u16, &'static str),
    /// Listings answer 200 with a body that is not XML.
    GarbageXml,
}

type TestBody = http_body_util::combinators::BoxBody<Bytes, s3s::StdError>;

fn full(body: impl Into<Bytes>) -> TestBody {
    http_body_util::Full::new(body.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A body that yields one byte per interval.
struct Trickle {
    data: Bytes,
    every: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Trickle {
    type Data = Bytes;
    type Error = s3s::StdError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, s3s::StdError>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                let every = self.every;
                self.sleep
                    .as_mut()
                    .reset(tokio::time::Instant::now() + every);
                let byte = self.data.split_to(1);
                Poll::Ready(Some(Ok(hyper::body::Frame::data(byte))))
            }
        }
    }
}

use std::future::Future as _;

/// Rewrites a real ListObjectsV2 answer: `IsTruncated` true and the given
/// continuation token (none when `None`).
fn truncated(xml: &str, token: Option<&str>) -> String {
    let next = token
        .map(|t| format!("<NextContinuationToken>{t}</NextContinuationToken>"))
        .unwrap_or_default();
    let xml = xml.replace("<IsTruncated>false</IsTruncated>", "");
    xml.replacen(
        "</ListBucketResult>",
        &format!("<IsTruncated>true</IsTruncated>{next}</ListBucketResult>"),
        1,
    )
}

fn query_param(uri: &hyper::Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| v.to_owned())
    })
}

/// Applies `fault` to one exchange. `None` means: drop the connection.
async fn misbehave(
    fault: Fault,
    is_list: bool,
    token: Option<String>,
    cached_list: Arc<Mutex<std::collections::HashMap<String, String>>>,
    prefix: String,
    real: impl std::future::Future<Output = hyper::Response<s3s::Body>>,
) -> Option<hyper::Response<TestBody>> {
    let xml_response = |body: String| {
        hyper::Response::builder()
            .status(200)
            .header("content-type", "application/xml")
            .body(full(body))
            .unwrap()
    };
    let list_fault = matches!(
        fault,
        Fault::CyclingTokens
            | Fault::TruncatedWithoutToken
            | Fault::RepeatedToken
            | Fault::EndlessPages
            | Fault::KeyOutsidePrefix
            | Fault::GarbageXml
    );
    match fault {
        Fault::Reset => return None,
        Fault::Status(code, body) => {
            return Some(
                hyper::Response::builder()
                    .status(code)
                    .body(full(body))
                    .unwrap(),
            );
        }
        Fault::GarbageXml if is_list => return Some(xml_response("<<<this is not xml".into())),
        _ if is_list && list_fault => {
            // The first page is the real server's; later pages (asked for
            // with a token the real server never issued) replay it.
            let page = if token.is_none() {
                let resp = real.await;
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                let text = String::from_utf8(body.to_vec()).unwrap();
                cached_list.lock().unwrap().insert(prefix, text.clone());
                text
            } else {
                cached_list
                    .lock()
                    .unwrap()
                    .get(&prefix)
                    .cloned()
                    .unwrap_or_default()
            };
            static PAGE: AtomicUsize = AtomicUsize::new(0);
            let body = match fault {
                Fault::CyclingTokens => {
                    let next = if token.as_deref() == Some("A") {
                        "B"
                    } else {
                        "A"
                    };
                    truncated(&page, Some(next))
                }
                Fault::TruncatedWithoutToken => truncated(&page, None),
                Fault::RepeatedToken => truncated(&page, Some(token.as_deref().unwrap_or("T1"))),
                Fault::EndlessPages => {
                    let n = PAGE.fetch_add(1, Ordering::SeqCst);
                    truncated(&page, Some(&format!("page-{n}")))
                }
                _ => page.replacen("<Key>", "<Key>elsewhere/", 1),
            };
            return Some(xml_response(body));
        }
        _ => {}
    }
    let resp = real.await;
    let (parts, body) = resp.into_parts();
    let body: TestBody = match fault {
        Fault::TrickleBody(ms) if !is_list => {
            let data = body.collect().await.unwrap().to_bytes();
            Trickle {
                data,
                every: Duration::from_millis(ms),
                sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            }
            .boxed()
        }
        _ => body.boxed(),
    };
    Some(hyper::Response::from_parts(parts, body))
}

pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh directory, removed when dropped.
pub fn temp_dir() -> TempDir {
    TempDir(crate::cli::temp_dir("test"))
}

/// Refuses (AccessDenied) listings and reads under a key prefix, as a
/// bucket policy would: s3s's access hook, checked by the server.
struct DenyPrefix(String);

#[async_trait::async_trait]
impl s3s::access::S3Access for DenyPrefix {
    async fn list_objects_v2(
        &self,
        req: &mut s3s::S3Request<s3s::dto::ListObjectsV2Input>,
    ) -> s3s::S3Result<()> {
        match req.input.prefix.as_deref() {
            Some(p) if p.starts_with(&self.0) => Err(s3s::s3_error!(AccessDenied)),
            _ => Ok(()),
        }
    }

    async fn get_object(
        &self,
        req: &mut s3s::S3Request<s3s::dto::GetObjectInput>,
    ) -> s3s::S3Result<()> {
        if req.input.key.starts_with(&self.0) {
            return Err(s3s::s3_error!(AccessDenied));
        }
        Ok(())
    }
}

pub async fn start_server(buckets: &[&str]) -> Server {
    start_server_denying(buckets, None).await
}

/// Like [`start_server`], refusing everything under `deny` (a key prefix).
pub async fn start_server_denying(buckets: &[&str], deny: Option<&str>) -> Server {
    let root = temp_dir();
    for b in buckets {
        std::fs::create_dir_all(root.0.join(b)).unwrap();
    }
    let fs = s3s_fs::FileSystem::new(&root.0).unwrap();
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(KEY_ID, SECRET));
    if let Some(prefix) = deny {
        builder.set_access(DenyPrefix(prefix.to_owned()));
    }
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let faults = Arc::new(AtomicUsize::new(0));
    let fault = Arc::new(Mutex::new(Fault::None));
    let cached_list = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let (req_count, fault_count, mode) = (requests.clone(), faults.clone(), fault.clone());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            // Without it, responses stall ~40 ms (Nagle + delayed ACK).
            socket.set_nodelay(true).unwrap();
            let service = service.clone();
            let (req_count, fault_count) = (req_count.clone(), fault_count.clone());
            let (mode, cached_list) = (mode.clone(), cached_list.clone());
            let svc = hyper::service::service_fn(
                move |req: hyper::Request<hyper::body::Incoming>| {
                    let service = service.clone();
                    req_count.fetch_add(1, Ordering::SeqCst);
                    let slow_down = fault_count
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let fault = mode.lock().unwrap().clone();
                    let is_list = req.method() == hyper::Method::GET
                        && query_param(req.uri(), "list-type").as_deref() == Some("2");
                    let token = query_param(req.uri(), "continuation-token");
                    let prefix = query_param(req.uri(), "prefix").unwrap_or_default();
                    let cached_list = cached_list.clone();
                    async move {
                        if slow_down {
                            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                            return Ok(hyper::Response::builder()
                                .status(503)
                                .header("content-type", "application/xml")
                                .body(full(body))
                                .unwrap());
                        }
                        let real = async {
                            match hyper::service::Service::call(&service, req).await {
                                Ok(r) => r,
                                Err(e) => panic!("s3s failed: {e:?}"),
                            }
                        };
                        misbehave(fault, is_list, token, cached_list, prefix, real)
                            .await
                            .ok_or("connection reset by the fault switch")
                    }
                },
            );
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), svc)
                    .await;
            });
        }
    });
    Server {
        addr,
        requests,
        faults,
        fault,
        root,
    }
}
