//! Component tests of this crate, beside the unit tests in its modules.

mod operator_leader;
mod operator_managed;
mod operator_writer;
