//! The wire contract: Rust types generated at build time from `proto/`.
//!
//! `scheduler` is Seldon's `seldon.mlops.scheduler` package (the API every
//! namespace's scheduler serves and that switchyard's gateway re-serves),
//! `chainer` the `seldon.mlops.chainer` types it refers to, and `health`
//! Seldon's health-check service; `gateway` is switchyard's own service on
//! the gateway endpoint. `json` prints any of these messages as
//! proto3 JSON. Nothing in here knows about Kubernetes.

pub mod json;

/// `seldon.mlops.scheduler`: the scheduler API.
pub mod scheduler {
    tonic::include_proto!("seldon.mlops.scheduler");
}

/// `seldon.mlops.chainer`: dataflow types the scheduler API refers to.
pub mod chainer {
    tonic::include_proto!("seldon.mlops.chainer");
}

/// `seldon.mlops.health`: the scheduler's health-check service.
pub mod health {
    tonic::include_proto!("seldon.mlops.health");
}

/// `switchyard.v1`: switchyard's own gateway service (ListRuntimes,
/// WatchRuntimes).
pub mod gateway {
    tonic::include_proto!("switchyard.v1");
}

/// The encoded `FileDescriptorSet` of every file in `proto/`.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));
