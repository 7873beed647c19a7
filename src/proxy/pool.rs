//! Connections to tasks, kept by the proxy and driven by the exchange that uses them, with no task
//! of their own. A function's answer is read when the client's connection asks for more of it, in
//! the same task: no other task is woken for each chunk, and what the socket already holds is
//! handed on at once, so hyper's server queues several chunks (up to its buffer size) and writes
//! them together, however small the reads are (io.rs). A connection idle in the pool holds no
//! task and no timer.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::body::Reclaimable;
use super::signals::Signals;
use crate::io::CappedReads;

// A task that is gone in a VPC does not refuse connections, it never answers: give up on it soon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept to one task. Under steady load a connection is idle only between two
/// requests, while a burst from zero, whose held requests all go to the first ready task at once,
/// would leave thousands open (about 20 KiB each) for the idle timeout.
const IDLE_PER_TASK: usize = 64;
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often connections idle past the timeout, or closed by their task, are closed here.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

type Io = TokioIo<CappedReads>;

/// Why a request got no answer from a task.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("cannot connect")]
    Connect(#[source] io::Error),
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

impl Failure {
    /// Whether the request surely never reached the task.
    pub fn unsent(&self) -> bool {
        match self {
            Self::Connect(_) => true,
            Self::Http(e) => e.is_canceled(),
        }
    }
}

/// A connection to a task. Always boxed: it moves with each request, from the pool to the
/// exchange to the answer's body, and inline its ~760 bytes were copied at each move and took
/// room in every client connection's future.
struct Conn {
    link: Link,
    /// The waker its parts are polled with: their signals to each other do not wake the task.
    signals: Signals,
}

impl Conn {
    /// Polls `f` with the connection's parts and its own waker (see [`Signals::poll`]).
    fn poll<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&mut Link, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        let Self { link, signals } = self;
        signals.poll(cx, |cx| f(link, cx))
    }
}

/// The handle requests go in by, and the future that moves the connection's bytes.
struct Link {
    send: http1::SendRequest<Reclaimable>,
    driver: http1::Connection<Io, Reclaimable>,
    /// The driver finished: the connection is closed, and its driver must not be polled again.
    closed: bool,
    addr: SocketAddr,
}

impl Link {
    /// Moves what the connection can move now; true once it has closed.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.closed
            && let Poll::Ready(ended) = Pin::new(&mut self.driver).poll(cx)
        {
            if let Err(e) = ended {
                tracing::debug!(upstream = %self.addr, error = %e, "connection to a task failed");
            }
            self.closed = true;
        }
        self.closed
    }

    /// Whether it takes a request now, after reading whatever came while it was idle (a close,
    /// most likely: the task stopped, or timed the connection out).
    fn ready(&mut self, cx: &mut Context<'_>) -> bool {
        !self.drive(cx) && matches!(self.send.poll_ready(cx), Poll::Ready(Ok(())))
    }
}

struct Idle {
    conn: Box<Conn>,
    since: Instant,
}

/// One serving thread's connections to tasks.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<SocketAddr, Vec<Idle>>>,
    sweeping: AtomicBool,
}

impl Pool {
    /// Sends `request` (in origin form, with its Host header) to the task at `addr`, on an idle
    /// connection if there is one, and waits for the answer's head.
    pub async fn request(
        self: &Arc<Self>,
        addr: SocketAddr,
        request: Request<Reclaimable>,
    ) -> Result<Response<Exchange>, Failure> {
        self.sweep_later();
        let (conn, reused) = match self.take(addr).await {
            Some(conn) => (conn, true),
            None => (connect(addr).await?, false),
        };
        match self.exchange(conn, request).await {
            // The task closed the idle connection as the request went in, none of it sent: on a
            // new one, as a connection that was never pooled would have taken it.
            Err(mut e) if reused && e.message().is_some() => {
                let request = e.take_message().expect("checked just above");
                let conn = connect(addr).await?;
                self.exchange(conn, request)
                    .await
                    .map_err(|e| e.into_error().into())
            }
            answer => answer.map_err(|e| e.into_error().into()),
        }
    }

    /// An idle connection to `addr` that takes a request now, if any.
    async fn take(&self, addr: SocketAddr) -> Option<Box<Conn>> {
        loop {
            let Idle { mut conn, since } = self.lock().get_mut(&addr).and_then(Vec::pop)?;
            if since.elapsed() < IDLE_TIMEOUT
                && poll_fn(|cx| conn.poll(cx, |link, cx| Poll::Ready(link.ready(cx)))).await
            {
                return Some(conn);
            }
        }
    }

    /// Sends `request` on `conn` and drives the connection until the answer's head is in.
    async fn exchange(
        self: &Arc<Self>,
        mut conn: Box<Conn>,
        request: Request<Reclaimable>,
    ) -> Result<Response<Exchange>, hyper::client::conn::TrySendError<Request<Reclaimable>>> {
        // Queued from outside a poll, the request would signal the task, which polls the
        // connection next anyway.
        conn.signals.release();
        let mut answer = std::pin::pin!(conn.link.send.try_send_request(request));
        // The driver first: what it reads is the answer's head.
        let response = poll_fn(|cx| {
            conn.poll(cx, |link, cx| {
                link.drive(cx);
                answer.as_mut().poll(cx)
            })
        })
        .await?;
        let pool = Arc::downgrade(self);
        Ok(response.map(|body| Exchange::new(body, Some(conn), pool)))
    }

    /// Keeps `conn`, whose last answer was read to its end, for the next request to its task.
    fn put_back(&self, conn: Box<Conn>) {
        conn.signals.release();
        let mut idle = self.lock();
        let list = idle.entry(conn.link.addr).or_default();
        if list.len() < IDLE_PER_TASK {
            list.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// Starts, once, closing connections idle past the timeout or closed by their task, on the
    /// serving thread's runtime.
    fn sweep_later(self: &Arc<Self>) {
        // Read first: every request comes here, and only the first one needs to write.
        if self.sweeping.load(Ordering::Relaxed) || self.sweeping.swap(true, Ordering::Relaxed) {
            return;
        }
        let pool = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            loop {
                every.tick().await;
                let Some(pool) = pool.upgrade() else { return };
                // Nothing to wake: the request that takes a connection polls it again.
                let mut cx = Context::from_waker(Waker::noop());
                pool.lock().retain(|_, list| {
                    list.retain_mut(|idle| {
                        idle.since.elapsed() < IDLE_TIMEOUT && idle.conn.link.ready(&mut cx)
                    });
                    !list.is_empty()
                });
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Vec<Idle>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A new connection to `addr`, ready for a request.
async fn connect(addr: SocketAddr) -> Result<Box<Conn>, Failure> {
    let (send, driver) = open(addr).await?;
    let mut conn = Box::new(Conn {
        link: Link {
            send,
            driver,
            closed: false,
            addr,
        },
        signals: Signals::new(),
    });
    // The handle takes a request only once the driver has run.
    poll_fn(|cx| {
        conn.poll(cx, |link, cx| {
            link.drive(cx);
            link.send.poll_ready(cx)
        })
    })
    .await?;
    Ok(conn)
}

async fn open(
    addr: SocketAddr,
) -> Result<
    (
        http1::SendRequest<Reclaimable>,
        http1::Connection<Io, Reclaimable>,
    ),
    Failure,
> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| Failure::Connect(io::ErrorKind::TimedOut.into()))?
        .map_err(Failure::Connect)?;
    stream.set_nodelay(true).map_err(Failure::Connect)?;
    Ok(http1::handshake(TokioIo::new(CappedReads::new(stream))).await?)
}

/// A request that asks to switch protocols, on a connection of its own driven by a task, which
/// hands the connection over if the function agrees.
pub async fn upgrade(
    addr: SocketAddr,
    request: Request<Reclaimable>,
) -> Result<Response<Exchange>, Failure> {
    let (mut send, driver) = open(addr).await?;
    tokio::spawn(async move {
        if let Err(e) = driver.with_upgrades().await {
            tracing::debug!(upstream = %addr, error = %e, "upgraded connection to a task failed");
        }
    });
    send.ready().await?;
    let response = send.send_request(request).await?;
    Ok(response.map(|body| Exchange::new(body, None, Weak::new())))
}

/// A function's answer as it streams: reading it drives its connection, and once it has been read
/// to its end the connection goes back to the pool.
pub struct Exchange {
    body: Incoming,
    conn: Option<Box<Conn>>,
    pool: Weak<Pool>,
    ended: bool,
}

impl Exchange {
    fn new(body: Incoming, conn: Option<Box<Conn>>, pool: Weak<Pool>) -> Self {
        Self {
            body,
            conn,
            pool,
            ended: false,
        }
    }
}

impl Body for Exchange {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let body = &mut this.body;
        let frame = match &mut this.conn {
            Some(conn) => conn.poll(cx, |link, cx| {
                let frame = Pin::new(&mut *body).poll_frame(cx);
                if frame.is_ready() {
                    return frame;
                }
                // Nothing read yet: read what the socket holds, then look again.
                link.drive(cx);
                Pin::new(&mut *body).poll_frame(cx)
            }),
            None => Pin::new(body).poll_frame(cx),
        };
        if let Poll::Ready(None) = frame {
            this.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        // An answer left unread would have to be read before the next one: its connection closes.
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if !(self.ended || self.body.is_end_stream()) {
            return;
        }
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        // Lets the connection take in the answer's end, with nothing to wake: the pool polls it
        // again before it takes another request.
        if !conn.link.drive(&mut Context::from_waker(Waker::noop())) {
            pool.put_back(conn);
        }
    }
}
