//! meshext-lint: offline checks for OpenShift Service Mesh WebAssembly extensions.
//!
//! The pipeline, one module each: [`load`] inputs → [`model`] the mesh → [`rules`] →
//! [`chain`] effective filter chains → [`simulate`] requests through real modules →
//! [`report`] findings in the chosen format. [`image`] reads pulled extension images and
//! [`abi`] checks modules against the proxy-wasm ABI.

pub mod abi;
pub mod alloc;
pub(crate) mod baseline;
pub mod causes;
pub mod chain;
pub mod cli;
pub mod config;
pub mod data;
pub mod diag;
pub(crate) mod extensions;
pub(crate) mod git;
pub mod image;
pub(crate) mod inspect;
pub mod json_pretty;
pub mod limits;
pub mod lint;
pub mod load;
pub mod migrate;
pub mod model;
pub(crate) mod plugin_startup;
pub(crate) mod report;
pub mod rules;
pub mod simulate;
pub(crate) mod source;
pub(crate) mod suppress;
#[cfg(test)]
mod test_rng;
