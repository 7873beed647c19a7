//! The server's bounds, over real sockets: whole /system requests read within the read timeout,
//! declared lengths over the limit refused at once, and a cap on connections served at once.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestApp, eventually, raw_status};

async fn provider(read_timeout: Duration, max_connections: usize) -> SocketAddr {
    TestApp::init()
        .with_read_timeout(read_timeout)
        .with_max_connections(max_connections)
        .serve()
        .await
}

/// Waits for the provider to close a connection that sends nothing; fails after 10 s.
async fn closed_by_the_provider(mut silent: TcpStream) {
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), silent.read_to_end(&mut buf))
        .await
        .expect("closed by the provider within seconds")
        .unwrap();
}

const DEPLOY: &str =
    "POST /system/functions HTTP/1.1\r\nhost: p\r\ncontent-type: application/json\r\n";

#[tokio::test]
async fn a_stalled_system_body_is_answered_408_and_the_connection_closed() {
    let p = provider(Duration::from_secs(1), 64).await;
    for stalled in [
        "content-length: 1000\r\n\r\n{\"service\":",
        "transfer-encoding: chunked\r\n\r\n5\r\n{\"ser\r\n",
    ] {
        // raw_status waits 10 s at most for the answer and the close.
        let status = raw_status(p, format!("{DEPLOY}{stalled}").as_bytes()).await;
        assert!(status.starts_with("HTTP/1.1 408"), "{stalled:?}: {status}");
    }
    // A body that arrives whole is still read and handled.
    let body = r#"{"service":"echo","image":"ghcr.io/openfaas/alpine:latest"}"#;
    let request = format!(
        "{DEPLOY}connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let status = raw_status(p, request.as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 202"), "{status}");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_any_of_the_body() {
    // A read timeout far beyond raw_status's wait: the answer cannot come from the timeout.
    let p = provider(Duration::from_secs(60), 64).await;
    for length in [
        "99999999999",
        &(faas_ecs::model::shared::MAX_BODY_BYTES + 1).to_string(),
    ] {
        let status = raw_status(
            p,
            format!("{DEPLOY}content-length: {length}\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(status.starts_with("HTTP/1.1 413"), "{length}: {status}");
    }
    // Sent without a declared length, a body over the limit is refused once it passes the limit.
    let mut request = format!("{DEPLOY}transfer-encoding: chunked\r\n\r\n").into_bytes();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..17 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    let status = raw_status(p, &request).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
}

#[tokio::test]
async fn past_the_limit_a_health_check_still_gets_through_and_beyond_that_connections_wait() {
    // Four places, and past them one hurried place (a quarter, at least one).
    let app = TestApp::init()
        .with_read_timeout(Duration::from_secs(30))
        .with_max_connections(4);
    let places = app.connections();
    let p = app.serve().await;
    let health = b"GET /healthz HTTP/1.1\r\nhost: p\r\nconnection: close\r\n\r\n";
    // Four clients that connect and send nothing hold every regular place.
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(TcpStream::connect(p).await.unwrap());
    }
    eventually("four places taken", Duration::from_secs(10), async || {
        places.open() == 4
    })
    .await;
    // The next one is served hurried: one request, then the provider closes it.
    let status = raw_status(p, health).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // A silent client in the hurried place is closed soon, not after the read timeout.
    closed_by_the_provider(TcpStream::connect(p).await.unwrap()).await;
    // With the hurried place held too, a new connection waits until a place is free.
    let _held = TcpStream::connect(p).await.unwrap();
    eventually(
        "the hurried place taken",
        Duration::from_secs(10),
        async || places.open() == 5,
    )
    .await;
    let mut waiting = TcpStream::connect(p).await.unwrap();
    waiting.write_all(health).await.unwrap();
    let mut answer = Vec::new();
    let waited =
        tokio::time::timeout(Duration::from_millis(300), waiting.read_to_end(&mut answer)).await;
    assert!(waited.is_err(), "answered past every place: {answer:?}");
    // The held one is closed after the hurried read timeout, or a regular client leaves: either
    // way the waiting connection is served.
    drop(silent.pop());
    tokio::time::timeout(Duration::from_secs(10), waiting.read_to_end(&mut answer))
        .await
        .expect("served once a place is free")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_read_timeout() {
    let p = provider(Duration::from_secs(1), 4).await;
    closed_by_the_provider(TcpStream::connect(p).await.unwrap()).await;
}

#[tokio::test]
async fn a_request_head_over_the_limit_is_431() {
    let p = provider(Duration::from_secs(5), 4).await;
    let head = |size: usize| {
        format!(
            "GET /healthz HTTP/1.1\r\nhost: p\r\nconnection: close\r\nx-big: {}\r\n\r\n",
            "x".repeat(size)
        )
    };
    let status = raw_status(p, head(12 * 1024).as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let status = raw_status(p, head(17 * 1024).as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 431"), "{status}");
}
