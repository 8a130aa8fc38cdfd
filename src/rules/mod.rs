//! The rules: their IDs (generated from `rules/catalogue/` by `build.rs`) and the catalogue
//! texts behind `rules`, `explain` and `docs/rules/`.

pub mod catalogue;
mod id;

pub use catalogue::{all, default_severity, get, Rule};
pub use id::RuleId;
pub mod abi;
pub mod images;
pub mod registry;
pub mod runtime;
