//! How many connections are served at once, over every serving thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    /// Connections being served now.
    open: Arc<AtomicUsize>,
    /// When the limit was last reported: at most one warning a minute.
    reported: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl ConnectionLimit {
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max)),
            hurried: Arc::new(Semaphore::new((max / 4).clamp(1, 1024))),
            max,
            open: Arc::default(),
            reported: Arc::default(),
        }
    }

    /// Connections being served now, hurried ones included.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place for one more connection, held until it closes.
    pub(super) async fn acquire(&self) -> Place {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Place {
                _permit: permit,
                hurried: false,
                open: None,
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
            permit = self.permits.clone().acquire_owned() => Place { _permit: permit.expect(closed), hurried: false, open: None },
            permit = self.hurried.clone().acquire_owned() => Place { _permit: permit.expect(closed), hurried: true, open: None },
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
pub(super) struct Place {
    _permit: OwnedSemaphorePermit,
    /// Past the limit: one request, read in [`HURRIED_READ_TIMEOUT`].
    hurried: bool,
    /// The count of open connections, once the place holds one.
    open: Option<Arc<AtomicUsize>>,
}

impl Place {
    pub(super) fn hurried(&self) -> bool {
        self.hurried
    }

    /// Counts the place's connection as open until the place is given back.
    pub(super) fn opened(&mut self, limit: &ConnectionLimit) {
        limit.open.fetch_add(1, Ordering::Relaxed);
        self.open = Some(limit.open.clone());
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
