//! 3xx: the ServiceMeshExtension resources themselves.

pub(crate) mod config;
pub(crate) mod image;
pub(crate) mod missing_phase;
pub(crate) mod phase;
pub(crate) mod selector;
pub(crate) mod status;
