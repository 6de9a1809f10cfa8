//! An S3 server for tests: s3s-fs (files in a temporary directory) behind
//! hyper on 127.0.0.1, checking SigV4 signatures. A fault switch makes it
//! answer 503 SlowDown; a counter sees every request.
//!
//! Shared by kit-env's tests and the CLI's end-to-end tests (`#[path]`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper_util::rt::{TokioExecutor, TokioIo};

pub const KEY_ID: &str = "kit-test-key";
pub const SECRET: &str = "kit-test-secret";

/// A running S3 server. `faults` makes it answer that many requests with
/// 503 SlowDown before serving normally; `requests` counts every request.
pub struct Server {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicUsize>,
    pub faults: Arc<AtomicUsize>,
    pub root: TempDir,
}

pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir() -> TempDir {
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "kit-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    TempDir(p)
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
    let (req_count, fault_count) = (requests.clone(), faults.clone());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            // Without it, responses stall ~40 ms (Nagle + delayed ACK).
            socket.set_nodelay(true).unwrap();
            let service = service.clone();
            let (req_count, fault_count) = (req_count.clone(), fault_count.clone());
            let svc = hyper::service::service_fn(
                move |req: hyper::Request<hyper::body::Incoming>| {
                    let service = service.clone();
                    req_count.fetch_add(1, Ordering::SeqCst);
                    let fault = fault_count
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    async move {
                        if fault {
                            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                            return Ok(hyper::Response::builder()
                                .status(503)
                                .header("content-type", "application/xml")
                                .body(s3s::Body::from(body.to_owned()))
                                .unwrap());
                        }
                        hyper::service::Service::call(&service, req).await
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
        root,
    }
}
