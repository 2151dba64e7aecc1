//! Component tests of this crate, beside the unit tests in its modules.

mod isolation;
mod link;
mod logs;
mod pool;
mod proxy;
mod silent;
mod spread;
mod stream_client;
mod task_size;
mod truth;
