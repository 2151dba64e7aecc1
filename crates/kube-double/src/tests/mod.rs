//! Component tests of this crate, beside the unit tests in its modules.

mod kube_double;
