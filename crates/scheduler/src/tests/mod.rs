//! Component tests of this crate, beside the unit tests in its modules.

mod pool;
mod stream_client;
