//! The bodies of switchyard's subcommands, one module each. `main` parses the
//! command line and calls into these; they write to the writer they are given,
//! so tests can run them without a process.

pub mod crds;
pub mod translate;
