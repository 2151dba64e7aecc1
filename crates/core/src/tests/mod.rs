//! Component tests of this crate, beside the unit tests in its modules.

mod access;
mod metrics_doc;
