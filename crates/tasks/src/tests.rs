use std::sync::atomic::AtomicBool;

use super::*;

#[tokio::test(start_paused = true)]
async fn a_panic_is_reported_as_it_happens() {
    let group = TaskGroup::new("app");
    group.spawn("steady", std::future::pending());
    group.spawn("bad", async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        panic!("boom");
    });
    let failure = group.failed().await;
    assert_eq!(
        failure,
        TaskFailure::Panicked {
            task: "app/bad".into(),
            message: "boom".into()
        }
    );
    assert_eq!(group.len(), 1, "the steady task still runs");
    assert!(
        !group.is_cancelled(),
        "the owner decides what a failure means"
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_is_reported_and_the_first_one_is_kept() {
    let group = TaskGroup::new("app");
    group.spawn_fallible("first", async { Err::<(), _>("no route") });
    let failure = group.failed().await;
    group.spawn_fallible("second", async { Err::<(), _>("later") });
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(failure.task(), "app/first");
    assert_eq!(group.failure(), Some(failure));
}

#[tokio::test(start_paused = true)]
async fn a_childs_failure_reaches_its_parent() {
    let parent = TaskGroup::new("app");
    let child = parent.child("ns1");
    child.spawn("model-status", async { panic!("lost") });
    assert_eq!(parent.failed().await.task(), "app/ns1/model-status");
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_parent_cancels_the_child() {
    let parent = TaskGroup::new("app");
    let child = parent.child("ns1");
    let token = child.token();
    child.spawn("follower", async move { token.cancelled().await });
    parent.cancel();
    assert_eq!(child.shutdown(Duration::from_secs(1)).await, Ok(()));
    assert!(child.is_empty());
}

#[tokio::test(start_paused = true)]
async fn shutdown_names_the_task_that_did_not_stop() {
    let group = TaskGroup::new("app");
    let token = group.token();
    group.spawn("polite", async move { token.cancelled().await });
    group.spawn("deaf", std::future::pending());
    let err = group.shutdown(Duration::from_secs(2)).await.unwrap_err();
    assert_eq!(err.tasks, vec!["app/deaf".to_owned()]);
    tokio::task::yield_now().await;
    assert!(group.is_empty(), "the straggler was aborted");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_group_stops_its_tasks() {
    let stopped = Arc::new(AtomicBool::new(false));
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let group = TaskGroup::new("app");
    let guard = SetOnDrop(stopped.clone());
    let token = group.token();
    group.spawn("holder", async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    drop(group);
    assert!(token.is_cancelled());
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(stopped.load(Ordering::SeqCst), "the task was aborted");
}

#[tokio::test(start_paused = true)]
async fn finished_tasks_leave_the_group() {
    let group = TaskGroup::new("gateway");
    for i in 0..100 {
        group.spawn(format!("call-{i}"), async {});
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(group.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_spawner_outlived_by_nothing_spawns_nothing() {
    let group = TaskGroup::new("app");
    let spawner = group.spawner();
    assert!(spawner.spawn("one", async {}));
    drop(group);
    assert!(!spawner.spawn("two", async {}));
    assert!(spawner.token().is_none());
}

#[test]
fn supervision_holds_a_task_once() {
    // A task with a large state across an await, as the pool's stream
    // tasks have: supervising it must not store that state twice.
    let task = async {
        let buffer = [0u8; 4096];
        tokio::task::yield_now().await;
        std::hint::black_box(&buffer);
        Ok::<(), std::convert::Infallible>(())
    };
    let alone = std::mem::size_of_val(&task);
    let group = TaskGroup::new("app");
    let registered = Registered {
        inner: Arc::downgrade(&group.inner),
        id: 0,
    };
    let wrapped = supervised(task, registered, Arc::downgrade(&group.inner), "big".into());
    let supervised = std::mem::size_of_val(&wrapped);
    assert!(alone >= 4096, "the task's own state is {alone} bytes");
    assert!(
        supervised < alone + 256,
        "supervised: {supervised} bytes for a task of {alone}"
    );
}
