//! One task group for every spawned task of switchyard.
//!
//! A [`TaskGroup`] owns its tasks: dropping it cancels its token and aborts
//! every task still running. A task that panics or returns an error is
//! reported at once (logged, and [`TaskGroup::failed`] wakes) rather than
//! when somebody finally joins it. [`TaskGroup::shutdown`] cancels, waits a
//! grace period and names every task that did not stop in time. Groups
//! nest: a [`TaskGroup::child`] is cancelled with its parent and reports
//! its failures to it too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A task's name, as logs and failures show it (`pool/ns1/model-status`).
pub type TaskName = Cow<'static, str>;

/// How a task of a group failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskFailure {
    #[error("task {task} panicked: {message}")]
    Panicked { task: String, message: String },
    #[error("task {task} failed: {error}")]
    Failed { task: String, error: String },
}

impl TaskFailure {
    /// The failed task's full name.
    pub fn task(&self) -> &str {
        match self {
            TaskFailure::Panicked { task, .. } | TaskFailure::Failed { task, .. } => task,
        }
    }
}

/// Tasks that were still running when the grace period ended; they were
/// aborted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("tasks did not stop within {grace:?} and were aborted: {}", tasks.join(", "))]
pub struct Stragglers {
    pub grace: Duration,
    pub tasks: Vec<String>,
}

/// A group of tasks with one owner. Not `Clone`: the owner's drop is the
/// group's end. Code that must spawn into the group from elsewhere takes a
/// [`Spawner`].
pub struct TaskGroup {
    inner: Arc<Inner>,
}

/// Spawns into a group while it lives (a weak handle: it does not keep the
/// group's tasks running).
#[derive(Clone)]
pub struct Spawner {
    inner: Weak<Inner>,
}

struct Inner {
    name: String,
    token: CancellationToken,
    tracker: TaskTracker,
    next_id: AtomicU64,
    running: Mutex<HashMap<u64, (TaskName, AbortHandle)>>,
    failure: watch::Sender<Option<TaskFailure>>,
    parent: Option<Weak<Inner>>,
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("name", &self.inner.name)
            .field("running", &self.len())
            .finish()
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner").finish_non_exhaustive()
    }
}

impl TaskGroup {
    /// A new, top-level group.
    pub fn new(name: impl Into<String>) -> Self {
        Self::with(name.into(), CancellationToken::new(), None)
    }

    fn with(name: String, token: CancellationToken, parent: Option<Weak<Inner>>) -> Self {
        TaskGroup {
            inner: Arc::new(Inner {
                name,
                token,
                tracker: TaskTracker::new(),
                next_id: AtomicU64::new(0),
                running: Mutex::new(HashMap::new()),
                failure: watch::channel(None).0,
                parent,
            }),
        }
    }

    /// A group cancelled with this one, whose failures this one hears of
    /// too. It is owned by the caller, not by this group.
    pub fn child(&self, name: impl fmt::Display) -> TaskGroup {
        Self::with(
            format!("{}/{name}", self.inner.name),
            self.inner.token.child_token(),
            Some(Arc::downgrade(&self.inner)),
        )
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Fires when the group is cancelled, shut down or dropped.
    pub fn token(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// Whether the group was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// A handle that spawns into this group while it lives.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Runs `task` in the group; a panic is reported at once.
    pub fn spawn<F>(&self, name: impl Into<TaskName>, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        spawn(
            &self.inner,
            name.into(),
            task.map(Ok::<(), std::convert::Infallible>),
        );
    }

    /// Runs `task` in the group; an error or a panic is reported at once.
    pub fn spawn_fallible<F, E>(&self, name: impl Into<TaskName>, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        spawn(&self.inner, name.into(), task);
    }

    /// Tasks running now.
    pub fn len(&self) -> usize {
        self.inner.running.lock().len()
    }

    /// Whether no task runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Asks every task to stop (through [`TaskGroup::token`]).
    pub fn cancel(&self) {
        self.inner.token.cancel();
    }

    /// The first failure of a task of this group or of a child, if any.
    pub fn failure(&self) -> Option<TaskFailure> {
        self.inner.failure.borrow().clone()
    }

    /// Waits for the first failure of a task of this group or of a child
    /// (at once if one already failed).
    pub async fn failed(&self) -> TaskFailure {
        let mut rx = self.inner.failure.subscribe();
        loop {
            if let Some(failure) = rx.borrow_and_update().clone() {
                return failure;
            }
            // The sender lives in `self`: `changed` cannot fail here.
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Cancels the group and waits for its tasks; those still running
    /// after `grace` are aborted and named.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), Stragglers> {
        self.cancel();
        self.inner.tracker.close();
        let finished = tokio::time::timeout(grace, self.inner.tracker.wait()).await;
        self.inner.tracker.reopen();
        if finished.is_ok() {
            return Ok(());
        }
        let mut tasks: Vec<String> = {
            let running = self.inner.running.lock();
            running
                .values()
                .map(|(name, handle)| {
                    handle.abort();
                    format!("{}/{name}", self.inner.name)
                })
                .collect()
        };
        if tasks.is_empty() {
            return Ok(());
        }
        tasks.sort();
        let stragglers = Stragglers { grace, tasks };
        tracing::error!(group = %self.inner.name, %stragglers, "shutdown");
        Err(stragglers)
    }
}

impl Drop for TaskGroup {
    fn drop(&mut self) {
        self.inner.token.cancel();
        for (_, (_, handle)) in self.inner.running.lock().drain() {
            handle.abort();
        }
    }
}

impl Spawner {
    /// Runs `task` in the group, or drops it when the group is gone or
    /// cancelled (returns `false`).
    pub fn spawn<F>(&self, name: impl Into<TaskName>, task: F) -> bool
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self.inner.upgrade() {
            Some(inner) if !inner.token.is_cancelled() => {
                spawn(
                    &inner,
                    name.into(),
                    task.map(Ok::<(), std::convert::Infallible>),
                );
                true
            }
            _ => false,
        }
    }

    /// The group's cancellation token, if the group still exists.
    pub fn token(&self) -> Option<CancellationToken> {
        self.inner.upgrade().map(|inner| inner.token.clone())
    }
}

fn spawn<F, E>(inner: &Arc<Inner>, name: TaskName, task: F)
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
    let weak = Arc::downgrade(inner);
    let task_name = name.clone();
    // Registered before the task can finish, so its own removal below
    // always finds it: the lock is held across the spawn.
    let mut running = inner.running.lock();
    let registered = Registered {
        inner: weak.clone(),
        id,
    };
    let handle = inner
        .tracker
        .spawn(supervised(task, registered, weak, task_name));
    running.insert(id, (name, handle.abort_handle()));
}

/// `task`, reporting its error or panic to its group when it ends. A
/// combinator rather than an `async` block: a block would hold `task`
/// twice (as its captured value and as the future it awaits), doubling
/// what every long-lived task costs.
fn supervised<F, E>(
    task: F,
    registered: Registered,
    group: Weak<Inner>,
    name: TaskName,
) -> impl Future<Output = ()> + Send + 'static
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    AssertUnwindSafe(task).catch_unwind().map(move |outcome| {
        // Leaves the running set however the task ends: dropped with the
        // future when it is aborted, here when it finishes.
        let _registered = registered;
        let Some(inner) = group.upgrade() else {
            return;
        };
        let task = format!("{}/{name}", inner.name);
        let failure = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(error)) => TaskFailure::Failed {
                task,
                error: error.to_string(),
            },
            Err(panic) => TaskFailure::Panicked {
                task,
                message: panic_message(panic.as_ref()),
            },
        };
        tracing::error!(%failure, "task ended");
        report(&inner, failure);
    })
}

/// A task's entry in its group's running set, removed when the task ends.
struct Registered {
    inner: Weak<Inner>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.running.lock().remove(&self.id);
        }
    }
}

/// Records `failure` as the group's first (a later one is only logged),
/// and tells the parents.
fn report(inner: &Inner, failure: TaskFailure) {
    inner.failure.send_if_modified(|first| {
        if first.is_none() {
            *first = Some(failure.clone());
            true
        } else {
            false
        }
    });
    if let Some(parent) = inner.parent.as_ref().and_then(Weak::upgrade) {
        report(&parent, failure);
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests;
