//! The wire contract: Rust types generated at build time from `proto/`.
//!
//! `scheduler` is Seldon's `seldon.mlops.scheduler` package (the API every
//! namespace's scheduler serves and that switchyard's gateway re-serves),
//! `chainer` the `seldon.mlops.chainer` types it refers to, and `health`
//! Seldon's health-check service; `gateway` is switchyard's own service on
//! the gateway endpoint. `json` prints any of these messages as
//! proto3 JSON. Nothing in here knows about Kubernetes.
//!
//! Messages are always built; the tonic clients and servers only with the
//! `client` and `server` features, so a crate that needs the messages alone
//! (the pure core, the operator) does not link a gRPC stack.

pub mod json;

/// `seldon.mlops.scheduler`: the scheduler API.
pub mod scheduler {
    include!(concat!(env!("OUT_DIR"), "/seldon.mlops.scheduler.rs"));
}

/// `seldon.mlops.chainer`: dataflow types the scheduler API refers to.
pub mod chainer {
    include!(concat!(env!("OUT_DIR"), "/seldon.mlops.chainer.rs"));
}

/// `seldon.mlops.health`: the scheduler's health-check service.
pub mod health {
    include!(concat!(env!("OUT_DIR"), "/seldon.mlops.health.rs"));
}

/// `switchyard.v1`: switchyard's own gateway service (ListRuntimes,
/// WatchRuntimes).
pub mod gateway {
    include!(concat!(env!("OUT_DIR"), "/switchyard.v1.rs"));
}

/// The encoded `FileDescriptorSet` of every file in `proto/`.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

#[cfg(test)]
mod tests;
