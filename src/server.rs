//! Serves the provider over HTTP/1.1: keep-alive, upgrades, bounded reads and a bounded number of
//! connections, the client's address for X-Forwarded-For, and a graceful stop that lets in-flight
//! requests finish. Invocations go straight to the proxy; everything else goes through the router,
//! after its whole body has been read.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use http_body_util::{BodyExt, Either, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tower::ServiceExt;

use crate::handlers::invoke;
use crate::io::{CappedReads, Open};
use crate::model::shared::{INVOKE_PREFIX, MAX_BODY_BYTES};
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

/// The number of connections served at once, over every serving thread, so that a flood of slow
/// clients cannot take every file descriptor (the AWS calls and the functions' connections need
/// theirs). Past it, a few more connections are served hurried: one request each, whose head must
/// come within [`HURRIED_READ_TIMEOUT`] and whose `/system` body too, so that a health check or a
/// status read still gets through a flood of clients that send nothing; beyond those, new
/// connections wait in the kernel's accept queue until one closes.
#[derive(Debug, Clone)]
pub struct ConnectionLimit {
    permits: Arc<Semaphore>,
    hurried: Arc<Semaphore>,
    max: usize,
    /// When the limit was last reported: at most one warning a minute.
    reported: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl ConnectionLimit {
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max)),
            hurried: Arc::new(Semaphore::new((max / 4).clamp(1, 1024))),
            max,
            reported: Arc::default(),
        }
    }

    /// A place for one more connection, held until it closes.
    async fn acquire(&self) -> Place {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Place {
                _permit: permit,
                hurried: false,
            };
        }
        if self.report_now() {
            tracing::warn!(
                max = self.max,
                "connection limit reached (FAAS_ECS_MAX_CONNECTIONS): new connections are served one hurried request each, or wait until one closes"
            );
        }
        let closed = "the semaphores are never closed";
        tokio::select! {
            permit = self.permits.clone().acquire_owned() => Place { _permit: permit.expect(closed), hurried: false },
            permit = self.hurried.clone().acquire_owned() => Place { _permit: permit.expect(closed), hurried: true },
        }
    }
}

impl ConnectionLimit {
    fn report_now(&self) -> bool {
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let due = reported.is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
        if due {
            *reported = Some(Instant::now());
        }
        due
    }
}

/// How long a connection served past the limit has for its request's head and `/system` body.
pub const HURRIED_READ_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection's place under the limit, held until it closes.
struct Place {
    _permit: OwnedSemaphorePermit,
    /// Past the limit: one request, read in [`HURRIED_READ_TIMEOUT`].
    hurried: bool,
}

impl Place {
    fn hurried(&self) -> bool {
        self.hurried
    }
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
        let place = tokio::select! {
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
            let (_place, _open) = (place, Open::new());
            // hyper-util's GracefulShutdown cannot watch a connection with upgrades: stopped here.
            let connection = http
                .serve_connection(TokioIo::new(CappedReads(stream)), service)
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

/// Reads a routed request's whole body within the read timeout before it is handled: a client
/// that stalls cannot hold its connection for ever. A declared length over the limit is refused
/// before any of the body is read.
async fn read_whole_body(
    State(timeout): State<Duration>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let read = Limited::new(body, MAX_BODY_BYTES).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(body)) => {
            let body = Body::from(body.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => too_large(),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body: {e}"),
        )
            .into_response(),
        // The rest of the body may still come: the connection closes after this answer.
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            format!(
                "the request body did not arrive within {}s",
                timeout.as_secs_f64()
            ),
        )
            .into_response(),
    }
}

fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONNECTION, "close")],
        format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
    )
        .into_response()
}

/// Resolves once the stop is announced. A function of its own, so that the watch's read guard
/// ends here and is not held across the connection's await (it is not `Send`).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Requests arriving on a serving thread, and how many it is answering.
#[derive(Default)]
struct Activity {
    arrived: Notify,
    in_flight: AtomicUsize,
}

impl Activity {
    /// Counts a request in until the guard is dropped, and wakes the poller.
    fn arrived(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.arrived.notify_one();
        InFlight(self.clone())
    }
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Keeps this thread polling for I/O (a zero-timeout epoll on each turn of the runtime) for
/// `window` after a request arrives, instead of sleeping in the kernel: the function's answer and
/// the client's next request usually come within that time, and waking a sleeping thread on an
/// idle CPU costs more than the proxy's whole hop. Each turn yields the CPU, so anything else
/// runnable on it still runs. Only while the thread answers one request at most: with more in
/// flight their waits overlap, a wake-up serves several of them, and the polling would take CPU
/// time that the clients and functions need.
async fn busy_poll(activity: Arc<Activity>, window: Duration) {
    loop {
        activity.arrived.notified().await;
        let until = Instant::now() + window;
        while activity.in_flight.load(Ordering::Relaxed) <= 1 && Instant::now() < until {
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
    }
}
