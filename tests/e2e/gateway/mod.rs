//! The gateway endpoint seen through real tonic clients on 127.0.0.1, in
//! front of simulated schedulers. Every wait has a deadline; nothing
//! sleeps to wait for state.

mod auth;
mod auth_policy;
mod cli;
mod connections;
mod edge;
mod limits;
mod listings;
mod metrics;
mod passthrough;
mod protocol;
mod raw;
mod routing;
mod runtimes;
mod shutdown;
mod subscriptions;
mod support;
mod tls;
mod upstream_spread;
