//! The "freeze" fault: the simulated scheduler stops as a process does
//! under SIGSTOP or a long pause. Connections stay open (the kernel still
//! holds them) but nothing is read or written on them, HTTP/2 pings go
//! unanswered, and new connections wait in the accept queue; a thaw
//! resumes everything where it stopped.
//!
//! Connections (`conn`) ask [`Freeze::poll_thawed`] before every read and
//! write; the accept loop waits on [`Freeze::thawed`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Whether the scheduler is frozen, and who waits for the thaw.
#[derive(Default)]
pub(crate) struct Freeze {
    frozen: AtomicBool,
    /// Connections parked while frozen, woken on thaw.
    parked: Mutex<Vec<Waker>>,
    thaw: Notify,
}

impl Freeze {
    pub(crate) fn set(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
        if !frozen {
            for waker in std::mem::take(&mut *self.parked.lock()) {
                waker.wake();
            }
            self.thaw.notify_waiters();
        }
    }

    pub(crate) fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::SeqCst)
    }

    /// Ready when not frozen; otherwise parks `cx`'s task until the thaw.
    pub(crate) fn poll_thawed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.is_frozen() {
            return Poll::Ready(());
        }
        let mut parked = self.parked.lock();
        // Checked again under the lock: a thaw in between has drained it.
        if !self.is_frozen() {
            return Poll::Ready(());
        }
        if !parked.iter().any(|w| w.will_wake(cx.waker())) {
            parked.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Waits until not frozen.
    pub(crate) async fn thawed(&self) {
        loop {
            let notified = self.thaw.notified();
            if !self.is_frozen() {
                return;
            }
            notified.await;
        }
    }
}
