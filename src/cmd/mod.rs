//! The subcommands' bodies, as library functions the CLI calls: each takes
//! its arguments and an output stream, so tests drive them without a process.

pub mod translate;
