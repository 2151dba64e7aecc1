//! Component tests of this crate, beside the unit tests in its modules.

mod metrics_doc;
