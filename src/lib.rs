//! switchyard: a global-mode operator and gateway for Seldon Core v2.
//! See ARCHITECTURE.md for how the modules fit together.

pub mod app;
pub mod bus;
pub mod cli;
pub mod cmd;
pub mod conditions;
pub mod config;
pub mod gateway;
pub mod kube_double;
pub mod metrics;
pub mod operator;
pub mod pool;
pub mod proto;
pub mod registry;
pub mod resources;
pub mod simulator;
pub mod telemetry;
pub mod testkit;
pub mod translate;
