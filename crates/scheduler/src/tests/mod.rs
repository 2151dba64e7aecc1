//! Component tests of this crate, beside the unit tests in its modules.

mod isolation;
mod pool;
mod stream_client;
mod truth;
