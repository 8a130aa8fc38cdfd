//! The rules: their IDs (generated from `rules/catalogue/` by `build.rs`), the catalogue
//! texts behind `rules`, `explain` and `docs/rules/`, and the units that raise findings, one
//! file each under `<family>/`, registered in [`registry::UNITS`].

pub mod catalogue;
mod id;

pub use catalogue::{all, default_severity, get, Rule};
pub use id::RuleId;
pub mod registry;

pub mod chains;
mod control_plane;
#[cfg(test)]
mod fixture;
pub(crate) mod input;
mod resources;
