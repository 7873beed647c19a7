//! The invocation proxy over real sockets: a provider on the in-memory backend with a fixed
//! resolver, in front of upstreams written here.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};

use crate::support::{Answer, TestApp, eventually, fetch, raw_status, read, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn spawn(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A provider whose functions are at the given addresses; answers wait at most `timeout`.
async fn provider(table: &[(&str, Vec<SocketAddr>)], timeout: Duration) -> SocketAddr {
    TestApp::init()
        .with_functions(table)
        .with_write_timeout(timeout)
        // As deployed: serving threads poll a while before sleeping.
        .with_busy_poll(Duration::from_micros(200))
        .serve()
        .await
}

/// An address nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A caller on a raw socket to the provider that has sent `head` (and nothing more yet).
async fn caller_sending(p: SocketAddr, head: impl AsRef<[u8]>) -> TcpStream {
    let mut caller = TcpStream::connect(p).await.unwrap();
    caller.write_all(head.as_ref()).await.unwrap();
    caller
}

/// The provider's Prometheus text.
async fn metrics_text(p: SocketAddr) -> String {
    fetch(
        Method::GET,
        format!("http://{p}/metrics"),
        &[],
        Body::empty(),
    )
    .await
    .text()
}

/// Answers with what it received, as JSON.
async fn echo(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let header = |k: &str| {
        parts
            .headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let answer = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "host": header("host"),
        "xForwardedHost": header("x-forwarded-host"),
        "xForwardedFor": header("x-forwarded-for"),
        "xCallId": header("x-call-id"),
        "body": String::from_utf8_lossy(&body),
    });
    (
        [
            ("x-call-id", header("x-call-id").unwrap_or_default()),
            ("x-from", "echo".into()),
        ],
        answer.to_string(),
    )
        .into_response()
}

#[tokio::test]
async fn method_path_query_headers_and_body_reach_the_function_and_back() {
    let upstream = spawn(Router::new().fallback(any(echo))).await;
    let p = provider(&[("echo", vec![upstream])], Duration::from_secs(5)).await;
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = send(
            method.clone(),
            format!("http://{p}/function/echo/a/b?x=1&y=%2F"),
            &[("x-call-id", "call-1"), ("host", "gateway.example:8080")],
            Body::from("hi"),
        )
        .await;
        let (status, headers, body) = read(response).await.parts();
        assert_eq!(status, StatusCode::OK, "{method}");
        assert_eq!(headers["x-call-id"], "call-1");
        assert_eq!(headers["x-from"], "echo");
        let seen: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(seen["method"], method.as_str());
        assert_eq!(seen["path"], "/a/b");
        assert_eq!(seen["query"], "x=1&y=%2F");
        assert_eq!(seen["body"], "hi");
        assert_eq!(seen["xForwardedHost"], "gateway.example:8080");
        assert_eq!(seen["xForwardedFor"], "127.0.0.1");
        assert_eq!(seen["host"], upstream.to_string());
    }
    for (path, expected) in [
        ("/function/echo", "/"),
        ("/function/echo/", "/"),
        ("/function/echo.openfaas-fn/x", "/x"),
    ] {
        let Answer { status, body, .. } =
            fetch(Method::GET, format!("http://{p}{path}"), &[], Body::empty()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["path"],
            expected,
            "{path}"
        );
    }
    let (status, headers, body) = read(
        send(
            Method::HEAD,
            format!("http://{p}/function/echo"),
            &[],
            Body::empty(),
        )
        .await,
    )
    .await
    .parts();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-from"], "echo");
    assert!(body.is_empty());
}

#[tokio::test]
async fn other_methods_are_405() {
    let upstream = spawn(Router::new().fallback(any(echo))).await;
    let p = provider(&[("echo", vec![upstream])], Duration::from_secs(5)).await;
    let response = send(
        Method::TRACE,
        format!("http://{p}/function/echo"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn redirects_reach_the_caller_unfollowed() {
    let redirect = || async { (StatusCode::FOUND, [("location", "/elsewhere")], "moved") };
    let upstream = spawn(Router::new().fallback(any(redirect))).await;
    let p = provider(&[("r", vec![upstream])], Duration::from_secs(5)).await;
    let (status, headers, body) = read(
        send(
            Method::GET,
            format!("http://{p}/function/r"),
            &[],
            Body::empty(),
        )
        .await,
    )
    .await
    .parts();
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "/elsewhere");
    assert_eq!(body, "moved");
}

#[tokio::test]
async fn no_ready_task_is_503_and_an_unreachable_one_500() {
    let closed = closed_port().await;
    let p = provider(&[("gone", vec![closed])], Duration::from_secs(5)).await;
    let (status, headers, body) = read(
        send(
            Method::GET,
            format!("http://{p}/function/none"),
            &[],
            Body::empty(),
        )
        .await,
    )
    .await
    .parts();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["x-openfaas-internal"], "proxy");
    assert_eq!(body, "No endpoints available for: none.openfaas-fn.");
    let (status, headers, body) = read(
        send(
            Method::POST,
            format!("http://{p}/function/gone"),
            &[],
            Body::from("x"),
        )
        .await,
    )
    .await
    .parts();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(headers["x-openfaas-internal"], "proxy");
    assert_eq!(body, "Can't reach service for: gone.openfaas-fn.");
    // The proxy's own answers are invocations too, counted by function and status.
    let metrics = metrics_text(p).await;
    for line in [
        r#"faas_ecs_function_invocations_total{function_name="none",namespace="openfaas-fn",code="503"} 1"#,
        r#"faas_ecs_function_invocations_total{function_name="gone",namespace="openfaas-fn",code="500"} 1"#,
        r#"faas_ecs_function_requests_in_flight{function_name="gone",namespace="openfaas-fn"} 0"#,
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
}

#[tokio::test]
async fn a_task_that_refuses_connections_is_skipped() {
    let upstream = spawn(Router::new().fallback(any(echo))).await;
    let closed = closed_port().await;
    let p = provider(&[("echo", vec![closed, upstream])], Duration::from_secs(5)).await;
    for i in 0..6 {
        let body = format!("request {i}");
        let (status, _, answer) = read(
            send(
                Method::POST,
                format!("http://{p}/function/echo"),
                &[],
                Body::from(body.clone()),
            )
            .await,
        )
        .await
        .parts();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_slice::<Value>(&answer).unwrap()["body"],
            body,
            "the body survives the retry"
        );
    }
}

#[tokio::test]
async fn requests_spread_over_every_task() {
    let hits: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let mut addrs = Vec::new();
    for hit in &hits {
        let hit = hit.clone();
        addrs.push(
            spawn(Router::new().fallback(any(move || async move {
                hit.fetch_add(1, Ordering::Relaxed);
                "ok"
            })))
            .await,
        );
    }
    let p = provider(&[("spread", addrs)], Duration::from_secs(5)).await;
    for _ in 0..30 {
        assert_eq!(
            send(
                Method::GET,
                format!("http://{p}/function/spread"),
                &[],
                Body::empty()
            )
            .await
            .status(),
            StatusCode::OK
        );
    }
    for hit in &hits {
        assert!(hit.load(Ordering::Relaxed) >= 5, "{hits:?}");
    }
}

#[tokio::test]
async fn slow_functions_time_out_with_504() {
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        "late"
    };
    let upstream = spawn(Router::new().fallback(any(slow))).await;
    let p = provider(&[("slow", vec![upstream])], Duration::from_millis(300)).await;
    let response = send(
        Method::GET,
        format!("http://{p}/function/slow"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(response.headers()["x-openfaas-internal"], "proxy");
}

#[tokio::test]
async fn server_sent_events_arrive_one_by_one() {
    // The upstream sends the second event only after the test has received the first.
    let (release_tx, release_rx) = tokio::sync::mpsc::channel::<()>(1);
    let release_rx = Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let sse = move || {
        let release_rx = release_rx.clone();
        async move {
            let mut rx = release_rx.lock().await.take().unwrap();
            let stream = async_stream(move |tx| async move {
                tx.send(Bytes::from("data: one\n\n")).await.ok();
                rx.recv().await;
                tx.send(Bytes::from("data: two\n\n")).await.ok();
            });
            (
                [("content-type", "text/event-stream")],
                Body::from_stream(stream),
            )
        }
    };
    let upstream = spawn(Router::new().fallback(any(sse))).await;
    let p = provider(&[("events", vec![upstream])], Duration::from_secs(5)).await;
    let response = send(
        Method::GET,
        format!("http://{p}/function/events"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("first event before the second is sent");
    assert_eq!(first.unwrap().unwrap(), "data: one\n\n");
    release_tx.send(()).await.unwrap();
    let second = body.next().await.unwrap().unwrap();
    assert_eq!(second, "data: two\n\n");
}

/// A body stream fed by a task.
fn async_stream<F, Fut>(produce: F) -> impl futures::Stream<Item = Result<Bytes, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(produce(tx));
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    )
}

#[tokio::test]
async fn ten_mib_go_through_both_ways_as_a_stream() {
    const MIB: usize = 1024 * 1024;
    // The upstream counts what it has received and streams the same number of bytes back.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let sink = move |request: Request| {
        let counter = counter.clone();
        async move {
            let mut body = request.into_body().into_data_stream();
            while let Some(chunk) = body.next().await {
                counter.fetch_add(chunk.unwrap().len(), Ordering::SeqCst);
            }
            let total = counter.load(Ordering::SeqCst);
            let chunks = futures::stream::iter(
                (0..total / MIB).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b'y'; MIB]))),
            );
            Body::from_stream(chunks)
        }
    };
    let upstream = spawn(Router::new().fallback(any(sink))).await;
    let p = provider(&[("big", vec![upstream])], Duration::from_secs(30)).await;

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
    let body = Body::new(StreamBody::new(futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|f| (f, rx)) },
    )));
    let request = tokio::spawn(send(
        Method::POST,
        format!("http://{p}/function/big"),
        &[],
        body,
    ));
    tx.send(Ok(Frame::data(Bytes::from(vec![b'x'; MIB]))))
        .await
        .unwrap();
    // The first MiB reaches the function while the rest has not been sent yet.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while received.load(Ordering::SeqCst) < MIB {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request body is not streamed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 1..10 {
        tx.send(Ok(Frame::data(Bytes::from(vec![b'x'; MIB]))))
            .await
            .unwrap();
    }
    drop(tx);
    let response = request.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut total = 0;
    let mut body = response.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(received.load(Ordering::SeqCst), 10 * MIB);
    assert_eq!(total, 10 * MIB);
}

/// Bytes that differ at every offset, so that a lost, repeated or reordered chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

#[tokio::test]
async fn ten_mib_with_a_length_arrive_byte_for_byte_both_ways() {
    // The function answers with what it received, reversed: a Content-Length body each way.
    let reverse = |request: Request| async move {
        let mut body = request
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        body.reverse();
        body
    };
    let upstream = spawn(Router::new().fallback(any(reverse))).await;
    let p = provider(&[("big", vec![upstream])], Duration::from_secs(30)).await;
    let sent = pattern(10 * 1024 * 1024);
    let answer = fetch(
        Method::POST,
        format!("http://{p}/function/big"),
        &[],
        sent.clone(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers["content-length"],
        sent.len().to_string().as_str()
    );
    let mut expected = sent;
    expected.reverse();
    assert!(
        answer.body == expected,
        "the answer differs from what the function sent"
    );
}

/// How many bytes `counter` reached once it stopped growing for half a second.
async fn settled(counter: &AtomicUsize) -> usize {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = counter.load(Ordering::SeqCst);
        if now == last {
            return now;
        }
        last = now;
    }
}

// What one side sends while the other reads nothing is bounded by the sockets' buffers (up to
// about 9 MiB here, more with other autotuning) and what the provider holds: a proxy that read
// ahead without bound would take all 1 GiB.
const ON_OFFER: usize = 1 << 30;
const AT_MOST: usize = 48 * 1024 * 1024;

#[tokio::test]
async fn a_caller_that_stops_reading_stops_the_function_s_answer() {
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let endless = move |_: Request| {
        let counter = counter.clone();
        async move {
            let chunks = futures::stream::iter(0..ON_OFFER / 65536).map(move |_| {
                counter.fetch_add(65536, Ordering::SeqCst);
                Ok::<_, Infallible>(Bytes::from(vec![b'z'; 65536]))
            });
            Body::from_stream(chunks)
        }
    };
    let upstream = spawn(Router::new().fallback(any(endless))).await;
    let p = provider(&[("endless", vec![upstream])], Duration::from_secs(30)).await;
    let mut caller = caller_sending(p, b"GET /function/endless HTTP/1.1\r\nHost: p\r\n\r\n").await;
    let mut head = [0u8; 12];
    caller.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // The caller reads nothing more.
    let held = settled(&produced).await;
    assert!(held > 0, "the function started answering");
    assert!(
        held < AT_MOST,
        "the function sent {held} bytes to a caller that reads nothing"
    );
}

#[tokio::test]
async fn a_function_that_stops_reading_stops_the_caller_s_body() {
    let (got_head, head_seen) = tokio::sync::oneshot::channel::<()>();
    let got_head = Arc::new(std::sync::Mutex::new(Some(got_head)));
    let stalled = move |_: Request| {
        let got_head = got_head.clone();
        async move {
            if let Some(tx) = got_head.lock().unwrap().take() {
                let _ = tx.send(());
            }
            // Never reads the body.
            std::future::pending::<()>().await;
            StatusCode::OK
        }
    };
    let upstream = spawn(Router::new().fallback(any(stalled))).await;
    let p = provider(&[("stalled", vec![upstream])], Duration::from_secs(60)).await;
    let mut caller = caller_sending(
        p,
        format!("POST /function/stalled HTTP/1.1\r\nHost: p\r\nContent-Length: {ON_OFFER}\r\n\r\n"),
    )
    .await;
    let sent = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn({
        let sent = sent.clone();
        async move {
            let chunk = vec![b'w'; 65536];
            while caller.write_all(&chunk).await.is_ok() {
                sent.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    });
    head_seen.await.unwrap();
    let held = settled(&sent).await;
    writer.abort();
    assert!(
        held < AT_MOST,
        "the caller sent {held} bytes to a function that reads nothing"
    );
}

#[tokio::test]
async fn websocket_upgrades_pass_through() {
    // An upstream that accepts any upgrade and then echoes bytes.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(socket.read_u8().await.unwrap());
        }
        let head = String::from_utf8(head).unwrap().to_lowercase();
        assert!(head.contains("upgrade: websocket"), "{head}");
        socket
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            socket.write_all(&buf[..n]).await.unwrap();
        }
    });
    let p = provider(&[("ws", vec![upstream])], Duration::from_secs(5)).await;
    let mut socket = caller_sending(p, b"GET /function/ws/chat HTTP/1.1\r\nhost: gw\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").await;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(socket.read_u8().await.unwrap());
    }
    assert!(
        String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    socket.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"ping");
    // The spliced connection is an invocation in flight (activity for scale-to-zero) until it
    // closes.
    let in_flight =
        r#"faas_ecs_function_requests_in_flight{function_name="ws",namespace="openfaas-fn"}"#;
    let gauge = || async {
        metrics_text(p)
            .await
            .lines()
            .find_map(|l| l.strip_prefix(in_flight)?.trim().parse::<i64>().ok())
    };
    assert_eq!(gauge().await, Some(1));
    drop(socket);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while gauge().await != Some(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "still in flight after the close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_stop_lets_the_request_in_flight_finish_and_takes_no_new_connection() {
    let arrived = Arc::new(tokio::sync::Notify::new());
    let reached = arrived.clone();
    let slow = move || async move {
        reached.notify_one();
        tokio::time::sleep(Duration::from_millis(500)).await;
        "done"
    };
    let upstream = spawn(Router::new().fallback(any(slow))).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (p, server) = TestApp::init()
        .with_functions(&[("slow", vec![upstream])])
        .with_write_timeout(Duration::from_secs(5))
        .with_grace(Duration::from_secs(5))
        .serve_until(async {
            let _ = stopped.await;
        })
        .await;
    let in_flight = tokio::spawn(send(
        Method::GET,
        format!("http://{p}/function/slow"),
        &[],
        Body::empty(),
    ));
    // Stopped once the function has the request.
    arrived.notified().await;
    stop.send(()).unwrap();
    let (status, _, body) = read(in_flight.await.unwrap()).await.parts();
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"done"[..]));
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server stops once the request is answered")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(p).await.is_err());
}

#[tokio::test]
async fn malformed_framing_is_a_400_and_never_reaches_the_function() {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let upstream = spawn(Router::new().fallback(any(move |request: Request| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            echo(request).await
        }
    })))
    .await;
    let p = provider(&[("echo", vec![upstream])], Duration::from_secs(5)).await;
    let head = "POST /function/echo HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n";
    let cases = [
        "transfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "transfer-encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "transfer-encoding: gzip\r\n\r\nhello",
        "content-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
        "content-length: -1\r\n\r\nhello",
    ];
    let mut wrong = Vec::new();
    for case in cases {
        let status = raw_status(p, format!("{head}{case}").as_bytes()).await;
        if !status.starts_with("HTTP/1.1 400") {
            wrong.push(format!("{case:?}: {status}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(reached.load(Ordering::SeqCst), 0);
    // Well framed: chunked, and chunked with a Content-Length that hyper drops (RFC 9112, 6.3:
    // chunked wins; the function gets neither header, so nothing is smuggled).
    for case in [
        "transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "transfer-encoding: chunked\r\ncontent-length: 50\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ] {
        let status = raw_status(p, format!("{head}{case}").as_bytes()).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{case:?}: {status}");
    }
    assert_eq!(reached.load(Ordering::SeqCst), 2);
    // Broken after the first bytes went to the function: still the client's fault, a 400.
    let mut socket = TcpStream::connect(p).await.unwrap();
    let start = format!("{head}transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
    socket.write_all(start.as_bytes()).await.unwrap();
    eventually(
        "the function has the request",
        Duration::from_secs(10),
        async || reached.load(Ordering::SeqCst) == 3,
    )
    .await;
    socket.write_all(b"zz\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

/// Connections a task took, and how many of them have ended.
#[derive(Default)]
struct Connections {
    accepted: AtomicUsize,
    ended: AtomicUsize,
}

/// A task that keeps connections alive, answering `answer_len` bytes of `x` to every request and
/// counting connections; with `idle_close`, it closes a connection left idle that long, as a
/// function's server times idle connections out.
async fn counting_task(
    idle_close: Option<Duration>,
    answer_len: usize,
) -> (SocketAddr, Arc<Connections>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(Connections::default());
    let counts = connections.clone();
    let mut answer =
        format!("HTTP/1.1 200 OK\r\ncontent-length: {answer_len}\r\n\r\n").into_bytes();
    answer.resize(answer.len() + answer_len, b'x');
    let answer = Bytes::from(answer);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            counts.accepted.fetch_add(1, Ordering::Relaxed);
            let (counts, answer) = (counts.clone(), answer.clone());
            tokio::spawn(async move {
                let _ended = Ended(counts);
                let mut buf = Vec::new();
                loop {
                    // One request: its head, then as many bytes as its length says.
                    let head_end = loop {
                        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        let read = match idle_close.filter(|_| buf.is_empty()) {
                            Some(after) => {
                                match tokio::time::timeout(after, stream.read(&mut chunk)).await {
                                    Ok(read) => read,
                                    Err(_) => return,
                                }
                            }
                            None => stream.read(&mut chunk).await,
                        };
                        match read {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while buf.len() < head_end + length {
                        let mut chunk = [0u8; 4096];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + length);
                    if stream.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, connections)
}

/// Counts a connection ended when its handler returns.
struct Ended(Arc<Connections>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn connections_to_a_task_are_reused_and_one_it_closed_while_idle_is_replaced() {
    let (kept, kept_count) = counting_task(None, 2).await;
    let (closing, closing_count) = counting_task(Some(Duration::from_millis(50)), 2).await;
    let p = provider(
        &[("kept", vec![kept]), ("closing", vec![closing])],
        Duration::from_secs(5),
    )
    .await;
    let post = |name: &'static str| {
        fetch(
            Method::POST,
            format!("http://{p}/function/{name}"),
            &[],
            Body::from("not to be sent twice"),
        )
    };
    for _ in 0..20 {
        let answer = post("kept").await;
        assert_eq!(
            (answer.status, &answer.body[..]),
            (StatusCode::OK, &b"xx"[..])
        );
    }
    assert_eq!(
        kept_count.accepted.load(Ordering::Relaxed),
        1,
        "one connection, read to the end of each answer and reused"
    );
    for _ in 0..5 {
        // Long enough for the task to close the connection the last request left idle.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let answer = post("closing").await;
        assert_eq!(
            (answer.status, &answer.body[..]),
            (StatusCode::OK, &b"xx"[..]),
            "a POST is never sent on a connection the task closed"
        );
    }
    assert_eq!(
        closing_count.accepted.load(Ordering::Relaxed),
        5,
        "each closed connection found closed and replaced"
    );
}

#[tokio::test]
async fn a_connection_whose_answer_was_left_unread_is_closed_not_reused() {
    const LEN: usize = 4 << 20;
    let (task, connections) = counting_task(None, LEN).await;
    let p = provider(&[("large", vec![task])], Duration::from_secs(5)).await;
    let mut caller =
        caller_sending(p, b"GET /function/large HTTP/1.1\r\nhost: provider\r\n\r\n").await;
    let mut first = vec![0u8; 64 * 1024];
    caller.read_exact(&mut first).await.unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200 OK"));
    // The caller goes away after the first bytes of 4 MiB.
    drop(caller);
    eventually(
        "the provider closes its connection to the task",
        Duration::from_secs(5),
        async || connections.ended.load(Ordering::Relaxed) == 1,
    )
    .await;

    let url = format!("http://{p}/function/large");
    let answer = fetch(Method::GET, &url, &[], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body.len(), LEN);
    assert!(
        answer.body.iter().all(|&b| b == b'x'),
        "the whole answer, nothing of the last one"
    );
    assert_eq!(connections.accepted.load(Ordering::Relaxed), 2);
}
