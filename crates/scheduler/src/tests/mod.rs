//! Component tests of this crate, beside the unit tests in its modules.

mod isolation;
mod logs;
mod pool;
mod silent;
mod stream_client;
mod truth;
