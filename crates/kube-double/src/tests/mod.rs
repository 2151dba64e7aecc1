//! Component tests of this crate, beside the unit tests in its modules.

mod garbage_collection;
mod kube_double;
mod kubectl_surface;
mod reviews;
mod server_side_apply;
mod workloads;
