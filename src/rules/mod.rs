//! The rules: their IDs (generated from `rules/catalogue/` by `build.rs`), the catalogue
//! texts behind `rules`, `explain` and `docs/rules/`, and the units that raise findings, one
//! file each under `<family>/`, registered in [`registry::UNITS`].

pub mod catalogue;

pub use crate::diag::RuleId;
pub use catalogue::{all, find, get, Rule};
pub mod registry;

pub mod abi;
pub mod chains;
mod control_plane;
#[cfg(test)]
pub(crate) mod fixture;
pub mod images;
pub(crate) mod input;
mod resources;
pub mod runtime;
