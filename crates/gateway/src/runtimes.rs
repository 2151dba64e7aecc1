//! `switchyard.v1.Gateway`: what the gateway knows about its schedulers.
//!
//! In: the pool's [`RuntimeInfo`]s and its change feed. Out: ListRuntimes
//! (the current list) and WatchRuntimes (the current list, then only what
//! changed each time the pool reports a change: runtimes added, removed, or
//! changing connection state). The change feed is a `watch`, so a slow
//! watcher skips to the latest list rather than queueing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::guard::{Access, Pass, admit, call, permitted};
use super::streams::{ResponseStream, until_shutdown};
use switchyard_access::Gatekeeper;
use switchyard_core::access::Rpc;
use switchyard_proto::gateway::gateway_server::{Gateway, GatewayServer};
use switchyard_proto::gateway::{
    ConnectionState as WireState, ListRuntimesRequest, ListRuntimesResponse, Runtime,
    RuntimeUpdate, WatchRuntimesRequest,
};
use switchyard_scheduler::{ConnectionState, RuntimeInfo, SchedulerPool};

/// The Gateway service.
#[derive(Clone)]
pub struct RuntimesService {
    pool: SchedulerPool,
    access: Access,
    shutdown: CancellationToken,
}

impl RuntimesService {
    /// Reports `pool`, each caller the runtimes of the namespaces it may
    /// list or watch (`access`); streams end when `shutdown` is cancelled.
    pub fn new(pool: SchedulerPool, access: Access, shutdown: CancellationToken) -> Self {
        RuntimesService {
            pool,
            access,
            shutdown,
        }
    }

    /// The tonic service.
    pub fn into_service(self) -> GatewayServer<Self> {
        GatewayServer::new(self)
    }
}

fn wire_state(state: ConnectionState) -> WireState {
    match state {
        ConnectionState::Connecting => WireState::Connecting,
        ConnectionState::Ready => WireState::Ready,
        ConnectionState::Reconnecting => WireState::Reconnecting,
    }
}

/// One runtime as the API shows it.
pub fn to_wire(info: &RuntimeInfo) -> Runtime {
    Runtime {
        namespace: info.namespace.clone(),
        address: info.address.clone(),
        tls: info.tls,
        state: wire_state(info.state) as i32,
        last_event_time: info.last_event.map(timestamp),
        reconnects: info.reconnects,
    }
}

fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(time)
}

/// What changed from `before` to `after` (both keyed by namespace).
fn diff(before: &BTreeMap<String, Runtime>, after: &BTreeMap<String, Runtime>) -> RuntimeUpdate {
    RuntimeUpdate {
        snapshot: false,
        runtimes: after
            .iter()
            .filter(|(ns, rt)| before.get(*ns) != Some(*rt))
            .map(|(_, rt)| rt.clone())
            .collect(),
        removed: before
            .keys()
            .filter(|ns| !after.contains_key(*ns))
            .cloned()
            .collect(),
    }
}

/// The runtimes of the namespaces `pass` may call its RPC in.
async fn current(
    pool: &SchedulerPool,
    keeper: &Gatekeeper,
    pass: &Pass,
) -> BTreeMap<String, Runtime> {
    let infos = pool.infos();
    let names = infos.iter().map(|info| info.namespace.clone()).collect();
    let permitted = permitted(keeper, pass, names).await;
    infos
        .iter()
        .filter(|info| permitted.contains(&info.namespace))
        .map(|info| (info.namespace.clone(), to_wire(info)))
        .collect()
}

struct Watch {
    pool: SchedulerPool,
    keeper: Arc<Gatekeeper>,
    pass: Pass,
    changes: watch::Receiver<u64>,
    known: Option<BTreeMap<String, Runtime>>,
}

#[tonic::async_trait]
impl Gateway for RuntimesService {
    async fn list_runtimes(
        &self,
        request: Request<ListRuntimesRequest>,
    ) -> Result<Response<ListRuntimesResponse>, Status> {
        let keeper = &self.access.keeper;
        let pass = admit(keeper, call(keeper, Rpc::ListRuntimes, &request, false)?).await?;
        let runtimes = current(&self.pool, keeper, &pass).await;
        Ok(Response::new(ListRuntimesResponse {
            runtimes: runtimes.into_values().collect(),
        }))
    }

    type WatchRuntimesStream = ResponseStream<RuntimeUpdate>;

    async fn watch_runtimes(
        &self,
        request: Request<WatchRuntimesRequest>,
    ) -> Result<Response<Self::WatchRuntimesStream>, Status> {
        let keeper = self.access.keeper.clone();
        let pass = admit(&keeper, call(&keeper, Rpc::WatchRuntimes, &request, true)?).await?;
        let mut changes = self.pool.watch_changes();
        changes.mark_unchanged();
        let state = Watch {
            pool: self.pool.clone(),
            keeper,
            pass,
            changes,
            known: None,
        };
        let stream = futures_util::stream::unfold(state, |mut state| async move {
            let Some(known) = &state.known else {
                let now = current(&state.pool, &state.keeper, &state.pass).await;
                let first = RuntimeUpdate {
                    snapshot: true,
                    runtimes: now.values().cloned().collect(),
                    removed: Vec::new(),
                };
                state.known = Some(now);
                return Some((Ok(first), state));
            };
            let mut known = known.clone();
            loop {
                // The pool outlives its change feed; a closed feed ends the watch.
                state.changes.changed().await.ok()?;
                let now = current(&state.pool, &state.keeper, &state.pass).await;
                let update = diff(&known, &now);
                known = now;
                if !update.runtimes.is_empty() || !update.removed.is_empty() {
                    state.known = Some(known);
                    return Some((Ok(update), state));
                }
            }
        });
        Ok(Response::new(until_shutdown(stream, self.shutdown.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(ns: &str, state: WireState) -> (String, Runtime) {
        (
            ns.to_owned(),
            Runtime {
                namespace: ns.into(),
                state: state as i32,
                ..Default::default()
            },
        )
    }

    #[test]
    fn diff_lists_changes_and_removals() {
        let before: BTreeMap<_, _> =
            [rt("a", WireState::Connecting), rt("b", WireState::Ready)].into();
        let after: BTreeMap<_, _> =
            [rt("a", WireState::Ready), rt("c", WireState::Connecting)].into();
        let update = diff(&before, &after);
        let changed: Vec<_> = update
            .runtimes
            .iter()
            .map(|r| r.namespace.as_str())
            .collect();
        assert_eq!(changed, ["a", "c"]);
        assert_eq!(update.removed, ["b"]);
        assert!(!update.snapshot);
        let same = diff(&after, &after);
        assert!(same.runtimes.is_empty() && same.removed.is_empty());
    }

    #[test]
    fn runtime_info_maps_to_the_wire() {
        let info = RuntimeInfo {
            namespace: "a".into(),
            address: "127.0.0.1:9004".into(),
            tls: true,
            state: ConnectionState::Reconnecting,
            last_event: Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(5)),
            reconnects: 2,
        };
        let wire = to_wire(&info);
        assert_eq!(wire.state(), WireState::Reconnecting);
        assert_eq!(wire.last_event_time.unwrap().seconds, 5);
        assert_eq!(wire.reconnects, 2);
        assert!(wire.tls);
    }
}
