//! What Seldon's resources mean to a scheduler, and what a scheduler's
//! states mean to the resources: scheduler requests from specs (this
//! module), and conditions from observed states ([`conditions`]).
//!
//! Translation: Seldon resources in, scheduler requests out.
//!
//! Each function takes a resource as Kubernetes stores it (`switchyard_api`)
//! and returns the prost message Seldon's scheduler expects
//! (`switchyard_proto::scheduler`), or a [`TranslateError`] naming the offending
//! field and value. The functions are pure (no I/O, no clock), so the
//! controllers, the scheduler resync and `switchyard translate` (a user's dry
//! run) all share one conversion. This is the only module that knows both the
//! resource types and the scheduler's messages; it knows nothing of tonic.
//!
//! The rules are those of Seldon's Go operator (docs/seldon-compat.md#translation), with
//! these deliberate differences: negative memory is rejected instead of
//! wrapping around, memory is converted exactly (no rounding to milli-units),
//! and a ServerNotify batch reports every invalid server, not just the last.

pub mod conditions;
pub mod error;
pub mod experiment;
mod meta;
pub mod model;
pub mod pipeline;
pub mod quantity;
pub mod scaling;
pub mod server;

pub use error::TranslateError;
pub use quantity::{QuantityError, quantity_to_bytes};
pub use scaling::{Scaling, ScalingError, validate_scaling};
