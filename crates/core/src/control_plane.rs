//! A control-plane request from one namespace's scheduler: re-send what it
//! should have (its `SubscribeControlPlane` stream). The pool produces
//! them, the operator's resync consumes them.

use std::sync::Arc;

pub use switchyard_proto::scheduler::control_plane_response::Event;

/// One control-plane request, with the namespace whose scheduler sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlPlaneEvent {
    pub namespace: Arc<str>,
    pub event: Event,
}
