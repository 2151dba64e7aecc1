//! The crate's tests: the fixtures under `fixtures/` (templates written from
//! Seldon's charts, and `seldon-built/`, the objects Seldon's operator would
//! create for a sample runtime and Server) compared field by field with
//! what we build, then the merge rules, the capabilities rewrite, the
//! replica caps and each bad input.

mod fixtures;
mod pod_spec_merge;
mod runtime_build;
mod runtime_input;
mod server_build;
