//! switchyard's end-to-end tests: one binary, one module per area. They
//! start the real parts (the app, the API double over HTTP, simulated
//! schedulers on 127.0.0.1, the binary itself) and check what a user sees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adoption;
mod alerts;
mod architecture;
mod citations;
mod common;
mod config_catalogue;
mod dashboards;
mod demo;
mod demo_process;
mod demo_signals;
mod deploy;
mod dockerfile;
mod fleet;
mod gateway;
mod gateway_truth;
mod helm;
mod install_checks;
mod kubectl;
mod logs;
mod manifests;
mod metrics_exported;
mod nginx_peer;
mod operator_budget;
mod operator_controllers;
mod operator_e2e;
mod operator_guard;
mod operator_handover;
mod operator_resync;
mod operator_runtimes;
mod operator_status;
mod operator_support;
mod pool_tls;
mod print_config;
mod processes;
mod rbac;
mod runtime_workloads;
mod server_workloads;
mod translate_fixtures;
