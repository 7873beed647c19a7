//! A minimal function for benchmarks: answers `OK` to any request after reading its body, and
//! 1 MiB to `/1mib`.
//! Serves on the address given as the first argument (default 127.0.0.1:9090).

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

async fn answer(
    request: Request<Incoming>,
    mib: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let large = request.uri().path() == "/1mib";
    // Drain the body frame by frame, as a function reading its input would, without keeping it.
    let mut body = request.into_body();
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
    Ok(Response::new(Full::new(if large {
        mib
    } else {
        Bytes::from_static(b"OK")
    })))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9090".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mib = Bytes::from(vec![b'x'; 1 << 20]);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let mib = mib.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(request, mib.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
