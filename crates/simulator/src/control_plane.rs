//! The `SubscribeControlPlane` stream (docs/seldon-compat.md#resync-protocol): SEND_SERVERS at once,
//! then, once the first sync is done (or its deadline passed),
//! SEND_EXPERIMENTS, SEND_MODELS, SEND_PIPELINES in that order; then the
//! stream stays open, carrying nothing, until the subscriber leaves or the
//! simulator drops it (restart, dropped streams, shutdown).

use std::{collections::VecDeque, sync::Arc};

use tonic::Status;

use crate::{
    fanout::{ResponseStream, Subscription},
    state::{Shared, SubscriberGuard, shutting_down},
};
use switchyard_proto::scheduler::{ControlPlaneResponse, control_plane_response::Event};

/// The events a new control-plane subscriber gets after the first sync.
pub(crate) const AFTER_SYNC: [Event; 3] = [
    Event::SendExperiments,
    Event::SendModels,
    Event::SendPipelines,
];

fn response(event: Event) -> ControlPlaneResponse {
    ControlPlaneResponse {
        event: event as i32,
    }
}

enum Phase {
    /// SEND_SERVERS not yet sent.
    Start,
    /// Waiting for the first sync.
    Syncing,
    /// Sending what is left of `AFTER_SYNC`.
    Sending(VecDeque<Event>),
    /// Everything sent; open until kicked.
    Open,
}

struct State {
    shared: Arc<Shared>,
    phase: Phase,
    sub: Subscription<ControlPlaneResponse>,
    done: bool,
    _guard: SubscriberGuard,
}

enum Next {
    Kicked(Option<Status>),
    Send(Event),
    Synced,
}

/// The response stream of one `SubscribeControlPlane` call.
pub(crate) fn stream(shared: Arc<Shared>) -> ResponseStream<ControlPlaneResponse> {
    if shared.stop.is_cancelled() {
        return Box::pin(futures_util::stream::once(std::future::ready(Err(
            shutting_down(),
        ))));
    }
    let (sub, guard) = shared.subscribe_control_plane();
    let state = State {
        shared,
        phase: Phase::Start,
        sub,
        done: false,
        _guard: guard,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            let next = {
                let State {
                    shared, phase, sub, ..
                } = &mut st;
                tokio::select! {
                    biased;
                    kicked = &mut sub.kicked => Next::Kicked(kicked.ok()),
                    next = async {
                        match phase {
                            Phase::Start => Next::Send(Event::SendServers),
                            Phase::Syncing => match shared.wait_synced().await {
                                Ok(()) => Next::Synced,
                                // Dropped or stopping: the kick that
                                // comes with it ends this stream.
                                Err(_) => std::future::pending().await,
                            },
                            Phase::Sending(queue) => match queue.pop_front() {
                                Some(event) => Next::Send(event),
                                None => std::future::pending().await,
                            },
                            Phase::Open => std::future::pending().await,
                        }
                    } => next,
                }
            };
            match next {
                Next::Kicked(status) => {
                    st.done = true;
                    return status.map(|s| (Err(s), st));
                }
                Next::Synced => st.phase = Phase::Sending(AFTER_SYNC.into()),
                Next::Send(event) => {
                    st.phase = match st.phase {
                        Phase::Start => Phase::Syncing,
                        Phase::Sending(queue) if queue.is_empty() => Phase::Open,
                        other => other,
                    };
                    return Some((Ok(response(event)), st));
                }
            }
        }
    }))
}
