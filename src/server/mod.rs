//! Serves the provider over HTTP/1.1: keep-alive, upgrades, bounded reads and a bounded number of
//! connections, the client's address for X-Forwarded-For, and a graceful stop that lets in-flight
//! requests finish. Invocations go straight to the proxy; everything else goes through the router,
//! after its whole body has been read ([`body`]). The connection limit is in [`limit`], busy
//! polling in [`busy_poll`].

mod body;
mod busy_poll;
mod limit;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderValue;
use axum::middleware;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

use self::body::read_whole_body;
use self::busy_poll::{Activity, busy_poll};
pub use self::limit::{ConnectionLimit, HURRIED_READ_TIMEOUT};
use crate::handlers::invoke;
use crate::io::CappedReads;
use crate::model::shared::INVOKE_PREFIX;
use crate::proxy::ProxyBody;
use crate::routes::router;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Options {
    /// Longest wait for a request's headers, and then for a `/system` request's body.
    pub read_timeout: Duration,
    /// How long open requests may go on after the stop.
    pub grace: Duration,
    /// How long to keep polling for I/O after a request arrives before sleeping; zero for none.
    pub busy_poll: Duration,
    /// Largest request line plus headers (431 beyond). At least 8192.
    pub max_request_head: usize,
    /// Connections served at once; shared by every serving thread.
    pub connections: ConnectionLimit,
}

/// What the requests of one connection share.
struct Connection {
    state: AppState,
    router: Router,
    forwarded_for: Option<HeaderValue>,
}

/// Serves until `shutdown` resolves, then waits up to `options.grace` for open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // Each connection holds a sender: when all are dropped, every connection has ended.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let (stopping, stop) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.read_timeout)
        .keep_alive(true);
    // The read buffer's limit: the largest request head (bodies move in smaller reads, see io.rs).
    http.max_buf_size(options.max_request_head);
    let mut hurried = http.clone();
    hurried
        .header_read_timeout(HURRIED_READ_TIMEOUT)
        .keep_alive(false);
    let (http, hurried) = (Arc::new(http), Arc::new(hurried));
    let free_reads = crate::io::unbudgeted(options.max_request_head);
    let router = router(state.clone());
    // Requests are counted only for the poller, when there is one.
    let activity = (!options.busy_poll.is_zero()).then(|| Arc::new(Activity::default()));
    let poller = activity
        .clone()
        .map(|activity| tokio::spawn(busy_poll(activity, options.busy_poll)));
    let hurried_router = router.clone().layer(middleware::from_fn_with_state(
        HURRIED_READ_TIMEOUT,
        read_whole_body,
    ));
    let router = router.layer(middleware::from_fn_with_state(
        options.read_timeout,
        read_whole_body,
    ));
    tokio::pin!(shutdown);
    loop {
        let mut place = tokio::select! {
            place = options.connections.acquire() => place,
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        place.opened(&options.connections);
        let connection = Arc::new(Connection {
            state: state.clone(),
            router: if place.hurried() {
                hurried_router.clone()
            } else {
                router.clone()
            },
            forwarded_for: crate::proxy::forwarded_for(remote),
        });
        let service = service(connection, activity.clone());
        let http = if place.hurried() {
            hurried.clone()
        } else {
            http.clone()
        };
        let (open, mut stop) = (open.clone(), stop.clone());
        tokio::spawn(async move {
            let _place = place;
            // hyper-util's GracefulShutdown cannot watch a connection with upgrades: stopped here.
            let connection = http
                .serve_connection(
                    TokioIo::new(CappedReads::serving(stream, free_reads)),
                    service,
                )
                .with_upgrades();
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stopped(&mut stop) => {
                    // Finishes the request in flight, if any, then closes.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(open);
        });
    }
    drop(listener);
    if let Some(poller) = poller {
        poller.abort();
    }
    let _ = stopping.send(true);
    drop(open);
    if tokio::time::timeout(options.grace, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after the grace period; stopping anyway");
    }
    Ok(())
}

/// A connection's requests: invocations straight to the proxy, the rest through the router.
fn service(
    connection: Arc<Connection>,
    activity: Option<Arc<Activity>>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = hyper::Response<ProxyBody>,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<hyper::Response<ProxyBody>, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = activity.as_ref().map(Activity::arrived);
        let connection = connection.clone();
        async move {
            let _in_flight = in_flight;
            let c = &*connection;
            Ok(if request.uri().path().starts_with(INVOKE_PREFIX) {
                invoke::invoke(&c.state, request, c.forwarded_for.as_ref()).await
            } else {
                let response = c.router.clone().oneshot(request.map(axum::body::Body::new));
                match response.await {
                    Ok(response) => response.map(Either::Right),
                    Err(never) => match never {},
                }
            })
        }
    })
}

/// Resolves once the stop is announced. A function of its own, so that the watch's read guard
/// ends here and is not held across the connection's await (it is not `Send`).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
