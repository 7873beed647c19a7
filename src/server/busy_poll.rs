//! Busy polling: a serving thread with at most one request in flight keeps polling for I/O for a
//! short while instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Requests arriving on a serving thread, and how many it is answering.
#[derive(Default)]
pub(super) struct Activity {
    arrived: Notify,
    in_flight: AtomicUsize,
}

impl Activity {
    /// Counts a request in until the guard is dropped, and wakes the poller.
    pub(super) fn arrived(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.arrived.notify_one();
        InFlight(self.clone())
    }
}

pub(super) struct InFlight(Arc<Activity>);

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
pub(super) async fn busy_poll(activity: Arc<Activity>, window: Duration) {
    loop {
        activity.arrived.notified().await;
        let until = Instant::now() + window;
        while activity.in_flight.load(Ordering::Relaxed) <= 1 && Instant::now() < until {
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
    }
}
