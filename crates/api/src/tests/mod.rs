//! Component tests of this crate, beside the unit tests in its modules.

mod config_fixtures;
mod crd_reference;
mod crd_structural;
mod crds_committed;
mod invalid_config_fixtures;
mod seldon_compat;
