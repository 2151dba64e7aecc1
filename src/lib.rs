//! switchyard: a global-mode operator and gateway for Seldon Core v2.
//! See ARCHITECTURE.md for how the modules fit together.

pub mod cmd;
pub mod proto;
pub mod resources;
pub mod translate;
