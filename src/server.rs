//! Serves the provider over HTTP/1.1: keep-alive, upgrades, a header read timeout, the client's
//! address for X-Forwarded-For, and a graceful stop that lets in-flight requests finish.
//! Invocations go straight to the proxy; everything else goes through the router.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::HeaderValue;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::handlers::proxy::{self, PREFIX};
use crate::routes::router;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Longest wait for a request's headers.
    pub read_timeout: Duration,
    /// How long open requests may go on after the stop.
    pub grace: Duration,
    /// How long to keep polling for I/O after a request arrives before sleeping; zero for none.
    pub busy_poll: Duration,
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
    let graceful = GracefulShutdown::new();
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.read_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let router = router(state.clone());
    let activity = Arc::new(Notify::new());
    let poller = (!options.busy_poll.is_zero())
        .then(|| tokio::spawn(busy_poll(activity.clone(), options.busy_poll)));
    tokio::pin!(shutdown);
    loop {
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
        let connection = Arc::new(Connection {
            state: state.clone(),
            router: router.clone(),
            forwarded_for: crate::proxy::forwarded_for(remote),
        });
        let activity = activity.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            activity.notify_one();
            let connection = connection.clone();
            async move {
                let c = &*connection;
                Ok::<_, std::convert::Infallible>(if request.uri().path().starts_with(PREFIX) {
                    proxy::invoke(&c.state, request, c.forwarded_for.as_ref()).await
                } else {
                    let response = c.router.clone().oneshot(request.map(axum::body::Body::new));
                    match response.await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                })
            }
        });
        let http = http.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let connection = http.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if let Some(poller) = poller {
        poller.abort();
    }
    if tokio::time::timeout(options.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after the grace period; stopping anyway");
    }
    Ok(())
}

/// Keeps this thread polling for I/O (a zero-timeout epoll on each turn of the runtime) for
/// `window` after each request arrives, instead of sleeping in the kernel: the function's answer
/// and the client's next request usually come within that time, and waking a sleeping thread on
/// an idle CPU costs more than the proxy's whole hop. Each turn also yields the CPU, so anything
/// else runnable on it still runs.
async fn busy_poll(activity: Arc<Notify>, window: Duration) {
    loop {
        activity.notified().await;
        let until = Instant::now() + window;
        while Instant::now() < until {
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
    }
}
