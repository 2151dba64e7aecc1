//! switchyard: a global-mode operator and gateway for Seldon Core v2.
//!
//! This crate is the binary's wiring: the command line and config file
//! (`cli`, `config`), the running process (`app`: registry -> pool -> bus
//! -> gateway, the operator, the admin endpoint), the other subcommands
//! (`cmd`) and telemetry. The parts live in `crates/`; ARCHITECTURE.md
//! shows how they fit together.

pub mod app;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod gateway_access;
pub mod static_runtimes;
pub mod telemetry;
