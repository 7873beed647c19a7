//! The request body as the proxy passes it on: readable by one attempt after another until any
//! of it has been read, so that a request whose connection failed can go to another task.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;

/// The request body, shared by every attempt: the client reads it, and a request none of whose
/// body was read can go to another task. Small, since hyper queues requests by value.
#[derive(Clone)]
pub(super) struct Reclaimable(Arc<Shared>);

struct Shared {
    body: Mutex<Unread>,
    /// Whether a client began to read the body: from then on it cannot be sent again.
    started: AtomicBool,
    /// Whether the client's body ended in an error (bad framing, or cut short).
    failed: AtomicBool,
    end_stream: bool,
    size_hint: SizeHint,
}

/// What is left of the client's body: the frame read before forwarding, then the rest.
struct Unread {
    first: Option<Frame<Bytes>>,
    rest: Incoming,
}

impl Reclaimable {
    /// The body, starting with `first`, the frame read before a task was picked.
    pub(super) fn new(first: Option<Frame<Bytes>>, rest: Incoming) -> Self {
        Self(Arc::new(Shared {
            end_stream: first.is_none() && rest.is_end_stream(),
            size_hint: rest.size_hint(),
            started: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            body: Mutex::new(Unread { first, rest }),
        }))
    }

    /// Whether an attempt began to read it: from then on it cannot be sent again.
    pub(super) fn started(&self) -> bool {
        self.0.started.load(Ordering::Relaxed)
    }

    /// Whether the client's body ended in an error (bad framing, or cut short).
    pub(super) fn failed(&self) -> bool {
        self.0.failed.load(Ordering::Relaxed)
    }
}

impl http_body::Body for Reclaimable {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.0.started.store(true, Ordering::Relaxed);
        let mut body = self.0.body.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(frame) = body.first.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        let polled = Pin::new(&mut body.rest).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.0.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.0.end_stream
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint
    }
}
