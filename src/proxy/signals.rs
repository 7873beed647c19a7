//! The waker a connection to a task is polled with. hyper's connection and its handles signal
//! each other through channels (a request is queued, the answer's head is in, the body's next
//! chunk is wanted, or ready), and the proxy polls them all in the task of the client's
//! connection: with that task's waker, each signal made the scheduler poll the whole client
//! connection again, to find what had been done already. A signal given while the connection is
//! being polled is answered by polling it again at once, in place; one from outside (its socket
//! is readable, the client sent more of the request's body) wakes the task.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;

/// Rounds in place before the task goes back to the scheduler: hyper signals itself to yield
/// after a long turn, and the other connections of the thread must get theirs.
const ROUNDS: usize = 4;

pub struct Signals {
    shared: Arc<Shared>,
    waker: Waker,
}

#[derive(Default)]
struct Shared {
    task: AtomicWaker,
    inside: AtomicBool,
    again: AtomicBool,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.inside.load(Ordering::SeqCst) {
            self.again.store(true, Ordering::SeqCst);
            // The poll may have ended before it could see the signal.
            if self.inside.load(Ordering::SeqCst) {
                return;
            }
        }
        self.task.wake();
    }
}

impl Signals {
    pub fn new() -> Self {
        let shared = Arc::new(Shared::default());
        Self {
            waker: Waker::from(shared.clone()),
            shared,
        }
    }

    /// Polls `f` with the connection's waker, and again while it signalled itself. `f` must poll
    /// every part of the connection the caller waits on.
    pub fn poll<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        let shared = &*self.shared;
        shared.task.register(cx.waker());
        let mut local = Context::from_waker(&self.waker);
        for _ in 0..ROUNDS {
            shared.again.store(false, Ordering::SeqCst);
            shared.inside.store(true, Ordering::SeqCst);
            let polled = f(&mut local);
            shared.inside.store(false, Ordering::SeqCst);
            if polled.is_ready() || !shared.again.load(Ordering::SeqCst) {
                return polled;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Forgets the task: until the next poll, a signal wakes nothing. For a connection going
    /// idle, and for one about to be polled anyway.
    pub fn release(&self) {
        drop(self.shared.task.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn task() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (count.clone(), Waker::from(count))
    }

    /// Polls for `task` to no avail; returns the waker the connection's parts were given.
    fn pending(signals: &Signals, task: &Waker) -> Waker {
        let mut given = None;
        let polled: Poll<()> = signals.poll(&mut Context::from_waker(task), |cx| {
            given = Some(cx.waker().clone());
            Poll::Pending
        });
        assert!(polled.is_pending());
        given.unwrap()
    }

    #[test]
    fn a_signal_from_inside_the_poll_polls_again_in_place_without_waking_the_task() {
        let signals = Signals::new();
        let (woken, waker) = task();
        let mut polls = 0;
        let polled = signals.poll(&mut Context::from_waker(&waker), |cx| {
            polls += 1;
            if polls == 1 {
                // As a channel's sender does when its receiver is polled in the same turn.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(polls)
        });
        assert_eq!(polled, Poll::Ready(2));
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_signal_from_outside_wakes_the_task_that_polled_last() {
        let signals = Signals::new();
        let (woken, waker) = task();
        let given = pending(&signals, &waker);
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
        given.wake();
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_poll_that_keeps_signalling_itself_goes_back_to_the_scheduler() {
        let signals = Signals::new();
        let (woken, waker) = task();
        let mut polls = 0;
        let polled: Poll<()> = signals.poll(&mut Context::from_waker(&waker), |cx| {
            polls += 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        });
        assert!(polled.is_pending());
        assert_eq!(polls, ROUNDS);
        assert_eq!(
            woken.0.load(Ordering::SeqCst),
            1,
            "the task is woken to go on"
        );
    }

    #[test]
    fn once_released_a_signal_wakes_nothing_until_the_next_poll() {
        let signals = Signals::new();
        let (woken, waker) = task();
        let given = pending(&signals, &waker);
        signals.release();
        given.wake_by_ref();
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
        let (next, waker) = task();
        pending(&signals, &waker);
        given.wake();
        assert_eq!(
            (
                woken.0.load(Ordering::SeqCst),
                next.0.load(Ordering::SeqCst)
            ),
            (0, 1)
        );
    }
}
