//! The one way tests send requests and read answers: to a router in this process, to a provider
//! on a socket, or as raw bytes; every answer is an [`Answer`].

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// One answer, from a router or a socket.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// Status, headers and body, to take apart.
    pub fn parts(self) -> (StatusCode, HeaderMap, Bytes) {
        (self.status, self.headers, self.body)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to the router.
pub async fn call(router: &Router, method: Method, uri: &str, body: Option<Value>) -> Answer {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    call_raw(
        router,
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

pub async fn call_raw(router: &Router, request: Request<Body>) -> Answer {
    read(router.clone().oneshot(request).await.unwrap()).await
}

/// A client for providers and functions on sockets.
pub fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends one request over a socket; the answer's body is not read yet (it may stream).
pub async fn send(
    method: Method,
    url: impl AsRef<str>,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Response<Body> {
    let mut request = Request::builder().method(method).uri(url.as_ref());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    client()
        .request(request.body(body.into()).unwrap())
        .await
        .unwrap()
        .map(Body::new)
}

/// Reads an answer whole.
pub async fn read(response: Response<Body>) -> Answer {
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// Sends one request over a socket and reads the answer whole.
pub async fn fetch(
    method: Method,
    url: impl AsRef<str>,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Answer {
    read(send(method, url, headers, body).await).await
}

/// POST /system/functions.
pub async fn deploy(router: &Router, body: Value) -> Answer {
    call(router, Method::POST, "/system/functions", Some(body)).await
}

/// PUT /system/functions.
pub async fn update(router: &Router, body: Value) -> Answer {
    call(router, Method::PUT, "/system/functions", Some(body)).await
}

/// POST /system/scale-function/{name}.
pub async fn scale(router: &Router, name: &str, replicas: u64) -> Answer {
    let body = serde_json::json!({"serviceName": name, "replicas": replicas});
    call(
        router,
        Method::POST,
        &format!("/system/scale-function/{name}"),
        Some(body),
    )
    .await
}

/// DELETE /system/functions.
pub async fn remove(router: &Router, name: &str) -> Answer {
    call(
        router,
        Method::DELETE,
        "/system/functions",
        Some(serde_json::json!({"functionName": name})),
    )
    .await
}

/// GET /system/function/{name}.
pub async fn status(router: &Router, name: &str) -> Answer {
    call(
        router,
        Method::GET,
        &format!("/system/function/{name}"),
        None,
    )
    .await
}

/// Sends raw bytes and returns the status line of the answer, or "closed" if the provider
/// closed the connection without one.
pub async fn raw_status(p: SocketAddr, request: &[u8]) -> String {
    let mut socket = tokio::net::TcpStream::connect(p).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer));
    let _ = read.await.expect("the provider answers and closes");
    let text = String::from_utf8_lossy(&answer);
    text.lines()
        .next()
        .map_or_else(|| "closed".to_string(), String::from)
}
