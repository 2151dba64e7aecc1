//! The simulated scheduler seen through real tonic clients on 127.0.0.1.
//! Every wait has a deadline; nothing sleeps to wait for state.

mod bounds;
mod faults;
mod fleet;
mod keepalive;
mod life_cycles;
mod streams;
mod support;
