//! A simulated Seldon Core v2 scheduler, faithful enough that switchyard
//! cannot tell it from the real one, for tests, demos and load tests.
//!
//! One `Simulator` serves the whole `seldon.mlops.scheduler.Scheduler`
//! service (and `seldon.mlops.health.HealthCheckService`) for one namespace
//! from memory, on a real tonic server. Requests flow
//! `service` -> `validate` -> `state` (one lock) -> `store` (pure state
//! machine) -> status events -> `fanout` (bounded per-subscriber queues) ->
//! subscribers; delayed life-cycle steps wait in `lifecycle`. Connections
//! pass through `conn`, which enforces the scheduler's keepalive policy.
//! The `SimulatorHandle` turns the load and fault knobs at run time.

pub mod config;
mod conn;
mod control_plane;
pub mod error;
mod experiments;
mod fanout;
pub mod faults;
mod frames;
mod freeze;
mod health;
pub mod keepalive;
mod lifecycle;
mod load;
mod models;
mod pipelines;
pub mod rules;
mod server;
mod servers;
mod service;
mod state;
mod store;
mod validate;

pub use config::{Knobs, SimulatorConfig};
pub use error::StoreError;
pub use faults::{FailRule, ParseFaultError, Rpc, parse_code};
pub use keepalive::PingPolicy;
pub use server::{SHUTDOWN_GRACE, Simulator, SimulatorError, SimulatorFleet, SimulatorHandle};
pub use state::SimulatorStats;

#[cfg(test)]
mod tests;
